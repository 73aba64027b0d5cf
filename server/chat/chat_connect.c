/* chat_connect: a socket's CONNECT — the session cookie of its handshake
 * metered (CONNECTS_PER_MINUTE) and checked by SCRIPT_SOCKET_OPEN, its user
 * adopted into the roster under the socket's lock, a recovery started —
 * and its disconnect. */
#include "chat_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrlimit.h"
#include "config.h"
#include "log.h"
#include "rconn.h"
#include "token.h"
#include "worker.h"

/* A connecting socket's user, put in place under the socket's lock: a
 * disconnect waits until the user is in the roster, then takes it out. */
struct adoption {
    struct chat *chat;
    struct chat_user *user;
    const char **rooms; /* NULL when out of memory */
    size_t n;
    struct store_offset read_at; /* the log's position when rooms were read */
    struct store_offset first;   /* where the socket's place in the log begins */
    bool held;                   /* recovering: live events wait for the replay */
    bool accepted;
};

static void adopt_user(void *arg, struct sio_socket *s, void **data)
{
    struct adoption *a = arg;
    /* Checked, not reserved: sockets of one user accepted at the same
     * moment on different workers may pass it together (WORKERS - 1 more
     * at most). */
    if (roster_user_sockets(a->chat->roster, a->user->id) >= a->chat->cfg->sockets_per_user) {
        sio_socket_refuse(s, "Too many connections of this user (SOCKETS_PER_USER)");
        return;
    }
    /* Accept first: the CONNECT answer must precede any event, and the
     * roster is what makes events flow to the socket. */
    if (sio_socket_accept_pid(s, a->user->pid) < 0)
        return; /* the client left while we asked Redis */
    a->accepted = true;
    *data = a->user;
    bool stale = false;
    a->user->member = a->rooms ? roster_add(a->chat->roster, sio_socket_session(s), a->user->id,
                                            a->rooms, a->n, a->held, &a->read_at, &stale)
                               : NULL;
    if (!a->user->member) {
        sio_socket_disconnect(s); /* out of memory: chat_on_disconnect cleans up */
    } else if (stale) {
        /* Its rooms were read before changes this server no longer
         * remembers: the client reconnects and reads them again. */
        log_info("user %s: rooms read too long ago; closing the session", a->user->id_str);
        eio_session_close(sio_socket_session(s), "rooms changed");
    } else {
        roster_since(a->chat->roster, a->user->member, &a->first);
    }
}

/* The rooms a socket joins: the user's set, and on recovery the private
 * rooms of the record too (always theirs, set or not). */
static const char **rooms_of(const redisReply *set, const char *record, uint64_t user, size_t *n,
                             size_t *from_set)
{
    cJSON *r = record ? cJSON_Parse(record) : NULL;
    const cJSON *saved = cJSON_GetObjectItemCaseSensitive(r, "rooms");
    size_t max = set->elements + (size_t)cJSON_GetArraySize(saved);
    const char **names = calloc(max + 1, sizeof *names);
    *n = 0;
    for (size_t i = 0; names && i < set->elements; i++)
        if ((names[*n] = rconn_str(set->element[i], NULL)))
            (*n)++;
    *from_set = *n; /* the rest are copies, freed by the caller */
    /* Record strings live in the reply's element[3], not in r. */
    const cJSON *room;
    cJSON_ArrayForEach(room, saved)
    {
        struct room_ref ref;
        if (names && cJSON_IsString(room) &&
            store_room_parse(room->valuestring, strlen(room->valuestring), &ref) == 0 &&
            store_room_is_private_member(&ref, user) && (names[*n] = strdup(ref.id)))
            (*n)++;
    }
    cJSON_Delete(r);
    return names;
}

/* The reply of SCRIPT_SOCKET_OPEN: {id, name, {rooms}, record or nil, log
 * position}, or nil. */
static void socket_opened(void *priv, redisReply *reply)
{
    struct pending *p = priv;
    struct chat *c = p->chat;
    struct sio_socket *s = p->s;
    struct chat_user *u = NULL;
    const char *id = NULL, *at = NULL;
    struct store_offset read_at;
    if (rconn_is_error(reply)) {
        sio_socket_refuse(s, "Service unavailable");
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 5 ||
               !(id = rconn_str(reply->element[0], NULL)) ||
               reply->element[2]->type != REDIS_REPLY_ARRAY ||
               !(at = rconn_str(reply->element[4], NULL)) ||
               store_offset_parse(at, strlen(at), &read_at) < 0 || !(u = calloc(1, sizeof *u)) ||
               store_parse_id(id, strlen(id), false, &u->id) < 0) {
        sio_socket_refuse(s, "unauthorized");
        free(u);
        u = NULL;
        if (id)
            chat_presence_leave(c, id); /* the script counted this socket */
    }
    if (u) {
        const char *record = rconn_str(reply->element[3], NULL);
        snprintf(u->id_str, sizeof u->id_str, "%" PRIu64, u->id);
        if (record)
            memcpy(u->pid, p->pid, sizeof u->pid); /* recovered: the same pid */
        else
            token_random_hex(u->pid, STORE_PID_BYTES);
        size_t n = 0, from_set = 0;
        const char **names = rooms_of(reply->element[2], record, u->id, &n, &from_set);
        struct adoption a = {
            .chat = c, .user = u, .rooms = names, .n = n, .read_at = read_at, .held = record};
        /* A new socket's place in the log begins where the log stands; a
         * recovered one's, at the offset it came back with. */
        if (!record || store_offset_parse(p->offset, strlen(p->offset), &a.first) < 0)
            a.first = read_at;
        sio_socket_with_data(s, adopt_user, &a);
        if (!a.accepted) {
            chat_presence_leave(c, u->id_str);
            free(u);
        } else if (record) {
            chat_replay_start(p, worker_current(), names, n, &read_at);
        }
        for (size_t i = from_set; names && i < n; i++)
            free((void *)names[i]);
        free(names);
    }
    chat_pending_free(p);
}

/* Whether a login session may CONNECT once more this minute on this
 * server (CONNECTS_PER_MINUTE), so cycling a connection cannot run the
 * CONNECT script at will.  Keyed by the key's digest (its tail). */
static bool connect_admitted(struct chat *c, const char *session_key)
{
    size_t len = strlen(session_key);
    const char *id = len < ADDRLIMIT_ADDR_MAX ? session_key : session_key + len - (ADDRLIMIT_ADDR_MAX - 1);
    pthread_mutex_lock(&c->connect_lock);
    bool ok = addrlimit_take(c->connects, id, worker_now_ms());
    pthread_mutex_unlock(&c->connect_lock);
    return ok;
}

/* A CONNECT: the session cookie of the handshake decides. */
void chat_on_connect(void *ctx, struct sio_socket *s, struct worker *w, const cJSON *auth)
{
    struct chat *c = ctx;
    struct chat_client *cl = sio_socket_client_data(s);
    const char *session_key = cl ? cl->session_key : NULL;
    if (!session_key || !session_key[0]) {
        sio_socket_refuse(s, "unauthorized");
        return;
    }
    if (!connect_admitted(c, session_key)) {
        sio_socket_refuse(s, "Too many connections; try again later");
        if (++cl->refused >= CONNECT_REFUSALS_MAX) {
            log_warn("session %s: kept connecting over CONNECTS_PER_MINUTE=%u; closed",
                     eio_session_tag(sio_socket_session(s)), c->cfg->connects_per_minute);
            eio_session_close(sio_socket_session(s), "too many connects");
        }
        return;
    }
    struct pending *p = chat_pending_new(c, s, false, 0);
    struct store_socket_open_params params = {
        .session_key = session_key,
        .server_id = c->cfg->server_id,
        .session_ttl_s = c->cfg->session_ttl,
        .now_ms = chat_now_ms(),
        .presence_ttl_s = c->cfg->presence_timeout * PRESENCE_TTL_FACTOR,
        .rooms_max = c->cfg->rooms_per_user,
    };
    if (p && chat_recovery_asked(auth, p)) {
        params.pid = p->pid;
        params.offset = p->offset;
    }
    struct store_call call;
    if (!p || store_call_socket_open(&call, &params) < 0 ||
        rconn_call(rconn_of(w), &call, socket_opened, p) < 0) {
        sio_socket_refuse(s, "Service unavailable");
        if (p)
            chat_pending_free(p);
    }
}

void chat_on_disconnect(void *ctx, struct sio_socket *s, const char *reason)
{
    struct chat *c = ctx;
    struct chat_user *u = sio_socket_data(s);
    sio_socket_set_data(s, NULL);
    if (!u)
        return;
    log_debug("user %s disconnected: %s", u->id_str, reason);
    if (chat_recoverable(reason))
        chat_recovery_save(c, u);
    roster_remove(c->roster, u->member);
    chat_presence_leave(c, u->id_str);
    free(u);
}
