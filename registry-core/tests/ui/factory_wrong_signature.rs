#[allow(unused_imports)]
use modreg_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin_factory(name = "f", type = DataProcessor)]
fn make(variant: usize) -> Option<u8> { variant.try_into().ok() }

fn main() {}
