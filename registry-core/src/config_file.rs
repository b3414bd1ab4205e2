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
        let raw: Raw =
            toml::from_str(text).map_err(|e| file_error(describe_toml_error(text, &e)))?;
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

/// One line for a TOML error: line, column, the key on that line, and the message.
pub(crate) fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end();
    let Some(span) = error.span() else {
        return message.to_owned();
    };
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_number = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let line_text = text[line_start..].lines().next().unwrap_or("");
    let key = line_text
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    match key {
        Some(key) => format!("line {line_number}, column {column}, key `{key}`: {message}"),
        None => format!("line {line_number}, column {column}: {message}"),
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
                    reason: format!(
                        "section `[plugins.{name}]` names a plugin that is not registered"
                    ),
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
        assert_eq!(
            file.plugins["gzip-compress"].table()["level"].as_integer(),
            Some(9)
        );
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let err = ConfigFile::parse("t.toml", "[plugins.x]\nlevel = = 9\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("t.toml") && text.contains("line 2") && text.contains("key `level`"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1, "{text}");
        let err = ConfigFile::parse("t.toml", "[plugin.x]\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `plugin`"), "{err}");
        let err = ConfigFile::parse("t.toml", "[plugins.Bad]\n").unwrap_err();
        assert!(err.to_string().contains("[plugins.Bad]"), "{err}");
    }
}
