/* app: what every thread of one chatd process shares, read-only after start
 * (or internally synchronized). */
#ifndef CHATD_APP_H
#define CHATD_APP_H

#include <stdatomic.h>
#include <stdbool.h>

struct config;
struct engine;
struct hashpool;
struct http_req;
struct static_root;
struct worker;

#define APP_MAX_ENGINES 2

struct app {
    const struct config *cfg;
    struct hashpool *hashes; /* password hashing, off the loops */
    struct static_root *web; /* WEB_ROOT, NULL when absent */
    struct worker **workers;
    unsigned nworkers;
    atomic_uint connections; /* open client sockets, all workers */

    /* Engine.IO endpoints (e.g. /socket.io/), then everything else. */
    struct engine *engines[APP_MAX_ENGINES];
    unsigned nengines;
    void (*dispatch)(struct http_req *req);
    bool without_redis; /* the conformance server has no Redis */
    /* Runs on each worker's thread as its loop starts; may be NULL. */
    void (*on_worker_start)(void *ctx, struct worker *w);
    void *ctx;
};

#endif
