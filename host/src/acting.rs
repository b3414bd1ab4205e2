//! The principal on whose behalf the current thread calls the host.
//!
//! The host's calls carry no caller. A layer that knows callers (security's `AccessScope`)
//! names one here for the length of a call, on the calling thread; what keeps state per
//! caller reads it when a plugin is created (the sandbox's per-principal guest state), and
//! the instance keeps the name for its life. A call made outside any such scope has no
//! principal, and neither has an instance the host shares between callers (instance
//! sharing): it is made on nobody's behalf.

use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    /// The principals acting, innermost last; `None` where the host acts on nobody's behalf.
    static ACTING: RefCell<Vec<Option<Arc<str>>>> = const { RefCell::new(Vec::new()) };
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
    acting(Some(Arc::from(principal)), call)
}

/// Runs `call` with no principal acting, whoever acts around it: for instances the host
/// shares between callers.
pub(crate) fn on_nobodys_behalf<T>(call: impl FnOnce() -> T) -> T {
    acting(None, call)
}

fn acting<T>(principal: Option<Arc<str>>, call: impl FnOnce() -> T) -> T {
    /// Ends the principal's turn however `call` ends.
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            ACTING.with(|acting| acting.borrow_mut().pop());
        }
    }
    ACTING.with(|acting| acting.borrow_mut().push(principal));
    let _done = Done;
    call()
}

/// The principal acting on this thread ([`on_behalf_of`]), if any.
pub fn acting_principal() -> Option<Arc<str>> {
    ACTING.with(|acting| acting.borrow().last().cloned().flatten())
}
