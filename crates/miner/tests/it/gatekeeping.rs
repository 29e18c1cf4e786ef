//! The blacklist: upstream's reasons, a fresh view after each metagraph sync, and
//! `--disable-blacklist`.

use std::time::Duration;

use omron_bittensor::dendrite::Dendrite;
use omron_chain::{Chain, DevChain, RAO_PER_TAO};
use omron_protocol::{QueryForCapacities, QueryOutput};

use crate::common::{Subnet, ask, key, request, target};

fn refusal(status: Option<u16>, message: Option<String>) -> String {
    assert_eq!(status, Some(403), "{message:?}");
    message.unwrap_or_default()
}

#[tokio::test]
async fn callers_are_refused_with_the_upstream_reasons() {
    let subnet = Subnet::new(1).await;
    let miner = subnet.start(0, subnet.config()).await;
    let t = target(0, &miner);

    let stranger = Dendrite::new(key("//Stranger")).unwrap();
    let got = ask(&stranger, &t, QueryForCapacities::default()).await;
    let msg = refusal(
        got.base.dendrite.status_code,
        got.base.dendrite.status_message,
    );
    assert!(msg.contains("Hotkey is not registered"), "{msg}");

    let poor = Dendrite::new(key("//Alice//poor")).unwrap();
    let (_, _, query) = request(0);
    let got = ask(&poor, &t, query).await;
    let msg = refusal(
        got.base.dendrite.status_code,
        got.base.dendrite.status_message,
    );
    assert!(msg.contains("Stake below minimum"), "{msg}");
    assert_eq!(got.synapse.query_output, None);

    // Enough stake but no permit yet (permits come at the next epoch): refused, then
    // accepted once the miner's view has the permit.
    subnet
        .chain
        .add_stake(
            &key("//Alice"),
            &key("//Alice//poor").public(),
            subnet.netuid,
            5_000 * RAO_PER_TAO,
        )
        .await
        .unwrap();
    let mut saw_no_permit = false;
    let mut accepted = false;
    for _ in 0..100 {
        let got = ask(&poor, &t, QueryForCapacities::default()).await;
        match got.base.dendrite.status_code {
            Some(200) => {
                accepted = true;
                break;
            }
            Some(403) => {
                let msg = got.base.dendrite.status_message.unwrap_or_default();
                if msg.contains("Requesting UID has no validator permit") {
                    saw_no_permit = true;
                    // Hand out permits now.
                    subnet.chain.run_to_next_epoch(subnet.netuid).unwrap();
                }
            }
            other => panic!("unexpected status {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        saw_no_permit,
        "the staked caller was never refused for lacking a permit"
    );
    assert!(accepted, "the permitted caller was never accepted");
    let mg = subnet.chain.metagraph(subnet.netuid).await.unwrap();
    assert!(
        mg.by_hotkey(&key("//Alice//poor").public())
            .unwrap()
            .validator_permit
    );
    miner.shutdown().await;
}

#[tokio::test]
async fn a_disabled_blacklist_serves_anybody() {
    let subnet = Subnet::new(1).await;
    let mut config = subnet.config();
    config.disable_blacklist = true;
    let miner = subnet.start(0, config).await;
    let stranger = Dendrite::new(key("//Stranger")).unwrap();
    let (_, _, query) = request(0);
    let got = ask(&stranger, &target(0, &miner), query).await;
    assert_eq!(got.base.dendrite.status_code, Some(200));
    assert!(matches!(got.synapse.output(), Some(QueryOutput::Proof(_))));
    miner.shutdown().await;
}
