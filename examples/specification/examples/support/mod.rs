//! Compiled-in plugins and factories the specification's examples rely on.
//!
//! The specification registers `data-processor-plugin` at run time and then creates it; the
//! implementation comes from this compiled-in plugin of the same name, type and version.
//!
//! This package depends on `modreg` under the name `module-registry`, so the attributes say
//! `crate = module_registry` (they name `::modreg` by default).

use module_registry::{Plugin, PluginBehavior, PluginError, plugin, plugin_factory};

/// The implementation behind `data-processor-plugin`: returns its input unchanged, as the
/// specification's `process_data` does.
#[plugin(
    crate = module_registry,
    type = DataProcessor,
    name = "data-processor-plugin",
    version = "1.0.0",
    capabilities = ["processing"],
    description = "Passes data through unchanged"
)]
#[derive(Default)]
pub struct DataProcessor;

impl PluginBehavior for DataProcessor {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

/// Upper-cases ASCII: what the factory's `high-performance` variant makes.
#[plugin(
    crate = module_registry,
    type = DataProcessor,
    version = "1.0.0",
    capabilities = ["processing", "performance"]
)]
#[derive(Default)]
pub struct HighPerformanceProcessor;

impl PluginBehavior for HighPerformanceProcessor {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_ascii_uppercase())
    }
}

/// Reverses the bytes: the factory's `batch` variant.
#[plugin(
    crate = module_registry,
    type = DataProcessor,
    version = "1.0.0",
    capabilities = ["processing", "batch"]
)]
#[derive(Default)]
pub struct BatchProcessor;

impl PluginBehavior for BatchProcessor {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.iter().rev().copied().collect())
    }
}

/// The specification's `create_processor` factory.
#[plugin_factory(
    crate = module_registry,
    name = "data-processor-factory",
    type = DataProcessor,
    variants = ["high-performance", "batch"],
    interface = "DataProcessorFactory"
)]
pub fn create_processor(variant: &str) -> Result<Box<dyn Plugin>, PluginError> {
    match variant {
        "high-performance" => Ok(Box::new(HighPerformanceProcessor)),
        _ => Ok(Box::new(BatchProcessor)),
    }
}
