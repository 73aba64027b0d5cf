/* chat_recovery: connection state recovery — a lost socket's record
 * (user and rooms under its pid), and on its return the replay of what it
 * missed, then its release in the roster. */
#include "chat_internal.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "rconn.h"
#include "worker.h"

/* Whether the CONNECT's auth asks to recover ({pid, offset}, as
 * socket.io-client 4.6+ sends them); fills p's pid and offset. */
bool chat_recovery_asked(const cJSON *auth, struct pending *p)
{
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(auth, "pid");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(auth, "offset");
    struct store_offset o;
    if (!cJSON_IsString(pid) || !store_pid_valid(pid->valuestring, strlen(pid->valuestring)) ||
        !cJSON_IsString(off) || strlen(off->valuestring) >= sizeof p->offset ||
        store_offset_parse(off->valuestring, strlen(off->valuestring), &o) < 0)
        return false;
    snprintf(p->pid, sizeof p->pid, "%s", pid->valuestring);
    snprintf(p->offset, sizeof p->offset, "%s", off->valuestring);
    return true;
}

/* A lost transport may come back, and so may the clients of a server
 * shutting down (to another of the fleet); a client that left (its
 * DISCONNECT) or a server that refused it may not, as socket.io decides. */
bool chat_recoverable(const char *reason)
{
    static const char *const lost[] = {"transport close", "client close",         "ping timeout",
                                       "slow consumer",   "server shutting down", "events lost"};
    for (size_t i = 0; i < sizeof lost / sizeof *lost; i++)
        if (strcmp(reason, lost[i]) == 0)
            return true;
    return false;
}

/* The socket's user and rooms under its pid, for RECOVERY_WINDOW (on a
 * worker; at shutdown there is none and nothing is saved). */
void chat_recovery_save(struct chat *c, const struct chat_user *u)
{
    struct worker *w = worker_current();
    struct rconn *redis = w && !u->no_record ? rconn_of(w) : NULL;
    char *record = redis && u->member ? roster_record(c->roster, u->member) : NULL;
    struct store_call call;
    if (record && store_call_recovery_save(&call, u->pid, record, c->cfg->recovery_window) == 0)
        rconn_call(redis, &call, chat_ignore_reply, NULL);
    free(record);
}

/* A replay's start: the rooms the socket joined, the user's as the log
 * stood when it was opened. */
static struct replay *replay_new(const char *const *rooms, size_t n)
{
    struct replay *view = calloc(1, sizeof *view);
    for (size_t i = 0; view && i < n; i++)
        if (strlen(rooms[i]) < STORE_ROOM_ID_MAX)
            chat_replay_join(view, rooms[i]);
    return view;
}

/* Walking the log back from where the view stands: the view before one of
 * the user's own group changes.  Not a member before room.added (the
 * script refuses one who is), a member before room.removed (likewise).
 * show.room is left alone: a private room is always its two users'. */
static void replay_undo(struct replay *r, const char *type, const cJSON *data)
{
    bool added = strcmp(type, "room.added") == 0;
    if (!added && strcmp(type, "room.removed") != 0)
        return;
    char uid[24], gid[24];
    uint64_t user;
    const cJSON *group = added ? cJSON_GetObjectItemCaseSensitive(data, "room") : data;
    if (!chat_id_text(cJSON_GetObjectItemCaseSensitive(data, "userId"), uid) ||
        store_parse_id(uid, strlen(uid), false, &user) < 0 || user != r->user ||
        !chat_group_id_text(cJSON_GetObjectItemCaseSensitive(group, "id"), gid))
        return;
    (added ? chat_replay_leave : chat_replay_join)(r, gid);
}

/* The missed events to the recovering socket, those it would have had.
 * The view holds its rooms as the log stood at `opened`: first taken back
 * to the client's offset, undoing the user's own changes logged in
 * between, then walked forward through every event, so nothing of a room
 * reaches it that the user was not in at that event.  *last moves to the
 * last entry's offset.  False when an entry is malformed or the session
 * did not take a packet. */
static bool replay_events(struct pending *p, const redisReply *reply, struct store_offset *last)
{
    size_t n = reply->elements;
    struct log_event *ev = calloc(n ? n : 1, sizeof *ev);
    bool ok = ev != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = chat_log_event_parse(reply->element[i], &ev[i]);
    for (size_t i = n; ok && i-- > 0;)
        if (ev[i].env && store_offset_cmp(&ev[i].at, &p->opened) <= 0)
            replay_undo(p->replay, ev[i].type, ev[i].data);
    for (size_t i = 0; ok && i < n && !p->replay->failed; i++) {
        struct fan f = {.c = p->chat, .offset = ev[i].id, .replay = p->replay};
        if (ev[i].env)
            chat_fan_event(&f, ev[i].type, ev[i].data);
        *last = ev[i].at;
    }
    for (size_t i = 0; ev && i < n; i++)
        cJSON_Delete(ev[i].env);
    free(ev);
    return ok && !p->replay->failed;
}

struct replay_job {
    struct pending *p;
    redisReply *reply;
};

/* Under the socket's lock: the missed events, then what the roster held
 * for the socket meanwhile (those after the replay's last offset), then
 * live.  A replay that cannot be whole (a Redis error, beyond its bounds
 * by now, more than its session's outbox takes) closes the session
 * instead, and the socket leaves no record: the client comes back once,
 * afresh, rather than replaying again and again. */
static void replay_locked(void *arg, struct sio_socket *s, void **data)
{
    struct replay_job *job = arg;
    struct pending *p = job->p;
    struct chat_user *u = *data;
    const redisReply *reply = job->reply;
    if (!u || !u->member)
        return;
    bool ok = false;
    struct store_offset last;
    if (p->replay) {
        p->replay->es = sio_socket_session(s);
        p->replay->user = u->id;
        ok = store_offset_parse(p->offset, strlen(p->offset), &last) == 0 &&
             !rconn_is_error(reply) && reply->type == REDIS_REPLY_ARRAY &&
             reply->elements <= STORE_REPLAY_MAX && replay_events(p, reply, &last);
    }
    if (!ok) /* first: what the roster held goes nowhere */
        eio_session_close(sio_socket_session(s), "recovery failed");
    if (roster_release(p->chat->roster, u->member, ok ? &last : NULL) < 0 || !ok) {
        log_info("user %s: recovery failed; closing the session", u->id_str);
        u->no_record = true;
        eio_session_close(sio_socket_session(s), "recovery failed");
    }
}

static void replayed(void *priv, redisReply *reply)
{
    struct replay_job job = {.p = priv, .reply = reply};
    sio_socket_with_data(job.p->s, replay_locked, &job);
    chat_pending_free(job.p);
}

/* Reads the log after the client's offset (the socket is in the roster,
 * held, already: nothing published from now on can be missed). */
void chat_replay_start(struct pending *p, struct worker *w, const char *const *rooms, size_t n,
                       const struct store_offset *opened)
{
    struct pending *q = chat_pending_new(p->chat, p->s, false, 0);
    struct store_call call;
    if (q) {
        memcpy(q->offset, p->offset, sizeof q->offset);
        q->opened = *opened;
        q->replay = rooms ? replay_new(rooms, n) : NULL;
    }
    if (!q) {
        eio_session_close(sio_socket_session(p->s), "recovery failed");
    } else if (!w || !q->replay || store_call_replay(&call, q->offset) < 0 ||
               rconn_call(rconn_of(w), &call, replayed, q) < 0) {
        replayed(q, NULL); /* with no reply: releases the socket and closes it */
    }
}
