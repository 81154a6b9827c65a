//! The [`receive!`](crate::receive!) macro: Erlang's `receive ... after`
//! with Rust patterns and guards.
//!
//! It expands to one [`Ctx::receive_with`](crate::Ctx::receive_with)
//! (or `_timeout`) call in two phases:
//!
//! ```text
//!   1. select (inside receive_with, for each message, oldest first):
//!        match msg by value {
//!            PAT_k if hit.is_none() && GUARD_k && { hit = k; false } => unreachable,
//!            _ => {}                   // every arm "fails": nothing moves
//!        }                             // (the first arm that matches wins)
//!        hit? take the message : leave it in place
//!   2. dispatch (in the caller's code, so break/continue/return/? work):
//!        if hit == 0 { match msg { PAT_0 => BODY_0, .. } } else if ...
//! ```
//!
//! Because phase 1 matches the message by value, guards see bindings as
//! values (`Msg::Add(n) if n > 0`), exactly as in a `match`; each guard is
//! evaluated once per message looked at, so guards should not have side
//! effects (Erlang's rule). Phase 2 runs the body of the arm phase 1
//! picked, with the bindings moved out of the message.

/// Selective receive with patterns, guards and an optional `after`
/// timeout, as Erlang's `receive`:
///
/// ```text
/// receive!(ctx,
///     PATTERN [if GUARD] => BODY,
///     ...
///     [after DURATION => BODY]
/// )
/// ```
///
/// Takes the oldest message that matches an arm (arms are tried in
/// order, as in `match`), leaves every other message in the mailbox in
/// its order, and evaluates that arm's body. Without `after` it waits for
/// as long as it takes; with it, the `after` body runs if no message
/// matched within the duration. Bodies are the caller's code: `break`,
/// `continue`, `return` and `?` act on the enclosing function or loop.
///
/// ```
/// use std::time::Duration;
/// use grove_actors::{self as actors, receive, Ctx, Reply};
///
/// enum Msg { Add(i64), Get(Reply<i64>), Stop }
///
/// let h = actors::spawn(|ctx: &mut Ctx<Msg>| {
///     let mut total = 0;
///     loop {
///         receive!(ctx,
///             Msg::Add(n) if n > 0 => total += n,
///             Msg::Get(reply) => reply.send(total),
///             Msg::Stop => break,
///             after Duration::from_secs(5) => return -1,
///         );
///     }
///     total
/// });
/// let a = h.addr();
/// a.send(Msg::Add(-5)); // matches no arm: stays in the mailbox
/// a.send(Msg::Add(2));
/// a.send(Msg::Add(3));
/// assert_eq!(a.call(Msg::Get, Duration::from_secs(1)), Ok(5));
/// a.send(Msg::Stop);
/// assert_eq!(h.wait().unwrap(), 5);
/// ```
#[macro_export]
macro_rules! receive {
    ($ctx:expr, $($arms:tt)+) => {
        $crate::receive!(@arms ($ctx) [] (0usize) $($arms)+)
    };

    // ---- munch arms: (ctx) [accumulated arms] (index expression) rest
    (@arms ($ctx:expr) [$($acc:tt)*] ($($n:tt)*) , $($rest:tt)*) => {
        $crate::receive!(@arms ($ctx) [$($acc)*] ($($n)*) $($rest)*)
    };
    (@arms ($ctx:expr) [$($acc:tt)*] ($($n:tt)*) after $dur:expr => $body:expr $(,)?) => {
        $crate::receive!(@emit ($ctx) [$($acc)*] after ($dur) ($body))
    };
    (@arms ($ctx:expr) [$($acc:tt)*] ($($n:tt)*)) => {
        $crate::receive!(@emit ($ctx) [$($acc)*] forever)
    };
    (@arms ($ctx:expr) [$($acc:tt)*] ($($n:tt)*) $pat:pat if $guard:expr => $body:block $($rest:tt)*) => {
        $crate::receive!(@arms ($ctx) [$($acc)* {($($n)*) ($pat) ($guard) ($body)}] ($($n)* + 1) $($rest)*)
    };
    (@arms ($ctx:expr) [$($acc:tt)*] ($($n:tt)*) $pat:pat if $guard:expr => $body:expr $(, $($rest:tt)*)?) => {
        $crate::receive!(@arms ($ctx) [$($acc)* {($($n)*) ($pat) ($guard) ($body)}] ($($n)* + 1) $($($rest)*)?)
    };
    (@arms ($ctx:expr) [$($acc:tt)*] ($($n:tt)*) $pat:pat => $body:block $($rest:tt)*) => {
        $crate::receive!(@arms ($ctx) [$($acc)* {($($n)*) ($pat) (true) ($body)}] ($($n)* + 1) $($rest)*)
    };
    (@arms ($ctx:expr) [$($acc:tt)*] ($($n:tt)*) $pat:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::receive!(@arms ($ctx) [$($acc)* {($($n)*) ($pat) (true) ($body)}] ($($n)* + 1) $($($rest)*)?)
    };

    // ---- phase 1: the selector closure
    (@select [$({ ($($n:tt)*) ($pat:pat) ($guard:expr) ($body:expr) })*]) => {
        |__grove_msg| {
            let mut __grove_hit: ::core::option::Option<usize> = ::core::option::Option::None;
            #[allow(unused_variables, unreachable_code, clippy::diverging_sub_expression)]
            let () = match __grove_msg {
                $(
                    $pat if __grove_hit.is_none() && ($guard) && {
                        __grove_hit = ::core::option::Option::Some($($n)*);
                        false
                    } => ::core::unreachable!(),
                )*
                _ => (),
            };
            match __grove_hit {
                ::core::option::Option::Some(__grove_i) => {
                    ::core::result::Result::Ok((__grove_i, __grove_msg))
                }
                ::core::option::Option::None => ::core::result::Result::Err(__grove_msg),
            }
        }
    };

    // ---- phase 2: run the picked arm's body
    (@dispatch $hit:ident $msg:ident { ($($n:tt)*) ($pat:pat) ($guard:expr) ($body:expr) } $($rest:tt)*) => {
        if $hit == $($n)* {
            match $msg {
                // The guard was evaluated in phase 1; mentioning it in a
                // closure that never runs keeps bindings that only the
                // guard uses from counting as unused here.
                $pat if {
                    let _ = || ($guard);
                    true
                } => $body,
                #[allow(unreachable_patterns)]
                _ => ::core::unreachable!("receive!: the arm picked no longer matches"),
            }
        } else {
            $crate::receive!(@dispatch $hit $msg $($rest)*)
        }
    };
    (@dispatch $hit:ident $msg:ident) => {
        ::core::unreachable!("receive!: no arm was picked")
    };

    // ---- emit
    (@emit ($ctx:expr) [$($arms:tt)*] forever) => {{
        let (__grove_hit, __grove_msg) = ($ctx).receive_with($crate::receive!(@select [$($arms)*]));
        $crate::receive!(@dispatch __grove_hit __grove_msg $($arms)*)
    }};
    (@emit ($ctx:expr) [$($arms:tt)*] after ($dur:expr) ($after:expr)) => {{
        match ($ctx).receive_with_timeout($dur, $crate::receive!(@select [$($arms)*])) {
            ::core::option::Option::Some((__grove_hit, __grove_msg)) => {
                $crate::receive!(@dispatch __grove_hit __grove_msg $($arms)*)
            }
            ::core::option::Option::None => $after,
        }
    }};
}
