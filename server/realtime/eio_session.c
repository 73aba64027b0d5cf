/* eio_session: Engine.IO sessions, their table, heartbeat and outbox (see
 * eio_session.h), and the transports' side of them (eio_transport.h). */
#include "eio_session.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "eio_transport.h"
#include "log.h"
#include "metrics.h"
#include "outpkt.h"
#include "outq.h"
#include "timerheap.h"
#include "worker.h"

#define TABLE_MIN_CAP 64
/* Every session keeps an outbox ring this big; a burst grows it, and it
 * shrinks back once drained, so an idle session holds little. */
#define OUTBOX_MIN_CAP 4
/* How long a polling session closed by a server going away stays
 * reachable for its last packets (lingers). */
#define LINGER_MS 1000

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

/* ---- the sid table -------------------------------------------------------- */

static size_t sid_hash(const char *sid, size_t cap)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < EIO_SID_LEN; i++)
        h = (h ^ (uint8_t)sid[i]) * 1099511628211ULL;
    return (size_t)(h & (cap - 1));
}

/* Open addressing with linear probing; removal re-inserts the rest of its
 * cluster, so no deletion markers are needed.  Write lock held. */
static void table_insert(struct eio_sessions *t, struct eio_session *s)
{
    size_t i = sid_hash(s->sid, t->cap);
    while (t->table[i])
        i = (i + 1) & (t->cap - 1);
    t->table[i] = s;
    t->count++;
}

/* Rehashes into cap slots (a power of two, over twice the count).  Write
 * lock held.  -1, the table unchanged, when out of memory. */
static int table_resize(struct eio_sessions *t, size_t cap)
{
    struct eio_session **old = t->table;
    size_t old_cap = t->cap;
    t->table = calloc(cap, sizeof *t->table);
    if (!t->table) {
        t->table = old;
        return -1;
    }
    metrics_gauge_add(METRICS_SESSION_TABLE_SLOTS, (long)cap - (long)old_cap);
    t->cap = cap;
    t->count = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            table_insert(t, old[i]);
    free(old);
    return 0;
}

static int table_add(struct eio_sessions *t, struct eio_session *s)
{
    pthread_rwlock_wrlock(&t->lock);
    bool ok = (t->count + 1) * 2 <= t->cap || table_resize(t, t->cap * 2) == 0;
    if (ok)
        table_insert(t, s);
    pthread_rwlock_unlock(&t->lock);
    if (ok)
        metrics_gauge_add(METRICS_SESSIONS, 1);
    return ok ? 0 : -1;
}

static void table_remove(struct eio_sessions *t, struct eio_session *s)
{
    pthread_rwlock_wrlock(&t->lock);
    size_t mask = t->cap - 1;
    size_t i = sid_hash(s->sid, t->cap);
    while (t->table[i] && t->table[i] != s)
        i = (i + 1) & mask;
    bool found = t->table[i] != NULL;
    if (found) {
        t->table[i] = NULL;
        t->count--;
        for (size_t j = (i + 1) & mask; t->table[j]; j = (j + 1) & mask) {
            struct eio_session *moved = t->table[j];
            t->table[j] = NULL;
            t->count--;
            table_insert(t, moved);
        }
        /* Shrink when an eighth full, so a flood's memory comes back (a
         * failed shrink only keeps the bigger table). */
        if (t->cap > TABLE_MIN_CAP && t->count * 8 <= t->cap)
            table_resize(t, t->cap / 2);
    }
    pthread_rwlock_unlock(&t->lock);
    if (found)
        metrics_gauge_add(METRICS_SESSIONS, -1);
}

struct eio_sessions *eio_sessions_new(const struct eio_limits *lim, const struct eio_handlers *h,
                                      const struct eio_binding *bind)
{
    struct eio_sessions *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->lim = *lim;
    t->h = *h;
    if (bind)
        t->bind = *bind;
    t->cap = TABLE_MIN_CAP;
    t->table = calloc(t->cap, sizeof *t->table);
    if (!t->table) {
        free(t);
        return NULL;
    }
    metrics_gauge_add(METRICS_SESSION_TABLE_SLOTS, (long)t->cap);
    pthread_rwlock_init(&t->lock, NULL);
    return t;
}

void eio_sessions_free(struct eio_sessions *t)
{
    if (!t)
        return;
    pthread_rwlock_destroy(&t->lock);
    metrics_gauge_add(METRICS_SESSION_TABLE_SLOTS, -(long)t->cap);
    free(t->table);
    free(t);
}

struct eio_session *eio_sessions_find(struct eio_sessions *t, const char *sid)
{
    if (strlen(sid) != EIO_SID_LEN)
        return NULL;
    struct eio_session *found = NULL;
    pthread_rwlock_rdlock(&t->lock);
    size_t mask = t->cap - 1;
    for (size_t i = sid_hash(sid, t->cap); t->table[i]; i = (i + 1) & mask) {
        if (memcmp(t->table[i]->sid, sid, EIO_SID_LEN) == 0) {
            found = t->table[i];
            eio_session_ref(found);
            break;
        }
    }
    pthread_rwlock_unlock(&t->lock);
    return found;
}

/* ---- plain accessors ---------------------------------------------------------- */

const char *eio_session_id(const struct eio_session *s)
{
    return s->sid;
}

const char *eio_session_tag(const struct eio_session *s)
{
    return s->tag;
}

/* The credential req presents, into digest; false when none. */
static bool credential_of(const struct eio_sessions *t, struct http_req *req,
                          unsigned char digest[EIO_CREDENTIAL_BYTES])
{
    return t->bind.credential && t->bind.credential(t->bind.ctx, req, digest);
}

bool eio_session_presented_by(struct eio_session *s, struct http_req *req)
{
    unsigned char digest[EIO_CREDENTIAL_BYTES];
    bool has = credential_of(s->owner, req, digest);
    if (has != s->has_credential)
        return false;
    return !has || sodium_memcmp(digest, s->credential, sizeof digest) == 0;
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

/* ---- the outbox (out lock held) ---------------------------------------------- */

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

static void wake_poll(struct eio_session *s)
{
    if (s->poll)
        s->poll->wake(s->poll);
}

/* Wakes whichever transport can carry what is due now. */
static void wake_transports(struct eio_session *s)
{
    bool open = s->state == SESSION_OPEN;
    if (s->ws && (s->upgraded || !open))
        s->ws->wake(s->ws);
    if (!s->upgraded || !open)
        wake_poll(s);
}

static void close_locked(struct eio_session *s, const char *reason);

/* Queues a packet (a new reference is taken). */
static int queue_locked(struct eio_session *s, struct sbuf *b)
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
        outbox_clear(s);
        s->aborted = true;
        close_locked(s, "slow consumer");
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
    wake_transports(s);
    return 0;
}

/* Offers queued packets to fn until it refuses one; how many it took. */
static size_t take_locked(struct eio_session *s, eio_take_fn *fn, void *ctx)
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
    struct sbuf *b = outpkt_new(type, false, data, len);
    if (b) {
        eio_session_send_packet(s, b);
        sbuf_unref(b);
    }
}

/* ---- closing -------------------------------------------------------------------- */

/* The close's first half, on any thread: no more packets; the home worker
 * does the rest. */
static void close_locked(struct eio_session *s, const char *reason)
{
    if (s->state != SESSION_OPEN)
        return;
    s->state = SESSION_CLOSING;
    s->close_reason = reason;
    wake_transports(s);
    if (!atomic_exchange(&s->close_posted, true)) {
        eio_session_ref(s);
        worker_post(s->home, &s->close_item);
    }
}

void eio_session_close(struct eio_session *s, const char *reason)
{
    pthread_mutex_lock(&s->out_lock);
    close_locked(s, reason);
    pthread_mutex_unlock(&s->out_lock);
}

static bool is_open(struct eio_session *s)
{
    pthread_mutex_lock(&s->out_lock);
    bool open = s->state == SESSION_OPEN;
    pthread_mutex_unlock(&s->out_lock);
    return open;
}

static void transport_gauge(struct eio_session *s, int delta)
{
    metrics_conn_add(s->upgraded ? METRICS_TRANSPORT_WEBSOCKET : METRICS_TRANSPORT_POLLING, delta);
}

/* The close's end, on the home worker: leave the table, let the
 * transports finish. */
static void finish_close(struct eio_session *s)
{
    table_remove(s->owner, s);

    pthread_mutex_lock(&s->out_lock);
    s->state = SESSION_CLOSED;
    const char *reason = s->close_reason;
    wake_transports(s);
    transport_gauge(s, -1);
    pthread_mutex_unlock(&s->out_lock);
    log_debug("session %s closed: %s", s->tag, reason);
    eio_session_unref(s); /* the table's */
    eio_session_unref(s); /* the close item's */
}

static void on_linger(struct timer *tm)
{
    struct eio_session *s = (struct eio_session *)((char *)tm - offsetof(struct eio_session, linger));
    s->lingering = false;
    finish_close(s);
}

/* A poll took the last packet of a lingering session: it ends now rather
 * than at its timer (whichever comes first ends it).  Holds a reference. */
static void run_linger_end(struct worker *w, struct inbox_item *item)
{
    struct eio_session *s =
        (struct eio_session *)((char *)item - offsetof(struct eio_session, linger_end));
    if (s->lingering) {
        s->lingering = false;
        worker_timer_cancel(w, &s->linger);
        finish_close(s);
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
static void run_close(struct worker *w, struct inbox_item *item)
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
        finish_close(s);
}

/* Closes s with a close packet first, so the client knows this is no
 * network error.  going_away: the server is shutting down (a WebSocket
 * then closes with 1001). */
static void close_with_packet(struct eio_session *s, const char *reason, bool going_away)
{
    pthread_mutex_lock(&s->out_lock);
    struct sbuf *b = outpkt_new(EIO_CLOSE, false, NULL, 0);
    if (b) {
        queue_locked(s, b);
        sbuf_unref(b);
    }
    if (s->state == SESSION_OPEN)
        s->going_away = going_away;
    close_locked(s, reason);
    pthread_mutex_unlock(&s->out_lock);
}

typedef bool session_match_fn(const struct eio_session *s, const void *arg);

/* Closes, one at a time, every session of the table that match accepts and
 * that is not closing yet; the table's lock is a leaf, so each is closed
 * after it is released.  How many were closed. */
static size_t close_matching(struct eio_sessions *t, session_match_fn *match, const void *arg,
                             const char *reason, bool going_away)
{
    for (size_t closed = 0;; closed++) {
        struct eio_session *found = NULL;
        pthread_rwlock_rdlock(&t->lock);
        for (size_t i = 0; i < t->cap && !found; i++) {
            struct eio_session *s = t->table[i];
            if (s && !atomic_load(&s->close_posted) && match(s, arg)) {
                found = s;
                eio_session_ref(s);
            }
        }
        pthread_rwlock_unlock(&t->lock);
        if (!found)
            return closed;
        close_with_packet(found, reason, going_away);
        eio_session_unref(found);
    }
}

static bool home_is(const struct eio_session *s, const void *worker)
{
    return s->home == worker;
}

/* The reason a shutdown gives: socket.io's, which a client may recover from. */
#define REASON_SHUTDOWN "server shutting down"

/* A lingering session whose home is w (its linger timer is w's). */
static bool lingers_at(const struct eio_session *s, const void *worker)
{
    return s->home == worker && s->lingering;
}

void eio_sessions_close_worker(struct eio_sessions *t, struct worker *w)
{
    close_matching(t, home_is, w, REASON_SHUTDOWN, true);
    /* The loop is stopped: its timers will not fire, so what still
     * lingers ends now. */
    for (;;) {
        struct eio_session *found = NULL;
        pthread_rwlock_rdlock(&t->lock);
        for (size_t i = 0; i < t->cap && !found; i++)
            if (t->table[i] && lingers_at(t->table[i], w))
                found = t->table[i];
        pthread_rwlock_unlock(&t->lock);
        if (!found)
            return;
        worker_timer_cancel(w, &found->linger);
        found->lingering = false;
        finish_close(found);
    }
}

static bool any_session(const struct eio_session *s, const void *arg)
{
    (void)s;
    (void)arg;
    return true;
}

/* References to every session not closing yet, taken in one pass (a
 * drain of many sessions must not rescan the table for each); *n of them.
 * NULL when there is none, or out of memory (*n is then 0 too). */
static struct eio_session **snapshot_open(struct eio_sessions *t, size_t *n)
{
    *n = 0;
    pthread_rwlock_rdlock(&t->lock);
    struct eio_session **all = t->count ? malloc(t->count * sizeof *all) : NULL;
    for (size_t i = 0; all && i < t->cap; i++) {
        struct eio_session *s = t->table[i];
        if (s && !atomic_load(&s->close_posted)) {
            eio_session_ref(s);
            all[(*n)++] = s;
        }
    }
    pthread_rwlock_unlock(&t->lock);
    return all;
}

void eio_sessions_drain(struct eio_sessions *t)
{
    size_t n;
    struct eio_session **all = snapshot_open(t, &n);
    for (size_t i = 0; i < n; i++) {
        close_with_packet(all[i], REASON_SHUTDOWN, true);
        eio_session_unref(all[i]);
    }
    free(all);
    /* Out of memory: one at a time, however slow. */
    n += close_matching(t, any_session, NULL, REASON_SHUTDOWN, true);
    log_info("shutdown: %zu sessions told to reconnect", n);
}

bool eio_sessions_idle(struct eio_sessions *t)
{
    pthread_rwlock_rdlock(&t->lock);
    size_t count = t->count;
    pthread_rwlock_unlock(&t->lock);
    return count == 0 && atomic_load(&t->transports) == 0;
}

static bool bound_to(const struct eio_session *s, const void *digest)
{
    return s->has_credential &&
           sodium_memcmp(s->credential, digest, EIO_CREDENTIAL_BYTES) == 0;
}

/* Waits until no packet of a session that match accepts is being handled:
 * its in lock taken and given back once (the caller holds no lock).  The
 * sessions are closing already, so their input stops at the next packet. */
static void settle_matching(struct eio_sessions *t, session_match_fn *match, const void *arg)
{
    pthread_rwlock_rdlock(&t->lock);
    struct eio_session **found = t->count ? malloc(t->count * sizeof *found) : NULL;
    bool oom = t->count && !found;
    size_t n = 0;
    for (size_t i = 0; found && i < t->cap; i++) {
        struct eio_session *s = t->table[i];
        if (s && match(s, arg)) {
            eio_session_ref(s);
            found[n++] = s;
        }
    }
    pthread_rwlock_unlock(&t->lock);
    if (oom)
        log_warn("logout: out of memory; a packet being handled may still act");
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&found[i]->in_lock);
        pthread_mutex_unlock(&found[i]->in_lock);
        eio_session_unref(found[i]);
    }
    free(found);
}

size_t eio_sessions_close_bound(struct eio_sessions *t,
                                const unsigned char digest[EIO_CREDENTIAL_BYTES],
                                const char *reason)
{
    size_t n = close_matching(t, bound_to, digest, reason, false);
    settle_matching(t, bound_to, digest);
    return n;
}

/* ---- heartbeat (home worker) ------------------------------------------------- */

static void tick(struct eio_session *s, int64_t now)
{
    const struct eio_handlers *h = &s->owner->h;
    if (h->on_tick) {
        pthread_mutex_lock(&s->in_lock);
        h->on_tick(h->ctx, s, now);
        pthread_mutex_unlock(&s->in_lock);
    }
}

static void on_timer(struct timer *tm)
{
    struct eio_session *s =
        (struct eio_session *)((char *)tm - offsetof(struct eio_session, timer));
    const struct eio_sessions *t = s->owner;
    int64_t now = worker_now_ms();
    if (!is_open(s))
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
        send_control(s, EIO_PING, NULL, 0);
        s->ping_sent_ms = now;
        s->awaiting_pong = true;
        worker_timer_schedule(s->home, &s->timer, now + t->lim.ping_timeout_ms);
    }
    tick(s, now);
}

/* The layer above's own deadline, earlier than the first ping. */
static void on_first_tick(struct timer *tm)
{
    struct eio_session *s =
        (struct eio_session *)((char *)tm - offsetof(struct eio_session, first_tick));
    if (is_open(s))
        tick(s, worker_now_ms());
}

/* ---- opening ----------------------------------------------------------------------- */

static struct eio_session *session_new(struct eio_sessions *t, struct worker *home, bool websocket)
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
    s->owner = t;
    s->home = home;
    s->upgraded = websocket;
    atomic_init(&s->refs, 1);
    /* Recursive: a callback may call back into the session or the layer
     * above, which takes the lock again. */
    pthread_mutexattr_t recursive;
    pthread_mutexattr_init(&recursive);
    pthread_mutexattr_settype(&recursive, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->in_lock, &recursive);
    pthread_mutexattr_destroy(&recursive);
    pthread_mutex_init(&s->out_lock, NULL);
    timer_init(&s->timer, on_timer);
    timer_init(&s->first_tick, on_first_tick);
    timer_init(&s->linger, on_linger);
    s->linger_end.run = run_linger_end;
    s->close_item.run = run_close;

    /* 15 random bytes are 20 base64url characters. */
    unsigned char raw[15];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(s->sid, sizeof s->sid, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, (const unsigned char *)s->sid, EIO_SID_LEN);
    sodium_bin2hex(s->tag, sizeof s->tag, hash, EIO_TAG_LEN / 2);
    return s;
}

struct sbuf *eio_session_open_packet(struct eio_session *s, bool offer_upgrade)
{
    const struct eio_limits *lim = &s->owner->lim;
    static const char *const upgrades[] = {"websocket"};
    struct eio_handshake hs = {
        .sid = s->sid,
        .upgrades = upgrades,
        .n_upgrades = offer_upgrade ? 1 : 0,
        .ping_interval_ms = lim->ping_interval_ms,
        .ping_timeout_ms = lim->ping_timeout_ms,
        .max_payload = lim->max_payload,
    };
    size_t len;
    char *json = eio_open_json(&hs, &len);
    struct sbuf *b = json ? outpkt_new(EIO_OPEN, false, json, len) : NULL;
    free(json);
    return b;
}

struct eio_session *eio_session_open(struct eio_sessions *t, struct http_req *req,
                                     struct worker *home, struct eio_transport *ws, bool *refused)
{
    *refused = false;
    struct eio_session *s = session_new(t, home, ws != NULL);
    if (!s)
        return NULL;
    s->has_credential = credential_of(t, req, s->credential);
    if (ws) {
        /* The open packet goes first, before anything the layer above sends
         * (no other thread knows the session yet: no lock needed). */
        struct sbuf *open = eio_session_open_packet(s, false);
        if (!open) {
            eio_session_unref(s);
            return NULL;
        }
        queue_locked(s, open);
        sbuf_unref(open);
        s->ws = ws;
    }
    eio_session_ref(s); /* the table's */
    if (table_add(t, s) < 0) {
        eio_session_unref(s);
        eio_session_unref(s);
        return NULL;
    }
    if (worker_timer_schedule(home, &s->timer, worker_now_ms() + t->lim.ping_interval_ms) < 0) {
        table_remove(t, s);
        eio_session_unref(s);
        eio_session_unref(s);
        return NULL;
    }
    transport_gauge(s, 1);
    pthread_mutex_lock(&s->in_lock);
    int rc = t->h.on_open ? t->h.on_open(t->h.ctx, s, req) : 0;
    pthread_mutex_unlock(&s->in_lock);
    if (rc < 0) {
        *refused = true;
        pthread_mutex_lock(&s->out_lock);
        s->ws = NULL; /* the caller frees it */
        close_locked(s, "refused");
        pthread_mutex_unlock(&s->out_lock);
        eio_session_unref(s);
        return NULL;
    }
    /* After on_open, so a deadline it set from the clock is due by then.
     * Failing to schedule it only leaves the check to the ping's ticks. */
    if (t->h.first_tick_ms)
        worker_timer_schedule(home, &s->first_tick, worker_now_ms() + t->h.first_tick_ms);
    return s;
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
        send_control(s, EIO_PONG, p->data, p->len);
        break;
    case EIO_MESSAGE:
        h->on_message(h->ctx, s, w, p);
        break;
    case EIO_CLOSE:
        pthread_mutex_lock(&s->out_lock);
        s->client_closed = true;
        close_locked(s, "client close");
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
    for (size_t i = 0; i < n && is_open(s); i++)
        input(s, w, &p[i], over_websocket);
    pthread_mutex_unlock(&s->in_lock);
}

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
    return take_locked(s, poll_take_one, &pt) ? EIO_BATCH_PACKETS : EIO_BATCH_NONE;
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
        close_locked(s, "multiple polls");
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
        wake_poll(s);
    }
    pthread_mutex_unlock(&s->out_lock);
}

bool eio_session_ws_upgrade(struct eio_session *s, struct eio_transport *t)
{
    pthread_mutex_lock(&s->out_lock);
    bool ok = s->ws == t && s->state == SESSION_OPEN && !s->upgraded;
    if (ok) {
        transport_gauge(s, -1);
        s->upgraded = true;
        transport_gauge(s, 1);
        /* A poll still pending ends with a noop; what is queued goes here. */
        s->noop_pending = true;
        wake_poll(s);
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
        size_t n = take_locked(s, fn, ctx);
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
            close_locked(s, "transport close");
    }
    pthread_mutex_unlock(&s->out_lock);
}
