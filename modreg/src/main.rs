//! `modreg`: the plugins compiled into this binary, listed, discovered and run.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use modreg::{
    ConfigFile, ModuleRegistry, PluginCapabilityQuery, PluginDiscoveryQuery, PluginError,
    PluginErrorKind, PluginInfo, PluginOrigin, PluginType,
};

use crate::error::{CliError, STDOUT};

mod error;
mod output;
mod pipeline;
mod progress;
mod reseal;
mod seal;
mod serve;
mod trust;

/// The help section of the options every subcommand takes.
const GLOBAL: &str = "Global options";

#[derive(Parser)]
#[command(
    name = "modreg",
    version,
    about = "List, discover and run the plugins compiled into this binary"
)]
struct Cli {
    /// How log events are written to standard error: `text` or `json` (one object a line).
    #[arg(long, global = true, value_name = "FORMAT", default_value = "text", help_heading = GLOBAL)]
    log_format: LogFormat,
    /// A directory of WebAssembly plugin modules (`*.wasm`, each with an optional `.sig`)
    /// loaded into the registry's sandbox; `serve` watches it and reloads on change.
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    plugin_dir: Option<std::path::PathBuf>,
    /// A directory WebAssembly plugins that declare `file.read` may read under, read-only.
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    grant_dir: Option<std::path::PathBuf>,
    /// An environment variable WebAssembly plugins that declare `env.<name>` may read;
    /// repeat for several.
    #[arg(long = "grant-env", global = true, value_name = "NAME", help_heading = GLOBAL)]
    grant_env: Vec<String>,
    /// Milliseconds a WebAssembly plugin's call may run before it is stopped.
    #[arg(long, global = true, value_name = "MS", default_value_t = 1000, help_heading = GLOBAL)]
    wasm_time_budget_ms: u64,
    /// The engine WebAssembly plugins run in: `interpreter`, `lazy-interpreter` (the same,
    /// validating each function at its first call: loads faster, finds an invalid function
    /// only when it is called), `jit` (machine code compiled by Cranelift: faster calls, slower
    /// loading) or `jit-baseline` (Winch: compiles about five times faster than `jit`, runs
    /// half as fast); the last two in a `modreg` built with the feature `jit`.
    #[arg(long, global = true, value_name = "ENGINE", default_value = "interpreter", help_heading = GLOBAL)]
    wasm_engine: EngineArg,
    /// A directory where `jit` and `jit-baseline` keep the machine code of each module they
    /// compile, so that a module loads again without being compiled, across runs (at most
    /// 1 GiB, the least recently used removed first); made its owner's alone if missing; on
    /// Unix one another user owns or may write is not used. With `--wasm-engine jit` or
    /// `jit-baseline` only, in a `modreg` built with the feature `jit`.
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    jit_cache_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    trust: trust::TrustArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum EngineArg {
    Interpreter,
    LazyInterpreter,
    Jit,
    JitBaseline,
}

impl EngineArg {
    /// The engine, if this build has it.
    #[cfg_attr(
        feature = "jit",
        expect(clippy::unnecessary_wraps, reason = "without `jit` it can fail")
    )]
    fn engine(self) -> Result<modreg::WasmEngine, CliError> {
        match self {
            EngineArg::Interpreter => Ok(modreg::WasmEngine::Interpreter),
            EngineArg::LazyInterpreter => Ok(modreg::WasmEngine::LazyInterpreter),
            #[cfg(feature = "jit")]
            EngineArg::Jit => Ok(modreg::WasmEngine::Jit),
            #[cfg(feature = "jit")]
            EngineArg::JitBaseline => Ok(modreg::WasmEngine::JitBaseline),
            #[cfg(not(feature = "jit"))]
            EngineArg::Jit => Err(CliError::EngineNotBuilt { engine: "jit" }),
            #[cfg(not(feature = "jit"))]
            EngineArg::JitBaseline => Err(CliError::EngineNotBuilt {
                engine: "jit-baseline",
            }),
        }
    }
}

/// `config` with the compiled-module cache in `dir`, if one is given: only with a compiling
/// engine (`WasmEngine::compiles`; with an interpreter the option would change nothing). A
/// build without the compiling engines has refused `--wasm-engine jit` before this.
fn with_jit_cache(
    config: modreg::WasmConfig,
    dir: Option<std::path::PathBuf>,
) -> Result<modreg::WasmConfig, CliError> {
    let Some(dir) = dir else {
        return Ok(config);
    };
    #[cfg(feature = "jit")]
    if config.engine().compiles() {
        return Ok(config.with_jit_cache_dir(dir));
    }
    drop(dir);
    Err(CliError::JitCacheWithoutJit)
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Lists every compiled-in plugin.
    List {
        /// Prints JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Shows one plugin in full.
    Show {
        /// The plugin's name.
        name: String,
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
    /// Finds plugins by type, name prefix and capabilities.
    Discover {
        /// Only plugins of this type (for example `compression`).
        #[arg(long = "type", value_name = "TYPE")]
        plugin_type: Option<String>,
        /// A capability the plugins must have; repeat for several.
        #[arg(long = "capability", value_name = "CAPABILITY")]
        capabilities: Vec<String>,
        /// A capability that ranks plugins higher; repeat for several.
        #[arg(long = "optional", value_name = "CAPABILITY")]
        optional: Vec<String>,
        /// Only plugins whose name starts with this.
        #[arg(long)]
        prefix: Option<String>,
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serves `/metrics` (Prometheus), `/health` (JSON), `/` (a live dashboard) and
    /// `POST /run/<pipeline>`.
    Serve(serve::args::ServeArgs),
    /// Pipes standard input through the named plugins, in order, to standard output, a chunk
    /// at a time: memory does not grow with the input.
    Run {
        /// Plugin names separated by commas: `gzip-compress,base64-encode`.
        pipeline: String,
        /// A TOML file with `[plugins.NAME]` settings.
        #[arg(long, value_name = "FILE")]
        config: Option<std::path::PathBuf>,
        /// The most input a plugin that cannot stream (encryption) may hold whole; more is an
        /// error that names it.
        #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BUFFER_BYTES)]
        max_buffer_bytes: usize,
        /// The most bytes any stage may output; a stage over it stops the pipeline with an
        /// error. No limit by default.
        #[arg(long, value_name = "BYTES")]
        max_output_bytes: Option<u64>,
        /// The most bytes read from standard input; more is an error. No limit by default.
        #[arg(long, value_name = "BYTES")]
        max_input_bytes: Option<u64>,
        /// Writes binary output to a terminal too (by default it is refused there, as gzip
        /// does: redirect it to a file or a pipe).
        #[arg(long)]
        force: bool,
        /// Shows a progress line on standard error even when it is not a terminal (it is
        /// shown on a terminal once a run has lasted a second).
        #[arg(long)]
        progress: bool,
    },
    /// Checks a WebAssembly module's hex codec against the conformance kit (the codec's
    /// answers and the sandbox's limits) and prints each case; fails unless every case passes.
    Conformance {
        /// The module: a `.wasm` file listing a plugin with the capabilities `encoding` and
        /// `hex` and one with `decoding` and `hex`.
        module: std::path::PathBuf,
        /// Prints the report as JSON (each case with `ok`, its error and its time).
        #[arg(long)]
        json: bool,
    },
    /// Writes a new sealing key to FILE (64 hex digits from the operating system's random
    /// numbers; on Unix the file made `0600`), for `--secret-key-file`. A FILE that exists is
    /// refused and left as it is: a new key there would leave what the old one sealed
    /// unopenable.
    Keygen {
        /// The key file to make.
        file: std::path::PathBuf,
    },
    /// Moves a configuration file's sealed settings to a new key: each `enc:v2:` value of its
    /// `[plugins.NAME]` tables (and of its environments') is opened with `--secret-key-file`'s
    /// key and sealed for the same plugin and field with the new one. The file is rewritten
    /// only if every value opens, the rest of it as it was written.
    Reseal {
        /// The configuration file.
        config: std::path::PathBuf,
        /// The new key's file (`modreg keygen`).
        #[arg(long, value_name = "FILE")]
        new_key_file: std::path::PathBuf,
    },
    /// Seals a secret setting for a plugin: reads the value from standard input (a final
    /// newline dropped) and prints it sealed with `--secret-key-file`'s key, to write as
    /// `FIELD = "enc:v2:..."` in the plugin's `[plugins.PLUGIN]` table of a `--config` file.
    /// It opens for that plugin and field only, in a `modreg` given the same key.
    Seal {
        /// The plugin the value is for (compiled in, or in `--plugin-dir`).
        plugin: String,
        /// The setting's key in the plugin's table (a dotted path for a nested table:
        /// `auth.password`; `items[0]` for a list's element).
        field: String,
    },
    /// Prints a completion script for a shell: `modreg completions bash > /etc/bash_completion.d/modreg`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Prints the man page (roff): `modreg man > modreg.1`.
    Man,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // What needs no registry: the completion script and the man page.
    match cli.command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "modreg", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Command::Man => {
            let page = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
            return match page.render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("modreg: {STDOUT}: {error}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour only for a terminal: a pipe or a file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MODREG_LOG")
                .unwrap_or_else(|_| "warn".into()),
        );
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let engine = match cli.wasm_engine.engine() {
        Ok(engine) => engine,
        Err(error) => {
            eprintln!("modreg: {error}");
            return ExitCode::FAILURE;
        }
    };
    let sandbox = Sandbox {
        plugin_dir: cli.plugin_dir,
        config: {
            let mut config = modreg::WasmConfig::new()
                .with_engine(engine)
                .with_time_budget(std::time::Duration::from_millis(cli.wasm_time_budget_ms));
            if let Some(dir) = cli.grant_dir {
                config = config.with_read_dir(dir);
            }
            for name in cli.grant_env {
                config = config.with_env_var(name);
            }
            match with_jit_cache(config, cli.jit_cache_dir) {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("modreg: {error}");
                    return ExitCode::FAILURE;
                }
            }
        },
    };
    let json = matches!(
        cli.command,
        Command::List { json: true }
            | Command::Show { json: true, .. }
            | Command::Discover { json: true, .. }
            | Command::Conformance { json: true, .. }
    );
    match run(cli.command, sandbox, &cli.trust) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`modreg list | head -1`): nothing is left to say to it.
        Err(error) if error.is_closed_output() => ExitCode::SUCCESS,
        // Asked for JSON: the error is JSON too, one object on standard error.
        Err(error) if json => {
            eprintln!("{}", serde_json::json!({ "error": error.to_string() }));
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("modreg: {}", escape_controls(&error.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// Whether `output` is not text a terminal shows as written: not UTF-8, or with control
/// characters other than line breaks and tabs (an escape sequence would drive the terminal).
pub(crate) fn is_binary(output: &[u8]) -> bool {
    std::str::from_utf8(output).is_err()
        || output
            .iter()
            .any(|&b| (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t')) || b == 0x7f)
}

/// `text` with every control character written as an escape (`\n`, `\u{1b}`), so that a name
/// from the command line or a file cannot forge lines or drive the terminal.
fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The WebAssembly plugins to load, and their sandbox.
struct Sandbox {
    plugin_dir: Option<std::path::PathBuf>,
    config: modreg::WasmConfig,
}

impl Sandbox {
    /// Loads the plugin directory, if one is given; a refused module is reported on standard
    /// error and the others load, and so is a directory other users may write while unsigned
    /// modules load (they could add plugins), unless the directory is `watched`: the watcher
    /// (`serve`) logs that at its first pass, and once is enough.
    fn load(&self, registry: &ModuleRegistry, watched: bool) -> Result<(), PluginError> {
        registry.wasm().configure_wasm(self.config.clone())?;
        let Some(dir) = &self.plugin_dir else {
            return Ok(());
        };
        let report = registry.wasm().load_wasm_plugins(dir)?;
        for (module, error) in &report.refused {
            eprintln!(
                "modreg: skipping {}: {}",
                escape_controls(module),
                escape_controls(&error.to_string())
            );
        }
        let unsigned_load = !registry.security().authentication();
        if let Some(reason) = report.open_to_others.filter(|_| unsigned_load && !watched) {
            eprintln!(
                "modreg: warning: the plugin directory {} {reason}: other users may add plugins to it (--require-signatures loads only signed modules)",
                escape_controls(&dir.display().to_string()),
            );
        }
        Ok(())
    }
}

/// `modreg conformance`: the kit's report on `module`, run in `engine`; an error unless it
/// conforms.
fn conformance(
    registry: &ModuleRegistry,
    engine: modreg::WasmEngine,
    module: &std::path::Path,
    json: bool,
    stdout: &mut impl Write,
) -> Result<(), CliError> {
    // Admitted as a module of the plugin directory would be (`--require-signatures` holds
    // here too), then run by the kit in registries of its own.
    let module = registry.wasm().admit_wasm_file(module)?;
    let report = modreg::conformance::check_hex_codec_in(engine, &module.name, &module.bytes)?;
    if json {
        output::conformance_json(stdout, &report)?;
    } else {
        write!(stdout, "{report}").map_err(CliError::io(STDOUT))?;
    }
    if report.conforms() {
        return Ok(());
    }
    let reason = if report.plugins.is_none() {
        "it lists no hex codec".to_owned()
    } else {
        format!(
            "{} of {} cases failed",
            report.cases.len() - report.passed(),
            report.cases.len()
        )
    };
    Err(CliError::Nonconforming {
        module: report.module,
        reason,
    })
}

/// The plugin named `name`, or `NotFound` with the names it may be a typo of.
pub(crate) fn known_plugin(
    registry: &ModuleRegistry,
    name: &str,
) -> Result<PluginInfo, PluginError> {
    registry.plugin(name).ok_or_else(|| {
        registry.create_plugin(name).err().unwrap_or_else(|| {
            PluginError::from(PluginErrorKind::NotFound {
                name: name.to_owned(),
                suggestions: vec![],
            })
        })
    })
}

fn run(command: Command, sandbox: Sandbox, trust: &trust::TrustArgs) -> Result<(), CliError> {
    // A new key, and values moved to it, need no registry.
    match &command {
        Command::Keygen { file } => {
            modreg::SecretKey::generate_file(file)?;
            return Ok(());
        }
        Command::Reseal {
            config,
            new_key_file,
        } => return reseal::command(config, new_key_file, trust),
        _ => {}
    }
    let registry = ModuleRegistry::new();
    registry.catalog().check()?;
    // Read once: the registry opens sealed settings with it, and `seal` seals with it.
    let key = trust.secret_key()?;
    let sandbox = Sandbox {
        config: trust.apply(&registry, key.clone(), sandbox.config)?,
        ..sandbox
    };
    sandbox.load(&registry, matches!(command, Command::Serve(_)))?;
    let mut stdout = std::io::stdout().lock();
    match command {
        // Answered in `main`, before a registry is built.
        Command::Completions { .. }
        | Command::Man
        | Command::Keygen { .. }
        | Command::Reseal { .. } => Ok(()),
        Command::Conformance { module, json } => conformance(
            &registry,
            sandbox.config.engine(),
            &module,
            json,
            &mut stdout,
        ),
        Command::List { json } => output::plugins(&mut stdout, &registry.plugins(), json),
        Command::Seal { plugin, field } => seal::seal(
            &registry,
            key.as_ref(),
            &plugin,
            &field,
            std::io::stdin().lock(),
            &mut stdout,
        ),
        Command::Show { name, json } => {
            let info = known_plugin(&registry, &name)?;
            output::detail(&mut stdout, &info, json)
        }
        Command::Discover {
            plugin_type,
            capabilities,
            optional,
            prefix,
            json,
        } => {
            let found = discover(&registry, plugin_type, capabilities, optional, prefix)?;
            output::plugins(&mut stdout, &found, json)
        }
        Command::Serve(args) => {
            let config = args.config.clone();
            let options = args.into_options(sandbox.plugin_dir)?;
            apply_config(&registry, config)?;
            serve::serve(registry, options)
        }
        Command::Run {
            pipeline,
            config,
            max_buffer_bytes,
            max_output_bytes,
            max_input_bytes,
            force,
            progress,
        } => {
            let limits = run_limits(max_buffer_bytes, max_output_bytes, max_input_bytes)?;
            let from_file = config.is_some();
            apply_config(&registry, config)?;
            // Per-call events at INFO, shown with `MODREG_LOG=info`.
            registry.configure_plugin_monitoring(
                modreg::PluginMonitoringConfig::new().with_plugin_logging(true),
            )?;
            let refuse_binary = !force && std::io::IsTerminal::is_terminal(&std::io::stdout());
            let mut progress = progress::Progress::new(
                progress || std::io::IsTerminal::is_terminal(&std::io::stderr()),
            );
            pipeline::stream(
                &registry,
                &pipeline,
                std::io::stdin(),
                &mut stdout,
                limits,
                refuse_binary,
                &mut progress,
            )
            .map_err(|e| how_to_give_missing_settings(e, from_file))
        }
    }
    // Whatever could not be written is an error, not a silent success.
    .and_then(|()| stdout.flush().map_err(CliError::io(STDOUT)))
}

fn discover(
    registry: &ModuleRegistry,
    plugin_type: Option<String>,
    capabilities: Vec<String>,
    optional: Vec<String>,
    prefix: Option<String>,
) -> Result<Vec<PluginInfo>, CliError> {
    let plugin_type = plugin_type.map(|t| t.parse::<PluginType>()).transpose()?;
    check_known(registry, plugin_type, capabilities.iter().chain(&optional))?;
    if capabilities.is_empty() && optional.is_empty() {
        let mut query = PluginDiscoveryQuery::new();
        if let Some(ty) = plugin_type {
            query = query.with_type_filter(ty);
        }
        if let Some(prefix) = prefix {
            query = query.with_name_prefix(prefix);
        }
        return Ok(registry.discover_plugins(query)?);
    }
    let mut query = PluginCapabilityQuery::new()
        .with_required_capabilities(capabilities)
        .with_optional_capabilities(optional);
    if let Some(ty) = plugin_type {
        query = query.with_type_filter(ty);
    }
    let mut found = registry.discover_plugins_by_capabilities(query)?;
    if let Some(prefix) = prefix {
        found.retain(|p| p.name().starts_with(&prefix));
    }
    Ok(found)
}

/// A required setting missing with no configuration file given: the error says how to give it.
fn how_to_give_missing_settings(error: CliError, from_file: bool) -> CliError {
    if !from_file
        && let CliError::Plugin(plugin_error) = &error
        && let PluginErrorKind::Configuration { plugin, reason } = plugin_error.kind()
        && let Some(key) = reason
            .split_once("missing field `")
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(key, _)| key)
    {
        return CliError::Usage {
            what: "settings of plugin",
            value: plugin.clone(),
            reason: format!(
                "missing field `{key}`: give it in a TOML file passed with `--config FILE`, as `[plugins.{plugin}]` then `{key} = ...`"
            ),
        };
    }
    error
}

/// A type or a capability no plugin has is a typo more often than a question: an error with
/// the closest known names, rather than an empty answer.
fn check_known<'a>(
    registry: &ModuleRegistry,
    plugin_type: Option<PluginType>,
    capabilities: impl Iterator<Item = &'a String>,
) -> Result<(), CliError> {
    let plugins = registry.plugins();
    let unknown = |what: &'static str, value: &str, known: std::collections::BTreeSet<&str>| {
        let close = modreg::__host::close_names(value, known.into_iter());
        let hint = match close.as_slice() {
            [] => String::new(),
            [one] => format!("; did you mean `{one}`?"),
            many => format!("; did you mean one of `{}`?", many.join("`, `")),
        };
        CliError::Usage {
            what,
            value: value.to_owned(),
            reason: format!("no plugin has it{hint}"),
        }
    };
    if let Some(ty) = plugin_type
        && !plugins.iter().any(|p| p.plugin_type() == ty)
    {
        let mut known: std::collections::BTreeSet<&str> = PluginType::BUILT_IN
            .iter()
            .map(PluginType::as_str)
            .collect();
        known.extend(plugins.iter().map(|p| p.plugin_type().as_str()));
        return Err(unknown("type", ty.as_str(), known));
    }
    // A capability that is not a valid name is the query's to refuse, with its own rule.
    for capability in
        capabilities.filter(|c| modreg::validate::check_identifier("capability", c).is_ok())
    {
        if !plugins
            .iter()
            .any(|p| p.capabilities().contains(&capability.as_str()))
        {
            let known = plugins.iter().flat_map(PluginInfo::capabilities).collect();
            return Err(unknown("capability", capability, known));
        }
    }
    Ok(())
}

fn apply_config(
    registry: &ModuleRegistry,
    config: Option<std::path::PathBuf>,
) -> Result<(), PluginError> {
    if let Some(path) = config {
        let file = ConfigFile::read(&path)?;
        registry
            .configuration()
            .apply_config_file(&path.display().to_string(), file)?;
    }
    Ok(())
}

/// The most bytes a `serve` pipeline stage may output unless `--max-output-bytes` says
/// otherwise.
pub(crate) const DEFAULT_MAX_OUTPUT_BYTES: usize = 64 << 20;

/// The most input a plugin that cannot stream holds in `run` unless `--max-buffer-bytes` says
/// otherwise.
const DEFAULT_MAX_BUFFER_BYTES: usize = modreg::stream::DEFAULT_MAX_BUFFERED_BYTES;

/// `run`'s limits, each at least 1 byte.
fn run_limits(
    max_buffer_bytes: usize,
    max_output_bytes: Option<u64>,
    max_input_bytes: Option<u64>,
) -> Result<pipeline::Limits, CliError> {
    for (option, limit) in [
        ("--max-buffer-bytes", Some(max_buffer_bytes as u64)),
        ("--max-output-bytes", max_output_bytes),
        ("--max-input-bytes", max_input_bytes),
    ] {
        if limit == Some(0) {
            return Err(CliError::Usage {
                what: "option",
                value: format!("{option} 0"),
                reason: "the limit must be at least 1 byte".to_owned(),
            });
        }
    }
    Ok(pipeline::Limits {
        input: max_input_bytes,
        stage_output: max_output_bytes,
        buffer: max_buffer_bytes,
    })
}

fn crate_of(info: &PluginInfo) -> String {
    match info.origin() {
        PluginOrigin::Compiled(location) => location.crate_name.to_owned(),
        PluginOrigin::Runtime => match info.metadata().get("wasm.module") {
            Some(module) => format!("wasm:{module}"),
            None => "(runtime)".to_owned(),
        },
    }
}
