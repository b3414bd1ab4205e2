#![deny(warnings, missing_docs)]
//! An application's plugin interfaces: two traits of its own, each with a registry, and a
//! plugin for each. `examples/typed_registry.rs` adds plugins to both registries from
//! another crate and uses them.

use async_trait::async_trait;
use modreg_core::{PluginError, plugin};

/// Turns bytes into other bytes.
pub trait Codec: Send + Sync {
    /// Encodes `input`.
    fn encode(&self, input: &[u8]) -> Vec<u8>;
    /// Reverses [`encode`](Self::encode).
    fn decode(&self, input: &[u8]) -> Result<Vec<u8>, PluginError>;
}

/// Fetches a document by key, asynchronously.
#[async_trait]
pub trait Fetcher: Send + Sync {
    /// The document stored under `key`.
    async fn fetch(&self, key: &str) -> Result<Vec<u8>, PluginError>;
}

/// The registries, declared in a module of their own and re-exported at the crate root: a
/// registry is named like any Rust item, by its defining path, an import or a re-export.
pub mod registries {
    use super::{Codec, Fetcher};
    use modreg_core::registry;

    registry! {
        /// Every codec linked into the binary.
        pub CODECS: dyn Codec
    }
    registry! {
        /// Every fetcher linked into the binary.
        pub FETCHERS: dyn Fetcher
    }
}

pub use registries::{CODECS, FETCHERS};

/// ROT13 on ASCII letters; its own inverse.
#[plugin(registry = CODECS, capabilities = ["text", "reversible"], description = "Rotates ASCII letters by 13")]
#[derive(Debug, Default)]
pub struct Rot13;

impl Codec for Rot13 {
    fn encode(&self, input: &[u8]) -> Vec<u8> {
        input
            .iter()
            .map(|&b| match b {
                b'a'..=b'z' => (b - b'a' + 13) % 26 + b'a',
                b'A'..=b'Z' => (b - b'A' + 13) % 26 + b'A',
                other => other,
            })
            .collect()
    }

    fn decode(&self, input: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(self.encode(input))
    }
}

/// A fetcher that answers from a fixed set of documents.
#[plugin(registry = FETCHERS, capabilities = ["offline"])]
#[derive(Debug, Default)]
pub struct Fixtures;

#[async_trait]
impl Fetcher for Fixtures {
    async fn fetch(&self, key: &str) -> Result<Vec<u8>, PluginError> {
        match key {
            "greeting" => Ok(b"hello".to_vec()),
            other => Err(PluginError::processing(
                "fixtures",
                format!("no document `{other}`"),
            )),
        }
    }
}
