//! The kinds of plugin the registry knows.

use std::fmt;
use std::str::FromStr;

use crate::error::PluginError;

/// What a plugin is for. Discovery filters on it, and the index keeps one range per type.
///
/// The four types of the specification come first; the others are the families the bundled
/// plugins belong to. A type the list does not have is written `Custom("name")`, in the
/// attribute as `type = Custom("name")`.
///
/// ```
/// use modreg_core::PluginType;
///
/// assert_eq!("data-processor".parse::<PluginType>().unwrap(), PluginType::DataProcessor);
/// assert_eq!("DataProcessor".parse::<PluginType>().unwrap(), PluginType::DataProcessor);
/// assert_eq!(PluginType::Custom("telemetry").to_string(), "telemetry");
/// assert!("".parse::<PluginType>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum PluginType {
    /// Transforms data: `process` returns the transformed bytes.
    DataProcessor,
    /// Inspects data and reports on it.
    Analyzer,
    /// Keeps data.
    Storage,
    /// Protects data or the system.
    Security,
    /// Compresses or decompresses.
    Compression,
    /// Computes digests.
    Hashing,
    /// Converts between byte and text encodings.
    Encoding,
    /// Encrypts or decrypts.
    Encryption,
    /// Carries log, metric or trace data.
    Monitoring,
    /// Any other kind, named by the user.
    Custom(&'static str),
}

impl PluginType {
    /// Every built-in type, in order.
    pub const BUILT_IN: [PluginType; 9] = [
        PluginType::DataProcessor,
        PluginType::Analyzer,
        PluginType::Storage,
        PluginType::Security,
        PluginType::Compression,
        PluginType::Hashing,
        PluginType::Encoding,
        PluginType::Encryption,
        PluginType::Monitoring,
    ];

    /// The type's name in kebab-case, as `modreg` and configuration files write it.
    pub const fn as_str(&self) -> &'static str {
        match self {
            PluginType::DataProcessor => "data-processor",
            PluginType::Analyzer => "analyzer",
            PluginType::Storage => "storage",
            PluginType::Security => "security",
            PluginType::Compression => "compression",
            PluginType::Hashing => "hashing",
            PluginType::Encoding => "encoding",
            PluginType::Encryption => "encryption",
            PluginType::Monitoring => "monitoring",
            PluginType::Custom(name) => name,
        }
    }
}

impl fmt::Display for PluginType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PluginType {
    type Err = PluginError;

    /// Parses a built-in type by its kebab-case or CamelCase name; any other valid name becomes
    /// [`PluginType::Custom`] (its text is kept for the life of the program, once per name).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        for ty in PluginType::BUILT_IN {
            if s == ty.as_str() || is_camel_case_of(s, ty.as_str()) {
                return Ok(ty);
            }
        }
        crate::validate::check_identifier("plugin type", s)?;
        Ok(PluginType::Custom(intern(s)))
    }
}

/// Whether `s` is the kebab-case `kebab` written in CamelCase (`data-processor`:
/// `DataProcessor`), compared byte by byte: a parse allocates nothing (a module's load parses
/// each of its plugins' types twice).
fn is_camel_case_of(s: &str, kebab: &str) -> bool {
    let mut word_starts = true;
    let camel = kebab.bytes().filter_map(|b| {
        if b == b'-' {
            word_starts = true;
            return None;
        }
        let b = if word_starts {
            b.to_ascii_uppercase()
        } else {
            b
        };
        word_starts = false;
        Some(b)
    });
    s.bytes().eq(camel)
}

/// Keeps one `'static` copy of each custom type name seen at run time.
fn intern(name: &str) -> &'static str {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(existing) = names.get(name) {
        return existing;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::PluginErrorKind;

    #[test]
    fn round_trips_every_built_in() {
        for ty in PluginType::BUILT_IN {
            assert_eq!(ty.as_str().parse::<PluginType>().unwrap(), ty);
            assert_eq!(format!("{ty:?}").parse::<PluginType>().unwrap(), ty);
        }
        // Only the exact CamelCase: a near miss is another (custom) type, or refused.
        for near in [
            "Dataprocessor",
            "dataProcessor",
            "DataProcessors",
            "DataProcesso",
            "Data-Processor",
        ] {
            assert_ne!(
                near.parse::<PluginType>().ok(),
                Some(PluginType::DataProcessor),
                "{near}"
            );
        }
    }

    #[test]
    fn custom_names_are_interned_once() {
        let a = "telemetry-x".parse::<PluginType>().unwrap();
        let b = "telemetry-x".parse::<PluginType>().unwrap();
        match (a, b) {
            (PluginType::Custom(x), PluginType::Custom(y)) => assert!(std::ptr::eq(x, y)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_invalid_names() {
        assert!(matches!(
            ("Not Valid".parse::<PluginType>())
                .as_ref()
                .map_err(PluginError::kind),
            Err(PluginErrorKind::Invalid {
                field: "plugin type",
                ..
            })
        ));
    }
}
