//! The weights mode the client reads from the executed runtime (spec 218 under chopsticks): this
//! runtime has no `CommitRevealWeightsVersion`, no Drand pallet and no timelocked commit call, so
//! a subnet's mode follows its `CommitRevealWeightsEnabled` and `RevealPeriodEpochs` alone: off,
//! then CRv2 with the period set, and a timelocked commit is refused naming the missing call.
//! (The CRv2 commit, reveal and expiry themselves are `subtensor_runtime`'s.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use omron_chain::chopsticks::{Chopsticks, ChopsticksOptions, default_genesis};
use omron_chain::subtensor::dev::SubtensorDev;
use omron_chain::{
    Chain, ChainError, CommitRevealMode, DevChain, Hyperparameters, RAO_PER_TAO, SubtensorClient,
};
use omron_keys::Keypair;

fn key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_218_reads_as_crv2_when_commit_reveal_is_on() {
    let chopsticks = Chopsticks::start(ChopsticksOptions::new(default_genesis()))
        .await
        .unwrap();
    let client = SubtensorClient::connect(&chopsticks.url()).await.unwrap();
    assert_eq!(client.spec_version().await.unwrap(), 218);
    let dev = SubtensorDev::new(client.clone(), key("//Alice"))
        .await
        .unwrap();
    let owner = key("//Owner");
    let owner_hot = key("//Owner/hot");
    dev.fund(&[(owner.public(), 10_000 * RAO_PER_TAO)])
        .await
        .unwrap();

    let hyper = Hyperparameters {
        tempo: 10,
        ..Hyperparameters::dev()
    };
    let netuid = dev
        .create_subnet(&owner, &owner_hot.public(), hyper.clone())
        .await
        .unwrap();
    assert_eq!(
        client.commit_reveal_mode(netuid).await.unwrap(),
        CommitRevealMode::Off
    );

    dev.set_hyperparameters(
        &owner,
        netuid,
        Hyperparameters {
            commit_reveal_weights_enabled: true,
            commit_reveal_period: 2,
            ..hyper
        },
    )
    .await
    .unwrap();
    assert_eq!(
        client.commit_reveal_mode(netuid).await.unwrap(),
        CommitRevealMode::V2 { reveal_period: 2 }
    );

    let err = client
        .commit_timelocked_weights(&owner_hot, netuid, &[0], &[65535], 0)
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::Unsupported(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "this runtime has no SubtensorModule.commit_timelocked_weights"
    );
}
