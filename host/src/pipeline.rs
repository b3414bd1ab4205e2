//! The one creation pipeline. Every plugin the host hands out, from every source (the
//! compiled-in table, a typed registry brought under the host, a runtime registration with a
//! closure, a binding to compiled code or a mock, a factory, a WebAssembly module registered
//! at run time) and on every path (each `create_*`, handles, shared instances, the lifecycle
//! manager) is built by [`ModuleRegistry::build`]:
//!
//! 1. refuse if plugin loading is off;
//! 2. resolve what was asked for (a name to its entry or its mock, a factory, a typed
//!    registry's entry);
//! 3. check the code that will run, when it is known before it runs: its dependencies
//!    (validation) and the layers' checks (security: its permissions);
//! 4. construct it under the panic guard, with its settings (as the layers open them:
//!    security's sealed values, kept out of errors);
//! 5. check the code that came back (a closure, a wrapper, a mock or a factory may return
//!    compiled code other than the entry's own: it is checked as that code's, whatever the
//!    validation switch says) and, when validating, what the instance reports;
//! 6. wrap it in each layer's wrapper (security's sandbox, monitoring's metrics, ...).
//!
//! `create_at` is the same pipeline for a compiled-in plugin whose every answer `decide`
//! (steps 1 to 5, once per configuration generation) found to be "nothing to do"; it
//! replays the cached decision.
//!
//! Constructors are called in this module only, and the compiler holds it: runtime
//! constructors take a [`Permit`], which only this module can make (`pipeline/permit.rs`), and `host/clippy.toml`
//! forbids the core's constructors (`Descriptor::instantiate*`, `FactoryDescriptor::create`)
//! everywhere in the host but the functions that `expect` it: those here, and the two
//! constructors that take a `Permit` (`Target::instantiate`, `RuntimeEntry::instantiate`).

use std::borrow::Cow;
use std::sync::Arc;

use modreg_core::sandbox::guard;
use modreg_core::typed_sandbox::{TraitAbi, TypedCall, framed, recovered};
use modreg_core::{
    FactoryDescriptor, Plugin, PluginDescriptor, PluginError, PluginErrorKind, PluginSettings,
};

use crate::interest::Decision;
use crate::layer::{Answer, Code, Redactors};
use crate::overlay::Overlay;
use crate::registry::ModuleRegistry;
use crate::sandboxed::SandboxedRegistration;
use crate::target::Target;

pub(crate) mod permit;

pub(crate) use self::permit::Permit;

/// What one creation asks for beyond the registry's switches.
pub(crate) struct Request<'a> {
    /// Settings that replace the configured ones.
    pub(crate) settings: Option<&'a PluginSettings>,
    /// Check dependencies and what the instance reports even if validation is switched off.
    pub(crate) validate: bool,
    /// Record metrics even if monitoring is switched off.
    pub(crate) monitored: bool,
}

impl Request<'_> {
    /// Nothing beyond the switches.
    pub(crate) const PLAIN: Request<'static> = Request {
        settings: None,
        validate: false,
        monitored: false,
    };
}

/// Something resolved (step 2) that the pipeline can build: it says what runs, constructs,
/// checks what came back and wraps it.
pub(crate) trait Source {
    /// What is built: `dyn Plugin`, or a typed registry's trait object.
    type Object: ?Sized;

    /// Whether settings are read for [`name`](Self::name) (a factory takes none).
    const CONFIGURED: bool;

    /// Whether the layers answer for [`name`](Self::name) before construction (a factory's
    /// product is known only after; a typed registry's compiled-in instances are not
    /// wrapped).
    fn answered_first(&self) -> bool;

    /// The entry's name: the panic guard, the settings and the layers' answer use it.
    fn name(&self) -> &str;

    /// Step 3, for code known before it runs.
    fn check_code(
        &self,
        host: &ModuleRegistry,
        overlay: &Overlay,
        validate: bool,
    ) -> Result<(), PluginError>;

    /// Step 4.
    fn construct(
        &self,
        settings: &PluginSettings,
        answer: &Answer,
        permit: Permit,
    ) -> Result<Box<Self::Object>, PluginError>;

    /// Step 5: the code that came back, and what it reports.
    fn check_product(
        &self,
        host: &ModuleRegistry,
        overlay: &Overlay,
        product: &Self::Object,
        validate: bool,
    ) -> Result<(), PluginError>;

    /// Step 6.
    fn finish(
        &self,
        host: &ModuleRegistry,
        overlay: &Overlay,
        product: Box<Self::Object>,
        answer: &Answer,
        monitored: bool,
    ) -> Box<Self::Object>;
}

impl ModuleRegistry {
    /// The pipeline: builds what `requested` resolves to (by `resolve`) under `overlay`.
    pub(crate) fn build<S: Source>(
        &self,
        overlay: &Overlay,
        requested: &str,
        request: &Request<'_>,
        resolve: impl FnOnce(&Overlay) -> Result<S, PluginError>,
    ) -> Result<(S, Box<S::Object>, Answer), PluginError> {
        check_loading(overlay, requested)?;
        let source = resolve(overlay)?;
        let validate = overlay.flags.validation || request.validate;
        source.check_code(self, overlay, validate)?;
        let name = source.name();
        let (settings, redactors) = if S::CONFIGURED {
            self.settings_for(overlay, name, request.settings)?
        } else {
            (Cow::Borrowed(&EMPTY), Redactors::new())
        };
        // What the instance gets around its calls, decided once, before it exists.
        let answer = if source.answered_first() {
            self.layers_interest(overlay, name, request.monitored)
        } else {
            Answer::default()
        };
        let product = guard(name, "construction", || {
            source.construct(&settings, &answer, Permit::new())
        })
        .map_err(|error| redactors.iter().fold(error, |error, redact| redact(error)))?;
        source.check_product(self, overlay, &product, validate)?;
        let product = source.finish(self, overlay, product, &answer, request.monitored);
        Ok((source, product, answer))
    }

    /// `create_plugin` for the compiled-in plugin at `position` of the index, whose entry is
    /// `descriptor`: the cached decision when there is one, else the pipeline.
    #[inline(always)]
    #[allow(clippy::inline_always)] // as `create_plugin`: out of line in a user's crate otherwise
    #[expect(
        clippy::disallowed_methods,
        reason = "the pipeline's decided fast path"
    )]
    pub(crate) fn create_at(
        &self,
        position: u32,
        descriptor: &'static PluginDescriptor,
        name: &str,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        if self.index().met(position) {
            if !self.overlay_in_use() {
                return descriptor.instantiate_default();
            }
            match self
                .interests
                .decision(position, || self.decide(&self.snapshot(), descriptor))
            {
                Decision::Direct => return descriptor.instantiate_default(),
                Decision::Wrapped(recipe) => return create_wrapped(descriptor, &recipe),
                Decision::Full => {}
            }
        }
        self.create_by_name(name)
    }

    /// The full pipeline for `name` in the host's table, out of line.
    #[inline(never)]
    pub(crate) fn create_by_name(&self, name: &str) -> Result<Box<dyn Plugin>, PluginError> {
        let overlay = self.snapshot();
        if overlay.flags.debug_mode {
            tracing::debug!(plugin = name, "create_plugin");
        }
        self.build(&overlay, name, &Request::PLAIN, |overlay| {
            Ok(Entry::plain(self.resolve(overlay, name)?))
        })
        .map(|(_, plugin, _)| plugin)
    }

    /// What creating compiled-in `descriptor` under `overlay` takes. It is a call to its
    /// constructor when loading is on, the name resolves to it (no mock, no runtime entry),
    /// validation has nothing to find (its dependencies are met under this overlay, and its
    /// `Plugin` implementation is the one `#[plugin]` writes from the descriptor, so what an
    /// instance reports is the descriptor), it has no settings and no layer checks it; then
    /// `Direct` when no layer wraps its instances, else `Wrapped` with the layers' whole
    /// answer as the recipe. Anything else is the full path. Cached per configuration
    /// generation by `Interests`.
    pub(crate) fn decide(
        &self,
        overlay: &Overlay,
        descriptor: &'static PluginDescriptor,
    ) -> Decision {
        let name = descriptor.name();
        let valid = || {
            descriptor.reports_itself()
                && self
                    .check_dependencies(overlay, &Target::Compiled(descriptor))
                    .is_ok()
        };
        let constructor_only = !overlay.flags.debug_mode
            && (!overlay.flags.validation || valid())
            && check_loading(overlay, name).is_ok()
            && matches!(self.resolve(overlay, name), Ok(Target::Compiled(d)) if std::ptr::eq(d, descriptor))
            && self
                .settings_for(overlay, name, None)
                .is_ok_and(|(settings, _)| settings.is_empty())
            && !self.layers_check_anything(overlay);
        if !constructor_only {
            return Decision::Full;
        }
        let answer = self.layers_interest(overlay, name, false);
        if answer.is_active() {
            Decision::Wrapped(Arc::new(answer))
        } else {
            Decision::Direct
        }
    }

    /// Step 3: the dependencies (when validating) of the code `target` runs, then what the
    /// layers check (security: its permissions).
    fn check_code(
        &self,
        overlay: &Overlay,
        target: &Target,
        validate: bool,
    ) -> Result<(), PluginError> {
        if validate {
            self.check_dependencies(overlay, target)?;
        }
        self.layers_check(overlay, &code_of(target))
    }

    /// Step 5 for a product that may be compiled-in code other than `own` (the code checked in
    /// step 3, if any): its permissions (and, when validating, its dependencies) are checked
    /// as that code's.
    ///
    /// The constructor has run by then (as a factory's function has before its product is
    /// known); the product is refused before the caller can call it.
    fn check_returned_code(
        &self,
        overlay: &Overlay,
        own: Option<&'static PluginDescriptor>,
        plugin: &dyn Plugin,
        validate: bool,
    ) -> Result<(), PluginError> {
        match plugin.descriptor() {
            Some(product) if !own.is_some_and(|own| std::ptr::eq(own, product)) => {
                self.check_code(overlay, &Target::Compiled(product), validate)
            }
            _ => Ok(()),
        }
    }
}

/// A compiled-in plugin whose creation is its constructor and the layers' cached recipe
/// (`Decision::Wrapped`): out of line, so the direct path stays small where `create_plugin`
/// is inlined.
#[inline(never)]
#[expect(
    clippy::disallowed_methods,
    reason = "the pipeline's decided fast path"
)]
fn create_wrapped(
    descriptor: &'static PluginDescriptor,
    recipe: &Answer,
) -> Result<Box<dyn Plugin>, PluginError> {
    descriptor
        .instantiate_default()
        .map(|plugin| wrapped(plugin, recipe))
}

/// An entry of the host's table (compiled in, or registered at run time), built by its own
/// constructor or, for `create_advanced_plugin`, by `construct`.
pub(crate) struct Entry<F> {
    pub(crate) target: Target,
    construct: F,
}

/// The constructor of [`Entry::plain`].
type Plain = fn(&Target, &PluginSettings, &Answer, Permit) -> Result<Box<dyn Plugin>, PluginError>;

impl Entry<Plain> {
    /// `target`, built by its own constructor.
    pub(crate) fn plain(target: Target) -> Self {
        Entry {
            target,
            construct: |target, settings, _, permit| target.instantiate(settings, permit),
        }
    }
}

impl<F> Entry<F>
where
    F: Fn(&Target, &PluginSettings, &Answer, Permit) -> Result<Box<dyn Plugin>, PluginError>,
{
    /// `target`, built by `construct` (which gets the [`Permit`] to call a constructor).
    pub(crate) fn with(target: Target, construct: F) -> Self {
        Entry { target, construct }
    }
}

impl<F> Source for Entry<F>
where
    F: Fn(&Target, &PluginSettings, &Answer, Permit) -> Result<Box<dyn Plugin>, PluginError>,
{
    type Object = dyn Plugin;
    const CONFIGURED: bool = true;

    fn answered_first(&self) -> bool {
        true
    }

    fn name(&self) -> &str {
        self.target.name()
    }

    fn check_code(
        &self,
        host: &ModuleRegistry,
        overlay: &Overlay,
        validate: bool,
    ) -> Result<(), PluginError> {
        host.check_code(overlay, &self.target, validate)
    }

    fn construct(
        &self,
        settings: &PluginSettings,
        answer: &Answer,
        permit: Permit,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        (self.construct)(&self.target, settings, answer, permit)
    }

    fn check_product(
        &self,
        host: &ModuleRegistry,
        overlay: &Overlay,
        product: &dyn Plugin,
        validate: bool,
    ) -> Result<(), PluginError> {
        // The entry's own compiled code was checked in step 3: a compiled-in entry, or a
        // runtime entry that binds to compiled code and has no closure of its own.
        let own = match &self.target {
            Target::Compiled(own) => Some(*own),
            Target::Runtime(entry) => entry.bound_code(),
        };
        host.check_returned_code(overlay, own, product, validate)?;
        if validate {
            check_reported(&self.target, product)?;
        }
        Ok(())
    }

    fn finish(
        &self,
        _: &ModuleRegistry,
        _: &Overlay,
        product: Box<dyn Plugin>,
        answer: &Answer,
        _: bool,
    ) -> Box<dyn Plugin> {
        wrapped(product, answer)
    }
}

/// An entry of a typed registry (`registry!`) brought under the host.
///
/// Compiled-in instances of another trait are not wrapped: metrics, per-call logging and the
/// sandbox need the trait's methods, which only `dyn Plugin` has here; and the typed registry
/// decided its own dependencies when it was indexed.
///
/// A plugin of a `#[sandboxed]` trait registered by a source is a `Plugin` whose `process`
/// takes a framed typed call: the layers wrap it as any plugin, and the trait's proxy calls
/// through the wrapped plugin.
pub(crate) enum Typed<T: ?Sized + 'static> {
    /// Compiled in.
    Compiled(&'static PluginDescriptor<T>),
    /// Registered by a source, with the registry's trait ABI.
    Sandboxed(Arc<SandboxedRegistration>, TraitAbi<T>),
}

impl<T: ?Sized + 'static> Source for Typed<T> {
    type Object = T;
    const CONFIGURED: bool = true;

    /// A sandboxed plugin's calls are a `Plugin`'s: the layers wrap them as any other's.
    fn answered_first(&self) -> bool {
        matches!(self, Typed::Sandboxed(..))
    }

    fn name(&self) -> &str {
        match self {
            Typed::Compiled(d) => d.name(),
            Typed::Sandboxed(entry, _) => entry.name(),
        }
    }

    /// The layers' checks of the code it runs (its dependencies were decided by its own
    /// registry).
    fn check_code(
        &self,
        host: &ModuleRegistry,
        overlay: &Overlay,
        _: bool,
    ) -> Result<(), PluginError> {
        let permissions = match self {
            Typed::Compiled(d) => d.permissions().to_vec(),
            Typed::Sandboxed(entry, _) => entry.permissions().iter().map(String::as_str).collect(),
        };
        host.layers_check(overlay, &Code::new(self.name(), permissions))
    }

    #[expect(clippy::disallowed_methods, reason = "the pipeline's step 4")]
    fn construct(
        &self,
        settings: &PluginSettings,
        answer: &Answer,
        _: Permit,
    ) -> Result<Box<T>, PluginError> {
        match self {
            Typed::Compiled(d) if settings.is_empty() => d.instantiate_default(),
            Typed::Compiled(d) => d.instantiate(settings),
            // A guest's settings are its own: it is built by its module, not configured here,
            // so settings for it are refused rather than dropped.
            Typed::Sandboxed(entry, _) if !settings.is_empty() => Err(PluginError::invalid(
                "plugin settings",
                entry.name(),
                "are not applied to a sandboxed plugin (its module configures it); remove them",
            )),
            // Its calls are its `Plugin`'s, wrapped by the layers (metrics, logging, the
            // in-process sandbox), under the trait's proxy.
            Typed::Sandboxed(entry, abi) => {
                let calls = wrapped(entry.make()?, answer);
                Ok((abi.proxy)(Box::new(PluginCall(calls))))
            }
        }
    }

    fn check_product(
        &self,
        _: &ModuleRegistry,
        _: &Overlay,
        _: &T,
        _: bool,
    ) -> Result<(), PluginError> {
        Ok(())
    }

    fn finish(
        &self,
        _: &ModuleRegistry,
        _: &Overlay,
        product: Box<T>,
        _: &Answer,
        _: bool,
    ) -> Box<T> {
        product
    }
}

/// A typed call made as a `Plugin`'s `process`, its input framed as the ABI says (the method's
/// number, then the encoded arguments).
struct PluginCall(Box<dyn Plugin>);

impl TypedCall for PluginCall {
    fn plugin_name(&self) -> &str {
        self.0.name()
    }

    fn call(&self, method: u32, arguments: &[u8]) -> Result<Vec<u8>, PluginError> {
        recovered(self.0.process(&framed(method, arguments)))
    }

    fn call_async(
        &self,
        method: u32,
        arguments: Vec<u8>,
    ) -> modreg_core::typed_sandbox::BoxFuture<'_, Vec<u8>> {
        Box::pin(async move {
            let input = framed(method, &arguments);
            recovered(self.0.process_async(&input).await)
        })
    }
}

/// A factory's variant: what runs is known only after the factory's function returns.
pub(crate) struct FromFactory<'a> {
    pub(crate) factory: &'static FactoryDescriptor,
    pub(crate) variant: &'a str,
}

impl Source for FromFactory<'_> {
    type Object = dyn Plugin;
    const CONFIGURED: bool = false;

    fn answered_first(&self) -> bool {
        false
    }

    fn name(&self) -> &str {
        self.factory.name()
    }

    /// Nothing yet: what runs is the product's code, checked in step 5.
    fn check_code(&self, _: &ModuleRegistry, _: &Overlay, _: bool) -> Result<(), PluginError> {
        Ok(())
    }

    #[expect(clippy::disallowed_methods, reason = "the pipeline's step 4")]
    fn construct(
        &self,
        _: &PluginSettings,
        _: &Answer,
        _: Permit,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        self.factory.create(self.variant)
    }

    fn check_product(
        &self,
        host: &ModuleRegistry,
        overlay: &Overlay,
        plugin: &dyn Plugin,
        validate: bool,
    ) -> Result<(), PluginError> {
        if plugin.plugin_type() != self.factory.plugin_type() {
            return Err(PluginError::from(PluginErrorKind::Mismatch {
                plugin: plugin.name().to_owned(),
                field: "type",
                registered: format!(
                    "{} (factory `{}`)",
                    self.factory.plugin_type(),
                    self.factory.name()
                ),
                reported: plugin.plugin_type().to_string(),
            }));
        }
        host.check_returned_code(overlay, None, plugin, validate)
    }

    fn finish(
        &self,
        host: &ModuleRegistry,
        overlay: &Overlay,
        product: Box<dyn Plugin>,
        _: &Answer,
        monitored: bool,
    ) -> Box<dyn Plugin> {
        // The product is its own plugin: the layers answer for its name, not the factory's.
        let answer = host.layers_interest(overlay, product.name(), monitored);
        wrapped(product, &answer)
    }
}

/// The code `target` runs, as the layers see it.
fn code_of(target: &Target) -> Code<'_> {
    Code::new(target.name(), target.permissions())
}

/// The settings of a plugin nobody configured.
static EMPTY: PluginSettings = PluginSettings::new();

impl ModuleRegistry {
    /// Step 4's settings for `name`: `given`, else the active environment's, else the
    /// configured ones, else none; as the layers open them (security: sealed values), with
    /// what keeps the opened values out of errors.
    fn settings_for<'a>(
        &self,
        overlay: &'a Overlay,
        name: &str,
        given: Option<&'a PluginSettings>,
    ) -> Result<(Cow<'a, PluginSettings>, Redactors), PluginError> {
        let settings = given
            .or_else(|| overlay.profile().and_then(|p| p.plugins.get(name)))
            .or_else(|| overlay.settings.get(name))
            .unwrap_or(&EMPTY);
        self.layers_open_settings(overlay, name, settings)
    }
}

/// Step 1: refuses when plugin loading is switched off.
fn check_loading(overlay: &Overlay, requested: &str) -> Result<(), PluginError> {
    if overlay.flags.loading {
        Ok(())
    } else {
        Err(PluginError::from(PluginErrorKind::Disabled {
            plugin: requested.to_owned(),
            what: "plugin loading",
        }))
    }
}

/// Fails unless `plugin` reports the name, version and type of `target`.
fn check_reported(target: &Target, plugin: &dyn Plugin) -> Result<(), PluginError> {
    let mismatch = |field, registered: String, reported: String| {
        PluginError::from(PluginErrorKind::Mismatch {
            plugin: target.name().to_owned(),
            field,
            registered,
            reported,
        })
    };
    if plugin.name() != target.name() {
        return Err(mismatch(
            "name",
            target.name().to_owned(),
            plugin.name().to_owned(),
        ));
    }
    if plugin.version() != target.version() {
        return Err(mismatch(
            "version",
            target.version().to_owned(),
            plugin.version().to_owned(),
        ));
    }
    if plugin.plugin_type() != target.plugin_type() {
        return Err(mismatch(
            "type",
            target.plugin_type().to_string(),
            plugin.plugin_type().to_string(),
        ));
    }
    Ok(())
}

/// Step 6: `plugin` in every layer's wrap, innermost first; as it is when no layer wraps it.
pub(crate) fn wrapped(plugin: Box<dyn Plugin>, answer: &Answer) -> Box<dyn Plugin> {
    answer
        .wraps
        .iter()
        .fold(plugin, |plugin, wrap| wrap.wrap(plugin))
}
