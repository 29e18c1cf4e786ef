//! `handcrafted/`: 34 hand-built raw requests the real Python axon judged. Each is replayed in
//! order against our axon (set up like the capture axon, with the clock set to the capture's
//! `date:`), and must get the Python verdict, except where our axon is deliberately stricter or
//! more lenient; those cases are listed with the reason.

use crate::common::{TestClock, capture_axon, http_date_ns, raw_exchange, wire_dir};
use omron_bittensor::axon::AxonConfig;

/// (case, our status, why we differ from the Python axon).
const DEVIATIONS: &[(&str, u16, &str)] = &[
    (
        "19_reject_body_hash_mismatch",
        400,
        "a body that does not match its signed hash is a bad request, not a crash into 500",
    ),
    (
        "20_reject_hash_over_json_not_repr",
        400,
        "a body that does not match its signed hash is a bad request, not a crash into 500",
    ),
    (
        "10_accept_second_nonce_17s_old_same_uuid",
        401,
        "freshness is checked on every request",
    ),
    (
        "12_accept_day_old_nonce_with_huge_timeout",
        401,
        "the client's timeout widens the window only up to a cap",
    ),
    (
        "13_accept_ancient_nonce_without_version_header",
        401,
        "no legacy exemption from freshness",
    ),
    (
        "14_accept_ancient_nonce_version_7001999",
        401,
        "no legacy exemption from freshness",
    ),
    (
        "15_accept_future_nonce_plus_1h",
        401,
        "nonces far in the future are refused",
    ),
    (
        "16_reject_after_future_nonce_same_uuid",
        200,
        "the future nonce of case 15 was never stored",
    ),
    (
        "28_reject_no_bt_headers_blacklisted",
        401,
        "a request without a hotkey fails before the blacklist",
    ),
    (
        "34_reject_required_field_without_input_obj_header",
        200,
        "the empty-value headers are not needed",
    ),
];

#[tokio::test]
async fn handcrafted_requests_get_the_python_axons_verdicts() {
    let summary = crate::common::load_json("handcrafted/summary.json");
    let clock = TestClock::default();
    let axon = capture_axon(Some(clock.as_clock()), AxonConfig::default()).await;
    let dir = wire_dir().join("handcrafted");
    let mut checked = 0;
    for case in summary.as_array().unwrap() {
        let name = case["case"].as_str().unwrap();
        let request = std::fs::read(dir.join(format!("{name}.request.raw.txt"))).unwrap();
        let python = crate::common::RawResponse::parse(
            &std::fs::read(dir.join(format!("{name}.response.raw.txt"))).unwrap(),
        )
        .unwrap();
        clock.set(http_date_ns(python.header("date").unwrap()));
        let ours = raw_exchange(axon.local_addr(), &request).await;
        let deviation = DEVIATIONS.iter().find(|(c, _, _)| *c == name);
        let expected_status = deviation.map_or(python.status, |(_, s, _)| *s);
        assert_eq!(
            ours.status,
            expected_status,
            "{name}: ours {:?}, python {:?}",
            ours.message(),
            python.message()
        );
        assert_eq!(
            ours.header("bt_header_axon_status_code"),
            Some(expected_status.to_string().as_str()),
            "{name}"
        );
        if deviation.is_none() {
            match (python.message(), ours.message()) {
                (Some(p), Some(o)) => {
                    // Parts that differ by nature: error ids, and the request's age (our
                    // clock is the capture's date header, second resolution).
                    let stable = |m: &str| -> String {
                        let m = m.split(" #").next().unwrap_or(m);
                        m.split(" but request was").next().unwrap_or(m).to_owned()
                    };
                    assert_eq!(stable(&o), stable(&p), "{name}");
                }
                (None, None) => {
                    // Both 200: the handler's answer must match the Python handler's.
                    let (p, o) = (python.json(), ours.json());
                    for field in ["query_output", "answer"] {
                        assert_eq!(o[field], p[field], "{name}: {field}");
                    }
                    assert_eq!(o["axon"]["status_code"], 200, "{name}");
                }
                (p, o) => panic!("{name}: python {p:?}, ours {o:?}"),
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 34);
    axon.shutdown().await;
}
