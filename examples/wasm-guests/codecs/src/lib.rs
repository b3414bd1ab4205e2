//! The bundled hex and Base64 codecs, compiled from `modreg-plugins`' own source, and `rot13`,
//! as one WebAssembly plugin module.
//!
//! `scripts/build-wasm-plugins.sh` builds it for `wasm32-unknown-unknown` into
//! `target/wasm-plugins/codecs.wasm`; `modreg --plugin-dir target/wasm-plugins run rot13` runs
//! it in the sandbox.

use modreg_core::{PluginBehavior, PluginError, plugin};
use modreg_plugins::encoding::{Base64Decode, Base64Encode, HexDecode, HexEncode};

/// Rotates ASCII letters by 13 places.
#[plugin(type = Encoding, capabilities = ["encoding", "rot13"], description = "Rotates ASCII letters by 13 places")]
#[derive(Debug, Default)]
pub struct Rot13;

impl PluginBehavior for Rot13 {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data
            .iter()
            .map(|b| match b {
                b'a'..=b'z' => (b - b'a' + 13) % 26 + b'a',
                b'A'..=b'Z' => (b - b'A' + 13) % 26 + b'A',
                _ => *b,
            })
            .collect())
    }
}

modreg_guest::export!(Rot13, HexEncode, HexDecode, Base64Encode, Base64Decode);
