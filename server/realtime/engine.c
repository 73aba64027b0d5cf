/* engine: Engine.IO sessions, the sid table, heartbeats, the outbox and the
 * long-polling transport (see engine.h; the WebSocket is engine_ws.c). */
#include "engine_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http.h"
#include "log.h"
#include "metrics.h"

#define TABLE_MIN_CAP 64
#define OUTBOX_MIN_CAP 16
/* Packets of one long-poll POST, at most. */
#define POST_MAX_PACKETS 1024

/* ---- outgoing packets ---------------------------------------------------- */

static struct sbuf *outpkt_new(enum eio_type type, bool binary, const void *data, size_t len)
{
    size_t body = binary ? len : len + 1;
    struct sbuf *b = sbuf_new(OUTPKT_HEAD + body);
    if (!b)
        return NULL;
    uint8_t *d = sbuf_data(b);
    uint8_t *payload = d + OUTPKT_HEAD;
    if (binary) {
        if (len)
            memcpy(payload, data, len);
    } else {
        payload[0] = (uint8_t)('0' + type);
        if (len)
            memcpy(payload + 1, data, len);
    }
    uint8_t header[WS_HEADER_MAX];
    size_t h = ws_frame_header(header, binary ? WS_OP_BINARY : WS_OP_TEXT, body);
    d[0] = (uint8_t)h;
    d[1] = binary ? OUTPKT_BINARY : 0;
    memcpy(payload - h, header, h);
    return b;
}

struct sbuf *outpkt_text(enum eio_type type, const char *data, size_t len)
{
    return outpkt_new(type, false, data, len);
}

struct sbuf *engine_packet_new(enum eio_type type, bool binary, const void *data, size_t len)
{
    return outpkt_new(type, binary, data, len);
}

/* ---- the engine ------------------------------------------------------------ */

struct engine *engine_new(const struct engine_options *opt, const struct engine_handlers *h)
{
    struct engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->opt = *opt;
    e->h = *h;
    snprintf(e->path, sizeof e->path, "%s", opt->path);
    e->path_len = strlen(e->path);
    e->table_cap = TABLE_MIN_CAP;
    e->table = calloc(e->table_cap, sizeof *e->table);
    if (!e->table) {
        free(e);
        return NULL;
    }
    pthread_rwlock_init(&e->table_lock, NULL);
    return e;
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    pthread_rwlock_destroy(&e->table_lock);
    free(e->table);
    free(e);
}

bool engine_owns(const struct engine *e, const char *url)
{
    /* "/socket.io/" and "/socket.io" both belong. */
    return strncmp(url, e->path, e->path_len - 1) == 0 &&
           (url[e->path_len - 1] == '/' || url[e->path_len - 1] == '\0');
}

size_t engine_max_body(const struct engine *e)
{
    return e->opt.max_payload;
}

/* ---- the sid table ------------------------------------------------------------ */

static size_t sid_hash(const char *sid, size_t cap)
{
    /* sids are random: their first bytes are as good as any hash. */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < EIO_SID_LEN; i++)
        h = (h ^ (uint8_t)sid[i]) * 1099511628211ULL;
    return (size_t)(h & (cap - 1));
}

/* Open addressing with linear probing; removal re-inserts the rest of its
 * cluster, so no deletion markers are needed. */
static void table_insert(struct engine *e, struct eio_session *s)
{
    size_t i = sid_hash(s->sid, e->table_cap);
    while (e->table[i])
        i = (i + 1) & (e->table_cap - 1);
    e->table[i] = s;
    e->table_count++;
}

static int table_grow(struct engine *e)
{
    size_t cap = e->table_cap * 2;
    struct eio_session **old = e->table;
    size_t old_cap = e->table_cap;
    e->table = calloc(cap, sizeof *e->table);
    if (!e->table) {
        e->table = old;
        return -1;
    }
    e->table_cap = cap;
    e->table_count = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            table_insert(e, old[i]);
    free(old);
    return 0;
}

static void table_remove(struct engine *e, struct eio_session *s)
{
    size_t mask = e->table_cap - 1;
    size_t i = sid_hash(s->sid, e->table_cap);
    while (e->table[i] && e->table[i] != s)
        i = (i + 1) & mask;
    if (!e->table[i])
        return;
    e->table[i] = NULL;
    e->table_count--;
    /* Re-insert the rest of the cluster so lookups never stop early. */
    for (size_t j = (i + 1) & mask; e->table[j]; j = (j + 1) & mask) {
        struct eio_session *moved = e->table[j];
        e->table[j] = NULL;
        e->table_count--;
        table_insert(e, moved);
    }
}

struct eio_session *session_lookup(struct engine *e, const char *sid)
{
    if (strlen(sid) != EIO_SID_LEN)
        return NULL;
    struct eio_session *found = NULL;
    pthread_rwlock_rdlock(&e->table_lock);
    size_t mask = e->table_cap - 1;
    for (size_t i = sid_hash(sid, e->table_cap); e->table[i]; i = (i + 1) & mask) {
        if (memcmp(e->table[i]->sid, sid, EIO_SID_LEN) == 0) {
            found = e->table[i];
            eio_session_ref(found);
            break;
        }
    }
    pthread_rwlock_unlock(&e->table_lock);
    return found;
}

/* ---- sessions -------------------------------------------------------------- */

const char *eio_session_id(const struct eio_session *s)
{
    return s->sid;
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

static void outbox_clear(struct eio_session *s)
{
    while (s->out_count) {
        sbuf_unref(s->out[s->out_head]);
        s->out_head = (s->out_head + 1) % s->out_cap;
        s->out_count--;
    }
    s->out_bytes = 0;
}

void eio_session_unref(struct eio_session *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    outbox_clear(s);
    free(s->out);
    pthread_mutex_destroy(&s->in_lock);
    pthread_mutex_destroy(&s->out_lock);
    free(s);
}

static void on_timer(struct timer *t);
static void run_close(struct worker *w, struct inbox_item *item);

struct eio_session *session_create(struct engine *e, struct worker *home, bool websocket)
{
    struct eio_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->out_cap = OUTBOX_MIN_CAP;
    s->out = calloc(s->out_cap, sizeof *s->out);
    if (!s->out) {
        free(s);
        return NULL;
    }
    s->engine = e;
    s->home = home;
    s->upgraded = websocket;
    atomic_init(&s->refs, 2); /* the table's, and the caller's */
    /* Recursive: a callback may call back into the engine or the layer
     * above, which takes the lock again. */
    pthread_mutexattr_t recursive;
    pthread_mutexattr_init(&recursive);
    pthread_mutexattr_settype(&recursive, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->in_lock, &recursive);
    pthread_mutexattr_destroy(&recursive);
    pthread_mutex_init(&s->out_lock, NULL);
    timer_init(&s->timer, on_timer);
    s->close_item.run = run_close;

    /* 15 random bytes are 20 base64url characters. */
    unsigned char raw[15];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(s->sid, sizeof s->sid, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);

    pthread_rwlock_wrlock(&e->table_lock);
    bool ok = (e->table_count + 1) * 2 <= e->table_cap || table_grow(e) == 0;
    if (ok)
        table_insert(e, s);
    pthread_rwlock_unlock(&e->table_lock);
    if (!ok ||
        worker_timer_schedule(home, &s->timer, worker_now_ms() + e->opt.ping_interval_ms) < 0) {
        if (ok) {
            pthread_rwlock_wrlock(&e->table_lock);
            table_remove(e, s);
            pthread_rwlock_unlock(&e->table_lock);
        }
        s->refs = 1;
        eio_session_unref(s);
        return NULL;
    }
    return s;
}

/* Queues a packet (a new reference is taken).  out_lock held. */
static int queue_locked(struct eio_session *s, struct sbuf *b)
{
    if (s->state != SESSION_OPEN)
        return -1;
    const struct engine_options *o = &s->engine->opt;
    size_t len = sbuf_len(b) - OUTPKT_HEAD;
    if (s->out_count >= o->outbox_max_packets || s->out_bytes + len > o->outbox_max_bytes) {
        metrics_inc(METRICS_OUTBOX_OVERFLOWS);
        log_info("session %s: outbox full, disconnecting a slow client", s->sid);
        /* What it did not read is dropped: waiting for it to drain is
         * exactly what a slow consumer must not make us do. */
        outbox_clear(s);
        s->aborted = true;
        session_close_locked(s, "slow consumer");
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
    session_wake_transports_locked(s);
    return 0;
}

struct sbuf *session_take_locked(struct eio_session *s)
{
    if (!s->out_count)
        return NULL;
    struct sbuf *b = s->out[s->out_head];
    s->out_head = (s->out_head + 1) % s->out_cap;
    s->out_count--;
    s->out_bytes -= sbuf_len(b) - OUTPKT_HEAD;
    return b;
}

int eio_session_send_packet(struct eio_session *s, struct sbuf *b)
{
    pthread_mutex_lock(&s->out_lock);
    int rc = queue_locked(s, b);
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

static void send_control(struct eio_session *s, enum eio_type type, const char *data, size_t len)
{
    struct sbuf *b = outpkt_text(type, data, len);
    if (b) {
        eio_session_send_packet(s, b);
        sbuf_unref(b);
    }
}

/* ---- closing ----------------------------------------------------------------- */

void session_close_locked(struct eio_session *s, const char *reason)
{
    if (s->state != SESSION_OPEN)
        return;
    s->state = SESSION_CLOSING;
    s->close_reason = reason;
    session_wake_transports_locked(s);
    if (!atomic_exchange(&s->close_posted, true)) {
        eio_session_ref(s);
        worker_post(s->home, &s->close_item);
    }
}

void eio_session_close(struct eio_session *s, const char *reason)
{
    pthread_mutex_lock(&s->out_lock);
    session_close_locked(s, reason);
    pthread_mutex_unlock(&s->out_lock);
}

void session_fail(struct eio_session *s, const char *reason)
{
    eio_session_close(s, reason);
}

/* The close's second half, on the home worker: tell the layer above, leave
 * the table, let the transports finish. */
static void run_close(struct worker *w, struct inbox_item *item)
{
    struct eio_session *s =
        (struct eio_session *)((char *)item - offsetof(struct eio_session, close_item));
    struct engine *e = s->engine;
    worker_timer_cancel(w, &s->timer);

    pthread_mutex_lock(&s->in_lock);
    pthread_mutex_lock(&s->out_lock);
    const char *reason = s->close_reason;
    pthread_mutex_unlock(&s->out_lock);
    if (e->h.on_close)
        e->h.on_close(e->h.ctx, s, reason);
    pthread_mutex_unlock(&s->in_lock);

    pthread_rwlock_wrlock(&e->table_lock);
    table_remove(e, s);
    pthread_rwlock_unlock(&e->table_lock);

    pthread_mutex_lock(&s->out_lock);
    s->state = SESSION_CLOSED;
    session_wake_transports_locked(s);
    if (!s->upgraded)
        metrics_conn_add(METRICS_TRANSPORT_POLLING, -1);
    pthread_mutex_unlock(&s->out_lock);
    log_debug("session %s closed: %s", s->sid, reason);
    eio_session_unref(s); /* the table's */
    eio_session_unref(s); /* the close item's */
}

void engine_close_worker_sessions(struct engine *e, struct worker *w)
{
    for (;;) {
        struct eio_session *found = NULL;
        pthread_rwlock_rdlock(&e->table_lock);
        for (size_t i = 0; i < e->table_cap && !found; i++) {
            struct eio_session *s = e->table[i];
            if (s && s->home == w && !atomic_load(&s->close_posted)) {
                found = s;
                eio_session_ref(s);
            }
        }
        pthread_rwlock_unlock(&e->table_lock);
        if (!found)
            return;
        pthread_mutex_lock(&found->out_lock);
        /* A close packet first, so the client knows this is no network error. */
        struct sbuf *b = outpkt_text(EIO_CLOSE, NULL, 0);
        if (b) {
            queue_locked(found, b);
            sbuf_unref(b);
        }
        session_close_locked(found, "server shutting down");
        pthread_mutex_unlock(&found->out_lock);
        eio_session_unref(found);
    }
}

/* ---- heartbeat (home worker) ------------------------------------------------ */

static void on_timer(struct timer *t)
{
    struct eio_session *s = (struct eio_session *)((char *)t - offsetof(struct eio_session, timer));
    const struct engine *e = s->engine;
    int64_t now = worker_now_ms();
    pthread_mutex_lock(&s->out_lock);
    bool open = s->state == SESSION_OPEN;
    pthread_mutex_unlock(&s->out_lock);
    if (!open)
        return;
    if (s->awaiting_pong) {
        int64_t pong = atomic_load(&s->last_pong_ms);
        if (pong < s->ping_sent_ms) {
            eio_session_close(s, "ping timeout");
            return;
        }
        s->awaiting_pong = false;
        worker_timer_schedule(s->home, &s->timer, pong + e->opt.ping_interval_ms);
    } else {
        send_control(s, EIO_PING, NULL, 0);
        s->ping_sent_ms = now;
        s->awaiting_pong = true;
        worker_timer_schedule(s->home, &s->timer, now + e->opt.ping_timeout_ms);
    }
    if (e->h.on_tick) {
        pthread_mutex_lock(&s->in_lock);
        e->h.on_tick(e->h.ctx, s, now);
        pthread_mutex_unlock(&s->in_lock);
    }
}

/* ---- incoming packets ------------------------------------------------------- */

/* in_lock held. */
void session_input(struct eio_session *s, struct worker *w, const struct eio_packet *p,
                   bool over_websocket)
{
    const struct engine *e = s->engine;
    switch (p->type) {
    case EIO_PONG:
        atomic_store(&s->last_pong_ms, worker_now_ms());
        break;
    case EIO_PING:
        /* Engine.IO 4 clients do not ping; answer anyway, as the reference. */
        send_control(s, EIO_PONG, p->data, p->len);
        break;
    case EIO_MESSAGE:
        e->h.on_message(e->h.ctx, s, w, p);
        break;
    case EIO_CLOSE:
        pthread_mutex_lock(&s->out_lock);
        s->client_closed = true;
        session_close_locked(s, "client close");
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

static bool session_is_open(struct eio_session *s)
{
    pthread_mutex_lock(&s->out_lock);
    bool open = s->state == SESSION_OPEN;
    pthread_mutex_unlock(&s->out_lock);
    return open;
}

/* ---- HTTP answers ------------------------------------------------------------ */

static void add_cors(struct engine *e, struct MHD_Response *r)
{
    if (e->opt.cors_any && r)
        MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
}

void engine_error(struct http_req *req, unsigned status, int code, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddNumberToObject(o, "code", code);
        cJSON_AddStringToObject(o, "message", message);
    }
    http_respond_json(req, status, o);
}

static void respond_text(struct engine *e, struct http_req *req, const char *type, char *text,
                         size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
    } else {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        add_cors(e, r);
    }
    http_respond(req, MHD_HTTP_OK, r);
}

/* The host[:port] part of an origin "scheme://host[:port]". */
static const char *origin_host(const char *origin)
{
    const char *p = strstr(origin, "://");
    return p ? p + 3 : NULL;
}

bool engine_origin_ok(struct engine *e, struct http_req *req)
{
    const char *origin = http_header(req, "Origin");
    if (!origin || e->opt.cors_any)
        return true; /* not a browser, or anyone may come */
    for (size_t i = 0; i < e->opt.n_origins; i++)
        if (strcasecmp(origin, e->opt.origins[i]) == 0)
            return true;
    if (e->opt.n_origins)
        return false;
    const char *host = http_header(req, "Host");
    const char *oh = origin_host(origin);
    return host && oh && strcasecmp(host, oh) == 0;
}

/* ---- long-polling --------------------------------------------------------------- */

/* A pending GET: lives in its request's route state, answered on the
 * worker that holds the request. */
struct eio_poll {
    struct http_req *req;
    struct worker *worker;
    struct eio_session *s;
    struct inbox_item item;
    atomic_bool queued;
};

static void poll_wake_locked(struct eio_poll *p)
{
    if (!atomic_exchange(&p->queued, true))
        worker_post(p->worker, &p->item);
}

void session_wake_transports_locked(struct eio_session *s)
{
    if (s->ws && (s->upgraded || s->state != SESSION_OPEN))
        ws_wake_locked(s->ws);
    if (s->poll && (!s->upgraded || s->state != SESSION_OPEN))
        poll_wake_locked(s->poll);
}

/* Builds the body of a poll answer from the outbox, at most max_payload
 * bytes (one packet at least).  out_lock held.  NULL when nothing is due. */
static char *poll_body_locked(struct eio_session *s, size_t *len)
{
    const char *single = NULL;
    if (s->noop_pending) {
        s->noop_pending = false;
        single = "6";
    } else if (!s->out_count && s->state != SESSION_OPEN) {
        single = s->client_closed ? "6" : "1";
    } else if (!s->out_count) {
        return NULL;
    }
    if (single) {
        *len = 1;
        return strdup(single);
    }
    size_t cap = 0, n = 0, max = s->engine->opt.max_payload;
    for (size_t i = 0; i < s->out_count; i++) {
        struct sbuf *b = s->out[(s->out_head + i) % s->out_cap];
        size_t plen;
        outpkt_payload(b, &plen);
        size_t enc = outpkt_binary(b)
                         ? 1 + sodium_base64_encoded_len(plen, sodium_base64_VARIANT_ORIGINAL)
                         : plen;
        if (n && cap + enc + 1 > max)
            break;
        cap += enc + 1;
        n++;
    }
    char *body = malloc(cap + 1);
    if (!body)
        return NULL;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        struct sbuf *b = session_take_locked(s);
        size_t plen;
        const uint8_t *payload = outpkt_payload(b, &plen);
        if (i)
            body[at++] = EIO_SEPARATOR;
        if (outpkt_binary(b)) {
            body[at++] = 'b';
            sodium_bin2base64(body + at, cap + 1 - at, payload, plen,
                              sodium_base64_VARIANT_ORIGINAL);
            at += strlen(body + at);
        } else {
            memcpy(body + at, payload, plen);
            at += plen;
        }
        sbuf_unref(b);
    }
    *len = at;
    return body;
}

static void poll_free(void *p)
{
    struct eio_poll *poll = p;
    if (poll)
        eio_session_unref(poll->s);
    free(poll);
}

static void poll_run(struct worker *w, struct inbox_item *item)
{
    struct eio_poll *p = (struct eio_poll *)((char *)item - offsetof(struct eio_poll, item));
    struct eio_session *s = p->s;
    atomic_store(&p->queued, false);
    pthread_mutex_lock(&s->out_lock);
    if (s->poll != p) {
        pthread_mutex_unlock(&s->out_lock);
        return;
    }
    size_t len = 0;
    char *body = poll_body_locked(s, &len);
    (void)w;
    if (!body) {
        pthread_mutex_unlock(&s->out_lock);
        return; /* nothing after all: keep waiting */
    }
    s->poll = NULL;
    pthread_mutex_unlock(&s->out_lock);
    respond_text(s->engine, p->req, "text/plain; charset=UTF-8", body, len);
}

static void poll_get(struct engine *e, struct http_req *req, struct eio_session *s)
{
    pthread_mutex_lock(&s->out_lock);
    if (s->state != SESSION_OPEN) {
        pthread_mutex_unlock(&s->out_lock);
        engine_error(req, MHD_HTTP_BAD_REQUEST, 1, "Session ID unknown");
        return;
    }
    if (s->poll) {
        /* One poll at a time: a second one is a broken or hostile client. */
        session_close_locked(s, "multiple polls");
        pthread_mutex_unlock(&s->out_lock);
        engine_error(req, MHD_HTTP_BAD_REQUEST, 3, "Bad request");
        return;
    }
    size_t len;
    char *body = poll_body_locked(s, &len);
    if (body) {
        pthread_mutex_unlock(&s->out_lock);
        respond_text(e, req, "text/plain; charset=UTF-8", body, len);
        return;
    }
    struct eio_poll *p = calloc(1, sizeof *p);
    if (!p) {
        pthread_mutex_unlock(&s->out_lock);
        http_respond_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "Out of memory");
        return;
    }
    p->req = req;
    p->worker = req->worker;
    p->s = s;
    eio_session_ref(s);
    p->item.run = poll_run;
    req->route_state = p;
    req->route_state_free = poll_free;
    s->poll = p;
    pthread_mutex_unlock(&s->out_lock);
    /* Unanswered: http.c suspends the request until poll_run answers it. */
}

static void poll_post(struct engine *e, struct http_req *req, struct eio_session *s)
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
    int n = eio_decode_payload(req->body ? req->body : "", req->body_len, e->opt.max_payload,
                               packets, max_packets, scratch, scratch_len);
    if (n < 0) {
        log_debug("session %s: bad payload: %s", s->sid, eio_strerror(n));
        session_fail(s, "parse error");
        engine_error(req, MHD_HTTP_BAD_REQUEST, 3, "Bad request");
    } else {
        pthread_mutex_lock(&s->in_lock);
        for (int i = 0; i < n && session_is_open(s); i++)
            session_input(s, req->worker, &packets[i], false);
        pthread_mutex_unlock(&s->in_lock);
        respond_text(e, req, "text/html", strdup("ok"), 2);
    }
    free(packets);
    free(scratch);
}

/* ---- dispatch ---------------------------------------------------------------------- */

struct eio_session *session_open(struct engine *e, struct http_req *req, bool websocket)
{
    struct eio_session *s = session_create(e, req->worker, websocket);
    if (!s) {
        http_respond_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "Out of memory");
        return NULL;
    }
    pthread_mutex_lock(&s->in_lock);
    int rc = e->h.on_open ? e->h.on_open(e->h.ctx, s, req) : 0;
    pthread_mutex_unlock(&s->in_lock);
    if (rc < 0) {
        eio_session_close(s, "refused");
        eio_session_unref(s);
        engine_error(req, MHD_HTTP_FORBIDDEN, 4, "Forbidden");
        return NULL;
    }
    return s;
}

char *session_open_json(struct eio_session *s, bool offer_upgrade, size_t *len)
{
    const struct engine *e = s->engine;
    static const char *const upgrades[] = {"websocket"};
    struct eio_handshake hs = {
        .sid = s->sid,
        .upgrades = upgrades,
        .n_upgrades = offer_upgrade ? 1 : 0,
        .ping_interval_ms = e->opt.ping_interval_ms,
        .ping_timeout_ms = e->opt.ping_timeout_ms,
        .max_payload = e->opt.max_payload,
    };
    return eio_open_json(&hs, len);
}

static void handshake(struct engine *e, struct http_req *req)
{
    struct eio_session *s = session_open(e, req, false);
    if (!s)
        return;
    size_t jlen;
    char *json = session_open_json(s, true, &jlen);
    char *body = json ? malloc(jlen + 2) : NULL;
    if (body) {
        body[0] = '0';
        memcpy(body + 1, json, jlen + 1);
    }
    free(json);
    eio_session_unref(s);
    if (!body) {
        http_respond_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "Out of memory");
        return;
    }
    metrics_conn_add(METRICS_TRANSPORT_POLLING, 1);
    respond_text(e, req, "text/plain; charset=UTF-8", body, jlen + 1);
}

void engine_handle(struct engine *e, struct http_req *req)
{
    if (strcmp(req->method, "OPTIONS") == 0 && e->opt.cors_any) {
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (r) {
            add_cors(e, r);
            MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST");
            MHD_add_response_header(r, "Access-Control-Allow-Headers", "Content-Type");
        }
        http_respond(req, MHD_HTTP_NO_CONTENT, r);
        return;
    }
    const char *eio = http_query(req, "EIO");
    const char *transport = http_query(req, "transport");
    const char *sid = http_query(req, "sid");
    if (!eio || strcmp(eio, "4") != 0) {
        engine_error(req, MHD_HTTP_BAD_REQUEST, 5, "Unsupported protocol version");
        return;
    }
    bool websocket = transport && strcmp(transport, "websocket") == 0;
    if (!websocket && (!transport || strcmp(transport, "polling") != 0)) {
        engine_error(req, MHD_HTTP_BAD_REQUEST, 0, "Transport unknown");
        return;
    }
    if (!engine_origin_ok(e, req)) {
        engine_error(req, MHD_HTTP_FORBIDDEN, 4, "Forbidden");
        return;
    }
    bool get = strcmp(req->method, "GET") == 0;
    if (!sid) {
        if (!get)
            engine_error(req, MHD_HTTP_BAD_REQUEST, 2, "Bad handshake method");
        else if (websocket)
            ws_upgrade(e, req, NULL);
        else
            handshake(e, req);
        return;
    }
    struct eio_session *s = session_lookup(e, sid);
    if (!s) {
        engine_error(req, MHD_HTTP_BAD_REQUEST, 1, "Session ID unknown");
        return;
    }
    pthread_mutex_lock(&s->out_lock);
    bool upgraded = s->upgraded, open = s->state == SESSION_OPEN;
    pthread_mutex_unlock(&s->out_lock);
    if (websocket && get && open)
        ws_upgrade(e, req, s);
    else if (websocket || upgraded)
        engine_error(req, MHD_HTTP_BAD_REQUEST, 3, "Bad request");
    else if (get)
        poll_get(e, req, s);
    else if (strcmp(req->method, "POST") == 0 && open)
        poll_post(e, req, s);
    else if (!open)
        engine_error(req, MHD_HTTP_BAD_REQUEST, 1, "Session ID unknown");
    else
        engine_error(req, MHD_HTTP_BAD_REQUEST, 3, "Bad request");
    eio_session_unref(s);
}

void engine_body_too_large(struct engine *e, struct http_req *req)
{
    const char *sid = http_query(req, "sid");
    struct eio_session *s = sid ? session_lookup(e, sid) : NULL;
    if (s) {
        session_fail(s, "payload too large");
        eio_session_unref(s);
    }
}
