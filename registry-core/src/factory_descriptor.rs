//! `FactoryDescriptor`: what `#[plugin_factory]` puts into the link-time table of factories.

use std::fmt;

use crate::error::{PluginError, PluginErrorKind};
use crate::location::SourceLocation;
use crate::plugin::Plugin;
use crate::plugin_type::PluginType;

/// Creates a plugin instance of the given variant.
pub type FactoryFn = fn(&str) -> Result<Box<dyn Plugin>, PluginError>;

/// One compiled-in factory: a function that creates plugins by variant name.
#[derive(Clone, Copy)]
pub struct FactoryDescriptor {
    name: &'static str,
    method: &'static str,
    plugin_type: PluginType,
    variants: &'static [&'static str],
    interface: Option<&'static str>,
    function: FactoryFn,
    location: SourceLocation,
}

impl FactoryDescriptor {
    /// A factory called `name`, implemented by the function `method`.
    pub const fn new(
        name: &'static str,
        method: &'static str,
        plugin_type: PluginType,
        function: FactoryFn,
        location: SourceLocation,
    ) -> Self {
        FactoryDescriptor {
            name,
            method,
            plugin_type,
            variants: &[],
            interface: None,
            function,
            location,
        }
    }

    /// Declares the variants the factory accepts; others are refused before it is called.
    pub const fn with_variants(mut self, variants: &'static [&'static str]) -> Self {
        self.variants = variants;
        self
    }

    /// Declares the interface the factory implements (`#[plugin_factory(interface = "...")]`);
    /// a runtime registration that names another is refused.
    pub const fn with_interface(mut self, interface: &'static str) -> Self {
        self.interface = Some(interface);
        self
    }

    /// The interface it declares, if any.
    pub const fn interface(&self) -> Option<&'static str> {
        self.interface
    }

    /// The factory's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The name of the function behind it.
    pub const fn method(&self) -> &'static str {
        self.method
    }

    /// The type of the plugins it makes.
    pub const fn plugin_type(&self) -> PluginType {
        self.plugin_type
    }

    /// The declared variants (empty: the function decides).
    pub const fn variants(&self) -> &'static [&'static str] {
        self.variants
    }

    /// Where it was defined.
    pub const fn location(&self) -> SourceLocation {
        self.location
    }

    /// Creates the plugin `variant`, refusing undeclared variants with the list of known ones.
    pub fn create(&self, variant: &str) -> Result<Box<dyn Plugin>, PluginError> {
        if !self.variants.is_empty() && !self.variants.contains(&variant) {
            return Err(PluginError::from(PluginErrorKind::UnknownVariant {
                factory: self.name.to_owned(),
                variant: variant.to_owned(),
                known: self.variants.iter().map(|v| (*v).to_owned()).collect(),
            }));
        }
        (self.function)(variant)
    }
}

impl fmt::Debug for FactoryDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FactoryDescriptor")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("plugin_type", &self.plugin_type)
            .field("variants", &self.variants)
            .field("interface", &self.interface)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}
