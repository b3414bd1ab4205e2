//! Pipelines: plugins run one after another, each fed what the one before it gave.
//!
//! `modreg run` streams ([`stream`]): standard input flows through a chain of readers, one per
//! plugin, and out a chunk at a time, so memory does not grow with the input. A plugin that
//! streams (`Plugin::streams`) holds a buffer and its own state; one that cannot holds its
//! whole input, up to `--max-buffer-bytes`, and the error names that limit. `modreg serve`
//! runs a request's body through [`run_buffered`], each stage's output whole and limited.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use modreg::stream::{Reader, buffered, from_io, into_io};
use modreg::{ModuleRegistry, PluginError, PluginErrorKind};

use crate::error::{CliError, STDOUT};
use crate::progress::Progress;

/// The plugin names of `pipeline` (`a,b,c`), none empty.
fn names(pipeline: &str) -> Result<Vec<&str>, PluginError> {
    let names: Vec<&str> = pipeline.split(',').map(str::trim).collect();
    if names.iter().any(|n| n.is_empty()) {
        return Err(PluginError::invalid(
            "pipeline",
            pipeline,
            "expected plugin names separated by commas, with none empty",
        ));
    }
    Ok(names)
}

/// Runs `data` through the comma-separated plugins of `pipeline`, each initialized first and
/// cleaned up after; a stage whose output is over `max_output_bytes` stops it. `stopped` is
/// asked before each stage: once it says yes the pipeline ends with `None` (its caller has
/// given up on it).
///
/// Every name is looked up before anything runs (an unknown one fails the request at once),
/// but each plugin is created only when its stage comes and dropped when it ends: a request
/// naming thousands of stages (a URL holds them) holds one instance and two buffers at a
/// time, not thousands of instances.
pub(crate) fn run_buffered(
    registry: &ModuleRegistry,
    pipeline: &str,
    mut data: Vec<u8>,
    max_output_bytes: usize,
    stopped: &dyn Fn() -> bool,
) -> Result<Option<Vec<u8>>, PluginError> {
    let names = names(pipeline)?;
    for name in &names {
        if registry.plugin(name).is_none() {
            // The creation path's own error: not found, with suggestions.
            registry.create_plugin(name)?;
        }
    }
    for name in &names {
        if stopped() {
            return Ok(None);
        }
        let mut plugin = registry.create_plugin(name)?;
        plugin.initialize()?;
        data = plugin.process(&data)?;
        plugin.cleanup()?;
        if data.len() > max_output_bytes {
            return Err(PluginError::from(PluginErrorKind::TooLarge {
                plugin: plugin.name().to_owned(),
                what: "output",
                size: data.len(),
                limit: max_output_bytes,
            }));
        }
    }
    Ok(Some(data))
}

/// What a streamed pipeline may take, hold and give.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The most bytes read from the input; `None`: no limit.
    pub(crate) input: Option<u64>,
    /// The most bytes any stage may output; `None`: no limit.
    pub(crate) stage_output: Option<u64>,
    /// The most input a plugin that cannot stream may hold whole.
    pub(crate) buffer: usize,
}

/// The option each limit is set by, for errors.
const MAX_INPUT: &str = "--max-input-bytes";

/// Streams `input` through the plugins of `pipeline` into `output`. With `refuse_binary`,
/// output that is not text stops the pipeline before it is written
/// ([`CliError::BinaryToTerminal`]).
pub(crate) fn stream(
    registry: &ModuleRegistry,
    pipeline: &str,
    input: impl Read + Send,
    output: &mut dyn Write,
    limits: Limits,
    refuse_binary: bool,
    progress: &mut Progress,
) -> Result<(), CliError> {
    let names = names(pipeline)?;
    let mut plugins = Vec::with_capacity(names.len());
    for name in &names {
        plugins.push(registry.create_plugin(name)?);
    }
    for plugin in &mut plugins {
        plugin.initialize()?;
    }
    let read_in = Arc::new(AtomicU64::new(0));
    let input_over = Arc::new(AtomicBool::new(false));
    let mut chain: Reader<'_> = Box::new(Counted {
        inner: input,
        count: read_in.clone(),
        limit: limits.input,
        over: input_over.clone(),
    });
    for plugin in &plugins {
        let stage = if plugin.streams() {
            plugin.stream(chain)
        } else {
            buffered(plugin.name(), chain, limits.buffer, |data| {
                plugin.process(data)
            })
        };
        chain = match limits.stage_output {
            Some(limit) => Box::new(StageLimit {
                inner: stage,
                plugin: plugin.name(),
                limit,
                seen: 0,
            }),
            None => stage,
        };
    }
    let last = names.last().copied().unwrap_or_default();
    let copied = copy(&mut chain, output, refuse_binary, &read_in, progress);
    drop(chain);
    progress.finish();
    match copied {
        Err(Failure::Read(_)) if input_over.load(Relaxed) => Err(CliError::Usage {
            what: "input",
            value: "standard input".to_owned(),
            reason: format!(
                "over the limit of {} bytes ({MAX_INPUT})",
                limits.input.unwrap_or_default()
            ),
        }),
        Err(Failure::Read(error)) => Err(buffer_hint(from_io(error, last)).into()),
        Err(Failure::Write(error)) => Err(CliError::Io {
            what: STDOUT,
            source: error,
        }),
        Err(Failure::Binary) => Err(CliError::BinaryToTerminal),
        Ok(()) => {
            for plugin in &mut plugins {
                plugin.cleanup()?;
            }
            Ok(())
        }
    }
}

/// A buffered stage's limit, with the option that raises it.
fn buffer_hint(error: PluginError) -> PluginError {
    match error.kind() {
        PluginErrorKind::TooLarge {
            plugin,
            what: "buffered input",
            limit,
            ..
        } => PluginError::invalid(
            "buffered input",
            plugin,
            format!(
                "plugin `{plugin}` cannot stream, so it holds its whole input, and that is over \
                 the limit of {limit} bytes (--max-buffer-bytes)"
            ),
        ),
        _ => error,
    }
}

/// How copying a pipeline's output ended badly.
enum Failure {
    Read(io::Error),
    Write(io::Error),
    Binary,
}

/// The output of `chain`, a chunk at a time, into `output`.
fn copy(
    chain: &mut Reader<'_>,
    output: &mut dyn Write,
    refuse_binary: bool,
    read_in: &AtomicU64,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let mut buf = vec![0; 64 * 1024];
    let mut written = 0u64;
    loop {
        let n = match chain.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::Read(e)),
        };
        if refuse_binary && crate::is_binary(&buf[..n]) {
            return Err(Failure::Binary);
        }
        output.write_all(&buf[..n]).map_err(Failure::Write)?;
        written += n as u64;
        progress.update(read_in.load(Relaxed), written);
    }
    output.flush().map_err(Failure::Write)
}

/// The pipeline's input, counted (and limited).
struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
    limit: Option<u64>,
    over: Arc<AtomicBool>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.count.fetch_add(n as u64, Relaxed) + n as u64;
        if self.limit.is_some_and(|limit| total > limit) {
            self.over.store(true, Relaxed);
            return Err(io::Error::other("the input is over its limit"));
        }
        Ok(n)
    }
}

/// One stage's output, limited.
struct StageLimit<'a> {
    inner: Reader<'a>,
    plugin: &'a str,
    limit: u64,
    seen: u64,
}

impl Read for StageLimit<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen += n as u64;
        if self.seen > self.limit {
            return Err(into_io(PluginError::from(PluginErrorKind::TooLarge {
                plugin: self.plugin.to_owned(),
                what: "output",
                size: usize::try_from(self.seen).unwrap_or(usize::MAX),
                limit: usize::try_from(self.limit).unwrap_or(usize::MAX),
            })));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use modreg::{Plugin, PluginConfig, PluginType};

    use super::*;

    static LIVE: AtomicUsize = AtomicUsize::new(0);
    static MOST: AtomicUsize = AtomicUsize::new(0);
    static MADE: AtomicUsize = AtomicUsize::new(0);

    /// Counts its live instances and the most alive at once; appends a byte.
    struct Probe(Vec<String>);

    impl Probe {
        fn new() -> Self {
            MADE.fetch_add(1, Relaxed);
            let live = LIVE.fetch_add(1, Relaxed) + 1;
            MOST.fetch_max(live, Relaxed);
            Probe(Vec::new())
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            LIVE.fetch_sub(1, Relaxed);
        }
    }

    impl Plugin for Probe {
        fn name(&self) -> &'static str {
            "probe"
        }
        fn version(&self) -> &'static str {
            "1.0.0"
        }
        fn plugin_type(&self) -> PluginType {
            PluginType::DataProcessor
        }
        fn capabilities(&self) -> &[String] {
            &self.0
        }
        fn initialize(&mut self) -> Result<(), PluginError> {
            Ok(())
        }
        fn cleanup(&mut self) -> Result<(), PluginError> {
            Ok(())
        }
        fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
            Ok([data, b"."].concat())
        }
    }

    /// A request naming a thousand stages holds one instance at a time, and an unknown name
    /// anywhere fails it before any stage runs.
    #[test]
    fn a_buffered_pipeline_holds_one_instance_at_a_time() {
        let registry = ModuleRegistry::new();
        registry
            .register_plugin(
                PluginConfig::new()
                    .with_name("probe")
                    .with_version("1.0.0")
                    .with_type(PluginType::DataProcessor)
                    .with_constructor(|_| Ok(Box::new(Probe::new()))),
            )
            .unwrap();
        let pipeline = vec!["probe"; 1000].join(",");
        let output = run_buffered(&registry, &pipeline, Vec::new(), 1 << 20, &|| false)
            .unwrap()
            .unwrap();
        assert_eq!(output.len(), 1000);
        assert_eq!(MOST.load(Relaxed), 1, "instances alive at once");

        let made = MADE.load(Relaxed);
        let error = run_buffered(
            &registry,
            "probe,no-such-plugin",
            Vec::new(),
            1 << 20,
            &|| false,
        )
        .unwrap_err();
        assert!(
            matches!(error.kind(), PluginErrorKind::NotFound { .. }),
            "{error}"
        );
        assert_eq!(MADE.load(Relaxed), made, "no stage ran");
    }
}
