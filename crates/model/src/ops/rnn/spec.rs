//! The attributes of an `LSTM` or `GRU` node and the layer's dimensions, checked against its
//! operands.

use crate::shape::{Issue, Operand, invalid, need as operand, optional, unsupported};
use crate::tensor::{DType, Tensor};

/// Which way a recurrent layer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Forward,
    Reverse,
    Bidirectional,
}

impl Direction {
    /// Number of directions (the `num_directions` axis of the weights).
    pub(crate) fn count(self) -> usize {
        if self == Direction::Bidirectional {
            2
        } else {
            1
        }
    }

    /// Whether direction number `d` runs backwards in time.
    pub(crate) fn reversed(self, d: usize) -> bool {
        self == Direction::Reverse || (self == Direction::Bidirectional && d == 1)
    }
}

/// The cell of a recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cell {
    /// Gates i, o, f, c (ONNX order).
    Lstm,
    /// Gates z, r, h; `linear_before_reset` applies the reset gate after the recurrent matmul.
    Gru { linear_before_reset: bool },
}

impl Cell {
    /// Gates per hidden unit (rows of W per direction are `gates * hidden`).
    pub(crate) fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru { .. } => 3,
        }
    }
}

/// Attributes of an ONNX `LSTM` or `GRU` node (default activations only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RnnSpec {
    pub(crate) cell: Cell,
    pub(crate) hidden: usize,
    pub(crate) direction: Direction,
    /// `layout = 1`: batch-first inputs and outputs.
    pub(crate) batch_first: bool,
}

/// Dimensions of a recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RnnDims {
    /// Time steps.
    pub(crate) steps: usize,
    /// Batch size.
    pub(crate) batch: usize,
    /// Input features.
    pub(crate) input: usize,
    /// Hidden units.
    pub(crate) hidden: usize,
    /// Directions.
    pub(crate) dirs: usize,
}

impl RnnDims {
    /// Shape of `Y`.
    pub(crate) fn y_shape(&self, spec: &RnnSpec) -> Vec<usize> {
        if spec.batch_first {
            vec![self.batch, self.steps, self.dirs, self.hidden]
        } else {
            vec![self.steps, self.dirs, self.batch, self.hidden]
        }
    }

    /// Shape of `Y_h` / `Y_c` and of the initial states.
    pub(crate) fn state_shape(&self, spec: &RnnSpec) -> Vec<usize> {
        if spec.batch_first {
            vec![self.batch, self.dirs, self.hidden]
        } else {
            vec![self.dirs, self.batch, self.hidden]
        }
    }
}

/// Checks the operands of an LSTM/GRU node and resolves its dimensions.
pub(crate) fn rnn_dims(spec: &RnnSpec, ins: &[Option<Operand<'_>>]) -> Result<RnnDims, Issue> {
    let (x, w, r) = (operand(ins, 0)?, operand(ins, 1)?, operand(ins, 2)?);
    if x.dtype != DType::F32 {
        return unsupported("the recurrent input is an integer tensor");
    }
    if x.shape.len() != 3 {
        return invalid(format!("input {:?} is not rank 3", x.shape));
    }
    let (steps, batch) = if spec.batch_first {
        (x.shape[1], x.shape[0])
    } else {
        (x.shape[0], x.shape[1])
    };
    let dims = RnnDims {
        steps,
        batch,
        input: x.shape[2],
        hidden: spec.hidden,
        dirs: spec.direction.count(),
    };
    let rows = spec.cell.gates() * spec.hidden;
    if w.shape != [dims.dirs, rows, dims.input] {
        return invalid(format!(
            "W {:?}, expected {:?}",
            w.shape,
            [dims.dirs, rows, dims.input]
        ));
    }
    if r.shape != [dims.dirs, rows, dims.hidden] {
        return invalid(format!(
            "R {:?}, expected {:?}",
            r.shape,
            [dims.dirs, rows, dims.hidden]
        ));
    }
    if let Some(b) = optional(ins, 3)
        && b.shape != [dims.dirs, 2 * rows]
    {
        return invalid(format!(
            "B {:?}, expected {:?}",
            b.shape,
            [dims.dirs, 2 * rows]
        ));
    }
    if steps == 0 {
        return invalid("the sequence is empty");
    }
    if let Some(lens) = optional(ins, 4) {
        match lens.value.and_then(Tensor::as_i64) {
            Some(v) if v.len() == batch && v.iter().all(|&l| l == steps as i64) => {}
            Some(_) => {
                return unsupported(
                    "sequence_lens shorter than the sequence (padded batches) are not supported",
                );
            }
            None => return unsupported("sequence_lens must be a constant"),
        }
    }
    let state = dims.state_shape(spec);
    let state_inputs: &[usize] = if spec.cell == Cell::Lstm {
        &[5, 6]
    } else {
        &[5]
    };
    for &i in state_inputs {
        if let Some(s) = optional(ins, i)
            && s.shape != state.as_slice()
        {
            return invalid(format!("initial state {:?}, expected {state:?}", s.shape));
        }
    }
    if spec.cell == Cell::Lstm && optional(ins, 7).is_some() {
        return unsupported("LSTM peephole weights (input P) are not supported");
    }
    Ok(dims)
}
