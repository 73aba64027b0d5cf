/* route_ctx: what the routes work with, filled by main.c and handed to
 * routes_handle as its http_handler context. */
#ifndef CHATD_ROUTE_CTX_H
#define CHATD_ROUTE_CTX_H

#include <stddef.h>

struct chat;
struct config;
struct preload_gate;
struct hashpool;
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

#endif
