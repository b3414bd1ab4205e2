//! A caught constructor panic is reported once, by the error: the application's panic hook
//! (installed before the registry is used) does not hear of it, and still hears of every
//! panic outside a plugin. One test in its own binary: the hook is process-wide.
#![cfg(panic = "unwind")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use modreg_core::{PluginErrorKind, plugin, registry};

pub trait Shape: Send + Sync {}

registry!(SHAPES: dyn Shape);

#[plugin(registry = SHAPES)]
struct Exploding;

impl Default for Exploding {
    fn default() -> Self {
        panic!("cannot build")
    }
}

impl Shape for Exploding {}

#[test]
fn a_caught_panic_is_not_printed_and_other_panics_reach_the_applications_hook() {
    let heard = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&heard);
    std::panic::set_hook(Box::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    }));

    let err = SHAPES
        .create("exploding")
        .err()
        .expect("the constructor panics");
    assert!(
        matches!(err.kind(), PluginErrorKind::Panicked { .. }),
        "{err}"
    );
    assert_eq!(
        heard.load(Ordering::SeqCst),
        0,
        "the caught panic was printed"
    );

    let outside = std::panic::catch_unwind(|| panic!("the application's own"));
    assert!(outside.is_err());
    assert_eq!(
        heard.load(Ordering::SeqCst),
        1,
        "a panic outside a plugin must reach the application's hook"
    );

    let _ = SHAPES.create("exploding");
    assert_eq!(heard.load(Ordering::SeqCst), 1);
    drop(std::panic::take_hook());
}
