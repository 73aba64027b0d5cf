#!/usr/bin/env bash
# Runs the official Engine.IO and Socket.IO protocol test suites (the public
# repositories socketio/engine.io-protocol and socketio/socket.io-protocol,
# mocha, unmodified) against build/chatd-conformance on 127.0.0.1:3000, the
# address the suites hard-code as http://localhost:3000.
#
# The suites are never committed: clone the two repositories into
#   CONFORMANCE_DIR (default build/protocol-suites, ignored by git), so that
#   it holds engine.io-protocol/test-suite and socket.io-protocol/test-suite.
#   CONFORMANCE_BIN (default build/chatd-conformance) is the server.
# A fresh server is started for each suite and stopped after it; the mocha
# summary is printed, the full output kept in build/conformance/<suite>.log.
# Exits non-zero if a suite fails or the server does not stop cleanly.
set -euo pipefail

cd "$(dirname "$0")/.."

CONFORMANCE_BIN="${CONFORMANCE_BIN:-build/chatd-conformance}"
CONFORMANCE_DIR="${CONFORMANCE_DIR:-build/protocol-suites}"
PORT=3000                     # hard-coded in both suites
START_TIMEOUT_S=10
STOP_TIMEOUT_S=5
LOG_DIR=build/conformance

[ -x "$CONFORMANCE_BIN" ] || { echo "conformance: $CONFORMANCE_BIN is not an executable (make $CONFORMANCE_BIN)" >&2; exit 1; }
CONFORMANCE_BIN="$(realpath "$CONFORMANCE_BIN")"
command -v node >/dev/null || { echo "conformance: node not found (make deps)" >&2; exit 1; }
command -v npm >/dev/null || { echo "conformance: npm not found (make deps)" >&2; exit 1; }
mkdir -p "$LOG_DIR"

# "localhost" in the suites must mean 127.0.0.1, where the server listens.
export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--dns-result-order=ipv4first"

# Exit 0 when something accepts TCP connections on 127.0.0.1:$PORT.
port_open() {
    node -e "const s=require('net').connect($PORT,'127.0.0.1');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),1000)"
}

server_pid=
stop_server() {
    local pid=$server_pid rc=0
    server_pid=
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null; do
        if [ $waited -ge $((STOP_TIMEOUT_S * 10)) ]; then
            echo "conformance: the server did not stop within ${STOP_TIMEOUT_S}s of SIGTERM; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    wait "$pid" || rc=$?
    if [ $rc -ne 0 ]; then
        echo "conformance: the server exited with status $rc after SIGTERM" >&2
        return 1
    fi
}
trap 'stop_server || true' EXIT
trap 'exit 130' INT TERM

start_server() {
    local log=$1
    if port_open; then
        echo "conformance: something already listens on 127.0.0.1:$PORT; stop it first" >&2
        return 1
    fi
    PORT=$PORT BIND=127.0.0.1 "$CONFORMANCE_BIN" >"$log" 2>&1 &
    server_pid=$!
    local tries=0
    until port_open; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "conformance: the server exited during start-up:" >&2
            cat "$log" >&2
            server_pid=
            return 1
        fi
        tries=$((tries + 1))
        if [ $tries -ge $((START_TIMEOUT_S * 10)) ]; then
            echo "conformance: the server did not listen on :$PORT within ${START_TIMEOUT_S}s" >&2
            return 1
        fi
        sleep 0.1
    done
}

status=0
for suite in engine.io-protocol socket.io-protocol; do
    dir="$CONFORMANCE_DIR/$suite/test-suite"
    [ -f "$dir/package.json" ] || { echo "conformance: $dir/package.json not found (set CONFORMANCE_DIR)" >&2; exit 1; }
    echo "== $suite ($dir)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    start_server "$LOG_DIR/$suite.server.log"
    rc=0
    (cd "$dir" && timeout 300 npm test) >"$LOG_DIR/$suite.log" 2>&1 || rc=$?
    stop_server || rc=1
    # mocha's summary: "N passing (…)", "N failing", "N pending", then the failures.
    grep -E '^\s+[0-9]+ (passing|failing|pending)' "$LOG_DIR/$suite.log" || true
    if [ $rc -ne 0 ]; then
        echo "== $suite FAILED (exit $rc); the failures (full output: $LOG_DIR/$suite.log, server: $LOG_DIR/$suite.server.log):" >&2
        sed -n '/^\s*[0-9]* failing/,$p' "$LOG_DIR/$suite.log" | head -n 150 >&2
        status=1
    fi
done
exit $status
