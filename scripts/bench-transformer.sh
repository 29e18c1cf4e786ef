#!/usr/bin/env bash
# A transformer end to end on the release binary, with its correctness asserted against
# onnxruntime: the GPT-2 small benchmark of issue 13 (too large for a test in CI's budget, so it
# runs here, by hand, and its figures go to docs/benchmarks.md, "Transformers").
#
#   scripts/bench-transformer.sh [gpt2-small|nanogpt] [DIR]     (default: gpt2-small target/gpt2-small)
#
# 1. Generates DIR/network.onnx and DIR/input.json with bench/make_transformers.py if missing
#    (GPT-2 small: 498 MB, seeded weights, a 16-token prompt over the whole vocabulary).
# 2. `omron circuit compile` (timed, peak RSS), `omron prove --output-json` (timed, peak RSS),
#    `omron verify` three times (the verifier's own time, circuit load excluded, from its debug log).
# 3. Compares the proven logits with onnxruntime on the same prompt: the next token (argmax of
#    the last position) must agree, else the script fails; the max |logit error| is printed.
#
# Needs a release build (`cargo build --release -p omron-cli`; OMRON=path overrides) and about
# 8 GB of memory for GPT-2 small. Scratch files (circuit, proof, logs) go to
# target/bench-transformer/MODEL/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="${1:-gpt2-small}"
dir="${2:-$root/target/$model}"
omron="${OMRON:-$root/target/release/omron}"
[ -x "$omron" ] || { echo "no release binary at $omron (cargo build --release -p omron-cli)" >&2; exit 1; }

# shellcheck source=scripts/ort-venv.sh
source "$root/scripts/ort-venv.sh"
py="$OMRON_ORT_PYTHON"

if [ ! -f "$dir/network.onnx" ] || [ ! -f "$dir/input.json" ]; then
    "$py" "$root/bench/make_transformers.py" --model "$model" --out "$dir"
fi
run="$root/target/bench-transformer/$model"
rm -rf "$run"
mkdir -p "$run"

# Wall time and peak RSS of one command, from GNU time.
timed() {
    local what="$1"
    shift
    /usr/bin/time -f "%e %M" -o "$run/$what.time" "$@" > "$run/$what.log" 2>&1 \
        || { cat "$run/$what.log" >&2; echo "$what failed" >&2; exit 1; }
    read -r secs kb < "$run/$what.time"
    printf '%-8s %8.1f s  peak RSS %6.0f MB\n' "$what" "$secs" "$((kb / 1024))"
}

echo "== $model ($dir), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
timed compile "$omron" circuit compile "$dir/network.onnx" --calibration "$dir/input.json" \
    --out "$run/circuit"
timed prove "$omron" prove --circuit "$run/circuit" --input "$dir/input.json" \
    --out "$run/proof.bin" --output-json "$run/output.json"
awk -v p="$(stat -c %s "$run/proof.bin")" -v k="$(stat -c %s "$run/circuit/vk.bin")" \
    'BEGIN { printf "proof    %8.1f KB, verifying key %.1f MB\n", p / 1000, k / 1000000 }'
for rep in 1 2 3; do
    "$omron" verify --logging.debug --circuit "$run/circuit" --input "$dir/input.json" \
        --proof "$run/proof.bin" > "$run/verify$rep.log" 2>&1 \
        || { cat "$run/verify$rep.log" >&2; echo "verify failed" >&2; exit 1; }
    grep -q '^verified' "$run/verify$rep.log" || { cat "$run/verify$rep.log" >&2; exit 1; }
    ms="$(sed -n 's/.*verification time ms=\([0-9.]*\).*/\1/p' "$run/verify$rep.log")"
    printf 'verify   %8.1f ms (rep %d, circuit load excluded)\n' "$ms" "$rep"
done
"$py" "$root/bench/make_transformers.py" --compare-output "$dir" "$run/output.json"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
