//! The hostile guests of `guest-hostile` as plugins of a `#[sandboxed]` trait, [`Probe`]: the
//! same misbehaviour (a loop, a memory bomb, a forbidden file and variable, a deep recursion,
//! a panic, a flood), reached through a typed method instead of `process`. The sandbox must stop
//! each with the same typed error; `tests/wasm.rs` runs its hostile-guest table over both.
//!
//! The misbehaviour is written again here rather than called from `guest-hostile`: linking
//! that crate into a native test would compile its plugins into the test's own registry.

use modreg_core::{PluginError, plugin, registry, sandboxed};
use serde::{Deserialize, Serialize};

/// What a probe answers when it fails: the plugin's own message, or (on the host's side) the
/// sandbox's typed error that stopped it.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProbeError {
    /// The error's message.
    pub message: String,
    /// The sandbox's error, when the sandbox stopped the call (never encoded: the host makes
    /// it).
    #[serde(skip)]
    pub sandbox: Option<PluginError>,
}

impl From<PluginError> for ProbeError {
    fn from(error: PluginError) -> Self {
        ProbeError {
            message: error.to_string(),
            sandbox: Some(error),
        }
    }
}

/// A trait of its own, so that typed calls are what the sandbox stops.
#[sandboxed]
pub trait Probe: Send + Sync {
    /// Runs the probe on `input`.
    fn run(&self, input: &[u8]) -> Result<Vec<u8>, ProbeError>;
}

registry! {
    /// The typed hostile guests.
    pub PROBES: dyn Probe
}

macro_rules! probes {
    ($($name:tt $typed:ident => $body:expr $(, [$($permission:tt),*])?;)+) => {$(
        #[doc = concat!("The hostile guest `", $name, "` behind a typed method.")]
        #[plugin(registry = PROBES, name = $name, capabilities = ["hostile"] $(, permissions = [$($permission),*])?)]
        #[derive(Debug, Default)]
        pub struct $typed;

        impl Probe for $typed {
            fn run(&self, input: &[u8]) -> Result<Vec<u8>, ProbeError> {
                let body: fn(&[u8]) -> Result<Vec<u8>, String> = $body;
                body(input).map_err(|message| ProbeError { message, sandbox: None })
            }
        }
    )+};
}

#[expect(unconditional_recursion, reason = "the point of this guest")]
fn deeper(depth: u64) -> u64 {
    std::hint::black_box(deeper(std::hint::black_box(depth + 1))) + depth
}

probes! {
    "typed-spin" TypedSpin => |input| {
        let mut n = 0u64;
        loop {
            n = std::hint::black_box(n.wrapping_add(input.len() as u64 + 1));
        }
    };
    "typed-memory-bomb" TypedMemoryBomb => |_| {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(std::hint::black_box(vec![7u8; 1 << 20]));
        }
    };
    "typed-read-passwd" TypedReadPasswd => |_| {
        modreg_guest::read_file("/etc/passwd").map_err(|e| e.to_string())
    }, ["file.read"];
    "typed-read-env" TypedReadEnv => |input| {
        modreg_guest::env_var(&String::from_utf8_lossy(input))
            .map(String::into_bytes)
            .map_err(|e| e.to_string())
    }, ["env.modreg_guest_greeting"];
    "typed-recurse" TypedRecurse => |_| Ok(deeper(0).to_le_bytes().to_vec());
    "typed-panic" TypedPanic => |_| panic!("the hostile guest panics on purpose");
    "typed-flood" TypedFlood => |input| {
        let mib = input.first().map_or(8, |&n| usize::from(n));
        Ok(vec![b'x'; mib << 20])
    };
}

/// A well-behaved plugin that only the module has (it is not compiled for a native target):
/// a host that links this crate in finds it among the registry's plugins only through the
/// module it loaded (its fan-out calls it after the table's plugins).
#[cfg(target_family = "wasm")]
#[plugin(registry = PROBES, name = "typed-only-in-the-module", capabilities = ["polite"])]
#[derive(Debug, Default)]
pub struct OnlyInTheModule;

#[cfg(target_family = "wasm")]
impl Probe for OnlyInTheModule {
    fn run(&self, input: &[u8]) -> Result<Vec<u8>, ProbeError> {
        Ok([b"from the module: ".as_slice(), input].concat())
    }
}

/// Exports the probes, and `$more` after them.
macro_rules! export_probes {
    ($($more:ty),*) => {
        modreg_guest::export!(
            dyn Probe: TypedSpin,
            TypedMemoryBomb,
            TypedReadPasswd,
            TypedReadEnv,
            TypedRecurse,
            TypedPanic,
            TypedFlood
            $(, $more)*
        );
    };
}

#[cfg(target_family = "wasm")]
export_probes!(OnlyInTheModule);
#[cfg(not(target_family = "wasm"))]
export_probes!();
