#!/usr/bin/env bash
# Builds the Python package omron_client (clients/python: the Rust API client and verifier
# through PyO3) into a venv and runs its pytest suite. Extra arguments go to pytest.
#
#   clients/python/.venv   maturin==1.16.0 pytest==9.0.3 + omron_client (maturin develop)
#
# Needs Python 3.9+ with venv and pip, and the Rust toolchain; fetches only from PyPI and
# crates.io. Idempotent: a venv that already has the pinned versions is kept, and cargo
# rebuilds only what changed (in clients/python/target). Any failure fails the script.
#
# The end-to-end tests run only when OMRON_API_URL is set (with OMRON_API_CERT_SHA256 and
# OMRON_API_KEY_URI, as `omron localnet --external-api-port 0` prints them; OMRON_CIRCUITS_DIR
# defaults to circuits/); see clients/python/tests/test_live.py.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkg="$root/clients/python"
venv="$pkg/.venv"
py="$venv/bin/python"
check="import importlib.metadata as m, sys; sys.exit(not (m.version('maturin') == '1.16.0' and m.version('pytest') == '9.0.3'))"

if ! { [ -x "$py" ] && "$py" -c "$check" 2>/dev/null; }; then
    echo "python-client: installing maturin==1.16.0 pytest==9.0.3 into $venv" >&2
    "${OMRON_PYTHON:-python3}" -m venv --clear "$venv"
    "$py" -m pip install --quiet --disable-pip-version-check "maturin==1.16.0" "pytest==9.0.3"
    "$py" -c "$check"
fi

# maturin develop builds the extension (debug profile: the proof system and crypto crates are
# optimised anyway, see clients/python/Cargo.toml) and installs the package into the venv.
export CARGO_TARGET_DIR="$pkg/target"
(
    cd "$pkg"
    VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --locked --quiet
)
"$py" -c "import omron_client; print('python-client: omron_client', omron_client.__version__, 'built')"

cd "$pkg"
"$py" -m pytest -q tests "$@"
