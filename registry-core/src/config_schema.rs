//! What settings a plugin accepts: the fields of its `config` type, which are required, and the
//! defaults of the others, read from the type itself without running the plugin.
//!
//! `#[plugin(config = C)]` records a function that calls [`describe`] for `C`. The field names
//! come from serde: deriving `Deserialize` for a struct passes its field list to
//! `deserialize_struct`, which a probing deserializer records. A field is required when
//! leaving it out (every other field given a placeholder) fails with serde's "missing field".
//! Defaults are what `C` holds when built from the required fields alone; they are shown when
//! `C` also implements `Serialize` (autoref specialization in the generated code picks
//! [`WithDefaults`] then, [`NamesOnly`] otherwise), so no bound beyond `Deserialize` is asked of a
//! config type.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::ser::{self, Impossible, Serialize};

use crate::settings::SettingValue;

/// One setting a plugin accepts.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SettingInfo {
    /// The key, as written in a configuration file.
    pub name: &'static str,
    /// Whether creation fails without it.
    pub required: bool,
    /// The value used when it is absent, when known: the config type implements `Serialize`
    /// and the value is a scalar. `None` also for an `Option` that is absent by default.
    pub default: Option<SettingValue>,
}

impl fmt::Display for SettingInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.default, self.required) {
            (_, true) => write!(f, "{} (required)", self.name),
            (Some(default), false) => write!(f, "{} = {default}", self.name),
            (None, false) => write!(f, "{} (optional)", self.name),
        }
    }
}

/// The settings of config type `C`, defaults included when `C: Serialize`.
///
/// Generated code calls `(&&Schema::<C>::new()).describe()` with [`WithDefaults`] and
/// [`NamesOnly`] in scope; a host reads the result through the descriptor.
#[derive(Debug)]
pub struct Schema<C>(PhantomData<fn() -> C>);

impl<C> Schema<C> {
    /// The schema probe of `C`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Schema(PhantomData)
    }
}

/// Picked when the config type implements `Serialize`: names, requiredness and defaults.
pub trait WithDefaults {
    /// The settings.
    fn describe(&self) -> Vec<SettingInfo>;
}

/// Picked otherwise: names and requiredness.
pub trait NamesOnly {
    /// The settings.
    fn describe(&self) -> Vec<SettingInfo>;
}

impl<C: DeserializeOwned + Serialize> WithDefaults for &Schema<C> {
    fn describe(&self) -> Vec<SettingInfo> {
        describe::<C>(Some(fields_of::<C>))
    }
}

impl<C: DeserializeOwned> NamesOnly for Schema<C> {
    fn describe(&self) -> Vec<SettingInfo> {
        describe::<C>(None)
    }
}

/// A struct's fields and their values as text (`None` for a value that is not a scalar).
type FieldTexts = Vec<(&'static str, Option<SettingValue>)>;

/// Reads `C`'s settings; `defaults` turns a value of `C` into `(field, value)` pairs.
pub fn describe<C: DeserializeOwned>(
    defaults: Option<fn(&C) -> Option<FieldTexts>>,
) -> Vec<SettingInfo> {
    let Some(fields) = field_names::<C>() else {
        return Vec::new();
    };
    let required: Vec<bool> = (0..fields.len())
        .map(|omit| {
            let probe = Probe::Struct {
                filled: &|i| i != omit,
            };
            match C::deserialize(probe) {
                Err(ProbeError(message)) => message == format!("missing field `{}`", fields[omit]),
                Ok(_) => false,
            }
        })
        .collect();
    let known: FieldTexts = defaults
        .and_then(|defaults| {
            let probe = Probe::Struct {
                filled: &|i| required[i],
            };
            C::deserialize(probe)
                .ok()
                .and_then(|value| defaults(&value))
        })
        .unwrap_or_default();
    fields
        .iter()
        .zip(&required)
        .map(|(&name, &required)| SettingInfo {
            name,
            required,
            default: if required {
                None
            } else {
                known
                    .iter()
                    .find(|(field, _)| *field == name)
                    .and_then(|(_, value)| value.clone())
            },
        })
        .collect()
}

/// The field list serde hands to `deserialize_struct`, or `None` when `C` is not a struct.
fn field_names<C: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let mut fields = None;
    let _ = C::deserialize(Probe::Names(&mut fields));
    fields
}

/// The probe's error: serde's message, compared for "missing field".
#[derive(Debug)]
struct ProbeError(String);

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProbeError {}

impl de::Error for ProbeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ProbeError(msg.to_string())
    }
}

impl ser::Error for ProbeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ProbeError(msg.to_string())
    }
}

/// The top-level probe: records the field list, or presents a map of the fields `filled`
/// chooses, each with a placeholder value of whatever type the field asks for.
enum Probe<'a> {
    Names(&'a mut Option<&'static [&'static str]>),
    Struct { filled: &'a dyn Fn(usize) -> bool },
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = ProbeError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ProbeError> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        match self {
            Probe::Names(out) => {
                *out = Some(fields);
                Err(de::Error::custom("names recorded"))
            }
            Probe::Struct { filled } => {
                let keys = fields
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| filled(*i))
                    .map(|(_, name)| *name);
                visitor.visit_map(PlaceholderMap::new(keys))
            }
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// A map whose keys are field names and whose values are placeholders.
struct PlaceholderMap<I> {
    keys: I,
}

impl<I> PlaceholderMap<I> {
    fn new(keys: I) -> Self {
        PlaceholderMap { keys }
    }
}

impl<'de, I: Iterator<Item = &'static str>> de::MapAccess<'de> for PlaceholderMap<I> {
    type Error = ProbeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ProbeError> {
        self.keys
            .next()
            .map(|key| seed.deserialize(key.into_deserializer()))
            .transpose()
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ProbeError> {
        seed.deserialize(Placeholder)
    }
}

/// A value of whatever type is asked for: zero, false, empty, the first variant, or a struct
/// of placeholders.
struct Placeholder;

/// `deserialize_*` methods that answer with one fixed value.
macro_rules! placeholders {
    ($($method:ident => $visit:ident($value:expr)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
                visitor.$visit($value)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Placeholder {
    type Error = ProbeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_unit()
    }
    placeholders! {
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i8(0),
        deserialize_i16 => visit_i16(0),
        deserialize_i32 => visit_i32(0),
        deserialize_i64 => visit_i64(0),
        deserialize_u8 => visit_u8(0),
        deserialize_u16 => visit_u16(0),
        deserialize_u32 => visit_u32(0),
        deserialize_u64 => visit_u64(0),
        deserialize_f32 => visit_f32(0.0),
        deserialize_f64 => visit_f64(0.0),
        deserialize_char => visit_char('a'),
        deserialize_str => visit_str(""),
        deserialize_string => visit_string(String::new()),
        deserialize_bytes => visit_bytes(&[]),
        deserialize_byte_buf => visit_byte_buf(Vec::new()),
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_none()
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_seq(de::value::SeqDeserializer::new(std::iter::empty::<()>()))
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_map(PlaceholderMap::new(std::iter::empty()))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        visitor.visit_map(PlaceholderMap::new(fields.iter().copied()))
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        let first = variants.first().copied().unwrap_or_default();
        visitor.visit_enum(first.into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        i128 u128 unit unit_struct newtype_struct tuple tuple_struct identifier ignored_any
    }
}

/// What [`Text`] makes of a value: a scalar as a configuration file would write it, or a
/// struct's fields (each a scalar, or `None` when it is not one).
enum Rendered {
    Scalar(SettingValue),
    /// An absent `Option`: no value.
    Absent,
    Struct(FieldTexts),
}

/// The `(field, default)` pairs of a struct value.
fn fields_of<C: Serialize>(value: &C) -> Option<FieldTexts> {
    match value.serialize(Text) {
        Ok(Rendered::Struct(fields)) => Some(fields),
        _ => None,
    }
}

/// Renders scalars as text and structs as their fields; other values are an error.
struct Text;

/// Collects a struct's fields.
struct Fields(FieldTexts);

impl ser::SerializeStruct for Fields {
    type Ok = Rendered;
    type Error = ProbeError;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ProbeError> {
        let text = match value.serialize(Text) {
            Ok(Rendered::Scalar(text)) => Some(text),
            _ => None,
        };
        self.0.push((key, text));
        Ok(())
    }

    fn end(self) -> Result<Rendered, ProbeError> {
        Ok(Rendered::Struct(self.0))
    }
}

macro_rules! scalar_as {
    ($variant:ident as $as:ty: $($method:ident: $ty:ty),* $(,)?) => {
        $(
            fn $method(self, value: $ty) -> Result<Rendered, ProbeError> {
                Ok(Rendered::Scalar(SettingValue::$variant(<$as>::from(value))))
            }
        )*
    };
}

/// The error for values a configuration file cannot hold as one scalar.
fn compound<T>(what: &str) -> Result<T, ProbeError> {
    Err(ser::Error::custom(what))
}

impl ser::Serializer for Text {
    type Ok = Rendered;
    type Error = ProbeError;
    type SerializeSeq = Impossible<Rendered, ProbeError>;
    type SerializeTuple = Impossible<Rendered, ProbeError>;
    type SerializeTupleStruct = Impossible<Rendered, ProbeError>;
    type SerializeTupleVariant = Impossible<Rendered, ProbeError>;
    type SerializeMap = Impossible<Rendered, ProbeError>;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Impossible<Rendered, ProbeError>;

    scalar_as! { Bool as bool: serialize_bool: bool }
    scalar_as! {
        Integer as i64: serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
    }
    scalar_as! { Float as f64: serialize_f32: f32, serialize_f64: f64 }

    fn serialize_u64(self, value: u64) -> Result<Rendered, ProbeError> {
        // A `u64` beyond `i64` is written as text: a configuration file holds `i64`s.
        Ok(Rendered::Scalar(i64::try_from(value).map_or_else(
            |_| SettingValue::String(value.to_string()),
            SettingValue::Integer,
        )))
    }
    fn serialize_char(self, value: char) -> Result<Rendered, ProbeError> {
        Ok(Rendered::Scalar(SettingValue::String(value.to_string())))
    }
    fn serialize_str(self, value: &str) -> Result<Rendered, ProbeError> {
        Ok(Rendered::Scalar(SettingValue::String(value.to_owned())))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Rendered, ProbeError> {
        compound("bytes")
    }
    fn serialize_none(self) -> Result<Rendered, ProbeError> {
        Ok(Rendered::Absent)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Rendered, ProbeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Rendered, ProbeError> {
        compound("unit")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Rendered, ProbeError> {
        compound("unit struct")
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Rendered, ProbeError> {
        Ok(Rendered::Scalar(SettingValue::String(variant.to_owned())))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Rendered, ProbeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Rendered, ProbeError> {
        compound("variant")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, ProbeError> {
        compound("sequence")
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, ProbeError> {
        compound("tuple")
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, ProbeError> {
        compound("tuple")
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ProbeError> {
        compound("variant")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, ProbeError> {
        compound("map")
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Fields, ProbeError> {
        Ok(Fields(Vec::with_capacity(len)))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ProbeError> {
        compound("variant")
    }
}
