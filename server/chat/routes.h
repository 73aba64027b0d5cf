/* routes: chatd's HTTP API and the web app's files, as the HTTP server's
 * fallback handler (the Engine.IO endpoint is mounted beside it).  Each
 * route is a short chain: validate, (resolve the session,) one Redis round
 * trip, answer.  Worker threads; the context is read-only while serving. */
#ifndef CHATD_ROUTES_H
#define CHATD_ROUTES_H

#include <stddef.h>

struct chat;
struct config;
struct preload_gate;
struct hashpool;
struct http_req;
struct static_root;

/* What the routes work with; it outlives the HTTP servers. */
struct routes_ctx {
    const struct config *cfg;
    struct hashpool *hashes; /* password hashing, off the loops */
    struct static_root *web; /* WEB_ROOT; NULL serves the API only */
    struct chat *chat;       /* whose connections a logout closes here */
    /* ALLOWED_ORIGINS as pointers (none: the request's own host only). */
    const char *const *origins;
    size_t n_origins;
    /* GET /room/0/preload per address (PRELOADS_PER_MINUTE); NULL: none. */
    struct preload_gate *preloads;
};

/* The per-address count of preloads, shared by every worker (locked).
 * NULL on OOM. */
struct preload_gate *routes_preload_gate_new(const struct config *cfg);
/* NULL-safe; after the last request. */
void routes_preload_gate_free(struct preload_gate *g);

/* An http_handler: ctx is a struct routes_ctx. */
void routes_handle(void *ctx, struct http_req *req);

#endif
