/* routes: chatd's HTTP API and the web app's files, as the HTTP server's
 * fallback handler (the Engine.IO endpoint is mounted beside it).  Each
 * route is a short chain: validate, (resolve the session,) one Redis round
 * trip, answer.  Worker threads; the context is read-only while serving. */
#ifndef CHATD_ROUTES_H
#define CHATD_ROUTES_H

#include "route_ctx.h" /* struct routes_ctx */

struct config;
struct http_req;
struct preload_gate;

/* The per-address count of preloads, shared by every worker (locked).
 * NULL on OOM. */
struct preload_gate *routes_preload_gate_new(const struct config *cfg);
/* NULL-safe; after the last request. */
void routes_preload_gate_free(struct preload_gate *g);

/* An http_handler: ctx is a struct routes_ctx. */
void routes_handle(void *ctx, struct http_req *req);

#endif
