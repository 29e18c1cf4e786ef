//! The standard process metrics (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
//! ...) in the text format, read from the OS when `/metrics` is rendered: the names every
//! Prometheus exporter uses, so stock dashboards and alerts work on the validator too.

use std::fmt::Write as _;

use omron_bittensor::process::ProcessStats;

use super::registry::{header, number};

/// Appends the process metrics this OS reports (see [`ProcessStats`]) to `out`.
pub(super) fn encode(out: &mut String, stats: &ProcessStats) {
    for m in stats.metrics() {
        // The classic text format names a counter's family with its `_total` suffix.
        let (name, kind) = if m.counter {
            (format!("{}_total", m.name), "counter")
        } else {
            (m.name.to_owned(), "gauge")
        };
        header(out, &name, m.help, kind);
        let _ = writeln!(out, "{name} {}", number(m.value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_get_total_and_gauges_keep_their_names() {
        let stats = ProcessStats {
            cpu_seconds_total: Some(2.5),
            resident_memory_bytes: Some(4096),
            ..ProcessStats::default()
        };
        let mut out = String::new();
        encode(&mut out, &stats);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines.contains(&"# TYPE process_cpu_seconds_total counter"),
            "{out}"
        );
        assert!(lines.contains(&"process_cpu_seconds_total 2.5"), "{out}");
        assert!(
            lines.contains(&"# TYPE process_resident_memory_bytes gauge"),
            "{out}"
        );
        assert!(
            lines.contains(&"process_resident_memory_bytes 4096"),
            "{out}"
        );
        assert!(
            !out.contains("process_open_fds"),
            "absent values are skipped: {out}"
        );
    }
}
