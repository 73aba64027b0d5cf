#!/usr/bin/env bash
# Checks that the tools a Node test suite needs are there, and installs the
# suites' npm packages (test/package-lock.json) when they are missing or
# stale.  Run by scripts/test-{protocol,chat,e2e}.sh:
#   scripts/test-deps.sh NAME TOOL…
set -euo pipefail
name=$1
shift
for tool in "$@" node npm; do
    command -v "$tool" >/dev/null || { echo "$name: $tool not found (make deps)" >&2; exit 1; }
done
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# npm writes its own copy of the lock into node_modules on every install:
# when that is missing or older than the lock, the installed tree is stale.
if [ ! -f test/node_modules/.package-lock.json ] ||
    [ test/package-lock.json -nt test/node_modules/.package-lock.json ]; then
    echo "== npm ci in test/"
    (cd test && npm ci --no-audit --no-fund --loglevel=error)
fi
