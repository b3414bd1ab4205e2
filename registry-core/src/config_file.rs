//! Configuration files: per-plugin settings in TOML.
//!
//! ```toml
//! [plugins.gzip-compress]
//! level = 9
//!
//! [plugins.chacha20poly1305-encrypt]
//! key = "000102…1f"
//! ```
//!
//! Each `[plugins.NAME]` table becomes the [`PluginSettings`] that plugin `NAME` is built
//! with. A file is read completely and checked before anything is applied, so a bad file
//! leaves the registry as it was.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::validate::check_identifier;
use crate::{ModuleRegistry, PluginError, PluginSettings};

/// A parsed configuration file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigFile {
    /// Settings by plugin name.
    pub plugins: BTreeMap<String, PluginSettings>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    plugins: BTreeMap<String, toml::Table>,
}

impl ConfigFile {
    /// Parses TOML `text`; `origin` names the file in errors.
    pub fn parse(origin: &str, text: &str) -> Result<Self, PluginError> {
        let file_error = |reason: String| PluginError::ConfigurationFile {
            path: origin.to_owned(),
            reason,
        };
        let raw: Raw = toml::from_str(text).map_err(|e| file_error(e.to_string().trim_end().to_owned()))?;
        let mut plugins = BTreeMap::new();
        for (name, table) in raw.plugins {
            check_identifier("plugin name", &name)
                .map_err(|e| file_error(format!("section `[plugins.{name}]`: {e}")))?;
            plugins.insert(name, PluginSettings::from_table(table));
        }
        Ok(ConfigFile { plugins })
    }

    /// Reads and parses the file at `path`.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, PluginError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| PluginError::ConfigurationFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&path.display().to_string(), &text)
    }
}

impl ModuleRegistry {
    /// Applies a configuration file: every section must name a registered plugin. Nothing
    /// is applied unless the whole file is valid.
    pub fn apply_config_file(&self, origin: &str, file: ConfigFile) -> Result<(), PluginError> {
        for name in file.plugins.keys() {
            if self.plugin(name).is_none() {
                return Err(PluginError::ConfigurationFile {
                    path: origin.to_owned(),
                    reason: format!("section `[plugins.{name}]` names a plugin that is not registered"),
                });
            }
        }
        self.set_all_plugin_settings(file.plugins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections() {
        let file = ConfigFile::parse("t.toml", "[plugins.gzip-compress]\nlevel = 9\n").unwrap();
        assert_eq!(file.plugins["gzip-compress"].table()["level"].as_integer(), Some(9));
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let err = ConfigFile::parse("t.toml", "[plugins.x]\nlevel = = 9\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("t.toml") && text.contains("line 2"), "{text}");
        let err = ConfigFile::parse("t.toml", "[plugin.x]\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `plugin`"), "{err}");
        let err = ConfigFile::parse("t.toml", "[plugins.Bad]\n").unwrap_err();
        assert!(err.to_string().contains("[plugins.Bad]"), "{err}");
    }
}
