//! The embedded chain end to end: registration, stake, axons, weights with the runtime's checks,
//! commit-reveal, commitments, epochs with Yuma consensus, restarts, and the RPC in front of it.

// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omron_chain::{
    Chain, ChainConfig, DevChain, DevChainClient, EmbeddedChain, Hyperparameters, PalletError,
    Proportion, RAO_PER_TAO, ServeAxon, serve_rpc, weights_commit_hash,
};
use omron_keys::Keypair;

fn key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap()
}

fn axon(port: u16) -> ServeAxon {
    ServeAxon {
        version: 1,
        ip: "127.0.0.2".parse().unwrap(),
        port,
        protocol: 4,
    }
}

struct Net {
    chain: EmbeddedChain,
    netuid: u16,
    owner: Keypair,
    validator: Keypair,
    miner: Keypair,
}

/// A subnet with the owner at uid 0, a staked validator at uid 1 and a miner at uid 2; the
/// validator holds a permit (one epoch has run).
async fn subnet(hyper: Hyperparameters) -> Net {
    let chain = EmbeddedChain::in_memory(ChainConfig::default()).unwrap();
    let owner = key("//Alice");
    let owner_hot = key("//Alice/hot");
    let netuid = chain
        .create_subnet(&owner, &owner_hot.public(), hyper)
        .await
        .unwrap();
    let validator = key("//Bob/hot");
    let miner = key("//Charlie/hot");
    let bob = key("//Bob");
    assert_eq!(
        chain
            .burned_register(&bob, netuid, &validator.public())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        chain
            .burned_register(&key("//Charlie"), netuid, &miner.public())
            .await
            .unwrap(),
        2
    );
    chain
        .add_stake(&bob, &validator.public(), netuid, 1000 * RAO_PER_TAO)
        .await
        .unwrap();
    chain.run_to_next_epoch(netuid).unwrap();
    let mg = chain.metagraph(netuid).await.unwrap();
    assert!(mg.neurons[1].validator_permit, "validator got its permit");
    Net {
        chain,
        netuid,
        owner,
        validator,
        miner,
    }
}

fn dev() -> Hyperparameters {
    Hyperparameters {
        tempo: 10,
        weights_rate_limit: 5,
        ..Hyperparameters::dev()
    }
}

#[tokio::test]
async fn one_validator_one_miner_end_to_end() {
    let net = subnet(dev()).await;
    let (chain, netuid) = (&net.chain, net.netuid);
    chain
        .set_weights(&net.validator, netuid, &[2], &[65535], 0)
        .await
        .unwrap();
    let before = chain.stake(netuid, &net.miner.public()).await.unwrap();
    chain.run_to_next_epoch(netuid).unwrap();
    let mg = chain.metagraph(netuid).await.unwrap();
    let (v, m) = (&mg.neurons[1], &mg.neurons[2]);
    assert_eq!(m.incentive, Proportion::ONE);
    assert_eq!(m.consensus, Proportion::ONE);
    assert_eq!(m.rank, Proportion::ONE);
    assert_eq!(m.trust, Proportion::ONE);
    assert_eq!(v.dividends, Proportion::ONE);
    assert_eq!(v.validator_trust, Proportion::ONE);
    // 11 blocks of 1 TAO, 18% owner cut, then half to the miner.
    let pending = 11 * RAO_PER_TAO;
    let to_neurons = pending - pending * 11_796 / 65_535;
    assert_eq!(m.emission, to_neurons / 2);
    assert_eq!(
        chain.stake(netuid, &net.miner.public()).await.unwrap() - before,
        to_neurons / 2
    );
    assert!(m.active && v.active);
}

#[tokio::test]
async fn weights_checks_use_the_runtime_error_names() {
    let mut hyper = dev();
    hyper.weights_version = 7;
    let net = subnet(hyper).await;
    let (chain, netuid) = (&net.chain, net.netuid);
    let err = chain
        .set_weights(&net.validator, netuid, &[2], &[1], 6)
        .await
        .unwrap_err();
    assert_eq!(
        err.pallet_error(),
        Some(PalletError::IncorrectWeightVersionKey),
        "{err}"
    );
    chain
        .set_weights(&net.validator, netuid, &[2], &[1], 7)
        .await
        .unwrap();
    let err = chain
        .set_weights(&net.validator, netuid, &[2], &[1], 7)
        .await
        .unwrap_err();
    assert_eq!(err.dispatch_name(), Some("SettingWeightsTooFast"), "{err}");
    chain.produce_blocks(5).unwrap();
    chain
        .set_weights(&net.validator, netuid, &[2], &[1], 0)
        .await
        .unwrap();
    assert_eq!(chain.blocks_since_last_update(netuid, 1).await.unwrap(), 0);

    // The miner holds no permit.
    let err = chain
        .set_weights(&net.miner, netuid, &[1], &[1], 7)
        .await
        .unwrap_err();
    assert_eq!(
        err.pallet_error(),
        Some(PalletError::NeuronNoValidatorPermit),
        "{err}"
    );
    chain.produce_blocks(5).unwrap();
    for (uids, weights, expected) in [
        (vec![2, 2], vec![1, 1], PalletError::DuplicateUids),
        (vec![9], vec![1], PalletError::UidVecContainInvalidOne),
        (vec![2], vec![1, 2], PalletError::WeightVecNotEqualSize),
    ] {
        let err = chain
            .set_weights(&net.validator, netuid, &uids, &weights, 7)
            .await
            .unwrap_err();
        assert_eq!(err.pallet_error(), Some(expected), "{err}");
    }
    let stranger = key("//Dave/hot");
    let err = chain
        .set_weights(&stranger, netuid, &[2], &[1], 7)
        .await
        .unwrap_err();
    assert_eq!(
        err.pallet_error(),
        Some(PalletError::HotKeyNotRegisteredInSubNet)
    );
}

#[tokio::test]
async fn commit_reveal_v2_round_trip() {
    let hyper = Hyperparameters {
        commit_reveal_weights_enabled: true,
        ..dev()
    };
    let net = subnet(hyper).await;
    let (chain, netuid) = (&net.chain, net.netuid);
    let err = chain
        .set_weights(&net.validator, netuid, &[2], &[1], 0)
        .await
        .unwrap_err();
    assert_eq!(err.pallet_error(), Some(PalletError::CommitRevealEnabled));
    let salt = [1, 2, 3, 4, 5, 6, 7, 8];
    let hash = weights_commit_hash(&net.validator.public(), netuid, &[2], &[65535], &salt, 0);
    chain
        .commit_weights(&net.validator, netuid, hash)
        .await
        .unwrap();
    let err = chain
        .reveal_weights(&net.validator, netuid, &[2], &[65535], &salt, 0)
        .await
        .unwrap_err();
    assert_eq!(
        err.pallet_error(),
        Some(PalletError::RevealTooEarly),
        "{err}"
    );
    let err = chain
        .reveal_weights(&net.validator, netuid, &[2], &[65534], &salt, 0)
        .await
        .unwrap_err();
    assert_eq!(
        err.pallet_error(),
        Some(PalletError::InvalidRevealCommitHashNotMatch)
    );
    // Into the next epoch: the reveal window.
    chain.run_to_next_epoch(netuid).unwrap();
    chain
        .reveal_weights(&net.validator, netuid, &[2], &[65535], &salt, 0)
        .await
        .unwrap();
    chain.run_to_next_epoch(netuid).unwrap();
    let mg = chain.metagraph(netuid).await.unwrap();
    assert_eq!(mg.neurons[2].incentive, Proportion::ONE);
    let err = chain
        .reveal_weights(&net.validator, netuid, &[2], &[65535], &salt, 0)
        .await
        .unwrap_err();
    assert_eq!(err.pallet_error(), Some(PalletError::NoWeightsCommitFound));
}

#[tokio::test]
async fn expired_commit_is_refused() {
    let hyper = Hyperparameters {
        commit_reveal_weights_enabled: true,
        ..dev()
    };
    let net = subnet(hyper).await;
    let (chain, netuid) = (&net.chain, net.netuid);
    let hash = weights_commit_hash(&net.validator.public(), netuid, &[2], &[1], &[9], 0);
    chain
        .commit_weights(&net.validator, netuid, hash)
        .await
        .unwrap();
    chain.run_to_next_epoch(netuid).unwrap();
    chain.run_to_next_epoch(netuid).unwrap();
    let err = chain
        .reveal_weights(&net.validator, netuid, &[2], &[1], &[9], 0)
        .await
        .unwrap_err();
    assert_eq!(
        err.pallet_error(),
        Some(PalletError::ExpiredWeightCommit),
        "{err}"
    );
}

#[tokio::test]
async fn registration_serving_and_commitments() {
    let net = subnet(Hyperparameters {
        serving_rate_limit: 10,
        ..dev()
    })
    .await;
    let (chain, netuid) = (&net.chain, net.netuid);
    let err = chain
        .burned_register(&key("//Bob"), netuid, &net.validator.public())
        .await
        .unwrap_err();
    assert_eq!(
        err.pallet_error(),
        Some(PalletError::HotKeyAlreadyRegisteredInSubNet)
    );
    // Charlie's hotkey cannot be claimed by Dave's coldkey on another subnet... or this one.
    let dave = key("//Dave");
    let err = chain
        .add_stake(&dave, &key("//Nobody").public(), netuid, 1)
        .await
        .unwrap_err();
    assert_eq!(
        err.pallet_error(),
        Some(PalletError::HotKeyAccountNotExists)
    );
    let poor = key("//Poor");
    let err = chain
        .burned_register(&poor, netuid, &key("//Poor/hot").public())
        .await
        .unwrap_err();
    assert_eq!(
        err.pallet_error(),
        Some(PalletError::NotEnoughBalanceToStake)
    );

    let loopback = ServeAxon {
        ip: "127.0.0.1".parse().unwrap(),
        ..axon(8091)
    };
    let err = chain
        .serve_axon(&net.miner, netuid, &loopback)
        .await
        .unwrap_err();
    assert_eq!(err.pallet_error(), Some(PalletError::InvalidIpAddress));
    let err = chain
        .serve_axon(&net.miner, netuid, &axon(0))
        .await
        .unwrap_err();
    assert_eq!(err.pallet_error(), Some(PalletError::InvalidPort));
    chain
        .serve_axon(&net.miner, netuid, &axon(8091))
        .await
        .unwrap();
    let err = chain
        .serve_axon(&net.miner, netuid, &axon(8092))
        .await
        .unwrap_err();
    assert_eq!(
        err.pallet_error(),
        Some(PalletError::ServingRateLimitExceeded)
    );
    let mg = chain.metagraph(netuid).await.unwrap();
    assert_eq!(
        mg.neurons[2].axon.socket_addr().unwrap().to_string(),
        "127.0.0.2:8091"
    );

    chain
        .set_commitment(&net.miner, netuid, b"model=abc")
        .await
        .unwrap();
    let c = chain
        .get_commitment(netuid, &net.miner.public())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.data, b"model=abc");
    let err = chain
        .set_commitment(&key("//Nobody"), netuid, b"x")
        .await
        .unwrap_err();
    assert_eq!(
        err.pallet_error(),
        Some(PalletError::AccountNotAllowedCommit)
    );
    assert!(
        chain
            .set_commitment(&net.miner, netuid, &[0; 129])
            .await
            .is_err()
    );

    let owner = chain.subnet_owner(netuid).await.unwrap();
    assert_eq!(owner.coldkey, net.owner.public());
    let err = chain
        .set_hyperparameters(&key("//Bob"), netuid, dev())
        .await
        .unwrap_err();
    assert_eq!(err.pallet_error(), Some(PalletError::NotSubnetOwner));
    let err = chain
        .mint(&key("//Bob"), &poor.public(), 1)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sudo"), "{err}");
}

#[tokio::test]
async fn full_subnet_prunes_the_lowest_non_immune_neuron() {
    let hyper = Hyperparameters {
        max_allowed_uids: 3,
        immunity_period: 5,
        ..dev()
    };
    let net = subnet(hyper).await;
    let (chain, netuid) = (&net.chain, net.netuid);
    let newcomer = key("//Eve/hot");
    // The miner registered more than 5 blocks ago and earned nothing: it goes first.
    assert_eq!(
        chain
            .burned_register(&key("//Eve"), netuid, &newcomer.public())
            .await
            .unwrap(),
        2
    );
    let mg = chain.metagraph(netuid).await.unwrap();
    assert_eq!(mg.neurons[2].hotkey, newcomer.public());
    assert_eq!(mg.neurons[2].block_at_registration, chain.block().unwrap());
    // Then the validator, the only one left outside immunity (the owner is never pruned).
    let ferdie = key("//Ferdie/hot").public();
    assert_eq!(
        chain
            .burned_register(&key("//Ferdie"), netuid, &ferdie)
            .await
            .unwrap(),
        1
    );
    let err = chain
        .burned_register(&key("//Dave"), netuid, &key("//Dave/hot").public())
        .await
        .unwrap_err();
    assert_eq!(
        err.pallet_error(),
        Some(PalletError::NoNeuronIdAvailable),
        "{err}"
    );
}

#[tokio::test]
async fn epochs_follow_the_schedule_and_blocks_stream() {
    let net = subnet(dev()).await;
    let (chain, netuid) = (&net.chain, net.netuid);
    // run_to_next_epoch stops at the epoch block, where the count is 0 (the runtime's
    // `should_run_epoch`); the next block starts a new count of `tempo`.
    let tempo = u64::from(dev().tempo);
    assert_eq!(chain.blocks_until_next_epoch(netuid).await.unwrap(), 0);
    use futures::StreamExt;
    let mut blocks = chain.subscribe_blocks().await.unwrap();
    let now = chain.current_block().await.unwrap();
    chain.produce_block().unwrap();
    assert_eq!(blocks.next().await.unwrap().unwrap(), now + 1);
    assert_eq!(chain.blocks_until_next_epoch(netuid).await.unwrap(), tempo);
    chain.produce_blocks(tempo - 1).unwrap();
    assert_eq!(chain.blocks_until_next_epoch(netuid).await.unwrap(), 1);
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (netuid, before) = {
        let chain = EmbeddedChain::open(dir.path(), ChainConfig::default()).unwrap();
        let netuid = chain
            .create_subnet(&key("//Alice"), &key("//Alice/hot").public(), dev())
            .await
            .unwrap();
        chain
            .burned_register(&key("//Bob"), netuid, &key("//Bob/hot").public())
            .await
            .unwrap();
        chain
            .serve_axon(&key("//Bob/hot"), netuid, &axon(9000))
            .await
            .unwrap();
        chain
            .add_stake(
                &key("//Bob"),
                &key("//Bob/hot").public(),
                netuid,
                5 * RAO_PER_TAO,
            )
            .await
            .unwrap();
        chain.produce_blocks(25).unwrap();
        (netuid, chain.metagraph(netuid).await.unwrap())
    };
    let chain = EmbeddedChain::open(dir.path(), ChainConfig::default()).unwrap();
    assert_eq!(chain.current_block().await.unwrap(), 25);
    assert_eq!(chain.metagraph(netuid).await.unwrap(), before);
    assert!(before.neurons[1].stake >= 5 * RAO_PER_TAO);
    // Genesis endowments are not applied twice.
    let alice = chain.balance(&key("//Alice").public()).await.unwrap();
    assert_eq!(alice, 1_000_000 * RAO_PER_TAO - 100 * RAO_PER_TAO);
}

#[test]
fn an_empty_or_foreign_state_file_is_refused_not_restarted_from_block_0() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(omron_chain::STATE_FILE);
    std::fs::write(&file, b"").unwrap();
    let err = EmbeddedChain::open(dir.path(), ChainConfig::default()).unwrap_err();
    assert!(err.to_string().contains("is empty (0 bytes)"), "{err}");
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        0,
        "the file is left as it was"
    );
    std::fs::remove_file(&file).unwrap();
    rusqlite::Connection::open(&file)
        .unwrap()
        .execute_batch("CREATE TABLE other (x INTEGER)")
        .unwrap();
    let err = EmbeddedChain::open(dir.path(), ChainConfig::default()).unwrap_err();
    assert!(
        err.to_string().contains("without the chain's tables"),
        "{err}"
    );
}

#[tokio::test]
async fn rpc_client_sees_the_same_chain() {
    let net = subnet(dev()).await;
    let server = serve_rpc(net.chain.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = DevChainClient::connect(&server.url()).await.unwrap();
    assert_eq!(
        client.metagraph(net.netuid).await.unwrap(),
        net.chain.metagraph(net.netuid).await.unwrap()
    );
    client
        .serve_axon(&net.miner, net.netuid, &axon(7000))
        .await
        .unwrap();
    client
        .set_weights(&net.validator, net.netuid, &[2], &[65535], 0)
        .await
        .unwrap();
    let err = client
        .set_weights(&net.validator, net.netuid, &[2], &[65535], 0)
        .await
        .unwrap_err();
    assert_eq!(
        err.pallet_error(),
        Some(PalletError::SettingWeightsTooFast),
        "{err}"
    );
    let uid = client
        .burned_register(&key("//Dave"), net.netuid, &key("//Dave/hot").public())
        .await
        .unwrap();
    assert_eq!(uid, 3);
    assert_eq!(
        net.chain.metagraph(net.netuid).await.unwrap().neurons[2]
            .axon
            .port,
        7000
    );
    let err = client.metagraph(99).await.unwrap_err();
    assert_eq!(err.pallet_error(), Some(PalletError::SubnetNotExists));

    // New blocks reach the client's stream.
    use futures::StreamExt;
    let mut blocks = client.subscribe_blocks().await.unwrap();
    let now = net.chain.block().unwrap();
    net.chain.produce_block().unwrap();
    assert_eq!(blocks.next().await.unwrap().unwrap(), now + 1);
    server.shutdown().await;
}

#[tokio::test]
async fn rpc_refuses_forged_replayed_and_malformed_requests() {
    let chain = EmbeddedChain::in_memory(ChainConfig::default()).unwrap();
    let server = serve_rpc(chain.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let call = omron_chain::Call::Mint {
        dest: key("//Eve").public(),
        amount: 1,
    };
    let signed =
        omron_chain::SignedCall::sign(&key("//Alice"), &chain.genesis_hash(), 5, &call).unwrap();
    let submit = |body: String| {
        let http = http.clone();
        let url = format!("{}/v1/submit", server.url());
        async move {
            http.post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let ok = submit(serde_json::to_string(&signed).unwrap()).await;
    assert_eq!(ok.status(), 200);
    let replay = submit(serde_json::to_string(&signed).unwrap()).await;
    assert_eq!(replay.status(), 401);
    let mut forged = signed.clone();
    forged.nonce = 6;
    forged.signer = key("//Bob").public();
    assert_eq!(
        submit(serde_json::to_string(&forged).unwrap())
            .await
            .status(),
        401
    );
    assert_eq!(submit("{not json".into()).await.status(), 400);
    assert_eq!(submit("x".repeat(100_000)).await.status(), 413);
    let unknown = http
        .get(format!("{}/v2/nothing", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        chain.balance(&key("//Eve").public()).await.unwrap(),
        2000 * RAO_PER_TAO + 1
    );
}

#[tokio::test]
async fn timer_produces_blocks_seen_through_network_connect() {
    let config = ChainConfig {
        block_time: std::time::Duration::from_millis(20),
        ..ChainConfig::default()
    };
    let chain = EmbeddedChain::in_memory(config).unwrap();
    let server = serve_rpc(chain.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let producer = chain.spawn_block_production();
    let remote = server
        .url()
        .parse::<omron_chain::Network>()
        .unwrap()
        .connect()
        .await
        .unwrap();
    use futures::StreamExt;
    let mut blocks = remote.subscribe_blocks().await.unwrap();
    let first = blocks.next().await.unwrap().unwrap();
    let second = blocks.next().await.unwrap().unwrap();
    assert!(second > first, "{second} > {first}");
    producer.stop();
    let stopped = chain.block().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(chain.block().unwrap(), stopped, "no blocks after stop");
    assert_eq!(remote.current_block().await.unwrap(), stopped);
    server.shutdown().await;
}

#[tokio::test]
async fn minority_validator_is_clipped_on_chain() {
    let net = subnet(dev()).await;
    let (chain, netuid) = (&net.chain, net.netuid);
    // A second validator with less stake, and a second miner.
    let (dave, dave_hot) = (key("//Dave"), key("//Dave/hot"));
    assert_eq!(
        chain
            .burned_register(&dave, netuid, &dave_hot.public())
            .await
            .unwrap(),
        3
    );
    chain
        .add_stake(&dave, &dave_hot.public(), netuid, 400 * RAO_PER_TAO)
        .await
        .unwrap();
    let other_miner = key("//Eve/hot");
    assert_eq!(
        chain
            .burned_register(&key("//Eve"), netuid, &other_miner.public())
            .await
            .unwrap(),
        4
    );
    chain.run_to_next_epoch(netuid).unwrap();
    assert!(chain.metagraph(netuid).await.unwrap().neurons[3].validator_permit);

    // The majority weights miner 2, the minority miner 4.
    chain
        .set_weights(&net.validator, netuid, &[2], &[65535], 0)
        .await
        .unwrap();
    chain
        .set_weights(&dave_hot, netuid, &[4], &[65535], 0)
        .await
        .unwrap();
    chain.run_to_next_epoch(netuid).unwrap();
    let mg = chain.metagraph(netuid).await.unwrap();
    assert_eq!(mg.neurons[2].incentive, Proportion::ONE);
    assert_eq!(mg.neurons[4].incentive, Proportion::ZERO);
    assert_eq!(mg.neurons[4].consensus, Proportion::ZERO);
    assert_eq!(mg.neurons[1].validator_trust, Proportion::ONE);
    assert_eq!(
        mg.neurons[3].validator_trust,
        Proportion::ZERO,
        "the minority's weights were clipped"
    );
    assert_eq!(mg.neurons[3].dividends, Proportion::ZERO);
    assert_eq!(mg.neurons[1].dividends, Proportion::ONE);
}
