//! The conformance kit: what any guest implementing the bundled hex codec must answer, in any
//! language, checked through the host as a user would call it.
//!
//! [`check_hex_codec`] loads a module's bytes into a registry of its own, finds the plugins it
//! lists with the capabilities `encoding`+`hex` and `decoding`+`hex`, and runs every case of
//! [`CASES`] against them: the codec's answers (empty input, every byte value, either case,
//! whitespace, odd lengths and characters that are not digits, 1 MiB round trips, eight threads
//! at once) and the sandbox's limits met by hostile inputs (an output over the cap, memory
//! over the cap, a spent time budget or fuel cap), after each of which the codec must still
//! answer. The expected answers are computed here, not taken from another implementation.
//!
//! `modreg conformance FILE.wasm` runs it from the command line; the tests run it over the
//! Rust guest and the C guest (`examples/wasm-guests/`).

use std::fmt;
use std::time::{Duration, Instant};

use modreg_core::{Plugin, PluginError, PluginErrorKind};
use modreg_host::ModuleRegistry;

use crate::config::{WasmConfig, WasmEngine};
use crate::load::Wasm;

/// One case of the kit: its name, what it checks, and the check.
#[derive(Clone, Copy)]
pub struct Case {
    /// A short name, kebab-case.
    pub name: &'static str,
    /// What a conforming guest does.
    pub expects: &'static str,
    run: fn(&Codec) -> Result<(), String>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("expects", &self.expects)
            .finish_non_exhaustive()
    }
}

/// How one case went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseOutcome {
    /// The case's name.
    pub name: &'static str,
    /// `Ok`, or what the guest did instead.
    pub result: Result<(), String>,
    /// How long the case took.
    pub took: Duration,
}

/// What [`check_hex_codec`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConformanceReport {
    /// The module checked.
    pub module: String,
    /// The names of its encoder and decoder, once found.
    pub plugins: Option<(String, String)>,
    /// Every case, in [`CASES`] order (none when the module lists no hex codec).
    pub cases: Vec<CaseOutcome>,
}

impl ConformanceReport {
    /// Whether the module lists a hex codec and passed every case.
    pub fn conforms(&self) -> bool {
        self.plugins.is_some() && self.cases.iter().all(|case| case.result.is_ok())
    }

    /// How many cases passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|case| case.result.is_ok()).count()
    }
}

impl fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.plugins {
            Some((encode, decode)) => {
                writeln!(f, "{}: hex codec `{encode}` / `{decode}`", self.module)?;
            }
            None => {
                return writeln!(
                    f,
                    "{}: lists no plugin with the capabilities `encoding`+`hex` and no `decoding`+`hex` one",
                    self.module
                );
            }
        }
        for case in &self.cases {
            match &case.result {
                Ok(()) => writeln!(f, "  ok    {:<28} {:>9.1?}", case.name, case.took)?,
                Err(why) => writeln!(f, "  FAIL  {:<28} {why}", case.name)?,
            }
        }
        writeln!(
            f,
            "{} of {} cases passed: {}",
            self.passed(),
            self.cases.len(),
            if self.conforms() {
                "conforms"
            } else {
                "does not conform"
            }
        )
    }
}

/// A module under test: its bytes and the plugins it lists.
struct Codec<'a> {
    module: &'a str,
    /// The engine every registry of the kit runs it in.
    engine: WasmEngine,
    bytes: &'a [u8],
    encode: String,
    decode: String,
}

impl Codec<'_> {
    /// A registry of its own with the module loaded under `config`.
    fn host(&self, config: WasmConfig) -> Result<(ModuleRegistry, Wasm), String> {
        let registry = ModuleRegistry::new();
        let wasm = Wasm::new();
        let sandbox = wasm.on(&registry);
        sandbox
            .configure_wasm(config.with_engine(self.engine))
            .map_err(|e| format!("the configuration is refused: {e}"))?;
        sandbox
            .load_wasm_bytes(self.module, self.bytes, None)
            .map_err(|e| format!("the module does not load: {e}"))?;
        Ok((registry, wasm))
    }

    fn create(registry: &ModuleRegistry, name: &str) -> Result<Box<dyn Plugin>, String> {
        registry
            .create_plugin(name)
            .map_err(|e| format!("`{name}` cannot be created: {e}"))
    }

    /// Runs `name` on `input` in a registry with the default limits.
    fn call(&self, name: &str, input: &[u8]) -> Result<Result<Vec<u8>, PluginError>, String> {
        let (registry, _wasm) = self.host(WasmConfig::new())?;
        Ok(Self::create(&registry, name)?.process(input))
    }

    fn encodes(&self, input: &[u8]) -> Result<(), String> {
        expect_output(&self.encode, self.call(&self.encode, input)?, &hex(input))
    }

    fn decodes(&self, input: &[u8], expected: &[u8]) -> Result<(), String> {
        expect_output(&self.decode, self.call(&self.decode, input)?, expected)
    }

    fn refuses(&self, input: &[u8]) -> Result<(), String> {
        match self.call(&self.decode, input)? {
            Err(e) if matches!(e.kind(), PluginErrorKind::Processing { .. }) => Ok(()),
            other => Err(format!(
                "decoding {:?} answered {}; expected the plugin's own error (status 1)",
                String::from_utf8_lossy(input),
                shown(&other)
            )),
        }
    }

    /// Runs the encoder on `input` under `config`: the error must pass `expected`, then the
    /// same plugin, created again, must still encode a small input.
    fn limited(
        &self,
        config: WasmConfig,
        input: &[u8],
        expected: fn(&PluginErrorKind) -> bool,
        within: Duration,
    ) -> Result<(), String> {
        let (registry, _wasm) = self.host(config)?;
        let plugin = Self::create(&registry, &self.encode)?;
        let started = Instant::now();
        let answer = plugin.process(input);
        let took = started.elapsed();
        match &answer {
            Err(e) if expected(e.kind()) => {}
            other => return Err(format!("answered {}", shown(other))),
        }
        if took > within {
            return Err(format!("stopped after {took:?}, not within {within:?}"));
        }
        let again = Self::create(&registry, &self.encode)?.process(b"ok");
        expect_output(&self.encode, again, b"6f6b")
            .map_err(|e| format!("after the limit, the codec no longer answers: {e}"))
    }
}

fn shown(answer: &Result<Vec<u8>, PluginError>) -> String {
    match answer {
        Ok(bytes) if bytes.len() <= 64 => format!("{:?}", String::from_utf8_lossy(bytes)),
        Ok(bytes) => format!("{} bytes", bytes.len()),
        Err(e) => format!("the error `{e}` ({:?})", e.kind()),
    }
}

fn expect_output(
    plugin: &str,
    answer: Result<Vec<u8>, PluginError>,
    expected: &[u8],
) -> Result<(), String> {
    match answer {
        Ok(output) if output == expected => Ok(()),
        Ok(output) => {
            let at = output
                .iter()
                .zip(expected)
                .position(|(a, b)| a != b)
                .unwrap_or(output.len().min(expected.len()));
            Err(format!(
                "`{plugin}` answered {} bytes, expected {}; they differ from byte {at}",
                output.len(),
                expected.len()
            ))
        }
        Err(e) => Err(format!("`{plugin}` failed: {e}")),
    }
}

/// `bytes` as lowercase hex, the reference the guest is held to.
fn hex(bytes: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .collect()
}

/// `len` bytes from a fixed sequence (a 64-bit LCG), the same on every run.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}

fn every_byte() -> Vec<u8> {
    (0..=u8::MAX).collect()
}

/// Every case, in the order they run.
pub const CASES: &[Case] = &[
    Case {
        name: "encode-empty",
        expects: "an empty input encodes to nothing",
        run: |c| c.encodes(b""),
    },
    Case {
        name: "decode-empty",
        expects: "an empty input decodes to nothing",
        run: |c| c.decodes(b"", b""),
    },
    Case {
        name: "encode-every-byte",
        expects: "bytes 0 to 255 encode to two lowercase digits each",
        run: |c| c.encodes(&every_byte()),
    },
    Case {
        name: "decode-lowercase",
        expects: "lowercase digits decode to bytes 0 to 255",
        run: |c| c.decodes(&hex(&every_byte()), &every_byte()),
    },
    Case {
        name: "decode-uppercase",
        expects: "uppercase digits decode as lowercase ones",
        run: |c| c.decodes(&hex(&every_byte()).to_ascii_uppercase(), &every_byte()),
    },
    Case {
        name: "decode-mixed-case",
        expects: "digits of either case in one input",
        run: |c| c.decodes(b"aBcD", &[0xab, 0xcd]),
    },
    Case {
        name: "decode-skips-whitespace",
        expects: "space, tab, line feed, form feed and carriage return are skipped, even inside a pair",
        run: |c| c.decodes(b" 6 8\t69\n6a\x0c\r", b"hij"),
    },
    Case {
        name: "decode-odd-length",
        expects: "an odd count of digits is the plugin's own error",
        run: |c| c.refuses(b"686"),
    },
    Case {
        name: "decode-only-whitespace-odd",
        expects: "one digit among whitespace is an odd count",
        run: |c| c.refuses(b" a \n"),
    },
    Case {
        name: "decode-not-a-digit",
        expects: "a character that is not a digit is the plugin's own error",
        run: |c| c.refuses(b"zz"),
    },
    Case {
        name: "decode-not-a-digit-late",
        expects: "a bad character after good pairs is refused, not cut off",
        run: |c| c.refuses(b"6869g0"),
    },
    Case {
        name: "decode-vertical-tab",
        expects: "a vertical tab is not whitespace here (Rust's `is_ascii_whitespace`)",
        run: |c| c.refuses(b"68\x0b69"),
    },
    Case {
        name: "decode-non-ascii",
        expects: "a byte over 0x7f is refused",
        run: |c| c.refuses(&[b'6', 0xe9]),
    },
    Case {
        name: "survives-own-error",
        expects: "an instance that answered an error answers the next call",
        run: |c| {
            let (registry, _wasm) = c.host(WasmConfig::new())?;
            let plugin = Codec::create(&registry, &c.decode)?;
            if plugin.process(b"zz").is_ok() {
                return Err("`zz` decoded".into());
            }
            expect_output(&c.decode, plugin.process(b"6869"), b"hi")
        },
    },
    Case {
        name: "round-trip-64-bytes",
        expects: "decode(encode(x)) is x for 64 bytes",
        run: |c| round_trip(c, &noise(64, 1)),
    },
    Case {
        name: "round-trip-1-mib",
        expects: "decode(encode(x)) is x for 1 MiB, and encode matches the reference",
        run: |c| round_trip(c, &noise(1 << 20, 2)),
    },
    Case {
        name: "calls-do-not-share-state",
        expects: "the same call on one instance answers the same every time",
        run: |c| {
            let (registry, _wasm) = c.host(WasmConfig::new())?;
            let plugin = Codec::create(&registry, &c.encode)?;
            let input = noise(4096, 3);
            for _ in 0..20 {
                expect_output(&c.encode, plugin.process(&input), &hex(&input))?;
                expect_output(&c.encode, plugin.process(b""), b"")?;
            }
            Ok(())
        },
    },
    Case {
        name: "eight-threads",
        expects: "8 threads calling one instance at once each get their own answer",
        run: |c| {
            let (registry, _wasm) = c.host(WasmConfig::new())?;
            let encode = Codec::create(&registry, &c.encode)?;
            let decode = Codec::create(&registry, &c.decode)?;
            std::thread::scope(|scope| {
                let workers: Vec<_> = (0..8u64)
                    .map(|thread| {
                        let (encode, decode) = (&encode, &decode);
                        scope.spawn(move || -> Result<(), String> {
                            for call in 0..25 {
                                let input = noise(100 + call, thread * 100 + call as u64);
                                let encoded = hex(&input);
                                expect_output(c.encode.as_str(), encode.process(&input), &encoded)?;
                                expect_output(c.decode.as_str(), decode.process(&encoded), &input)?;
                            }
                            Ok(())
                        })
                    })
                    .collect();
                workers.into_iter().try_for_each(|worker| {
                    worker.join().map_err(|_| "a thread panicked".to_owned())?
                })
            })
        },
    },
    Case {
        name: "output-over-the-cap",
        expects: "an answer longer than the output cap is refused before it is copied (TooLarge)",
        run: |c| {
            c.limited(
                WasmConfig::new().with_max_output_bytes(1 << 20),
                &noise(600 << 10, 4),
                |kind| matches!(kind, PluginErrorKind::TooLarge { what: "output", .. }),
                Duration::from_secs(5),
            )
        },
    },
    Case {
        name: "memory-over-the-cap",
        expects: "growing past the memory cap stops the guest (MemoryLimit)",
        run: |c| {
            c.limited(
                WasmConfig::new().with_memory_limit(4 << 20),
                &noise(3 << 20, 5),
                |kind| matches!(kind, PluginErrorKind::MemoryLimit { limit, .. } if *limit == 4 << 20),
                Duration::from_secs(5),
            )
        },
    },
    Case {
        name: "time-budget-spent",
        expects: "a call past its time budget is stopped soon after it (Timeout)",
        run: |c| {
            c.limited(
                WasmConfig::new().with_time_budget(Duration::from_millis(2)),
                &noise(8 << 20, 6),
                |kind| matches!(kind, PluginErrorKind::Timeout { .. }),
                Duration::from_secs(1),
            )
        },
    },
    Case {
        name: "fuel-spent",
        expects: "a call past its fuel cap is stopped (Trapped, fuel)",
        run: |c| {
            c.limited(
                WasmConfig::new().with_fuel(100_000),
                &noise(1 << 20, 7),
                |kind| matches!(kind, PluginErrorKind::Trapped { trap, .. } if trap.contains("fuel")),
                Duration::from_secs(5),
            )
        },
    },
];

fn round_trip(codec: &Codec, input: &[u8]) -> Result<(), String> {
    let (registry, _wasm) = codec.host(WasmConfig::new())?;
    let encoded = Codec::create(&registry, &codec.encode)?.process(input);
    let encoded = encoded.map_err(|e| format!("`{}` failed: {e}", codec.encode))?;
    expect_output(&codec.encode, Ok(encoded.clone()), &hex(input))?;
    expect_output(
        &codec.decode,
        Codec::create(&registry, &codec.decode)?.process(&encoded),
        input,
    )
}

/// Loads `bytes` (a module named `module`) and runs every case of [`CASES`] against the hex
/// codec it lists. `Err` when the module does not load at all (the host's reason).
pub fn check_hex_codec(module: &str, bytes: &[u8]) -> Result<ConformanceReport, PluginError> {
    check_hex_codec_in(WasmEngine::Interpreter, module, bytes)
}

/// [`check_hex_codec`] with the module run in `engine`.
pub fn check_hex_codec_in(
    engine: WasmEngine,
    module: &str,
    bytes: &[u8],
) -> Result<ConformanceReport, PluginError> {
    let registry = ModuleRegistry::new();
    let wasm = Wasm::new();
    let sandbox = wasm.on(&registry);
    sandbox.configure_wasm(WasmConfig::new().with_engine(engine))?;
    let names = sandbox.load_wasm_bytes(module, bytes, None)?;
    // Read from what the module's section declared: no plugin is made to find them.
    let with = |wanted: [&str; 2]| {
        names.iter().find(|name| {
            registry
                .plugin(name)
                .is_some_and(|info| wanted.iter().all(|w| info.has_capability(w)))
        })
    };
    let mut report = ConformanceReport {
        module: module.to_owned(),
        plugins: None,
        cases: Vec::new(),
    };
    let (Some(encode), Some(decode)) = (with(["encoding", "hex"]), with(["decoding", "hex"]))
    else {
        return Ok(report);
    };
    let codec = Codec {
        module,
        engine,
        bytes,
        encode: encode.clone(),
        decode: decode.clone(),
    };
    report.plugins = Some((encode.clone(), decode.clone()));
    for case in CASES {
        let started = Instant::now();
        let result = (case.run)(&codec);
        report.cases.push(CaseOutcome {
            name: case.name,
            result,
            took: started.elapsed(),
        });
    }
    Ok(report)
}

/// [`check_hex_codec`] on the module at `path` (a regular file of at most
/// `DEFAULT_WASM_MODULE_BYTES`, 32 MiB), named by its file name.
pub fn check_hex_codec_file(path: &std::path::Path) -> Result<ConformanceReport, PluginError> {
    check_hex_codec_file_in(WasmEngine::Interpreter, path)
}

/// [`check_hex_codec_file`] with the module run in `engine`.
pub fn check_hex_codec_file_in(
    engine: WasmEngine,
    path: &std::path::Path,
) -> Result<ConformanceReport, PluginError> {
    let name = crate::module_file::module_name(path);
    let bytes = crate::module_file::read_capped(path, crate::config::DEFAULT_WASM_MODULE_BYTES)?;
    check_hex_codec_in(engine, &name, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_encoding_is_lowercase_hex() {
        assert_eq!(hex(b"\x00\x7f\xff hi"), b"007fff206869");
        assert_eq!(noise(8, 1), noise(8, 1));
        assert_ne!(noise(8, 1), noise(8, 2));
    }

    #[test]
    fn case_names_are_unique_and_there_are_at_least_twenty() {
        let mut names: Vec<_> = CASES.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CASES.len());
        assert!(CASES.len() >= 20);
    }

    #[test]
    fn a_module_that_is_not_webassembly_does_not_load() {
        assert!(check_hex_codec("junk.wasm", b"not wasm").is_err());
    }
}
