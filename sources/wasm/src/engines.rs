//! The engines a registry's modules run in: the interpreter (`wasmi`, always there, the
//! default) and, with the `jit` feature, compiled code (`wasmtime`: Cranelift, or its baseline
//! compiler Winch). A module is
//! compiled for the engine its registry's configuration names when it is loaded
//! ([`WasmConfig::with_engine`](crate::WasmConfig::with_engine)); the imports, the call
//! protocol, the limits and the grants are the same in both (`imports`, `instance`).

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::config::{WasmConfig, WasmEngine};
use crate::interpreter::{self, InterpretedModule};
#[cfg(feature = "jit")]
use crate::jit::{self, JitModule};
use modreg_core::wasm_abi::SECTION;

/// The engines of one registry's sandbox. The interpreter's is the registry's own; the
/// compiling engine is the process's (`jit::engine`): its instance pool reserves address
/// space once, not once per registry.
pub(crate) struct Engines {
    interpreter: wasmi::Engine,
    /// The interpreter that validates each function at its first call, made when a module is
    /// first loaded in it.
    lazy_interpreter: OnceLock<wasmi::Engine>,
}

impl std::fmt::Debug for Engines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engines").finish_non_exhaustive()
    }
}

impl Default for Engines {
    fn default() -> Self {
        Engines {
            interpreter: interpreter::engine(false),
            lazy_interpreter: OnceLock::new(),
        }
    }
}

/// A module compiled for one engine.
#[derive(Debug)]
pub(crate) enum Compiled {
    Interpreted(InterpretedModule),
    #[cfg(feature = "jit")]
    Jitted(JitModule),
}

impl Engines {
    /// Validates and compiles `bytes` (SHA-256 `digest`) for the engine `config` names.
    pub(crate) fn compile(
        &self,
        bytes: &[u8],
        digest: &[u8; 32],
        config: &WasmConfig,
    ) -> Result<Compiled, String> {
        match config.engine() {
            chosen @ (WasmEngine::Interpreter | WasmEngine::LazyInterpreter) => {
                let _ = digest;
                let engine = if chosen == WasmEngine::LazyInterpreter {
                    self.lazy_interpreter
                        .get_or_init(|| interpreter::engine(true))
                } else {
                    &self.interpreter
                };
                InterpretedModule::new(engine, bytes).map(Compiled::Interpreted)
            }
            #[cfg(feature = "jit")]
            WasmEngine::Jit => JitModule::new(bytes, digest, config, jit::Compiler::Optimizing)
                .map(Compiled::Jitted),
            #[cfg(feature = "jit")]
            WasmEngine::JitBaseline => {
                JitModule::new(bytes, digest, config, jit::Compiler::Baseline).map(Compiled::Jitted)
            }
        }
    }
}

impl Compiled {
    /// Whether the module exports `name`.
    pub(crate) fn exports(&self, name: &str) -> bool {
        match self {
            Compiled::Interpreted(compiled) => compiled.module.get_export(name).is_some(),
            #[cfg(feature = "jit")]
            Compiled::Jitted(compiled) => compiled.exports(name),
        }
    }

    /// The contents of every custom section named [`SECTION`] (the plugins the module lists),
    /// in order, joined.
    pub(crate) fn plugin_section(&self) -> Cow<'_, [u8]> {
        match self {
            Compiled::Interpreted(compiled) => Cow::Owned(
                compiled
                    .module
                    .custom_sections()
                    .filter(|s| s.name() == SECTION)
                    .flat_map(|s| s.data().iter().copied())
                    .collect(),
            ),
            #[cfg(feature = "jit")]
            Compiled::Jitted(compiled) => Cow::Borrowed(&compiled.section),
        }
    }
}
