/* rconn: a worker's Redis connection on the worker's epoll (see rconn.h). */
#include "rconn.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <hiredis/async.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "sentinel.h"
#include "timerheap.h"
#include "worker.h"

#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 2000
/* A connection that has owed a reply this long is presumed dead: drop it
 * so waiting requests fail (503) instead of hanging. */
#define STALL_TIMEOUT_MS 5000
#define CONNECT_TIMEOUT_MS 3000
/* After a WAIT found too few replicas, messages are refused before they are
 * stored for this long: each WAIT that falls short holds the connection for
 * its whole timeout, and everything queued behind it waits too. */
#define REPLICAS_SHORT_MS 500

enum rconn_state { RC_DOWN, RC_CONNECTING, RC_INITIALIZING, RC_READY };

/* Bumped whenever some worker's connection becomes ready: the others, if
 * down, retry at once instead of finishing their backoff, so the whole
 * server is back within a tick of Redis. */
static atomic_uint ready_generation;

struct rconn {
    struct worker *worker;
    const struct config *cfg;
    redisAsyncContext *ac;
    struct watcher watch;
    enum rconn_state state;
    unsigned init_pending; /* setup replies still owed */
    unsigned pending;      /* commands in flight */
    int64_t progress_ms;   /* last reply, or when pending became 1 */
    int64_t retry_at_ms;
    int64_t backoff_ms;
    unsigned seen_generation;
    bool logged_down;                /* log an outage once, not every retry */
    bool demoted;                    /* a write was refused as READONLY: the master moved */
    unsigned target_generation;      /* sentinel_generation() of the address in use */
    char where[CONFIG_HOST_MAX + 8]; /* "host:port" or the socket path, for /healthz */
    int64_t replicas_short_until;    /* see REPLICAS_SHORT_MS */
    atomic_bool was_ready;           /* read by the main thread: rconn_was_ready */
    struct timer flush;              /* see ev_add_write */
    bool writing;                    /* inside hiredis's write: EPOLLOUT is meant */
};

/* One command in flight. */
struct pending_cmd {
    struct rconn *r;
    rconn_cb *cb;
    void *priv;
    int64_t sent_ms;
    unsigned replicas; /* a WAIT for this many, else 0 */
};

static void connection_lost(struct rconn *r, const char *why);

/* ---- epoll glue (hiredis ev hooks) ---------------------------------- */

static void update_interest(struct rconn *r, uint32_t add, uint32_t del)
{
    uint32_t events = (r->watch.events | add) & ~del;
    if (events == r->watch.events)
        return;
    if (worker_watch(r->worker, &r->watch, events) < 0)
        log_error("redis: epoll registration failed");
}

static void ev_add_read(void *p)
{
    update_interest(p, EPOLLIN, 0);
}
static void ev_del_read(void *p)
{
    update_interest(p, 0, EPOLLIN);
}
/* hiredis asks for EPOLLOUT after every command it queues.  Once connected,
 * what a loop round queued is written by a timer due at once instead (the
 * round's commands in one write, and no epoll_ctl to add EPOLLOUT and drop
 * it again: 2 syscalls per batch, 4-6 % of a history page's CPU); EPOLLOUT
 * only when the socket did not take everything, or while connecting. */
static void ev_add_write(void *p)
{
    struct rconn *r = p;
    bool connected = r->ac && (r->ac->c.flags & REDIS_CONNECTED);
    if (connected && !r->writing &&
        (timer_pending(&r->flush) ||
         worker_timer_schedule(r->worker, &r->flush, worker_now_ms()) == 0))
        return;
    update_interest(r, EPOLLOUT, 0);
}

static void write_pending(struct rconn *r)
{
    r->writing = true;
    redisAsyncHandleWrite(r->ac); /* may drop the connection: r->ac NULL */
    r->writing = false;
}

static void on_flush(struct timer *t)
{
    struct rconn *r = (struct rconn *)((char *)t - offsetof(struct rconn, flush));
    if (r->ac && (r->ac->c.flags & REDIS_CONNECTED))
        write_pending(r);
}
static void ev_del_write(void *p)
{
    update_interest(p, 0, EPOLLOUT);
}

static void ev_cleanup(void *p)
{
    struct rconn *r = p;
    if (r->watch.events)
        worker_watch(r->worker, &r->watch, 0);
    r->watch.events = 0;
}

static void on_fd_ready(struct watcher *wt, uint32_t events)
{
    struct rconn *r = (struct rconn *)((char *)wt - offsetof(struct rconn, watch));
    /* Either call may free the context (connection lost): re-check. */
    if (r->ac && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        redisAsyncHandleRead(r->ac);
    if (r->ac && (events & EPOLLOUT))
        write_pending(r);
}

/* ---- connection life ------------------------------------------------- */

static void schedule_retry(struct rconn *r)
{
    r->state = RC_DOWN;
    r->ac = NULL;
    r->init_pending = 0;
    r->retry_at_ms = worker_now_ms() + r->backoff_ms;
    r->backoff_ms = r->backoff_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : r->backoff_ms * 2;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct rconn *r = ac->data;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        if (!r->logged_down)
            log_warn("redis: connect failed: %s", ac->errstr);
        r->logged_down = true;
        sentinel_suspect();
        schedule_retry(r);
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct rconn *r = ac->data;
    if (r->state == RC_READY)
        log_warn("redis: connection lost%s%s", status == REDIS_OK ? "" : ": ",
                 status == REDIS_OK ? "" : ac->errstr);
    r->logged_down = true;
    sentinel_suspect();
    schedule_retry(r);
}

static void on_init_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct rconn *r = privdata;
    redisReply *rep = reply;
    if (!rep || r->state != RC_INITIALIZING)
        return; /* the connection is going away; on_disconnect handles it */
    if (rep->type == REDIS_REPLY_ERROR) {
        log_error("redis: setup failed: %s", rep->str);
        connection_lost(r, NULL);
        return;
    }
    if (--r->init_pending == 0) {
        r->state = RC_READY;
        atomic_store_explicit(&r->was_ready, true, memory_order_relaxed);
        r->backoff_ms = RECONNECT_MIN_MS;
        r->seen_generation = atomic_fetch_add(&ready_generation, 1) + 1;
        if (r->logged_down)
            log_info("redis: connected (worker %u)", worker_index(r->worker));
        r->logged_down = false;
    }
    (void)ac;
}

static int send_init(struct rconn *r, int argc, const char **argv)
{
    r->init_pending++;
    return redisAsyncCommandArgv(r->ac, on_init_reply, r, argc, argv, NULL) == REDIS_OK ? 0 : -1;
}

static void start_connect(struct rconn *r)
{
    const struct config *cfg = r->cfg;
    struct sentinel_addr master;
    r->demoted = false;
    r->target_generation = sentinel_generation();
    if (!cfg->redis.unix_path[0] && !sentinel_master(cfg, &master)) {
        r->logged_down = true; /* the Sentinels know of no master: wait for them */
        schedule_retry(r);
        return;
    }
    if (cfg->redis.unix_path[0])
        snprintf(r->where, sizeof r->where, "%s", cfg->redis.unix_path);
    else
        snprintf(r->where, sizeof r->where, "%s:%u", master.host, master.port);
    r->target_generation = cfg->redis.unix_path[0] ? 0 : master.generation;
    redisAsyncContext *ac = cfg->redis.unix_path[0]
                                ? redisAsyncConnectUnix(cfg->redis.unix_path)
                                : redisAsyncConnect(master.host, (int)master.port);
    if (!ac || ac->err) {
        if (!r->logged_down)
            log_warn("redis: connect failed: %s", ac ? ac->errstr : "out of memory");
        r->logged_down = true;
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(r);
        return;
    }
    r->ac = ac;
    r->state = RC_CONNECTING;
    r->progress_ms = worker_now_ms();
    r->watch.fd = ac->c.fd;
    r->watch.events = 0;
    ac->data = r;
    ac->ev.data = r;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);

    /* Queued now, sent once connected, answered before any request's
     * command: the connection is ready when the last of these answers. */
    r->state = RC_INITIALIZING;
    int rc = 0;
    char db[16];
    if (cfg->redis.username[0])
        rc |= send_init(r, 3, (const char *[]){"AUTH", cfg->redis.username, cfg->redis.password});
    else if (cfg->redis.password[0])
        rc |= send_init(r, 2, (const char *[]){"AUTH", cfg->redis.password});
    if (cfg->redis.db) {
        snprintf(db, sizeof db, "%d", cfg->redis.db);
        rc |= send_init(r, 2, (const char *[]){"SELECT", db});
    }
    for (int s = 0; s < SCRIPT_COUNT; s++)
        rc |= send_init(r, 3, (const char *[]){"SCRIPT", "LOAD", store_script_source(s)});
    if (rc)
        connection_lost(r, "could not queue setup commands");
}

/* Drops the connection: every pending callback gets NULL. */
static void connection_lost(struct rconn *r, const char *why)
{
    if (why)
        log_warn("redis: %s; reconnecting", why);
    redisAsyncContext *ac = r->ac;
    if (!ac)
        return;
    r->state = RC_DOWN;
    /* on_disconnect (connected) or nothing (not yet) follows; either way
     * the context is gone after this. */
    redisAsyncFree(ac);
    if (r->ac == ac)
        schedule_retry(r);
}

/* Each worker's connection, by worker index.  A slot is written before its
 * worker's thread starts and cleared after it stopped (pthread_create and
 * pthread_join order those writes with the worker's reads). */
static struct rconn *of_worker[CONFIG_WORKERS_MAX];

struct rconn *rconn_of(const struct worker *w)
{
    unsigned i = worker_index(w);
    return i < CONFIG_WORKERS_MAX ? of_worker[i] : NULL;
}

struct rconn *rconn_new(struct worker *w, const struct config *cfg)
{
    unsigned i = worker_index(w);
    if (i >= CONFIG_WORKERS_MAX || of_worker[i]) {
        log_error("worker %u has a Redis connection already", i);
        return NULL;
    }
    struct rconn *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    of_worker[i] = r;
    r->worker = w;
    r->cfg = cfg;
    r->watch.fd = -1;
    r->watch.fn = on_fd_ready;
    timer_init(&r->flush, on_flush);
    r->backoff_ms = RECONNECT_MIN_MS;
    start_connect(r);
    return r;
}

void rconn_free(struct rconn *r)
{
    if (!r)
        return;
    of_worker[worker_index(r->worker)] = NULL;
    worker_timer_cancel(r->worker, &r->flush);
    if (r->ac) {
        r->state = RC_DOWN;
        redisAsyncContext *ac = r->ac;
        ac->onDisconnect = NULL;
        redisAsyncFree(ac);
    }
    free(r);
}

void rconn_tick(struct rconn *r, int64_t now_ms)
{
    bool moved = sentinel_generation() != r->target_generation;
    if (r->state != RC_DOWN && (moved || r->demoted)) {
        connection_lost(r, moved ? "the Redis master moved" : "the Redis master became a replica");
        if (r->state == RC_DOWN)
            r->retry_at_ms = now_ms; /* to the new master at once */
        return;
    }
    switch (r->state) {
    case RC_DOWN:
        if (now_ms >= r->retry_at_ms || moved ||
            atomic_load(&ready_generation) != r->seen_generation) {
            r->seen_generation = atomic_load(&ready_generation);
            start_connect(r);
        }
        break;
    case RC_CONNECTING:
    case RC_INITIALIZING:
        if (now_ms - r->progress_ms > CONNECT_TIMEOUT_MS)
            connection_lost(r, "connect timed out");
        break;
    case RC_READY:
        if (r->pending && now_ms - r->progress_ms > STALL_TIMEOUT_MS)
            connection_lost(r, "no reply for too long");
        break;
    }
}

bool rconn_ready(const struct rconn *r)
{
    return r->state == RC_READY;
}

bool rconn_was_ready(const struct rconn *r)
{
    return atomic_load_explicit(&r->was_ready, memory_order_relaxed);
}

const char *rconn_where(const struct rconn *r)
{
    return r->where;
}

/* ---- commands -------------------------------------------------------- */

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct pending_cmd *pc = privdata;
    struct rconn *r = pc->r;
    int64_t now = worker_now_ms();
    r->pending--;
    r->progress_ms = now;
    redisReply *rep = reply;
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        metrics_inc(METRICS_REDIS_ERRORS);
    else
        metrics_redis_latency((double)(now - pc->sent_ms) / 1000.0);
    if (rep && rep->type == REDIS_REPLY_ERROR) {
        log_warn("redis: %s", rep->str);
        if (strncmp(rep->str, "READONLY", 8) == 0 && !r->demoted) {
            r->demoted = true; /* dropped at the next tick, not inside hiredis' callback */
            sentinel_suspect();
        }
    }
    if (pc->replicas && (!rep || rep->type != REDIS_REPLY_INTEGER || rep->integer < pc->replicas))
        r->replicas_short_until = now + REPLICAS_SHORT_MS;
    pc->cb(pc->priv, rep);
    free(pc);
    (void)ac;
}

static int send_command(struct rconn *r, rconn_cb *cb, void *priv, int argc, const char **argv,
                        const size_t *lens, unsigned replicas)
{
    if (r->state != RC_READY)
        return -1;
    struct pending_cmd *pc = malloc(sizeof *pc);
    if (!pc)
        return -1;
    *pc = (struct pending_cmd){
        .r = r, .cb = cb, .priv = priv, .sent_ms = worker_now_ms(), .replicas = replicas};
    if (redisAsyncCommandArgv(r->ac, on_reply, pc, argc, argv, lens) != REDIS_OK) {
        free(pc);
        return -1;
    }
    if (r->pending++ == 0)
        r->progress_ms = pc->sent_ms;
    return 0;
}

int rconn_command(struct rconn *r, rconn_cb *cb, void *priv, int argc, const char **argv,
                  const size_t *lens)
{
    return send_command(r, cb, priv, argc, argv, lens, 0);
}

int rconn_commandv(struct rconn *r, rconn_cb *cb, void *priv, int argc, const char **argv)
{
    return rconn_command(r, cb, priv, argc, argv, NULL);
}

#define SCRIPT_MAX_ARGS 128

int rconn_script(struct rconn *r, enum store_script s, rconn_cb *cb, void *priv, int nkeys,
                 const char **keys, int nargs, const char **args)
{
    if (nkeys < 0 || nargs < 0 || nkeys + nargs + 3 > SCRIPT_MAX_ARGS)
        return -1;
    const char *argv[SCRIPT_MAX_ARGS];
    char nk[12];
    snprintf(nk, sizeof nk, "%d", nkeys);
    int argc = 0;
    argv[argc++] = "EVALSHA";
    argv[argc++] = store_script_sha(s);
    argv[argc++] = nk;
    for (int i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    for (int i = 0; i < nargs; i++)
        argv[argc++] = args[i];
    return rconn_command(r, cb, priv, argc, argv, NULL);
}

bool rconn_is_error(const redisReply *reply)
{
    return !reply || reply->type == REDIS_REPLY_ERROR;
}

const char *rconn_str(const redisReply *reply, size_t *len)
{
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS))
        return NULL;
    if (len)
        *len = reply->len;
    return reply->str;
}

int rconn_call(struct rconn *r, const struct store_call *call, rconn_cb *cb, void *priv)
{
    const char *args[STORE_CALL_ARGS_MAX + 1];
    int nargs = store_call_args(call, args);
    if (nargs < 0)
        return -1;
    /* rconn_script only reads the arrays. */
    return rconn_script(r, call->script, cb, priv, call->nkeys, (const char **)call->keys, nargs,
                        args);
}

int rconn_wait_replicas(struct rconn *r, unsigned replicas, unsigned timeout_ms, rconn_cb *cb,
                        void *priv)
{
    char n[12], ms[12];
    snprintf(n, sizeof n, "%u", replicas);
    snprintf(ms, sizeof ms, "%u", timeout_ms);
    return send_command(r, cb, priv, 3, (const char *[]){"WAIT", n, ms}, NULL, replicas);
}

bool rconn_replicas_short(const struct rconn *r)
{
    return worker_now_ms() < r->replicas_short_until;
}
