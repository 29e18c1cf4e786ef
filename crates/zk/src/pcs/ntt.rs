//! Radix-2 number-theoretic transform over Goldilocks: coefficients to evaluations on the
//! subgroup of order `2^k`, in natural order (`out[i] = f(ω^i)`).

use crate::Fp;

/// Evaluates the polynomial with `coeffs` (zero-padded to `2^log_n`) at `ω^i` for every
/// `i < 2^log_n`, where `ω` is [`Fp::two_adic_generator`]`(log_n)`.
pub fn evaluate_on_subgroup(coeffs: &[Fp], log_n: u32) -> Vec<Fp> {
    let n = 1usize << log_n;
    assert!(
        coeffs.len() <= n,
        "{} coefficients do not fit a domain of {n}",
        coeffs.len()
    );
    let mut a = vec![Fp::ZERO; n];
    // Bit-reversed load, then in-place Cooley-Tukey butterflies.
    for (i, &c) in coeffs.iter().enumerate() {
        a[reverse_bits(i, log_n)] = c;
    }
    let omega = Fp::two_adic_generator(log_n);
    // Twiddles for the largest stage: ω^j, j < n/2; smaller stages take every 2^s-th one.
    let mut twiddles = Vec::with_capacity(n / 2);
    let mut w = Fp::ONE;
    for _ in 0..n / 2 {
        twiddles.push(w);
        w *= omega;
    }
    let mut len = 2;
    while len <= n {
        let half = len / 2;
        let step = n / len;
        for start in (0..n).step_by(len) {
            for j in 0..half {
                let t = twiddles[j * step] * a[start + j + half];
                let u = a[start + j];
                a[start + j] = u + t;
                a[start + j + half] = u - t;
            }
        }
        len *= 2;
    }
    a
}

fn reverse_bits(i: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        i.reverse_bits() >> (usize::BITS - bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_naive_evaluation() {
        let coeffs: Vec<Fp> = (0..11).map(|i| Fp::new(i * i + 3)).collect();
        let log_n = 5;
        let evals = evaluate_on_subgroup(&coeffs, log_n);
        let omega = Fp::two_adic_generator(log_n);
        for (i, e) in evals.iter().enumerate() {
            let x = omega.pow(i as u64);
            let want = coeffs.iter().rev().fold(Fp::ZERO, |acc, &c| acc * x + c);
            assert_eq!(*e, want, "point {i}");
        }
    }

    #[test]
    fn trivial_domain() {
        assert_eq!(evaluate_on_subgroup(&[Fp::new(9)], 0), vec![Fp::new(9)]);
    }
}
