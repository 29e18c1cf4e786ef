#!/usr/bin/env bash
# Installs bittensor-drand (the Bittensor SDK's timelock library: a Rust core with Python
# bindings, wheels from PyPI) for the interop tests of omron-timelock
# (crates/timelock/tests/it/python.rs), and exports the interpreters. Source it:
#
#   .venv-drand   bittensor-drand==2.0.0  (what bittensor 10.5.0 pins; stateful epoch schedule)
#                 -> OMRON_DRAND_PYTHON
#   .venv-drand1  bittensor-drand==1.3.0  (the last with the modulo schedule's
#                 get_encrypted_commit, which finney's runtime still runs) -> OMRON_DRAND1_PYTHON
#
# Idempotent: a venv that already imports the pinned version is kept. Any failure aborts (set -e
# in the caller): the tests never skip, they fail when a variable is missing.

omron_drand_venv() {
    local dir="$1" version="$2"
    local py="$dir/bin/python"
    local check="import importlib.metadata as m, sys; sys.exit(m.version('bittensor-drand') != '$version')"
    if ! { [ -x "$py" ] && "$py" -c "$check" 2>/dev/null; }; then
        echo "drand-venv: installing bittensor-drand==$version into $dir" >&2
        "${OMRON_PYTHON:-python3}" -m venv --clear "$dir"
        # Wheels only: the sdist builds against git dependencies, which need the network.
        "$py" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
            "bittensor-drand==$version"
        "$py" -c "$check"
    fi
    "$py" -c "import bittensor_drand as b; b.encrypt_at_round, b.decrypt_with_signature"
}

omron_drand_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
omron_drand_venv "$omron_drand_root/.venv-drand" 2.0.0
omron_drand_venv "$omron_drand_root/.venv-drand1" 1.3.0
export OMRON_DRAND_PYTHON="$omron_drand_root/.venv-drand/bin/python"
export OMRON_DRAND1_PYTHON="$omron_drand_root/.venv-drand1/bin/python"
