// A registry with `meta`: a plugin that gives none is told so, at the struct.
pub trait Codec: Send + Sync {}

pub struct CodecMeta {
    pub extensions: &'static [&'static str],
}

modreg_core::registry!(pub CODECS: dyn Codec, meta = CodecMeta);

#[modreg_core::plugin(registry = CODECS)]
#[derive(Default)]
struct Gzip;

impl Codec for Gzip {}

fn main() {}
