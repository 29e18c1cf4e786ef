//! A binary Merkle tree over BLAKE3 with batched (deduplicated) openings.
//!
//! Leaves and inner nodes are hashed with BLAKE3 in keyed mode under two different fixed keys,
//! so a leaf can never be confused with a node. Domain separation by key rather than by a
//! prefix byte keeps a node (64 bytes) and a leaf of up to 64 bytes at one compression instead
//! of two. An opening of a set of leaves sends, level by level, only the sibling hashes the
//! verifier cannot compute from the opened leaves themselves, in ascending index order: both
//! sides walk the same deterministic path.

use crate::{ProverChannel, VerifierChannel, VerifyError};

/// A 32-byte digest.
pub type Digest = [u8; 32];

/// The key under which leaves are hashed.
const LEAF_KEY: &[u8; 32] = b"omron-rs merkle leaf, keyed v1..";
/// The key under which inner nodes are hashed.
const NODE_KEY: &[u8; 32] = b"omron-rs merkle node, keyed v1..";

/// Hashes one leaf.
pub fn hash_leaf(bytes: &[u8]) -> Digest {
    *blake3::keyed_hash(LEAF_KEY, bytes).as_bytes()
}

fn hash_node(left: &Digest, right: &Digest) -> Digest {
    let mut both = [0u8; 64];
    both[..32].copy_from_slice(left);
    both[32..].copy_from_slice(right);
    *blake3::keyed_hash(NODE_KEY, &both).as_bytes()
}

/// A Merkle tree with all levels kept (level 0 = leaves).
#[derive(Debug, Clone)]
pub struct MerkleTree {
    levels: Vec<Vec<Digest>>,
}

impl MerkleTree {
    /// Builds the tree over leaf digests (a power-of-two count).
    pub fn new(leaves: Vec<Digest>) -> MerkleTree {
        debug_assert!(leaves.len().is_power_of_two());
        let mut levels = vec![leaves];
        while levels[levels.len() - 1].len() > 1 {
            let prev = &levels[levels.len() - 1];
            let next = crate::par::map_range(prev.len() / 2, |i| {
                hash_node(&prev[2 * i], &prev[2 * i + 1])
            });
            levels.push(next);
        }
        MerkleTree { levels }
    }

    /// The root.
    pub fn root(&self) -> Digest {
        self.levels[self.levels.len() - 1][0]
    }

    /// Sends the sibling hashes that open the (sorted, distinct) leaf `indices`.
    pub fn open(&self, indices: &[usize], ch: &mut ProverChannel) {
        let mut current: Vec<usize> = indices.to_vec();
        for level in &self.levels[..self.levels.len() - 1] {
            let mut next = Vec::with_capacity(current.len());
            let mut i = 0;
            while i < current.len() {
                let idx = current[i];
                let sibling = idx ^ 1;
                if i + 1 < current.len() && current[i + 1] == sibling {
                    i += 2;
                } else {
                    ch.send_digest(b"merkle-sibling", &level[sibling]);
                    i += 1;
                }
                next.push(idx >> 1);
            }
            current = next;
        }
    }
}

/// Checks that the leaves with `digests` at the sorted, distinct `indices` belong to a tree of
/// `2^depth` leaves with the given `root`, reading the siblings from the proof.
pub fn verify_opening(
    root: &Digest,
    depth: u32,
    indices: &[usize],
    digests: &[Digest],
    what: &'static str,
    ch: &mut VerifierChannel<'_>,
) -> Result<(), VerifyError> {
    debug_assert_eq!(indices.len(), digests.len());
    let mut current: Vec<(usize, Digest)> = indices
        .iter()
        .copied()
        .zip(digests.iter().copied())
        .collect();
    for _ in 0..depth {
        let mut next = Vec::with_capacity(current.len());
        let mut i = 0;
        while i < current.len() {
            let (idx, digest) = current[i];
            let sibling = idx ^ 1;
            let sibling_digest = if i + 1 < current.len() && current[i + 1].0 == sibling {
                i += 1;
                current[i].1
            } else {
                ch.recv_digest(b"merkle-sibling")?
            };
            i += 1;
            let parent = if idx & 1 == 0 {
                hash_node(&digest, &sibling_digest)
            } else {
                hash_node(&sibling_digest, &digest)
            };
            next.push((idx >> 1, parent));
        }
        current = next;
    }
    match current.as_slice() {
        [(0, top)] if top == root => Ok(()),
        _ => Err(VerifyError::Merkle { what }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Transcript;

    fn tree(n: usize) -> (MerkleTree, Vec<Digest>) {
        let leaves: Vec<Digest> = (0..n)
            .map(|i| hash_leaf(&(i as u64).to_le_bytes()))
            .collect();
        (MerkleTree::new(leaves.clone()), leaves)
    }

    #[test]
    fn batched_openings_verify_and_share_siblings() {
        let (t, leaves) = tree(16);
        for indices in [
            vec![0usize],
            vec![3, 4],
            vec![0, 1, 2, 3],
            vec![1, 7, 8, 15],
        ] {
            let tr = Transcript::new(b"m");
            let mut pc = ProverChannel::new(tr.clone());
            t.open(&indices, &mut pc);
            let proof = pc.finish();
            let digests: Vec<Digest> = indices.iter().map(|&i| leaves[i]).collect();
            let mut vc = VerifierChannel::new(tr, &proof, 1 << 16).unwrap();
            verify_opening(&t.root(), 4, &indices, &digests, "test", &mut vc).unwrap();
            vc.finish().unwrap();
        }
        // Opening a full subtree needs only the path above it.
        let tr = Transcript::new(b"m");
        let mut pc = ProverChannel::new(tr);
        t.open(&[0, 1, 2, 3], &mut pc);
        assert_eq!(pc.len(), 2 * 32);
    }

    /// Leaves and nodes are hashed under different keys: the same 64 bytes give different
    /// digests as a leaf and as a node.
    #[test]
    fn leaves_and_nodes_are_domain_separated() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let mut both = [0u8; 64];
        both[..32].copy_from_slice(&a);
        both[32..].copy_from_slice(&b);
        assert_ne!(hash_leaf(&both), hash_node(&a, &b));
        assert_ne!(hash_leaf(&both), *blake3::hash(&both).as_bytes());
    }

    #[test]
    fn wrong_leaf_or_sibling_is_rejected() {
        let (t, leaves) = tree(8);
        let tr = Transcript::new(b"m");
        let mut pc = ProverChannel::new(tr.clone());
        t.open(&[2, 5], &mut pc);
        let proof = pc.finish();
        let mut vc = VerifierChannel::new(tr.clone(), &proof, 1 << 16).unwrap();
        let bad = [leaves[2], leaves[4]];
        assert!(verify_opening(&t.root(), 3, &[2, 5], &bad, "t", &mut vc).is_err());
        let mut tampered = proof.clone();
        tampered[40] ^= 1;
        let mut vc = VerifierChannel::new(tr, &tampered, 1 << 16).unwrap();
        let good = [leaves[2], leaves[5]];
        assert!(verify_opening(&t.root(), 3, &[2, 5], &good, "t", &mut vc).is_err());
    }
}
