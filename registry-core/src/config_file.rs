//! Configuration files: per-plugin settings and environment profiles in TOML.
//!
//! ```toml
//! environment = "development"        # optional: the active environment
//!
//! [plugins.gzip-compress]
//! level = 9
//!
//! [environments.development]
//! debug_mode = true
//! mock_plugins = true
//!
//! [environments.production]
//! real_plugins = true
//! [environments.production.plugins.gzip-compress]
//! level = 6
//! ```
//!
//! Each `[plugins.NAME]` table becomes the [`PluginSettings`] that plugin `NAME` is built
//! with; an environment's `plugins` tables override them while it is active. A file is read
//! completely and checked before anything is applied, so a bad file leaves the registry as
//! it was.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::configuration::EnvironmentFlags;
use crate::settings::{PluginSettings, SettingValue};
use crate::validate::check_identifier;
use crate::{EnvironmentPluginConfiguration, ModuleRegistry, PluginError};

/// A parsed configuration file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigFile {
    /// The environment the file makes active, if it names one.
    pub environment: Option<String>,
    /// Settings by plugin name.
    pub plugins: BTreeMap<String, PluginSettings>,
    /// Environment profiles by name.
    pub environments: BTreeMap<String, EnvironmentPluginConfiguration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    environment: Option<String>,
    #[serde(default)]
    plugins: BTreeMap<String, toml::Table>,
    #[serde(default)]
    environments: BTreeMap<String, EnvironmentFlags>,
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
        let plugins = settings_by_plugin(raw.plugins, "plugins").map_err(file_error)?;
        let mut environments = BTreeMap::new();
        for (name, flags) in raw.environments {
            let section = format!("environments.{name}");
            let own = settings_by_plugin(flags.plugins.clone(), &format!("{section}.plugins"))
                .map_err(file_error)?;
            let profile = EnvironmentPluginConfiguration::from_parts(&name, &flags, own);
            profile
                .validate(&name)
                .map_err(|e| file_error(format!("section `[{section}]`: {e}")))?;
            environments.insert(name, profile);
        }
        if let Some(environment) = &raw.environment {
            check_identifier("environment", environment)
                .map_err(|e| file_error(format!("key `environment`: {e}")))?;
        }
        Ok(ConfigFile {
            environment: raw.environment,
            plugins,
            environments,
        })
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

fn settings_by_plugin(
    tables: BTreeMap<String, toml::Table>,
    section: &str,
) -> Result<BTreeMap<String, PluginSettings>, String> {
    let mut plugins = BTreeMap::new();
    for (name, table) in tables {
        check_identifier("plugin name", &name)
            .map_err(|e| format!("section `[{section}.{name}]`: {e}"))?;
        plugins.insert(name, settings_from_table(table));
    }
    Ok(plugins)
}

/// Settings from TOML text: the `[plugins.NAME]` body of a configuration file.
pub(crate) fn settings_from_toml(text: &str) -> Result<PluginSettings, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| describe_toml_error(text, &e))?;
    Ok(settings_from_table(table))
}

fn settings_from_table(table: toml::Table) -> PluginSettings {
    PluginSettings::from_values(
        table
            .into_iter()
            .map(|(k, v)| (k, setting_from_toml(v)))
            .collect(),
    )
}

/// A TOML value as a setting; a date or time is kept as its text.
fn setting_from_toml(value: toml::Value) -> SettingValue {
    match value {
        toml::Value::String(s) => SettingValue::String(s),
        toml::Value::Integer(n) => SettingValue::Integer(n),
        toml::Value::Float(x) => SettingValue::Float(x),
        toml::Value::Boolean(b) => SettingValue::Bool(b),
        toml::Value::Datetime(d) => SettingValue::String(d.to_string()),
        toml::Value::Array(items) => {
            SettingValue::Array(items.into_iter().map(setting_from_toml).collect())
        }
        toml::Value::Table(table) => SettingValue::Table(
            table
                .into_iter()
                .map(|(k, v)| (k, setting_from_toml(v)))
                .collect(),
        ),
    }
}

impl PluginSettings {
    /// Settings from TOML text, as a `[plugins.NAME]` section's body is written.
    ///
    /// ```
    /// use module_registry_core::PluginSettings;
    /// let settings = PluginSettings::from_toml("level = 9").unwrap();
    /// assert_eq!(settings.get("level").and_then(|v| v.as_integer()), Some(9));
    /// ```
    pub fn from_toml(text: &str) -> Result<Self, PluginError> {
        settings_from_toml(text).map_err(|reason| PluginError::Configuration {
            plugin: String::new(),
            reason,
        })
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
        let sections = file
            .plugins
            .keys()
            .map(|name| (format!("plugins.{name}"), name))
            .chain(file.environments.iter().flat_map(|(env, profile)| {
                profile
                    .plugins
                    .keys()
                    .map(move |name| (format!("environments.{env}.plugins.{name}"), name))
            }));
        for (section, name) in sections {
            if self.plugin(name).is_none() {
                return Err(PluginError::ConfigurationFile {
                    path: origin.to_owned(),
                    reason: format!("section `[{section}]` names a plugin that is not registered"),
                });
            }
        }
        self.update(|overlay| {
            overlay.settings.extend(file.plugins);
            overlay.environments.extend(file.environments);
            if file.environment.is_some() {
                overlay.environment = file.environment;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections() {
        let file = ConfigFile::parse("t.toml", "[plugins.gzip-compress]\nlevel = 9\n").unwrap();
        assert_eq!(
            file.plugins["gzip-compress"]
                .get("level")
                .and_then(SettingValue::as_integer),
            Some(9)
        );
    }

    #[test]
    fn parses_environments() {
        let text = "environment = \"dev\"\n[environments.dev]\nmock_plugins = true\n[environments.dev.plugins.x]\nlevel = 1\n";
        let file = ConfigFile::parse("t.toml", text).unwrap();
        assert_eq!(file.environment.as_deref(), Some("dev"));
        assert_eq!(
            file.environments["dev"].plugins["x"]
                .get("level")
                .and_then(SettingValue::as_integer),
            Some(1)
        );
        let both = "[environments.dev]\nmock_plugins = true\nreal_plugins = true\n";
        let err = ConfigFile::parse("t.toml", both).unwrap_err();
        assert!(err.to_string().contains("[environments.dev]"), "{err}");
        let typo = "[environments.dev]\ndebug_mod = true\n";
        let err = ConfigFile::parse("t.toml", typo).unwrap_err();
        assert!(err.to_string().contains("debug_mod"), "{err}");
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
