//! Model inputs in the EZKL JSON form: `{"input_data": [[x0, x1, ...], ...]}`, one list per
//! model input, flattened row-major. A list may also be nested (it is flattened row-major);
//! other top-level keys (EZKL's `output_data`, ...) are ignored.

use serde_json::Value;
use thiserror::Error;

/// Why an input file is unusable.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InputDataError {
    /// Not JSON at all.
    #[error("input is not valid JSON: {0}")]
    Json(String),
    /// JSON without the `input_data` list.
    #[error(
        "input JSON has no \"input_data\" list of lists (expected {{\"input_data\": [[...]]}})"
    )]
    MissingInputData,
    /// An entry of `input_data` is not a list.
    #[error("input_data[{index}] is not a list of numbers")]
    NotAList {
        /// Which model input.
        index: usize,
    },
    /// A value is not a number.
    #[error("input_data[{index}] element {position} is not a number: {found}")]
    NotANumber {
        /// Which model input.
        index: usize,
        /// Position in the flattened list.
        position: usize,
        /// The JSON found, abbreviated.
        found: String,
    },
    /// A number is outside the `f32` range.
    #[error("input_data[{index}] element {position} ({value}) does not fit a 32-bit float")]
    OutOfRange {
        /// Which model input.
        index: usize,
        /// Position in the flattened list.
        position: usize,
        /// The value.
        value: String,
    },
    /// Wrong number of input lists.
    #[error("input_data has {actual} lists, the model takes {expected} inputs")]
    Count {
        /// Number of model inputs.
        expected: usize,
        /// Number of lists given.
        actual: usize,
    },
    /// Wrong number of values for an input.
    #[error("input_data[{index}] has {actual} values, the model input needs {expected}")]
    Length {
        /// Which model input.
        index: usize,
        /// Elements the input's shape holds.
        expected: usize,
        /// Values given.
        actual: usize,
    },
}

/// Parsed model inputs: one flattened vector per model input.
#[derive(Clone, Debug, PartialEq)]
pub struct InputData {
    /// Values per input, row-major.
    pub inputs: Vec<Vec<f32>>,
}

impl InputData {
    /// Parses the EZKL form.
    pub fn from_json(bytes: &[u8]) -> Result<InputData, InputDataError> {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| InputDataError::Json(e.to_string()))?;
        let lists = v
            .get("input_data")
            .and_then(Value::as_array)
            .ok_or(InputDataError::MissingInputData)?;
        let mut inputs = Vec::with_capacity(lists.len());
        for (index, list) in lists.iter().enumerate() {
            if !list.is_array() {
                return Err(InputDataError::NotAList { index });
            }
            let mut out = Vec::new();
            flatten(list, index, &mut out)?;
            inputs.push(out);
        }
        Ok(InputData { inputs })
    }

    /// Checks the number of inputs and the number of values of each against `shapes`.
    pub fn check_shapes(&self, shapes: &[Vec<usize>]) -> Result<(), InputDataError> {
        if self.inputs.len() != shapes.len() {
            return Err(InputDataError::Count {
                expected: shapes.len(),
                actual: self.inputs.len(),
            });
        }
        for (index, (x, s)) in self.inputs.iter().zip(shapes).enumerate() {
            let expected: usize = s.iter().product();
            if x.len() != expected {
                return Err(InputDataError::Length {
                    index,
                    expected,
                    actual: x.len(),
                });
            }
        }
        Ok(())
    }

    /// Writes the EZKL form.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "input_data": self.inputs }).to_string()
    }
}

fn flatten(v: &Value, index: usize, out: &mut Vec<f32>) -> Result<(), InputDataError> {
    match v {
        Value::Array(items) => items.iter().try_for_each(|i| flatten(i, index, out)),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            let f = x as f32;
            if !f.is_finite() {
                return Err(InputDataError::OutOfRange {
                    index,
                    position: out.len(),
                    value: n.to_string(),
                });
            }
            out.push(f);
            Ok(())
        }
        other => {
            let mut found = other.to_string();
            found.truncate(40);
            Err(InputDataError::NotANumber {
                index,
                position: out.len(),
                found,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ezkl_form_and_round_trips() {
        let d = InputData::from_json(br#"{"input_data": [[0.5, -1, 2e-3]], "output_data": [[1]]}"#)
            .unwrap();
        assert_eq!(d.inputs, vec![vec![0.5, -1.0, 0.002]]);
        assert_eq!(InputData::from_json(d.to_json().as_bytes()).unwrap(), d);
        let nested = InputData::from_json(br#"{"input_data": [[[1, 2], [3, 4]], [5]]}"#).unwrap();
        assert_eq!(nested.inputs, vec![vec![1.0, 2.0, 3.0, 4.0], vec![5.0]]);
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(matches!(
            InputData::from_json(b"{"),
            Err(InputDataError::Json(_))
        ));
        assert_eq!(
            InputData::from_json(b"{\"x\": 1}"),
            Err(InputDataError::MissingInputData)
        );
        assert_eq!(
            InputData::from_json(br#"{"input_data": [1]}"#),
            Err(InputDataError::NotAList { index: 0 })
        );
        assert_eq!(
            InputData::from_json(br#"{"input_data": [[1, "a"]]}"#),
            Err(InputDataError::NotANumber {
                index: 0,
                position: 1,
                found: "\"a\"".into()
            })
        );
        assert!(matches!(
            InputData::from_json(br#"{"input_data": [[1e300]]}"#),
            Err(InputDataError::OutOfRange {
                index: 0,
                position: 0,
                ..
            })
        ));
        let d = InputData {
            inputs: vec![vec![1.0; 3]],
        };
        assert_eq!(
            d.check_shapes(&[vec![1, 3], vec![2]]),
            Err(InputDataError::Count {
                expected: 2,
                actual: 1
            })
        );
        assert_eq!(
            d.check_shapes(&[vec![1, 4]]),
            Err(InputDataError::Length {
                index: 0,
                expected: 4,
                actual: 3
            })
        );
        assert!(d.check_shapes(&[vec![3]]).is_ok());
    }
}
