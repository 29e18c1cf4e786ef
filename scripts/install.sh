#!/usr/bin/env bash
# Builds `omron` from this clone and installs it, on Debian/Ubuntu or macOS (docs/install.md).
#
#   ./scripts/install.sh                      # asks before changing anything
#   ./scripts/install.sh --yes                # no questions (CI, provisioning)
#   ./scripts/install.sh --prefix /usr/local  # default: ~/.local, or /usr/local as root
#   ./scripts/install.sh --dry-run            # only say what it would do
#
# What it may do, each step only when needed, and said before it is done:
#   1. system packages: a C compiler and libc headers (the build compiles the bundled SQLite and
#      ring's assembly), curl and CA certificates (to fetch rustup): apt-get on Debian/Ubuntu,
#      the Xcode command line tools on macOS;
#   2. Rust: rustup with no default toolchain; cargo then installs the version pinned in
#      rust-toolchain.toml on the first build;
#   3. `cargo build --release --locked -p omron-cli`;
#   4. PREFIX/bin/omron and the circuits in PREFIX/share/omron/circuits (replacing an older copy).
# Running it again rebuilds what changed and installs over the previous copy.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
prefix=""
assume_yes=0
dry_run=0
system_packages=1

usage() {
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    cat <<USAGE

Options:
  --prefix DIR            install into DIR/bin and DIR/share/omron
  -y, --yes               do not ask (non-interactive)
  --no-system-packages    never install system packages (fail if something is missing)
  --dry-run               print the plan and stop
  -h, --help              this text
USAGE
}

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a folder" >&2; exit 2; }
                  prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        -y|--yes|--non-interactive) assume_yes=1; shift ;;
        --no-system-packages) system_packages=0; shift ;;
        --dry-run) dry_run=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

if [ -z "$prefix" ]; then
    if [ "$(id -u)" = 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
fi
case "$prefix" in
    /*) ;;
    *) prefix="$(pwd)/$prefix" ;;
esac

if [ ! -f "$root/Cargo.toml" ] || [ ! -d "$root/circuits" ]; then
    die "run me from a clone of the repository (no Cargo.toml and circuits/ in $root)"
fi

os="$(uname -s)"
case "$os" in
    Linux|Darwin) ;;
    *) die "unsupported system $os (Debian/Ubuntu and macOS are supported)" ;;
esac

# Root for apt-get: ourselves, or sudo.
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root for: $* (run as root or install sudo)"
    fi
}

# --- what is missing -------------------------------------------------------------------------

plan=()
apt_packages=()
need_xcode=0
if [ "$os" = Linux ]; then
    command -v cc >/dev/null 2>&1 || apt_packages+=(build-essential)
    # The C compiler alone is not enough without the libc headers (stdio.h for SQLite).
    if command -v cc >/dev/null 2>&1 \
        && ! printf '#include <stdio.h>\nint main(void){return 0;}\n' \
            | cc -x c -o /dev/null - >/dev/null 2>&1; then
        apt_packages+=(build-essential)
    fi
    command -v curl >/dev/null 2>&1 || apt_packages+=(curl)
    [ -e /etc/ssl/certs/ca-certificates.crt ] || apt_packages+=(ca-certificates)
    if [ ${#apt_packages[@]} -gt 0 ]; then
        # Duplicates removed, order kept.
        mapfile -t apt_packages < <(printf '%s\n' "${apt_packages[@]}" | awk '!seen[$0]++')
        command -v apt-get >/dev/null 2>&1 \
            || die "missing ${apt_packages[*]} and no apt-get here: install a C compiler, libc headers, curl and CA certificates yourself, then run me again"
        plan+=("install system packages with apt-get: ${apt_packages[*]}")
    fi
else
    if ! xcode-select -p >/dev/null 2>&1; then
        need_xcode=1
        plan+=("install the Xcode command line tools (C compiler): xcode-select --install")
    fi
fi

cargo_bin=""
if command -v cargo >/dev/null 2>&1; then
    cargo_bin="$(command -v cargo)"
elif [ -x "$HOME/.cargo/bin/cargo" ]; then
    cargo_bin="$HOME/.cargo/bin/cargo"
fi
if [ -z "$cargo_bin" ]; then
    plan+=("install Rust with rustup (https://sh.rustup.rs, into ~/.cargo and ~/.rustup; the toolchain of rust-toolchain.toml is fetched by the first build)")
fi
plan+=("build: cargo build --release --locked -p omron-cli (in $root; minutes)")
plan+=("install $prefix/bin/omron and $prefix/share/omron/circuits")

say "this will:"
for step in "${plan[@]}"; do printf '  - %s\n' "$step"; done
[ "$dry_run" = 1 ] && exit 0

if [ "$assume_yes" = 0 ]; then
    [ -t 0 ] || die "not a terminal and no --yes: refusing to ask (pass --yes to go ahead)"
    read -r -p "install.sh: go ahead? [y/N] " answer
    case "$answer" in y|Y|yes|YES) ;; *) say "nothing done"; exit 1 ;; esac
fi

# --- system packages ------------------------------------------------------------------------

if [ ${#apt_packages[@]} -gt 0 ]; then
    [ "$system_packages" = 1 ] || die "missing ${apt_packages[*]} and --no-system-packages given"
    say "apt-get update && apt-get install -y ${apt_packages[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "${apt_packages[@]}"
fi
if [ "$need_xcode" = 1 ]; then
    [ "$system_packages" = 1 ] || die "the Xcode command line tools are missing and --no-system-packages given"
    say "xcode-select --install (a dialog opens; run me again when it has finished)"
    xcode-select --install || true
    exit 1
fi

# --- Rust -----------------------------------------------------------------------------------

if [ -z "$cargo_bin" ]; then
    say "installing rustup (no default toolchain; rust-toolchain.toml picks the version)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
        | sh -s -- -y --no-modify-path --profile minimal --default-toolchain none
    cargo_bin="$HOME/.cargo/bin/cargo"
fi
# A cargo without rustup cannot honour rust-toolchain.toml: it must be new enough itself.
want="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$root/rust-toolchain.toml")"
have="$(cd "$root" && "$cargo_bin" --version | awk '{print $2}')" \
    || die "cargo does not run (is the toolchain of rust-toolchain.toml, $want, installable?)"
if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" != "$want" ]; then
    die "cargo $have is older than $want (rust-toolchain.toml); install rustup or Rust $want"
fi

# --- build and install ------------------------------------------------------------------------

say "building omron (cargo $have)"
(cd "$root" && "$cargo_bin" build --release --locked -p omron-cli)
target_dir="${CARGO_TARGET_DIR:-$root/target}"
binary="$target_dir/release/omron"
[ -x "$binary" ] || die "the build left no $binary"

say "installing $prefix/bin/omron"
mkdir -p "$prefix/bin" "$prefix/share/omron"
# Through a temporary name and a rename, so a running omron is never half-overwritten.
install -m 0755 "$binary" "$prefix/bin/.omron.new"
mv -f "$prefix/bin/.omron.new" "$prefix/bin/omron"

circuits="$prefix/share/omron/circuits"
say "installing $circuits"
rm -rf "$circuits.new"
cp -R "$root/circuits" "$circuits.new"
rm -rf "$circuits"
mv "$circuits.new" "$circuits"

version="$("$prefix/bin/omron" --version)" || die "$prefix/bin/omron does not run"
say "installed $version"
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) say "note: $prefix/bin is not on your PATH; add it, e.g. export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
say "the nodes find circuits in ./circuits or with --circuits $circuits"
