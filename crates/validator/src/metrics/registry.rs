//! Minimal metric families and the Prometheus text exposition format (version 0.0.4), written
//! here rather than pulled in: the validator needs counters, gauges and fixed-bucket
//! histograms with labels, and nothing else.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Label values of one series, in the family's label order.
type Key = Vec<String>;

fn key(values: &[&str]) -> Key {
    values.iter().map(|v| (*v).to_owned()).collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A metric update cannot leave the map inconsistent, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Escapes a label value as the text format requires.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn labels(names: &[&str], values: &[String], extra: Option<(&str, &str)>) -> String {
    let mut parts: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
        .collect();
    if let Some((n, v)) = extra {
        parts.push(format!("{n}=\"{}\"", escape(v)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

pub(super) fn number(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x == f64::INFINITY {
        "+Inf".into()
    } else if x == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{x}")
    }
}

pub(super) fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", help.replace('\n', " "));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A counter family.
#[derive(Debug)]
pub(crate) struct CounterVec {
    name: &'static str,
    help: &'static str,
    label_names: &'static [&'static str],
    series: Mutex<BTreeMap<Key, u64>>,
}

impl CounterVec {
    pub(crate) fn new(
        name: &'static str,
        help: &'static str,
        label_names: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            help,
            label_names,
            series: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn inc(&self, label_values: &[&str]) {
        *lock(&self.series).entry(key(label_values)).or_default() += 1;
    }

    pub(crate) fn get(&self, label_values: &[&str]) -> u64 {
        lock(&self.series)
            .get(&key(label_values))
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn encode(&self, out: &mut String) {
        header(out, self.name, self.help, "counter");
        for (k, v) in lock(&self.series).iter() {
            let _ = writeln!(
                out,
                "{}{} {v}",
                self.name,
                labels(self.label_names, k, None)
            );
        }
    }
}

/// A gauge family.
#[derive(Debug)]
pub(crate) struct GaugeVec {
    name: &'static str,
    help: &'static str,
    label_names: &'static [&'static str],
    series: Mutex<BTreeMap<Key, f64>>,
}

impl GaugeVec {
    pub(crate) fn new(
        name: &'static str,
        help: &'static str,
        label_names: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            help,
            label_names,
            series: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn set(&self, label_values: &[&str], value: f64) {
        lock(&self.series).insert(key(label_values), value);
    }

    pub(crate) fn get(&self, label_values: &[&str]) -> Option<f64> {
        lock(&self.series).get(&key(label_values)).copied()
    }

    pub(crate) fn encode(&self, out: &mut String) {
        header(out, self.name, self.help, "gauge");
        for (k, v) in lock(&self.series).iter() {
            let _ = writeln!(
                out,
                "{}{} {}",
                self.name,
                labels(self.label_names, k, None),
                number(*v)
            );
        }
    }
}

#[derive(Debug, Clone)]
struct Buckets {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// A histogram family with fixed upper bounds.
#[derive(Debug)]
pub(crate) struct HistogramVec {
    name: &'static str,
    help: &'static str,
    label_names: &'static [&'static str],
    bounds: &'static [f64],
    series: Mutex<BTreeMap<Key, Buckets>>,
}

impl HistogramVec {
    pub(crate) fn new(
        name: &'static str,
        help: &'static str,
        label_names: &'static [&'static str],
        bounds: &'static [f64],
    ) -> Self {
        Self {
            name,
            help,
            label_names,
            bounds,
            series: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn observe(&self, label_values: &[&str], value: f64) {
        let mut series = lock(&self.series);
        let b = series.entry(key(label_values)).or_insert_with(|| Buckets {
            counts: vec![0; self.bounds.len()],
            sum: 0.0,
            count: 0,
        });
        for (bound, count) in self.bounds.iter().zip(b.counts.iter_mut()) {
            if value <= *bound {
                *count += 1;
            }
        }
        b.sum += value;
        b.count += 1;
    }

    /// Observations of one series.
    pub(crate) fn count(&self, label_values: &[&str]) -> u64 {
        lock(&self.series)
            .get(&key(label_values))
            .map_or(0, |b| b.count)
    }

    pub(crate) fn encode(&self, out: &mut String) {
        header(out, self.name, self.help, "histogram");
        for (k, b) in lock(&self.series).iter() {
            for (bound, count) in self.bounds.iter().zip(&b.counts) {
                let le = number(*bound);
                let _ = writeln!(
                    out,
                    "{}_bucket{} {count}",
                    self.name,
                    labels(self.label_names, k, Some(("le", &le)))
                );
            }
            let _ = writeln!(
                out,
                "{}_bucket{} {}",
                self.name,
                labels(self.label_names, k, Some(("le", "+Inf"))),
                b.count
            );
            let plain = labels(self.label_names, k, None);
            let _ = writeln!(out, "{}_sum{plain} {}", self.name, number(b.sum));
            let _ = writeln!(out, "{}_count{plain} {}", self.name, b.count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_of_each_family() {
        let c = CounterVec::new("c_total", "A counter.", &["circuit", "status"]);
        c.inc(&["a\"b", "ok"]);
        c.inc(&["a\"b", "ok"]);
        let g = GaugeVec::new("g", "A gauge.", &[]);
        g.set(&[], 1.5);
        let h = HistogramVec::new("h_seconds", "A histogram.", &["circuit"], &[0.1, 1.0]);
        h.observe(&["x"], 0.05);
        h.observe(&["x"], 0.5);
        h.observe(&["x"], 7.0);
        let mut out = String::new();
        c.encode(&mut out);
        g.encode(&mut out);
        h.encode(&mut out);
        let expected = "# HELP c_total A counter.\n# TYPE c_total counter\n\
c_total{circuit=\"a\\\"b\",status=\"ok\"} 2\n\
# HELP g A gauge.\n# TYPE g gauge\ng 1.5\n\
# HELP h_seconds A histogram.\n# TYPE h_seconds histogram\n\
h_seconds_bucket{circuit=\"x\",le=\"0.1\"} 1\n\
h_seconds_bucket{circuit=\"x\",le=\"1\"} 2\n\
h_seconds_bucket{circuit=\"x\",le=\"+Inf\"} 3\n\
h_seconds_sum{circuit=\"x\"} 7.55\n\
h_seconds_count{circuit=\"x\"} 3\n";
        assert_eq!(out, expected);
        assert_eq!(c.get(&["a\"b", "ok"]), 2);
        assert_eq!(h.count(&["x"]), 3);
        assert_eq!(g.get(&[]), Some(1.5));
    }
}
