//! Per-plugin settings: the values handed to a plugin's `config` type.
//!
//! Settings are a tree of [`SettingValue`]s with no format of their own: a configuration
//! file layer (TOML, in the host) converts into it, and `config = C` deserializes `C` out of
//! it with serde, so that a plugin crate never depends on a file format.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::value::SeqDeserializer;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use crate::error::{PluginError, PluginErrorKind};

/// One setting: a boolean, a number, a string, a list or a table.
#[derive(Clone, Debug, PartialEq)]
pub enum SettingValue {
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Integer(i64),
    /// A floating-point number.
    Float(f64),
    /// Text.
    String(String),
    /// A list.
    Array(Vec<SettingValue>),
    /// Named values.
    Table(BTreeMap<String, SettingValue>),
}

impl SettingValue {
    /// The integer, if this is one.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            SettingValue::Integer(n) => Some(*n),
            _ => None,
        }
    }

    /// The text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            SettingValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            SettingValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The table, if this is one.
    pub fn as_table(&self) -> Option<&BTreeMap<String, SettingValue>> {
        match self {
            SettingValue::Table(t) => Some(t),
            _ => None,
        }
    }

    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            SettingValue::Bool(_) => "a boolean",
            SettingValue::Integer(_) => "an integer",
            SettingValue::Float(_) => "a float",
            SettingValue::String(_) => "a string",
            SettingValue::Array(_) => "a list",
            SettingValue::Table(_) => "a table",
        }
    }
}

macro_rules! from_value {
    ($($ty:ty => $variant:ident $(as $as:ty)?),* $(,)?) => {
        $(
            impl From<$ty> for SettingValue {
                fn from(value: $ty) -> Self {
                    SettingValue::$variant(value $(as $as)?.into())
                }
            }
        )*
    };
}

from_value! {
    bool => Bool,
    i32 => Integer,
    i64 => Integer,
    u32 => Integer,
    u8 => Integer,
    f64 => Float,
    &str => String,
    String => String,
}

impl<V: Into<SettingValue>> From<Vec<V>> for SettingValue {
    fn from(values: Vec<V>) -> Self {
        SettingValue::Array(values.into_iter().map(Into::into).collect())
    }
}

/// The settings of one plugin, as read from its section of a configuration file.
///
/// A `#[plugin(config = C)]` plugin is constructed from `C`, deserialized from these settings.
/// When nothing is configured the settings are empty, so a `C` whose fields all have defaults
/// still works.
///
/// ```
/// use modreg_core::PluginSettings;
///
/// #[derive(Debug, serde::Deserialize)]
/// struct Level { level: u32 }
///
/// let settings = PluginSettings::new().with("level", 9);
/// assert_eq!(settings.deserialize::<Level>("gzip-compress").unwrap().level, 9);
/// let empty = PluginSettings::new();
/// let err = empty.deserialize::<Level>("gzip-compress").unwrap_err();
/// assert!(err.to_string().contains("missing field `level`"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct PluginSettings {
    values: BTreeMap<String, SettingValue>,
    /// Where the values were written, when they come from a file.
    origin: Option<Arc<SettingsOrigin>>,
}

/// Settings are equal when their values are: where they were written does not count.
impl PartialEq for PluginSettings {
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values
    }
}

/// Where settings were written: a file, the section that holds them, and the line of each key,
/// so that an error about a setting names the file, the line and the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsOrigin {
    file: String,
    section: String,
    line: usize,
    keys: BTreeMap<String, usize>,
}

impl SettingsOrigin {
    /// Settings written in `file`, in the section `section` (as `plugins.gzip-compress`),
    /// whose header is on `line` (from 1).
    pub fn new(file: impl Into<String>, section: impl Into<String>, line: usize) -> Self {
        SettingsOrigin {
            file: file.into(),
            section: section.into(),
            line,
            keys: BTreeMap::new(),
        }
    }

    /// The same, with `key` written on `line`.
    pub fn with_key(mut self, key: impl Into<String>, line: usize) -> Self {
        self.keys.insert(key.into(), line);
        self
    }

    /// `file, line N, [section] key `key``: the line of `key` where it was written, else the
    /// section's.
    pub fn locate(&self, key: Option<&str>) -> String {
        match key.and_then(|k| self.keys.get(k).map(|line| (k, *line))) {
            Some((key, line)) => format!(
                "{}, line {line}, `[{}]` key `{key}`",
                self.file, self.section
            ),
            None => match key {
                Some(key) => format!(
                    "{}, line {}, `[{}]` (key `{key}`)",
                    self.file, self.line, self.section
                ),
                None => format!("{}, line {}, `[{}]`", self.file, self.line, self.section),
            },
        }
    }
}

/// The setting an error message is about: `at `k``, `key `k``, `missing field `k``,
/// `unknown field `k``.
fn key_in(message: &str) -> Option<&str> {
    ["at `", "key `", "field `"].iter().find_map(|marker| {
        let start = message.find(marker)? + marker.len();
        let rest = &message[start..];
        let end = rest.find(['`', '.'])?;
        Some(&rest[..end])
    })
}

/// The empty settings every unconfigured plugin receives.
pub(crate) static EMPTY: PluginSettings = PluginSettings::new();

impl PluginSettings {
    /// No settings.
    pub const fn new() -> Self {
        PluginSettings {
            values: BTreeMap::new(),
            origin: None,
        }
    }

    /// Settings from named values.
    pub fn from_values(values: BTreeMap<String, SettingValue>) -> Self {
        PluginSettings {
            values,
            origin: None,
        }
    }

    /// These settings, written at `origin`: errors about them name its file, line and key.
    pub fn with_origin(mut self, origin: SettingsOrigin) -> Self {
        self.origin = Some(Arc::new(origin));
        self
    }

    /// Where these settings were written, if they come from a file.
    pub fn origin(&self) -> Option<&SettingsOrigin> {
        self.origin.as_deref()
    }

    /// `error`, about these settings, with where they were written: a configuration error
    /// (or an invalid field) names the file, the line and the key. Other errors, and settings
    /// not from a file, are returned as they are.
    #[cold]
    pub fn locate_error(&self, error: PluginError) -> PluginError {
        let Some(origin) = &self.origin else {
            return error;
        };
        match error.into_kind() {
            // Located already (by `deserialize`, inside the constructor).
            PluginErrorKind::Configuration { plugin, reason }
                if reason.starts_with(&format!("{}, line ", origin.file)) =>
            {
                PluginError::from(PluginErrorKind::Configuration { plugin, reason })
            }
            PluginErrorKind::Configuration { plugin, reason } => {
                let key = key_in(&reason);
                let at = origin.locate(key);
                // The location names the key: a message that starts by naming it again drops
                // that.
                let reason = key
                    .and_then(|key| {
                        [format!("at `{key}`: "), format!("key `{key}`: ")]
                            .iter()
                            .find_map(|prefix| reason.strip_prefix(prefix.as_str()))
                    })
                    .unwrap_or(&reason);
                PluginError::from(PluginErrorKind::Configuration {
                    plugin,
                    reason: format!("{at}: {reason}"),
                })
            }
            PluginErrorKind::Invalid {
                field,
                value,
                reason,
            } if self.values.contains_key(field) && !reason.contains(&origin.file) => {
                PluginError::from(PluginErrorKind::Invalid {
                    field,
                    value,
                    reason: format!("{reason} ({})", origin.locate(Some(field))),
                })
            }
            other => PluginError::from(other),
        }
    }

    /// These settings with `key` set to `value`.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<SettingValue>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&SettingValue> {
        self.values.get(key)
    }

    /// Every value, by key.
    pub fn values(&self) -> &BTreeMap<String, SettingValue> {
        &self.values
    }

    /// Every value, by key, to change.
    pub fn values_mut(&mut self) -> &mut BTreeMap<String, SettingValue> {
        &mut self.values
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Reads the settings into `C` for `plugin`; the error names the plugin and the key.
    pub fn deserialize<C: DeserializeOwned>(&self, plugin: &str) -> Result<C, PluginError> {
        C::deserialize(SettingValue::Table(self.values.clone())).map_err(|e: de::value::Error| {
            self.locate_error(PluginError::from(PluginErrorKind::Configuration {
                plugin: plugin.to_owned(),
                reason: e.to_string(),
            }))
        })
    }
}

impl IntoDeserializer<'_, de::value::Error> for SettingValue {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for SettingValue {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            SettingValue::Bool(b) => visitor.visit_bool(b),
            SettingValue::Integer(n) => visitor.visit_i64(n),
            SettingValue::Float(x) => visitor.visit_f64(x),
            SettingValue::String(s) => visitor.visit_string(s),
            SettingValue::Array(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter());
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            SettingValue::Table(table) => visitor.visit_map(KeyedMap {
                entries: table.into_iter(),
                key: None,
            }),
        }
    }

    /// A present value is `Some`: absent keys are what make an `Option` field `None`.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    /// Unit variants are written as strings: `mode = "fast"`.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self {
            SettingValue::String(s) => visitor.visit_enum(s.into_deserializer()),
            other => Err(de::Error::invalid_type(
                other.unexpected(),
                &"a variant name",
            )),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

/// A table's entries for a visitor, each value's error prefixed with where it is: `at
/// `codec.level`: invalid type: ...`. Written here rather than with a path-tracking crate: the
/// whole job is this one `MapAccess`, and the lean core takes no dependency for it.
struct KeyedMap {
    entries: std::collections::btree_map::IntoIter<String, SettingValue>,
    key: Option<(String, SettingValue)>,
}

impl<'de> de::MapAccess<'de> for KeyedMap {
    type Error = de::value::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let read = seed.deserialize(key.as_str().into_deserializer())?;
        self.key = Some((key, value));
        Ok(Some(read))
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let (key, value) = self
            .key
            .take()
            .ok_or_else(|| de::Error::custom("a value asked for before its key"))?;
        seed.deserialize(value)
            .map_err(|e: de::value::Error| at_key(&key, &e.to_string()))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// `message` located at `key`, joining the path of an error from a nested table.
fn at_key(key: &str, message: &str) -> de::value::Error {
    match message.strip_prefix("at `") {
        Some(nested) => de::Error::custom(format_args!("at `{key}.{nested}")),
        None => de::Error::custom(format_args!("at `{key}`: {message}")),
    }
}

impl SettingValue {
    fn unexpected(&self) -> de::Unexpected<'_> {
        match self {
            SettingValue::Bool(b) => de::Unexpected::Bool(*b),
            SettingValue::Integer(n) => de::Unexpected::Signed(*n),
            SettingValue::Float(x) => de::Unexpected::Float(*x),
            SettingValue::String(s) => de::Unexpected::Str(s),
            SettingValue::Array(_) => de::Unexpected::Seq,
            SettingValue::Table(_) => de::Unexpected::Map,
        }
    }
}

impl fmt::Display for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingValue::Bool(b) => write!(f, "{b}"),
            SettingValue::Integer(n) => write!(f, "{n}"),
            SettingValue::Float(x) => write!(f, "{x}"),
            SettingValue::String(s) => write!(f, "{s:?}"),
            SettingValue::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            SettingValue::Table(table) => {
                f.write_str("{")?;
                for (i, (k, v)) in table.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Config {
        level: u32,
        name: Option<String>,
        #[serde(default)]
        tags: Vec<String>,
        mode: Mode,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
        Small,
    }

    #[test]
    fn deserializes_numbers_options_lists_and_enums() {
        let settings = PluginSettings::new()
            .with("level", 9)
            .with("tags", vec!["a", "b"])
            .with("mode", "small");
        let config: Config = settings.deserialize("p").unwrap();
        assert_eq!(
            config,
            Config {
                level: 9,
                name: None,
                tags: vec!["a".into(), "b".into()],
                mode: Mode::Small
            }
        );
        assert!(matches!(Mode::Fast, Mode::Fast));
    }

    #[test]
    fn errors_name_the_plugin_and_the_problem() {
        let wrong = PluginSettings::new().with("level", -1).with("mode", "fast");
        let err = wrong.deserialize::<Config>("gzip").unwrap_err().to_string();
        assert!(err.contains("`gzip`") && err.contains("-1"), "{err}");
        let unknown = PluginSettings::new()
            .with("level", 1)
            .with("mode", "fast")
            .with("levle", 2);
        let err = unknown
            .deserialize::<Config>("gzip")
            .unwrap_err()
            .to_string();
        assert!(err.contains("levle"), "{err}");
    }

    #[test]
    fn settings_from_a_file_locate_their_errors() {
        let origin = SettingsOrigin::new("app.toml", "plugins.gzip", 4)
            .with_key("level", 5)
            .with_key("mode", 6);
        let settings = PluginSettings::new()
            .with("level", "x")
            .with("mode", "fast")
            .with_origin(origin);
        let err = settings
            .deserialize::<Config>("gzip")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("app.toml, line 5, `[plugins.gzip]` key `level`: invalid type"),
            "{err}"
        );
        // Located once, however many times it passes through.
        let again = settings.locate_error(settings.deserialize::<Config>("gzip").unwrap_err());
        assert_eq!(again.to_string().matches("app.toml").count(), 1, "{again}");
        // A key that is not written: the section's line.
        let missing = PluginSettings::new()
            .with_origin(SettingsOrigin::new("app.toml", "plugins.gzip", 4))
            .deserialize::<Config>("gzip")
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("app.toml, line 4, `[plugins.gzip]` (key `level`)"),
            "{missing}"
        );
        // Not from a file: unchanged, and equal settings whatever their origin.
        assert!(
            !PluginSettings::new()
                .deserialize::<Config>("gzip")
                .unwrap_err()
                .to_string()
                .contains("line")
        );
        assert_eq!(
            settings,
            PluginSettings::new()
                .with("level", "x")
                .with("mode", "fast")
        );
    }

    #[test]
    fn a_wrong_type_names_its_key_and_the_path_to_it() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            inner: Inner,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            name: String,
        }
        let wrong = PluginSettings::new()
            .with("level", "x")
            .with("mode", "fast");
        let err = wrong.deserialize::<Config>("gzip").unwrap_err().to_string();
        assert!(
            err.contains("at `level`: invalid type: string \"x\""),
            "{err}"
        );
        let mut inner = BTreeMap::new();
        inner.insert("name".to_owned(), SettingValue::Integer(5));
        let nested = PluginSettings::new().with("inner", SettingValue::Table(inner));
        let err = nested
            .deserialize::<Outer>("formal")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("at `inner.name`: invalid type: integer `5`, expected a string"),
            "{err}"
        );
    }
}
