//! The dev chain RPC's decoders and what runs behind them, plus the real-network client's
//! SCALE decoder of neuron lists.
//!
//! Modes (first byte):
//! 0. a `/v1/query` body (`Query` JSON) answered by an embedded chain with one subnet;
//! 1. a `/v1/submit` body (`SignedCall` JSON) checked against the chain's genesis;
//! 2. a `Call` JSON text correctly signed by a fixed account (so it passes the signature and
//!    reaches the call parser and the runtime), applied to a fresh embedded chain;
//! 3. an answer as the client reads it (`QueryOutput`, `CallOutput`, `WireError`);
//! 4. a `get_neurons_lite` result decoded with the checked-in runtime metadata (spec 218).
//!
//! The server's `parse` is exactly `serde_json::from_slice` under `MAX_REQUEST_BYTES`, so
//! these decode bodies the same way; the HTTP layer (axum) is not ours.

use std::sync::OnceLock;

use omron_chain::{
    Call, CallOutput, ChainConfig, EmbeddedChain, Hyperparameters, MAX_REQUEST_BYTES, Query,
    QueryOutput, SignedCall, WireError,
};
use omron_keys::Keypair;

fn dev(uri: &str) -> Keypair {
    Keypair::from_uri(uri).expect("dev account uri")
}

/// An embedded chain with subnet 1: owner `//Alice`, `//Bob/hot` registered by `//Bob`.
pub fn chain_with_subnet() -> EmbeddedChain {
    let chain = EmbeddedChain::in_memory(ChainConfig::default()).expect("in-memory chain");
    chain
        .submit(
            &dev("//Alice").public(),
            &Call::CreateSubnet {
                hotkey: dev("//Alice/hot").public(),
                hyperparameters: Hyperparameters::default(),
            },
        )
        .expect("subnet created");
    chain
        .submit(
            &dev("//Bob").public(),
            &Call::BurnedRegister {
                netuid: 1,
                hotkey: dev("//Bob/hot").public(),
            },
        )
        .expect("neuron registered");
    chain
}

fn shared() -> &'static EmbeddedChain {
    static CHAIN: OnceLock<EmbeddedChain> = OnceLock::new();
    CHAIN.get_or_init(chain_with_subnet)
}

fn metadata() -> &'static subxt::Metadata {
    static META: OnceLock<subxt::Metadata> = OnceLock::new();
    META.get_or_init(|| {
        let bytes = include_bytes!("../../crates/chain/tests/fixtures/subtensor-spec218.scale");
        subxt::Metadata::decode_from(&bytes[..]).expect("spec 218 metadata decodes")
    })
}

/// The target.
pub fn run(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    if body.len() > MAX_REQUEST_BYTES {
        return;
    }
    match kind % 5 {
        0 => {
            if let Ok(query) = serde_json::from_slice::<Query>(body)
                && let Ok(out) = shared().query_now(&query)
            {
                let text = serde_json::to_vec(&out).expect("answers serialise");
                let back: QueryOutput = serde_json::from_slice(&text).expect("answers re-read");
                assert_eq!(back, out, "an answer changed over the wire");
            }
        }
        1 => {
            if let Ok(signed) = serde_json::from_slice::<SignedCall>(body) {
                let _ = signed.verify(&shared().genesis_hash());
            }
        }
        2 => {
            let Some((&who, text)) = body.split_first() else {
                return;
            };
            let signer = dev(["//Alice", "//Bob", "//Bob/hot", "//Alice/hot"][who as usize % 4]);
            let text = String::from_utf8_lossy(text);
            let chain = chain_with_subnet();
            let genesis = chain.genesis_hash();
            let signed = SignedCall {
                signer: signer.public(),
                nonce: 1_000,
                signature: signer.sign(&omron_chain::signing_payload(&genesis, 1_000, &text)),
                call: text.into_owned(),
            };
            let wire = serde_json::to_vec(&signed).expect("signed calls serialise");
            let signed: SignedCall = serde_json::from_slice(&wire).expect("signed calls re-read");
            if let Ok(call) = signed.verify(&genesis) {
                let _ = chain.submit_with_nonce(&signed.signer, signed.nonce, &call);
                let _ = chain.query_now(&Query::Metagraph { netuid: 1 });
            }
        }
        3 => {
            let _ = serde_json::from_slice::<QueryOutput>(body);
            let _ = serde_json::from_slice::<CallOutput>(body);
            let _ = serde_json::from_slice::<WireError>(body);
        }
        _ => {
            let _ = omron_chain::subtensor::neuron::decode_neurons_lite(metadata(), body);
        }
    }
}
