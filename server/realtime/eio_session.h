/* eio_session: Engine.IO v4 sessions — the sid table, the sessions' life,
 * references and locks, their heartbeat and their bounded outbox.  This
 * module owns struct eio_session: the layer above (sio_server) sees packets
 * and never a transport; the transports (eio_polling, eio_websocket) attach
 * through eio_transport.h and never see a session's fields.  Its files
 * (eio_sessions.c, eio_session_*.c, eio_transport.c) share the struct
 * through eio_session_internal.h, which lists them; no other file includes
 * that header.
 *
 * Threads.  A session is created on one worker (its *home*: its timer and
 * its close run there) but its requests may arrive on any worker: a
 * browser's poll and its POSTs travel on different TCP connections, and the
 * acceptor spreads those.  So a session is a shared, reference-counted
 * object with two locks, both private to this module:
 *   - the in lock (recursive) serializes what comes in (packets, open,
 *     close, ticks) and is held while the layer above handles it; the layer
 *     above takes it with eio_session_lock to touch its own per-session state
 *     from elsewhere (a Redis reply on another worker);
 *   - the out lock (a leaf: nothing else is taken while holding it) guards
 *     the outbox and the transports, so any thread may queue a packet.
 * Lock order: in lock, then any application lock (the roster), then out lock.
 * A queued packet wakes the transport that can carry it: the WebSocket, or
 * the pending long-poll, each on its own worker. */
#ifndef CHATD_EIO_SESSION_H
#define CHATD_EIO_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eio.h"

struct eio_session;
struct eio_sessions;
struct http_req;
struct sbuf;
struct worker;

#define EIO_SID_LEN 20
/* A session's log tag: the first hex digits of the SHA-256 of its sid, so
 * log lines can be matched up without the sid (a credential) in them. */
#define EIO_TAG_LEN 8
/* The digest of the credential a handshake presented (eio_binding). */
#define EIO_CREDENTIAL_BYTES 32

/* What the layer above is told.  Every callback runs on some worker's thread
 * with the session's in lock held; it may queue packets, and may close the
 * session (the close then happens after the callback). */
struct eio_handlers {
    /* A new session.  req is its handshake request (its cookie, address,
     * headers), valid only during the call.  0 accepts, -1 refuses (403). */
    int (*on_open)(void *ctx, struct eio_session *s, struct http_req *req);
    /* A message packet (text or binary). */
    void (*on_message)(void *ctx, struct eio_session *s, struct worker *w,
                       const struct eio_packet *p);
    /* The session is closed; no callback follows.  reason is static text
     * ("transport close", "ping timeout", "parse error", …). */
    void (*on_close)(void *ctx, struct eio_session *s, const char *reason);
    /* Every ping interval on the session's home worker, for the layer
     * above's timers (Socket.IO's connect timeout).  May be NULL. */
    void (*on_tick)(void *ctx, struct eio_session *s, int64_t now_ms);
    /* When not 0, one more on_tick this many ms after the open (Socket.IO's
     * connect timeout is shorter than a ping interval). */
    unsigned first_tick_ms;
    void *ctx;
};

struct eio_limits {
    unsigned ping_interval_ms;
    unsigned ping_timeout_ms;
    size_t max_payload;      /* announced in the handshake */
    size_t outbox_max_bytes; /* a slower reader is disconnected */
    size_t outbox_max_packets;
};

/* What binds a session to its client.  A sid travels in URLs (proxy logs,
 * Referer), so it must not be enough to act as the session: each session
 * keeps the digest of the credential its handshake presented (for chatd,
 * its login cookie) and every later request must present the same one.
 * credential writes the request's digest and returns true, or returns false
 * when the request presents none; sessions opened without one accept only
 * requests without one.  credential NULL: no request presents any. */
typedef bool eio_credential_fn(void *ctx, struct http_req *req,
                               unsigned char digest[EIO_CREDENTIAL_BYTES]);
struct eio_binding {
    eio_credential_fn *credential;
    void *ctx;
};

/* ---- the table (one per Engine.IO endpoint) ----------------------------- */

/* NULL on OOM. */
struct eio_sessions *eio_sessions_new(const struct eio_limits *lim, const struct eio_handlers *h,
                                      const struct eio_binding *bind);
/* Every session must be closed already (eio_sessions_close_worker on every
 * worker, then the workers drained).  NULL-safe. */
void eio_sessions_free(struct eio_sessions *t);

/* The open session with this sid, with a reference the caller drops, or
 * NULL.  Any thread. */
struct eio_session *eio_sessions_find(struct eio_sessions *t, const char *sid);

/* Whether req presents the credential s was opened with (any thread). */
bool eio_session_presented_by(struct eio_session *s, struct http_req *req);

/* Closes every session whose home is w with a close packet (shutdown). */
void eio_sessions_close_worker(struct eio_sessions *t, struct worker *w);

/* A shutdown's first step, while the workers still run (any thread): every
 * session is closed with a close packet (a WebSocket with 1001, going
 * away), as "server shutting down", which a client may recover from. */
void eio_sessions_drain(struct eio_sessions *t);

/* Whether no session is left and every transport has finished (its last
 * answer or close frame handed to the socket). */
bool eio_sessions_idle(struct eio_sessions *t);

/* Closes every session opened with the credential of this digest, with a
 * close packet (any thread, holding no session's lock): how a credential's
 * end (a logout) ends its sessions.  How many it closed.  With settle, it
 * returns only once none of them is handling a packet any more (it takes
 * and gives back each one's in lock): from then on none acts.  Without, it
 * takes no in lock (the subscriber thread must not). */
size_t eio_sessions_close_bound(struct eio_sessions *t,
                                const unsigned char digest[EIO_CREDENTIAL_BYTES],
                                const char *reason, bool settle);

/* ---- sessions, for the layer above ---------------------------------------- */

/* The session id (EIO_SID_LEN characters).  A credential: never log it. */
const char *eio_session_id(const struct eio_session *s);

/* The session's log tag (EIO_TAG_LEN hex digits): what log lines name. */
const char *eio_session_tag(const struct eio_session *s);

/* The layer above's pointer: read and written with the in lock held (in a
 * callback, or between eio_session_lock and eio_session_unlock). */
void *eio_session_data(const struct eio_session *s);
void eio_session_set_data(struct eio_session *s, void *data);

/* Takes or releases the in lock (recursive). */
void eio_session_lock(struct eio_session *s);
void eio_session_unlock(struct eio_session *s);

/* Takes or drops a reference (any thread).  A session stays allocated while
 * referenced; a closed one accepts and drops packets. */
void eio_session_ref(struct eio_session *s);
void eio_session_unref(struct eio_session *s);

/* Queues a message packet (any thread); data is copied.  0, or -1 when the
 * session is closed or its outbox is full (the session is then closed: a
 * slow consumer). */
int eio_session_send(struct eio_session *s, bool binary, const void *data, size_t len);

/* Queues a packet of outpkt_new (any thread) as it is: a broadcast shares one
 * buffer among all its recipients.  As eio_session_send. */
int eio_session_send_packet(struct eio_session *s, struct sbuf *packet);

/* Closes the session (any thread): the client gets a close packet.  Safe on
 * an already closed session. */
void eio_session_close(struct eio_session *s, const char *reason);

#endif
