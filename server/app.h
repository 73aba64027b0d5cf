/* app: what every thread of one chatd process shares, read-only after start
 * (or internally synchronized). */
#ifndef CHATD_APP_H
#define CHATD_APP_H

#include <stdbool.h>

#include "http.h"

struct config;
struct engine;
struct hashpool;
struct worker;

#define APP_MAX_ENGINES 2

struct app {
    const struct config *cfg;
    struct hashpool *hashes; /* password hashing, off the loops */

    /* What the HTTP servers serve: the Engine.IO endpoints
     * (runtime_mount_engine, also listed here), then everything else. */
    struct http_mounts mounts;
    struct engine *engines[APP_MAX_ENGINES];
    unsigned nengines;
    bool without_redis; /* the conformance server has no Redis */
    /* Runs on each worker's thread as its loop starts; may be NULL. */
    void (*on_worker_start)(void *ctx, struct worker *w);
    void *ctx;
};

#endif
