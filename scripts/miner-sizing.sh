#!/usr/bin/env bash
# Miner and validator sizing, measured: what one `omron miner` needs to serve every shipped
# circuit (circuits/) at 1 and at 16 concurrent requests, and what a validator uses.
# Results and the sizing table derived from them: docs/benchmarks.md, "Miner sizing", and
# docs/hardware.md.
#
# 1. Starts the embedded chain (`omron chain serve`, loopback), makes a subnet, registers a
#    validator hotkey (staked 2000 TAO, so it gets a permit and passes the miner's blacklist) and
#    a miner hotkey; the miner (`omron miner`, serving all of circuits/) runs on 127.0.0.2 with
#    its metrics on 127.0.0.1.
# 2. For each circuit, a fresh miner, and crates/miner/examples/miner_load.rs against it once per
#    CONCURRENCY value: REQUESTS signed requests as the validator sends them (each lane its own dendrite),
#    every proof verified afterwards; per circuit: latency p50/p95, the miner's own proving time,
#    throughput, proof and request sizes, the miner's CPU and peak RSS (VmHWM, reset per circuit).
# 3. With VALIDATOR=1, runs `omron localnet` for VALIDATOR_SECONDS with no artificial miner
#    delays and samples the validator process: peak RSS, CPU, state size, answers verified.
# 4. Prints disk use (binary, circuits, chain and validator state) and the machine's load.
#
# Settings (environment):
#   CONCURRENCY="1 16"      one miner_load run per value, in this order, on the same miner
#   REQUESTS=              requests per circuit per run (default: 8 at concurrency 1, else 2 x C)
#   CIRCUITS=              folder names to load (space separated; default: all of circuits/)
#   MINER_ARGS=            more `omron miner` flags, e.g. "--max-concurrent-proofs 4"
#   VALIDATOR=1            0: skip the localnet validator run
#   VALIDATOR_SECONDS=120  how long the localnet runs
#   BUILD=1                0: use the binaries already in target/release
#   CARGO_TARGET_DIR=      where the binaries are (default: target/ of the repository)
#
# Everything listens on loopback and stops by itself: the processes this script starts are
# stopped (SIGINT, then SIGKILL after 30 s) when it ends, however it ends; the localnet also has
# a --duration. Exit status: 0 when every proof verified and no request failed (busy answers
# from the miner's bounded queue are results, not failures), 1 otherwise.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

CONCURRENCY="${CONCURRENCY:-1 16}"
REQUESTS="${REQUESTS:-}"
CIRCUITS="${CIRCUITS:-}"
MINER_ARGS="${MINER_ARGS:-}"
VALIDATOR="${VALIDATOR:-1}"
VALIDATOR_SECONDS="${VALIDATOR_SECONDS:-120}"
BUILD="${BUILD:-1}"

target="${CARGO_TARGET_DIR:-$root/target}"
omron="$target/release/omron"
load="$target/release/examples/miner_load"
if [ "$BUILD" != 0 ]; then
    echo "miner-sizing: building (omron, the miner_load example; release)" >&2
    cargo build --release --quiet -p omron-cli
    cargo build --release --quiet -p omron-miner --example miner_load
fi
for exe in "$omron" "$load"; do
    [ -x "$exe" ] || { echo "miner-sizing: $exe is missing (run without BUILD=0)" >&2; exit 1; }
done

state="$(mktemp -d "${TMPDIR:-/tmp}/omron-miner-sizing.XXXXXX")"
state="$(cd "$state" && pwd -P)"
pids=()
stop_all() {
    local pid
    for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
trap stop_all EXIT

free_port() {
    python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$1"
}
rss_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_s() {
    # CPU seconds (user + system) a process has used; /proc ticks are USER_HZ = 100.
    awk '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / 100 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
load_avg() { cut -d' ' -f1-3 /proc/loadavg; }

echo "miner-sizing: machine: $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), load average $(load_avg)"
echo "miner-sizing: state and logs in $state"

# --- 1. chain, subnet, keys, miner -----------------------------------------------------------
"$omron" chain serve --port 0 --block-time-ms 100 --state "$state/chain" \
    >"$state/chain.out" 2>"$state/chain.log" &
pids+=("$!")
url=""
for _ in $(seq 1 60); do
    url="$(head -1 "$state/chain.out" 2>/dev/null || true)"
    [ -n "$url" ] && break
    sleep 0.5
done
[ -n "$url" ] || { echo "miner-sizing: the chain printed no URL" >&2; cat "$state/chain.log" >&2; exit 1; }
net=(--subtensor.network "$url")
netuid="$("$omron" chain create-subnet "${net[@]}" | tr -d '[:space:]')"
wallets="$state/wallets"
hotkey_of() {
    "$omron" wallet create --no-password --wallet.path "$wallets" --wallet.name "$1" |
        sed -n 's/^hotkey default: \([^ ]*\).*/\1/p'
}
validator_hk="$(hotkey_of validator)"
miner_hk="$(hotkey_of miner)"
for hk in "$validator_hk" "$miner_hk"; do
    "$omron" chain register --netuid "$netuid" --coldkey //Alice --hotkey "$hk" "${net[@]}" >/dev/null
done
"$omron" chain stake --netuid "$netuid" --coldkey //Alice --hotkey "$validator_hk" --amount 2000 "${net[@]}" >/dev/null
# Permits are handed out at epochs (tempo 20 at 100 ms blocks: about 2 s).
for _ in $(seq 1 120); do
    if "$omron" chain metagraph --netuid "$netuid" --json "${net[@]}" |
        jq -e --arg hk "$validator_hk" '.neurons[] | select(.hotkey == $hk) | .validator_permit' >/dev/null; then
        break
    fi
    sleep 0.5
done

axon_port="$(free_port 127.0.0.2)"
metrics_port="$(free_port 127.0.0.1)"
miner_pid=""
start_miner() {
    # The same ports every time: the chain already shows this axon, so nothing is announced
    # again (the serving rate limit would refuse it).
    # shellcheck disable=SC2086 # MINER_ARGS is split into flags on purpose
    "$omron" miner --netuid "$netuid" "${net[@]}" --wallet.path "$wallets" --wallet.name miner \
        --axon.ip 127.0.0.2 --axon.port "$axon_port" --prometheus.ip 127.0.0.1 \
        --prometheus.port "$metrics_port" --circuits "$root/circuits" $MINER_ARGS \
        >>"$state/miner.out" 2>>"$state/miner.log" &
    miner_pid=$!
    pids+=("$miner_pid")
    for _ in $(seq 1 120); do
        if curl -sf "http://127.0.0.1:$metrics_port/health" >/dev/null 2>&1; then return 0; fi
        kill -0 "$miner_pid" 2>/dev/null || { echo "miner-sizing: the miner exited:" >&2; tail -20 "$state/miner.log" >&2; exit 1; }
        sleep 0.5
    done
    echo "miner-sizing: the miner is not healthy after 60 s" >&2
    exit 1
}
stop_miner() {
    kill -INT "$miner_pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$miner_pid" 2>/dev/null || break; sleep 1; done
    kill -KILL "$miner_pid" 2>/dev/null || true
    wait "$miner_pid" 2>/dev/null || true
    pids=("${pids[@]/$miner_pid/}")
}

# --- 2. load: a fresh miner per circuit ------------------------------------------------------
# A fresh process per circuit, so each circuit's peak RSS is its own: the allocator keeps
# freed memory, and a run after the age CNN would otherwise report the CNN's peak.
if [ -z "$CIRCUITS" ]; then
    CIRCUITS="$(for m in "$root"/circuits/*/metadata.json; do basename "$(dirname "$m")"; done | tr '\n' ' ')"
fi
echo "miner-sizing: miner flags: ${MINER_ARGS:-defaults}; circuits: $CIRCUITS"
status=0
for circuit in $CIRCUITS; do
    start_miner
    echo
    echo "miner-sizing: $circuit: miner pid $miner_pid, idle RSS $(($(rss_kb "$miner_pid" VmRSS) / 1024)) MB, load average $(load_avg)"
    for c in $CONCURRENCY; do
        n="${REQUESTS:-$([ "$c" = 1 ] && echo 8 || echo $((2 * c)))}"
        set +e
        "$load" --axon "127.0.0.2:$axon_port" --axon.hotkey "$miner_hk" \
            --wallet.path "$wallets" --wallet.name validator --circuits "$root/circuits" \
            --circuit "$circuit" --requests "$n" --concurrency "$c" \
            --metrics "http://127.0.0.1:$metrics_port/metrics" --pid "$miner_pid" \
            >"$state/load-$circuit-c$c.txt"
        rc=$?
        set -e
        head -n -1 "$state/load-$circuit-c$c.txt"
        tail -1 "$state/load-$circuit-c$c.txt" >>"$state/results.jsonl"
        [ "$rc" -eq 0 ] || { status=1; echo "miner-sizing: $circuit at concurrency $c: exit $rc" >&2; }
    done
    echo "miner-sizing: $circuit: miner RSS after $(($(rss_kb "$miner_pid" VmRSS) / 1024)) MB, peak $(($(rss_kb "$miner_pid" VmHWM) / 1024)) MB since the last reset, CPU $(cpu_s "$miner_pid") s in all"
    stop_miner
done
echo
echo "miner-sizing: every row as JSON: $state/results.jsonl; load average $(load_avg)"
stop_all

# --- 3. a validator in a localnet ----------------------------------------------------------------
if [ "$VALIDATOR" != 0 ]; then
    lstate="$state/localnet"
    echo
    echo "miner-sizing: localnet for $VALIDATOR_SECONDS s (no artificial delays), load average $(load_avg)"
    "$omron" localnet --duration "$VALIDATOR_SECONDS" --state "$lstate" --honest-step-ms 0 \
        --slow-delay-ms 1 --summary "$state/localnet-summary.json" >"$state/localnet.log" 2>&1 &
    localnet_pid=$!
    pids+=("$localnet_pid")
    vpid=""
    for _ in $(seq 1 120); do
        vpid="$(pgrep -f -- "validator.*--state $lstate/validator" | head -1 || true)"
        [ -n "$vpid" ] && break
        sleep 0.5
    done
    [ -n "$vpid" ] || { echo "miner-sizing: no validator process in $lstate" >&2; exit 1; }
    peak=0; cpu=0
    while kill -0 "$vpid" 2>/dev/null; do
        # Keep the last readings: the process is gone once the localnet stops it.
        p="$(rss_kb "$vpid" VmHWM)"; [ "${p:-0}" -gt "$peak" ] && peak="$p"
        t="$(cpu_s "$vpid")"; [ "$t" != 0 ] && cpu="$t"
        sleep 1
    done
    wait "$localnet_pid" || true
    pids=()
    sent="$(jq '[.miners[].requests] | add' "$state/localnet-summary.json" 2>/dev/null || echo '?')"
    verified="$(jq '[.miners[].verified] | add' "$state/localnet-summary.json" 2>/dev/null || echo '?')"
    echo "miner-sizing: validator: peak RSS $((peak / 1024)) MB, CPU $cpu s over about $VALIDATOR_SECONDS s, state $(du -sh "$lstate/validator" 2>/dev/null | cut -f1); requests $sent, verified $verified (the localnet's faulty miner never verifies)"
    echo "miner-sizing: localnet summary: $state/localnet-summary.json"
fi

# --- 4. disk -------------------------------------------------------------------------------------
echo
echo "miner-sizing: disk: omron binary $(du -h "$omron" | cut -f1) ($(du -h --apparent-size "$omron" | cut -f1) apparent), circuits/ $(du -sh "$root/circuits" | cut -f1), chain state $(du -sh "$state/chain" | cut -f1), miner log $(du -h "$state/miner.log" | cut -f1)"
echo "miner-sizing: load average at the end $(load_avg)"
exit "$status"
