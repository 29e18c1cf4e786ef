//! `dumps/`: the real dendrite's requests to the real axon, replayed in order against our axon.
//! The verdicts must match the Python axon's, and successful answers must carry the same
//! handler output; where ours differs on purpose, the case says why.

use crate::common::{RawResponse, TestClock, capture_axon, http_date_ns, raw_exchange, wire_dir};
use omron_bittensor::axon::AxonConfig;

/// (dump, our status, why we differ from the Python axon).
const DEVIATIONS: &[(&str, u16, &str)] = &[
    (
        "10_body_tampered_hashed_field",
        400,
        "a body that does not match its signed hash is a bad request, not a crash into 500",
    ),
    (
        "07_timeout",
        408,
        "the handler runs under the request's timeout (1 s)",
    ),
    (
        "14_malformed_nonce_header",
        400,
        "bad header syntax is a 400, not a crash into 500",
    ),
];

#[tokio::test]
async fn captured_requests_get_the_python_axons_verdicts() {
    let clock = TestClock::default();
    let axon = capture_axon(Some(clock.as_clock()), AxonConfig::default()).await;
    let index = crate::common::load_json("dumps/index.json");
    let mut checked = 0;
    for entry in index.as_array().unwrap() {
        let name = entry["dir"].as_str().unwrap();
        let dir = wire_dir().join("dumps").join(name);
        let tampered = dir.join("request_tampered_to_axon.raw.txt");
        let request = if tampered.exists() {
            std::fs::read(tampered).unwrap()
        } else {
            std::fs::read(dir.join("request.raw.txt")).unwrap()
        };
        let python =
            RawResponse::parse(&std::fs::read(dir.join("response.raw.txt")).unwrap()).unwrap();
        clock.set(http_date_ns(python.header("date").unwrap()));
        let ours = raw_exchange(axon.local_addr(), &request).await;
        let deviation = DEVIATIONS.iter().find(|(c, _, _)| *c == name);
        let expected = deviation.map_or(python.status, |(_, s, _)| *s);
        assert_eq!(
            ours.status,
            expected,
            "{name}: ours {:?} python {:?}",
            ours.message(),
            python.message()
        );
        assert_eq!(
            ours.header("content-type"),
            Some("application/json"),
            "{name}"
        );
        // Header names are lowercase: the Python dendrite matches them case-sensitively.
        for (k, _) in &ours.headers {
            assert_eq!(*k, k.to_lowercase(), "{name}: header {k}");
        }
        if deviation.is_some() {
            checked += 1;
            continue;
        }
        if expected == 200 {
            let (p, o) = (python.json(), ours.json());
            assert_eq!(o["query_output"], p["query_output"], "{name}");
            assert_eq!(o["answer"], p["answer"], "{name}");
            assert_eq!(o["axon"]["status_code"], 200, "{name}");
            assert_eq!(o["axon"]["status_message"], "Success", "{name}");
            assert_eq!(
                ours.header("bt_header_axon_status_code"),
                Some("200"),
                "{name}"
            );
            assert_eq!(
                ours.header("bt_header_axon_hotkey"),
                Some("5CJXU3SZbrQXL8DPNQnBF3vPbWGgP15LhxFpi4tWhr9poyEz")
            );
            // Inputs are echoed, so the Python dendrite keeps them.
            if !p["query_input"].is_null() {
                assert_eq!(o["query_input"], p["query_input"], "{name}");
            }
            // The dendrite block echoed is the verified one, never the body's.
            assert_eq!(
                o["dendrite"]["hotkey"], "5FRY4og7L7mGTAwKWB2sBok3ABR3scCkn7Za79zTn3H8BsgH",
                "{name}"
            );
        } else {
            let stable = |m: String| -> String {
                let m = m.split(" #").next().unwrap_or(&m).to_owned();
                m.split(" but request was").next().unwrap_or(&m).to_owned()
            };
            assert_eq!(
                stable(ours.message().unwrap()),
                stable(python.message().unwrap()),
                "{name}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 17);
    axon.shutdown().await;
}

#[test]
fn body_of_the_success_dump_reparses_and_rehashes_identically() {
    // The hashed field of dumps/02 goes through our JSON model and back to the same hash.
    use omron_bittensor::json::parse;
    use omron_bittensor::synapse::Envelope;
    let raw =
        std::fs::read(wire_dir().join("dumps/02_success_query_zk_proof/request.raw.txt")).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let header_hash = head
        .lines()
        .find_map(|l| l.strip_prefix("computed_body_hash: "))
        .unwrap();
    let envelope =
        Envelope::<crate::common::QueryZkProof>::from_value(parse(&raw[split + 4..]).unwrap())
            .unwrap();
    assert_eq!(envelope.body_hash().unwrap(), header_hash);
    let again = Envelope::<crate::common::QueryZkProof>::from_value(
        parse(&envelope.to_json_bytes().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(again, envelope);
    assert_eq!(again.body_hash().unwrap(), header_hash);
}
