//! Calling a registry's plugins together, in their run order (see `order.rs`): every one, or
//! until one answers.
//!
//! Each plugin is created with no settings, through the same checks as
//! [`Registry::create`] (a duplicate name, an unmet `depends_on`, a panicking constructor
//! are errors naming the plugin); a plugin that cannot be created stops the call with its
//! error, so that a fan-out never skips a plugin silently. A host runs the same calls under
//! its policies through its own views of a registry.

use crate::error::{PluginError, PluginErrorKind};
use crate::plugin::PluginDescriptor;
use crate::typed::Registry;

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

    /// Creates each plugin in run order and calls `f` with its descriptor and instance.
    pub fn for_each(
        &self,
        mut f: impl FnMut(&'static PluginDescriptor<T>, &T),
    ) -> Result<(), PluginError> {
        for descriptor in self.in_order()? {
            let plugin = self.create_entry(descriptor)?;
            f(descriptor, &plugin);
        }
        Ok(())
    }

    /// Calls `f` on every plugin in run order and collects what each returns.
    pub fn call_all<R>(&self, mut f: impl FnMut(&T) -> R) -> Result<Vec<R>, PluginError> {
        let order = self.in_order()?;
        let mut results = Vec::with_capacity(order.len());
        for descriptor in order {
            results.push(f(&*self.create_entry(descriptor)?));
        }
        Ok(results)
    }

    /// Calls `f` on the plugins in run order until one returns `Some`, which is returned;
    /// `Ok(None)` when none does. Plugins after the one that answered are not created.
    pub fn first_some<R>(
        &self,
        mut f: impl FnMut(&T) -> Option<R>,
    ) -> Result<Option<R>, PluginError> {
        for descriptor in self.in_order()? {
            if let Some(answer) = f(&*self.create_entry(descriptor)?) {
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
        for descriptor in self.in_order()? {
            tried += 1;
            match f(&*self.create_entry(descriptor)?) {
                Ok(answer) => return Ok(answer),
                Err(error) => last = Some(Box::new(error)),
            }
        }
        Err(PluginError::from(PluginErrorKind::NoAnswer {
            registry: self.name(),
            tried,
            last,
        }))
    }

    fn create_entry(
        &self,
        descriptor: &'static PluginDescriptor<T>,
    ) -> Result<Box<T>, PluginError> {
        self.create(descriptor.name())
    }
}
