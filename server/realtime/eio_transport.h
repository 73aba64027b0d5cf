/* eio_transport: how a transport carries a session (eio_transport.c
 * implements it, eio_session_open.c and eio_session_in.c the open and the
 * input; eio_polling.c and eio_websocket.c use it).
 *
 * A transport registers a wake-up; the session calls it, with its out lock
 * held and from any thread, whenever something is due (packets queued, a
 * noop, the session's end).  The wake-up only posts to the transport's own
 * worker; there the transport takes a batch: the session hands it packets
 * while the transport's callback accepts them, and says what else is due.
 * A transport never reads a session's fields. */
#ifndef CHATD_EIO_TRANSPORT_H
#define CHATD_EIO_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "eio.h"

struct eio_session;
struct eio_sessions;
struct http_req;
struct sbuf;
struct worker;

struct eio_transport {
    /* Out lock held, any thread: post to the transport's worker, no more. */
    void (*wake)(struct eio_transport *t);
};

/* Offered each queued packet in order; returns true when it took the packet
 * (taking its own reference if it keeps it), false to leave it and the rest
 * queued (the batch is full). */
typedef bool eio_take_fn(void *ctx, struct sbuf *packet);

/* What a batch brought. */
enum eio_batch {
    EIO_BATCH_PACKETS,  /* packets were taken */
    EIO_BATCH_NONE,     /* nothing is due: wait for a wake-up */
    EIO_BATCH_NOOP,     /* end the poll with a noop (upgrade, client close) */
    EIO_BATCH_END,      /* the session is over and nothing is left to send */
    EIO_BATCH_ABORT,    /* a slow consumer: drop the transport, no goodbye */
    EIO_BATCH_DETACHED, /* this transport no longer carries the session */
    EIO_BATCH_GONE,     /* the session is closed (an error for a new poll) */
    EIO_BATCH_BUSY,     /* a poll is pending already: the session is closed */
};

/* A new session for a handshake request, accepted by the layer above, with a
 * reference for the caller.  ws: the WebSocket that carries it from the
 * start (its open packet is queued first), or NULL for long-polling.
 * NULL when out of memory (*refused false) or refused (*refused true). */
struct eio_session *eio_session_open(struct eio_sessions *t, struct http_req *req,
                                     struct worker *home, struct eio_transport *ws, bool *refused);

/* The open packet of s (outpkt.h), offering the upgrade to WebSocket or not.
 * NULL on OOM. */
struct sbuf *eio_session_open_packet(struct eio_session *s, bool offer_upgrade);

/* Packets from the client, in order, with the in lock held: handled while
 * the session stays open.  over_websocket: an upgrade packet is the
 * WebSocket's own business, not an error. */
void eio_session_receive(struct eio_session *s, struct worker *w, const struct eio_packet *p,
                         size_t n, bool over_websocket);

/* Whether s is open, and whether a WebSocket carries it (so polling
 * requests are refused). */
void eio_session_status(struct eio_session *s, bool *open, bool *upgraded);

/* A transport object carrying s (a pending poll, a WebSocket) is made or
 * freed (any thread): the table counts the live ones, so that a drain can
 * wait for their last words (eio_sessions_idle).  Call freed before
 * dropping the reference to s. */
void eio_transport_made(struct eio_session *s);
void eio_transport_freed(struct eio_session *s);

/* Whether s was closed by a server going away (eio_sessions_drain): a
 * WebSocket then says 1001. */
bool eio_session_going_away(struct eio_session *s);

/* ---- long-polling --------------------------------------------------------- */

/* A GET: a batch now, or NONE after attaching t as the pending poll (woken
 * when something is due).  GONE when the session is closed; BUSY when
 * another poll is pending (the session is then closed). */
enum eio_batch eio_session_poll(struct eio_session *s, struct eio_transport *t, eio_take_fn *fn,
                                void *ctx);
/* After a wake-up of the pending poll t: a batch, which ends the poll
 * (anything but NONE detaches t), or DETACHED. */
enum eio_batch eio_session_poll_take(struct eio_session *s, struct eio_transport *t,
                                     eio_take_fn *fn, void *ctx);
/* The poll's request is gone: t is no longer woken. */
void eio_session_poll_release(struct eio_session *s, struct eio_transport *t);

/* ---- WebSocket ----------------------------------------------------------- */

/* A probe of a polling session: reserves the session's WebSocket slot for t.
 * false when taken (another WebSocket, or upgraded) or closed. */
bool eio_session_ws_attach(struct eio_session *s, struct eio_transport *t);
/* The probe's ping arrived: end the pending poll with a noop. */
void eio_session_ws_probed(struct eio_session *s, struct eio_transport *t);
/* The upgrade packet arrived: t carries the session from now on.  false when
 * the session ended meanwhile. */
bool eio_session_ws_upgrade(struct eio_session *s, struct eio_transport *t);
/* A batch for the WebSocket t (packets only once upgraded); *more tells
 * whether packets are still queued (the callback refused one). */
enum eio_batch eio_session_ws_take(struct eio_session *s, struct eio_transport *t, eio_take_fn *fn,
                                   void *ctx, bool *more);
/* t is closing: it carries nothing more, and an upgraded session closes
 * with it. */
void eio_session_ws_detach(struct eio_session *s, struct eio_transport *t);

#endif
