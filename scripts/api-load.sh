#!/usr/bin/env bash
# A bounded load benchmark of the validator's external API, on loopback: builds the
# release binary and the api_load example, starts a fresh `omron localnet` with its external
# API on 127.0.0.1, runs crates/api/examples/api_load.rs once per CONCURRENCY value against
# it (every answer verified by the client with the circuit's files), samples the validator
# process's memory (VmRSS, and VmHWM: its peak RSS so far) before and after each run, stops
# the localnet and prints everything. Results: docs/benchmarks.md, "External API load
# (loopback)".
#
# Settings (environment):
#   MINERS=5            miners of the localnet: all honest but the last two (slow, faulty)
#   REQUESTS=200        requests per run
#   CONCURRENCY="200 16" one run per value, in this order, against the same localnet
#   CONNECTIONS=8       WebSocket connections per run (requests are spread over them)
#   TIMEOUT=300         seconds a run may take at most (api_load's --timeout)
#   WARMUP=15           seconds between "all nodes up" and the first run
#   HONEST_STEP_MS=300  localnet --honest-step-ms (honest miner k answers k x this late)
#   SLOW_DELAY_MS=      localnet --slow-delay-ms when set (needed with HONEST_STEP_MS=0,
#                       e.g. 1: the localnet wants the slow miner a step behind the others)
#   CIRCUIT_DIR=circuits/mnist-mlp
#   LOAD_ARGS=          more api_load flags for every run, e.g. "--retry-busy 200 --nonce"
#   BUILD=1             0: use the binaries already in target/release (no cargo build)
#
# The whitelist has one key (//OmronApp), so the localnet's per-key limits are raised
# (--external-api-max-in-flight to the largest concurrency, at least 200; the rate limit to
# 100000 a minute): what refuses requests is then the validator's own queue (64 waiting,
# "busy" beyond), not the per-key quota. Everything stops by itself: the localnet has a
# --duration that covers all runs, and it is stopped (SIGINT, then SIGKILL of the processes
# this script started) when the script ends, however it ends. The API, the chain and the
# nodes listen on 127.0.0.1/127.0.0.2; the localnet starts the validator's metrics exporter
# without --prometheus.ip, so that one listens on 0.0.0.0 (an ephemeral port).
#
# Exit status: 0 when every run held (every answer verified, nothing lost), 1 otherwise.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

MINERS="${MINERS:-5}"
REQUESTS="${REQUESTS:-200}"
CONCURRENCY="${CONCURRENCY:-200 16}"
CONNECTIONS="${CONNECTIONS:-8}"
TIMEOUT="${TIMEOUT:-300}"
WARMUP="${WARMUP:-15}"
HONEST_STEP_MS="${HONEST_STEP_MS:-300}"
SLOW_DELAY_MS="${SLOW_DELAY_MS:-}"
CIRCUIT_DIR="${CIRCUIT_DIR:-circuits/mnist-mlp}"
LOAD_ARGS="${LOAD_ARGS:-}"
BUILD="${BUILD:-1}"

max_in_flight=200
runs=0
for c in $CONCURRENCY; do
    runs=$((runs + 1))
    if [ "$c" -gt "$max_in_flight" ]; then max_in_flight="$c"; fi
done
# Start-up, warm-up, every run at its longest, and a margin.
duration=$((180 + WARMUP + runs * (TIMEOUT + 30)))

omron="$root/target/release/omron"
load="$root/target/release/examples/api_load"
if [ "$BUILD" != 0 ]; then
    echo "api-load: building (cargo build --release; the api_load example)" >&2
    cargo build --release --quiet
    cargo build --release --quiet -p omron-api --example api_load
fi
for exe in "$omron" "$load"; do
    [ -x "$exe" ] || { echo "api-load: $exe is missing (run without BUILD=0)" >&2; exit 1; }
done

state="$(mktemp -d "${TMPDIR:-/tmp}/omron-api-load.XXXXXX")"
state="$(cd "$state" && pwd -P)"
log="$state.localnet.log"
localnet_pid=""

stop_localnet() {
    [ -n "$localnet_pid" ] || return 0
    if kill -0 "$localnet_pid" 2>/dev/null; then
        kill -INT "$localnet_pid" 2>/dev/null || true
        for _ in $(seq 1 60); do
            kill -0 "$localnet_pid" 2>/dev/null || break
            sleep 1
        done
        if kill -0 "$localnet_pid" 2>/dev/null; then
            echo "api-load: localnet did not stop in 60 s; killing it and its nodes" >&2
            kill -KILL "$localnet_pid" 2>/dev/null || true
        fi
    fi
    wait "$localnet_pid" 2>/dev/null || true
    # Nodes left behind by a killed localnet: only the ones that run on this state folder.
    for pid in $(pgrep -f -- "$state/" || true); do
        kill -KILL "$pid" 2>/dev/null || true
    done
    localnet_pid=""
}
trap stop_localnet EXIT

delays=(--honest-step-ms "$HONEST_STEP_MS")
if [ -n "$SLOW_DELAY_MS" ]; then delays+=(--slow-delay-ms "$SLOW_DELAY_MS"); fi

echo "api-load: localnet, $MINERS miners, state $state, log $log (stops itself after $duration s)" >&2
"$omron" localnet --external-api-port 0 --miners "$MINERS" --duration "$duration" \
    --state "$state" "${delays[@]}" \
    --external-api-max-in-flight "$max_in_flight" --external-api-rate-limit 100000 \
    >"$log" 2>&1 &
localnet_pid=$!

# The OMRON_API_* lines come before the nodes are healthy; wait for both (at most 180 s).
for _ in $(seq 1 180); do
    if grep -q '^all nodes up' "$log" 2>/dev/null; then break; fi
    if ! kill -0 "$localnet_pid" 2>/dev/null; then
        echo "api-load: localnet exited early:" >&2
        tail -30 "$log" >&2
        exit 1
    fi
    sleep 1
done
if ! grep -q '^all nodes up' "$log"; then
    echo "api-load: localnet not up after 180 s:" >&2
    tail -30 "$log" >&2
    exit 1
fi
url="$(sed -n 's/^OMRON_API_URL=//p' "$log" | head -1)"
cert="$(sed -n 's/^OMRON_API_CERT_SHA256=//p' "$log" | head -1)"
key="$(sed -n 's/^OMRON_API_KEY_URI=//p' "$log" | head -1)"
if [ -z "$url" ] || [ -z "$cert" ] || [ -z "$key" ]; then
    echo "api-load: no OMRON_API_* lines in $log" >&2
    exit 1
fi
validator_pid="$(pgrep -f -- "validator.*--state $state/validator" | head -1 || true)"
if [ -z "$validator_pid" ]; then
    echo "api-load: cannot find the validator process of $state" >&2
    exit 1
fi
echo "api-load: $url (certificate $cert, key $key), validator pid $validator_pid; warming up $WARMUP s" >&2
sleep "$WARMUP"

memory() {
    # "VmHWM: <kB> VmRSS: <kB>" of the validator (peak and current resident set), or "gone".
    awk '/^VmRSS:|^VmHWM:/ { printf "%s %s kB  ", $1, $2 }' "/proc/$validator_pid/status" 2>/dev/null || echo gone
}

tick="$(getconf CLK_TCK)"
# The client's own CPU time, when GNU time is there.
timer=()
if [ -x /usr/bin/time ]; then timer=(/usr/bin/time -f "%U %S" -o "$state/client-cpu.txt"); fi
cpu_ms() {
    # CPU time (user + system, ms) used so far by the given processes.
    local total=0 pid t
    for pid in "$@"; do
        t="$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)"
        total=$((total + t))
    done
    echo $((total * 1000 / tick))
}
# The miners: every node of this state folder but the validator.
miner_pids="$(pgrep -f -- "miner.*--wallet.path $state/wallets" | tr '\n' ' ' || true)"

status=0
results=()
for c in $CONCURRENCY; do
    before="$(memory)"
    # shellcheck disable=SC2086 # the pids are words on purpose
    cpu_before="$(cpu_ms "$validator_pid") $(cpu_ms $miner_pids)"
    out="$state/api-load-c$c.txt"
    set +e
    "${timer[@]}" "$load" --url "$url" --cert-sha256 "$cert" --key-uri "$key" --circuit-dir "$CIRCUIT_DIR" \
        --requests "$REQUESTS" --concurrency "$c" --connections "$CONNECTIONS" \
        --timeout "$TIMEOUT" $LOAD_ARGS | tee "$out" # LOAD_ARGS split into words on purpose
    rc=${PIPESTATUS[0]}
    set -e
    after="$(memory)"
    # shellcheck disable=SC2086
    cpu_after="$(cpu_ms "$validator_pid") $(cpu_ms $miner_pids)"
    read -r v0 m0 <<<"$cpu_before"
    read -r v1 m1 <<<"$cpu_after"
    if [ "$rc" -ne 0 ]; then status=1; fi
    results+=("concurrency $c: exit $rc; validator before: $before; after: $after")
    client="$(awk '{ printf "%.0f ms", ($1 + $2) * 1000 }' "$state/client-cpu.txt" 2>/dev/null || echo "?")"
    results+=("  CPU during the run: validator $((v1 - v0)) ms, miners $((m1 - m0)) ms (all $(echo "$miner_pids" | wc -w)), api_load $client")
    results+=("  $(tail -1 "$out")")
done

vlog="$state/logs/validator.log"
answered="$(grep -c 'external request answered' "$vlog" 2>/dev/null || true)"
panics="$(grep -ci 'panicked' "$vlog" 2>/dev/null || true)"
errors="$(grep -c ' ERROR ' "$vlog" 2>/dev/null || true)"
warnings="$(grep -c ' WARN ' "$vlog" 2>/dev/null || true)"
stop_localnet

echo
echo "api-load: machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr)"
echo "api-load: localnet --miners $MINERS ${delays[*]} --external-api-max-in-flight $max_in_flight --external-api-rate-limit 100000"
echo "api-load: $REQUESTS requests per run, $CONNECTIONS connections, circuit $CIRCUIT_DIR, api_load flags: ${LOAD_ARGS:-none}"
for r in "${results[@]}"; do echo "$r"; done
echo "api-load: validator log: ${answered:-0} 'external request answered' lines, ${panics:-0} panics, ${errors:-0} ERROR and ${warnings:-0} WARN lines ($vlog)"
echo "api-load: state and logs kept in $state (localnet output $log)"
exit "$status"
