//! `modreg seal`: a secret setting sealed for one plugin's field, to write in a `--config`
//! file, where a `modreg` given the same key (`--secret-key-file`) opens it for that plugin.
//!
//! The secret comes on standard input, not as an argument: a command line is visible to
//! every user of the machine (`ps`), and stays in a shell's history. Typed at a terminal (or
//! the Windows console), it is not shown.

use std::io::{BufRead, ErrorKind, IsTerminal, Write};

use modreg::{ModuleRegistry, SecretKey};
use zeroize::Zeroizing;

use crate::error::{CliError, STDOUT};

/// The most bytes of a secret read from standard input.
const MAX_SECRET_BYTES: usize = 64 << 10;

/// Prints the secret on standard input (`input`; one final newline dropped) sealed for
/// `plugin`'s `field` with `key`, the key of `--secret-key-file`. From a terminal one line is read,
/// not shown as it is typed. The plugin must be one the registry has (a name that is not
/// would give a value nothing opens), and the secret UTF-8 text, not empty, at most 64 KiB.
pub(crate) fn seal(
    registry: &ModuleRegistry,
    key: Option<&SecretKey>,
    plugin: &str,
    field: &str,
    input: impl BufRead,
    stdout: &mut impl Write,
) -> Result<(), CliError> {
    let key = key.ok_or(CliError::NoSecretKey { command: "seal" })?;
    crate::known_plugin(registry, plugin)?;
    let mut secret = if std::io::stdin().is_terminal() {
        hidden::read_line(&format!("the secret for `{plugin}`, `{field}`"), input)?
    } else {
        read_up_to_limit(input, false)?
    };
    if secret.ends_with(b"\n") {
        secret.pop();
        if secret.ends_with(b"\r") {
            secret.pop();
        }
    }
    if secret.is_empty() {
        return Err(refused("nothing to seal"));
    }
    let secret = std::str::from_utf8(&secret).map_err(|_| refused("not UTF-8 text"))?;
    let sealed = key.seal(plugin, field, secret)?;
    writeln!(stdout, "{sealed}").map_err(CliError::io(STDOUT))
}

/// The secret refused, for `reason` (never shown).
fn refused(reason: &str) -> CliError {
    CliError::Usage {
        what: "secret on standard input",
        value: "(not shown)".to_owned(),
        reason: reason.to_owned(),
    }
}

/// `input` to its end, or to its first newline (included) if `line`: at most
/// [`MAX_SECRET_BYTES`].
///
/// Into one buffer of the limit's size, overwritten when dropped: a buffer that grew would leave
/// copies of the secret in what it freed. Standard input's own buffer (8 KiB) is left out too:
/// a read into a larger buffer while it is empty goes around it, so the secret is not left
/// there, where nothing would overwrite it. In line mode (a terminal gives a line a read) what
/// follows the newline in the same read is dropped.
fn read_up_to_limit(mut input: impl BufRead, line: bool) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let mut secret = Zeroizing::new(vec![0; MAX_SECRET_BYTES + 1]);
    let mut filled = 0;
    loop {
        let read = match input.read(&mut secret[filled..]) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(CliError::io("standard input")(e)),
        };
        let newline = secret[filled..filled + read]
            .iter()
            .position(|&b| b == b'\n')
            .filter(|_| line);
        filled += newline.map_or(read, |at| at + 1);
        if filled > MAX_SECRET_BYTES {
            return Err(refused("over 64 KiB"));
        }
        if newline.is_some() {
            break;
        }
    }
    secret.truncate(filled);
    Ok(secret)
}

/// One line read from the terminal with its echo off.
///
/// By hand rather than with a password-prompt crate: the prompt is written only once echo is
/// off and what was typed before it is discarded, so nothing typed early is shown (the crates
/// write their prompt first).
#[cfg(unix)]
mod hidden {
    use std::io::BufRead;

    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    use zeroize::Zeroizing;

    use crate::error::CliError;

    /// Asks for `what`, and reads it.
    pub(super) fn read_line(
        what: &str,
        input: impl BufRead,
    ) -> Result<Zeroizing<Vec<u8>>, CliError> {
        let terminal = std::io::stdin();
        let failed = |e: rustix::io::Errno| CliError::io("the terminal")(e.into());
        let before = tcgetattr(&terminal).map_err(failed)?;
        let mut quiet = before.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        // The newline that ends the secret is still shown: what follows starts a line.
        quiet.local_modes.insert(LocalModes::ECHONL);
        tcsetattr(&terminal, OptionalActions::Flush, &quiet).map_err(failed)?;
        eprint!("{what} (not shown): ");
        let line = super::read_up_to_limit(input, true);
        let restored = tcsetattr(&terminal, OptionalActions::Now, &before).map_err(failed);
        let line = line?;
        restored?;
        Ok(line)
    }
}

/// One line read from the console with its echo off (the Windows console's mode).
///
/// By hand for the reason the Unix one is: the prompt is written once echo is off and what
/// was typed before it is discarded.
#[cfg(windows)]
mod hidden {
    use std::io::BufRead;
    use std::os::windows::io::AsRawHandle;

    use windows_sys::Win32::System::Console::{
        CONSOLE_MODE, ENABLE_ECHO_INPUT, FlushConsoleInputBuffer, GetConsoleMode, SetConsoleMode,
    };
    use zeroize::Zeroizing;

    use crate::error::CliError;

    /// Asks for `what`, and reads it.
    #[allow(unsafe_code)]
    pub(super) fn read_line(
        what: &str,
        input: impl BufRead,
    ) -> Result<Zeroizing<Vec<u8>>, CliError> {
        let failed = || CliError::io("the terminal")(std::io::Error::last_os_error());
        let console = std::io::stdin().as_raw_handle();
        let mut before: CONSOLE_MODE = 0;
        // SAFETY: `console` is standard input's handle, open while the process runs, and
        // `before` a place for the mode that outlives the call.
        if unsafe { GetConsoleMode(console, &raw mut before) } == 0 {
            return Err(failed());
        }
        // SAFETY: as above; the mode is the console's own with one flag taken off.
        if unsafe { SetConsoleMode(console, before & !ENABLE_ECHO_INPUT) } == 0 {
            return Err(failed());
        }
        // SAFETY: as above. What was typed before the prompt is dropped (a failure to drop it
        // leaves it to be read, as typed).
        unsafe { FlushConsoleInputBuffer(console) };
        eprint!("{what} (not shown): ");
        let line = super::read_up_to_limit(input, true);
        // SAFETY: as above; the mode read before.
        let restored = (unsafe { SetConsoleMode(console, before) } != 0).then_some(());
        let restored = restored.ok_or_else(failed);
        // The newline that ended the secret was not shown: what follows starts a line.
        eprintln!();
        let line = line?;
        restored?;
        Ok(line)
    }
}

/// One line read from the terminal: shown as it is typed (echo cannot be turned off here).
#[cfg(not(any(unix, windows)))]
mod hidden {
    use std::io::BufRead;

    use zeroize::Zeroizing;

    use crate::error::CliError;

    /// Asks for `what`, and reads it.
    pub(super) fn read_line(
        what: &str,
        input: impl BufRead,
    ) -> Result<Zeroizing<Vec<u8>>, CliError> {
        eprint!("{what}: ");
        super::read_up_to_limit(input, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line is read up to its newline (what follows in the same read is dropped), a whole
    /// input to its end; either is refused past the limit, the newline counted.
    #[test]
    fn a_line_or_a_whole_input_is_read_up_to_the_limit() {
        let read = |input: &[u8], line| read_up_to_limit(input, line).map(|s| s.to_vec());
        assert_eq!(read(b"secret\nnext", true).unwrap(), b"secret\n");
        assert_eq!(read(b"secret\nnext", false).unwrap(), b"secret\nnext");
        assert_eq!(read(b"no newline", true).unwrap(), b"no newline");
        let mut long = vec![b'a'; MAX_SECRET_BYTES - 1];
        long.push(b'\n');
        for line in [true, false] {
            assert_eq!(read(&long, line).unwrap().len(), MAX_SECRET_BYTES);
        }
        long.insert(0, b'a');
        for line in [true, false] {
            assert!(matches!(read(&long, line), Err(CliError::Usage { .. })));
        }
    }
}
