#!/usr/bin/env bash
# Fleet tests (issue 10): chatd as operators run it in production — several
# instances behind the real nginx with the shipped site, rolling restarts,
# Redis failover with redis-sentinel, systemd's notify protocol, and
# `make install`.  Everything is Debian's (scripts/deps.sh test installs it)
# and starts on loopback ports; each test file stops all it started.
#   CHATD_BIN=build/chatd scripts/test-fleet.sh [test/fleet/x.test.mjs …]
set -euo pipefail

targets=()
for t in "$@"; do targets+=("$(realpath "$t")"); done
CHATD_BIN="$(realpath -m "${CHATD_BIN:-build/chatd}")"
cd "$(dirname "$0")/.."

[ -x "$CHATD_BIN" ] || { echo "test-fleet: $CHATD_BIN is not an executable (make build/chatd)" >&2; exit 1; }
export CHATD_BIN
scripts/test-deps.sh test-fleet redis-server redis-cli

[ ${#targets[@]} -gt 0 ] || targets=(test/fleet/)

echo "== fleet tests ($CHATD_BIN)"
start=$SECONDS
status=0
# One file at a time: each runs several chatd, Redis and nginx processes.
if ! WORKERS=${WORKERS:-2} node scripts/node-test.mjs --concurrency=1 --timeout=300000 "${targets[@]}"; then
    echo "== fleet tests FAILED" >&2
    status=1
fi
echo "== fleet tests took $((SECONDS - start)) s"
exit $status
