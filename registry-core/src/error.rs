//! The one error type of the registry.

use std::fmt;

use crate::location::SourceLocation;

/// Everything that can go wrong when registering, discovering, creating or running a plugin.
///
/// The error is one pointer wide: what went wrong is a [`PluginErrorKind`], boxed, so that a
/// `Result<Box<dyn Plugin>, PluginError>` on the lookup and creation path stays small (the
/// kind is built only when something fails). Match on [`kind`](Self::kind):
///
/// ```
/// use modreg_core::{PluginError, PluginErrorKind, PLUGINS};
///
/// let err = PLUGINS.create("no-such-plugin").map(|p| p.name().to_owned()).unwrap_err();
/// match err.kind() {
///     PluginErrorKind::NotFound { name, .. } => assert_eq!(name, "no-such-plugin"),
///     other => panic!("unexpected: {other:?}"),
/// }
/// assert!(std::mem::size_of::<PluginError>() <= 24);
/// ```
pub struct PluginError(Box<PluginErrorKind>);

impl PluginError {
    /// What went wrong, with the plugin, field or file at fault.
    #[inline]
    pub fn kind(&self) -> &PluginErrorKind {
        &self.0
    }

    /// What went wrong, owned.
    pub fn into_kind(self) -> PluginErrorKind {
        *self.0
    }
}

impl From<PluginErrorKind> for PluginError {
    #[cold]
    fn from(kind: PluginErrorKind) -> Self {
        PluginError(Box::new(kind))
    }
}

impl fmt::Debug for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for PluginError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// What a [`PluginError`] says went wrong.
///
/// Every variant names what was at fault: the plugin, the query field, the factory or the
/// configuration key, so that a message read in a log is enough to find the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginErrorKind {
    /// No plugin of that name is registered.
    #[error("plugin `{name}` is not registered{}", did_you_mean(.suggestions))]
    NotFound {
        /// The name that was asked for.
        name: String,
        /// Registered names close to it.
        suggestions: Vec<String>,
    },

    /// Two compiled-in plugins carry the same name; neither is used.
    #[error("plugin `{name}` is defined twice: {first} and {second}")]
    DuplicatePlugin {
        /// The name both definitions use.
        name: String,
        /// Where the first definition is.
        first: Box<SourceLocation>,
        /// Where the second definition is.
        second: Box<SourceLocation>,
    },

    /// A runtime registration used a name that is already taken.
    #[error(
        "plugin `{name}` is already registered ({existing}); use `replace_plugin` to replace it"
    )]
    AlreadyRegistered {
        /// The name in conflict.
        name: String,
        /// Where the existing entry came from.
        existing: String,
    },

    /// The entry exists but has no implementation to instantiate.
    #[error(
        "plugin `{name}` is registered without an implementation: no compiled-in plugin or factory of that name, and no constructor was given"
    )]
    NoImplementation {
        /// The plugin that cannot be created.
        name: String,
    },

    /// A field of a registration, query or configuration is not valid.
    #[error("invalid {field} `{value}`: {reason}")]
    Invalid {
        /// Which field was wrong, for example `plugin name` or `capability`.
        field: &'static str,
        /// The offending value.
        value: String,
        /// What the rule is.
        reason: String,
    },

    /// A version is not a semantic version.
    #[error("plugin `{plugin}` has version `{version}`, which is not semver: {source}")]
    InvalidVersion {
        /// The plugin carrying the version.
        plugin: String,
        /// The version text.
        version: String,
        /// Why it does not parse.
        source: semver::Error,
    },

    /// A dependency requirement does not parse.
    #[error(
        "plugin `{plugin}` has dependency `{requirement}`, which is not `name` or `name <semver requirement>`: {reason}"
    )]
    InvalidDependency {
        /// The plugin declaring the dependency.
        plugin: String,
        /// The requirement text.
        requirement: String,
        /// Why it does not parse.
        reason: String,
    },

    /// A dependency is not registered.
    #[error("plugin `{plugin}` depends on `{dependency}`, which is not registered")]
    MissingDependency {
        /// The plugin declaring the dependency.
        plugin: String,
        /// The dependency that is absent.
        dependency: String,
    },

    /// A dependency is registered at a version the requirement does not accept.
    #[error("plugin `{plugin}` requires `{requirement}`, but `{dependency}` is version {found}")]
    IncompatibleDependency {
        /// The plugin declaring the dependency.
        plugin: String,
        /// The dependency's name.
        dependency: String,
        /// The requirement text.
        requirement: String,
        /// The version that is registered.
        found: String,
    },

    /// Plugins depend on each other in a circle.
    #[error("dependency cycle: {}", .cycle.join(" -> "))]
    DependencyCycle {
        /// The plugins on the cycle, the first repeated at the end.
        cycle: Vec<String>,
    },

    /// A plugin's `before` or `after` names a plugin its registry does not have.
    #[error("plugin `{plugin}` is ordered {relation} `{other}`, which is not in its registry")]
    UnknownInOrder {
        /// The plugin whose attribute names `other`.
        plugin: String,
        /// `before` or `after`.
        relation: &'static str,
        /// The name that is not in the registry.
        other: String,
    },

    /// `before`/`after` order plugins in a circle.
    #[error("plugins are ordered in a circle: {}", .cycle.join(" runs before "))]
    OrderCycle {
        /// The plugins on the circle, each running before the next, the first repeated last.
        cycle: Vec<String>,
    },

    /// A fan-out call found no plugin that answered.
    #[error("no plugin of `{registry}` answered ({tried} tried)")]
    NoAnswer {
        /// The registry's name.
        registry: &'static str,
        /// How many plugins were called.
        tried: usize,
        /// The last plugin's error, if one failed.
        #[source]
        last: Option<Box<PluginError>>,
    },

    /// Plugins the program expects were not linked into the binary.
    #[error(
        "expected plugins missing from this binary: {}; make sure the crates defining them are dependencies and are named in the binary (`use the_plugin_crate as _;`)",
        .missing.join(", ")
    )]
    MissingPlugins {
        /// The names that are absent.
        missing: Vec<String>,
    },

    /// No factory of that name is registered.
    #[error("factory `{name}` is not registered; known factories: {}", list(.known))]
    FactoryNotFound {
        /// The factory asked for.
        name: String,
        /// The factories that exist.
        known: Vec<String>,
    },

    /// A factory has no implementation behind its method name.
    #[error("factory `{factory}` names method `{method}`, but no `#[plugin_factory]` function of that name is compiled in; known methods: {}", list(.known))]
    FactoryMethodNotFound {
        /// The factory.
        factory: String,
        /// The method it names.
        method: String,
        /// The compiled-in factory functions.
        known: Vec<String>,
    },

    /// A factory does not know the variant asked for.
    #[error("factory `{factory}` has no variant `{variant}`; known variants: {}", list(.known))]
    UnknownVariant {
        /// The factory.
        factory: String,
        /// The variant asked for.
        variant: String,
        /// The variants it declares.
        known: Vec<String>,
    },

    /// A plugin's configuration could not be read into its `config` type.
    #[error("configuration of plugin `{plugin}` is invalid: {reason}")]
    Configuration {
        /// The plugin being configured.
        plugin: String,
        /// What was wrong, with the key where known.
        reason: String,
    },

    /// A configuration file could not be used.
    #[error("configuration file `{path}`: {reason}")]
    ConfigurationFile {
        /// The file.
        path: String,
        /// What was wrong, with line and key where known.
        reason: String,
    },

    /// A file the host reads or keeps other than a configuration file (a sealing key, the
    /// audit file, a state record) could not be used.
    #[error("{what} `{path}`: {reason}")]
    File {
        /// What the file is for, as `secret key file` or `audit file`.
        what: &'static str,
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },

    /// A query cannot be answered as asked.
    #[error("invalid query: {reason}")]
    InvalidQuery {
        /// What was wrong with it.
        reason: String,
    },

    /// A plugin failed with an error of its own, kept as the source.
    #[error("plugin `{plugin}` failed: {source}")]
    Plugin {
        /// The plugin that failed.
        plugin: String,
        /// The error it reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// A plugin reported a failure while processing, as text.
    #[error("plugin `{plugin}` failed: {reason}")]
    Processing {
        /// The plugin that failed.
        plugin: String,
        /// Its description of the failure.
        reason: String,
    },

    /// A lifecycle transition that the plugin's state does not allow.
    #[error("plugin `{plugin}` cannot go from {from} to {to}")]
    InvalidTransition {
        /// The plugin.
        plugin: String,
        /// Its current state.
        from: String,
        /// The state asked for.
        to: String,
    },

    /// A switch of the plugin system forbids the operation.
    #[error("cannot create plugin `{plugin}`: {what} is switched off")]
    Disabled {
        /// The plugin asked for.
        plugin: String,
        /// The switch, as `plugin loading`.
        what: &'static str,
    },

    /// A plugin needs a permission that is not granted.
    #[error("plugin `{plugin}` needs permission `{permission}`, which is not granted")]
    PermissionDenied {
        /// The plugin.
        plugin: String,
        /// The permission missing.
        permission: String,
    },

    /// A created plugin reports something other than its registry entry.
    #[error(
        "plugin `{plugin}` reports {field} `{reported}`, but is registered with `{registered}`"
    )]
    Mismatch {
        /// The plugin, as registered.
        plugin: String,
        /// The field that differs: `name`, `version` or `type`.
        field: &'static str,
        /// What the registry has.
        registered: String,
        /// What the instance reports.
        reported: String,
    },

    /// A sandboxed plugin panicked earlier and refuses further calls.
    #[error(
        "plugin `{plugin}` failed earlier (it panicked) and refuses further calls; create a new instance"
    )]
    Failed {
        /// The plugin.
        plugin: String,
    },

    /// Input or output over the sandbox's limit.
    #[error("plugin `{plugin}`: {what} of {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The plugin.
        plugin: String,
        /// `input` or `output`.
        what: &'static str,
        /// The size seen.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// The caller gave up on the call (its request ended) and the plugin, listening
    /// ([`crate::cancel`]), stopped.
    #[error("plugin `{plugin}` stopped: its caller gave up on the call")]
    Cancelled {
        /// The plugin.
        plugin: String,
    },

    /// A call took longer than the sandbox's time budget.
    #[error("plugin `{plugin}` did not answer within {budget:?}")]
    Timeout {
        /// The plugin.
        plugin: String,
        /// The budget.
        budget: std::time::Duration,
    },

    /// A layer of the host refused, with its own error (the security layer's
    /// `SecurityError`: an unsigned change, a denied principal, an unwritable audit file...).
    /// Read it with [`PluginError::layer_error`].
    #[error("{error}")]
    Layer {
        /// The layer that refused (`security`, or a layer of yours).
        layer: &'static str,
        /// Its error.
        error: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A manifest envelope or manifest cannot be read.
    #[error("invalid manifest: {reason}")]
    Manifest {
        /// What was wrong, with line and key where known.
        reason: String,
    },

    /// `create_as` asked for a concrete type the plugin is not.
    #[error("plugin `{plugin}` is not a `{requested}`")]
    WrongType {
        /// The plugin.
        plugin: String,
        /// The type asked for.
        requested: &'static str,
    },

    /// A WebAssembly module was refused: unreadable, too large, invalid, without the
    /// `modreg.plugins` section, importing what the sandbox does not offer, or not signed by a
    /// trusted key while authentication is on.
    #[error("WebAssembly module `{module}` refused: {reason}")]
    WasmModule {
        /// The module's file (or the name it was loaded under).
        module: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A plugin of a `#[sandboxed]` trait was built against another version of the trait than
    /// the host's registry serves: their fingerprints differ.
    #[error(
        "plugin `{plugin}` implements trait `{trait_name}` with fingerprint {found}, but this host's `{trait_name}` has fingerprint {expected}: rebuild the plugin against the host's trait"
    )]
    TraitMismatch {
        /// The plugin.
        plugin: String,
        /// The trait.
        trait_name: String,
        /// The host's fingerprint of the trait.
        expected: String,
        /// The fingerprint the plugin was built against.
        found: String,
    },

    /// A plugin of a `#[sandboxed]` trait arrived where no registry of that trait was given to
    /// the host.
    #[error(
        "plugin `{plugin}` implements trait `{trait_name}`, which no registry of this host serves: give the host the trait's registry (`Registrations::add_registry`) before loading it"
    )]
    TraitNotServed {
        /// The plugin.
        plugin: String,
        /// The trait.
        trait_name: String,
    },

    /// A sandboxed (WebAssembly) plugin asked for more memory than its limit.
    #[error("plugin `{plugin}` needed more than its memory limit of {limit} bytes")]
    MemoryLimit {
        /// The plugin.
        plugin: String,
        /// The limit, in bytes.
        limit: usize,
    },

    /// A sandboxed (WebAssembly) plugin trapped: it executed `unreachable`, accessed memory
    /// out of bounds, divided by zero, or ran out of fuel.
    #[error("plugin `{plugin}` trapped: {trap}")]
    Trapped {
        /// The plugin.
        plugin: String,
        /// The trap, as the engine describes it.
        trap: String,
    },

    /// A plugin panicked; the panic was caught and the plugin marked failed.
    #[error("plugin `{plugin}` panicked in {during}: {message}")]
    Panicked {
        /// The plugin.
        plugin: String,
        /// The call that panicked (`initialize`, `process`, `cleanup`).
        during: &'static str,
        /// The panic message.
        message: String,
    },
}

impl PluginError {
    /// A processing failure of `plugin`, described by `reason`.
    ///
    /// ```
    /// use modreg_core::PluginError;
    /// let err = PluginError::processing("gzip-decompress", "input is not gzip");
    /// assert_eq!(err.to_string(), "plugin `gzip-decompress` failed: input is not gzip");
    /// ```
    pub fn processing(plugin: impl Into<String>, reason: impl fmt::Display) -> Self {
        PluginError::from(PluginErrorKind::Processing {
            plugin: plugin.into(),
            reason: reason.to_string(),
        })
    }

    /// A failure of `plugin` caused by `source`, which [`std::error::Error::source`] returns.
    ///
    /// ```
    /// use std::error::Error;
    /// use modreg_core::PluginError;
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::InvalidData, "corrupt deflate stream");
    /// let err = PluginError::from_plugin("gzip-decompress", io);
    /// assert_eq!(err.to_string(), "plugin `gzip-decompress` failed: corrupt deflate stream");
    /// assert!(err.source().unwrap().downcast_ref::<std::io::Error>().is_some());
    /// assert!(err.is_plugin_failure());
    /// ```
    pub fn from_plugin(
        plugin: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        PluginError::from(PluginErrorKind::Plugin {
            plugin: plugin.into(),
            source: source.into(),
        })
    }

    /// Whether the plugin's own code failed (an error it returned, a panic, a time-out, a
    /// refusal after an earlier panic), as opposed to the registry refusing or not finding
    /// something. A host retries or reports the first kind per plugin; the second is a
    /// configuration or programming error.
    pub fn is_plugin_failure(&self) -> bool {
        matches!(
            self.kind(),
            PluginErrorKind::Plugin { .. }
                | PluginErrorKind::Processing { .. }
                | PluginErrorKind::Panicked { .. }
                | PluginErrorKind::Failed { .. }
                | PluginErrorKind::Timeout { .. }
                | PluginErrorKind::MemoryLimit { .. }
                | PluginErrorKind::Trapped { .. }
        )
    }

    /// A layer's refusal of `layer` (its name), with the layer's own `error`.
    pub fn from_layer(
        layer: &'static str,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        PluginError::from(PluginErrorKind::Layer {
            layer,
            error: Box::new(error),
        })
    }

    /// The error of type `E` a layer refused with, if this is one.
    ///
    /// ```
    /// use modreg_core::PluginError;
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("closed on Sundays")]
    /// struct Closed;
    ///
    /// let err = PluginError::from_layer("opening-hours", Closed);
    /// assert!(err.layer_error::<Closed>().is_some());
    /// assert_eq!(err.to_string(), "closed on Sundays");
    /// ```
    pub fn layer_error<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self.kind() {
            PluginErrorKind::Layer { error, .. } => error.downcast_ref::<E>(),
            _ => None,
        }
    }

    /// An invalid `field` holding `value`, with the rule it broke.
    pub fn invalid(
        field: &'static str,
        value: impl Into<String>,
        reason: impl fmt::Display,
    ) -> Self {
        PluginError::from(PluginErrorKind::Invalid {
            field,
            value: value.into(),
            reason: reason.to_string(),
        })
    }
}

/// `Ok` if `present` says yes for every one of `names`, else `MissingPlugins` naming the
/// absent ones: what `expect` and `expect_plugins` answer.
pub fn expect_all<'a>(
    names: impl IntoIterator<Item = &'a str>,
    present: impl Fn(&str) -> bool,
) -> Result<(), PluginError> {
    let missing: Vec<String> = names
        .into_iter()
        .filter(|name| !present(name))
        .map(str::to_owned)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PluginError::from(PluginErrorKind::MissingPlugins {
            missing,
        }))
    }
}

/// Up to three of `names` close to `name`, closest first: the "did you mean" of an error.
pub fn close_names<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut close: Vec<(f64, &str)> = names
        .map(|n| (strsim::jaro_winkler(name, n), n))
        .filter(|(score, _)| *score > 0.85)
        .collect();
    close.sort_by(|a, b| b.0.total_cmp(&a.0));
    close
        .into_iter()
        .take(3)
        .map(|(_, n)| n.to_owned())
        .collect()
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        many => format!("; did you mean one of {}?", list(many)),
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

// The error stays one pointer wide: a `Result` of a created plugin fits in registers.
const _: () = assert!(std::mem::size_of::<PluginError>() <= 24);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_is_at_most_24_bytes_and_results_stay_small() {
        use std::mem::size_of;
        assert!(
            size_of::<PluginError>() <= 24,
            "{}",
            size_of::<PluginError>()
        );
        assert_eq!(size_of::<PluginError>(), size_of::<usize>());
        // What `create_plugin` returns: the boxed plugin or the boxed error, no more.
        assert_eq!(
            size_of::<Result<Box<dyn crate::Plugin>, PluginError>>(),
            2 * size_of::<usize>()
        );
        assert_eq!(size_of::<Result<(), PluginError>>(), size_of::<usize>());
    }

    #[test]
    fn the_kind_keeps_the_message_and_the_source() {
        let io = std::io::Error::other("disk on fire");
        let err = PluginError::from_plugin("p", io);
        assert_eq!(err.to_string(), "plugin `p` failed: disk on fire");
        assert!(std::error::Error::source(&err).is_some());
        assert!(matches!(err.kind(), PluginErrorKind::Plugin { plugin, .. } if plugin == "p"));
        assert!(matches!(err.into_kind(), PluginErrorKind::Plugin { .. }));
    }
}
