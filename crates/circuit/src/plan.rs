//! What the proof of a graph consists of, derived deterministically from the graph alone, so the
//! prover and the verifier agree on every shape without the proof saying anything about them.
//!
//! Each tensor gets a [`Role`]: public (model inputs, constants, model outputs), committed (held
//! in the one multilinear commitment and opened at the end) or virtual (never materialised:
//! claims about it are reduced to claims about its operands by its producer's relation). Rounding
//! ([`omron_ir::Op::Rescale`]) and lookups need committed values; linear ops stay virtual.

use omron_ir::{ACT_BITS, ACT_MIN, Graph, LookupFn, Op, TensorKind};

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

/// A lookup table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableSpec {
    /// The integers `0 .. 2^bits` (single column).
    Range {
        /// Width.
        bits: u32,
    },
    /// The activation range `ACT_MIN ..= ACT_MAX` (single column).
    Activation,
    /// Pairs `(x, f(x))` over the activation range.
    Function(LookupFn),
}

impl TableSpec {
    /// Number of rows.
    pub fn rows(&self) -> u64 {
        match self {
            TableSpec::Range { bits } => 1u64 << bits,
            _ => 1u64 << ACT_BITS,
        }
    }

    /// The row holding input `x`, if any.
    pub fn row_of(&self, x: i64) -> Option<u64> {
        let row = match self {
            TableSpec::Range { .. } => x,
            _ => x - ACT_MIN,
        };
        (row >= 0 && (row as u64) < self.rows()).then_some(row as u64)
    }

    /// The columns of row `row`: the input and, for function tables, the output.
    pub fn row_values(&self, row: u64) -> (i64, Option<i64>) {
        match self {
            TableSpec::Range { .. } => (row as i64, None),
            TableSpec::Activation => (row as i64 + ACT_MIN, None),
            TableSpec::Function(f) => {
                let x = row as i64 + ACT_MIN;
                (x, Some(f.eval(x)))
            }
        }
    }

    /// A name for reports.
    pub fn name(&self) -> String {
        match self {
            TableSpec::Range { bits } => format!("range{bits}"),
            TableSpec::Activation => format!("range{ACT_BITS}s"),
            TableSpec::Function(f) => format!("{}[{}->{}]", f.kind.name(), f.in_scale, f.out_scale),
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
    pub input: TensorRef,
    /// The function value column, for function tables.
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

/// The full plan of a proof.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Graph tensors, then auxiliary tensors.
    pub tensors: Vec<TensorPlan>,
    /// For each graph node, the remainder tensor of a [`Op::Rescale`] with a non-zero shift.
    pub remainders: Vec<Option<TensorRef>>,
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
            match &node.op {
                Op::Rescale { .. } => materialise(&mut tensors[node.output].role),
                Op::Lookup(_) => {
                    materialise(&mut tensors[node.output].role);
                    materialise(&mut tensors[node.inputs[0]].role);
                }
                Op::Slice { .. }
                | Op::Concat { .. }
                | Op::Pad { .. }
                | Op::Gather { .. }
                | Op::ReduceSum { .. }
                | Op::SumPool { .. }
                | Op::Max
                | Op::Min
                | Op::DivRound { .. }
                | Op::DivFloor { .. }
                | Op::Div { .. }
                | Op::WideLookup { .. } => {
                    return Err(CircuitError::Unsupported {
                        node: node.name.clone(),
                        op: node.op.name().into(),
                        reason: "no proof relation for this op yet".into(),
                    });
                }
                Op::Conv(attrs) if attrs.group != 1 => {
                    return Err(CircuitError::Unsupported {
                        node: node.name.clone(),
                        op: "Conv".into(),
                        reason: format!("grouped convolution ({} groups)", attrs.group),
                    });
                }
                _ => {}
            }
        }

        let mut tables: Vec<TableSpec> = Vec::new();
        let mut table_id = |spec: TableSpec| -> usize {
            match tables.iter().position(|t| *t == spec) {
                Some(i) => i,
                None => {
                    tables.push(spec);
                    tables.len() - 1
                }
            }
        };
        let mut lookups = Vec::new();
        let mut remainders = vec![None; graph.nodes.len()];
        for (index, node) in graph.nodes.iter().enumerate() {
            match &node.op {
                Op::Rescale { shift } => {
                    if *shift > 32 {
                        return Err(CircuitError::Unsupported {
                            node: node.name.clone(),
                            op: "Rescale".into(),
                            reason: format!("shift {shift} exceeds 32 bits"),
                        });
                    }
                    if *shift > 0 {
                        let out = &tensors[node.output];
                        let r = tensors.len();
                        tensors.push(TensorPlan {
                            name: format!("{}.remainder", node.name),
                            layout: out.layout.clone(),
                            role: Role::Committed,
                        });
                        remainders[index] = Some(r);
                        let table = table_id(TableSpec::Range { bits: *shift });
                        lookups.push(LookupInstance {
                            table,
                            input: r,
                            output: None,
                        });
                    }
                    if tensors[node.output].role == Role::Committed
                        && !consumed_by_lookup[node.output]
                    {
                        let table = table_id(TableSpec::Activation);
                        lookups.push(LookupInstance {
                            table,
                            input: node.output,
                            output: None,
                        });
                    }
                }
                Op::Lookup(f) => {
                    let table = table_id(TableSpec::Function(*f));
                    lookups.push(LookupInstance {
                        table,
                        input: node.inputs[0],
                        output: Some(node.output),
                    });
                }
                _ => {}
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
            remainders,
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
