//! `json.dumps(value, sort_keys=True)` exactly as CPython writes it, for hashing request inputs
//! the way the reference validator's hash guard does (§3.4).
//!
//! CPython's defaults differ from `serde_json` in four ways that change the bytes:
//! * separators are `", "` between items and `": "` after keys;
//! * `ensure_ascii=True`: every character outside `' '..='~'` is escaped, as `\n`, `\r`, `\t`,
//!   `\b`, `\f`, `\"`, `\\` or `\uXXXX` (lowercase hex, UTF-16 surrogate pairs above U+FFFF);
//! * floats use `float.__repr__`: the shortest round-trip digits, in fixed notation when the
//!   decimal exponent `e` (value = `0.d1d2... * 10^e`) satisfies `-4 < e <= 16` (always with a
//!   fractional part, `1.0`), otherwise as `d.ddde+XX` with at least two exponent digits;
//! * keys are sorted by code point (here explicitly, whatever map order `serde_json` uses).
//!
//! Integers print in full. `serde_json` (without `arbitrary_precision`) reads integers beyond
//! the 64-bit range as floats, where Python keeps them exact; the subnet's inputs never hold
//! such numbers.

use serde_json::Value;
use std::fmt::Write as _;

/// `json.dumps(value, sort_keys=True)` with CPython's default separators and escaping.
pub fn dumps_sorted(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(f) = n.as_f64() {
                out.push_str(&float_repr(f));
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            // Rust's `str` order is byte order of UTF-8, which is code point order: Python's.
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(out, key);
                out.push_str(": ");
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)`, e.g. `1.0`, `0.1`, `1e-05`, `1e+16`, `1.2345678901234568e+17`,
/// `-0.0`, `inf`, `nan` (`json.dumps` writes the last two as `Infinity` and `NaN`, which
/// `serde_json` values cannot hold).
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // `{:e}` prints the shortest digits that round-trip, like Python's repr (both pick the
    // closest such string to the exact value), as `d.ddde<exp>`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if x.is_sign_negative() { "-" } else { "" };
    // Python's decimal point position: value = 0.DIGITS * 10^decpt.
    let decpt = exp + 1;
    let n = digits.len() as i32;
    let body = if -4 < decpt && decpt <= 16 {
        if decpt <= 0 {
            format!("0.{}{}", "0".repeat((-decpt) as usize), digits)
        } else if decpt >= n {
            format!("{}{}.0", digits, "0".repeat((decpt - n) as usize))
        } else {
            let (int_part, frac) = digits.split_at(decpt as usize);
            format!("{int_part}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let exp_sign = if exp < 0 { '-' } else { '+' };
        if rest.is_empty() {
            format!("{first}e{exp_sign}{:02}", exp.abs())
        } else {
            format!("{first}.{rest}e{exp_sign}{:02}", exp.abs())
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn float_repr_matches_python() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123_456_789_012_345_680.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (1e-300, "1e-300"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.000_390_619_99, "0.00039061999"),
            (2.675, "2.675"),
            (100.0, "100.0"),
            (f64::INFINITY, "inf"),
        ];
        for (x, expected) in cases {
            assert_eq!(float_repr(x), expected, "repr({x:e})");
        }
    }

    #[test]
    fn dumps_uses_python_separators_sorting_and_escapes() {
        let v = json!({"b": [1, 2.0, true, null], "a": {"z": "é\n\"", "y": -3}, "😀": ""});
        assert_eq!(
            dumps_sorted(&v),
            r#"{"a": {"y": -3, "z": "\u00e9\n\""}, "b": [1, 2.0, true, null], "\ud83d\ude00": ""}"#
        );
        assert_eq!(dumps_sorted(&json!({})), "{}");
        assert_eq!(dumps_sorted(&json!([])), "[]");
        assert_eq!(dumps_sorted(&json!("\u{7f}\u{1}")), r#""\u007f\u0001""#);
    }
}
