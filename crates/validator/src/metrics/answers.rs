//! The answer budget's series (`omron_validator_answer_*`), read from the budget the node's
//! dendrites share when `/metrics` is rendered.

use std::fmt::Write as _;

use omron_bittensor::dendrite::AnswerBudget;

use super::registry::header;

/// Appends the budget's gauges and counters to `out`.
pub(super) fn encode(out: &mut String, budget: &AnswerBudget) {
    let series: [(&str, &str, &str, u64); 5] = [
        (
            "omron_validator_answer_bytes_in_flight",
            "Answer bytes held by requests in flight (reserved from the answer budget).",
            "gauge",
            budget.in_use() as u64,
        ),
        (
            "omron_validator_answer_bytes_in_flight_peak",
            "The most answer bytes held at once since start (never above the budget).",
            "gauge",
            budget.peak() as u64,
        ),
        (
            "omron_validator_answer_budget_bytes",
            "The answer budget: the most answer bytes held at once.",
            "gauge",
            budget.limit() as u64,
        ),
        (
            "omron_validator_answer_budget_waits_total",
            "Answers that waited for room in the answer budget.",
            "counter",
            budget.waits(),
        ),
        (
            "omron_validator_answer_budget_refusals_total",
            "Answers refused because the answer budget had no room for them.",
            "counter",
            budget.refusals(),
        ),
    ];
    for (name, help, kind, value) in series {
        header(out, name, help, kind);
        let _ = writeln!(out, "{name} {value}");
    }
}
