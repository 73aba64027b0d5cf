/* routes: chatd's HTTP API and the web app's files, as the HTTP server's
 * fallback handler (the Engine.IO endpoint is mounted beside it).  Each
 * route is a short chain: validate, (resolve the session,) one Redis round
 * trip, answer.  Worker threads; the context is read-only while serving. */
#ifndef CHATD_ROUTES_H
#define CHATD_ROUTES_H

#include "route_ctx.h"     /* struct routes_ctx */
#include "route_preload.h" /* routes_preload_gate_new, _free */

struct http_req;

/* An http_handler: ctx is a struct routes_ctx. */
void routes_handle(void *ctx, struct http_req *req);

#endif
