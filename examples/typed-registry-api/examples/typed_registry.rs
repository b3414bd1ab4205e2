//! Registries of your own traits: `Codec` (plain) and `Fetcher` (async), declared in the
//! `typed-registry-api` crate, with plugins from that crate and from this one.
//!
//! `cargo run --example typed_registry`

use std::time::Duration;

use async_trait::async_trait;
use modreg::{PluginError, PluginSettings, plugin};
// The registries are re-exported by the API crate; an import names them for `#[plugin]` too.
use typed_registry_api::{CODECS, Codec, FETCHERS, Fetcher, Rot13};

/// XOR with a key byte, set in the plugin's settings (`key = 42`).
#[plugin(registry = CODECS, capabilities = ["binary", "reversible"], config = XorConfig)]
struct Xor {
    key: u8,
}

#[derive(Clone, Copy, serde::Deserialize)]
struct XorConfig {
    #[serde(default = "default_key")]
    key: u8,
}

fn default_key() -> u8 {
    0x5a
}

impl Xor {
    fn from_config(config: XorConfig) -> Result<Self, PluginError> {
        if config.key == 0 {
            return Err(PluginError::invalid(
                "key",
                "0",
                "XOR with 0 changes nothing",
            ));
        }
        Ok(Xor { key: config.key })
    }
}

impl Codec for Xor {
    fn encode(&self, input: &[u8]) -> Vec<u8> {
        input.iter().map(|b| b ^ self.key).collect()
    }

    fn decode(&self, input: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(self.encode(input))
    }
}

/// A fetcher that takes its time, as one behind a network would.
#[plugin(registry = FETCHERS, capabilities = ["slow"])]
#[derive(Default)]
struct Slow;

#[async_trait]
impl Fetcher for Slow {
    async fn fetch(&self, key: &str) -> Result<Vec<u8>, PluginError> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(format!("slow:{key}").into_bytes())
    }
}

#[tokio::main]
async fn main() -> Result<(), PluginError> {
    // A plugin crate the linker dropped would be named here.
    CODECS.expect(["rot13", "xor"])?;
    FETCHERS.expect(["fixtures", "slow"])?;

    let names: Vec<&str> = CODECS.entries().iter().map(|d| d.name()).collect();
    println!("codecs: {}", names.join(", "));
    let reversible: Vec<&str> = CODECS
        .with_capabilities(&["reversible", "binary"])
        .iter()
        .map(|d| d.name())
        .collect();
    println!("reversible binary codecs: {}", reversible.join(", "));
    println!("search \"ascii\": {}", CODECS.search("ascii")[0].name());

    let rot13 = CODECS.create("rot13")?;
    println!(
        "rot13(hello) = {}",
        String::from_utf8_lossy(&rot13.encode(b"hello"))
    );

    let xor = CODECS.create_with("xor", &PluginSettings::new().with("key", 1))?;
    let encoded = xor.encode(b"abc");
    println!(
        "xor(abc, key 1) = {encoded:?}, back: {:?}",
        xor.decode(&encoded)?
    );
    let refused = CODECS.create_with("xor", &PluginSettings::new().with("key", 0));
    println!(
        "xor with key 0: {}",
        refused.err().map(|e| e.to_string()).unwrap_or_default()
    );

    // The concrete type, where the caller wants it.
    let concrete: Box<Rot13> = CODECS.create_as("rot13")?;
    println!("create_as::<Rot13>: {concrete:?}");
    let wrong = CODECS.create_as::<Rot13>("xor");
    println!(
        "create_as::<Rot13>(\"xor\"): {}",
        wrong.err().map(|e| e.to_string()).unwrap_or_default()
    );

    // Async plugins, called concurrently.
    let fixtures = FETCHERS.create("fixtures")?;
    let slow = FETCHERS.create("slow")?;
    let (a, b) = tokio::join!(fixtures.fetch("greeting"), slow.fetch("report"));
    println!(
        "fetched: {} and {}",
        String::from_utf8_lossy(&a?),
        String::from_utf8_lossy(&b?)
    );
    Ok(())
}
