//! Just enough 256-bit unsigned arithmetic for one step of the incentive function:
//! `floor(shift^5 / 7562500000000000000000000000000)`.
//!
//! The circuit bounds `shift` below `2^40`, so `shift^5 < 2^200`: more than `u128` holds once
//! `shift` exceeds `50_859_008`. The shipped parameters keep `shift <= 5e7`, where `u128` is
//! enough, barely: `(5e7)^5 = 3.125e38 < 2^128 ~ 3.4e38`. Any `MAXIMUM_RESPONSE_TIME_DECIMAL`
//! the circuit accepts must still give the right answer, so the wide path exists and is tested
//! against the narrow one and against Python.

/// 256-bit unsigned integer, four little-endian 64-bit limbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct U256([u64; 4]);

impl U256 {
    /// Full product of two 128-bit numbers.
    fn mul_u128(a: u128, b: u128) -> Self {
        let a = [a as u64, (a >> 64) as u64];
        let b = [b as u64, (b >> 64) as u64];
        let mut limbs = [0u64; 4];
        for (i, &ai) in a.iter().enumerate() {
            let mut carry: u128 = 0;
            for (j, &bj) in b.iter().enumerate() {
                let cur = u128::from(limbs[i + j]) + u128::from(ai) * u128::from(bj) + carry;
                limbs[i + j] = cur as u64;
                carry = cur >> 64;
            }
            // i + 2 <= 3: the top limb of this row receives the final carry.
            let cur = u128::from(limbs[i + 2]) + carry;
            limbs[i + 2] = cur as u64;
            debug_assert!(cur >> 64 == 0, "a 128x128 product fits 256 bits");
        }
        U256(limbs)
    }

    fn bit(&self, i: usize) -> bool {
        (self.0[i / 64] >> (i % 64)) & 1 == 1
    }

    /// `floor(self / d)` as `u128`, or `None` when the quotient needs more than 128 bits.
    /// `d` must be non-zero and below `2^127` so that the running remainder can shift left.
    fn div_to_u128(&self, d: u128) -> Option<u128> {
        debug_assert!(d != 0 && d < (1u128 << 127));
        let mut rem: u128 = 0;
        let mut quotient: u128 = 0;
        for i in (0..256).rev() {
            rem = (rem << 1) | u128::from(self.bit(i));
            let take = rem >= d;
            if take {
                rem -= d;
            }
            if i >= 128 {
                if take {
                    return None;
                }
            } else if take {
                quotient |= 1u128 << i;
            }
        }
        Some(quotient)
    }
}

/// `floor(shift^5 / divisor)`, exact for every `shift < 2^40` and `0 < divisor < 2^127`.
/// `None` if the quotient exceeds `u128` (impossible for the circuit's divisor and bound).
pub(crate) fn pow5_floor_div(shift: u64, divisor: u128) -> Option<u128> {
    let s = u128::from(shift);
    let s2 = s * s; // < 2^128 for shift < 2^64
    let narrow = s2.checked_mul(s).and_then(|s3| s3.checked_mul(s2));
    match narrow {
        Some(s5) => Some(s5 / divisor),
        None => {
            // shift < 2^40 keeps shift^3 < 2^120, so the product s^3 * s^2 fits 256 bits.
            let s3 = s2.checked_mul(s)?;
            U256::mul_u128(s3, s2).div_to_u128(divisor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D5: u128 = 7_562_500_000_000_000_000_000_000_000_000;

    #[test]
    fn narrow_and_wide_paths_agree_where_both_apply() {
        // 50_859_008 is the largest shift whose fifth power fits u128.
        for shift in [0u64, 1, 2, 1000, 49_999_999, 50_000_000, 50_859_008] {
            let s = u128::from(shift);
            let direct = s.pow(5) / D5;
            let wide = U256::mul_u128(s.pow(3), s.pow(2)).div_to_u128(D5);
            assert_eq!(wide, Some(direct), "shift {shift}");
            assert_eq!(pow5_floor_div(shift, D5), Some(direct), "shift {shift}");
        }
        assert!(50_859_009u128.checked_pow(5).is_none());
        // Values from Python's exact integers: s**5 // D5.
        assert_eq!(pow5_floor_div(50_859_009, D5), Some(44_996_017));
        assert_eq!(pow5_floor_div(60_000_000, D5), Some(102_823_140));
    }

    #[test]
    fn wide_path_matches_known_values() {
        // 2^39: shift^5 = 2^195; floor(2^195 / D5) computed independently with Python ints.
        let shift = 1u64 << 39;
        assert_eq!(
            pow5_floor_div(shift, D5),
            Some(6_640_239_852_309_877_171_661_000_381)
        );
        // (2^40 - 1)^5 is the largest value the circuit admits.
        assert_eq!(
            pow5_floor_div((1u64 << 40) - 1, D5),
            Some(212_487_675_272_949_787_418_885_404_301)
        );
    }

    #[test]
    fn product_of_two_u128_is_exact() {
        let a = u128::MAX;
        let b = u128::MAX;
        // (2^128 - 1)^2 = 2^256 - 2^129 + 1
        let p = U256::mul_u128(a, b);
        assert_eq!(p.0, [1, 0, u64::MAX - 1, u64::MAX]);
    }

    #[test]
    fn oversized_quotient_is_reported() {
        let big = U256::mul_u128(u128::MAX, u128::MAX);
        assert_eq!(big.div_to_u128(3), None);
    }
}
