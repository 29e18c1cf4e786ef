//! Exact integer functions for lookups over wide domains ([`crate::Op::WideLookup`]).
//!
//! Unlike [`crate::LookupFn`] these involve no scale conversion and no floating point: they are
//! comparisons, range checks and the subnet's integer scoring curve, and their domain can be far
//! wider than the activation range (the lookup argument's cost does not grow with table size).

use serde::{Deserialize, Serialize};

/// An exact integer function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ExactFn {
    /// `x` (a plain range check).
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `1` if `x > 0`, else `0`.
    Step,
    /// `1` if `x >= 0`, else `0`.
    NonNegative,
    /// `1` if `x == 0`, else `0`.
    IsZero,
    /// `-1`, `0` or `1`.
    Sign,
    /// `|x|`.
    Abs,
    /// The SN2 response-time curve `f(norm)` of the reference's integer scoring arithmetic
    /// (domain `0 ..= 99_000_000`).
    Sn2ResponseCurve,
}

/// Largest input of [`ExactFn::Sn2ResponseCurve`] (the clamp `MAXIMUM_RESPONSE_TIME_DECIMAL`).
pub const SN2_CURVE_MAX_INPUT: i64 = 99_000_000;

impl ExactFn {
    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            ExactFn::Identity => "Range",
            ExactFn::Relu => "Relu",
            ExactFn::Step => "Step",
            ExactFn::NonNegative => "NonNegative",
            ExactFn::IsZero => "IsZero",
            ExactFn::Sign => "Sign",
            ExactFn::Abs => "Abs",
            ExactFn::Sn2ResponseCurve => "Sn2ResponseCurve",
        }
    }

    /// The function at `x`, or `None` outside its natural domain.
    pub fn eval(self, x: i64) -> Option<i64> {
        Some(match self {
            ExactFn::Identity => x,
            ExactFn::Relu => x.max(0),
            ExactFn::Step => i64::from(x > 0),
            ExactFn::NonNegative => i64::from(x >= 0),
            ExactFn::IsZero => i64::from(x == 0),
            ExactFn::Sign => x.signum(),
            ExactFn::Abs => x.checked_abs()?,
            ExactFn::Sn2ResponseCurve => {
                if !(0..=SN2_CURVE_MAX_INPUT).contains(&x) {
                    return None;
                }
                let f = omron_scoring::response_curve(x as u64).ok()?;
                i64::try_from(f).ok()?
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_and_curve() {
        assert_eq!(ExactFn::Step.eval(-3), Some(0));
        assert_eq!(ExactFn::NonNegative.eval(0), Some(1));
        assert_eq!(ExactFn::IsZero.eval(7), Some(0));
        assert_eq!(ExactFn::Sign.eval(-7), Some(-1));
        assert_eq!(ExactFn::Abs.eval(i64::MIN), None);
        // f(0) = 0, f(0.5) = 0.49999999, f(0.99) = 0.95840194 (reference table, scaled by 1e8).
        assert_eq!(ExactFn::Sn2ResponseCurve.eval(0), Some(0));
        assert_eq!(ExactFn::Sn2ResponseCurve.eval(50_000_000), Some(49_999_999));
        assert_eq!(ExactFn::Sn2ResponseCurve.eval(99_000_000), Some(95_840_194));
        assert_eq!(ExactFn::Sn2ResponseCurve.eval(99_000_001), None);
        assert_eq!(ExactFn::Sn2ResponseCurve.eval(-1), None);
    }
}
