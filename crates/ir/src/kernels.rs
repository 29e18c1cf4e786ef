//! Executor kernels of the transformer ops: the batched product of two computed tensors
//! ([`Op::BatchMatMul`]) and the embedding lookup ([`Op::Embedding`]).

use crate::{ACT_BITS, ACT_MAX, ACT_MIN, IrError, Node, Op, numel};

/// `y[.., m, n] = sum_k a[.., m, k] b[.., k, n]` for validated shapes. Every operand value must
/// lie in the activation range: that bound (with `K <=` [`crate::MAX_BATCH_MATMUL_DEPTH`]) is
/// what keeps `|y| <= 2^61`, and what the circuit relies on.
pub(crate) fn batch_matmul(
    node: &Node,
    a: &[i64],
    a_shape: &[usize],
    b: &[i64],
    b_shape: &[usize],
) -> Result<Vec<i64>, IrError> {
    if let Some(&value) = a
        .iter()
        .chain(b)
        .find(|v| !(ACT_MIN..=ACT_MAX).contains(*v))
    {
        return Err(IrError::ActivationOverflow {
            node: node.name.clone(),
            op: node.op.name(),
            value,
            bits: ACT_BITS,
        });
    }
    let r = a_shape.len();
    let batch = numel(&a_shape[..r - 2]);
    let (m, k, n) = (a_shape[r - 2], a_shape[r - 1], b_shape[r - 1]);
    let mut out = vec![0i64; batch * m * n];
    for t in 0..batch {
        let (a, b) = (
            &a[t * m * k..(t + 1) * m * k],
            &b[t * k * n..(t + 1) * k * n],
        );
        let y = &mut out[t * m * n..(t + 1) * m * n];
        for i in 0..m {
            let row = &mut y[i * n..(i + 1) * n];
            for (l, &x) in a[i * k..(i + 1) * k].iter().enumerate() {
                // |x b| <= 2^30 and at most 2^31 terms: the i64 sum cannot overflow.
                for (acc, &w) in row.iter_mut().zip(&b[l * n..(l + 1) * n]) {
                    *acc += x * w;
                }
            }
        }
    }
    Ok(out)
}

/// `y[s, d] = table[ids[s], d]`; an id outside `[0, V)` is refused, naming the index tensor
/// `ids_name` (a model input's name for token ids).
pub(crate) fn embedding(
    node: &Node,
    ids_name: &str,
    ids: &[i64],
    table: &[i64],
    table_shape: &[usize],
) -> Result<Vec<i64>, IrError> {
    let (rows, d) = (table_shape[0], table_shape[1]);
    let mut out = Vec::with_capacity(ids.len() * d);
    for (position, &id) in ids.iter().enumerate() {
        let row = usize::try_from(id)
            .ok()
            .filter(|&r| r < rows)
            .ok_or_else(|| IrError::IndexOutOfRange {
                node: node.name.clone(),
                op: Op::Embedding.name(),
                indices: ids_name.to_string(),
                index: id,
                position,
                bound: rows,
            })?;
        out.extend_from_slice(&table[row * d..(row + 1) * d]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::{
        ACT_MAX, ACT_MIN, Graph, GraphBuilder, IrError, MAX_BATCH_MATMUL_DEPTH, Op, TensorDef,
        TensorKind, execute,
    };

    /// `a @ b` as a one-node graph over two inputs.
    fn product(a: &[usize], b: &[usize]) -> Result<Graph, IrError> {
        let mut g = GraphBuilder::new();
        let x = g.input("a", a, 4);
        let y = g.input("b", b, 3);
        let p = g.node("qk", Op::BatchMatMul, &[x, y])?;
        g.finish(&[p])
    }

    #[test]
    fn batch_matmul_multiplies_each_batch_exactly() {
        let g = product(&[2, 2, 3], &[2, 3, 2]).expect("valid");
        assert_eq!(g.tensors[g.outputs[0]].shape, vec![2, 2, 2]);
        assert_eq!(g.tensors[g.outputs[0]].scale, 7);
        let a = vec![1, 2, 3, 4, 5, 6, -1, 0, 2, 7, -3, 1];
        let b = vec![1, 0, 0, 1, 1, 1, 2, -2, 5, 1, 0, 3];
        let y = execute(&g, &[a, b]).expect("runs").outputs(&g).remove(0);
        // Batch 0: [[1,2,3],[4,5,6]] x [[1,0],[0,1],[1,1]] = [[4,5],[10,11]].
        // Batch 1: [[-1,0,2],[7,-3,1]] x [[2,-2],[5,1],[0,3]] = [[-2,8],[-1,-14]].
        assert_eq!(y, vec![4, 5, 10, 11, -2, 8, -1, -14]);
    }

    #[test]
    fn batch_matmul_at_the_activation_extremes_is_exact() {
        let k = 64;
        let g = product(&[1, k], &[k, 2]).expect("valid");
        let a = vec![ACT_MIN; k];
        let b: Vec<i64> = (0..2 * k)
            .map(|i| if i % 2 == 0 { ACT_MIN } else { ACT_MAX })
            .collect();
        let y = execute(&g, &[a, b]).expect("runs").outputs(&g).remove(0);
        let k = k as i64;
        assert_eq!(y, vec![k * ACT_MIN * ACT_MIN, k * ACT_MIN * ACT_MAX]);
    }

    #[test]
    fn batch_matmul_refuses_shapes_that_do_not_fit() {
        for (a, b) in [
            (vec![2, 3], vec![4, 2]),       // K differs
            (vec![2, 2, 3], vec![3, 3, 2]), // batch differs
            (vec![3], vec![3, 2]),          // rank 1
            (vec![1, 2, 3], vec![3, 2]),    // ranks differ
        ] {
            match product(&a, &b) {
                Err(IrError::Shape { node, op, .. }) => {
                    assert_eq!((node.as_str(), op), ("qk", "BatchMatMul"), "{a:?} x {b:?}")
                }
                other => panic!("{a:?} x {b:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn batch_matmul_refuses_a_contraction_beyond_the_bound() {
        let def = |shape: Vec<usize>| TensorDef {
            name: "t".into(),
            shape,
            scale: 0,
            kind: TensorKind::Input,
        };
        let ok = Op::BatchMatMul.output_shape(
            "qk",
            &[
                &def(vec![1, MAX_BATCH_MATMUL_DEPTH]),
                &def(vec![MAX_BATCH_MATMUL_DEPTH, 1]),
            ],
        );
        assert_eq!(ok, Ok(vec![1, 1]));
        let k = MAX_BATCH_MATMUL_DEPTH + 1;
        let e = Op::BatchMatMul
            .output_shape("qk", &[&def(vec![1, k]), &def(vec![k, 1])])
            .expect_err("beyond the bound");
        assert!(e.to_string().contains("would pass 2^61"), "{e}");
    }

    #[test]
    fn batch_matmul_refuses_operands_outside_the_activation_range() {
        let g = product(&[1, 2], &[2, 1]).expect("valid");
        for (a, b, bad) in [
            (vec![ACT_MAX + 1, 0], vec![1, 1], ACT_MAX + 1),
            (vec![0, 0], vec![1, ACT_MIN - 1], ACT_MIN - 1),
        ] {
            match execute(&g, &[a, b]) {
                Err(IrError::ActivationOverflow { node, value, .. }) => {
                    assert_eq!((node.as_str(), value), ("qk", bad))
                }
                other => panic!("{other:?}"),
            }
        }
    }

    fn embedding_graph(ids_scale: u32) -> Result<Graph, IrError> {
        let mut g = GraphBuilder::new();
        let ids = g.input("ids", &[2, 3], ids_scale);
        let table = g.constant("wte", &[4, 2], 8, vec![10, 11, 20, 21, 30, 31, 40, 41]);
        let y = g.node("embed", Op::Embedding, &[ids, table])?;
        g.finish(&[y])
    }

    #[test]
    fn embedding_gathers_rows() {
        let g = embedding_graph(0).expect("valid");
        let y = g.outputs[0];
        assert_eq!(g.tensors[y].shape, vec![2, 3, 2]);
        assert_eq!(g.tensors[y].scale, 8);
        let out = execute(&g, &[vec![3, 0, 0, 1, 2, 3]]).expect("runs");
        assert_eq!(
            out.get(&g, y),
            &[40, 41, 10, 11, 10, 11, 20, 21, 30, 31, 40, 41]
        );
    }

    #[test]
    fn embedding_refuses_ids_outside_the_table() {
        let g = embedding_graph(0).expect("valid");
        for (ids, index, position) in [
            (vec![0, 1, 4, 0, 0, 0], 4, 2),
            (vec![0, 0, 0, 0, 0, -1], -1, 5),
            (vec![1 << 40, 0, 0, 0, 0, 0], 1 << 40, 0),
        ] {
            let e = execute(&g, &[ids]).expect_err("out of range");
            assert_eq!(
                e,
                IrError::IndexOutOfRange {
                    node: "embed".into(),
                    op: "Embedding",
                    indices: "ids".into(),
                    index,
                    position,
                    bound: 4,
                }
            );
            assert!(
                e.to_string().contains(&format!(
                    "index {index} of 'ids' at position {position} is outside [0, 4)"
                )),
                "{e}"
            );
        }
    }

    #[test]
    fn embedding_refuses_bad_operands() {
        assert!(matches!(
            embedding_graph(4),
            Err(IrError::Shape {
                op: "Embedding",
                ..
            })
        ));
        let mut g = GraphBuilder::new();
        let ids = g.input("ids", &[3], 0);
        let table = g.input("wte", &[4, 2], 0);
        assert!(matches!(
            g.node("embed", Op::Embedding, &[ids, table]),
            Err(IrError::NotConst { index: 1, .. })
        ));
        let flat = g.constant("flat", &[4], 0, vec![1, 2, 3, 4]);
        assert!(matches!(
            g.node("embed", Op::Embedding, &[ids, flat]),
            Err(IrError::Shape { .. })
        ));
    }
}
