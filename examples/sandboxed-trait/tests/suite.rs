//! One conformance suite over a user's own trait, run unchanged over the plugin linked in and
//! over the same source built to WebAssembly and loaded into the sandbox.

#[path = "../../../tests/support/seeded.rs"]
mod seeded;
#[path = "../../../tests/support/wasm_guests.rs"]
mod wasm_guests;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use modreg::{ModuleRegistry, PluginErrorKind, WasmConfig, WasmEngine};
use sandboxed_trait::{Order, PRICING, Pricing, PricingError, Verdict};

/// Runs a future that finishes when first polled: the proxy's make their guest call then.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future waited"),
    }
}

fn order(item: &str, quantity: u32) -> Order {
    Order {
        item: item.to_owned(),
        quantity,
        express: false,
        coupon: None,
        note: String::new(),
    }
}

fn fnv(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

type Case = (&'static str, fn(&dyn Pricing) -> Result<(), String>);

#[expect(
    clippy::needless_pass_by_value,
    reason = "each case passes the values it made"
)]
fn same<T: PartialEq + std::fmt::Debug>(got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("got {got:?}, want {want:?}"))
    }
}

/// The suite: every case over `&dyn Pricing`, nothing else.
const CASES: &[Case] = &[
    ("a quote of a plain order", |p| {
        same(p.quote(&order("apple", 3)), Ok(150))
    }),
    ("an express quote adds 10 %", |p| {
        same(
            p.quote(&Order {
                express: true,
                ..order("bread", 2)
            }),
            Ok(660),
        )
    }),
    ("a coupon halves the total", |p| {
        same(
            p.quote(&Order {
                coupon: Some("HALF".into()),
                ..order("bread", 2)
            }),
            Ok(300),
        )
    }),
    (
        "an unknown coupon is the plugin's error, with its value",
        |p| {
            same(
                p.quote(&Order {
                    coupon: Some("FREE".into()),
                    ..order("apple", 1)
                }),
                Err(PricingError::BadCoupon("FREE".into())),
            )
        },
    ),
    ("a zero quantity is a unit error variant", |p| {
        same(p.quote(&order("apple", 0)), Err(PricingError::ZeroQuantity))
    }),
    ("an unknown item is an error naming it", |p| {
        same(
            p.quote(&order("pear", 1)),
            Err(PricingError::UnknownItem("pear".into())),
        )
    }),
    ("an overflowing total is an error, not a wrap", |p| {
        same(p.quote(&order("gold", 1000)), Err(PricingError::Overflow))
    }),
    (
        "a check accepts with the total (enum, struct variant)",
        |p| {
            same(
                p.check(order("apple", 2)),
                Ok(Verdict::Accepted { total_cents: 100 }),
            )
        },
    ),
    ("a check backorders what is out of stock", |p| {
        same(
            p.check(order("cheese", 1)),
            Ok(Verdict::Backordered { available: 0 }),
        )
    }),
    (
        "a check rejects an order without an item (enum, tuple variant)",
        |p| {
            same(
                p.check(order("", 1)),
                Ok(Verdict::Rejected("an order names its item".into())),
            )
        },
    ),
    ("a check of an unknown item is an error", |p| {
        same(
            p.check(order("pear", 1)),
            Err(PricingError::UnknownItem("pear".into())),
        )
    }),
    ("a description is formatted by the plugin", |p| {
        same(
            p.describe("bread"),
            Ok("bread: 3.00 each, 5 in stock".to_owned()),
        )
    }),
    ("a non-ASCII name travels intact in an error", |p| {
        same(
            p.describe("crème brûlée ✓"),
            Err(PricingError::UnknownItem("crème brûlée ✓".into())),
        )
    }),
    ("a 4 KiB name travels intact", |p| {
        let long = "x".repeat(4096);
        same(
            p.describe(&long),
            Err(PricingError::UnknownItem(long.clone())),
        )
    }),
    ("the checksum of nothing is the offset basis", |p| {
        same(p.checksum(&[]), Ok(0x811c_9dc5))
    }),
    ("the checksum of a known vector", |p| {
        same(p.checksum(b"a"), Ok(0xe40c_292c))
    }),
    ("the checksum of 64 KiB of every byte value", |p| {
        let data: Vec<u8> = (0..65_536u32).map(|i| (i % 251) as u8).collect();
        same(p.checksum(&data), Ok(fnv(&data)))
    }),
    ("an async restock within stock", |p| {
        same(
            ready(p.restock("apple", 10)),
            Ok(Verdict::Accepted { total_cents: 0 }),
        )
    }),
    ("an async restock past stock", |p| {
        same(
            ready(p.restock("bread", 6)),
            Ok(Verdict::Backordered { available: 5 }),
        )
    }),
    ("an async method's error", |p| {
        same(
            ready(p.restock("pear", 1)),
            Err(PricingError::UnknownItem("pear".into())),
        )
    }),
    ("a call after an error answers", |p| {
        same(
            p.quote(&order("pear", 1)),
            Err(PricingError::UnknownItem("pear".into())),
        )?;
        same(p.quote(&order("apple", 1)), Ok(50))
    }),
    ("a note does not change the total", |p| {
        same(
            p.quote(&Order {
                note: "leave it by the door".into(),
                ..order("apple", 2)
            }),
            Ok(100),
        )
    }),
    ("100 calls in a row agree", |p| {
        (1..=100).try_for_each(|n| same(p.quote(&order("apple", n)), Ok(50 * u64::from(n))))
    }),
    ("8 threads share one instance", |p| {
        std::thread::scope(|scope| {
            let runs: Vec<_> = (0..8u32)
                .map(|t| {
                    scope.spawn(move || {
                        (0..50u32).try_for_each(|n| {
                            let quantity = t * 50 + n + 1;
                            same(
                                p.quote(&order("apple", quantity)),
                                Ok(50 * u64::from(quantity)),
                            )
                        })
                    })
                })
                .collect();
            runs.into_iter()
                .try_for_each(|run| run.join().expect("no panic"))
        })
    }),
];

fn run_suite(plugin: &dyn Pricing) -> Vec<String> {
    CASES
        .iter()
        .filter_map(|(name, case)| case(plugin).err().map(|e| format!("{name}: {e}")))
        .collect()
}

/// The engines the sandboxed suite runs in: the interpreter (validating at load, and at each
/// function's first call), and compiled code with the `jit` feature.
const ENGINES: &[WasmEngine] = &[
    WasmEngine::Interpreter,
    WasmEngine::LazyInterpreter,
    #[cfg(feature = "jit")]
    WasmEngine::Jit,
    #[cfg(feature = "jit")]
    WasmEngine::JitBaseline,
];

/// A host that loaded the module built from this crate's source: its `catalog` shadows the
/// compiled-in one (the host allows it), so `create_from` hands out the sandboxed one.
fn sandboxed_host(config: WasmConfig) -> ModuleRegistry {
    let host = ModuleRegistry::new();
    host.registrations().add_registry(&PRICING);
    host.wasm()
        .configure_wasm(config.with_replace_compiled(true))
        .unwrap();
    let loaded = host
        .wasm()
        .load_wasm_plugin(wasm_guests::pricing_module())
        .unwrap();
    assert_eq!(loaded, ["catalog"]);
    host
}

#[test]
fn one_suite_passes_natively_and_in_the_sandbox() {
    assert!(CASES.len() >= 20, "{} cases", CASES.len());
    let native = PRICING.create("catalog").unwrap();
    assert_eq!(native.pointer_bits(), Ok(usize::BITS));
    assert_eq!(run_suite(&*native), Vec::<String>::new(), "native");

    for &engine in ENGINES {
        let host = sandboxed_host(WasmConfig::new().with_engine(engine));
        // Found by the host's query as the compiled-in one is, now from the sandbox.
        let found = host.catalog().typed_plugins(&PRICING);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].sandboxed && found[0].has_capabilities(&["pricing", "catalogue"]));
        assert_eq!(found[0].description, "Prices orders from a fixed catalogue");
        let sandboxed = host.instances().create_from(&PRICING, "catalog").unwrap();
        // The same `Box<dyn Pricing>`, running where pointers are 32 bits wide: in the guest.
        assert_eq!(sandboxed.pointer_bits(), Ok(32), "{engine:?}");
        assert_eq!(run_suite(&*sandboxed), Vec::<String>::new(), "{engine:?}");
    }
    let linked_only = ModuleRegistry::new().catalog().typed_plugins(&PRICING);
    assert!(!linked_only[0].sandboxed);
}

#[test]
fn settings_for_a_sandboxed_plugin_are_refused_not_dropped() {
    let host = sandboxed_host(WasmConfig::new());
    host.registrations()
        .set_typed_plugin_settings(
            &PRICING,
            "catalog",
            modreg::PluginSettings::default().with("discount", 10),
        )
        .unwrap();
    let error = host
        .instances()
        .create_from(&PRICING, "catalog")
        .err()
        .expect("refused");
    assert!(
        matches!(error.kind(), PluginErrorKind::Invalid { field, .. } if *field == "plugin settings"),
        "{error}"
    );
}

#[test]
fn the_sandboxs_own_failures_reach_the_caller_as_the_traits_error() {
    // A fuel cap too small for 64 KiB: the sandbox stops the call, and the caller sees the
    // trait's error type, made from the sandbox's typed error.
    let host = sandboxed_host(WasmConfig::new().with_fuel(20_000));
    let pricing = host.instances().create_from(&PRICING, "catalog").unwrap();
    let data = vec![7u8; 65_536];
    match pricing.checksum(&data) {
        Err(PricingError::Plugin(message)) => assert!(message.contains("fuel"), "{message}"),
        other => panic!("{other:?}"),
    }
    // And the next call, in a fresh guest, answers.
    assert_eq!(pricing.quote(&order("apple", 1)), Ok(50));
}

#[test]
fn a_module_built_against_another_version_of_the_trait_is_refused() {
    let bytes = std::fs::read(wasm_guests::pricing_module()).unwrap();
    let fingerprint = <dyn Pricing as modreg::__private_0_1_0::SandboxedTrait>::FINGERPRINT;
    assert_eq!(fingerprint.len(), 16);
    // The same module, its section naming another fingerprint of the same length.
    let other = "0123456789abcdef";
    assert_ne!(fingerprint, other);
    let section = bytes
        .windows(14)
        .position(|w| w == b"modreg.plugins")
        .expect("the module has its plugins section");
    let at = section
        + bytes[section..]
            .windows(16)
            .position(|w| w == fingerprint.as_bytes())
            .expect("the section carries the fingerprint");
    let mut changed = bytes.clone();
    changed[at..at + 16].copy_from_slice(other.as_bytes());

    let host = ModuleRegistry::new();
    host.registrations().add_registry(&PRICING);
    host.wasm()
        .configure_wasm(WasmConfig::new().with_replace_compiled(true))
        .unwrap();
    let error = host
        .wasm()
        .load_wasm_bytes("pricing", &changed, None)
        .unwrap_err();
    match error.kind() {
        PluginErrorKind::TraitMismatch {
            plugin,
            trait_name,
            expected,
            found,
        } => {
            assert_eq!(
                (plugin.as_str(), trait_name.as_str()),
                ("catalog", "Pricing")
            );
            assert_eq!((expected.as_str(), found.as_str()), (fingerprint, other));
        }
        other => panic!("{other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("Pricing") && message.contains(fingerprint) && message.contains(other),
        "{message}"
    );
    // Nothing of the module stays: the compiled-in plugin is what the registry creates.
    assert_eq!(
        host.instances()
            .create_from(&PRICING, "catalog")
            .unwrap()
            .pointer_bits(),
        Ok(usize::BITS)
    );

    // A host that was not given the trait's registry refuses the module by the trait's name.
    let unaware = ModuleRegistry::new();
    let error = unaware
        .wasm()
        .load_wasm_bytes("pricing", &bytes, None)
        .unwrap_err();
    assert!(
        matches!(error.kind(), PluginErrorKind::TraitNotServed { trait_name, .. } if trait_name == "Pricing"),
        "{error}"
    );

    // And one that was, but does not let a module take a compiled-in plugin's name.
    let strict = ModuleRegistry::new();
    strict.registrations().add_registry(&PRICING);
    let error = strict
        .wasm()
        .load_wasm_bytes("pricing", &bytes, None)
        .unwrap_err();
    assert!(
        matches!(error.kind(), PluginErrorKind::AlreadyRegistered { .. }),
        "{error}"
    );
}

/// For any order, item, quantity and bytes, the plugin built to WebAssembly answers every
/// method exactly as the same source linked in does, its own errors included: one source, the
/// same answers, in every engine. (`pointer_bits` differs on purpose and is left out.)
#[test]
fn any_call_answers_the_same_natively_and_in_the_sandbox() {
    use proptest::prelude::*;

    let native = PRICING.create("catalog").unwrap();
    let item = || {
        prop_oneof![
            Just("apple".to_owned()),
            Just("bread".to_owned()),
            Just("cheese".to_owned()),
            Just("gold".to_owned()),
            "\\PC{0,12}",
        ]
    };
    let order = (
        item(),
        prop_oneof![0u32..8, any::<u32>()],
        any::<bool>(),
        proptest::option::of(prop_oneof![Just("HALF".to_owned()), "\\PC{0,8}"]),
        "\\PC{0,64}",
    )
        .prop_map(|(item, quantity, express, coupon, note)| Order {
            item,
            quantity,
            express,
            coupon,
            note,
        });
    let call = (
        order,
        item(),
        any::<u32>(),
        proptest::collection::vec(any::<u8>(), 0..256),
    );
    for &engine in ENGINES {
        let host = sandboxed_host(WasmConfig::new().with_engine(engine));
        let sandboxed = host.instances().create_from(&PRICING, "catalog").unwrap();
        assert_eq!(sandboxed.pointer_bits(), Ok(32), "the one in the sandbox");
        let mut runner = seeded::runner(256);
        runner
            .run(&call, |(order, item, quantity, data)| {
                prop_assert_eq!(sandboxed.quote(&order), native.quote(&order));
                prop_assert_eq!(sandboxed.check(order.clone()), native.check(order.clone()));
                prop_assert_eq!(sandboxed.describe(&item), native.describe(&item));
                prop_assert_eq!(sandboxed.checksum(&data), native.checksum(&data));
                prop_assert_eq!(
                    ready(sandboxed.restock(&item, quantity)),
                    ready(native.restock(&item, quantity))
                );
                Ok(())
            })
            .unwrap_or_else(|failure| panic!("{engine:?}: {failure}"));
    }
}
