//! What a command of the tool reports when it fails.

use modreg::PluginError;

/// A failed command: the registry or a plugin refused or failed, or the tool's own input,
/// output or server could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The registry or a plugin said no; its message names the plugin.
    #[error(transparent)]
    Plugin(#[from] PluginError),

    /// A stream, file or socket of the tool's own failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written: `standard output`, `the listening socket`.
        what: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// `run`'s output is binary and standard output is a terminal.
    #[error(
        "binary output is not written to a terminal: redirect it to a file or a pipe, or pass --force"
    )]
    BinaryToTerminal,

    /// `--jit-cache-dir` without a compiling engine, where it would change nothing.
    #[error(
        "--jit-cache-dir keeps the machine code of the compiling engines: give it with `--wasm-engine jit` or `--wasm-engine jit-baseline`"
    )]
    JitCacheWithoutJit,

    /// `seal` or `reseal` without the key to seal with (or to open with).
    #[error(
        "{command} needs the key sealed values are sealed with: give --secret-key-file FILE (64 hex digits)"
    )]
    NoSecretKey {
        /// The command.
        command: &'static str,
    },

    /// `--wasm-engine` names an engine this build of the tool does not have.
    #[cfg(not(feature = "jit"))]
    #[error(
        "this modreg was built without the `{engine}` engine: build it with `--features jit` (cargo install modreg-cli --features jit)"
    )]
    EngineNotBuilt {
        /// The engine asked for.
        engine: &'static str,
    },

    /// `conformance`: the module failed cases of the kit, or lists no hex codec.
    #[error("`{module}` does not conform to the hex codec kit: {reason}")]
    Nonconforming {
        /// The module's name.
        module: String,
        /// How many cases failed, or that it lists no codec.
        reason: String,
    },

    /// An option or address given on the command line cannot be used.
    #[error("invalid {what} `{value}`: {reason}")]
    Usage {
        /// The option.
        what: &'static str,
        /// What it was given.
        value: String,
        /// What the rule is.
        reason: String,
    },
}

impl CliError {
    /// An I/O failure of `what`.
    pub(crate) fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| CliError::Io { what, source }
    }

    /// Whether the reader of standard output went away (`modreg list | head -1`): a filter
    /// stops quietly then, as `cat` and `grep` do.
    pub(crate) fn is_closed_output(&self) -> bool {
        matches!(self, CliError::Io { what: STDOUT, source } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// The name standard output goes by in errors.
pub(crate) const STDOUT: &str = "standard output";
