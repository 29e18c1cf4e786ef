//! A subnet on an in-process embedded chain, and helpers to start miners and query them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use omron_bittensor::dendrite::{AxonTarget, Dendrite};
use omron_bittensor::synapse::{Envelope, Synapse};
use omron_chain::{
    Chain, ChainConfig, DevChain, EmbeddedChain, Hyperparameters, NetUid, RAO_PER_TAO,
};
use omron_circuit::{CircuitStore, CircuitType, RequestInput, StoredCircuit};
use omron_keys::Keypair;
use omron_miner::{Miner, MinerConfig, MinerHandle};
use omron_protocol::{QueryInput, QueryZkProof};

pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap()
}

pub(crate) fn circuits_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../circuits")
}

pub(crate) fn store() -> CircuitStore {
    CircuitStore::load(&circuits_dir()).unwrap()
}

/// A subnet with: the owner (uid 0), a validator with 2000 TAO of stake and a permit, a
/// registered caller without stake, and `miners` registered miner hotkeys
/// (`//Alice//miner<i>`).
pub(crate) struct Subnet {
    pub(crate) chain: EmbeddedChain,
    pub(crate) netuid: NetUid,
}

impl Subnet {
    pub(crate) async fn new(miners: usize) -> Subnet {
        let chain = EmbeddedChain::in_memory(ChainConfig::fast()).unwrap();
        let alice = key("//Alice");
        let netuid = chain
            .create_subnet(
                &alice,
                &key("//Alice//owner").public(),
                Hyperparameters::dev(),
            )
            .await
            .unwrap();
        for uri in ["//Alice//validator", "//Alice//poor"] {
            chain
                .burned_register(&alice, netuid, &key(uri).public())
                .await
                .unwrap();
        }
        for i in 0..miners {
            chain
                .burned_register(&alice, netuid, &key(&format!("//Alice//miner{i}")).public())
                .await
                .unwrap();
        }
        chain
            .add_stake(
                &alice,
                &key("//Alice//validator").public(),
                netuid,
                2_000 * RAO_PER_TAO,
            )
            .await
            .unwrap();
        // Validator permits are handed out at epochs.
        chain.run_to_next_epoch(netuid).unwrap();
        Subnet { chain, netuid }
    }

    pub(crate) fn arc(&self) -> Arc<dyn Chain> {
        Arc::new(self.chain.clone())
    }

    /// Config for a miner on 127.0.0.2 (the chain refuses 127.0.0.1; both are loopback).
    pub(crate) fn config(&self) -> MinerConfig {
        let mut c = MinerConfig::new(self.netuid, "127.0.0.2:0".parse().unwrap());
        c.sync_interval = Duration::from_millis(100);
        c.max_concurrent_proofs = 2;
        c
    }

    pub(crate) async fn start(&self, miner: usize, config: MinerConfig) -> MinerHandle {
        Miner::start(
            config,
            self.arc(),
            key(&format!("//Alice//miner{miner}")),
            store(),
        )
        .await
        .unwrap()
    }
}

pub(crate) fn target(miner: usize, handle: &MinerHandle) -> AxonTarget {
    let addr = handle.announced_addr();
    AxonTarget {
        ip: addr.ip().to_string(),
        port: addr.port(),
        hotkey: key(&format!("//Alice//miner{miner}")).public(),
    }
}

pub(crate) fn validator() -> Dendrite {
    Dendrite::new(key("//Alice//validator")).unwrap()
}

/// The store's proof-of-computation circuits (the ones `QueryZkProof` asks for).
pub(crate) fn benchmark_circuits() -> Vec<StoredCircuit> {
    store()
        .iter()
        .filter(|c| c.metadata.circuit_type == CircuitType::ProofOfComputation)
        .cloned()
        .collect()
}

/// A fresh benchmark request for proof-of-computation circuit `index`, as the validator sends
/// it.
pub(crate) fn request(index: usize) -> (String, RequestInput, QueryZkProof) {
    let circuits = benchmark_circuits();
    let circuit = &circuits[index];
    let input = circuit.generate_input(&mut rand::thread_rng());
    let public = omron_bittensor::json::to_value(&input).unwrap();
    let query = QueryZkProof::request(QueryInput::new(&circuit.id().parse().unwrap(), public));
    (circuit.id(), input, query)
}

pub(crate) async fn ask<S: Synapse>(
    dendrite: &Dendrite,
    target: &AxonTarget,
    synapse: S,
) -> Envelope<S> {
    dendrite.query(target, synapse, TIMEOUT).await
}
