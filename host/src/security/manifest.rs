//! Signed manifests: runtime registrations that carry an Ed25519 signature.
//!
//! An envelope is TOML:
//!
//! ```toml
//! key = "release-2026"            # the name of a trusted key
//! signature = "9f3c…"             # 128 hex digits: Ed25519 over the manifest's exact bytes
//! manifest = """
//! name = "csv-reader"
//! version = "1.0.0"
//! type = "storage"
//! capabilities = ["csv"]
//! """
//! ```
//!
//! The signature covers the manifest text byte for byte, so no canonical form is needed: any
//! change to it, even whitespace, breaks the signature.
//!
//! # Signed state changes
//!
//! While authentication is on, every change to the runtime registry is a signed manifest;
//! `unregister_plugin` and `set_plugin_settings` are refused as unsigned. A manifest's
//! `action` says what it does:
//!
//! - `register` (the default): adds the plugin. Its version must be newer than any version
//!   this registry accepted for that name before, so an old manifest cannot bring back a
//!   removed or older version (downgrade), nor a manifest be replayed;
//! - `unregister`: removes the plugin, which must be registered at exactly the manifest's
//!   version (a removal of 1.0.0 replayed later does not remove 2.0.0);
//! - `settings`: replaces the plugin's settings with the manifest's `[settings]` table; its
//!   `serial` must be greater than that of the last settings accepted for the plugin.

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use semver::Version;
use serde::Deserialize;

use crate::configuration::SystemFlags;
use crate::registry::ModuleRegistry;
use crate::runtime::AdvancedPluginConfig;
use crate::security::Operation;
use crate::security::access::AccessDecision;
use modreg_core::PluginType;
use modreg_core::{PluginError, PluginErrorKind};

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

pub(crate) fn decode_hex<const N: usize>(
    field: &'static str,
    text: &str,
) -> Result<[u8; N], PluginError> {
    let text = text.trim();
    if text.len() != N * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PluginError::invalid(
            field,
            text,
            format!("expected {} hex digits", N * 2),
        ));
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
            .map_err(|e| PluginError::invalid(field, text, e.to_string()))?;
    }
    Ok(out)
}

pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
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

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    #[cfg(feature = "wasm")]
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.key
            .verify(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

/// The Ed25519 signature of `message` by the signing key given as 64 hex digits.
#[cfg(feature = "wasm")]
pub(crate) fn sign_bytes(message: &[u8], secret_key_hex: &str) -> Result<[u8; 64], PluginError> {
    let secret = decode_hex::<32>("secret key", secret_key_hex)?;
    Ok(SigningKey::from_bytes(&secret).sign(message).to_bytes())
}

/// A manifest and its signature, as received.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SignedManifest {
    /// The manifest text the signature covers.
    pub manifest: String,
    /// The signature, 128 hex digits; absent for an unsigned manifest.
    pub signature: Option<String>,
    /// The name of the key that signed it.
    pub key: Option<String>,
}

/// What a signed manifest does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Action {
    /// Adds the plugin.
    #[default]
    Register,
    /// Removes the plugin at the manifest's version.
    Unregister,
    /// Replaces the plugin's settings.
    Settings,
}

/// What a manifest may say.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    action: Action,
    name: String,
    version: String,
    #[serde(rename = "type")]
    plugin_type: String,
    /// With `action = "settings"`: increases with every settings manifest of the plugin.
    serial: Option<u64>,
    /// With `action = "settings"`: the plugin's new settings.
    settings: Option<toml::Table>,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

/// The longest manifest envelope accepted, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;

impl SignedManifest {
    /// `manifest` with no signature: what a registration that is not signed carries
    /// (refused while authentication is on).
    pub fn unsigned(manifest: impl Into<String>) -> Self {
        SignedManifest {
            manifest: manifest.into(),
            signature: None,
            key: None,
        }
    }

    /// Parses an envelope.
    pub fn parse(text: &str) -> Result<Self, PluginError> {
        crate::toml_settings::read_capped(text, MAX_MANIFEST_BYTES, "an envelope")
    }

    /// Signs `manifest` with the signing key given as 64 hex digits, naming it `key_name`.
    pub fn sign(manifest: &str, key_name: &str, secret_key_hex: &str) -> Result<Self, PluginError> {
        let secret = decode_hex::<32>("secret key", secret_key_hex)?;
        let signature = SigningKey::from_bytes(&secret).sign(manifest.as_bytes());
        Ok(SignedManifest {
            manifest: manifest.to_owned(),
            signature: Some(encode_hex(&signature.to_bytes())),
            key: Some(key_name.to_owned()),
        })
    }

    /// The envelope as TOML text.
    pub fn to_toml(&self) -> String {
        let table: toml::Table = [
            ("key", self.key.clone()),
            ("signature", self.signature.clone()),
            ("manifest", Some(self.manifest.clone())),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), toml::Value::String(v))))
        .collect();
        toml::to_string(&table).unwrap_or_default()
    }

    fn plugin_name(&self) -> String {
        toml::from_str::<toml::Table>(&self.manifest)
            .ok()
            .and_then(|t| t.get("name").and_then(|n| n.as_str().map(str::to_owned)))
            .unwrap_or_else(|| "(unnamed)".to_owned())
    }

    /// Checks the signature against `trusted`, with a distinct error for each way it fails.
    fn verify(&self, trusted: &[TrustedKey]) -> Result<(), PluginError> {
        let plugin = self.plugin_name();
        let (Some(signature), Some(key_name)) = (&self.signature, &self.key) else {
            return Err(PluginError::from(PluginErrorKind::Unsigned { plugin }));
        };
        let Some(key) = trusted.iter().find(|k| &k.name == key_name) else {
            return Err(PluginError::from(PluginErrorKind::UntrustedKey {
                plugin,
                key: key_name.clone(),
            }));
        };
        let bytes = decode_hex::<64>("signature", signature).map_err(|_| {
            PluginError::from(PluginErrorKind::BadSignature {
                plugin: plugin.clone(),
                key: key_name.clone(),
            })
        })?;
        key.key
            .verify(self.manifest.as_bytes(), &Signature::from_bytes(&bytes))
            .map_err(|_| {
                PluginError::from(PluginErrorKind::BadSignature {
                    plugin,
                    key: key_name.clone(),
                })
            })
    }

    fn read(&self) -> Result<Manifest, PluginError> {
        toml::from_str(&self.manifest).map_err(|e| {
            PluginError::from(PluginErrorKind::Manifest {
                reason: crate::toml_settings::describe_toml_error(&self.manifest, &e),
            })
        })
    }
}

impl Manifest {
    fn into_config(self) -> Result<AdvancedPluginConfig, PluginError> {
        let manifest = self;
        let mut config = AdvancedPluginConfig::new()
            .with_name(manifest.name)
            .with_version(manifest.version)
            .with_type(manifest.plugin_type.parse::<PluginType>()?);
        for capability in manifest.capabilities {
            config = config.add_capability(capability);
        }
        for dependency in manifest.depends_on {
            config = config.add_dependency(dependency);
        }
        for permission in manifest.permissions {
            config = config.add_permission(permission);
        }
        for (key, value) in manifest.metadata {
            config = config.with_metadata(key, value);
        }
        Ok(config)
    }
}

impl ModuleRegistry {
    /// Registers the plugin a manifest envelope describes. While authentication is on, the
    /// envelope must be signed by a trusted key: unsigned, untrusted and altered manifests
    /// are refused with [`PluginErrorKind::Unsigned`], [`PluginErrorKind::UntrustedKey`] and
    /// [`PluginErrorKind::BadSignature`].
    pub fn register_signed_manifest(&self, envelope: &str) -> Result<(), PluginError> {
        let signed = SignedManifest::parse(envelope)?;
        let overlay = self.snapshot();
        if overlay.flags.authentication {
            let verdict =
                signed.verify(&crate::security::SecuritySettings::of(&overlay).trusted_keys);
            self.note_authentication(
                &overlay.flags,
                &signed.plugin_name(),
                verdict.as_ref().err(),
            )?;
            verdict?;
        }
        let manifest = signed.read()?;
        let version = modreg_core::validate::parse_version(&manifest.name, &manifest.version)?;
        match manifest.action {
            Action::Register => self.register_signed(manifest, version),
            Action::Unregister => self.unregister_signed(&manifest.name, &version),
            Action::Settings => self.settings_signed(manifest),
        }
    }

    /// Adds a signed registration whose version is newer than any accepted for its name.
    fn register_signed(&self, manifest: Manifest, version: Version) -> Result<(), PluginError> {
        let name = manifest.name.clone();
        self.refuse_stale(&name, &version)?;
        self.insert_authenticated(manifest.into_config()?.into())?;
        self.update(|overlay| {
            overlay.signed_versions.insert(name, version);
            Ok(())
        })
    }

    /// Fails unless `version` is newer than every version accepted by manifest for `name`.
    fn refuse_stale(&self, name: &str, version: &Version) -> Result<(), PluginError> {
        match self.snapshot().signed_versions.get(name) {
            Some(newest) if version <= newest => {
                Err(PluginError::from(PluginErrorKind::Manifest {
                    reason: format!(
                        "version {version} of `{name}` is not newer than {newest}, the newest this registry accepted: a replayed or downgraded manifest"
                    ),
                }))
            }
            _ => Ok(()),
        }
    }

    /// Removes `name`, which must be registered at run time at exactly `version`.
    fn unregister_signed(&self, name: &str, version: &Version) -> Result<(), PluginError> {
        let registered = self
            .snapshot()
            .entries
            .get(name)
            .map(|entry| entry.version.clone());
        if registered.as_deref() != Some(version.to_string().as_str()) {
            return Err(PluginError::from(PluginErrorKind::Manifest {
                reason: format!(
                    "the removal names `{name}` {version}, but {}",
                    registered.map_or_else(
                        || "no such plugin is registered at run time".to_owned(),
                        |v| format!("version {v} is registered")
                    )
                ),
            }));
        }
        self.remove(name, true)?;
        let (name, version) = (name.to_owned(), version.clone());
        self.update(|overlay| {
            let newest = overlay.signed_versions.get(&name).cloned();
            if newest.is_none_or(|newest| version > newest) {
                overlay.signed_versions.insert(name, version);
            }
            Ok(())
        })
    }

    /// Replaces the settings of `manifest.name`; its serial must be greater than the last.
    fn settings_signed(&self, manifest: Manifest) -> Result<(), PluginError> {
        let name = manifest.name;
        let serial = manifest.serial.ok_or_else(|| {
            PluginError::from(PluginErrorKind::Manifest {
                reason: format!(
                    "settings of `{name}` need a `serial` that increases with every change"
                ),
            })
        })?;
        let table = manifest.settings.unwrap_or_default();
        let settings = crate::toml_settings::settings_from_table(table);
        self.update(|overlay| {
            if let Some(&last) = overlay.signed_serials.get(&name)
                && serial <= last
            {
                return Err(PluginError::from(PluginErrorKind::Manifest {
                    reason: format!(
                        "settings serial {serial} of `{name}` is not greater than {last}, the last accepted: a replayed manifest"
                    ),
                }));
            }
            overlay.signed_serials.insert(name.clone(), serial);
            overlay.settings.insert(name, settings);
            Ok(())
        })
    }
    pub(crate) fn note_authentication(
        &self,
        flags: &SystemFlags,
        plugin: &str,
        error: Option<&PluginError>,
    ) -> Result<(), PluginError> {
        let decision = AccessDecision {
            allowed: error.is_none(),
            reason: error.map_or_else(|| "signature verified".to_owned(), ToString::to_string),
        };
        self.note_access(flags, "-", Operation::Register, plugin, &decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0101010101010101010101010101010101010101010101010101010101010101";

    #[test]
    fn sign_then_verify_and_detect_tampering() {
        let trusted = [TrustedKey::public_of("ci", SECRET).unwrap()];
        let signed = SignedManifest::sign("name = \"x\"\n", "ci", SECRET).unwrap();
        signed.verify(&trusted).unwrap();
        let round_trip = SignedManifest::parse(&signed.to_toml()).unwrap();
        assert_eq!(round_trip, signed);
        let mut tampered = signed.clone();
        tampered.manifest.push(' ');
        assert!(matches!(
            tampered
                .verify(&trusted)
                .as_ref()
                .map_err(PluginError::kind),
            Err(PluginErrorKind::BadSignature { .. })
        ));
        let mut unknown = signed.clone();
        unknown.key = Some("someone".into());
        assert!(matches!(
            unknown.verify(&trusted).as_ref().map_err(PluginError::kind),
            Err(PluginErrorKind::UntrustedKey { .. })
        ));
        let unsigned = SignedManifest {
            signature: None,
            ..signed
        };
        assert!(matches!(
            unsigned
                .verify(&trusted)
                .as_ref()
                .map_err(PluginError::kind),
            Err(PluginErrorKind::Unsigned { .. })
        ));
    }
}
