//! The registry: process-wide names for actors (Erlang's `register` /
//! `whereis`).
//!
//! One map from name to address behind one lock. A name is added to the
//! actor's own list of names under its control-block lock, and only if it
//! has not ended; its exit takes that list under the same lock and then
//! removes the names here. So a name can never outlive its actor: either
//! the registration sees the actor ended (and fails), or the exit sees the
//! name (and removes it) — an actor that failed to start leaves nothing
//! behind.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use crate::addr::Addr;
use crate::cell::Proc;
use crate::exit::ActorId;

/// One registered name.
struct Entry {
    /// The actor.
    id: ActorId,
    /// Its address, as a boxed `Addr<M>`.
    addr: Box<dyn Any + Send + Sync>,
    /// The actor, to keep its list of names in step.
    proc: Arc<dyn Proc>,
}

fn table() -> &'static Mutex<HashMap<String, Entry>> {
    static TABLE: OnceLock<Mutex<HashMap<String, Entry>>> = OnceLock::new();
    TABLE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Why [`register`] refused a name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterError {
    /// Another actor holds the name.
    Taken(String),
    /// The actor has ended.
    Dead,
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::Taken(n) => write!(f, "the name {n:?} is taken"),
            RegisterError::Dead => f.write_str("the actor has ended"),
        }
    }
}

impl std::error::Error for RegisterError {}

/// Registers `addr` under `name`, until the actor ends or the name is
/// [`unregister`]ed. Fails if the name is taken or the actor has ended.
/// One actor may hold several names.
///
/// ```
/// use grove_actors::{self as actors, Ctx, RegisterError};
/// let h = actors::spawn(|ctx: &mut Ctx<u8>| ctx.receive());
/// actors::register("register-doc", &h.addr()).unwrap();
/// assert_eq!(
///     actors::register("register-doc", &h.addr()),
///     Err(RegisterError::Taken("register-doc".into()))
/// );
/// actors::whereis::<u8>("register-doc").unwrap().send(1);
/// h.wait().unwrap();
/// assert!(actors::whereis::<u8>("register-doc").is_none()); // released at its end
/// ```
pub fn register<M: Send + 'static>(
    name: impl Into<String>,
    addr: &Addr<M>,
) -> Result<(), RegisterError> {
    let name = name.into();
    let proc = addr.proc();
    let mut t = table().lock();
    if t.contains_key(&name) {
        return Err(RegisterError::Taken(name));
    }
    {
        let mut c = proc.ctl().lock();
        if c.exited.is_some() {
            return Err(RegisterError::Dead);
        }
        c.names.push(name.clone());
    }
    t.insert(
        name,
        Entry {
            id: addr.id(),
            addr: Box::new(addr.clone()),
            proc,
        },
    );
    Ok(())
}

/// The address registered under `name`, if there is one and its mailbox
/// type is `M`.
///
/// ```
/// assert!(grove_actors::whereis::<String>("nobody-by-this-name").is_none());
/// ```
pub fn whereis<M: Send + 'static>(name: &str) -> Option<Addr<M>> {
    let t = table().lock();
    t.get(name)?.addr.downcast_ref::<Addr<M>>().cloned()
}

/// Removes `name`; returns whether it was registered.
///
/// ```
/// use grove_actors::{self as actors, Ctx};
/// let h = actors::spawn(|ctx: &mut Ctx<()>| ctx.receive());
/// actors::register("unregister-doc", &h.addr()).unwrap();
/// assert!(actors::unregister("unregister-doc"));
/// assert!(!actors::unregister("unregister-doc"));
/// h.kill();
/// ```
pub fn unregister(name: &str) -> bool {
    let entry = table().lock().remove(name);
    match entry {
        Some(e) => {
            e.proc.ctl().lock().names.retain(|n| n != name);
            true
        }
        None => false,
    }
}

/// Every registered name, sorted.
///
/// ```
/// use grove_actors::{self as actors, Ctx};
/// let h = actors::spawn(|ctx: &mut Ctx<()>| ctx.receive());
/// actors::register("registered-doc", &h.addr()).unwrap();
/// assert!(actors::registered().contains(&"registered-doc".to_string()));
/// h.kill();
/// ```
pub fn registered() -> Vec<String> {
    let mut v: Vec<String> = table().lock().keys().cloned().collect();
    v.sort();
    v
}

/// Removes the names of actor `id` that still belong to it (its exit).
pub(crate) fn release(names: &[String], id: ActorId) {
    if names.is_empty() {
        return;
    }
    let mut t = table().lock();
    for n in names {
        if t.get(n).is_some_and(|e| e.id == id) {
            t.remove(n);
        }
    }
}
