use modreg_core::registry;

pub struct Codec;

registry!(pub CODECS: Codec);

fn main() {}
