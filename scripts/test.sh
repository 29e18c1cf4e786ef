#!/usr/bin/env bash
# The project's test command (README.md): builds everything and runs every test suite.
# Works on a fresh machine: it installs what the tests need (a Python venv with the pinned
# Bittensor SDKs for the interop tests) before running them. Nothing is skipped silently: a
# failed install fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real Bittensor SDKs for the interop tests of omron-bittensor and of omron-cli's
# nodes_multiprocess (the SDK querying `omron miner`) (exports OMRON_BT10_PYTHON and
# OMRON_BT11_PYTHON).
source scripts/bittensor-venvs.sh

# onnxruntime for the accuracy tests of omron-model (exports OMRON_ORT_PYTHON).
source scripts/ort-venv.sh

# The real subtensor runtime under chopsticks for the chain tests (exports
# OMRON_CHOPSTICKS_DIR and OMRON_SUBTENSOR_GENESIS).
source scripts/chopsticks.sh

# bittensor-drand from PyPI for omron-timelock's interop tests (exports OMRON_DRAND_PYTHON and
# OMRON_DRAND1_PYTHON).
source scripts/drand-venv.sh

# Supply chain: licences, bans, sources and the dated RustSec advisory snapshot (cargo-deny,
# offline; see docs/supply-chain.md).
./scripts/cargo-deny.sh

cargo test --workspace --locked

# The bounded fuzzing pass (docs/fuzzing.md): every target of fuzz/ built with cargo-fuzz, its
# checked-in corpus replayed, then fuzzed for 10 s; any crash fails the run. On the pinned stable
# toolchain, as CI machines have no other.
FUZZ_NIGHTLY=0 FUZZ_SECONDS=10 ./scripts/fuzz.sh

# The Prometheus alert rules in deploy/: promtool check rules + promtool test rules (installs
# Debian's prometheus package for promtool if missing; a failed install fails the run).
./scripts/check-alerts.sh

# The operator files (Dockerfile, compose, prometheus.yml, systemd units, shell scripts) with
# hadolint, ShellCheck, docker-compose, promtool and systemd-analyze; the container image build
# and run is left out here (about 40 minutes on 2 cores): `./scripts/check-deploy.sh` does it.
CHECK_CONTAINER=0 ./scripts/check-deploy.sh

# The Python client package (clients/python, PyO3 + maturin from PyPI): built, installed and
# tested, its live tests against `omron localnet`'s external API.
./scripts/python-client-e2e.sh

# The validator's dashboard in headless Chromium (Debian's chromium, playwright-core from npm)
# against a fresh `omron localnet`; screenshots in target/dashboard-screenshots/.
./scripts/dashboard-browser-test.sh
