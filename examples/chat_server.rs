//! A line-based chat server: every line a client sends goes to every other
//! client. Each connection has a reader green thread and a writer green
//! thread with its own `Queue`; one hub green thread owns the list of
//! clients and fans messages out, so no state is shared between
//! connections (the actor style, with queues as mailboxes).
//!
//! ```sh
//! cargo run --release --example chat_server            # 127.0.0.1:7001
//! ```
//! Then connect with several `nc 127.0.0.1 7001`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;

use grove::net::{StreamServer, TcpStream};
use grove::sync::Queue;

/// What the hub receives.
enum Hub {
    Join(SocketAddr, Queue<String>),
    Leave(SocketAddr),
    Say(SocketAddr, String),
}

/// The hub: owns the clients' outboxes and fans each line out.
fn hub(inbox: Queue<Hub>) {
    let mut clients: HashMap<SocketAddr, Queue<String>> = HashMap::new();
    while let Ok(msg) = inbox.get() {
        match msg {
            Hub::Join(peer, outbox) => {
                let _ = outbox.put(format!("welcome, {peer}; {} others here\n", clients.len()));
                clients.insert(peer, outbox);
            }
            Hub::Leave(peer) => {
                if let Some(q) = clients.remove(&peer) {
                    q.close();
                }
            }
            Hub::Say(from, line) => {
                let text = format!("{from}: {line}\n");
                for (peer, q) in &clients {
                    if *peer != from {
                        // A slow client's full outbox drops the line for it
                        // instead of stalling everyone.
                        let _ = q.try_put(text.clone());
                    }
                }
            }
        }
    }
}

fn client(stream: TcpStream, peer: SocketAddr, hub: Queue<Hub>) {
    let outbox = Queue::bounded(256);
    if hub.put(Hub::Join(peer, outbox.clone())).is_err() {
        return;
    }
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let sender = grove::spawn(move || {
        for line in outbox.iter() {
            if writer.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
    });
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        if hub.put(Hub::Say(peer, line)).is_err() {
            break;
        }
    }
    let _ = hub.put(Hub::Leave(peer));
    let _ = sender.join();
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7001".into());
    let inbox = Queue::unbounded();
    grove::spawn({
        let inbox = inbox.clone();
        move || hub(inbox)
    });
    let server = StreamServer::bind(addr.as_str(), move |stream, peer| {
        client(stream, peer, inbox.clone())
    })?;
    println!("chat server listening on {}", server.local_addr()?);
    std::io::stdout().flush()?;
    server.serve_forever();
    Ok(())
}
