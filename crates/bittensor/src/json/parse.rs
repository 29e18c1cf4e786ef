//! A JSON reader that behaves like Python's `json.loads` on the inputs that matter here.
//!
//! Accepted like CPython: `NaN`, `Infinity`, `-Infinity`; duplicate keys (first position, last
//! value); surrounding whitespace. Rejected like CPython: raw control characters in strings,
//! trailing data. Rejected unlike CPython (documented limits): integers over 128 bits, lone
//! UTF-16 surrogates (Rust strings cannot hold them), nesting deeper than [`MAX_DEPTH`].

use super::{JsonError, JsonObject, JsonValue, MAX_DEPTH};

/// Parses one JSON document.
pub fn parse(text: &[u8]) -> Result<JsonValue, JsonError> {
    let mut parser = Parser { text, pos: 0 };
    parser.skip_ws();
    let value = parser.value(0)?;
    parser.skip_ws();
    if parser.pos != text.len() {
        return Err(parser.err("extra data after the document"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> JsonError {
        JsonError::Syntax {
            offset: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat_literal(&mut self, literal: &[u8]) -> bool {
        if self.text[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep { max: MAX_DEPTH });
        }
        match self.peek() {
            None => Err(self.err("expecting a value, found the end")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(JsonValue::String(self.string()?)),
            Some(b't') if self.eat_literal(b"true") => Ok(JsonValue::Bool(true)),
            Some(b'f') if self.eat_literal(b"false") => Ok(JsonValue::Bool(false)),
            Some(b'n') if self.eat_literal(b"null") => Ok(JsonValue::Null),
            Some(b'N') if self.eat_literal(b"NaN") => Ok(JsonValue::Float(f64::NAN)),
            Some(b'I') if self.eat_literal(b"Infinity") => Ok(JsonValue::Float(f64::INFINITY)),
            Some(b'-') if self.text[self.pos..].starts_with(b"-Infinity") => {
                self.pos += 9;
                Ok(JsonValue::Float(f64::NEG_INFINITY))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expecting a value")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        self.pos += 1; // '{'
        let mut object = JsonObject::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(JsonValue::Object(object));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expecting a property name in double quotes"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expecting ':' after a property name"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            object.insert(key, value);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(JsonValue::Object(object));
                }
                _ => return Err(self.err("expecting ',' or '}' in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(JsonValue::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(JsonValue::Array(items));
                }
                _ => return Err(self.err("expecting ',' or ']' in an array")),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<JsonValue, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("expecting a digit")),
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.err("expecting a digit after '.'"));
            }
            is_float = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("expecting a digit in the exponent"));
            }
            is_float = true;
        }
        // The lexeme is ASCII digits and signs only, so it is valid UTF-8.
        let lexeme = std::str::from_utf8(&self.text[start..self.pos])
            .map_err(|_| self.err("invalid number"))?;
        if is_float {
            // Rust's parser rounds correctly, like CPython's float(); overflow gives inf there
            // and here.
            lexeme
                .parse::<f64>()
                .map(JsonValue::Float)
                .map_err(|_| self.err("invalid number"))
        } else {
            lexeme
                .parse::<i128>()
                .map(JsonValue::Int)
                .map_err(|_| JsonError::IntegerTooLarge { offset: start })
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let chunk = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("truncated \\u escape"))?;
        let text = std::str::from_utf8(chunk).map_err(|_| self.err("invalid \\u escape"))?;
        let code = u32::from_str_radix(text, 16).map_err(|_| self.err("invalid \\u escape"))?;
        self.pos += 4;
        Ok(code)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            // Copy the run of plain bytes in one go.
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            let run = std::str::from_utf8(&self.text[run_start..self.pos]).map_err(|_| {
                JsonError::Syntax {
                    offset: run_start,
                    reason: "invalid UTF-8 in a string",
                }
            })?;
            out.push_str(run);
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escape = self.peek().ok_or_else(|| self.err("unterminated escape"))?;
                    self.pos += 1;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let first = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&first) {
                                if !self.eat_literal(b"\\u") {
                                    return Err(self.err("lone UTF-16 surrogate"));
                                }
                                let second = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&second) {
                                    return Err(self.err("lone UTF-16 surrogate"));
                                }
                                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                            } else {
                                first
                            };
                            let ch = char::from_u32(code)
                                .ok_or_else(|| self.err("lone UTF-16 surrogate"))?;
                            out.push(ch);
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                Some(_) => return Err(self.err("invalid control character in a string")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> JsonValue {
        parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn scalars() {
        assert_eq!(p("null"), JsonValue::Null);
        assert_eq!(p(" true "), JsonValue::Bool(true));
        assert_eq!(p("-0"), JsonValue::Int(0));
        assert_eq!(p("1.0"), JsonValue::Float(1.0));
        assert_eq!(p("1e2"), JsonValue::Float(100.0));
        assert_eq!(
            p("-10000000000000000000000000"),
            JsonValue::Int(-10_000_000_000_000_000_000_000_000)
        );
        assert!(matches!(p("NaN"), JsonValue::Float(f) if f.is_nan()));
        assert_eq!(p("-Infinity"), JsonValue::Float(f64::NEG_INFINITY));
        assert_eq!(p("1e400"), JsonValue::Float(f64::INFINITY));
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            p(r#""a\"b\\c\/\n\u00e9\ud83d\ude00""#),
            JsonValue::String("a\"b\\c/\né😀".into())
        );
        assert_eq!(p("\"日本\""), JsonValue::String("日本".into()));
    }

    #[test]
    fn order_is_kept() {
        let v = p(r#"{"b": 1, "a": {"y": 2, "x": 3}}"#);
        let o = v.as_object().unwrap();
        assert_eq!(o.keys().collect::<Vec<_>>(), ["b", "a"]);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "1e",
            "-",
            "\"a",
            "\"\u{1}\"",
            "tru",
            "{} x",
            "\"\\ud800\"",
            "\"\\ud800\\u0041\"",
            "\"\\x\"",
            "{1: 2}",
            "170141183460469231731687303715884105728",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "accepted {bad:?}");
        }
        assert!(parse(b"\"\xff\"").is_err());
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert_eq!(
            parse(deep.as_bytes()),
            Err(JsonError::TooDeep { max: MAX_DEPTH })
        );
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(ok.as_bytes()).is_ok());
    }
}
