//! CPython's `random.Random`, reproduced bit for bit for the parts the subnet uses: seeding
//! with an integer, `getrandbits`, `_randbelow`, `shuffle` and `random`.
//!
//! The validator shuffles uids into miner groups with `random.Random(seed).shuffle(uids)`,
//! where `seed` is a 256-bit integer derived from a block hash (§5.9). Every validator and miner
//! must agree on the result, so this is the exact algorithm:
//!
//! * the generator is MT19937 (Matsumoto and Nishimura's reference `init_genrand`,
//!   `init_by_array` and tempering);
//! * an integer seed `n` becomes the key of `init_by_array`: the 32-bit words of `|n|`, least
//!   significant first, without leading zero words (one zero word for `n = 0`);
//! * `getrandbits(k)` fills 32-bit words least significant first, each from one output, the
//!   last one shifted right by `32 - k % 32` bits;
//! * `_randbelow(n)` draws `getrandbits(n.bit_length())` until the value is below `n`;
//! * `shuffle(x)` swaps `x[i]` with `x[_randbelow(i + 1)]` for `i` from `len - 1` down to 1.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// CPython's Mersenne Twister `random.Random`.
#[derive(Clone)]
pub struct PyRandom {
    state: [u32; N],
    index: usize,
}

impl std::fmt::Debug for PyRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyRandom")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl PyRandom {
    fn init_genrand(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self { state, index: N }
    }

    fn init_by_array(key: &[u32]) -> Self {
        let mut rng = Self::init_genrand(19_650_218);
        let mt = &mut rng.state;
        let key_len = key.len().max(1);
        let mut i = 1usize;
        let mut j = 0usize;
        for _ in 0..N.max(key_len) {
            let prev = mt[i - 1];
            let k = key.get(j).copied().unwrap_or(0);
            mt[i] = (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(k)
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key_len {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1];
            mt[i] =
                (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        rng
    }

    /// `random.Random(n)` for a non-negative integer given as 32-bit words, least significant
    /// first. Leading zero words are ignored, as CPython does.
    pub fn from_seed_words(words_le: &[u32]) -> Self {
        let used = words_le
            .iter()
            .rposition(|&w| w != 0)
            .map_or(1, |top| top + 1);
        let key: Vec<u32> = (0..used)
            .map(|i| words_le.get(i).copied().unwrap_or(0))
            .collect();
        Self::init_by_array(&key)
    }

    /// `random.Random(n)` for a 64-bit integer seed.
    pub fn from_u64(seed: u64) -> Self {
        Self::from_seed_words(&[seed as u32, (seed >> 32) as u32])
    }

    /// `random.Random(int.from_bytes(bytes, "big"))`: the seed is a big-endian unsigned
    /// integer, e.g. `int(sha256(...).hexdigest(), 16)` given the 32 digest bytes.
    pub fn from_be_bytes(bytes: &[u8]) -> Self {
        let words: Vec<u32> = bytes
            .rchunks(4)
            .map(|chunk| chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
            .collect();
        Self::from_seed_words(&words)
    }

    fn refill(&mut self) {
        let mt = &mut self.state;
        for kk in 0..N {
            let y = (mt[kk] & UPPER_MASK) | (mt[(kk + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            mt[kk] = mt[(kk + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// The next tempered 32-bit output (`genrand_uint32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.refill();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `getrandbits(k)` for `k <= 128`.
    ///
    /// # Panics
    /// If `k > 128` (a programming error: no caller needs more).
    pub fn getrandbits(&mut self, k: u32) -> u128 {
        assert!(
            k <= 128,
            "getrandbits supports at most 128 bits here, got {k}"
        );
        if k == 0 {
            return 0;
        }
        if k <= 32 {
            return u128::from(self.next_u32() >> (32 - k));
        }
        let mut result: u128 = 0;
        let mut remaining = k;
        let mut shift = 0;
        while remaining > 0 {
            let mut word = self.next_u32();
            if remaining < 32 {
                word >>= 32 - remaining;
            }
            result |= u128::from(word) << shift;
            shift += 32;
            remaining = remaining.saturating_sub(32);
        }
        result
    }

    /// `_randbelow(n)`: a uniform integer in `[0, n)` by rejection sampling; `0` for `n = 0`.
    pub fn randbelow(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k) as u64;
            if r < n {
                return r;
            }
        }
    }

    /// `shuffle(x)` in place.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.randbelow(i as u64 + 1) as usize;
            x.swap(i, j);
        }
    }

    /// `random()`: a float in `[0, 1)` with 53 random bits.
    pub fn random(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) * (1.0 / 9_007_199_254_740_992.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_mt19937_output_for_init_by_array() {
        // The published test vector of mt19937ar.c: init_by_array({0x123, 0x234, 0x345, 0x456}).
        let mut rng = PyRandom::init_by_array(&[0x123, 0x234, 0x345, 0x456]);
        let first: Vec<u32> = (0..5).map(|_| rng.next_u32()).collect();
        assert_eq!(
            first,
            vec![
                1_067_595_299,
                955_945_823,
                477_289_528,
                4_107_218_783,
                4_228_976_476
            ]
        );
    }

    #[test]
    fn python_random_seed_42() {
        // random.Random(42).random() == 0.6394267984578837 and .getrandbits(32) on a fresh one.
        let mut rng = PyRandom::from_u64(42);
        assert_eq!(rng.random(), 0.639_426_798_457_883_7);
        let mut rng = PyRandom::from_u64(42);
        assert_eq!(rng.getrandbits(32), 2_746_317_213);
    }

    #[test]
    fn python_shuffle_of_ten_with_seed_zero() {
        // random.Random(0).shuffle(list(range(10)))
        let mut v: Vec<u32> = (0..10).collect();
        PyRandom::from_u64(0).shuffle(&mut v);
        assert_eq!(v, vec![7, 8, 1, 5, 3, 4, 2, 0, 9, 6]);
    }

    #[test]
    fn leading_zero_words_do_not_change_the_key() {
        let mut a = PyRandom::from_seed_words(&[5, 0, 0]);
        let mut b = PyRandom::from_u64(5);
        let mut c = PyRandom::from_be_bytes(&[0, 0, 0, 0, 0, 0, 0, 5]);
        for _ in 0..10 {
            let x = a.next_u32();
            assert_eq!(x, b.next_u32());
            assert_eq!(x, c.next_u32());
        }
    }

    #[test]
    fn randbelow_stays_below() {
        let mut rng = PyRandom::from_u64(7);
        for n in 1..200u64 {
            assert!(rng.randbelow(n) < n);
        }
        assert_eq!(rng.randbelow(0), 0);
    }
}
