//! The commit calls against the real finney metadata (`shared/data/subtensor/finney.scale`),
//! offline: which call [`CommitCall::choose`] picks there, that its argument names are the
//! runtime's, and the exact call bytes (pallet and call index, then each argument's SCALE).

use std::sync::Arc;

use omron_timelock::{CommitCall, CommitRevealVersion, Weights, commit_for_round};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use subxt::config::SubstrateConfig;
use subxt::config::substrate::SpecVersionForRange;
use subxt::dynamic::Value;
use subxt::ext::scale_value::Composite;
use subxt::{Metadata, OfflineClient};

fn metadata() -> Metadata {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/subtensor/finney.scale"
    );
    let bytes = std::fs::read(path).expect("shared/data/subtensor/finney.scale");
    Metadata::decode_from(&bytes[..]).expect("finney metadata decodes")
}

fn offline(md: Metadata) -> OfflineClient<SubstrateConfig> {
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
}

fn offers(md: &Metadata) -> impl Fn(&str) -> bool + '_ {
    |call| {
        md.pallet_by_name("SubtensorModule")
            .and_then(|p| p.call_variant_by_name(call))
            .is_some()
    }
}

fn metadata_arg_names(md: &Metadata, call: &str) -> Vec<String> {
    md.pallet_by_name("SubtensorModule")
        .unwrap()
        .call_variant_by_name(call)
        .unwrap_or_else(|| panic!("finney has no {call}"))
        .fields
        .iter()
        .map(|f| f.name.clone().unwrap())
        .collect()
}

/// The call's bytes with the arguments given by name, as the chain client passes them,
/// encoded by subxt against finney's types.
fn call_data(call: &str, args: Vec<(&str, Value)>) -> Result<Vec<u8>, String> {
    let payload = subxt::dynamic::tx(
        "SubtensorModule",
        call,
        Composite::named(args.into_iter().map(|(n, v)| (n.to_string(), v))),
    );
    offline(metadata())
        .at_block(1u64)
        .map_err(|e| e.to_string())?
        .tx()
        .call_data(&payload)
        .map_err(|e| e.to_string())
}

fn compact_len(n: usize) -> Vec<u8> {
    match n {
        0..=63 => vec![(n as u8) << 2],
        64..=16383 => (((n as u16) << 2) | 1).to_le_bytes().to_vec(),
        _ => (((n as u32) << 2) | 2).to_le_bytes().to_vec(),
    }
}

fn commit() -> (Vec<u8>, u64) {
    let hotkey = omron_keys::Keypair::from_uri("//Alice").unwrap().public();
    let w = Weights {
        hotkey: hotkey.as_bytes(),
        uids: &[0, 1, 2],
        values: &[65535, 32768, 0],
        version_key: 11002,
    };
    let c = commit_for_round(
        CommitRevealVersion::V4,
        &w,
        27_000_000,
        &mut ChaCha20Rng::seed_from_u64(9),
    )
    .unwrap();
    (c.ciphertext, c.reveal_round)
}

#[test]
fn finney_commits_v4_with_commit_timelocked_weights() {
    let md = metadata();
    let call = CommitCall::choose(CommitRevealVersion::V4, offers(&md)).unwrap();
    assert_eq!(call, CommitCall::TimelockedWeights);
    // The version 3 path on this runtime (no commit_crv3_weights any more) is the same call.
    assert_eq!(
        CommitCall::choose(CommitRevealVersion::V3, offers(&md)).unwrap(),
        CommitCall::TimelockedWeights
    );
    let st = md.pallet_by_name("SubtensorModule").unwrap();
    assert_eq!(st.call_index(), 7);
    assert_eq!(st.call_variant_by_name(call.name()).unwrap().index, 113);
    for c in [
        CommitCall::TimelockedWeights,
        CommitCall::TimelockedMechanismWeights,
    ] {
        assert_eq!(
            metadata_arg_names(&md, c.name()),
            c.arg_names(),
            "{}",
            c.name()
        );
    }
    assert!(!offers(&md)(CommitCall::Crv3Weights.name()));
    // The version storage the client reads exists where we say it does.
    let storage = st.storage().unwrap();
    assert!(
        storage
            .entry_by_name("CommitRevealWeightsVersion")
            .is_some()
    );
    assert!(storage.entry_by_name("RevealPeriodEpochs").is_some());
    assert!(
        storage
            .entry_by_name("CommitRevealWeightsEnabled")
            .is_some()
    );
}

#[test]
fn commit_timelocked_weights_call_bytes() {
    let (ct, round) = commit();
    for version in [4u16, 3] {
        let data = call_data(
            "commit_timelocked_weights",
            vec![
                ("netuid", Value::u128(2)),
                ("commit", Value::from_bytes(&ct)),
                ("reveal_round", Value::u128(round.into())),
                ("commit_reveal_version", Value::u128(version.into())),
            ],
        )
        .unwrap();
        let mut expected = vec![7, 113];
        expected.extend_from_slice(&2u16.to_le_bytes());
        expected.extend_from_slice(&compact_len(ct.len()));
        expected.extend_from_slice(&ct);
        expected.extend_from_slice(&round.to_le_bytes());
        expected.extend_from_slice(&version.to_le_bytes());
        assert_eq!(data, expected, "version {version}");
    }
}

#[test]
fn commit_timelocked_mechanism_weights_call_bytes() {
    let md = metadata();
    let (ct, round) = commit();
    let data = call_data(
        "commit_timelocked_mechanism_weights",
        vec![
            ("netuid", Value::u128(2)),
            ("mecid", Value::u128(0)),
            ("commit", Value::from_bytes(&ct)),
            ("reveal_round", Value::u128(round.into())),
            ("commit_reveal_version", Value::u128(4)),
        ],
    )
    .unwrap();
    let index = md
        .pallet_by_name("SubtensorModule")
        .unwrap()
        .call_variant_by_name("commit_timelocked_mechanism_weights")
        .unwrap()
        .index;
    let mut expected = vec![7, index, 2, 0, 0];
    expected.extend_from_slice(&compact_len(ct.len()));
    expected.extend_from_slice(&ct);
    expected.extend_from_slice(&round.to_le_bytes());
    expected.extend_from_slice(&4u16.to_le_bytes());
    assert_eq!(data, expected);
}

#[test]
fn wrong_shapes_are_refused() {
    let (ct, round) = commit();
    // The CRv3-era argument list (no version) does not fit finney's call.
    assert!(
        call_data(
            "commit_timelocked_weights",
            vec![
                ("netuid", Value::u128(2)),
                ("commit", Value::from_bytes(&ct)),
                ("reveal_round", Value::u128(round.into())),
            ],
        )
        .is_err()
    );
    assert!(
        call_data(
            "commit_crv3_weights",
            vec![
                ("netuid", Value::u128(2)),
                ("commit", Value::from_bytes(&ct)),
                ("reveal_round", Value::u128(round.into())),
            ],
        )
        .is_err()
    );
}
