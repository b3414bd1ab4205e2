// A priority is a whole number (an `i32`).
pub trait Step: Send + Sync {}

modreg_core::registry!(pub STEPS: dyn Step);

#[modreg_core::plugin(registry = STEPS, priority = "high")]
#[derive(Default)]
struct Trim;

impl Step for Trim {}

#[modreg_core::plugin(registry = STEPS, priority = 3_000_000_000)]
#[derive(Default)]
struct Pad;

impl Step for Pad {}

fn main() {}
