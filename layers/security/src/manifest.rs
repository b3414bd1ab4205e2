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
use std::sync::PoisonError;

use semver::Version;
use serde::Deserialize;

use crate::error::SecurityError;
use crate::security::Security;
use crate::signature::{LastVerified, TrustedKey, sign_message, verify_proof};
use modreg_core::PluginType;
use modreg_core::{PluginError, PluginErrorKind};
use modreg_host::toml_settings::{describe_toml_error, read_capped, settings_from_table};
use modreg_host::{AdvancedPluginConfig, ModuleRegistry, PluginOrigin, Proof, SignedChange};

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
        read_capped(text, MAX_MANIFEST_BYTES, "an envelope")
    }

    /// Signs `manifest` with the signing key given as 64 hex digits, naming it `key_name`.
    pub fn sign(manifest: &str, key_name: &str, secret_key_hex: &str) -> Result<Self, PluginError> {
        let signature = sign_message(manifest.as_bytes(), secret_key_hex)?;
        Ok(SignedManifest {
            manifest: manifest.to_owned(),
            signature: Some(signature),
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

    /// The envelope's signature as the host carries it, if it is signed.
    fn proof(&self) -> Option<Proof<'_>> {
        match (&self.signature, &self.key) {
            (Some(signature), Some(key)) => {
                Some(Proof::new(self.manifest.as_bytes(), key, signature))
            }
            _ => None,
        }
    }

    /// Checks the signature against `trusted`, with a distinct error for each way it fails.
    fn verify(
        &self,
        trusted: &[TrustedKey],
        last: Option<&LastVerified>,
    ) -> Result<(), PluginError> {
        let plugin = self.plugin_name();
        match self.proof() {
            Some(proof) => verify_proof(trusted, &plugin, &proof, last),
            None => Err(PluginError::from(SecurityError::Unsigned { plugin })),
        }
    }

    fn read(&self) -> Result<Manifest, PluginError> {
        toml::from_str(&self.manifest).map_err(|e| {
            PluginError::from(PluginErrorKind::Manifest {
                reason: describe_toml_error(&self.manifest, &e),
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

impl Security {
    /// Registers the plugin a manifest envelope describes (or removes it, or replaces its
    /// settings: the manifest's `action`) on `registry`. While authentication is on, the
    /// envelope must be signed by a trusted key: unsigned, untrusted and altered manifests are
    /// refused with [`SecurityError::Unsigned`](crate::SecurityError::Unsigned), [`SecurityError::UntrustedKey`](crate::SecurityError::UntrustedKey) and
    /// [`SecurityError::BadSignature`](crate::SecurityError::BadSignature).
    ///
    /// The change reaches the host with the envelope's signature ([`Proof`]), and this layer
    /// verifies it there as it verifies any change; a failure is found (and audited) before
    /// the manifest is read, so a forged manifest's content is never looked at.
    pub fn register_signed_manifest(
        &self,
        registry: &ModuleRegistry,
        envelope: &str,
    ) -> Result<(), PluginError> {
        // One signed change at a time: each is checked against the state the one before it
        // left.
        let _one_at_a_time = self.signing.lock().unwrap_or_else(PoisonError::into_inner);
        let signed = SignedManifest::parse(envelope)?;
        if self.authentication() {
            // Kept once it verifies: registering the manifest's plugin checks the same proof
            // again, and is answered from what was kept.
            let verdict = signed.verify(&self.state().trusted_keys, Some(&self.verified));
            if let Err(error) = verdict {
                self.note_authentication(
                    &|event| registry.emit(event),
                    &signed.plugin_name(),
                    Some(&error),
                )?;
                return Err(error);
            }
        }
        // Checked against what every sharer of the replay state's file accepted, the file
        // locked until the change is recorded.
        let _sharers_wait = self.take_in_shared_replay_state()?;
        let manifest = signed.read()?;
        let version = modreg_core::validate::parse_version(&manifest.name, &manifest.version)?;
        let proof = signed.proof();
        match manifest.action {
            Action::Register => self.register_signed(registry, manifest, version, proof),
            Action::Unregister => self.unregister_signed(registry, &manifest.name, &version, proof),
            Action::Settings => self.settings_signed(registry, manifest, proof),
        }
    }

    /// Adds a signed registration whose version is newer than any accepted for its name.
    fn register_signed(
        &self,
        registry: &ModuleRegistry,
        manifest: Manifest,
        version: Version,
        proof: Option<Proof<'_>>,
    ) -> Result<(), PluginError> {
        let name = manifest.name.clone();
        self.refuse_stale(&name, &version)?;
        let config = manifest.into_config()?;
        self.record(
            |replay| {
                replay.versions.insert(name, version);
            },
            || {
                registry
                    .registrations()
                    .apply_signed(SignedChange::Register(config.into()), proof)
            },
        )
    }

    /// Fails unless `version` is newer than every version accepted by manifest for `name`.
    fn refuse_stale(&self, name: &str, version: &Version) -> Result<(), PluginError> {
        match self.state().replay.versions.get(name) {
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
    fn unregister_signed(
        &self,
        registry: &ModuleRegistry,
        name: &str,
        version: &Version,
        proof: Option<Proof<'_>>,
    ) -> Result<(), PluginError> {
        let registered = registry
            .plugin(name)
            .filter(|info| !matches!(info.origin(), PluginOrigin::Compiled(_)))
            .map(|info| info.version().to_owned());
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
        self.record(
            |replay| {
                let newest = replay.versions.get(name).cloned();
                if newest.is_none_or(|newest| *version > newest) {
                    replay.versions.insert(name.to_owned(), version.clone());
                }
            },
            || {
                registry
                    .registrations()
                    .apply_signed(SignedChange::Unregister(name.to_owned()), proof)
            },
        )
    }

    /// Replaces the settings of `manifest.name`; its serial must be greater than the last.
    fn settings_signed(
        &self,
        registry: &ModuleRegistry,
        manifest: Manifest,
        proof: Option<Proof<'_>>,
    ) -> Result<(), PluginError> {
        let name = manifest.name;
        let serial = manifest.serial.ok_or_else(|| {
            PluginError::from(PluginErrorKind::Manifest {
                reason: format!(
                    "settings of `{name}` need a `serial` that increases with every change"
                ),
            })
        })?;
        if let Some(&last) = self.state().replay.serials.get(&name)
            && serial <= last
        {
            return Err(PluginError::from(PluginErrorKind::Manifest {
                reason: format!(
                    "settings serial {serial} of `{name}` is not greater than {last}, the last accepted: a replayed manifest"
                ),
            }));
        }
        let settings = settings_from_table(manifest.settings.unwrap_or_default());
        self.record(
            |replay| {
                replay.serials.insert(name.clone(), serial);
            },
            || {
                registry
                    .registrations()
                    .apply_signed(SignedChange::Settings(name.clone(), settings), proof)
            },
        )
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
        signed.verify(&trusted, None).unwrap();
        let round_trip = SignedManifest::parse(&signed.to_toml()).unwrap();
        assert_eq!(round_trip, signed);
        let mut tampered = signed.clone();
        tampered.manifest.push(' ');
        assert!(matches!(
            tampered
                .verify(&trusted, None)
                .as_ref()
                .map_err(|e| e.layer_error::<SecurityError>()),
            Err(Some(SecurityError::BadSignature { .. }))
        ));
        let mut unknown = signed.clone();
        unknown.key = Some("someone".into());
        assert!(matches!(
            unknown
                .verify(&trusted, None)
                .as_ref()
                .map_err(|e| e.layer_error::<SecurityError>()),
            Err(Some(SecurityError::UntrustedKey { .. }))
        ));
        let unsigned = SignedManifest {
            signature: None,
            ..signed
        };
        assert!(matches!(
            unsigned
                .verify(&trusted, None)
                .as_ref()
                .map_err(|e| e.layer_error::<SecurityError>()),
            Err(Some(SecurityError::Unsigned { .. }))
        ));
    }
}
