/* eio_session_in: a session as the layer above holds it — its id and tag,
 * its data, its in lock and references — and what comes in: packets handed
 * to the layer above under the in lock. */
#include "eio_session_internal.h"

#include <stdlib.h>

#include "eio_transport.h"

/* ---- plain accessors ---------------------------------------------------------- */

const char *eio_session_id(const struct eio_session *s)
{
    return s->sid;
}

const char *eio_session_tag(const struct eio_session *s)
{
    return s->tag;
}

void *eio_session_data(const struct eio_session *s)
{
    return s->data;
}

void eio_session_set_data(struct eio_session *s, void *data)
{
    s->data = data;
}

void eio_session_lock(struct eio_session *s)
{
    pthread_mutex_lock(&s->in_lock);
}

void eio_session_unlock(struct eio_session *s)
{
    pthread_mutex_unlock(&s->in_lock);
}

void eio_session_ref(struct eio_session *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void eio_session_unref(struct eio_session *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    eio_outbox_clear(s);
    free(s->out);
    pthread_mutex_destroy(&s->in_lock);
    pthread_mutex_destroy(&s->out_lock);
    free(s);
}

/* ---- incoming packets ------------------------------------------------------------ */

/* in lock held. */
static void input(struct eio_session *s, struct worker *w, const struct eio_packet *p,
                  bool over_websocket)
{
    const struct eio_handlers *h = &s->owner->h;
    switch (p->type) {
    case EIO_PONG:
        atomic_store(&s->last_pong_ms, worker_now_ms());
        break;
    case EIO_PING:
        /* Engine.IO 4 clients do not ping; answer anyway, as the reference. */
        eio_session_send_control(s, EIO_PONG, p->data, p->len);
        break;
    case EIO_MESSAGE:
        h->on_message(h->ctx, s, w, p);
        break;
    case EIO_CLOSE:
        pthread_mutex_lock(&s->out_lock);
        s->client_closed = true;
        eio_session_close_locked(s, "client close");
        pthread_mutex_unlock(&s->out_lock);
        break;
    case EIO_NOOP:
        break;
    case EIO_UPGRADE:
        if (over_websocket)
            break; /* handled by the WebSocket transport */
        /* fall through */
    default:
        eio_session_close(s, "parse error");
        break;
    }
}

void eio_session_receive(struct eio_session *s, struct worker *w, const struct eio_packet *p,
                         size_t n, bool over_websocket)
{
    pthread_mutex_lock(&s->in_lock);
    for (size_t i = 0; i < n && eio_session_is_open(s); i++)
        input(s, w, &p[i], over_websocket);
    pthread_mutex_unlock(&s->in_lock);
}
