//! `modreg reseal`: a configuration file's sealed settings moved to a new key, the rest of the
//! file kept as it was written (comments, order, spacing: `toml_edit`).
//!
//! Every `enc:v2:` value under a `[plugins.NAME]` table, and under an environment's
//! `[environments.ENV.plugins.NAME]`, is opened with the old key for that plugin and its key
//! path (`auth.password`, `items[0]`: as the registry opens it) and sealed again with the new
//! one. Nothing is written unless every value opens; the file is then replaced whole (a file
//! beside it, synced, renamed over it, with its permissions; through a link, the file it
//! names), so a failure midway leaves the old file, never half of each.

use std::io::Write;
use std::path::Path;

use modreg::state_file::Staged;
use modreg::{PluginError, SEALED_PREFIX, SecretKey};
use toml_edit::{DocumentMut, Item, Value};

use crate::error::{CliError, STDOUT};
use crate::trust::TrustArgs;

/// `modreg reseal CONFIG --new-key-file NEW`: the values sealed with `--secret-key-file`'s
/// key moved to NEW's, and how many said.
pub(crate) fn command(
    config: &Path,
    new_key_file: &Path,
    trust: &TrustArgs,
) -> Result<(), CliError> {
    let old = trust
        .secret_key()?
        .ok_or(CliError::NoSecretKey { command: "reseal" })?;
    let new = SecretKey::from_file(new_key_file)?;
    let count = reseal(config, &old, &new)?;
    writeln!(
        std::io::stdout().lock(),
        "{count} sealed value(s) of {} sealed again with the key of {}",
        config.display(),
        new_key_file.display()
    )
    .map_err(CliError::io(STDOUT))
}

/// Seals every sealed value of the configuration file `path` again, opened with `old` and
/// sealed with `new`; answers how many were.
fn reseal(path: &Path, old: &SecretKey, new: &SecretKey) -> Result<usize, CliError> {
    let shown = path.display().to_string();
    let refused = |reason: String| {
        CliError::from(PluginError::from(
            modreg::PluginErrorKind::ConfigurationFile {
                path: shown.clone(),
                reason,
            },
        ))
    };
    let text = modreg::files::read_text(path).map_err(|e| refused(e.to_string()))?;
    let mut document: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| refused(e.to_string()))?;
    let mut count = 0;
    let mut move_one = |plugin: &str, field: &str, sealed: &str| {
        count += 1;
        old.reseal(new, plugin, field, sealed)
    };
    if let Some(plugins) = document.get_mut("plugins") {
        each_plugin(plugins, &mut move_one)?;
    }
    if let Some(environments) = document
        .get_mut("environments")
        .and_then(Item::as_table_like_mut)
    {
        for (_, environment) in environments.iter_mut() {
            if let Some(plugins) = environment
                .as_table_like_mut()
                .and_then(|e| e.get_mut("plugins"))
            {
                each_plugin(plugins, &mut move_one)?;
            }
        }
    }
    if count == 0 {
        return Err(refused(format!(
            "holds no sealed value (`{SEALED_PREFIX}...` under a `[plugins.NAME]` table) to seal again"
        )));
    }
    replace(path, document.to_string().as_bytes()).map_err(|e| refused(e.to_string()))?;
    Ok(count)
}

/// What seals one value again: the plugin, the key path and the sealed value in; the value
/// sealed with the new key out.
type MoveOne<'a> = dyn FnMut(&str, &str, &str) -> Result<String, PluginError> + 'a;

/// Each `NAME` table of a `plugins` table.
fn each_plugin(plugins: &mut Item, move_one: &mut MoveOne<'_>) -> Result<(), PluginError> {
    let Some(plugins) = plugins.as_table_like_mut() else {
        return Ok(());
    };
    for (plugin, settings) in plugins.iter_mut() {
        let plugin = plugin.get().to_owned();
        if let Some(settings) = settings.as_table_like_mut() {
            for (key, item) in settings.iter_mut() {
                walk(item, &plugin, key.get(), move_one)?;
            }
        }
    }
    Ok(())
}

/// The values in `item`, at key path `path` of `plugin`'s settings.
fn walk(
    item: &mut Item,
    plugin: &str,
    path: &str,
    move_one: &mut MoveOne<'_>,
) -> Result<(), PluginError> {
    match item {
        Item::Value(value) => walk_value(value, plugin, path, move_one),
        Item::Table(table) => {
            for (key, item) in table.iter_mut() {
                walk(item, plugin, &format!("{path}.{}", key.get()), move_one)?;
            }
            Ok(())
        }
        Item::ArrayOfTables(tables) => {
            for (i, table) in tables.iter_mut().enumerate() {
                for (key, item) in table.iter_mut() {
                    walk(
                        item,
                        plugin,
                        &format!("{path}[{i}].{}", key.get()),
                        move_one,
                    )?;
                }
            }
            Ok(())
        }
        Item::None => Ok(()),
    }
}

/// [`walk`] of a value: a sealed string is replaced, keeping what was written around it.
fn walk_value(
    value: &mut Value,
    plugin: &str,
    path: &str,
    move_one: &mut MoveOne<'_>,
) -> Result<(), PluginError> {
    match value {
        Value::String(sealed) if sealed.value().starts_with(SEALED_PREFIX) => {
            let decor = sealed.decor().clone();
            let mut moved = toml_edit::Formatted::new(move_one(plugin, path, sealed.value())?);
            *moved.decor_mut() = decor;
            *sealed = moved;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk_value(item, plugin, &format!("{path}[{i}]"), move_one)?;
            }
        }
        Value::InlineTable(table) => {
            for (key, item) in table.iter_mut() {
                walk_value(item, plugin, &format!("{path}.{}", key.get()), move_one)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Replaces the file `path` with `contents` as the host replaces its state files (written
/// beside it, synced, renamed over it, its directory synced after), keeping its permissions,
/// and on Unix its owner and group.
/// A link is followed: the file it names is replaced, the link kept.
fn replace(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let path = std::fs::canonicalize(path)?;
    Staged::write_keeping_access(&path, contents)?.commit()
}

#[cfg(all(test, unix))]
mod tests {
    use super::replace;

    /// A configuration file reached through a link is replaced where it is; the link stays.
    #[test]
    fn a_link_is_followed_and_kept() {
        let scratch = tempfile::tempdir().unwrap();
        let (file, link) = (
            scratch.path().join("v3.toml"),
            scratch.path().join("settings.toml"),
        );
        std::fs::write(&file, "old").unwrap();
        std::os::unix::fs::symlink(&file, &link).unwrap();
        replace(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
    }
}
