//! Typed metadata: filtering 10,000 plugins of a `registry!(..., meta = M)` by their metadata,
//! beside what a user would otherwise write, in the same run:
//!
//! - `meta_registry`: `CODECS.entries().iter().filter(|e| e.meta()...)`;
//! - `vec_scan`: a hand-written `Vec<(&str, CodecMeta)>` of the same metadata, scanned;
//! - `create_each`: creating every plugin to ask it (what a registry without metadata needs).
//!
//! The table is built in memory with the same `const` builder `#[plugin]` expands to
//! (`with_meta` included), behind the same `MetaRegistry` `registry!` declares.
//!
//! Run: `cargo bench -p modreg --bench metadata`.

use std::hint::black_box;
use std::sync::OnceLock;

use criterion::{Criterion, criterion_group, criterion_main};
use modreg::{
    Descriptor, MetaRegistry, PluginError, PluginSettings, PluginType, Registry, SourceLocation,
};

const PLUGINS: usize = 10_000;
const HERE: SourceLocation = SourceLocation::new("bench", "bench", "metadata.rs", 1);

pub trait Codec: Send + Sync {
    fn extensions(&self) -> &'static [&'static str];
}

#[derive(Debug)]
pub struct CodecMeta {
    pub extensions: &'static [&'static str],
    pub level: u32,
}

/// A codec that keeps a little state, as a real one would.
struct BenchCodec {
    extensions: &'static [&'static str],
    _state: [u64; 4],
}

impl Codec for BenchCodec {
    fn extensions(&self) -> &'static [&'static str] {
        self.extensions
    }
}

static TABLE: OnceLock<&'static [Descriptor<dyn Codec>]> = OnceLock::new();

fn collect() -> Vec<&'static Descriptor<dyn Codec>> {
    TABLE.get().expect("built before use").iter().collect()
}

static CODECS: MetaRegistry<dyn Codec, CodecMeta> =
    MetaRegistry::new(Registry::new("CODECS", collect));

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// The extensions of plugin `i`: `x{i % 100}` and `y{i % 7}`: a filter on `x0` matches 100.
fn extensions(i: usize) -> &'static [&'static str] {
    let x: &'static str = Box::leak(format!("x{}", i % 100).into_boxed_str());
    let y: &'static str = Box::leak(format!("y{}", i % 7).into_boxed_str());
    Box::leak(Box::new([x, y]))
}

fn construct(settings: &PluginSettings) -> Result<Box<dyn Codec>, PluginError> {
    let _ = settings;
    Ok(make())
}

fn build() -> Vec<(&'static str, CodecMeta)> {
    let mut by_hand = Vec::with_capacity(PLUGINS);
    let descriptors: Vec<Descriptor<dyn Codec>> = (0..PLUGINS)
        .map(|i| {
            let name: &'static str = Box::leak(format!("codec-{i:05}").into_boxed_str());
            let extensions = extensions(i);
            by_hand.push((
                name,
                CodecMeta {
                    extensions,
                    level: (i % 10) as u32,
                },
            ));
            let meta: &'static CodecMeta = leak(CodecMeta {
                extensions,
                level: (i % 10) as u32,
            });
            Descriptor::new(name, "1.0.0", PluginType::Custom("codecs"), construct, HERE)
                .with_infallible_constructor(make)
                .with_meta(meta)
        })
        .collect();
    TABLE.set(Box::leak(descriptors.into_boxed_slice())).ok();
    by_hand
}

/// An instance. Every one answers `x0` (so `create_each` counts all 10,000): what is measured
/// is creating each plugin to ask it, which the answer does not change.
fn make() -> Box<dyn Codec> {
    Box::new(BenchCodec {
        extensions: &["x0"],
        _state: [0; 4],
    })
}

fn meta_filter(c: &mut Criterion) {
    let by_hand = build();
    let mut group = c.benchmark_group("meta_filter_10000");
    let wanted = "x0";
    assert_eq!(
        CODECS
            .entries()
            .iter()
            .filter(|e| e.meta().extensions.contains(&wanted))
            .count(),
        100
    );
    group.bench_function("meta_registry", |b| {
        b.iter(|| {
            CODECS
                .entries()
                .iter()
                .filter(|e| e.meta().extensions.contains(black_box(&wanted)))
                .count()
        });
    });
    group.bench_function("vec_scan", |b| {
        b.iter(|| {
            black_box(&by_hand)
                .iter()
                .filter(|(_, meta)| meta.extensions.contains(black_box(&wanted)))
                .count()
        });
    });
    group.bench_function("create_each", |b| {
        b.iter(|| {
            CODECS
                .entries()
                .iter()
                .filter(|e| {
                    CODECS
                        .create(e.name())
                        .is_ok_and(|codec| codec.extensions().contains(black_box(&wanted)))
                })
                .count()
        });
    });
    group.finish();
}

criterion_group!(benches, meta_filter);
criterion_main!(benches);
