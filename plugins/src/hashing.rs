//! SHA-256 (sha2) and BLAKE3 digests. Both output the raw 32-byte digest; chain
//! `hex-encode` for text.

use modreg_core::stream::Reader;
use modreg_core::{PluginBehavior, PluginError};
use sha2::Digest;

use crate::stream::{Transform, transformed};

/// The SHA-256 digest of the input.
#[cfg_attr(feature = "registered", modreg_core::plugin(type = Hashing, capabilities = ["hashing", "digest", "sha256"], description = "SHA-256 digest (32 raw bytes)"))]
#[derive(Debug, Default)]
pub struct Sha256;

impl PluginBehavior for Sha256 {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(sha2::Sha256::digest(data).to_vec())
    }

    fn streams(&self) -> bool {
        true
    }

    fn stream<'a>(&'a self, input: Reader<'a>) -> Result<Reader<'a>, Reader<'a>> {
        Ok(transformed(input, sha2::Sha256::new()))
    }
}

impl Transform for sha2::Sha256 {
    fn update(&mut self, input: &[u8], _: &mut Vec<u8>) -> Result<(), PluginError> {
        Digest::update(self, input);
        Ok(())
    }

    fn finish(&mut self, output: &mut Vec<u8>) -> Result<(), PluginError> {
        output.extend_from_slice(&self.finalize_reset());
        Ok(())
    }
}

/// The BLAKE3 digest of the input.
#[cfg_attr(feature = "registered", modreg_core::plugin(type = Hashing, capabilities = ["hashing", "digest", "blake3"], description = "BLAKE3 digest (32 raw bytes)"))]
#[derive(Debug, Default)]
pub struct Blake3;

impl PluginBehavior for Blake3 {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(blake3::hash(data).as_bytes().to_vec())
    }

    fn streams(&self) -> bool {
        true
    }

    fn stream<'a>(&'a self, input: Reader<'a>) -> Result<Reader<'a>, Reader<'a>> {
        Ok(transformed(input, blake3::Hasher::new()))
    }
}

impl Transform for blake3::Hasher {
    fn update(&mut self, input: &[u8], _: &mut Vec<u8>) -> Result<(), PluginError> {
        blake3::Hasher::update(self, input);
        Ok(())
    }

    fn finish(&mut self, output: &mut Vec<u8>) -> Result<(), PluginError> {
        output.extend_from_slice(self.finalize().as_bytes());
        Ok(())
    }
}
