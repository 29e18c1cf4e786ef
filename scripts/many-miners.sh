#!/usr/bin/env bash
# One validator holding many miners on loopback (issue 12, section 3): builds and runs
# crates/validator/examples/many_miners.rs in release. The embedded chain, the validator node
# and MINERS honest miners (real MNIST proofs, in a child process so the figures printed are the
# validator's) run for ROUNDS rounds of MINERS scored responses; it prints the validator's CPU
# and memory per round, requests per uid, and whether weights reached the chain.
# Everything listens on loopback and stops by itself. Exit status 0 when every miner was held
# and weights were set. Results: docs/benchmarks.md, "Validator at scale".
#
# Settings (environment): MINERS=256, ROUNDS=20, BUILD=1 (0: use target/release as built).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
MINERS="${MINERS:-256}"
ROUNDS="${ROUNDS:-20}"
if [ "${BUILD:-1}" = 1 ]; then
    cargo build --release --locked -p omron-validator --example many_miners
fi
target="${CARGO_TARGET_DIR:-$root/target}"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
timeout 600 "$target/release/examples/many_miners" --miners "$MINERS" --rounds "$ROUNDS"
