//! facade
pub use module_registry_core::*;
