//! The real subtensor runtime (spec 218, the dynamic-TAO release, executed by chopsticks from
//! the shipped genesis) driven through our own client: connect, create a subnet under sudo,
//! register a validator and three miners, serve axons, commitments, hyperparameters read back,
//! weights with version keys and rate limits, commit-reveal v2, the metagraph after epochs, and
//! the runtime's own error names for every refusal.
//!
//! One chopsticks per test binary: starting it compiles the runtime's wasm (tens of seconds),
//! so the whole scenario is one test, in steps. Every extrinsic makes its own block (instant
//! mode); epochs come from `dev_newBlock`.
//!
//! What this runtime pays, found here and in its source: its coinbase runs every block and
//! calls a *mock* epoch (`epoch_mock`), not Yuma consensus. The mock writes `Incentive`,
//! `Dividends`, `Consensus`, `Rank`, `Trust` and `ValidatorTrust` as zeros, `Active` and
//! `ValidatorPermit` as all true, `StakeWeight` and `PruningScores` as each uid's share of stake,
//! and pays the whole subnet emission (after the owner cut) to hotkeys in proportion to stake.
//! Weights are stored and checked but never read, so **no weights, stake, permit or timing make
//! this runtime pay a miner incentive**: a miner earns only as a staker. The test asserts
//! exactly that.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::StreamExt;
use omron_chain::chopsticks::{Chopsticks, ChopsticksOptions, default_genesis};
use omron_chain::subtensor::calls;
use omron_chain::subtensor::dev::SubtensorDev;
use omron_chain::{
    Chain, ChainError, ChainResult, DevChain, Hyperparameters, PalletError, RAO_PER_TAO, ServeAxon,
    SubtensorClient, weights_commit_hash,
};
use omron_keys::Keypair;
use subxt::dynamic::Value;

fn key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap()
}

/// Asserts the call was refused with the runtime error `expected`.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: ChainResult<T>, expected: PalletError) {
    match result {
        Err(ChainError::Rejected { error, .. }) if error == expected => {}
        other => panic!("expected {expected}, got {other:?}"),
    }
}

/// A `Vec<u16>` or `Vec<u64>` storage value as numbers.
async fn storage_vec(client: &SubtensorClient, entry: &str, netuid: u16) -> Vec<u128> {
    let value = client
        .storage_value("SubtensorModule", entry, vec![Value::u128(netuid.into())])
        .await
        .unwrap()
        .unwrap();
    use subxt::ext::scale_value::ValueDef;
    match value.value {
        ValueDef::Composite(c) => c.values().map(|v| v.as_u128().unwrap()).collect(),
        other => panic!("{entry}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_drives_the_real_runtime() {
    let log = std::env::temp_dir().join(format!("omron-chopsticks-{}.log", std::process::id()));
    let mut options = ChopsticksOptions::new(default_genesis());
    options.log = Some(log.clone());
    let chopsticks = Chopsticks::start(options).await.unwrap();
    let started = std::time::Instant::now();

    // --- Connect: the client takes this runtime as it is.
    let client = SubtensorClient::connect(&chopsticks.url()).await.unwrap();
    assert_eq!(client.spec_version().await.unwrap(), 218);
    let alice = key("//Alice");
    let dev = SubtensorDev::new(client.clone(), alice.clone())
        .await
        .unwrap();

    let owner = key("//Owner");
    let owner_hot = key("//Owner/hot");
    let validator = key("//Validator");
    let validator_hot = key("//Validator/hot");
    let miner_cold = key("//Miner");
    let miners: Vec<Keypair> = (1..=3).map(|i| key(&format!("//Miner/{i}"))).collect();
    let tao = RAO_PER_TAO;
    let mut funds = vec![
        (owner.public(), 10_000 * tao),
        (validator.public(), 10_000 * tao),
        (miner_cold.public(), 2_000 * tao),
        // Hotkeys pay the fees of the calls that are not free (set_commitment).
        (validator_hot.public(), 10 * tao),
    ];
    funds.extend(miners.iter().map(|m| (m.public(), 10 * tao)));
    dev.fund(&funds).await.unwrap();
    assert_eq!(dev.balance(&owner.public()).await.unwrap(), 10_000 * tao);

    // --- A subnet, with hyperparameters set under sudo and read back as set.
    let hyper = Hyperparameters {
        tempo: 10,
        weights_rate_limit: 5,
        weights_version: 7,
        max_allowed_validators: 16,
        burn: tao / 10,
        ..Hyperparameters::dev()
    };
    let netuid = dev
        .create_subnet(&owner, &owner_hot.public(), hyper.clone())
        .await
        .unwrap();
    assert!(dev.subnets().await.unwrap().contains(&netuid));
    assert_eq!(client.hyperparameters(netuid).await.unwrap(), hyper);
    let owner_info = client.subnet_owner(netuid).await.unwrap();
    assert_eq!(
        (owner_info.coldkey, owner_info.hotkey),
        (owner.public(), owner_hot.public())
    );
    assert_eq!(
        client.uid_of(netuid, &owner_hot.public()).await.unwrap(),
        Some(0)
    );
    // Only the owner may change them (through this dev layer), and only sudo may mint.
    refused(
        dev.set_hyperparameters(&validator, netuid, hyper.clone())
            .await,
        PalletError::NotSubnetOwner,
    );
    refused(
        dev.mint(&validator, &validator.public(), tao).await,
        PalletError::RequireSudo,
    );

    // --- Burned registration: a validator and three miners.
    let before = dev.balance(&validator.public()).await.unwrap();
    let v_uid = client
        .burned_register(&validator, netuid, &validator_hot.public())
        .await
        .unwrap();
    assert_eq!(v_uid, 1);
    assert_eq!(
        dev.balance(&validator.public()).await.unwrap(),
        before - hyper.burn
    );
    let mut miner_uids = Vec::new();
    for m in &miners {
        miner_uids.push(
            client
                .burned_register(&miner_cold, netuid, &m.public())
                .await
                .unwrap(),
        );
    }
    assert_eq!(miner_uids, vec![2, 3, 4]);
    refused(
        client
            .burned_register(&miner_cold, netuid, &miners[0].public())
            .await,
        PalletError::HotKeyAlreadyRegisteredInSubNet,
    );
    // A subnet that does not exist, under this runtime's name for it.
    refused(
        client
            .burned_register(&miner_cold, 77, &key("//Nobody").public())
            .await,
        PalletError::SubNetworkDoesNotExist,
    );

    // --- Stake: the real add_stake, topped up to 1 alpha per TAO (see SubtensorDev).
    dev.add_stake(&validator, &validator_hot.public(), netuid, 1_000 * tao)
        .await
        .unwrap();
    assert!(dev.stake(netuid, &validator_hot.public()).await.unwrap() >= 1_000 * tao);

    // --- serve_axon: a routable address is published; 127.0.0.1 is refused by name.
    let axon = ServeAxon {
        version: 3,
        ip: "127.0.0.2".parse().unwrap(),
        port: 8091,
        protocol: 4,
    };
    for (i, m) in miners.iter().enumerate() {
        let port = 8091 + u16::try_from(i).unwrap();
        client
            .serve_axon(m, netuid, &ServeAxon { port, ..axon })
            .await
            .unwrap();
    }
    refused(
        client
            .serve_axon(
                &miners[0],
                netuid,
                &ServeAxon {
                    ip: "127.0.0.1".parse().unwrap(),
                    ..axon
                },
            )
            .await,
        PalletError::InvalidIpAddress,
    );
    refused(
        client.serve_axon(&key("//Nobody"), netuid, &axon).await,
        PalletError::HotKeyNotRegisteredInNetwork,
    );

    // --- Commitments: set, read back, and the runtime's rate limit by name.
    client
        .set_commitment(&validator_hot, netuid, b"omron:v1")
        .await
        .unwrap();
    let c = client
        .get_commitment(netuid, &validator_hot.public())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.data, b"omron:v1");
    assert_eq!(
        client
            .get_commitment(netuid, &miners[0].public())
            .await
            .unwrap(),
        None
    );
    refused(
        client
            .set_commitment(&validator_hot, netuid, b"again")
            .await,
        PalletError::CommitmentSetRateLimitExceeded,
    );

    // --- set_weights: the version key, then the rate limit, by their names.
    let targets: Vec<u16> = miner_uids.clone();
    let values = [65535u16, 32768, 16384];
    refused(
        client
            .set_weights(&validator_hot, netuid, &targets, &values, 6)
            .await,
        PalletError::IncorrectWeightVersionKey,
    );
    client
        .set_weights(&validator_hot, netuid, &targets, &values, 7)
        .await
        .unwrap();
    assert_eq!(
        client
            .blocks_since_last_update(netuid, v_uid)
            .await
            .unwrap(),
        0
    );
    refused(
        client
            .set_weights(&validator_hot, netuid, &targets, &values, 7)
            .await,
        PalletError::SettingWeightsTooFast,
    );
    dev.new_blocks(5).await.unwrap();
    refused(
        client
            .set_weights(&validator_hot, netuid, &[2, 2], &[1, 1], 7)
            .await,
        PalletError::DuplicateUids,
    );

    // --- Epochs: the metagraph after them.
    dev.run_to_epoch(netuid).await.unwrap();
    dev.run_to_epoch(netuid).await.unwrap();
    let mg = client.metagraph(netuid).await.unwrap();
    assert_eq!(mg.n(), 5);
    let v = mg.by_uid(v_uid).unwrap();
    assert_eq!(v.hotkey, validator_hot.public());
    assert_eq!(v.coldkey, validator.public());
    assert!(v.stake > 1_000 * tao, "stake {} grew by emission", v.stake);
    assert!(v.validator_permit && v.active);
    assert!(v.emission > 0);
    assert!(v.last_update > 0 && v.block_at_registration > 0);
    for (m, uid) in miners.iter().zip(&miner_uids) {
        let n = mg.by_uid(*uid).unwrap();
        assert_eq!(n.hotkey, m.public());
        assert_eq!(n.axon.ip_string().as_deref(), Some("127.0.0.2"));
        assert_eq!(n.axon.version, 3);
        // The mock epoch: no Yuma, so no incentive whatever the weights; no stake, no emission.
        assert_eq!(n.incentive.0, 0, "uid {uid}");
        assert_eq!(n.stake, 0);
        assert_eq!(n.emission, 0);
    }
    for n in &mg.neurons {
        assert_eq!(
            (
                n.rank.0,
                n.trust.0,
                n.consensus.0,
                n.dividends.0,
                n.validator_trust.0
            ),
            (0, 0, 0, 0, 0),
            "uid {}: the mock epoch writes zeros",
            n.uid
        );
        assert!(n.validator_permit && n.active);
    }
    // The metagraph is what storage holds; the stake weights drive everything.
    let stake_weight = storage_vec(&client, "StakeWeight", netuid).await;
    let pruning = storage_vec(&client, "PruningScores", netuid).await;
    let emission = storage_vec(&client, "Emission", netuid).await;
    assert_eq!(stake_weight, pruning);
    assert_eq!(
        emission,
        mg.neurons
            .iter()
            .map(|n| u128::from(n.emission))
            .collect::<Vec<_>>()
    );
    assert!(
        stake_weight[usize::from(v_uid)] > 60_000,
        "{stake_weight:?}"
    );
    // The coinbase drains and pays every block, whatever the tempo: its last step is now.
    let last_step = client
        .storage_value(
            "SubtensorModule",
            "LastMechansimStepBlock",
            vec![Value::u128(netuid.into())],
        )
        .await
        .unwrap()
        .and_then(|v| v.as_u128())
        .unwrap();
    assert_eq!(last_step, u128::from(mg.block));
    // New heights stream in as blocks are made.
    let mut heights = client.subscribe_blocks().await.unwrap();
    let target = dev.new_blocks(2).await.unwrap();
    let seen = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            let h = heights.next().await.unwrap().unwrap();
            if h >= target {
                return h;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(seen, target);

    // A miner with stake earns, as a staker: emission, still no incentive.
    dev.add_stake(&miner_cold, &miners[0].public(), netuid, 1_000 * tao)
        .await
        .unwrap();
    dev.run_to_epoch(netuid).await.unwrap();
    let mg = client.metagraph(netuid).await.unwrap();
    let m0 = mg.by_uid(miner_uids[0]).unwrap();
    assert!(m0.emission > 0 && m0.stake > 1_000 * tao);
    assert_eq!(m0.incentive.0, 0);
    let (e_v, e_m) = (mg.by_uid(v_uid).unwrap().emission, m0.emission);
    let ratio = e_m as f64 / e_v as f64;
    assert!(
        (0.8..1.2).contains(&ratio),
        "equal stake, about equal emission: {e_m} / {e_v}"
    );

    // --- Commit-reveal v2, as this runtime offers it.
    dev.set_hyperparameters(
        &owner,
        netuid,
        Hyperparameters {
            commit_reveal_weights_enabled: true,
            commit_reveal_period: 1,
            ..hyper.clone()
        },
    )
    .await
    .unwrap();
    assert!(
        client
            .hyperparameters(netuid)
            .await
            .unwrap()
            .commit_reveal_weights_enabled
    );
    refused(
        client
            .set_weights(&validator_hot, netuid, &targets, &values, 7)
            .await,
        PalletError::CommitRevealEnabled,
    );
    let hotkey = validator_hot.public();
    let salt = [9u16, 8, 7, 6];
    refused(
        client
            .reveal_weights(&validator_hot, netuid, &targets, &values, &salt, 7)
            .await,
        PalletError::NoWeightsCommitFound,
    );
    let hash = weights_commit_hash(&hotkey, netuid, &targets, &values, &salt, 7);
    // Commit at the start of an epoch, so the checks below stay inside it.
    dev.run_to_epoch(netuid).await.unwrap();
    client
        .commit_weights(&validator_hot, netuid, hash)
        .await
        .unwrap();
    refused(
        client
            .reveal_weights(&validator_hot, netuid, &targets, &values, &salt, 7)
            .await,
        PalletError::RevealTooEarly,
    );
    refused(
        client.commit_weights(&validator_hot, netuid, [1; 32]).await,
        PalletError::CommittingWeightsTooFast,
    );
    // The reveal epoch is the next one.
    dev.run_to_epoch(netuid).await.unwrap();
    refused(
        client
            .reveal_weights(&validator_hot, netuid, &targets, &values, &[1, 2], 7)
            .await,
        PalletError::InvalidRevealCommitHashNotMatch,
    );
    client
        .reveal_weights(&validator_hot, netuid, &targets, &values, &salt, 7)
        .await
        .unwrap();
    refused(
        client
            .reveal_weights(&validator_hot, netuid, &targets, &values, &salt, 7)
            .await,
        PalletError::NoWeightsCommitFound,
    );
    // A commit left past its reveal epoch expires.
    let late = weights_commit_hash(&hotkey, netuid, &targets, &values, &[5], 7);
    client
        .commit_weights(&validator_hot, netuid, late)
        .await
        .unwrap();
    dev.run_to_epoch(netuid).await.unwrap();
    dev.run_to_epoch(netuid).await.unwrap();
    refused(
        client
            .reveal_weights(&validator_hot, netuid, &targets, &values, &[5], 7)
            .await,
        PalletError::ExpiredWeightCommit,
    );

    // --- What this runtime does not have is named, and node refusals keep their code.
    let err = client
        .send(&validator_hot, |md| {
            calls::build(md, "SubtensorModule", "commit_timelocked_weights", vec![])
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "this runtime has no SubtensorModule.commit_timelocked_weights"
    );
    // Its transaction extension refuses a registration beyond 3 × the target per interval
    // before dispatch (InvalidTransaction::Custom(5)); a target of 0 refuses every one.
    dev.sudo_set(
        "sudo_set_target_registrations_per_interval",
        netuid,
        Value::u128(0),
    )
    .await
    .unwrap();
    match client
        .burned_register(&miner_cold, netuid, &key("//Miner/4").public())
        .await
    {
        Err(ChainError::InvalidTransaction { custom, .. }) => assert_eq!(custom, Some(5)),
        other => panic!("expected a refusal before dispatch, got {other:?}"),
    }

    let elapsed = started.elapsed();
    assert!(
        elapsed < std::time::Duration::from_secs(240),
        "the scenario took {elapsed:?}"
    );
    drop(chopsticks);
    let _ = std::fs::remove_file(log);
}
