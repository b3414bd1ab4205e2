//! `Target`: the registry entry a creation request resolves to, compiled in or registered at
//! run time.

use std::sync::Arc;

use crate::error::PluginError;
use crate::info::PluginInfo;
use crate::layer::Code;
use crate::plugin::Plugin;
use crate::plugin::PluginDescriptor;
use crate::plugin_type::PluginType;
use crate::runtime::RuntimeEntry;
use crate::settings::PluginSettings;

/// The registry entry a request resolves to.
#[derive(Clone)]
pub(crate) enum Target {
    Compiled(&'static PluginDescriptor),
    Runtime(Arc<RuntimeEntry>),
}

impl Target {
    pub(crate) fn name(&self) -> &str {
        match self {
            Target::Compiled(d) => d.name(),
            Target::Runtime(e) => &e.name,
        }
    }

    pub(crate) fn version(&self) -> &str {
        match self {
            Target::Compiled(d) => d.version(),
            Target::Runtime(e) => &e.version,
        }
    }

    pub(crate) fn plugin_type(&self) -> PluginType {
        match self {
            Target::Compiled(d) => d.plugin_type(),
            Target::Runtime(e) => e.plugin_type,
        }
    }

    pub(crate) fn depends_on(&self) -> Vec<&str> {
        match self {
            Target::Compiled(d) => d.depends_on().to_vec(),
            Target::Runtime(e) => e.depends_on.iter().map(String::as_str).collect(),
        }
    }

    pub(crate) fn permissions(&self) -> Vec<&str> {
        match self {
            Target::Compiled(d) => d.permissions().to_vec(),
            Target::Runtime(e) => e.permissions.iter().map(String::as_str).collect(),
        }
    }

    /// The code this entry runs, as the layers see it.
    pub(crate) fn code(&self) -> Code<'_> {
        Code {
            name: self.name(),
            permissions: self.permissions(),
        }
    }

    pub(crate) fn into_info(self) -> PluginInfo {
        match self {
            Target::Compiled(d) => PluginInfo::compiled(d),
            Target::Runtime(e) => PluginInfo::runtime(e),
        }
    }

    pub(crate) fn instantiate(
        &self,
        settings: &PluginSettings,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        match self {
            Target::Compiled(d) => d.instantiate(settings),
            Target::Runtime(e) => e.instantiate(settings),
        }
    }
}
