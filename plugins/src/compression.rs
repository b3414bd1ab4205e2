//! gzip (flate2) and zstd compression. All four stream: compressors and decompressors hold a
//! window and a buffer, whatever the size of the input.
//!
//! The decompressors' output limit (`max_output_bytes`) bounds what `process` holds in
//! memory. A stream holds a buffer at a time however much it expands, so the limit does not
//! apply there: a caller that collects a stream whole caps it itself (`Read::take`).

use std::io::{Read, Write};

use modreg_core::stream::{Reader, into_io};
use modreg_core::{PluginBehavior, PluginError, PluginErrorKind};
use serde::{Deserialize, Serialize};

use crate::stream::{Failed, Named};

/// How much work `process` does between two looks at whether its caller gave up.
const CANCEL_CHUNK: usize = 256 * 1024;

/// The most bytes a decompressor returns unless its settings say otherwise: 64 MiB.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 64 << 20;

/// Settings of the decompressors: the most bytes one call may return.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    /// The output limit in bytes; [`DEFAULT_MAX_OUTPUT_BYTES`] when absent. Must be at least 1.
    #[serde(default = "default_max_output_bytes")]
    pub max_output_bytes: usize,
}

fn default_max_output_bytes() -> usize {
    DEFAULT_MAX_OUTPUT_BYTES
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig {
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
        }
    }
}

impl LimitConfig {
    /// The limit, checked for `plugin`.
    fn limit(self, plugin: &str) -> Result<usize, PluginError> {
        match self.max_output_bytes {
            0 => Err(PluginError::from(PluginErrorKind::Configuration {
                plugin: plugin.to_owned(),
                reason: "key `max_output_bytes`: must be at least 1".to_owned(),
            })),
            limit => Ok(limit),
        }
    }
}

/// Reads all of `reader`, refusing to produce more than `limit` bytes: at most `limit + 1`
/// bytes are ever held, however large the input expands.
///
/// It listens for cancellation ([`modreg_core::cancel`]) between chunks: a caller that gives up
/// on a large decompression stops it there.
fn read_limited(plugin: &str, reader: impl Read, limit: usize) -> Result<Vec<u8>, PluginError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut reader = reader.take(cap);
    let mut chunk = vec![0; CANCEL_CHUNK];
    loop {
        modreg_core::cancel::check(plugin)?;
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PluginError::from_plugin(plugin, e)),
        };
        out.extend_from_slice(&chunk[..n]);
    }
    if out.len() > limit {
        return Err(PluginError::from(PluginErrorKind::TooLarge {
            plugin: plugin.to_owned(),
            what: "output",
            size: out.len(),
            limit,
        }));
    }
    Ok(out)
}

/// Settings of `gzip-compress`: the level, 0 (store) to 9 (smallest), 6 by default.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GzipConfig {
    /// The compression level.
    #[serde(default = "GzipConfig::default_level")]
    pub level: i32,
}

impl GzipConfig {
    fn default_level() -> i32 {
        6
    }
}

/// Settings of `zstd-compress`: the level, 1 (fastest) to 22 (smallest), 3 by default.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZstdConfig {
    /// The compression level.
    #[serde(default = "ZstdConfig::default_level")]
    pub level: i32,
}

impl ZstdConfig {
    fn default_level() -> i32 {
        3
    }
}

/// Compresses with gzip.
#[cfg_attr(feature = "registered", modreg_core::plugin(
    type = Compression,
    capabilities = ["compression", "gzip"],
    description = "Compresses data with gzip (DEFLATE)",
    config = GzipConfig
))]
#[derive(Debug)]
pub struct GzipCompress {
    level: flate2::Compression,
}

impl GzipCompress {
    /// A compressor at `config.level` (0-9).
    pub fn from_config(GzipConfig { level }: GzipConfig) -> Result<Self, PluginError> {
        let level = match level {
            0..=9 => flate2::Compression::new(level.unsigned_abs()),
            other => {
                return Err(PluginError::from(PluginErrorKind::Configuration {
                    plugin: "gzip-compress".into(),
                    reason: format!("key `level`: {other} is outside 0..=9"),
                }));
            }
        };
        Ok(GzipCompress { level })
    }
}

impl PluginBehavior for GzipCompress {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), self.level);
        // A chunk at a time, listening for cancellation between chunks.
        for chunk in data.chunks(CANCEL_CHUNK) {
            modreg_core::cancel::check("gzip-compress")?;
            encoder
                .write_all(chunk)
                .map_err(|e| PluginError::from_plugin("gzip-compress", e))?;
        }
        encoder
            .finish()
            .map_err(|e| PluginError::from_plugin("gzip-compress", e))
    }

    fn streams(&self) -> bool {
        true
    }

    fn stream<'a>(&'a self, input: Reader<'a>) -> Result<Reader<'a>, Reader<'a>> {
        Ok(Box::new(Named {
            name: "gzip-compress",
            inner: flate2::read::GzEncoder::new(input, self.level),
        }))
    }
}

/// Decompresses gzip: every member of a multi-member stream, as `gzip -dc` does. Input that
/// is not gzip, or gzip followed by anything else, is an error; output is limited
/// (`max_output_bytes`).
#[cfg_attr(feature = "registered", modreg_core::plugin(
    type = Compression,
    capabilities = ["decompression", "gzip"],
    description = "Decompresses gzip data",
    config = LimitConfig
))]
#[derive(Debug)]
pub struct GzipDecompress {
    limit: usize,
}

impl GzipDecompress {
    /// A decompressor that returns at most `config.max_output_bytes`.
    pub fn from_config(config: LimitConfig) -> Result<Self, PluginError> {
        Ok(GzipDecompress {
            limit: config.limit("gzip-decompress")?,
        })
    }
}

impl PluginBehavior for GzipDecompress {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        // Trailing bytes after the last member are read as the header of another member,
        // which fails: garbage is an error, not silently dropped.
        read_limited(
            "gzip-decompress",
            flate2::read::MultiGzDecoder::new(data),
            self.limit,
        )
    }

    fn streams(&self) -> bool {
        true
    }

    fn stream<'a>(&'a self, input: Reader<'a>) -> Result<Reader<'a>, Reader<'a>> {
        Ok(Box::new(Named {
            name: "gzip-decompress",
            inner: flate2::read::MultiGzDecoder::new(input),
        }))
    }
}

/// Compresses with zstd.
#[cfg_attr(feature = "registered", modreg_core::plugin(
    type = Compression,
    capabilities = ["compression", "zstd"],
    description = "Compresses data with Zstandard",
    config = ZstdConfig
))]
#[derive(Debug)]
pub struct ZstdCompress {
    level: i32,
}

impl ZstdCompress {
    /// A compressor at `config.level` (1-22).
    pub fn from_config(ZstdConfig { level }: ZstdConfig) -> Result<Self, PluginError> {
        match level {
            1..=22 => Ok(ZstdCompress { level }),
            other => Err(PluginError::from(PluginErrorKind::Configuration {
                plugin: "zstd-compress".into(),
                reason: format!("key `level`: {other} is outside 1..=22"),
            })),
        }
    }
}

impl PluginBehavior for ZstdCompress {
    /// Each frame carries a checksum of its content, which decompression verifies.
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let fail = |e| PluginError::from_plugin("zstd-compress", e);
        let mut compressor = zstd::bulk::Compressor::new(self.level).map_err(fail)?;
        compressor.include_checksum(true).map_err(fail)?;
        compressor.compress(data).map_err(fail)
    }

    fn streams(&self) -> bool {
        true
    }

    /// One frame, with its checksum, however long the input.
    fn stream<'a>(&'a self, input: Reader<'a>) -> Result<Reader<'a>, Reader<'a>> {
        let encoder = zstd::stream::read::Encoder::new(input, self.level).and_then(|mut e| {
            e.include_checksum(true)?;
            Ok(e)
        });
        Ok(match encoder {
            Ok(encoder) => Box::new(Named {
                name: "zstd-compress",
                inner: encoder,
            }),
            Err(error) => Box::new(Failed(Some(PluginError::from_plugin(
                "zstd-compress",
                error,
            )))),
        })
    }
}

/// Settings of `zstd-decompress`: the output limit, and whether every frame must carry a
/// checksum of its content.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZstdDecompressConfig {
    /// The output limit in bytes; [`DEFAULT_MAX_OUTPUT_BYTES`] when absent. Must be at least 1.
    #[serde(default = "default_max_output_bytes")]
    pub max_output_bytes: usize,
    /// Refuse a frame that carries no content checksum (default `true`): without one, a
    /// flipped bit can decode to wrong bytes with no error. `zstd-compress` always writes one;
    /// set `false` for frames from producers that do not.
    #[serde(default = "default_require_checksum")]
    pub require_checksum: bool,
}

fn default_require_checksum() -> bool {
    true
}

impl Default for ZstdDecompressConfig {
    fn default() -> Self {
        ZstdDecompressConfig {
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            require_checksum: true,
        }
    }
}

/// Decompresses zstd; input that is not zstd, whose content does not match its checksum, or
/// (unless `require_checksum = false`) that has a frame without a checksum, is an error;
/// output is limited (`max_output_bytes`).
#[cfg_attr(feature = "registered", modreg_core::plugin(
    type = Compression,
    capabilities = ["decompression", "zstd"],
    description = "Decompresses Zstandard data",
    config = ZstdDecompressConfig
))]
#[derive(Debug)]
pub struct ZstdDecompress {
    limit: usize,
    require_checksum: bool,
}

impl ZstdDecompress {
    /// A decompressor that returns at most `config.max_output_bytes`.
    pub fn from_config(config: ZstdDecompressConfig) -> Result<Self, PluginError> {
        let limit = LimitConfig {
            max_output_bytes: config.max_output_bytes,
        };
        Ok(ZstdDecompress {
            limit: limit.limit("zstd-decompress")?,
            require_checksum: config.require_checksum,
        })
    }
}

/// The magic number that opens a zstd frame holding content (skippable frames hold none).
const ZSTD_MAGIC: u32 = 0xFD2F_B528;

/// Fails unless every content frame of `data` declares a checksum (bit 2 of its frame header
/// descriptor, RFC 8878 section 3.1.1.1.1).
fn every_frame_has_a_checksum(mut data: &[u8]) -> Result<(), String> {
    while !data.is_empty() {
        let size = zstd::zstd_safe::find_frame_compressed_size(data)
            .map_err(|_| "not a whole zstd frame".to_owned())?;
        let magic = data
            .get(..4)
            .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]));
        if magic == Some(ZSTD_MAGIC) && data.get(4).is_none_or(|fhd| fhd & 0b100 == 0) {
            return Err(
                "a frame carries no content checksum (set `require_checksum = false` to accept it)"
                    .to_owned(),
            );
        }
        data = data.get(size..).unwrap_or_default();
    }
    Ok(())
}

impl PluginBehavior for ZstdDecompress {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        if self.require_checksum {
            every_frame_has_a_checksum(data)
                .map_err(|reason| PluginError::processing("zstd-decompress", reason))?;
        }
        let decoder = zstd::stream::read::Decoder::new(data)
            .map_err(|e| PluginError::from_plugin("zstd-decompress", e))?;
        read_limited("zstd-decompress", decoder, self.limit)
    }

    fn streams(&self) -> bool {
        true
    }

    fn stream<'a>(&'a self, input: Reader<'a>) -> Result<Reader<'a>, Reader<'a>> {
        Ok(match zstd::stream::raw::Decoder::new() {
            Ok(decoder) => Box::new(ZstdFrames {
                input,
                decoder,
                require_checksum: self.require_checksum,
                buffer: Vec::with_capacity(ZSTD_CHUNK),
                position: 0,
                at_frame_start: true,
                input_ended: false,
            }),
            Err(error) => Box::new(Failed(Some(PluginError::from_plugin(
                "zstd-decompress",
                error,
            )))),
        })
    }
}

/// Compressed input read at a time by a zstd stream.
const ZSTD_CHUNK: usize = 64 * 1024;

/// zstd frames decoded as they come, each frame's header checked as `process` checks them
/// (a content checksum required unless `require_checksum` is off). Written on zstd's raw
/// decoder rather than its `Read` adapter, which gives no hold on where a frame begins.
struct ZstdFrames<'a> {
    input: Reader<'a>,
    decoder: zstd::stream::raw::Decoder<'static>,
    require_checksum: bool,
    /// Input read and not yet decoded: `buffer[position..]`.
    buffer: Vec<u8>,
    position: usize,
    /// The next input byte begins a frame.
    at_frame_start: bool,
    input_ended: bool,
}

impl ZstdFrames<'_> {
    fn fail(reason: &str) -> std::io::Error {
        into_io(PluginError::processing("zstd-decompress", reason))
    }

    /// Reads more input after what is buffered; `false` at its end.
    fn fill(&mut self) -> std::io::Result<bool> {
        if self.input_ended {
            return Ok(false);
        }
        self.buffer.drain(..self.position);
        self.position = 0;
        let start = self.buffer.len();
        self.buffer.resize(start + ZSTD_CHUNK, 0);
        let read = self.input.read(&mut self.buffer[start..]);
        let n = *read.as_ref().unwrap_or(&0);
        self.buffer.truncate(start + n);
        read?;
        self.input_ended = n == 0;
        Ok(n > 0)
    }

    /// At a frame's start: the frame header is checked (once 5 bytes are in).
    fn check_frame_header(&mut self) -> std::io::Result<()> {
        while self.buffer.len() - self.position < 5 && self.fill()? {}
        let header = &self.buffer[self.position..];
        if header.len() < 5 {
            return Err(Self::fail("not a whole zstd frame"));
        }
        let magic = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        if self.require_checksum && magic == ZSTD_MAGIC && header[4] & 0b100 == 0 {
            return Err(Self::fail(
                "a frame carries no content checksum (set `require_checksum = false` to accept it)",
            ));
        }
        self.at_frame_start = false;
        Ok(())
    }
}

impl Read for ZstdFrames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use zstd::stream::raw::Operation;
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.position == self.buffer.len() && !self.fill()? {
                // The input ended: between frames (done), or inside one (cut off).
                return if self.at_frame_start {
                    Ok(0)
                } else {
                    Err(Self::fail("the input ends inside a zstd frame"))
                };
            }
            if self.at_frame_start {
                self.check_frame_header()?;
            }
            let status = self
                .decoder
                .run_on_buffers(&self.buffer[self.position..], buf)
                .map_err(|e| into_io(PluginError::from_plugin("zstd-decompress", e)))?;
            self.position += status.bytes_read;
            if status.remaining == 0 {
                // The frame is decoded and flushed; the next byte begins another.
                self.at_frame_start = true;
            }
            if status.bytes_written > 0 {
                return Ok(status.bytes_written);
            }
        }
    }
}
