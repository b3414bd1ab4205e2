//! Hot reload: a thread that brings a registry in line with its plugin directory every so
//! often, until the returned guard is dropped.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use modreg_host::ModuleRegistry;

use crate::load::Wasm;

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

impl WasmWatcher {
    /// Loads `dir` now and again every `interval` into the registry `registry` holds, with the
    /// sandbox it holds: a new or changed module is loaded (calls in flight finish on the old
    /// code), a removed one unloaded, and one that fails to load or verify is refused (logged,
    /// counted, alerted) while the version before it keeps serving. The watcher keeps a weak
    /// reference to `registry` and stops when dropped or when the registry is.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use modreg_host::ModuleRegistry;
    /// use modreg_wasm::{Wasm, WasmWatcher};
    ///
    /// struct Host {
    ///     registry: ModuleRegistry,
    ///     wasm: Wasm,
    /// }
    /// impl AsRef<ModuleRegistry> for Host {
    ///     fn as_ref(&self) -> &ModuleRegistry { &self.registry }
    /// }
    /// impl AsRef<Wasm> for Host {
    ///     fn as_ref(&self) -> &Wasm { &self.wasm }
    /// }
    ///
    /// let host = Arc::new(Host { registry: ModuleRegistry::new(), wasm: Wasm::new() });
    /// let _watcher = WasmWatcher::start(&host, "plugins", Duration::from_secs(1));
    /// // ... serve; dropping `_watcher` stops watching.
    /// ```
    pub fn start<R>(registry: &Arc<R>, dir: impl Into<PathBuf>, interval: Duration) -> WasmWatcher
    where
        R: AsRef<ModuleRegistry> + AsRef<Wasm> + Send + Sync + 'static,
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
                    let host: &ModuleRegistry = (*registry).as_ref();
                    let wasm: &Wasm = (*registry).as_ref();
                    match wasm.on(host).load_wasm_plugins(&dir) {
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
