#!/usr/bin/env bash
# Installs onnxruntime for the omron-model accuracy tests (crates/model/tests/it/ort.rs, which
# compare the quantised LSTM and age models with onnxruntime) and exports its interpreter; onnx
# is there for bench/make_transformers.py (builds the transformer models, checks them in ORT).
# Source it (scripts/test.sh does):
#
#   .venv-ort  onnxruntime==1.32.0 numpy==2.4.6 onnx==1.23.2  -> OMRON_ORT_PYTHON
#
# Idempotent: a venv that already imports the pinned versions is kept. Any failure aborts (set -e
# in the caller): the tests never skip, they fail when OMRON_ORT_PYTHON is missing.

omron_ort_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
omron_ort_dir="$omron_ort_root/.venv-ort"
omron_ort_py="$omron_ort_dir/bin/python"
omron_ort_check="import importlib.metadata as m, sys; sys.exit(not (m.version('onnxruntime') == '1.32.0' and m.version('numpy') == '2.4.6' and m.version('onnx') == '1.23.2'))"
if ! { [ -x "$omron_ort_py" ] && "$omron_ort_py" -c "$omron_ort_check" 2>/dev/null; }; then
    echo "ort-venv: installing onnxruntime==1.32.0 numpy==2.4.6 onnx==1.23.2 into $omron_ort_dir" >&2
    "${OMRON_PYTHON:-python3}" -m venv --clear "$omron_ort_dir"
    "$omron_ort_py" -m pip install --quiet --disable-pip-version-check \
        "onnxruntime==1.32.0" "numpy==2.4.6" "onnx==1.23.2"
    "$omron_ort_py" -c "$omron_ort_check"
    "$omron_ort_py" -c "import onnxruntime, numpy, onnx"
fi
export OMRON_ORT_PYTHON="$omron_ort_py"
