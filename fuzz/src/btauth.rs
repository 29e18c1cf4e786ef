//! btauth/1 (`verify_request`) and the SDK scheme's header readers.
//!
//! Two modes. Free: headers, method, target and body from the fuzzer, verified as the axon
//! does. Signed: a request correctly signed by a fixed sender for the fixed receiver, then
//! edited by the fuzzer (body, a header value, method, target); whatever verifies must still
//! be exactly what was signed: the same sender and nonce, body and target, the method up to
//! case (the scheme upper-cases it).

use http::{HeaderMap, HeaderName, HeaderValue};
use omron_bittensor::btauth::{
    ReplayStore, claimed_hotkey, is_btauth, sign_request, verify_request,
};
use omron_bittensor::headers::{AXON_PREFIX, DENDRITE_PREFIX, terminal_info_from_headers};

use crate::Bytes;
use crate::fixtures::key;

/// The verifier's clock in the target: nonces are signed at this time.
const NOW_NS: u64 = 1_750_000_000_000_000_000;

fn free_headers(bytes: &mut Bytes<'_>) -> HeaderMap {
    let mut map = HeaderMap::new();
    let names = [
        "x-bittensor-version",
        "x-bittensor-hotkey",
        "x-bittensor-nonce",
        "x-bittensor-signature",
        "x-bittensor-receiver",
        "x-bittensor-crypto",
        "bt_header_dendrite_hotkey",
        "bt_header_dendrite_nonce",
        "bt_header_dendrite_signature",
        "bt_header_dendrite_version",
        "bt_header_axon_port",
    ];
    for _ in 0..(bytes.u8() % 12) {
        let pick = bytes.u8() as usize;
        let value = bytes.chunk();
        let name = match names.get(pick) {
            Some(n) => HeaderName::from_static(n),
            None => match HeaderName::from_bytes(bytes.chunk()) {
                Ok(n) => n,
                Err(_) => continue,
            },
        };
        if let Ok(v) = HeaderValue::from_bytes(value) {
            map.append(name, v);
        }
    }
    map
}

/// The target.
pub fn run(data: &[u8]) {
    let mut bytes = Bytes::new(data);
    let receiver = key(1).public();
    let store = ReplayStore::new(64);
    if bytes.u8() % 2 == 0 {
        let headers = free_headers(&mut bytes);
        let method = String::from_utf8_lossy(bytes.chunk()).into_owned();
        let target = String::from_utf8_lossy(bytes.chunk()).into_owned();
        let body = bytes.rest();
        let _ = is_btauth(&headers);
        let _ = claimed_hotkey(&headers);
        let _ = terminal_info_from_headers(DENDRITE_PREFIX, &headers);
        let _ = terminal_info_from_headers(AXON_PREFIX, &headers);
        let _ = verify_request(&headers, body, &method, &target, &receiver, NOW_NS, &store);
        return;
    }

    let sender = key(2);
    let nonce = NOW_NS - u64::from(bytes.u32() % 1_000_000);
    let method = "POST";
    let target = "/QueryZkProof";
    let body = bytes.chunk().to_vec();
    let signed = sign_request(&sender, method, target, &body, &receiver, nonce);
    let mut headers = HeaderMap::new();
    for (k, v) in &signed {
        headers.insert(
            *k,
            HeaderValue::from_str(v).expect("signed headers are ASCII"),
        );
    }
    let (mut got_method, mut got_target, mut got_body) =
        (method.to_owned(), target.to_owned(), body.clone());
    for _ in 0..(bytes.u8() % 4) {
        let edit = bytes.chunk();
        match bytes.u8() % 4 {
            0 => got_body = edit.to_vec(),
            1 => got_method = String::from_utf8_lossy(edit).into_owned(),
            2 => got_target = String::from_utf8_lossy(edit).into_owned(),
            _ => {
                let (name, _) = signed[bytes.u8() as usize % signed.len()];
                match HeaderValue::from_bytes(edit) {
                    Ok(v) => {
                        headers.insert(name, v);
                    }
                    Err(_) => {
                        headers.remove(name);
                    }
                }
            }
        }
    }
    if let Ok(caller) = verify_request(
        &headers,
        &got_body,
        &got_method,
        &got_target,
        &receiver,
        NOW_NS,
        &store,
    ) {
        assert_eq!(caller.hotkey, sender.public(), "verified as another sender");
        assert_eq!(caller.nonce, nonce, "verified with another nonce");
        assert_eq!(got_body, body, "verified another body");
        assert_eq!(got_target, target, "verified another target");
        assert!(
            got_method.eq_ignore_ascii_case(method),
            "verified another method"
        );
    }
}
