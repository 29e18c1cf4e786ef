//! [`CircuitId`]: a circuit's identity on the wire, the lowercase hex SHA-256 of its verifying
//! key (64 characters), as the Python subnet requires (`^[a-f0-9]{64}$`).

use std::fmt;
use std::str::FromStr;

/// A validated circuit id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CircuitId(String);

/// A string that is not a circuit id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid circuit id {value:?}: expected 64 lowercase hex characters")]
pub struct CircuitIdError {
    /// The rejected text.
    pub value: String,
}

impl CircuitId {
    /// The id of the verifying-key digest `digest`.
    pub fn from_digest(digest: &[u8; 32]) -> Self {
        use fmt::Write;
        let mut s = String::with_capacity(64);
        for b in digest {
            let _ = write!(s, "{b:02x}");
        }
        Self(s)
    }

    /// The 64-character text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CircuitId {
    type Err = CircuitIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(CircuitIdError {
                value: s.chars().take(80).collect(),
            })
        }
    }
}

impl fmt::Display for CircuitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for CircuitId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for CircuitId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_lowercase_64_hex() {
        let ok = "4a87c995".repeat(8);
        assert_eq!(ok.parse::<CircuitId>().unwrap().as_str(), ok);
        assert!(ok.to_uppercase().parse::<CircuitId>().is_err());
        assert!("abc".parse::<CircuitId>().is_err());
        assert!(format!("{ok}0").parse::<CircuitId>().is_err());
        assert_eq!(
            CircuitId::from_digest(&[0xab; 32]).as_str(),
            "ab".repeat(32)
        );
        let json = serde_json::to_string(&CircuitId::from_digest(&[1; 32])).unwrap();
        assert_eq!(
            serde_json::from_str::<CircuitId>(&json).unwrap(),
            CircuitId::from_digest(&[1; 32])
        );
        assert!(serde_json::from_str::<CircuitId>("\"xyz\"").is_err());
    }
}
