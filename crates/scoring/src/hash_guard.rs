//! The hash guard (§3.4): a validator never sends the same inputs twice.
//!
//! Before every request the reference validator hashes the inputs as
//! `sha256(json.dumps(sorted_recursively(inputs), sort_keys=True))` and drops the request if
//! the hash is among the last [`MAX_HASHES`] hashes (a set plus a FIFO). Sorting recursively
//! only orders dictionary keys: list order is kept. [`input_hash`] computes the same digest
//! bytes, so hashes agree with the Python validator's for the same inputs.

use std::collections::{HashSet, VecDeque};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::constants::MAX_HASHES;
use crate::error::{Result, ScoringError};
use crate::py_json::dumps_sorted;

/// A sha256 digest of canonical input JSON.
pub type InputHash = [u8; 32];

/// `sha256(json.dumps(inputs, sort_keys=True).encode())`, the reference's input hash.
pub fn input_hash(inputs: &Value) -> InputHash {
    Sha256::digest(dumps_sorted(inputs).as_bytes()).into()
}

/// Lowercase hex of a hash, as Python's `hexdigest()` prints it.
pub fn hash_hex(hash: &InputHash) -> String {
    hex::encode(hash)
}

/// The last `capacity` input hashes, oldest first, with O(1) membership.
#[derive(Debug, Clone)]
pub struct HashGuard {
    set: HashSet<InputHash>,
    order: VecDeque<InputHash>,
    capacity: usize,
}

impl Default for HashGuard {
    fn default() -> Self {
        Self::with_capacity(MAX_HASHES)
    }
}

impl HashGuard {
    /// An empty guard remembering at most `capacity` hashes (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            set: HashSet::with_capacity(capacity.min(MAX_HASHES)),
            order: VecDeque::with_capacity(capacity.min(MAX_HASHES)),
            capacity,
        }
    }

    /// Rebuilds a guard from stored hashes, oldest first; only the newest `capacity` are kept.
    pub fn from_hashes(capacity: usize, hashes: impl IntoIterator<Item = InputHash>) -> Self {
        let mut guard = Self::with_capacity(capacity);
        for h in hashes {
            // A duplicate in storage would be a corrupt store; keeping the first is harmless.
            let _ = guard.insert(h);
        }
        guard
    }

    /// Records `hash`, evicting the oldest when full. Returns the evicted hash, if any.
    ///
    /// # Errors
    /// [`ScoringError::DuplicateInput`] if the hash is already present; nothing changes.
    pub fn insert(&mut self, hash: InputHash) -> Result<Option<InputHash>> {
        if self.set.contains(&hash) {
            return Err(ScoringError::DuplicateInput {
                hash: hash_hex(&hash),
            });
        }
        let evicted = if self.order.len() >= self.capacity {
            let old = self.order.pop_front();
            if let Some(old) = old {
                self.set.remove(&old);
            }
            old
        } else {
            None
        };
        self.set.insert(hash);
        self.order.push_back(hash);
        Ok(evicted)
    }

    /// Hashes `inputs` and records the hash; see [`HashGuard::insert`].
    pub fn check_inputs(&mut self, inputs: &Value) -> Result<InputHash> {
        let hash = input_hash(inputs);
        self.insert(hash)?;
        Ok(hash)
    }

    /// Forgets a hash (later reference versions do this when a request fails, so that it can
    /// be retried). Returns whether it was present.
    pub fn remove(&mut self, hash: &InputHash) -> bool {
        if self.set.remove(hash) {
            self.order.retain(|h| h != hash);
            true
        } else {
            false
        }
    }

    /// Whether `hash` is remembered.
    pub fn contains(&self, hash: &InputHash) -> bool {
        self.set.contains(hash)
    }

    /// Number of remembered hashes.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no hash is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The remembered hashes, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &InputHash> {
        self.order.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_of_known_input_matches_python() {
        // python3 -c 'import json,hashlib; print(hashlib.sha256(json.dumps(
        //   {"b": [3, 1], "a": 0.5}, sort_keys=True).encode()).hexdigest())'
        let h = input_hash(&json!({"b": [3, 1], "a": 0.5}));
        assert_eq!(
            hash_hex(&h),
            "ea6a309fe9c3c8d7ff1750948c37e109321cc6993f7a97fff069b4c2d94323b2"
        );
    }

    #[test]
    fn key_order_does_not_matter_but_list_order_does() {
        let a = input_hash(&json!({"x": 1, "y": [1, 2]}));
        let b = input_hash(&json!({"y": [1, 2], "x": 1}));
        let c = input_hash(&json!({"x": 1, "y": [2, 1]}));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn duplicates_are_rejected_and_fifo_evicts_oldest() {
        let mut g = HashGuard::with_capacity(3);
        let h = |b: u8| [b; 32];
        assert_eq!(g.insert(h(1)), Ok(None));
        assert!(matches!(
            g.insert(h(1)),
            Err(ScoringError::DuplicateInput { .. })
        ));
        assert_eq!(g.insert(h(2)), Ok(None));
        assert_eq!(g.insert(h(3)), Ok(None));
        assert_eq!(g.insert(h(4)), Ok(Some(h(1))));
        assert!(!g.contains(&h(1)));
        // The evicted hash may be used again.
        assert_eq!(g.insert(h(1)), Ok(Some(h(2))));
        assert_eq!(
            g.iter().copied().collect::<Vec<_>>(),
            vec![h(3), h(4), h(1)]
        );
        assert!(g.remove(&h(4)));
        assert!(!g.remove(&h(4)));
        assert_eq!(g.len(), 2);
    }

    #[test]
    fn rebuild_keeps_the_newest() {
        let g = HashGuard::from_hashes(2, [[1; 32], [2; 32], [3; 32]]);
        assert_eq!(
            g.iter().copied().collect::<Vec<_>>(),
            vec![[2; 32], [3; 32]]
        );
    }

    #[test]
    fn check_inputs_rejects_repeats() {
        let mut g = HashGuard::default();
        let v = json!({"nonce": 7, "list_items": [0.1, 0.2]});
        g.check_inputs(&v).unwrap();
        assert!(g.check_inputs(&v).is_err());
        assert!(
            g.check_inputs(&json!({"nonce": 8, "list_items": [0.1, 0.2]}))
                .is_ok()
        );
    }
}
