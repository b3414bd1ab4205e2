//! Base64 (standard alphabet, padded) and lowercase hex.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use modreg_core::{PluginBehavior, PluginError, plugin};

/// Encodes bytes as Base64.
#[plugin(type = Encoding, capabilities = ["encoding", "base64"], description = "Encodes bytes as Base64 text")]
#[derive(Debug, Default)]
pub struct Base64Encode;

impl PluginBehavior for Base64Encode {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(STANDARD.encode(data).into_bytes())
    }
}

/// Decodes Base64 text; surrounding whitespace is ignored, anything else invalid is an error.
#[plugin(type = Encoding, capabilities = ["decoding", "base64"], description = "Decodes Base64 text to bytes")]
#[derive(Debug, Default)]
pub struct Base64Decode;

impl PluginBehavior for Base64Decode {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        STANDARD
            .decode(data.trim_ascii())
            .map_err(|e| PluginError::from_plugin("base64-decode", e))
    }
}

/// Encodes bytes as lowercase hex.
#[plugin(type = Encoding, capabilities = ["encoding", "hex"], description = "Encodes bytes as hexadecimal text")]
#[derive(Debug, Default)]
pub struct HexEncode;

impl PluginBehavior for HexEncode {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(hex::encode(data).into_bytes())
    }
}

/// Decodes hex text; surrounding whitespace is ignored.
#[plugin(type = Encoding, capabilities = ["decoding", "hex"], description = "Decodes hexadecimal text to bytes")]
#[derive(Debug, Default)]
pub struct HexDecode;

impl PluginBehavior for HexDecode {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        hex::decode(data.trim_ascii()).map_err(|e| PluginError::from_plugin("hex-decode", e))
    }
}
