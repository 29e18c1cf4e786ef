#!/usr/bin/env bash
# Runs the real subtensor runtime (spec 218, ../shared/data/subtensor/raonet-genesis.json) under
# chopsticks on this machine, for trying the client and the nodes by hand:
#
#   scripts/subtensor-runtime.sh [PORT] [Instant|Manual|Batch]     (default 9944, Instant)
#
# then e.g. `omron chain block --subtensor.network ws://127.0.0.1:9944`. Chopsticks' dev RPC:
# `dev_newBlock {"count": N}` makes blocks (epochs), `dev_setStorage` writes storage (funds, the
# sudo key: see crates/chain/src/chopsticks.rs and docs/chain.md). Ctrl-C stops it.
# `omron localnet --chain subtensor` does all of this, and the subnet set-up, by itself.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/chopsticks.sh"
port="${1:-9944}"
mode="${2:-Instant}"
exec node "$OMRON_CHOPSTICKS_DIR/node_modules/@acala-network/chopsticks/chopsticks.cjs" \
    --genesis "$OMRON_SUBTENSOR_GENESIS" --host 127.0.0.1 --port "$port" --build-block-mode "$mode"
