//! Loading WebAssembly plugin modules into a registry: one file, bytes, or a directory, each
//! module's plugins registered together through the same checks as any runtime registration.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::config::WasmConfig;
use crate::digest::sha256 as sha256_of;
use crate::imports::Grants;
use crate::limits::tightened;
use crate::module::DeclaredModule;
use crate::module_file::{
    FileStamp, RefusedFile, Retry, module_name, read_capped, signature_beside, stamp_of, unreadable,
};
use crate::plugin::{LoadedModule, WasmPlugin, WasmPluginSpec};
use crate::signature::WasmSignature;
use crate::versions::SignedVersions;
use modreg_core::Plugin;
use modreg_core::PluginType;
use modreg_core::wasm_abi::ModuleEntry;
use modreg_core::{PluginError, PluginErrorKind};
use modreg_host::Proof;
use modreg_host::state_file::others_may_write;
use modreg_host::{AdvancedPluginConfig, Registration, SandboxedRegistration};
use modreg_host::{Event, ModuleRegistry};

/// The WebAssembly sandbox of one registry: its configuration and the modules it loaded. Its
/// calls take the registry the modules' plugins are registered in; the facade `modreg` holds
/// one per registry and offers them as `registry.wasm()` ([`Sandbox`]).
pub struct Wasm {
    config: RwLock<WasmConfig>,
    /// Loaded modules by name, with their hash (the host knows which plugins each holds:
    /// those it registered, less any another hand removed or replaced since).
    modules: Mutex<BTreeMap<String, LoadedEntry>>,
    /// The newest signed version accepted for each plugin (taken after `modules`).
    versions: Mutex<SignedVersions>,
    /// Bytes of memory the idle instances of every module hold (`plugin.rs`).
    idle: Arc<AtomicUsize>,
    /// Bytes of memory every instance of every module holds (`imports.rs`'s limiter).
    total: Arc<AtomicUsize>,
    /// Modules refused (invalid, unsigned, over a limit) since the registry was made.
    refused: AtomicU64,
    /// Each module file last refused, so a directory pass refuses (and logs) a file once, not
    /// on every pass, until it or its signature file changes, or what refused it may have
    /// ([`Retry`]; configuring the sandbox again forgets them all).
    refused_files: Mutex<BTreeMap<String, RefusedFile>>,
    /// Modules whose file is gone but whose removal the layers refused (under authentication
    /// a removal is a change to sign, and a file's absence carries no signature): they keep
    /// serving, and a directory pass reports the refusal once, not on every pass, until the
    /// file is back. By name, with the layers' revision (`Catalog::layers_revision`) it was
    /// refused at: a change to a layer's configuration (authentication switched off) tries it
    /// again.
    refused_removals: Mutex<BTreeMap<String, u64>>,
    /// The stamp of each module file (and of its signature file) when a pass last read it: a
    /// file whose stamp is the same is not read (nor hashed) again ([`stamp_of`]: none is
    /// taken of a file changed in the last two seconds).
    stamps: Mutex<BTreeMap<String, FileStamp>>,
}

#[derive(Clone, Debug)]
struct LoadedEntry {
    sha256: String,
}

impl Default for Wasm {
    fn default() -> Self {
        Wasm {
            config: RwLock::new(WasmConfig::default()),
            modules: Mutex::new(BTreeMap::new()),
            versions: Mutex::new(SignedVersions::default()),
            idle: Arc::default(),
            total: Arc::default(),
            refused: AtomicU64::new(0),
            refused_files: Mutex::new(BTreeMap::new()),
            refused_removals: Mutex::new(BTreeMap::new()),
            stamps: Mutex::new(BTreeMap::new()),
        }
    }
}

/// What loading a directory did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct WasmLoadReport {
    /// Plugins registered (or re-registered), by module.
    pub loaded: BTreeMap<String, Vec<String>>,
    /// Modules left as they were: unchanged since they were loaded, or since they were
    /// refused (a module whose file is gone but whose removal was refused, too).
    pub unchanged: Vec<String>,
    /// Modules whose plugins were removed (their file is gone).
    pub removed: Vec<String>,
    /// Modules refused, with why; a module loaded before keeps serving.
    pub refused: Vec<(String, PluginError)>,
    /// Why users other than this process's may add or replace modules in the directory, if
    /// they may: on Unix, another user (not root) owns it, or group or others may write it
    /// (the rule [`others_may_write`](modreg_host::state_file::others_may_write) states).
    /// Reported, not refused: unless the registry's layers require signatures, what they put
    /// there is loaded. [`WasmWatcher`](crate::WasmWatcher) logs it (once until it changes).
    pub open_to_others: Option<String>,
}

/// A module file the registry's layers let run: its name and bytes
/// ([`Sandbox::admit_wasm_file`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AdmittedModule {
    /// The name it would be loaded under: its file name.
    pub name: String,
    /// The file's bytes, read once.
    pub bytes: Vec<u8>,
}

/// The type plugin `entry`'s registration gives, and so the one its declaration names to the
/// layers before the module compiles: none for a typed plugin (its trait's registry says what
/// it is), the type its record lists otherwise.
fn registered_type(entry: &ModuleEntry) -> Result<Option<PluginType>, PluginError> {
    match entry.typed {
        Some(_) => Ok(None),
        None => entry.plugin_type.parse().map(Some),
    }
}

/// A module's plugins as the host registers them: the `Plugin`s, the typed ones (of a
/// `#[sandboxed]` trait), and every name.
type ModuleRegistrations = (Vec<Registration>, Vec<SandboxedRegistration>, Vec<String>);

/// The registrations of `loaded`'s plugins (module `name`), and their names.
fn registrations_of(
    loaded: &Arc<LoadedModule>,
    name: &str,
    config: &WasmConfig,
) -> Result<ModuleRegistrations, PluginError> {
    let sha256 = &loaded.module.sha256;
    let mut registrations: Vec<Registration> = Vec::new();
    let mut typed_registrations = Vec::new();
    let mut names = Vec::new();
    for (index, entry) in loaded.module.entries.iter().enumerate() {
        let limited = tightened(&entry.limits, config).map_err(|reason| {
            PluginError::from(PluginErrorKind::WasmModule {
                module: name.to_owned(),
                reason: format!("plugin `{}`: {reason}", entry.name),
            })
        })?;
        // Parsed once: the registered type when there is one, else the record's own.
        let registered = registered_type(entry)?;
        let plugin_type = match registered {
            Some(plugin_type) => plugin_type,
            None => entry.plugin_type.parse::<PluginType>()?,
        };
        let spec = Arc::new(WasmPluginSpec {
            module: loaded.clone(),
            index: u32::try_from(index).unwrap_or(u32::MAX),
            name: entry.name.clone(),
            version: entry.version.clone(),
            plugin_type,
            capabilities: entry.capabilities.clone(),
            grants: Arc::new(Grants::of(&entry.name, &entry.permissions, config)),
            config: limited,
        });
        if let Some(typed) = &entry.typed {
            // A plugin of the user's own trait: created through its registry as the trait's
            // proxy, each method one `process` call of this plugin (its input framed).
            names.push(entry.name.clone());
            typed_registrations.push(
                SandboxedRegistration::new(
                    &entry.name,
                    &typed.trait_name,
                    &typed.fingerprint,
                    move || Ok(Box::new(WasmPlugin::new(spec.clone())) as Box<dyn Plugin>),
                )
                .with_version(&entry.version)
                .with_description(&entry.description)
                .with_capabilities(entry.capabilities.clone())
                .with_permissions(entry.permissions.clone())
                .with_shadowing(config.replaces_compiled()),
            );
            continue;
        }
        let mut registration = AdvancedPluginConfig::new()
            .with_name(&entry.name)
            .with_version(&entry.version)
            .with_metadata("wasm.module", name)
            .with_metadata("wasm.sha256", sha256)
            .with_metadata("wasm.abi", entry.format_version.to_string())
            .with_constructor(move |settings| {
                // A guest is configured by its module: settings the host would pass are
                // refused, never silently dropped.
                if !settings.is_empty() {
                    return Err(PluginError::invalid(
                        "plugin settings",
                        spec.name.clone(),
                        "are not applied to a WebAssembly plugin (its module configures it); remove them",
                    ));
                }
                Ok(Box::new(WasmPlugin::new(spec.clone())))
            });
        if let Some(plugin_type) = registered {
            registration = registration.with_type(plugin_type);
        }
        if !entry.description.is_empty() {
            registration = registration.with_metadata("description", &entry.description);
        }
        if !entry.limits.is_empty() {
            // What it asked for (`modreg show` lists it); what applies is the tighter of this
            // and the sandbox's own.
            registration = registration.with_metadata("wasm.limits", entry.limits.join(","));
        }
        for capability in &entry.capabilities {
            registration = registration.add_capability(capability);
        }
        for permission in &entry.permissions {
            registration = registration.add_permission(permission);
        }
        for dependency in &entry.depends_on {
            registration = registration.add_dependency(dependency);
        }
        names.push(entry.name.clone());
        registrations.push(registration.into());
    }
    Ok((registrations, typed_registrations, names))
}

/// Each plugin of `loaded` (module `name`) with its version.
fn plugin_versions(
    loaded: &LoadedModule,
    name: &str,
) -> Result<Vec<(String, semver::Version)>, PluginError> {
    loaded
        .module
        .entries
        .iter()
        .map(|e| {
            semver::Version::parse(&e.version)
                .map(|v| (e.name.clone(), v))
                .map_err(|err| {
                    PluginError::from(PluginErrorKind::WasmModule {
                        module: name.to_owned(),
                        reason: format!("plugin `{}` has version `{}`: {err}", e.name, e.version),
                    })
                })
        })
        .collect()
}

impl Wasm {
    /// What [`Sandbox::configure_wasm`] does.
    pub(crate) fn configure_wasm(&self, config: WasmConfig) -> Result<(), PluginError> {
        if config.time_budget().is_zero() {
            return Err(PluginError::invalid(
                "WebAssembly time budget",
                "0",
                "a call needs some time to run",
            ));
        }
        let engine = config.engine();
        if let Some(dir) = config.jit_cache_dir().filter(|_| !engine.compiles()) {
            return Err(PluginError::invalid(
                "WebAssembly compiled-module cache",
                dir.display().to_string(),
                format_args!(
                    "the engine is {engine:?}, an interpreter, which makes no machine code to \
                     keep: choose a compiling engine (WasmEngine::Jit or JitBaseline) or no cache"
                ),
            ));
        }
        if let Some(limit) = config
            .jit_cache_limit_set()
            .filter(|_| config.jit_cache_dir().is_none())
        {
            return Err(PluginError::invalid(
                "WebAssembly compiled-module cache limit",
                limit.to_string(),
                "there is no cache to limit: name its directory (WasmConfig::with_jit_cache_dir) \
                 or set no limit",
            ));
        }
        // What was accepted under the configuration before stays (taken into the new state
        // file, if one is named).
        let mut versions = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        *versions = SignedVersions::reopen(config.state_file(), &versions)?;
        drop(versions);
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = config;
        // A module refused under the configuration before (over a limit since raised, taking
        // a compiled-in name now allowed) is read and tried again at the next pass. (One lock
        // at a time.)
        let refused = std::mem::take(
            &mut *self
                .refused_files
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let mut stamps = self.stamps.lock().unwrap_or_else(PoisonError::into_inner);
        for name in refused.keys() {
            stamps.remove(name);
        }
        Ok(())
    }

    /// What [`Sandbox::wasm_config`] does.
    pub(crate) fn wasm_config(&self) -> WasmConfig {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What [`Sandbox::idle_memory_bytes`] does.
    pub(crate) fn idle_memory_bytes(&self) -> usize {
        self.idle.load(Ordering::Acquire)
    }

    /// What [`Sandbox::memory_bytes`] does.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }

    /// What [`Sandbox::wasm_modules_refused`] does.
    pub(crate) fn wasm_modules_refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// What [`Sandbox::load_wasm_plugin`] does.
    pub(crate) fn load_wasm_plugin(
        &self,
        registry: &ModuleRegistry,
        path: impl AsRef<Path>,
    ) -> Result<Vec<String>, PluginError> {
        let path = path.as_ref();
        let name = module_name(path);
        let limit = self.wasm_config().max_module_bytes();
        let read = read_capped(path, limit).and_then(|bytes| Ok((bytes, signature_beside(path)?)));
        let (bytes, signature) = read.map_err(|error| self.refuse(registry, &name, error))?;
        self.load_wasm_bytes(registry, &name, &bytes, signature.as_ref())
    }

    /// What [`Sandbox::admit_wasm_file`] does.
    pub(crate) fn admit_wasm_file(
        &self,
        registry: &ModuleRegistry,
        path: &Path,
    ) -> Result<AdmittedModule, PluginError> {
        let bytes = read_capped(path, self.wasm_config().max_module_bytes())?;
        let signature = signature_beside(path)?;
        let digest = sha256_of(&bytes);
        let proof = signature
            .as_ref()
            .map(|s| Proof::new(&digest, &s.key, &s.signature));
        let name = module_name(path);
        registry.registrations().admit_source(&name, proof)?;
        Ok(AdmittedModule { name, bytes })
    }

    /// What [`Sandbox::load_wasm_bytes`] does.
    pub(crate) fn load_wasm_bytes(
        &self,
        registry: &ModuleRegistry,
        name: &str,
        bytes: &[u8],
        signature: Option<&WasmSignature>,
    ) -> Result<Vec<String>, PluginError> {
        self.load_hashed(registry, name, bytes, sha256_of(bytes), signature)
    }

    /// [`load_wasm_bytes`](Self::load_wasm_bytes) of bytes whose SHA-256 the caller has
    /// (a directory pass hashes a file to see whether it changed): it is not computed again.
    fn load_hashed(
        &self,
        registry: &ModuleRegistry,
        name: &str,
        bytes: &[u8],
        digest: [u8; 32],
        signature: Option<&WasmSignature>,
    ) -> Result<Vec<String>, PluginError> {
        self.load_checked(registry, name, bytes, digest, signature)
            .map_err(|error| self.refuse(registry, name, error))
    }

    /// Counts, logs and tells the layers (`Event::ModuleRefused`) that module `name` was
    /// refused with `error`, and gives it back: on every path a module is refused by, its
    /// file unreadable or its signature file included.
    fn refuse(&self, registry: &ModuleRegistry, name: &str, error: PluginError) -> PluginError {
        self.refused.fetch_add(1, Ordering::Relaxed);
        // Escaped: the reason quotes the module's own text.
        tracing::error!(module = name, error = %error.to_string().escape_debug(), "WebAssembly module refused");
        registry.emit(&Event::ModuleRefused {
            module: name,
            reason: &error.to_string(),
        });
        error
    }

    fn load_checked(
        &self,
        registry: &ModuleRegistry,
        name: &str,
        bytes: &[u8],
        digest: [u8; 32],
        signature: Option<&WasmSignature>,
    ) -> Result<Vec<String>, PluginError> {
        let config = self.wasm_config();
        // The signature is over the module's SHA-256; the layers verify it (security, with
        // authentication on, refuses a module without one) before a byte of the module is
        // parsed, compiled or run, and again with each plugin it registers.
        let proof = signature.map(|s| Proof::new(&digest, &s.key, &s.signature));
        registry.registrations().admit_source(name, proof)?;
        // Then what it declares, read from its headers: each plugin it lists is asked of the
        // layers (security, under access control: may the acting principal register it?)
        // before a compiler or its start function costs anything.
        let declared = DeclaredModule::read(name, bytes, &config)?;
        for entry in &declared.entries {
            registry
                .registrations()
                .declare(name, &entry.name, registered_type(entry)?)?;
        }
        let module = declared.compile(digest, &config)?;
        let sha256 = module.sha256.clone();
        let events = registry.events();
        let loaded = Arc::new(LoadedModule::new(
            module,
            config.clone(),
            events,
            Arc::clone(&self.idle),
            Arc::clone(&self.total),
        ));
        loaded.instantiate_once()?;
        let (registrations, typed_registrations, names) = registrations_of(&loaded, name, &config)?;
        let mut modules = self.modules.lock().unwrap_or_else(PoisonError::into_inner);
        if !config.replaces_compiled()
            && let Some(taken) = names.iter().find(|n| registry.index().get(n).is_some())
        {
            return Err(PluginError::from(PluginErrorKind::WasmModule {
                module: name.to_owned(),
                reason: format!(
                    "plugin `{taken}` is compiled in; a module replaces a compiled-in plugin only when the host allows it (WasmConfig::with_replace_compiled)"
                ),
            }));
        }
        let mut versions = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        let pending = match signature {
            Some(_) => Some(versions.prepare(name, &sha256, &plugin_versions(&loaded, name)?)?),
            None => None,
        };
        // One snapshot: the module's plugins, typed and not, replace those of its version
        // before (what that one held and this one does not goes), or nothing changes. The
        // host refuses a name another module or the application holds: a module takes over
        // only its own plugins.
        registry
            .registrations()
            .register_batch(name, registrations, typed_registrations, proof)?;
        if let Some(pending) = pending
            && let Err(error) = pending.commit(&mut versions)
        {
            // The module is registered; only the record of its version could not be kept.
            tracing::error!(module = name, error = %error.to_string().escape_debug(), "the signed version could not be recorded");
        }
        tracing::info!(module = name, sha256 = %sha256, plugins = ?names, "WebAssembly module loaded");
        modules.insert(name.to_owned(), LoadedEntry { sha256 });
        Ok(names)
    }

    /// What [`Sandbox::unload_wasm_module`] does.
    pub(crate) fn unload_wasm_module(
        &self,
        registry: &ModuleRegistry,
        name: &str,
    ) -> Result<Vec<String>, PluginError> {
        let mut modules = self.modules.lock().unwrap_or_else(PoisonError::into_inner);
        if !modules.contains_key(name) {
            return Err(PluginError::from(PluginErrorKind::WasmModule {
                module: name.to_owned(),
                reason: "no module of that name is loaded".to_owned(),
            }));
        }
        // What of the module's is still its own (a plugin removed or replaced by another hand
        // since is not).
        let withdrawn = registry.registrations().withdraw(name, None)?;
        // A directory pass reads the file again, whatever its stamp.
        self.stamps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
        modules.remove(name);
        Ok(withdrawn)
    }

    /// Whether module file `name` has `stamp` still (a file without one is read again).
    fn stamped(&self, name: &str, stamp: Option<&FileStamp>) -> bool {
        stamp.is_some()
            && self
                .stamps
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(name)
                == stamp
    }

    fn stamp(&self, name: &str, stamp: FileStamp) {
        self.stamps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), stamp);
    }

    /// Forgets the refusal of module file `name`, if any.
    fn forget_refusal(&self, name: &str) {
        self.refused_files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }

    /// What [`Sandbox::load_wasm_plugins`] does.
    pub(crate) fn load_wasm_plugins(
        &self,
        registry: &ModuleRegistry,
        dir: impl AsRef<Path>,
    ) -> Result<WasmLoadReport, PluginError> {
        let dir = dir.as_ref();
        let unlisted = |e: std::io::Error| {
            PluginError::from(PluginErrorKind::WasmModule {
                module: dir.display().to_string(),
                reason: format!("cannot list the plugin directory: {e}"),
            })
        };
        // An entry that cannot be read fails the pass, which then changes nothing: skipped,
        // its module would be taken for removed and unloaded.
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(unlisted)?
            .map(|entry| entry.map(|e| e.path()).map_err(unlisted))
            // Every `*.wasm` entry: one that is not a regular file (a FIFO, a device, a link to
            // one) is refused with that reason rather than skipped unseen.
            .filter(|p| {
                p.as_ref()
                    .map_or(true, |p| p.extension().is_some_and(|e| e == "wasm"))
            })
            .collect::<Result<_, _>>()?;
        files.sort();
        let limit = self.wasm_config().max_module_bytes();
        let mut report = WasmLoadReport {
            open_to_others: std::fs::metadata(dir)
                .ok()
                .as_ref()
                .and_then(others_may_write),
            ..WasmLoadReport::default()
        };
        let present: BTreeSet<String> = files.iter().map(|p| module_name(p)).collect();
        // Removals first, so a plugin that moved to another file loads in the same pass.
        let gone: Vec<String> = self
            .modules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .filter(|name| !present.contains(*name))
            .cloned()
            .collect();
        // What is kept of a file goes with it: a directory written with ever new names would
        // grow these without end.
        self.stamps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|name, _| present.contains(name));
        self.refused_files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|name, _| present.contains(name));
        let mut refused_removals = self
            .refused_removals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        refused_removals.retain(|name, _| !present.contains(name));
        let layers = registry.catalog().layers_revision();
        for name in gone {
            if refused_removals.get(&name) == Some(&layers) {
                report.unchanged.push(name);
                continue;
            }
            match self.unload_wasm_module(registry, &name) {
                Ok(_) => report.removed.push(name),
                Err(error) => {
                    refused_removals.insert(name.clone(), layers);
                    report.refused.push((name, error));
                }
            }
        }
        drop(refused_removals);
        for path in &files {
            self.pass_file(registry, path, limit, &mut report);
        }
        Ok(report)
    }

    /// A directory pass over the module file at `path` (read up to `limit` bytes): loaded,
    /// refused or left unchanged, as `report` then says.
    fn pass_file(
        &self,
        registry: &ModuleRegistry,
        path: &Path,
        limit: usize,
        report: &mut WasmLoadReport,
    ) {
        let name = module_name(path);
        let revisions = (
            registry.catalog().revision(),
            registry.catalog().layers_revision(),
        );
        // Not read again while its stamp (and its signature file's) stays the same, unless it
        // was refused for what the registry held then and that changed.
        let stamp = stamp_of(path);
        let lifted = self
            .refused_files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&name)
            .is_some_and(|refused| refused.lifted_by(revisions));
        if !lifted && self.stamped(&name, stamp.as_ref()) {
            report.unchanged.push(name);
            return;
        }
        let bytes = match modreg_host::files::read_regular(path, limit) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.refuse_unread(registry, path, &error, stamp, report);
                return;
            }
        };
        let digest = sha256_of(&bytes);
        let sha256 = hex::encode(digest);
        if let Some(stamp) = stamp {
            self.stamp(&name, stamp);
        }
        // A module loaded from these bytes stays, whatever its signature file became.
        // (One lock at a time: neither is held while the other is taken.)
        let loaded_same = self
            .modules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&name)
            .is_some_and(|e| e.sha256 == sha256);
        if loaded_same {
            // Loaded since it was refused (through `load_wasm_bytes`): the refusal is spent,
            // and a lifted one kept would have the file read again at every pass.
            self.forget_refusal(&name);
            report.unchanged.push(name);
            return;
        }
        let signature = match signature_beside(path) {
            Ok(signature) => signature,
            Err(error) => {
                // Refused for its signature file, which the stamp kept above covers: read
                // again once that file changes, not at every pass. Where no stamp could be
                // taken (the signature file's status cannot be read: a link that loops), the
                // file is read at every pass, and refused once while the module and the
                // error stay the same. (Either way the record replaces a lifted refusal of
                // the module, which would have it read at every pass.)
                let unread = RefusedFile::unread(sha256, error.to_string(), stamp);
                self.refuse_unread_once(registry, name, unread, error, report);
                return;
            }
        };
        let refused_same = self
            .refused_files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&name)
            .is_some_and(|refused| refused.stands(&sha256, signature.as_ref(), revisions));
        if refused_same {
            report.unchanged.push(name);
            return;
        }
        let outcome = self.load_hashed(registry, &name, &bytes, digest, signature.as_ref());
        let mut refused_files = self
            .refused_files
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(plugins) => {
                refused_files.remove(&name);
                report.loaded.insert(name, plugins);
            }
            Err(error) => {
                let refused = RefusedFile {
                    sha256,
                    signature,
                    unread: None,
                    retry: Retry::of(&error, revisions),
                };
                refused_files.insert(name.clone(), refused);
                report.refused.push((name, error));
            }
        }
    }

    /// A directory pass's refusal of the module file at `path`, which could not be read for
    /// `error`. What the file is (over the size limit, not a regular file) stands while its
    /// `stamp` does: it is not read again; configuring the sandbox again (a limit raised) reads
    /// it again. An error that may pass (a permission, a link to a file not there yet) is tried
    /// at every pass. Either is refused (logged, counted, told to the layers) once, not at
    /// every pass, until the error or the file changes or the file is read.
    fn refuse_unread(
        &self,
        registry: &ModuleRegistry,
        path: &Path,
        error: &std::io::Error,
        stamp: Option<FileStamp>,
        report: &mut WasmLoadReport,
    ) {
        let name = module_name(path);
        let lasting = matches!(
            error.kind(),
            std::io::ErrorKind::FileTooLarge | std::io::ErrorKind::InvalidInput
        );
        if let Some(stamp) = stamp.filter(|_| lasting) {
            self.stamp(&name, stamp);
        }
        let unread = RefusedFile::unread(String::new(), error.to_string(), stamp);
        self.refuse_unread_once(registry, name, unread, unreadable(path, error), report);
    }

    /// Keeps `unread`, a refusal of module file `name` for what could not be read, and
    /// refuses the file with `error`, unless the refusal it replaces was the same (the same
    /// module, cause and stamp, or the same cause in a file that had no stamp then, written
    /// too recently, and has one now: it settled): then the pass leaves it unchanged, refused
    /// without a word.
    fn refuse_unread_once(
        &self,
        registry: &ModuleRegistry,
        name: String,
        unread: RefusedFile,
        error: PluginError,
        report: &mut WasmLoadReport,
    ) {
        let again = {
            let mut files = self
                .refused_files
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let same = files.get(&name).is_some_and(|before| {
                before.sha256 == unread.sha256
                    && match (&before.unread, &unread.unread) {
                        (Some((was, None)), Some((cause, Some(_)))) => was == cause,
                        (was, now) => was == now,
                    }
            });
            files.insert(name.clone(), unread);
            same
        };
        if again {
            report.unchanged.push(name);
            return;
        }
        let error = self.refuse(registry, &name, error);
        report.refused.push((name, error));
    }
}

impl fmt::Debug for Wasm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let modules = self.modules.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Wasm")
            .field("modules", &modules.keys().collect::<Vec<_>>())
            .field("refused", &self.refused.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Wasm {
    /// No module loaded; the default configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// This sandbox's calls on `registry`, where its modules' plugins are registered.
    pub fn on<'r>(&'r self, registry: &'r ModuleRegistry) -> Sandbox<'r> {
        Sandbox {
            wasm: self,
            registry,
        }
    }
}

/// A registry's WebAssembly sandbox: loading, unloading and configuring modules
/// ([`Wasm::on`]; `registry.wasm()` on the facade's registry).
#[derive(Clone, Copy, Debug)]
pub struct Sandbox<'r> {
    wasm: &'r Wasm,
    registry: &'r ModuleRegistry,
}
impl Sandbox<'_> {
    /// Loads a module from `bytes` under `name` and registers its plugins; the names
    /// registered.
    ///
    /// With authentication on, `signature` must be a trusted key's signature of the module's
    /// SHA-256, or the module is refused by the security layer (its `SecurityError::Unsigned`,
    /// `UntrustedKey`, `BadSignature`). The module's plugins then
    /// pass every check a runtime registration does (secure loading, permissions at creation).
    pub fn load_wasm_bytes(
        &self,
        name: &str,
        bytes: &[u8],
        signature: Option<&WasmSignature>,
    ) -> Result<Vec<String>, PluginError> {
        self.wasm
            .load_wasm_bytes(self.registry, name, bytes, signature)
    }

    /// Loads the module at `path` (and its signature `PATH.sig`, if there is one) and
    /// registers its plugins; the names registered.
    ///
    /// Loading it again replaces its plugins: instances already made finish their calls on
    /// the old code, new ones get the new.
    pub fn load_wasm_plugin(&self, path: impl AsRef<Path>) -> Result<Vec<String>, PluginError> {
        self.wasm.load_wasm_plugin(self.registry, path)
    }

    /// Reads the module at `path` (and its signature `PATH.sig`, if there is one) as
    /// [`load_wasm_plugin`](Self::load_wasm_plugin) does and asks the registry's layers
    /// whether it may run at all (with authentication on: signed by a trusted key), without
    /// loading it; its name and bytes. What a tool that runs a module outside the registry calls
    /// first (`modreg conformance`, whose kit loads the module into registries of its own).
    pub fn admit_wasm_file(&self, path: impl AsRef<Path>) -> Result<AdmittedModule, PluginError> {
        self.wasm.admit_wasm_file(self.registry, path.as_ref())
    }

    /// Brings the registry in line with the `*.wasm` files of `dir`: new and changed modules
    /// are loaded, modules whose file is gone are removed, unchanged ones are left alone. A
    /// module that fails to load is reported and, if an earlier version is loaded, that version
    /// keeps serving. This is one pass of hot reload; see [`watch_wasm_plugins`].
    ///
    /// [`watch_wasm_plugins`]: crate::WasmWatcher::start
    pub fn load_wasm_plugins(&self, dir: impl AsRef<Path>) -> Result<WasmLoadReport, PluginError> {
        self.wasm.load_wasm_plugins(self.registry, dir)
    }

    /// Removes the plugins module `name` registered and still holds (one removed or replaced
    /// by another hand since is not its own), and answers their names.
    pub fn unload_wasm_module(&self, name: &str) -> Result<Vec<String>, PluginError> {
        self.wasm.unload_wasm_module(self.registry, name)
    }

    /// Sets the sandbox's limits and grants for modules loaded from now on.
    ///
    /// Refused (`Invalid`), with nothing changed: a zero time budget (no call could run), and
    /// a compiled-module cache with an engine that compiles nothing
    /// (`WasmConfig::with_jit_cache_dir`, feature `jit`, with an interpreter: the cache would
    /// be unused).
    pub fn configure_wasm(&self, config: WasmConfig) -> Result<(), PluginError> {
        self.wasm.configure_wasm(config)
    }

    /// The sandbox's limits and grants.
    pub fn wasm_config(&self) -> WasmConfig {
        self.wasm.wasm_config()
    }

    /// How many modules this registry refused to load.
    pub fn wasm_modules_refused(&self) -> u64 {
        self.wasm.wasm_modules_refused()
    }

    /// The bytes of linear memory idle instances keep for their next call, across every
    /// module (at most [`WasmConfig::max_idle_memory`]).
    pub fn idle_memory_bytes(&self) -> usize {
        self.wasm.idle_memory_bytes()
    }

    /// Bytes of linear memory every instance of every module holds now (running, idle or kept
    /// by a plugin instance), at most [`WasmConfig::max_total_memory`].
    pub fn memory_bytes(&self) -> usize {
        self.wasm.memory_bytes()
    }
}
