//! Python objects to JSON values and back, exactly: a Python `float` becomes the same `f64`
//! (no text round trip), and an `f64` comes back as the same `float`. Hashes of inputs and
//! outputs (the receipt's `input_hash`, the canonical JSON) are taken of these values, so the
//! conversion must not round.
//!
//! Accepted: `dict` (string keys), `list`, `tuple`, `str`, `int` (fits in 64 bits), `float`
//! (finite), `bool`, `None`. Anything else is an [`Error::Input`] naming where it was found.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::error::Error;

/// Nesting deeper than this is refused (JSON inputs are a few levels deep; this only stops
/// runaway recursion on self-referencing containers).
const MAX_DEPTH: usize = 64;

/// Reads a Python object as a JSON value; `what` names the argument in errors.
pub(crate) fn to_json(obj: &Bound<'_, PyAny>, what: &str) -> Result<Value, Error> {
    read(obj, what, 0)
}

fn read(obj: &Bound<'_, PyAny>, at: &str, depth: usize) -> Result<Value, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::Input(format!(
            "{at}: nested more than {MAX_DEPTH} levels deep"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: Python's bool is a subclass of int.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(Error::Input(format!(
            "{at}: integer {obj} does not fit in 64 bits"
        )));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let x = f.value();
        return Number::from_f64(x).map(Value::Number).ok_or_else(|| {
            Error::Input(format!(
                "{at}: {x} is not a finite number (JSON has no NaN or inf)"
            ))
        });
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s
            .to_cow()
            .map_err(|e| Error::Input(format!("{at}: string is not valid UTF-8: {e}")))?;
        return Ok(Value::String(text.into_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| Error::Input(format!("{at}: dict key {k} is not a string")))?
                .to_cow()
                .map_err(|e| Error::Input(format!("{at}: dict key is not valid UTF-8: {e}")))?
                .into_owned();
            let value = read(&v, &format!("{at}.{key}"), depth + 1)?;
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return seq(l.iter(), at, depth);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return seq(t.iter(), at, depth);
    }
    let type_name = obj
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string());
    Err(Error::Input(format!(
        "{at}: a {type_name} cannot be sent as JSON (use dict, list, str, int, float, bool or None)"
    )))
}

fn seq<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    at: &str,
    depth: usize,
) -> Result<Value, Error> {
    items
        .enumerate()
        .map(|(i, item)| read(&item, &format!("{at}[{i}]"), depth + 1))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// Builds the Python object of a JSON value: `dict`, `list`, `str`, `int`, `float`, `bool`, `None`.
pub(crate) fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                // Without arbitrary_precision every other number is an f64.
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}
