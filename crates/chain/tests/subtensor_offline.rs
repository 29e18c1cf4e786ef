//! The real-network client against real runtime metadata, offline: finney's (December 2025,
//! `shared/data/subtensor/finney.scale`) and the spec-218 dynamic-TAO runtime's
//! (`tests/fixtures/subtensor-spec218.scale`, read from the executed runtime with
//! `Metadata_metadata_at_version(15)`). Call data has the pallet and call indices and field
//! encodings each metadata prescribes, calls are built from the runtime's own argument lists
//! (`register_network` with or without `mechid`), a missing call or entry is an error naming it,
//! signed extrinsics carry every transaction extension the runtime declares, and `NeuronInfoLite`
//! values (described, or opaque bytes in spec 218) decode into our types.

// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use omron_chain::subtensor::{calls, neuron, signer};
use omron_chain::{PalletError, Proportion, ServeAxon};
use omron_keys::Keypair;
use subxt::config::SubstrateConfig;
use subxt::config::substrate::SpecVersionForRange;
use subxt::dynamic::Value;
use subxt::ext::scale_encode::EncodeAsType;
use subxt::{Metadata, OfflineClient};

fn metadata() -> Metadata {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/subtensor/finney.scale"
    );
    let bytes = std::fs::read(path).expect("shared/data/subtensor/finney.scale");
    Metadata::decode_from(&bytes).expect("finney metadata decodes")
}

/// The spec-218 runtime's metadata (V15), as the executed runtime serves it.
fn metadata_218() -> Metadata {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/subtensor-spec218.scale"
    );
    let bytes = std::fs::read(path).expect("tests/fixtures/subtensor-spec218.scale");
    Metadata::decode_from(&bytes).expect("spec 218 metadata decodes")
}

fn offline_with(md: Metadata, spec_version: u32) -> OfflineClient<SubstrateConfig> {
    let config = SubstrateConfig::builder()
        .set_genesis_hash(subxt::utils::H256([7; 32]))
        .set_spec_version_for_block_ranges([SpecVersionForRange {
            block_range: 0..u64::MAX,
            spec_version,
            transaction_version: 1,
        }])
        .set_metadata_for_spec_versions([(spec_version, Arc::new(md))])
        .build();
    OfflineClient::new_with_config(config)
}

fn offline() -> OfflineClient<SubstrateConfig> {
    offline_with(metadata(), 425)
}

fn offline_218() -> OfflineClient<SubstrateConfig> {
    offline_with(metadata_218(), 218)
}

fn call_data(call: &calls::CallPayload) -> Vec<u8> {
    offline()
        .at_block(1u64)
        .unwrap()
        .tx()
        .call_data(call)
        .unwrap()
}

fn call_data_218(call: &calls::CallPayload) -> Vec<u8> {
    offline_218()
        .at_block(1u64)
        .unwrap()
        .tx()
        .call_data(call)
        .unwrap()
}

fn alice() -> Keypair {
    Keypair::from_uri("//Alice").unwrap()
}

#[test]
fn pallet_and_call_indices_come_from_the_metadata() {
    let md = metadata();
    let st = md.pallet_by_name("SubtensorModule").unwrap();
    assert_eq!(st.call_index(), 7);
    for (call, index) in [
        ("set_weights", 0),
        ("serve_axon", 4),
        ("burned_register", 7),
        ("commit_weights", 96),
        ("reveal_weights", 97),
    ] {
        assert_eq!(
            st.call_variant_by_name(call).unwrap().index,
            index,
            "{call}"
        );
    }
    assert_eq!(md.pallet_by_name("Commitments").unwrap().call_index(), 18);
}

#[test]
fn set_weights_call_data() {
    // The SDK's example weights [0.5, 0.25, 1.0] as u16, Omron's version key 11002.
    let data = call_data(
        &calls::set_weights(&metadata(), 2, &[0, 1, 3], &[32768, 16384, 65535], 11002).unwrap(),
    );
    let mut expected = vec![7, 0, 2, 0];
    expected.extend([0x0c, 0, 0, 1, 0, 3, 0]); // Compact(3) + u16 LE
    expected.extend([0x0c, 0x00, 0x80, 0x00, 0x40, 0xff, 0xff]);
    expected.extend(11002u64.to_le_bytes());
    assert_eq!(hex::encode(&data), hex::encode(expected));
}

#[test]
fn serve_axon_call_data() {
    let axon = ServeAxon {
        version: 1,
        ip: "127.0.0.2".parse().unwrap(),
        port: 8091,
        protocol: 4,
    };
    let data = call_data(&calls::serve_axon(&metadata(), 2, &axon).unwrap());
    let mut expected = vec![7, 4, 2, 0, 1, 0, 0, 0];
    expected.extend(0x7f00_0002u128.to_le_bytes());
    expected.extend(8091u16.to_le_bytes());
    expected.extend([4, 4, 0, 0]);
    assert_eq!(hex::encode(&data), hex::encode(expected));
    let v6 = ServeAxon {
        ip: "2001:db8::1".parse().unwrap(),
        ..axon
    };
    let data = call_data(&calls::serve_axon(&metadata(), 2, &v6).unwrap());
    assert_eq!(
        &data[8..24],
        &0x2001_0db8_0000_0000_0000_0000_0000_0001u128.to_le_bytes()
    );
    assert_eq!(data[26], 6);
}

#[test]
fn burned_register_and_commit_weights_call_data() {
    let hotkey = alice().public();
    let data = call_data(&calls::burned_register(&metadata(), 2, &hotkey).unwrap());
    let mut expected = vec![7, 7, 2, 0];
    expected.extend(hotkey.as_bytes());
    assert_eq!(data, expected);

    let hash = omron_chain::weights_commit_hash(&hotkey, 2, &[0], &[65535], &[1, 2], 0);
    let data = call_data(&calls::commit_weights(&metadata(), 2, &hash).unwrap());
    let mut expected = vec![7, 96, 2, 0];
    expected.extend(hash);
    assert_eq!(data, expected);

    let data =
        call_data(&calls::reveal_weights(&metadata(), 2, &[0], &[65535], &[1, 2], 9).unwrap());
    let mut expected = vec![7, 97, 2, 0, 0x04, 0, 0, 0x04, 0xff, 0xff, 0x08, 1, 0, 2, 0];
    expected.extend(9u64.to_le_bytes());
    assert_eq!(data, expected);
}

#[test]
fn set_commitment_call_data() {
    let data = call_data(&calls::set_commitment(&metadata(), 2, b"abc").unwrap());
    // Commitments (18) . set_commitment (0), netuid, fields: Compact(1), Data::Raw3 (variant
    // 4: None = 0, Raw0 = 1, ...) with its 3 bytes.
    assert_eq!(data, vec![18, 0, 2, 0, 0x04, 4, b'a', b'b', b'c']);
    let empty = call_data(&calls::set_commitment(&metadata(), 2, b"").unwrap());
    assert_eq!(empty, vec![18, 0, 2, 0, 0x04, 1]);
    assert!(calls::set_commitment(&metadata(), 2, &[0; 129]).is_err());
}

#[test]
fn wrong_shapes_are_refused_by_the_metadata() {
    let tx = offline().at_block(1u64).unwrap().tx();
    // A field the runtime does not have, or a call it does not know, fails to encode.
    let bad = subxt::dynamic::tx(
        "SubtensorModule",
        "set_weights",
        subxt::ext::scale_value::Composite::named([("netuid".to_owned(), Value::u128(1))]),
    );
    assert!(tx.call_data(&bad).is_err());
    let unknown = subxt::dynamic::tx(
        "SubtensorModule",
        "no_such_call",
        subxt::ext::scale_value::Composite::<()>::unnamed([]),
    );
    assert!(tx.call_data(&unknown).is_err());
}

#[test]
fn signed_extrinsic_carries_every_runtime_extension() {
    let client = offline();
    let at = client.at_block(1u64).unwrap();
    let md = metadata();
    let params = signer::tx_params_builder(&md).immortal().nonce(5).build();
    let key = Keypair::from_uri("//Bob").unwrap();
    let call = calls::set_weights(&md, 2, &[1], &[65535], 0).unwrap();
    let signed = at
        .tx()
        .create_v4_signable_offline(&call, params)
        .expect("every extension of the runtime is handled")
        .sign(&signer::KeySigner(&key))
        .unwrap();
    let bytes = signed.encoded().to_vec();
    let mut cursor = &bytes[..];
    let decoded =
        subxt::ext::frame_decode::extrinsics::decode_extrinsic(&mut cursor, &md, md.types())
            .unwrap();
    assert!(cursor.is_empty());
    assert!(decoded.is_signed());
    assert_eq!((decoded.pallet_index(), decoded.call_index()), (7, 0));
    let names: Vec<&str> = decoded
        .transaction_extension_payload()
        .unwrap()
        .iter()
        .map(|e| e.name())
        .collect();
    for required in [
        "CheckMortality",
        "CheckNonce",
        "ChargeTransactionPayment",
        "CheckMetadataHash",
    ] {
        assert!(
            names.contains(&required),
            "{required} missing from {names:?}"
        );
    }
    // Signed by Bob's sr25519 key: the address is his account id (MultiAddress::Id = 0).
    let address = &bytes[decoded.signature_payload().unwrap().address_range()];
    assert_eq!(address[0], 0);
    assert_eq!(&address[1..], key.public().as_bytes());
}

#[test]
fn the_wrapper_extension_value_fits_its_type() {
    // Whatever identifier the runtime uses, the wrapper type (a newtype around the compact
    // tip) must accept the value we would send for it.
    let md = metadata();
    let wrapper = (0..md.types().types.len() as u32)
        .find(|id| {
            md.types().resolve(*id).is_some_and(|t| {
                t.path.segments.last().map(String::as_str) == Some(signer::PAYMENT_WRAPPER)
            })
        })
        .expect("the finney metadata has the wrapper type");
    let candidates = [Value::u128(0), Value::unnamed_composite([Value::u128(0)])];
    assert!(
        candidates
            .iter()
            .any(|v| v.encode_as_type(wrapper, md.types()).is_ok())
    );
}

fn neuron_value(uid: u16, hotkey: [u8; 32], coldkey: [u8; 32], stake: u64) -> Value {
    let axon = Value::named_composite([
        ("block", Value::u128(1234)),
        ("version", Value::u128(7)),
        ("ip", Value::u128(0x0a00_0001)),
        ("port", Value::u128(8091)),
        ("ip_type", Value::u128(4)),
        ("protocol", Value::u128(4)),
        ("placeholder1", Value::u128(0)),
        ("placeholder2", Value::u128(0)),
    ]);
    let prometheus = Value::named_composite([
        ("block", Value::u128(0)),
        ("version", Value::u128(0)),
        ("ip", Value::u128(0)),
        ("port", Value::u128(0)),
        ("ip_type", Value::u128(0)),
    ]);
    Value::named_composite([
        ("hotkey", Value::from_bytes(hotkey)),
        ("coldkey", Value::from_bytes(coldkey)),
        ("uid", Value::u128(u128::from(uid))),
        ("netuid", Value::u128(2)),
        ("active", Value::bool(true)),
        ("axon_info", axon),
        ("prometheus_info", prometheus),
        (
            "stake",
            Value::unnamed_composite([
                Value::unnamed_composite([
                    Value::from_bytes(coldkey),
                    Value::u128(u128::from(stake)),
                ]),
                Value::unnamed_composite([Value::from_bytes([9u8; 32]), Value::u128(5)]),
            ]),
        ),
        ("rank", Value::u128(0)),
        ("emission", Value::u128(123_456_789)),
        ("incentive", Value::u128(65535)),
        ("consensus", Value::u128(32768)),
        ("trust", Value::u128(0)),
        ("validator_trust", Value::u128(100)),
        ("dividends", Value::u128(200)),
        ("last_update", Value::u128(5_000_000)),
        ("validator_permit", Value::bool(uid == 0)),
        ("pruning_score", Value::u128(65535)),
    ])
}

#[test]
fn neuron_info_lite_decodes_into_our_types() {
    let md = metadata();
    let ty = neuron::neurons_lite_output_type(&md).unwrap();
    let (hot, cold) = (alice().public().0, [3u8; 32]);
    let list = Value::unnamed_composite([
        neuron_value(0, hot, cold, 1_000_000_000),
        neuron_value(1, [4; 32], [5; 32], 7),
    ]);
    let bytes = list
        .encode_as_type(ty, md.types())
        .expect("value matches the runtime's NeuronInfoLite");
    let neurons = neuron::decode_neurons_lite(&md, &bytes).unwrap();
    assert_eq!(neurons.len(), 2);
    let n = &neurons[0];
    assert_eq!(n.uid, 0);
    assert_eq!(n.hotkey, alice().public());
    assert_eq!(n.coldkey.0, cold);
    assert_eq!(n.stake, 1_000_000_005);
    assert!(n.active && n.validator_permit && !neurons[1].validator_permit);
    assert_eq!(n.axon.socket_addr().unwrap().to_string(), "10.0.0.1:8091");
    assert_eq!(
        (n.axon.block, n.axon.version, n.axon.protocol),
        (1234, 7, 4)
    );
    assert_eq!(n.emission, 123_456_789);
    assert_eq!(n.incentive, Proportion::ONE);
    assert_eq!(n.consensus, Proportion(32768));
    assert_eq!(
        (n.validator_trust, n.dividends),
        (Proportion(100), Proportion(200))
    );
    assert_eq!(n.last_update, 5_000_000);
    assert_eq!(neurons[1].stake, 12);

    // Truncated or padded output is an error, not a panic.
    assert!(neuron::decode_neurons_lite(&md, &bytes[..bytes.len() - 3]).is_err());
    let mut padded = bytes.clone();
    padded.push(0);
    assert!(neuron::decode_neurons_lite(&md, &padded).is_err());
}

#[test]
fn every_named_error_exists_in_a_runtime() {
    // Each name is the runtime's own: most exist in both, a few only in the older runtime
    // (`SubNetworkDoesNotExist`, `CommitmentSetRateLimitExceeded`).
    let runtimes = [("finney", metadata()), ("spec 218", metadata_218())];
    for e in PalletError::ALL {
        let found: Vec<&str> = runtimes
            .iter()
            .filter(|(_, md)| {
                md.pallet_by_name(e.pallet()).is_some_and(|p| {
                    p.error_variants()
                        .unwrap_or_default()
                        .iter()
                        .any(|v| v.name == e.name())
                })
            })
            .map(|(name, _)| *name)
            .collect();
        assert!(
            !found.is_empty(),
            "{}::{} is an error of neither runtime",
            e.pallet(),
            e.name()
        );
    }
    let in_218 = |e: PalletError| {
        metadata_218()
            .pallet_by_name(e.pallet())
            .unwrap()
            .error_variants()
            .unwrap()
            .iter()
            .any(|v| v.name == e.name())
    };
    assert!(in_218(PalletError::IncorrectWeightVersionKey));
    assert!(in_218(PalletError::SubNetworkDoesNotExist));
    assert!(!in_218(PalletError::AmountTooLow));
}

#[test]
fn commitment_storage_value_is_read() {
    let md = metadata();
    // Commitments.CommitmentOf value type: Registration { deposit, block, info }.
    let entry = md
        .pallet_by_name("Commitments")
        .unwrap()
        .storage()
        .unwrap()
        .entry_by_name("CommitmentOf")
        .unwrap();
    let ty = entry.value_ty();
    let value = Value::named_composite([
        ("deposit", Value::u128(0)),
        ("block", Value::u128(77)),
        (
            "info",
            Value::named_composite([(
                "fields",
                Value::unnamed_composite([Value::unnamed_variant(
                    "Raw2",
                    [Value::from_bytes(b"hi")],
                )]),
            )]),
        ),
    ]);
    let bytes = value.encode_as_type(ty, md.types()).unwrap();
    let decoded =
        subxt::ext::scale_value::scale::decode_as_type(&mut &bytes[..], ty, md.types()).unwrap();
    let c = omron_chain::subtensor::commitment_from_value(&decoded).unwrap();
    assert_eq!((c.block, c.data.as_slice()), (77, &b"hi"[..]));
}

#[test]
fn every_storage_entry_we_read_fits_the_runtime() {
    let client = offline();
    let at = client.at_block(1u64).unwrap();
    omron_chain::subtensor::storage::check_layout(&at).unwrap();
    // A wrong value type or key arity is caught the same way the layout check catches it.
    let wrong = subxt::dynamic::storage::<(u16,), [u8; 32]>("SubtensorModule", "Tempo");
    let entry = at.storage().entry(wrong).unwrap();
    assert!(entry.default_value().unwrap().decode().is_err());
    let wrong_keys = subxt::dynamic::storage::<(u16, u16), u16>("SubtensorModule", "Tempo");
    assert!(
        at.storage()
            .entry(wrong_keys)
            .unwrap()
            .fetch_key((1, 2))
            .is_err()
    );
    let missing = subxt::dynamic::storage::<(u16,), u16>("SubtensorModule", "NoSuchEntry");
    assert!(at.storage().entry(missing).is_err());
}

#[test]
fn every_storage_entry_we_read_fits_the_spec_218_runtime() {
    let client = offline_218();
    let at = client.at_block(1u64).unwrap();
    omron_chain::subtensor::storage::check_layout(&at).unwrap();
    let md = metadata_218();
    let finney = metadata();
    use omron_chain::subtensor::storage::{ENTRIES, Need, has_entry};
    for (pallet, name, need) in ENTRIES {
        if *need == Need::Required {
            assert!(
                has_entry(&md, pallet, name),
                "spec 218 lacks {pallet}.{name}"
            );
            assert!(
                has_entry(&finney, pallet, name),
                "finney lacks {pallet}.{name}"
            );
        }
    }
    // What differs: optional entries one runtime has and the other lacks.
    assert!(!has_entry(&md, "SubtensorModule", "BondsPenalty"));
    assert!(has_entry(&finney, "SubtensorModule", "BondsPenalty"));
    assert!(!has_entry(&md, "SubtensorModule", "StakeThreshold"));
    assert!(has_entry(&md, "SubtensorModule", "WeightsMinStake"));
}

#[test]
fn spec_218_calls_are_built_from_its_own_argument_lists() {
    let md = metadata_218();
    let st = md.pallet_by_name("SubtensorModule").unwrap();
    assert_eq!(st.call_index(), 7);
    for (call, index) in [
        ("set_weights", 0),
        ("serve_axon", 4),
        ("burned_register", 7),
        ("register_network", 59),
        ("commit_weights", 96),
        ("reveal_weights", 97),
        ("batch_reveal_weights", 98),
    ] {
        assert_eq!(
            st.call_variant_by_name(call).unwrap().index,
            index,
            "{call}"
        );
    }
    let hotkey = alice().public();
    // register_network takes `mechid` here (1, the dynamic pool) and not on finney.
    let data = call_data_218(&calls::register_network(&md, &hotkey).unwrap());
    let mut expected = vec![7, 59];
    expected.extend(hotkey.as_bytes());
    expected.extend(1u16.to_le_bytes());
    assert_eq!(data, expected);
    let finney = metadata();
    let data = call_data(&calls::register_network(&finney, &hotkey).unwrap());
    assert_eq!(&data[..2], &[7, 59]);
    assert_eq!(
        data.len(),
        2 + 32,
        "finney's register_network takes only the hotkey"
    );

    // The weights calls encode as on finney (same indices and argument lists).
    let sw = call_data_218(
        &calls::set_weights(&md, 2, &[0, 1, 3], &[32768, 16384, 65535], 11002).unwrap(),
    );
    let sw_finney = call_data(
        &calls::set_weights(&finney, 2, &[0, 1, 3], &[32768, 16384, 65535], 11002).unwrap(),
    );
    assert_eq!(sw, sw_finney);
    let hash = omron_chain::weights_commit_hash(&hotkey, 2, &[0], &[65535], &[1, 2], 0);
    let mut expected = vec![7, 96, 2, 0];
    expected.extend(hash);
    assert_eq!(
        call_data_218(&calls::commit_weights(&md, 2, &hash).unwrap()),
        expected
    );
    let axon = ServeAxon {
        version: 1,
        ip: "10.0.0.1".parse().unwrap(),
        port: 8091,
        protocol: 4,
    };
    assert_eq!(
        call_data_218(&calls::serve_axon(&md, 2, &axon).unwrap()),
        call_data(&calls::serve_axon(&finney, 2, &axon).unwrap())
    );
    // Commitments.set_commitment: pallet 18 here too.
    assert_eq!(
        call_data_218(&calls::set_commitment(&md, 2, b"abc").unwrap()),
        vec![18, 0, 2, 0, 0x04, 4, b'a', b'b', b'c']
    );
}

#[test]
fn sudo_and_admin_calls_read_their_argument_names() {
    let md = metadata_218();
    // Sudo (12) . sudo (0) ( AdminUtils (19) . sudo_set_tempo (30) (netuid 2, tempo 10) ).
    let tempo = calls::admin_set(&md, "sudo_set_tempo", 2, Value::u128(10)).unwrap();
    let data = call_data_218(&calls::sudo(&md, tempo).unwrap());
    assert_eq!(data, vec![12, 0, 19, 30, 2, 0, 10, 0]);
    // The value's name comes from the metadata (`weights_set_rate_limit`, `enabled`, ...).
    let rl = calls::admin_set(&md, "sudo_set_weights_set_rate_limit", 2, Value::u128(5)).unwrap();
    let data = call_data_218(&rl);
    let mut expected = vec![19, 7, 2, 0];
    expected.extend(5u64.to_le_bytes());
    assert_eq!(data, expected);
    let cr = calls::admin_set(
        &md,
        "sudo_set_commit_reveal_weights_enabled",
        2,
        Value::bool(true),
    )
    .unwrap();
    assert_eq!(call_data_218(&cr), vec![19, 49, 2, 0, 1]);
    let global =
        calls::admin_set_global(&md, "sudo_set_network_rate_limit", Value::u128(0)).unwrap();
    let mut expected = vec![19, 29];
    expected.extend(0u64.to_le_bytes());
    assert_eq!(call_data_218(&global), expected);
    // A global setter is not a per-subnet one and the other way round.
    assert!(calls::admin_set(&md, "sudo_set_network_rate_limit", 2, Value::u128(0)).is_err());
    // Balances.force_set_balance(MultiAddress::Id(bob), 5).
    let bob = Keypair::from_uri("//Bob").unwrap().public();
    let data = call_data_218(&calls::force_set_balance(&md, &bob, 5).unwrap());
    assert_eq!(&data[..3], &[5, 8, 0]);
    assert_eq!(&data[3..35], bob.as_bytes());
    assert_eq!(data[35], 5 << 2, "compact balance");
}

#[test]
fn a_missing_call_or_argument_is_named() {
    let md = metadata_218();
    // Spec 218 has commit-reveal v2 only: no timelocked (CRv3/v4) commits.
    let err =
        calls::build(&md, "SubtensorModule", "commit_timelocked_weights", vec![]).unwrap_err();
    assert!(
        matches!(err, omron_chain::ChainError::Unsupported(_)),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "this runtime has no SubtensorModule.commit_timelocked_weights"
    );
    assert!(calls::has_call(
        &metadata(),
        "SubtensorModule",
        "commit_timelocked_weights"
    ));
    // Nor finney's bonds penalty setter.
    assert!(!calls::has_call(
        &md,
        "AdminUtils",
        "sudo_set_bonds_penalty"
    ));
    assert!(calls::has_call(
        &metadata(),
        "AdminUtils",
        "sudo_set_bonds_penalty"
    ));
    // An argument the runtime does not take, and one it takes that we do not fill.
    let err = calls::build(
        &md,
        "SubtensorModule",
        "burned_register",
        vec![
            calls::arg("netuid", Value::u128(1)),
            calls::arg("hotkey", Value::from_bytes([0u8; 32])),
            calls::arg("mechid", Value::u128(1)),
        ],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("takes no argument `mechid`"),
        "{err}"
    );
    let err = calls::build(
        &md,
        "SubtensorModule",
        "burned_register",
        vec![calls::arg("netuid", Value::u128(1))],
    )
    .unwrap_err();
    assert!(err.to_string().contains("takes `hotkey`"), "{err}");
    // Passed only when taken: dropped silently where the runtime has no such argument.
    let ok = calls::build(
        &md,
        "SubtensorModule",
        "burned_register",
        vec![
            calls::arg("netuid", Value::u128(1)),
            calls::arg("hotkey", Value::from_bytes([0u8; 32])),
            calls::arg_if_taken("mechid", Value::u128(1)),
        ],
    );
    assert!(ok.is_ok());
}

#[test]
fn spec_218_signed_extrinsic_carries_its_extensions() {
    let client = offline_218();
    let at = client.at_block(1u64).unwrap();
    let md = metadata_218();
    let params = signer::tx_params_builder(&md).immortal().nonce(5).build();
    let key = Keypair::from_uri("//Bob").unwrap();
    let call = calls::set_weights(&md, 2, &[1], &[65535], 0).unwrap();
    let signed = at
        .tx()
        .create_v4_signable_offline(&call, params)
        .expect("every extension of the runtime is handled")
        .sign(&signer::KeySigner(&key))
        .unwrap();
    let bytes = signed.encoded().to_vec();
    let mut cursor = &bytes[..];
    let decoded =
        subxt::ext::frame_decode::extrinsics::decode_extrinsic(&mut cursor, &md, md.types())
            .unwrap();
    assert!(cursor.is_empty());
    let names: Vec<&str> = decoded
        .transaction_extension_payload()
        .unwrap()
        .iter()
        .map(|e| e.name())
        .collect();
    for required in [
        "CheckMortality",
        "CheckNonce",
        "ChargeTransactionPayment",
        "SubtensorSignedExtension",
        "CommitmentsSignedExtension",
        "CheckMetadataHash",
    ] {
        assert!(
            names.contains(&required),
            "{required} missing from {names:?}"
        );
    }
}

/// One `NeuronInfoLite` in spec 218's layout, encoded field by field.
fn legacy_neuron(uid: u16, hotkey: [u8; 32], coldkey: [u8; 32]) -> Vec<u8> {
    use parity_scale_codec::{Compact, Encode};
    let mut out = Vec::new();
    out.extend(hotkey);
    out.extend(coldkey);
    out.extend(Compact(uid).encode());
    out.extend(Compact(2u16).encode());
    out.extend(true.encode());
    // axon: block, version, ip, port, ip_type, protocol, placeholders
    out.extend(1234u64.encode());
    out.extend(7u32.encode());
    out.extend(0x0a00_0001u128.encode());
    out.extend(8091u16.encode());
    out.extend([4u8, 4, 0, 0]);
    // prometheus: block, version, ip, port, ip_type
    out.extend(0u64.encode());
    out.extend(0u32.encode());
    out.extend(0u128.encode());
    out.extend(0u16.encode());
    out.push(0);
    vec![(coldkey, Compact(99u64))].encode_to(&mut out);
    out.extend(Compact(1u16).encode()); // rank
    out.extend(Compact(123_456_789u64).encode()); // emission
    out.extend(Compact(65535u16).encode()); // incentive
    out.extend(Compact(32768u16).encode()); // consensus
    out.extend(Compact(2u16).encode()); // trust
    out.extend(Compact(100u16).encode()); // validator trust
    out.extend(Compact(200u16).encode()); // dividends
    out.extend(Compact(5_000_000u64).encode()); // last update
    out.extend(true.encode()); // permit
    out.extend(Compact(65535u16).encode()); // pruning score
    out
}

#[test]
fn spec_218_opaque_neurons_lite_decodes() {
    use parity_scale_codec::{Compact, Encode};
    let md = metadata_218();
    assert_eq!(
        neuron::neurons_lite_shape(&md).unwrap(),
        neuron::NeuronsLiteShape::Opaque
    );
    assert!(matches!(
        neuron::neurons_lite_shape(&metadata()).unwrap(),
        neuron::NeuronsLiteShape::Typed(_)
    ));
    let (hot, cold) = (alice().public().0, [3u8; 32]);
    let mut list = Compact(2u32).encode();
    list.extend(legacy_neuron(0, hot, cold));
    list.extend(legacy_neuron(1, [4; 32], [5; 32]));
    // The runtime API returns Vec<u8> around the list.
    let bytes = list.encode();
    let neurons = neuron::decode_neurons_lite(&md, &bytes).unwrap();
    assert_eq!(neurons.len(), 2);
    let n = &neurons[0];
    assert_eq!((n.uid, n.hotkey, n.coldkey.0), (0, alice().public(), cold));
    assert_eq!(n.stake, 99);
    assert_eq!(n.axon.socket_addr().unwrap().to_string(), "10.0.0.1:8091");
    assert_eq!((n.axon.block, n.axon.version), (1234, 7));
    assert_eq!((n.rank, n.trust), (Proportion(1), Proportion(2)));
    assert_eq!(n.emission, 123_456_789);
    assert_eq!(
        (n.incentive, n.consensus),
        (Proportion::ONE, Proportion(32768))
    );
    assert_eq!(
        (n.validator_trust, n.dividends),
        (Proportion(100), Proportion(200))
    );
    assert_eq!(n.last_update, 5_000_000);
    assert!(n.active && n.validator_permit);
    assert_eq!(neurons[1].uid, 1);

    // Truncated or padded, inside or outside the byte vector: an error, not a panic.
    let short = list[..list.len() - 1].to_vec().encode();
    assert!(neuron::decode_neurons_lite(&md, &short).is_err());
    let mut long = list.clone();
    long.push(0);
    assert!(neuron::decode_neurons_lite(&md, &long.encode()).is_err());
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(neuron::decode_neurons_lite(&md, &trailing).is_err());
    assert!(neuron::decode_neurons_lite(&md, &[]).is_err());
}

#[test]
fn a_node_refusal_keeps_its_custom_code() {
    use omron_chain::ChainError;
    use omron_chain::subtensor::invalid_transaction;
    for (message, code) in [
        (r#"1010: {"invalid":{"custom":5}}"#, Some(5)),
        ("Invalid Transaction: Custom error: 3", Some(3)),
        (
            "1010: Invalid Transaction: Inability to pay some fees",
            None,
        ),
    ] {
        match invalid_transaction(message.into()) {
            ChainError::InvalidTransaction { custom, .. } => assert_eq!(custom, code, "{message}"),
            other => panic!("{other}"),
        }
    }
}
