//! [`QueryForCapacities`]: "how much can you prove, per circuit".

use std::collections::BTreeMap;

use omron_bittensor::synapse::Synapse;
use serde::{Deserialize, Serialize};

use crate::CircuitId;

/// A capacity query and its answer.
///
/// As the original declares it: `capacities: Optional[dict[str, int]] = None`, no
/// `required_hash_fields`. The keys are circuit ids (the original's `miner.config.toml` ids).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryForCapacities {
    /// Response: compute units per circuit.
    #[serde(default)]
    pub capacities: Option<BTreeMap<CircuitId, u32>>,
}

impl Synapse for QueryForCapacities {
    const NAME: &'static str = "QueryForCapacities";
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_bittensor::json::parse;
    use omron_bittensor::synapse::Envelope;

    #[test]
    fn declares_what_the_original_declares() {
        assert_eq!(QueryForCapacities::NAME, "QueryForCapacities");
        assert!(QueryForCapacities::REQUIRED_HASH_FIELDS.is_empty());
        assert!(QueryForCapacities::REQUIRED_FIELDS.is_empty());
    }

    #[test]
    fn round_trip() {
        let mut caps = BTreeMap::new();
        caps.insert("ab".repeat(32).parse().unwrap(), 400);
        let q = QueryForCapacities {
            capacities: Some(caps),
        };
        let env = Envelope::new(q.clone());
        let back = Envelope::<QueryForCapacities>::from_value(
            parse(&env.to_json_bytes().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(back.synapse, q);
        let empty = Envelope::<QueryForCapacities>::from_value(parse(b"{}").unwrap()).unwrap();
        assert_eq!(empty.synapse.capacities, None);
        assert!(
            Envelope::<QueryForCapacities>::from_value(
                parse(br#"{"capacities": {"x": 1}}"#).unwrap()
            )
            .is_err()
        );
        assert!(
            Envelope::<QueryForCapacities>::from_value(
                parse(format!(r#"{{"capacities": {{"{}": -1}}}}"#, "ab".repeat(32)).as_bytes())
                    .unwrap()
            )
            .is_err()
        );
    }
}
