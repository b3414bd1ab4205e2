//! The engines a module runs in: the interpreter (`wasmi`, always there, the default) and,
//! with the `jit` feature, compiled code (`wasmtime`: Cranelift, or its baseline compiler
//! Winch). A module is compiled for the engine its registry's configuration names when it is
//! loaded ([`WasmConfig::with_engine`](crate::WasmConfig::with_engine)); the imports, the call
//! protocol, the limits and the grants are the same in both (`imports`, `instance`).

use crate::config::{GuestState, WasmConfig, WasmEngine};
use crate::interpreter::{self, InterpretedModule};
#[cfg(feature = "jit")]
use crate::jit::{self, JitModule};
use crate::state::StateShape;
use modreg_core::wasm_abi::ModuleEntry;

/// A module compiled for one engine.
#[derive(Debug)]
pub(crate) enum Compiled {
    Interpreted(InterpretedModule),
    #[cfg(feature = "jit")]
    Jitted(JitModule),
}

/// Validates and compiles `bytes` (SHA-256 `digest`, listing the plugins `entries`, holding
/// the state `state`) for the engine `config` names.
///
/// The module is compiled with its state exported, so that an instance a call used can be
/// reset rather than made again (`state`): by the interpreter where guests are fresh per call
/// (the only lifetime that resets), by the compiling engines always (their cache keeps one
/// file a module).
///
/// An interpreted module gets an engine of its own (cheap: `wasm_load` did not move,
/// BENCHMARKS.md): wasmi keeps a module's functions in its engine until the engine goes, so
/// with one engine for the registry every module ever loaded (each replaced version, each
/// module refused after it parsed) stayed in memory for the registry's life
/// (`replaced_and_refused_modules_give_their_memory_back`). Its own engine goes with the
/// module's last instance. Compiled code is the module's own in `wasmtime`.
pub(crate) fn compile(
    bytes: &[u8],
    digest: &[u8; 32],
    entries: &[ModuleEntry],
    state: &StateShape,
    config: &WasmConfig,
) -> Result<Compiled, String> {
    match config.engine() {
        chosen @ (WasmEngine::Interpreter | WasmEngine::LazyInterpreter) => {
            let _ = (digest, entries);
            let engine = interpreter::engine(chosen == WasmEngine::LazyInterpreter);
            let resets = (config.guest_state() == GuestState::FreshPerCall).then_some(state);
            InterpretedModule::new(&engine, bytes, resets).map(Compiled::Interpreted)
        }
        #[cfg(feature = "jit")]
        chosen @ (WasmEngine::Jit | WasmEngine::JitBaseline) => {
            let compiler = if chosen == WasmEngine::Jit {
                jit::Compiler::Optimizing
            } else {
                jit::Compiler::Baseline
            };
            JitModule::new(bytes, digest, entries, state, config, compiler).map(Compiled::Jitted)
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
}
