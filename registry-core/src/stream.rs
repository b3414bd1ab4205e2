//! Streams: a plugin's output read as it is produced, for input of any size in bounded
//! memory.
//!
//! [`Plugin::stream`](crate::Plugin::stream) turns a reader of input into a reader of output.
//! A plugin that can work a piece at a time (a compressor, an encoder, a hash) overrides it
//! and [`Plugin::streams`](crate::Plugin::streams); every other plugin keeps the default,
//! [`buffered`]: the whole input read (up to a limit), then `process`. Readers chain, so a
//! pipeline is one reader of readers, driven by [`std::io::copy`].
//!
//! A plugin's failure travels through `std::io::Read` as an [`io::Error`] that carries the
//! [`PluginError`] ([`into_io`]); [`from_io`] takes it back out, so the caller sees the
//! plugin's own error, with its source.
//!
//! ```rust,standalone_crate
//! use std::io::Read;
//! use modreg_core::{Plugin, PluginBehavior, PluginError, plugin, stream};
//!
//! #[plugin(type = DataProcessor)]
//! #[derive(Default)]
//! struct Upper;
//!
//! impl PluginBehavior for Upper {
//!     fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
//!         Ok(data.to_ascii_uppercase())
//!     }
//! }
//!
//! // `Upper` does not stream: its stream buffers the input, within the default limit.
//! let upper: &dyn Plugin = &Upper;
//! assert!(!upper.streams());
//! let mut output = String::new();
//! upper.stream(Box::new(&b"abc"[..])).read_to_string(&mut output).unwrap();
//! assert_eq!(output, "ABC");
//!
//! // Over a limit, the error names the plugin and the limit.
//! let mut over = stream::buffered("upper", Box::new(&b"abcdef"[..]), 4, |data| {
//!     upper.process(data)
//! });
//! let error = stream::from_io(over.read(&mut [0; 8]).unwrap_err(), "upper");
//! assert!(error.to_string().contains("over the limit of 4 bytes"), "{error}");
//! ```

use std::io::{self, Read};

use crate::error::{PluginError, PluginErrorKind};

/// The input a plugin that cannot stream may hold whole, unless its caller says otherwise:
/// 64 MiB.
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 64 << 20;

/// A reader of input or output, as streams pass them.
pub type Reader<'a> = Box<dyn Read + Send + 'a>;

/// `error` as an `io::Error` that keeps it: [`from_io`] takes it back.
pub fn into_io(error: PluginError) -> io::Error {
    io::Error::other(error)
}

/// The [`PluginError`] inside `error` if a plugin put one there ([`into_io`]); otherwise
/// `error` as the failure of plugin `plugin`, kept as its source.
pub fn from_io(error: io::Error, plugin: &str) -> PluginError {
    match error.downcast::<PluginError>() {
        Ok(plugin_error) => plugin_error,
        Err(error) => PluginError::from_plugin(plugin, Unwrapped(error)),
    }
}

/// An `io::Error` as a plugin's error source.
#[derive(Debug)]
struct Unwrapped(io::Error);

impl std::fmt::Display for Unwrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Unwrapped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// A stream of plugin `name`'s output made by reading all of `input` (at most `limit` bytes;
/// more is [`PluginErrorKind::TooLarge`]) and calling `process` (the plugin's) once: what a
/// plugin that cannot stream offers.
pub fn buffered<'a, F>(name: &'a str, input: Reader<'a>, limit: usize, process: F) -> Reader<'a>
where
    F: FnOnce(&[u8]) -> Result<Vec<u8>, PluginError> + Send + 'a,
{
    Box::new(Buffered {
        name,
        process: Some(Box::new(process)),
        input: Some(input),
        limit,
        output: Vec::new(),
        position: 0,
    })
}

/// A plugin's `process`, called once by [`Buffered`].
type Process<'a> = Box<dyn FnOnce(&[u8]) -> Result<Vec<u8>, PluginError> + Send + 'a>;

/// What [`buffered`] returns. One type for every plugin, not one per `process` closure: each
/// type turned into a [`Reader`] brings its own copy of every `Read` method (`read_to_end`,
/// `read_exact`, ...) into the binary, and a WebAssembly guest pays for each copy at every
/// load and every fresh instance. The box costs one allocation per stream.
struct Buffered<'a> {
    name: &'a str,
    /// `Some` until called.
    process: Option<Process<'a>>,
    /// `Some` until the input has been read and processed.
    input: Option<Reader<'a>>,
    limit: usize,
    output: Vec<u8>,
    position: usize,
}

impl Buffered<'_> {
    /// Reads the whole input and processes it.
    fn run(&mut self, mut input: Reader<'_>) -> io::Result<()> {
        let mut data = Vec::new();
        input
            .by_ref()
            .take(self.limit as u64 + 1)
            .read_to_end(&mut data)?;
        if data.len() > self.limit {
            return Err(into_io(PluginError::from(PluginErrorKind::TooLarge {
                plugin: self.name.to_owned(),
                what: "buffered input",
                size: data.len(),
                limit: self.limit,
            })));
        }
        if let Some(process) = self.process.take() {
            self.output = process(&data).map_err(into_io)?;
        }
        Ok(())
    }
}

impl Read for Buffered<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(input) = self.input.take() {
            self.run(input)?;
        }
        let rest = &self.output[self.position..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.position += n;
        if self.position == self.output.len() {
            // Done: the memory goes back now, not when the stream is dropped.
            self.output = Vec::new();
            self.position = 0;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_error_survives_the_trip_through_io() {
        let error = PluginError::processing("p", "bad input");
        let back = from_io(into_io(error), "other");
        assert_eq!(
            back.to_string(),
            PluginError::processing("p", "bad input").to_string()
        );
        let foreign = from_io(
            io::Error::new(io::ErrorKind::UnexpectedEof, "cut short"),
            "q",
        );
        assert!(foreign.to_string().contains("cut short"), "{foreign}");
        assert!(foreign.to_string().contains('q'), "{foreign}");
    }
}
