//! The specification's "Advanced Plugin Implementation" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{
    AdvancedPlugin, Plugin, PluginConfiguration, PluginContext, PluginError, PluginMetrics,
    PluginState, PluginType,
};

pub struct AdvancedDataProcessorPlugin {
    name: String,
    version: String,
    capabilities: Vec<String>,
    context: PluginContext,
    configuration: PluginConfiguration,
    state: PluginState,
    metrics: PluginMetrics,
}

impl AdvancedDataProcessorPlugin {
    pub fn new(name: &str, version: &str) -> Self {
        Self {
            name: name.to_string(),
            version: version.to_string(),
            capabilities: vec!["processing".to_string(), "analysis".to_string()],
            context: PluginContext::new(),
            configuration: PluginConfiguration::new(),
            state: PluginState::new(),
            metrics: PluginMetrics::new(),
        }
    }
}

impl Plugin for AdvancedDataProcessorPlugin {
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
        // Initialize the plugin with context and configuration
        self.context.initialize()?;
        self.configuration.load()?;
        self.state.set_initialized(true);
        Ok(())
    }

    fn cleanup(&mut self) -> Result<(), PluginError> {
        // Cleanup the plugin
        self.state.set_initialized(false);
        self.context.cleanup()?;
        Ok(())
    }

    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        // Process the data with advanced features
        let result = self.process_data_advanced(data)?;
        Ok(result)
    }
}

impl AdvancedPlugin for AdvancedDataProcessorPlugin {
    fn context(&self) -> &PluginContext {
        &self.context
    }

    fn set_context(&mut self, context: PluginContext) {
        self.context = context;
    }

    fn configuration(&self) -> &PluginConfiguration {
        &self.configuration
    }

    fn set_configuration(&mut self, config: PluginConfiguration) {
        self.configuration = config;
    }

    fn state(&self) -> &PluginState {
        &self.state
    }

    fn set_state(&mut self, state: PluginState) {
        self.state = state;
    }

    fn metrics(&self) -> &PluginMetrics {
        &self.metrics
    }

    fn update_metrics(&mut self, metrics: PluginMetrics) {
        self.metrics = metrics;
    }
}

impl AdvancedDataProcessorPlugin {
    fn process_data_advanced(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        // Implement advanced data processing logic
        let result = self.context.process(data)?;
        Ok(result)
    }
}

// Added: a `main`, so that the implementation runs (the specification shows the type only).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use module_registry::{
        AdvancedPluginConfig, AdvancedPluginInstantiationConfig, ModuleRegistry,
    };

    let registry = ModuleRegistry::new();
    registry.register_advanced_plugin(
        AdvancedPluginConfig::new()
            .with_name("advanced-data-processor-plugin")
            .with_version("1.0.0")
            .with_type(PluginType::DataProcessor)
            .add_capability("processing")
            .add_capability("analysis")
            .with_advanced_constructor(|_| {
                Ok(Box::new(AdvancedDataProcessorPlugin::new(
                    "advanced-data-processor-plugin",
                    "1.0.0",
                )))
            }),
    )?;
    let context = PluginContext::new().with_environment("example");
    let instance = registry.create_advanced_plugin(
        "advanced-data-processor-plugin",
        AdvancedPluginInstantiationConfig::new()
            .with_context(context)
            .with_initialization(true)
            .with_monitoring(true),
    )?;
    let result = instance.process(b"input data")?;
    println!("Processed data: {}", String::from_utf8_lossy(&result));
    let metrics = instance.metrics().unwrap_or_default();
    println!(
        "Calls recorded: {}, bytes in: {}",
        metrics.calls, metrics.bytes_in
    );
    Ok(())
}
