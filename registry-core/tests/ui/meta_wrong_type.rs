// A plugin's `meta` has its registry's `meta` type.
pub trait Codec: Send + Sync {}

pub struct CodecMeta {
    pub extensions: &'static [&'static str],
}

modreg_core::registry!(pub CODECS: dyn Codec, meta = CodecMeta);

#[modreg_core::plugin(registry = CODECS, meta = "gz")]
#[derive(Default)]
struct Gzip;

impl Codec for Gzip {}

fn main() {}
