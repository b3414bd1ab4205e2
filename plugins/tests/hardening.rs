//! What a careless or hostile input must not do to the bundled codecs: wrong bytes with
//! success, half a stream with success, or unbounded output.

#![cfg(all(feature = "registered", feature = "compression"))]

use std::io::Write;

use modreg_core::{Plugin, PluginError, PluginErrorKind, PluginSettings};
use modreg_host::{ModuleRegistry, SettingsFromToml};
// Keeps the bundled plugins in this test binary (see the README on linking).
use modreg_plugins as _;

fn create(name: &str) -> Box<dyn Plugin> {
    ModuleRegistry::new().create_plugin(name).unwrap()
}

fn create_with(name: &str, settings: &str) -> Box<dyn Plugin> {
    let registry = ModuleRegistry::new();
    registry
        .registrations()
        .set_plugin_settings(name, PluginSettings::from_toml(settings).unwrap())
        .unwrap();
    registry.create_plugin(name).unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn a_corrupted_zstd_frame_never_decodes_to_other_bytes() {
    let original: Vec<u8> = (0..4096u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
    let frame = create("zstd-compress").process(&original).unwrap();
    let decompress = create("zstd-decompress");
    let mut wrong = Vec::new();
    for bit in 0..frame.len() * 8 {
        let mut corrupted = frame.clone();
        corrupted[bit / 8] ^= 1 << (bit % 8);
        if let Ok(out) = decompress.process(&corrupted)
            && out != original
        {
            wrong.push(bit);
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} single-bit corruptions decoded to other bytes with success",
        wrong.len(),
        frame.len() * 8
    );
}

#[test]
fn gzip_decodes_every_member_and_refuses_trailing_garbage() {
    let decompress = create("gzip-decompress");
    let two = [gzip(b"first "), gzip(b"second")].concat();
    assert_eq!(decompress.process(&two).unwrap(), b"first second");
    let mut trailing = gzip(b"payload");
    trailing.extend_from_slice(b"garbage after the member");
    assert!(decompress.process(&trailing).is_err());
}

#[test]
fn decompression_output_is_limited() {
    let bomb_gzip = gzip(&vec![0u8; 4 << 20]);
    let bomb_zstd = create("zstd-compress")
        .process(&vec![0u8; 4 << 20])
        .unwrap();
    for (name, bomb) in [
        ("gzip-decompress", &bomb_gzip),
        ("zstd-decompress", &bomb_zstd),
    ] {
        let limited = create_with(name, "max_output_bytes = 1048576");
        match limited.process(bomb).as_ref().map_err(PluginError::kind) {
            Err(PluginErrorKind::TooLarge {
                what: "output",
                size,
                limit,
                ..
            }) => {
                assert_eq!(*limit, 1 << 20);
                assert!(size > limit, "{name}: {size}");
            }
            other => panic!("{name}: {:?}", other.map(Vec::len)),
        }
        // The default limit lets an ordinary input through.
        assert_eq!(create(name).process(bomb).unwrap().len(), 4 << 20, "{name}");
    }
    // With no setting, the default limit holds (zstd is fast enough to build a bomb of
    // exactly one byte over it here).
    let default = modreg_plugins::compression::DEFAULT_MAX_OUTPUT_BYTES;
    let over = create("zstd-compress")
        .process(&vec![0u8; default + 1])
        .unwrap();
    assert!(matches!(
        create("zstd-decompress").process(&over).as_ref().map_err(PluginError::kind),
        Err(PluginErrorKind::TooLarge { limit, .. }) if *limit == default
    ));
    let zero = ModuleRegistry::new();
    zero.registrations()
        .set_plugin_settings(
            "gzip-decompress",
            PluginSettings::from_toml("max_output_bytes = 0").unwrap(),
        )
        .unwrap();
    assert!(matches!(
        zero.create_plugin("gzip-decompress")
            .as_ref()
            .map_err(PluginError::kind),
        Err(PluginErrorKind::Configuration { .. })
    ));
}

#[test]
fn zstd_frames_without_a_checksum_are_refused_unless_the_settings_accept_them() {
    let data = b"the quick brown fox jumps over the lazy dog".repeat(8);
    // The library's default frame has no checksum: a flipped bit could decode to wrong bytes.
    let bare = zstd::bulk::compress(&data, 3).unwrap();
    let err = create("zstd-decompress").process(&bare).unwrap_err();
    assert!(err.to_string().contains("no content checksum"), "{err}");
    let lenient = create_with("zstd-decompress", "require_checksum = false");
    assert_eq!(lenient.process(&bare).unwrap(), data);
    // Our own frames carry one, alone or concatenated with another.
    let ours = create("zstd-compress").process(&data).unwrap();
    assert_eq!(create("zstd-decompress").process(&ours).unwrap(), data);
    let two = [ours.clone(), ours].concat();
    assert_eq!(
        create("zstd-decompress").process(&two).unwrap(),
        data.repeat(2)
    );
    // A checksummed frame followed by a bare one is refused: every frame is checked.
    let mixed = [create("zstd-compress").process(&data).unwrap(), bare].concat();
    assert!(create("zstd-decompress").process(&mixed).is_err());
}

/// The compressors and decompressors listen for cancellation between chunks: a call whose
/// caller gave up stops with `Cancelled`, and the same call outside a cancelled scope runs.
#[test]
fn a_call_whose_caller_gave_up_stops_with_cancelled() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    let data = vec![7u8; 1 << 20];
    let compressed = create("gzip-compress").process(&data).unwrap();
    let given_up = Arc::new(AtomicBool::new(true));
    for (name, input) in [("gzip-compress", &data), ("gzip-decompress", &compressed)] {
        let plugin = create(name);
        let error = modreg_core::cancel::with_cancellation(&given_up, || plugin.process(input))
            .unwrap_err();
        assert!(
            matches!(error.kind(), PluginErrorKind::Cancelled { plugin } if plugin == name),
            "{name}: {error}"
        );
        assert!(plugin.process(input).is_ok(), "{name}");
    }
}
