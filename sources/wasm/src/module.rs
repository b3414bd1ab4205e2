//! `WasmModule`: a module checked before any of it runs (size, validity, imports, exports,
//! the `modreg.plugins` section), compiled once, with the plugins it lists.

use crate::config::WasmConfig;
use crate::digest::encode_hex;
use crate::engines::{self, Compiled};
use crate::shape::ModuleShape;
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

impl WasmModule {
    /// Checks and compiles `bytes`, loaded under `name`; `digest` is their SHA-256.
    pub(crate) fn new(
        name: &str,
        bytes: &[u8],
        digest: [u8; 32],
        config: &WasmConfig,
    ) -> Result<Self, PluginError> {
        let refuse = |reason: String| {
            PluginError::from(PluginErrorKind::WasmModule {
                module: name.to_owned(),
                reason,
            })
        };
        if bytes.len() > config.max_module_bytes() {
            return Err(refuse(format!(
                "{} bytes is over the limit of {}",
                bytes.len(),
                config.max_module_bytes()
            )));
        }
        // Before a compiler sees it: what each of its instances would make.
        ModuleShape::of(bytes).check(config).map_err(refuse)?;
        let compiled = engines::compile(bytes, &digest, config).map_err(refuse)?;
        for export in [EXPORT_ALLOC, EXPORT_PROCESS, "memory"] {
            if !compiled.exports(export) {
                return Err(refuse(format!(
                    "exports no `{export}`: build it with `modreg_guest::export!`"
                )));
            }
        }
        let section = compiled.plugin_section();
        if section.is_empty() {
            return Err(refuse(format!(
                "has no `{SECTION}` section listing its plugins"
            )));
        }
        let entries = read_metadata(&section).map_err(|e| refuse(format!("`{SECTION}`: {e}")))?;
        Ok(WasmModule {
            name: name.to_owned(),
            sha256: encode_hex(&digest),
            entries,
            compiled,
        })
    }
}
