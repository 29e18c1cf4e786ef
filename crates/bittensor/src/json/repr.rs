//! CPython's `str()` and `repr()` of the values `json.loads` produces.
//!
//! * `str(x)` is the raw text for a `str` and `repr(x)` for everything else.
//! * Floats use the shortest round-trip digits, in positional form when the decimal exponent is
//!   in `-4..16` and in exponent form (`1e-05`, `1.5e+16`) otherwise; `nan`, `inf`, `-0.0`.
//! * Strings are quoted with `'` unless they contain `'` and no `"`. Backslash, the quote, `\n`,
//!   `\r`, `\t` are escaped; any other non-printable character (`str.isprintable()` is false for
//!   the Unicode categories Cc Cf Cs Co Cn Zl Zp Zs, except the ASCII space) becomes `\xNN`,
//!   `\uNNNN` or `\UNNNNNNNN`.
//! * Lists are `[a, b]`, dicts `{'k': v}` in insertion order, `True`/`False`/`None`.
//!
//! The Unicode tables are version 16; CPython 3.11 uses 14, so characters assigned in between
//! are printable here and escaped there. Such characters in a hashed field would make a body
//! hash differ; nothing in this subnet's protocol carries them.

use std::fmt::Write;

use unicode_general_category::{GeneralCategory, get_general_category};

use super::JsonValue;

/// Python's `str(value)`.
pub fn python_str(value: &JsonValue) -> String {
    match value {
        JsonValue::String(s) => s.clone(),
        other => python_repr(other),
    }
}

/// Python's `repr(value)`.
pub fn python_repr(value: &JsonValue) -> String {
    let mut out = String::new();
    write_repr(value, &mut out);
    out
}

fn write_repr(value: &JsonValue, out: &mut String) {
    match value {
        JsonValue::Null => out.push_str("None"),
        JsonValue::Bool(true) => out.push_str("True"),
        JsonValue::Bool(false) => out.push_str("False"),
        JsonValue::Int(n) => {
            let _ = write!(out, "{n}");
        }
        JsonValue::Float(f) => write_float(*f, out),
        JsonValue::String(s) => write_str_repr(s, out),
        JsonValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(item, out);
            }
            out.push(']');
        }
        JsonValue::Object(object) => {
            out.push('{');
            for (i, (key, item)) in object.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_repr(key, out);
                out.push_str(": ");
                write_repr(item, out);
            }
            out.push('}');
        }
    }
}

/// `repr(float)`: shortest round-trip digits, Python's choice of notation.
fn write_float(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("nan");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "inf" } else { "-inf" });
        return;
    }
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    // `{:e}` gives the shortest digits that round-trip, as `d.ddde±x` (no '+', no padding).
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if f < 0.0 {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
}

/// `str.isprintable()` for one character.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Surrogate
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::SpaceSeparator
    )
}

/// `repr(str)`.
fn write_str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => {
                let code = c as u32;
                let _ = if code < 0x100 {
                    write!(out, "\\x{code:02x}")
                } else if code < 0x10000 {
                    write!(out, "\\u{code:04x}")
                } else {
                    write!(out, "\\U{code:08x}")
                };
            }
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(f: f64) -> String {
        python_repr(&JsonValue::Float(f))
    }

    #[test]
    fn floats_like_cpython() {
        let cases = [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (1e-05, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.6, "123456789012345.6"),
            (1e-320, "1e-320"),
            (f64::MAX, "1.7976931348623157e+308"),
            (3e-07, "3e-07"),
            (100.0, "100.0"),
            (2.5e-05, "2.5e-05"),
            (9999999999999998.0, "9999999999999998.0"),
            (-1.25, "-1.25"),
            (1e22, "1e+22"),
            (f64::INFINITY, "inf"),
        ];
        for (f, want) in cases {
            assert_eq!(float(f), want, "{f:e}");
        }
        assert_eq!(float(f64::NAN), "nan");
    }

    #[test]
    fn strings_like_cpython() {
        let s = |x: &str| python_repr(&JsonValue::String(x.into()));
        assert_eq!(s("it's"), "\"it's\"");
        assert_eq!(s("say \"hi\""), "'say \"hi\"'");
        assert_eq!(s("both ' and \""), "'both \\' and \"'");
        assert_eq!(s("back\\slash"), "'back\\\\slash'");
        assert_eq!(s("nul\u{0}x\u{7f}\u{1b}"), "'nul\\x00x\\x7f\\x1b'");
        assert_eq!(
            s("nbsp\u{a0}zw\u{200b}ls\u{2028}"),
            "'nbsp\\xa0zw\\u200bls\\u2028'"
        );
        assert_eq!(s("é日本😀"), "'é日本😀'");
        assert_eq!(s("\u{e000}\u{10ffff}"), "'\\ue000\\U0010ffff'");
        // str() of a top-level string is the string itself.
        assert_eq!(python_str(&JsonValue::String("it's".into())), "it's");
    }

    #[test]
    fn containers_like_cpython() {
        let v =
            super::super::parse(br#"{"a": [1, "two", null, true, {}], "b": {"c": []}}"#).unwrap();
        assert_eq!(
            python_str(&v),
            "{'a': [1, 'two', None, True, {}], 'b': {'c': []}}"
        );
    }
}
