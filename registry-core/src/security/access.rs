//! Principals, roles, access decisions and the audit log.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::{
    ModuleRegistry, Plugin, PluginCapabilityQuery, PluginConfig, PluginDescriptor,
    PluginDiscoveryQuery, PluginError, PluginInfo, PluginSettings, PluginType,
};

/// What a principal asks to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// Register a plugin at run time.
    Register,
    /// Remove a plugin.
    Unregister,
    /// See a plugin in discovery results.
    Discover,
    /// Create an instance.
    Instantiate,
    /// Change a plugin's settings.
    Configure,
    /// Call `process` on an instance.
    Process,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 6] = [
        Operation::Register,
        Operation::Unregister,
        Operation::Discover,
        Operation::Instantiate,
        Operation::Configure,
        Operation::Process,
    ];

    /// The operation's name, as roles and the audit log write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Register => "register",
            Operation::Unregister => "unregister",
            Operation::Discover => "discover",
            Operation::Instantiate => "instantiate",
            Operation::Configure => "configure",
            Operation::Process => "process",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Operation {
    type Err = PluginError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Operation::ALL
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| {
                PluginError::invalid(
                    "operation",
                    s,
                    "expected register, unregister, discover, instantiate, configure or process",
                )
            })
    }
}

/// An operation allowed on the plugins whose names match a pattern (`*` matches any run
/// of characters: `gzip-*`, `*`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Grant {
    operation: Operation,
    pattern: String,
}

impl Grant {
    fn allows(&self, operation: Operation, plugin: &str) -> bool {
        self.operation == operation && glob(&self.pattern, plugin)
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

fn check_pattern(pattern: &str) -> Result<(), PluginError> {
    if pattern.is_empty() {
        return Err(PluginError::invalid(
            "plugin pattern",
            pattern,
            "must not be empty; use `*` for every plugin",
        ));
    }
    if let Some(bad) = pattern.chars().find(|c| {
        !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '*'))
    }) {
        return Err(PluginError::invalid(
            "plugin pattern",
            pattern,
            format!("character `{bad}` is not allowed; use [a-z0-9._-] and `*`"),
        ));
    }
    Ok(())
}

/// A named set of grants.
///
/// ```
/// use module_registry_core::{Operation, Role};
/// let operator = Role::new("operator")
///     .allow(Operation::Discover, "*")
///     .allow(Operation::Instantiate, "gzip-*");
/// assert!(operator.allows(Operation::Instantiate, "gzip-compress"));
/// assert!(!operator.allows(Operation::Instantiate, "sha256"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    name: String,
    grants: Vec<Grant>,
}

impl Role {
    /// A role that grants nothing yet.
    pub fn new(name: impl Into<String>) -> Self {
        Role {
            name: name.into(),
            grants: Vec::new(),
        }
    }

    /// Grants `operation` on plugins matching `pattern`.
    pub fn allow(mut self, operation: Operation, pattern: impl Into<String>) -> Self {
        self.grants.push(Grant {
            operation,
            pattern: pattern.into(),
        });
        self
    }

    /// The role's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the role grants `operation` on `plugin`.
    pub fn allows(&self, operation: Operation, plugin: &str) -> bool {
        self.grants.iter().any(|g| g.allows(operation, plugin))
    }

    /// Checks the role's name and patterns.
    pub fn validate(&self) -> Result<(), PluginError> {
        crate::validate::check_identifier("role name", &self.name)?;
        for grant in &self.grants {
            check_pattern(&grant.pattern)?;
        }
        Ok(())
    }
}

/// Someone on whose behalf calls are made: a name, roles, and grants of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    name: String,
    roles: Vec<String>,
    grants: Vec<Grant>,
}

impl Principal {
    /// A principal with no roles or grants.
    pub fn new(name: impl Into<String>) -> Self {
        Principal {
            name: name.into(),
            roles: Vec::new(),
            grants: Vec::new(),
        }
    }

    /// Gives the principal a role (defined with `PluginAccessControlConfig::with_role`).
    pub fn with_role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// Grants the principal `operation` on plugins matching `pattern` directly.
    pub fn allow(mut self, operation: Operation, pattern: impl Into<String>) -> Self {
        self.grants.push(Grant {
            operation,
            pattern: pattern.into(),
        });
        self
    }

    /// The principal's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn validate(&self) -> Result<(), PluginError> {
        crate::validate::check_identifier("principal name", &self.name)?;
        for role in &self.roles {
            crate::validate::check_identifier("role name", role)?;
        }
        for grant in &self.grants {
            check_pattern(&grant.pattern)?;
        }
        Ok(())
    }
}

/// Whether an access was allowed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessDecision {
    /// Allowed or denied.
    pub allowed: bool,
    /// What decided it: `not enforced`, `grant`, `role NAME`, `no grant`.
    pub reason: String,
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Increasing number within this process.
    pub sequence: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Who asked (`-` for the registry's own checks).
    pub principal: String,
    /// What was asked.
    pub operation: Operation,
    /// On which plugin (`*` for discovery as a whole).
    pub plugin: String,
    /// The decision.
    #[serde(flatten)]
    pub decision: AccessDecision,
}

/// How many entries the in-memory audit log keeps.
pub const AUDIT_CAPACITY: usize = 1024;

/// The audit log: bounded in memory, optionally appended to a file.
#[derive(Debug, Default)]
pub(crate) struct AuditLog {
    entries: Mutex<VecDeque<AuditEntry>>,
    file: Mutex<Option<File>>,
    sequence: AtomicU64,
    allowed: [AtomicU64; 6],
    denied: [AtomicU64; 6],
}

impl AuditLog {
    pub(crate) fn open_file(&self, path: &std::path::Path) -> Result<(), PluginError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| PluginError::ConfigurationFile {
                path: path.display().to_string(),
                reason: format!("cannot open the audit file: {e}"),
            })?;
        *self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(file);
        Ok(())
    }

    fn count(&self, operation: Operation, allowed: bool) {
        let counters = if allowed { &self.allowed } else { &self.denied };
        counters[operation.index()].fetch_add(1, Ordering::Relaxed);
    }

    fn record(&self, entry: AuditEntry) {
        tracing::info!(
            target: "module_registry::audit",
            principal = %entry.principal,
            operation = %entry.operation,
            plugin = %entry.plugin,
            allowed = entry.decision.allowed,
            reason = %entry.decision.reason,
            "access"
        );
        if let Some(file) = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_mut()
        {
            let line = serde_json::to_string(&entry).unwrap_or_default();
            if let Err(error) = writeln!(file, "{line}").and_then(|()| file.flush()) {
                tracing::error!(%error, "cannot append to the audit file");
            }
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() == AUDIT_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
    }
}

/// Counts of access decisions per operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessMetrics {
    /// Allowed decisions by operation.
    pub allowed: Vec<(Operation, u64)>,
    /// Denied decisions by operation.
    pub denied: Vec<(Operation, u64)>,
}

impl ModuleRegistry {
    /// Decides whether `principal` may do `operation` on `plugin`, and logs and counts the
    /// decision as the access switches ask.
    pub fn check_access(
        &self,
        principal: &Principal,
        operation: Operation,
        plugin: &str,
    ) -> AccessDecision {
        let overlay = self.snapshot();
        let flags = &overlay.flags;
        let decision = if !(flags.authorization || flags.role_based_access) {
            AccessDecision {
                allowed: true,
                reason: "not enforced".to_owned(),
            }
        } else if principal.grants.iter().any(|g| g.allows(operation, plugin)) {
            AccessDecision {
                allowed: true,
                reason: "grant".to_owned(),
            }
        } else if let Some(role) = flags
            .role_based_access
            .then(|| {
                principal
                    .roles
                    .iter()
                    .filter_map(|r| overlay.roles.get(r))
                    .find(|r| r.allows(operation, plugin))
            })
            .flatten()
        {
            AccessDecision {
                allowed: true,
                reason: format!("role {}", role.name()),
            }
        } else {
            AccessDecision {
                allowed: false,
                reason: "no grant".to_owned(),
            }
        };
        self.note_access(flags, principal.name(), operation, plugin, &decision);
        decision
    }

    pub(crate) fn note_access(
        &self,
        flags: &crate::SystemFlags,
        principal: &str,
        operation: Operation,
        plugin: &str,
        decision: &AccessDecision,
    ) {
        if flags.access_monitoring {
            self.audit.count(operation, decision.allowed);
        }
        if flags.alerting && !decision.allowed {
            self.alerts.observe_denial(flags.real_time_alerting);
        }
        if flags.access_logging {
            let timestamp_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            self.audit.record(AuditEntry {
                sequence: self.audit.sequence.fetch_add(1, Ordering::Relaxed),
                timestamp_ms,
                principal: principal.to_owned(),
                operation,
                plugin: plugin.to_owned(),
                decision: decision.clone(),
            });
        }
    }

    /// The audit entries kept in memory (the last [`AUDIT_CAPACITY`]) that `filter` accepts,
    /// oldest first.
    pub fn audit_log(&self, filter: impl Fn(&AuditEntry) -> bool) -> Vec<AuditEntry> {
        self.audit
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|e| filter(e))
            .cloned()
            .collect()
    }

    /// Access decisions counted while access monitoring was on.
    pub fn access_metrics(&self) -> AccessMetrics {
        let read = |counters: &[AtomicU64; 6]| {
            Operation::ALL
                .into_iter()
                .map(|op| (op, counters[op.index()].load(Ordering::Relaxed)))
                .filter(|(_, n)| *n > 0)
                .collect()
        };
        AccessMetrics {
            allowed: read(&self.audit.allowed),
            denied: read(&self.audit.denied),
        }
    }

    /// The registry as seen by `principal`: every call is checked, logged and counted.
    pub fn on_behalf_of(&self, principal: Principal) -> Result<AccessScope<'_>, PluginError> {
        principal.validate()?;
        Ok(AccessScope {
            registry: self,
            principal,
        })
    }
}

/// Calls made on behalf of one principal.
#[derive(Debug)]
pub struct AccessScope<'r> {
    registry: &'r ModuleRegistry,
    principal: Principal,
}

impl AccessScope<'_> {
    fn require(&self, operation: Operation, plugin: &str) -> Result<(), PluginError> {
        if self
            .registry
            .check_access(&self.principal, operation, plugin)
            .allowed
        {
            Ok(())
        } else {
            Err(PluginError::AccessDenied {
                principal: self.principal.name.clone(),
                operation: operation.as_str(),
                plugin: plugin.to_owned(),
            })
        }
    }

    /// Registers a plugin, if the principal may `register` it.
    pub fn register_plugin(&self, config: PluginConfig) -> Result<(), PluginError> {
        self.require(Operation::Register, config.name().unwrap_or(""))?;
        self.registry.register_plugin(config)
    }

    /// Removes a plugin, if the principal may `unregister` it.
    pub fn unregister_plugin(&self, name: &str) -> Result<(), PluginError> {
        self.require(Operation::Unregister, name)?;
        self.registry.unregister_plugin(name)
    }

    /// Changes a plugin's settings, if the principal may `configure` it.
    pub fn set_plugin_settings(
        &self,
        name: &str,
        settings: PluginSettings,
    ) -> Result<(), PluginError> {
        self.require(Operation::Configure, name)?;
        self.registry.set_plugin_settings(name, settings)
    }

    /// The plugins matching `query` that the principal may `discover`.
    pub fn discover_plugins(
        &self,
        query: PluginDiscoveryQuery,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        let found = self.registry.discover_plugins(query)?;
        Ok(self.visible(found))
    }

    /// The plugins matching `query` that the principal may `discover`.
    pub fn discover_plugins_by_capabilities(
        &self,
        query: PluginCapabilityQuery,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        let found = self.registry.discover_plugins_by_capabilities(query)?;
        Ok(self.visible(found))
    }

    fn visible(&self, found: Vec<PluginInfo>) -> Vec<PluginInfo> {
        found
            .into_iter()
            .filter(|p| {
                self.registry
                    .check_access(&self.principal, Operation::Discover, p.name())
                    .allowed
            })
            .collect()
    }

    /// Creates a plugin, if the principal may `instantiate` it; each `process` call on it is
    /// checked too.
    pub fn create_plugin(&self, name: &str) -> Result<Box<dyn Plugin>, PluginError> {
        self.require(Operation::Instantiate, name)?;
        let plugin = self.registry.create_plugin(name)?;
        let may_process = self
            .registry
            .check_access(&self.principal, Operation::Process, name)
            .allowed;
        if may_process {
            return Ok(plugin);
        }
        Ok(Box::new(NoProcess {
            inner: plugin,
            principal: self.principal.name.clone(),
        }))
    }
}

/// An instance whose principal may not call `process`.
struct NoProcess {
    inner: Box<dyn Plugin>,
    principal: String,
}

impl Plugin for NoProcess {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn version(&self) -> &str {
        self.inner.version()
    }
    fn plugin_type(&self) -> PluginType {
        self.inner.plugin_type()
    }
    fn capabilities(&self) -> &[String] {
        self.inner.capabilities()
    }
    fn initialize(&mut self) -> Result<(), PluginError> {
        self.inner.initialize()
    }
    fn cleanup(&mut self) -> Result<(), PluginError> {
        self.inner.cleanup()
    }
    fn process(&self, _: &[u8]) -> Result<Vec<u8>, PluginError> {
        Err(PluginError::AccessDenied {
            principal: self.principal.clone(),
            operation: Operation::Process.as_str(),
            plugin: self.inner.name().to_owned(),
        })
    }
    fn descriptor(&self) -> Option<&'static PluginDescriptor> {
        self.inner.descriptor()
    }

    fn health(&self) -> crate::HealthStatus {
        self.inner.health()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", "anything"));
        assert!(glob("gzip-*", "gzip-compress"));
        assert!(!glob("gzip-*", "zstd-compress"));
        assert!(glob("*-compress", "zstd-compress"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
    }

    #[test]
    fn roles_and_patterns_are_validated() {
        assert!(
            Role::new("ops")
                .allow(Operation::Discover, "*")
                .validate()
                .is_ok()
        );
        assert!(Role::new("Ops").validate().is_err());
        assert!(
            Role::new("ops")
                .allow(Operation::Discover, "")
                .validate()
                .is_err()
        );
        assert!(
            Role::new("ops")
                .allow(Operation::Discover, "a/b")
                .validate()
                .is_err()
        );
        assert!("teleport".parse::<Operation>().is_err());
        assert_eq!("process".parse::<Operation>().unwrap(), Operation::Process);
    }
}
