//! What discovery returns: a cheap view of one registered plugin.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::runtime::RuntimeEntry;
use modreg_core::PluginDescriptor;
use modreg_core::PluginType;
use modreg_core::SettingInfo;
use modreg_core::SourceLocation;

/// One plugin as the registry sees it, compiled in or registered at run time.
///
/// Cloning is a pointer copy (or a reference-count increment for runtime entries).
#[derive(Clone)]
pub struct PluginInfo {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Compiled(&'static PluginDescriptor),
    Runtime(Arc<RuntimeEntry>),
}

/// Where a registered plugin came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginOrigin {
    /// A `#[plugin]` in the binary.
    Compiled(SourceLocation),
    /// A call to one of the `register_*` methods.
    Runtime,
}

impl fmt::Display for PluginOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginOrigin::Compiled(location) => write!(f, "compiled in: {location}"),
            PluginOrigin::Runtime => f.write_str("registered at run time"),
        }
    }
}

impl PluginInfo {
    pub(crate) fn compiled(descriptor: &'static PluginDescriptor) -> Self {
        PluginInfo {
            repr: Repr::Compiled(descriptor),
        }
    }

    pub(crate) fn runtime(entry: Arc<RuntimeEntry>) -> Self {
        PluginInfo {
            repr: Repr::Runtime(entry),
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        match &self.repr {
            Repr::Compiled(d) => d.name(),
            Repr::Runtime(e) => &e.name,
        }
    }

    /// The version.
    pub fn version(&self) -> &str {
        match &self.repr {
            Repr::Compiled(d) => d.version(),
            Repr::Runtime(e) => &e.version,
        }
    }

    /// The type.
    pub fn plugin_type(&self) -> PluginType {
        match &self.repr {
            Repr::Compiled(d) => d.plugin_type(),
            Repr::Runtime(e) => e.plugin_type,
        }
    }

    /// The capabilities, in declaration order.
    pub fn capabilities(&self) -> Vec<&str> {
        match &self.repr {
            Repr::Compiled(d) => d.capabilities().to_vec(),
            Repr::Runtime(e) => e.capabilities.iter().map(String::as_str).collect(),
        }
    }

    /// Whether it has capability `cap`.
    pub fn has_capability(&self, cap: &str) -> bool {
        match &self.repr {
            Repr::Compiled(d) => d.capabilities().contains(&cap),
            Repr::Runtime(e) => e.capabilities.iter().any(|c| c == cap),
        }
    }

    /// The description: the attribute's `description`, or the `description` metadata.
    pub fn description(&self) -> &str {
        match &self.repr {
            Repr::Compiled(d) => d.description(),
            Repr::Runtime(e) => e.metadata.get("description").map_or("", String::as_str),
        }
    }

    /// The metadata of a runtime registration (compiled-in plugins have only `description`).
    pub fn metadata(&self) -> BTreeMap<&str, &str> {
        match &self.repr {
            Repr::Compiled(d) if d.description().is_empty() => BTreeMap::new(),
            Repr::Compiled(d) => BTreeMap::from([("description", d.description())]),
            Repr::Runtime(e) => e
                .metadata
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
        }
    }

    /// The dependencies, each `name` or `name <requirement>`.
    pub fn depends_on(&self) -> Vec<&str> {
        match &self.repr {
            Repr::Compiled(d) => d.depends_on().to_vec(),
            Repr::Runtime(e) => e.depends_on.iter().map(String::as_str).collect(),
        }
    }

    /// The permissions it needs.
    pub fn permissions(&self) -> Vec<&str> {
        match &self.repr {
            Repr::Compiled(d) => d.permissions().to_vec(),
            Repr::Runtime(e) => e.permissions.iter().map(String::as_str).collect(),
        }
    }

    /// The settings it accepts, from its config type (with defaults where the type can show
    /// them); `None` when it takes no configuration or is a runtime registration without
    /// compiled-in code.
    pub fn settings(&self) -> Option<Vec<SettingInfo>> {
        match &self.repr {
            Repr::Compiled(d) => d.settings_schema(),
            Repr::Runtime(e) => e.compiled.and_then(PluginDescriptor::settings_schema),
        }
    }

    /// Where it came from.
    pub fn origin(&self) -> PluginOrigin {
        match &self.repr {
            Repr::Compiled(d) => PluginOrigin::Compiled(d.location()),
            Repr::Runtime(_) => PluginOrigin::Runtime,
        }
    }

    /// Whether this is a compiled-in entry (not a runtime registration).
    pub(crate) fn is_compiled(&self) -> bool {
        matches!(self.repr, Repr::Compiled(_))
    }

    /// The compiled-in descriptor behind it, if any.
    pub fn descriptor(&self) -> Option<&'static PluginDescriptor> {
        match &self.repr {
            Repr::Compiled(d) => Some(d),
            Repr::Runtime(e) => e.compiled,
        }
    }
}

impl fmt::Debug for PluginInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginInfo")
            .field("name", &self.name())
            .field("version", &self.version())
            .field("plugin_type", &self.plugin_type())
            .field("capabilities", &self.capabilities())
            .field("origin", &self.origin())
            .finish()
    }
}

/// One plugin of a registry of a user's trait, as the host sees it: compiled in, or
/// registered by a source (a `#[sandboxed]` trait's plugin loaded into the sandbox).
/// [`Catalog::typed_plugins`](crate::Catalog::typed_plugins) lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypedPluginInfo {
    /// The name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The description.
    pub description: String,
    /// The capabilities.
    pub capabilities: Vec<String>,
    /// Whether a source registered it (it runs in the sandbox) rather than the binary.
    pub sandboxed: bool,
    /// The source that registered it (the WebAssembly module's name); `None` for a plugin
    /// of the binary.
    pub source: Option<String>,
}

impl TypedPluginInfo {
    /// Whether it has every capability of `required`.
    pub fn has_capabilities(&self, required: &[&str]) -> bool {
        required
            .iter()
            .all(|c| self.capabilities.iter().any(|own| own == c))
    }
}
