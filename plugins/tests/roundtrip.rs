//! Every pair of bundled plugins round-trips, through the registry as a user would call them.

#![cfg(feature = "registered")]

use modreg_core::{Plugin, PluginErrorKind, PluginSettings};
use modreg_host::{ModuleRegistry, SettingsFromToml};
use proptest::prelude::*;

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn create(name: &str) -> Box<dyn Plugin> {
    let registry = ModuleRegistry::new();
    if name.starts_with("chacha20poly1305") {
        let settings = PluginSettings::from_toml(&format!("key = \"{KEY}\"")).unwrap();
        registry
            .registrations()
            .set_plugin_settings(name, settings)
            .unwrap();
    }
    registry
        .create_plugin(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn pairs() -> Vec<(&'static str, &'static str)> {
    let mut pairs = Vec::new();
    if cfg!(feature = "compression") {
        pairs.extend([
            ("gzip-compress", "gzip-decompress"),
            ("zstd-compress", "zstd-decompress"),
        ]);
    }
    if cfg!(feature = "encoding") {
        pairs.extend([
            ("base64-encode", "base64-decode"),
            ("hex-encode", "hex-decode"),
        ]);
    }
    if cfg!(feature = "encryption") {
        pairs.push(("chacha20poly1305-encrypt", "chacha20poly1305-decrypt"));
    }
    pairs
}

#[test]
fn every_enabled_plugin_is_registered() {
    let registry = ModuleRegistry::new();
    registry
        .catalog()
        .expect_plugins(modreg_plugins::enabled_plugins())
        .unwrap();
}

#[test]
fn fixed_inputs_round_trip() {
    for (forward, back) in pairs() {
        for input in [
            &b""[..],
            b"a",
            b"hello hello hello hello",
            &[0u8, 255, 7, 13][..],
        ] {
            let encoded = create(forward).process(input).unwrap();
            let decoded = create(back).process(&encoded).unwrap();
            assert_eq!(decoded, input, "{forward} then {back}");
        }
    }
}

proptest! {
    #[test]
    fn random_inputs_round_trip(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for (forward, back) in pairs() {
            let encoded = create(forward).process(&input).unwrap();
            prop_assert_eq!(create(back).process(&encoded).unwrap(), input.clone(), "{} then {}", forward, back);
        }
    }

    #[test]
    fn decoders_never_panic_on_garbage(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        for (_, back) in pairs() {
            let _ = create(back).process(&input);
        }
    }
}

#[cfg(feature = "hashing")]
#[test]
fn digests_match_known_vectors() {
    let sha = create("sha256").process(b"abc").unwrap();
    assert_eq!(
        sha,
        hex_literal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    let blake = create("blake3").process(b"").unwrap();
    assert_eq!(
        blake,
        hex_literal("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
    );
}

#[cfg(feature = "hashing")]
fn hex_literal(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[cfg(feature = "encryption")]
mod encryption {
    use super::*;

    #[test]
    fn tampered_ciphertext_is_an_error_not_garbage() {
        let sealed = create("chacha20poly1305-encrypt")
            .process(b"secret")
            .unwrap();
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 1;
            let err = create("chacha20poly1305-decrypt")
                .process(&tampered)
                .unwrap_err();
            assert!(
                matches!(err.kind(), PluginErrorKind::Processing { .. }),
                "byte {i}: {err}"
            );
        }
        let short = create("chacha20poly1305-decrypt")
            .process(&sealed[..20])
            .unwrap_err();
        assert!(short.to_string().contains("shorter"), "{short}");
    }

    #[test]
    fn nonces_differ_between_calls() {
        let plugin = create("chacha20poly1305-encrypt");
        assert_ne!(plugin.process(b"x").unwrap(), plugin.process(b"x").unwrap());
    }

    #[test]
    fn missing_or_bad_key_is_a_configuration_error() {
        let registry = ModuleRegistry::new();
        let err = registry
            .create_plugin("chacha20poly1305-encrypt")
            .err()
            .unwrap();
        assert!(err.to_string().contains("missing field `key`"), "{err}");
        let error_with = |key: &str| {
            registry
                .registrations()
                .set_plugin_settings(
                    "chacha20poly1305-decrypt",
                    PluginSettings::from_toml(&format!("key = \"{key}\"")).unwrap(),
                )
                .unwrap();
            registry
                .create_plugin("chacha20poly1305-decrypt")
                .err()
                .unwrap()
                .to_string()
        };
        let err = error_with("abcd");
        assert!(err.contains("32 bytes"), "{err}");
        // A key that is not hex: the error never shows a character of it.
        let err = error_with(&format!("{}z", &KEY[..63]));
        assert!(err.contains("64 hex digits"), "{err}");
        assert!(!err.contains('z'), "{err}");
    }
}

#[cfg(feature = "compression")]
#[test]
fn compression_levels_are_validated() {
    let registry = ModuleRegistry::new();
    registry
        .registrations()
        .set_plugin_settings(
            "gzip-compress",
            PluginSettings::from_toml("level = 12").unwrap(),
        )
        .unwrap();
    let err = registry.create_plugin("gzip-compress").err().unwrap();
    assert!(err.to_string().contains("outside 0..=9"), "{err}");
    registry
        .registrations()
        .set_plugin_settings(
            "zstd-compress",
            PluginSettings::from_toml("levle = 3").unwrap(),
        )
        .unwrap();
    let err = registry.create_plugin("zstd-compress").err().unwrap();
    assert!(err.to_string().contains("levle"), "{err}");
}
