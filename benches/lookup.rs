//! Lookup by name, by type and by capability, and `create_plugin`, at 10, 1,000 and 10,000
//! plugins, each beside what a user would otherwise write, in the same run:
//!
//! - `std_hashmap`: a `HashMap<String, fn() -> Box<dyn Plugin>>` registry (std hasher);
//! - `foldhash_hashmap`: the same map with foldhash's fast hasher;
//! - `seed`: the seed system's published crate (`module-registry` 0.1.0 on crates.io):
//!   `has_module` and `create_any` on a registry holding the same plugins;
//! - `hashset_scan`: each plugin's capabilities in a `HashSet<String>`, scanned;
//! - `linear`: a scan with string comparison over every entry, as iterating `inventory` does;
//! - `direct`: `Box::new` of the plugin, for `create_plugin`.
//!
//! The tables are made in memory with the same `const` builder `#[plugin]` expands to, and
//! indexed by the same `PluginIndex` the registry builds from the link-time table.
//!
//! `typed_create` does the same for a registry of a user's own trait (`registry!`), with a real
//! `#[plugin]` in its link-time table.
//!
//! Run: `cargo bench -p modreg --bench lookup`.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use modreg::{
    AdvancedPluginConfiguration, ModuleRegistry, Plugin, PluginBehavior, PluginCapabilityQuery,
    PluginDescriptor, PluginError, PluginIndex, PluginSettings, PluginType, SourceLocation,
};

const SIZES: [usize; 3] = [10, 1_000, 10_000];
const TYPES: [PluginType; 4] = [
    PluginType::DataProcessor,
    PluginType::Analyzer,
    PluginType::Storage,
    PluginType::Security,
];
const HERE: SourceLocation = SourceLocation::new("bench", "bench", "lookup.rs", 1);

/// A plugin with a little state, so that `Box::new` allocates as a real plugin's would.
#[derive(Default)]
struct BenchPlugin {
    key: u64,
}

impl Plugin for BenchPlugin {
    fn name(&self) -> &str {
        "bench"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn plugin_type(&self) -> PluginType {
        PluginType::DataProcessor
    }
    fn capabilities(&self) -> &[String] {
        &[]
    }
    fn initialize(&mut self) -> Result<(), PluginError> {
        Ok(())
    }
    fn cleanup(&mut self) -> Result<(), PluginError> {
        Ok(())
    }
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let key = self.key.to_le_bytes()[0];
        Ok(data.iter().map(|b| b ^ key).collect())
    }
}

fn construct(_: &PluginSettings) -> Result<Box<dyn Plugin>, PluginError> {
    Ok(Box::new(BenchPlugin::default()))
}

fn construct_plain() -> Box<dyn Plugin> {
    Box::new(BenchPlugin::default())
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// `n` descriptors; plugin `i` has capabilities `cap-{i%7}`, `cap-{7+i%11}`, `cap-{18+i%13}`,
/// so the two-capability query `cap-0 & cap-7` matches one plugin in 77.
fn table(n: usize) -> &'static [PluginDescriptor] {
    let descriptors: Vec<PluginDescriptor> = (0..n)
        .map(|i| {
            let caps: &'static [&'static str] = Box::leak(Box::new([
                leak(format!("cap-{}", i % 7)),
                leak(format!("cap-{}", 7 + i % 11)),
                leak(format!("cap-{}", 18 + i % 13)),
            ]));
            PluginDescriptor::new(
                leak(format!("plugin-{i:05}")),
                "1.0.0",
                TYPES[i % TYPES.len()],
                construct,
                HERE,
            )
            .with_capabilities(caps)
            // As `#[plugin]` without `config` writes it.
            .with_infallible_constructor(construct_plain)
        })
        .collect();
    Box::leak(descriptors.into_boxed_slice())
}

/// 1,000 real `#[plugin]` structs of the default registry, as users write them.
macro_rules! real_plugins {
    ($($name:ident)*) => {
        $(
            #[modreg::plugin(type = DataProcessor, capabilities = ["processing"])]
            #[derive(Default)]
            struct $name {
                key: u64,
            }

            impl PluginBehavior for $name {
                fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
                    let key = self.key.to_le_bytes()[0];
                    Ok(data.iter().map(|b| b ^ key).collect())
                }
            }

            impl $name {
                /// What a user's own map would hold for this plugin.
                fn make() -> Box<dyn Plugin> {
                    Box::new($name::default())
                }
            }
        )*

        /// `(name, constructor)` of every real plugin, as a user's own map holds them.
        fn real_makers() -> Vec<(String, Make)> {
            vec![$((stringify!($name).to_ascii_lowercase(), <$name>::make as Make)),*]
        }
    };
}

real_plugins! {
    P000 P001 P002 P003 P004 P005 P006 P007 P008 P009 P010 P011 P012 P013 P014 P015 P016 P017
    P018 P019 P020 P021 P022 P023 P024 P025 P026 P027 P028 P029 P030 P031 P032 P033 P034 P035
    P036 P037 P038 P039 P040 P041 P042 P043 P044 P045 P046 P047 P048 P049 P050 P051 P052 P053
    P054 P055 P056 P057 P058 P059 P060 P061 P062 P063 P064 P065 P066 P067 P068 P069 P070 P071
    P072 P073 P074 P075 P076 P077 P078 P079 P080 P081 P082 P083 P084 P085 P086 P087 P088 P089
    P090 P091 P092 P093 P094 P095 P096 P097 P098 P099 P100 P101 P102 P103 P104 P105 P106 P107
    P108 P109 P110 P111 P112 P113 P114 P115 P116 P117 P118 P119 P120 P121 P122 P123 P124 P125
    P126 P127 P128 P129 P130 P131 P132 P133 P134 P135 P136 P137 P138 P139 P140 P141 P142 P143
    P144 P145 P146 P147 P148 P149 P150 P151 P152 P153 P154 P155 P156 P157 P158 P159 P160 P161
    P162 P163 P164 P165 P166 P167 P168 P169 P170 P171 P172 P173 P174 P175 P176 P177 P178 P179
    P180 P181 P182 P183 P184 P185 P186 P187 P188 P189 P190 P191 P192 P193 P194 P195 P196 P197
    P198 P199 P200 P201 P202 P203 P204 P205 P206 P207 P208 P209 P210 P211 P212 P213 P214 P215
    P216 P217 P218 P219 P220 P221 P222 P223 P224 P225 P226 P227 P228 P229 P230 P231 P232 P233
    P234 P235 P236 P237 P238 P239 P240 P241 P242 P243 P244 P245 P246 P247 P248 P249 P250 P251
    P252 P253 P254 P255 P256 P257 P258 P259 P260 P261 P262 P263 P264 P265 P266 P267 P268 P269
    P270 P271 P272 P273 P274 P275 P276 P277 P278 P279 P280 P281 P282 P283 P284 P285 P286 P287
    P288 P289 P290 P291 P292 P293 P294 P295 P296 P297 P298 P299 P300 P301 P302 P303 P304 P305
    P306 P307 P308 P309 P310 P311 P312 P313 P314 P315 P316 P317 P318 P319 P320 P321 P322 P323
    P324 P325 P326 P327 P328 P329 P330 P331 P332 P333 P334 P335 P336 P337 P338 P339 P340 P341
    P342 P343 P344 P345 P346 P347 P348 P349 P350 P351 P352 P353 P354 P355 P356 P357 P358 P359
    P360 P361 P362 P363 P364 P365 P366 P367 P368 P369 P370 P371 P372 P373 P374 P375 P376 P377
    P378 P379 P380 P381 P382 P383 P384 P385 P386 P387 P388 P389 P390 P391 P392 P393 P394 P395
    P396 P397 P398 P399 P400 P401 P402 P403 P404 P405 P406 P407 P408 P409 P410 P411 P412 P413
    P414 P415 P416 P417 P418 P419 P420 P421 P422 P423 P424 P425 P426 P427 P428 P429 P430 P431
    P432 P433 P434 P435 P436 P437 P438 P439 P440 P441 P442 P443 P444 P445 P446 P447 P448 P449
    P450 P451 P452 P453 P454 P455 P456 P457 P458 P459 P460 P461 P462 P463 P464 P465 P466 P467
    P468 P469 P470 P471 P472 P473 P474 P475 P476 P477 P478 P479 P480 P481 P482 P483 P484 P485
    P486 P487 P488 P489 P490 P491 P492 P493 P494 P495 P496 P497 P498 P499 P500 P501 P502 P503
    P504 P505 P506 P507 P508 P509 P510 P511 P512 P513 P514 P515 P516 P517 P518 P519 P520 P521
    P522 P523 P524 P525 P526 P527 P528 P529 P530 P531 P532 P533 P534 P535 P536 P537 P538 P539
    P540 P541 P542 P543 P544 P545 P546 P547 P548 P549 P550 P551 P552 P553 P554 P555 P556 P557
    P558 P559 P560 P561 P562 P563 P564 P565 P566 P567 P568 P569 P570 P571 P572 P573 P574 P575
    P576 P577 P578 P579 P580 P581 P582 P583 P584 P585 P586 P587 P588 P589 P590 P591 P592 P593
    P594 P595 P596 P597 P598 P599 P600 P601 P602 P603 P604 P605 P606 P607 P608 P609 P610 P611
    P612 P613 P614 P615 P616 P617 P618 P619 P620 P621 P622 P623 P624 P625 P626 P627 P628 P629
    P630 P631 P632 P633 P634 P635 P636 P637 P638 P639 P640 P641 P642 P643 P644 P645 P646 P647
    P648 P649 P650 P651 P652 P653 P654 P655 P656 P657 P658 P659 P660 P661 P662 P663 P664 P665
    P666 P667 P668 P669 P670 P671 P672 P673 P674 P675 P676 P677 P678 P679 P680 P681 P682 P683
    P684 P685 P686 P687 P688 P689 P690 P691 P692 P693 P694 P695 P696 P697 P698 P699 P700 P701
    P702 P703 P704 P705 P706 P707 P708 P709 P710 P711 P712 P713 P714 P715 P716 P717 P718 P719
    P720 P721 P722 P723 P724 P725 P726 P727 P728 P729 P730 P731 P732 P733 P734 P735 P736 P737
    P738 P739 P740 P741 P742 P743 P744 P745 P746 P747 P748 P749 P750 P751 P752 P753 P754 P755
    P756 P757 P758 P759 P760 P761 P762 P763 P764 P765 P766 P767 P768 P769 P770 P771 P772 P773
    P774 P775 P776 P777 P778 P779 P780 P781 P782 P783 P784 P785 P786 P787 P788 P789 P790 P791
    P792 P793 P794 P795 P796 P797 P798 P799 P800 P801 P802 P803 P804 P805 P806 P807 P808 P809
    P810 P811 P812 P813 P814 P815 P816 P817 P818 P819 P820 P821 P822 P823 P824 P825 P826 P827
    P828 P829 P830 P831 P832 P833 P834 P835 P836 P837 P838 P839 P840 P841 P842 P843 P844 P845
    P846 P847 P848 P849 P850 P851 P852 P853 P854 P855 P856 P857 P858 P859 P860 P861 P862 P863
    P864 P865 P866 P867 P868 P869 P870 P871 P872 P873 P874 P875 P876 P877 P878 P879 P880 P881
    P882 P883 P884 P885 P886 P887 P888 P889 P890 P891 P892 P893 P894 P895 P896 P897 P898 P899
    P900 P901 P902 P903 P904 P905 P906 P907 P908 P909 P910 P911 P912 P913 P914 P915 P916 P917
    P918 P919 P920 P921 P922 P923 P924 P925 P926 P927 P928 P929 P930 P931 P932 P933 P934 P935
    P936 P937 P938 P939 P940 P941 P942 P943 P944 P945 P946 P947 P948 P949 P950 P951 P952 P953
    P954 P955 P956 P957 P958 P959 P960 P961 P962 P963 P964 P965 P966 P967 P968 P969 P970 P971
    P972 P973 P974 P975 P976 P977 P978 P979 P980 P981 P982 P983 P984 P985 P986 P987 P988 P989
    P990 P991 P992 P993 P994 P995 P996 P997 P998 P999
}

/// The seed system's factory type: an `anyhow` result of a `Box<dyn Any>`.
fn seed_construct() -> anyhow::Result<Box<dyn Any + Send + Sync>> {
    Ok(Box::new(BenchPlugin::default()))
}

type Make = fn() -> Box<dyn Plugin>;

/// The same plugins in what a user would pick instead: their own maps, the seed system's
/// registry.
struct Peers {
    std_map: HashMap<String, Make>,
    fold_map: foldhash::HashMap<String, Make>,
    seed: seed_registry::ModuleRegistry,
}

fn peers(makers: &[(String, Make)]) -> Peers {
    let seed = seed_registry::ModuleRegistry::new();
    for (name, _) in makers {
        seed.register(name, "data_processor", seed_construct);
    }
    Peers {
        std_map: makers.iter().cloned().collect(),
        fold_map: makers.iter().cloned().collect(),
        seed,
    }
}

/// Switches instance and discovery caching on: a configured registry that no creation policy
/// concerns.
fn caching_on(registry: &ModuleRegistry) {
    registry
        .configure_advanced_plugin_system(
            AdvancedPluginConfiguration::new()
                .with_plugin_loading(true)
                .with_plugin_caching(true),
        )
        .expect("caching configures");
}

struct Fixture {
    table: &'static [PluginDescriptor],
    registry: ModuleRegistry,
    /// The same index, with instance caching switched on (`with_plugin_caching(true)`).
    configured: ModuleRegistry,
    peers: Peers,
    capability_sets: Vec<(&'static str, HashSet<String>)>,
    probe: String,
}

fn fixture(n: usize) -> Fixture {
    let table = table(n);
    let index = std::sync::Arc::new(PluginIndex::build(table.iter(), []));
    let registry = ModuleRegistry::with_index(index.clone());
    let configured = ModuleRegistry::with_index(index);
    caching_on(&configured);
    let makers: Vec<(String, Make)> = table
        .iter()
        .map(|d| (d.name().to_owned(), construct_plain as Make))
        .collect();
    let capability_sets = table
        .iter()
        .map(|d| {
            let caps = d.capabilities().iter().map(|c| (*c).to_owned()).collect();
            (d.name(), caps)
        })
        .collect();
    Fixture {
        table,
        registry,
        configured,
        peers: peers(&makers),
        capability_sets,
        probe: format!("plugin-{:05}", n / 2),
    }
}

fn linear_by_name<'a>(table: &'a [PluginDescriptor], name: &str) -> Option<&'a PluginDescriptor> {
    table.iter().find(|d| d.name() == name)
}

fn by_name(c: &mut Criterion) {
    let mut group = c.benchmark_group("name_lookup");
    for n in SIZES {
        let f = fixture(n);
        group.bench_with_input(BenchmarkId::new("registry", n), &f.probe, |b, name| {
            b.iter(|| {
                f.registry
                    .index()
                    .get(black_box(name))
                    .map(PluginDescriptor::name)
            });
        });
        group.bench_with_input(
            BenchmarkId::new("registry_plugin_configured", n),
            &f.probe,
            |b, name| b.iter(|| f.configured.plugin(black_box(name))),
        );
        group.bench_with_input(BenchmarkId::new("std_hashmap", n), &f.probe, |b, name| {
            b.iter(|| {
                f.peers
                    .std_map
                    .get_key_value(black_box(name.as_str()))
                    .map(|(k, _)| k.len())
            });
        });
        group.bench_with_input(
            BenchmarkId::new("foldhash_hashmap", n),
            &f.probe,
            |b, name| {
                b.iter(|| {
                    f.peers
                        .fold_map
                        .get_key_value(black_box(name.as_str()))
                        .map(|(k, _)| k.len())
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("seed", n), &f.probe, |b, name| {
            b.iter(|| f.peers.seed.has_module(black_box(name)));
        });
        group.bench_with_input(BenchmarkId::new("linear", n), &f.probe, |b, name| {
            b.iter(|| linear_by_name(f.table, black_box(name)).map(PluginDescriptor::name));
        });
    }
    group.finish();
}

fn by_type(c: &mut Criterion) {
    let mut group = c.benchmark_group("type_lookup");
    for n in SIZES {
        let f = fixture(n);
        let ty = PluginType::Storage;
        group.bench_with_input(BenchmarkId::new("registry", n), &ty, |b, ty| {
            b.iter(|| {
                f.registry
                    .index()
                    .of_type(*black_box(ty))
                    .collect::<Vec<_>>()
            });
        });
        group.bench_with_input(BenchmarkId::new("linear", n), &ty, |b, ty| {
            b.iter(|| {
                f.table
                    .iter()
                    .filter(|d| d.plugin_type() == *black_box(ty))
                    .collect::<Vec<_>>()
            });
        });
    }
    group.finish();
}

fn by_capability(c: &mut Criterion) {
    let mut group = c.benchmark_group("capability_query");
    let required = ["cap-0", "cap-7"];
    for n in SIZES {
        let f = fixture(n);
        group.bench_with_input(
            BenchmarkId::new("registry_index", n),
            &required,
            |b, req| {
                b.iter(|| f.registry.index().with_capabilities(black_box(req)));
            },
        );
        group.bench_with_input(
            BenchmarkId::new("registry_index_iter", n),
            &required,
            |b, req| {
                b.iter(|| {
                    f.registry.index().matching(black_box(req)).for_each(|d| {
                        black_box(d);
                    })
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("hashset_scan", n), &required, |b, req| {
            b.iter(|| {
                f.capability_sets
                    .iter()
                    .filter(|(_, caps)| black_box(req).iter().all(|r| caps.contains(*r)))
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
            });
        });
        // The specification's API: a new query each call, and (`_cached`, caching on) the
        // same query answered from the discovery cache after the first.
        for (id, registry) in [
            ("registry_discover", &f.registry),
            ("registry_discover_cached", &f.configured),
        ] {
            group.bench_with_input(BenchmarkId::new(id, n), &required, |b, req| {
                b.iter(|| {
                    registry
                        .discover_plugins_by_capabilities(
                            PluginCapabilityQuery::new()
                                .with_required_capabilities(*black_box(req)),
                        )
                        .map(|found| found.len())
                });
            });
        }
        group.bench_with_input(BenchmarkId::new("linear", n), &required, |b, req| {
            b.iter(|| {
                f.table
                    .iter()
                    .filter(|d| {
                        black_box(req)
                            .iter()
                            .all(|r| d.capabilities().iter().any(|c| c == r))
                    })
                    .collect::<Vec<_>>()
            });
        });
    }
    group.finish();
}

/// The registry of this binary (1,000 real `#[plugin]` structs), unconfigured and with
/// instance caching on, beside the same plugins in a user's own maps and in the seed system's
/// registry.
struct Real {
    registry: ModuleRegistry,
    configured: ModuleRegistry,
    peers: Peers,
    probe: String,
}

fn real() -> Real {
    let makers = real_makers();
    assert_eq!(makers.len(), 1_000);
    let configured = ModuleRegistry::new();
    caching_on(&configured);
    Real {
        registry: ModuleRegistry::new(),
        configured,
        peers: peers(&makers),
        probe: "p500".to_owned(),
    }
}

/// Name lookup through the public API on 1,000 real plugins.
fn real_lookup(c: &mut Criterion) {
    let r = real();
    let name = &r.probe;
    let mut group = c.benchmark_group("real_1000_lookup");
    group.bench_function("index_get", |b| {
        b.iter(|| {
            r.registry
                .index()
                .get(black_box(name))
                .map(PluginDescriptor::name)
        });
    });
    group.bench_function("registry_plugin", |b| {
        b.iter(|| r.registry.plugin(black_box(name)));
    });
    group.bench_function("registry_plugin_caching_on", |b| {
        b.iter(|| r.configured.plugin(black_box(name)));
    });
    group.bench_function("std_hashmap", |b| {
        b.iter(|| {
            r.peers
                .std_map
                .get_key_value(black_box(name.as_str()))
                .map(|(k, _)| k.len())
        });
    });
    group.bench_function("foldhash_hashmap", |b| {
        b.iter(|| {
            r.peers
                .fold_map
                .get_key_value(black_box(name.as_str()))
                .map(|(k, _)| k.len())
        });
    });
    group.bench_function("seed_has_module", |b| {
        b.iter(|| r.peers.seed.has_module(black_box(name)));
    });
    group.finish();
}

/// Creation by name through the public API on 1,000 real plugins.
fn real_create(c: &mut Criterion) {
    let r = real();
    let name = &r.probe;
    let mut group = c.benchmark_group("real_1000_create");
    group.bench_function("create_plugin", |b| {
        b.iter(|| r.registry.create_plugin(black_box(name)));
    });
    group.bench_function("create_plugin_caching_on", |b| {
        b.iter(|| r.configured.create_plugin(black_box(name)));
    });
    let handle = r.registry.instances().handle(name).unwrap();
    group.bench_function("handle_create", |b| {
        b.iter(|| black_box(&handle).create());
    });
    group.bench_function("shared_plugin_caching_on", |b| {
        b.iter(|| r.configured.instances().shared_plugin(black_box(name)));
    });
    // A shared instance kept in a handle: what a hot loop holds instead of creating.
    let mut shared = r.configured.instances().shared_handle(name).unwrap();
    group.bench_function("shared_handle_get", |b| {
        b.iter(|| shared.get().map(|p| std::ptr::from_ref(&**p).cast::<u8>()));
    });
    // The same, and a clone of the `Arc` to keep (a reference count up and down).
    let mut cloned = r.configured.instances().shared_handle(name).unwrap();
    group.bench_function("shared_handle_clone", |b| {
        b.iter(|| cloned.get().map(|p| black_box(std::sync::Arc::clone(p))));
    });
    let resolved = r.registry.index().get(name).unwrap();
    group.bench_function("descriptor_instantiate", |b| {
        b.iter(|| black_box(resolved).instantiate_default());
    });
    group.bench_function("std_hashmap", |b| {
        b.iter(|| {
            r.peers
                .std_map
                .get(black_box(name.as_str()))
                .map(|make| make())
        });
    });
    group.bench_function("foldhash_hashmap", |b| {
        b.iter(|| {
            r.peers
                .fold_map
                .get(black_box(name.as_str()))
                .map(|make| make())
        });
    });
    group.bench_function("seed_create_any", |b| {
        b.iter(|| r.peers.seed.create_any(black_box(name)));
    });
    group.bench_function("direct_box_new", |b| {
        b.iter(|| Box::new(black_box(P500::default())) as Box<dyn Plugin>);
    });
    group.finish();
}

/// A registry of a user's own trait, as `registry!` declares it, with one real `#[plugin]`.
pub trait Shape: Send + Sync {
    fn sides(&self) -> u64;
}

modreg::registry!(SHAPES: dyn Shape);

#[modreg::plugin(registry = SHAPES)]
#[derive(Default)]
struct Triangle {
    key: u64,
}

impl Shape for Triangle {
    fn sides(&self) -> u64 {
        3 + self.key
    }
}

fn make_triangle() -> Box<dyn Shape> {
    Box::new(Triangle::default())
}

/// `SHAPES.create(name)` beside a `HashMap<String, fn() -> Box<dyn Shape>>` and `Box::new`.
fn typed_create(c: &mut Criterion) {
    let mut group = c.benchmark_group("typed_create");
    let name = "triangle".to_owned();
    group.bench_function("registry", |b| {
        b.iter(|| SHAPES.create(black_box(&name)));
    });
    let resolved = SHAPES.get(&name).unwrap();
    group.bench_function("registry_resolved", |b| {
        b.iter(|| black_box(resolved).instantiate_default());
    });
    let map: HashMap<String, fn() -> Box<dyn Shape>> =
        [(name.clone(), make_triangle as fn() -> Box<dyn Shape>)].into();
    group.bench_function("hashmap", |b| {
        b.iter(|| map.get(black_box(name.as_str())).map(|make| make()));
    });
    group.bench_function("direct", |b| {
        b.iter(|| Box::new(black_box(Triangle::default())) as Box<dyn Shape>);
    });
    group.finish();
}

/// A map of name to constructor, from the table's entries.
fn map_from_entries<M>(table: &'static [PluginDescriptor]) -> M
where
    M: FromIterator<(&'static str, modreg::Constructor)>,
{
    table.iter().map(|d| (d.name(), d.constructor())).collect()
}

/// Building the index at startup: what the first use of a registry costs, per table size.
fn index_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("index_build");
    for n in [1_000, 10_000] {
        let table = table(n);
        group.bench_with_input(BenchmarkId::new("registry", n), &(), |b, ()| {
            b.iter(|| PluginIndex::build(black_box(table).iter(), []));
        });
        // What a user of `inventory` does at first use: walk the entries into a map of
        // name to constructor (the submissions themselves run before `main`, not measured).
        group.bench_with_input(
            BenchmarkId::new("std_hashmap_from_entries", n),
            &(),
            |b, ()| b.iter(|| map_from_entries::<HashMap<_, _>>(black_box(table))),
        );
        group.bench_with_input(
            BenchmarkId::new("foldhash_map_from_entries", n),
            &(),
            |b, ()| b.iter(|| map_from_entries::<foldhash::HashMap<_, _>>(black_box(table))),
        );
        // The seed system's registry is filled the same way from its `inventory` entries
        // (`ModuleRegistry::global`): one registration per plugin.
        group.bench_with_input(BenchmarkId::new("seed_register", n), &(), |b, ()| {
            b.iter(|| {
                let seed = seed_registry::ModuleRegistry::new();
                for d in black_box(table) {
                    seed.register(d.name(), "data_processor", seed_construct);
                }
                seed
            });
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    index_build,
    by_name,
    by_type,
    by_capability,
    real_lookup,
    real_create,
    typed_create
);
criterion_main!(benches);
