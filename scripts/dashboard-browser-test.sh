#!/usr/bin/env bash
# The validator's dashboard in a real browser: starts a fresh `omron localnet` (embedded
# chain, one validator, four miners: honest, honest, slow, faulty) with its external API on
# loopback, makes one external request with `omron request`, then drives the page in headless
# Chromium (Debian's chromium, driven by playwright-core from npm) with
# scripts/dashboard-browser-test.cjs: charts drawn from the history, tables with rows,
# weights as percent, no console errors, no failed or off-origin requests, no horizontal
# overflow at 390x844. Screenshots: target/dashboard-screenshots/{wide,narrow}.png.
#
# Needs: Debian's chromium (installed with apt-get when missing: needs root; the script
# fails when it cannot), node >= 18 and npm (playwright-core is installed into
# .dashboard-test/, not committed). It waits for the first score update (256 responses, about
# 90 s here) so that weights are in force and every chart has lines; the whole run takes about
# two minutes. Bounded: the driver waits at most 150 s for that, the localnet stops itself
# after 300 s, and it is stopped when the script ends, however it ends.
#
# Settings (environment):
#   BUILD=1        0: use target/debug/omron as it is (no cargo build)
#   KEEP_STATE=0   1: keep the localnet's state folder and log
#
# Exit status: 0 when every check passed, 1 otherwise.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

BUILD="${BUILD:-1}"
KEEP_STATE="${KEEP_STATE:-0}"
PLAYWRIGHT_VERSION="1.65.2"
pw_dir="$root/.dashboard-test"
shots="$root/target/dashboard-screenshots"
say() { echo "dashboard-browser-test: $*" >&2; }
die() { say "$*"; exit 1; }

# --- the browser and its driver ------------------------------------------------------------
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
    [ "$(id -u)" = 0 ] || die "$chromium is missing and this is not root: install it with 'sudo apt-get install -y chromium'"
    say "installing chromium (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null 2>&1 || {
        apt-get update >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null
    } || die "apt-get could not install chromium"
    [ -x "$chromium" ] || die "chromium installed but $chromium is not there"
fi
command -v node >/dev/null || die "node is missing (node >= 18 runs the driver)"
command -v npm >/dev/null || die "npm is missing (it installs playwright-core)"
if [ ! -f "$pw_dir/node_modules/playwright-core/package.json" ]; then
    say "installing playwright-core $PLAYWRIGHT_VERSION into $pw_dir"
    mkdir -p "$pw_dir"
    npm install --prefix "$pw_dir" --no-audit --no-fund --silent \
        "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null || die "npm could not install playwright-core"
fi

# --- the localnet ------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
    say "cargo build --locked -p omron-cli"
    cargo build -q --locked -p omron-cli
fi
omron="$root/target/debug/omron"
[ -x "$omron" ] || die "$omron is missing (run with BUILD=1)"

state="$(mktemp -d "${TMPDIR:-/tmp}/omron-dashboard.XXXXXX")"
state="$(cd "$state" && pwd -P)"
log="$state.localnet.log"
localnet_pid=""
stop_localnet() {
    [ -n "$localnet_pid" ] || return 0
    if kill -0 "$localnet_pid" 2>/dev/null; then
        kill -INT "$localnet_pid" 2>/dev/null || true
        for _ in $(seq 1 30); do
            kill -0 "$localnet_pid" 2>/dev/null || break
            sleep 1
        done
        kill -KILL "$localnet_pid" 2>/dev/null || true
    fi
    wait "$localnet_pid" 2>/dev/null || true
    # Nodes a killed localnet left behind: only those running on this run's state folder.
    for pid in $(pgrep -f -- "$state/" || true); do
        kill -KILL "$pid" 2>/dev/null || true
    done
    localnet_pid=""
    if [ "$KEEP_STATE" = 1 ]; then
        say "state kept in $state (log $log)"
    else
        rm -rf "$state" "$log"
    fi
}
trap stop_localnet EXIT

say "localnet (state $state), stops itself after 300 s"
"$omron" localnet --duration 300 --state "$state" --external-api-port 0 \
    --scoreboard-interval 60 >"$log" 2>&1 &
localnet_pid=$!
for _ in $(seq 1 90); do
    grep -q '^all nodes up' "$log" 2>/dev/null && break
    kill -0 "$localnet_pid" 2>/dev/null || { tail -30 "$log" >&2; die "localnet exited early"; }
    sleep 1
done
grep -q '^all nodes up' "$log" || { tail -30 "$log" >&2; die "localnet not up after 90 s"; }
api="$(grep -o 'api http://127\.0\.0\.1:[0-9]*' "$log" | head -1 | cut -d' ' -f2)"
[ -n "$api" ] || { cat "$log" >&2; die "no validator API URL in the localnet's output"; }
say "validator API $api"

# One external request, so the external table has a row (the printed command, as is).
expect_external=0
try="$(sed -n 's/^ *try it: *omron request /request /p' "$log" | head -1)"
if [ -n "$try" ]; then
    # shellcheck disable=SC2086 # the printed line is a plain argument list
    if timeout 60 "$omron" $try >"$state/request.out" 2>&1; then
        expect_external=1
        say "external request verified"
    else
        cat "$state/request.out" >&2
        die "the external request failed"
    fi
else
    die "the localnet printed no 'try it: omron request' line"
fi

# --- the page ----------------------------------------------------------------------------
rm -rf "$shots"
DASHBOARD_URL="$api" PLAYWRIGHT_CORE="$pw_dir/node_modules/playwright-core" \
    SCREENSHOT_DIR="$shots" EXPECT_EXTERNAL="$expect_external" CHROMIUM="$chromium" \
    WAIT_WEIGHTS=1 DATA_WAIT_S=150 timeout 220 node "$root/scripts/dashboard-browser-test.cjs" || {
        say "failed; localnet output:"
        tail -20 "$log" >&2
        exit 1
    }
say "screenshots in $shots"
