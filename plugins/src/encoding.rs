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

/// Decodes Base64 text; whitespace and line breaks anywhere are ignored (as `base64 -d` does
/// with wrapped input), anything else invalid is an error.
#[plugin(type = Encoding, capabilities = ["decoding", "base64"], description = "Decodes Base64 text to bytes")]
#[derive(Debug, Default)]
pub struct Base64Decode;

impl PluginBehavior for Base64Decode {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        STANDARD
            .decode(without_whitespace(data))
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

/// Decodes hex text; whitespace and line breaks anywhere are ignored (as `xxd -r -p` does).
#[plugin(type = Encoding, capabilities = ["decoding", "hex"], description = "Decodes hexadecimal text to bytes")]
#[derive(Debug, Default)]
pub struct HexDecode;

impl PluginBehavior for HexDecode {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        hex::decode(without_whitespace(data)).map_err(|e| PluginError::from_plugin("hex-decode", e))
    }
}

/// `data` without ASCII whitespace; borrowed when there is none inside it (the usual case:
/// one trailing newline at most).
fn without_whitespace(data: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let trimmed = data.trim_ascii();
    if trimmed.iter().any(u8::is_ascii_whitespace) {
        trimmed
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect::<Vec<u8>>()
            .into()
    } else {
        trimmed.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoders_ignore_whitespace_and_line_breaks_anywhere() {
        assert_eq!(Base64Decode.process(b"aGk=\n").unwrap(), b"hi");
        let wrapped = b"aGVsbG8g\r\nd29y\n bGQ=\n";
        assert_eq!(Base64Decode.process(wrapped).unwrap(), b"hello world");
        assert_eq!(HexDecode.process(b"68 65\n6c6c\t6f\n").unwrap(), b"hello");
        assert!(Base64Decode.process(b"aGk*").is_err());
        assert!(HexDecode.process(b"6 8x").is_err());
    }
}
