//! `modreg seal`: a secret setting sealed for one plugin's field, to write in a `--config`
//! file, where a `modreg` given the same key (`--secret-key-file`) opens it for that plugin.
//!
//! The secret comes on standard input, not as an argument: a command line is visible to
//! every user of the machine (`ps`), and stays in a shell's history.

use std::io::{Read, Write};

use modreg::ModuleRegistry;

use crate::error::{CliError, STDOUT};
use crate::trust::TrustArgs;

/// The most bytes of a secret read from standard input.
const MAX_SECRET_BYTES: usize = 64 << 10;

/// Prints `input` (one final newline dropped) sealed for `plugin`'s `field` with the key of
/// `--secret-key-file`. The plugin must be one the registry has (a name that is not would
/// give a value nothing opens), and the secret UTF-8 text, not empty, at most 64 KiB.
pub(crate) fn seal(
    registry: &ModuleRegistry,
    trust: &TrustArgs,
    plugin: &str,
    field: &str,
    input: impl Read,
    stdout: &mut impl Write,
) -> Result<(), CliError> {
    let key = trust.secret_key()?.ok_or(CliError::SealWithoutKey)?;
    crate::known_plugin(registry, plugin)?;
    let refused = |reason: &str| CliError::Usage {
        what: "secret on standard input",
        value: "(not shown)".to_owned(),
        reason: reason.to_owned(),
    };
    let mut secret = Vec::new();
    input
        .take(MAX_SECRET_BYTES as u64 + 1)
        .read_to_end(&mut secret)
        .map_err(CliError::io("standard input"))?;
    if secret.len() > MAX_SECRET_BYTES {
        return Err(refused("over 64 KiB"));
    }
    if secret.ends_with(b"\n") {
        secret.pop();
        if secret.ends_with(b"\r") {
            secret.pop();
        }
    }
    if secret.is_empty() {
        return Err(refused("nothing to seal"));
    }
    let secret = String::from_utf8(secret).map_err(|_| refused("not UTF-8 text"))?;
    let sealed = key.seal(plugin, field, &secret)?;
    writeln!(stdout, "{sealed}").map_err(CliError::io(STDOUT))
}
