//! The real subtensor runtime under chopsticks (`omron_chain::chopsticks`): it starts from the
//! shipped genesis, answers JSON-RPC, makes blocks on demand, and takes storage writes (funds,
//! the sudo key) that the runtime then reads back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use omron_chain::chopsticks::{BlockMode, Chopsticks, ChopsticksOptions, default_genesis};
use omron_keys::Keypair;
use serde_json::json;

#[tokio::test]
async fn the_runtime_starts_makes_blocks_and_takes_dev_storage() {
    let mut options = ChopsticksOptions::new(default_genesis());
    options.block_mode = BlockMode::Manual;
    let mut chain = Chopsticks::start(options).await.unwrap();
    let head = |h: serde_json::Value| {
        u64::from_str_radix(h["number"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    };
    let before = head(chain.rpc("chain_getHeader", json!([])).await.unwrap());
    chain.new_blocks(3).await.unwrap();
    let after = head(chain.rpc("chain_getHeader", json!([])).await.unwrap());
    assert_eq!(after, before + 3);
    let version = chain
        .rpc("state_getRuntimeVersion", json!([]))
        .await
        .unwrap();
    assert_eq!(version["specName"], "node-subtensor");
    assert_eq!(version["specVersion"], 218);

    let bob = Keypair::from_uri("//Bob").unwrap().public();
    chain.fund(&[(bob, 5_000_000_000_000)]).await.unwrap();
    let account = chain
        .rpc("system_accountNextIndex", json!([bob.to_ss58()]))
        .await
        .unwrap();
    assert_eq!(account, 0);
    assert!(chain.is_running());
    chain.kill();
    assert!(!chain.is_running());
}
