#!/usr/bin/env bash
# The bounded fuzzing pass of CI (docs/fuzzing.md): builds every target of fuzz/ with
# cargo-fuzz on the nightly toolchain, replays the checked-in corpus of each (-runs=0) and
# fuzzes each for FUZZ_SECONDS (default 15) from that corpus. Exits non-zero on any crash,
# leak of an invariant, timeout or out-of-memory; the input that did it is left in
# fuzz/artifacts/<target>/ and named in the output.
#
#   scripts/fuzz.sh                  # all targets
#   scripts/fuzz.sh proof onnx       # some
#   FUZZ_SECONDS=600 scripts/fuzz.sh # longer runs, as when developing
#   FUZZ_NIGHTLY=0 scripts/fuzz.sh   # the pinned stable toolchain, as on CI machines
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-15}
# Sanitizer none: our code is safe Rust, and ASan would halve the speed of a short pass on
# two cores. Panics and failed invariants abort the process, which is what we look for.
flags=(--sanitizer none)
# libFuzzer options for every run: one input may take at most 30 s, the process 3 GiB (the
# wallet target derives one argon2 key at 512 MiB), and the fuzzer reads the corpus inputs
# whole (the largest seeds are verifying keys of ~200 KB).
libfuzzer=(-timeout=30 -rss_limit_mb=3072 -max_len=262144 -print_final_stats=1)

# The toolchain: nightly where it is installed (as on developers' machines). CI machines have
# only the pinned stable toolchain and cannot fetch another; cargo-fuzz's instrumentation
# (-Cpasses=sancov-module, -Cllvm-args=..., --cfg fuzzing) is made of stable flags when no
# sanitizer is asked for, and RUSTC_BOOTSTRAP=1 lets the stable compiler accept whatever
# unstable switch libfuzzer-sys or cargo-fuzz may still pass. It is set for these builds only.
# FUZZ_NIGHTLY=0 takes the stable path even where nightly exists (as CI does).
if [ "${FUZZ_NIGHTLY:-1}" = 1 ] && cargo +nightly --version >/dev/null 2>&1; then
    toolchain=(+nightly)
else
    toolchain=()
    export RUSTC_BOOTSTRAP=1
    echo "fuzz: no nightly toolchain; building with $(cargo --version) and RUSTC_BOOTSTRAP=1" >&2
fi
# cargo-fuzz, pinned, into .tools/ as scripts/cargo-deny.sh does (a debug build: it only drives
# cargo). One already on PATH at the same version is used as is.
fuzz_version=0.13.2
tools=.tools
if cargo "${toolchain[@]}" fuzz --version 2>/dev/null | grep -q " $fuzz_version"; then
    fuzz=(cargo "${toolchain[@]}" fuzz)
else
    if ! [[ -x $tools/bin/cargo-fuzz ]] || ! "$tools/bin/cargo-fuzz" --version | grep -q " $fuzz_version"; then
        echo "fuzz: installing cargo-fuzz $fuzz_version into $tools (cargo install --locked)" >&2
        cargo install --quiet --locked --debug --root "$tools" cargo-fuzz --version "$fuzz_version"
    fi
    export PATH="$PWD/$tools/bin:$PATH"
    fuzz=(cargo "${toolchain[@]}" fuzz)
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <("${fuzz[@]}" list)
fi

start=$(date +%s)
"${fuzz[@]}" build "${flags[@]}"
echo "fuzz: built ${#targets[@]} targets in $(( $(date +%s) - start )) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
    corpus=fuzz/corpus/$t
    if [ ! -d "$corpus" ]; then
        echo "error: no corpus for target $t ($corpus)" >&2
        exit 1
    fi
    echo "== $t: replaying $(find "$corpus" -type f | wc -l) corpus inputs"
    "${fuzz[@]}" run "${flags[@]}" "$t" "$corpus" -- "${libfuzzer[@]}" -runs=0
    echo "== $t: fuzzing for ${seconds} s"
    # New inputs go to a scratch folder (the first one), so CI never grows the checked-in
    # corpus; the checked-in one is read as the starting point.
    mkdir -p "$scratch/$t"
    "${fuzz[@]}" run "${flags[@]}" "$t" "$scratch/$t" "$corpus" -- \
        "${libfuzzer[@]}" -max_total_time="$seconds"
done
echo "fuzz: ${#targets[@]} targets, no crash, $(( $(date +%s) - start )) s in all"
