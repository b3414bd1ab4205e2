//! Plugins of users' own `#[sandboxed]` traits that a source (the WebAssembly sandbox)
//! registers at run time: [`SandboxedRegistration`] (`registration.rs` checks and adds them:
//! the trait is one of a registry the host was given, with the same fingerprint).
//!
//! [`Instances::create_from`](crate::Instances::create_from) finds them beside the
//! registry's compiled-in plugins (a sandboxed entry shadows a compiled-in plugin of its name,
//! as any runtime entry does) and returns the trait's proxy, so a caller holds a `Box<dyn
//! Trait>` either way.

use std::sync::Arc;

use modreg_core::{Plugin, PluginError, PluginErrorKind};

/// Makes a new instance: a `Plugin` whose `process` takes a typed call, framed
/// (`modreg_core::typed_sandbox::framed`: the method's number, then the encoded arguments).
pub type SandboxedMaker = dyn Fn() -> Result<Box<dyn Plugin>, PluginError> + Send + Sync;

/// One plugin of a `#[sandboxed]` trait, as a source registers it.
#[derive(Clone)]
pub struct SandboxedRegistration {
    pub(crate) name: String,
    version: String,
    description: String,
    capabilities: Vec<String>,
    permissions: Vec<String>,
    pub(crate) trait_name: String,
    fingerprint: String,
    pub(crate) shadows: bool,
    make: Arc<SandboxedMaker>,
    /// The source that registered it (set by `Registrations::register_batch`).
    pub(crate) source: Option<Arc<str>>,
}

impl SandboxedRegistration {
    /// The plugin `name` of the trait `trait_name` whose fingerprint (as the plugin was built
    /// against it) is `fingerprint`; `make` makes each instance, a `Plugin` whose `process`
    /// takes a framed typed call (see [`SandboxedMaker`]). The host wraps that plugin as it
    /// wraps any other (metrics, logging, the in-process sandbox), then the trait's proxy.
    pub fn new(
        name: impl Into<String>,
        trait_name: impl Into<String>,
        fingerprint: impl Into<String>,
        make: impl Fn() -> Result<Box<dyn Plugin>, PluginError> + Send + Sync + 'static,
    ) -> Self {
        SandboxedRegistration {
            name: name.into(),
            version: "0.0.0".to_owned(),
            description: String::new(),
            capabilities: Vec::new(),
            permissions: Vec::new(),
            trait_name: trait_name.into(),
            fingerprint: fingerprint.into(),
            shadows: false,
            make: Arc::new(make),
            source: None,
        }
    }

    /// Its version.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Its description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Its capabilities.
    pub fn with_capabilities(mut self, capabilities: Vec<String>) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// The permissions it declares: the layers check them at each creation.
    pub fn with_permissions(mut self, permissions: Vec<String>) -> Self {
        self.permissions = permissions;
        self
    }

    /// Whether it may take the name of a compiled-in plugin of its registry, shadowing it
    /// (the layers may still refuse: secure loading does). Off by default: such a
    /// registration is refused.
    pub fn with_shadowing(mut self, allowed: bool) -> Self {
        self.shadows = allowed;
        self
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Its description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Its capabilities.
    pub fn capabilities(&self) -> &[String] {
        &self.capabilities
    }

    /// The permissions it declares.
    pub fn permissions(&self) -> &[String] {
        &self.permissions
    }

    /// The trait it implements.
    pub fn trait_name(&self) -> &str {
        &self.trait_name
    }

    /// The trait's fingerprint as the plugin was built against it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// A new instance.
    pub(crate) fn make(&self) -> Result<Box<dyn Plugin>, PluginError> {
        (self.make)()
    }

    /// Fails unless `fingerprint` (the host's trait's) is the one the plugin was built
    /// against.
    pub(crate) fn check_fingerprint(&self, fingerprint: &str) -> Result<(), PluginError> {
        if self.fingerprint == fingerprint {
            return Ok(());
        }
        Err(PluginError::from(PluginErrorKind::TraitMismatch {
            plugin: self.name.clone(),
            trait_name: self.trait_name.clone(),
            expected: fingerprint.to_owned(),
            found: self.fingerprint.clone(),
        }))
    }
}

impl std::fmt::Debug for SandboxedRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxedRegistration")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("trait_name", &self.trait_name)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}
