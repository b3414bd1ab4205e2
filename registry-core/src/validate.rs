//! The rules every name, version and dependency follows, wherever it comes from.
//!
//! `#[plugin]` checks the same rules at compile time (in the macro crate); runtime
//! registration and configuration files are checked here.

use semver::{Version, VersionReq};

use crate::error::{PluginError, PluginErrorKind};

/// Checks that `value` matches `[a-z0-9][a-z0-9._-]*`, the form of names and capabilities.
///
/// ```
/// use modreg_core::validate::check_identifier;
/// assert!(check_identifier("plugin name", "gzip-compress").is_ok());
/// assert!(check_identifier("plugin name", "Gzip").is_err());
/// ```
pub fn check_identifier(field: &'static str, value: &str) -> Result<(), PluginError> {
    let mut chars = value.chars();
    match chars.next() {
        None => return Err(PluginError::invalid(field, value, "must not be empty")),
        Some(c) if !(c.is_ascii_lowercase() || c.is_ascii_digit()) => {
            return Err(PluginError::invalid(
                field,
                value,
                "must start with a lowercase ASCII letter or a digit",
            ));
        }
        Some(_) => {}
    }
    if let Some(bad) = chars.find(|c| !is_identifier_char(*c)) {
        return Err(PluginError::invalid(
            field,
            value,
            format!("character `{bad}` is not allowed; use [a-z0-9._-]"),
        ));
    }
    Ok(())
}

/// Checks that each of `values` is an identifier ([`check_identifier`]) listed once: a
/// plugin's capabilities, its permissions.
///
/// ```
/// use modreg_core::validate::check_unique;
/// let listed = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
/// assert!(check_unique("capability", &listed(&["compression", "gzip"])).is_ok());
/// assert!(check_unique("capability", &listed(&["gzip", "gzip"])).is_err());
/// ```
pub fn check_unique(field: &'static str, values: &[String]) -> Result<(), PluginError> {
    for (i, value) in values.iter().enumerate() {
        check_identifier(field, value)?;
        if values[..i].contains(value) {
            return Err(PluginError::invalid(
                field,
                value.clone(),
                "is listed twice",
            ));
        }
    }
    Ok(())
}

fn is_identifier_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
}

/// Parses the version of `plugin`.
pub fn parse_version(plugin: &str, version: &str) -> Result<Version, PluginError> {
    Version::parse(version).map_err(|source| {
        PluginError::from(PluginErrorKind::InvalidVersion {
            plugin: plugin.to_owned(),
            version: version.to_owned(),
            source,
        })
    })
}

/// One parsed `depends_on` entry: a plugin name and the versions it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dependency {
    /// The plugin depended on.
    pub name: String,
    /// The versions accepted; `*` when the entry names no requirement.
    pub requirement: VersionReq,
}

/// Parses `"base-plugin"` or `"base-plugin >= 1.0"` as declared by `plugin`.
///
/// ```
/// use modreg_core::validate::parse_dependency;
/// let dep = parse_dependency("app", "base-plugin >= 1.0").unwrap();
/// assert_eq!(dep.name, "base-plugin");
/// assert!(dep.requirement.matches(&"1.2.0".parse().unwrap()));
/// assert!(parse_dependency("app", "base-plugin >= one").is_err());
/// ```
pub fn parse_dependency(plugin: &str, spec: &str) -> Result<Dependency, PluginError> {
    let spec_trimmed = spec.trim();
    let split = spec_trimmed
        .find(|c: char| !is_identifier_char(c))
        .unwrap_or(spec_trimmed.len());
    let (name, requirement) = spec_trimmed.split_at(split);
    let invalid = |reason: String| {
        PluginError::from(PluginErrorKind::InvalidDependency {
            plugin: plugin.to_owned(),
            requirement: spec.to_owned(),
            reason,
        })
    };
    check_identifier("dependency name", name).map_err(|e| invalid(e.to_string()))?;
    let requirement = requirement.trim();
    let requirement = if requirement.is_empty() {
        VersionReq::STAR
    } else {
        VersionReq::parse(requirement).map_err(|e| invalid(e.to_string()))?
    };
    Ok(Dependency {
        name: name.to_owned(),
        requirement,
    })
}

/// Checks dependency `spec` of `plugin` against the version `registered` gives for the
/// dependency's name (`None`: not registered); returns the dependency's name.
pub fn check_dependency(
    plugin: &str,
    spec: &str,
    registered: impl FnOnce(&str) -> Option<String>,
) -> Result<String, PluginError> {
    let dependency = parse_dependency(plugin, spec)?;
    let Some(found) = registered(&dependency.name) else {
        return Err(PluginError::from(PluginErrorKind::MissingDependency {
            plugin: plugin.to_owned(),
            dependency: dependency.name,
        }));
    };
    if !dependency
        .requirement
        .matches(&parse_version(&dependency.name, &found)?)
    {
        return Err(PluginError::from(PluginErrorKind::IncompatibleDependency {
            plugin: plugin.to_owned(),
            dependency: dependency.name,
            requirement: spec.to_owned(),
            found,
        }));
    }
    Ok(dependency.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["a", "0", "gzip-compress", "v1.2_x"] {
            check_identifier("plugin name", ok).unwrap();
        }
        for bad in ["", "-a", "A", "a b", "a/b", "é"] {
            assert!(check_identifier("plugin name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dependencies() {
        let star = parse_dependency("p", "base").unwrap();
        assert_eq!(star.requirement, VersionReq::STAR);
        let req = parse_dependency("p", "base ^2").unwrap();
        assert!(!req.requirement.matches(&Version::new(1, 0, 0)));
        assert!(parse_dependency("p", "").is_err());
        assert!(parse_dependency("p", ">= 1.0").is_err());
    }
}
