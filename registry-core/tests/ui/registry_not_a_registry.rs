// A path to something that is not a registry declared with `registry!`.
pub trait Shape: Send + Sync {}

pub static SHAPES: u32 = 0;

#[modreg_core::plugin(registry = SHAPES)]
#[derive(Default)]
struct Square;

impl Shape for Square {}

fn main() {}
