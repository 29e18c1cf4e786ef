//! The base field (Goldilocks) and its quadratic extension, with batch inversion.

mod ext;
mod goldilocks;

pub use ext::Ext;
pub use goldilocks::{Fp, P};

/// Inverts every element of `values` in place with one field inversion (Montgomery's trick).
/// Returns `false`, leaving `values` unchanged, if any element is zero.
pub fn batch_inverse(values: &mut [Ext]) -> bool {
    let mut prefix = Vec::with_capacity(values.len());
    let mut acc = Ext::ONE;
    for v in values.iter() {
        prefix.push(acc);
        acc *= *v;
    }
    let Some(mut inv) = acc.inverse() else {
        return false;
    };
    for (v, before) in values.iter_mut().zip(prefix).rev() {
        let next = inv * *v;
        *v = inv * before;
        inv = next;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn rand_fp(rng: &mut impl Rng) -> Fp {
        Fp::new(rng.r#gen::<u64>())
    }

    fn rand_ext(rng: &mut impl Rng) -> Ext {
        Ext::new(rand_fp(rng), rand_fp(rng))
    }

    /// The extension product against its definition, `a0 b0 + 7 a1 b1` and `a0 b1 + a1 b0`
    /// reduced with `%` on 128-bit integers: on random elements and on the largest ones, where
    /// the lazily reduced sums come closest to overflowing.
    #[test]
    fn extension_product_matches_the_definition() {
        let p = P as u128;
        let reference = |a: Ext, b: Ext| {
            let [a0, a1] = a.coeffs().map(|c| c.as_u64() as u128);
            let [b0, b1] = b.coeffs().map(|c| c.as_u64() as u128);
            let c0 = (a0 * b0 % p + 7 * (a1 * b1 % p)) % p;
            let c1 = (a0 * b1 % p + a1 * b0 % p) % p;
            Ext::new(Fp::new(c0 as u64), Fp::new(c1 as u64))
        };
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let edges = [0, 1, 2, 7, P - 1, P - 2, 1 << 63, (1 << 32) - 1, 1 << 32];
        let edge = |i: usize| Fp::new(edges[i % edges.len()]);
        for i in 0..edges.len().pow(4) {
            let n = edges.len();
            let a = Ext::new(edge(i), edge(i / n));
            let b = Ext::new(edge(i / (n * n)), edge(i / (n * n * n)));
            assert_eq!(a * b, reference(a, b), "{a:?} * {b:?}");
        }
        for _ in 0..10_000 {
            let (a, b) = (rand_ext(&mut rng), rand_ext(&mut rng));
            assert_eq!(a * b, reference(a, b), "{a:?} * {b:?}");
        }
    }

    /// Ring and field laws, checked on seeded random elements; each message names the law.
    fn check_laws<F>(mut sample: impl FnMut() -> F, zero: F, one: F, inv: impl Fn(F) -> Option<F>)
    where
        F: Copy
            + PartialEq
            + core::fmt::Debug
            + core::ops::Add<Output = F>
            + core::ops::Sub<Output = F>
            + core::ops::Mul<Output = F>
            + core::ops::Neg<Output = F>,
    {
        for _ in 0..1000 {
            let (a, b, c) = (sample(), sample(), sample());
            assert_eq!(a + b, b + a, "addition commutes");
            assert_eq!(a * b, b * a, "multiplication commutes");
            assert_eq!((a + b) + c, a + (b + c), "addition associates");
            assert_eq!((a * b) * c, a * (b * c), "multiplication associates");
            assert_eq!(a * (b + c), a * b + a * c, "multiplication distributes");
            assert_eq!(a + zero, a, "zero is the additive identity");
            assert_eq!(a * one, a, "one is the multiplicative identity");
            assert_eq!(a + (-a), zero, "negation is the additive inverse");
            assert_eq!(a - b, a + (-b), "subtraction adds the negation");
            if a != zero {
                assert_eq!(
                    a * inv(a).unwrap(),
                    one,
                    "inverse is the multiplicative inverse"
                );
            }
        }
        assert_eq!(inv(zero), None, "zero has no inverse");
    }

    #[test]
    fn base_field_laws() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        check_laws(|| rand_fp(&mut rng), Fp::ZERO, Fp::ONE, Fp::inverse);
        // Edge values around the modulus.
        let edges = [0, 1, 2, P - 1, P - 2, 1 << 32, (1 << 32) - 1, u64::MAX];
        for &a in &edges {
            for &b in &edges {
                let (fa, fb) = (Fp::new(a), Fp::new(b));
                let want = ((fa.as_u64() as u128 * fb.as_u64() as u128) % P as u128) as u64;
                assert_eq!((fa * fb).as_u64(), want, "product of {a} and {b}");
                let want = ((fa.as_u64() as u128 + fb.as_u64() as u128) % P as u128) as u64;
                assert_eq!((fa + fb).as_u64(), want, "sum of {a} and {b}");
            }
        }
    }

    #[test]
    fn base_field_matches_big_integer_arithmetic() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for _ in 0..10_000 {
            let (a, b) = (rng.r#gen::<u64>() % P, rng.r#gen::<u64>() % P);
            let prod = ((a as u128 * b as u128) % P as u128) as u64;
            assert_eq!((Fp::new(a) * Fp::new(b)).as_u64(), prod);
            let diff = ((a as u128 + P as u128 - b as u128) % P as u128) as u64;
            assert_eq!((Fp::new(a) - Fp::new(b)).as_u64(), diff);
        }
    }

    #[test]
    fn extension_field_laws() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        check_laws(|| rand_ext(&mut rng), Ext::ZERO, Ext::ONE, Ext::inverse);
    }

    #[test]
    fn seven_is_a_non_residue() {
        assert_eq!(Fp::new(7).pow((P - 1) / 2), -Fp::ONE);
    }

    #[test]
    fn signed_integers_round_trip() {
        for v in [0i64, 1, -1, 12345, -12345, i64::MAX / 4, -(i64::MAX / 4)] {
            assert_eq!(Fp::from_i64(v).as_i64(), v);
        }
        assert_eq!(Fp::from_i64(-1), -Fp::ONE);
        assert_eq!(Fp::from_canonical(P), None);
    }

    #[test]
    fn roots_of_unity_have_exact_order() {
        for log_n in [1, 2, 10, 32] {
            let g = Fp::two_adic_generator(log_n);
            assert_eq!(g.pow(1 << log_n), Fp::ONE);
            assert_ne!(g.pow(1 << (log_n - 1)), Fp::ONE);
        }
    }

    #[test]
    fn batch_inverse_matches_single_inverses() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let values: Vec<Ext> = (0..33).map(|_| rand_ext(&mut rng)).collect();
        let mut inv = values.clone();
        assert!(batch_inverse(&mut inv));
        for (v, i) in values.iter().zip(&inv) {
            assert_eq!(*v * *i, Ext::ONE);
        }
        let mut with_zero = vec![Ext::ONE, Ext::ZERO];
        assert!(!batch_inverse(&mut with_zero));
        assert_eq!(with_zero, vec![Ext::ONE, Ext::ZERO]);
    }
}
