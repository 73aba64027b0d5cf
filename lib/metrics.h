/* metrics — process-wide counters for GET /metrics, in the Prometheus text
 * exposition format 0.0.4.
 *
 * Every update is one relaxed atomic operation: safe from any thread, no lock,
 * no allocation, cheap enough for per-packet paths. Label sets are fixed enums
 * (plus HTTP status codes 100-599), so the output stays bounded whatever the
 * clients send. Values passed outside an enum's range are ignored.
 *
 * A render reads each value once, relaxed: a scrape that races updates may see
 * one metric a step ahead of another, never a torn or lost value.
 */
#ifndef CHAT_METRICS_H
#define CHAT_METRICS_H

#include <stddef.h>

/* chatd_connections{transport="…"} */
enum metrics_transport {
    METRICS_TRANSPORT_POLLING,
    METRICS_TRANSPORT_WEBSOCKET,
    METRICS_TRANSPORT_COUNT
};

/* The event label of chatd_events_in_total / chatd_events_out_total. Anything
 * else a client names is METRICS_EVENT_OTHER. */
enum metrics_event {
    METRICS_EVENT_MESSAGE,           /* "message", both directions */
    METRICS_EVENT_TYPING,            /* "typing", both directions */
    METRICS_EVENT_ROOM_JOIN,         /* "room.join", client to server */
    METRICS_EVENT_USER_CONNECTED,    /* "user.connected", server to client */
    METRICS_EVENT_USER_DISCONNECTED, /* "user.disconnected", server to client */
    METRICS_EVENT_SHOW_ROOM,         /* "show.room", server to client */
    METRICS_EVENT_ROOM_READ,         /* "room.read", both directions */
    METRICS_EVENT_OTHER,             /* anything else */
    METRICS_EVENT_COUNT
};

/* Unlabelled counters (names in the comments). */
enum metrics_counter {
    METRICS_REDIS_ERRORS,         /* chatd_redis_errors_total */
    METRICS_BROADCASTS,           /* chatd_broadcasts_total: events fanned out by the subscriber */
    METRICS_OUTBOX_OVERFLOWS,     /* chatd_outbox_overflows_total: slow consumers disconnected */
    METRICS_LOGIN_FAILURES,       /* chatd_login_failures_total: wrong passwords and rate limits */
    METRICS_REDIS_MASTER_CHANGES, /* chatd_redis_master_changes_total: Sentinel answers changed */
    METRICS_WAIT_SHORT,           /* chatd_redis_wait_short_total: messages fewer replicas had */
    METRICS_COUNTER_COUNT
};

/* Unlabelled gauges. */
enum metrics_gauge {
    METRICS_SESSIONS,            /* chatd_sessions: Engine.IO sessions open on this server */
    METRICS_ROSTER_MEMBERS,      /* chatd_roster_members: connected chat sockets in the roster */
    METRICS_SESSION_TABLE_SLOTS, /* chatd_session_table_slots: the sid table's capacity */
    METRICS_HASH_QUEUE_DEPTH,    /* chatd_hash_queue_depth: password hashes waiting for a thread */
    METRICS_ATTACHMENT_BYTES,    /* chatd_attachment_bytes: binary packets being assembled */
    METRICS_GAUGE_COUNT
};

/* Upper bounds of chatd_redis_latency_seconds' buckets, in seconds: 100 µs to 1 s
 * in 1-2.5-5 steps (+Inf is implicit). */
#define METRICS_LATENCY_BUCKETS 13

/* Records the process start time (chatd_start_time_seconds, chatd_uptime_seconds).
 * Call from main at start; without it the first render counts as the start.
 * Idempotent. */
void metrics_init(void);

/* Adds delta (negative on close) to the open connections of a transport. An
 * upgrade from polling to WebSocket is -1 polling, +1 websocket. */
void metrics_conn_add(enum metrics_transport transport, int delta);

/* Counts one event received from a client. */
void metrics_event_in(enum metrics_event event);

/* Counts an event sent to count sockets (one broadcast reaching 30 sockets
 * is 30). */
void metrics_event_out(enum metrics_event event, unsigned long count);

/* Maps a Socket.IO event name name[0..len) (not NUL-terminated) to its label;
 * METRICS_EVENT_OTHER for any name not in the enum. */
enum metrics_event metrics_event_from_name(const char *name, size_t len);

/* Counts one HTTP response with status code (100-599; others are ignored). */
void metrics_http_status(unsigned code);

/* Records one Redis round trip that took seconds (negative or NaN count as 0). */
void metrics_redis_latency(double seconds);

/* Adds one to a counter. */
void metrics_inc(enum metrics_counter counter);

/* Adds delta to a gauge. */
void metrics_gauge_add(enum metrics_gauge gauge, long delta);

/* A gauge's value now (0 for a value outside the enum). */
long metrics_gauge_value(enum metrics_gauge gauge);

/* Renders every metric as Prometheus text (with # HELP and # TYPE lines).
 * Returns a malloc'd NUL-terminated buffer the caller frees, its length (NUL
 * excluded) in *len when len is not NULL; NULL when memory ran out. */
char *metrics_render(size_t *len);

#endif
