#!/usr/bin/env bash
# Protocol tests (Engine.IO v4 / Socket.IO v5): real socket.io clients 4.x and
# 3.x, raw Engine.IO over fetch and ws, and garbage input, against chatd (with
# a real redis-server) and against the conformance server, all on loopback.
# Runs the whole suite once per value of TEST_WORKERS (default "1 4":
# WORKERS=1, then WORKERS=4, a session's requests landing on different worker
# threads). Against a ThreadSanitizer build any report from any server fails
# the pass (scripts/tsan-env.sh).
#   scripts/test-protocol.sh [test/protocol/x.test.mjs …]
#   CHATD_BIN=build-san/chatd CONFORMANCE_BIN=build-san/chatd-conformance scripts/test-protocol.sh
#   CHATD_BIN=build-tsan/chatd CONFORMANCE_BIN=build-tsan/chatd-conformance TEST_WORKERS=4 scripts/test-protocol.sh
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

read -r -a passes <<<"${TEST_WORKERS:-1 4}"
for workers in "${passes[@]}"; do
    [[ $workers =~ ^[1-9][0-9]*$ ]] || { echo "test-protocol: TEST_WORKERS=\"$TEST_WORKERS\": not a list of worker counts" >&2; exit 2; }
done
. scripts/tsan-env.sh
tsan_prepare "$CHATD_BIN" "$CONFORMANCE_BIN"

status=0
for workers in "${passes[@]}"; do
    echo "== protocol tests, WORKERS=$workers ($CHATD_BIN, $CONFORMANCE_BIN)"
    start=$SECONDS
    tsan_begin "protocol-w$workers"
    if ! WORKERS=$workers "${TSAN_RUN[@]}" node scripts/node-test.mjs --concurrency=2 --timeout=120000 "${targets[@]}"; then
        echo "== protocol tests FAILED with WORKERS=$workers" >&2
        status=1
    fi
    if ! tsan_end; then
        echo "== protocol tests FAILED with WORKERS=$workers: ThreadSanitizer reports" >&2
        status=1
    fi
    echo "== WORKERS=$workers took $((SECONDS - start)) s"
done
exit $status
