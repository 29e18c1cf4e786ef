//! Reading a miner's answer to a `QueryZkProof` (reference §4.5) or a `ProofOfWeightsSynapse`: the proof bytes and the
//! outputs it claims, or why there is nothing to verify.
//!
//! The wire format (fixed between our miner and validator): `query_output` is the JSON text
//! `{"proof": "<lowercase hex of the proof bytes>", "public_signals": "<JSON array of the
//! output floats>"}`; anything else (an error string such as `"An error occurred"`, bad hex,
//! signals that are not a float array) is an answer that cannot verify.

use omron_bittensor::synapse::Envelope;
use omron_protocol::{ProofOfWeightsSynapse, QueryOutput, QueryZkProof};

/// Longest miner text quoted in logs and errors.
const QUOTE_CHARS: usize = 120;

/// The outputs a miner claims its proof proves.
#[derive(Debug, Clone, PartialEq)]
pub enum Claimed {
    /// A model's outputs (dequantised floats), from `QueryZkProof`.
    Floats(Vec<f64>),
    /// A scoring circuit's integer output columns, from `ProofOfWeightsSynapse`.
    Columns(Vec<Vec<i64>>),
}

/// What came back.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A proof and the outputs the miner claims it proves.
    Proof {
        /// The proof bytes.
        proof: Vec<u8>,
        /// The outputs the miner claims.
        claimed: Claimed,
    },
    /// An answer arrived but holds no readable proof.
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
    /// No answer: timeout, unreachable axon, refusal.
    NoAnswer {
        /// The dendrite's status code (408 timeout, 503 unreachable, the axon's code otherwise).
        status: Option<u16>,
        /// The dendrite's status message.
        message: String,
    },
}

fn quote(text: &str) -> String {
    let mut q: String = text.chars().take(QUOTE_CHARS).collect();
    if text.chars().count() > QUOTE_CHARS {
        q.push('…');
    }
    format!("{q:?}")
}

/// Reads the merged synapse the dendrite returned.
pub fn read_answer(envelope: &Envelope<QueryZkProof>) -> Answer {
    let dendrite = &envelope.base.dendrite;
    if dendrite.status_code != Some(200) {
        return Answer::NoAnswer {
            status: dendrite.status_code,
            message: dendrite.status_message.clone().unwrap_or_default(),
        };
    }
    match envelope.synapse.output() {
        None => Answer::Malformed {
            reason: "the answer has no query_output".into(),
        },
        Some(QueryOutput::Error(text)) => Answer::Malformed {
            reason: format!("the miner answered {}", quote(&text)),
        },
        Some(QueryOutput::Proof(out)) => {
            let proof = match decode_proof(&out.proof) {
                Ok(p) => p,
                Err(malformed) => return malformed,
            };
            match serde_json::from_str::<Vec<f64>>(&out.public_signals) {
                Ok(outputs) => Answer::Proof {
                    proof,
                    claimed: Claimed::Floats(outputs),
                },
                Err(e) => Answer::Malformed {
                    reason: format!(
                        "public_signals {} is not a list of numbers: {e}",
                        quote(&out.public_signals)
                    ),
                },
            }
        }
    }
}

/// The proof bytes of an answer's hex (`0x` optional); an empty or non-hex proof is a
/// malformed answer.
fn decode_proof(text: &str) -> Result<Vec<u8>, Answer> {
    match hex::decode(text.strip_prefix("0x").unwrap_or(text)) {
        Ok(p) if !p.is_empty() => Ok(p),
        Ok(_) => Err(Answer::Malformed {
            reason: "the proof is empty".into(),
        }),
        Err(e) => Err(Answer::Malformed {
            reason: format!("the proof is not hex: {e}"),
        }),
    }
}

/// Reads a miner's answer to a `ProofOfWeightsSynapse`: `proof` is the hex of the proof bytes
/// and `public_signals` the JSON of the integer output columns.
pub fn read_pow_answer(envelope: &Envelope<ProofOfWeightsSynapse>) -> Answer {
    let dendrite = &envelope.base.dendrite;
    if dendrite.status_code != Some(200) {
        return Answer::NoAnswer {
            status: dendrite.status_code,
            message: dendrite.status_message.clone().unwrap_or_default(),
        };
    }
    let s = &envelope.synapse;
    let proof = match decode_proof(&s.proof) {
        Ok(p) => p,
        Err(malformed) => return malformed,
    };
    match serde_json::from_str::<Vec<Vec<i64>>>(&s.public_signals) {
        Ok(columns) => Answer::Proof {
            proof,
            claimed: Claimed::Columns(columns),
        },
        Err(e) => Answer::Malformed {
            reason: format!(
                "public_signals {} is not a list of integer columns: {e}",
                quote(&s.public_signals)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_protocol::ProofOutput;

    fn envelope(status: Option<u16>, output: Option<&str>) -> Envelope<QueryZkProof> {
        let mut e = Envelope::new(QueryZkProof {
            query_input: None,
            query_output: output.map(str::to_owned),
        });
        e.base.dendrite.status_code = status;
        e.base.dendrite.status_message = Some("msg".into());
        e
    }

    #[test]
    fn a_good_answer_yields_bytes_and_outputs() {
        let text = ProofOutput {
            proof: "00ff10".into(),
            public_signals: "[0.5, -1.25]".into(),
        }
        .to_query_output();
        assert_eq!(
            read_answer(&envelope(Some(200), Some(&text))),
            Answer::Proof {
                proof: vec![0, 255, 16],
                claimed: Claimed::Floats(vec![0.5, -1.25])
            }
        );
    }

    #[test]
    fn every_bad_answer_is_malformed_or_missing() {
        assert!(matches!(
            read_answer(&envelope(Some(408), None)),
            Answer::NoAnswer {
                status: Some(408),
                ..
            }
        ));
        assert!(matches!(
            read_answer(&envelope(None, None)),
            Answer::NoAnswer { status: None, .. }
        ));
        let bad = [
            None,
            Some("An error occurred"),
            Some(r#"{"proof": "zz", "public_signals": "[1]"}"#),
            Some(r#"{"proof": "", "public_signals": "[1]"}"#),
            Some(r#"{"proof": "00", "public_signals": "not json"}"#),
            Some(r#"{"proof": "00", "public_signals": "{\"a\": 1}"}"#),
        ];
        for output in bad {
            assert!(
                matches!(
                    read_answer(&envelope(Some(200), output)),
                    Answer::Malformed { .. }
                ),
                "{output:?}"
            );
        }
        let long = "x".repeat(1000);
        let Answer::Malformed { reason } = read_answer(&envelope(Some(200), Some(&long))) else {
            panic!("malformed expected");
        };
        assert!(
            reason.len() < 200,
            "miner text is quoted, not copied: {reason}"
        );
    }
}
