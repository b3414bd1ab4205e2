//! Plugins bundled with module-registry, one family per Cargo feature.
//!
//! | feature | plugins |
//! |---|---|
//! | `compression` | `gzip-compress`, `gzip-decompress`, `zstd-compress`, `zstd-decompress` |
//! | `hashing` | `sha256`, `blake3` |
//! | `encoding` | `base64-encode`, `base64-decode`, `hex-encode`, `hex-decode` |
//! | `encryption` | `chacha20poly1305-encrypt`, `chacha20poly1305-decrypt` (key from configuration) |
//!
//! Every plugin but the two AEAD ones streams (`Plugin::streams`): `modreg run` pushes input
//! of any size through it in bounded memory. Encryption needs the whole message (one
//! authentication tag over all of it), so it is buffered, within the caller's limit.
//!
//! Every plugin registers itself with `#[plugin]`; enabling the feature is all a binary
//! needs, provided the binary links this crate (the `module-registry` facade does that for
//! its own features). That is the default feature `registered`: without it the types are
//! plain [`PluginBehavior`](modreg_core::PluginBehavior) implementations to call or wrap, and
//! nothing of their registration is linked (a WebAssembly guest that exports them under names
//! of its own, as the bundled codecs guest does, is 22 % fewer functions without it).

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "compression")]
pub mod compression;
#[cfg(feature = "encoding")]
pub mod encoding;
#[cfg(feature = "encryption")]
pub mod encryption;
#[cfg(feature = "hashing")]
pub mod hashing;
#[cfg(any(feature = "compression", feature = "encoding", feature = "hashing"))]
mod stream;

/// The names of the plugins this build of the crate contains, by the features enabled.
///
/// ```
/// let names = modreg_plugins::enabled_plugins();
/// assert_eq!(names.len(), names.iter().collect::<std::collections::BTreeSet<_>>().len());
/// ```
pub fn enabled_plugins() -> Vec<&'static str> {
    let mut names = Vec::new();
    if cfg!(feature = "compression") {
        names.extend([
            "gzip-compress",
            "gzip-decompress",
            "zstd-compress",
            "zstd-decompress",
        ]);
    }
    if cfg!(feature = "hashing") {
        names.extend(["sha256", "blake3"]);
    }
    if cfg!(feature = "encoding") {
        names.extend(["base64-encode", "base64-decode", "hex-encode", "hex-decode"]);
    }
    if cfg!(feature = "encryption") {
        names.extend(["chacha20poly1305-encrypt", "chacha20poly1305-decrypt"]);
    }
    names
}
