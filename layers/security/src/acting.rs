//! The principal on whose behalf the current thread is changing a registry.
//!
//! An [`AccessScope`](crate::AccessScope) makes its changes through the host's public calls,
//! which carry no principal: it names its principal here for the length of the call, and the
//! layer's `check_change` (which the host runs inside that call, on this thread) reads it.
//! A change made outside any scope has no principal.

use std::cell::RefCell;

use crate::access::Principal;

thread_local! {
    static ACTING: RefCell<Vec<Principal>> = const { RefCell::new(Vec::new()) };
}

/// Runs `call` with `principal` acting on this thread.
pub(crate) fn acting_as<T>(principal: &Principal, call: impl FnOnce() -> T) -> T {
    /// Ends the principal's turn however `call` ends (a panic included).
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            ACTING.with(|acting| acting.borrow_mut().pop());
        }
    }
    ACTING.with(|acting| acting.borrow_mut().push(principal.clone()));
    let _done = Done;
    // The host hears the name too: what keeps state per caller reads it there.
    modreg_host::on_behalf_of(&principal.name, call)
}

/// The principal acting on this thread, if any.
pub(crate) fn acting() -> Option<Principal> {
    ACTING.with(|acting| acting.borrow().last().cloned())
}
