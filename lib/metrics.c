/* metrics — static arrays of relaxed atomics, rendered on demand.
 *
 * Relaxed ordering is enough: each value is an independent tally, nothing is
 * published through it, and a scrape only needs each number to be one that
 * existed. Latency sums are kept in integer nanoseconds so they can be added
 * atomically and printed exactly.
 */
#include "metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef CHATD_VERSION
#define CHATD_VERSION "dev"
#endif

#define HTTP_CODE_MIN 100
#define HTTP_CODE_MAX 599
#define NS_PER_SEC UINT64_C(1000000000)

/* A rendering is a few KiB (about 8 KiB with every HTTP code seen); start
 * big enough for the usual case and double when needed. */
#define RENDER_INITIAL_CAP 8192

/* No single Redis round trip is longer than this, by assumption; clamping here
 * keeps a garbage duration from overflowing the nanosecond sum. */
#define LATENCY_MAX_NS (3600 * NS_PER_SEC)

static const struct {
    const char *name;
    bool in, out; /* which directions it is rendered for */
} events[METRICS_EVENT_COUNT] = {
    [METRICS_EVENT_MESSAGE] = {"message", true, true},
    [METRICS_EVENT_TYPING] = {"typing", true, true},
    [METRICS_EVENT_ROOM_JOIN] = {"room.join", true, false},
    [METRICS_EVENT_USER_CONNECTED] = {"user.connected", false, true},
    [METRICS_EVENT_USER_DISCONNECTED] = {"user.disconnected", false, true},
    [METRICS_EVENT_SHOW_ROOM] = {"show.room", false, true},
    [METRICS_EVENT_ROOM_READ] = {"room.read", true, true},
    [METRICS_EVENT_OTHER] = {"other", true, true},
};

static const char *const transport_names[METRICS_TRANSPORT_COUNT] = {
    [METRICS_TRANSPORT_POLLING] = "polling",
    [METRICS_TRANSPORT_WEBSOCKET] = "websocket",
};

static const struct {
    const char *name, *help;
} counters[METRICS_COUNTER_COUNT] = {
    [METRICS_REDIS_ERRORS] = {"chatd_redis_errors_total",
                              "Redis commands that failed or found the connection down."},
    [METRICS_BROADCASTS] = {"chatd_broadcasts_total",
                            "Events from the MESSAGES channel fanned out to local sessions."},
    [METRICS_OUTBOX_OVERFLOWS] = {"chatd_outbox_overflows_total",
                                  "Connections closed because their outbound queue was full."},
    [METRICS_LOGIN_FAILURES] = {"chatd_login_failures_total",
                                "Logins refused: wrong password or rate-limited."},
    [METRICS_REDIS_MASTER_CHANGES] = {"chatd_redis_master_changes_total",
                                      "Times the Sentinels' answer for the Redis master changed."},
    [METRICS_WAIT_SHORT] = {"chatd_redis_wait_short_total",
                            "Chat messages refused: fewer than REDIS_WAIT_REPLICAS replicas had "
                            "them in time."},
};

static const struct {
    const char *name, *help;
} gauges[METRICS_GAUGE_COUNT] = {
    [METRICS_SESSIONS] = {"chatd_sessions", "Engine.IO sessions open on this server."},
    [METRICS_ROSTER_MEMBERS] = {"chatd_roster_members",
                                "Connected chat sockets in this server's roster."},
    [METRICS_SESSION_TABLE_SLOTS] =
        {"chatd_session_table_slots",
         "Slots of the Engine.IO session table (it grows and shrinks)."},
    [METRICS_HASH_QUEUE_DEPTH] = {"chatd_hash_queue_depth",
                                  "Password hashes waiting for a hashing thread."},
    [METRICS_ATTACHMENT_BYTES] = {"chatd_attachment_bytes",
                                  "Bytes of Socket.IO binary packets being assembled."},
};

/* Bucket bounds in nanoseconds, with their `le` label text (what Prometheus
 * users expect to read, not whatever %g makes of a double). */
static const struct {
    uint64_t ns;
    const char *le;
} latency_buckets[METRICS_LATENCY_BUCKETS] = {
    {100000ULL, "0.0001"},  {250000ULL, "0.00025"}, {500000ULL, "0.0005"},  {1000000ULL, "0.001"},
    {2500000ULL, "0.0025"}, {5000000ULL, "0.005"},  {10000000ULL, "0.01"},  {25000000ULL, "0.025"},
    {50000000ULL, "0.05"},  {100000000ULL, "0.1"},  {250000000ULL, "0.25"}, {500000000ULL, "0.5"},
    {1000000000ULL, "1"},
};

/* Static atomics start at zero, which C11 guarantees is a valid state. */
static atomic_long conn_gauges[METRICS_TRANSPORT_COUNT];
static atomic_uint_fast64_t events_in[METRICS_EVENT_COUNT];
static atomic_uint_fast64_t events_out[METRICS_EVENT_COUNT];
static atomic_uint_fast64_t counter_values[METRICS_COUNTER_COUNT];
static atomic_long gauge_values[METRICS_GAUGE_COUNT];
static atomic_uint_fast64_t http_codes[HTTP_CODE_MAX - HTTP_CODE_MIN + 1];
/* Per-bucket (not cumulative) counts; the last slot is +Inf. Rendering adds
 * them up, which also makes _count equal the +Inf bucket by construction. */
static atomic_uint_fast64_t latency_counts[METRICS_LATENCY_BUCKETS + 1];
static atomic_uint_fast64_t latency_sum_ns;

static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static struct timespec start_wall, start_mono;

static void record_start(void)
{
    clock_gettime(CLOCK_REALTIME, &start_wall);
    clock_gettime(CLOCK_MONOTONIC, &start_mono);
}

void metrics_init(void)
{
    pthread_once(&start_once, record_start);
}

static void add_u64(atomic_uint_fast64_t *v, uint64_t n)
{
    atomic_fetch_add_explicit(v, n, memory_order_relaxed);
}

static uint64_t load_u64(atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

void metrics_conn_add(enum metrics_transport transport, int delta)
{
    if ((unsigned)transport < METRICS_TRANSPORT_COUNT)
        atomic_fetch_add_explicit(&conn_gauges[transport], delta, memory_order_relaxed);
}

void metrics_event_in(enum metrics_event event)
{
    if ((unsigned)event < METRICS_EVENT_COUNT)
        add_u64(&events_in[event], 1);
}

void metrics_event_out(enum metrics_event event, unsigned long count)
{
    if ((unsigned)event < METRICS_EVENT_COUNT)
        add_u64(&events_out[event], count);
}

enum metrics_event metrics_event_from_name(const char *name, size_t len)
{
    for (unsigned i = 0; i < METRICS_EVENT_OTHER; i++) {
        if (strlen(events[i].name) == len && memcmp(events[i].name, name, len) == 0)
            return (enum metrics_event)i;
    }
    return METRICS_EVENT_OTHER;
}

void metrics_http_status(unsigned code)
{
    if (code >= HTTP_CODE_MIN && code <= HTTP_CODE_MAX)
        add_u64(&http_codes[code - HTTP_CODE_MIN], 1);
}

void metrics_redis_latency(double seconds)
{
    uint64_t ns = 0;
    unsigned b = 0;

    /* Written as (x > 0) so that NaN, too, counts as 0. */
    if (seconds > 0)
        ns = seconds >= (double)(LATENCY_MAX_NS / NS_PER_SEC)
                 ? LATENCY_MAX_NS
                 : (uint64_t)(seconds * (double)NS_PER_SEC + 0.5);
    while (b < METRICS_LATENCY_BUCKETS && ns > latency_buckets[b].ns)
        b++;
    add_u64(&latency_counts[b], 1);
    add_u64(&latency_sum_ns, ns);
}

void metrics_inc(enum metrics_counter counter)
{
    if ((unsigned)counter < METRICS_COUNTER_COUNT)
        add_u64(&counter_values[counter], 1);
}

void metrics_gauge_add(enum metrics_gauge gauge, long delta)
{
    if ((unsigned)gauge < METRICS_GAUGE_COUNT)
        atomic_fetch_add_explicit(&gauge_values[gauge], delta, memory_order_relaxed);
}

long metrics_gauge_value(enum metrics_gauge gauge)
{
    if ((unsigned)gauge >= METRICS_GAUGE_COUNT)
        return 0;
    return atomic_load_explicit(&gauge_values[gauge], memory_order_relaxed);
}

/* A growing output buffer whose out-of-memory state is sticky, so rendering
 * code can append freely and check once at the end. */
struct text {
    char *buf;
    size_t len, cap;
    bool oom;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;

    /* Two tries: the second one has been grown to the exact size needed. */
    for (int attempt = 0; attempt < 2 && !t->oom; attempt++) {
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2;
        while (cap - t->len <= (size_t)n)
            cap *= 2;
        char *grown = realloc(t->buf, cap);
        if (grown == NULL) {
            t->oom = true;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
}

static void put_family(struct text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Prometheus label values escape backslash, double quote and newline. */
static void put_label_value(struct text *t, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\' || *s == '"')
            put(t, "\\%c", *s);
        else if (*s == '\n')
            put(t, "\\n");
        else
            put(t, "%c", *s);
    }
}

static void render_process(struct text *t)
{
    struct timespec now;

    put_family(t, "chatd_build_info", "gauge", "Version of this chatd; the value is always 1.");
    put(t, "chatd_build_info{version=\"");
    put_label_value(t, CHATD_VERSION);
    put(t, "\"} 1\n");

    put_family(t, "chatd_start_time_seconds", "gauge",
               "Start time of the process since the Unix epoch, in seconds.");
    put(t, "chatd_start_time_seconds %lld.%03ld\n", (long long)start_wall.tv_sec,
        start_wall.tv_nsec / 1000000L);

    clock_gettime(CLOCK_MONOTONIC, &now);
    double up = (double)(now.tv_sec - start_mono.tv_sec) +
                (double)(now.tv_nsec - start_mono.tv_nsec) / (double)NS_PER_SEC;
    put_family(t, "chatd_uptime_seconds", "gauge", "Seconds since the process started.");
    put(t, "chatd_uptime_seconds %.3f\n", up);
}

static void render_connections(struct text *t)
{
    put_family(t, "chatd_connections", "gauge", "Open client connections by transport.");
    for (unsigned i = 0; i < METRICS_TRANSPORT_COUNT; i++)
        put(t, "chatd_connections{transport=\"%s\"} %ld\n", transport_names[i],
            atomic_load_explicit(&conn_gauges[i], memory_order_relaxed));
}

static void render_events(struct text *t, const char *name, const char *help, bool in,
                          atomic_uint_fast64_t *values)
{
    put_family(t, name, "counter", help);
    for (unsigned i = 0; i < METRICS_EVENT_COUNT; i++) {
        if (in ? events[i].in : events[i].out)
            put(t, "%s{event=\"%s\"} %" PRIu64 "\n", name, events[i].name, load_u64(&values[i]));
    }
}

static void render_http(struct text *t)
{
    put_family(t, "chatd_http_requests_total", "counter", "HTTP responses by status code.");
    for (unsigned i = 0; i < sizeof http_codes / sizeof http_codes[0]; i++) {
        uint64_t n = load_u64(&http_codes[i]);
        if (n > 0)
            put(t, "chatd_http_requests_total{code=\"%u\"} %" PRIu64 "\n", HTTP_CODE_MIN + i, n);
    }
}

static void render_latency(struct text *t)
{
    static const char name[] = "chatd_redis_latency_seconds";
    uint64_t cumulative = 0;

    put_family(t, name, "histogram", "Duration of Redis round trips.");
    for (unsigned b = 0; b <= METRICS_LATENCY_BUCKETS; b++) {
        cumulative += load_u64(&latency_counts[b]);
        put(t, "%s_bucket{le=\"%s\"} %" PRIu64 "\n", name,
            b < METRICS_LATENCY_BUCKETS ? latency_buckets[b].le : "+Inf", cumulative);
    }
    uint64_t sum = load_u64(&latency_sum_ns);
    put(t, "%s_sum %" PRIu64 ".%09" PRIu64 "\n", name, sum / NS_PER_SEC, sum % NS_PER_SEC);
    put(t, "%s_count %" PRIu64 "\n", name, cumulative);
}

char *metrics_render(size_t *len)
{
    struct text t = {.buf = malloc(RENDER_INITIAL_CAP), .cap = RENDER_INITIAL_CAP};

    if (t.buf == NULL)
        return NULL;
    metrics_init();

    render_process(&t);
    render_connections(&t);
    render_events(&t, "chatd_events_in_total", "Socket.IO events received from clients.", true,
                  events_in);
    render_events(&t, "chatd_events_out_total",
                  "Socket.IO events sent to clients, one per receiving socket.", false, events_out);
    render_http(&t);
    render_latency(&t);
    for (unsigned i = 0; i < METRICS_COUNTER_COUNT; i++) {
        put_family(&t, counters[i].name, "counter", counters[i].help);
        put(&t, "%s %" PRIu64 "\n", counters[i].name, load_u64(&counter_values[i]));
    }
    for (unsigned i = 0; i < METRICS_GAUGE_COUNT; i++) {
        put_family(&t, gauges[i].name, "gauge", gauges[i].help);
        put(&t, "%s %ld\n", gauges[i].name,
            atomic_load_explicit(&gauge_values[i], memory_order_relaxed));
    }

    if (t.oom) {
        free(t.buf);
        return NULL;
    }
    if (len != NULL)
        *len = t.len;
    return t.buf;
}
