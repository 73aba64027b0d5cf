/* route_preload: GET /room/0/preload, the public room's newest messages
 * for a visitor with no session, counted per address (PRELOADS_PER_MINUTE). */
#ifndef CHATD_ROUTE_PRELOAD_H
#define CHATD_ROUTE_PRELOAD_H

struct config;
struct preload_gate;
struct http_req;

/* The per-address count of preloads, shared by every worker (locked).
 * NULL on OOM. */
struct preload_gate *routes_preload_gate_new(const struct config *cfg);
/* NULL-safe; after the last request. */
void routes_preload_gate_free(struct preload_gate *g);

/* GET /room/0/preload: answered with an ETag, 304 when unchanged. */
void preload_start(struct http_req *req);

#endif
