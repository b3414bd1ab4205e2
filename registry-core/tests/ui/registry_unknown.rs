// A name that is not a registry declared with `registry!`: the error points at it.
pub trait Shape: Send + Sync {}

modreg_core::registry!(pub SHAPES: dyn Shape);

#[modreg_core::plugin(registry = SHAPE)]
#[derive(Default)]
struct Square;

impl Shape for Square {}

fn main() {}
