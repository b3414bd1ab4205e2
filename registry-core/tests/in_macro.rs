//! `#[plugin]` written inside a `macro_rules!`, with the struct's name, its config type and its
//! keys' values coming from the macro's caller: the generated code must resolve its own names
//! (hygiene), and a `$x:literal` key reads as the literal it is.

use modreg_core::{PluginError, PluginSettings, SettingValue, plugin, registry};

pub trait Gauge: Send + Sync {
    fn read(&self) -> u32;
}

registry!(GAUGES: dyn Gauge);

#[derive(serde::Deserialize)]
struct Offset {
    by: u32,
}

macro_rules! gauge {
    ($name:ident) => {
        #[plugin(registry = GAUGES)]
        #[derive(Default)]
        struct $name;

        impl Gauge for $name {
            fn read(&self) -> u32 {
                1
            }
        }
    };
    ($name:ident, $config:ident) => {
        #[plugin(registry = GAUGES, config = $config)]
        struct $name {
            by: u32,
        }

        impl $name {
            #[allow(clippy::unnecessary_wraps)]
            fn from_config(config: $config) -> Result<Self, PluginError> {
                Ok($name { by: config.by })
            }
        }

        impl Gauge for $name {
            fn read(&self) -> u32 {
                self.by
            }
        }
    };
}

gauge!(Plain);
gauge!(Shifted, Offset);

// Keys from `$x:literal` fragments, which arrive wrapped in invisible groups.
macro_rules! named_gauge {
    ($name:literal $ty:ident [$($capability:literal),*] $value:expr) => {
        #[plugin(registry = GAUGES, name = $name, capabilities = [$($capability),*])]
        #[derive(Default)]
        struct $ty;

        impl Gauge for $ty {
            fn read(&self) -> u32 {
                $value
            }
        }
    };
}

named_gauge!("pressure" Pressure ["fluid", "sensor"] 3);

#[test]
fn plugins_declared_by_a_macro_register_and_create() {
    assert_eq!(GAUGES.create("plain").unwrap().read(), 1);
    let settings =
        PluginSettings::from_values([("by".to_owned(), SettingValue::Integer(7))].into());
    assert_eq!(GAUGES.create_with("shifted", &settings).unwrap().read(), 7);
    assert_eq!(GAUGES.create("pressure").unwrap().read(), 3);
    assert_eq!(
        GAUGES.with_capabilities(&["fluid", "sensor"])[0].name(),
        "pressure"
    );
}
