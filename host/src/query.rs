//! Discovery queries: by type and name, and by capabilities.

use modreg_core::PluginType;
use modreg_core::validate::check_identifier;
use modreg_core::{PluginError, PluginErrorKind};

/// Finds plugins by type, name prefix and name substring; every filter given must match.
///
/// ```
/// use modreg_core::PluginType;
/// use modreg_host::PluginDiscoveryQuery;
/// let query = PluginDiscoveryQuery::new()
///     .with_type_filter(PluginType::Compression)
///     .with_name_prefix("gzip");
/// # let _ = query;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PluginDiscoveryQuery {
    pub(crate) plugin_type: Option<PluginType>,
    pub(crate) name_prefix: Option<String>,
    pub(crate) name_contains: Option<String>,
}

impl PluginDiscoveryQuery {
    /// A query that matches every plugin.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only plugins of this type.
    pub fn with_type_filter(mut self, plugin_type: PluginType) -> Self {
        self.plugin_type = Some(plugin_type);
        self
    }

    /// Only plugins whose name contains `text`.
    pub fn with_name_filter(mut self, text: impl Into<String>) -> Self {
        self.name_contains = Some(text.into());
        self
    }

    /// Only plugins whose name starts with `prefix` (answered from the sorted index).
    pub fn with_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.name_prefix = Some(prefix.into());
        self
    }

    pub(crate) fn validate(&self) -> Result<(), PluginError> {
        for (what, text) in [
            ("name filter", &self.name_contains),
            ("name prefix", &self.name_prefix),
        ] {
            if text.as_deref() == Some("") {
                return Err(PluginError::from(PluginErrorKind::InvalidQuery {
                    reason: format!("the {what} is empty; leave it out to match every name"),
                }));
            }
        }
        Ok(())
    }

    pub(crate) fn matches_name(&self, name: &str) -> bool {
        self.name_prefix
            .as_deref()
            .is_none_or(|p| name.starts_with(p))
            && self
                .name_contains
                .as_deref()
                .is_none_or(|c| name.contains(c))
    }
}

/// Finds plugins that have every required capability, best first by how many optional ones
/// they also have.
///
/// ```
/// use modreg_host::PluginCapabilityQuery;
/// let query = PluginCapabilityQuery::new()
///     .with_required_capabilities(vec!["encryption"])
///     .with_optional_capabilities(vec!["monitoring"]);
/// # let _ = query;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PluginCapabilityQuery {
    pub(crate) required: Vec<String>,
    pub(crate) optional: Vec<String>,
    pub(crate) plugin_type: Option<PluginType>,
}

impl PluginCapabilityQuery {
    /// A query with no capabilities: it matches every plugin.
    pub fn new() -> Self {
        Self::default()
    }

    /// Capabilities a plugin must all have.
    pub fn with_required_capabilities<I>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.required
            .extend(capabilities.into_iter().map(Into::into));
        self
    }

    /// Capabilities that rank a plugin higher when it has them.
    pub fn with_optional_capabilities<I>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.optional
            .extend(capabilities.into_iter().map(Into::into));
        self
    }

    /// Only plugins of this type.
    pub fn with_type_filter(mut self, plugin_type: PluginType) -> Self {
        self.plugin_type = Some(plugin_type);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), PluginError> {
        for (list, kind) in [(&self.required, "required"), (&self.optional, "optional")] {
            for cap in list {
                check_identifier("capability", cap).map_err(|e| {
                    PluginError::from(PluginErrorKind::InvalidQuery {
                        reason: format!("{kind} capability: {e}"),
                    })
                })?;
            }
        }
        Ok(())
    }
}
