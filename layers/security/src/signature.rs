//! Ed25519 signatures: trusted keys, signing, and the check of a change's proof.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use crate::error::SecurityError;
use crate::hex::{decode_hex, encode_hex};
use modreg_core::PluginError;
use modreg_host::Proof;

/// A public key whose signatures are trusted, with the name envelopes refer to it by.
#[derive(Clone, PartialEq, Eq)]
pub struct TrustedKey {
    name: String,
    key: VerifyingKey,
}

impl fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl TrustedKey {
    /// A trusted public key from 64 hex digits.
    pub fn from_hex(name: impl Into<String>, public_key_hex: &str) -> Result<Self, PluginError> {
        let name = name.into();
        modreg_core::validate::check_identifier("key name", &name)?;
        let bytes = decode_hex::<32>("public key", public_key_hex)?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|e| PluginError::invalid("public key", public_key_hex, e.to_string()))?;
        Ok(TrustedKey { name, key })
    }

    /// The public key of a signing key given as 64 hex digits (its seed).
    pub fn public_of(name: impl Into<String>, secret_key_hex: &str) -> Result<Self, PluginError> {
        let secret = decode_hex::<32>("secret key", secret_key_hex)?;
        let public = SigningKey::from_bytes(&secret).verifying_key();
        Self::from_hex(name, &encode_hex(public.as_bytes()))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public key as 64 hex digits: what `from_hex` takes (and `--trusted-key` on the
    /// command line).
    pub fn public_key_hex(&self) -> String {
        encode_hex(self.key.as_bytes())
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.key
            .verify(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

/// The Ed25519 signature of `message`, as 128 hex digits, by the signing key given as 64 hex
/// digits (its seed): what a signed artifact carries. A WebAssembly module's signature signs
/// `WasmSignature::message(module)`, its SHA-256.
///
/// ```
/// use modreg_security::{TrustedKey, sign_message};
/// let secret = "0101010101010101010101010101010101010101010101010101010101010101";
/// let signature = sign_message(b"hello", secret)?;
/// assert_eq!(signature.len(), 128);
/// # Ok::<(), modreg_core::PluginError>(())
/// ```
pub fn sign_message(message: &[u8], secret_key_hex: &str) -> Result<String, PluginError> {
    let secret = decode_hex::<32>("secret key", secret_key_hex)?;
    Ok(encode_hex(
        &SigningKey::from_bytes(&secret).sign(message).to_bytes(),
    ))
}

/// Checks `proof` against `trusted`, with a distinct error for each way it fails; `plugin`
/// names the change in errors.
pub(crate) fn verify_proof(
    trusted: &[TrustedKey],
    plugin: &str,
    proof: &Proof<'_>,
) -> Result<(), PluginError> {
    let Some(key) = trusted.iter().find(|k| k.name == proof.key) else {
        return Err(PluginError::from(SecurityError::UntrustedKey {
            plugin: plugin.to_owned(),
            key: proof.key.to_owned(),
        }));
    };
    let bad = || {
        PluginError::from(SecurityError::BadSignature {
            plugin: plugin.to_owned(),
            key: proof.key.to_owned(),
        })
    };
    let signature = decode_hex::<64>("signature", proof.signature).map_err(|_| bad())?;
    if key.verifies(proof.message, &signature) {
        Ok(())
    } else {
        Err(bad())
    }
}
