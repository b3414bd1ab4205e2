//! Table entries: what `#[plugin]` and `#[plugin_factory]` put into the link-time table.
//!
//! A descriptor is a `const` value made of `'static` strings and function pointers, so the
//! table costs no allocation and runs no code until the registry first reads it.
//!
//! A descriptor is generic over the trait object its registry holds: `Descriptor<dyn Codec>`
//! is an entry of a registry declared with `registry!(pub CODECS: dyn Codec)`, and
//! [`PluginDescriptor`](crate::PluginDescriptor) (defined beside the trait, in `plugin.rs`)
//! names `Descriptor<dyn Plugin>` by default.

use std::any::{Any, TypeId};
use std::fmt;

use crate::config_schema::SettingInfo;
use crate::error::{PluginError, PluginErrorKind};
use crate::location::SourceLocation;
use crate::name_table::name_hash;
use crate::plugin_type::PluginType;
use crate::sandbox::{guard, guard_value};
use crate::settings::PluginSettings;

/// Creates an instance from its settings (empty when none are configured).
type Make<T> = fn(&PluginSettings) -> Result<Box<T>, PluginError>;

/// Creates an instance that needs no settings and cannot fail.
type MakeDefault<T> = fn() -> Box<T>;

/// Creates an instance as its concrete type, for [`Registry::create_as`](crate::Registry::create_as).
pub type AnyConstructor = fn(&PluginSettings) -> Result<Box<dyn Any>, PluginError>;

/// One compiled-in plugin: its metadata and how to construct it.
///
/// `#[plugin]` writes these; the const builder below is what it calls, so tests and benches
/// can build tables of their own the same way.
///
/// ```
/// use modreg_core::{Plugin, PluginDescriptor, PluginError, PluginErrorKind, PluginSettings, PluginType, SourceLocation};
///
/// fn make(_: &PluginSettings) -> Result<Box<dyn Plugin>, PluginError> {
///     Err(PluginError::from(PluginErrorKind::NoImplementation { name: "demo".into() }))
/// }
/// const HERE: SourceLocation = SourceLocation::new("demo", "demo", "demo.rs", 1);
/// static DEMO: PluginDescriptor = PluginDescriptor::new("demo", "1.0.0", PluginType::Storage, make, HERE)
///     .with_capabilities(&["storage", "kv"]);
/// assert_eq!(DEMO.capabilities(), ["storage", "kv"]);
/// ```
pub struct Descriptor<T: ?Sized + 'static> {
    name: &'static str,
    /// `name_hash(name)`, computed when the descriptor is (at compile time for `#[plugin]`).
    name_hash: u64,
    version: &'static str,
    plugin_type: PluginType,
    capabilities: &'static [&'static str],
    description: &'static str,
    depends_on: &'static [&'static str],
    permissions: &'static [&'static str],
    mock_of: Option<&'static str>,
    constructor: Make<T>,
    infallible: Option<MakeDefault<T>>,
    concrete: Option<(AnyConstructor, fn() -> TypeId)>,
    settings: Option<fn() -> Vec<SettingInfo>>,
    /// Whether its instances report exactly this descriptor (`#[plugin]` wrote their `Plugin`
    /// implementation from it).
    reports_itself: bool,
    priority: i32,
    before: &'static [&'static str],
    after: &'static [&'static str],
    meta: Option<&'static (dyn Any + Send + Sync)>,
    wrapper: bool,
    location: SourceLocation,
}

// Not derived: a derive would ask `T: Clone`, and a trait object is not.
impl<T: ?Sized> Clone for Descriptor<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Descriptor<T> {}

impl<T: ?Sized> Descriptor<T> {
    /// A descriptor with no capabilities, description, dependencies or permissions.
    pub const fn new(
        name: &'static str,
        version: &'static str,
        plugin_type: PluginType,
        constructor: Make<T>,
        location: SourceLocation,
    ) -> Self {
        Descriptor {
            name,
            name_hash: name_hash(name),
            version,
            plugin_type,
            capabilities: &[],
            description: "",
            depends_on: &[],
            permissions: &[],
            mock_of: None,
            constructor,
            infallible: None,
            concrete: None,
            settings: None,
            reports_itself: false,
            priority: 0,
            before: &[],
            after: &[],
            meta: None,
            wrapper: false,
            location,
        }
    }

    /// Marks the plugin as a wrapper: fan-out calls do not call it, [`FanOut::call_around`]
    /// runs it around the others (`#[plugin(wrapper)]` gives it).
    ///
    /// [`FanOut::call_around`]: crate::FanOut::call_around
    pub const fn as_wrapper(mut self) -> Self {
        self.wrapper = true;
        self
    }

    /// Sets the priority: among plugins that `before`/`after` leave unordered, a higher one
    /// runs earlier (ties by name). The default is 0.
    pub const fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Orders the plugin before the plugins named in `before` and after those in `after`,
    /// within its registry.
    pub const fn with_order(
        mut self,
        before: &'static [&'static str],
        after: &'static [&'static str],
    ) -> Self {
        self.before = before;
        self.after = after;
        self
    }

    /// Attaches the plugin's metadata, a value of its registry's `meta` type
    /// (`#[plugin(meta = ...)]` gives it).
    pub const fn with_meta(mut self, meta: &'static (dyn Any + Send + Sync)) -> Self {
        self.meta = Some(meta);
        self
    }

    /// Adds a constructor that needs no settings and cannot fail (`#[plugin]` without
    /// `config` gives one); unconfigured creation calls it directly.
    pub const fn with_infallible_constructor(mut self, make: MakeDefault<T>) -> Self {
        self.infallible = Some(make);
        self
    }

    /// Adds a constructor of the concrete type and that type's id, so that
    /// [`Registry::create_as`](crate::Registry::create_as) can hand out the concrete type.
    /// `#[plugin]` gives both.
    pub const fn with_concrete_type(
        mut self,
        make: AnyConstructor,
        type_id: fn() -> TypeId,
    ) -> Self {
        self.concrete = Some((make, type_id));
        self
    }

    /// Records how to list the settings the plugin accepts (`#[plugin(config = C)]` gives it,
    /// read from `C`).
    pub const fn with_settings_schema(mut self, settings: fn() -> Vec<SettingInfo>) -> Self {
        self.settings = Some(settings);
        self
    }

    /// Declares that instances report exactly this descriptor's name, version, type and
    /// capabilities, as the `Plugin` implementation `#[plugin]` writes does; validation then
    /// need not ask each instance. Not for hand-written implementations.
    #[doc(hidden)]
    pub const fn with_generated_plugin_impl(mut self) -> Self {
        self.reports_itself = true;
        self
    }

    /// Whether instances report exactly this descriptor.
    #[doc(hidden)] // Used by the host's creation path.
    #[inline]
    pub const fn reports_itself(&self) -> bool {
        self.reports_itself
    }

    /// Sets the capabilities.
    pub const fn with_capabilities(mut self, capabilities: &'static [&'static str]) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Sets the description.
    pub const fn with_description(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    /// Sets the dependencies, each `name` or `name <semver requirement>`.
    pub const fn with_dependencies(mut self, depends_on: &'static [&'static str]) -> Self {
        self.depends_on = depends_on;
        self
    }

    /// Sets the permissions the plugin needs.
    pub const fn with_permissions(mut self, permissions: &'static [&'static str]) -> Self {
        self.permissions = permissions;
        self
    }

    /// Marks this plugin as the mock that stands in for `real` where mocks are enabled.
    pub const fn with_mock_of(mut self, real: &'static str) -> Self {
        self.mock_of = Some(real);
        self
    }

    /// The settings the plugin accepts, with defaults where its config type can show them;
    /// `None` when it takes no configuration.
    pub fn settings_schema(&self) -> Option<Vec<SettingInfo>> {
        self.settings.map(|describe| describe())
    }

    /// The unique name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The hash of the name the index uses, computed with the descriptor.
    #[inline]
    pub(crate) const fn name_hash(&self) -> u64 {
        self.name_hash
    }

    /// The semantic version.
    pub const fn version(&self) -> &'static str {
        self.version
    }

    /// The type.
    pub const fn plugin_type(&self) -> PluginType {
        self.plugin_type
    }

    /// The capabilities, in declaration order.
    pub const fn capabilities(&self) -> &'static [&'static str] {
        self.capabilities
    }

    /// The description (empty when none was given).
    pub const fn description(&self) -> &'static str {
        self.description
    }

    /// The dependencies as written.
    pub const fn depends_on(&self) -> &'static [&'static str] {
        self.depends_on
    }

    /// The permissions the plugin needs.
    pub const fn permissions(&self) -> &'static [&'static str] {
        self.permissions
    }

    /// The real plugin this one is a mock of, if it is one.
    pub const fn mock_of(&self) -> Option<&'static str> {
        self.mock_of
    }

    /// Whether the plugin is a wrapper (see [`as_wrapper`](Self::as_wrapper)).
    pub const fn is_wrapper(&self) -> bool {
        self.wrapper
    }

    /// The priority (0 unless `priority = N` was given).
    pub const fn priority(&self) -> i32 {
        self.priority
    }

    /// The plugins this one runs before, as written.
    pub const fn before(&self) -> &'static [&'static str] {
        self.before
    }

    /// The plugins this one runs after, as written.
    pub const fn after(&self) -> &'static [&'static str] {
        self.after
    }

    /// The metadata, untyped; a registry declared with `meta = M` hands it out as `&M`
    /// ([`MetaRegistry`](crate::MetaRegistry)).
    pub const fn meta_any(&self) -> Option<&'static (dyn Any + Send + Sync)> {
        self.meta
    }

    /// Where it was defined.
    pub const fn location(&self) -> SourceLocation {
        self.location
    }

    /// The constructor.
    pub const fn constructor(&self) -> Make<T> {
        self.constructor
    }

    /// The constructor of the concrete type, when the entry has one (`#[plugin]` entries do).
    /// A `const fn`, so that generated code can take the function out of an entry at compile
    /// time without keeping the entry.
    pub(crate) const fn any_constructor(&self) -> Option<AnyConstructor> {
        match self.concrete {
            Some((make, _)) => Some(make),
            None => None,
        }
    }

    /// Whether the concrete type behind this entry is `C`; `None` when the entry does not say
    /// (a descriptor written by hand without [`with_concrete_type`](Self::with_concrete_type)).
    pub fn is<C: 'static>(&self) -> Option<bool> {
        self.concrete
            .map(|(_, type_id)| type_id() == TypeId::of::<C>())
    }

    /// Creates an instance with the given settings, under the panic guard.
    #[inline]
    /// A configuration error names where the settings were written, when they come from a
    /// file ([`PluginSettings::locate_error`]).
    pub fn instantiate(&self, settings: &PluginSettings) -> Result<Box<T>, PluginError> {
        guard(self.name, "construction", || (self.constructor)(settings))
            .map_err(|e| settings.locate_error(e))
    }

    /// Creates an instance with no settings, under the panic guard: through the infallible
    /// constructor when there is one, else the general one with empty settings.
    ///
    /// This is what a resolved handle calls in a hot loop; registries call it after their
    /// checks.
    #[inline(always)]
    #[allow(clippy::inline_always)] // a hot loop's whole call; out of line across crates otherwise
    pub fn instantiate_default(&self) -> Result<Box<T>, PluginError> {
        match self.infallible {
            Some(make) => guard_value(self.name, "construction", make),
            None => guard(self.name, "construction", || {
                (self.constructor)(&crate::settings::EMPTY)
            }),
        }
    }

    /// Creates an instance as its concrete type `C` with the given settings.
    pub fn instantiate_as<C: 'static>(
        &self,
        settings: &PluginSettings,
    ) -> Result<Box<C>, PluginError> {
        let wrong_type = || {
            PluginError::from(PluginErrorKind::WrongType {
                plugin: self.name.to_owned(),
                requested: std::any::type_name::<C>(),
            })
        };
        let Some((make, type_id)) = self.concrete else {
            return Err(wrong_type());
        };
        if type_id() != TypeId::of::<C>() {
            return Err(wrong_type());
        }
        guard(self.name, "construction", || make(settings))
            .map_err(|e| settings.locate_error(e))?
            .downcast::<C>()
            .map_err(|_| wrong_type())
    }
}

impl<T: ?Sized> fmt::Debug for Descriptor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Descriptor")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("plugin_type", &self.plugin_type)
            .field("capabilities", &self.capabilities)
            .field("depends_on", &self.depends_on)
            .field("permissions", &self.permissions)
            .field("mock_of", &self.mock_of)
            .field("priority", &self.priority)
            .field("before", &self.before)
            .field("after", &self.after)
            .field("wrapper", &self.wrapper)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}
