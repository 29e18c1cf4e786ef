//! [`Capacities`]: what the miner answers to `QueryForCapacities`, compute units per circuit.
//!
//! Upstream reads them from `miner.config.toml`:
//!
//! ```toml
//! [miner]
//! [[miner.circuits]]
//! id = "<circuit id, 64 hex digits>"
//! compute_units = 400
//! ```
//!
//! Without a file, every loaded circuit gets [`DEFAULT_COMPUTE_UNITS`] (the value the shipped
//! upstream file gives each circuit).

use std::collections::BTreeMap;
use std::path::Path;

use omron_circuit::CircuitStore;
use omron_protocol::CircuitId;
use serde::Deserialize;

use crate::MinerError;

/// Compute units per circuit when no file says otherwise.
pub const DEFAULT_COMPUTE_UNITS: u32 = 400;

/// Compute units per circuit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capacities {
    units: BTreeMap<CircuitId, u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    miner: Section,
}

#[derive(Deserialize)]
struct Section {
    #[serde(default)]
    circuits: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    compute_units: u32,
}

impl Capacities {
    /// [`DEFAULT_COMPUTE_UNITS`] for every circuit of the store.
    pub fn for_store(store: &CircuitStore) -> Self {
        let units = store
            .iter()
            .filter_map(|c| c.id().parse::<CircuitId>().ok())
            .map(|id| (id, DEFAULT_COMPUTE_UNITS))
            .collect();
        Self { units }
    }

    /// Parses `miner.config.toml` text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, MinerError> {
        let err = |reason: String| MinerError::Capacities {
            path: origin.to_owned(),
            reason,
        };
        let file: File = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut units = BTreeMap::new();
        for (index, entry) in file.miner.circuits.into_iter().enumerate() {
            let id: CircuitId = entry
                .id
                .parse()
                .map_err(|e| err(format!("miner.circuits[{index}].id: {e}")))?;
            if units.insert(id, entry.compute_units).is_some() {
                return Err(err(format!(
                    "miner.circuits[{index}].id {} appears twice",
                    entry.id
                )));
            }
        }
        Ok(Self { units })
    }

    /// Reads and parses a `miner.config.toml`.
    pub fn load(path: &Path) -> Result<Self, MinerError> {
        let text = std::fs::read_to_string(path).map_err(|e| MinerError::Capacities {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The table, as sent on the wire.
    pub fn as_map(&self) -> &BTreeMap<CircuitId, u32> {
        &self.units
    }

    /// Ids listed here that the store cannot prove (worth a warning: validators would send
    /// requests the miner must refuse).
    pub fn unknown_to(&self, store: &CircuitStore) -> Vec<String> {
        self.units
            .keys()
            .filter(|id| store.get(id.as_str()).is_none())
            .map(ToString::to_string)
            .collect()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: char) -> String {
        c.to_string().repeat(64)
    }

    #[test]
    fn parses_the_upstream_layout() {
        let text = format!(
            "[miner]\n\n# comment\n[[miner.circuits]]\nid = \"{}\"\ncompute_units = 400\n\n[[miner.circuits]]\nid = \"{}\"\ncompute_units = 12\n",
            id('a'),
            id('b')
        );
        let caps = Capacities::from_toml(&text, "x").unwrap();
        let map = caps.as_map();
        assert_eq!(map.len(), 2);
        assert_eq!(map[&id('a').parse::<CircuitId>().unwrap()], 400);
        assert_eq!(map[&id('b').parse::<CircuitId>().unwrap()], 12);
    }

    #[test]
    fn the_shipped_upstream_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/omron/miner.config.toml");
        // The reference data sits beside the repository; when present it must parse.
        if let Ok(text) = std::fs::read_to_string(&path) {
            let caps = Capacities::from_toml(&text, "shared").unwrap();
            assert_eq!(caps.as_map().len(), 5);
            assert!(caps.as_map().values().all(|&u| u == 400));
        }
    }

    #[test]
    fn bad_files_name_the_entry() {
        let e = Capacities::from_toml(
            "[miner]\n[[miner.circuits]]\nid = \"xyz\"\ncompute_units = 1\n",
            "m.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("m.toml") && e.contains("miner.circuits[0].id"),
            "{e}"
        );
        let dup = format!(
            "[miner]\n[[miner.circuits]]\nid = \"{0}\"\ncompute_units = 1\n[[miner.circuits]]\nid = \"{0}\"\ncompute_units = 2\n",
            id('c')
        );
        let e = Capacities::from_toml(&dup, "m").unwrap_err().to_string();
        assert!(e.contains("[1]") && e.contains("twice"), "{e}");
        let neg = format!(
            "[miner]\n[[miner.circuits]]\nid = \"{}\"\ncompute_units = -4\n",
            id('d')
        );
        assert!(Capacities::from_toml(&neg, "m").is_err());
        assert!(Capacities::from_toml("[other]\n", "m").is_err());
        assert!(Capacities::load(Path::new("/nonexistent/miner.config.toml")).is_err());
    }

    #[test]
    fn empty_section_is_empty() {
        assert!(Capacities::from_toml("[miner]\n", "m").unwrap().is_empty());
    }
}
