#!/usr/bin/env bash
# Protocol tests (Engine.IO v4 / Socket.IO v5): real socket.io clients 4.x and
# 3.x, raw Engine.IO over fetch and ws, and garbage input, against chatd (with
# a real redis-server) and against the conformance server, all on loopback.
# Runs the whole suite twice: WORKERS=1, then WORKERS=4 (a session's requests
# landing on different worker threads).
#   scripts/test-protocol.sh [test/protocol/x.test.mjs …]
#   CHATD_BIN=build-san/chatd CONFORMANCE_BIN=build-san/chatd-conformance scripts/test-protocol.sh
set -euo pipefail

cd "$(dirname "$0")/.."

CHATD_BIN="${CHATD_BIN:-build/chatd}"
CONFORMANCE_BIN="${CONFORMANCE_BIN:-build/chatd-conformance}"
for bin in "$CHATD_BIN" "$CONFORMANCE_BIN"; do
    [ -x "$bin" ] || { echo "test-protocol: $bin is not an executable (make $bin)" >&2; exit 1; }
done
CHATD_BIN="$(realpath "$CHATD_BIN")"
CONFORMANCE_BIN="$(realpath "$CONFORMANCE_BIN")"
export CHATD_BIN CONFORMANCE_BIN
scripts/test-deps.sh test-protocol redis-server

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(test/protocol/*.test.mjs)

status=0
for workers in 1 4; do
    echo "== protocol tests, WORKERS=$workers ($CHATD_BIN, $CONFORMANCE_BIN)"
    start=$SECONDS
    if ! WORKERS=$workers node --test --test-concurrency=2 --test-timeout=120000 "${targets[@]}"; then
        echo "== protocol tests FAILED with WORKERS=$workers" >&2
        status=1
    fi
    echo "== WORKERS=$workers took $((SECONDS - start)) s"
done
exit $status
