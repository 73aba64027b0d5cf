#!/usr/bin/env bash
# The fleet benchmark: several chatd processes on one box sharing one Redis,
# 72,000 authenticated WebSocket sessions spread over them by the load
# generator itself (round-robin over their ports), one message to General
# that must reach every session, the sessions held idle answering the
# servers' Engine.IO pings, then a second message that must reach them all
# again. Each chatd's and Redis's memory is read from /proc.
#
#   scripts/bench-fleet.sh                       # = BENCH_SCENARIOS=fleet scripts/bench.sh
#   BENCH_FLEET_SERVERS=4 BENCH_FLEET_SESSIONS=8000 scripts/bench-fleet.sh
#
# bench.sh sources this file for its `fleet` scenario and provides the helpers
# used here (start_redis, free_port, wait_for, setup_users, web_root, section,
# run, PIDS, LOAD, LOGS, FIRST_ID, CHATD_BIN).
#
# Settings (environment):
#   BENCH_FLEET_SERVERS        4      chatd processes, each on its own port
#   BENCH_FLEET_SESSIONS       72000  sessions over all of them
#   BENCH_FLEET_USERS          1000   distinct users the sessions belong to
#   BENCH_FLEET_WORKERS        1      each chatd's WORKERS
#   BENCH_FLEET_HOLD           60     seconds between the two messages
#   BENCH_FLEET_DRAIN          5      seconds each message has to arrive
#   BENCH_FLEET_PING_INTERVAL  10000  chatd's PING_INTERVAL and PING_TIMEOUT (ms;
#                                     its defaults are 25000 and 20000): six
#                                     pings per session in 60 s. Both: chatd
#                                     sends a ping only once the last one's
#                                     timeout has passed, so pings come every
#                                     max(PING_INTERVAL, PING_TIMEOUT).
#
# Why these numbers:
# - A process may hold 20,000 open files here, so a chatd takes at most
#   FLEET_SESSIONS_PER_SERVER sessions (MAX_CONNECTIONS a little above, its
#   Redis connections and listening socket within the rest), and a load
#   process at most FLEET_CLIENTS_PER_PROC.
# - Every session comes from 127.0.0.1, so the sessions of one chatd need that
#   many ephemeral source ports (32768-60999: 28,232); chatload refuses a
#   spread that does not fit.
# - A user's first connection is a presence broadcast to every connected
#   session, so many distinct users make the ramp quadratic; 1,000 users of
#   72 sessions each keep it linear (their first connections come first).
#   Dealt round-robin over 4 servers, a user's 72 sessions all land on one
#   server (1,000 is a multiple of 4); the General messages cross all four.
# - chatd's per-address and per-user limits are raised (fleet_env): all the
#   sessions come from one address and 72 of them belong to each user.
#
# Bounded: chatload stops its load processes at its own deadline (connecting
# at most FLEET_CONNECT_SECONDS, then hold + 2 x drain); bench.sh stops every
# server it started on exit, Ctrl-C included. The default run takes about two
# minutes.

FLEET_SESSIONS_PER_SERVER=18500
FLEET_CLIENTS_PER_PROC=5000
FLEET_CONNECT_SECONDS=90
FLEET_INFLIGHT=256 # handshakes at a time over all load processes: more only queue in
                   # chatd and Redis, and a Redis reply 5 s late makes chatd reconnect

# chatd's limits for the run: one client address, many sessions per user.
fleet_env() {
    local max_conn="$1"
    echo MAX_CONNECTIONS="$max_conn" MAX_CONNECTIONS_PER_ADDR="$max_conn" \
        HANDSHAKES_PER_MINUTE=1000000 SOCKETS_PER_USER=100000 \
        EVENTS_PER_SECOND=100000 EVENTS_BURST=100000 MESSAGES_PER_MINUTE=100000
}

# start_fleet_chatd INDEX MAX_CONNECTIONS: one chatd of the fleet on the shared
# Redis; appends its port and pid to FLEET_PORTS and FLEET_PIDS.
start_fleet_chatd() {
    local i="$1" max_conn="$2" port pid seed=0
    [ "$i" = 0 ] && seed=1 # one server seeds the demo data, before the others start
    port=$(free_port)
    # shellcheck disable=SC2046 # fleet_env's words are meant to split
    env $(fleet_env "$max_conn") PORT="$port" BIND=127.0.0.1 \
        REDIS_URL="redis://127.0.0.1:$REDIS_PORT" SERVER_ID="fleet-$i" WORKERS="$FLEET_WORKERS" \
        SEED_DEMO="$seed" LOG_LEVEL=warn PING_INTERVAL="$FLEET_PING_INTERVAL" \
        PING_TIMEOUT="$FLEET_PING_INTERVAL" \
        WEB_ROOT="$(web_root)" "$CHATD_BIN" >"$LOGS/chatd-fleet-$i.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_for "chatd $i" 20 curl -sf "http://127.0.0.1:$port/healthz"
    FLEET_PORTS+=("$port")
    FLEET_PIDS+=("$pid")
}

fleet_run() {
    local servers="${BENCH_FLEET_SERVERS:-4}" sessions="${BENCH_FLEET_SESSIONS:-72000}"
    local users="${BENCH_FLEET_USERS:-1000}" hold="${BENCH_FLEET_HOLD:-60}"
    local drain="${BENCH_FLEET_DRAIN:-5}"
    FLEET_WORKERS="${BENCH_FLEET_WORKERS:-1}"
    FLEET_PING_INTERVAL="${BENCH_FLEET_PING_INTERVAL:-10000}"

    local per_server=$(((sessions + servers - 1) / servers))
    if [ "$per_server" -gt "$FLEET_SESSIONS_PER_SERVER" ]; then
        echo "bench: $per_server sessions per chatd is over $FLEET_SESSIONS_PER_SERVER (20,000 open files): add servers" >&2
        return 1
    fi
    local max_conn=$((per_server + 500))
    if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((max_conn + 100)) ]; then
        echo "bench: ulimit -n is $(ulimit -n), under $((max_conn + 100)) for one chatd" >&2
        return 1
    fi
    local procs=$(((sessions + FLEET_CLIENTS_PER_PROC - 1) / FLEET_CLIENTS_PER_PROC))

    section "Fleet: $sessions sessions over $servers chatd (WORKERS=$FLEET_WORKERS, pings every ${FLEET_PING_INTERVAL} ms), one Redis, $users users, $procs load processes" fleet
    start_redis fleet
    FLEET_PORTS=()
    FLEET_PIDS=()
    local i
    for ((i = 0; i < servers; i++)); do
        start_fleet_chatd "$i" "$max_conn"
        if [ "$i" = 0 ]; then
            wait_for "demo data" 20 sh -c "[ \"\$(redis-cli -p $REDIS_PORT exists user:4)\" = 1 ]"
        fi
    done
    setup_users chatd "$users"

    local ports pids
    ports=$(IFS=,; echo "${FLEET_PORTS[*]}")
    pids=$(IFS=,; echo "${FLEET_PIDS[*]}")
    run sio --report fleet --label "fleet $servers x $per_server" --kind chatd \
        --ports "$ports" --server-pids "$pids" --redis-pid "$REDIS_PID" \
        --clients "$sessions" --procs "$procs" --users "$users" --first-id "$FIRST_ID" \
        --inflight $(((FLEET_INFLIGHT + procs - 1) / procs)) \
        --senders 1 --ack --hold "$hold" --drain "$drain" \
        --timeout $((FLEET_CONNECT_SECONDS + hold + 2 * drain))
    say "  (chatd: $(fleet_env "$max_conn") WORKERS=$FLEET_WORKERS PING_INTERVAL=$FLEET_PING_INTERVAL PING_TIMEOUT=$FLEET_PING_INTERVAL)"
    stop_all
}

# Run on its own: the fleet scenario of bench.sh.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    BENCH_SCENARIOS=fleet exec "$(dirname "$0")/bench.sh" "$@"
fi
