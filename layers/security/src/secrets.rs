//! Secret settings, sealed at rest with ChaCha20-Poly1305 and opened only for their plugin.
//!
//! A sealed value is the text `enc:v2:` followed by Base64 of the 12-byte nonce and the
//! ciphertext with its tag. The plugin's name and the settings key it is sealed for are the
//! associated data, so a value sealed for one plugin or one field opens nowhere else. Values
//! sealed by the first version (`enc:v1:`, bound to the plugin only) are refused with a
//! message saying to seal them again.
//!
//! Opened values never reach an error: whatever a plugin's constructor reports about its
//! settings has every opened plaintext replaced by `<sealed>` (see [`redact`]).

use std::fmt;
use zeroize::{Zeroize, Zeroizing};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};

use modreg_core::{PluginError, PluginErrorKind};
use modreg_core::{PluginSettings, SettingValue};

/// The prefix of a sealed value.
pub const SEALED_PREFIX: &str = "enc:v2:";

/// The prefix of the first version's sealed values, which were bound to the plugin only.
const V1_PREFIX: &str = "enc:v1:";

/// What the cipher binds a value to: the plugin and the settings key (`auth.password`).
fn associated_data(plugin: &str, field: &str) -> Vec<u8> {
    [plugin.as_bytes(), b"\0", field.as_bytes()].concat()
}

/// The plaintexts a creation opened, kept to keep them out of its errors; overwritten when
/// dropped.
pub(crate) type Secrets = Zeroizing<Vec<String>>;

/// The key file `path` refused, for `reason`.
fn key_file_refused(path: &std::path::Path, reason: String) -> PluginError {
    PluginError::from(PluginErrorKind::File {
        what: "secret key file",
        path: path.display().to_string(),
        reason,
    })
}

/// The 32-byte key that seals and opens secret settings. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

// Compared in constant time: how long a comparison takes says nothing of where two keys differ.
impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        subtle::ConstantTimeEq::ct_eq(&self.0[..], &other.0[..]).into()
    }
}

impl Eq for SecretKey {}

// The key's bytes are overwritten when it is dropped, so a freed allocation or a stack slot
// does not keep it.
impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// A new key from the operating system's random numbers.
    pub fn generate() -> Result<Self, PluginError> {
        let mut bytes: [u8; 32] = chacha20poly1305::Key::try_generate()
            .map_err(|e| {
                PluginError::invalid(
                    "secret key",
                    "(a new one)",
                    format!("the operating system gave no random numbers: {e}"),
                )
            })?
            .into();
        let key = SecretKey(bytes);
        // The copy on the stack too, as the key's own bytes are when it is dropped.
        bytes.zeroize();
        Ok(key)
    }

    /// Writes a new key ([`generate`](Self::generate)) to `path` as
    /// [`from_file`](Self::from_file) reads it (64 hex digits and a newline), and returns it.
    /// The file must not exist (a key written over would leave every value the one there
    /// sealed unopenable): it is made new, never through a link, on Unix `0600`, and synced
    /// to the disk before the key is returned; one that could not be written whole is removed.
    ///
    /// ```
    /// # let scratch = tempfile::tempdir().unwrap();
    /// # let path = scratch.path().join("sealing.key");
    /// use modreg_security::SecretKey;
    /// let key = SecretKey::generate_file(&path)?;
    /// assert_eq!(SecretKey::from_file(&path)?, key);
    /// assert!(SecretKey::generate_file(&path).is_err(), "never written over");
    /// # Ok::<(), modreg_core::PluginError>(())
    /// ```
    pub fn generate_file(path: impl AsRef<std::path::Path>) -> Result<Self, PluginError> {
        use std::io::Write;
        let path = path.as_ref();
        let refused = |reason: String| key_file_refused(path, reason);
        let key = Self::generate()?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| {
            refused(if e.kind() == std::io::ErrorKind::AlreadyExists {
                "already exists: a new key there would leave every value the one there sealed \
                 unopenable (remove it first if that is meant)"
                    .to_owned()
            } else {
                e.to_string()
            })
        })?;
        // The text is wiped when dropped, as the key is.
        let mut text = Zeroizing::new([b'\n'; 65]);
        ::hex::encode_to_slice(&key.0, &mut text[..64]).map_err(|e| refused(e.to_string()))?;
        file.write_all(&text[..])
            .and_then(|()| file.sync_all())
            .map_err(|e| {
                drop(std::fs::remove_file(path));
                refused(format!("cannot be written: {e}"))
            })?;
        Ok(key)
    }

    /// A key from 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, PluginError> {
        crate::hex::decode_hex::<32>("secret key", text).map(SecretKey)
    }

    /// A key from the environment variable `name` (64 hex digits).
    pub fn from_env(name: &str) -> Result<Self, PluginError> {
        let text = Zeroizing::new(std::env::var(name).map_err(|e| {
            PluginError::invalid("secret key", name, format!("environment variable: {e}"))
        })?);
        Self::from_hex(&text)
    }

    /// A key from a file holding 64 hex digits. On Unix the file must be its owner's alone
    /// (`chmod 600`; `0640` where root owns it and this process is not root), and its
    /// owner this process's user or root, as PostgreSQL asks of its key files
    /// ([`others_may_read`](modreg_host::state_file::others_may_read)): whoever may read the
    /// key may open every sealed setting, and whoever may replace it may have secrets sealed
    /// to a key of theirs. A key another user may read is refused (`File`,
    /// naming the mode), checked on the opened file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, PluginError> {
        use modreg_host::files;
        let path = path.as_ref();
        let refused = |reason: String| key_file_refused(path, reason);
        let file = files::open_regular(path).map_err(|e| refused(e.to_string()))?;
        let metadata = file.metadata().map_err(|e| refused(e.to_string()))?;
        if let Some(reason) = modreg_host::state_file::others_may_read(&metadata) {
            return Err(refused(format!(
                "{reason}: whoever may read the key may open every sealed setting; make the \
                 file this user's alone (chmod 600)"
            )));
        }
        // The key's text is overwritten when freed, as the key is.
        let mut bytes = Zeroizing::new(Vec::new());
        files::read_limited_into(file, files::MAX_TEXT_FILE_BYTES, &mut bytes)
            .map_err(|e| refused(e.to_string()))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| refused("not UTF-8 text".to_owned()))?;
        Self::from_hex(text)
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&self.0.into())
    }

    /// Seals `plaintext` for settings key `field` of `plugin` (a dotted path for nested
    /// tables: `auth.password`; `items[0]` for a list element).
    pub fn seal(&self, plugin: &str, field: &str, plaintext: &str) -> Result<String, PluginError> {
        let nonce = Nonce::try_generate().map_err(|e| {
            PluginError::processing(plugin, format!("no randomness for a nonce: {e}"))
        })?;
        let sealed = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &associated_data(plugin, field),
                },
            )
            .map_err(|e| PluginError::processing(plugin, e))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// `sealed` (a value this key sealed for `plugin`'s `field`) sealed for the same plugin
    /// and field with the key `to` instead: how values move to a new key. The plaintext is
    /// wiped once sealed again.
    ///
    /// ```
    /// use modreg_security::SecretKey;
    /// let (old, new) = (SecretKey::generate()?, SecretKey::generate()?);
    /// let sealed = old.seal("db", "password", "hunter2")?;
    /// let moved = old.reseal(&new, "db", "password", &sealed)?;
    /// assert_eq!(new.open("db", "password", &moved)?, "hunter2");
    /// assert!(old.open("db", "password", &moved).is_err());
    /// # Ok::<(), modreg_core::PluginError>(())
    /// ```
    pub fn reseal(
        &self,
        to: &SecretKey,
        plugin: &str,
        field: &str,
        sealed: &str,
    ) -> Result<String, PluginError> {
        let plaintext = Zeroizing::new(self.open(plugin, field, sealed)?);
        to.seal(plugin, field, &plaintext)
    }

    /// Opens a value sealed for `plugin` under settings key `key`.
    pub fn open(&self, plugin: &str, key: &str, sealed: &str) -> Result<String, PluginError> {
        let fail = |why: &str| {
            PluginError::from(PluginErrorKind::Configuration {
                plugin: plugin.to_owned(),
                reason: format!("key `{key}`: sealed value cannot be opened: {why}"),
            })
        };
        if sealed.starts_with(V1_PREFIX) {
            return Err(fail(
                "sealed by the first version, for the plugin only; seal it again for its key with `SecretKey::seal(plugin, field, value)`",
            ));
        }
        let body = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or_else(|| fail("not a sealed value"))?;
        let bytes = STANDARD.decode(body).map_err(|_| fail("not Base64"))?;
        if bytes.len() < 12 + 16 {
            return Err(fail("too short"));
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let nonce = Nonce::try_from(nonce).map_err(|_| fail("malformed nonce"))?;
        let plain = self
            .cipher()
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: &associated_data(plugin, key),
                },
            )
            .map_err(|_| {
                fail("wrong key, a value sealed for another plugin or another key, or altered")
            })?;
        String::from_utf8(plain).map_err(|_| fail("not UTF-8"))
    }
}

/// Whether any string in `settings` is sealed.
pub(crate) fn has_sealed(settings: &PluginSettings) -> bool {
    fn any(value: &SettingValue) -> bool {
        match value {
            SettingValue::String(s) => s.starts_with(SEALED_PREFIX) || s.starts_with(V1_PREFIX),
            SettingValue::Array(items) => items.iter().any(any),
            SettingValue::Table(table) => table.values().any(any),
            _ => false,
        }
    }
    settings.values().values().any(any)
}

/// `settings` with every sealed string opened for `plugin`, and the plaintexts opened (to
/// keep them out of errors with [`redact`]).
pub(crate) fn open_all(
    key: Option<&SecretKey>,
    encryption: bool,
    plugin: &str,
    settings: &PluginSettings,
) -> Result<(PluginSettings, Secrets), PluginError> {
    fn walk(
        value: &mut SettingValue,
        path: &str,
        open: &dyn Fn(&str, &str) -> Result<String, PluginError>,
    ) -> Result<(), PluginError> {
        match value {
            SettingValue::String(s) if s.starts_with(SEALED_PREFIX) || s.starts_with(V1_PREFIX) => {
                *s = open(path, s)?;
            }
            SettingValue::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item, &format!("{path}[{i}]"), open)?;
                }
            }
            SettingValue::Table(table) => {
                for (k, v) in table.iter_mut() {
                    walk(v, &format!("{path}.{k}"), open)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
    let open = |path: &str, sealed: &str| -> Result<String, PluginError> {
        match key {
            Some(key) if encryption => key.open(plugin, path, sealed),
            _ => Err(PluginError::from(PluginErrorKind::Configuration {
                plugin: plugin.to_owned(),
                reason: format!(
                    "key `{path}` is sealed, but plugin encryption is off or has no secret key"
                ),
            })),
        }
    };
    let plaintexts = std::cell::RefCell::new(Vec::new());
    let open = |path: &str, sealed: &str| {
        let plain = open(path, sealed)?;
        plaintexts.borrow_mut().push(plain.clone());
        Ok(plain)
    };
    let mut opened = settings.clone();
    for (k, v) in opened.values_mut() {
        walk(v, k, &open)?;
    }
    Ok((opened, Zeroizing::new(plaintexts.into_inner())))
}

/// `error` with every one of `secrets` replaced by `<sealed>` wherever it carries text, so
/// that a constructor's complaint about an opened value never shows the value.
pub(crate) fn redact(error: PluginError, secrets: &[String]) -> PluginError {
    // Every form a message may carry a value in: as is, and escaped the ways errors escape
    // strings (Rust's `{:?}` as serde's messages do, `escape_default`, JSON); longest first,
    // so a form is not half-replaced by a shorter one.
    let mut forms: Vec<String> = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .flat_map(|secret| {
            let json = serde_json::to_string(secret).unwrap_or_default();
            [
                secret.clone(),
                secret.escape_debug().to_string(),
                secret.escape_default().to_string(),
                json.trim_matches('"').to_owned(),
            ]
        })
        .filter(|form| !form.is_empty())
        .collect();
    forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    forms.dedup();
    let clean = |text: String| {
        forms
            .iter()
            .fold(text, |text, form| text.replace(form.as_str(), "<sealed>"))
    };
    let shows = |text: &str| forms.iter().any(|form| text.contains(form.as_str()));
    match error.into_kind() {
        PluginErrorKind::Configuration { plugin, reason } => {
            PluginError::from(PluginErrorKind::Configuration {
                plugin,
                reason: clean(reason),
            })
        }
        PluginErrorKind::Invalid {
            field,
            value,
            reason,
        } => PluginError::from(PluginErrorKind::Invalid {
            field,
            value: clean(value),
            reason: clean(reason),
        }),
        PluginErrorKind::Processing { plugin, reason } => {
            PluginError::from(PluginErrorKind::Processing {
                plugin,
                reason: clean(reason),
            })
        }
        PluginErrorKind::Panicked {
            plugin,
            during,
            message,
        } => PluginError::from(PluginErrorKind::Panicked {
            plugin,
            during,
            message: clean(message),
        }),
        PluginErrorKind::Plugin { plugin, source } if shows(&source.to_string()) => {
            PluginError::from(PluginErrorKind::Processing {
                plugin,
                reason: clean(source.to_string()),
            })
        }
        other => PluginError::from(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_may_read_is_refused() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("sealing.key");
        std::fs::write(&path, KEY).unwrap();
        let chmod = |mode| {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        let refused = |why: &str| {
            let error = SecretKey::from_file(&path).unwrap_err();
            assert!(
                matches!(error.kind(), PluginErrorKind::File { what: "secret key file", reason, .. } if reason.contains(why)),
                "{error}"
            );
        };
        for (mode, taken) in [
            (0o600, true),
            (0o400, true),
            (0o640, false),
            (0o644, false),
            (0o604, false),
            (0o660, false),
        ] {
            chmod(mode);
            if taken {
                SecretKey::from_file(&path).unwrap_or_else(|e| panic!("{mode:o}: {e}"));
            } else {
                refused(&format!("(mode {mode:o})"));
            }
        }
        // Another user's (a test run as root can give it away).
        chmod(0o600);
        let me = std::fs::metadata(&path).unwrap().uid();
        if me == 0 {
            std::os::unix::fs::chown(&path, Some(65_534), None).unwrap();
            refused("is owned by user 65534");
            std::os::unix::fs::chown(&path, Some(me), None).unwrap();
            SecretKey::from_file(&path).unwrap();
        }
    }

    /// A new key file is its owner's alone, reads back as the key it was made with, is never
    /// written over, and holds a key of its own.
    #[test]
    fn a_new_key_file_is_its_owners_alone_and_never_written_over() {
        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("sealing.key");
        let key = SecretKey::generate_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.len() == 65
                && text.ends_with('\n')
                && text[..64].bytes().all(|b| b.is_ascii_hexdigit()),
            "64 hex digits and a newline"
        );
        assert_eq!(SecretKey::from_file(&path).unwrap(), key);
        let error = SecretKey::generate_file(&path).unwrap_err();
        assert!(
            matches!(error.kind(), PluginErrorKind::File { reason, .. } if reason.starts_with("already exists")),
            "{error}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "left as it was"
        );
        // Nor through a link to a file not there yet.
        #[cfg(unix)]
        {
            let link = scratch.path().join("link.key");
            let target = scratch.path().join("elsewhere.key");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            assert!(SecretKey::generate_file(&link).is_err());
            assert!(!target.exists());
        }
        let other = SecretKey::generate_file(scratch.path().join("other.key")).unwrap();
        assert_ne!(other, key);
        assert_ne!(SecretKey::generate().unwrap(), key);
    }

    #[test]
    fn sealed_values_open_only_for_their_plugin() {
        let key = SecretKey::from_hex(KEY).unwrap();
        let sealed = key.seal("db", "password", "hunter2").unwrap();
        assert!(sealed.starts_with(SEALED_PREFIX) && !sealed.contains("hunter2"));
        assert_eq!(key.open("db", "password", &sealed).unwrap(), "hunter2");
        let err = key.open("other", "password", &sealed).unwrap_err();
        assert!(err.to_string().contains("password") && !err.to_string().contains("hunter2"));
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
    }

    #[test]
    fn nested_sealed_values_are_opened() {
        let key = SecretKey::from_hex(KEY).unwrap();
        let sealed = key.seal("db", "auth.password", "s3cret").unwrap();
        let settings = <PluginSettings as modreg_host::SettingsFromToml>::from_toml(&format!(
            "[auth]\npassword = \"{sealed}\"\n"
        ))
        .unwrap();
        assert!(has_sealed(&settings));
        let (open, plaintexts) = open_all(Some(&key), true, "db", &settings).unwrap();
        assert_eq!(*plaintexts, ["s3cret"]);
        let auth = open.get("auth").and_then(SettingValue::as_table).unwrap();
        assert_eq!(auth["password"].as_str(), Some("s3cret"));
        let off = open_all(Some(&key), false, "db", &settings).unwrap_err();
        assert!(off.to_string().contains("auth.password"), "{off}");
    }
}
