//! Hot reload: a thread that brings a registry in line with its plugin directory every so
//! often, until the returned guard is dropped.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::registry::ModuleRegistry;

/// Watches a plugin directory for a registry; stops when dropped.
#[derive(Debug)]
pub struct WasmWatcher {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for WasmWatcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl ModuleRegistry {
    /// Loads `dir` now and again every `interval`: a new or changed module is loaded (calls in
    /// flight finish on the old code), a removed one unloaded, and one that fails to load or
    /// verify is refused (logged, counted, alerted) while the version before it keeps serving.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use modreg_host::ModuleRegistry;
    ///
    /// let registry = Arc::new(ModuleRegistry::new());
    /// let _watcher = registry.watch_wasm_plugins("plugins", Duration::from_secs(1));
    /// // ... serve; dropping `_watcher` stops watching.
    /// ```
    pub fn watch_wasm_plugins(
        self: &Arc<Self>,
        dir: impl Into<PathBuf>,
        interval: Duration,
    ) -> WasmWatcher {
        WasmWatcher::start(self, dir, interval)
    }
}

impl WasmWatcher {
    /// [`ModuleRegistry::watch_wasm_plugins`] for anything that holds a registry (the facade's
    /// registry, with its layers): the watcher keeps a weak reference to `registry`.
    pub fn start<R>(registry: &Arc<R>, dir: impl Into<PathBuf>, interval: Duration) -> WasmWatcher
    where
        R: AsRef<ModuleRegistry> + Send + Sync + 'static,
    {
        let (stop, stopped) = channel::<()>();
        let registry = Arc::downgrade(registry);
        let dir = dir.into();
        let thread = std::thread::Builder::new()
            .name("modreg-wasm-watch".to_owned())
            .spawn(move || {
                loop {
                    let Some(registry) = registry.upgrade() else {
                        return;
                    };
                    match registry.as_ref().as_ref().load_wasm_plugins(&dir) {
                        Ok(report) => {
                            for (module, error) in &report.refused {
                                tracing::warn!(module, error = %error.to_string().escape_debug(), "plugin module refused; the version before it, if any, keeps serving");
                            }
                        }
                        Err(error) => tracing::warn!(%error, "cannot read the plugin directory"),
                    }
                    drop(registry);
                    match stopped.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .ok();
        WasmWatcher {
            stop: Some(stop),
            thread,
        }
    }
}
