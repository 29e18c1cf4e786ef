//! How a tensor sits on the boolean hypercube.
//!
//! Every dimension is padded to a power of two and owns its own group of variables; the last
//! dimension takes the lowest variables (as in row-major order). Padding per dimension (rather
//! than padding the flattened tensor) keeps dimensions separable: a matmul's contraction axis, a
//! convolution's spatial axes and a transpose's permuted axes are each a block of variables, so
//! the verifier's wiring predicates factor into small per-dimension sums.

use omron_zk::mle::prefix_indicator;
use omron_zk::{Ext, Fp};

/// The hypercube layout of a tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The real dimensions.
    pub dims: Vec<usize>,
    /// Variables per dimension (`ceil(log2(dim))`).
    pub bits: Vec<u32>,
}

impl Layout {
    /// The layout of a tensor of this shape.
    pub fn new(dims: &[usize]) -> Layout {
        let bits = dims
            .iter()
            .map(|&d| d.max(1).next_power_of_two().trailing_zeros())
            .collect();
        Layout {
            dims: dims.to_vec(),
            bits,
        }
    }

    /// Total number of variables.
    pub fn num_vars(&self) -> usize {
        self.bits.iter().map(|&b| b as usize).sum()
    }

    /// Padded length, `2^num_vars`.
    pub fn padded_len(&self) -> usize {
        1 << self.num_vars()
    }

    /// Number of real elements.
    pub fn numel(&self) -> usize {
        self.dims.iter().product()
    }

    /// The variable offset of dimension `d` (its lowest variable).
    pub fn offset(&self, d: usize) -> usize {
        self.bits[d + 1..].iter().map(|&b| b as usize).sum()
    }

    /// The coordinates of dimension `d` inside a point on this layout.
    pub fn dim_point<'a>(&self, point: &'a [Ext], d: usize) -> &'a [Ext] {
        let off = self.offset(d);
        &point[off..off + self.bits[d] as usize]
    }

    /// Padded position of every element, in row-major element order.
    pub fn positions(&self) -> Vec<usize> {
        let n = self.numel();
        let mut out = Vec::with_capacity(n);
        let mut coords = vec![0usize; self.dims.len()];
        let offsets: Vec<usize> = (0..self.dims.len()).map(|d| self.offset(d)).collect();
        for _ in 0..n {
            out.push(coords.iter().zip(&offsets).map(|(&c, &o)| c << o).sum());
            for d in (0..coords.len()).rev() {
                coords[d] += 1;
                if coords[d] < self.dims[d] {
                    break;
                }
                coords[d] = 0;
            }
        }
        out
    }

    /// Scatters row-major `values` into a padded table.
    pub fn pad(&self, values: &[i64]) -> Vec<Fp> {
        let mut out = vec![Fp::ZERO; self.padded_len()];
        for (pos, &v) in self.positions().into_iter().zip(values) {
            out[pos] = Fp::from_i64(v);
        }
        out
    }

    /// Where an operand of shape `operand`, broadcast to this layout's shape (numpy rules), is
    /// evaluated for a point `z` on this layout, and the factor its broadcast dimensions
    /// contribute: an operand constant along dimension `d` ignores `z_d`, and summing over that
    /// dimension's real indices gives `S_d(z_d) = sum_{i < dim} eq(z_d, i)`.
    pub fn project(&self, operand: &[usize], z: &[Ext]) -> (Vec<Ext>, Ext) {
        let ry = self.dims.len();
        let ra = operand.len();
        let mut point = Vec::new();
        let mut factor = Ext::ONE;
        for d in (0..ry).rev() {
            let zd = self.dim_point(z, d);
            let kept = d + ra >= ry && operand[d + ra - ry] == self.dims[d];
            if kept {
                point.extend_from_slice(zd);
            } else {
                factor *= prefix_indicator(zd, self.dims[d]);
            }
        }
        (point, factor)
    }

    /// The multilinear extension of the indicator of real (non-padding) positions.
    pub fn real_indicator(&self, point: &[Ext]) -> Ext {
        (0..self.dims.len())
            .map(|d| prefix_indicator(self.dim_point(point, d), self.dims[d]))
            .product()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_zk::mle::{eq_table, evaluate_base};

    #[test]
    fn positions_pad_each_dimension() {
        let l = Layout::new(&[2, 3]);
        assert_eq!(l.bits, vec![1, 2]);
        assert_eq!(l.positions(), vec![0, 1, 2, 4, 5, 6]);
        assert_eq!(l.offset(0), 2);
        let p = l.pad(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(p[4], Fp::new(4));
        assert_eq!(p[3], Fp::ZERO);
    }

    #[test]
    fn size_one_dimensions_take_no_variables() {
        let l = Layout::new(&[1, 10, 1]);
        assert_eq!(l.num_vars(), 4);
        assert_eq!(l.positions(), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn real_indicator_matches_the_padded_ones() {
        let l = Layout::new(&[3, 5]);
        let ones = l.pad(&[1; 15]);
        let point: Vec<Ext> = (0..l.num_vars())
            .map(|i| Ext::new(Fp::new(3 + i as u64), Fp::new(7)))
            .collect();
        assert_eq!(l.real_indicator(&point), evaluate_base(&ones, &point));
        let eq = eq_table(&point);
        let want: Ext = l.positions().iter().map(|&p| eq[p]).sum();
        assert_eq!(l.real_indicator(&point), want);
    }
}
