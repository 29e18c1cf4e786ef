//! What the proof of a graph consists of, derived deterministically from the graph alone, so the
//! prover and the verifier agree on every shape without the proof saying anything about them.
//!
//! Each tensor gets a [`Role`]: public (model inputs, constants, model outputs), committed (held
//! in the one multilinear commitment and opened at the end) or virtual (never materialised:
//! claims about it are reduced to claims about its operands by its producer's relation). Rounding
//! ([`omron_ir::Op::Rescale`]) and lookups need committed values; linear ops stay virtual.

use omron_ir::{
    ACT_MAX, ACT_MIN, DIV_DENOMINATOR_BOUND, DIV_QUOTIENT_BOUND, ExactFn, Graph, LookupFn,
    LookupKind, Op, TensorKind, VALUE_BOUND,
};

use crate::CircuitError;
use crate::layout::Layout;

/// Index of a tensor in the plan: the graph's tensors first, then auxiliary tensors.
pub type TensorRef = usize;

/// How a tensor enters the proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Model input number `i` (public).
    Input(usize),
    /// A constant of the graph (public, part of the verifying key).
    Const,
    /// Model output number `i` (public, carried in the proof).
    Output(usize),
    /// Held in the commitment.
    Committed,
    /// Reduced through its producer; never committed.
    Virtual,
}

impl Role {
    /// Whether the verifier knows the values itself.
    pub fn is_public(self) -> bool {
        matches!(self, Role::Input(_) | Role::Const | Role::Output(_))
    }
}

/// A tensor of the plan.
#[derive(Debug, Clone)]
pub struct TensorPlan {
    /// Name for errors.
    pub name: String,
    /// Position on the hypercube.
    pub layout: Layout,
    /// Role in the proof.
    pub role: Role,
}

/// A lookup table. Tables are never materialised: the lookup argument's table side is summed
/// by the verifier over the rows the prover declares, so their size costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableSpec {
    /// The integers `lo .. hi` (single column): a range check.
    Range {
        /// Smallest member.
        lo: i64,
        /// One past the largest member.
        hi: i64,
    },
    /// Pairs `(x, f(x))` over the activation range.
    Function(LookupFn),
    /// Pairs `(x, f(x))` of an exact integer function over `lo .. hi`.
    Exact {
        /// The function.
        f: ExactFn,
        /// Smallest input.
        lo: i64,
        /// One past the largest input.
        hi: i64,
    },
}

impl TableSpec {
    /// The activation range `ACT_MIN ..= ACT_MAX` as a range table.
    pub const ACTIVATION: TableSpec = TableSpec::Range {
        lo: ACT_MIN,
        hi: ACT_MAX + 1,
    };

    fn bounds(&self) -> (i64, i64) {
        match *self {
            TableSpec::Range { lo, hi } | TableSpec::Exact { lo, hi, .. } => (lo, hi),
            TableSpec::Function(_) => (ACT_MIN, ACT_MAX + 1),
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> u64 {
        let (lo, hi) = self.bounds();
        (hi as i128 - lo as i128) as u64
    }

    /// The row holding input `x`, if any.
    pub fn row_of(&self, x: i64) -> Option<u64> {
        let (lo, hi) = self.bounds();
        (lo..hi)
            .contains(&x)
            .then(|| (x as i128 - lo as i128) as u64)
    }

    /// The columns of row `row`: the input and, for function tables, the output.
    pub fn row_values(&self, row: u64) -> (i64, Option<i64>) {
        let (lo, _) = self.bounds();
        let x = (lo as i128 + row as i128) as i64;
        match self {
            TableSpec::Range { .. } => (x, None),
            TableSpec::Function(f) => (x, Some(f.eval(x))),
            // Inputs outside the function's own domain pair with a value no honest lookup uses.
            TableSpec::Exact { f, .. } => (x, Some(f.eval(x).unwrap_or(i64::MIN))),
        }
    }

    /// The same table under the one name all tables with its rows share, so that lookups
    /// into equal tables (e.g. the `Relu` of every layer, whatever its scale, and the `Relu`
    /// of every `Max`) are one table: fewer declared rows to send and for the verifier to sum.
    /// `Relu`, `Abs` and `Clip` with equal input and output scales are exact integer functions
    /// that ignore the scale ([`LookupFn::eval`]); a test checks that over the whole range.
    pub fn canonical(self) -> TableSpec {
        match self {
            TableSpec::Function(f)
                if f.in_scale == f.out_scale
                    && matches!(
                        f.kind,
                        LookupKind::Relu | LookupKind::Abs | LookupKind::Clip { .. }
                    ) =>
            {
                TableSpec::Function(LookupFn {
                    kind: f.kind,
                    in_scale: 0,
                    out_scale: 0,
                })
            }
            other => other,
        }
    }

    /// A name for reports.
    pub fn name(&self) -> String {
        match self {
            TableSpec::Range { lo, hi } => format!("range[{lo},{hi})"),
            TableSpec::Function(f) => format!("{}[{}->{}]", f.kind.name(), f.in_scale, f.out_scale),
            TableSpec::Exact { f, lo, hi } => format!("{}[{lo},{hi})", f.name()),
        }
    }
}

/// A looked-up column: `sum_t coeff_t * t` (each term broadcast to the column's shape) plus a
/// constant on real positions. Affine columns let a lookup range-check a value that is never
/// committed itself, e.g. the remainder `x + c - d q` of a division by a constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupColumn {
    /// The column's shape (its layout).
    pub shape: Vec<usize>,
    /// Terms `(tensor, coefficient)`.
    pub terms: Vec<(TensorRef, i64)>,
    /// Added to every real element.
    pub constant: i64,
}

impl LookupColumn {
    /// The column of one tensor.
    pub fn tensor(t: TensorRef, shape: &[usize]) -> LookupColumn {
        LookupColumn {
            shape: shape.to_vec(),
            terms: vec![(t, 1)],
            constant: 0,
        }
    }
}

/// One lookup: every element of `input` (paired with `output` for function tables) is a row of
/// table `table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupInstance {
    /// Index into [`Plan::tables`].
    pub table: usize,
    /// The looked-up column.
    pub input: LookupColumn,
    /// The function value column, for function tables (a committed or public tensor).
    pub output: Option<TensorRef>,
}

/// A committed tensor's place in the commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// The tensor.
    pub tensor: TensorRef,
    /// Offset in the committed vector; a multiple of the tensor's padded length.
    pub offset: usize,
}

/// The auxiliary tensors a node's relation commits to (all shaped like the node's output).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeAux {
    /// Division remainder (`Div`, `IntDiv`; constant divisions range-check `x + c - d q` as an
    /// affine lookup column instead).
    pub remainder: Option<TensorRef>,
    /// `relu(a - b)` (`Max`, `Min`; `a - b` itself is an affine lookup column).
    pub relu: Option<TensorRef>,
    /// `b - 1 - remainder`, proving the remainder is below the denominator (`Div`).
    pub slack: Option<TensorRef>,
}

/// How a division by a constant rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConstDivision {
    /// The divisor.
    pub(crate) divisor: u64,
    /// `floor(divisor / 2)` for rounding divisions, 0 for floor divisions.
    pub(crate) offset: u64,
}

/// The division a node performs by a constant, if any.
pub(crate) fn const_division(op: &Op) -> Option<ConstDivision> {
    match *op {
        Op::Rescale { shift } => {
            let divisor = 1u64 << shift;
            Some(ConstDivision {
                divisor,
                offset: divisor / 2,
            })
        }
        Op::DivRound { divisor } => Some(ConstDivision {
            divisor,
            offset: divisor / 2,
        }),
        Op::DivFloor { divisor } => Some(ConstDivision { divisor, offset: 0 }),
        _ => None,
    }
}

/// The range every output of `op` must lie in, for ops whose outputs are committed values
/// that the relation alone does not pin down (quotients).
pub(crate) fn output_range(op: &Op) -> Option<(i64, i64)> {
    match op {
        Op::Rescale { .. } | Op::DivRound { .. } => Some((ACT_MIN, ACT_MAX + 1)),
        Op::DivFloor { divisor } => {
            let bound = VALUE_BOUND / *divisor as i64 + 1;
            Some((-bound, bound + 1))
        }
        Op::Div { .. } => Some((-DIV_QUOTIENT_BOUND + 1, DIV_QUOTIENT_BOUND)),
        Op::IntDiv { quot_bits, .. } => Some((-(1i64 << quot_bits) + 1, 1i64 << quot_bits)),
        _ => None,
    }
}

/// For `Div` and `IntDiv`: the denominator's exclusive bound and the numerator's magnitude
/// bound (after the shift). With `|q| < Q`, `b, r < B` and `|num| < N`, `N + B + Q B` stays
/// below `p` ([`check_no_wrap`] checks it), so `num = q b + r` cannot wrap around the field.
pub(crate) fn division_bounds(op: &Op) -> (i64, i64) {
    match *op {
        Op::Div { shift } => (DIV_DENOMINATOR_BOUND, VALUE_BOUND >> shift),
        Op::IntDiv { den_bits, .. } => (1i64 << den_bits, 1i64 << 61),
        _ => (1, 1),
    }
}

/// The Goldilocks modulus, widened for the no-wrap arithmetic below.
const P: i128 = omron_zk::field::P as i128;

/// Checks that no identity `node`'s relation or lookups check in the field can wrap around it,
/// so that each field identity is the integer identity the op defines. Values are below
/// `B = 2^62` in magnitude (the executor checks every computed value, [`Graph::validate`] every
/// constant, the proof's inputs are the verifier's own).
///
/// * Division by a constant `d` (`Rescale`, `DivRound`, `DivFloor`): the lookup checks
///   `x + c - d q' ∈ [0, d)` modulo `p` for the committed quotient `q'`, which its own range
///   check puts in `[lo, hi)`. The integer `x + c - d q'` lies in
///   `[-(B - 1) + c - d (hi - 1), B - 1 + c - d lo]`; if that span avoids `[k p, k p + d)` for
///   every `k != 0`, i.e. it starts at or above `-p + d` and ends at or below `p - 1`, the
///   residue is in `[0, d)` only for the true remainder, so `q' = q`.
/// * Division by a tensor (`Div`, `IntDiv`): `num - r = q b` is checked at a random point;
///   with `|num| < N`, `0 <= r < D`, `1 <= b < D` and `q` in its range,
///   `|num - r - q b| <= N - 1 + D - 1 + max|q| (D - 1)` must stay below `p`.
/// * `Max`/`Min`: the column `a - b` is looked up in the activation range; `|a - b| < 2B` and
///   `2 (B - 1) + 2^15 < p` keep a wrapped difference out of that range.
pub(crate) fn check_no_wrap(node: &omron_ir::Node) -> Result<(), CircuitError> {
    const B: i128 = VALUE_BOUND as i128;
    let refuse = |reason: String| {
        Err(CircuitError::Unsupported {
            node: node.name.clone(),
            op: node.op.name().into(),
            reason,
        })
    };
    if let (Some(div), Some((lo, hi))) = (const_division(&node.op), output_range(&node.op)) {
        let (d, c) = (div.divisor as i128, div.offset as i128);
        let (lo, hi) = (lo as i128, hi as i128);
        let low = -(B - 1) + c - d * (hi - 1);
        let high = B - 1 + c - d * lo;
        if low < -P + d || high > P - 1 {
            return refuse(format!(
                "divisor {d}: with |x| < 2^62 and the quotient in [{lo}, {hi}) the remainder \
                 x + c - d q spans [{low}, {high}], which reaches a multiple of p, so a wrong \
                 quotient could pass the remainder range check modulo the field (the no-wrap \
                 bound of a division by a constant)"
            ));
        }
    }
    if matches!(node.op, Op::Div { .. } | Op::IntDiv { .. })
        && let Some((lo, hi)) = output_range(&node.op)
    {
        let (den, num) = division_bounds(&node.op);
        let q = (lo as i128).abs().max(hi as i128 - 1);
        let span = num as i128 - 1 + den as i128 - 1 + q * (den as i128 - 1);
        if span >= P {
            return refuse(format!(
                "the identity num - r = q b can reach {span} in magnitude, beyond the field"
            ));
        }
    }
    if matches!(node.op, Op::Max | Op::Min) && 2 * (B - 1) + (ACT_MAX as i128 + 1) >= P {
        return refuse("the difference a - b could wrap into the activation range".into());
    }
    Ok(())
}

/// Checks that a batched product of activations ([`Op::BatchMatMul`]) with contraction length
/// `k` cannot leave `(-2^62, 2^62)`: each product of two activation-range values is at most
/// `2^30` in magnitude (the plan range-checks operands it cannot bound otherwise), so
/// `|y| <= k 2^30` must stay below `2^62`. The relation's sumcheck proves `y = sum_k a b` modulo
/// `p`; with that bound the field element is the integer, and every consumer's own no-wrap
/// condition (which assumes `|y| < 2^62`) holds.
pub(crate) fn check_product_no_wrap(node: &omron_ir::Node, k: usize) -> Result<(), CircuitError> {
    let act = (ACT_MIN as i128).abs();
    if (k as i128) * act * act >= VALUE_BOUND as i128 {
        return Err(CircuitError::Unsupported {
            node: node.name.clone(),
            op: node.op.name().into(),
            reason: format!(
                "a sum of {k} products of activations can reach {k} x 2^30, beyond 2^62, so \
                 the product could wrap modulo the field"
            ),
        });
    }
    Ok(())
}

/// The full plan of a proof.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Graph tensors, then auxiliary tensors.
    pub tensors: Vec<TensorPlan>,
    /// Auxiliary committed tensors of each graph node.
    pub aux: Vec<NodeAux>,
    /// Lookup tables.
    pub tables: Vec<TableSpec>,
    /// Lookups, in proof order.
    pub lookups: Vec<LookupInstance>,
    /// Committed tensors and their offsets, largest first.
    pub segments: Vec<Segment>,
    /// Variables of the committed polynomial.
    pub commit_vars: u32,
}

impl Plan {
    /// Plans the proof of `graph`.
    pub fn new(graph: &Graph) -> Result<Plan, CircuitError> {
        graph.validate()?;
        let mut tensors: Vec<TensorPlan> = graph
            .tensors
            .iter()
            .map(|t| TensorPlan {
                name: t.name.clone(),
                layout: Layout::new(&t.shape),
                role: match t.kind {
                    TensorKind::Const(_) => Role::Const,
                    TensorKind::Input => Role::Virtual, // fixed below
                    TensorKind::Computed => Role::Virtual,
                },
            })
            .collect();
        for (i, &id) in graph.inputs.iter().enumerate() {
            tensors[id].role = Role::Input(i);
        }
        for (i, &id) in graph.outputs.iter().enumerate() {
            if tensors[id].role != Role::Virtual {
                return Err(CircuitError::Unsupported {
                    node: graph.tensors[id].name.clone(),
                    op: "output".into(),
                    reason: "a model output must be computed by a node".into(),
                });
            }
            tensors[id].role = Role::Output(i);
        }
        let consumed_by_lookup: Vec<bool> = {
            let mut v = vec![false; graph.tensors.len()];
            for node in &graph.nodes {
                if matches!(node.op, Op::Lookup(_)) {
                    v[node.inputs[0]] = true;
                }
            }
            v
        };
        let materialise = |role: &mut Role| {
            if *role == Role::Virtual {
                *role = Role::Committed;
            }
        };
        for node in &graph.nodes {
            check_no_wrap(node)?;
            match &node.op {
                Op::BatchMatMul => {
                    let a = &graph.tensors[node.inputs[0]].shape;
                    check_product_no_wrap(node, a[a.len() - 1])?;
                }
                Op::Embedding
                    if !matches!(tensors[node.inputs[0]].role, Role::Input(_) | Role::Const) =>
                {
                    return Err(CircuitError::Unsupported {
                        node: node.name.clone(),
                        op: node.op.name().into(),
                        reason: format!(
                            "its index tensor '{}' is computed; only a model input or a \
                             constant (public token ids) can index an embedding table for now \
                             (gathering by computed indices needs a lookup argument over the \
                             table, planned)",
                            graph.tensors[node.inputs[0]].name
                        ),
                    });
                }
                Op::Rescale { .. } | Op::DivRound { .. } | Op::DivFloor { .. } => {
                    materialise(&mut tensors[node.output].role)
                }
                Op::Lookup(_) | Op::WideLookup { .. } | Op::Div { .. } | Op::IntDiv { .. } => {
                    materialise(&mut tensors[node.output].role)
                }
                Op::Conv(attrs) if attrs.group != 1 => {
                    return Err(CircuitError::Unsupported {
                        node: node.name.clone(),
                        op: "Conv".into(),
                        reason: format!(
                            "grouped convolution ({} groups); lower depthwise pooling with SumPool",
                            attrs.group
                        ),
                    });
                }
                _ => {}
            }
        }

        let mut tables: Vec<TableSpec> = Vec::new();
        let mut lookups: Vec<LookupInstance> = Vec::new();
        let mut add_lookup = |spec: TableSpec, input: LookupColumn, output: Option<TensorRef>| {
            let spec = spec.canonical();
            let table = match tables.iter().position(|t| *t == spec) {
                Some(i) => i,
                None => {
                    tables.push(spec);
                    tables.len() - 1
                }
            };
            lookups.push(LookupInstance {
                table,
                input,
                output,
            });
        };
        let mut aux = vec![NodeAux::default(); graph.nodes.len()];
        let bounded = if graph.nodes.iter().any(|n| n.op == Op::BatchMatMul) {
            crate::bounds::activation_bounded(graph)
        } else {
            Vec::new()
        };
        let new_aux = |tensors: &mut Vec<TensorPlan>, node: &omron_ir::Node, what: &str| {
            let layout = tensors[node.output].layout.clone();
            tensors.push(TensorPlan {
                name: format!("{}.{what}", node.name),
                layout,
                role: Role::Committed,
            });
            tensors.len() - 1
        };
        for (index, node) in graph.nodes.iter().enumerate() {
            let out = node.output;
            let shape = graph.tensors[out].shape.clone();
            let column = |t: TensorRef| LookupColumn::tensor(t, &graph.tensors[t].shape);
            if let Some(div) = const_division(&node.op) {
                // The remainder x + c - d q, range-checked to [0, d): q is then round(x / d).
                let remainder = LookupColumn {
                    shape: shape.clone(),
                    terms: vec![(node.inputs[0], 1), (out, -(div.divisor as i64))],
                    constant: div.offset as i64,
                };
                add_lookup(
                    TableSpec::Range {
                        lo: 0,
                        hi: div.divisor as i64,
                    },
                    remainder,
                    None,
                );
            }
            match &node.op {
                Op::Lookup(f) => {
                    add_lookup(TableSpec::Function(*f), column(node.inputs[0]), Some(out))
                }
                Op::WideLookup { f, lo, hi } => add_lookup(
                    TableSpec::Exact {
                        f: *f,
                        lo: *lo,
                        hi: *hi,
                    },
                    column(node.inputs[0]),
                    Some(out),
                ),
                Op::Max | Op::Min => {
                    let r = new_aux(&mut tensors, node, "relu");
                    aux[index].relu = Some(r);
                    let diff = LookupColumn {
                        shape: shape.clone(),
                        terms: vec![(node.inputs[0], 1), (node.inputs[1], -1)],
                        constant: 0,
                    };
                    let relu = LookupFn {
                        kind: LookupKind::Relu,
                        in_scale: 0,
                        out_scale: 0,
                    };
                    add_lookup(TableSpec::Function(relu), diff, Some(r));
                }
                Op::BatchMatMul => {
                    // Both factors must be activations (the product's no-wrap bound).
                    for (i, &t) in node.inputs.iter().enumerate() {
                        if !bounded[t] && !node.inputs[..i].contains(&t) {
                            add_lookup(TableSpec::ACTIVATION, column(t), None);
                        }
                    }
                }
                Op::Div { .. } | Op::IntDiv { .. } => {
                    let (den_bound, num_bound) = division_bounds(&node.op);
                    let r = new_aux(&mut tensors, node, "remainder");
                    let slack = new_aux(&mut tensors, node, "slack");
                    aux[index].remainder = Some(r);
                    aux[index].slack = Some(slack);
                    let den = TableSpec::Range {
                        lo: 0,
                        hi: den_bound,
                    };
                    add_lookup(den, LookupColumn::tensor(r, &shape), None);
                    add_lookup(den, LookupColumn::tensor(slack, &shape), None);
                    add_lookup(
                        TableSpec::Range {
                            lo: 1,
                            hi: den_bound,
                        },
                        column(node.inputs[1]),
                        None,
                    );
                    let num = TableSpec::Range {
                        lo: -num_bound + 1,
                        hi: num_bound,
                    };
                    add_lookup(num, column(node.inputs[0]), None);
                }
                _ => {}
            }
            // Quotients need a range check unless they are public (the verifier checks those)
            // or an activation-range lookup already covers them.
            if let Some((lo, hi)) = output_range(&node.op)
                && tensors[out].role == Role::Committed
                && !((lo, hi) == (ACT_MIN, ACT_MAX + 1) && consumed_by_lookup[out])
            {
                add_lookup(TableSpec::Range { lo, hi }, column(out), None);
            }
        }

        let mut committed: Vec<TensorRef> = (0..tensors.len())
            .filter(|&t| tensors[t].role == Role::Committed)
            .collect();
        committed.sort_by_key(|&t| (std::cmp::Reverse(tensors[t].layout.num_vars()), t));
        let mut offset = 0;
        let mut segments = Vec::with_capacity(committed.len());
        for t in committed {
            segments.push(Segment { tensor: t, offset });
            offset += tensors[t].layout.padded_len();
        }
        let commit_vars = offset.max(1).next_power_of_two().trailing_zeros();
        Ok(Plan {
            tensors,
            aux,
            tables,
            lookups,
            segments,
            commit_vars,
        })
    }

    /// The role of a tensor.
    pub fn role(&self, t: TensorRef) -> Role {
        self.tensors[t].role
    }

    /// The layout of a tensor.
    pub fn layout(&self, t: TensorRef) -> &Layout {
        &self.tensors[t].layout
    }

    /// The segment of a committed tensor.
    pub fn segment(&self, t: TensorRef) -> Option<&Segment> {
        self.segments.iter().find(|s| s.tensor == t)
    }

    /// Number of committed values (before padding the commitment to a power of two).
    pub fn committed_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| self.tensors[s.tensor].layout.padded_len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use omron_ir::{MAX_DIV_FLOOR_DIVISOR, MAX_DIV_ROUND_DIVISOR, MAX_RESCALE_SHIFT, Node};

    use super::*;

    /// A canonical table has exactly the rows of the table it stands for.
    #[test]
    fn canonical_tables_keep_their_rows() {
        let kinds = [
            LookupKind::Relu,
            LookupKind::Abs,
            LookupKind::Clip { lo: -300, hi: 1200 },
            LookupKind::Tanh,
        ];
        for kind in kinds {
            for (in_scale, out_scale) in [(0, 0), (8, 8), (11, 11), (12, 12), (11, 12)] {
                let spec = TableSpec::Function(LookupFn {
                    kind,
                    in_scale,
                    out_scale,
                });
                let canonical = spec.canonical();
                assert_eq!(canonical.rows(), spec.rows());
                for row in (0..spec.rows()).step_by(7).chain([spec.rows() - 1]) {
                    assert_eq!(
                        canonical.row_values(row),
                        spec.row_values(row),
                        "{} row {row}",
                        spec.name()
                    );
                }
            }
        }
        let relu = |s| {
            TableSpec::Function(LookupFn {
                kind: LookupKind::Relu,
                in_scale: s,
                out_scale: s,
            })
            .canonical()
        };
        assert_eq!(relu(11), relu(0), "equal tables share one name");
    }

    fn node(op: Op) -> Node {
        Node {
            name: "div".into(),
            op,
            inputs: vec![0],
            output: 1,
        }
    }

    fn refused(op: Op) {
        let e = check_no_wrap(&node(op.clone())).expect_err("must be refused");
        let text = e.to_string();
        assert!(
            text.contains("'div'") && text.contains("modulo the field"),
            "{op:?}: {text}"
        );
    }

    /// The five accepted forgeries of the soundness review (issue 12, F1): the plan refuses
    /// every one of these divisions itself, whatever the IR lets through.
    #[test]
    fn issue_12_f1_forgeable_divisions_are_refused_by_the_plan() {
        refused(Op::Rescale { shift: 49 });
        refused(Op::Rescale { shift: 50 });
        refused(Op::Rescale { shift: 51 });
        refused(Op::DivRound { divisor: 1 << 52 });
        refused(Op::DivFloor {
            divisor: (1 << 62) - 1,
        });
    }

    /// The IR's limits are exactly the boundary of the plan's condition, so the IR refuses
    /// early what the plan would refuse, and nothing the plan accepts.
    #[test]
    fn ir_limits_are_the_exact_no_wrap_boundary() {
        check_no_wrap(&node(Op::Rescale {
            shift: MAX_RESCALE_SHIFT,
        }))
        .expect("largest shift");
        refused(Op::Rescale {
            shift: MAX_RESCALE_SHIFT + 1,
        });
        check_no_wrap(&node(Op::DivRound {
            divisor: MAX_DIV_ROUND_DIVISOR,
        }))
        .expect("largest DivRound divisor");
        refused(Op::DivRound {
            divisor: MAX_DIV_ROUND_DIVISOR + 1,
        });
        check_no_wrap(&node(Op::DivFloor {
            divisor: MAX_DIV_FLOOR_DIVISOR,
        }))
        .expect("largest DivFloor divisor");
        refused(Op::DivFloor {
            divisor: MAX_DIV_FLOOR_DIVISOR + 1,
        });
        // Every power of two below the DivFloor limit is safe (its quotient range shrinks as
        // the divisor grows).
        for k in 0..62 {
            check_no_wrap(&node(Op::DivFloor { divisor: 1 << k })).expect("power of two");
        }
    }

    /// The IR's contraction limit keeps a product of activations inside the plan's bound; a
    /// contraction of `2^32` reaches `2^62` and is refused, naming the node.
    #[test]
    fn batched_products_stop_before_2_to_the_62() {
        let product = node(Op::BatchMatMul);
        check_product_no_wrap(&product, omron_ir::MAX_BATCH_MATMUL_DEPTH).expect("IR limit");
        check_product_no_wrap(&product, (1 << 32) - 1).expect("largest safe contraction");
        let e = check_product_no_wrap(&product, 1 << 32).expect_err("reaches 2^62");
        let text = e.to_string();
        assert!(
            text.contains("'div'") && text.contains("wrap modulo the field"),
            "{text}"
        );
    }

    #[test]
    fn variable_divisions_and_max_min_cannot_wrap() {
        for op in [
            Op::Div { shift: 0 },
            Op::Div { shift: 30 },
            Op::IntDiv {
                den_bits: 31,
                quot_bits: 30,
            },
            Op::IntDiv {
                den_bits: 1,
                quot_bits: 60,
            },
            Op::Max,
            Op::Min,
        ] {
            check_no_wrap(&node(op)).expect("within the field");
        }
    }
}
