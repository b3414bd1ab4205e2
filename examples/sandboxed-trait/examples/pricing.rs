//! The host's side: one `Box<dyn Pricing>` linked in, one from the sandbox, called alike.
//!
//! ```sh
//! scripts/build-wasm-plugins.sh            # builds target/wasm-typed/pricing.wasm too
//! cargo run -p sandboxed-trait --example pricing
//! ```

use modreg::{ModuleRegistry, WasmConfig};
use sandboxed_trait::{Order, PRICING, Pricing};

fn show(label: &str, pricing: &dyn Pricing) {
    let order = Order {
        item: "bread".to_owned(),
        quantity: 2,
        express: true,
        coupon: None,
        note: String::new(),
    };
    println!(
        "{label} (pointers of {} bits)",
        pricing.pointer_bits().unwrap_or(0)
    );
    println!("  quote:    {:?}", pricing.quote(&order));
    println!("  check:    {:?}", pricing.check(order));
    println!("  describe: {:?}", pricing.describe("cheese"));
    println!("  unknown:  {:?}", pricing.describe("pear"));
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let module = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/wasm-typed/pricing.wasm".to_owned());

    // Linked in: the compiled-in plugin, from the registry alone.
    show("linked in", &*PRICING.create("catalog")?);

    // Loaded: the same source built to WebAssembly. The host is given the trait's registry,
    // and lets the module's `catalog` take the compiled-in one's name.
    let host = ModuleRegistry::new();
    host.registrations().add_registry(&PRICING);
    host.wasm()
        .configure_wasm(WasmConfig::new().with_replace_compiled(true))?;
    host.wasm().load_wasm_plugin(&module)?;
    show(
        "in the sandbox",
        &*host.instances().create_from(&PRICING, "catalog")?,
    );
    Ok(())
}
