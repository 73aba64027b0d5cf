/* eio_session_heartbeat: a session's pings on its home worker, the pong
 * timeout that closes it, and the layer above's ticks. */
#include "eio_session_internal.h"

static void tick(struct eio_session *s, int64_t now)
{
    const struct eio_handlers *h = &s->owner->h;
    if (h->on_tick) {
        pthread_mutex_lock(&s->in_lock);
        h->on_tick(h->ctx, s, now);
        pthread_mutex_unlock(&s->in_lock);
    }
}

void eio_heartbeat_on_timer(struct timer *tm)
{
    struct eio_session *s =
        (struct eio_session *)((char *)tm - offsetof(struct eio_session, timer));
    const struct eio_sessions *t = s->owner;
    int64_t now = worker_now_ms();
    if (!eio_session_is_open(s))
        return;
    if (s->awaiting_pong) {
        int64_t pong = atomic_load(&s->last_pong_ms);
        if (pong < s->ping_sent_ms) {
            eio_session_close(s, "ping timeout");
            return;
        }
        s->awaiting_pong = false;
        worker_timer_schedule(s->home, &s->timer, pong + t->lim.ping_interval_ms);
    } else {
        eio_session_send_control(s, EIO_PING, NULL, 0);
        s->ping_sent_ms = now;
        s->awaiting_pong = true;
        worker_timer_schedule(s->home, &s->timer, now + t->lim.ping_timeout_ms);
    }
    tick(s, now);
}

/* The layer above's own deadline, earlier than the first ping. */
void eio_heartbeat_on_first_tick(struct timer *tm)
{
    struct eio_session *s =
        (struct eio_session *)((char *)tm - offsetof(struct eio_session, first_tick));
    if (eio_session_is_open(s))
        tick(s, worker_now_ms());
}
