/* runtime: start and orderly stop of a server process (see runtime.h). */
#include "runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acceptor.h"
#include "addrcap.h"
#include "app.h"
#include "config.h"
#include "engine.h"
#include "hashpool.h"
#include "http.h"
#include "liveness.h"
#include "log.h"
#include "metrics.h"
#include "rconn.h"
#include "sdnotify.h"
#include "worker.h"

/* Rounds of handing work between stopped workers before giving up: work
 * crosses workers a few times at most (a close posts to a session's home,
 * which wakes its transports). */
#define DRAIN_ROUNDS_MAX 64
/* Without a watchdog, how often systemd's STATUS= line is refreshed. */
#define STATUS_PERIOD_MS 10000
#define NOTIFY_PERIOD_MIN_MS 10
/* A worker whose loop has not turned for this long is stuck (it turns at
 * least every WORKER_TICK_MS when it is not). */
#define WORKER_STALL_MS 2000
#define NOTIFY_STATE_MAX 256

/* How long a shutdown waits for its clients to be told to reconnect and
 * for their transports to finish (a WebSocket lingers up to 1 s for its
 * peer's close) before closing what is left. */
#define DRAIN_TIMEOUT_MS 2000
#define DRAIN_POLL_MS 10

/* Under systemd, how long READY=1 waits for every worker to reach Redis:
 * `systemctl start` then returns when chatd can serve.  A Redis still down
 * by then does not hold the start up (chatd answers 503 until it is back). */
#define READY_REDIS_WAIT_MS 5000

static sigset_t wait_set;

/* What runs on one worker's loop: its HTTP server and its Redis
 * connection.  The worker's context. */
struct runtime_worker {
    struct app *app;
    struct worker *loop;
    struct http_server *http;
    struct rconn *redis; /* NULL without Redis, and once closed */
    struct liveness turning; /* the watchdog's samples of the loop's rounds */
};

/* The workers of the running server. */
struct runtime_workers {
    struct runtime_worker *at;
    struct worker **loops; /* the acceptor's list */
    unsigned count;
};

static void hook_start(void *ctx, struct worker *w)
{
    struct runtime_worker *rw = ctx;
    if (rw->app->on_worker_start)
        rw->app->on_worker_start(rw->app->ctx, w);
}

static int hook_adopt(void *ctx, int fd, const struct sockaddr *addr, socklen_t len)
{
    struct runtime_worker *rw = ctx;
    return http_server_add(rw->http, fd, addr, len);
}

static int hook_timeout_ms(void *ctx, int cap)
{
    struct runtime_worker *rw = ctx;
    return http_server_timeout_ms(rw->http, cap);
}

static void hook_after_round(void *ctx)
{
    struct runtime_worker *rw = ctx;
    http_server_run(rw->http);
}

/* Redis reconnects and stalls. */
static void hook_tick(void *ctx, int64_t now_ms)
{
    struct runtime_worker *rw = ctx;
    if (rw->redis)
        rconn_tick(rw->redis, now_ms);
}

/* Pending commands fail now: their requests answer 503 and resume. */
static void hook_close(void *ctx)
{
    struct runtime_worker *rw = ctx;
    rconn_free(rw->redis);
    rw->redis = NULL;
}

static const struct worker_hooks runtime_hooks = {
    .start = hook_start,
    .adopt = hook_adopt,
    .timeout_ms = hook_timeout_ms,
    .after_round = hook_after_round,
    .tick = hook_tick,
    .close = hook_close,
};

/* Worker number i, with its HTTP server and (unless app has none) its Redis
 * connection.  -1 on failure (logged); what was made is then in *rw, for
 * shutdown_workers. */
static int compose_worker(struct app *app, unsigned i, struct runtime_worker *rw)
{
    rw->app = app;
    rw->loop = worker_new(i, &runtime_hooks, rw);
    if (!rw->loop)
        return -1;
    if (!app->without_redis) {
        rw->redis = rconn_new(rw->loop, app->cfg);
        if (!rw->redis) {
            log_error("worker %u: no Redis connection: out of memory", i);
            return -1;
        }
    }
    struct http_options http = {.mounts = &app->mounts,
                                .trust_proxy = app->cfg->trust_proxy,
                                .ipv6_prefix = app->cfg->ipv6_prefix,
                                .max_connections = app->cfg->max_connections,
                                .header_timeout_ms = (int64_t)app->cfg->header_timeout * 1000,
                                .request_timeout_ms = (int64_t)app->cfg->request_timeout * 1000};
    rw->http = http_server_new(rw->loop, &http);
    return rw->http ? 0 : -1;
}

void runtime_block_signals(void)
{
    sigemptyset(&wait_set);
    sigaddset(&wait_set, SIGTERM);
    sigaddset(&wait_set, SIGINT);
    sigaddset(&wait_set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &wait_set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void drain_all(const struct runtime_workers *ws)
{
    for (int round = 0; round < DRAIN_ROUNDS_MAX; round++) {
        unsigned ran = 0;
        for (unsigned i = 0; i < ws->count; i++)
            ran += worker_drain(ws->loops[i]);
        if (!ran)
            return;
    }
    log_warn("shutdown: workers still handing work over; stopping anyway");
}

static bool engines_drained(struct app *app)
{
    for (unsigned e = 0; e < app->nengines; e++)
        if (!engine_drained(app->engines[e]))
            return false;
    return true;
}

/* While the workers still run (the acceptor closed: new connections go to
 * another server): every client is told to reconnect, and its goodbye
 * written, within DRAIN_TIMEOUT_MS. */
static void drain_engines(struct app *app)
{
    for (unsigned e = 0; e < app->nengines; e++)
        engine_drain(app->engines[e]);
    const struct timespec pause = {.tv_nsec = DRAIN_POLL_MS * 1000 * 1000};
    for (int waited = 0; !engines_drained(app); waited += DRAIN_POLL_MS) {
        if (waited >= DRAIN_TIMEOUT_MS) {
            log_warn("shutdown: clients still connected after %d ms; closing them", DRAIN_TIMEOUT_MS);
            return;
        }
        nanosleep(&pause, NULL);
    }
}

/* Whether every worker's Redis connection has been ready once. */
static bool workers_reached_redis(const struct runtime_workers *ws)
{
    for (unsigned i = 0; i < ws->count; i++)
        if (ws->at[i].redis && !rconn_was_ready(ws->at[i].redis))
            return false;
    return true;
}

static void await_redis(const struct runtime_workers *ws)
{
    const struct timespec pause = {.tv_nsec = DRAIN_POLL_MS * 1000 * 1000};
    for (int waited = 0; !workers_reached_redis(ws); waited += DRAIN_POLL_MS) {
        if (waited >= READY_REDIS_WAIT_MS) {
            log_warn("Redis not reached by every worker within %d ms; ready anyway (503 until it is)",
                     READY_REDIS_WAIT_MS);
            return;
        }
        nanosleep(&pause, NULL);
    }
}

/* Stops and frees every worker that was made, in the order worker.h asks. */
static void shutdown_workers(struct app *app, struct runtime_workers *ws)
{
    for (unsigned i = 0; i < ws->count; i++)
        worker_stop(ws->loops[i]);
    for (unsigned i = 0; i < ws->count; i++)
        worker_join(ws->loops[i]);
    /* Queued hashes are cancelled: their requests answer 503. */
    hashpool_free(app->hashes);
    app->hashes = NULL;
    drain_all(ws);
    /* Every session gets a close packet, and its application a goodbye. */
    for (unsigned e = 0; e < app->nengines; e++)
        for (unsigned i = 0; i < ws->count; i++)
            engine_close_worker_sessions(app->engines[e], ws->loops[i]);
    drain_all(ws);
    for (unsigned i = 0; i < ws->count; i++)
        worker_close(ws->loops[i]);
    drain_all(ws);
    /* The daemons close their connections; what that hands over runs before
     * the loops go. */
    for (unsigned i = 0; i < ws->count; i++) {
        http_server_free(ws->at[i].http);
        ws->at[i].http = NULL;
    }
    drain_all(ws);
    for (unsigned i = 0; i < ws->count; i++)
        worker_free(ws->loops[i]);
    ws->count = 0;
}

/* Every worker's loop turns (worker_rounds moves; a loop turns at least
 * every WORKER_TICK_MS, busy or idle): the process is alive, not merely its
 * main thread.  Logs the workers that are stuck. */
static bool workers_turning(struct runtime_workers *ws, int64_t now_ms)
{
    bool all = true;
    for (unsigned i = 0; i < ws->count; i++) {
        struct runtime_worker *rw = &ws->at[i];
        if (!liveness_sample(&rw->turning, worker_rounds(rw->loop), now_ms, WORKER_STALL_MS)) {
            log_error("worker %u has not turned its loop for %" PRId64
                      " ms: no watchdog ping for systemd",
                      i, liveness_still_ms(&rw->turning, now_ms));
            all = false;
        }
    }
    return all;
}

/* What systemctl status shows: where chatd serves, and how busy it is. */
static void notify_state(struct sdnotify *notify, const struct config *cfg, const char *first)
{
    char state[NOTIFY_STATE_MAX];
    snprintf(state, sizeof state, "%s%sSTATUS=serving on %s port %u, %ld sessions", first,
             first[0] ? "\n" : "", cfg->bind, cfg->port, metrics_gauge_value(METRICS_SESSIONS));
    sdnotify_send(notify, state);
}

/* Waits for SIGTERM or SIGINT (SIGHUP is ignored) and returns it.  Under
 * systemd, meanwhile, pings its watchdog every half of its timeout while
 * the workers' loops turn, and refreshes the status line. */
static int wait_for_stop(struct runtime_workers *ws, struct sdnotify *notify,
                         const struct config *cfg)
{
    int64_t watchdog_ms = sdnotify_watchdog_ms(notify);
    int64_t period_ms = watchdog_ms ? watchdog_ms / 2 : STATUS_PERIOD_MS;
    if (period_ms < NOTIFY_PERIOD_MIN_MS)
        period_ms = NOTIFY_PERIOD_MIN_MS; /* a watchdog of a few ms cannot be kept */
    for (;;) {
        int sig;
        if (notify) {
            struct timespec period = {.tv_sec = period_ms / 1000,
                                      .tv_nsec = (long)(period_ms % 1000) * 1000000};
            sig = sigtimedwait(&wait_set, NULL, &period);
        } else if (sigwait(&wait_set, &sig) != 0) {
            sig = -1;
        }
        if (sig == SIGHUP) {
            log_info("SIGHUP ignored: restart chatd to change its configuration");
        } else if (sig >= 0) {
            return sig;
        } else if (errno == EAGAIN) {
            bool alive = !watchdog_ms || workers_turning(ws, worker_now_ms());
            notify_state(notify, cfg, watchdog_ms && alive ? "WATCHDOG=1" : "");
        } else if (errno != EINTR) {
            log_error("waiting for signals: %s", strerror(errno));
            return SIGTERM;
        }
    }
}

int runtime_run(struct app *app)
{
    const struct config *cfg = app->cfg;
    int exit_code = 1;
    struct acceptor *acceptor = NULL;
    /* Under systemd (Type=notify): READY=1 once serving, STOPPING=1 at the
     * start of the shutdown, and the watchdog. */
    struct sdnotify *notify = sdnotify_open();
    /* Behind a proxy (TRUST_PROXY) every peer is the proxy: capping it would
     * cap the site; the proxy caps its clients instead. */
    struct addrcap *per_addr = cfg->trust_proxy ? NULL : addrcap_new(cfg->max_connections_per_addr, cfg->ipv6_prefix);
    struct runtime_workers ws = {.at = calloc(cfg->workers, sizeof *ws.at),
                                 .loops = calloc(cfg->workers, sizeof *ws.loops)};
    if (!ws.at || !ws.loops || (!cfg->trust_proxy && !per_addr))
        goto out;
    acceptor = acceptor_new(cfg, per_addr);
    if (!acceptor)
        goto out;
    for (unsigned i = 0; i < cfg->workers; i++) {
        int rc = compose_worker(app, i, &ws.at[i]);
        if (!ws.at[i].loop)
            goto out;
        ws.loops[ws.count++] = ws.at[i].loop;
        if (rc < 0)
            goto out;
    }
    for (unsigned i = 0; i < ws.count; i++)
        if (worker_start(ws.loops[i]) < 0)
            goto out;
    if (acceptor_start(acceptor, ws.loops, ws.count) < 0)
        goto out;

    char redis[256];
    log_info("chatd %s listening on %s port %u, %u workers, Redis %s, server id %s", CHATD_VERSION,
             cfg->bind, cfg->port, cfg->workers, config_redis_describe(cfg, redis, sizeof redis),
             cfg->server_id);
    if (notify)
        await_redis(&ws);
    notify_state(notify, cfg, "READY=1");
    int sig = wait_for_stop(&ws, notify, cfg);
    log_info("%s: shutting down", strsignal(sig));
    sdnotify_send(notify, "STOPPING=1\nSTATUS=shutting down");
    exit_code = 0;
    /* New connections stop first (a proxy's next attempt goes to another
     * server), then the clients are sent there. */
    acceptor_free(acceptor);
    acceptor = NULL;
    drain_engines(app);

out:
    /* Then the loops; then what they owe. */
    acceptor_free(acceptor);
    shutdown_workers(app, &ws);
    addrcap_free(per_addr); /* after the last connection gave its slot back */
    free(ws.at);
    free(ws.loops);
    sdnotify_close(notify);
    return exit_code;
}

/* The engine API as HTTP handlers. */
static void engine_mount_handle(void *engine, struct http_req *req)
{
    engine_handle(engine, req);
}

static void engine_mount_body_too_large(void *engine, struct http_req *req)
{
    engine_body_too_large(engine, req);
}

int runtime_mount_engine(struct app *app, const char *path, struct engine *e)
{
    if (app->nengines == APP_MAX_ENGINES ||
        http_mount(&app->mounts, path, engine_mount_handle, e, engine_max_body(e),
                   engine_mount_body_too_large) < 0)
        return -1;
    app->engines[app->nengines++] = e;
    return 0;
}
