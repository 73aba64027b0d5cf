#!/usr/bin/env bash
# chatd's benchmarks: HTTP throughput and latency, Socket.IO connection
# capacity, broadcast fan-out and message round trip, over loopback against a
# redis-server and a chatd that this script starts (and stops) itself.
# Optionally the same scenarios against the original Node.js demo.
#
#   CHATD_BIN=build/chatd scripts/bench.sh
#
# Settings (environment; defaults finish in about three minutes on 2 cores):
#   BENCH_SCENARIOS        "http capacity fanout rtt"  which to run
#   BENCH_SECONDS          10      length of each HTTP run and sending window
#   BENCH_HTTP_CONNS       64      HTTP keep-alive connections (login uses 4)
#   BENCH_CLIENTS          "2000 10000"  idle WebSocket clients, one capacity
#                                  run each
#   BENCH_PROCS            4       load processes the clients are spread over
#                                  (more when over 5,000 clients each)
#   BENCH_USERS            100     distinct bench users the clients log in as
#   BENCH_DISTINCT_CLIENTS 2000    one more capacity run, one user per client:
#                                  every connection is a presence broadcast
#   BENCH_HOLD             5       seconds the capacity run holds them idle
#   BENCH_FANOUT_CLIENTS   1000    clients in General during the fan-out runs
#   BENCH_SENDERS          10      clients sending in the fan-out runs
#   BENCH_RATES            "10 100 1000"  messages per second, one run each
#   BENCH_RTT_CLIENTS      10      clients in the round-trip run
#   BENCH_RTT_RATE         20      messages per second in the round-trip run
#   WORKERS                nproc   chatd's worker threads
#   BENCH_ORIGINAL_DIR     unset   a directory holding the original Node.js
#                                  demo with its node_modules installed (see
#                                  docs/benchmarks.md): benchmark it too
#   BENCH_ORIGINAL_CLIENTS 2000    clients in its capacity run (see the doc)
#   BENCH_ORIGINAL_RATES   "10 100 200"  its fan-out rates (it saturates sooner)
#
# Output: the tables on stdout, also in build/bench/results.txt; server logs
# in build/bench/logs/. Nothing else is written. Every run is bounded in time
# and count (chatload's own deadlines) and everything started here is stopped
# on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CHATD_BIN="${CHATD_BIN:-$ROOT/build/chatd}"
[ -x "$CHATD_BIN" ] || { echo "bench: $CHATD_BIN is not an executable (make build/chatd)" >&2; exit 1; }
CHATD_BIN="$(realpath "$CHATD_BIN")"

SCENARIOS="${BENCH_SCENARIOS:-http capacity fanout rtt}"
SECONDS_EACH="${BENCH_SECONDS:-10}"
HTTP_CONNS="${BENCH_HTTP_CONNS:-64}"
CLIENTS="${BENCH_CLIENTS:-2000 10000}"
PROCS="${BENCH_PROCS:-4}"
USERS="${BENCH_USERS:-100}"
DISTINCT_CLIENTS="${BENCH_DISTINCT_CLIENTS:-2000}"
HOLD="${BENCH_HOLD:-5}"
FANOUT_CLIENTS="${BENCH_FANOUT_CLIENTS:-1000}"
SENDERS="${BENCH_SENDERS:-10}"
RATES="${BENCH_RATES:-10 100 1000}"
RTT_CLIENTS="${BENCH_RTT_CLIENTS:-10}"
RTT_RATE="${BENCH_RTT_RATE:-20}"
WORKERS="${WORKERS:-$(nproc)}"
ORIGINAL_DIR="${BENCH_ORIGINAL_DIR:-}"
ORIGINAL_CLIENTS="${BENCH_ORIGINAL_CLIENTS:-2000}"
ORIGINAL_RATES="${BENCH_ORIGINAL_RATES:-10 100 200}"

FIRST_ID=1001 # bench users' ids: far above the four demo users
SETUP_USERS=$((USERS > DISTINCT_CLIENTS ? USERS : DISTINCT_CLIENTS))
OUT="$ROOT/build/bench"
LOGS="$OUT/logs"
LOAD="$OUT/chatload"
RESULTS="$OUT/results.txt"
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log

for tool in redis-server redis-cli curl cc pkg-config; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found (make deps)" >&2; exit 1; }
done

# ---- processes we start, and only those, are stopped on exit ------------------

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_all() {
    cleanup
    SERVER_PID=0
    REDIS_PID=0
}

# ---- the load generator --------------------------------------------------------

build_chatload() {
    make -C "$ROOT" --no-print-directory -s build/libchat.a
    local pkgs=(libmicrohttpd hiredis libcjson libsodium nettle libxcrypt)
    # shellcheck disable=SC2046 # pkg-config's flags are meant to split
    cc -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -O2 -g -D_GNU_SOURCE \
        -I"$ROOT/lib" -I"$ROOT/test/bench" $(pkg-config --cflags "${pkgs[@]}") \
        -o "$LOAD" "$ROOT"/test/bench/*.c "$ROOT/build/libchat.a" \
        $(pkg-config --libs "${pkgs[@]}") -lwslay -lpthread
}

# ---- servers -------------------------------------------------------------------

# A port nobody listens on (a refused connect), from a range clear of the
# ephemeral ports the clients use.
free_port() {
    local p _
    for _ in $(seq 1 100); do
        p=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    echo "bench: no free port found" >&2
    return 1
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
    local what="$1" secs="$2" i
    shift 2
    for i in $(seq 1 $((secs * 10))); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "bench: $what did not come up in ${secs}s" >&2
    return 1
}

start_redis() {
    REDIS_PORT=$(free_port)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
        --maxclients 1000 >"$LOGS/redis-$1.log" 2>&1 &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    wait_for "redis-server" 10 redis-cli -p "$REDIS_PORT" ping
}

# Bench users and their sessions, written straight into Redis (creds.h says why).
setup_users() {
    local kind="$1" count="$2"
    "$LOAD" setup --kind "$kind" --first-id "$FIRST_ID" --users "$count" |
        redis-cli -p "$REDIS_PORT" --pipe >"$LOGS/setup-$kind.log"
}

web_root() {
    if [ -f "$ROOT/web/dist/index.html" ]; then
        echo "$ROOT/web/dist"
    else # the web app is not built: any small index.html will do
        mkdir -p "$OUT/www"
        printf '<!doctype html><title>chat</title><div id="root"></div>\n' >"$OUT/www/index.html"
        echo "$OUT/www"
    fi
}

start_chatd() {
    local tag="$1" max_conn="$2"
    start_redis "chatd-$tag"
    PORT=$(free_port)
    PORT="$PORT" BIND=127.0.0.1 REDIS_URL="redis://127.0.0.1:$REDIS_PORT" WORKERS="$WORKERS" \
        SEED_DEMO=1 LOG_LEVEL=warn MESSAGES_PER_MINUTE=100000 MAX_CONNECTIONS="$max_conn" MAX_CONNECTIONS_PER_ADDR="$max_conn" \
        LOGINS_PER_MINUTE=1000000 \
        WEB_ROOT="$(web_root)" "$CHATD_BIN" >"$LOGS/chatd-$tag.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_for "chatd" 20 curl -sf "http://127.0.0.1:$PORT/healthz"
    # The demo users exist once /healthz answers; seeding runs before listening.
    wait_for "demo data" 20 sh -c "[ \"\$(redis-cli -p $REDIS_PORT exists user:4)\" = 1 ]"
    setup_users chatd "$SETUP_USERS"
    KIND=chatd
}

start_original() {
    local tag="$1"
    start_redis "node-$tag"
    PORT=$(free_port)
    (cd "$ORIGINAL_DIR" && PORT="$PORT" REDIS_ENDPOINT_URL="127.0.0.1:$REDIS_PORT" \
        exec node server/index.js) >"$LOGS/node-$tag.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_for "the original demo" 30 curl -sf "http://127.0.0.1:$PORT/randomname"
    wait_for "demo data" 20 sh -c "[ \"\$(redis-cli -p $REDIS_PORT exists user:4)\" = 1 ]"
    setup_users node "$SETUP_USERS"
    KIND=node
}

# ---- reporting -----------------------------------------------------------------

say() {
    printf '%s\n' "$*" | tee -a "$RESULTS"
}

run() {
    "$LOAD" "$@" | tee -a "$RESULTS"
}

# Percent of the machine's CPU time not idle over one second: other work on
# the machine skews every figure, so it is printed with them.
machine_busy() {
    local a b
    read -r -a a < <(head -1 /proc/stat)
    sleep 1
    read -r -a b < <(head -1 /proc/stat)
    local total=0 i
    for i in 1 2 3 4 5 6 7 8; do
        total=$((total + b[i] - a[i]))
    done
    local idle=$((b[4] - a[4] + b[5] - a[5]))
    echo $(((total - idle) * 100 / (total > 0 ? total : 1)))
}

header() {
    : >"$RESULTS"
    say "# chatd benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
    say "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ {print $2}') GiB, Linux $(uname -r)"
    say "chatd:   $("$CHATD_BIN" --version 2>&1 | head -1), WORKERS=$WORKERS"
    say "redis:   $(redis-server --version | awk '{print $3}' | cut -d= -f2)"
    [ -z "$ORIGINAL_DIR" ] || say "node:    $(node --version)  (original demo in $ORIGINAL_DIR)"
    say "busy before start: $(machine_busy)% of the CPUs (other processes; should be near 0)"
}

section() {
    say ""
    say "## $1"
    "$LOAD" header "$2" | tee -a "$RESULTS"
}

# ---- scenarios -----------------------------------------------------------------

http_scenarios() {
    local who="$1" cookie
    cookie=$("$LOAD" cookie --kind "$KIND" --id "$FIRST_ID")
    local common=(--port "$PORT" --seconds "$SECONDS_EACH" --server-pid "$SERVER_PID"
        --redis-pid "$REDIS_PID")
    if [ "$KIND" = chatd ]; then
        run http "${common[@]}" --label "$who GET /healthz" --path /healthz --conns "$HTTP_CONNS"
    fi
    run http "${common[@]}" --label "$who GET /me" --path /me --cookie "$cookie" \
        --conns "$HTTP_CONNS"
    run http "${common[@]}" --label "$who GET /room/0/messages" \
        --path '/room/0/messages?offset=0&size=15' --cookie "$cookie" --conns "$HTTP_CONNS"
    run http "${common[@]}" --label "$who GET /index.html" --path /index.html \
        --conns "$HTTP_CONNS"
    # One connection per demo user: a user has one login in flight at a time,
    # well under the failed-login limits, and 4 keep the hash pool busy.
    local bodies=() u
    for u in Pablo Joe Mary Alex; do
        bodies+=(--body "{\"username\":\"$u\",\"password\":\"password123\"}")
    done
    run http "${common[@]}" --label "$who POST /login" --method POST --path /login \
        "${bodies[@]}" --conns 4
}

sio() {
    run sio --port "$PORT" --kind "$KIND" --users "$USERS" --first-id "$FIRST_ID" \
        --server-pid "$SERVER_PID" --redis-pid "$REDIS_PID" "$@"
}

procs_for() { # enough load processes for $1 clients, at most 5,000 each
    local n=$((($1 + 4999) / 5000))
    [ "$n" -ge "$PROCS" ] && echo "$n" || echo "$PROCS"
}

capacity_scenario() { # capacity_scenario WHO CLIENTS USERS
    local who="$1" n="$2" users="$3"
    sio --label "$who $n clients, $users users" --report capacity --clients "$n" \
        --users "$users" --procs "$(procs_for "$n")" --hold "$HOLD" --seconds 0.1 --drain 0
}

fanout_scenarios() {
    local who="$1" rate rates="$RATES" ack=()
    [ "$KIND" = chatd ] && ack=(--ack)
    [ "$KIND" = node ] && rates="$ORIGINAL_RATES"
    for rate in $rates; do
        sio --label "$who $rate msg/s" --report fanout --clients "$FANOUT_CLIENTS" \
            --procs "$(procs_for "$FANOUT_CLIENTS")" --senders "$SENDERS" --rate "$rate" \
            --seconds "$SECONDS_EACH" --hold 1 --drain 2 "${ack[@]}"
    done
}

rtt_scenario() {
    local who="$1" ack=()
    [ "$KIND" = chatd ] && ack=(--ack)
    sio --label "$who $RTT_CLIENTS clients" --report rtt --clients "$RTT_CLIENTS" --procs 1 \
        --senders 1 --rate "$RTT_RATE" --seconds "$SECONDS_EACH" --hold 1 --drain 1 "${ack[@]}"
}

# ---- main ----------------------------------------------------------------------

build_chatload
header

targets=(chatd)
if [ -n "$ORIGINAL_DIR" ]; then
    if [ ! -f "$ORIGINAL_DIR/server/index.js" ] || [ ! -d "$ORIGINAL_DIR/node_modules" ]; then
        echo "bench: $ORIGINAL_DIR has no server/index.js and node_modules" >&2
        exit 1
    fi
    command -v node >/dev/null || { echo "bench: node not found" >&2; exit 1; }
    targets+=(node)
fi

start_target() { # start_target chatd|node TAG MAX_CONNECTIONS
    if [ "$1" = chatd ]; then start_chatd "$2" "$3"; else start_original "$2"; fi
}

for scenario in $SCENARIOS; do
    case "$scenario" in
    http)
        section "HTTP: $SECONDS_EACH s per row, closed loop, keep-alive" http
        for t in "${targets[@]}"; do
            start_target "$t" http 1000
            http_scenarios "$t"
            stop_all
        done
        ;;
    capacity)
        section "Socket.IO capacity: idle WebSocket clients, held ${HOLD}s" capacity
        for n in $CLIENTS; do
            start_target chatd capacity $((n + 1000))
            capacity_scenario chatd "$n" "$USERS"
            stop_all
        done
        start_target chatd capacity $((DISTINCT_CLIENTS + 1000))
        capacity_scenario chatd "$DISTINCT_CLIENTS" "$DISTINCT_CLIENTS"
        stop_all
        if [ -n "$ORIGINAL_DIR" ]; then
            start_target node capacity 0
            capacity_scenario node "$ORIGINAL_CLIENTS" "$USERS"
            stop_all
        fi
        ;;
    fanout)
        section "Socket.IO fan-out: $FANOUT_CLIENTS clients in General, $SENDERS senders, ${SECONDS_EACH}s each" fanout
        for t in "${targets[@]}"; do
            start_target "$t" fanout $((FANOUT_CLIENTS + 1000))
            fanout_scenarios "$t"
            stop_all
        done
        ;;
    rtt)
        section "Socket.IO round trip at $RTT_RATE msg/s (ack: chatd only; echo: the sender's own copy)" rtt
        for t in "${targets[@]}"; do
            start_target "$t" rtt 1000
            rtt_scenario "$t"
            stop_all
        done
        ;;
    *)
        echo "bench: unknown scenario '$scenario'" >&2
        exit 2
        ;;
    esac
done
say ""
say "busy after the runs: $(machine_busy)% of the CPUs"
say "(results also in ${RESULTS#"$ROOT"/})"
