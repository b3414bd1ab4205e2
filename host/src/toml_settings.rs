//! TOML as settings: the conversion configuration files, `PluginConfiguration::load` and
//! signed settings use, and one-line descriptions of TOML errors (shared with the layers).

use modreg_core::{PluginSettings, SettingValue};

/// Settings from TOML text: the `[plugins.NAME]` body of a configuration file.
pub fn settings_from_toml(text: &str) -> Result<PluginSettings, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| describe_toml_error(text, &e))?;
    Ok(settings_from_table(table))
}

/// Settings from a parsed TOML table.
pub fn settings_from_table(table: toml::Table) -> PluginSettings {
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

/// `text` read as TOML into `T`, refused when over `limit` bytes: a signed envelope or a
/// signature file, whose errors are [`PluginErrorKind::Manifest`](modreg_core::PluginErrorKind::Manifest) naming line and column.
pub fn read_capped<T: serde::de::DeserializeOwned>(
    text: &str,
    limit: usize,
    what: &str,
) -> Result<T, modreg_core::PluginError> {
    if text.len() > limit {
        return Err(modreg_core::PluginError::from(
            modreg_core::PluginErrorKind::Manifest {
                reason: format!(
                    "{what} of {} bytes is over the limit of {limit}",
                    text.len()
                ),
            },
        ));
    }
    toml::from_str(text).map_err(|e| {
        modreg_core::PluginError::from(modreg_core::PluginErrorKind::Manifest {
            reason: describe_toml_error(text, &e),
        })
    })
}

/// One line for a TOML error: line, column, the key on that line, and the message.
pub fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
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
