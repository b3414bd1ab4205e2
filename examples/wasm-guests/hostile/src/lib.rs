//! Plugins that misbehave on purpose: the sandbox must stop each with its typed error while
//! the host goes on serving. `scripts/build-wasm-plugins.sh` builds them into
//! `target/wasm-plugins/hostile.wasm`.

use modreg_core::{PluginBehavior, PluginError, plugin};

/// Never returns.
#[plugin(type = DataProcessor, capabilities = ["hostile"], description = "Loops forever")]
#[derive(Debug, Default)]
pub struct Spin;

impl PluginBehavior for Spin {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let mut n = 0u64;
        loop {
            n = std::hint::black_box(n.wrapping_add(data.len() as u64 + 1));
        }
    }
}

/// Allocates until something stops it.
#[plugin(type = DataProcessor, capabilities = ["hostile"], description = "Allocates without end")]
#[derive(Debug, Default)]
pub struct MemoryBomb;

impl PluginBehavior for MemoryBomb {
    fn process(&self, _: &[u8]) -> Result<Vec<u8>, PluginError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(std::hint::black_box(vec![7u8; 1 << 20]));
        }
    }
}

/// Reads `/etc/passwd`, which no grant covers. It declares `file.read`, so only the host's
/// grant (a directory) stands between it and the file.
#[plugin(
    type = DataProcessor,
    capabilities = ["hostile"],
    permissions = ["file.read"],
    description = "Reads /etc/passwd"
)]
#[derive(Debug, Default)]
pub struct ReadPasswd;

impl PluginBehavior for ReadPasswd {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let path = if data.is_empty() {
            "/etc/passwd".to_owned()
        } else {
            String::from_utf8_lossy(data).into_owned()
        };
        modreg_guest::read_file(&path).map_err(|e| PluginError::from_plugin("read-passwd", e))
    }
}

/// Reads the environment variable named by its input; declares `env.modreg_guest_greeting`, which grants `MODREG_GUEST_GREETING`.
#[plugin(
    type = DataProcessor,
    capabilities = ["hostile"],
    permissions = ["env.modreg_guest_greeting"],
    description = "Reads the environment variable its input names"
)]
#[derive(Debug, Default)]
pub struct ReadEnv;

impl PluginBehavior for ReadEnv {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        modreg_guest::env_var(&String::from_utf8_lossy(data))
            .map(String::into_bytes)
            .map_err(|e| PluginError::from_plugin("read-env", e))
    }
}

/// Recurses without end (each frame kept alive), until the engine's call stack runs out.
#[plugin(type = DataProcessor, capabilities = ["hostile"], description = "Recurses without end")]
#[derive(Debug, Default)]
pub struct Recurse;

#[expect(unconditional_recursion, reason = "the point of this guest")]
fn deeper(depth: u64) -> u64 {
    std::hint::black_box(deeper(std::hint::black_box(depth + 1))) + depth
}

impl PluginBehavior for Recurse {
    fn process(&self, _: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(deeper(0).to_le_bytes().to_vec())
    }
}

/// Panics.
#[plugin(type = DataProcessor, capabilities = ["hostile"], description = "Panics")]
#[derive(Debug, Default)]
pub struct Panic;

impl PluginBehavior for Panic {
    fn process(&self, _: &[u8]) -> Result<Vec<u8>, PluginError> {
        panic!("the hostile guest panics on purpose")
    }
}

/// Answers far more than it was given: as many MiB as its input's first byte says (8 if none).
#[plugin(type = DataProcessor, capabilities = ["hostile"], description = "Answers megabytes")]
#[derive(Debug, Default)]
pub struct Flood;

impl PluginBehavior for Flood {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let mib = data.first().map_or(8, |&n| usize::from(n));
        Ok(vec![b'x'; mib << 20])
    }
}

/// Calls the host function its input names (`name` or `name:input`) and answers what it
/// answered; declares the permission `kv.read` and no other.
#[plugin(
    type = DataProcessor,
    capabilities = ["host-functions"],
    permissions = ["kv.read"],
    description = "Calls the host function its input names"
)]
#[derive(Debug, Default)]
pub struct AskHost;

impl PluginBehavior for AskHost {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let text = String::from_utf8_lossy(data);
        let (name, input) = text.split_once(':').unwrap_or((&text, ""));
        modreg_guest::host_call(name, input.as_bytes())
            .map_err(|e| PluginError::from_plugin("ask-host", e))
    }
}

/// Adds the two numbers of its input (`2 3`) on the host, through the typed host function
/// `add` (`(u32, u32) -> u32`), and answers the sum in decimal.
#[plugin(
    type = DataProcessor,
    capabilities = ["host-functions"],
    permissions = ["math"],
    description = "Adds on the host through a typed host function"
)]
#[derive(Debug, Default)]
pub struct AddOnHost;

impl PluginBehavior for AddOnHost {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let text = String::from_utf8_lossy(data);
        let numbers: Vec<u32> = text
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|e| PluginError::from_plugin("add-on-host", e))?;
        let [a, b] = numbers[..] else {
            return Err(PluginError::processing(
                "add-on-host",
                "two numbers, please",
            ));
        };
        let sum: u32 = modreg_guest::host_call_typed("add", &(a, b))
            .map_err(|e| PluginError::from_plugin("add-on-host", e))?;
        Ok(sum.to_string().into_bytes())
    }
}

modreg_guest::export!(
    Spin, MemoryBomb, ReadPasswd, ReadEnv, Recurse, Panic, Flood, AskHost, AddOnHost
);
