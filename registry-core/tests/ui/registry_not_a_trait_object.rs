use module_registry_core::registry;

pub struct Codec;

registry!(pub CODECS: Codec);

fn main() {}
