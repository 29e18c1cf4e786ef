//! Typed access to a node's attributes. Every accessor checks the attribute's declared type, so
//! a model that puts a float where an int belongs gets a reason, not a silent default.

use std::collections::BTreeMap;

use crate::proto::{AttributeProto, attribute_type as at};
use crate::tensor::Tensor;

/// A node's attributes by name.
pub(crate) struct Attrs<'a> {
    map: BTreeMap<&'a str, &'a AttributeProto>,
}

impl<'a> Attrs<'a> {
    /// Indexes `attrs`; duplicate names or attribute references (only legal inside functions)
    /// are refused.
    pub(crate) fn new(attrs: &'a [AttributeProto]) -> Result<Attrs<'a>, String> {
        let mut map = BTreeMap::new();
        for a in attrs {
            if !a.ref_attr_name.is_empty() {
                return Err(format!(
                    "attribute '{}' refers to a function attribute",
                    a.name
                ));
            }
            if map.insert(a.name.as_str(), a).is_some() {
                return Err(format!("attribute '{}' is given twice", a.name));
            }
        }
        Ok(Attrs { map })
    }

    /// Refuses any attribute not in `known`: an attribute we do not understand may change the
    /// op's meaning, so ignoring it could silently compute something else.
    pub(crate) fn only(&self, known: &[&str]) -> Result<(), String> {
        match self.map.keys().find(|k| !known.contains(k)) {
            Some(k) => Err(format!("attribute '{k}' is not supported")),
            None => Ok(()),
        }
    }

    /// Whether the attribute is present.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    fn get(
        &self,
        name: &str,
        want: i32,
        has_value: impl Fn(&AttributeProto) -> bool,
    ) -> Result<Option<&'a AttributeProto>, String> {
        let Some(a) = self.map.get(name).copied() else {
            return Ok(None);
        };
        let declared = a.r#type.unwrap_or(at::UNDEFINED);
        // IR version 1 models carry no type tag; accept them when the value field is present.
        if declared == want || (declared == at::UNDEFINED && has_value(a)) {
            Ok(Some(a))
        } else {
            Err(format!(
                "attribute '{name}' has type {declared}, expected {want}"
            ))
        }
    }

    /// An `INT` attribute.
    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, String> {
        Ok(self
            .get(name, at::INT, |a| a.i.is_some())?
            .map(|a| a.i.unwrap_or(0)))
    }

    /// A `FLOAT` attribute.
    pub(crate) fn float(&self, name: &str) -> Result<Option<f32>, String> {
        Ok(self
            .get(name, at::FLOAT, |a| a.f.is_some())?
            .map(|a| a.f.unwrap_or(0.0)))
    }

    /// An `INTS` attribute.
    pub(crate) fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, String> {
        Ok(self
            .get(name, at::INTS, |a| !a.ints.is_empty())?
            .map(|a| a.ints.clone()))
    }

    /// A `FLOATS` attribute.
    pub(crate) fn floats(&self, name: &str) -> Result<Option<Vec<f32>>, String> {
        Ok(self
            .get(name, at::FLOATS, |a| !a.floats.is_empty())?
            .map(|a| a.floats.clone()))
    }

    /// A `STRING` attribute (lossy UTF-8).
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self
            .get(name, at::STRING, |a| a.s.is_some())?
            .map(|a| String::from_utf8_lossy(a.s.as_deref().unwrap_or_default()).into_owned()))
    }

    /// A `STRINGS` attribute (lossy UTF-8).
    pub(crate) fn strings(&self, name: &str) -> Result<Option<Vec<String>>, String> {
        Ok(self
            .get(name, at::STRINGS, |a| !a.strings.is_empty())?
            .map(|a| {
                a.strings
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            }))
    }

    /// A `TENSOR` attribute, decoded.
    pub(crate) fn tensor(&self, name: &str) -> Result<Option<Tensor>, String> {
        match self.get(name, at::TENSOR, |a| a.t.is_some())? {
            None => Ok(None),
            Some(a) => {
                let t =
                    a.t.as_ref()
                        .ok_or_else(|| format!("attribute '{name}' has no tensor"))?;
                Tensor::from_proto(t)
                    .map(Some)
                    .map_err(|e| format!("attribute '{name}': {e}"))
            }
        }
    }

    /// An `INT` attribute that must be 0 or 1.
    pub(crate) fn flag(&self, name: &str, default: bool) -> Result<bool, String> {
        match self.int(name)? {
            None => Ok(default),
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(v) => Err(format!("attribute '{name}' must be 0 or 1, got {v}")),
        }
    }

    /// An `INTS` attribute whose values must all be positive, as `usize`.
    pub(crate) fn positive_ints(&self, name: &str) -> Result<Option<Vec<usize>>, String> {
        self.ints(name)?
            .map(|v| {
                v.iter()
                    .map(|&x| {
                        usize::try_from(x)
                            .ok()
                            .filter(|&x| x > 0 && x <= 1 << 20)
                            .ok_or_else(|| format!("attribute '{name}' has invalid value {x}"))
                    })
                    .collect()
            })
            .transpose()
    }

    /// An `INTS` attribute whose values must all be non-negative, as `usize`.
    pub(crate) fn non_negative_ints(&self, name: &str) -> Result<Option<Vec<usize>>, String> {
        self.ints(name)?
            .map(|v| {
                v.iter()
                    .map(|&x| {
                        usize::try_from(x)
                            .ok()
                            .filter(|&x| x <= 1 << 20)
                            .ok_or_else(|| format!("attribute '{name}' has invalid value {x}"))
                    })
                    .collect()
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int_attr(name: &str, v: i64) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: Some(at::INT),
            i: Some(v),
            ..Default::default()
        }
    }

    #[test]
    fn typed_access_checks_the_declared_type() {
        let list = [int_attr("axis", 2)];
        let attrs = Attrs::new(&list).unwrap();
        assert_eq!(attrs.int("axis").unwrap(), Some(2));
        assert_eq!(attrs.int("missing").unwrap(), None);
        assert!(attrs.float("axis").unwrap_err().contains("expected"));
        assert!(attrs.only(&["axis"]).is_ok());
        assert!(attrs.only(&["other"]).unwrap_err().contains("'axis'"));
    }

    #[test]
    fn duplicates_and_bad_flags_are_refused() {
        let list = [int_attr("a", 1), int_attr("a", 2)];
        assert!(Attrs::new(&list).is_err());
        let list = [int_attr("transB", 3)];
        assert!(Attrs::new(&list).unwrap().flag("transB", false).is_err());
    }
}
