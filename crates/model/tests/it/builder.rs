//! A small ONNX model builder on the crate's public prost messages, so tests can make exactly
//! the graphs they need (and broken ones) without Python.

use omron_model::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeDimension, TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
    attribute_type as at, data_type as dt,
};
use prost::Message;

/// Deterministic weights that are exact in f32 (multiples of 1/16 in [-11/16, 11/16]), so the
/// same tensors can be rebuilt anywhere.
pub(crate) fn weights(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7 + seed * 13) % 23) as f32 / 16.0 - 11.0 / 16.0)
        .collect()
}

pub(crate) fn float_tensor(name: &str, shape: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: shape.to_vec(),
        data_type: Some(dt::FLOAT),
        raw_data: Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    }
}

pub(crate) fn int_tensor(name: &str, shape: &[i64], data: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: shape.to_vec(),
        data_type: Some(dt::INT64),
        int64_data: data.to_vec(),
        ..Default::default()
    }
}

pub(crate) fn value_info(name: &str, elem: i32, shape: &[i64]) -> ValueInfoProto {
    let dim = shape
        .iter()
        .map(|&d| {
            if d < 0 {
                TensorShapeDimension {
                    dim_param: Some("N".into()),
                    ..Default::default()
                }
            } else {
                TensorShapeDimension {
                    dim_value: Some(d),
                    ..Default::default()
                }
            }
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: Some(elem),
                shape: Some(TensorShapeProto { dim }),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: Some(at::INT),
        i: Some(v),
        ..Default::default()
    }
}

pub(crate) fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: Some(at::INTS),
        ints: v.to_vec(),
        ..Default::default()
    }
}

pub(crate) fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: Some(at::FLOAT),
        f: Some(v),
        ..Default::default()
    }
}

pub(crate) fn string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: Some(at::STRING),
        s: Some(v.as_bytes().to_vec()),
        ..Default::default()
    }
}

pub(crate) fn tensor_attr(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: Some(at::TENSOR),
        t: Some(t),
        ..Default::default()
    }
}

/// Builds a single-graph model.
#[derive(Clone)]
pub(crate) struct Builder {
    pub(crate) opset: i64,
    pub(crate) graph: GraphProto,
}

impl Builder {
    pub(crate) fn new(opset: i64) -> Builder {
        Builder {
            opset,
            graph: GraphProto {
                name: "test".into(),
                ..Default::default()
            },
        }
    }

    pub(crate) fn input(mut self, name: &str, shape: &[i64]) -> Builder {
        self.graph.input.push(value_info(name, dt::FLOAT, shape));
        self
    }

    pub(crate) fn output(mut self, name: &str) -> Builder {
        self.graph.output.push(value_info(name, dt::FLOAT, &[]));
        self
    }

    pub(crate) fn init(mut self, name: &str, shape: &[i64], data: &[f32]) -> Builder {
        self.graph.initializer.push(float_tensor(name, shape, data));
        self
    }

    /// A float initialiser filled with [`weights`].
    pub(crate) fn weight(self, name: &str, shape: &[i64], seed: usize) -> Builder {
        let n = shape.iter().product::<i64>() as usize;
        self.init(name, shape, &weights(n, seed))
    }

    pub(crate) fn init_i64(mut self, name: &str, shape: &[i64], data: &[i64]) -> Builder {
        self.graph.initializer.push(int_tensor(name, shape, data));
        self
    }

    /// A bool initialiser (scalar).
    pub(crate) fn graph_bool(mut self, name: &str, v: bool) -> Builder {
        self.graph.initializer.push(TensorProto {
            name: name.into(),
            dims: vec![],
            data_type: Some(dt::BOOL),
            raw_data: Some(vec![v as u8]),
            ..Default::default()
        });
        self
    }

    pub(crate) fn node(
        self,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) -> Builder {
        let name = format!("{op}_{}", self.graph.node.len());
        self.named(&name, op, inputs, outputs, attrs)
    }

    pub(crate) fn named(
        mut self,
        name: &str,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) -> Builder {
        self.graph.node.push(NodeProto {
            name: name.into(),
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            attribute: attrs,
            ..Default::default()
        });
        self
    }

    pub(crate) fn proto(&self) -> ModelProto {
        ModelProto {
            ir_version: Some(8),
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: Some(self.opset),
            }],
            producer_name: "omron-model tests".into(),
            graph: Some(self.graph.clone()),
            ..Default::default()
        }
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        self.proto().encode_to_vec()
    }
}
