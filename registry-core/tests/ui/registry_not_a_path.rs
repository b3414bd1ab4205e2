use modreg_core::plugin;

#[plugin(registry = "CODECS")]
#[derive(Default)]
struct Gzip;

fn main() {}
