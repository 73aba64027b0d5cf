/* eio_polling: the long-polling transport (see eio_polling.h). */
#include "eio_polling.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <sodium.h>

#include "eio.h"
#include "eio_http.h"
#include "eio_session.h"
#include "eio_transport.h"
#include "http.h"
#include "log.h"
#include "outpkt.h"
#include "outq.h"
#include "worker.h"

/* Packets of one POST, at most. */
#define POST_MAX_PACKETS 1024
#define TEXT_PLAIN "text/plain; charset=UTF-8"

/* A poll answer being built: packets joined by the record separator,
 * binary ones as "b<base64>", at most max bytes (one packet at least). */
struct body {
    char *text;
    size_t len, cap, max;
};

static bool body_append(void *ctx, struct sbuf *b)
{
    struct body *body = ctx;
    size_t plen;
    const uint8_t *payload = outpkt_payload(b, &plen);
    bool binary = outpkt_binary(b);
    size_t enc =
        binary ? 1 + sodium_base64_encoded_len(plen, sodium_base64_VARIANT_ORIGINAL) : plen;
    size_t need = body->len + (body->len ? 1 : 0) + enc + 1;
    if (body->len && need > body->max)
        return false; /* the next answer takes it */
    if (need > body->cap) {
        size_t cap = need > 2 * body->cap ? need : 2 * body->cap;
        char *grown = realloc(body->text, cap);
        if (!grown)
            return false;
        body->text = grown;
        body->cap = cap;
    }
    if (body->len)
        body->text[body->len++] = EIO_SEPARATOR;
    if (binary) {
        body->text[body->len++] = 'b';
        sodium_bin2base64(body->text + body->len, body->cap - body->len, payload, plen,
                          sodium_base64_VARIANT_ORIGINAL);
        body->len += strlen(body->text + body->len);
    } else {
        memcpy(body->text + body->len, payload, plen);
        body->len += plen;
    }
    return true;
}

/* Answers a poll with what the batch brought.  false: nothing yet. */
static bool answer(struct http_req *req, enum eio_batch r, struct body *body, bool cors_any)
{
    switch (r) {
    case EIO_BATCH_PACKETS:
        eio_http_text(req, TEXT_PLAIN, body->text, body->len, cors_any);
        body->text = NULL;
        return true;
    case EIO_BATCH_NOOP:
        eio_http_text(req, TEXT_PLAIN, strdup("6"), 1, cors_any);
        return true;
    case EIO_BATCH_END:
    case EIO_BATCH_ABORT:
        eio_http_text(req, TEXT_PLAIN, strdup("1"), 1, cors_any);
        return true;
    case EIO_BATCH_GONE:
        eio_http_error(req, MHD_HTTP_BAD_REQUEST, EIO_ERR_SESSION_UNKNOWN);
        return true;
    case EIO_BATCH_BUSY:
        eio_http_error(req, MHD_HTTP_BAD_REQUEST, EIO_ERR_BAD_REQUEST);
        return true;
    case EIO_BATCH_NONE:
    case EIO_BATCH_DETACHED:
        break;
    }
    return false;
}

/* A pending GET: the request's route state, answered on the worker that
 * holds the request. */
struct poll {
    struct eio_transport transport;
    struct http_req *req;
    struct worker *worker;
    struct eio_session *s; /* a reference */
    struct inbox_item item;
    atomic_bool queued;
    bool released; /* the request is gone: the pending wake-up frees */
    struct eio_polling_options opt;
};

static void poll_free(struct poll *p)
{
    eio_transport_freed(p->s);
    eio_session_unref(p->s);
    free(p);
}

/* Out lock held, any thread. */
static void poll_wake(struct eio_transport *t)
{
    struct poll *p = (struct poll *)((char *)t - offsetof(struct poll, transport));
    if (!atomic_exchange(&p->queued, true))
        worker_post(p->worker, &p->item);
}

static void poll_run(struct worker *w, struct inbox_item *item)
{
    struct poll *p = (struct poll *)((char *)item - offsetof(struct poll, item));
    (void)w;
    if (p->released) {
        poll_free(p);
        return;
    }
    /* Cleared before the take: a wake-up from now on posts again, so none
     * is lost while the poll stays attached.  Freeing cannot race it: a
     * wake-up only comes, out lock held, while the session holds the poll,
     * and poll_release (this same worker) detaches it under that lock
     * before it reads the flag, so a wake-up in flight is always seen. */
    atomic_store(&p->queued, false);
    struct body body = {.max = p->opt.max_payload};
    enum eio_batch r = eio_session_poll_take(p->s, &p->transport, body_append, &body);
    answer(p->req, r, &body, p->opt.cors_any);
    free(body.text);
}

/* The request is finished (answered or its connection gone): the session
 * must not wake the poll any more.  Freed now, or by a wake-up in flight. */
static void poll_release(void *state)
{
    struct poll *p = state;
    eio_session_poll_release(p->s, &p->transport);
    if (atomic_exchange(&p->queued, true))
        p->released = true;
    else
        poll_free(p);
}

void eio_polling_get(struct eio_session *s, struct http_req *req,
                     const struct eio_polling_options *opt)
{
    struct poll *p = calloc(1, sizeof *p);
    if (!p) {
        http_respond_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "Out of memory");
        return;
    }
    p->transport.wake = poll_wake;
    p->req = req;
    p->worker = req->worker;
    p->s = s;
    eio_session_ref(s);
    eio_transport_made(s);
    p->item.run = poll_run;
    p->opt = *opt;
    /* Owned by the request from here: released with it, whatever happens. */
    req->route_state = p;
    req->route_state_free = poll_release;
    struct body body = {.max = opt->max_payload};
    enum eio_batch r = eio_session_poll(s, &p->transport, body_append, &body);
    answer(req, r, &body, opt->cors_any);
    free(body.text);
    /* Unanswered (NONE): http.c suspends the request until poll_run answers. */
}

void eio_polling_post(struct eio_session *s, struct http_req *req,
                      const struct eio_polling_options *opt)
{
    size_t max_packets = POST_MAX_PACKETS;
    struct eio_packet *packets = malloc(max_packets * sizeof *packets);
    size_t scratch_len = eio_scratch_size(req->body_len);
    char *scratch = scratch_len ? malloc(scratch_len) : NULL;
    if (!packets || (scratch_len && !scratch)) {
        free(packets);
        free(scratch);
        http_respond_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "Out of memory");
        return;
    }
    int n = eio_decode_payload(req->body ? req->body : "", req->body_len, opt->max_payload, packets,
                               max_packets, scratch, scratch_len);
    if (n < 0) {
        log_debug("session %s: bad payload: %s", eio_session_tag(s), eio_strerror(n));
        eio_session_close(s, "parse error");
        eio_http_error(req, MHD_HTTP_BAD_REQUEST, EIO_ERR_BAD_REQUEST);
    } else {
        eio_session_receive(s, req->worker, packets, (size_t)n, false);
        eio_http_text(req, "text/html", strdup("ok"), 2, opt->cors_any);
    }
    free(packets);
    free(scratch);
}

void eio_polling_handshake(struct eio_sessions *t, struct http_req *req,
                           const struct eio_polling_options *opt)
{
    bool refused;
    struct eio_session *s = eio_session_open(t, req, req->worker, NULL, &refused);
    if (!s) {
        if (refused)
            eio_http_error(req, MHD_HTTP_FORBIDDEN, EIO_ERR_FORBIDDEN);
        else
            http_respond_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "Out of memory");
        return;
    }
    struct sbuf *open = eio_session_open_packet(s, true);
    eio_session_unref(s);
    if (!open) {
        http_respond_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "Out of memory");
        return;
    }
    size_t len;
    const uint8_t *payload = outpkt_payload(open, &len);
    char *text = malloc(len + 1);
    if (text) {
        memcpy(text, payload, len);
        text[len] = '\0';
    }
    sbuf_unref(open);
    eio_http_text(req, TEXT_PLAIN, text, len, opt->cors_any);
}
