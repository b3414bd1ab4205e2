//! Every bundled plugin's stream agrees with its `process`: the same output for the same
//! input, or an error from both, whatever sizes the input arrives and the output is read in.
//! The streams are taken through the registry, as a caller gets them.

#![cfg(all(
    feature = "registered",
    feature = "compression",
    feature = "encoding",
    feature = "hashing"
))]

use std::io::{self, Read};

use modreg_core::stream::{from_io, into_io};
use modreg_core::{Plugin, PluginError};
use modreg_host::ModuleRegistry;
use modreg_plugins as _;
use proptest::prelude::*;

const STREAMING: [&str; 10] = [
    "gzip-compress",
    "gzip-decompress",
    "zstd-compress",
    "zstd-decompress",
    "base64-encode",
    "base64-decode",
    "hex-encode",
    "hex-decode",
    "sha256",
    "blake3",
];

/// `data` handed out `step` bytes at a time (varying with the position), as a pipe does.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let step = 1 + (self.step + self.at) % (2 * self.step + 1);
        let n = step.min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// `plugin`'s stream over `data`, read `read_size` bytes at a time.
fn streamed(
    plugin: &dyn Plugin,
    data: &[u8],
    step: usize,
    read_size: usize,
) -> Result<Vec<u8>, PluginError> {
    let input = Trickle {
        data: data.to_vec(),
        at: 0,
        step,
    };
    let mut output = plugin.stream(Box::new(input));
    let mut out = Vec::new();
    let mut buf = vec![0; read_size];
    loop {
        match output.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(error) => return Err(from_io(error, plugin.name())),
        }
    }
}

/// Inputs each plugin is fair to be given: its own kind of input, valid or not.
fn input_for(name: &str, raw: &[u8], spaced: bool) -> Vec<u8> {
    let text = |encoded: String| {
        if spaced {
            // Line breaks every 7 symbols, as wrapped text has.
            encoded
                .as_bytes()
                .chunks(7)
                .flat_map(|c| c.iter().copied().chain(*b"\n"))
                .collect()
        } else {
            encoded.into_bytes()
        }
    };
    match name {
        "gzip-decompress" => ModuleRegistry::new()
            .create_plugin("gzip-compress")
            .unwrap()
            .process(raw)
            .unwrap(),
        "zstd-decompress" => ModuleRegistry::new()
            .create_plugin("zstd-compress")
            .unwrap()
            .process(raw)
            .unwrap(),
        "base64-decode" => {
            use base64::Engine;
            text(base64::engine::general_purpose::STANDARD.encode(raw))
        }
        "hex-decode" => text(hex::encode(raw)),
        _ => raw.to_vec(),
    }
}

fn agree(name: &str, data: &[u8], step: usize, read_size: usize) -> Result<(), TestCaseError> {
    let plugin = ModuleRegistry::new().create_plugin(name).unwrap();
    prop_assert!(plugin.streams(), "{} streams", name);
    let whole = plugin.process(data);
    let streamed = streamed(&*plugin, data, step, read_size);
    match (&whole, &streamed) {
        // A zstd stream does not know its content's size up front, so its frame header
        // differs from `process`'s: the same content either way.
        (Ok(_), Ok(b)) if name == "zstd-compress" => {
            let decompress = ModuleRegistry::new()
                .create_plugin("zstd-decompress")
                .unwrap();
            prop_assert!(decompress.process(b).unwrap() == data, "{}", name);
        }
        (Ok(a), Ok(b)) => prop_assert!(
            a == b,
            "{name}: {} bytes against {} bytes",
            a.len(),
            b.len()
        ),
        (Err(_), Err(_)) => {}
        _ => prop_assert!(false, "{name}: process {whole:?}, stream {streamed:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_stream_gives_what_process_gives(
        raw in proptest::collection::vec(any::<u8>(), 0..3000),
        step in 1usize..200,
        read_size in 1usize..5000,
        spaced in any::<bool>(),
    ) {
        for name in STREAMING {
            agree(name, &input_for(name, &raw, spaced), step, read_size)?;
        }
    }

    #[test]
    fn on_bad_input_a_stream_fails_where_process_fails(
        raw in proptest::collection::vec(any::<u8>(), 0..600),
        flip in any::<usize>(),
        cut in any::<usize>(),
        step in 1usize..50,
    ) {
        for name in STREAMING {
            let mut data = input_for(name, &raw, false);
            if !data.is_empty() {
                let at = flip % data.len();
                data[at] ^= 0x20;
                data.truncate(data.len() - cut % (data.len() / 2 + 1));
            }
            agree(name, &data, step, 777)?;
        }
    }
}

#[test]
fn padding_before_the_end_and_odd_digits_are_errors_in_a_stream_too() {
    for (name, data) in [
        ("base64-decode", &b"aGk=aGk="[..]),
        ("base64-decode", b"aGk"),
        ("hex-decode", b"abc"),
        ("hex-decode", b"zz"),
        ("gzip-decompress", b"not gzip"),
        ("zstd-decompress", b"not zstd at all"),
    ] {
        let plugin = ModuleRegistry::new().create_plugin(name).unwrap();
        assert!(plugin.process(data).is_err(), "{name} {data:?}");
        assert!(streamed(&*plugin, data, 1, 3).is_err(), "{name} {data:?}");
    }
}

#[test]
fn an_earlier_stage_error_passes_through_a_stream_unchanged() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(into_io(PluginError::processing("upstream", "it broke")))
        }
    }
    for name in STREAMING {
        let plugin = ModuleRegistry::new().create_plugin(name).unwrap();
        // (A gzip stream writes its header before it reads anything.)
        let error = plugin
            .stream(Box::new(Broken))
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        let error = from_io(error, name);
        assert_eq!(
            error.to_string(),
            PluginError::processing("upstream", "it broke").to_string(),
            "{name}"
        );
    }
}

#[test]
fn a_zstd_frame_without_a_checksum_is_refused_in_a_stream_too() {
    let bare = zstd::bulk::compress(b"no checksum here", 3).unwrap();
    let plugin = ModuleRegistry::new()
        .create_plugin("zstd-decompress")
        .unwrap();
    let error = streamed(&*plugin, &bare, 3, 64).unwrap_err();
    assert!(error.to_string().contains("checksum"), "{error}");
}
