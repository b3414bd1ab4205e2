//! Ed25519 signatures: trusted keys, signing, and the check of a change's proof.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use crate::error::SecurityError;
use crate::hex::decode_hex;
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
        Self::from_hex(name, &::hex::encode(public.as_bytes()))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public key as 64 hex digits: what `from_hex` takes (and `--trusted-key` on the
    /// command line).
    pub fn public_key_hex(&self) -> String {
        ::hex::encode(self.key.as_bytes())
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
    Ok(::hex::encode(
        SigningKey::from_bytes(&secret).sign(message).to_bytes(),
    ))
}

/// The last proof that verified: the public key, what was signed, and the signature.
///
/// A module's proof is checked once for each plugin it registers (the layer answers each
/// registration on its own), and an Ed25519 verification is most of a signed load's cost once
/// the module is hashed. Whether a signature verifies depends on those three values alone, so
/// the same three again are answered from here; which keys are trusted is looked up on every
/// check, so a key no longer trusted is refused whatever was kept.
#[derive(Debug, Default)]
pub(crate) struct LastVerified(Mutex<Option<Verified>>);

#[derive(Debug)]
struct Verified {
    key: [u8; 32],
    message: Vec<u8>,
    signature: [u8; 64],
}

impl LastVerified {
    fn holds(&self, key: &VerifyingKey, message: &[u8], signature: &[u8; 64]) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|last| {
                last.key == *key.as_bytes()
                    && last.signature == *signature
                    && last.message == message
            })
    }

    fn keep(&self, key: &VerifyingKey, message: &[u8], signature: &[u8; 64]) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Verified {
            key: *key.as_bytes(),
            message: message.to_vec(),
            signature: *signature,
        });
    }
}

/// Checks `proof` against `trusted`, with a distinct error for each way it fails; `plugin`
/// names the change in errors. `last`, if given, answers a proof that verified last time
/// without verifying it again, and keeps one that verifies now.
pub(crate) fn verify_proof(
    trusted: &[TrustedKey],
    plugin: &str,
    proof: &Proof<'_>,
    last: Option<&LastVerified>,
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
    if last.is_some_and(|last| last.holds(&key.key, proof.message, &signature)) {
        return Ok(());
    }
    if key.verifies(proof.message, &signature) {
        if let Some(last) = last {
            last.keep(&key.key, proof.message, &signature);
        }
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0707070707070707070707070707070707070707070707070707070707070707";
    const OTHER: &str = "0808080808080808080808080808080808080808080808080808080808080808";

    fn kind(result: Result<(), PluginError>) -> &'static str {
        let Err(error) = result else { return "ok" };
        match error.layer_error::<SecurityError>() {
            Some(SecurityError::UntrustedKey { .. }) => "untrusted",
            Some(SecurityError::BadSignature { .. }) => "bad",
            _ => panic!("{error}"),
        }
    }

    /// What the last verification kept answers only the same key, message and signature
    /// again: any other proof is verified (and refused) as if nothing were kept, and the key
    /// must still be trusted.
    #[test]
    fn a_kept_verification_answers_only_the_same_proof_under_a_trusted_key() {
        let release = vec![TrustedKey::public_of("release", SECRET).unwrap()];
        let message = [7u8; 32];
        let good = sign_message(&message, SECRET).unwrap();
        let forged = sign_message(&message, OTHER).unwrap();
        let other_message = sign_message(&[8u8; 32], SECRET).unwrap();
        let last = LastVerified::default();
        let check = |trusted: &[TrustedKey], message: &[u8], signature: &str| {
            kind(verify_proof(
                trusted,
                "p",
                &Proof::new(message, "release", signature),
                Some(&last),
            ))
        };
        assert_eq!(check(&release, &message, &good), "ok");
        let key = &release[0].key;
        let signature = decode_hex::<64>("signature", &good).unwrap();
        assert!(last.holds(key, &message, &signature), "kept");
        assert_eq!(check(&release, &message, &good), "ok", "answered again");
        assert_eq!(check(&release, &message, &forged), "bad");
        assert_eq!(check(&release, &[8u8; 32], &good), "bad", "another message");
        assert_eq!(check(&release, &[8u8; 32], &other_message), "ok");
        assert_eq!(check(&release, &message, &good), "ok", "verified once more");
        // The name now stands for another key: the kept answer was for the old one.
        let renamed = vec![TrustedKey::public_of("release", OTHER).unwrap()];
        assert_eq!(check(&renamed, &message, &good), "bad");
        assert_eq!(check(&[], &message, &good), "untrusted");
    }
}
