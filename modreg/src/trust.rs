//! What the tool trusts to change its registry at run time: whether modules must be signed
//! and by which keys, whether a module may take a compiled-in plugin's name, and where the
//! newest signed versions are kept across runs; and the key that opens sealed settings.

use std::path::PathBuf;

use modreg::{AdvancedPluginSecurityConfig, ModuleRegistry, SecretKey, TrustedKey, WasmConfig};

use crate::error::CliError;

/// The file under `--state-dir` where security keeps what signed manifests brought.
const MANIFEST_STATE: &str = "signed-manifests.json";
/// The file under `--state-dir` where the sandbox keeps the newest signed module versions.
const MODULE_STATE: &str = "signed-modules.json";

/// Options every command takes (they shape the registry before the command runs).
#[derive(clap::Args, Debug)]
pub(crate) struct TrustArgs {
    /// Refuse every WebAssembly module (and every other runtime change) not signed by a key
    /// given with `--trusted-key`.
    #[arg(long, global = true, requires = "trusted_keys", help_heading = crate::GLOBAL)]
    require_signatures: bool,
    /// A key whose signatures are accepted, as `NAME=HEX` (the 32-byte Ed25519 public key
    /// in hex); repeat for several.
    #[arg(long = "trusted-key", global = true, value_name = "NAME=HEX", help_heading = crate::GLOBAL)]
    trusted_keys: Vec<String>,
    /// Let a module in `--plugin-dir` take the name of a compiled-in plugin (refused
    /// otherwise: a file dropped in the directory never silently replaces a built-in).
    #[arg(long, global = true, help_heading = crate::GLOBAL)]
    allow_replacing_compiled_plugins: bool,
    /// A directory where the newest signed versions accepted are kept, so that an older
    /// signed module or manifest is refused after a restart too; runs sharing it (a server and
    /// a command) each see what the others accepted. Made writable by its owner alone if
    /// missing; on Unix one other users may write is refused (they could roll the record back).
    #[arg(long, global = true, value_name = "DIR", help_heading = crate::GLOBAL)]
    state_dir: Option<PathBuf>,
    /// A file holding the key (64 hex digits) that opens settings sealed for a plugin
    /// (`enc:v2:` values in `--config` files, made by `modreg seal`); each opens for its own
    /// plugin and field only. On Unix the file must be its owner's alone (`chmod 600`; `0640`
    /// where root owns it): one other users may read is refused. Else `MODREG_SECRET_KEY_FILE`
    /// (a service manager's credentials directory, say).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "MODREG_SECRET_KEY_FILE",
        help_heading = crate::GLOBAL
    )]
    secret_key_file: Option<PathBuf>,
}

impl TrustArgs {
    /// Configures `registry`'s security layer (with `key`, the key of `--secret-key-file`
    /// read once by the caller, [`secret_key`](Self::secret_key)) and returns `config` with
    /// the sandbox's part.
    pub(crate) fn apply(
        &self,
        registry: &ModuleRegistry,
        key: Option<SecretKey>,
        mut config: WasmConfig,
    ) -> Result<WasmConfig, CliError> {
        if let Some(key) = key {
            registry.configure_advanced_plugin_security(
                AdvancedPluginSecurityConfig::new()
                    .with_plugin_encryption(true)
                    .with_secret_key(key),
            )?;
        }
        if !self.trusted_keys.is_empty() {
            let mut security = AdvancedPluginSecurityConfig::new()
                .with_plugin_authentication(self.require_signatures);
            for key in &self.trusted_keys {
                let Some((name, hex)) = key.split_once('=') else {
                    return Err(CliError::Usage {
                        what: "option",
                        value: "--trusted-key".to_owned(),
                        reason: "expected NAME=HEX".to_owned(),
                    });
                };
                security = security.with_trusted_key(TrustedKey::from_hex(name, hex)?);
            }
            registry.configure_advanced_plugin_security(security)?;
        }
        if let Some(dir) = &self.state_dir {
            // Its owner's alone: a state file in a directory others may write is refused.
            modreg::state_file::create_private_dir(dir)
                .map_err(CliError::io("the state directory"))?;
            registry
                .security()
                .persist_replay_state(dir.join(MANIFEST_STATE))?;
            config = config.with_state_file(dir.join(MODULE_STATE));
        }
        Ok(config.with_replace_compiled(self.allow_replacing_compiled_plugins))
    }

    /// The key `--secret-key-file` names, read (and its file's mode checked) anew.
    pub(crate) fn secret_key(&self) -> Result<Option<SecretKey>, CliError> {
        Ok(self
            .secret_key_file
            .as_ref()
            .map(SecretKey::from_file)
            .transpose()?)
    }
}
