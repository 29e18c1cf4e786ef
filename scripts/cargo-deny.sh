#!/usr/bin/env bash
# Supply-chain check: cargo-deny (licences, bans, duplicate versions, sources, advisories) on
# the workspace and on the Python client's workspace, offline, against the dated RustSec
# snapshot in ../shared/data/advisory-db (rustsec/advisory-db at bf5c0d245, 2026-08-20).
# Policy and every exception, with its reason: deny.toml. Installs cargo-deny (pinned) into
# .tools/ when missing; a failed install fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.20.2
snapshot=${OMRON_ADVISORY_DB:-../shared/data/advisory-db}
snapshot_date=2026-08-20
tools=.tools
deny=$tools/bin/cargo-deny

if ! [[ -x $deny ]] || ! "$deny" --version | grep -q " $version"; then
    echo "cargo-deny.sh: installing cargo-deny $version into $tools (cargo install --locked)"
    # A debug build: half the compile time of a release one, and the check still takes seconds.
    cargo install --quiet --locked --debug --root "$tools" cargo-deny --version "$version"
fi
[[ -d $snapshot/crates ]] || {
    echo "cargo-deny.sh: no advisory snapshot at $snapshot (set OMRON_ADVISORY_DB)" >&2
    exit 1
}

# cargo-deny reads its database from a git checkout under db-path (deny.toml), in a folder
# named after the database's URL; offline it only reads what is there. The snapshot is plain
# files, so it becomes a one-commit repository dated as the snapshot.
db=target/advisory-dbs/advisory-db-3157b0e258782691
rm -rf "$db"
mkdir -p "$db"
cp -r "$snapshot"/. "$db"/
(
    cd "$db"
    git init -q
    git add -A
    GIT_AUTHOR_DATE="${snapshot_date}T00:00:00Z" GIT_COMMITTER_DATE="${snapshot_date}T00:00:00Z" \
        git -c user.name=snapshot -c user.email=snapshot@localhost \
        commit -q -m "RustSec advisory-db snapshot ($snapshot_date)"
)

echo "cargo-deny.sh: advisories from the RustSec snapshot of $snapshot_date"
"$deny" deny --offline --locked check --hide-inclusion-graph
"$deny" deny --offline --locked --manifest-path clients/python/Cargo.toml --config deny.toml check --hide-inclusion-graph
