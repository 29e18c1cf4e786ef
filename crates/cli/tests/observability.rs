//! Issue 11 (logs, metrics, dashboard, alerts), against the real binary:
//!
//! * `--logging.record_log` writes `omron-<command>.log` into `--logging.logging_dir`, as JSON
//!   lines with `--logging.format json`; stderr that is not a terminal gets no ANSI colours
//!   (issue 12);
//! * a real `omron localnet` (embedded chain, validator and three miners as child processes):
//!   both exporters are scraped, and every metric named by the Grafana dashboard's queries and
//!   by the alert rules' expressions must be exported by a running node; the standard process
//!   metrics must be there with sane values.
//!
//! Bounded: the localnet stops itself after `--duration` even if the test dies, and the test
//! asks it to stop (SIGINT) as soon as the scrapes are done (about a minute in debug).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

const OMRON: &str = env!("CARGO_BIN_EXE_omron");
/// The localnet's own limit: it stops by itself after this long.
const LOCALNET_SECONDS: u64 = 240;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn omron(dir: &Path) -> Command {
    let mut cmd = Command::new(OMRON);
    cmd.current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env("HOME", dir);
    cmd
}

#[test]
fn record_log_writes_json_lines_into_the_logging_dir() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let out = omron(dir.path())
        .args(["wallet", "list", "--wallet.path"])
        .arg(dir.path().join("wallets"))
        .args(["--logging.record_log", "--logging.format", "json"])
        .arg("--logging.logging_dir")
        .arg(&logs)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let file = logs.join("omron-wallet.log");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}; stderr {out:?}", file.display()));
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty(), "empty log file");
    let first = &lines[0];
    assert_eq!(first["level"], "INFO", "{first}");
    assert_eq!(first["fields"]["message"], "recording logs", "{first}");
    assert_eq!(
        first["fields"]["path"],
        file.to_str().unwrap(),
        "the line names the file: {first}"
    );
    assert!(first["timestamp"].as_str().is_some(), "{first}");
    // stderr carries the same lines, also as JSON.
    let stderr = String::from_utf8(out.stderr).unwrap();
    let line = stderr.lines().next().expect("a log line on stderr");
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["fields"]["message"], "recording logs");

    // A second run appends to the same file.
    let again = omron(dir.path())
        .args(["wallet", "list", "--logging.record_log", "--wallet.path"])
        .arg(dir.path().join("wallets"))
        .arg("--logging.logging_dir")
        .arg(&logs)
        .output()
        .unwrap();
    assert!(again.status.success(), "{again:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), lines.len() + 1, "{text}");
    assert!(
        !text.lines().last().unwrap().starts_with('{'),
        "text format by default: {text}"
    );
}

#[test]
fn regression_issue_12_no_ansi_colours_when_stderr_is_redirected() {
    let dir = tempfile::tempdir().unwrap();
    // Text format, NO_COLOR unset, stderr a pipe: plain text.
    let out = omron(dir.path())
        .args(["wallet", "list", "--logging.record_log", "--wallet.path"])
        .arg(dir.path().join("wallets"))
        .arg("--logging.logging_dir")
        .arg(dir.path().join("logs"))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("INFO"), "{stderr}");
    assert!(stderr.contains("recording logs"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "ANSI escape in {stderr:?}");
    let file = std::fs::read_to_string(dir.path().join("logs/omron-wallet.log")).unwrap();
    assert!(
        !file.contains('\u{1b}'),
        "ANSI escape in the file: {file:?}"
    );
}

/// `GET url` over HTTP/1.0 (the server closes the connection after the body).
fn get(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/')?);
    let mut s = TcpStream::connect(host).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let (head, body) = buf.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.to_owned())
        .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_owned()))
}

/// The families (`# TYPE` lines) and sample names of one exposition.
#[derive(Debug, Default)]
struct Exported {
    families: BTreeSet<String>,
    samples: BTreeSet<String>,
}

impl Exported {
    fn parse(text: &str) -> Self {
        let mut e = Exported::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                e.families
                    .insert(rest.split_whitespace().next().unwrap().to_owned());
            } else if !line.starts_with('#') && !line.is_empty() {
                let end = line.find(['{', ' ']).unwrap_or(line.len());
                e.samples.insert(line[..end].to_owned());
            }
        }
        e
    }

    /// Whether `name` is exported: as a sample, or as a family (declared, maybe without a
    /// series yet), also through the `_bucket`/`_sum`/`_count` of a histogram and the
    /// `_total` of an OpenMetrics counter.
    fn has(&self, name: &str) -> bool {
        if self.samples.contains(name) || self.families.contains(name) {
            return true;
        }
        ["_bucket", "_sum", "_count", "_total"].iter().any(|s| {
            name.strip_suffix(s)
                .is_some_and(|b| self.families.contains(b))
        })
    }

    fn value(&self, text: &str, name: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    }
}

/// Removes every bracketed part opening with `open` (label matchers, ranges), nested or not.
fn strip_brackets(s: &str, open: char, close: char) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in s.chars() {
        if c == open {
            depth += 1;
        } else if c == close && depth > 0 {
            depth -= 1;
        } else if depth == 0 {
            out.push(c);
        }
    }
    out
}

/// The metric names a PromQL expression (or a Grafana `label_values(metric, label)` query)
/// selects: identifiers left once strings, label matchers, ranges and label lists
/// (`by (...)`, `on (...)`, ...) are removed, that are not function calls, aggregation
/// operators or keywords.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const AGGREGATIONS: [&str; 12] = [
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "group",
    ];
    if let Some(args) = expr.trim().strip_prefix("label_values(") {
        // Only the first argument is a selector; the last names a label.
        let selector = args.rsplit_once(',').map_or(args, |(m, _)| m);
        return metric_names(selector.trim_end_matches(')'));
    }
    const KEYWORDS: [&str; 11] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
    ];
    let no_strings: String = expr.split('"').step_by(2).collect::<Vec<_>>().join(" ");
    let s = strip_brackets(&strip_brackets(&no_strings, '{', '}'), '[', ']');
    let chars: Vec<char> = s.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut skip_list = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let call = chars.get(j) == Some(&'(');
            if KEYWORDS.contains(&word.as_str()) {
                // by/on/... (label, ...): the list is labels, not metrics.
                skip_list = call && !matches!(word.as_str(), "and" | "or" | "unless");
            } else if !call && !word.starts_with("__") && !AGGREGATIONS.contains(&word.as_str()) {
                names.insert(word);
            }
        } else if c == '(' && skip_list {
            while i < chars.len() && chars[i] != ')' {
                i += 1;
            }
            skip_list = false;
            i += 1;
        } else {
            i += 1;
        }
    }
    names
}

/// Every PromQL string of the dashboard: panel targets' `expr` and variables' queries.
fn dashboard_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expr" | "definition", Value::String(s)) => out.push(s.clone()),
                    _ => dashboard_exprs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| dashboard_exprs(x, out)),
        _ => {}
    }
}

/// The `expr:` of every rule in alerts.yml (one line, or a `|` block of deeper lines).
fn alert_exprs(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(value) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let value = value.trim();
        if value == "|" || value == ">" || value == "|-" || value == ">-" {
            let indent = line.len() - line.trim_start().len();
            let block: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                .map(|l| l.trim())
                .collect();
            out.push(block.join(" "));
        } else {
            out.push(value.to_owned());
        }
    }
    out
}

#[test]
fn promql_names_are_extracted_without_labels_functions_or_keywords() {
    let names = metric_names(
        r#"histogram_quantile(0.95, sum by (le, circuit) (rate(omron_miner_proof_duration_seconds_bucket{job="omron-miner", instance=~"$miner"}[$__rate_interval]))) / on (job, instance) process_max_fds unless up == 0 and time() - process_start_time_seconds"#,
    );
    let want: BTreeSet<String> = [
        "omron_miner_proof_duration_seconds_bucket",
        "process_max_fds",
        "up",
        "process_start_time_seconds",
    ]
    .map(String::from)
    .into();
    assert_eq!(names, want);
    assert_eq!(
        metric_names("label_values(omron_miner_registered, instance)"),
        BTreeSet::from(["omron_miner_registered".to_owned()])
    );
    let alerts = alert_exprs(
        "      - alert: A\n        expr: |\n          a_total > 0\n          unless\n          b\n        for: 5m\n      - alert: B\n        expr: c == 0\n",
    );
    assert_eq!(alerts, ["a_total > 0 unless b", "c == 0"]);
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Checks the process metrics of one scrape.
fn assert_process_metrics(node: &str, text: &str) {
    let e = Exported::parse(text);
    let rss = e.value(text, "process_resident_memory_bytes");
    assert!(rss > 1e6, "{node}: rss {rss}");
    assert!(
        e.value(text, "process_virtual_memory_bytes") >= rss,
        "{node}"
    );
    let start = e.value(text, "process_start_time_seconds");
    let t = now();
    assert!(
        start <= t + 1.0 && start > t - 3600.0,
        "{node}: start {start}, now {t}"
    );
    assert!(e.value(text, "process_cpu_seconds_total") > 0.0, "{node}");
    let open = e.value(text, "process_open_fds");
    assert!(open >= 3.0, "{node}: {open} fds");
    assert!(e.value(text, "process_max_fds") >= open, "{node}");
}

#[test]
fn every_dashboard_and_alert_metric_is_exported_by_a_running_node() {
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("deploy/grafana/dashboards/omron.json")).unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    dashboard_exprs(&dashboard, &mut exprs);
    let alerts =
        alert_exprs(&std::fs::read_to_string(repo().join("deploy/prometheus/alerts.yml")).unwrap());
    assert!(alerts.len() >= 10, "{alerts:?}");
    exprs.extend(alerts);
    let mut wanted = BTreeSet::new();
    for e in &exprs {
        wanted.extend(metric_names(e));
    }
    // `up` is Prometheus's own series about the scrape.
    wanted.remove("up");
    assert!(wanted.len() >= 40, "too few names extracted: {wanted:?}");

    let dir = tempfile::tempdir().unwrap();
    let circuits = dir.path().join("circuits");
    std::fs::create_dir_all(&circuits).unwrap();
    let src = repo().join("circuits/mnist-mlp").canonicalize().unwrap();
    std::os::unix::fs::symlink(src, circuits.join("mnist-mlp")).unwrap();
    let mut child = Command::new(OMRON)
        .args(["localnet", "--miners", "3", "--scoreboard-interval", "30"])
        .args(["--duration", &LOCALNET_SECONDS.to_string()])
        .arg("--state")
        .arg(dir.path().join("state"))
        .arg("--circuits")
        .arg(&circuits)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("localnet.err")).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut output = Vec::new();
    // "  validator uid 0 ... metrics http://127.0.0.1:PORT/metrics  log ..." and one such line
    // per miner, then "all nodes up".
    let mut nodes: Vec<(String, String)> = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(150))
            .unwrap_or_else(|e| {
                let _ = child.kill();
                panic!("localnet: {e}; so far:\n{}", output.join("\n"))
            });
        output.push(line.clone());
        if line.starts_with("all nodes up") {
            break;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = words.iter().position(|w| *w == "metrics") {
            nodes.push((words[0].to_owned(), words[i + 1].to_owned()));
        }
    }
    assert_eq!(nodes.len(), 4, "{output:?}");

    // Wait until the validator has queried the miners (the request families have series),
    // then scrape everything once more.
    let validator = nodes[0].1.clone();
    loop {
        let served = nodes[1..]
            .iter()
            .all(|(_, url)| get(url).is_some_and(|t| t.contains("omron_miner_requests_total{")));
        let verified =
            get(&validator).is_some_and(|t| t.contains("omron_validator_verifications_total{"));
        if served && verified {
            break;
        }
        if started.elapsed() > Duration::from_secs(200) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!(
                "no requests served after {:?}:\n{}\n{}",
                started.elapsed(),
                output.join("\n"),
                std::fs::read_to_string(dir.path().join("localnet.err")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let mut all = Exported::default();
    for (node, url) in &nodes {
        let text = get(url).unwrap_or_else(|| panic!("{node}: no answer at {url}"));
        assert_process_metrics(node, &text);
        let e = Exported::parse(&text);
        all.families.extend(e.families);
        all.samples.extend(e.samples);
    }
    // SAFETY: kill(2) on our own child, not reaped yet (try_wait saw it running above).
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }

    let missing: Vec<&String> = wanted.iter().filter(|n| !all.has(n)).collect();
    assert!(
        missing.is_empty(),
        "named by the dashboard or the alerts but exported by no node: {missing:?}\nexported: {:?}",
        all.families
    );
    // The core series have samples, not just declarations.
    for name in [
        "omron_miner_requests_total",
        "omron_miner_proof_duration_seconds_bucket",
        "omron_miner_chain_incentive",
        "omron_validator_requests_total",
        "omron_validator_response_time_seconds_bucket",
        "omron_validator_block",
        "omron_validator_blocks_since_weights",
        "process_cpu_seconds_total",
    ] {
        assert!(all.samples.contains(name), "no sample of {name}");
    }

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("localnet did not stop within 60 s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success(), "localnet ended with {status}");
}
