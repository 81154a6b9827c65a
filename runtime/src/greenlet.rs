//! Bare greenlets: coroutines you switch between by hand, on one OS thread.
//!
//! This is the model of Python's `greenlet` package with Rust types. A
//! [`Greenlet<T>`] runs a closure `FnOnce(T) -> T` on its own stack, and
//! [`Greenlet::switch`] moves control *and a value* to another greenlet.
//! Nothing runs unless you switch to it: there is no scheduler, no I/O and no
//! timer here, and this module uses none of the rest of grove's runtime.
//!
//! ```
//! use grove_runtime::greenlet::{self, Greenlet};
//!
//! // A generator: it hands each value to its parent (here, the root).
//! let numbers = Greenlet::new(|limit: u32| {
//!     let root = greenlet::current::<u32>().parent().unwrap();
//!     for i in 1..limit {
//!         root.switch(i);
//!     }
//!     0 // returned to the parent: "no more values"
//! });
//! let mut seen = vec![numbers.switch(4)];
//! loop {
//!     match numbers.switch(0) {
//!         0 => break,
//!         i => seen.push(i),
//!     }
//! }
//! assert_eq!(seen, [1, 2, 3]);
//! assert!(numbers.is_dead());
//! ```
//!
//! # The model
//!
//! * **Root.** Code not running inside a greenlet runs in the thread's
//!   implicit *root* greenlet. [`current`] returns it there; it has no parent,
//!   is always started and never dead.
//! * **Parent.** A greenlet's parent is the greenlet that was current when it
//!   was created, or the one given to [`Greenlet::with_parent`] /
//!   [`Greenlet::set_parent`]. Parent chains never form a cycle.
//! * **Switch.** `g.switch(v)` suspends the current greenlet and runs `g`:
//!   a greenlet that has not started is called with `v`; a suspended one sees
//!   its own pending `switch` return `v`. The caller's `switch` returns
//!   whatever value is switched back to it later. Switching to the current
//!   greenlet returns `v` at once.
//! * **Return.** When a greenlet's closure returns, the greenlet is dead and
//!   the value is switched into its parent.
//! * **Dead targets.** Switching to a dead greenlet switches to its parent
//!   instead (or the parent's parent, and so on, up to the root).
//! * **Panics** go to the parent, as exceptions do in greenlet: the greenlet
//!   dies and the parent's pending `switch` (or the root's, at the top)
//!   resumes the unwinding with the same payload ([`std::panic::resume_unwind`],
//!   so the panic hook runs only once, where the panic started). A parent
//!   that catches it with [`std::panic::catch_unwind`] carries on.
//! * **Throw.** [`Greenlet::throw`] kills a greenlet synchronously: a private
//!   payload (greenlet's `GreenletExit`) unwinds it from its pending switch,
//!   its destructors run, it dies, and `throw` returns to its caller. A
//!   greenlet that has not started dies without running. While a greenlet
//!   unwinds from a throw it cannot switch away: any `switch` it makes raises
//!   the exit again.
//! * **Dropping** the last handle of a suspended greenlet throws into it, so
//!   its destructors run; a panic from that unwinding continues from the
//!   `drop` (unless the thread is already panicking: then it is discarded).
//!   A greenlet that loses its last handle while running is unwound when it
//!   next switches away. A child's parent link is not a handle: a parent
//!   killed this way is dead, and the child's return value skips it like
//!   any dead parent. Handles are reference counts, so a cycle of them
//!   leaks, as `Rc` cycles do (no greenlet is unwound, nothing is unsound);
//!   the easy one to make is a greenlet keeping a handle to *itself* on its
//!   stack across a switch, so prefer `current().parent()` in one expression
//!   to keeping `current()` in a variable.
//!
//! # Families
//!
//! A greenlet sends and receives one type, so a `Greenlet<T>` only ever
//! switches to other `Greenlet<T>`s: its *family*. Values travel through
//! typed corosensei coroutines (`Coroutine<Resume<T>, Request<T>, T>`), never
//! through `Any`, so a type mismatch cannot be written, let alone happen at
//! run time.
//!
//! Families nest. For family `T`, any code that is not running inside a
//! `Greenlet<T>` — the thread's main code, a green thread, a greenlet of
//! another family, a foreign coroutine — is the root: switching to a
//! `Greenlet<T>` from there runs a trampoline for `T` on that stack, and
//! when control comes back to `T`'s root, that `switch` returns. A greenlet
//! that is busy further down the stack (it switched into another family,
//! which is now running) cannot be switched to until control returns to it:
//! an explicit `switch` to it panics, and a return value or panic on its way
//! up the parent chain skips it.
//!
//! # Design: symmetric switching over asymmetric coroutines
//!
//! corosensei coroutines are asymmetric: `resume` runs one until it
//! `suspend`s back to whoever resumed it. Greenlets are symmetric: any of
//! them may switch to any other. The root bridges the two with a
//! trampoline. A greenlet never resumes another; it suspends with a request
//! (`target`, `value`) and the loop in the root's `switch` resumes the
//! target, until a value is addressed to the root:
//!
//! ```text
//!   root stack, inside a.switch(1)        greenlet stacks
//!  ┌───────────────────────────┐
//!  │ trampoline loop           │
//!  │  target = A  ─ resume(1) ─┼──────▶ A: ... b.switch(2)
//!  │              ◀────────────┼─────── A: suspend(→B, 2)
//!  │  target = B  ─ resume(2) ─┼──────▶ B: ... a.switch(3)
//!  │              ◀────────────┼─────── B: suspend(→A, 3)
//!  │  target = A  ─ resume(3) ─┼──────▶ A: b.switch(2) returned 3
//!  │              ◀────────────┼─────── A: closure returned 4
//!  │  target = A's parent      │
//!  │         = the root        │
//!  └─ a.switch(1) returns 4 ───┘
//! ```
//!
//! A thread-local records the innermost running greenlet (a frame pushed
//! around each `resume`), so `switch` knows whether to suspend (it runs on
//! a greenlet of its family, checked against that greenlet's stack bounds)
//! or to start a trampoline (it is a root). Throwing into a greenlet is a
//! nested `resume` from the thrower's own stack, which is why it returns to
//! the thrower.
//!
//! # Threads
//!
//! [`Greenlet`] is neither `Send` nor `Sync`; see its `# Send` section. A
//! greenlet runs only on the thread that created it.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;
use std::rc::{Rc, Weak};

use corosensei::stack::{DefaultStack, Stack};
use corosensei::{Coroutine, CoroutineResult, Yielder};

/// Stack size of a greenlet made by [`Greenlet::new`].
const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// A panic payload, as [`std::panic::catch_unwind`] returns it.
type Payload = Box<dyn Any + Send + 'static>;

/// The coroutine under a greenlet of family `T`.
type Co<T> = Coroutine<Resume<T>, Request<T>, T, DefaultStack>;

/// The yielder a greenlet of family `T` suspends itself with.
type YielderOf<T> = Yielder<Resume<T>, Request<T>>;

thread_local! {
    /// The innermost running greenlet (of any family), or `None` at the root.
    static CURRENT: Cell<Option<Rc<dyn Any>>> = const { Cell::new(None) };
    /// How many greenlet frames are open on this thread; see [`in_greenlet`].
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Returns whether the calling code runs on a greenlet's stack rather than
/// on the stack of a root (a plain thread or a green thread).
///
/// The scheduler checks it before suspending a green thread: that must never
/// happen from a greenlet's stack, because the greenlet frames recorded in
/// this module's thread-local would then describe the wrong stack. It reads
/// one thread-local `Cell`.
#[allow(dead_code)] // called by the scheduler
#[inline]
pub(crate) fn in_greenlet() -> bool {
    DEPTH.with(|depth| depth.get() > 0)
}

/// Returns the current greenlet of family `T`: the root when the calling
/// code does not run inside a `Greenlet<T>`.
///
/// # Examples
///
/// ```
/// use grove_runtime::greenlet::{self, Greenlet};
///
/// let root = greenlet::current::<i32>();
/// assert!(root.parent().is_none());
///
/// let g = Greenlet::new(|x: i32| {
///     let me = greenlet::current::<i32>();
///     assert!(me.parent().unwrap().parent().is_none()); // my parent is the root
///     x
/// });
/// assert_eq!(g.switch(5), 5);
/// ```
pub fn current<T: 'static>() -> Greenlet<T> {
    Greenlet::from_node(current_node::<T>())
}

/// A greenlet: a closure `FnOnce(T) -> T` on its own stack, run by
/// switching to it.
///
/// `Greenlet` is a handle: clones refer to the same greenlet, and `==`
/// tells whether two handles do. The greenlet is unwound when its last
/// handle is dropped while it is suspended (see the [module docs](self)).
///
/// # Send
///
/// `Greenlet` is deliberately neither `Send` nor `Sync`. A started greenlet
/// is a stack holding live frames of the thread it runs on — thread-local
/// addresses, `Rc`s, guards of thread-bound locks — and that stack must
/// never continue on another OS thread; its bookkeeping is not thread-safe
/// either. Move the data a greenlet needs into it, not the greenlet.
///
/// ```compile_fail
/// fn assert_send<S: Send>() {}
/// assert_send::<grove_runtime::greenlet::Greenlet<i32>>();
/// ```
pub struct Greenlet<T: 'static> {
    /// The greenlet, or `None` for the root.
    node: Option<Rc<Node<T>>>,
}

/// Lifecycle of a greenlet (the root has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Created; the closure has not been called.
    Fresh,
    /// Waiting in a `switch`, its coroutine parked in [`Node::co`].
    Suspended,
    /// Resumed: on top of the stack, or lower down if it entered another family.
    Running,
    /// Being killed by a throw or the drop of its last handle.
    Dying,
    /// Returned, panicked or killed.
    Dead,
}

impl State {
    /// Whether a trampoline may resume a greenlet in this state.
    fn is_resumable(self) -> bool {
        matches!(self, State::Fresh | State::Suspended)
    }
}

/// One greenlet: its coroutine, state and parent link.
struct Node<T: 'static> {
    /// Where it is in its life.
    state: Cell<State>,
    /// Whether its closure has been called.
    started: Cell<bool>,
    /// How many [`Greenlet`] handles refer to it (parent links do not count).
    handles: Cell<usize>,
    /// Where its return value or panic goes; `None` is the root.
    parent: RefCell<Option<Rc<Node<T>>>>,
    /// Its coroutine; taken out while running, dropped once dead.
    co: Cell<Option<Co<T>>>,
    /// The yielder its closure received, set while the closure executes.
    yielder: Cell<Option<NonNull<YielderOf<T>>>>,
    /// Lowest address of its stack.
    stack_limit: usize,
    /// Highest address of its stack.
    stack_base: usize,
}

/// What a resumer passes into a greenlet's coroutine.
enum Resume<T> {
    /// Start with this value, or return it from the pending `switch`.
    Value(T),
    /// Resume the unwinding of a child that died of this panic.
    Panic(Payload),
    /// Unwind with [`GreenletExit`]: the greenlet is being killed.
    Exit,
}

/// What a greenlet's coroutine passes to the trampoline when it suspends.
struct Request<T: 'static> {
    /// The greenlet to run next; `None` is the root.
    target: Option<Rc<Node<T>>>,
    /// The value for it.
    value: T,
}

/// What the trampoline carries to the next target.
enum Delivery<T> {
    /// A switched or returned value.
    Value(T),
    /// The panic a child died of.
    Panic(Payload),
}

/// The private payload `throw` unwinds a greenlet with (greenlet's
/// `GreenletExit`).
struct GreenletExit;

impl<T: 'static> Greenlet<T> {
    /// Creates a greenlet that will run `f` on a new 256 KiB stack. Its
    /// parent is the current greenlet of its family.
    ///
    /// Nothing runs until the first [`switch`](Self::switch) to it, whose
    /// value becomes `f`'s argument.
    ///
    /// # Panics
    ///
    /// Panics if the stack cannot be allocated; use
    /// [`with_stack_size`](Self::with_stack_size) to handle that error.
    ///
    /// # Examples
    ///
    /// ```
    /// use grove_runtime::greenlet::Greenlet;
    ///
    /// let double = Greenlet::new(|x: i32| x * 2);
    /// assert!(!double.is_started());
    /// assert_eq!(double.switch(21), 42);
    /// ```
    pub fn new<F>(f: F) -> Greenlet<T>
    where
        F: FnOnce(T) -> T + 'static,
    {
        match Greenlet::with_stack_size(DEFAULT_STACK_SIZE, f) {
            Ok(greenlet) => greenlet,
            Err(err) => panic!("failed to allocate a greenlet stack: {err}"),
        }
    }

    /// Creates a greenlet like [`new`](Self::new), with a stack of at least
    /// `stack_size` bytes (rounded up to whole pages, plus a guard page).
    ///
    /// # Errors
    ///
    /// Returns the operating system's error if the stack cannot be mapped.
    ///
    /// # Examples
    ///
    /// ```
    /// use grove_runtime::greenlet::Greenlet;
    ///
    /// let g = Greenlet::with_stack_size(1 << 20, |x: u64| x + 1)?;
    /// assert_eq!(g.switch(1), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_stack_size<F>(stack_size: usize, f: F) -> io::Result<Greenlet<T>>
    where
        F: FnOnce(T) -> T + 'static,
    {
        let stack = DefaultStack::new(stack_size)?;
        let (stack_limit, stack_base) = (stack.limit().get(), stack.base().get());
        let parent = current_node::<T>();
        let node = Rc::new_cyclic(|weak: &Weak<Node<T>>| {
            let weak = weak.clone();
            let co = Coroutine::with_stack(stack, move |yielder: &YielderOf<T>, first| {
                run_closure(&weak, yielder, first, f)
            });
            Node {
                state: Cell::new(State::Fresh),
                started: Cell::new(false),
                handles: Cell::new(1),
                parent: RefCell::new(parent),
                co: Cell::new(Some(co)),
                yielder: Cell::new(None),
                stack_limit,
                stack_base,
            }
        });
        Ok(Greenlet { node: Some(node) })
    }

    /// Creates a greenlet like [`new`](Self::new) whose parent is `parent`.
    ///
    /// # Examples
    ///
    /// ```
    /// use grove_runtime::greenlet::Greenlet;
    ///
    /// // `sum` waits for values; `child` ends by returning into it.
    /// let sum = Greenlet::new(|first: i32| {
    ///     let root = grove_runtime::greenlet::current::<i32>().parent().unwrap();
    ///     first + root.switch(0)
    /// });
    /// assert_eq!(sum.switch(1), 0); // `sum` now waits in `root.switch`
    /// let child = Greenlet::with_parent(|x: i32| x * 10, &sum);
    /// assert_eq!(child.switch(2), 21); // 20 goes to `sum`, which returns 1 + 20
    /// ```
    pub fn with_parent<F>(f: F, parent: &Greenlet<T>) -> Greenlet<T>
    where
        F: FnOnce(T) -> T + 'static,
    {
        let greenlet = Greenlet::new(f);
        greenlet.set_parent(parent);
        greenlet
    }

    /// Switches to this greenlet, passing it `value`, and returns the value
    /// switched back to the caller.
    ///
    /// The current greenlet is suspended. A greenlet that has not started
    /// runs its closure with `value`; a suspended one returns `value` from
    /// its pending `switch`. If this greenlet is dead, the switch goes to its
    /// parent (and so on up); if it is the current greenlet, `value` is
    /// returned at once.
    ///
    /// # Panics
    ///
    /// Resumes the unwinding of a child's panic that reaches the caller (see
    /// the [module docs](self)). Raises the exit again when called by a
    /// greenlet that is being killed. Panics if this greenlet is busy lower
    /// on the stack: it switched into another family that is still running.
    ///
    /// # Examples
    ///
    /// ```
    /// use grove_runtime::greenlet::{self, Greenlet};
    ///
    /// let echo = Greenlet::new(|mut s: String| {
    ///     let root = greenlet::current::<String>().parent().unwrap();
    ///     loop {
    ///         s = root.switch(s.to_uppercase());
    ///     }
    /// });
    /// assert_eq!(echo.switch("ping".into()), "PING");
    /// assert_eq!(echo.switch("pong".into()), "PONG");
    /// ```
    pub fn switch(&self, value: T) -> T {
        let current = current_node::<T>();
        if let Some(cur) = &current {
            if cur.state.get() == State::Dying {
                drop(value);
                panic::resume_unwind(Box::new(GreenletExit));
            }
        }
        let target = resolve(self.node.clone(), |state| state == State::Dead);
        if same(&target, &current) {
            return value;
        }
        if let Some(node) = &target {
            if !node.state.get().is_resumable() {
                panic!("cannot switch to a greenlet that is running lower on the stack");
            }
        }
        match current {
            Some(cur) => cur.suspend(target, value),
            None => trampoline(target, Delivery::Value(value)),
        }
    }

    /// Kills this greenlet and returns once it is dead.
    ///
    /// A suspended greenlet is resumed with a private unwinding payload
    /// raised at its pending `switch`, so its destructors run; it cannot
    /// switch away while it unwinds. A greenlet that has not started dies
    /// without running (its closure is dropped). A dead greenlet, or one
    /// already being killed, is left alone. Nothing goes to the parent: the
    /// caller of `throw` gets control back.
    ///
    /// # Panics
    ///
    /// Panics if this is the root or a running greenlet (the caller itself,
    /// or one lower on the stack). If the greenlet's closure or destructors
    /// panic while it unwinds, that panic continues from `throw`.
    ///
    /// # Examples
    ///
    /// ```
    /// use grove_runtime::greenlet::{self, Greenlet};
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// struct Guard(Rc<Cell<bool>>);
    /// impl Drop for Guard {
    ///     fn drop(&mut self) { self.0.set(true) }
    /// }
    ///
    /// let dropped = Rc::new(Cell::new(false));
    /// let g = Greenlet::new({
    ///     let dropped = dropped.clone();
    ///     move |x: i32| {
    ///         let _guard = Guard(dropped);
    ///         greenlet::current::<i32>().parent().unwrap().switch(x);
    ///         unreachable!("killed while suspended")
    ///     }
    /// });
    /// g.switch(1);
    /// g.throw();
    /// assert!(dropped.get() && g.is_dead());
    /// ```
    pub fn throw(&self) {
        let Some(node) = &self.node else {
            panic!("cannot throw into the root greenlet");
        };
        if node.state.get() == State::Running {
            panic!("cannot throw into a running greenlet");
        }
        if let Err(payload) = node.kill() {
            panic::resume_unwind(payload);
        }
    }

    /// Returns this greenlet's parent, or `None` for the root.
    ///
    /// # Examples
    ///
    /// ```
    /// use grove_runtime::greenlet::{self, Greenlet};
    ///
    /// let g = Greenlet::new(|x: i32| x);
    /// assert_eq!(g.parent(), Some(greenlet::current()));
    /// assert_eq!(greenlet::current::<i32>().parent(), None);
    /// ```
    pub fn parent(&self) -> Option<Greenlet<T>> {
        let node = self.node.as_ref()?;
        let parent = node.parent.borrow().clone();
        Some(Greenlet::from_node(parent))
    }

    /// Makes `parent` this greenlet's parent.
    ///
    /// # Panics
    ///
    /// Panics if this is the root, or if `parent` is this greenlet or one of
    /// its descendants (parent chains cannot have cycles).
    ///
    /// # Examples
    ///
    /// ```
    /// use grove_runtime::greenlet::Greenlet;
    ///
    /// let collector = Greenlet::new(|x: i32| x + 1);
    /// let worker = Greenlet::new(|x: i32| x * 2);
    /// worker.set_parent(&collector);
    /// assert_eq!(worker.switch(5), 11); // 10 goes to `collector`, which returns 11
    /// ```
    pub fn set_parent(&self, parent: &Greenlet<T>) {
        let Some(node) = &self.node else {
            panic!("the root greenlet has no parent");
        };
        let mut ancestor = parent.node.clone();
        while let Some(a) = ancestor {
            if Rc::ptr_eq(&a, node) {
                panic!("set_parent would make a cycle of parents");
            }
            ancestor = a.parent.borrow().clone();
        }
        let old = node.parent.replace(parent.node.clone());
        drop(old);
    }

    /// Returns whether this greenlet has finished: returned, panicked or
    /// been killed. The root is never dead.
    ///
    /// # Examples
    ///
    /// ```
    /// use grove_runtime::greenlet::Greenlet;
    ///
    /// let g = Greenlet::new(|x: i32| x);
    /// assert!(!g.is_dead());
    /// g.switch(0);
    /// assert!(g.is_dead());
    /// ```
    pub fn is_dead(&self) -> bool {
        self.node
            .as_ref()
            .is_some_and(|node| node.state.get() == State::Dead)
    }

    /// Returns whether this greenlet's closure has been called (it stays
    /// `true` once the greenlet is dead). A greenlet killed before its first
    /// switch never starts. The root is always started.
    ///
    /// # Examples
    ///
    /// ```
    /// use grove_runtime::greenlet::Greenlet;
    ///
    /// let g = Greenlet::new(|x: i32| x);
    /// assert!(!g.is_started());
    /// g.switch(0);
    /// assert!(g.is_started());
    /// ```
    pub fn is_started(&self) -> bool {
        self.node.as_ref().is_none_or(|node| node.started.get())
    }

    /// Makes a handle to `node` (`None`: the root), counting it.
    fn from_node(node: Option<Rc<Node<T>>>) -> Greenlet<T> {
        if let Some(node) = &node {
            node.handles.set(node.handles.get() + 1);
        }
        Greenlet { node }
    }
}

impl<T: 'static> Clone for Greenlet<T> {
    fn clone(&self) -> Self {
        Greenlet::from_node(self.node.clone())
    }
}

impl<T: 'static> Drop for Greenlet<T> {
    fn drop(&mut self) {
        let Some(node) = &self.node else { return };
        let left = node.handles.get().saturating_sub(1);
        node.handles.set(left);
        // A running greenlet cannot be unwound from here; the trampoline
        // kills it when it next suspends with no handle left.
        if left == 0 {
            if let Err(payload) = node.kill() {
                if !std::thread::panicking() {
                    panic::resume_unwind(payload);
                }
            }
        }
    }
}

impl<T: 'static> PartialEq for Greenlet<T> {
    fn eq(&self, other: &Self) -> bool {
        same(&self.node, &other.node)
    }
}

impl<T: 'static> Eq for Greenlet<T> {}

impl<T: 'static> fmt::Debug for Greenlet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            None => f.write_str("Greenlet(root)"),
            Some(node) => f.debug_tuple("Greenlet").field(&node.state.get()).finish(),
        }
    }
}

impl<T: 'static> Node<T> {
    /// Whether the calling code runs on this greenlet's stack.
    fn on_own_stack(&self) -> bool {
        let probe = 0u8;
        let addr = std::hint::black_box(&probe) as *const u8 as usize;
        (self.stack_limit..self.stack_base).contains(&addr)
    }

    /// Suspends this greenlet, which is the running one, asking the
    /// trampoline to deliver `value` to `target`; returns what it is
    /// resumed with.
    fn suspend(&self, target: Option<Rc<Node<T>>>, value: T) -> T {
        let Some(yielder) = self.yielder.get() else {
            // Not inside its closure after all: act as a root.
            return trampoline(target, Delivery::Value(value));
        };
        // SAFETY: `current_node` returned this node, so it is the innermost
        // running greenlet (its frame is on top) and the calling code runs on
        // its stack. Code on a greenlet's stack runs inside its closure, and
        // `yielder` is set only while that closure executes (`YielderSlot`
        // clears it on return and on unwinding); corosensei keeps the
        // `Yielder` alive for the whole call. So the pointer is live, and it
        // is this coroutine's own yielder, suspended from its own stack.
        let yielder = unsafe { yielder.as_ref() };
        match yielder.suspend(Request { target, value }) {
            Resume::Value(value) => value,
            Resume::Panic(payload) => panic::resume_unwind(payload),
            Resume::Exit => panic::resume_unwind(Box::new(GreenletExit)),
        }
    }

    /// Kills this greenlet if it has not started or is suspended: drops its
    /// closure, or resumes it with [`Resume::Exit`] right here and lets it
    /// unwind. Returns a panic other than the exit that escaped it.
    fn kill(self: &Rc<Self>) -> Result<(), Payload> {
        match self.state.get() {
            State::Fresh => {
                self.state.set(State::Dead);
                let co = self.co.take();
                panic::catch_unwind(AssertUnwindSafe(move || drop(co)))
            }
            State::Suspended => {
                let Some(mut co) = self.co.take() else {
                    self.state.set(State::Dead);
                    return Ok(());
                };
                self.state.set(State::Dying);
                let result = {
                    let _frame = Frame::enter(self.clone());
                    panic::catch_unwind(AssertUnwindSafe(|| co.resume(Resume::Exit)))
                };
                self.state.set(State::Dead);
                // A dying greenlet cannot suspend (its `switch` raises the
                // exit again), so `co` has finished; were it still
                // suspended, dropping it would force-unwind it.
                let dropped = panic::catch_unwind(AssertUnwindSafe(move || drop(co)));
                match result {
                    // It caught the exit and returned: the value is dropped.
                    Ok(_) => dropped,
                    Err(payload) if payload.is::<GreenletExit>() => dropped,
                    Err(payload) => Err(payload),
                }
            }
            State::Running | State::Dying | State::Dead => Ok(()),
        }
    }
}

/// The body of every greenlet's coroutine.
fn run_closure<T: 'static, F: FnOnce(T) -> T>(
    node: &Weak<Node<T>>,
    yielder: &YielderOf<T>,
    first: Resume<T>,
    f: F,
) -> T {
    let _slot = YielderSlot::install(node, yielder);
    match first {
        Resume::Value(value) => f(value),
        // A panic sent into a greenlet that has not started: it dies
        // without running, and the panic goes on to its parent.
        Resume::Panic(payload) => panic::resume_unwind(payload),
        Resume::Exit => panic::resume_unwind(Box::new(GreenletExit)),
    }
}

/// Publishes a greenlet's yielder in its node for as long as its closure
/// executes.
struct YielderSlot<'a, T: 'static> {
    /// The greenlet whose [`Node::yielder`] this guard sets and clears.
    node: &'a Weak<Node<T>>,
}

impl<'a, T: 'static> YielderSlot<'a, T> {
    /// Stores `yielder` in the node until the guard is dropped.
    fn install(node: &'a Weak<Node<T>>, yielder: &YielderOf<T>) -> Self {
        if let Some(node) = node.upgrade() {
            node.yielder.set(Some(NonNull::from(yielder)));
        }
        YielderSlot { node }
    }
}

impl<T: 'static> Drop for YielderSlot<'_, T> {
    fn drop(&mut self) {
        if let Some(node) = self.node.upgrade() {
            node.yielder.set(None);
        }
    }
}

/// Records a greenlet as the innermost running one while it is resumed.
struct Frame {
    /// The innermost running greenlet before this one.
    prev: Option<Rc<dyn Any>>,
}

impl Frame {
    /// Makes `node` the innermost running greenlet until the guard drops.
    fn enter(node: Rc<dyn Any>) -> Frame {
        // `try_with` fails only while the thread's locals are destroyed; the
        // frame is then not recorded and `switch` acts as a root there.
        let prev = CURRENT.try_with(|c| c.replace(Some(node))).ok().flatten();
        DEPTH.with(|depth| depth.set(depth.get() + 1));
        Frame { prev }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| c.set(prev));
        DEPTH.with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

/// The running greenlet of family `T`, if the calling code runs on its
/// stack; `None` means the caller is `T`'s root.
fn current_node<T: 'static>() -> Option<Rc<Node<T>>> {
    let top = CURRENT
        .try_with(|c| {
            let top = c.take();
            let copy = top.clone();
            c.set(top);
            copy
        })
        .ok()
        .flatten()?;
    let node = top.downcast::<Node<T>>().ok()?;
    node.on_own_stack().then_some(node)
}

/// Follows parent links from `node` past every greenlet whose state `skip`
/// matches; `None` is the root.
fn resolve<T: 'static>(
    mut node: Option<Rc<Node<T>>>,
    skip: impl Fn(State) -> bool,
) -> Option<Rc<Node<T>>> {
    while let Some(n) = node {
        if !skip(n.state.get()) {
            return Some(n);
        }
        node = n.parent.borrow().clone();
    }
    None
}

/// Whether two optional nodes are the same greenlet (`None`: the root).
fn same<T: 'static>(a: &Option<Rc<Node<T>>>, b: &Option<Rc<Node<T>>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Rc::ptr_eq(a, b),
        _ => false,
    }
}

/// The root's side of `switch`: resumes greenlets of family `T` in turn,
/// following their requests, returns and panics, until a value or panic is
/// addressed to the root.
fn trampoline<T: 'static>(mut target: Option<Rc<Node<T>>>, mut delivery: Delivery<T>) -> T {
    loop {
        // Dead greenlets pass everything to their parents; so do greenlets
        // busy lower on the stack.
        let Some(node) = resolve(target.take(), |state| !state.is_resumable()) else {
            return match delivery {
                Delivery::Value(value) => value,
                Delivery::Panic(payload) => panic::resume_unwind(payload),
            };
        };
        let Some(mut co) = node.co.take() else {
            node.state.set(State::Dead);
            target = Some(node);
            continue;
        };
        let input = match delivery {
            Delivery::Value(value) => {
                node.started.set(true);
                Resume::Value(value)
            }
            Delivery::Panic(payload) => Resume::Panic(payload),
        };
        node.state.set(State::Running);
        let result = {
            let _frame = Frame::enter(node.clone());
            panic::catch_unwind(AssertUnwindSafe(|| co.resume(input)))
        };
        match result {
            Ok(CoroutineResult::Yield(request)) => {
                node.co.set(Some(co));
                node.state.set(State::Suspended);
                if node.handles.get() == 0 {
                    // Every handle went while it ran: nothing can switch
                    // back to it, so unwind it now. A panic from that
                    // unwinding is what it died of: it goes to the parent.
                    if let Err(payload) = node.kill() {
                        drop(request);
                        target = node.parent.borrow().clone();
                        delivery = Delivery::Panic(payload);
                        continue;
                    }
                }
                target = request.target;
                delivery = Delivery::Value(request.value);
            }
            Ok(CoroutineResult::Return(value)) => {
                node.state.set(State::Dead);
                drop(co);
                target = node.parent.borrow().clone();
                delivery = Delivery::Value(value);
            }
            Err(payload) => {
                node.state.set(State::Dead);
                drop(co);
                target = node.parent.borrow().clone();
                delivery = Delivery::Panic(payload);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::OnceCell;

    /// Sets its flag when dropped.
    struct Guard(Rc<Cell<bool>>);

    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }

    /// Counts its drops.
    struct Counter(Rc<Cell<u32>>);

    impl Drop for Counter {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    /// A handle to the parent of the running greenlet of family `T`.
    fn parent_of_current<T: 'static>() -> Greenlet<T> {
        current::<T>().parent().expect("called inside a greenlet")
    }

    #[test]
    fn ping_pong_between_two_greenlets() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let b_slot: Rc<OnceCell<Greenlet<i32>>> = Rc::new(OnceCell::new());
        let a = Greenlet::new({
            let (log, b_slot) = (log.clone(), b_slot.clone());
            move |mut x: i32| {
                for _ in 0..3 {
                    log.borrow_mut().push(('a', x));
                    x = b_slot.get().unwrap().switch(x + 1);
                }
                x
            }
        });
        let b = Greenlet::new({
            let (log, a) = (log.clone(), a.clone());
            move |mut x: i32| loop {
                log.borrow_mut().push(('b', x));
                x = a.switch(x * 10);
            }
        });
        assert!(b_slot.set(b.clone()).is_ok());
        assert_eq!(a.switch(1), 2110);
        let expected = [(1, 2), (20, 21), (210, 211)];
        let expected: Vec<_> = expected
            .iter()
            .flat_map(|&(a, b)| [('a', a), ('b', b)])
            .collect();
        assert_eq!(*log.borrow(), expected);
        assert!(a.is_dead());
        assert!(b.is_started() && !b.is_dead());
    }

    #[test]
    fn chain_a_b_c_a() {
        let order = Rc::new(RefCell::new(String::new()));
        let ring: Rc<RefCell<Vec<Greenlet<String>>>> = Rc::default();
        let unwound = Rc::new(Cell::new(0));
        let make = |name: char, next: usize| {
            let (order, ring, unwound) = (order.clone(), ring.clone(), unwound.clone());
            Greenlet::new(move |mut s: String| {
                let _count = Counter(unwound);
                for _ in 0..2 {
                    order.borrow_mut().push(name);
                    s.push(name);
                    let next = ring.borrow()[next].clone();
                    s = next.switch(s);
                }
                s
            })
        };
        let (a, b, c) = (make('A', 1), make('B', 2), make('C', 0));
        ring.borrow_mut().extend([a.clone(), b.clone(), c.clone()]);
        assert_eq!(a.switch(String::new()), "ABCABC");
        assert_eq!(*order.borrow(), "ABCABC");
        assert!(a.is_dead() && !b.is_dead() && !c.is_dead());
        assert_eq!(unwound.get(), 1);
        // b and c hold `ring`: empty it, or they would keep each other
        // suspended forever. Then dropping the handles unwinds them.
        ring.borrow_mut().clear();
        drop((a, c));
        assert_eq!(unwound.get(), 1, "b's stack holds a handle to c");
        drop(b);
        assert_eq!(unwound.get(), 3);
    }

    #[test]
    fn parent_receives_return_value() {
        let g = Greenlet::new(|x: i32| x * 2);
        assert_eq!(g.switch(21), 42);
        assert!(g.is_dead());

        // A child made inside a greenlet returns into that greenlet.
        let outer = Greenlet::new(|x: i32| {
            let child = Greenlet::new(|y: i32| y + 1);
            assert_eq!(child.parent(), Some(current()));
            child.switch(x) * 100
        });
        assert_eq!(outer.switch(1), 200);

        // `with_parent`: the child's return resumes the parent's pending switch.
        let waiting = Greenlet::new(|x: i32| x + parent_of_current::<i32>().switch(0));
        assert_eq!(waiting.switch(1), 0);
        let child = Greenlet::with_parent(|y: i32| y * 10, &waiting);
        assert_eq!(child.switch(5), 51);
        assert!(child.is_dead() && waiting.is_dead());
    }

    #[test]
    fn switching_to_a_dead_greenlet_goes_to_its_parent() {
        let g = Greenlet::new(|x: i32| x);
        g.switch(0);
        assert_eq!(g.switch(5), 5, "a dead child of the root: back to the root");

        let outer = Greenlet::new(|x: i32| {
            let child = Greenlet::new(|y: i32| y);
            let grandchild = Greenlet::with_parent(|z: i32| z, &child);
            assert_eq!(child.switch(1), 1);
            assert_eq!(grandchild.switch(2), 2);
            // Both dead: the switch climbs to `outer`, the current greenlet.
            assert_eq!(grandchild.switch(x), x);
            x + 1
        });
        assert_eq!(outer.switch(7), 8);
    }

    #[test]
    fn throw_runs_destructors() {
        let dropped = Rc::new(Cell::new(false));
        let after = Rc::new(Cell::new(false));
        let g = Greenlet::new({
            let (dropped, after) = (dropped.clone(), after.clone());
            move |x: i32| {
                let _guard = Guard(dropped);
                let y = parent_of_current::<i32>().switch(x + 1);
                after.set(true);
                y
            }
        });
        assert_eq!(g.switch(1), 2);
        assert!(!dropped.get());
        g.throw();
        assert!(dropped.get() && !after.get());
        assert!(g.is_dead() && g.is_started());
        g.throw(); // dead: nothing happens
    }

    #[test]
    fn throw_into_a_greenlet_that_has_not_started() {
        let ran = Rc::new(Cell::new(false));
        let dropped = Rc::new(Cell::new(false));
        let g = Greenlet::new({
            let (ran, guard) = (ran.clone(), Guard(dropped.clone()));
            move |x: i32| {
                let _guard = guard;
                ran.set(true);
                x
            }
        });
        g.throw();
        assert!(g.is_dead() && !g.is_started());
        assert!(dropped.get() && !ran.get());
        assert_eq!(g.switch(3), 3);
    }

    #[test]
    fn a_greenlet_being_killed_cannot_switch_away() {
        let attempts = Rc::new(Cell::new(0));
        let g = Greenlet::new({
            let attempts = attempts.clone();
            move |x: i32| {
                let root = parent_of_current::<i32>();
                let first = panic::catch_unwind(AssertUnwindSafe(|| root.switch(x)));
                assert!(first.is_err(), "the exit arrives at the pending switch");
                attempts.set(1);
                root.switch(x); // raises the exit again
                attempts.set(2);
                x
            }
        });
        g.switch(1);
        g.throw();
        assert_eq!(attempts.get(), 1);
        assert!(g.is_dead());
    }

    #[test]
    fn dropping_the_last_handle_unwinds() {
        let dropped = Rc::new(Cell::new(false));
        let g = Greenlet::new({
            let dropped = dropped.clone();
            move |x: i32| {
                let _guard = Guard(dropped);
                parent_of_current::<i32>().switch(x)
            }
        });
        g.switch(0);
        let second = g.clone();
        drop(g);
        assert!(!dropped.get(), "a handle is left");
        drop(second);
        assert!(dropped.get());
    }

    #[test]
    fn a_greenlet_that_lost_its_handles_while_running_is_unwound() {
        let dropped = Rc::new(Cell::new(false));
        let holder: Rc<RefCell<Option<Greenlet<i32>>>> = Rc::default();
        let g = Greenlet::new({
            let (dropped, holder) = (dropped.clone(), holder.clone());
            move |x: i32| {
                let _guard = Guard(dropped);
                drop(holder.borrow_mut().take()); // the last handle
                parent_of_current::<i32>().switch(x + 1)
            }
        });
        let child = Greenlet::with_parent(|y: i32| y * 10, &g);
        *holder.borrow_mut() = Some(g);
        // `child` returns into `g` (no handle needed), `g` drops its last
        // handle and suspends: the trampoline unwinds it.
        assert_eq!(child.switch(1), 11);
        assert!(dropped.get());
    }

    #[test]
    fn panic_propagates_to_the_parent() {
        let g = Greenlet::new(|_: i32| -> i32 { panic!("boom") });
        let err = panic::catch_unwind(AssertUnwindSafe(|| g.switch(1))).unwrap_err();
        assert_eq!(err.downcast_ref::<&str>(), Some(&"boom"));
        assert!(g.is_dead());

        // A parent greenlet receives its child's panic and may catch it.
        let outer = Greenlet::new(|x: i32| {
            let child = Greenlet::new(|_: i32| -> i32 { panic!("inner") });
            let caught = panic::catch_unwind(AssertUnwindSafe(|| child.switch(x)));
            assert!(caught.is_err() && child.is_dead());
            x + 1
        });
        assert_eq!(outer.switch(1), 2);
    }

    #[test]
    fn ten_thousand_greenlets() {
        let mut total = 0u64;
        for batch in 0..100u64 {
            let greenlets: Vec<_> = (0..100u64)
                .map(|i| Greenlet::new(move |x: u64| x + batch * 100 + i))
                .collect();
            for g in &greenlets {
                total += g.switch(1);
            }
            assert!(greenlets.iter().all(Greenlet::is_dead));
        }
        assert_eq!(total, (0..10_000u64).sum::<u64>() + 10_000);
    }

    #[test]
    fn nested_use_inside_a_closure() {
        let dropped = Rc::new(Cell::new(false));
        let outer = Greenlet::new({
            let dropped = dropped.clone();
            move |n: u32| {
                // A generator made and driven inside this greenlet.
                let numbers = Greenlet::new(move |_: u32| {
                    let _guard = Guard(dropped);
                    // Keep no handle to itself on its own stack: that would
                    // keep it alive (suspended) after `outer` drops it.
                    let parent = current::<u32>().parent().unwrap();
                    for i in 1.. {
                        parent.switch(i);
                    }
                    unreachable!("killed while suspended")
                });
                let sum = (0..n).map(|_| numbers.switch(0)).sum::<u32>();
                assert!(!numbers.is_dead());
                sum // `numbers` is dropped suspended here, and unwound
            }
        });
        assert_eq!(outer.switch(4), 1 + 2 + 3 + 4);
        assert!(dropped.get());
    }

    #[test]
    fn families_nest() {
        let outer = Greenlet::new(|x: i32| {
            let root_i32 = parent_of_current::<i32>();
            let shout = Greenlet::new(move |s: String| {
                assert!(in_greenlet());
                // Outside any i32 greenlet, this code is the root of i32: a
                // switch to the root is a switch to the current greenlet.
                assert_eq!(root_i32.switch(7), 7);
                s.to_uppercase()
            });
            let s = shout.switch("hi".to_string());
            x + s.len() as i32
        });
        assert_eq!(outer.switch(1), 3);
    }

    #[test]
    fn switching_to_a_greenlet_running_lower_on_the_stack_panics() {
        let holder: Rc<OnceCell<Greenlet<i32>>> = Rc::new(OnceCell::new());
        let a = Greenlet::new({
            let holder = holder.clone();
            move |x: i32| {
                let me = holder.get().unwrap().clone();
                let other = Greenlet::new(move |s: String| {
                    let err = panic::catch_unwind(AssertUnwindSafe(|| me.switch(1)));
                    assert!(err.is_err());
                    s
                });
                other.switch(String::new());
                x
            }
        });
        assert!(holder.set(a.clone()).is_ok());
        assert_eq!(a.switch(9), 9);
    }

    #[test]
    fn current_parent_and_in_greenlet() {
        assert!(!in_greenlet());
        let root = current::<i32>();
        assert!(root.parent().is_none() && root.is_started() && !root.is_dead());
        assert_eq!(root.switch(3), 3, "switching to the current greenlet");
        let g = Greenlet::new(|x: i32| {
            assert!(in_greenlet());
            let me = current::<i32>();
            assert_eq!(me.switch(x), x, "switching to the current greenlet");
            assert_eq!(me.parent(), Some(current::<i32>().parent().unwrap()));
            assert!(current::<u8>().parent().is_none(), "other families: root");
            x
        });
        assert_eq!(g.parent(), Some(root));
        assert_eq!(g.switch(1), 1);
        assert!(!in_greenlet());
        assert_eq!(format!("{g:?}"), "Greenlet(Dead)");
    }

    #[test]
    #[should_panic(expected = "cycle")]
    fn set_parent_rejects_cycles() {
        let a = Greenlet::new(|x: i32| x);
        let b = Greenlet::with_parent(|x: i32| x, &a);
        a.set_parent(&b);
    }
}
