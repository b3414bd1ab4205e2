//! `PluginManager`: loading a set of plugins, initializing them in dependency order and
//! cleaning them up in reverse.
//!
//! # States
//!
//! ```text
//! Registered --initialize--> Initialized --start--> Running --stop--> Stopped
//!      |                          |                                      |
//!      +--(initialize fails)--> Failed        Initialized --stop--> Stopped
//! Stopped and Failed may be initialized again.
//! ```
//!
//! Any other transition is refused with [`PluginErrorKind::InvalidTransition`]. `initialize` and
//! `cleanup` run inside the panic guard: a panic marks the plugin `Failed`.

use std::collections::BTreeMap;
use std::fmt;

use crate::registry::ModuleRegistry;
use modreg_core::__host::check_dependency;
use modreg_core::Plugin;
use modreg_core::sandbox::guard;
use modreg_core::{PluginError, PluginErrorKind};

/// Where a managed plugin is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LifecycleState {
    /// Created, not initialized.
    Registered,
    /// `initialize` succeeded.
    Initialized,
    /// Started: processes data.
    Running,
    /// Cleaned up.
    Stopped,
    /// `initialize` failed or panicked.
    Failed,
}

impl fmt::Display for LifecycleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LifecycleState::Registered => "registered",
            LifecycleState::Initialized => "initialized",
            LifecycleState::Running => "running",
            LifecycleState::Stopped => "stopped",
            LifecycleState::Failed => "failed",
        })
    }
}

struct Managed {
    plugin: Box<dyn Plugin>,
    state: LifecycleState,
}

/// Manages the life of a set of plugins from one registry.
///
/// ```
/// use modreg_core::{plugin, PluginBehavior, PluginError};
/// use modreg_host::{LifecycleState, ModuleRegistry, PluginManager};
///
/// #[plugin(type = Storage, version = "1.2.0")]
/// #[derive(Default)]
/// struct Disk;
/// impl PluginBehavior for Disk {
///     fn process(&self, d: &[u8]) -> Result<Vec<u8>, PluginError> { Ok(d.to_vec()) }
/// }
///
/// #[plugin(type = DataProcessor, depends_on = ["disk >= 1.0"])]
/// #[derive(Default)]
/// struct Indexer;
/// impl PluginBehavior for Indexer {
///     fn process(&self, d: &[u8]) -> Result<Vec<u8>, PluginError> { Ok(d.to_vec()) }
/// }
///
/// let registry = ModuleRegistry::new();
/// let mut manager = PluginManager::new(&registry);
/// manager.load(["indexer"])?;               // brings its dependency `disk` along
/// assert_eq!(manager.order(), ["disk", "indexer"]);
/// manager.initialize_all()?;
/// manager.start("indexer")?;
/// assert_eq!(manager.process("indexer", b"x")?, b"x");
/// manager.cleanup_all()?;
/// assert_eq!(manager.state("disk"), Some(LifecycleState::Stopped));
/// # Ok::<(), PluginError>(())
/// ```
pub struct PluginManager<'r> {
    registry: &'r ModuleRegistry,
    plugins: BTreeMap<String, Managed>,
    order: Vec<String>,
}

impl fmt::Debug for PluginManager<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.order.iter().map(|n| (n, self.plugins[n].state)))
            .finish()
    }
}

impl<'r> PluginManager<'r> {
    /// A manager with no plugins.
    pub fn new(registry: &'r ModuleRegistry) -> Self {
        PluginManager {
            registry,
            plugins: BTreeMap::new(),
            order: Vec::new(),
        }
    }

    /// Creates `names` and every plugin they depend on (transitively), checks each
    /// dependency's version, and orders them so that a plugin comes after its dependencies.
    ///
    /// Nothing is loaded if anything is wrong: a missing or incompatible dependency names
    /// both plugins, a cycle names every plugin on it.
    pub fn load<'a>(
        &mut self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), PluginError> {
        let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut pending: Vec<String> = names.into_iter().map(str::to_owned).collect();
        while let Some(name) = pending.pop() {
            if edges.contains_key(&name) {
                continue;
            }
            let info = self
                .registry
                .plugin(&name)
                .ok_or_else(|| self.registry.not_found(&name))?;
            let mut deps = Vec::new();
            for spec in info.depends_on() {
                let dependency = check_dependency(&name, spec, |dependency| {
                    self.registry
                        .plugin(dependency)
                        .map(|p| p.version().to_owned())
                })?;
                pending.push(dependency.clone());
                deps.push(dependency);
            }
            edges.insert(name, deps);
        }
        let order = topological_order(&edges)?;

        let mut created = BTreeMap::new();
        for name in &order {
            if !self.plugins.contains_key(name) {
                let plugin = self.registry.create_plugin(name)?;
                created.insert(name.clone(), plugin);
            }
        }
        for (name, plugin) in created {
            self.plugins.insert(
                name,
                Managed {
                    plugin,
                    state: LifecycleState::Registered,
                },
            );
        }
        let mut merged: Vec<String> = self.order.clone();
        for name in order {
            if !merged.contains(&name) {
                merged.push(name);
            }
        }
        self.order = merged;
        Ok(())
    }

    /// The plugins in initialization order.
    pub fn order(&self) -> Vec<&str> {
        self.order.iter().map(String::as_str).collect()
    }

    /// The state of `name`, if it is managed here.
    pub fn state(&self, name: &str) -> Option<LifecycleState> {
        self.plugins.get(name).map(|m| m.state)
    }

    fn managed(&mut self, name: &str) -> Result<&mut Managed, PluginError> {
        match self.plugins.get_mut(name) {
            Some(managed) => Ok(managed),
            None => Err(PluginError::from(PluginErrorKind::NotFound {
                name: name.to_owned(),
                suggestions: Vec::new(),
            })),
        }
    }

    fn refuse(name: &str, from: LifecycleState, to: LifecycleState) -> PluginError {
        PluginError::from(PluginErrorKind::InvalidTransition {
            plugin: name.to_owned(),
            from: from.to_string(),
            to: to.to_string(),
        })
    }

    /// Initializes one plugin: from `Registered`, `Stopped` or `Failed` to `Initialized`, or
    /// to `Failed` when `initialize` fails or panics.
    pub fn initialize(&mut self, name: &str) -> Result<(), PluginError> {
        let managed = self.managed(name)?;
        match managed.state {
            LifecycleState::Registered | LifecycleState::Stopped | LifecycleState::Failed => {}
            from => return Err(Self::refuse(name, from, LifecycleState::Initialized)),
        }
        let plugin = &mut managed.plugin;
        match guard(name, "initialize", || plugin.initialize()) {
            Ok(()) => {
                managed.state = LifecycleState::Initialized;
                Ok(())
            }
            Err(error) => {
                managed.state = LifecycleState::Failed;
                Err(error)
            }
        }
    }

    /// `Initialized` to `Running`.
    pub fn start(&mut self, name: &str) -> Result<(), PluginError> {
        let managed = self.managed(name)?;
        if managed.state != LifecycleState::Initialized {
            return Err(Self::refuse(name, managed.state, LifecycleState::Running));
        }
        managed.state = LifecycleState::Running;
        Ok(())
    }

    /// `Initialized` or `Running` to `Stopped`, running `cleanup`.
    pub fn stop(&mut self, name: &str) -> Result<(), PluginError> {
        let managed = self.managed(name)?;
        if !matches!(
            managed.state,
            LifecycleState::Initialized | LifecycleState::Running
        ) {
            return Err(Self::refuse(name, managed.state, LifecycleState::Stopped));
        }
        let plugin = &mut managed.plugin;
        let result = guard(name, "cleanup", || plugin.cleanup());
        managed.state = if result.is_ok() {
            LifecycleState::Stopped
        } else {
            LifecycleState::Failed
        };
        result
    }

    /// Processes `data` with a `Running` plugin.
    pub fn process(&self, name: &str, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let managed = self.plugins.get(name).ok_or_else(|| {
            PluginError::from(PluginErrorKind::NotFound {
                name: name.to_owned(),
                suggestions: Vec::new(),
            })
        })?;
        if managed.state != LifecycleState::Running {
            return Err(PluginError::from(PluginErrorKind::InvalidTransition {
                plugin: name.to_owned(),
                from: managed.state.to_string(),
                to: "processing".to_owned(),
            }));
        }
        guard(name, "process", || managed.plugin.process(data))
    }

    /// Initializes every plugin not yet initialized, dependencies first. When one fails,
    /// those this call initialized are cleaned up in reverse order and the error returned.
    pub fn initialize_all(&mut self) -> Result<(), PluginError> {
        let mut done: Vec<String> = Vec::new();
        for name in self.order.clone() {
            if matches!(
                self.plugins[&name].state,
                LifecycleState::Initialized | LifecycleState::Running
            ) {
                continue;
            }
            if let Err(error) = self.initialize(&name) {
                for earlier in done.iter().rev() {
                    // The first error is the one reported; a failed cleanup marks its plugin.
                    let _ = self.stop(earlier);
                }
                return Err(error);
            }
            done.push(name);
        }
        Ok(())
    }

    /// Starts every initialized plugin, dependencies first.
    pub fn start_all(&mut self) -> Result<(), PluginError> {
        for name in self.order.clone() {
            if self.plugins[&name].state == LifecycleState::Initialized {
                self.start(&name)?;
            }
        }
        Ok(())
    }

    /// Stops every initialized or running plugin, dependents first. Every plugin is
    /// attempted; the first error is returned.
    pub fn cleanup_all(&mut self) -> Result<(), PluginError> {
        let mut first_error = None;
        for name in self.order.clone().iter().rev() {
            if matches!(
                self.plugins[name].state,
                LifecycleState::Initialized | LifecycleState::Running
            ) && let Err(error) = self.stop(name)
            {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Orders `edges` (plugin → its dependencies) dependencies first, ties by name; a cycle is
/// an error listing it.
fn topological_order(edges: &BTreeMap<String, Vec<String>>) -> Result<Vec<String>, PluginError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit(
        name: &str,
        edges: &BTreeMap<String, Vec<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
        order: &mut Vec<String>,
    ) -> Result<(), PluginError> {
        match marks.get(name) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Visiting) => {
                let start = path.iter().position(|p| p == name).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(name.to_owned());
                return Err(PluginError::from(PluginErrorKind::DependencyCycle {
                    cycle,
                }));
            }
            None => {}
        }
        marks.insert(name.to_owned(), Mark::Visiting);
        path.push(name.to_owned());
        let mut deps = edges.get(name).cloned().unwrap_or_default();
        deps.sort();
        for dep in &deps {
            visit(dep, edges, marks, path, order)?;
        }
        path.pop();
        marks.insert(name.to_owned(), Mark::Done);
        order.push(name.to_owned());
        Ok(())
    }
    let mut marks = BTreeMap::new();
    let mut order = Vec::new();
    for name in edges.keys() {
        visit(name, edges, &mut marks, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(n, d)| ((*n).to_owned(), d.iter().map(|s| (*s).to_owned()).collect()))
            .collect()
    }

    #[test]
    fn dependencies_come_first() {
        let order = topological_order(&edges(&[
            ("app", &["db", "log"]),
            ("db", &["log"]),
            ("log", &[]),
        ]))
        .unwrap();
        assert_eq!(order, ["log", "db", "app"]);
    }

    #[test]
    fn a_cycle_is_named() {
        let err =
            topological_order(&edges(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])])).unwrap_err();
        assert_eq!(err.to_string(), "dependency cycle: a -> b -> c -> a");
    }
}
