//! Cooperative cancellation: a caller that gives up on a call says so, and a plugin doing
//! long work asks between pieces of it and stops.
//!
//! The caller runs the call inside [`with_cancellation`] with a flag it sets when it gives up
//! (`modreg serve` sets it when a request's deadline passes or its client goes away); code on
//! that thread asks [`is_cancelled`], or [`check`] to get the error to return. A plugin that
//! never asks runs to its end, as before: cancellation is heard, not forced (a thread cannot be
//! stopped from outside; the WebAssembly sandbox stops guests by its own time budget).
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use modreg_core::{PluginErrorKind, cancel};
//!
//! // A long job that listens between its pieces.
//! fn work() -> Result<u32, modreg_core::PluginError> {
//!     let mut done = 0;
//!     for _ in 0..1_000 {
//!         cancel::check("counter")?;
//!         done += 1;
//!     }
//!     Ok(done)
//! }
//!
//! let flag = Arc::new(AtomicBool::new(false));
//! assert_eq!(cancel::with_cancellation(&flag, work).unwrap(), 1_000);
//! flag.store(true, Ordering::Relaxed);
//! let error = cancel::with_cancellation(&flag, work).unwrap_err();
//! assert!(matches!(error.kind(), PluginErrorKind::Cancelled { .. }));
//! // Outside a scope nothing is ever cancelled.
//! assert!(!cancel::is_cancelled());
//! ```

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{PluginError, PluginErrorKind};

thread_local! {
    /// The flags of the scopes this thread is in, innermost last.
    static SCOPES: RefCell<Vec<Arc<AtomicBool>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `call` with `flag` as this thread's cancellation: inside it, [`is_cancelled`] is true
/// once `flag` is set (or the flag of a scope around this one).
pub fn with_cancellation<T>(flag: &Arc<AtomicBool>, call: impl FnOnce() -> T) -> T {
    /// Leaves the scope however `call` ends, a panic included.
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            SCOPES.with(|scopes| scopes.borrow_mut().pop());
        }
    }
    SCOPES.with(|scopes| scopes.borrow_mut().push(Arc::clone(flag)));
    let _leave = Leave;
    call()
}

/// Whether the caller of the call running on this thread has given up on it.
pub fn is_cancelled() -> bool {
    SCOPES.with(|scopes| {
        scopes
            .borrow()
            .iter()
            .any(|flag| flag.load(Ordering::Relaxed))
    })
}

/// [`PluginErrorKind::Cancelled`] for `plugin` if the call is cancelled: `cancel::check(name)?`
/// between pieces of long work.
pub fn check(plugin: &str) -> Result<(), PluginError> {
    if is_cancelled() {
        return Err(PluginError::from(PluginErrorKind::Cancelled {
            plugin: plugin.to_owned(),
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest_and_end_with_their_call() {
        let outer = Arc::new(AtomicBool::new(false));
        let inner = Arc::new(AtomicBool::new(true));
        with_cancellation(&outer, || {
            assert!(!is_cancelled());
            with_cancellation(&inner, || assert!(is_cancelled()));
            assert!(!is_cancelled());
        });
        assert!(!is_cancelled());
    }

    /// Where panics unwind (not on `wasm32-wasip1`, which aborts).
    #[cfg(panic = "unwind")]
    #[test]
    fn a_scope_ends_with_its_call_in_a_panic() {
        let inner = Arc::new(AtomicBool::new(true));
        let _ = std::panic::catch_unwind(|| with_cancellation(&inner, || panic!("out")));
        assert!(!is_cancelled(), "the panicking scope ended");
    }
}
