//! `#[plugin]` written inside a `macro_rules!`, with the struct's name and its config type
//! coming from the macro's caller: the generated code must resolve its own names (hygiene).

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

#[test]
fn plugins_declared_by_a_macro_register_and_create() {
    assert_eq!(GAUGES.create("plain").unwrap().read(), 1);
    let settings =
        PluginSettings::from_values([("by".to_owned(), SettingValue::Integer(7))].into());
    assert_eq!(GAUGES.create_with("shifted", &settings).unwrap().read(), 7);
}
