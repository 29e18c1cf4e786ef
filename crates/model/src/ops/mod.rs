//! The op families and their registry: which family parses each ONNX op type.
//!
//! Each family module holds everything about its ops: the parse from ONNX attributes, the shape
//! rule, the float reference kernel, the operand conditions for lowering and the lowering
//! itself, behind [`crate::op::OnnxOp`]. A family lists the op types it parses
//! (`OP_TYPES`) and a `parse` function; [`FAMILIES`] collects them. Patterns that span families
//! and lower as one (fused GELU, `a / sqrt(v)`) are in `fuse.rs`, listed in [`FUSIONS`].

mod fuse;
mod legacy;

use crate::attrs::Attrs;
use crate::op::{Fusion, OpRef, Parse};
use crate::proto::NodeProto;

/// A family's parser: builds the op of a node whose op type the family lists.
type ParseFn = fn(&Parse<'_>) -> Result<OpRef, String>;

/// Every op family: the ONNX op types it parses, and its parser.
const FAMILIES: &[(&[&str], ParseFn)] = &[(legacy::OP_TYPES, legacy::parse)];

/// The fusions lowering runs first, in this order.
pub(crate) const FUSIONS: &[Fusion] = &[fuse::rsqrt, fuse::gelu];

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
}
