//! The sandbox's worker threads are bounded per registry: calls that time out keep their
//! thread until the plugin returns, and once every worker is taken further calls are refused,
//! not given more; another registry's workers are its own. (Its own test binary: the stuck
//! plugin is released through a process-wide switch.)

#[macro_use]
#[path = "support/refusals.rs"]
mod refusals;

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use modreg::{
    ModuleRegistry, PluginBehavior, PluginError, PluginErrorKind, PluginSecurityConfig,
    SandboxLimits, SecurityError, plugin,
};

/// Set to `true` to let every blocked call return.
static RELEASED: Mutex<bool> = Mutex::new(false);
static RELEASE: Condvar = Condvar::new();

#[plugin(type = Analyzer, version = "1.0.0")]
#[derive(Default)]
struct Stuck;

impl PluginBehavior for Stuck {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let mut released = RELEASED.lock().unwrap();
        while !*released {
            released = RELEASE.wait(released).unwrap();
        }
        Ok(data.to_vec())
    }
}

fn sandboxed(max_workers: Option<usize>) -> ModuleRegistry {
    let registry = ModuleRegistry::new();
    registry
        .configure_plugin_security(
            PluginSecurityConfig::new()
                .with_plugin_sandboxing(true)
                .with_sandbox_limits({
                    let limits = SandboxLimits::new().with_time_budget(Duration::from_millis(20));
                    match max_workers {
                        Some(workers) => limits.with_max_workers(workers),
                        None => limits,
                    }
                }),
        )
        .unwrap();
    registry
}

#[test]
fn stuck_calls_hold_at_most_max_workers_threads() {
    let registry = sandboxed(Some(2));
    let stuck = registry.create_plugin("stuck").unwrap();
    for _ in 0..2 {
        assert!(matches!(
            stuck.process(b"x").as_ref().map_err(PluginError::kind),
            Err(PluginErrorKind::Timeout { .. })
        ));
    }
    for _ in 0..5 {
        assert_refused!(
            stuck.process(b"x"),
            SecurityError::SandboxExhausted { limit: 2, .. }
        );
    }
    // Another registry's calls get workers of their own: they time out, not refused.
    let other = sandboxed(Some(2));
    assert!(matches!(
        other
            .create_plugin("stuck")
            .unwrap()
            .process(b"x")
            .as_ref()
            .map_err(PluginError::kind),
        Err(PluginErrorKind::Timeout { .. })
    ));
    // Once the stuck calls return, their workers are free again.
    *RELEASED.lock().unwrap() = true;
    RELEASE.notify_all();
    let mut freed = false;
    for _ in 0..500 {
        if stuck.process(b"y").is_ok() {
            freed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(freed, "the workers were not given back");
}

#[test]
fn limits_apply_or_are_refused() {
    let registry = ModuleRegistry::new();
    let err = registry
        .configure_plugin_security(
            PluginSecurityConfig::new()
                .with_sandbox_limits(SandboxLimits::new().with_max_input_bytes(1)),
        )
        .unwrap_err();
    assert!(err.to_string().contains("sandboxing is off"), "{err}");
    assert!(!registry.security().sandboxing());
    let err = registry
        .configure_plugin_security(
            PluginSecurityConfig::new()
                .with_plugin_sandboxing(true)
                .with_sandbox_limits(SandboxLimits::new().with_max_workers(0)),
        )
        .unwrap_err();
    assert!(err.to_string().contains("max_workers"), "{err}");
    let err = registry
        .configure_plugin_security(
            PluginSecurityConfig::new()
                .with_plugin_sandboxing(true)
                .with_sandbox_limits(SandboxLimits::new().with_time_budget(Duration::ZERO)),
        )
        .unwrap_err();
    assert!(err.to_string().contains("time_budget = 0"), "{err}");
    assert!(
        !registry.security().sandboxing(),
        "a refused configuration changes nothing"
    );
}
