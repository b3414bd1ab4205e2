//! Base64 (standard alphabet, padded) and lowercase hex. All four stream: a chunk at a time,
//! with at most a few bytes of a group carried from one chunk to the next.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use modreg_core::stream::Reader;
use modreg_core::{PluginBehavior, PluginError};

use crate::stream::{Transform, transformed};

/// Encodes bytes as Base64.
#[cfg_attr(feature = "registered", modreg_core::plugin(type = Encoding, capabilities = ["encoding", "base64"], description = "Encodes bytes as Base64 text"))]
#[derive(Debug, Default)]
pub struct Base64Encode;

impl PluginBehavior for Base64Encode {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(STANDARD.encode(data).into_bytes())
    }

    fn streams(&self) -> bool {
        true
    }

    fn stream<'a>(&'a self, input: Reader<'a>) -> Result<Reader<'a>, Reader<'a>> {
        Ok(transformed(input, Base64Encoder::default()))
    }
}

/// Encodes whole groups of 3 bytes as they come; the last 0-2 bytes at the end, padded.
#[derive(Default)]
struct Base64Encoder {
    pending: Vec<u8>,
}

impl Transform for Base64Encoder {
    fn update(&mut self, input: &[u8], output: &mut Vec<u8>) -> Result<(), PluginError> {
        self.pending.extend_from_slice(input);
        let whole = self.pending.len() / 3 * 3;
        output.extend_from_slice(STANDARD.encode(&self.pending[..whole]).as_bytes());
        self.pending.drain(..whole);
        Ok(())
    }

    fn finish(&mut self, output: &mut Vec<u8>) -> Result<(), PluginError> {
        output.extend_from_slice(STANDARD.encode(&self.pending).as_bytes());
        self.pending.clear();
        Ok(())
    }
}

/// Decodes Base64 text; whitespace and line breaks anywhere are ignored (as `base64 -d` does
/// with wrapped input), anything else invalid is an error.
#[cfg_attr(feature = "registered", modreg_core::plugin(type = Encoding, capabilities = ["decoding", "base64"], description = "Decodes Base64 text to bytes"))]
#[derive(Debug, Default)]
pub struct Base64Decode;

impl PluginBehavior for Base64Decode {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        STANDARD
            .decode(without_whitespace(data))
            .map_err(|e| PluginError::from_plugin("base64-decode", e))
    }

    fn streams(&self) -> bool {
        true
    }

    fn stream<'a>(&'a self, input: Reader<'a>) -> Result<Reader<'a>, Reader<'a>> {
        Ok(transformed(input, Base64Decoder::default()))
    }
}

/// Decodes whole groups of 4 symbols as they come, whitespace dropped. The last whole group
/// is held back until more follows: only the final group may carry padding, and an error's
/// offset counts symbols from the start of the stream, as `process` counts them.
#[derive(Default)]
struct Base64Decoder {
    pending: Vec<u8>,
    /// Symbols decoded before `pending`.
    decoded: usize,
}

impl Base64Decoder {
    fn fail(&self, error: base64::DecodeError) -> PluginError {
        use base64::DecodeError::{InvalidByte, InvalidLastSymbol};
        let error = match error {
            InvalidByte(offset, byte) => InvalidByte(self.decoded + offset, byte),
            InvalidLastSymbol {
                offset,
                symbol,
                symbol_value,
            } => InvalidLastSymbol {
                offset: self.decoded + offset,
                symbol,
                symbol_value,
            },
            other => other,
        };
        PluginError::from_plugin("base64-decode", error)
    }
}

impl Transform for Base64Decoder {
    fn update(&mut self, input: &[u8], output: &mut Vec<u8>) -> Result<(), PluginError> {
        self.pending
            .extend(input.iter().filter(|b| !b.is_ascii_whitespace()));
        let ready = (self.pending.len() / 4).saturating_sub(1) * 4;
        if let Some(at) = self.pending[..ready].iter().position(|&b| b == b'=') {
            return Err(self.fail(base64::DecodeError::InvalidByte(at, b'=')));
        }
        STANDARD
            .decode_vec(&self.pending[..ready], output)
            .map_err(|e| self.fail(e))?;
        self.pending.drain(..ready);
        self.decoded += ready;
        Ok(())
    }

    fn finish(&mut self, output: &mut Vec<u8>) -> Result<(), PluginError> {
        STANDARD
            .decode_vec(&self.pending, output)
            .map_err(|e| self.fail(e))?;
        self.pending.clear();
        Ok(())
    }
}

/// Encodes bytes as lowercase hex.
#[cfg_attr(feature = "registered", modreg_core::plugin(type = Encoding, capabilities = ["encoding", "hex"], description = "Encodes bytes as hexadecimal text"))]
#[derive(Debug, Default)]
pub struct HexEncode;

impl PluginBehavior for HexEncode {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let mut output = Vec::new();
        hex_into(data, &mut output);
        Ok(output)
    }

    fn streams(&self) -> bool {
        true
    }

    fn stream<'a>(&'a self, input: Reader<'a>) -> Result<Reader<'a>, Reader<'a>> {
        Ok(transformed(input, HexEncoder))
    }
}

/// Every byte as it comes.
struct HexEncoder;

impl Transform for HexEncoder {
    fn update(&mut self, input: &[u8], output: &mut Vec<u8>) -> Result<(), PluginError> {
        hex_into(input, output);
        Ok(())
    }

    fn finish(&mut self, _: &mut Vec<u8>) -> Result<(), PluginError> {
        Ok(())
    }
}

/// Appends `input` as lowercase hex to `output`, written in place. `hex::encode` builds a
/// `String` a `char` at a time (a capacity and a UTF-8 check per digit): 64 KiB took three
/// times as long natively that way, and four to five times as long in the sandbox
/// (BENCHMARKS.md, "The compiling engines").
fn hex_into(input: &[u8], output: &mut Vec<u8>) {
    let start = output.len();
    output.resize(start + input.len() * 2, 0);
    hex::encode_to_slice(input, &mut output[start..])
        .expect("the output was sized for two digits a byte");
}

/// Decodes hex text; whitespace and line breaks anywhere are ignored (as `xxd -r -p` does).
#[cfg_attr(feature = "registered", modreg_core::plugin(type = Encoding, capabilities = ["decoding", "hex"], description = "Decodes hexadecimal text to bytes"))]
#[derive(Debug, Default)]
pub struct HexDecode;

impl PluginBehavior for HexDecode {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        hex::decode(without_whitespace(data)).map_err(|e| PluginError::from_plugin("hex-decode", e))
    }

    fn streams(&self) -> bool {
        true
    }

    fn stream<'a>(&'a self, input: Reader<'a>) -> Result<Reader<'a>, Reader<'a>> {
        Ok(transformed(input, HexDecoder::default()))
    }
}

/// Decodes pairs of digits as they come, whitespace dropped; an error's index counts digits
/// from the start of the stream.
#[derive(Default)]
struct HexDecoder {
    pending: Vec<u8>,
    decoded: usize,
}

impl HexDecoder {
    fn decode(&mut self, digits: usize, output: &mut Vec<u8>) -> Result<(), PluginError> {
        let start = output.len();
        output.resize(start + digits / 2, 0);
        hex::decode_to_slice(&self.pending[..digits], &mut output[start..]).map_err(|e| {
            let e = match e {
                hex::FromHexError::InvalidHexCharacter { c, index } => {
                    hex::FromHexError::InvalidHexCharacter {
                        c,
                        index: self.decoded + index,
                    }
                }
                other => other,
            };
            PluginError::from_plugin("hex-decode", e)
        })?;
        self.pending.drain(..digits);
        self.decoded += digits;
        Ok(())
    }
}

impl Transform for HexDecoder {
    fn update(&mut self, input: &[u8], output: &mut Vec<u8>) -> Result<(), PluginError> {
        self.pending
            .extend(input.iter().filter(|b| !b.is_ascii_whitespace()));
        let pairs = self.pending.len() / 2 * 2;
        self.decode(pairs, output)
    }

    fn finish(&mut self, output: &mut Vec<u8>) -> Result<(), PluginError> {
        if self.pending.len() % 2 == 1 {
            return Err(PluginError::from_plugin(
                "hex-decode",
                hex::FromHexError::OddLength,
            ));
        }
        let rest = self.pending.len();
        self.decode(rest, output)
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

    proptest::proptest! {
        /// Written in place, the digits are `hex::encode`'s, appended after what the output held.
        #[test]
        fn hex_written_in_place_is_hex_encode(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            before in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
        ) {
            let expected = hex::encode(&data).into_bytes();
            proptest::prop_assert_eq!(HexEncode.process(&data).unwrap(), expected.clone());
            let mut output = before.clone();
            hex_into(&data, &mut output);
            proptest::prop_assert_eq!(&output[..before.len()], &before[..]);
            proptest::prop_assert_eq!(&output[before.len()..], &expected[..]);
        }
    }
}
