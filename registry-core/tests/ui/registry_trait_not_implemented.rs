use modreg_core::{plugin, registry};

pub trait Codec: Send + Sync {
    fn encode(&self, input: &[u8]) -> Vec<u8>;
}

registry!(pub CODECS: dyn Codec);

#[plugin(registry = CODECS)]
#[derive(Default)]
struct NotACodec;

fn main() {}
