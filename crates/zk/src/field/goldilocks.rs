//! The Goldilocks prime field, `p = 2^64 - 2^32 + 1`.
//!
//! Elements are kept canonical (`< p`) at all times, so equality is `u64` equality and encoding
//! is unique. Reduction of a 128-bit product uses `2^64 = 2^32 - 1 (mod p)` and
//! `2^96 = -1 (mod p)`.

use core::fmt;
use core::iter::{Product, Sum};
use core::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// The field modulus.
pub const P: u64 = 0xffff_ffff_0000_0001;

/// `2^64 mod p = 2^32 - 1`.
const EPSILON: u64 = 0xffff_ffff;

/// An element of the Goldilocks field, always canonical.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fp(u64);

impl Fp {
    /// Zero.
    pub const ZERO: Fp = Fp(0);
    /// One.
    pub const ONE: Fp = Fp(1);
    /// Two.
    pub const TWO: Fp = Fp(2);
    /// A generator of the multiplicative group.
    pub const GENERATOR: Fp = Fp(7);
    /// `p - 1 = 2^32 * (2^32 - 1)`: the largest power-of-two subgroup has order `2^32`.
    pub const TWO_ADICITY: u32 = 32;

    /// The element `v mod p`.
    #[inline]
    pub const fn new(v: u64) -> Fp {
        Fp(if v >= P { v - P } else { v })
    }

    /// The element for a canonical `v`, or `None` if `v >= p` (used when decoding proofs:
    /// non-canonical encodings are rejected, never reduced).
    #[inline]
    pub const fn from_canonical(v: u64) -> Option<Fp> {
        if v < P { Some(Fp(v)) } else { None }
    }

    /// The element representing the signed integer `v`.
    #[inline]
    pub const fn from_i64(v: i64) -> Fp {
        if v >= 0 {
            Fp::new(v as u64)
        } else {
            Fp(P - (v.unsigned_abs() % P)).canon()
        }
    }

    #[inline]
    const fn canon(self) -> Fp {
        if self.0 == P { Fp(0) } else { self }
    }

    /// The canonical representative in `[0, p)`.
    #[inline]
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The representative in `(-p/2, p/2]` as a signed integer.
    #[inline]
    pub const fn as_i64(self) -> i64 {
        if self.0 > P / 2 {
            -((P - self.0) as i64)
        } else {
            self.0 as i64
        }
    }

    /// Whether this is zero.
    #[inline]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self^e`.
    pub fn pow(self, mut e: u64) -> Fp {
        let mut base = self;
        let mut acc = Fp::ONE;
        while e > 0 {
            if e & 1 == 1 {
                acc *= base;
            }
            base = base.square();
            e >>= 1;
        }
        acc
    }

    /// `self^2`.
    #[inline]
    pub fn square(self) -> Fp {
        self * self
    }

    /// The multiplicative inverse, or `None` for zero.
    pub fn inverse(self) -> Option<Fp> {
        if self.is_zero() {
            None
        } else {
            Some(self.pow(P - 2))
        }
    }

    /// A primitive `2^log_n`-th root of unity (`log_n <= 32`).
    ///
    /// # Panics
    /// If `log_n > 32`: the field has no such root.
    pub fn two_adic_generator(log_n: u32) -> Fp {
        assert!(
            log_n <= Self::TWO_ADICITY,
            "Goldilocks has no 2^{log_n}-th root of unity"
        );
        // GENERATOR^((p-1)/2^32) has order exactly 2^32; square down to the wanted order.
        let mut g = Self::GENERATOR.pow((P - 1) >> Self::TWO_ADICITY);
        for _ in log_n..Self::TWO_ADICITY {
            g = g.square();
        }
        g
    }

    /// Little-endian bytes of the canonical representative.
    #[inline]
    pub const fn to_le_bytes(self) -> [u8; 8] {
        self.0.to_le_bytes()
    }
}

/// Reduces a 128-bit integer modulo `p`.
#[inline]
pub(crate) fn reduce128(x: u128) -> Fp {
    let lo = x as u64;
    let hi = (x >> 64) as u64;
    let hi_hi = hi >> 32;
    let hi_lo = hi & EPSILON;
    // lo - hi_hi * 2^96 = lo + hi_hi (as 2^96 = -1); on borrow the wrapped value is 2^64 too
    // big, and 2^64 = EPSILON.
    let (mut t0, borrow) = lo.overflowing_sub(hi_hi);
    if borrow {
        t0 = t0.wrapping_sub(EPSILON);
    }
    // hi_lo * 2^64 = hi_lo * EPSILON, which fits in u64.
    let t1 = hi_lo * EPSILON;
    let (mut res, carry) = t0.overflowing_add(t1);
    if carry {
        res = res.wrapping_add(EPSILON);
    }
    Fp::new(res)
}

impl Add for Fp {
    type Output = Fp;
    #[inline]
    fn add(self, rhs: Fp) -> Fp {
        let (sum, carry) = self.0.overflowing_add(rhs.0);
        // On carry the true sum is sum + 2^64 = sum + EPSILON (mod p), and sum < p - EPSILON.
        let sum = if carry { sum + EPSILON } else { sum };
        Fp::new(sum)
    }
}

impl Sub for Fp {
    type Output = Fp;
    #[inline]
    fn sub(self, rhs: Fp) -> Fp {
        let (diff, borrow) = self.0.overflowing_sub(rhs.0);
        // On borrow the wrapped value is 2^64 too big; 2^64 - p = EPSILON.
        Fp(if borrow {
            diff.wrapping_sub(EPSILON)
        } else {
            diff
        })
    }
}

impl Mul for Fp {
    type Output = Fp;
    #[inline]
    fn mul(self, rhs: Fp) -> Fp {
        reduce128(self.0 as u128 * rhs.0 as u128)
    }
}

impl Neg for Fp {
    type Output = Fp;
    #[inline]
    fn neg(self) -> Fp {
        if self.0 == 0 { self } else { Fp(P - self.0) }
    }
}

impl AddAssign for Fp {
    #[inline]
    fn add_assign(&mut self, rhs: Fp) {
        *self = *self + rhs;
    }
}

impl SubAssign for Fp {
    #[inline]
    fn sub_assign(&mut self, rhs: Fp) {
        *self = *self - rhs;
    }
}

impl MulAssign for Fp {
    #[inline]
    fn mul_assign(&mut self, rhs: Fp) {
        *self = *self * rhs;
    }
}

impl Sum for Fp {
    fn sum<I: Iterator<Item = Fp>>(iter: I) -> Fp {
        iter.fold(Fp::ZERO, Add::add)
    }
}

impl Product for Fp {
    fn product<I: Iterator<Item = Fp>>(iter: I) -> Fp {
        iter.fold(Fp::ONE, Mul::mul)
    }
}

impl From<u64> for Fp {
    fn from(v: u64) -> Fp {
        Fp::new(v)
    }
}

impl fmt::Debug for Fp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Fp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
