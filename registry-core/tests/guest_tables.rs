//! A WebAssembly plugin module (feature `guest`, which `modreg-guest` turns on) puts its
//! `#[plugin]` entries into no table, of the default registry or of a user's; every other build
//! puts them into their tables. `.ci/run` runs this file under Node's WASI with and without the
//! feature; natively the feature changes nothing, which the everyday test run checks.

use modreg_core::__private_0_1_0::{HasDescriptor, any_constructor_of};
use modreg_core::{PLUGINS, Plugin, PluginBehavior, PluginError, PluginSettings, plugin, registry};

pub trait Job: Send + Sync {
    fn run(&self) -> u32;
}

registry!(JOBS: dyn Job);

/// A plugin of a user's registry. In a guest's build nothing makes it (it is in no table, and
/// this file exports nothing), and rustc says so: the warning a guest crate gets for a plugin
/// it forgot to export.
#[plugin(registry = JOBS)]
#[derive(Default)]
#[allow(dead_code)]
struct Seven;

impl Job for Seven {
    fn run(&self) -> u32 {
        7
    }
}

/// A plugin of the default registry.
#[plugin(type = DataProcessor)]
#[derive(Default)]
struct Echo;

impl PluginBehavior for Echo {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

/// Whether this build is a plugin module's.
const GUEST: bool = cfg!(all(feature = "guest", target_family = "wasm"));

#[test]
fn entries_go_into_their_tables_unless_the_build_is_a_guests() {
    assert_eq!(JOBS.entries().iter().any(|d| d.name() == "seven"), !GUEST);
    assert_eq!(JOBS.create("seven").is_ok(), !GUEST);
    assert_eq!(PLUGINS.get("echo").is_some(), !GUEST);
}

#[test]
fn an_entry_gives_its_concrete_constructor_at_compile_time_in_every_build() {
    const MAKE: Option<modreg_core::AnyConstructor> =
        any_constructor_of(<Echo as HasDescriptor<dyn Plugin>>::DESCRIPTOR);
    let made = MAKE.expect("#[plugin] entries have one")(&PluginSettings::new()).unwrap();
    let echo = made.downcast::<Echo>().expect("the entry's own type");
    assert_eq!(PluginBehavior::process(&*echo, b"abc").unwrap(), b"abc");
}
