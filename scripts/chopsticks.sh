#!/usr/bin/env bash
# Installs the pinned chopsticks (npm @acala-network/chopsticks, which executes the real
# subtensor runtime from ../shared/data/subtensor/raonet-genesis.json) for the chain tests and
# `omron localnet --chain subtensor`, and exports where it is. Source it (scripts/test.sh does):
#
#   .chopsticks/node_modules/@acala-network/chopsticks  -> OMRON_CHOPSTICKS_DIR
#   the genesis                                          -> OMRON_SUBTENSOR_GENESIS
#
# Needs node >= 20 and npm; fetches only from the npm registry. Idempotent. Any failure aborts
# (set -e in the caller): the runtime tests never skip.

omron_chop_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
omron_chop_version="1.5.1"
export OMRON_CHOPSTICKS_DIR="$omron_chop_root/.chopsticks"
export OMRON_SUBTENSOR_GENESIS="${OMRON_SUBTENSOR_GENESIS:-$omron_chop_root/../shared/data/subtensor/raonet-genesis.json}"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "chopsticks: node and npm are needed (apt-get install nodejs npm)" >&2
    false
fi
omron_chop_pkg="$OMRON_CHOPSTICKS_DIR/node_modules/@acala-network/chopsticks/package.json"
if ! { [ -f "$omron_chop_pkg" ] && grep -q "\"version\": \"$omron_chop_version\"" "$omron_chop_pkg"; }; then
    echo "chopsticks: installing @acala-network/chopsticks@$omron_chop_version into $OMRON_CHOPSTICKS_DIR" >&2
    mkdir -p "$OMRON_CHOPSTICKS_DIR"
    # The package asks for node 22 but runs this runtime on node 20 (checked); the engine
    # warning is expected.
    npm install --no-audit --no-fund --loglevel=error --prefix "$OMRON_CHOPSTICKS_DIR" \
        "@acala-network/chopsticks@$omron_chop_version"
    grep -q "\"version\": \"$omron_chop_version\"" "$omron_chop_pkg"
fi
test -f "$OMRON_SUBTENSOR_GENESIS"
