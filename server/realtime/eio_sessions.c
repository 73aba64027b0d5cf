/* eio_sessions: the sid table of one Engine.IO endpoint (open addressing
 * under a read-write lock, a leaf), and closing many sessions at once: a
 * drain, a worker's shutdown, a credential's end (see eio_session.h). */
#include "eio_session_internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "metrics.h"

#define TABLE_MIN_CAP 64

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

int eio_sessions_add(struct eio_sessions *t, struct eio_session *s)
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

void eio_sessions_remove(struct eio_sessions *t, struct eio_session *s)
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

/* ---- closing many ------------------------------------------------------------- */

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
        eio_session_close_with_packet(found, reason, going_away);
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
        eio_session_finish_close(found);
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
        eio_session_close_with_packet(all[i], REASON_SHUTDOWN, true);
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
                                const char *reason, bool settle)
{
    size_t n = close_matching(t, bound_to, digest, reason, false);
    if (settle)
        settle_matching(t, bound_to, digest);
    return n;
}
