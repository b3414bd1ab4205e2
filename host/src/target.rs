//! `Target`: the registry entry a creation request resolves to, compiled in or registered at
//! run time.

use std::sync::Arc;

use crate::info::PluginInfo;
use crate::pipeline::permit::Permit;
use crate::runtime::RuntimeEntry;
use modreg_core::Plugin;
use modreg_core::PluginDescriptor;
use modreg_core::PluginError;
use modreg_core::PluginSettings;
use modreg_core::PluginType;

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

    pub(crate) fn into_info(self) -> PluginInfo {
        match self {
            Target::Compiled(d) => PluginInfo::compiled(d),
            Target::Runtime(e) => PluginInfo::runtime(e),
        }
    }

    /// Builds the entry with its own constructor: for the pipeline (`permit`), nobody else.
    #[expect(
        clippy::disallowed_methods,
        reason = "called by the pipeline's step 4 only"
    )]
    pub(crate) fn instantiate(
        &self,
        settings: &PluginSettings,
        permit: Permit,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        match self {
            Target::Compiled(d) => d.instantiate(settings),
            Target::Runtime(e) => e.instantiate(settings, permit),
        }
    }
}
