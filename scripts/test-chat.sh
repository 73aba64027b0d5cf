#!/usr/bin/env bash
# Real-time chat tests (issue 4): chat events, presence, show.room, typing,
# rate and size limits, a fleet of chatd processes on one Redis, restarts and
# slow consumers — real socket.io clients 4.x and 3.x against the real chatd
# and a real redis-server, all on loopback. The whole suite runs once per
# value of TEST_WORKERS (default "1 4": WORKERS=1, then WORKERS=4, a user's
# sockets on different worker threads). Against a ThreadSanitizer build any
# report from any chatd fails the pass (scripts/tsan-env.sh).
#   scripts/test-chat.sh [test/chat/x.test.mjs …]
#   CHATD_BIN=build-san/chatd scripts/test-chat.sh
#   CHATD_BIN=build-tsan/chatd TEST_WORKERS=4 scripts/test-chat.sh
set -euo pipefail

# Test files given as arguments are relative to the caller's directory.
targets=()
for t in "$@"; do targets+=("$(realpath "$t")"); done
CHATD_BIN="$(realpath -m "${CHATD_BIN:-build/chatd}")"
cd "$(dirname "$0")/.."

[ -x "$CHATD_BIN" ] || { echo "test-chat: $CHATD_BIN is not an executable (make build/chatd)" >&2; exit 1; }
export CHATD_BIN
scripts/test-deps.sh test-chat redis-server redis-cli

[ ${#targets[@]} -gt 0 ] || targets=(test/chat/)

read -r -a passes <<<"${TEST_WORKERS:-1 4}"
for workers in "${passes[@]}"; do
    [[ $workers =~ ^[1-9][0-9]*$ ]] || { echo "test-chat: TEST_WORKERS=\"$TEST_WORKERS\": not a list of worker counts" >&2; exit 2; }
done
. scripts/tsan-env.sh
tsan_prepare "$CHATD_BIN"

status=0
for workers in "${passes[@]}"; do
    echo "== chat tests, WORKERS=$workers ($CHATD_BIN)"
    start=$SECONDS
    tsan_begin "chat-w$workers"
    if ! WORKERS=$workers "${TSAN_RUN[@]}" node scripts/node-test.mjs --concurrency=4 --timeout=150000 "${targets[@]}"; then
        echo "== chat tests FAILED with WORKERS=$workers" >&2
        status=1
    fi
    if ! tsan_end; then
        echo "== chat tests FAILED with WORKERS=$workers: ThreadSanitizer reports" >&2
        status=1
    fi
    echo "== WORKERS=$workers took $((SECONDS - start)) s"
done
exit $status
