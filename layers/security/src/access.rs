//! Principals, roles, access decisions and the audit log.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use std::collections::BTreeMap;

use crate::switches::Switches;
use modreg_core::{PluginError, PluginType};

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

    pub(crate) fn index(self) -> usize {
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
/// of characters: `gzip-*`, `*`), and, when `types` is not empty, whose type is one of them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Grant {
    operation: Operation,
    pattern: String,
    /// Empty: any type.
    types: Vec<PluginType>,
}

impl Grant {
    fn new(operation: Operation, pattern: String, types: Vec<PluginType>) -> Self {
        Grant {
            operation,
            pattern,
            types,
        }
    }

    /// Whether the grant covers `operation` on `plugin`, of type `plugin_type` if known: a
    /// grant limited to types covers no plugin whose type is not known.
    fn allows(&self, operation: Operation, plugin: &str, plugin_type: Option<PluginType>) -> bool {
        self.operation == operation
            && glob(&self.pattern, plugin)
            && (self.types.is_empty() || plugin_type.is_some_and(|t| self.types.contains(&t)))
    }
}

/// The grants a role or a principal holds: what [`Role`] and [`Principal`] share.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Grants(Vec<Grant>);

impl Grants {
    fn add(
        &mut self,
        operation: Operation,
        pattern: String,
        types: impl IntoIterator<Item = PluginType>,
    ) {
        self.0
            .push(Grant::new(operation, pattern, types.into_iter().collect()));
    }

    fn allows(&self, operation: Operation, plugin: &str, plugin_type: Option<PluginType>) -> bool {
        self.0
            .iter()
            .any(|g| g.allows(operation, plugin, plugin_type))
    }

    fn validate(&self) -> Result<(), PluginError> {
        self.0
            .iter()
            .try_for_each(|grant| check_pattern(&grant.pattern))
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
/// use modreg_security::{Operation, Role};
/// let operator = Role::new("operator")
///     .allow(Operation::Discover, "*")
///     .allow(Operation::Instantiate, "gzip-*");
/// assert!(operator.allows(Operation::Instantiate, "gzip-compress"));
/// assert!(!operator.allows(Operation::Instantiate, "sha256"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    name: String,
    grants: Grants,
}

impl Role {
    /// A role that grants nothing yet.
    pub fn new(name: impl Into<String>) -> Self {
        Role {
            name: name.into(),
            grants: Grants::default(),
        }
    }

    /// Grants `operation` on plugins matching `pattern`.
    pub fn allow(mut self, operation: Operation, pattern: impl Into<String>) -> Self {
        self.grants.add(operation, pattern.into(), []);
        self
    }

    /// Grants `operation` on plugins matching `pattern` whose type is one of `types`: a
    /// role may register `DataProcessor`s and not a `Security` plugin.
    ///
    /// ```
    /// use modreg_core::PluginType;
    /// use modreg_security::{Operation, Role};
    /// let publisher = Role::new("publisher").allow_types(
    ///     Operation::Register,
    ///     "*",
    ///     [PluginType::DataProcessor, PluginType::Encoding],
    /// );
    /// assert!(publisher.allows_type(Operation::Register, "rot13", Some(PluginType::Encoding)));
    /// assert!(!publisher.allows_type(Operation::Register, "vault", Some(PluginType::Security)));
    /// assert!(!publisher.allows_type(Operation::Register, "rot13", None), "type unknown");
    /// ```
    pub fn allow_types(
        mut self,
        operation: Operation,
        pattern: impl Into<String>,
        types: impl IntoIterator<Item = PluginType>,
    ) -> Self {
        self.grants.add(operation, pattern.into(), types);
        self
    }

    /// The role's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the role grants `operation` on `plugin`, whatever its type (grants limited to
    /// types do not count).
    pub fn allows(&self, operation: Operation, plugin: &str) -> bool {
        self.allows_type(operation, plugin, None)
    }

    /// Whether the role grants `operation` on `plugin` of type `plugin_type` (`None`: not
    /// known).
    pub fn allows_type(
        &self,
        operation: Operation,
        plugin: &str,
        plugin_type: Option<PluginType>,
    ) -> bool {
        self.grants.allows(operation, plugin, plugin_type)
    }

    /// Checks the role's name and patterns.
    pub fn validate(&self) -> Result<(), PluginError> {
        modreg_core::validate::check_identifier("role name", &self.name)?;
        self.grants.validate()
    }
}

/// Someone on whose behalf calls are made: a name, roles, and grants of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub(crate) name: String,
    roles: Vec<String>,
    grants: Grants,
}

impl Principal {
    /// A principal with no roles or grants.
    pub fn new(name: impl Into<String>) -> Self {
        Principal {
            name: name.into(),
            roles: Vec::new(),
            grants: Grants::default(),
        }
    }

    /// Gives the principal a role (defined with `PluginAccessControlConfig::with_role`).
    pub fn with_role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// Grants the principal `operation` on plugins matching `pattern` directly.
    pub fn allow(mut self, operation: Operation, pattern: impl Into<String>) -> Self {
        self.grants.add(operation, pattern.into(), []);
        self
    }

    /// Grants the principal `operation` on plugins matching `pattern` whose type is one of
    /// `types` ([`Role::allow_types`]).
    pub fn allow_types(
        mut self,
        operation: Operation,
        pattern: impl Into<String>,
        types: impl IntoIterator<Item = PluginType>,
    ) -> Self {
        self.grants.add(operation, pattern.into(), types);
        self
    }

    /// The principal's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn validate(&self) -> Result<(), PluginError> {
        modreg_core::validate::check_identifier("principal name", &self.name)?;
        for role in &self.roles {
            modreg_core::validate::check_identifier("role name", role)?;
        }
        self.grants.validate()
    }
}

/// Whether an access was allowed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AccessDecision {
    /// Allowed or denied.
    pub allowed: bool,
    /// What decided it: `not enforced`, `grant`, `role NAME`, `no grant`.
    pub reason: String,
}

/// Whether `principal` may do `operation` on `plugin` (of type `plugin_type`, if known) under
/// `switches` and `roles`, and why.
pub(crate) fn decide(
    switches: Switches,
    roles: &BTreeMap<String, Role>,
    principal: &Principal,
    operation: Operation,
    plugin: &str,
    plugin_type: Option<PluginType>,
) -> AccessDecision {
    let decision = |allowed, reason: String| AccessDecision { allowed, reason };
    if !(switches.authorization || switches.role_based_access) {
        return decision(true, "not enforced".to_owned());
    }
    if principal.grants.allows(operation, plugin, plugin_type) {
        return decision(true, "grant".to_owned());
    }
    let by_role = switches.role_based_access.then(|| {
        principal
            .roles
            .iter()
            .filter_map(|r| roles.get(r))
            .find(|r| r.allows_type(operation, plugin, plugin_type))
    });
    match by_role.flatten() {
        Some(role) => decision(true, format!("role {}", role.name())),
        None => decision(false, "no grant".to_owned()),
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
