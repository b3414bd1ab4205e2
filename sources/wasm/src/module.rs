//! `WasmModule`: a module checked before any of it runs (size, shape, the `modreg.plugins`
//! section, then validity, imports, exports), compiled once, with the plugins it lists.
//! `DeclaredModule` is the first half: what the module declares, read before it compiles.

use crate::config::WasmConfig;
use crate::engines::{self, Compiled};
use crate::shape::ModuleShape;
use crate::state::StateShape;
use modreg_core::validate::{check_identifier, check_unique, parse_dependency, parse_version};
use modreg_core::wasm_abi::{EXPORT_ALLOC, EXPORT_PROCESS, ModuleEntry, SECTION, read_metadata};
use modreg_core::{PluginError, PluginErrorKind};

/// A loaded module: compiled, checked, and what it says of its plugins.
#[derive(Debug)]
pub(crate) struct WasmModule {
    /// The name it was loaded under (its file name).
    pub(crate) name: String,
    /// SHA-256 of its bytes, hex.
    pub(crate) sha256: String,
    /// The plugins its section lists, in call order.
    pub(crate) entries: Vec<ModuleEntry>,
    /// Compiled for the engine the registry's configuration named when it was loaded.
    pub(crate) compiled: Compiled,
}

/// A module's bytes read as far as what it declares, before any of its code is compiled:
/// its size and shape are within the caps and its plugin listing parses.
#[derive(Debug)]
pub(crate) struct DeclaredModule<'b> {
    name: &'b str,
    bytes: &'b [u8],
    /// The plugins its section lists, in call order.
    pub(crate) entries: Vec<ModuleEntry>,
    /// What of its state each instance holds.
    state: StateShape,
}

/// The checks a registration makes of what `entry` names (the core's, as the host makes
/// them), made here so that the refusal names the module: the host's error would name the
/// plugin only. The host checks again at registration.
fn check_entry(entry: &ModuleEntry) -> Result<(), PluginError> {
    check_identifier("plugin name", &entry.name)?;
    parse_version(&entry.name, &entry.version)?;
    check_unique("capability", &entry.capabilities)?;
    check_unique("permission", &entry.permissions)?;
    for dependency in &entry.depends_on {
        parse_dependency(&entry.name, dependency)?;
    }
    Ok(())
}

impl<'b> DeclaredModule<'b> {
    /// Reads `bytes`, loaded under `name`: refused when over `config`'s size or shape caps,
    /// not a module, or without a plugin listing that parses.
    pub(crate) fn read(
        name: &'b str,
        bytes: &'b [u8],
        config: &WasmConfig,
    ) -> Result<Self, PluginError> {
        let refuse = |reason: String| refuse(name, reason);
        if bytes.len() > config.max_module_bytes() {
            return Err(refuse(format!(
                "{} bytes is over the limit of {}",
                bytes.len(),
                config.max_module_bytes()
            )));
        }
        // Before a compiler sees it: what each of its instances would make.
        let shape = ModuleShape::of(bytes).map_err(refuse)?;
        shape.check(config).map_err(refuse)?;
        if shape.plugin_section.is_empty() {
            return Err(refuse(format!(
                "has no `{SECTION}` section listing its plugins"
            )));
        }
        let entries = read_metadata(&shape.plugin_section)
            .map_err(|e| refuse(format!("`{SECTION}`: {e}")))?;
        for entry in &entries {
            check_entry(entry).map_err(|e| refuse(format!("`{SECTION}`: {e}")))?;
        }
        Ok(DeclaredModule {
            name,
            bytes,
            entries,
            state: shape.state,
        })
    }

    /// Compiles the module (`digest`: the SHA-256 of its bytes) for the engine `config`
    /// names, and checks it exports what the contract needs.
    pub(crate) fn compile(
        self,
        digest: [u8; 32],
        config: &WasmConfig,
    ) -> Result<WasmModule, PluginError> {
        let refuse = |reason: String| refuse(self.name, reason);
        let compiled = engines::compile(self.bytes, &digest, &self.entries, &self.state, config)
            .map_err(refuse)?;
        for export in [EXPORT_ALLOC, EXPORT_PROCESS, "memory"] {
            if !compiled.exports(export) {
                return Err(refuse(format!(
                    "exports no `{export}`: build it with `modreg_guest::export!`"
                )));
            }
        }
        Ok(WasmModule {
            name: self.name.to_owned(),
            sha256: hex::encode(digest),
            entries: self.entries,
            compiled,
        })
    }
}

fn refuse(module: &str, reason: String) -> PluginError {
    PluginError::from(PluginErrorKind::WasmModule {
        module: module.to_owned(),
        reason,
    })
}
