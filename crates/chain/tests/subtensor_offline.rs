//! The real-network client against the real finney runtime metadata, offline: call data has the
//! pallet and call indices and field encodings the metadata prescribes, signed extrinsics carry
//! every transaction extension the runtime declares, and `NeuronInfoLite` values encoded with
//! the metadata's own type registry decode into our types.

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

fn offline() -> OfflineClient<SubstrateConfig> {
    let config = SubstrateConfig::builder()
        .set_genesis_hash(subxt::utils::H256([7; 32]))
        .set_spec_version_for_block_ranges([SpecVersionForRange {
            block_range: 0..u64::MAX,
            spec_version: 425,
            transaction_version: 1,
        }])
        .set_metadata_for_spec_versions([(425, Arc::new(metadata()))])
        .build();
    OfflineClient::new_with_config(config)
}

fn call_data(call: &calls::CallPayload) -> Vec<u8> {
    offline()
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
    let data = call_data(&calls::set_weights(
        2,
        &[0, 1, 3],
        &[32768, 16384, 65535],
        11002,
    ));
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
    let data = call_data(&calls::serve_axon(2, &axon));
    let mut expected = vec![7, 4, 2, 0, 1, 0, 0, 0];
    expected.extend(0x7f00_0002u128.to_le_bytes());
    expected.extend(8091u16.to_le_bytes());
    expected.extend([4, 4, 0, 0]);
    assert_eq!(hex::encode(&data), hex::encode(expected));
    let v6 = ServeAxon {
        ip: "2001:db8::1".parse().unwrap(),
        ..axon
    };
    let data = call_data(&calls::serve_axon(2, &v6));
    assert_eq!(
        &data[8..24],
        &0x2001_0db8_0000_0000_0000_0000_0000_0001u128.to_le_bytes()
    );
    assert_eq!(data[26], 6);
}

#[test]
fn burned_register_and_commit_weights_call_data() {
    let hotkey = alice().public();
    let data = call_data(&calls::burned_register(2, &hotkey));
    let mut expected = vec![7, 7, 2, 0];
    expected.extend(hotkey.as_bytes());
    assert_eq!(data, expected);

    let hash = omron_chain::weights_commit_hash(&hotkey, 2, &[0], &[65535], &[1, 2], 0);
    let data = call_data(&calls::commit_weights(2, &hash));
    let mut expected = vec![7, 96, 2, 0];
    expected.extend(hash);
    assert_eq!(data, expected);

    let data = call_data(&calls::reveal_weights(2, &[0], &[65535], &[1, 2], 9));
    let mut expected = vec![7, 97, 2, 0, 0x04, 0, 0, 0x04, 0xff, 0xff, 0x08, 1, 0, 2, 0];
    expected.extend(9u64.to_le_bytes());
    assert_eq!(data, expected);
}

#[test]
fn set_commitment_call_data() {
    let data = call_data(&calls::set_commitment(2, b"abc").unwrap());
    // Commitments (18) . set_commitment (0), netuid, fields: Compact(1), Data::Raw3 (variant
    // 4: None = 0, Raw0 = 1, ...) with its 3 bytes.
    assert_eq!(data, vec![18, 0, 2, 0, 0x04, 4, b'a', b'b', b'c']);
    let empty = call_data(&calls::set_commitment(2, b"").unwrap());
    assert_eq!(empty, vec![18, 0, 2, 0, 0x04, 1]);
    assert!(calls::set_commitment(2, &[0; 129]).is_err());
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
    let call = calls::set_weights(2, &[1], &[65535], 0);
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
fn every_named_error_exists_in_the_runtime() {
    let md = metadata();
    for e in PalletError::ALL {
        let pallet = md
            .pallet_by_name(e.pallet())
            .unwrap_or_else(|| panic!("pallet {}", e.pallet()));
        let found = pallet
            .error_variants()
            .unwrap_or_default()
            .iter()
            .any(|v| v.name == e.name());
        assert!(
            found,
            "{}::{} is not an error of the finney runtime",
            e.pallet(),
            e.name()
        );
    }
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
