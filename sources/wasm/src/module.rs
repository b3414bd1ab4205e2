//! `WasmModule`: a module checked before any of it runs (size, validity, imports, exports,
//! the `modreg.plugins` section), compiled once, with the plugins it lists.

use sha2::{Digest, Sha256};
use wasmi::{Engine, ExternType, Module};

use crate::config::WasmConfig;
use crate::imports::OFFERED;
use modreg_core::wasm_abi::{
    EXPORT_ALLOC, EXPORT_PROCESS, IMPORT_MODULE, ModuleEntry, SECTION, read_metadata,
};
use modreg_core::{PluginError, PluginErrorKind};

/// A loaded module: compiled, checked, and what it says of its plugins.
#[derive(Debug)]
pub(crate) struct WasmModule {
    /// The name it was loaded under (its file name).
    pub(crate) name: String,
    /// SHA-256 of its bytes, hex.
    pub(crate) sha256: String,
    /// SHA-256 of its bytes: what its signature signs.
    pub(crate) digest: [u8; 32],
    /// The plugins its section lists, in call order.
    pub(crate) entries: Vec<ModuleEntry>,
    pub(crate) compiled: Module,
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `bytes` as lowercase hex digits. (Written here: a hash's display is not worth a crate.)
pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

impl WasmModule {
    /// Checks and compiles `bytes`, loaded under `name`; `digest` is their SHA-256.
    pub(crate) fn new(
        name: &str,
        bytes: &[u8],
        digest: [u8; 32],
        engine: &Engine,
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
        let compiled =
            Module::new(engine, bytes).map_err(|e| refuse(format!("not a valid module: {e}")))?;
        for import in compiled.imports() {
            let offered = import.module() == IMPORT_MODULE
                && OFFERED.contains(&import.name())
                && matches!(import.ty(), ExternType::Func(_));
            if !offered {
                return Err(refuse(format!(
                    "imports `{}::{}`, which the sandbox does not offer (it offers only {IMPORT_MODULE}::{{{}}})",
                    import.module(),
                    import.name(),
                    OFFERED.join(", ")
                )));
            }
        }
        for export in [EXPORT_ALLOC, EXPORT_PROCESS, "memory"] {
            if compiled.get_export(export).is_none() {
                return Err(refuse(format!(
                    "exports no `{export}`: build it with `modreg_guest::export!`"
                )));
            }
        }
        let section: Vec<u8> = compiled
            .custom_sections()
            .filter(|s| s.name() == SECTION)
            .flat_map(|s| s.data().iter().copied())
            .collect();
        if section.is_empty() {
            return Err(refuse(format!(
                "has no `{SECTION}` section listing its plugins"
            )));
        }
        let entries = read_metadata(&section).map_err(|e| refuse(format!("`{SECTION}`: {e}")))?;
        Ok(WasmModule {
            name: name.to_owned(),
            sha256: encode_hex(&digest),
            digest,
            entries,
            compiled,
        })
    }
}
