//! The link-time tables that `#[plugin]` and `#[plugin_factory]` add to.
//!
//! Their names carry the crate's major version, so that two incompatible versions of this
//! crate in one binary keep separate tables instead of reading each other's entries.

use linkme::distributed_slice;

use crate::{FactoryDescriptor, PluginDescriptor};

/// Every `#[plugin]` in the binary.
#[distributed_slice]
pub static MODREG_PLUGINS_V0: [PluginDescriptor];

/// Every `#[plugin_factory]` in the binary.
#[distributed_slice]
pub static MODREG_FACTORIES_V0: [FactoryDescriptor];
