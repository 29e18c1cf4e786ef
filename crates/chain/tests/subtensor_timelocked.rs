//! Timelocked weight commits (CRv3/CRv4) through the client's call builder, offline, against
//! finney's December 2025 metadata (`shared/data/subtensor/finney.scale`) and the spec-218
//! runtime's (`tests/fixtures/subtensor-spec218.scale`): which weights mode each runtime's
//! metadata leads to, and the commit call the client builds, encoded by subxt against finney's
//! types, then decoded back byte by byte to its arguments, its ciphertext opened with quicknet's
//! real signature of the round it was encrypted to, and the plaintext decoded to our payload.

// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use omron_chain::subtensor::timelocked::{commit_call, mode_for, offers, timelocked_call};
use omron_chain::{ChainError, CommitRevealMode};
use omron_keys::Keypair;
use omron_timelock::{
    CommitCall, CommitRevealVersion, DecodedPayload, LegacyWeightsTlockPayload, Weights,
    WeightsTlockPayload, commit_for_round, decrypt, quicknet,
};
use parity_scale_codec::Decode;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use subxt::config::SubstrateConfig;
use subxt::config::substrate::SpecVersionForRange;
use subxt::{Metadata, OfflineClient};

/// Quicknet's published signature of round 1000 (`api.drand.sh/52db9ba7…e971/public/1000`, as
/// recorded in `opentensor/subtensor`'s `pallets/drand` tests; omron-timelock's tests check it
/// against the public key, and so does [`round_1000_signature`]).
const ROUND_1000_SIGNATURE: &str = "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39";

const NETUID: u16 = 2;
const UIDS: [u16; 3] = [0, 1, 2];
const VALUES: [u16; 3] = [65535, 32768, 0];
const VERSION_KEY: u64 = 11002;

fn finney() -> Metadata {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/subtensor/finney.scale"
    );
    let bytes = std::fs::read(path).expect("shared/data/subtensor/finney.scale");
    Metadata::decode_from(&bytes[..]).expect("finney metadata decodes")
}

fn spec_218() -> Metadata {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/subtensor-spec218.scale"
    );
    let bytes = std::fs::read(path).expect("tests/fixtures/subtensor-spec218.scale");
    Metadata::decode_from(&bytes[..]).expect("spec 218 metadata decodes")
}

fn call_data(md: Metadata, call: &omron_chain::subtensor::calls::CallPayload) -> Vec<u8> {
    let config = SubstrateConfig::builder()
        .set_genesis_hash(subxt::utils::H256([7; 32]))
        .set_spec_version_for_block_ranges([SpecVersionForRange {
            block_range: 0..u64::MAX,
            spec_version: 425,
            transaction_version: 1,
        }])
        .set_metadata_for_spec_versions([(425, Arc::new(md))])
        .build();
    OfflineClient::new_with_config(config)
        .at_block(1u64)
        .unwrap()
        .tx()
        .call_data(call)
        .unwrap()
}

fn round_1000_signature() -> Vec<u8> {
    let sig = hex::decode(ROUND_1000_SIGNATURE).unwrap();
    quicknet::verify_round_signature(1000, &sig).unwrap();
    sig
}

fn alice() -> omron_keys::AccountId {
    Keypair::from_uri("//Alice").unwrap().public()
}

/// Our weights encrypted to round 1000 (forced: the client aims at a round in the future).
fn commit(version: CommitRevealVersion) -> omron_timelock::TimelockCommit {
    let hotkey = alice();
    let weights = Weights {
        hotkey: hotkey.as_bytes(),
        uids: &UIDS,
        values: &VALUES,
        version_key: VERSION_KEY,
    };
    commit_for_round(version, &weights, 1000, &mut ChaCha20Rng::seed_from_u64(5)).unwrap()
}

fn call_index(md: &Metadata, call: &str) -> [u8; 2] {
    let pallet = md.pallet_by_name("SubtensorModule").unwrap();
    [
        pallet.call_index(),
        pallet.call_variant_by_name(call).unwrap().index,
    ]
}

/// The version entry's default on finney (what a runtime that never set it runs).
fn finney_default_version(md: &Metadata) -> u16 {
    let entry = md
        .pallet_by_name("SubtensorModule")
        .unwrap()
        .storage()
        .unwrap()
        .entry_by_name("CommitRevealWeightsVersion")
        .expect("finney has CommitRevealWeightsVersion");
    u16::decode(&mut entry.default_value().unwrap()).unwrap()
}

#[test]
fn finney_commits_timelocked_and_spec_218_commits_with_crv2() {
    let md = finney();
    let version = finney_default_version(&md);
    assert_eq!(version, 4);
    assert_eq!(
        mode_for(true, 1, Some(version), offers(&md)).unwrap(),
        CommitRevealMode::Timelocked {
            version: 4,
            reveal_period: 1
        }
    );
    assert_eq!(
        mode_for(false, 1, Some(version), offers(&md)).unwrap(),
        CommitRevealMode::Off
    );
    assert_eq!(
        timelocked_call(Some(version), offers(&md)).unwrap(),
        Some((CommitRevealVersion::V4, CommitCall::TimelockedWeights))
    );
    // Version 3 on finney: commit_crv3_weights is gone, so the same call carries it.
    assert_eq!(
        timelocked_call(Some(3), offers(&md)).unwrap(),
        Some((CommitRevealVersion::V3, CommitCall::TimelockedWeights))
    );

    // Spec 218 has no version entry and no timelocked call: CRv2 where commit-reveal is on.
    let md = spec_218();
    let has_version = md
        .pallet_by_name("SubtensorModule")
        .unwrap()
        .storage()
        .unwrap()
        .entry_by_name("CommitRevealWeightsVersion")
        .is_some();
    assert!(!has_version);
    assert_eq!(timelocked_call(None, offers(&md)).unwrap(), None);
    assert_eq!(
        mode_for(true, 1, None, offers(&md)).unwrap(),
        CommitRevealMode::V2 { reveal_period: 1 }
    );
}

#[test]
fn the_v4_commit_call_decodes_back_to_our_weights() {
    let md = finney();
    let (version, call) = timelocked_call(Some(4), offers(&md)).unwrap().unwrap();
    let commit = commit(version);
    let payload = commit_call(&md, NETUID, call, &commit).unwrap();
    let bytes = call_data(finney(), &payload);

    assert_eq!(bytes[..2], call_index(&md, "commit_timelocked_weights"));
    assert_eq!(bytes[..2], [7, 113]);
    let mut rest = &bytes[2..];
    let (netuid, ciphertext, reveal_round, commit_reveal_version) =
        <(u16, Vec<u8>, u64, u16)>::decode(&mut rest).unwrap();
    assert!(rest.is_empty(), "{} bytes after the arguments", rest.len());
    assert_eq!(netuid, NETUID);
    assert_eq!(ciphertext, commit.ciphertext);
    assert_eq!(reveal_round, 1000);
    assert_eq!(commit_reveal_version, 4);

    let plaintext = decrypt(&ciphertext, &round_1000_signature()).unwrap();
    assert_eq!(
        DecodedPayload::decode(&plaintext).unwrap(),
        DecodedPayload::V4(WeightsTlockPayload {
            hotkey: alice().as_bytes().to_vec(),
            uids: UIDS.to_vec(),
            values: VALUES.to_vec(),
            version_key: VERSION_KEY,
        })
    );
}

#[test]
fn the_v3_and_mechanism_calls_carry_their_arguments() {
    let md = finney();
    // v3: the same call, version 3, the payload without the hotkey.
    let commit3 = commit(CommitRevealVersion::V3);
    let payload = commit_call(&md, NETUID, CommitCall::TimelockedWeights, &commit3).unwrap();
    let bytes = call_data(finney(), &payload);
    let mut rest = &bytes[2..];
    let (_, ciphertext, _, version) = <(u16, Vec<u8>, u64, u16)>::decode(&mut rest).unwrap();
    assert!(rest.is_empty());
    assert_eq!(version, 3);
    let plaintext = decrypt(&ciphertext, &round_1000_signature()).unwrap();
    assert_eq!(
        DecodedPayload::decode(&plaintext).unwrap(),
        DecodedPayload::V3(LegacyWeightsTlockPayload {
            uids: UIDS.to_vec(),
            values: VALUES.to_vec(),
            version_key: VERSION_KEY,
        })
    );

    // The mechanism variant: `mecid` 0 (the main mechanism) after the netuid.
    let commit4 = commit(CommitRevealVersion::V4);
    let payload = commit_call(
        &md,
        NETUID,
        CommitCall::TimelockedMechanismWeights,
        &commit4,
    )
    .unwrap();
    let bytes = call_data(finney(), &payload);
    assert_eq!(
        bytes[..2],
        call_index(&md, "commit_timelocked_mechanism_weights")
    );
    let mut rest = &bytes[2..];
    let (netuid, mecid, ciphertext, round, version) =
        <(u16, u8, Vec<u8>, u64, u16)>::decode(&mut rest).unwrap();
    assert!(rest.is_empty());
    assert_eq!(
        (netuid, mecid, ciphertext, round, version),
        (NETUID, 0, commit4.ciphertext, 1000, 4)
    );
}

#[test]
fn a_call_the_runtime_lacks_is_named() {
    let commit4 = commit(CommitRevealVersion::V4);
    let err =
        commit_call(&spec_218(), NETUID, CommitCall::TimelockedWeights, &commit4).unwrap_err();
    assert!(matches!(err, ChainError::Unsupported(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "this runtime has no SubtensorModule.commit_timelocked_weights"
    );
    let err = commit_call(&finney(), NETUID, CommitCall::Crv3Weights, &commit4).unwrap_err();
    assert_eq!(
        err.to_string(),
        "this runtime has no SubtensorModule.commit_crv3_weights"
    );
}
