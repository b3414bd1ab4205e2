//! Factory registrations: a runtime name for a compiled-in `#[plugin_factory]` function.

use modreg_core::FactoryDescriptor;
use modreg_core::PluginIndex;
use modreg_core::PluginType;
use modreg_core::validate::check_identifier;
use modreg_core::{PluginError, PluginErrorKind};

/// Registers a factory by the name of its `#[plugin_factory]` function.
///
/// ```
/// use modreg_core::PluginType;
/// use modreg_host::PluginFactoryConfig;
/// let config = PluginFactoryConfig::new()
///     .with_name("data-processor-factory")
///     .with_type(PluginType::DataProcessor)
///     .with_factory_method("create_processor");
/// assert_eq!(config.name(), "data-processor-factory");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginFactoryConfig {
    name: String,
    plugin_type: Option<PluginType>,
    method: String,
    interface: Option<String>,
}

impl PluginFactoryConfig {
    /// An empty factory registration; name and method are required.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the name the factory is created by.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the type of the plugins it makes; it must match the function's declared type.
    pub fn with_type(mut self, plugin_type: PluginType) -> Self {
        self.plugin_type = Some(plugin_type);
        self
    }

    /// Names the `#[plugin_factory]` function behind the factory.
    pub fn with_factory_method(mut self, method: impl Into<String>) -> Self {
        self.method = method.into();
        self
    }

    /// Names the interface the factory implements. Registration checks it against the
    /// interface the `#[plugin_factory]` function declares (`interface = "..."`) and refuses a
    /// mismatch, or a function that declares none.
    pub fn with_factory_interface(mut self, interface: impl Into<String>) -> Self {
        self.interface = Some(interface.into());
        self
    }

    /// The factory's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface recorded with `with_factory_interface`.
    pub fn interface(&self) -> Option<&str> {
        self.interface.as_deref()
    }

    /// Finds the compiled-in function this registration names.
    pub(crate) fn resolve(
        &self,
        index: &PluginIndex,
    ) -> Result<&'static FactoryDescriptor, PluginError> {
        check_identifier("factory name", &self.name)?;
        if self.method.is_empty() {
            return Err(PluginError::invalid(
                "factory method",
                "",
                format!("factory `{}` needs `with_factory_method`", self.name),
            ));
        }
        let found = index
            .factories()
            .iter()
            .find(|f| f.method() == self.method)
            .ok_or_else(|| {
                PluginError::from(PluginErrorKind::FactoryMethodNotFound {
                    factory: self.name.clone(),
                    method: self.method.clone(),
                    known: index
                        .factories()
                        .iter()
                        .map(|f| f.method().to_owned())
                        .collect(),
                })
            })?;
        if let Some(interface) = &self.interface
            && found.interface() != Some(interface.as_str())
        {
            return Err(PluginError::invalid(
                "factory interface",
                interface.clone(),
                match found.interface() {
                    Some(declared) => format!(
                        "factory `{}` names interface `{interface}`, but `{}` implements `{declared}`",
                        self.name, self.method
                    ),
                    None => format!(
                        "factory `{}` names interface `{interface}`, but `{}` declares none; add `interface = \"{interface}\"` to its #[plugin_factory]",
                        self.name, self.method
                    ),
                },
            ));
        }
        if let Some(ty) = self.plugin_type
            && ty != found.plugin_type()
        {
            return Err(PluginError::invalid(
                "factory type",
                ty.to_string(),
                format!(
                    "factory `{}` is declared {} but `{}` makes {} plugins",
                    self.name,
                    ty,
                    self.method,
                    found.plugin_type()
                ),
            ));
        }
        Ok(found)
    }
}
