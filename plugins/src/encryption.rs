//! ChaCha20-Poly1305 authenticated encryption, the key from configuration.
//!
//! The ciphertext is the 12-byte random nonce followed by the sealed data and its 16-byte
//! tag. Decryption of anything altered fails with an error; it never returns garbage.

use chacha20poly1305::aead::{Aead, Generate, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use modreg_core::{PluginBehavior, PluginError, PluginErrorKind};
use serde::Deserialize;

const NONCE_LEN: usize = 12;

/// The key: 32 bytes written as 64 hex digits.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// 64 hex digits.
    pub key: String,
}

impl std::fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyConfig")
            .field("key", &"<redacted>")
            .finish()
    }
}

fn cipher(plugin: &str, KeyConfig { key }: KeyConfig) -> Result<ChaCha20Poly1305, PluginError> {
    let invalid = |reason: String| {
        PluginError::from(PluginErrorKind::Configuration {
            plugin: plugin.to_owned(),
            reason: format!("key `key`: {reason}"),
        })
    };
    let key = key.trim();
    let mut bytes = [0u8; 32];
    // `hex`'s own error shows the offending character of the key: not repeated here.
    hex::decode_to_slice(key, &mut bytes).map_err(|_| {
        invalid(format!(
            "must be 32 bytes as 64 hex digits, found {} characters (not shown)",
            key.len()
        ))
    })?;
    Ok(ChaCha20Poly1305::new(&bytes.into()))
}

/// Encrypts with ChaCha20-Poly1305 under a fresh random nonce.
#[cfg_attr(feature = "registered", modreg_core::plugin(
    type = Encryption,
    name = "chacha20poly1305-encrypt",
    capabilities = ["encryption", "chacha20poly1305", "authenticated"],
    description = "Encrypts with ChaCha20-Poly1305; output is nonce, ciphertext and tag",
    config = KeyConfig
))]
pub struct ChaCha20Poly1305Encrypt {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for ChaCha20Poly1305Encrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChaCha20Poly1305Encrypt")
            .finish_non_exhaustive()
    }
}

impl ChaCha20Poly1305Encrypt {
    /// An encryptor with the configured key.
    pub fn from_config(config: KeyConfig) -> Result<Self, PluginError> {
        Ok(ChaCha20Poly1305Encrypt {
            cipher: cipher("chacha20poly1305-encrypt", config)?,
        })
    }
}

impl PluginBehavior for ChaCha20Poly1305Encrypt {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let nonce = Nonce::try_generate().map_err(|e| {
            PluginError::processing(
                "chacha20poly1305-encrypt",
                format!("no randomness for the nonce: {e}"),
            )
        })?;
        let sealed = self
            .cipher
            .encrypt(&nonce, data)
            .map_err(|e| PluginError::from_plugin("chacha20poly1305-encrypt", e))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }
}

/// Decrypts what `chacha20poly1305-encrypt` produced; tampered input is an error.
#[cfg_attr(feature = "registered", modreg_core::plugin(
    type = Encryption,
    name = "chacha20poly1305-decrypt",
    capabilities = ["decryption", "chacha20poly1305", "authenticated"],
    description = "Decrypts and authenticates ChaCha20-Poly1305 data",
    config = KeyConfig
))]
pub struct ChaCha20Poly1305Decrypt {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for ChaCha20Poly1305Decrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChaCha20Poly1305Decrypt")
            .finish_non_exhaustive()
    }
}

impl ChaCha20Poly1305Decrypt {
    /// A decryptor with the configured key.
    pub fn from_config(config: KeyConfig) -> Result<Self, PluginError> {
        Ok(ChaCha20Poly1305Decrypt {
            cipher: cipher("chacha20poly1305-decrypt", config)?,
        })
    }
}

impl PluginBehavior for ChaCha20Poly1305Decrypt {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        if data.len() < NONCE_LEN + 16 {
            return Err(PluginError::processing(
                "chacha20poly1305-decrypt",
                format!(
                    "input of {} bytes is shorter than a nonce and a tag (28 bytes)",
                    data.len()
                ),
            ));
        }
        let (nonce, sealed) = data.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce)
            .map_err(|_| PluginError::processing("chacha20poly1305-decrypt", "malformed nonce"))?;
        self.cipher.decrypt(&nonce, sealed).map_err(|_| {
            PluginError::processing(
                "chacha20poly1305-decrypt",
                "authentication failed: the data was altered or the key is wrong",
            )
        })
    }
}
