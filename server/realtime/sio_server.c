/* sio_server: Socket.IO v5 over the engine (see sio_server.h). */
#include "sio_server.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "metrics.h"
#include "sio.h"
#include "worker.h"

/* Namespaces one client may join at once. */
#define SIO_CLIENT_MAX_SOCKETS 8
#define SIO_SOCKET_ID_LEN 20

enum socket_state { SOCKET_CONNECTING, SOCKET_CONNECTED, SOCKET_GONE };

struct sio_server {
    struct sio_app app;
    struct sio_server_options opt;
    struct eio_handlers handlers;
    atomic_size_t attachment_bytes; /* held by all clients' pending packets */
};

/* A BINARY_EVENT/BINARY_ACK waiting for its attachments. */
struct binary_pending {
    struct sio_packet packet;
    struct sio_blob blobs[SIO_ATTACHMENTS_MAX];
    size_t nblobs;
};

/* A client's Socket.IO state: the engine session's data, guarded by its
 * in_lock. */
struct sio_client {
    struct sio_server *srv;
    struct eio_session *es;
    void *app_data;
    struct sio_socket *sockets[SIO_CLIENT_MAX_SOCKETS];
    int64_t connect_deadline_ms; /* 0: checked already */
    /* Allocated only while a packet waits for its attachments (rare: an
     * idle client keeps no room for them), and the bytes it holds
     * (counted in the server's attachment_bytes too). */
    struct binary_pending *pending;
    size_t pending_bytes;
};

struct sio_socket {
    atomic_uint refs;
    struct eio_session *es;    /* a reference */
    struct sio_client *client; /* NULL once the client is gone */
    enum socket_state state;
    char id[SIO_SOCKET_ID_LEN + 1];
    void *data;
    char nsp[]; /* its own length: most are "/" or "" */
};

/* ---- sockets ------------------------------------------------------------- */

void sio_socket_ref(struct sio_socket *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void sio_socket_unref(struct sio_socket *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    eio_session_unref(s->es);
    free(s);
}

const char *sio_socket_nsp(const struct sio_socket *s)
{
    return s->nsp;
}
const char *sio_socket_id(const struct sio_socket *s)
{
    return s->id;
}
struct eio_session *sio_socket_session(const struct sio_socket *s)
{
    return s->es;
}
void *sio_socket_data(const struct sio_socket *s)
{
    return s->data;
}
void sio_socket_set_data(struct sio_socket *s, void *data)
{
    s->data = data;
}

int sio_socket_with_data(struct sio_socket *s, sio_data_fn *fn, void *arg)
{
    int rc = -1;
    sio_socket_ref(s); /* fn may disconnect it */
    eio_session_lock(s->es);
    if (s->client && s->state != SOCKET_GONE) {
        fn(arg, s, &s->data);
        rc = 0;
    }
    eio_session_unlock(s->es);
    sio_socket_unref(s);
    return rc;
}

void *sio_socket_client_data(const struct sio_socket *s)
{
    return s->client ? s->client->app_data : NULL;
}

static const char *nsp_or_root(const char *nsp)
{
    return nsp[0] ? nsp : "/";
}

/* Encodes and queues a packet.  0 or -1. */
static int send_packet(struct eio_session *es, const struct sio_packet *p)
{
    size_t len;
    char *text = sio_encode(p, &len);
    if (!text)
        return -1;
    int rc = eio_session_send(es, false, text, len);
    free(text);
    return rc;
}

static void detach(struct sio_client *c, struct sio_socket *s)
{
    for (size_t i = 0; i < SIO_CLIENT_MAX_SOCKETS; i++) {
        if (c->sockets[i] == s) {
            c->sockets[i] = NULL;
            s->client = NULL;
            s->state = SOCKET_GONE;
            sio_socket_unref(s); /* the client's reference */
            return;
        }
    }
}

int sio_socket_accept(struct sio_socket *s)
{
    return sio_socket_accept_pid(s, NULL);
}

int sio_socket_accept_pid(struct sio_socket *s, const char *pid)
{
    int rc = -1;
    eio_session_lock(s->es);
    if (s->state == SOCKET_CONNECTING && s->client) {
        rc = 0;
        s->state = SOCKET_CONNECTED;
        cJSON *payload = cJSON_CreateObject();
        cJSON_AddStringToObject(payload, "sid", s->id);
        if (pid)
            cJSON_AddStringToObject(payload, "pid", pid);
        struct sio_packet p = {.type = SIO_CONNECT, .data = payload};
        snprintf(p.nsp, sizeof p.nsp, "%s", s->nsp);
        send_packet(s->es, &p);
        cJSON_Delete(payload);
    }
    eio_session_unlock(s->es);
    return rc;
}

static void connect_error(struct eio_session *es, const char *nsp, const char *message)
{
    cJSON *payload = cJSON_CreateObject();
    cJSON_AddStringToObject(payload, "message", message);
    struct sio_packet p = {.type = SIO_CONNECT_ERROR, .data = payload};
    snprintf(p.nsp, sizeof p.nsp, "%s", nsp);
    send_packet(es, &p);
    cJSON_Delete(payload);
}

void sio_socket_refuse(struct sio_socket *s, const char *message)
{
    struct eio_session *es = s->es;
    sio_socket_ref(s); /* detach may drop the last other reference */
    eio_session_lock(es);
    if (s->state == SOCKET_CONNECTING && s->client) {
        connect_error(es, s->nsp, message);
        detach(s->client, s);
    }
    eio_session_unlock(es);
    sio_socket_unref(s);
}

/* Whether a tree holds {"_binary": …} items (bounded by cJSON's depth). */
static bool has_binary(const cJSON *v)
{
    if (cJSON_IsObject(v) && cJSON_GetObjectItemCaseSensitive(v, "_binary"))
        return true;
    for (const cJSON *c = v ? v->child : NULL; c; c = c->next)
        if ((cJSON_IsArray(c) || cJSON_IsObject(c)) && has_binary(c))
            return true;
    return false;
}

/* Sends an EVENT or ACK, splitting binary items into attachments. */
static int send_with_binary(struct sio_socket *s, struct sio_packet *p)
{
    if (!has_binary(p->data))
        return send_packet(s->es, p);
    struct sio_packet copy = *p;
    copy.data = cJSON_Duplicate(p->data, true);
    struct sio_blob blobs[SIO_ATTACHMENTS_MAX];
    void *store = NULL;
    int n = copy.data ? sio_deconstruct(&copy, blobs, &store) : -1;
    int rc = n < 0 ? -1 : send_packet(s->es, &copy);
    for (int i = 0; rc == 0 && i < n; i++)
        rc = eio_session_send(s->es, true, blobs[i].data, blobs[i].len);
    free(store);
    cJSON_Delete(copy.data);
    return rc;
}

int sio_socket_emit(struct sio_socket *s, const cJSON *data)
{
    eio_session_lock(s->es);
    int rc = -1;
    if (s->state == SOCKET_CONNECTED) {
        struct sio_packet p = {.type = SIO_EVENT, .data = (cJSON *)data};
        snprintf(p.nsp, sizeof p.nsp, "%s", s->nsp);
        rc = send_with_binary(s, &p);
    }
    eio_session_unlock(s->es);
    return rc;
}

int sio_socket_emit_event(struct sio_socket *s, const char *name, const cJSON *arg)
{
    cJSON *data = cJSON_CreateArray();
    cJSON_AddItemToArray(data, cJSON_CreateString(name));
    if (arg)
        cJSON_AddItemReferenceToArray(data, (cJSON *)arg);
    int rc = sio_socket_emit(s, data);
    cJSON_Delete(data);
    return rc;
}

int sio_socket_ack(struct sio_socket *s, uint64_t ack_id, const cJSON *args)
{
    eio_session_lock(s->es);
    int rc = -1;
    if (s->state == SOCKET_CONNECTED) {
        cJSON *empty = args ? NULL : cJSON_CreateArray();
        struct sio_packet p = {.type = SIO_ACK,
                               .has_ack = true,
                               .ack_id = ack_id,
                               .data = args ? (cJSON *)args : empty};
        snprintf(p.nsp, sizeof p.nsp, "%s", s->nsp);
        rc = send_with_binary(s, &p);
        cJSON_Delete(empty);
    }
    eio_session_unlock(s->es);
    return rc;
}

static void socket_gone(struct sio_client *c, struct sio_socket *s, const char *reason)
{
    const struct sio_app *app = &c->srv->app;
    if (s->state == SOCKET_CONNECTED && app->on_disconnect)
        app->on_disconnect(app->ctx, s, reason);
    detach(c, s);
}

void sio_socket_disconnect(struct sio_socket *s)
{
    struct eio_session *es = s->es;
    sio_socket_ref(s);
    eio_session_lock(es);
    if (s->client && s->state == SOCKET_CONNECTED) {
        struct sio_packet p = {.type = SIO_DISCONNECT};
        snprintf(p.nsp, sizeof p.nsp, "%s", s->nsp);
        send_packet(es, &p);
        socket_gone(s->client, s, "server namespace disconnect");
    }
    eio_session_unlock(es);
    sio_socket_unref(s);
}

/* ---- incoming packets ----------------------------------------------------- */

static struct sio_socket *find_socket(struct sio_client *c, const char *nsp)
{
    for (size_t i = 0; i < SIO_CLIENT_MAX_SOCKETS; i++)
        if (c->sockets[i] && strcmp(c->sockets[i]->nsp, nsp) == 0)
            return c->sockets[i];
    return NULL;
}

static bool namespace_allowed(const struct sio_app *app, const char *nsp)
{
    static const char *const root_only[] = {"/", NULL};
    for (const char *const *n = app->namespaces ? app->namespaces : root_only; *n; n++)
        if (strcmp(*n, nsp) == 0)
            return true;
    return false;
}

static void on_connect_packet(struct sio_client *c, struct worker *w, const struct sio_packet *p)
{
    const struct sio_app *app = &c->srv->app;
    const char *nsp = nsp_or_root(p->nsp);
    if (!namespace_allowed(app, nsp)) {
        connect_error(c->es, p->nsp, "Invalid namespace");
        return;
    }
    if (find_socket(c, nsp))
        return; /* already there (or on its way) */
    size_t slot = 0;
    while (slot < SIO_CLIENT_MAX_SOCKETS && c->sockets[slot])
        slot++;
    size_t nsp_len = strlen(p->nsp);
    struct sio_socket *s =
        slot < SIO_CLIENT_MAX_SOCKETS ? calloc(1, sizeof *s + nsp_len + 1) : NULL;
    if (!s) {
        connect_error(c->es, p->nsp, "Too many namespaces");
        return;
    }
    atomic_init(&s->refs, 1); /* the client's */
    s->es = c->es;
    eio_session_ref(s->es);
    s->client = c;
    s->state = SOCKET_CONNECTING;
    memcpy(s->nsp, p->nsp, nsp_len + 1);
    unsigned char raw[15];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(s->id, sizeof s->id, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    c->sockets[slot] = s;

    if (!app->on_connect) {
        sio_socket_accept(s);
        return;
    }
    cJSON *empty = p->data ? NULL : cJSON_CreateObject();
    sio_socket_ref(s);
    app->on_connect(app->ctx, s, w, p->data ? p->data : empty);
    sio_socket_unref(s);
    cJSON_Delete(empty);
}

static void dispatch(struct sio_client *c, struct worker *w, struct sio_packet *p)
{
    const struct sio_app *app = &c->srv->app;
    const char *nsp = nsp_or_root(p->nsp);
    struct sio_socket *s;
    switch (p->type) {
    case SIO_CONNECT:
        on_connect_packet(c, w, p);
        break;
    case SIO_DISCONNECT:
        if ((s = find_socket(c, nsp)))
            socket_gone(c, s, "client namespace disconnect");
        break;
    case SIO_EVENT:
        s = find_socket(c, nsp);
        if (s && s->state == SOCKET_CONNECTED && app->on_event) {
            const char *name = sio_event_name(p);
            metrics_event_in(metrics_event_from_name(name, strlen(name)));
            app->on_event(app->ctx, s, w, name, p->data, p->has_ack, p->ack_id);
        }
        break;
    case SIO_ACK:
        break; /* the server asks for no acks */
    default:
        eio_session_close(c->es, "parse error");
        break;
    }
}

/* Takes len more bytes of the budgets for c's pending packet: false when
 * that would pass the client's or the server's (nothing is taken then). */
static bool budget_take(struct sio_client *c, size_t len)
{
    struct sio_server *srv = c->srv;
    if (len > srv->opt.attachment_bytes_per_client - c->pending_bytes)
        return false;
    size_t before = atomic_fetch_add(&srv->attachment_bytes, len);
    if (before + len > srv->opt.attachment_bytes_total) {
        atomic_fetch_sub(&srv->attachment_bytes, len);
        return false;
    }
    c->pending_bytes += len;
    metrics_gauge_add(METRICS_ATTACHMENT_BYTES, (long)len);
    return true;
}

/* Frees c's pending packet and gives its bytes back to the budgets. */
static void drop_pending(struct sio_client *c)
{
    struct binary_pending *bp = c->pending;
    if (bp) {
        for (size_t i = 0; i < bp->nblobs; i++)
            free((void *)bp->blobs[i].data);
        sio_packet_clear(&bp->packet);
        free(bp);
        c->pending = NULL;
    }
    atomic_fetch_sub(&c->srv->attachment_bytes, c->pending_bytes);
    metrics_gauge_add(METRICS_ATTACHMENT_BYTES, -(long)c->pending_bytes);
    c->pending_bytes = 0;
}

/* Over budget: the packet is dropped at once and the client closed. */
static void over_budget(struct sio_client *c, struct eio_session *es)
{
    drop_pending(c);
    eio_session_close(es, "attachments over budget");
}

/* Whether p may come now.  A namespace's packets need its socket connected:
 * before that only a CONNECT (or a DISCONNECT giving it up) may come, as
 * socket.io answers anything else by closing the client; so nothing is
 * held for a client that is not even connected. */
static bool expected_now(struct sio_client *c, const struct sio_packet *p)
{
    if (p->type == SIO_CONNECT || p->type == SIO_DISCONNECT)
        return true;
    struct sio_socket *s = find_socket(c, nsp_or_root(p->nsp));
    return s && s->state == SOCKET_CONNECTED;
}

static void on_message(void *ctx, struct eio_session *es, struct worker *w,
                       const struct eio_packet *ep)
{
    (void)ctx;
    struct sio_client *c = eio_session_data(es);
    if (!c)
        return;
    struct binary_pending *bp = c->pending;
    if (ep->binary) {
        if (!bp || bp->nblobs >= bp->packet.attachments) {
            eio_session_close(es, "parse error");
            return;
        }
        if (!budget_take(c, ep->len)) {
            over_budget(c, es);
            return;
        }
        void *copy = malloc(ep->len ? ep->len : 1);
        if (!copy) {
            eio_session_close(es, "out of memory");
            return;
        }
        if (ep->len)
            memcpy(copy, ep->data, ep->len);
        bp->blobs[bp->nblobs++] = (struct sio_blob){.data = copy, .len = ep->len};
        if (bp->nblobs < bp->packet.attachments)
            return;
        if (sio_reconstruct(&bp->packet, bp->blobs, bp->nblobs) < 0) {
            eio_session_close(es, "parse error");
        } else {
            struct sio_packet p = bp->packet;
            bp->packet = (struct sio_packet){0}; /* ownership moves to p */
            drop_pending(c);
            dispatch(c, w, &p);
            sio_packet_clear(&p);
        }
        return;
    }
    if (bp) {
        eio_session_close(es, "parse error"); /* attachments were due */
        return;
    }
    struct sio_packet p;
    int rc = sio_decode(ep->data, ep->len, &p);
    const struct sio_app *app = &c->srv->app;
    struct sio_socket *s;
    if (rc == SIO_ENUL && p.type == SIO_EVENT && app->on_unreadable &&
        (s = find_socket(c, nsp_or_root(p.nsp))) && s->state == SOCKET_CONNECTED) {
        app->on_unreadable(app->ctx, s, p.has_ack, p.ack_id);
        return;
    }
    if (rc < 0) {
        log_debug("session %s: %s", eio_session_tag(es), sio_strerror(rc));
        eio_session_close(es, "parse error");
        return;
    }
    if (!expected_now(c, &p)) {
        sio_packet_clear(&p);
        eio_session_close(es, "packet before CONNECT");
        return;
    }
    if (p.attachments) {
        c->pending = calloc(1, sizeof *c->pending);
        if (!c->pending) {
            sio_packet_clear(&p);
            eio_session_close(es, "out of memory");
            return;
        }
        c->pending->packet = p;
        if (!budget_take(c, ep->len))
            over_budget(c, es);
        return;
    }
    dispatch(c, w, &p);
    sio_packet_clear(&p);
}

/* ---- client life ------------------------------------------------------------- */

static int on_open(void *ctx, struct eio_session *es, struct http_req *req)
{
    struct sio_server *srv = ctx;
    struct sio_client *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->srv = srv;
    c->es = es;
    c->connect_deadline_ms = worker_now_ms() + srv->opt.connect_timeout_ms;
    if (srv->app.on_open) {
        bool refuse = false;
        c->app_data = srv->app.on_open(srv->app.ctx, req, &refuse);
        if (refuse) {
            if (srv->app.on_close)
                srv->app.on_close(srv->app.ctx, c->app_data);
            free(c);
            return -1;
        }
    }
    eio_session_set_data(es, c);
    return 0;
}

static void on_close(void *ctx, struct eio_session *es, const char *reason)
{
    struct sio_server *srv = ctx;
    struct sio_client *c = eio_session_data(es);
    if (!c)
        return;
    for (size_t i = 0; i < SIO_CLIENT_MAX_SOCKETS; i++)
        if (c->sockets[i])
            socket_gone(c, c->sockets[i], reason);
    drop_pending(c);
    if (srv->app.on_close)
        srv->app.on_close(srv->app.ctx, c->app_data);
    eio_session_set_data(es, NULL);
    free(c);
}

static void on_tick(void *ctx, struct eio_session *es, int64_t now_ms)
{
    (void)ctx;
    struct sio_client *c = eio_session_data(es);
    if (!c || !c->connect_deadline_ms || now_ms < c->connect_deadline_ms)
        return;
    c->connect_deadline_ms = 0;
    for (size_t i = 0; i < SIO_CLIENT_MAX_SOCKETS; i++)
        if (c->sockets[i] && c->sockets[i]->state == SOCKET_CONNECTED)
            return;
    eio_session_close(es, "connect timeout");
}

struct sio_server *sio_server_new(const struct sio_app *app, const struct sio_server_options *opt)
{
    struct sio_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return NULL;
    srv->app = *app;
    srv->opt = *opt;
    srv->handlers = (struct eio_handlers){
        .on_open = on_open,
        .on_message = on_message,
        .on_close = on_close,
        .on_tick = on_tick,
        .first_tick_ms = opt->connect_timeout_ms,
        .ctx = srv,
    };
    return srv;
}

void sio_server_free(struct sio_server *srv)
{
    free(srv);
}

const struct eio_handlers *sio_server_handlers(struct sio_server *srv)
{
    return &srv->handlers;
}
