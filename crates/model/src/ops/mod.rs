//! The op families and their registry: which family parses each ONNX op type.
//!
//! Each family module holds everything about its ops: the parse from ONNX attributes, the shape
//! rule, the float reference kernel, the operand conditions for lowering and the lowering
//! itself, behind [`crate::op::OnnxOp`]. A family lists the op types it parses
//! (`OP_TYPES`) and a `parse` function; [`FAMILIES`] collects them. Patterns that span families
//! and lower as one (fused GELU, `a / sqrt(v)`) are in `fuse.rs`, listed in [`FUSIONS`].

mod activation;
mod arith;
mod constant;
mod fuse;
mod linear;
mod logic;
mod masked;
mod normalise;
mod pad;
mod pool;
mod reduce;
mod reshape;
mod rnn;
mod select;
mod softmax;
mod triangle;

use crate::attrs::Attrs;
use crate::op::{Fusion, OpRef, Parse};
use crate::proto::NodeProto;

/// A family's parser: builds the op of a node whose op type the family lists.
type ParseFn = fn(&Parse<'_>) -> Result<OpRef, String>;

/// Every op family: the ONNX op types it parses, and its parser.
const FAMILIES: &[(&[&str], ParseFn)] = &[
    (activation::OP_TYPES, activation::parse),
    (arith::OP_TYPES, arith::parse),
    (constant::OP_TYPES, constant::parse),
    (linear::OP_TYPES, linear::parse),
    (logic::OP_TYPES, logic::parse),
    (normalise::OP_TYPES, normalise::parse),
    (pad::OP_TYPES, pad::parse),
    (pool::OP_TYPES, pool::parse),
    (reduce::OP_TYPES, reduce::parse),
    (reshape::OP_TYPES, reshape::parse),
    (rnn::OP_TYPES, rnn::parse),
    (select::OP_TYPES, select::parse),
    (softmax::OP_TYPES, softmax::parse),
    (triangle::OP_TYPES, triangle::parse),
];

/// The fusions lowering runs first, in this order.
pub(crate) const FUSIONS: &[Fusion] = &[fuse::rsqrt, fuse::gelu, masked::masked_softmax];

pub(crate) use masked::masked_softmaxes;

/// Parses `node` for the default-domain `opset`, or says why it is not supported.
pub(crate) fn parse(node: &NodeProto, opset: i64) -> Result<OpRef, String> {
    if !(node.domain.is_empty() || node.domain == "ai.onnx") {
        return Err(format!(
            "operator domain '{}' is not supported",
            node.domain
        ));
    }
    let attrs = Attrs::new(&node.attribute)?;
    let op_type = node.op_type.as_str();
    let Some((_, parse)) = FAMILIES.iter().find(|(types, _)| types.contains(&op_type)) else {
        return Err(match op_type {
            "TopK" => "TopK is not supported: sorting is not provable in the IR yet \
                 (ArgMax, ReduceMax and MaxPool cover k = 1)"
                .into(),
            other => format!("op '{other}' is not implemented"),
        });
    };
    parse(&Parse {
        op_type,
        attrs,
        opset,
        outputs: node.output.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{OnnxOp, run as eval};
    use crate::ops::constant::Folded;
    use crate::ops::linear::LinearOp;
    use crate::ops::pad::Pad;
    use crate::ops::reshape::{Layout, reshape_target, squeeze_shape, unsqueeze_shape};
    use crate::ops::select::{Select, slice_ranges};
    use crate::proto::{AttributeProto, attribute_type as at};
    use crate::tensor::Tensor;

    fn parsed<T: OnnxOp + Clone>(n: &NodeProto, opset: i64) -> T {
        crate::op::downcast::<T>(parse(n, opset).unwrap().as_ref())
            .unwrap()
            .clone()
    }

    fn node(op: &str, attrs: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            attribute: attrs,
            ..Default::default()
        }
    }

    fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: Some(at::INTS),
            ints: v.to_vec(),
            ..Default::default()
        }
    }

    fn f(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::f32(shape.to_vec(), v.to_vec())
    }

    #[test]
    fn every_op_type_has_one_family() {
        let mut all: Vec<&str> = FAMILIES
            .iter()
            .flat_map(|(t, _)| t.iter().copied())
            .collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "an op type is listed by two families");
        assert!(all.contains(&"Gemm") && all.contains(&"LSTM"));
    }

    #[test]
    fn defaults_follow_the_opset() {
        assert_eq!(
            parsed::<LinearOp>(&node("Gemm", vec![]), 13),
            LinearOp::Gemm {
                alpha: 1.0,
                beta: 1.0,
                trans_a: false,
                trans_b: false
            }
        );
        // Squeeze axes moved from an attribute to an input in opset 13.
        assert_eq!(
            parsed::<Layout>(&node("Squeeze", vec![ints("axes", &[0])]), 11),
            Layout::Squeeze {
                axes: Some(vec![0])
            }
        );
        assert!(parse(&node("Squeeze", vec![ints("axes", &[0])]), 13).is_err());
        assert!(parse(&node("Unsqueeze", vec![]), 9).is_err());
    }

    #[test]
    fn unknown_ops_domains_and_attributes_give_reasons() {
        assert!(
            parse(&node("Hardmax", vec![]), 13)
                .unwrap_err()
                .contains("'Hardmax'")
        );
        assert!(
            parse(&node("LSTM", vec![]), 13)
                .unwrap_err()
                .contains("hidden_size")
        );
        let mut n = node("Relu", vec![]);
        n.domain = "com.microsoft".into();
        assert!(parse(&n, 13).unwrap_err().contains("com.microsoft"));
        assert!(
            parse(&node("Relu", vec![ints("odd", &[1])]), 13)
                .unwrap_err()
                .contains("odd")
        );
        let neg = ints("strides", &[0, 1]);
        assert!(parse(&node("Conv", vec![neg]), 13).is_err());
    }

    #[test]
    fn shape_gather_concat_fold_a_flatten_target() {
        let x = f(&[2, 3, 4], &[0.0; 24]);
        let s = eval(
            &Folded::Shape {
                start: 0,
                end: None,
            },
            &[Some(&x)],
        )
        .unwrap()
        .remove(0);
        let zero = Tensor::i64(vec![], vec![0]);
        let d0 = eval(&Select::Gather { axis: 0 }, &[Some(&s), Some(&zero)])
            .unwrap()
            .remove(0);
        assert_eq!(d0, Tensor::i64(vec![], vec![2]));
        let u = eval(
            &Layout::Unsqueeze {
                axes: Some(vec![0]),
            },
            &[Some(&d0)],
        )
        .unwrap()
        .remove(0);
        let m1 = Tensor::i64(vec![1], vec![-1]);
        let target = eval(&Select::Concat { axis: 0 }, &[Some(&u), Some(&m1)])
            .unwrap()
            .remove(0);
        assert_eq!(target, Tensor::i64(vec![2], vec![2, -1]));
        let y = eval(
            &Layout::Reshape { allowzero: false },
            &[Some(&x), Some(&target)],
        )
        .unwrap();
        assert_eq!(y[0].shape, vec![2, 12]);
    }

    #[test]
    fn transpose_slice_and_pad_move_the_right_elements() {
        let x = Tensor::i64(vec![2, 3], vec![1, 2, 3, 4, 5, 6]);
        let t = eval(&Layout::Transpose { perm: None }, &[Some(&x)])
            .unwrap()
            .remove(0);
        assert_eq!(t, Tensor::i64(vec![3, 2], vec![1, 4, 2, 5, 3, 6]));
        let s = eval(
            &Select::Slice {
                attrs: Some((vec![1], vec![3], Some(vec![1]))),
            },
            &[Some(&x)],
        )
        .unwrap()
        .remove(0);
        assert_eq!(s, Tensor::i64(vec![2, 2], vec![2, 3, 5, 6]));
        let p = eval(
            &Pad::Pad {
                pads: Some(vec![0, 1, 0, 0]),
                value: 9.0,
            },
            &[Some(&x)],
        )
        .unwrap()
        .remove(0);
        assert_eq!(p, Tensor::i64(vec![2, 4], vec![9, 1, 2, 3, 9, 4, 5, 6]));
    }

    #[test]
    fn squeeze_unsqueeze_and_slice() {
        assert_eq!(squeeze_shape(&[1, 3, 1], None).unwrap(), vec![3]);
        assert_eq!(squeeze_shape(&[1, 3, 1], Some(&[-1])).unwrap(), vec![1, 3]);
        assert!(squeeze_shape(&[1, 3], Some(&[1])).is_err());
        assert_eq!(unsqueeze_shape(&[3], &[0, -1]).unwrap(), vec![1, 3, 1]);
        let r = slice_ranges(&[5, 4], &[-1], &[i64::MAX], Some(&[0]), None).unwrap();
        assert_eq!(r, vec![(4, 1, 1), (0, 1, 4)]);
        let r = slice_ranges(&[5], &[4], &[i64::MIN], None, Some(&[-2])).unwrap();
        assert_eq!(r, vec![(4, -2, 3)]);
        // Extreme steps and targets neither overflow nor panic.
        let r = slice_ranges(&[5], &[0], &[5], None, Some(&[i64::MAX])).unwrap();
        assert_eq!(r, vec![(0, i64::MAX, 1)]);
        let r = slice_ranges(&[5], &[4], &[-9], None, Some(&[i64::MIN])).unwrap();
        assert_eq!(r, vec![(4, i64::MIN, 1)]);
        assert!(reshape_target(&[4], &[1 << 40, 1 << 40, -1], false).is_err());
        assert!(reshape_target(&[4], &[1 << 62, 1 << 62], false).is_err());
    }
}
