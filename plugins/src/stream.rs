//! What the bundled plugins' streams are built from: a reader that names a plugin's I/O
//! failures, and one that runs a chunk-at-a-time transform (an encoding, a hash) over its
//! input.

use std::io::{self, Read};

use modreg_core::PluginError;
#[cfg(any(feature = "encoding", feature = "hashing"))]
use modreg_core::stream::Reader;
#[cfg(feature = "compression")]
use modreg_core::stream::from_io;
use modreg_core::stream::into_io;

/// How much input a transform is handed at once.
#[cfg(any(feature = "encoding", feature = "hashing"))]
const CHUNK: usize = 64 * 1024;

/// A reader whose failures are plugin `name`'s errors (a failure that already is a plugin's,
/// from an earlier stage, passes through as it is).
#[cfg(feature = "compression")]
pub(crate) struct Named<R> {
    pub(crate) name: &'static str,
    pub(crate) inner: R,
}

#[cfg(feature = "compression")]
impl<R: Read> Read for Named<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| into_io(from_io(e, self.name)))
    }
}

/// A stream that could not begin: its first read fails with `error`.
#[cfg(feature = "compression")]
pub(crate) struct Failed(pub(crate) Option<PluginError>);

#[cfg(feature = "compression")]
impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        self.0.take().map_or(Ok(0), |error| Err(into_io(error)))
    }
}

/// A transform of a stream, a chunk at a time.
#[cfg(any(feature = "encoding", feature = "hashing"))]
pub(crate) trait Transform: Send {
    /// Transforms the next chunk of input, appending what output it can.
    fn update(&mut self, input: &[u8], output: &mut Vec<u8>) -> Result<(), PluginError>;

    /// Appends the rest of the output, once the input has ended.
    fn finish(&mut self, output: &mut Vec<u8>) -> Result<(), PluginError>;
}

/// `transform` over `input`, as a reader: at most a chunk of input and its output in memory.
#[cfg(any(feature = "encoding", feature = "hashing"))]
pub(crate) fn transformed<'a>(input: Reader<'a>, transform: impl Transform + 'a) -> Reader<'a> {
    Box::new(Transformed {
        input,
        transform: Box::new(transform),
        chunk: vec![0; CHUNK],
        output: Vec::new(),
        position: 0,
        ended: false,
    })
}

/// What [`transformed`] returns: one type for every transform, so that the `Read` methods
/// (`read_to_end`, `read_exact`, ...) are in the binary once rather than once a plugin (a
/// WebAssembly guest pays for each copy at every load and every fresh instance).
#[cfg(any(feature = "encoding", feature = "hashing"))]
struct Transformed<'a> {
    input: Reader<'a>,
    transform: Box<dyn Transform + 'a>,
    chunk: Vec<u8>,
    output: Vec<u8>,
    position: usize,
    ended: bool,
}

#[cfg(any(feature = "encoding", feature = "hashing"))]
impl Read for Transformed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.position == self.output.len() {
            if self.ended {
                return Ok(0);
            }
            self.output.clear();
            self.position = 0;
            let n = loop {
                match self.input.read(&mut self.chunk) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other?,
                }
            };
            if n == 0 {
                self.ended = true;
                self.transform.finish(&mut self.output).map_err(into_io)?;
            } else {
                self.transform
                    .update(&self.chunk[..n], &mut self.output)
                    .map_err(into_io)?;
            }
        }
        let rest = &self.output[self.position..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.position += n;
        Ok(n)
    }
}
