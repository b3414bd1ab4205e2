//! gzip (flate2) and zstd compression.

use std::io::{Read, Write};

use module_registry_core::{PluginBehavior, PluginError, plugin};
use serde::Deserialize;

/// Settings of the compressors: the level (gzip 0-9, default 6; zstd 1-22, default 3).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelConfig {
    /// The compression level; the codec's default when absent.
    pub level: Option<i32>,
}

/// Compresses with gzip.
#[plugin(
    type = Compression,
    capabilities = ["compression", "gzip"],
    description = "Compresses data with gzip (DEFLATE)",
    config = LevelConfig
)]
#[derive(Debug)]
pub struct GzipCompress {
    level: flate2::Compression,
}

impl GzipCompress {
    /// A compressor at `config.level` (0-9).
    pub fn from_config(LevelConfig { level }: LevelConfig) -> Result<Self, PluginError> {
        let level = match level {
            None => flate2::Compression::default(),
            Some(level @ 0..=9) => flate2::Compression::new(level.unsigned_abs()),
            Some(other) => {
                return Err(PluginError::Configuration {
                    plugin: "gzip-compress".into(),
                    reason: format!("key `level`: {other} is outside 0..=9"),
                });
            }
        };
        Ok(GzipCompress { level })
    }
}

impl PluginBehavior for GzipCompress {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), self.level);
        encoder
            .write_all(data)
            .and_then(|()| encoder.finish())
            .map_err(|e| PluginError::from_plugin("gzip-compress", e))
    }
}

/// Decompresses gzip; input that is not gzip is an error.
#[plugin(
    type = Compression,
    capabilities = ["decompression", "gzip"],
    description = "Decompresses gzip data"
)]
#[derive(Debug, Default)]
pub struct GzipDecompress;

impl PluginBehavior for GzipDecompress {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .map_err(|e| PluginError::from_plugin("gzip-decompress", e))?;
        Ok(out)
    }
}

/// Compresses with zstd.
#[plugin(
    type = Compression,
    capabilities = ["compression", "zstd"],
    description = "Compresses data with Zstandard",
    config = LevelConfig
)]
#[derive(Debug)]
pub struct ZstdCompress {
    level: i32,
}

impl ZstdCompress {
    /// A compressor at `config.level` (1-22).
    pub fn from_config(LevelConfig { level }: LevelConfig) -> Result<Self, PluginError> {
        match level {
            None => Ok(ZstdCompress { level: 3 }),
            Some(level @ 1..=22) => Ok(ZstdCompress { level }),
            Some(other) => Err(PluginError::Configuration {
                plugin: "zstd-compress".into(),
                reason: format!("key `level`: {other} is outside 1..=22"),
            }),
        }
    }
}

impl PluginBehavior for ZstdCompress {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        zstd::bulk::compress(data, self.level)
            .map_err(|e| PluginError::from_plugin("zstd-compress", e))
    }
}

/// Decompresses zstd; input that is not zstd is an error.
#[plugin(
    type = Compression,
    capabilities = ["decompression", "zstd"],
    description = "Decompresses Zstandard data"
)]
#[derive(Debug, Default)]
pub struct ZstdDecompress;

impl PluginBehavior for ZstdDecompress {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        zstd::stream::decode_all(data).map_err(|e| PluginError::from_plugin("zstd-decompress", e))
    }
}
