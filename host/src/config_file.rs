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

use crate::toml_settings::{describe_toml_error, settings_from_table, settings_from_toml};

use crate::configuration::EnvironmentPluginConfiguration;
use crate::registry::ModuleRegistry;
use modreg_core::PluginSettings;
use modreg_core::validate::check_identifier;
use modreg_core::{PluginError, PluginErrorKind};

/// The flags of an `[environments.NAME]` table in a configuration file.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentFlags {
    debug_mode: Option<bool>,
    verbose_logging: Option<bool>,
    mock_plugins: Option<bool>,
    real_plugins: Option<bool>,
    #[serde(default)]
    plugins: BTreeMap<String, toml::Table>,
}

/// One `with_*` switch of an environment profile.
type SetSwitch = fn(EnvironmentPluginConfiguration, bool) -> EnvironmentPluginConfiguration;

impl EnvironmentFlags {
    /// The profile of environment `name` these flags and plugin settings describe.
    fn into_profile(
        self,
        name: &str,
        plugins: BTreeMap<String, PluginSettings>,
    ) -> EnvironmentPluginConfiguration {
        let mut profile = EnvironmentPluginConfiguration::new().with_environment(name);
        let switches: [(Option<bool>, SetSwitch); 4] = [
            (
                self.debug_mode,
                EnvironmentPluginConfiguration::with_debug_mode,
            ),
            (
                self.verbose_logging,
                EnvironmentPluginConfiguration::with_verbose_logging,
            ),
            (
                self.mock_plugins,
                EnvironmentPluginConfiguration::with_mock_plugins,
            ),
            (
                self.real_plugins,
                EnvironmentPluginConfiguration::with_real_plugins,
            ),
        ];
        for (value, set) in switches {
            if let Some(value) = value {
                profile = set(profile, value);
            }
        }
        for (plugin, settings) in plugins {
            profile = profile.with_plugin_settings(plugin, settings);
        }
        profile
    }
}

/// A parsed configuration file.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
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
        let file_error = |reason: String| {
            PluginError::from(PluginErrorKind::ConfigurationFile {
                path: origin.to_owned(),
                reason,
            })
        };
        let raw: Raw =
            toml::from_str(text).map_err(|e| file_error(describe_toml_error(text, &e)))?;
        let lines = Lines::of(origin, text);
        let plugins = settings_by_plugin(raw.plugins, "plugins", &lines).map_err(file_error)?;
        let mut environments = BTreeMap::new();
        for (name, flags) in raw.environments {
            let section = format!("environments.{name}");
            let own =
                settings_by_plugin(flags.plugins.clone(), &format!("{section}.plugins"), &lines)
                    .map_err(file_error)?;
            let profile = flags.into_profile(&name, own);
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
        let text = crate::files::read_text(path).map_err(|e| {
            PluginError::from(PluginErrorKind::ConfigurationFile {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        })?;
        Self::parse(&path.display().to_string(), &text)
    }
}

fn settings_by_plugin(
    tables: BTreeMap<String, toml::Table>,
    section: &str,
    lines: &Lines,
) -> Result<BTreeMap<String, PluginSettings>, String> {
    let mut plugins = BTreeMap::new();
    for (name, table) in tables {
        check_identifier("plugin name", &name)
            .map_err(|e| format!("section `[{section}.{name}]`: {e}"))?;
        let path = format!("{section}.{name}");
        let settings = settings_from_table(table);
        let settings = match lines.origin(&path) {
            Some(origin) => settings.with_origin(origin),
            None => settings,
        };
        plugins.insert(name, settings);
    }
    Ok(plugins)
}

/// Where each plugin section of a file, and each of its keys, is written: read from the
/// parser's spans, so that an error about a setting names its line.
struct Lines<'t> {
    file: &'t str,
    text: &'t str,
    table: Option<toml::Spanned<toml::de::DeTable<'t>>>,
}

impl<'t> Lines<'t> {
    fn of(file: &'t str, text: &'t str) -> Self {
        Lines {
            file,
            text,
            table: toml::de::DeTable::parse(text).ok(),
        }
    }

    /// The line (from 1) of byte `offset`.
    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    /// The origin of the settings under the dotted `path` (`plugins.gzip-compress`).
    fn origin(&self, path: &str) -> Option<modreg_core::SettingsOrigin> {
        let mut table = self.table.as_ref()?.get_ref();
        let mut header = None;
        for part in path.split('.') {
            let (key, value) = table.get_key_value(part)?;
            header = Some(key.span().start);
            match value.get_ref() {
                toml::de::DeValue::Table(inner) => table = inner,
                _ => return None,
            }
        }
        let mut origin = modreg_core::SettingsOrigin::new(self.file, path, self.line(header?));
        for key in table.keys() {
            origin = origin.with_key(key.get_ref().as_ref(), self.line(key.span().start));
        }
        Some(origin)
    }
}

/// [`PluginSettings`] read from TOML: the core, which every plugin crate compiles, has no TOML
/// parser, so the host adds the constructor as an extension trait.
pub trait SettingsFromToml: Sized {
    /// Settings from TOML text, as a `[plugins.NAME]` section's body is written.
    ///
    /// ```
    /// use modreg_core::PluginSettings;
    /// use modreg_host::SettingsFromToml;
    /// let settings = PluginSettings::from_toml("level = 9").unwrap();
    /// assert_eq!(settings.get("level").and_then(|v| v.as_integer()), Some(9));
    /// ```
    fn from_toml(text: &str) -> Result<Self, PluginError>;
}

impl SettingsFromToml for PluginSettings {
    fn from_toml(text: &str) -> Result<Self, PluginError> {
        settings_from_toml(text).map_err(|reason| {
            PluginError::from(PluginErrorKind::Configuration {
                plugin: String::new(),
                reason,
            })
        })
    }
}

impl ModuleRegistry {
    /// What [`Configuration::apply_config_file`](crate::Configuration::apply_config_file) does.
    pub(crate) fn apply_config_file(
        &self,
        origin: &str,
        file: ConfigFile,
    ) -> Result<(), PluginError> {
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
            if self.plugin(name).is_none() && !self.typed.has_plugin(name) {
                let did_you_mean = match self.unknown_plugin(name).into_kind() {
                    PluginErrorKind::NotFound { suggestions, .. } if !suggestions.is_empty() => {
                        format!("; did you mean `{}`?", suggestions.join("`, `"))
                    }
                    _ => String::new(),
                };
                return Err(PluginError::from(PluginErrorKind::ConfigurationFile {
                    path: origin.to_owned(),
                    reason: format!(
                        "section `[{section}]` names a plugin that is not registered{did_you_mean}"
                    ),
                }));
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
                .and_then(modreg_core::SettingValue::as_integer),
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
                .and_then(modreg_core::SettingValue::as_integer),
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
