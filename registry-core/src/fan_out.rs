//! Calling a registry's plugins together, in their run order (see `order.rs`): every one, or
//! until one answers. [`FanOut`] holds the registry and how each plugin is created:
//! [`Registry::fan_out`] creates through [`Registry::create`], a host through its own creation
//! path (its policies, layers and settings apply to every plugin called).
//!
//! Wrappers (`#[plugin(wrapper)]`) are not called by these: [`FanOut::call_around`] runs
//! them around the others, as hook wrappers do in pluggy.
//!
//! A host also calls the plugins of the registry's trait that are not in its table (a
//! `#[sandboxed]` trait's plugins loaded from WebAssembly): after the table's, by name
//! ([`FanOut::with_more`]); they carry no order of their own.
//!
//! A plugin that cannot be created (a duplicate name, an unmet `depends_on`, a panicking
//! constructor, a host's refusal) stops the call with its error, so that a fan-out never skips
//! a plugin silently.

use crate::error::{PluginError, PluginErrorKind};
use crate::plugin::PluginDescriptor;
use crate::typed::Registry;

/// What `call_around` runs each wrapper with: the wrapper, and the call of everything inside it.
type Around<'a, T, R> =
    dyn Fn(&T, &mut dyn FnMut() -> Result<Vec<R>, PluginError>) -> Result<Vec<R>, PluginError> + 'a;

impl<T: ?Sized> Registry<T> {
    /// Every plugin in run order: `before`/`after`, then priority (higher first), then name.
    /// A name in `before`/`after` that is not in the registry, or a circle, is the error.
    ///
    /// ```
    /// use modreg_core::{plugin, registry};
    ///
    /// pub trait Step: Send + Sync {
    ///     fn apply(&self, text: &mut String);
    /// }
    ///
    /// registry!(pub STEPS: dyn Step);
    ///
    /// #[plugin(registry = STEPS, priority = 10)]
    /// #[derive(Default)]
    /// struct Trim;
    /// impl Step for Trim {
    ///     fn apply(&self, text: &mut String) {
    ///         *text = text.trim().to_owned();
    ///     }
    /// }
    ///
    /// #[plugin(registry = STEPS, after = "trim")]
    /// #[derive(Default)]
    /// struct Shout;
    /// impl Step for Shout {
    ///     fn apply(&self, text: &mut String) {
    ///         text.push('!');
    ///     }
    /// }
    ///
    /// # fn main() -> Result<(), modreg_core::PluginError> {
    /// let order: Vec<&str> = STEPS.in_order()?.map(|d| d.name()).collect();
    /// assert_eq!(order, ["trim", "shout"]);
    /// let mut text = String::from("  hi  ");
    /// STEPS.for_each(|_, step| step.apply(&mut text))?;
    /// assert_eq!(text, "hi!");
    /// # Ok(())
    /// # }
    /// ```
    pub fn in_order(
        &self,
    ) -> Result<impl ExactSizeIterator<Item = &'static PluginDescriptor<T>> + '_, PluginError> {
        let index = self.index();
        index.order_check()?;
        Ok(index.in_order())
    }

    /// The plugins of this registry called together, each created by [`create`](Self::create).
    pub fn fan_out(&self) -> FanOut<'_, T, impl Fn(&str) -> Result<Box<T>, PluginError> + '_> {
        FanOut::new(self, |name| self.create(name))
    }

    /// [`FanOut::for_each`] on [`fan_out`](Self::fan_out): every plugin is in the table, so
    /// `f` gets its descriptor.
    pub fn for_each(
        &self,
        mut f: impl FnMut(&'static PluginDescriptor<T>, &T),
    ) -> Result<(), PluginError> {
        let fan_out = self.fan_out();
        for callee in fan_out.callees()? {
            if let Callee::Compiled(descriptor) = callee {
                f(descriptor, &*fan_out.create_entry(callee)?);
            }
        }
        Ok(())
    }

    /// [`FanOut::call_all`] on [`fan_out`](Self::fan_out).
    pub fn call_all<R>(&self, f: impl FnMut(&T) -> R) -> Result<Vec<R>, PluginError> {
        self.fan_out().call_all(f)
    }

    /// [`FanOut::first_some`] on [`fan_out`](Self::fan_out).
    pub fn first_some<R>(&self, f: impl FnMut(&T) -> Option<R>) -> Result<Option<R>, PluginError> {
        self.fan_out().first_some(f)
    }

    /// [`FanOut::first_ok`] on [`fan_out`](Self::fan_out).
    pub fn first_ok<R>(
        &self,
        f: impl FnMut(&T) -> Result<R, PluginError>,
    ) -> Result<R, PluginError> {
        self.fan_out().first_ok(f)
    }
}

/// One plugin a fan-out calls: one of the registry's table, or one a host registered at run
/// time (a `#[sandboxed]` trait's plugin loaded from WebAssembly), which has no descriptor.
pub enum Callee<'a, T: ?Sized + 'static> {
    /// In the registry's table.
    Compiled(&'static PluginDescriptor<T>),
    /// Registered at run time, by this name.
    Registered(&'a str),
}

impl<T: ?Sized> Clone for Callee<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Callee<'_, T> {}

impl<T: ?Sized> std::fmt::Debug for Callee<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Callee::Compiled(d) => f.debug_tuple("Compiled").field(&d.name()).finish(),
            Callee::Registered(name) => f.debug_tuple("Registered").field(name).finish(),
        }
    }
}

impl<'a, T: ?Sized> Callee<'a, T> {
    /// Its name.
    pub fn name(&self) -> &'a str {
        match *self {
            Callee::Compiled(d) => d.name(),
            Callee::Registered(name) => name,
        }
    }

    /// Its descriptor, if it is in the registry's table.
    pub fn descriptor(&self) -> Option<&'static PluginDescriptor<T>> {
        match *self {
            Callee::Compiled(d) => Some(d),
            Callee::Registered(_) => None,
        }
    }
}

/// The plugins of one registry, called together in run order, each created by `C`.
///
/// Made by [`Registry::fan_out`] or, under a host's policies, by the host.
pub struct FanOut<'r, T: ?Sized + 'static, C> {
    registry: &'r Registry<T>,
    create: C,
    /// Plugins of the registry's trait that its table does not hold, called after it.
    more: Vec<String>,
}

impl<T: ?Sized, C> std::fmt::Debug for FanOut<'_, T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FanOut")
            .field("registry", &self.registry.name())
            .field("more", &self.more)
            .finish_non_exhaustive()
    }
}

impl<'r, T: ?Sized, C: Fn(&str) -> Result<Box<T>, PluginError>> FanOut<'r, T, C> {
    /// The plugins of `registry`, each created by `create` (given the plugin's name).
    pub fn new(registry: &'r Registry<T>, create: C) -> Self {
        FanOut {
            registry,
            create,
            more: Vec::new(),
        }
    }

    /// Also calls `names`, plugins of the registry's trait that its table does not hold
    /// (registered at run time; `create` must make them), after the table's plugins, in the
    /// order given. A host passes its `#[sandboxed]` plugins of the trait here.
    #[must_use]
    pub fn with_more(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.more.extend(names);
        self
    }

    /// Creates each plugin in run order and calls `f` with it (which plugin: [`Callee`]) and
    /// its instance.
    pub fn for_each(&self, mut f: impl FnMut(Callee<'_, T>, &T)) -> Result<(), PluginError> {
        for callee in self.callees()? {
            let plugin = self.create_entry(callee)?;
            f(callee, &plugin);
        }
        Ok(())
    }

    /// Calls `f` on every plugin in run order and collects what each returns.
    pub fn call_all<R>(&self, mut f: impl FnMut(&T) -> R) -> Result<Vec<R>, PluginError> {
        let mut results = Vec::new();
        for callee in self.callees()? {
            results.push(f(&*self.create_entry(callee)?));
        }
        Ok(results)
    }

    /// Calls `f` on the plugins in run order until one returns `Some`, which is returned;
    /// `Ok(None)` when none does. Plugins after the one that answered are not created.
    pub fn first_some<R>(
        &self,
        mut f: impl FnMut(&T) -> Option<R>,
    ) -> Result<Option<R>, PluginError> {
        for callee in self.callees()? {
            if let Some(answer) = f(&*self.create_entry(callee)?) {
                return Ok(Some(answer));
            }
        }
        Ok(None)
    }

    /// Calls `f` on the plugins in run order until one returns `Ok`, which is returned. When
    /// none does, [`PluginErrorKind::NoAnswer`] with the last plugin's error as its source.
    pub fn first_ok<R>(
        &self,
        mut f: impl FnMut(&T) -> Result<R, PluginError>,
    ) -> Result<R, PluginError> {
        let mut tried = 0;
        let mut last = None;
        for callee in self.callees()? {
            tried += 1;
            match f(&*self.create_entry(callee)?) {
                Ok(answer) => return Ok(answer),
                Err(error) => last = Some(Box::new(error)),
            }
        }
        Err(PluginError::from(PluginErrorKind::NoAnswer {
            registry: self.registry.name(),
            tried,
            last,
        }))
    }

    /// Calls `f` on every plugin in run order, as [`call_all`](Self::call_all) does, inside
    /// the wrappers: the first wrapper in run order is outermost. `around(wrapper, inner)` runs
    /// one wrapper; `inner()` runs the rest (the next wrappers, then the plugins) and returns
    /// their results, which the wrapper may read or change before returning them (or not call
    /// at all, to answer in their place), as a pluggy hook wrapper does around its `yield`.
    ///
    /// ```
    /// use modreg_core::{plugin, registry, PluginError};
    ///
    /// pub trait Step: Send + Sync {
    ///     fn apply(&self, text: &str) -> String;
    ///     /// What a wrapper does with the others' results.
    ///     fn wrap(&self, results: Vec<String>) -> Vec<String> { results }
    /// }
    ///
    /// registry!(pub STEPS: dyn Step);
    ///
    /// #[plugin(registry = STEPS)]
    /// #[derive(Default)]
    /// struct Upper;
    /// impl Step for Upper {
    ///     fn apply(&self, text: &str) -> String { text.to_uppercase() }
    /// }
    ///
    /// #[plugin(registry = STEPS, wrapper)]
    /// #[derive(Default)]
    /// struct Quote;
    /// impl Step for Quote {
    ///     fn apply(&self, text: &str) -> String { text.to_owned() }
    ///     fn wrap(&self, results: Vec<String>) -> Vec<String> {
    ///         results.into_iter().map(|r| format!("\"{r}\"")).collect()
    ///     }
    /// }
    ///
    /// # fn main() -> Result<(), PluginError> {
    /// let results = STEPS.fan_out().call_around(
    ///     |step| step.apply("hi"),
    ///     |wrapper, inner| Ok(wrapper.wrap(inner()?)),
    /// )?;
    /// assert_eq!(results, ["\"HI\""]);
    /// assert_eq!(STEPS.fan_out().call_all(|step| step.apply("hi"))?, ["HI"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn call_around<R>(
        &self,
        mut f: impl FnMut(&T) -> R,
        around: impl Fn(
            &T,
            &mut dyn FnMut() -> Result<Vec<R>, PluginError>,
        ) -> Result<Vec<R>, PluginError>,
    ) -> Result<Vec<R>, PluginError> {
        let wrappers: Vec<_> = self
            .registry
            .in_order()?
            .filter(|d| d.is_wrapper())
            .collect();
        self.wrapped(&wrappers, &mut f, &around)
    }

    /// Runs `wrappers[0]` around the rest, the plugins innermost. `around` is `Fn`: the outer
    /// wrapper's call is still running while the inner ones are made.
    fn wrapped<R>(
        &self,
        wrappers: &[&'static PluginDescriptor<T>],
        f: &mut dyn FnMut(&T) -> R,
        around: &Around<'_, T, R>,
    ) -> Result<Vec<R>, PluginError> {
        let Some((outer, rest)) = wrappers.split_first() else {
            return self.call_all(f);
        };
        let wrapper = self.create_entry(Callee::Compiled(outer))?;
        let mut inner = || self.wrapped(rest, f, around);
        around(&wrapper, &mut inner)
    }

    /// The plugins a fan-out calls, in run order: every one of the table but the wrappers,
    /// then the others it was given.
    fn callees(&self) -> Result<impl Iterator<Item = Callee<'_, T>> + '_, PluginError> {
        let table = self
            .registry
            .in_order()?
            .filter(|d| !d.is_wrapper())
            .map(Callee::Compiled);
        Ok(table.chain(self.more.iter().map(|name| Callee::Registered(name))))
    }

    fn create_entry(&self, callee: Callee<'_, T>) -> Result<Box<T>, PluginError> {
        (self.create)(callee.name())
    }
}
