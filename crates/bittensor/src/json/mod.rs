//! JSON exactly as the Python SDK sees it: objects keep their key order, integers stay integers
//! (up to 128 bits) and floats stay floats.
//!
//! The body hash is computed over Python's `str()` of the values a pydantic model holds after
//! `json.loads`. Reproducing it needs three things `serde_json::Value` does not give without
//! workspace-wide feature flags: insertion-ordered objects (`{'b': 1, 'a': 2}` hashes differently
//! from `{'a': 2, 'b': 1}`), integers beyond 64 bits, and the int/float distinction of the
//! *text* (`1` vs `1.0`). [`JsonValue`] is that model; [`parse`] reads it, [`python_str`] prints
//! it the way CPython does, and the serde impls let typed synapses be built from it and turned
//! back into it.

mod de;
mod parse;
mod repr;

use std::fmt;

pub use de::from_value;
pub use parse::parse;
pub use repr::{python_repr, python_str};

/// Deepest nesting [`parse`] accepts (CPython's own limit is its recursion limit, about 1000;
/// a server must not let a peer choose its stack depth).
pub const MAX_DEPTH: usize = 128;

/// A JSON value with Python's distinctions preserved.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonValue {
    /// `null`, Python `None`.
    Null,
    /// `true`/`false`.
    Bool(bool),
    /// An integer literal (no fraction, no exponent).
    Int(i128),
    /// A number written with a fraction or exponent, or `NaN`/`Infinity` as Python writes them.
    Float(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<JsonValue>),
    /// An object, in the order its keys first appeared.
    Object(JsonObject),
}

/// A JSON object that remembers key order, like a Python `dict` built by `json.loads`: a
/// repeated key keeps its first position and takes the last value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonObject {
    entries: Vec<(String, JsonValue)>,
}

impl JsonObject {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key`; an existing key keeps its position (Python dict semantics).
    pub fn insert(&mut self, key: impl Into<String>, value: JsonValue) {
        let key = key.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&JsonValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Removes `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<JsonValue> {
        let at = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(at).1)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &JsonValue)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }
}

impl FromIterator<(String, JsonValue)> for JsonObject {
    fn from_iter<I: IntoIterator<Item = (String, JsonValue)>>(iter: I) -> Self {
        let mut object = Self::new();
        for (k, v) in iter {
            object.insert(k, v);
        }
        object
    }
}

impl IntoIterator for JsonObject {
    type Item = (String, JsonValue);
    type IntoIter = std::vec::IntoIter<(String, JsonValue)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl JsonValue {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&JsonObject> {
        match self {
            Self::Object(o) => Some(o),
            _ => None,
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// Compact JSON text (`","`/`":"` separators, UTF-8 kept), as FastAPI answers.
    pub fn to_json_string(&self) -> String {
        // Serialising a JsonValue cannot fail: keys are strings and there is no custom code.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Turns any serialisable value into a [`JsonValue`] (struct fields in declaration order, map
/// entries in iteration order). Non-finite floats become `null`, as serde_json writes them.
pub fn to_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsonValue, JsonError> {
    let text = serde_json::to_vec(value).map_err(|e| JsonError::Serialize(e.to_string()))?;
    parse(&text)
}

/// Why JSON could not be read or converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// The text is not JSON (the position is a byte offset).
    #[error("invalid JSON at byte {offset}: {reason}")]
    Syntax {
        /// Byte offset of the problem.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// An integer does not fit in 128 bits.
    #[error("integer at byte {offset} does not fit in 128 bits")]
    IntegerTooLarge {
        /// Byte offset of the number.
        offset: usize,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("JSON nested deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// A value does not have the shape a type expects.
    #[error("{0}")]
    Shape(String),
    /// A value could not be serialised.
    #[error("cannot serialise: {0}")]
    Serialize(String),
}

impl serde::de::Error for JsonError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Shape(msg.to_string())
    }
}

impl serde::Serialize for JsonValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_unit(),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Int(n) => match i64::try_from(*n) {
                Ok(small) => serializer.serialize_i64(small),
                Err(_) => serializer.serialize_i128(*n),
            },
            Self::Float(f) => serializer.serialize_f64(*f),
            Self::String(s) => serializer.serialize_str(s),
            Self::Array(items) => serializer.collect_seq(items),
            Self::Object(object) => object.serialize(serializer),
        }
    }
}

impl serde::Serialize for JsonObject {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.entries.iter().map(|(k, v)| (k, v)))
    }
}

impl fmt::Display for JsonValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keeps_first_position_and_last_value() {
        let mut o = JsonObject::new();
        o.insert("b", JsonValue::Int(1));
        o.insert("a", JsonValue::Int(2));
        o.insert("b", JsonValue::Int(3));
        assert_eq!(o.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(o.get("b"), Some(&JsonValue::Int(3)));
        assert_eq!(o.remove("b"), Some(JsonValue::Int(3)));
        assert_eq!(o.len(), 1);
    }

    #[test]
    fn serialises_compactly_in_order() {
        let v = parse(br#"{"b": 1, "a": [1.0, 1e-05, 170141183460469231731687303715884105727]}"#)
            .unwrap();
        assert_eq!(
            v.to_json_string(),
            r#"{"b":1,"a":[1.0,0.00001,170141183460469231731687303715884105727]}"#
        );
        // And it reads back identically.
        assert_eq!(parse(v.to_json_string().as_bytes()).unwrap(), v);
    }

    #[test]
    fn to_value_keeps_struct_order_and_number_kinds() {
        #[derive(serde::Serialize)]
        struct S {
            z: f64,
            a: u8,
        }
        let v = to_value(&S { z: 1.0, a: 1 }).unwrap();
        assert_eq!(python_repr(&v), "{'z': 1.0, 'a': 1}");
    }
}
