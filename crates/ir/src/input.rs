//! What a graph input may hold, and the quantisation of real input values into it.
//!
//! Most inputs are activations: a quantised value must fit the `ACT_BITS` range like every
//! other activation. An input read only as the index operand of [`Op::Embedding`] nodes is a
//! list of token ids instead: integers that select table rows, never multiplied, rescaled or
//! looked up, so its range is the table's `[0, rows)` (GPT-2's 50257-token vocabulary does not
//! fit 16 bits). The range follows from the graph alone, so the verifying key carries nothing
//! new and every party (prover, validator, verifier) derives the same one.

use crate::{ACT_MAX, ACT_MIN, Graph, IrError, Op, TensorId};

/// The values one graph input may take once quantised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputRange {
    /// An activation: `[ACT_MIN, ACT_MAX]`.
    Activation,
    /// Token ids: whole numbers in `[0, rows)`, the rows of the smallest table they index.
    TableRows {
        /// Rows of the smallest table the input indexes.
        rows: usize,
        /// The embedding node reading that table, for error messages.
        node: String,
    },
}

impl InputRange {
    /// Whether the quantised value `q` is allowed.
    pub fn contains(&self, q: i64) -> bool {
        match self {
            InputRange::Activation => (ACT_MIN..=ACT_MAX).contains(&q),
            InputRange::TableRows { rows, .. } => usize::try_from(q).is_ok_and(|r| r < *rows),
        }
    }
}

/// The range of each graph input, in [`Graph::inputs`] order (see [`input_range`]).
pub fn input_ranges(graph: &Graph) -> Vec<InputRange> {
    graph
        .inputs
        .iter()
        .map(|&t| tensor_range(graph, t))
        .collect()
}

/// The range of graph input `index`: [`InputRange::TableRows`] for an input whose every use is
/// the index operand of an [`Op::Embedding`] (with the smallest of those tables),
/// [`InputRange::Activation`] for every other input, unused ones included. `None` if the
/// graph has no input `index`.
pub fn input_range(graph: &Graph, index: usize) -> Option<InputRange> {
    graph.inputs.get(index).map(|&t| tensor_range(graph, t))
}

fn tensor_range(graph: &Graph, input: TensorId) -> InputRange {
    let mut smallest: Option<(usize, &str)> = None;
    for node in &graph.nodes {
        for (position, &operand) in node.inputs.iter().enumerate() {
            if operand != input {
                continue;
            }
            let table = node.inputs.get(1).and_then(|&t| graph.tensors.get(t));
            match (&node.op, position, table.and_then(|t| t.shape.first())) {
                (Op::Embedding, 0, Some(&rows)) => {
                    if smallest.is_none_or(|(r, _)| rows < r) {
                        smallest = Some((rows, &node.name));
                    }
                }
                // Any other use (arithmetic, a lookup, a reshape) treats the values as
                // activations.
                _ => return InputRange::Activation,
            }
        }
    }
    match smallest {
        Some((rows, node)) => InputRange::TableRows {
            rows,
            node: node.to_string(),
        },
        None => InputRange::Activation,
    }
}

/// Quantises real values of graph input `index` to its tensor's scale (round half away from
/// zero). Values must be finite and land in the input's [`input_range`]; token ids
/// ([`InputRange::TableRows`]) must also be whole numbers, since a rounded id would silently
/// select another row. Errors name the input, the value and its position.
pub fn quantise_input(graph: &Graph, index: usize, values: &[f64]) -> Result<Vec<i64>, IrError> {
    let refuse = |detail: String| IrError::Input { index, detail };
    let (Some(&tensor), Some(range)) = (graph.inputs.get(index), input_range(graph, index)) else {
        return Err(refuse(format!(
            "the model takes {} inputs",
            graph.inputs.len()
        )));
    };
    let def = &graph.tensors[tensor];
    let factor = (1u64 << def.scale.min(62)) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if !v.is_finite() {
                return Err(refuse(format!("value {i} of '{}' is not finite", def.name)));
            }
            let scaled = v * factor;
            let q = scaled.round();
            match &range {
                InputRange::Activation if q < ACT_MIN as f64 || q > ACT_MAX as f64 => {
                    Err(refuse(format!(
                        "value {i} ({v}) of '{}' is outside the range the circuit's input scale \
                         allows (|x| < {})",
                        def.name,
                        (ACT_MAX as f64 + 1.0) / factor
                    )))
                }
                InputRange::TableRows { rows, node }
                    if q != scaled || q < 0.0 || q >= *rows as f64 =>
                {
                    Err(refuse(format!(
                        "value {i} ({v}) of '{}' is not a token id in [0, {rows}): the input \
                         indexes the {rows}-row table of embedding '{node}'",
                        def.name
                    )))
                }
                _ => Ok(q as i64),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GraphBuilder, execute};

    /// `ids` (rows 7 and 5 tables), `x` (an embedding index and an addend) and `unused`.
    fn graph() -> Graph {
        let mut g = GraphBuilder::new();
        let ids = g.input("ids", &[3], 0);
        let x = g.input("x", &[3], 0);
        let unused = g.input("unused", &[1], 0);
        let big = g.constant("big", &[7, 1], 0, (0..7).collect());
        let small = g.constant("small", &[5, 2], 0, (0..10).collect());
        let a = g.node("a", Op::Embedding, &[ids, big]).expect("a");
        let b = g.node("b", Op::Embedding, &[ids, small]).expect("b");
        let c = g.node("c", Op::Embedding, &[x, big]).expect("c");
        let d = g.node("d", Op::Add, &[x, x]).expect("d");
        let _ = unused;
        g.finish(&[a, b, c, d]).expect("valid")
    }

    #[test]
    fn ids_read_only_by_embeddings_take_the_smallest_table() {
        let ranges = input_ranges(&graph());
        assert_eq!(
            ranges,
            vec![
                InputRange::TableRows {
                    rows: 5,
                    node: "b".into()
                },
                InputRange::Activation,
                InputRange::Activation,
            ]
        );
        assert!(ranges[0].contains(0) && ranges[0].contains(4));
        assert!(!ranges[0].contains(5) && !ranges[0].contains(-1));
        assert!(ranges[1].contains(ACT_MIN) && !ranges[1].contains(ACT_MAX + 1));
    }

    /// Ids `[3]` into a 70000-row table (beyond 16 bits) and an activation `x` at scale 4.
    fn wide_vocabulary() -> Graph {
        let mut g = GraphBuilder::new();
        let ids = g.input("ids", &[3], 0);
        let x = g.input("x", &[3, 1], 4);
        let table = g.constant("wte", &[70000, 1], 4, (0..70000).map(|r| r % 97).collect());
        let e = g
            .node("embed", Op::Embedding, &[ids, table])
            .expect("embed");
        let y = g.node("y", Op::Add, &[e, x]).expect("add");
        g.finish(&[y]).expect("valid")
    }

    #[test]
    fn token_ids_beyond_sixteen_bits_quantise_up_to_the_table() {
        let g = wide_vocabulary();
        assert_eq!(
            quantise_input(&g, 0, &[0.0, 40000.0, 69999.0]),
            Ok(vec![0, 40000, 69999])
        );
        let ids = vec![1, 40000, 69999];
        let out = execute(&g, &[ids, vec![0, 0, 16]]).expect("runs");
        assert_eq!(out.outputs(&g), vec![vec![1, 40000 % 97, 69999 % 97 + 16]]);
        for bad in ["70000", "-1", "2.5", "40000.001"] {
            let v: f64 = bad.parse().expect("number");
            let e = quantise_input(&g, 0, &[1.0, v, 3.0]).expect_err(bad);
            let text = e.to_string();
            assert!(
                text.starts_with(&format!(
                    "input 0: value 1 ({bad}) of 'ids' is not a token id"
                )),
                "{text}"
            );
            assert!(
                text.contains("[0, 70000)") && text.contains("embedding 'embed'"),
                "{text}"
            );
        }
        assert!(quantise_input(&g, 0, &[f64::NAN]).is_err());
        // The activation input keeps the 16-bit check at its scale: |x| < 2048 at scale 4.
        assert_eq!(
            quantise_input(&g, 1, &[0.5, -1.25, 0.126]),
            Ok(vec![8, -20, 2])
        );
        assert!(quantise_input(&g, 1, &[-2048.0]).is_ok());
        let e = quantise_input(&g, 1, &[2048.0]).expect_err("16 bits");
        assert!(e.to_string().contains("of 'x' is outside the range"), "{e}");
        assert!(quantise_input(&g, 1, &[f64::INFINITY]).is_err());
        assert!(quantise_input(&g, 2, &[0.0]).is_err(), "no third input");
    }

    #[test]
    fn the_executor_still_refuses_ids_outside_the_table() {
        let g = graph();
        let run = |ids: Vec<i64>| execute(&g, &[ids, vec![0, 1, 6], vec![0]]);
        assert!(run(vec![4, 0, 3]).is_ok());
        let e = run(vec![0, 5, 0]).expect_err("row 5 of 5");
        assert_eq!(
            e.to_string(),
            "node 'b' (Embedding): index 5 of 'ids' at position 1 is outside [0, 5)"
        );
        assert_eq!(
            e,
            IrError::IndexOutOfRange {
                node: "b".into(),
                op: "Embedding",
                indices: "ids".into(),
                index: 5,
                position: 1,
                bound: 5,
            }
        );
    }
}
