//! Containing a plugin's panic: the call returns `PluginErrorKind::Panicked` instead of
//! unwinding through the host.
//!
//! This keeps the registry and every other plugin working after one plugin panics. It does
//! not stop memory corruption in `unsafe` code, an abort, or a plugin that never returns.

use std::any::Any;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{PluginError, PluginErrorKind};

thread_local! {
    /// How many guards this thread is inside: a panic here is caught and reported as an error.
    static GUARDED: Cell<u32> = const { Cell::new(0) };
}

static QUIET_HOOK: Once = Once::new();

/// Installs, once, a panic hook in front of the one the process has: a panic inside a guard is
/// reported once, by the error the guard returns, and not also printed by the hook; every
/// other panic goes to the hook that was there before (the application's or the default).
/// An application that sets its own hook later replaces this one and sees every panic.
fn quiet_guarded_panics() {
    // The hook cannot be changed from a thread that is unwinding (a guard in a `Drop` during a
    // panic): the next guard installs it.
    if QUIET_HOOK.is_completed() || std::thread::panicking() {
        return;
    }
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}

/// Runs `call` with this thread marked as guarded.
#[inline]
fn guarded<R>(call: impl FnOnce() -> R) -> std::thread::Result<R> {
    quiet_guarded_panics();
    GUARDED.with(|depth| depth.set(depth.get() + 1));
    let outcome = catch_unwind(AssertUnwindSafe(call));
    GUARDED.with(|depth| depth.set(depth.get() - 1));
    outcome
}

/// Runs `call` for `plugin`, turning a panic into an error that names the plugin and call.
/// The panic is not also printed by the process's panic hook (see [`guard_value`]).
#[inline]
pub fn guard<T>(
    plugin: &str,
    during: &'static str,
    call: impl FnOnce() -> Result<T, PluginError>,
) -> Result<T, PluginError> {
    match guarded(call) {
        Ok(outcome) => outcome,
        Err(payload) => Err(panicked(plugin, during, payload.as_ref())),
    }
}

/// Runs an infallible `call` for `plugin`, turning a panic into an error. What crosses the
/// guard is `T` alone (a `Box` for a constructor), which keeps the happy path as cheap as a
/// plain call.
///
/// The first guard installs a panic hook in front of the process's own: a panic inside a
/// guard is reported once, by the returned error (and by the host's log), not also printed
/// as if nothing had caught it. Panics outside guards reach the hook that was there before.
#[inline]
pub fn guard_value<T>(
    plugin: &str,
    during: &'static str,
    call: impl FnOnce() -> T,
) -> Result<T, PluginError> {
    guarded(call).map_err(|payload| panicked(plugin, during, payload.as_ref()))
}

/// [`guard`] for a future: each poll runs under the guard, so a panic while it is polled is
/// the future's `PluginErrorKind::Panicked`, not an unwinding executor.
pub async fn guard_future<T>(
    plugin: &str,
    during: &'static str,
    future: impl std::future::Future<Output = Result<T, PluginError>>,
) -> Result<T, PluginError> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(
        |cx| match guard_value(plugin, during, || future.as_mut().poll(cx)) {
            Ok(poll) => poll,
            Err(panicked) => std::task::Poll::Ready(Err(panicked)),
        },
    )
    .await
}

#[cold]
#[inline(never)]
fn panicked(plugin: &str, during: &'static str, payload: &(dyn Any + Send)) -> PluginError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".to_owned());
    PluginError::from(PluginErrorKind::Panicked {
        plugin: plugin.to_owned(),
        during,
        message,
    })
}

/// Remembers that an instance panicked and refuses every later call to it: what a wrapper
/// that catches panics keeps (the host's sandbox, the monitoring layer's meter), since an
/// instance that panicked half-way may hold broken state.
#[derive(Debug, Default)]
pub struct PanicLatch(AtomicBool);

impl PanicLatch {
    /// `PluginErrorKind::Failed` for `plugin` once a panic was seen, else `Ok`.
    #[inline]
    pub fn check(&self, plugin: &str) -> Result<(), PluginError> {
        if self.0.load(Ordering::Acquire) {
            return Err(PluginError::from(PluginErrorKind::Failed {
                plugin: plugin.to_owned(),
            }));
        }
        Ok(())
    }

    /// Latches if `outcome` is a caught panic.
    #[inline]
    pub fn observe<T>(&self, outcome: &Result<T, PluginError>) {
        if matches!(
            outcome.as_ref().map_err(PluginError::kind),
            Err(PluginErrorKind::Panicked { .. })
        ) {
            self.0.store(true, Ordering::Release);
        }
    }

    /// Whether a panic was seen.
    pub fn is_latched(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {

    /// Polls `future` once: these futures are ready at once.
    fn once<T>(future: impl std::future::Future<Output = T>) -> T {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("pending"),
        }
    }

    #[test]
    #[cfg_attr(
        not(panic = "unwind"),
        ignore = "panics abort on this target: nothing to catch"
    )]
    fn a_future_that_panics_while_polled_is_an_error() {
        assert_eq!(
            once(guard_future("p", "process", async { Ok(7u8) })).unwrap(),
            7
        );
        let error = once(guard_future("p", "process", async {
            assert!(std::hint::black_box(false), "inside the future");
            Ok(0u8)
        }))
        .unwrap_err();
        assert!(
            matches!(error.kind(), PluginErrorKind::Panicked { message, .. } if message.contains("inside the future")),
            "{error:?}"
        );
    }

    use super::*;

    #[test]
    #[cfg_attr(
        not(panic = "unwind"),
        ignore = "panics abort on this target: nothing to catch"
    )]
    fn a_panic_becomes_an_error_naming_the_plugin() {
        let err = guard::<()>("p", "process", || panic!("boom")).unwrap_err();
        assert_eq!(err.to_string(), "plugin `p` panicked in process: boom");
        assert_eq!(guard("p", "process", || Ok(1)).unwrap(), 1);
        let err = guard_value::<u8>("q", "construction", || panic!("{}", "owned")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "plugin `q` panicked in construction: owned"
        );
    }
}
