//! A metered plugin's stream: the inner plugin's stream, counted as one call when it ends.
//!
//! Bytes in are counted as the inner stream reads its input, bytes out as the caller reads
//! the output; the call is recorded (recorder, alert rules, per-call event) when the output
//! ends, fails, or is dropped unfinished. Each read runs in the panic guard when the plan
//! catches panics, and the instance's latch refuses a stream after a panic, as `process`
//! does. A failure that comes from the input (an earlier stage of a pipeline) passes through
//! untouched: it is not this plugin's error, and does not count as one.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use std::time::Duration;

use modreg_core::sandbox::{PanicLatch, guard};
use modreg_core::stream::{Reader, from_io, into_io};
use modreg_core::{Plugin, PluginError};

use crate::clock::Instant;

/// What a stream needs of the wrapper it is metered for (the monitoring layer's `Metered`).
pub(crate) trait Meter: Sync {
    /// The plugin's name.
    fn name(&self) -> &str;
    /// The wrapped instance.
    fn inner(&self) -> &dyn Plugin;
    /// The instance's panic latch.
    fn latch(&self) -> &PanicLatch;
    /// Whether calls run in the panic guard.
    fn catch_panics(&self) -> bool;
    /// Whether calls are timed.
    fn timed(&self) -> bool;
    /// Records a call that ended.
    fn account(
        &self,
        bytes_in: u64,
        outcome: Result<usize, &PluginError>,
        latency: Option<Duration>,
    );
}

/// `metered`'s inner stream over `input`, metered.
pub(crate) fn metered<'a>(metered: &'a dyn Meter, input: Reader<'a>) -> Reader<'a> {
    if let Err(refused) = metered.latch().check(metered.name()) {
        return Box::new(Refused(Some(refused)));
    }
    let input_state = Arc::new(Input::default());
    let counted = Counted {
        inner: input,
        state: input_state.clone(),
    };
    let start = metered.timed().then(Instant::now);
    let inner = if metered.catch_panics() {
        let made = guard(metered.name(), "stream", || {
            Ok(metered.inner().stream(Box::new(counted)))
        });
        metered.latch().observe(&made);
        match made {
            Ok(inner) => inner,
            Err(panicked) => {
                metered.account(0, Err(&panicked), None);
                return Box::new(Refused(Some(panicked)));
            }
        }
    } else {
        metered.inner().stream(Box::new(counted))
    };
    Box::new(MeteredStream {
        metered,
        inner,
        input: input_state,
        bytes_out: 0,
        start,
        ended: false,
    })
}

/// What the input did: bytes read, and whether it failed.
#[derive(Default)]
struct Input {
    bytes: AtomicU64,
    failed: AtomicBool,
}

/// A reader that counts what is read through it and notes its failure.
struct Counted<'a> {
    inner: Reader<'a>,
    state: Arc<Input>,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.state.bytes.fetch_add(n as u64, Relaxed);
                Ok(n)
            }
            Err(error) => {
                self.state.failed.store(true, Relaxed);
                Err(error)
            }
        }
    }
}

/// A stream refused before it began: its first read fails with the reason.
struct Refused(Option<PluginError>);

impl Read for Refused {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(error) => Err(into_io(error)),
            None => Ok(0),
        }
    }
}

struct MeteredStream<'a> {
    metered: &'a dyn Meter,
    inner: Reader<'a>,
    input: Arc<Input>,
    bytes_out: usize,
    start: Option<Instant>,
    /// The call has been accounted for.
    ended: bool,
}

impl MeteredStream<'_> {
    fn end(&mut self, outcome: Result<(), &PluginError>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let latency = self.start.map(|s| s.elapsed());
        self.metered.account(
            self.input.bytes.load(Relaxed),
            outcome.map(|()| self.bytes_out),
            latency,
        );
    }
}

impl Read for MeteredStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ended {
            return Ok(0);
        }
        let metered = self.metered;
        let inner = &mut self.inner;
        let read = if metered.catch_panics() {
            guard(metered.name(), "stream", || {
                inner.read(buf).map_err(|e| from_io(e, metered.name()))
            })
        } else {
            inner.read(buf).map_err(|e| from_io(e, metered.name()))
        };
        if read.is_err() && self.input.failed.load(Relaxed) {
            // The input's failure, passed on: the call ended, this plugin did not fail.
            self.end(Ok(()));
            return read.map_err(into_io);
        }
        metered.latch().observe(&read);
        match read {
            Ok(0) if !buf.is_empty() => {
                self.end(Ok(()));
                Ok(0)
            }
            Ok(n) => {
                self.bytes_out += n;
                Ok(n)
            }
            Err(error) => {
                self.end(Err(&error));
                Err(into_io(error))
            }
        }
    }
}

impl Drop for MeteredStream<'_> {
    /// A stream dropped before its end (its reader gave up) still counts as a call.
    fn drop(&mut self) {
        self.end(Ok(()));
    }
}
