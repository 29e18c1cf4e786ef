//! The operator files of issue 11 checked against the repository and the real `omron` binary:
//! docker-compose.yml, deploy/prometheus/prometheus.yml, the Dockerfile and .dockerignore, the
//! systemd units, the pm2 ecosystem file and the Makefile.
//!
//! Every command line those files start is run through omron's own parser (`omron <args>
//! --help`: clap rejects an unknown flag or a bad value before it gets to `--help`), so a
//! renamed flag breaks this test instead of a deployment. What needs an engine or systemd
//! (building the image, `systemd-analyze verify`, hadolint, promtool) is in
//! scripts/check-deploy.sh.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    let mut value: Value = serde_yaml::from_str(&read(path)).unwrap();
    // Compose files share settings through YAML merge keys (`<<: *omron`).
    value.apply_merge().unwrap();
    value
}

/// Runs `omron ARGS --help`; panics with the parser's message unless every flag and value
/// before `--help` is accepted.
fn assert_omron_accepts(origin: &str, args: &[String]) {
    let out = Command::new(env!("CARGO_BIN_EXE_omron"))
        .args(args)
        .arg("--help")
        .env_remove("BT_WALLET_NAME")
        .env_remove("BT_WALLET_HOTKEY")
        .env_remove("BT_WALLET_PATH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{origin}: omron rejects `{}`:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `${NAME:-default}`, `${NAME}` and (when `bare`) `$NAME` replaced from `vars`; an unset
/// name takes its default, else the empty string, as compose and systemd do.
fn interpolate(text: &str, vars: &BTreeMap<&str, &str>, bare: bool) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').expect("unclosed ${");
            let (name, default) = match body[..end].split_once(":-") {
                Some((n, d)) => (n, d),
                None => (&body[..end], ""),
            };
            out.push_str(vars.get(name).copied().unwrap_or(default));
            rest = &body[end + 1..];
        } else if bare {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            out.push_str(vars.get(&after[..end]).copied().unwrap_or(""));
            rest = &after[end..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("not a list: {value:?}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The value of `--flag=value` in a compose command.
fn flag_value<'a>(command: &'a [String], flag: &str) -> Option<&'a str> {
    let prefix = format!("{flag}=");
    command.iter().find_map(|a| a.strip_prefix(prefix.as_str()))
}

#[test]
fn compose_runs_the_four_services_with_their_ports_and_volumes() {
    let compose = yaml("docker-compose.yml");
    let services = &compose["services"];
    for name in ["miner", "validator", "prometheus", "grafana"] {
        assert!(services[name].is_mapping(), "service {name} is missing");
    }
    assert_eq!(
        strings(&services["miner"]["ports"]),
        ["${MINER_PORT:-8091}:8091"]
    );
    assert_eq!(
        strings(&services["validator"]["ports"]),
        ["${VALIDATOR_API_PORT:-8443}:8443"]
    );
    for node in ["miner", "validator"] {
        let service = &services[node];
        let command = strings(&service["command"]);
        assert_eq!(command[0], node);
        // Inside a container the exporter must listen beyond loopback for Prometheus to reach
        // it, and the health check asks the same port.
        assert_eq!(flag_value(&command, "--prometheus.ip"), Some("0.0.0.0"));
        let port = flag_value(&command, "--prometheus.port").unwrap();
        assert_eq!(
            service["environment"]["OMRON_HEALTH_PORT"].as_str(),
            Some(port)
        );
        assert_eq!(
            service["environment"]["PUID"].as_str(),
            Some("${PUID:-1000}")
        );
        assert!(
            strings(&service["volumes"]).contains(
                &"${WALLET_PATH:-~/.bittensor/wallets}:/home/omron/.bittensor/wallets:ro".into()
            ),
            "{node} mounts the wallets read-only"
        );
    }
    let validator = strings(&services["validator"]["command"]);
    let state = flag_value(&validator, "--state").unwrap();
    assert!(
        state.starts_with("/var/lib/omron/"),
        "state {state} is on the volume"
    );
    assert!(
        strings(&services["validator"]["volumes"])
            .contains(&"validator-state:/var/lib/omron".into())
    );
    assert_eq!(
        strings(&services["prometheus"]["volumes"])[0],
        "./deploy/prometheus:/etc/prometheus:ro"
    );
    let grafana = strings(&services["grafana"]["volumes"]);
    assert!(grafana.contains(&"./deploy/grafana/provisioning:/etc/grafana/provisioning:ro".into()));
    assert!(grafana.contains(&"./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro".into()));
}

#[test]
fn compose_mounts_only_files_of_the_repository() {
    let compose = yaml("docker-compose.yml");
    let mut checked = 0;
    for (name, service) in compose["services"].as_mapping().unwrap() {
        let Some(volumes) = service.get("volumes") else {
            continue;
        };
        for volume in strings(volumes) {
            let source = volume.split(':').next().unwrap();
            if let Some(relative) = source.strip_prefix("./") {
                assert!(
                    repo().join(relative).exists(),
                    "{name:?} mounts {source}, which is not in the repository"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 3, "prometheus' folder and grafana's two");
    // What prometheus.yml loads from the mounted folder.
    assert!(repo().join("deploy/prometheus/alerts.yml").is_file());
}

#[test]
fn compose_commands_are_accepted_by_omron() {
    let compose = yaml("docker-compose.yml");
    let vars = BTreeMap::from([("AXON_EXTERNAL_IP", "203.0.113.7")]);
    for node in ["miner", "validator"] {
        let command: Vec<String> = strings(&compose["services"][node]["command"])
            .iter()
            .map(|a| interpolate(a, &vars, false))
            .collect();
        assert_omron_accepts(&format!("docker-compose.yml {node}"), &command);
    }
    // Without AXON_EXTERNAL_IP the miner must refuse to start (loudly, at parse time), rather
    // than announce an address validators cannot dial.
    let miner: Vec<String> = strings(&compose["services"]["miner"]["command"])
        .iter()
        .map(|a| interpolate(a, &BTreeMap::new(), false))
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_omron"))
        .args(&miner)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "an empty --axon.external_ip is refused"
    );
}

#[test]
fn prometheus_scrapes_the_exporters_compose_starts() {
    let prometheus = yaml("deploy/prometheus/prometheus.yml");
    assert_eq!(strings(&prometheus["rule_files"]), ["alerts.yml"]);
    let targets: Vec<String> = prometheus["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|job| job["static_configs"].as_sequence().unwrap().iter())
        .flat_map(|config| strings(&config["targets"]))
        .collect();
    let compose = yaml("docker-compose.yml");
    for node in ["miner", "validator"] {
        let command = strings(&compose["services"][node]["command"]);
        let port = flag_value(&command, "--prometheus.port").unwrap();
        let target = format!("{node}:{port}");
        assert!(
            targets.contains(&target),
            "{target} is not scraped: {targets:?}"
        );
    }
}

#[test]
fn dockerfile_pins_the_toolchain_and_copies_what_exists() {
    let dockerfile = read("Dockerfile");
    let toolchain = read("rust-toolchain.toml");
    let channel = toolchain
        .lines()
        .find_map(|l| l.strip_prefix("channel = "))
        .unwrap()
        .trim_matches('"');
    assert!(
        dockerfile.contains(&format!(
            "ARG RUST_IMAGE=docker.io/library/rust:{channel}-slim"
        )),
        "the build stage's Rust is rust-toolchain.toml's {channel}"
    );
    assert!(dockerfile.contains(&format!("RUSTUP_TOOLCHAIN={channel}")));
    for needed in [
        "EXPOSE 8091 8443 9090",
        "VOLUME [\"/home/omron/.bittensor\", \"/var/lib/omron\"]",
        "HEALTHCHECK ",
        "ENTRYPOINT [\"/usr/local/bin/omron-entrypoint\"]",
        "cargo build --release --locked -p omron-cli",
    ] {
        assert!(
            dockerfile.contains(needed),
            "the Dockerfile lacks `{needed}`"
        );
    }
    let copies: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--from"))
        .collect();
    assert_eq!(copies.len(), 4, "{copies:?}");
    for copy in copies {
        let source = copy.split_whitespace().next().unwrap();
        assert!(
            repo().join(source).exists(),
            "COPY {source}: not in the repository"
        );
    }
    // The entrypoint drops root and honours PUID/PGID.
    let entrypoint = read("deploy/docker/entrypoint.sh");
    assert!(entrypoint.contains("usermod --non-unique --uid \"$PUID\" omron"));
    assert!(entrypoint.contains("exec setpriv --reuid=omron --regid=omron"));
    let ignore = read(".dockerignore");
    for pattern in ["target/", ".venv*/", ".git/"] {
        assert!(
            ignore.lines().any(|l| l == pattern),
            ".dockerignore lacks {pattern}"
        );
    }
}

/// A unit's lines with continuations joined and runs of blanks made one space.
fn unit_lines(unit: &str) -> Vec<String> {
    unit.replace("\\\n", " ")
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn systemd_units_start_commands_omron_accepts_and_are_hardened() {
    for (role, env_file) in [
        ("miner", "deploy/systemd/miner.env"),
        ("validator", "deploy/systemd/validator.env"),
    ] {
        let path = format!("deploy/systemd/omron-{role}.service");
        let lines = unit_lines(&read(&path));
        let value = |key: &str| -> Vec<String> {
            lines
                .iter()
                .filter_map(|l| l.strip_prefix(&format!("{key}=")))
                .map(str::to_owned)
                .collect()
        };
        // Defaults from Environment=, overridden by the example environment file, as systemd
        // lets EnvironmentFile= win.
        let defaults = value("Environment").join(" ");
        let example = read(env_file);
        let mut vars = BTreeMap::new();
        for pair in defaults.split_whitespace().chain(
            example
                .lines()
                .filter(|l| !l.starts_with('#') && l.contains('=')),
        ) {
            let (k, v) = pair.split_once('=').unwrap();
            vars.insert(k, v);
        }
        assert_eq!(value("EnvironmentFile"), [format!("/etc/omron/{role}.env")]);
        let exec = interpolate(&value("ExecStart")[0], &vars, true);
        let mut args: Vec<String> = exec.split_whitespace().map(str::to_owned).collect();
        assert_eq!(args.remove(0), "/usr/local/bin/omron");
        assert_eq!(args[0], role);
        assert_omron_accepts(&path, &args);
        for (key, want) in [
            ("User", "omron"),
            ("Restart", "on-failure"),
            ("NoNewPrivileges", "yes"),
            ("ProtectSystem", "strict"),
            ("ProtectHome", "yes"),
            ("PrivateTmp", "yes"),
            ("PrivateDevices", "yes"),
            ("ProtectKernelTunables", "yes"),
            ("ProtectKernelModules", "yes"),
            ("MemoryDenyWriteExecute", "yes"),
            ("ReadWritePaths", "/var/lib/omron"),
            ("LimitNOFILE", "65536"),
        ] {
            assert_eq!(value(key), [want], "{path}: {key}");
        }
        assert!(
            exec.contains("--prometheus.ip 127.0.0.1"),
            "{path}: exporter on loopback"
        );
    }
}

fn make_dry_run(args: &[&str]) -> String {
    let out = Command::new("make")
        .arg("--no-print-directory")
        .arg("-n")
        .args(args)
        .current_dir(repo())
        .env("HOME", "/home/op")
        .output()
        .expect("`make` runs (install make: the Makefile is checked with it)");
    assert!(
        out.status.success(),
        "make -n {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn makefile_targets_run_commands_omron_accepts() {
    let wallet = [
        "WALLET_NAME=mw",
        "HOTKEY_NAME=mh",
        "AXON_EXTERNAL_IP=203.0.113.7",
    ];
    for (target, want) in [
        (
            "miner",
            "omron miner --netuid 2 --subtensor.network finney --wallet.name mw --wallet.hotkey mh",
        ),
        (
            "validator",
            "omron validator --netuid 2 --subtensor.network finney --wallet.name mw",
        ),
        (
            "test-miner",
            "omron miner --netuid 118 --subtensor.network test --disable-blacklist",
        ),
        (
            "test-validator",
            "omron validator --netuid 118 --subtensor.network test",
        ),
        ("localnet", "omron localnet --duration 5"),
    ] {
        let mut args = vec![target, "ARGS=--duration 5"];
        if target != "localnet" {
            args = vec![target];
            args.extend(wallet);
        }
        let plan = make_dry_run(&args);
        let mut lines = plan.lines();
        assert_eq!(
            lines.next(),
            Some("cargo build --release --locked -p omron-cli")
        );
        let run = lines.next().unwrap();
        assert!(run.contains(want), "make {target}: {run}");
        let mut words: Vec<String> = run.split_whitespace().map(str::to_owned).collect();
        assert_eq!(words.remove(0), "target/release/omron");
        assert_omron_accepts(&format!("make {target}"), &words);
    }
    // The original's hotkey variable still works.
    assert!(make_dry_run(&["validator", "WALLET_HOTKEY=hk"]).contains("--wallet.hotkey hk"));
    let pm2 = make_dry_run(&["pm2-miner", "WALLET_NAME=mw"]);
    assert!(
        pm2.contains("WALLET_NAME=mw")
            && pm2.contains("pm2 start deploy/pm2/ecosystem.config.js --only omron-miner")
    );
    assert!(make_dry_run(&["docker"]).contains("docker build -t omron ."));
    assert!(
        make_dry_run(&["install", "PREFIX=/opt/o"])
            .contains("./scripts/install.sh --prefix /opt/o --yes")
    );
}

#[test]
fn pm2_apps_run_commands_omron_accepts() {
    let script = "const c = require('./deploy/pm2/ecosystem.config.js'); \
                  console.log(JSON.stringify(c.apps.map(a => [a.name, a.script, a.interpreter, a.args])))";
    let out = Command::new("node")
        .args(["-e", script])
        .current_dir(repo())
        .env("WALLET_NAME", "pw")
        .env("HOTKEY_NAME", "ph")
        .env("AXON_EXTERNAL_IP", "203.0.113.7")
        .env("ARGS", "--logging.debug")
        .env_remove("OMRON_BIN")
        .output()
        .expect("node runs (scripts/test.sh needs it for chopsticks; the pm2 file is JavaScript)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let apps: Vec<(String, String, String, Vec<String>)> =
        serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = apps.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(names, ["omron-miner", "omron-validator"]);
    for (name, script, interpreter, args) in &apps {
        assert_eq!(interpreter, "none", "{name}: the binary runs without node");
        assert_eq!(Path::new(script), repo().join("target/release/omron"));
        assert!(
            args.windows(2).any(|w| w == ["--wallet.name", "pw"]),
            "{name}: {args:?}"
        );
        assert_eq!(args.last().map(String::as_str), Some("--logging.debug"));
        assert_omron_accepts(&format!("pm2 {name}"), args);
    }
}
