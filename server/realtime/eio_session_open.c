/* eio_session_open: a new session — its sid and log tag, the credential
 * its handshake presented, its open packet, its timers, the layer above's
 * on_open; and whether a later request presents the same credential. */
#include "eio_session_internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "eio_transport.h"
#include "outpkt.h"

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
    timer_init(&s->timer, eio_heartbeat_on_timer);
    timer_init(&s->first_tick, eio_heartbeat_on_first_tick);
    timer_init(&s->linger, eio_session_on_linger);
    s->linger_end.run = eio_session_run_linger_end;
    s->close_item.run = eio_session_run_close;

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
        eio_outbox_queue_locked(s, open);
        sbuf_unref(open);
        s->ws = ws;
    }
    eio_session_ref(s); /* the table's */
    if (eio_sessions_add(t, s) < 0) {
        eio_session_unref(s);
        eio_session_unref(s);
        return NULL;
    }
    if (worker_timer_schedule(home, &s->timer, worker_now_ms() + t->lim.ping_interval_ms) < 0) {
        eio_sessions_remove(t, s);
        eio_session_unref(s);
        eio_session_unref(s);
        return NULL;
    }
    eio_transport_gauge(s, 1);
    pthread_mutex_lock(&s->in_lock);
    int rc = t->h.on_open ? t->h.on_open(t->h.ctx, s, req) : 0;
    pthread_mutex_unlock(&s->in_lock);
    if (rc < 0) {
        *refused = true;
        pthread_mutex_lock(&s->out_lock);
        s->ws = NULL; /* the caller frees it */
        eio_session_close_locked(s, "refused");
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
