//! Commit-reveal v2: the hash a validator commits to, exactly as the runtime recomputes it on
//! reveal (no drand involved, so it works on an offline chain).

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use omron_keys::AccountId;
use parity_scale_codec::Encode;

use crate::types::NetUid;

/// `blake2b_256(SCALE((hotkey, netuid, uids, values, salt, version_key)))`.
pub fn weights_commit_hash(
    hotkey: &AccountId,
    netuid: NetUid,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> [u8; 32] {
    let encoded = (hotkey.as_bytes(), netuid, uids, values, salt, version_key).encode();
    let mut hasher = Blake2b::<U32>::new();
    hasher.update(&encoded);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_sdk_vector() {
        // spec 3.4: Alice, netuid 1, uids [0,1,2], values [65535,32768,0], salt [1..8], vk 0.
        let alice = omron_keys::Keypair::from_uri("//Alice").unwrap().public();
        let hash = weights_commit_hash(
            &alice,
            1,
            &[0, 1, 2],
            &[65535, 32768, 0],
            &[1, 2, 3, 4, 5, 6, 7, 8],
            0,
        );
        assert_eq!(
            hex::encode(hash),
            "488e53be58838493ed9af84425262bf229cb06294551346ebc32eb200f685d80"
        );
    }

    #[test]
    fn any_field_changes_the_hash() {
        let alice = omron_keys::Keypair::from_uri("//Alice").unwrap().public();
        let base = weights_commit_hash(&alice, 1, &[0], &[1], &[2], 3);
        assert_ne!(base, weights_commit_hash(&alice, 2, &[0], &[1], &[2], 3));
        assert_ne!(base, weights_commit_hash(&alice, 1, &[0], &[1], &[2], 4));
        assert_ne!(base, weights_commit_hash(&alice, 1, &[0], &[1], &[3], 3));
    }
}
