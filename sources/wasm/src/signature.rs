//! `WasmSignature`: an Ed25519 signature over a module's SHA-256, kept beside the module as
//! `NAME.wasm.sig`:
//!
//! ```toml
//! key = "release"          # the name of a trusted key
//! signature = "9f3c…"      # 128 hex digits: Ed25519 over the 32 bytes of SHA-256(module)
//! ```
//!
//! The host reads and carries it; the security layer verifies it against its trusted keys
//! (and signs modules: `modreg_security::sign_module`).

use serde::Deserialize;

use modreg_core::PluginError;

/// A module's detached signature.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WasmSignature {
    /// The name of the key that signed it.
    pub key: String,
    /// The signature, 128 hex digits.
    pub signature: String,
}

/// The longest signature file accepted, in bytes.
const MAX_SIGNATURE_BYTES: usize = 4096;

impl WasmSignature {
    /// The signature `signature` (hex digits) by the key named `key`.
    pub fn new(key: impl Into<String>, signature: impl Into<String>) -> Self {
        WasmSignature {
            key: key.into(),
            signature: signature.into(),
        }
    }

    /// What a module's signature signs: the SHA-256 of its bytes.
    pub fn message(module: &[u8]) -> [u8; 32] {
        crate::digest::sha256(module)
    }

    /// Parses a signature file.
    pub fn parse(text: &str) -> Result<Self, PluginError> {
        modreg_host::toml_settings::read_capped(text, MAX_SIGNATURE_BYTES, "a signature file")
    }

    /// The signature file's text.
    pub fn to_toml(&self) -> String {
        format!("key = {:?}\nsignature = {:?}\n", self.key, self.signature)
    }
}
