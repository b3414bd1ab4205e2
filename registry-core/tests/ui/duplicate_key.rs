#[allow(unused_imports)]
use module_registry_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin(type = Storage, capabilities = ["a"], type = Analyzer)]
struct A;

fn main() {}
