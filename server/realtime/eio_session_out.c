/* eio_session_out: what goes out — a session's bounded outbox (a ring of
 * shared packets, under the out lock), queued from any thread, taken by the
 * transport it wakes. */
#include "eio_session_internal.h"

#include <stdlib.h>

#include "eio_transport.h"
#include "log.h"
#include "metrics.h"
#include "outpkt.h"

/* ---- the outbox (out lock held) ---------------------------------------------- */

void eio_outbox_clear(struct eio_session *s)
{
    while (s->out_count) {
        sbuf_unref(s->out[s->out_head]);
        s->out_head = (s->out_head + 1) % s->out_cap;
        s->out_count--;
    }
    s->out_bytes = 0;
}

void eio_wake_poll(struct eio_session *s)
{
    if (s->poll)
        s->poll->wake(s->poll);
}

/* Wakes whichever transport can carry what is due now. */
void eio_wake_transports(struct eio_session *s)
{
    bool open = s->state == SESSION_OPEN;
    if (s->ws && (s->upgraded || !open))
        s->ws->wake(s->ws);
    if (!s->upgraded || !open)
        eio_wake_poll(s);
}

/* Queues a packet (a new reference is taken). */
int eio_outbox_queue_locked(struct eio_session *s, struct sbuf *b)
{
    if (s->state != SESSION_OPEN)
        return -1;
    const struct eio_limits *lim = &s->owner->lim;
    size_t len = outpkt_payload_len(b);
    if (s->out_count >= lim->outbox_max_packets || s->out_bytes + len > lim->outbox_max_bytes) {
        metrics_inc(METRICS_OUTBOX_OVERFLOWS);
        log_info("session %s: outbox full, disconnecting a slow client", s->tag);
        /* What it did not read is dropped: waiting for it to drain is
         * exactly what a slow consumer must not make us do. */
        eio_outbox_clear(s);
        s->aborted = true;
        eio_session_close_locked(s, "slow consumer");
        return -1;
    }
    if (s->out_count == s->out_cap) {
        size_t cap = s->out_cap * 2;
        struct sbuf **grown = malloc(cap * sizeof *grown);
        if (!grown)
            return -1;
        for (size_t i = 0; i < s->out_count; i++)
            grown[i] = s->out[(s->out_head + i) % s->out_cap];
        free(s->out);
        s->out = grown;
        s->out_cap = cap;
        s->out_head = 0;
    }
    s->out[(s->out_head + s->out_count) % s->out_cap] = sbuf_ref(b);
    s->out_count++;
    s->out_bytes += len;
    eio_wake_transports(s);
    return 0;
}

/* Offers queued packets to fn until it refuses one; how many it took. */
size_t eio_outbox_take_locked(struct eio_session *s, eio_take_fn *fn, void *ctx)
{
    size_t n = 0;
    while (s->out_count) {
        struct sbuf *b = s->out[s->out_head];
        if (!fn(ctx, b))
            break;
        s->out_head = (s->out_head + 1) % s->out_cap;
        s->out_count--;
        s->out_bytes -= outpkt_payload_len(b);
        sbuf_unref(b);
        n++;
    }
    if (s->out_count == 0 && s->out_cap > OUTBOX_MIN_CAP) {
        struct sbuf **small = malloc(OUTBOX_MIN_CAP * sizeof *small);
        if (small) { /* else the grown ring simply stays */
            free(s->out);
            s->out = small;
            s->out_cap = OUTBOX_MIN_CAP;
            s->out_head = 0;
        }
    }
    return n;
}

int eio_session_send_packet(struct eio_session *s, struct sbuf *b)
{
    pthread_mutex_lock(&s->out_lock);
    int rc = eio_outbox_queue_locked(s, b);
    pthread_mutex_unlock(&s->out_lock);
    return rc;
}

int eio_session_send(struct eio_session *s, bool binary, const void *data, size_t len)
{
    struct sbuf *b = outpkt_new(EIO_MESSAGE, binary, data, len);
    if (!b)
        return -1;
    int rc = eio_session_send_packet(s, b);
    sbuf_unref(b);
    return rc;
}

void eio_session_send_control(struct eio_session *s, enum eio_type type, const char *data,
                              size_t len)
{
    struct sbuf *b = outpkt_new(type, false, data, len);
    if (b) {
        eio_session_send_packet(s, b);
        sbuf_unref(b);
    }
}
