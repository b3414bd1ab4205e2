//! `#[sandboxed]` on a trait with native `async fn`s (`#[registry_trait]`): its object form,
//! `dyn DynStore`, is the registry's type, and a plugin a source registers is called through
//! the same `Box<dyn DynStore>` as a compiled-in one, its `async fn` awaited through the call.
//! The source here is in process: a `Plugin` whose `process` runs the trait's guest-side
//! dispatch on a compiled-in `Memory`, so the whole encoding is exercised without a module.

#[path = "support/handmade.rs"]
#[macro_use]
mod handmade;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use modreg::__private_0_1_0::SandboxedTrait;
use modreg::{
    ModuleRegistry, PluginError, SandboxedRegistration, plugin, registry, registry_trait, sandboxed,
};

/// Runs a future that is ready when first polled (nothing here waits).
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future waited"),
    }
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum StoreError {
    Missing(String),
    Sandbox(String),
}

impl From<PluginError> for StoreError {
    fn from(error: PluginError) -> Self {
        StoreError::Sandbox(error.to_string())
    }
}

#[sandboxed]
#[registry_trait]
pub trait Store: Send + Sync {
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    fn size(&self) -> Result<usize, StoreError>;
}

registry!(pub STORES: dyn DynStore);

#[plugin(registry = STORES)]
#[derive(Default)]
struct Memory;

impl Store for Memory {
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        match key {
            "greeting" => Ok(b"hello".to_vec()),
            other => Err(StoreError::Missing(other.to_owned())),
        }
    }

    fn size(&self) -> Result<usize, StoreError> {
        Ok(1)
    }
}

/// The in-process source's plugin: a typed call run by the trait's dispatch on a `Memory`.
struct InProcess;

handmade_plugin!(InProcess, |_this| "in-process", Storage, |_this, data| {
    let target: &dyn DynStore = &Memory;
    modreg::typed_sandbox::run_framed("in-process", target, data)
});

#[test]
fn a_registry_trait_is_sandboxed_through_its_object_form() {
    assert_eq!(<dyn DynStore as SandboxedTrait>::TRAIT_NAME, "Store");
    assert_eq!(<dyn DynStore as SandboxedTrait>::METHODS, ["get", "size"]);
    let abi = STORES.sandboxed().expect("registry! finds the trait's ABI");
    assert_eq!(
        abi.fingerprint,
        <dyn DynStore as SandboxedTrait>::FINGERPRINT
    );

    let host = ModuleRegistry::new();
    host.registrations().add_registry(&STORES);
    host.registrations()
        .register_batch(
            "in-process.wasm",
            Vec::new(),
            vec![SandboxedRegistration::new(
                "in-process",
                abi.trait_name,
                abi.fingerprint,
                || Ok(Box::new(InProcess)),
            )],
            None,
        )
        .unwrap();
    for name in ["memory", "in-process"] {
        let store = host.instances().create_from(&STORES, name).unwrap();
        assert_eq!(
            ready(store.get("greeting")),
            Ok(b"hello".to_vec()),
            "{name}"
        );
        assert_eq!(
            ready(store.get("nothing")),
            Err(StoreError::Missing("nothing".into())),
            "{name}"
        );
        assert_eq!(store.size(), Ok(1), "{name}");
    }
    let listed = host.catalog().typed_plugins(&STORES);
    let sandboxed: Vec<_> = listed
        .iter()
        .map(|p| (p.name.as_str(), p.sandboxed, p.source.as_deref()))
        .collect();
    assert_eq!(
        sandboxed,
        [
            ("in-process", true, Some("in-process.wasm")),
            ("memory", false, None)
        ]
    );

    // A trait of another shape (another fingerprint) is refused by name and fingerprints.
    let error = host
        .registrations()
        .register_batch(
            "stale.wasm",
            Vec::new(),
            vec![SandboxedRegistration::new(
                "stale",
                "Store",
                "0000000000000000",
                || Ok(Box::new(InProcess)),
            )],
            None,
        )
        .unwrap_err();
    assert!(
        error.to_string().contains("0000000000000000")
            && error.to_string().contains(abi.fingerprint),
        "{error}"
    );
}

mod hostile_bytes {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A guest's dispatch takes whatever a host (or anyone writing its memory) sends: any
        /// method number and any bytes answer a typed value or an error, never a panic.
        #[test]
        fn any_call_is_answered_or_refused(method in 0u32..4, arguments in proptest::collection::vec(any::<u8>(), 0..64)) {
            let store: &dyn DynStore = &Memory;
            if let Ok(answer) = store.dispatch(method, &arguments) {
                prop_assert!(method < 2, "method {method} has no dispatch");
                prop_assert!(!answer.encoded.is_empty());
            }
        }

        /// The host's side decodes whatever a guest answers: a value of the method's type, or
        /// an error.
        #[test]
        fn any_answer_decodes_or_is_refused(answer in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = modreg::__private_0_1_0::typed_encoding::decode::<Result<Vec<u8>, StoreError>>("p", &answer);
        }
    }

    /// A length prefix claiming 4 GiB is refused without allocating it.
    #[test]
    fn a_huge_claimed_length_is_refused_at_once() {
        let claimed = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F];
        let store: &dyn DynStore = &Memory;
        // `get(&str)`: a string of 4 GiB, in 5 bytes.
        assert!(store.dispatch(0, &claimed).is_err());
        let decoded = modreg::__private_0_1_0::typed_encoding::decode::<Result<Vec<u8>, StoreError>>(
            "p",
            &[0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
        );
        assert!(decoded.is_err());
    }
}
