//! A registry of a trait with native `async fn`s, without `async-trait`: `#[registry_trait]`
//! writes `DynFetcher`, which the registry holds; implementations write `async fn`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use modreg_core::{PluginError, plugin, registry, registry_trait};

/// Polls `future` to completion on this thread (the futures here wake themselves).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        std::thread::yield_now();
    }
}

/// Pending once, then ready: a call that really suspends.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

#[registry_trait]
pub trait Fetcher: Send + Sync {
    /// The document stored under `key`.
    async fn fetch(&self, key: &str) -> Result<Vec<u8>, PluginError>;

    /// A default body, awaiting another method.
    async fn fetch_len(&self, key: &str, extra: &[&str]) -> Result<usize, PluginError> {
        Ok(self.fetch(key).await?.len() + extra.len())
    }

    fn label(&self) -> &'static str;
}

registry!(pub FETCHERS: dyn DynFetcher);

#[plugin(registry = FETCHERS, capabilities = ["offline"])]
#[derive(Default)]
struct Fixtures;

impl Fetcher for Fixtures {
    async fn fetch(&self, key: &str) -> Result<Vec<u8>, PluginError> {
        yield_once().await;
        match key {
            "greeting" => Ok(b"hello".to_vec()),
            other => Err(PluginError::processing("fixtures", format!("no `{other}`"))),
        }
    }

    fn label(&self) -> &'static str {
        "fixtures"
    }
}

/// A generic trait: one registry per argument type.
#[registry_trait]
pub trait Convert<T: Send + 'static>: Send + Sync {
    async fn convert(&self, value: T) -> String;
}

registry!(pub TO_TEXT: dyn DynConvert<i64>);

#[plugin(registry = TO_TEXT)]
#[derive(Default)]
struct Decimal;

impl Convert<i64> for Decimal {
    async fn convert(&self, value: i64) -> String {
        yield_once().await;
        value.to_string()
    }
}

fn assert_send<F: Send>(future: F) -> F {
    future
}

#[test]
fn async_methods_are_called_through_the_registry() {
    let fetcher = FETCHERS.create("fixtures").unwrap();
    assert_eq!(block_on(fetcher.fetch("greeting")).unwrap(), b"hello");
    assert!(block_on(fetcher.fetch("nothing")).is_err());
    assert_eq!(
        block_on(assert_send(fetcher.fetch_len("greeting", &["a", "b"]))).unwrap(),
        7
    );
    assert_eq!(fetcher.label(), "fixtures");

    let decimal = TO_TEXT.create("decimal").unwrap();
    assert_eq!(block_on(decimal.convert(-42)), "-42");
}

#[test]
#[cfg_attr(target_family = "wasm", ignore = "no threads on this target")]
fn a_future_from_the_registry_crosses_threads() {
    let fetcher = FETCHERS.create("fixtures").unwrap();
    // The future borrows the instance and the key; it is `Send`.
    let key = String::from("greeting");
    let answer = std::thread::scope(|s| {
        let future = fetcher.fetch(&key);
        s.spawn(move || block_on(future)).join().unwrap()
    });
    assert_eq!(answer.unwrap(), b"hello");
}

#[test]
fn the_native_trait_is_still_called_directly() {
    // Both traits are in scope here, and both have `fetch`: on a concrete type, name the one.
    assert_eq!(
        block_on(Fetcher::fetch(&Fixtures, "greeting")).unwrap(),
        b"hello"
    );
    assert_eq!(
        block_on(Fetcher::fetch_len(&Fixtures, "greeting", &[])).unwrap(),
        5
    );
}
