#!/usr/bin/env bash
# Serve chatd for development; `make run` calls this after building.
#
# Without REDIS_URL it starts a Redis of its own (scripts/redis.conf: 127.0.0.1:6380,
# data in var/redis/), or reuses one already answering there, then runs
# $CHATD_BIN in the foreground.  Ctrl-C or SIGTERM stops chatd first, then the
# Redis this script started (a reused one is left running).
#
# Environment: CHATD_BIN (required), REDIS_URL, PORT (8000), WEB_ROOT
# (web/dist), SEED_DEMO (1); anything else is passed on to chatd as is.
set -euo pipefail

readonly REDIS_PORT=6380
readonly REDIS_WAIT_TENTHS=100     # how long Redis may take to answer PING: 10 s
readonly REDIS_STOP_TENTHS=100     # and to exit after SIGTERM

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"   # redis.conf's `dir ./var/redis` is relative to this

die() { echo "run.sh: $*" >&2; exit 1; }

[[ -n ${CHATD_BIN-} ]] || die "CHATD_BIN must name the chatd binary (make run sets it)"
[[ -x $CHATD_BIN ]] || die "$CHATD_BIN is not an executable; build it with make"

export PORT=${PORT:-8000}
export WEB_ROOT=${WEB_ROOT:-$root/web/dist}
export SEED_DEMO=${SEED_DEMO:-1}

redis_dir=$root/var/redis
redis_pidfile=$redis_dir/redis.pid
redis_pid=""   # set only when this script started the Redis

# True when a Redis answers on our port.  Bounded: something else holding the
# port may accept the connection and never reply.
redis_ping() {
    [[ $(timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

# Stops the Redis this script started, if any, and waits (bounded) until it is
# gone, so its AOF is complete when we return.
stop_redis() {
    [[ -n $redis_pid ]] || return 0
    kill -TERM "$redis_pid" 2>/dev/null || true
    local i
    for ((i = 0; i < REDIS_STOP_TENTHS; i++)); do
        kill -0 "$redis_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$redis_pid" 2>/dev/null; then
        echo "run.sh: Redis (pid $redis_pid) did not stop; killing it" >&2
        kill -KILL "$redis_pid" 2>/dev/null || true
    fi
    rm -f "$redis_pidfile"
    redis_pid=""
}

start_redis() {
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        die "redis-server or redis-cli not found; run scripts/deps.sh"
    fi
    if redis_ping; then
        echo "run.sh: reusing the Redis already running on 127.0.0.1:$REDIS_PORT" >&2
        return 0
    fi
    mkdir -p "$redis_dir"
    # A session of its own, so a Ctrl-C in the terminal reaches only this
    # script: Redis must outlive chatd, whose shutdown still writes presence.
    setsid redis-server scripts/redis.conf </dev/null &
    redis_pid=$!
    echo "$redis_pid" >"$redis_pidfile"
    trap stop_redis EXIT

    local i
    for ((i = 0; i < REDIS_WAIT_TENTHS; i++)); do
        redis_ping && return 0
        if ! kill -0 "$redis_pid" 2>/dev/null; then
            redis_pid=""
            rm -f "$redis_pidfile"
            tail -n 20 "$redis_dir/redis.log" >&2 2>/dev/null || true
            die "Redis exited at start (log: var/redis/redis.log)"
        fi
        sleep 0.1
    done
    die "Redis did not answer PING on 127.0.0.1:$REDIS_PORT within" \
        "$((REDIS_WAIT_TENTHS / 10)) s (log: var/redis/redis.log)"
}

if [[ -z ${REDIS_URL-} ]]; then
    start_redis
    export REDIS_URL=redis://127.0.0.1:$REDIS_PORT
fi

echo "chatd: serving http://localhost:$PORT (Redis $REDIS_URL; Ctrl-C stops)" >&2

if [[ -z $redis_pid ]]; then
    # Nothing of ours to clean up: let chatd take this process over.
    exec "$CHATD_BIN" "$@"
fi

# Otherwise chatd runs as a child, in a session of its own too, so that it
# gets exactly one SIGTERM, from us, whether the terminal sent SIGINT or
# someone sent this script SIGTERM.  A second signal kills it outright.
setsid "$CHATD_BIN" "$@" </dev/null &
chatd_pid=$!
signals=0
# shellcheck disable=SC2317  # called by the trap below, which shellcheck 0.9 cannot see
on_signal() {
    if ((signals++ == 0)); then
        kill -TERM "$chatd_pid" 2>/dev/null || true
    else
        echo "run.sh: stopping chatd forcibly" >&2
        kill -KILL "$chatd_pid" 2>/dev/null || true
    fi
}
trap on_signal INT TERM HUP

# `wait` also returns, early, when a trapped signal arrives: wait until chatd
# is really gone, then once more for its own exit status (bash keeps it).
while kill -0 "$chatd_pid" 2>/dev/null; do
    wait "$chatd_pid" || true
done
status=0
wait "$chatd_pid" || status=$?
stop_redis
exit "$status"
