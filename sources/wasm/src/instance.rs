//! One instance of a module, in the engine it was compiled for: made, measured, and called
//! through the protocol in `call`.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use crate::call::{CallError, GuestInstance, block_on, call, host_state, warm_up};
use crate::config::WasmConfig;
use crate::engines::Compiled;
use crate::imports::Grants;
use crate::interpreter::Interpreted;
#[cfg(feature = "jit")]
use crate::jit::Jitted;
use crate::module::WasmModule;
use crate::state::Reset;
use modreg_core::{PluginError, PluginErrorKind};
use modreg_host::Events;

/// Whether an instance [`Sandbox::new_resettable`] made can be reset after a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resettable {
    Yes,
    /// Nor will any other of its module: the engine or the module does not allow it, or its
    /// first allocation failed.
    Never,
    /// Not this one: the registry's memory was short for its first allocation.
    NotNow,
}

/// An instantiated module, in the engine it was compiled for.
#[derive(Debug)]
pub(crate) enum Sandbox {
    Interpreted(Interpreted),
    #[cfg(feature = "jit")]
    Jitted(Jitted),
}

/// `$body` with `$guest` bound to the sandbox's instance, whichever engine it is in.
macro_rules! with_guest {
    ($sandbox:expr, $guest:ident => $body:expr) => {
        match $sandbox {
            Sandbox::Interpreted($guest) => $body,
            #[cfg(feature = "jit")]
            Sandbox::Jitted($guest) => $body,
        }
    };
}

impl Sandbox {
    /// Instantiates `module` (its start function, if any, runs under the sandbox's limits).
    pub(crate) fn new(
        module: &WasmModule,
        config: &WasmConfig,
        events: &Events,
        total: &Arc<AtomicUsize>,
    ) -> Result<Self, PluginError> {
        let state = host_state(config, events, total);
        match &module.compiled {
            Compiled::Interpreted(compiled) => {
                Interpreted::new(compiled, &module.name, config, state).map(Sandbox::Interpreted)
            }
            #[cfg(feature = "jit")]
            Compiled::Jitted(compiled) => {
                Jitted::new(compiled, &module.name, config, state).map(Sandbox::Jitted)
            }
        }
    }

    /// A new instance of `module` that [`reset`](Self::reset) puts back into its state after
    /// the host's first `modreg_alloc(1)` (`state`), and whether it can be reset: not where
    /// the engine or the module does not allow it, nor where that first allocation failed
    /// (then the instance is a plain new one).
    pub(crate) fn new_resettable(
        module: &WasmModule,
        config: &WasmConfig,
        events: &Events,
        total: &Arc<AtomicUsize>,
    ) -> Result<(Self, Resettable), PluginError> {
        let mut sandbox = Self::new(module, config, events, total)?;
        let warmed = with_guest!(&mut sandbox, guest => guest.resettable().then(|| {
            match block_on(warm_up(guest, &module.name, config)) {
                Ok(()) if guest.keep_state() => Resettable::Yes,
                // The registry's memory is short now; the next instance may fit.
                Err(CallError::Fatal(error) | CallError::Plugin(error))
                    if matches!(error.kind(), PluginErrorKind::MemoryLimit { .. }) =>
                {
                    Resettable::NotNow
                }
                _ => Resettable::Never,
            }
        }));
        let Some(warmed) = warmed else {
            return Ok((sandbox, Resettable::Never));
        };
        if warmed == Resettable::Yes {
            return Ok((sandbox, warmed));
        }
        // Its memory goes back to the registry's count before another is made.
        drop(sandbox);
        Ok((Self::new(module, config, events, total)?, warmed))
    }

    /// Puts the instance back into the state it was kept in ([`new_resettable`](Self::new_resettable)).
    pub(crate) fn reset(&mut self) -> Reset {
        with_guest!(self, guest => guest.reset())
    }

    /// The bytes of linear memory this instance holds.
    pub(crate) fn memory_bytes(&self) -> usize {
        with_guest!(self, guest => guest.memory_bytes())
    }

    /// Whether the guest grew its memory past what the module declared at the start: such
    /// an instance is kept idle only within its share of the idle budget.
    pub(crate) fn grew(&self) -> bool {
        with_guest!(self, guest => guest.grew())
    }

    /// Runs plugin number `index` (named `plugin`) on `input` with `grants`. An `Err` that is
    /// not the plugin's own error leaves the instance unusable: drop it. The thread waits for
    /// any async host function the guest calls.
    pub(crate) fn call(
        &mut self,
        plugin: &str,
        index: u32,
        input: &[u8],
        grants: &Arc<Grants>,
        config: &WasmConfig,
    ) -> Result<Vec<u8>, CallError> {
        block_on(self.call_async(plugin, index, input, grants, config))
    }

    /// [`call`](Self::call) as a future: while the guest waits for an async host function,
    /// the future is pending (the caller's task yields its thread).
    pub(crate) async fn call_async(
        &mut self,
        plugin: &str,
        index: u32,
        input: &[u8],
        grants: &Arc<Grants>,
        config: &WasmConfig,
    ) -> Result<Vec<u8>, CallError> {
        with_guest!(self, guest => call(guest, plugin, index, input, grants, config).await)
    }
}
