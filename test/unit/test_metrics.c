/* Tests of metrics: exact rendered lines, a format check of the whole text,
 * edge values, and concurrent updates that must add up exactly.
 *
 * The metrics are process-wide, so test_render_exact runs first, on fresh
 * counters; every later test compares values before and after its updates. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

#define THREADS 8
#define ROUNDS 100000

/* fabs() without libm, which the test binaries do not link. */
static double distance(double a, double b)
{
    return a > b ? a - b : b - a;
}

static char *render(void)
{
    size_t len = 0;
    char *text = metrics_render(&len);

    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

/* Whether text holds line as a whole line. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    }
    return false;
}

static void expect_line(const char *text, const char *line)
{
    if (!has_line(text, line))
        fail_msg("no line \"%s\" in:\n%s", line, text);
}

/* The value of one series ("name" or "name{labels}"); fails when absent. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; (p = strstr(p, series)) != NULL; p++) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    fail_msg("no series %s", series);
    return NAN;
}

static double value_now(const char *series)
{
    char *text = render();
    double v = value_of(text, series);

    free(text);
    return v;
}

static void test_render_exact(void **state)
{
    (void)state;
    metrics_init();
    metrics_conn_add(METRICS_TRANSPORT_POLLING, 3);
    metrics_conn_add(METRICS_TRANSPORT_WEBSOCKET, 2);
    metrics_conn_add(METRICS_TRANSPORT_POLLING, -1);
    metrics_event_in(METRICS_EVENT_MESSAGE);
    metrics_event_in(METRICS_EVENT_MESSAGE);
    metrics_event_in(METRICS_EVENT_ROOM_JOIN);
    metrics_event_in(metrics_event_from_name("hack", 4));
    metrics_event_out(METRICS_EVENT_MESSAGE, 30);
    metrics_event_out(METRICS_EVENT_USER_CONNECTED, 7);
    metrics_http_status(200);
    metrics_http_status(200);
    metrics_http_status(200);
    metrics_http_status(404);
    metrics_redis_latency(0.0002);
    metrics_redis_latency(0.003);
    metrics_redis_latency(2.0);
    metrics_inc(METRICS_REDIS_ERRORS);
    metrics_inc(METRICS_BROADCASTS);
    metrics_inc(METRICS_BROADCASTS);
    metrics_inc(METRICS_OUTBOX_OVERFLOWS);
    metrics_inc(METRICS_LOGIN_FAILURES);
    metrics_gauge_add(METRICS_SESSIONS, 5);
    metrics_gauge_add(METRICS_SESSIONS, -1);
    metrics_gauge_add(METRICS_HASH_QUEUE_DEPTH, 2);
    assert_int_equal(metrics_gauge_value(METRICS_SESSIONS), 4);
    assert_int_equal(metrics_gauge_value(METRICS_HASH_QUEUE_DEPTH), 2);

    char *text = render();
    static const char *const lines[] = {
        "# HELP chatd_connections Open client connections by transport.",
        "# TYPE chatd_connections gauge",
        "chatd_connections{transport=\"polling\"} 2",
        "chatd_connections{transport=\"websocket\"} 2",
        "# TYPE chatd_events_in_total counter",
        "chatd_events_in_total{event=\"message\"} 2",
        "chatd_events_in_total{event=\"typing\"} 0",
        "chatd_events_in_total{event=\"room.join\"} 1",
        "chatd_events_in_total{event=\"room.read\"} 0",
        "chatd_events_in_total{event=\"other\"} 1",
        "# TYPE chatd_events_out_total counter",
        "chatd_events_out_total{event=\"message\"} 30",
        "chatd_events_out_total{event=\"user.connected\"} 7",
        "chatd_events_out_total{event=\"user.disconnected\"} 0",
        "chatd_events_out_total{event=\"show.room\"} 0",
        "chatd_events_out_total{event=\"room.read\"} 0",
        "chatd_events_out_total{event=\"other\"} 0",
        "# TYPE chatd_http_requests_total counter",
        "chatd_http_requests_total{code=\"200\"} 3",
        "chatd_http_requests_total{code=\"404\"} 1",
        "# TYPE chatd_redis_latency_seconds histogram",
        "chatd_redis_latency_seconds_bucket{le=\"0.0001\"} 0",
        "chatd_redis_latency_seconds_bucket{le=\"0.00025\"} 1",
        "chatd_redis_latency_seconds_bucket{le=\"0.0025\"} 1",
        "chatd_redis_latency_seconds_bucket{le=\"0.005\"} 2",
        "chatd_redis_latency_seconds_bucket{le=\"1\"} 2",
        "chatd_redis_latency_seconds_bucket{le=\"+Inf\"} 3",
        "chatd_redis_latency_seconds_sum 2.003200000",
        "chatd_redis_latency_seconds_count 3",
        "# TYPE chatd_redis_errors_total counter",
        "chatd_redis_errors_total 1",
        "chatd_broadcasts_total 2",
        "chatd_outbox_overflows_total 1",
        "chatd_login_failures_total 1",
        "# TYPE chatd_sessions gauge",
        "chatd_sessions 4",
        "# TYPE chatd_hash_queue_depth gauge",
        "chatd_hash_queue_depth 2",
        "# TYPE chatd_build_info gauge",
        "# TYPE chatd_start_time_seconds gauge",
        "# TYPE chatd_uptime_seconds gauge",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        expect_line(text, lines[i]);

    /* Only the codes seen; no direction-less events. */
    assert_null(strstr(text, "code=\"500\""));
    assert_null(strstr(text, "chatd_events_in_total{event=\"show.room\"}"));
    assert_null(strstr(text, "chatd_events_out_total{event=\"room.join\"}"));

    const char *build = strstr(text, "\nchatd_build_info{version=\"");
    assert_non_null(build);
    assert_non_null(strstr(build, "\"} 1\n"));
    assert_true(value_of(text, "chatd_start_time_seconds") > 1.6e9);
    assert_true(value_of(text, "chatd_uptime_seconds") >= 0);
    assert_true(value_of(text, "chatd_uptime_seconds") < 60);
    free(text);
}

/* Checks the exposition format 0.0.4 line by line: every family has HELP then
 * TYPE before its samples and is declared once; every sample belongs to the
 * family last declared (histograms through _bucket, _sum and _count), has a
 * well-formed label set and a number as value; counters end in _total. */
static void test_format(void **state)
{
    char *text = render();
    char family[128] = "", type[16] = "", seen[4096] = " ";
    bool helped = false;

    (void)state;
    assert_true(text[strlen(text) - 1] == '\n');
    for (char *line = text, *end; *line != '\0'; line = end + 1) {
        char name[128];
        end = strchr(line, '\n');
        *end = '\0';

        if (strncmp(line, "# HELP ", 7) == 0) {
            assert_int_equal(sscanf(line + 7, "%127s", family), 1);
            assert_true(strlen(line) > 8 + strlen(family)); /* some help text */
            snprintf(name, sizeof name, " %s ", family);
            if (strstr(seen, name) != NULL)
                fail_msg("family %s declared twice", family);
            strncat(seen, name + 1, sizeof seen - strlen(seen) - 1);
            helped = true;
            type[0] = '\0';
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_true(helped);
            assert_int_equal(sscanf(line + 7, "%127s %15s", name, type), 2);
            assert_string_equal(name, family);
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                        strcmp(type, "histogram") == 0);
            if (strcmp(type, "counter") == 0)
                assert_string_equal(family + strlen(family) - 6, "_total");
            helped = false;
            continue;
        }
        assert_true(line[0] != '#');
        assert_true(type[0] != '\0');

        size_t name_len = strcspn(line, "{ ");
        assert_true(name_len < sizeof name);
        memcpy(name, line, name_len);
        name[name_len] = '\0';
        if (strcmp(type, "histogram") == 0) {
            size_t f = strlen(family);
            assert_memory_equal(name, family, f);
            assert_true(strcmp(name + f, "_bucket") == 0 || strcmp(name + f, "_sum") == 0 ||
                        strcmp(name + f, "_count") == 0);
        } else {
            assert_string_equal(name, family);
        }

        const char *rest = line + name_len;
        if (*rest == '{') {
            const char *close = strstr(rest, "\"} ");
            assert_non_null(close);
            /* label="value"(,label="value")* */
            for (const char *p = rest + 1; p < close;) {
                size_t label = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
                assert_true(label > 0);
                assert_memory_equal(p + label, "=\"", 2);
                p = strchr(p + label + 2, '"');
                assert_non_null(p);
                p++;
                if (p < close)
                    assert_true(*p++ == ',');
            }
            rest = close + 2;
        }
        assert_true(*rest == ' ');
        char *num_end;
        strtod(rest + 1, &num_end);
        assert_true(num_end > rest + 1 && *num_end == '\0');
    }
    free(text);
}

static void test_event_names(void **state)
{
    static const struct {
        const char *name;
        enum metrics_event event;
    } names[] = {
        {"message", METRICS_EVENT_MESSAGE},
        {"typing", METRICS_EVENT_TYPING},
        {"room.join", METRICS_EVENT_ROOM_JOIN},
        {"user.connected", METRICS_EVENT_USER_CONNECTED},
        {"user.disconnected", METRICS_EVENT_USER_DISCONNECTED},
        {"show.room", METRICS_EVENT_SHOW_ROOM},
        {"room.read", METRICS_EVENT_ROOM_READ},
        {"other", METRICS_EVENT_OTHER},
        {"Message", METRICS_EVENT_OTHER},
        {"", METRICS_EVENT_OTHER},
        {"room.joined", METRICS_EVENT_OTHER},
    };

    (void)state;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_int_equal(metrics_event_from_name(names[i].name, strlen(names[i].name)),
                         names[i].event);
    /* Lengths, not NULs, delimit the name. */
    assert_int_equal(metrics_event_from_name("messages", 7), METRICS_EVENT_MESSAGE);
    assert_int_equal(metrics_event_from_name("message", 4), METRICS_EVENT_OTHER);
}

/* Drops the uptime line, the one value that changes by itself. */
static void drop_uptime(char *text)
{
    char *p = strstr(text, "\nchatd_uptime_seconds ");

    assert_non_null(p);
    char *end = strchr(p + 1, '\n');
    memmove(p, end, strlen(end) + 1);
}

static void test_out_of_range_is_ignored(void **state)
{
    char *before = render(), *after;

    (void)state;
    metrics_http_status(0);
    metrics_http_status(99);
    metrics_http_status(600);
    metrics_http_status(100000);
    metrics_conn_add((enum metrics_transport)METRICS_TRANSPORT_COUNT, 1);
    metrics_conn_add((enum metrics_transport) - 1, 1);
    metrics_event_in((enum metrics_event)METRICS_EVENT_COUNT);
    metrics_event_out((enum metrics_event)99, 5);
    metrics_inc((enum metrics_counter)METRICS_COUNTER_COUNT);
    metrics_gauge_add((enum metrics_gauge)METRICS_GAUGE_COUNT, 3);
    assert_int_equal(metrics_gauge_value((enum metrics_gauge)METRICS_GAUGE_COUNT), 0);
    after = render();
    drop_uptime(before);
    drop_uptime(after);
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* Both ends of the accepted range count. */
    metrics_http_status(100);
    metrics_http_status(599);
    before = render();
    expect_line(before, "chatd_http_requests_total{code=\"100\"} 1");
    expect_line(before, "chatd_http_requests_total{code=\"599\"} 1");
    free(before);
}

static void test_latency_edges(void **state)
{
    static const char *const buckets[] = {
        "chatd_redis_latency_seconds_bucket{le=\"0.0001\"}",
        "chatd_redis_latency_seconds_bucket{le=\"1\"}",
        "chatd_redis_latency_seconds_bucket{le=\"+Inf\"}",
    };
    double before[3], sum_before = value_now("chatd_redis_latency_seconds_sum");
    char *text;

    (void)state;
    for (size_t i = 0; i < 3; i++)
        before[i] = value_now(buckets[i]);
    metrics_redis_latency(NAN);    /* counts as 0 */
    metrics_redis_latency(-1.0);   /* counts as 0 */
    metrics_redis_latency(0.0001); /* a bound is inclusive */
    metrics_redis_latency(1.0);    /* the last bound */
    metrics_redis_latency(1e300);  /* +Inf, clamped in the sum */
    metrics_redis_latency(INFINITY);

    text = render();
    assert_true(value_of(text, buckets[0]) - before[0] == 3);
    assert_true(value_of(text, buckets[1]) - before[1] == 4);
    assert_true(value_of(text, buckets[2]) - before[2] == 6);
    /* 0.0001 + 1 + 2 * 3600 (the clamp), give or take printing. */
    double sum = value_of(text, "chatd_redis_latency_seconds_sum") - sum_before;
    assert_true(distance(sum, 7201.0001) < 1e-6);
    free(text);
}

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        metrics_inc(METRICS_BROADCASTS);
        metrics_event_in(METRICS_EVENT_TYPING);
        metrics_event_out(METRICS_EVENT_SHOW_ROOM, 2);
        metrics_http_status(201);
        metrics_redis_latency(0.001);
        metrics_conn_add(METRICS_TRANSPORT_WEBSOCKET, 1);
        metrics_gauge_add(METRICS_HASH_QUEUE_DEPTH, 1);
        metrics_conn_add(METRICS_TRANSPORT_WEBSOCKET, -1);
    }
    return NULL;
}

/* Scrapes while the others write: rendering must not disturb them. */
static void *scrape(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++)
        free(render());
    return NULL;
}

static void test_concurrent_updates_add_up(void **state)
{
    static const char *const series[] = {
        "chatd_broadcasts_total",
        "chatd_events_in_total{event=\"typing\"}",
        "chatd_events_out_total{event=\"show.room\"}",
        "chatd_http_requests_total{code=\"201\"}",
        "chatd_redis_latency_seconds_count",
        "chatd_redis_latency_seconds_bucket{le=\"0.001\"}",
        "chatd_redis_latency_seconds_sum",
        "chatd_connections{transport=\"websocket\"}",
        "chatd_hash_queue_depth",
    };
    const double n = (double)THREADS * ROUNDS;
    const double want[] = {n, n, 2 * n, n, n, n, n * 0.001, 0, n};
    double before[sizeof series / sizeof series[0]];
    pthread_t threads[THREADS + 1];
    char *text;

    (void)state;
    metrics_http_status(201); /* so its line exists before */
    text = render();
    for (size_t i = 0; i < sizeof series / sizeof series[0]; i++)
        before[i] = value_of(text, series[i]);
    free(text);

    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, hammer, NULL), 0);
    assert_int_equal(pthread_create(&threads[THREADS], NULL, scrape, NULL), 0);
    for (int t = 0; t <= THREADS; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);

    text = render();
    for (size_t i = 0; i < sizeof series / sizeof series[0]; i++) {
        double got = value_of(text, series[i]) - before[i];
        if (distance(got, want[i]) > 1e-6)
            fail_msg("%s grew by %.9f, expected %.9f", series[i], got, want[i]);
    }
    free(text);
}

static void test_render_without_len(void **state)
{
    char *text = metrics_render(NULL);

    (void)state;
    assert_non_null(text);
    assert_non_null(strstr(text, "# TYPE chatd_connections gauge\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_exact), /* first: fresh counters */
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_event_names),
        cmocka_unit_test(test_out_of_range_is_ignored),
        cmocka_unit_test(test_latency_edges),
        cmocka_unit_test(test_concurrent_updates_add_up),
        cmocka_unit_test(test_render_without_len),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
