/* eio_session_close: a session's close — its first half on any thread
 * (no more packets), its second on the home worker (the layer above told,
 * out of the table), and a closed long-polling session lingering for its
 * last packets when its server goes away. */
#include "eio_session_internal.h"

#include "log.h"
#include "metrics.h"
#include "outpkt.h"

/* How long a polling session closed by a server going away stays
 * reachable for its last packets (lingers). */
#define LINGER_MS 1000

/* The close's first half, on any thread: no more packets; the home worker
 * does the rest. */
void eio_session_close_locked(struct eio_session *s, const char *reason)
{
    if (s->state != SESSION_OPEN)
        return;
    s->state = SESSION_CLOSING;
    s->close_reason = reason;
    eio_wake_transports(s);
    if (!atomic_exchange(&s->close_posted, true)) {
        eio_session_ref(s);
        worker_post(s->home, &s->close_item);
    }
}

void eio_session_close(struct eio_session *s, const char *reason)
{
    pthread_mutex_lock(&s->out_lock);
    eio_session_close_locked(s, reason);
    pthread_mutex_unlock(&s->out_lock);
}

bool eio_session_is_open(struct eio_session *s)
{
    pthread_mutex_lock(&s->out_lock);
    bool open = s->state == SESSION_OPEN;
    pthread_mutex_unlock(&s->out_lock);
    return open;
}

void eio_transport_gauge(struct eio_session *s, int delta)
{
    metrics_conn_add(s->upgraded ? METRICS_TRANSPORT_WEBSOCKET : METRICS_TRANSPORT_POLLING, delta);
}

/* The close's end, on the home worker: leave the table, let the
 * transports finish. */
void eio_session_finish_close(struct eio_session *s)
{
    eio_sessions_remove(s->owner, s);

    pthread_mutex_lock(&s->out_lock);
    s->state = SESSION_CLOSED;
    const char *reason = s->close_reason;
    eio_wake_transports(s);
    eio_transport_gauge(s, -1);
    pthread_mutex_unlock(&s->out_lock);
    log_debug("session %s closed: %s", s->tag, reason);
    eio_session_unref(s); /* the table's */
    eio_session_unref(s); /* the close item's */
}

void eio_session_on_linger(struct timer *tm)
{
    struct eio_session *s =
        (struct eio_session *)((char *)tm - offsetof(struct eio_session, linger));
    s->lingering = false;
    eio_session_finish_close(s);
}

/* A poll took the last packet of a lingering session: it ends now rather
 * than at its timer (whichever comes first ends it).  Holds a reference. */
void eio_session_run_linger_end(struct worker *w, struct inbox_item *item)
{
    struct eio_session *s =
        (struct eio_session *)((char *)item - offsetof(struct eio_session, linger_end));
    if (s->lingering) {
        s->lingering = false;
        worker_timer_cancel(w, &s->linger);
        eio_session_finish_close(s);
    }
    eio_session_unref(s);
}

/* Whether a closed session stays reachable a while: a long-polling client
 * of a server going away, with packets (its close packet at least) still
 * queued because no poll was pending, gets them with its next poll, rather
 * than "Session ID unknown".  Not once the loops are stopping. */
static bool lingers(struct eio_session *s, struct worker *w)
{
    pthread_mutex_lock(&s->out_lock);
    bool linger = s->going_away && !s->upgraded && s->out_count > 0;
    pthread_mutex_unlock(&s->out_lock);
    s->lingering = linger && !worker_stopping(w) &&
                   worker_timer_schedule(w, &s->linger, worker_now_ms() + LINGER_MS) == 0;
    return s->lingering;
}

/* The close's second half, on the home worker: tell the layer above, then
 * end (now, or after lingering). */
void eio_session_run_close(struct worker *w, struct inbox_item *item)
{
    struct eio_session *s =
        (struct eio_session *)((char *)item - offsetof(struct eio_session, close_item));
    const struct eio_handlers *h = &s->owner->h;
    worker_timer_cancel(w, &s->timer);
    worker_timer_cancel(w, &s->first_tick);

    pthread_mutex_lock(&s->in_lock);
    pthread_mutex_lock(&s->out_lock);
    const char *reason = s->close_reason;
    pthread_mutex_unlock(&s->out_lock);
    if (h->on_close)
        h->on_close(h->ctx, s, reason);
    pthread_mutex_unlock(&s->in_lock);

    if (!lingers(s, w))
        eio_session_finish_close(s);
}

/* Closes s with a close packet first, so the client knows this is no
 * network error.  going_away: the server is shutting down (a WebSocket
 * then closes with 1001). */
void eio_session_close_with_packet(struct eio_session *s, const char *reason, bool going_away)
{
    pthread_mutex_lock(&s->out_lock);
    struct sbuf *b = outpkt_new(EIO_CLOSE, false, NULL, 0);
    if (b) {
        eio_outbox_queue_locked(s, b);
        sbuf_unref(b);
    }
    if (s->state == SESSION_OPEN)
        s->going_away = going_away;
    eio_session_close_locked(s, reason);
    pthread_mutex_unlock(&s->out_lock);
}
