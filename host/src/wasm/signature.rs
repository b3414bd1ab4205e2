//! `WasmSignature`: an Ed25519 signature over a module's SHA-256, kept beside the module as
//! `NAME.wasm.sig`:
//!
//! ```toml
//! key = "release"          # the name of a trusted key
//! signature = "9f3c…"      # 128 hex digits: Ed25519 over the 32 bytes of SHA-256(module)
//! ```

use serde::Deserialize;

use crate::security::{TrustedKey, decode_hex, encode_hex, sign_bytes};
use crate::wasm::module::sha256;
use modreg_core::{PluginError, PluginErrorKind};

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
    /// Signs `module` with the signing key given as 64 hex digits, naming it `key_name`.
    ///
    /// ```
    /// use modreg_host::WasmSignature;
    /// let secret = "0101010101010101010101010101010101010101010101010101010101010101";
    /// let signature = WasmSignature::sign(b"\0asm\x01\0\0\0", "release", secret)?;
    /// assert_eq!(WasmSignature::parse(&signature.to_toml())?, signature);
    /// # Ok::<(), modreg_core::PluginError>(())
    /// ```
    pub fn sign(module: &[u8], key_name: &str, secret_key_hex: &str) -> Result<Self, PluginError> {
        let signature = sign_bytes(&sha256(module), secret_key_hex)?;
        Ok(WasmSignature {
            key: key_name.to_owned(),
            signature: encode_hex(&signature),
        })
    }

    /// Parses a signature file.
    pub fn parse(text: &str) -> Result<Self, PluginError> {
        crate::toml_settings::read_capped(text, MAX_SIGNATURE_BYTES, "a signature file")
    }

    /// The signature file's text.
    pub fn to_toml(&self) -> String {
        format!("key = {:?}\nsignature = {:?}\n", self.key, self.signature)
    }

    /// Checks the signature of `module` (named `name` in errors) against `trusted`.
    pub(crate) fn verify(
        &self,
        name: &str,
        module: &[u8],
        trusted: &[TrustedKey],
    ) -> Result<(), PluginError> {
        let Some(key) = trusted.iter().find(|k| k.name() == self.key) else {
            return Err(PluginError::from(PluginErrorKind::UntrustedKey {
                plugin: name.to_owned(),
                key: self.key.clone(),
            }));
        };
        let bad = || {
            PluginError::from(PluginErrorKind::BadSignature {
                plugin: name.to_owned(),
                key: self.key.clone(),
            })
        };
        let signature = decode_hex::<64>("signature", &self.signature).map_err(|_| bad())?;
        if key.verifies(&sha256(module), &signature) {
            Ok(())
        } else {
            Err(bad())
        }
    }
}
