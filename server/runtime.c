/* runtime: start and orderly stop of a server process (see runtime.h). */
#include "runtime.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "acceptor.h"
#include "app.h"
#include "config.h"
#include "engine.h"
#include "hashpool.h"
#include "log.h"
#include "worker.h"

/* Rounds of handing work between stopped workers before giving up: work
 * crosses workers a few times at most (a close posts to a session's home,
 * which wakes its transports). */
#define DRAIN_ROUNDS_MAX 64

static sigset_t wait_set;

void runtime_block_signals(void)
{
    sigemptyset(&wait_set);
    sigaddset(&wait_set, SIGTERM);
    sigaddset(&wait_set, SIGINT);
    sigaddset(&wait_set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &wait_set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void drain_all(struct app *app)
{
    for (int round = 0; round < DRAIN_ROUNDS_MAX; round++) {
        unsigned ran = 0;
        for (unsigned i = 0; i < app->nworkers; i++)
            ran += worker_drain(app->workers[i]);
        if (!ran)
            return;
    }
    log_warn("shutdown: workers still handing work over; stopping anyway");
}

static void shutdown_workers(struct app *app)
{
    for (unsigned i = 0; i < app->nworkers; i++)
        worker_stop(app->workers[i]);
    for (unsigned i = 0; i < app->nworkers; i++)
        worker_join(app->workers[i]);
    /* Queued hashes are cancelled: their requests answer 503. */
    hashpool_free(app->hashes);
    app->hashes = NULL;
    drain_all(app);
    /* Every session gets a close packet, and its application a goodbye. */
    for (unsigned e = 0; e < app->nengines; e++)
        for (unsigned i = 0; i < app->nworkers; i++)
            engine_close_worker_sessions(app->engines[e], app->workers[i]);
    drain_all(app);
    for (unsigned i = 0; i < app->nworkers; i++)
        worker_close(app->workers[i]);
    drain_all(app);
    for (unsigned i = 0; i < app->nworkers; i++)
        worker_free(app->workers[i]);
    app->nworkers = 0;
}

int runtime_run(struct app *app)
{
    const struct config *cfg = app->cfg;
    int exit_code = 1;
    struct acceptor *acceptor = NULL;
    app->workers = calloc(cfg->workers, sizeof *app->workers);
    if (!app->workers)
        goto out;
    acceptor = acceptor_new(app);
    if (!acceptor)
        goto out;
    for (unsigned i = 0; i < cfg->workers; i++) {
        app->workers[i] = worker_new(app, i);
        if (!app->workers[i])
            goto out;
        app->nworkers++;
    }
    for (unsigned i = 0; i < app->nworkers; i++)
        if (worker_start(app->workers[i]) < 0)
            goto out;
    if (acceptor_start(acceptor) < 0)
        goto out;

    char redis[256];
    log_info("chatd %s listening on %s port %u, %u workers, Redis %s, server id %s", CHATD_VERSION,
             cfg->bind, cfg->port, cfg->workers, config_redis_describe(cfg, redis, sizeof redis),
             cfg->server_id);
    int sig = 0;
    while (sigwait(&wait_set, &sig) == 0 && sig == SIGHUP)
        log_info("SIGHUP ignored: restart chatd to change its configuration");
    log_info("%s: shutting down", strsignal(sig));
    exit_code = 0;

out:
    /* New connections stop first; then the loops; then what they owe. */
    acceptor_free(acceptor);
    shutdown_workers(app);
    free(app->workers);
    app->workers = NULL;
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

struct rconn *runtime_redis(struct worker *w)
{
    return worker_redis(w);
}
