//! An application's own plugin trait, [`Pricing`], and one plugin of it, [`Catalog`], written
//! once. Linked into a host, `Catalog` is a native plugin of [`PRICING`]; built for
//! `wasm32-unknown-unknown` (this crate is also a `cdylib`), it is a module a host loads into
//! the sandbox, where the same `PRICING` registry finds it and hands out the same
//! `Box<dyn Pricing>`.
//!
//! ```ignore
//! let host = modreg::ModuleRegistry::new();
//! host.registrations().add_registry(&PRICING);
//! host.load_wasm_plugin("target/wasm-typed/pricing.wasm")?;
//! let pricing: Box<dyn Pricing> = host.instances().create_from(&PRICING, "catalog")?;
//! assert_eq!(pricing.quote(&order)?, 1_500);
//! ```
//!
//! `tests/suite.rs` runs one suite over both; `examples/pricing.rs` is the host.

use async_trait::async_trait;
use modreg_core::{PluginError, plugin, registry, sandboxed};
use serde::{Deserialize, Serialize};

/// An order for one item of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The item's name.
    pub item: String,
    /// How many.
    pub quantity: u32,
    /// Delivered the next day (a surcharge of 10 %).
    pub express: bool,
    /// A discount code, if any.
    pub coupon: Option<String>,
    /// A note for whoever packs it (pricing ignores it).
    pub note: String,
}

/// What happens to an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Accepted at this total.
    Accepted {
        /// The total, in cents.
        total_cents: u64,
    },
    /// Fewer in stock than ordered.
    Backordered {
        /// How many are in stock.
        available: u32,
    },
    /// Refused, and why.
    Rejected(String),
}

/// Why pricing failed: the plugin's own errors, or the sandbox's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PricingError {
    /// The catalogue has no such item.
    #[error("no item `{0}` in the catalogue")]
    UnknownItem(String),
    /// An order of nothing.
    #[error("an order needs a quantity of at least 1")]
    ZeroQuantity,
    /// The coupon is not known.
    #[error("coupon `{0}` is not valid")]
    BadCoupon(String),
    /// The total does not fit.
    #[error("the total overflows")]
    Overflow,
    /// The sandbox stopped the call (a trap, its fuel, memory or time), or the host refused
    /// it.
    #[error("the plugin failed: {0}")]
    Plugin(String),
}

/// A sandboxed call that failed for the sandbox's reasons, not the plugin's.
impl From<PluginError> for PricingError {
    fn from(error: PluginError) -> Self {
        PricingError::Plugin(error.to_string())
    }
}

/// Prices orders. `#[sandboxed]` writes the proxy a host calls it through when it runs in the
/// sandbox, the guest's dispatch, and the trait's fingerprint.
#[sandboxed]
#[async_trait]
pub trait Pricing: Send + Sync {
    /// The order's total in cents.
    fn quote(&self, order: &Order) -> Result<u64, PricingError>;

    /// Whether the order can be served, and at what total.
    fn check(&self, order: Order) -> Result<Verdict, PricingError>;

    /// A line describing `item`.
    fn describe(&self, item: &str) -> Result<String, PricingError>;

    /// A checksum (FNV-1a, 32 bits) of `data`: the same on every platform.
    fn checksum(&self, data: &[u8]) -> Result<u32, PricingError>;

    /// Whether `quantity` more of `item` can be had, asked asynchronously.
    async fn restock(&self, item: &str, quantity: u32) -> Result<Verdict, PricingError>;

    /// The width of a pointer where the plugin runs, in bits: 32 in the sandbox.
    fn pointer_bits(&self) -> Result<u32, PricingError>;
}

registry! {
    /// Every pricing plugin: linked in, or loaded into the sandbox by a host.
    pub PRICING: dyn Pricing
}

/// Items, their prices in cents and their stock.
const ITEMS: &[(&str, u64, u32)] = &[
    ("apple", 50, 100),
    ("bread", 300, 5),
    ("cheese", 1_250, 0),
    ("gold", u64::MAX / 4, 1_000),
];

/// A fixed catalogue: apples, bread, cheese (out of stock) and gold (priced to overflow).
#[plugin(registry = PRICING, capabilities = ["pricing", "catalogue"], description = "Prices orders from a fixed catalogue")]
#[derive(Debug, Default)]
pub struct Catalog;

impl Catalog {
    fn item(name: &str) -> Result<(u64, u32), PricingError> {
        ITEMS
            .iter()
            .find(|(item, _, _)| *item == name)
            .map(|(_, price, stock)| (*price, *stock))
            .ok_or_else(|| PricingError::UnknownItem(name.to_owned()))
    }
}

#[async_trait]
impl Pricing for Catalog {
    fn quote(&self, order: &Order) -> Result<u64, PricingError> {
        if order.quantity == 0 {
            return Err(PricingError::ZeroQuantity);
        }
        let (price, _) = Catalog::item(&order.item)?;
        let mut total = price
            .checked_mul(u64::from(order.quantity))
            .ok_or(PricingError::Overflow)?;
        if order.express {
            total = total
                .checked_add(total / 10)
                .ok_or(PricingError::Overflow)?;
        }
        match order.coupon.as_deref() {
            None => {}
            Some("HALF") => total /= 2,
            Some(other) => return Err(PricingError::BadCoupon(other.to_owned())),
        }
        Ok(total)
    }

    fn check(&self, order: Order) -> Result<Verdict, PricingError> {
        if order.item.is_empty() {
            return Ok(Verdict::Rejected("an order names its item".to_owned()));
        }
        let (_, stock) = Catalog::item(&order.item)?;
        if order.quantity > stock {
            return Ok(Verdict::Backordered { available: stock });
        }
        Ok(Verdict::Accepted {
            total_cents: self.quote(&order)?,
        })
    }

    fn describe(&self, item: &str) -> Result<String, PricingError> {
        let (price, stock) = Catalog::item(item)?;
        Ok(format!(
            "{item}: {}.{:02} each, {stock} in stock",
            price / 100,
            price % 100
        ))
    }

    fn checksum(&self, data: &[u8]) -> Result<u32, PricingError> {
        Ok(data.iter().fold(0x811c_9dc5_u32, |hash, byte| {
            (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
        }))
    }

    async fn restock(&self, item: &str, quantity: u32) -> Result<Verdict, PricingError> {
        let (_, stock) = Catalog::item(item)?;
        Ok(if quantity <= stock {
            Verdict::Accepted { total_cents: 0 }
        } else {
            Verdict::Backordered { available: stock }
        })
    }

    fn pointer_bits(&self) -> Result<u32, PricingError> {
        Ok(usize::BITS)
    }
}

// Built for WebAssembly, the module exports `Catalog` as a plugin of `Pricing`; natively this
// writes nothing.
modreg_guest::export!(dyn Pricing: Catalog);
