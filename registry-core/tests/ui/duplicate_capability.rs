#[allow(unused_imports)]
use module_registry_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin(type = Storage, capabilities = ["kv", "cache", "kv"])]
struct A;

fn main() {}
