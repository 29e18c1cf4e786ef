//! The quadratic extension `Fp2 = Fp[u] / (u^2 - 7)`, of size about `2^128`.
//!
//! Every verifier challenge is drawn from this field, so a Schwartz-Zippel argument over a
//! polynomial of degree `d` fails with probability at most `d / 2^128`. `7` is a quadratic
//! non-residue modulo `p` (checked by a test), so `u^2 - 7` is irreducible.

use core::fmt;
use core::iter::{Product, Sum};
use core::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use super::Fp;
use super::goldilocks::reduce128;

/// The non-residue `W` with `u^2 = W`.
const W: Fp = Fp::new(7);

/// An element `c0 + c1 * u` of the quadratic extension.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Ext {
    c0: Fp,
    c1: Fp,
}

impl Ext {
    /// Zero.
    pub const ZERO: Ext = Ext {
        c0: Fp::ZERO,
        c1: Fp::ZERO,
    };
    /// One.
    pub const ONE: Ext = Ext {
        c0: Fp::ONE,
        c1: Fp::ZERO,
    };

    /// The element `c0 + c1 * u`.
    #[inline]
    pub const fn new(c0: Fp, c1: Fp) -> Ext {
        Ext { c0, c1 }
    }

    /// The coefficients `[c0, c1]`.
    #[inline]
    pub const fn coeffs(self) -> [Fp; 2] {
        [self.c0, self.c1]
    }

    /// Whether this is zero.
    #[inline]
    pub const fn is_zero(self) -> bool {
        self.c0.is_zero() && self.c1.is_zero()
    }

    /// The base-field element, if `c1 = 0`.
    #[inline]
    pub fn as_base(self) -> Option<Fp> {
        self.c1.is_zero().then_some(self.c0)
    }

    /// `self^2`.
    #[inline]
    pub fn square(self) -> Ext {
        self * self
    }

    /// `self^e`.
    pub fn pow(self, mut e: u64) -> Ext {
        let mut base = self;
        let mut acc = Ext::ONE;
        while e > 0 {
            if e & 1 == 1 {
                acc *= base;
            }
            base = base.square();
            e >>= 1;
        }
        acc
    }

    /// The multiplicative inverse, or `None` for zero.
    pub fn inverse(self) -> Option<Ext> {
        // (c0 + c1 u)(c0 - c1 u) = c0^2 - W c1^2, a base-field norm that is zero only at zero.
        let norm = self.c0.square() - W * self.c1.square();
        let inv = norm.inverse()?;
        Some(Ext {
            c0: self.c0 * inv,
            c1: -self.c1 * inv,
        })
    }

    /// Little-endian bytes of both coefficients.
    #[inline]
    pub fn to_le_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.c0.to_le_bytes());
        out[8..].copy_from_slice(&self.c1.to_le_bytes());
        out
    }
}

impl From<Fp> for Ext {
    #[inline]
    fn from(c0: Fp) -> Ext {
        Ext { c0, c1: Fp::ZERO }
    }
}

impl Add for Ext {
    type Output = Ext;
    #[inline]
    fn add(self, rhs: Ext) -> Ext {
        Ext {
            c0: self.c0 + rhs.c0,
            c1: self.c1 + rhs.c1,
        }
    }
}

impl Sub for Ext {
    type Output = Ext;
    #[inline]
    fn sub(self, rhs: Ext) -> Ext {
        Ext {
            c0: self.c0 - rhs.c0,
            c1: self.c1 - rhs.c1,
        }
    }
}

/// `2^128 mod p`: `2^64 = 2^32 - 1`, so `2^128 = 2^64 - 2^33 + 1 = -2^32`.
const TWO_128: Fp = Fp::new(super::P - (1 << 32));

impl Mul for Ext {
    type Output = Ext;
    /// Schoolbook with lazy reduction: three reductions instead of four. `a0 b0 + 7 a1 b1`
    /// stays below `2^128` once `a1 b1` is reduced (`(p - 1)^2 + 7 (p - 1) < 2^128`), and
    /// `a0 b1 + a1 b0` is summed in 128 bits with its carry worth `2^128 mod p`.
    #[inline]
    fn mul(self, rhs: Ext) -> Ext {
        let wide = |a: Fp, b: Fp| a.as_u64() as u128 * b.as_u64() as u128;
        let a1b1 = reduce128(wide(self.c1, rhs.c1));
        let c0 = reduce128(wide(self.c0, rhs.c0) + 7 * a1b1.as_u64() as u128);
        let (cross, carry) = wide(self.c0, rhs.c1).overflowing_add(wide(self.c1, rhs.c0));
        let mut c1 = reduce128(cross);
        if carry {
            c1 += TWO_128;
        }
        Ext { c0, c1 }
    }
}

impl Mul<Fp> for Ext {
    type Output = Ext;
    #[inline]
    fn mul(self, rhs: Fp) -> Ext {
        Ext {
            c0: self.c0 * rhs,
            c1: self.c1 * rhs,
        }
    }
}

impl Add<Fp> for Ext {
    type Output = Ext;
    #[inline]
    fn add(self, rhs: Fp) -> Ext {
        Ext {
            c0: self.c0 + rhs,
            c1: self.c1,
        }
    }
}

impl Sub<Fp> for Ext {
    type Output = Ext;
    #[inline]
    fn sub(self, rhs: Fp) -> Ext {
        Ext {
            c0: self.c0 - rhs,
            c1: self.c1,
        }
    }
}

impl Neg for Ext {
    type Output = Ext;
    #[inline]
    fn neg(self) -> Ext {
        Ext {
            c0: -self.c0,
            c1: -self.c1,
        }
    }
}

impl AddAssign for Ext {
    #[inline]
    fn add_assign(&mut self, rhs: Ext) {
        *self = *self + rhs;
    }
}

impl SubAssign for Ext {
    #[inline]
    fn sub_assign(&mut self, rhs: Ext) {
        *self = *self - rhs;
    }
}

impl MulAssign for Ext {
    #[inline]
    fn mul_assign(&mut self, rhs: Ext) {
        *self = *self * rhs;
    }
}

impl MulAssign<Fp> for Ext {
    #[inline]
    fn mul_assign(&mut self, rhs: Fp) {
        *self = *self * rhs;
    }
}

impl Sum for Ext {
    fn sum<I: Iterator<Item = Ext>>(iter: I) -> Ext {
        iter.fold(Ext::ZERO, Add::add)
    }
}

impl Product for Ext {
    fn product<I: Iterator<Item = Ext>>(iter: I) -> Ext {
        iter.fold(Ext::ONE, Mul::mul)
    }
}

impl fmt::Debug for Ext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({} + {}u)", self.c0, self.c1)
    }
}
