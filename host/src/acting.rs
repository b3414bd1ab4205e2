//! The principal on whose behalf the current thread calls the host.
//!
//! The host's calls carry no caller. A layer that knows callers (security's `AccessScope`)
//! names one here for the length of a call, on the calling thread; what keeps state per
//! caller reads it when a plugin is created (the sandbox's per-principal guest state), and
//! the instance keeps the name for its life. A call made outside any such scope has no
//! principal.

use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    static ACTING: RefCell<Vec<Arc<str>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `call` with the principal named `principal` acting on this thread (innermost wins,
/// and the one before it is back when `call` ends, a panic included).
///
/// ```
/// use modreg_host::{acting_principal, on_behalf_of};
///
/// assert_eq!(acting_principal(), None);
/// let inside = on_behalf_of("alice", || acting_principal());
/// assert_eq!(inside.as_deref(), Some("alice"));
/// assert_eq!(acting_principal(), None);
/// ```
pub fn on_behalf_of<T>(principal: &str, call: impl FnOnce() -> T) -> T {
    /// Ends the principal's turn however `call` ends.
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            ACTING.with(|acting| acting.borrow_mut().pop());
        }
    }
    ACTING.with(|acting| acting.borrow_mut().push(Arc::from(principal)));
    let _done = Done;
    call()
}

/// The principal acting on this thread ([`on_behalf_of`]), if any.
pub fn acting_principal() -> Option<Arc<str>> {
    ACTING.with(|acting| acting.borrow().last().cloned())
}
