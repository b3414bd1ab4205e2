//! `WasmPlugin`: the `Plugin` a created WebAssembly plugin is. Instances of one module share
//! its compiled code and a pool of idle sandboxes; a sandbox a call trapped in is dropped, not
//! reused.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use wasmi::Engine;

use crate::config::WasmConfig;
use crate::imports::Grants;
use crate::instance::{CallError, Sandbox};
use crate::module::WasmModule;
use modreg_core::Plugin;
use modreg_core::PluginError;
use modreg_core::PluginType;
use modreg_host::Events;

/// A loaded module with its engine, the limits it was loaded under and its idle sandboxes.
///
/// Idle sandboxes keep their linear memory for the next call, so they are bounded: at most
/// `pool_size` per module, none whose guest grew its memory (it is dropped, its memory given
/// back), and all modules of a registry together at most `max_idle_memory` bytes (`idle`
/// counts them).
#[derive(Debug)]
pub(crate) struct LoadedModule {
    pub(crate) module: WasmModule,
    engine: Engine,
    config: WasmConfig,
    events: Events,
    pool: Mutex<Vec<Sandbox>>,
    /// Bytes of memory idle sandboxes hold across the registry's modules.
    idle: Arc<AtomicUsize>,
}

impl LoadedModule {
    pub(crate) fn new(
        module: WasmModule,
        engine: Engine,
        config: WasmConfig,
        events: Events,
        idle: Arc<AtomicUsize>,
    ) -> Self {
        LoadedModule {
            module,
            engine,
            config,
            events,
            pool: Mutex::new(Vec::new()),
            idle,
        }
    }

    /// A sandbox ready for a call: an idle one, else a new instance.
    pub(crate) fn sandbox(&self) -> Result<Sandbox, PluginError> {
        let idle = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(sandbox) => {
                self.idle
                    .fetch_sub(sandbox.memory_bytes(), Ordering::AcqRel);
                Ok(sandbox)
            }
            None => Sandbox::new(&self.engine, &self.module, &self.config, &self.events),
        }
    }

    /// Makes the module's first instance before it may replace anything: its imports link,
    /// its memory fits the cap, its start function ends within one slice of fuel and its
    /// exports have their types. The instance waits in the pool for the first call.
    pub(crate) fn instantiate_once(&self) -> Result<(), PluginError> {
        let sandbox = Sandbox::new(&self.engine, &self.module, &self.config, &self.events)?;
        self.give_back(sandbox);
        Ok(())
    }

    fn give_back(&self, sandbox: Sandbox) {
        if sandbox.grew() {
            return;
        }
        let bytes = sandbox.memory_bytes();
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() >= self.config.pool_size() {
            return;
        }
        let budget = self.config.max_idle_memory();
        let taken = self
            .idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|total| *total <= budget)
            });
        if taken.is_ok() {
            pool.push(sandbox);
        }
    }

    /// Runs plugin `index` on `input` in a pooled sandbox.
    fn call(&self, spec: &WasmPluginSpec, input: &[u8]) -> Result<Vec<u8>, PluginError> {
        let mut sandbox = self.sandbox()?;
        match sandbox.call(&spec.name, spec.index, input, &spec.grants, &self.config) {
            Ok(output) => {
                self.give_back(sandbox);
                Ok(output)
            }
            Err(CallError::Plugin(error)) => {
                self.give_back(sandbox);
                Err(error)
            }
            Err(CallError::Fatal(error)) => Err(error),
        }
    }
}

impl Drop for LoadedModule {
    /// A replaced or unloaded module's idle sandboxes go, and their memory off the count.
    fn drop(&mut self) {
        let pool = self.pool.get_mut().unwrap_or_else(PoisonError::into_inner);
        let bytes: usize = pool.iter().map(Sandbox::memory_bytes).sum();
        self.idle.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// One plugin of a loaded module: what its instances report and may reach.
#[derive(Debug)]
pub(crate) struct WasmPluginSpec {
    pub(crate) module: Arc<LoadedModule>,
    pub(crate) index: u32,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) plugin_type: PluginType,
    pub(crate) capabilities: Vec<String>,
    pub(crate) grants: Arc<Grants>,
}

/// An instance of a WebAssembly plugin.
#[derive(Debug)]
pub(crate) struct WasmPlugin {
    spec: Arc<WasmPluginSpec>,
}

impl WasmPlugin {
    pub(crate) fn new(spec: Arc<WasmPluginSpec>) -> Self {
        WasmPlugin { spec }
    }
}

impl Plugin for WasmPlugin {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn version(&self) -> &str {
        &self.spec.version
    }

    fn plugin_type(&self) -> PluginType {
        self.spec.plugin_type
    }

    fn capabilities(&self) -> &[String] {
        &self.spec.capabilities
    }

    /// The guest initializes each plugin on its first call, inside the sandbox.
    fn initialize(&mut self) -> Result<(), PluginError> {
        Ok(())
    }

    fn cleanup(&mut self) -> Result<(), PluginError> {
        Ok(())
    }

    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        self.spec.module.call(&self.spec, data)
    }
}
