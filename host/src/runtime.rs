//! Registrations made while the program runs: `PluginConfig`, `AdvancedPluginConfig`.
//!
//! A runtime entry is found by the same queries as a compiled-in plugin. It takes its
//! implementation from, in order: the constructor given with
//! [`with_constructor`](PluginConfig::with_constructor); the compiled-in plugin of the same
//! name (whose type and version it must then agree with); nothing, in which case creating
//! it is [`PluginErrorKind::NoImplementation`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::advanced::AdvancedPlugin;
use crate::pipeline::permit::Permit;
use modreg_core::Plugin;
use modreg_core::PluginDescriptor;
use modreg_core::PluginSettings;
use modreg_core::PluginType;
use modreg_core::validate::{check_identifier, check_unique, parse_dependency, parse_version};
use modreg_core::{PluginError, PluginErrorKind};

/// A constructor given at registration time.
pub type DynConstructor =
    Arc<dyn Fn(&PluginSettings) -> Result<Box<dyn Plugin>, PluginError> + Send + Sync>;

/// A constructor of an advanced plugin given at registration time.
pub type DynAdvancedConstructor =
    Arc<dyn Fn(&PluginSettings) -> Result<Box<dyn AdvancedPlugin>, PluginError> + Send + Sync>;

/// The most bytes a metadata key or value may have.
pub const MAX_METADATA_LEN: usize = 4096;

/// The fields a registration carries, before validation.
#[derive(Clone, Default)]
pub(crate) struct Fields {
    pub(crate) name: Option<String>,
    version: Option<String>,
    plugin_type: Option<PluginType>,
    capabilities: Vec<String>,
    depends_on: Vec<String>,
    permissions: Vec<String>,
    metadata: BTreeMap<String, String>,
    constructor: Option<DynConstructor>,
    advanced: Option<DynAdvancedConstructor>,
}

/// Writes the builder methods both configs share, forwarding to `Fields`.
macro_rules! registration_builder {
    ($ty:ident) => {
        impl $ty {
            /// An empty registration; `with_name`, `with_version` and `with_type` are required.
            pub fn new() -> Self {
                Self::default()
            }

            /// Sets the unique name (`[a-z0-9][a-z0-9._-]*`).
            pub fn with_name(mut self, name: impl Into<String>) -> Self {
                self.fields.name = Some(name.into());
                self
            }

            /// Sets the semantic version.
            pub fn with_version(mut self, version: impl Into<String>) -> Self {
                self.fields.version = Some(version.into());
                self
            }

            /// Sets the type.
            pub fn with_type(mut self, plugin_type: PluginType) -> Self {
                self.fields.plugin_type = Some(plugin_type);
                self
            }

            /// Adds a capability.
            pub fn add_capability(mut self, capability: impl Into<String>) -> Self {
                self.fields.capabilities.push(capability.into());
                self
            }

            /// Adds a permission the plugin needs.
            pub fn add_permission(mut self, permission: impl Into<String>) -> Self {
                self.fields.permissions.push(permission.into());
                self
            }

            /// Sets a metadata entry; `description` is what discovery shows and searches.
            pub fn with_metadata(
                mut self,
                key: impl Into<String>,
                value: impl Into<String>,
            ) -> Self {
                self.fields.metadata.insert(key.into(), value.into());
                self
            }

            /// Gives the implementation as a closure.
            pub fn with_constructor<F>(mut self, constructor: F) -> Self
            where
                F: Fn(&PluginSettings) -> Result<Box<dyn Plugin>, PluginError>
                    + Send
                    + Sync
                    + 'static,
            {
                self.fields.constructor = Some(Arc::new(constructor));
                self
            }

            /// Gives the implementation as a closure making an [`AdvancedPlugin`], so that
            /// `create_advanced_plugin` can hand it its context and configuration.
            pub fn with_advanced_constructor<F>(mut self, constructor: F) -> Self
            where
                F: Fn(&PluginSettings) -> Result<Box<dyn AdvancedPlugin>, PluginError>
                    + Send
                    + Sync
                    + 'static,
            {
                self.fields.advanced = Some(Arc::new(constructor));
                self
            }

            /// The name given with `with_name`, if any.
            pub fn name(&self) -> Option<&str> {
                self.fields.name.as_deref()
            }

            pub(crate) fn into_fields(self) -> Fields {
                self.fields
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.fields.fmt_named(stringify!($ty), f)
            }
        }
    };
}

/// A plugin registration made at run time.
///
/// ```
/// use modreg_core::PluginType;
/// use modreg_host::{ModuleRegistry, PluginConfig};
///
/// let registry = ModuleRegistry::new();
/// registry.registrations().register_plugin(
///     PluginConfig::new()
///         .with_name("csv-reader")
///         .with_version("1.0.0")
///         .with_type(PluginType::Storage)
///         .add_capability("csv"),
/// )?;
/// assert_eq!(registry.plugin("csv-reader").unwrap().version(), "1.0.0");
/// # Ok::<(), modreg_core::PluginError>(())
/// ```
#[derive(Clone, Default)]
pub struct PluginConfig {
    fields: Fields,
}
registration_builder!(PluginConfig);

/// A runtime registration with dependencies and metadata.
///
/// A dependency that is not registered yet does not make registration fail; creating or
/// initializing the plugin does, naming both plugins.
#[derive(Clone, Default)]
pub struct AdvancedPluginConfig {
    fields: Fields,
}
registration_builder!(AdvancedPluginConfig);

impl AdvancedPluginConfig {
    /// Adds a dependency: `name` or `name <semver requirement>`, as `"base-plugin >= 1.0"`.
    pub fn add_dependency(mut self, dependency: impl Into<String>) -> Self {
        self.fields.depends_on.push(dependency.into());
        self
    }
}

/// Either kind of registration, for [`crate::Registrations::replace_plugin`](crate::Registrations::replace_plugin).
#[derive(Debug)]
pub struct Registration(pub(crate) Fields);

impl From<PluginConfig> for Registration {
    fn from(config: PluginConfig) -> Self {
        Registration(config.fields)
    }
}

impl From<AdvancedPluginConfig> for Registration {
    fn from(config: AdvancedPluginConfig) -> Self {
        Registration(config.fields)
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_named("Registration", f)
    }
}

impl Fields {
    /// The type given, if any.
    pub(crate) fn plugin_type(&self) -> Option<PluginType> {
        self.plugin_type
    }

    fn fmt_named(&self, ty: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(ty)
            .field("name", &self.name)
            .field("version", &self.version)
            .field("plugin_type", &self.plugin_type)
            .field("capabilities", &self.capabilities)
            .field("depends_on", &self.depends_on)
            .field("permissions", &self.permissions)
            .field("metadata", &self.metadata)
            .field(
                "constructor",
                &self.constructor.as_ref().map(|_| "<closure>"),
            )
            .finish()
    }
}

/// A validated runtime registration.
pub(crate) struct RuntimeEntry {
    /// The real plugin this one is a mock of (the `mock_of` metadata).
    pub(crate) mock_of: Option<String>,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) plugin_type: PluginType,
    pub(crate) capabilities: Vec<String>,
    pub(crate) depends_on: Vec<String>,
    pub(crate) permissions: Vec<String>,
    pub(crate) metadata: BTreeMap<String, String>,
    constructor: Option<DynConstructor>,
    advanced: Option<DynAdvancedConstructor>,
    /// The compiled-in plugin of the same name, which provides the implementation.
    pub(crate) compiled: Option<&'static PluginDescriptor>,
    /// The source that registered it (a WebAssembly module), `None` for the application: a
    /// source replaces and withdraws only its own entries (`registration.rs`).
    pub(crate) source: Option<Arc<str>>,
}

impl RuntimeEntry {
    /// Checks every field; `compiled` is the compiled-in plugin of the same name, if any.
    pub(crate) fn validate(
        fields: Fields,
        compiled: impl FnOnce(&str) -> Option<&'static PluginDescriptor>,
    ) -> Result<Self, PluginError> {
        let name = fields.name.ok_or_else(|| {
            PluginError::invalid("plugin name", "", "is required: call `with_name`")
        })?;
        check_identifier("plugin name", &name)?;
        let version = fields.version.ok_or_else(|| {
            PluginError::invalid(
                "plugin version",
                "",
                format!("plugin `{name}` needs `with_version`"),
            )
        })?;
        parse_version(&name, &version)?;
        let plugin_type = fields.plugin_type.ok_or_else(|| {
            PluginError::invalid(
                "plugin type",
                "",
                format!("plugin `{name}` needs `with_type`"),
            )
        })?;
        check_unique("capability", &fields.capabilities)?;
        check_unique("permission", &fields.permissions)?;
        for dependency in &fields.depends_on {
            parse_dependency(&name, dependency)?;
        }
        for (key, value) in &fields.metadata {
            check_identifier("metadata key", key)?;
            if key.len() > MAX_METADATA_LEN || value.len() > MAX_METADATA_LEN {
                return Err(PluginError::invalid(
                    "metadata value",
                    key.clone(),
                    format!("keys and values are limited to {MAX_METADATA_LEN} bytes"),
                ));
            }
        }
        let compiled = compiled(&name);
        if let Some(d) = compiled
            && (d.plugin_type() != plugin_type || d.version() != version)
        {
            return Err(PluginError::from(PluginErrorKind::AlreadyRegistered {
                name,
                existing: format!(
                    "compiled in as {} {} at {}; a registration of that name must agree on type and version",
                    d.plugin_type(),
                    d.version(),
                    d.location()
                ),
            }));
        }
        let mock_of = fields.metadata.get("mock_of").cloned();
        if let Some(real) = &mock_of {
            check_identifier("mock_of", real)?;
        }
        // Permissions and dependencies belong to the code that runs: an entry that binds to
        // the compiled-in implementation carries that implementation's as well as its own.
        let (mut permissions, mut depends_on) = (fields.permissions, fields.depends_on);
        if let Some(d) = compiled
            && fields.constructor.is_none()
            && fields.advanced.is_none()
        {
            for p in d.permissions() {
                if !permissions.iter().any(|own| own == p) {
                    permissions.push((*p).to_owned());
                }
            }
            depends_on.extend(d.depends_on().iter().map(|s| (*s).to_owned()));
        }
        Ok(RuntimeEntry {
            mock_of,
            name,
            version,
            plugin_type,
            capabilities: fields.capabilities,
            depends_on,
            permissions,
            metadata: fields.metadata,
            constructor: fields.constructor,
            advanced: fields.advanced,
            compiled,
            source: None,
        })
    }

    /// The compiled-in code this entry runs when it has no closure of its own (a binding to
    /// compiled code): what the pipeline checked before construction.
    pub(crate) fn bound_code(&self) -> Option<&'static PluginDescriptor> {
        self.compiled
            .filter(|_| self.constructor.is_none() && self.advanced.is_none())
    }

    /// The advanced constructor, when it is what builds this entry (no plain constructor).
    pub(crate) fn instantiate_advanced(
        &self,
        settings: &PluginSettings,
        _: Permit,
    ) -> Option<Result<Box<dyn AdvancedPlugin>, PluginError>> {
        match (&self.constructor, &self.advanced) {
            (None, Some(make)) => Some(make(settings)),
            _ => None,
        }
    }

    /// Builds the entry: its closure, else its advanced closure, else the compiled-in code it
    /// binds to. For the pipeline (`permit`), nobody else.
    #[expect(
        clippy::disallowed_methods,
        reason = "called by the pipeline's step 4 only"
    )]
    pub(crate) fn instantiate(
        &self,
        settings: &PluginSettings,
        _: Permit,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        if let Some(constructor) = &self.constructor {
            constructor(settings)
        } else if let Some(advanced) = &self.advanced {
            advanced(settings).map(|plugin| -> Box<dyn Plugin> { plugin })
        } else if let Some(d) = self.compiled {
            d.instantiate(settings)
        } else {
            Err(PluginError::from(PluginErrorKind::NoImplementation {
                name: self.name.clone(),
            }))
        }
    }
}
