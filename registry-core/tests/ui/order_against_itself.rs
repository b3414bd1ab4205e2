// A plugin ordered before itself, and one ordered both before and after another.
pub trait Step: Send + Sync {}

modreg_core::registry!(pub STEPS: dyn Step);

#[modreg_core::plugin(registry = STEPS, before = "trim")]
#[derive(Default)]
struct Trim;

impl Step for Trim {}

#[modreg_core::plugin(registry = STEPS, before = ["trim", "pad"], after = "pad")]
#[derive(Default)]
struct Shout;

impl Step for Shout {}

fn main() {}
