#!/usr/bin/env bash
# chatd's benchmarks: HTTP throughput and latency, Socket.IO connection
# capacity, broadcast fan-out and message round trip, over loopback against a
# redis-server and the servers this script starts (and stops) itself: chatd,
# the Node.js Socket.IO 4 peer (test/bench/peer/) and, when installed, the
# original Node.js demo. Ends with one side-by-side table and a latency plot.
#
#   CHATD_BIN=build/chatd scripts/bench.sh
#
# Settings (environment; the defaults take about 10 minutes on 2 cores):
#   BENCH_SCENARIOS        "http capacity fanout rtt logins heavy fleet"
#                                  which to run
#   BENCH_SERVERS          "chatd peer"  which servers (the original joins
#                                  them when BENCH_ORIGINAL_DIR is set)
#   BENCH_SECONDS          10      length of each HTTP run and sending window
#   BENCH_HTTP_CONNS       64      HTTP keep-alive connections (login uses 4)
#   BENCH_CLIENTS          "2000 18000"  idle WebSocket clients, one capacity
#                                  run each
#   BENCH_PROCS            4       load processes the clients are spread over
#                                  (more when over 5,000 clients each)
#   BENCH_USERS            100     distinct bench users the clients log in as
#   BENCH_DISTINCT_CLIENTS 2000    one more capacity run (chatd), one user per
#                                  client: every connection is a presence
#                                  broadcast
#   BENCH_HOLD             5       seconds the capacity run holds them idle
#   BENCH_FANOUT_CLIENTS   1000    clients in General during the fan-out runs
#   BENCH_SENDERS          10      clients sending in the fan-out runs
#   BENCH_RATES            "10 50 100 200 500 1000 1500 2000 3000"
#                                  messages per second, all senders together,
#                                  one run each, in this order; a server's
#                                  sweep stops after its first saturated run
#   BENCH_SATURATED_MS     1000    a run is saturated when its p99 passes this,
#                                  or it lost deliveries or clients
#   BENCH_STEADY_RATE      50      the fan-out rate the summary calls steady
#                                  (50 msg/s to 1,000 clients: 50,000/s)
#   BENCH_RTT_CLIENTS      10      clients in the round-trip run
#   BENCH_LOGINS_RATE      100     logins: the fan-out rate (msg/s to
#                                  BENCH_FANOUT_CLIENTS) run alone, then
#                                  beside POST /login flat out
#   BENCH_RTT_RATE         20      messages per second in the round-trip run
#   BENCH_HEAVY_GROUPS     20000   heavy: groups of the user who connects and
#                                  disconnects (at most 40 times) while a
#                                  bystander sends 200 messages, one per 20 ms
#   WORKERS                nproc   chatd's worker threads, the peer's processes
#   BENCH_ORIGINAL_DIR     unset   a directory holding the original Node.js
#                                  demo with its node_modules installed (see
#                                  docs/benchmarks.md): benchmark it too
#   BENCH_ORIGINAL_CLIENTS 2000    clients in its capacity run (see the doc)
#   BENCH_PLOT_OUT         unset   also copy the plot there (e.g.
#                                  docs/bench-latency.svg)
#
# Output: the tables on stdout, also in build/bench/results.txt; the summary
# in build/bench/summary.md, the plot in build/bench/bench-latency.svg, the
# figures behind both in build/bench/rows.tsv and fanout.dat, server logs in
# build/bench/logs/. Nothing else is written (but BENCH_PLOT_OUT, and the
# peer's node_modules, installed by `npm ci` when missing). Every run is
# bounded in time and count (chatload's own deadlines) and everything
# started here is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CHATD_BIN="${CHATD_BIN:-$ROOT/build/chatd}"
[ -x "$CHATD_BIN" ] || { echo "bench: $CHATD_BIN is not an executable (make build/chatd)" >&2; exit 1; }
CHATD_BIN="$(realpath "$CHATD_BIN")"

SCENARIOS="${BENCH_SCENARIOS:-http capacity fanout rtt logins heavy fleet}"
SERVERS="${BENCH_SERVERS:-chatd peer}"
SECONDS_EACH="${BENCH_SECONDS:-10}"
HTTP_CONNS="${BENCH_HTTP_CONNS:-64}"
CLIENTS="${BENCH_CLIENTS:-2000 18000}"
PROCS="${BENCH_PROCS:-4}"
USERS="${BENCH_USERS:-100}"
DISTINCT_CLIENTS="${BENCH_DISTINCT_CLIENTS:-2000}"
HOLD="${BENCH_HOLD:-5}"
FANOUT_CLIENTS="${BENCH_FANOUT_CLIENTS:-1000}"
SENDERS="${BENCH_SENDERS:-10}"
RATES="${BENCH_RATES:-10 50 100 200 500 1000 1500 2000 3000}"
SATURATED_MS="${BENCH_SATURATED_MS:-1000}"
STEADY_RATE="${BENCH_STEADY_RATE:-50}"
RTT_CLIENTS="${BENCH_RTT_CLIENTS:-10}"
RTT_RATE="${BENCH_RTT_RATE:-20}"
LOGINS_RATE="${BENCH_LOGINS_RATE:-100}"
HEAVY_GROUPS="${BENCH_HEAVY_GROUPS:-20000}"
WORKERS="${WORKERS:-$(nproc)}"
ORIGINAL_DIR="${BENCH_ORIGINAL_DIR:-}"
ORIGINAL_CLIENTS="${BENCH_ORIGINAL_CLIENTS:-2000}"
PLOT_OUT="${BENCH_PLOT_OUT:-}"
PEER_DIR="$ROOT/test/bench/peer"
REPORT_DIR="$ROOT/test/bench/report"

FIRST_ID=1001 # bench users' ids: far above the four demo users
SETUP_USERS=$((USERS > DISTINCT_CLIENTS ? USERS : DISTINCT_CLIENTS))
OUT="$ROOT/build/bench"
LOGS="$OUT/logs"
LOAD="$OUT/chatload"
RESULTS="$OUT/results.txt"
ROWS="$OUT/rows.tsv"
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$ROWS"

# What the bench needs from Debian (gnuplot for the plot) and from npm (the
# peer's packages), installed when missing.
"$ROOT/scripts/deps.sh" bench
for tool in redis-server redis-cli curl cc pkg-config node npm gnuplot; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found (scripts/deps.sh bench)" >&2; exit 1; }
done
if [[ " $SERVERS " == *" peer "* && ! -d "$PEER_DIR/node_modules" ]]; then
    echo "bench: installing the peer's packages (npm ci in ${PEER_DIR#"$ROOT"/})" >&2
    (cd "$PEER_DIR" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

# chatd's abuse limits, all raised out of the way (docs/configuration.md has
# each): every client comes from 127.0.0.1, a few users hold many sockets
# and send far more than a person, so at their defaults the bench would
# measure refusals. MAX_CONNECTIONS is set per run, from its clients.
CHATD_BENCH_LIMITS=(
    MAX_CONNECTIONS_PER_ADDR=1000000 # default 500 per address
    HANDSHAKES_PER_MINUTE=1000000    # 300 per address
    SOCKETS_PER_USER=100000          # 32 per user
    EVENTS_PER_SECOND=100000         # 20 per socket; a fan-out sender sends rate ÷ senders
    EVENTS_BURST=1000000             # 50 per socket
    MESSAGES_PER_MINUTE=100000       # 120 per user (the most chatd takes)
    LOGINS_PER_MINUTE=1000000        # 30 per address
    REGISTRATIONS_PER_HOUR=1000000   # 10 per address
)

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

# Stops one process we started, and forgets it (its pid may be reused).
stop_one() {
    local pid="$1" kept=() p
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in "${PIDS[@]}"; do
        [ "$p" = "$pid" ] || kept+=("$p")
    done
    PIDS=("${kept[@]}")
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

wait_for_demo_data() {
    wait_for "demo data" 20 sh -c "[ \"\$(redis-cli -p $REDIS_PORT exists user:4)\" = 1 ]"
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

# run_chatd LOG MAX_CONNECTIONS: chatd on a new port of the current Redis,
# with the bench's limits; sets PORT and CHATD_PID.
run_chatd() {
    PORT=$(free_port)
    env "${CHATD_BENCH_LIMITS[@]}" MAX_CONNECTIONS="$2" \
        PORT="$PORT" BIND=127.0.0.1 REDIS_URL="redis://127.0.0.1:$REDIS_PORT" WORKERS="$WORKERS" \
        SEED_DEMO=1 LOG_LEVEL=warn WEB_ROOT="$(web_root)" "$CHATD_BIN" >"$LOGS/$1.log" 2>&1 &
    CHATD_PID=$!
    PIDS+=("$CHATD_PID")
    wait_for "chatd" 20 curl -sf "http://127.0.0.1:$PORT/healthz"
    # The demo users exist once /healthz answers; seeding runs before listening.
    wait_for_demo_data
}

start_chatd() {
    local tag="$1" max_conn="$2"
    start_redis "chatd-$tag"
    run_chatd "chatd-$tag" "$max_conn"
    SERVER_PID=$CHATD_PID
    setup_users chatd "$SETUP_USERS"
    KIND=chatd
}

# The peer creates no users: chatd seeds its Redis and stops, so both servers
# answer the same demo data and verify the same Argon2id hashes.
start_peer() {
    local tag="$1"
    start_redis "peer-$tag"
    run_chatd "peer-$tag-seed" 1000
    stop_one "$CHATD_PID"
    PORT=$(free_port)
    (cd "$PEER_DIR" && PORT="$PORT" BIND=127.0.0.1 REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
        WORKERS="$WORKERS" exec node src/main.js) >"$LOGS/peer-$tag.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_for "the peer" 30 curl -sf "http://127.0.0.1:$PORT/me"
    setup_users chatd "$SETUP_USERS" # the peer keeps chatd's sessions
    KIND=chatd
}

start_original() {
    local tag="$1"
    start_redis "original-$tag"
    PORT=$(free_port)
    (cd "$ORIGINAL_DIR" && PORT="$PORT" REDIS_ENDPOINT_URL="127.0.0.1:$REDIS_PORT" \
        exec node server/index.js) >"$LOGS/original-$tag.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_for "the original demo" 30 curl -sf "http://127.0.0.1:$PORT/randomname"
    wait_for_demo_data
    setup_users node "$SETUP_USERS"
    KIND=node
}

start_server() { # start_server chatd|peer|original TAG MAX_CONNECTIONS
    case "$1" in
    chatd) start_chatd "$2" "$3" ;;
    peer) start_peer "$2" ;;
    original) start_original "$2" ;;
    esac
}

# ---- reporting -----------------------------------------------------------------

say() {
    printf '%s\n' "$*" | tee -a "$RESULTS"
}

# A row outside the side-by-side summary (a scenario of its own, such as a
# fleet's): shown and kept in results.txt only.
run() {
    "$LOAD" "$@" | tee -a "$RESULTS"
}

# The figures after the label in chatload's rows, by report, as its header
# names them; read from the end of the row, so a label may hold spaces.
declare -A COLUMNS=(
    [http]="conns requests req_s p50 p90 p99 max non2xx errors srv rds gen oth"
    [capacity]="clients connected failed ramp_s conn_s hs_p50 hs_p99 rss0_mib rss_mib kib_conn dropped"
    [fanout]="clients senders rate sent_s deliv_s deliv_pct p50 p99 max srv rds gen oth dropped"
    [logins]="clients senders rate sent_s deliv_s deliv_pct p50 p99 max srv rds gen oth dropped"
    [rtt]="clients msgs ack_p50 ack_p99 ack_max echo_p50 echo_p99 echo_max oth"
)

# measure SCENARIO KEY SERVER CHATLOAD-ARGS...: one row, shown and kept in
# results.txt, its figures appended to rows.tsv (scenario, key, server, then
# name=value) for the summary; the row is left in ROW. A failed run is
# reported and the bench goes on.
measure() {
    local scenario="$1" key="$2" server="$3" rc=0
    shift 3
    ROW=$("$LOAD" "$@") || rc=$?
    if [ -z "$ROW" ]; then
        say "$server $key: no result (chatload exited with status $rc)"
        return 0
    fi
    say "$ROW"
    awk -v s="$scenario" -v k="$key" -v srv="$server" -v cols="${COLUMNS[$scenario]}" '{
        n = split(cols, name, " ")
        printf "%s\t%s\t%s", s, k, srv
        for (i = 1; i <= n; i++) printf "\t%s=%s", name[i], $(NF - n + i)
        printf "\n"
    }' <<<"$ROW" >>"$ROWS"
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

package_version() { # package_version DIR NAME: the installed version, or "?"
    node -e 'try { console.log(require(process.argv[1] + "/node_modules/" + process.argv[2] + "/package.json").version) } catch { console.log("?") }' "$1" "$2"
}

header() {
    : >"$RESULTS"
    say "# chatd benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
    say "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ {print $2}') GiB, Linux $(uname -r)"
    say "chatd:   $("$CHATD_BIN" --version 2>&1 | head -1), WORKERS=$WORKERS"
    say "redis:   $(redis-server --version | awk '{print $3}' | cut -d= -f2)"
    say "node:    $(node --version)"
    local versions="" pkg
    for pkg in socket.io @socket.io/redis-adapter ws bufferutil ioredis express @node-rs/argon2; do
        versions+="${versions:+, }$pkg $(package_version "$PEER_DIR" "$pkg")"
    done
    say "peer:    $WORKERS processes; $versions"
    [ -z "$ORIGINAL_DIR" ] || say "original: $ORIGINAL_DIR, socket.io $(package_version "$ORIGINAL_DIR" socket.io)"
    say "busy before start: $(machine_busy)% of the CPUs (other processes; should be near 0)"
}

section() {
    say ""
    say "## $1"
    "$LOAD" header "$2" | tee -a "$RESULTS"
}

# ---- scenarios -----------------------------------------------------------------

http_row() { # http_row WHO KEY CHATLOAD-HTTP-ARGS...
    local who="$1" key="$2"
    shift 2
    measure http "$key" "$who" http --label "$who $key" --port "$PORT" \
        --seconds "$SECONDS_EACH" --server-pid "$SERVER_PID" --redis-pid "$REDIS_PID" "$@"
}

http_scenarios() {
    local who="$1" cookie
    cookie=$("$LOAD" cookie --kind "$KIND" --id "$FIRST_ID")
    if [ "$who" = chatd ]; then # chatd's own probe; the others have none
        http_row "$who" "GET /healthz" --path /healthz --conns "$HTTP_CONNS"
    fi
    http_row "$who" "GET /me" --path /me --cookie "$cookie" --conns "$HTTP_CONNS"
    http_row "$who" "GET /room/0/messages" --path '/room/0/messages?offset=0&size=15' \
        --cookie "$cookie" --conns "$HTTP_CONNS"
    if [ "$who" != peer ]; then # the peer serves the API only, files are nginx's or a CDN's
        http_row "$who" "GET /index.html" --path /index.html --conns "$HTTP_CONNS"
    fi
    http_row "$who" "POST /login" "${LOGIN_ARGS[@]}"
}

# POST /login of the demo users, one connection each: a user has one login in
# flight at a time, well under the failed-login limits, and 4 keep the hash
# pool busy.
LOGIN_ARGS=(--method POST --path /login --conns 4)
for u in Pablo Joe Mary Alex; do
    LOGIN_ARGS+=(--body "{\"username\":\"$u\",\"password\":\"password123\"}")
done

sio() { # sio SCENARIO KEY SERVER CHATLOAD-SIO-ARGS...
    local scenario="$1" key="$2" who="$3"
    shift 3
    measure "$scenario" "$key" "$who" sio --label "$who $key" --port "$PORT" --kind "$KIND" \
        --users "$USERS" --first-id "$FIRST_ID" --server-pid "$SERVER_PID" \
        --redis-pid "$REDIS_PID" "$@"
}

procs_for() { # enough load processes for $1 clients, at most 5,000 each
    local n=$((($1 + 4999) / 5000))
    [ "$n" -ge "$PROCS" ] && echo "$n" || echo "$PROCS"
}

capacity_scenario() { # capacity_scenario WHO CLIENTS USERS
    local who="$1" n="$2" users="$3"
    sio capacity "$n clients, $users users" "$who" --report capacity --clients "$n" \
        --users "$users" --procs "$(procs_for "$n")" --hold "$HOLD" --seconds 0.1 --drain 0
}

# Whether the last fan-out row (ROW) saturated the server: deliveries or
# clients lost, or p99 over SATURATED_MS.
saturated() {
    awk -v lim="$SATURATED_MS" '{ exit !($(NF - 8) < 99.9 || $(NF - 6) > lim || $NF > 0) }' <<<"$ROW"
}

fanout_scenarios() {
    local who="$1" rate ack=()
    [ "$KIND" = chatd ] && ack=(--ack) # the original acks nothing
    for rate in $RATES; do
        ROW=""
        sio fanout "$rate msg/s" "$who" --report fanout --clients "$FANOUT_CLIENTS" \
            --procs "$(procs_for "$FANOUT_CLIENTS")" --senders "$SENDERS" --rate "$rate" \
            --seconds "$SECONDS_EACH" --hold 1 --drain 2 "${ack[@]}"
        if [ -z "$ROW" ]; then
            say "($who failed at $rate msg/s: its sweep stops here)"
            return 0
        fi
        if saturated; then
            say "($who saturated at $rate msg/s: its sweep stops here)"
            return 0
        fi
    done
}

# What logins cost the chat: fan-out at LOGINS_RATE alone, then the same
# while POST /login runs flat out beside it, from before the sending window
# opens (connecting and the hold take about 3 s) until after it closes.
logins_scenario() {
    local who="$1" ack=()
    [ "$KIND" = chatd ] && ack=(--ack)
    local fan=(--report fanout --clients "$FANOUT_CLIENTS" --procs "$(procs_for "$FANOUT_CLIENTS")"
        --senders "$SENDERS" --rate "$LOGINS_RATE" --seconds "$SECONDS_EACH" --hold 1 --drain 2 "${ack[@]}")
    sio logins "$LOGINS_RATE msg/s, alone" "$who" "${fan[@]}"
    local beside="$OUT/logins-beside.txt"
    (SECONDS_EACH=$((SECONDS_EACH + 6)) http_row "$who" "POST /login, beside fan-out" "${LOGIN_ARGS[@]}") \
        >"$beside" &
    local logins=$!
    sio logins "$LOGINS_RATE msg/s, with logins" "$who" "${fan[@]}"
    wait "$logins" || true
    cat "$beside"
}

rtt_scenario() {
    local who="$1" ack=()
    [ "$KIND" = chatd ] && ack=(--ack)
    sio rtt "$RTT_CLIENTS clients" "$who" --report rtt --clients "$RTT_CLIENTS" --procs 1 \
        --senders 1 --rate "$RTT_RATE" --seconds "$SECONDS_EACH" --hold 1 --drain 1 "${ack[@]}"
}

# The side-by-side table (summary.md) and the latency plot, from rows.tsv.
summarize() {
    [ -s "$ROWS" ] || return 0
    say ""
    say "## Side by side"
    node "$REPORT_DIR/summary.mjs" "$ROWS" --steady-rate "$STEADY_RATE" \
        --plot-data "$OUT/fanout.dat" >"$OUT/summary.md"
    tee -a "$RESULTS" <"$OUT/summary.md"
    if grep -q '^fanout' "$ROWS"; then
        gnuplot -e "data='$OUT/fanout.dat'; out='$OUT/bench-latency.svg'" "$REPORT_DIR/latency.gp"
        say "plot: ${OUT#"$ROOT"/}/bench-latency.svg"
        if [ -n "$PLOT_OUT" ]; then
            cp "$OUT/bench-latency.svg" "$PLOT_OUT"
            say "plot copied to $PLOT_OUT"
        fi
    fi
}

# ---- the fleet: several chatd on one Redis, in scripts/bench-fleet.sh ---------

# Delivery to bystanders while a user in HEAVY_GROUPS groups connects and
# disconnects (test/bench/heavy.mjs; chatd only: the groups are chatd's).
heavy_scenario() {
    start_server chatd heavy 1000
    node "$ROOT/test/bench/heavy.mjs" --port "$PORT" --redis-port "$REDIS_PORT" \
        --groups "$HEAVY_GROUPS" --label chatd | tee -a "$RESULTS"
    stop_all
}

fleet_scenario() {
    # shellcheck source=SCRIPTDIR/bench-fleet.sh
    . "$ROOT/scripts/bench-fleet.sh"
    fleet_run
}

# ---- main ----------------------------------------------------------------------

build_chatload

targets=()
for t in $SERVERS; do
    case "$t" in
    chatd | peer) targets+=("$t") ;;
    *)
        echo "bench: unknown server '$t' in BENCH_SERVERS (chatd, peer)" >&2
        exit 2
        ;;
    esac
done
if [ -n "$ORIGINAL_DIR" ]; then
    if [ ! -f "$ORIGINAL_DIR/server/index.js" ] || [ ! -d "$ORIGINAL_DIR/node_modules" ]; then
        echo "bench: $ORIGINAL_DIR has no server/index.js and node_modules" >&2
        exit 1
    fi
    targets+=(original)
fi
has_target() {
    local t
    for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done
    return 1
}

header
for scenario in $SCENARIOS; do
    case "$scenario" in
    http)
        section "HTTP: $SECONDS_EACH s per row, closed loop, keep-alive" http
        for t in "${targets[@]}"; do
            start_server "$t" http 1000
            http_scenarios "$t"
            stop_all
        done
        ;;
    capacity)
        section "Socket.IO capacity: idle WebSocket clients, held ${HOLD}s" capacity
        for t in chatd peer; do
            has_target "$t" || continue
            for n in $CLIENTS; do
                start_server "$t" capacity $((n + 1000))
                capacity_scenario "$t" "$n" "$USERS"
                stop_all
            done
        done
        # Presence makes distinct users cost more; only chatd has presence.
        if has_target chatd; then
            start_server chatd capacity $((DISTINCT_CLIENTS + 1000))
            capacity_scenario chatd "$DISTINCT_CLIENTS" "$DISTINCT_CLIENTS"
            stop_all
        fi
        if has_target original; then
            start_server original capacity 0
            capacity_scenario original "$ORIGINAL_CLIENTS" "$USERS"
            stop_all
        fi
        ;;
    fanout)
        section "Socket.IO fan-out: $FANOUT_CLIENTS clients in General, $SENDERS senders, ${SECONDS_EACH}s each" fanout
        for t in "${targets[@]}"; do
            start_server "$t" fanout $((FANOUT_CLIENTS + 1000))
            fanout_scenarios "$t"
            stop_all
        done
        ;;
    rtt)
        section "Socket.IO round trip at $RTT_RATE msg/s (ack: chatd and the peer; echo: the sender's own copy)" rtt
        for t in "${targets[@]}"; do
            start_server "$t" rtt 1000
            rtt_scenario "$t"
            stop_all
        done
        ;;
    logins)
        section "Fan-out at $LOGINS_RATE msg/s to $FANOUT_CLIENTS clients, alone and beside POST /login flat out" fanout
        for t in chatd peer; do
            has_target "$t" || continue
            start_server "$t" logins $((FANOUT_CLIENTS + 1000))
            logins_scenario "$t"
            stop_all
        done
        ;;
    heavy) # about 10 s
        if has_target chatd; then
            say ""
            say "## Delivery to a bystander while a user in $HEAVY_GROUPS groups connects and disconnects"
            say "$(printf 'server\tgroups\tconnects\tmsgs\tdelivered\tp50\tp90\tp99\tmax (ms)')"
            heavy_scenario
        fi
        ;;
    fleet) # 72,000 sessions: about two minutes
        fleet_scenario
        ;;
    *)
        echo "bench: unknown scenario '$scenario'" >&2
        exit 2
        ;;
    esac
done
summarize
say ""
say "busy after the runs: $(machine_busy)% of the CPUs"
say "(results also in ${RESULTS#"$ROOT"/}, the table in ${OUT#"$ROOT"/}/summary.md)"
