//! The key the tests and benches sign with, and a registry that trusts only it: the set-up
//! every signing test shares. Included with `#[path]` by the tests and benches that sign (not
//! from `wasm_guests.rs`: crates built without the security layer include that one).

use modreg::{AdvancedPluginSecurityConfig, ModuleRegistry, TrustedKey};

/// The seed of the key named `release` (64 hex digits): a test key, known to everyone.
pub const RELEASE_SECRET: &str = "0707070707070707070707070707070707070707070707070707070707070707";

/// Switches authentication on in `registry`, trusting `release` alone: from then on a
/// module, a manifest or a state change loads only with `release`'s signature.
pub fn require_release_signatures(registry: &ModuleRegistry) {
    registry
        .configure_advanced_plugin_security(
            AdvancedPluginSecurityConfig::new()
                .with_plugin_authentication(true)
                .with_trusted_key(
                    TrustedKey::public_of("release", RELEASE_SECRET)
                        .expect("the test key is 64 hex digits"),
                ),
        )
        .expect("authentication with one trusted key is a valid configuration");
}

/// A new registry that requires `release`'s signature ([`require_release_signatures`]).
pub fn signing_registry() -> ModuleRegistry {
    let registry = ModuleRegistry::new();
    require_release_signatures(&registry);
    registry
}
