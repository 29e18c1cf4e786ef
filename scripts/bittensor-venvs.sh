#!/usr/bin/env bash
# Installs the real Bittensor Python SDKs the interop tests of omron-bittensor run against, and
# exports their interpreters. Source it (scripts/test.sh does):
#
#   .venv-bt10  bittensor==10.5.0  (the last SDK with axon/dendrite)  -> OMRON_BT10_PYTHON
#   .venv-bt11  bittensor==11.3.0  (btauth/1)                          -> OMRON_BT11_PYTHON
#
# Versions of every dependency are pinned to those the wire vectors were captured with
# (crates/bittensor/tests/py/constraints-*.txt). Idempotent: a venv that already imports the
# right version is kept. Any failure aborts (set -e in the caller): nothing is skipped silently.

omron_bt_venv() {
    local dir="$1" version="$2" constraints="$3"
    local py="$dir/bin/python"
    if [ -x "$py" ] && "$py" -c "import importlib.metadata as m, sys; sys.exit(m.version('bittensor') != '$version')" 2>/dev/null; then
        return 0
    fi
    echo "bittensor-venvs: installing bittensor==$version into $dir" >&2
    "${OMRON_PYTHON:-python3}" -m venv --clear "$dir"
    "$py" -m pip install --quiet --disable-pip-version-check \
        -c "$constraints" "bittensor==$version"
    "$py" -c "import importlib.metadata as m; assert m.version('bittensor') == '$version'"
}

omron_bt_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
omron_bt_venv "$omron_bt_root/.venv-bt10" 10.5.0 "$omron_bt_root/crates/bittensor/tests/py/constraints-bt10.txt"
omron_bt_venv "$omron_bt_root/.venv-bt11" 11.3.0 "$omron_bt_root/crates/bittensor/tests/py/constraints-bt11.txt"
export OMRON_BT10_PYTHON="$omron_bt_root/.venv-bt10/bin/python"
export OMRON_BT11_PYTHON="$omron_bt_root/.venv-bt11/bin/python"
