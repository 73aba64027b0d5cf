/* eio_transport: the transports' side of a session (see eio_transport.h):
 * the batches a long-poll takes, the life of transport objects, and a
 * WebSocket's attach, probe, upgrade, take and detach. */
#include "eio_transport.h"

#include "eio_session_internal.h"
#include "outpkt.h"

void eio_session_status(struct eio_session *s, bool *open, bool *upgraded)
{
    pthread_mutex_lock(&s->out_lock);
    *open = s->state == SESSION_OPEN;
    *upgraded = s->upgraded;
    pthread_mutex_unlock(&s->out_lock);
}

/* ---- long-polling -------------------------------------------------------------- */

static bool is_close_packet(struct sbuf *b)
{
    size_t len;
    const uint8_t *payload = outpkt_payload(b, &len);
    return !outpkt_binary(b) && len == 1 && payload[0] == '0' + EIO_CLOSE;
}

/* One poll answer's packets: a close packet goes in an answer of its own.
 * socket.io-client hands an answer's packets to its sockets a tick after
 * it handled the close that came with them, when its socket is already
 * disconnected: it would keep them for its next connection without their
 * offsets, which a recovery then replays a second time. */
struct poll_take {
    eio_take_fn *fn;
    void *ctx;
    size_t taken;
};

static bool poll_take_one(void *arg, struct sbuf *b)
{
    struct poll_take *pt = arg;
    if ((pt->taken && is_close_packet(b)) || !pt->fn(pt->ctx, b))
        return false;
    pt->taken++;
    return true;
}

static enum eio_batch poll_batch_locked(struct eio_session *s, eio_take_fn *fn, void *ctx)
{
    struct poll_take pt = {.fn = fn, .ctx = ctx};
    if (s->noop_pending) {
        s->noop_pending = false;
        return EIO_BATCH_NOOP;
    }
    if (!s->out_count && s->state != SESSION_OPEN)
        return s->client_closed ? EIO_BATCH_NOOP : EIO_BATCH_END;
    return eio_outbox_take_locked(s, poll_take_one, &pt) ? EIO_BATCH_PACKETS : EIO_BATCH_NONE;
}

/* After a poll's batch (out lock held): a closing session that may
 * linger and has handed out its last packet need not wait any more. */
static void poll_took_locked(struct eio_session *s, enum eio_batch r)
{
    if (r == EIO_BATCH_PACKETS && s->state == SESSION_CLOSING && !s->out_count && s->going_away &&
        !atomic_exchange(&s->linger_end_posted, true)) {
        eio_session_ref(s);
        worker_post(s->home, &s->linger_end);
    }
}

enum eio_batch eio_session_poll(struct eio_session *s, struct eio_transport *t, eio_take_fn *fn,
                                void *ctx)
{
    enum eio_batch r;
    pthread_mutex_lock(&s->out_lock);
    /* A closing session still hands out what it queued (its close packet
     * last); then it is gone. */
    if (s->state == SESSION_CLOSED || (s->state != SESSION_OPEN && !s->out_count)) {
        r = EIO_BATCH_GONE;
    } else if (s->poll) {
        /* One poll at a time: a second one is a broken or hostile client. */
        eio_session_close_locked(s, "multiple polls");
        r = EIO_BATCH_BUSY;
    } else {
        r = poll_batch_locked(s, fn, ctx);
        if (r == EIO_BATCH_NONE)
            s->poll = t;
        poll_took_locked(s, r);
    }
    pthread_mutex_unlock(&s->out_lock);
    return r;
}

enum eio_batch eio_session_poll_take(struct eio_session *s, struct eio_transport *t,
                                     eio_take_fn *fn, void *ctx)
{
    enum eio_batch r = EIO_BATCH_DETACHED;
    pthread_mutex_lock(&s->out_lock);
    if (s->poll == t) {
        r = poll_batch_locked(s, fn, ctx);
        if (r != EIO_BATCH_NONE)
            s->poll = NULL;
        poll_took_locked(s, r);
    }
    pthread_mutex_unlock(&s->out_lock);
    return r;
}

void eio_session_poll_release(struct eio_session *s, struct eio_transport *t)
{
    pthread_mutex_lock(&s->out_lock);
    if (s->poll == t)
        s->poll = NULL;
    pthread_mutex_unlock(&s->out_lock);
}

/* ---- transports' life ------------------------------------------------------------ */

void eio_transport_made(struct eio_session *s)
{
    atomic_fetch_add(&s->owner->transports, 1);
}

void eio_transport_freed(struct eio_session *s)
{
    atomic_fetch_sub(&s->owner->transports, 1);
}

bool eio_session_going_away(struct eio_session *s)
{
    pthread_mutex_lock(&s->out_lock);
    bool going = s->going_away;
    pthread_mutex_unlock(&s->out_lock);
    return going;
}

/* ---- WebSocket ----------------------------------------------------------------- */

bool eio_session_ws_attach(struct eio_session *s, struct eio_transport *t)
{
    pthread_mutex_lock(&s->out_lock);
    bool free_slot = !s->ws && !s->upgraded && s->state == SESSION_OPEN;
    if (free_slot)
        s->ws = t;
    pthread_mutex_unlock(&s->out_lock);
    return free_slot;
}

void eio_session_ws_probed(struct eio_session *s, struct eio_transport *t)
{
    pthread_mutex_lock(&s->out_lock);
    if (s->ws == t && s->state == SESSION_OPEN) {
        /* The pending poll ends, so the client can pause polling. */
        s->noop_pending = true;
        eio_wake_poll(s);
    }
    pthread_mutex_unlock(&s->out_lock);
}

bool eio_session_ws_upgrade(struct eio_session *s, struct eio_transport *t)
{
    pthread_mutex_lock(&s->out_lock);
    bool ok = s->ws == t && s->state == SESSION_OPEN && !s->upgraded;
    if (ok) {
        eio_transport_gauge(s, -1);
        s->upgraded = true;
        eio_transport_gauge(s, 1);
        /* A poll still pending ends with a noop; what is queued goes here. */
        s->noop_pending = true;
        eio_wake_poll(s);
    }
    pthread_mutex_unlock(&s->out_lock);
    return ok;
}

enum eio_batch eio_session_ws_take(struct eio_session *s, struct eio_transport *t, eio_take_fn *fn,
                                   void *ctx, bool *more)
{
    enum eio_batch r;
    *more = false;
    pthread_mutex_lock(&s->out_lock);
    if (s->aborted) {
        r = EIO_BATCH_ABORT;
    } else if (s->ws != t) {
        r = EIO_BATCH_DETACHED;
    } else if (s->upgraded) {
        size_t n = eio_outbox_take_locked(s, fn, ctx);
        *more = s->out_count > 0;
        if (s->state != SESSION_OPEN && !*more)
            r = EIO_BATCH_END;
        else
            r = n ? EIO_BATCH_PACKETS : EIO_BATCH_NONE;
    } else {
        /* A probe carries nothing; it ends with the session. */
        r = s->state != SESSION_OPEN ? EIO_BATCH_END : EIO_BATCH_NONE;
    }
    pthread_mutex_unlock(&s->out_lock);
    return r;
}

void eio_session_ws_detach(struct eio_session *s, struct eio_transport *t)
{
    pthread_mutex_lock(&s->out_lock);
    if (s->ws == t) {
        s->ws = NULL;
        if (s->upgraded)
            eio_session_close_locked(s, "transport close");
    }
    pthread_mutex_unlock(&s->out_lock);
}
