/* eio_session_internal: struct eio_session and struct eio_sessions, and
 * what the files of the session module share — private to them: no other
 * file includes this header (the layer above uses eio_session.h, the
 * transports eio_transport.h, and neither reads a session's fields).
 *
 * The module's files, one job each:
 *   eio_sessions.c          the sid table; closing many sessions at once
 *                           (a drain, a worker's shutdown, a logout)
 *   eio_session_open.c      a new session: its sid, credential, open packet
 *   eio_session_in.c        the in side: accessors, the in lock, references,
 *                           incoming packets to the layer above
 *   eio_session_out.c       the out side: the bounded outbox, sending, waking
 *                           the transport that can carry it
 *   eio_session_close.c     a session's close (any thread, then its home
 *                           worker), lingering for a last poll
 *   eio_session_heartbeat.c pings, pong timeouts, the layer above's ticks
 *   eio_transport.c         the transports' side (eio_transport.h): long-poll
 *                           batches, the WebSocket's attach, upgrade and take
 *
 * Locks as eio_session.h says: in lock, then any application lock, then the
 * out lock (a leaf).  "_locked" functions run with the out lock held. */
#ifndef CHATD_EIO_SESSION_INTERNAL_H
#define CHATD_EIO_SESSION_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eio_session.h"
#include "outq.h"
#include "timerheap.h"
#include "worker.h"

struct eio_transport;

/* Every session keeps an outbox ring this big; a burst grows it, and it
 * shrinks back once drained, so an idle session holds little. */
#define OUTBOX_MIN_CAP 4

enum session_state { SESSION_OPEN, SESSION_CLOSING, SESSION_CLOSED };

struct eio_sessions {
    struct eio_limits lim;
    struct eio_handlers h;
    struct eio_binding bind;
    pthread_rwlock_t lock;      /* the table */
    struct eio_session **table; /* open addressing, linear probing */
    size_t cap, count;
    /* Transport objects alive (a pending poll, a WebSocket until its
     * goodbye is written): a drain waits for them (eio_sessions_idle). */
    atomic_uint transports;
};

struct eio_session {
    struct eio_sessions *owner;
    char sid[EIO_SID_LEN + 1];
    char tag[EIO_TAG_LEN + 1];
    /* The handshake's credential (eio_binding): set before the session is
     * in the table, never changed. */
    bool has_credential;
    unsigned char credential[EIO_CREDENTIAL_BYTES];
    atomic_uint refs;
    struct worker *home; /* runs the timer and the close */

    /* Home worker only. */
    struct timer timer;
    struct timer first_tick; /* eio_handlers.first_tick_ms after the open */
    struct timer linger;     /* a closed session still reachable (lingers) */
    bool lingering;
    struct inbox_item linger_end; /* a poll took its last packet */
    atomic_bool linger_end_posted;
    int64_t ping_sent_ms;
    bool awaiting_pong;
    struct inbox_item close_item;
    atomic_bool close_posted;
    atomic_llong last_pong_ms; /* written by whichever worker got the pong */

    pthread_mutex_t in_lock; /* see eio_session.h */
    void *data;

    pthread_mutex_t out_lock; /* the leaf lock: everything below */
    enum session_state state;
    const char *close_reason;
    bool client_closed;         /* a pending poll ends with a noop */
    bool aborted;               /* a slow consumer: drop, don't flush */
    bool going_away;            /* closed by a shutting-down server */
    bool upgraded;              /* the WebSocket carries the session */
    bool noop_pending;          /* end the pending poll: upgrading */
    struct eio_transport *ws;   /* probing or upgraded WebSocket */
    struct eio_transport *poll; /* the pending long-poll */
    struct sbuf **out;          /* ring of queued packets */
    size_t out_head, out_count, out_cap, out_bytes;
};

/* ---- the table (eio_sessions.c) --------------------------------------------- */

/* Puts s in the table (0), or -1 when out of memory. */
int eio_sessions_add(struct eio_sessions *t, struct eio_session *s);
/* Takes s out of the table (when in it). */
void eio_sessions_remove(struct eio_sessions *t, struct eio_session *s);

/* ---- the outbox (eio_session_out.c; out lock held) ---------------------------- */

/* Drops every queued packet. */
void eio_outbox_clear(struct eio_session *s);
/* Queues a packet (a new reference is taken): 0, or -1 when closed, out of
 * memory, or full (then the session is closed as a slow consumer). */
int eio_outbox_queue_locked(struct eio_session *s, struct sbuf *b);
/* Offers queued packets to fn (an eio_take_fn) until it refuses one; how
 * many it took. */
size_t eio_outbox_take_locked(struct eio_session *s, bool (*fn)(void *ctx, struct sbuf *packet),
                              void *ctx);
/* Wakes the pending long-poll, or whichever transport can carry what is
 * due now. */
void eio_wake_poll(struct eio_session *s);
void eio_wake_transports(struct eio_session *s);
/* Queues a control packet (ping, pong); any thread, no lock held. */
void eio_session_send_control(struct eio_session *s, enum eio_type type, const char *data,
                              size_t len);

/* ---- closing (eio_session_close.c) ------------------------------------------ */

/* The close's first half (out lock held): no more packets; the home worker
 * does the rest. */
void eio_session_close_locked(struct eio_session *s, const char *reason);
/* Whether s is open (takes the out lock). */
bool eio_session_is_open(struct eio_session *s);
/* The polling or WebSocket connections gauge, by s's transport. */
void eio_transport_gauge(struct eio_session *s, int delta);
/* The close's end, on the home worker: out of the table, transports told. */
void eio_session_finish_close(struct eio_session *s);
/* Closes s with a close packet first (going_away: a server shutting down). */
void eio_session_close_with_packet(struct eio_session *s, const char *reason, bool going_away);
/* The home worker's timer and inbox items of the close (session_new). */
void eio_session_on_linger(struct timer *tm);
void eio_session_run_linger_end(struct worker *w, struct inbox_item *item);
void eio_session_run_close(struct worker *w, struct inbox_item *item);

/* ---- heartbeat (eio_session_heartbeat.c; home worker) ------------------------- */

void eio_heartbeat_on_timer(struct timer *tm);
void eio_heartbeat_on_first_tick(struct timer *tm);

#endif
