//! The specification's "Basic Plugin Implementation" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{Plugin, PluginError, PluginType};

pub struct DataProcessorPlugin {
    name: String,
    version: String,
    capabilities: Vec<String>,
}

impl DataProcessorPlugin {
    pub fn new(name: &str, version: &str) -> Self {
        Self {
            name: name.to_string(),
            version: version.to_string(),
            capabilities: vec!["processing".to_string()],
        }
    }
}

impl Plugin for DataProcessorPlugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> &str {
        &self.version
    }

    fn plugin_type(&self) -> PluginType {
        PluginType::DataProcessor
    }

    fn capabilities(&self) -> &[String] {
        &self.capabilities
    }

    fn initialize(&mut self) -> Result<(), PluginError> {
        // Initialize the plugin
        println!("Initializing plugin: {}", self.name);
        Ok(())
    }

    fn cleanup(&mut self) -> Result<(), PluginError> {
        // Cleanup the plugin
        println!("Cleaning up plugin: {}", self.name);
        Ok(())
    }

    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        // Process the data
        let result = self.process_data(data)?;
        Ok(result)
    }
}

impl DataProcessorPlugin {
    fn process_data(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        // Implement data processing logic
        Ok(data.to_vec())
    }
}

// Added: a `main`, so that the implementation runs (the specification shows the type only).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use module_registry::{ModuleRegistry, PluginConfig};

    let registry = ModuleRegistry::new();
    registry.register_plugin(
        PluginConfig::new()
            .with_name("data-processor-plugin")
            .with_version("1.0.0")
            .with_type(PluginType::DataProcessor)
            .add_capability("processing")
            .with_constructor(|_| {
                Ok(Box::new(DataProcessorPlugin::new(
                    "data-processor-plugin",
                    "1.0.0",
                )))
            }),
    )?;
    let mut plugin = registry.create_plugin("data-processor-plugin")?;
    plugin.initialize()?;
    let result = plugin.process(b"input data")?;
    println!("Processed data: {}", String::from_utf8_lossy(&result));
    plugin.cleanup()?;
    Ok(())
}
