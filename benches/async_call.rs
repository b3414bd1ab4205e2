//! One call of an `async fn` through a registry's trait object: `#[registry_trait]`'s boxed
//! future beside `async-trait`'s (what users write today), and beside a direct call of the
//! native `async fn` (no trait object, no box), in the same run. Each future is polled to
//! completion on the bench thread (it is ready at once: the cost measured is the call).
//!
//! Run: `cargo bench -p modreg --bench async_call`.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use modreg::{PluginError, plugin, registry, registry_trait};

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => unreachable!("the bench's futures are ready at once"),
    }
}

#[registry_trait]
pub trait Fetcher: Send + Sync {
    async fn fetch(&self, key: &str) -> Result<usize, PluginError>;
}

registry!(pub FETCHERS: dyn DynFetcher);

#[plugin(registry = FETCHERS)]
#[derive(Default)]
struct Native {
    base: usize,
}

impl Fetcher for Native {
    async fn fetch(&self, key: &str) -> Result<usize, PluginError> {
        Ok(self.base + key.len())
    }
}

/// The same trait as `async-trait` writes it.
#[async_trait::async_trait]
pub trait BoxedFetcher: Send + Sync {
    async fn fetch(&self, key: &str) -> Result<usize, PluginError>;
}

#[derive(Default)]
struct ViaAsyncTrait {
    base: usize,
}

#[async_trait::async_trait]
impl BoxedFetcher for ViaAsyncTrait {
    async fn fetch(&self, key: &str) -> Result<usize, PluginError> {
        Ok(self.base + key.len())
    }
}

fn async_call(c: &mut Criterion) {
    let mut group = c.benchmark_group("async_call");
    let key = "greeting";
    let registry_trait = FETCHERS.create("native").unwrap();
    group.bench_function("registry_trait_dyn", |b| {
        b.iter(|| ready(black_box(&registry_trait).fetch(black_box(key))));
    });
    let async_trait: Box<dyn BoxedFetcher> = Box::new(ViaAsyncTrait::default());
    group.bench_function("async_trait_dyn", |b| {
        b.iter(|| ready(black_box(&async_trait).fetch(black_box(key))));
    });
    let native = Native::default();
    group.bench_function("native_direct", |b| {
        b.iter(|| ready(Fetcher::fetch(black_box(&native), black_box(key))));
    });
    group.finish();
}

criterion_group!(benches, async_call);
criterion_main!(benches);
