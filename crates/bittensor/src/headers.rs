//! Header names of the SDK's axon/dendrite protocol, and the `bt_header_*` codec for
//! [`TerminalInfo`].

use http::HeaderMap;

use crate::synapse::TerminalInfo;

/// The synapse class name.
pub const NAME: &str = "name";
/// The caller's timeout in seconds, Python `str(float)`.
pub const TIMEOUT: &str = "timeout";
/// The body hash the signature covers.
pub const COMPUTED_BODY_HASH: &str = "computed_body_hash";
/// Python bookkeeping, never validated.
pub const HEADER_SIZE: &str = "header_size";
/// Python bookkeeping, never validated.
pub const TOTAL_SIZE: &str = "total_size";
/// Prefix of the dendrite's terminal info headers.
pub const DENDRITE_PREFIX: &str = "bt_header_dendrite_";
/// Prefix of the axon's terminal info headers.
pub const AXON_PREFIX: &str = "bt_header_axon_";
/// Prefix of the empty-value headers of required fields.
pub const INPUT_OBJ_PREFIX: &str = "bt_header_input_obj_";

/// `bt_header_dendrite_hotkey`.
pub const DENDRITE_HOTKEY: &str = "bt_header_dendrite_hotkey";
/// `bt_header_dendrite_nonce`.
pub const DENDRITE_NONCE: &str = "bt_header_dendrite_nonce";
/// `bt_header_dendrite_uuid`.
pub const DENDRITE_UUID: &str = "bt_header_dendrite_uuid";
/// `bt_header_dendrite_signature`.
pub const DENDRITE_SIGNATURE: &str = "bt_header_dendrite_signature";
/// `bt_header_dendrite_version`.
pub const DENDRITE_VERSION: &str = "bt_header_dendrite_version";

/// Makes a string safe for an HTTP header value: visible ASCII and spaces only (the full text
/// always travels in the JSON body too).
pub fn sanitize_value(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// `bt_header_{prefix}_{field}` pairs for the fields of `info` that are set, in the SDK order.
pub fn terminal_info_headers(prefix: &str, info: &TerminalInfo) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut push = |field: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push((format!("{prefix}{field}"), sanitize_value(&v)));
        }
    };
    push("status_code", info.status_code.map(|v| v.to_string()));
    push("status_message", info.status_message.clone());
    push("process_time", info.process_time.map(python_float));
    push("ip", info.ip.clone());
    push("port", info.port.map(|v| v.to_string()));
    push("version", info.version.map(|v| v.to_string()));
    push("nonce", info.nonce.map(|v| v.to_string()));
    push("uuid", info.uuid.clone());
    push("hotkey", info.hotkey.clone());
    push("signature", info.signature.clone());
    out
}

/// Reads `bt_header_{prefix}_*` into a [`TerminalInfo`]. Values that do not parse are left
/// unset, as the SDK's merge keeps what it cannot read.
pub fn terminal_info_from_headers(prefix: &str, headers: &HeaderMap) -> TerminalInfo {
    let get = |field: &str| -> Option<String> {
        headers
            .get(format!("{prefix}{field}"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    TerminalInfo {
        status_code: get("status_code").and_then(|v| v.trim().parse().ok()),
        status_message: get("status_message"),
        process_time: get("process_time").and_then(|v| v.trim().parse().ok()),
        ip: get("ip"),
        port: get("port").and_then(|v| v.trim().parse().ok()),
        version: get("version").and_then(|v| v.trim().parse().ok()),
        nonce: get("nonce").and_then(|v| v.trim().parse().ok()),
        uuid: get("uuid"),
        hotkey: get("hotkey"),
        signature: get("signature"),
    }
}

/// Copies the set fields of `overlay` onto `base` (the SDK's "non-None values win" merge).
pub fn overlay_terminal_info(base: &mut TerminalInfo, overlay: TerminalInfo) {
    macro_rules! take {
        ($($f:ident),*) => { $( if overlay.$f.is_some() { base.$f = overlay.$f; } )* };
    }
    take!(
        status_code,
        status_message,
        process_time,
        ip,
        port,
        version,
        nonce,
        uuid,
        hotkey,
        signature
    );
}

/// Python `str(float)` / `repr(float)`.
pub fn python_float(value: f64) -> String {
    crate::json::python_repr(&crate::json::JsonValue::Float(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_info_round_trips_through_headers() {
        let info = TerminalInfo {
            status_code: Some(200),
            status_message: Some("Success".into()),
            process_time: Some(0.5),
            ip: Some("127.0.0.1".into()),
            port: Some(8091),
            version: None,
            nonce: Some(17),
            uuid: Some("u".into()),
            hotkey: Some("5F".into()),
            signature: None,
        };
        let pairs = terminal_info_headers(AXON_PREFIX, &info);
        assert_eq!(
            pairs[0],
            ("bt_header_axon_status_code".into(), "200".into())
        );
        assert_eq!(pairs.len(), 8);
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        assert_eq!(terminal_info_from_headers(AXON_PREFIX, &map), info);
        let mut base = TerminalInfo {
            version: Some(1),
            status_code: Some(500),
            ..Default::default()
        };
        overlay_terminal_info(&mut base, info.clone());
        assert_eq!(base.version, Some(1));
        assert_eq!(base.status_code, Some(200));
    }

    #[test]
    fn header_values_are_sanitised() {
        assert_eq!(sanitize_value("a\nb é"), "a?b ?");
        assert_eq!(python_float(12.0), "12.0");
    }
}
