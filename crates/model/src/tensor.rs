//! Float and integer tensors of the float graph, and their decoding from `TensorProto`.
//!
//! Every ONNX element type collapses into one of two representations: floating point types
//! become `f32` (the precision ONNX models compute in), integer and boolean types become `i64`
//! (shape arithmetic). That is all the v1 ops need, and it keeps every kernel to two cases.

use crate::proto::{TensorProto, data_type};

/// Largest number of elements any tensor may have (constant, folded or computed): 2^27, i.e.
/// 512 MiB of `f32`. Larger tensors are refused before anything is allocated, so a small file
/// cannot make the loader allocate without bound (e.g. `ConstantOfShape([1e12])`).
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 27;

/// Largest rank any tensor may have.
pub const MAX_RANK: usize = 8;

/// Element count of `shape`, or `None` if it overflows or exceeds [`MAX_TENSOR_ELEMENTS`].
pub(crate) fn checked_numel(shape: &[usize]) -> Option<usize> {
    if shape.len() > MAX_RANK {
        return None;
    }
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_TENSOR_ELEMENTS)
}

/// The element representation of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DType {
    /// Any floating point type, held as `f32`.
    F32,
    /// Any integer or boolean type, held as `i64`.
    I64,
}

impl DType {
    /// The representation of an ONNX element type, if we handle it.
    pub(crate) fn from_onnx(t: i32) -> Option<DType> {
        use data_type::*;
        match t {
            FLOAT | DOUBLE | FLOAT16 | BFLOAT16 => Some(DType::F32),
            INT64 | INT32 | INT16 | INT8 | UINT8 | UINT16 | UINT32 | UINT64 | BOOL => {
                Some(DType::I64)
            }
            _ => None,
        }
    }
}

/// Tensor elements, row-major.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Data {
    /// Floating point values.
    F32(Vec<f32>),
    /// Integer or boolean values.
    I64(Vec<i64>),
}

/// A dense tensor.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tensor {
    /// Dimensions; `[]` is a scalar.
    pub(crate) shape: Vec<usize>,
    /// Elements, `numel(shape)` of them.
    pub(crate) data: Data,
}

impl Tensor {
    /// A float tensor. `data.len()` must equal the element count of `shape`.
    pub(crate) fn f32(shape: Vec<usize>, data: Vec<f32>) -> Tensor {
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        Tensor {
            shape,
            data: Data::F32(data),
        }
    }

    /// An integer tensor. `data.len()` must equal the element count of `shape`.
    pub(crate) fn i64(shape: Vec<usize>, data: Vec<i64>) -> Tensor {
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        Tensor {
            shape,
            data: Data::I64(data),
        }
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        match &self.data {
            Data::F32(v) => v.len(),
            Data::I64(v) => v.len(),
        }
    }

    /// The representation.
    pub(crate) fn dtype(&self) -> DType {
        match self.data {
            Data::F32(_) => DType::F32,
            Data::I64(_) => DType::I64,
        }
    }

    /// The float elements, if this is a float tensor.
    pub(crate) fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            Data::F32(v) => Some(v),
            Data::I64(_) => None,
        }
    }

    /// The integer elements, if this is an integer tensor.
    pub(crate) fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            Data::I64(v) => Some(v),
            Data::F32(_) => None,
        }
    }

    /// The elements as floats (integers converted).
    pub(crate) fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            Data::F32(v) => v.clone(),
            Data::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// Decodes an ONNX tensor. Refuses external or segmented data, unknown element types,
    /// negative or overflowing dimensions, and data whose length does not match the shape.
    pub(crate) fn from_proto(p: &TensorProto) -> Result<Tensor, String> {
        if p.data_location == Some(1) || !p.external_data.is_empty() {
            return Err(
                "its data is stored in an external file, which is not supported; \
                        re-export the model with the weights inside the .onnx file"
                    .into(),
            );
        }
        if p.segment.is_some() {
            return Err("segmented tensors are not supported".into());
        }
        let mut shape = Vec::with_capacity(p.dims.len());
        for &d in &p.dims {
            let d = usize::try_from(d).map_err(|_| format!("dimension {d} is negative"))?;
            shape.push(d);
        }
        let n = checked_numel(&shape).ok_or_else(|| {
            format!(
                "shape {shape:?} has more than {MAX_TENSOR_ELEMENTS} elements or rank over \
                 {MAX_RANK}"
            )
        })?;
        let t = p.data_type.unwrap_or(data_type::UNDEFINED);
        let raw = p.raw_data.as_deref();
        let data = decode_data(p, t, raw, n)?;
        let len = match &data {
            Data::F32(v) => v.len(),
            Data::I64(v) => v.len(),
        };
        if len != n {
            return Err(format!(
                "shape {shape:?} needs {n} values, the tensor holds {len}"
            ));
        }
        Ok(Tensor { shape, data })
    }
}

/// Reads `n` fixed-width little-endian elements of `width` bytes from `raw`.
fn raw_chunks(raw: &[u8], width: usize, n: usize, type_name: &str) -> Result<Vec<u64>, String> {
    if Some(raw.len()) != n.checked_mul(width) {
        return Err(format!(
            "raw_data holds {} bytes, {n} {type_name} values need {}",
            raw.len(),
            n.saturating_mul(width)
        ));
    }
    Ok(raw
        .chunks_exact(width)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..width].copy_from_slice(c);
            u64::from_le_bytes(b)
        })
        .collect())
}

fn decode_data(p: &TensorProto, t: i32, raw: Option<&[u8]>, n: usize) -> Result<Data, String> {
    use data_type::*;
    let name = data_type::name(t);
    let width = match t {
        FLOAT | INT32 | UINT32 => 4,
        DOUBLE | INT64 | UINT64 => 8,
        FLOAT16 | BFLOAT16 | INT16 | UINT16 => 2,
        INT8 | UINT8 | BOOL => 1,
        _ => return Err(format!("element type {name} ({t}) is not supported")),
    };
    if let Some(raw) = raw {
        let words = raw_chunks(raw, width, n, name)?;
        return Ok(match t {
            FLOAT => Data::F32(words.iter().map(|&w| f32::from_bits(w as u32)).collect()),
            DOUBLE => Data::F32(words.iter().map(|&w| f64::from_bits(w) as f32).collect()),
            FLOAT16 => Data::F32(words.iter().map(|&w| f16_to_f32(w as u16)).collect()),
            BFLOAT16 => Data::F32(
                words
                    .iter()
                    .map(|&w| f32::from_bits((w as u32) << 16))
                    .collect(),
            ),
            INT64 => Data::I64(words.iter().map(|&w| w as i64).collect()),
            UINT64 => Data::I64(
                words
                    .iter()
                    .map(|&w| u64_to_i64(w))
                    .collect::<Result<_, _>>()?,
            ),
            INT32 => Data::I64(words.iter().map(|&w| w as u32 as i32 as i64).collect()),
            UINT32 => Data::I64(words.iter().map(|&w| w as i64).collect()),
            INT16 => Data::I64(words.iter().map(|&w| w as u16 as i16 as i64).collect()),
            UINT16 => Data::I64(words.iter().map(|&w| w as i64).collect()),
            INT8 => Data::I64(words.iter().map(|&w| w as u8 as i8 as i64).collect()),
            _ => Data::I64(words.iter().map(|&w| w as i64).collect()), // UINT8, BOOL
        });
    }
    if n == 0 {
        return Ok(match DType::from_onnx(t) {
            Some(DType::F32) => Data::F32(Vec::new()),
            _ => Data::I64(Vec::new()),
        });
    }
    Ok(match t {
        FLOAT => Data::F32(p.float_data.clone()),
        DOUBLE => Data::F32(p.double_data.iter().map(|&x| x as f32).collect()),
        FLOAT16 => Data::F32(p.int32_data.iter().map(|&x| f16_to_f32(x as u16)).collect()),
        BFLOAT16 => Data::F32(
            p.int32_data
                .iter()
                .map(|&x| f32::from_bits((x as u32) << 16))
                .collect(),
        ),
        INT64 => Data::I64(p.int64_data.clone()),
        UINT32 | UINT64 => Data::I64(
            p.uint64_data
                .iter()
                .map(|&w| u64_to_i64(w))
                .collect::<Result<_, _>>()?,
        ),
        _ => Data::I64(p.int32_data.iter().map(|&x| x as i64).collect()),
    })
}

fn u64_to_i64(w: u64) -> Result<i64, String> {
    i64::try_from(w).map_err(|_| format!("uint64 value {w} does not fit in int64"))
}

/// IEEE 754 binary16 to binary32 (exact: every half is a float).
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if frac == 0 => sign,
        0 => {
            // Subnormal half: value = frac * 2^-24; renormalise into a float.
            let mut e: i32 = -14;
            let mut f = frac;
            while f & 0x400 == 0 {
                f <<= 1;
                e -= 1;
            }
            sign | (((e + 127) as u32) << 23) | ((f & 0x3ff) << 13)
        }
        0x1f => sign | 0x7f80_0000 | (frac << 13),
        _ => sign | ((exp + 112) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(dims: &[i64], t: i32) -> TensorProto {
        TensorProto {
            dims: dims.to_vec(),
            data_type: Some(t),
            ..Default::default()
        }
    }

    #[test]
    fn raw_floats_decode_little_endian() {
        let mut p = proto(&[2], data_type::FLOAT);
        p.raw_data = Some([1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat());
        assert_eq!(
            Tensor::from_proto(&p).unwrap(),
            Tensor::f32(vec![2], vec![1.5, -2.0])
        );
    }

    #[test]
    fn typed_fields_decode() {
        let mut p = proto(&[3], data_type::INT64);
        p.int64_data = vec![1, -2, 3];
        assert_eq!(
            Tensor::from_proto(&p).unwrap(),
            Tensor::i64(vec![3], vec![1, -2, 3])
        );
        let mut p = proto(&[], data_type::DOUBLE);
        p.double_data = vec![0.25];
        assert_eq!(
            Tensor::from_proto(&p).unwrap(),
            Tensor::f32(vec![], vec![0.25])
        );
        let mut p = proto(&[2], data_type::INT8);
        p.raw_data = Some(vec![0xff, 0x7f]);
        assert_eq!(
            Tensor::from_proto(&p).unwrap(),
            Tensor::i64(vec![2], vec![-1, 127])
        );
    }

    #[test]
    fn bad_tensors_are_refused_with_reasons() {
        let mut p = proto(&[3], data_type::FLOAT);
        p.raw_data = Some(vec![0; 8]);
        assert!(
            Tensor::from_proto(&p)
                .unwrap_err()
                .contains("raw_data holds 8 bytes")
        );
        let p = proto(&[-1], data_type::FLOAT);
        assert!(Tensor::from_proto(&p).unwrap_err().contains("negative"));
        let p = proto(&[1 << 40, 1 << 40], data_type::FLOAT);
        assert!(Tensor::from_proto(&p).unwrap_err().contains("more than"));
        let mut p = proto(&[2], data_type::FLOAT);
        p.float_data = vec![1.0];
        assert!(
            Tensor::from_proto(&p)
                .unwrap_err()
                .contains("needs 2 values")
        );
        let p = proto(&[1], data_type::STRING);
        assert!(Tensor::from_proto(&p).unwrap_err().contains("string"));
        let mut p = proto(&[1], data_type::FLOAT);
        p.data_location = Some(1);
        assert!(Tensor::from_proto(&p).unwrap_err().contains("external"));
    }

    #[test]
    fn half_precision_converts_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c00).is_infinite());
    }
}
