//! serde glue: typed values are read out of a [`JsonValue`] (keeping 128-bit integers), and
//! [`JsonValue`]/[`JsonObject`] can be fields of typed structs.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::{JsonError, JsonObject, JsonValue};

/// Builds a typed value from a [`JsonValue`], the way pydantic validates a parsed body: ints
/// are accepted where floats are expected, unknown object keys are ignored unless the type
/// says otherwise.
pub fn from_value<T: DeserializeOwned>(value: JsonValue) -> Result<T, JsonError> {
    T::deserialize(value)
}

impl<'de> de::Deserializer<'de> for JsonValue {
    type Error = JsonError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        match self {
            JsonValue::Null => visitor.visit_unit(),
            JsonValue::Bool(b) => visitor.visit_bool(b),
            JsonValue::Int(n) => {
                if let Ok(small) = i64::try_from(n) {
                    visitor.visit_i64(small)
                } else if let Ok(unsigned) = u64::try_from(n) {
                    visitor.visit_u64(unsigned)
                } else {
                    visitor.visit_i128(n)
                }
            }
            JsonValue::Float(f) => visitor.visit_f64(f),
            JsonValue::String(s) => visitor.visit_string(s),
            JsonValue::Array(items) => visitor.visit_seq(SeqDeserializer {
                iter: items.into_iter(),
            }),
            JsonValue::Object(object) => visitor.visit_map(MapDeserializer {
                iter: object.into_iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        match self {
            JsonValue::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        match self {
            JsonValue::String(variant) => visitor.visit_enum(EnumDeserializer {
                variant,
                value: None,
            }),
            JsonValue::Object(object) if object.len() == 1 => {
                let mut entries = object.into_iter();
                match entries.next() {
                    Some((variant, value)) => visitor.visit_enum(EnumDeserializer {
                        variant,
                        value: Some(value),
                    }),
                    None => Err(de::Error::custom("expected an enum")),
                }
            }
            other => Err(de::Error::invalid_type(unexpected(&other), &"an enum")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

fn unexpected(value: &JsonValue) -> de::Unexpected<'_> {
    match value {
        JsonValue::Null => de::Unexpected::Unit,
        JsonValue::Bool(b) => de::Unexpected::Bool(*b),
        JsonValue::Int(n) => match i64::try_from(*n) {
            Ok(n) => de::Unexpected::Signed(n),
            Err(_) => de::Unexpected::Other("a 128-bit integer"),
        },
        JsonValue::Float(f) => de::Unexpected::Float(*f),
        JsonValue::String(s) => de::Unexpected::Str(s),
        JsonValue::Array(_) => de::Unexpected::Seq,
        JsonValue::Object(_) => de::Unexpected::Map,
    }
}

impl IntoDeserializer<'_, JsonError> for JsonValue {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

struct SeqDeserializer {
    iter: std::vec::IntoIter<JsonValue>,
}

impl<'de> SeqAccess<'de> for SeqDeserializer {
    type Error = JsonError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, JsonError> {
        self.iter.next().map(|v| seed.deserialize(v)).transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct MapDeserializer {
    iter: std::vec::IntoIter<(String, JsonValue)>,
    value: Option<JsonValue>,
}

impl<'de> MapAccess<'de> for MapDeserializer {
    type Error = JsonError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, JsonError> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(JsonValue::String(key)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, JsonError> {
        match self.value.take() {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::custom("value requested before key")),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct EnumDeserializer {
    variant: String,
    value: Option<JsonValue>,
}

impl<'de> EnumAccess<'de> for EnumDeserializer {
    type Error = JsonError;
    type Variant = VariantDeserializer;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantDeserializer), JsonError> {
        let variant = seed.deserialize(JsonValue::String(self.variant))?;
        Ok((variant, VariantDeserializer { value: self.value }))
    }
}

struct VariantDeserializer {
    value: Option<JsonValue>,
}

impl<'de> VariantAccess<'de> for VariantDeserializer {
    type Error = JsonError;
    fn unit_variant(self) -> Result<(), JsonError> {
        match self.value {
            None | Some(JsonValue::Null) => Ok(()),
            Some(other) => Err(de::Error::invalid_type(
                unexpected(&other),
                &"a unit variant",
            )),
        }
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, JsonError> {
        match self.value {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"a newtype variant",
            )),
        }
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        match self.value {
            Some(value) => de::Deserializer::deserialize_seq(value, visitor),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"a tuple variant",
            )),
        }
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        match self.value {
            Some(value) => de::Deserializer::deserialize_map(value, visitor),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"a struct variant",
            )),
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = JsonValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<JsonValue, E> {
        Ok(JsonValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<JsonValue, E> {
        Ok(JsonValue::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<JsonValue, E> {
        Ok(JsonValue::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<JsonValue, E> {
        Ok(JsonValue::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<JsonValue, E> {
        i128::try_from(v)
            .map(JsonValue::Int)
            .map_err(|_| E::custom("integer does not fit in 128 bits"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<JsonValue, E> {
        Ok(JsonValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<JsonValue, E> {
        Ok(JsonValue::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<JsonValue, E> {
        Ok(JsonValue::String(v))
    }
    fn visit_unit<E>(self) -> Result<JsonValue, E> {
        Ok(JsonValue::Null)
    }
    fn visit_none<E>(self) -> Result<JsonValue, E> {
        Ok(JsonValue::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<JsonValue, D::Error> {
        de::Deserialize::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonValue, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(JsonValue::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonValue, A::Error> {
        let mut object = JsonObject::new();
        while let Some((key, value)) = map.next_entry::<String, JsonValue>()? {
            object.insert(key, value);
        }
        Ok(JsonValue::Object(object))
    }
}

impl<'de> de::Deserialize<'de> for JsonValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

impl<'de> de::Deserialize<'de> for JsonObject {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match JsonValue::deserialize(deserializer)? {
            JsonValue::Object(object) => Ok(object),
            other => Err(de::Error::invalid_type(
                unexpected(&other),
                &"a JSON object",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, python_repr};
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Typed {
        f: f64,
        big: i128,
        small: Option<u8>,
        raw: JsonObject,
        kind: Kind,
        #[serde(default)]
        missing: Vec<u32>,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    enum Kind {
        A,
        B(u8),
    }

    #[test]
    fn typed_values_come_out_with_pydantic_coercions() {
        let v = parse(
            br#"{"f": 1, "big": 170141183460469231731687303715884105727, "small": null,
                 "raw": {"z": 1, "a": 2.5}, "kind": "A", "extra": true}"#,
        )
        .unwrap();
        let t: Typed = from_value(v).unwrap();
        assert_eq!(t.f, 1.0);
        assert_eq!(t.big, i128::MAX);
        assert_eq!(t.small, None);
        assert_eq!(python_repr(&JsonValue::Object(t.raw)), "{'z': 1, 'a': 2.5}");
        assert_eq!(t.kind, Kind::A);
        assert!(t.missing.is_empty());
        let k: Kind = from_value(parse(br#"{"B": 7}"#).unwrap()).unwrap();
        assert_eq!(k, Kind::B(7));
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        assert!(from_value::<u8>(JsonValue::Int(300)).is_err());
        assert!(from_value::<String>(JsonValue::Int(1)).is_err());
        assert!(from_value::<JsonObject>(JsonValue::Array(vec![])).is_err());
        assert!(from_value::<Kind>(JsonValue::Int(1)).is_err());
        assert!(from_value::<Typed>(parse(br#"{"f": "x"}"#).unwrap()).is_err());
    }

    #[test]
    fn serde_json_can_read_json_values_too() {
        let v: JsonValue = serde_json::from_str(r#"{"b": 1, "a": [true, null, 2.0]}"#).unwrap();
        assert_eq!(python_repr(&v), "{'b': 1, 'a': [True, None, 2.0]}");
    }
}
