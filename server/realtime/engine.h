/* engine: Engine.IO v4 sessions over HTTP long-polling and WebSocket, on the
 * workers' loops.  The layer above (sio_server) sees packets, never a
 * transport.
 *
 * Threads.  A session is created on one worker (its *home*: its timers run
 * there) but its requests may arrive on any worker: a browser's poll and its
 * POSTs travel on different TCP connections, and the acceptor spreads those.
 * So a session is a shared, reference-counted object with two locks:
 *   - in_lock serializes what comes in (packets, upgrade, close) and is held
 *     while the layer above handles a packet;
 *   - out_lock (a leaf: nothing else is taken while holding it) guards the
 *     outbox and the transport pointers, so any thread may queue a packet.
 * Lock order: in_lock, then any application lock, then out_lock.
 * A queued packet wakes the worker whose transport can carry it: the one
 * owning the WebSocket, or the one holding the pending long-poll. */
#ifndef CHATD_ENGINE_H
#define CHATD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eio.h"

struct engine;
struct eio_session;
struct http_req;
struct worker;

/* What the layer above is told.  Every callback runs on some worker's
 * thread with the session's in_lock held; it may queue packets, and may
 * close the session (the close then happens after the callback). */
struct engine_handlers {
    /* A new session.  req is its handshake request (its cookie, address,
     * headers); it is valid only during the call.  Return 0 to accept, or
     * -1 to refuse (the client gets 403). */
    int (*on_open)(void *ctx, struct eio_session *s, struct http_req *req);
    /* A message packet (text or binary). */
    void (*on_message)(void *ctx, struct eio_session *s, struct worker *w,
                       const struct eio_packet *p);
    /* The session is closed; no callback follows.  reason is static text
     * ("transport close", "ping timeout", "parse error", …). */
    void (*on_close)(void *ctx, struct eio_session *s, const char *reason);
    /* Runs every ping interval on the session's home worker, for timers of
     * the layer above (e.g. Socket.IO's connect timeout).  May be NULL. */
    void (*on_tick)(void *ctx, struct eio_session *s, int64_t now_ms);
    void *ctx;
};

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
};

/* Creates an engine (one per mounted path).  NULL on OOM. */
struct engine *engine_new(const struct engine_options *opt, const struct engine_handlers *h);

/* Frees the engine; every session must be closed already (engine_close_all
 * on each worker).  NULL-safe. */
void engine_free(struct engine *e);

/* Whether url belongs to the engine's path. */
bool engine_owns(const struct engine *e, const char *url);

/* The largest request body the engine accepts (its max payload). */
size_t engine_max_body(const struct engine *e);

/* A request under the engine's path whose body is over engine_max_body:
 * its session (if any) is closed, as the protocol asks. */
void engine_body_too_large(struct engine *e, struct http_req *req);

/* Handles an HTTP request under the engine's path (handshake, poll, post,
 * upgrade).  Answers the request itself, now or later. */
void engine_handle(struct engine *e, struct http_req *req);

/* Closes every session whose home is this worker, with a close packet
 * (shutdown).  Worker thread only. */
void engine_close_worker_sessions(struct engine *e, struct worker *w);

/* ---- sessions ---------------------------------------------------------- */

/* The session id (20 characters). */
const char *eio_session_id(const struct eio_session *s);

/* The layer above's pointer. */
void *eio_session_data(const struct eio_session *s);
void eio_session_set_data(struct eio_session *s, void *data);

/* Takes or drops a reference (any thread).  A session stays allocated while
 * referenced; a closed one accepts and drops packets. */
void eio_session_ref(struct eio_session *s);
void eio_session_unref(struct eio_session *s);

/* Queues a message packet (any thread).  text: data is the message, copied.
 * Returns 0, or -1 when the session is closed or its outbox is full (the
 * session is then closed: a slow consumer). */
int eio_session_send(struct eio_session *s, bool binary, const void *data, size_t len);

/* A packet built once and queued on many sessions (a broadcast): the
 * buffer is shared, never copied.  Release with sbuf_unref (outq.h). */
struct sbuf;
struct sbuf *engine_packet_new(enum eio_type type, bool binary, const void *data, size_t len);
/* Queues a packet of engine_packet_new (any thread), as eio_session_send. */
int eio_session_send_packet(struct eio_session *s, struct sbuf *packet);

/* Takes or releases the session's in_lock (recursive): what a layer above
 * does to its own per-session state outside a callback happens under it. */
void eio_session_lock(struct eio_session *s);
void eio_session_unlock(struct eio_session *s);

/* Closes the session (any thread): the client gets a close packet.  Safe on
 * an already closed session. */
void eio_session_close(struct eio_session *s, const char *reason);

#endif
