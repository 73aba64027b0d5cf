#!/usr/bin/env bash
# API tests: a real redis-server and the real chatd over loopback, run with
# node's built-in test runner, once with one worker and once with four (bugs
# that only show when requests land on different workers).
#   CHATD_BIN=build/chatd scripts/test-api.sh [test/api/x.test.mjs …]
set -euo pipefail

: "${CHATD_BIN:?set CHATD_BIN to the chatd binary, e.g. CHATD_BIN=build/chatd}"
[ -x "$CHATD_BIN" ] || { echo "test-api: $CHATD_BIN is not an executable" >&2; exit 1; }
CHATD_BIN="$(realpath "$CHATD_BIN")"
export CHATD_BIN
command -v redis-server >/dev/null || { echo "test-api: redis-server not found (make deps)" >&2; exit 1; }
command -v node >/dev/null || { echo "test-api: node not found (make deps)" >&2; exit 1; }
# apidoc.test.mjs drives a socket.io-client 4 (test/package.json).
"$(dirname "$0")/test-deps.sh" test-api redis-server

# Test files given as arguments are relative to the caller's directory.
targets=()
for t in "$@"; do targets+=("$(realpath "$t")"); done
cd "$(dirname "$0")/.."
[ ${#targets[@]} -gt 0 ] || targets=(test/api/)

status=0
for workers in 1 4; do
    echo "== API tests, WORKERS=$workers ($CHATD_BIN)"
    if ! WORKERS=$workers node scripts/node-test.mjs --concurrency=2 --timeout=120000 "${targets[@]}"; then
        echo "== API tests FAILED with WORKERS=$workers" >&2
        status=1
    fi
done
exit $status
