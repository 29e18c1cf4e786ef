#!/usr/bin/env bash
# The Python client (clients/python) end to end: starts `omron localnet` with its validator's
# external API on a loopback port, exports the OMRON_API_* variables it prints, runs
# scripts/python-client.sh (build, install, every pytest test, the live ones included), then
# stops the localnet with Ctrl-C. Bounded: the localnet stops by itself after 600 s anyway.
#
#   OMRON_BIN   the omron binary (default: target/debug/omron, built if missing)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="${OMRON_BIN:-$root/target/debug/omron}"
if [ ! -x "$bin" ]; then
    cargo build --locked -p omron-cli
fi
work="$(mktemp -d)"
log="$work/localnet.out"
"$bin" localnet --miners 3 --duration 600 --scoreboard-interval 60 \
    --state "$work/state" --external-api-port 0 >"$log" 2>"$work/localnet.err" &
pid=$!
stop() {
    if kill -0 "$pid" 2>/dev/null; then
        kill -INT "$pid" 2>/dev/null || true
        for _ in $(seq 1 300); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap stop EXIT
for _ in $(seq 1 600); do
    grep -q '^all nodes up' "$log" && break
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "python-client-e2e: the localnet stopped before it was up:" >&2
        cat "$log" "$work/localnet.err" >&2
        exit 1
    fi
    sleep 0.2
done
grep -q '^all nodes up' "$log" || { echo "python-client-e2e: the localnet did not come up in 120 s" >&2; cat "$log" >&2; exit 1; }
export OMRON_API_URL="$(sed -n 's/^OMRON_API_URL=//p' "$log")"
export OMRON_API_CERT_SHA256="$(sed -n 's/^OMRON_API_CERT_SHA256=//p' "$log")"
export OMRON_API_KEY_URI="$(sed -n 's/^OMRON_API_KEY_URI=//p' "$log")"
export OMRON_CIRCUITS_DIR="$root/circuits"
echo "python-client-e2e: localnet API at $OMRON_API_URL" >&2
# -rs: list skipped tests, so a live test that did not run shows up in the log.
"$root/scripts/python-client.sh" -rs "$@"
