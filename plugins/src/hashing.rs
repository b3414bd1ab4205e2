//! SHA-256 (sha2) and BLAKE3 digests. Both output the raw 32-byte digest; chain
//! `hex-encode` for text.

use modreg_core::{PluginBehavior, PluginError, plugin};
use sha2::Digest;

/// The SHA-256 digest of the input.
#[plugin(type = Hashing, capabilities = ["hashing", "digest", "sha256"], description = "SHA-256 digest (32 raw bytes)")]
#[derive(Debug, Default)]
pub struct Sha256;

impl PluginBehavior for Sha256 {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(sha2::Sha256::digest(data).to_vec())
    }
}

/// The BLAKE3 digest of the input.
#[plugin(type = Hashing, capabilities = ["hashing", "digest", "blake3"], description = "BLAKE3 digest (32 raw bytes)")]
#[derive(Debug, Default)]
pub struct Blake3;

impl PluginBehavior for Blake3 {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(blake3::hash(data).as_bytes().to_vec())
    }
}
