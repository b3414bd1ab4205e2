use modreg_core::plugin;

// A plugin of the default registry must say what it does: `impl PluginBehavior`.
#[plugin(type = Storage)]
#[derive(Default)]
struct Silent;

fn main() {}
