//! The bundled hex and Base64 codecs, compiled from `modreg-plugins`' own source, and `rot13`,
//! as one WebAssembly plugin module.
//!
//! The codecs are exported under names of their own (`wasm-hex-encode` for `hex-encode`...):
//! a module may not take a compiled-in plugin's name unless the host allows it, and the
//! `modreg` tool compiles the originals in. The code that runs is the same.
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

/// A codec of `modreg-plugins`, run as it is, under the name of the wrapper `$ty` (the
/// codec's own with `wasm-` in front).
macro_rules! renamed {
    ($(#[$attr:meta])* $ty:ident($inner:ty)) => {
        $(#[$attr])*
        #[derive(Debug, Default)]
        pub struct $ty($inner);

        impl PluginBehavior for $ty {
            fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
                self.0.process(data)
            }
        }
    };
}

renamed!(
    /// `hex-encode`, sandboxed.
    #[plugin(type = Encoding, capabilities = ["encoding", "hex"], description = "Encodes bytes as hexadecimal text")]
    WasmHexEncode(HexEncode)
);
renamed!(
    /// `hex-decode`, sandboxed.
    #[plugin(type = Encoding, capabilities = ["decoding", "hex"], description = "Decodes hexadecimal text to bytes")]
    WasmHexDecode(HexDecode)
);
renamed!(
    /// `base64-encode`, sandboxed.
    #[plugin(type = Encoding, capabilities = ["encoding", "base64"], description = "Encodes bytes as Base64 text")]
    WasmBase64Encode(Base64Encode)
);
renamed!(
    /// `base64-decode`, sandboxed.
    #[plugin(type = Encoding, capabilities = ["decoding", "base64"], description = "Decodes Base64 text to bytes")]
    WasmBase64Decode(Base64Decode)
);

modreg_guest::export!(
    // Limits travel with the plugin: rot13 asks for at most 64 KiB of output per call (a
    // version-2 record), whatever more the host would allow.
    Rot13 {
        output_bytes: 65536
    },
    WasmHexEncode,
    WasmHexDecode,
    WasmBase64Encode,
    WasmBase64Decode
);
