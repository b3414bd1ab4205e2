//! Per-plugin settings: the table handed to a plugin's `config` type.

use serde::de::DeserializeOwned;

use crate::PluginError;

/// The settings of one plugin, as read from its section of a configuration file.
///
/// A `#[plugin(config = C)]` plugin is constructed from `C`, deserialized from these settings.
/// When nothing is configured the table is empty, so a `C` whose fields all have defaults
/// still works.
///
/// ```
/// use module_registry_core::PluginSettings;
///
/// #[derive(Debug, serde::Deserialize)]
/// struct Level { level: u32 }
///
/// let settings = PluginSettings::from_toml("level = 9").unwrap();
/// assert_eq!(settings.deserialize::<Level>("gzip-compress").unwrap().level, 9);
/// let empty = PluginSettings::new();
/// let err = empty.deserialize::<Level>("gzip-compress").unwrap_err();
/// assert!(err.to_string().contains("missing field `level`"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PluginSettings {
    table: toml::Table,
}

impl PluginSettings {
    /// No settings.
    pub fn new() -> Self {
        PluginSettings {
            table: toml::Table::new(),
        }
    }

    /// Settings from a TOML table.
    pub fn from_table(table: toml::Table) -> Self {
        PluginSettings { table }
    }

    /// Settings from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, PluginError> {
        text.parse::<toml::Table>()
            .map(Self::from_table)
            .map_err(|e| PluginError::Configuration {
                plugin: String::new(),
                reason: crate::config_file::describe_toml_error(text, &e),
            })
    }

    /// The underlying table.
    pub fn table(&self) -> &toml::Table {
        &self.table
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Reads the settings into `C` for `plugin`; the error names the plugin and the key.
    pub fn deserialize<C: DeserializeOwned>(&self, plugin: &str) -> Result<C, PluginError> {
        toml::Value::Table(self.table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| PluginError::Configuration {
                plugin: plugin.to_owned(),
                reason: e.message().to_owned(),
            })
    }
}

/// The empty settings every unconfigured plugin receives.
pub(crate) static EMPTY: std::sync::LazyLock<PluginSettings> =
    std::sync::LazyLock::new(PluginSettings::new);
