//! What shape inference knows about operands and results, and the checks every op's shape
//! rule shares (missing inputs, float-only operands, constant integer parameters, axes,
//! broadcasting). An op's shape rule runs at load time on declared shapes and inside the float
//! kernels on actual tensors, so a kernel never sees an operand shape its rule did not check.

use omron_ir::broadcast_shape;

use crate::tensor::{DType, MAX_TENSOR_ELEMENTS, Tensor, checked_numel};

/// Why a node cannot be handled.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Issue {
    /// The model is fine but uses something we do not support (goes to the coverage report).
    Unsupported(String),
    /// The model is inconsistent (operand shapes do not fit the op).
    Invalid(String),
}

/// An [`Issue::Invalid`] error.
pub(crate) fn invalid<T>(s: impl Into<String>) -> Result<T, Issue> {
    Err(Issue::Invalid(s.into()))
}

/// An [`Issue::Unsupported`] error.
pub(crate) fn unsupported<T>(s: impl Into<String>) -> Result<T, Issue> {
    Err(Issue::Unsupported(s.into()))
}

/// What inference knows about an operand.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Operand<'a> {
    pub(crate) shape: &'a [usize],
    pub(crate) dtype: DType,
    /// The value, when it is a constant.
    pub(crate) value: Option<&'a Tensor>,
}

impl<'a> Operand<'a> {
    /// An operand backed by a tensor.
    pub(crate) fn of(t: &'a Tensor) -> Operand<'a> {
        Operand {
            shape: &t.shape,
            dtype: t.dtype(),
            value: Some(t),
        }
    }
}

/// Shape and element type of a result.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OutInfo {
    pub(crate) shape: Vec<usize>,
    pub(crate) dtype: DType,
}

/// One result of `shape`, refused when it is too large.
pub(crate) fn out(shape: Vec<usize>, dtype: DType) -> Result<Vec<OutInfo>, Issue> {
    if checked_numel(&shape).is_none() {
        return invalid(format!(
            "result shape {shape:?} exceeds {MAX_TENSOR_ELEMENTS} elements or rank 8"
        ));
    }
    Ok(vec![OutInfo { shape, dtype }])
}

/// Normalises a possibly negative axis against `rank` (`-rank..rank`).
pub(crate) fn norm_axis(axis: i64, rank: usize) -> Result<usize, Issue> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return invalid(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    })
}

/// The integer values of a constant operand (shape, axes, pads...).
pub(crate) fn const_ints(op: Option<&Operand<'_>>, what: &str) -> Result<Option<Vec<i64>>, Issue> {
    match op {
        None => Ok(None),
        Some(o) => match o.value {
            None => unsupported(format!(
                "{what} must be a constant (it is computed at run time)"
            )),
            Some(t) => match t.as_i64() {
                Some(v) => Ok(Some(v.to_vec())),
                None => invalid(format!("{what} must be an integer tensor")),
            },
        },
    }
}

/// The integer values of an optional constant operand.
pub(crate) fn const_ints_at(
    ins: &[Option<Operand<'_>>],
    i: usize,
    what: &str,
) -> Result<Option<Vec<i64>>, Issue> {
    const_ints(optional(ins, i), what)
}

/// Operand `i`, which must be present.
pub(crate) fn need<'a, 'b>(
    ins: &'b [Option<Operand<'a>>],
    i: usize,
) -> Result<&'b Operand<'a>, Issue> {
    match ins.get(i) {
        Some(Some(o)) => Ok(o),
        _ => invalid(format!("input {i} is missing")),
    }
}

/// Operand `i`, when present.
pub(crate) fn optional<'a, 'b>(
    ins: &'b [Option<Operand<'a>>],
    i: usize,
) -> Option<&'b Operand<'a>> {
    ins.get(i).and_then(|o| o.as_ref())
}

/// Refuses integer operands where only float data is supported.
pub(crate) fn need_float(o: &Operand<'_>, what: &str) -> Result<(), Issue> {
    if o.dtype != DType::F32 {
        return unsupported(format!(
            "{what} is an integer tensor; only float data is supported"
        ));
    }
    Ok(())
}

/// Refuses an integer operand where only float data is supported.
pub(crate) fn float_operand(x: &Operand<'_>) -> Result<(), Issue> {
    need_float(x, "the input")
}

/// Broadcast shape of all present operands.
pub(crate) fn broadcast_all(ins: &[Option<Operand<'_>>]) -> Result<Vec<usize>, Issue> {
    let mut shape: Vec<usize> = Vec::new();
    for o in ins.iter().flatten() {
        shape = broadcast_shape(&shape, o.shape).ok_or_else(|| {
            Issue::Invalid(format!(
                "shapes {shape:?} and {:?} do not broadcast",
                o.shape
            ))
        })?;
    }
    Ok(shape)
}

/// Whether operand `i` is present and constant.
pub(crate) fn is_const(ins: &[Option<Operand<'_>>], i: usize) -> bool {
    ins.get(i)
        .and_then(|o| o.as_ref())
        .is_some_and(|o| o.value.is_some())
}

/// Rank of operand `i` (0 when absent).
pub(crate) fn rank(ins: &[Option<Operand<'_>>], i: usize) -> usize {
    ins.get(i)
        .and_then(|o| o.as_ref())
        .map_or(0, |o| o.shape.len())
}
