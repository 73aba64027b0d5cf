/* engine: an Engine.IO v4 endpoint mounted on the HTTP server (e.g. at
 * /socket.io/): checks each request (protocol version, transport, Origin)
 * and hands it to the long-polling or WebSocket transport, whose sessions
 * (eio_session.h) it owns.  The layer above gives its handlers
 * (sio_server_handlers) and sees packets, never a transport.  Requests are
 * handled on the worker that received them; sessions are shared between
 * workers as eio_session.h explains. */
#ifndef CHATD_ENGINE_H
#define CHATD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "eio_session.h"

struct engine;
struct http_req;
struct worker;

struct engine_options {
    const char *path; /* e.g. "/socket.io/" */
    unsigned ping_interval_ms;
    unsigned ping_timeout_ms;
    size_t max_payload;      /* bytes of a POST body or a WebSocket message */
    size_t outbox_max_bytes; /* a slower reader is disconnected */
    size_t outbox_max_packets;
    bool cors_any; /* Access-Control-Allow-Origin: * (conformance server) */
    /* Allowed Origins; none = only the request's own host (any when cors_any). */
    const char *const *origins;
    size_t n_origins;
    /* What binds a session to its client (eio_session.h): every request
     * naming a sid must present its handshake's credential, else it is
     * answered as an unknown session.  Zero: none is ever presented. */
    struct eio_binding bind;
    /* Handshakes one client address may make per minute (0: no limit). */
    unsigned handshakes_per_minute;
    /* Behind a proxy in front of several servers: a request naming a
     * session this server does not hold answers 503 rather than 400, so
     * the proxy passes it on to the server that holds it (nginx's
     * proxy_next_upstream http_503). */
    bool behind_proxy;
};

/* Creates an endpoint.  NULL on OOM. */
struct engine *engine_new(const struct engine_options *opt, const struct eio_handlers *h);

/* Every session must be closed already (engine_close_worker_sessions on each
 * worker, then the workers drained).  NULL-safe. */
void engine_free(struct engine *e);

/* Whether url belongs to the endpoint's path ("/socket.io/" or "/socket.io"). */
bool engine_owns(const struct engine *e, const char *url);

/* The largest request body the endpoint accepts (its max payload). */
size_t engine_max_body(const struct engine *e);

/* A request under the path whose body is over engine_max_body: its session
 * (if any) is closed, as the protocol asks. */
void engine_body_too_large(struct engine *e, struct http_req *req);

/* Handles a request under the path (handshake, poll, post, upgrade);
 * answers it itself, now or later. */
void engine_handle(struct engine *e, struct http_req *req);

/* A shutdown's first step, while the workers still run (any thread): new
 * handshakes answer 503 (a proxy then tries another server), and every
 * session is closed with a close packet, a WebSocket with 1001 (going
 * away), as "server shutting down": its client reconnects, elsewhere, and
 * may recover its state there. */
void engine_drain(struct engine *e);

/* Whether a drained endpoint has no session left and every transport has
 * written its goodbye (or given up on its peer). */
bool engine_drained(struct engine *e);

/* Closes every session whose home is w, with a close packet (shutdown). */
void engine_close_worker_sessions(struct engine *e, struct worker *w);

/* Closes every session opened with the credential of digest (any thread,
 * holding no session's lock): e.g. the login session it belongs to has
 * ended.  How many it closed; with settle, on return none of them handles
 * a packet (eio_sessions_close_bound). */
size_t engine_close_bound(struct engine *e, const unsigned char digest[EIO_CREDENTIAL_BYTES],
                          const char *reason, bool settle);

#endif
