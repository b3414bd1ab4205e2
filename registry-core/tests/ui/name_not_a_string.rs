#[allow(unused_imports)]
use module_registry_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin(type = Storage, name = my_plugin)]
struct A;

fn main() {}
