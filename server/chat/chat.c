/* chat: chatd's Socket.IO application (see chat.h).
 *
 * Every event reaches sockets through one path: the worker stores and
 * PUBLISHes it on MESSAGES (one Lua script, one round trip); the subscriber
 * thread receives it — ours and other servers' alike —, encodes the packet
 * once and queues that one buffer on every target socket found in the
 * roster.  So delivery is exactly once, and the same on every server. */
#include "chat.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addrlimit.h"
#include "auth.h"
#include "bucket.h"
#include "config.h"
#include "eio_session.h"
#include "engine.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "outpkt.h"
#include "outq.h"
#include "rconn.h"
#include "redis_sync.h"
#include "roster.h"
#include "sio.h"
#include "strmap.h"
#include "store.h"
#include "subscriber.h"
#include "timerheap.h"
#include "token.h"
#include "worker.h"

/* A server's presence hash outlives missed heartbeats by this factor, so
 * the others can still read whom a dead server held. */
#define PRESENCE_TTL_FACTOR 20
/* Typing notices a user may send, at most one per this many ms, over all
 * their sockets on every server (a gate in Redis); a socket does not even
 * ask Redis sooner than that after its own last one. */
#define TYPING_MIN_INTERVAL_MS 300
/* Refusals a socket over its event budget may earn, net of the
 * EVENTS_PER_SECOND a second forgiven, before it is disconnected: enough
 * for a client that rejoins every room it can be in at once (the web app
 * does, without acks, on reconnecting), and five bursts more.  A client
 * that slows down when refused is never disconnected; a flood soon is. */
#define FLOOD_REFUSALS(burst) (ROSTER_ROOMS_MAX + 5 * (burst))
/* A socket's refusals are logged once per this many ms at most. */
#define REFUSAL_LOG_INTERVAL_MS 10000
/* How often the users whose presence grace ended are taken out. */
#define LEAVE_TICK_MS 250
/* Login sessions whose CONNECTs are counted at once (the oldest window
 * goes first when full), and the refused CONNECTs after which an
 * Engine.IO session that keeps trying is closed. */
#define CONNECT_METER_SESSIONS 4096
#define CONNECT_REFUSALS_MAX 3

struct chat {
    const struct config *cfg;
    struct sio_app app;
    struct roster *roster;
    struct engine *engine; /* whose connections a logout closes */
    struct subscriber *sub;
    /* The newest logged event the subscriber applied (subscriber thread
     * only): after a lost connection it catches up from there. */
    bool has_applied;
    struct store_offset applied;
    char applied_id[STORE_OFFSET_MAX];
    struct timer heartbeat;
    struct worker *heartbeat_worker;
    /* Presence held for PRESENCE_GRACE: user id -> struct leaving, and
     * the same in order of due time (a leaf lock). */
    pthread_mutex_t leave_lock;
    struct strmap *leaving;
    struct leaving *leave_head, *leave_tail;
    struct timer leave_timer;
    /* CONNECTs per login session and minute (a leaf lock). */
    pthread_mutex_t connect_lock;
    struct addrlimit *connects;
    bool locks; /* initialized */
};

/* Sockets of a user that closed on this server and are still counted in
 * its presence hash until due_ms (PRESENCE_GRACE after the last). */
struct leaving {
    char user_id[24];
    unsigned n;
    int64_t due_ms;
    struct leaving *prev, *next;
};

/* An Engine.IO session's data: the session key of its handshake's cookie
 * ("" without a well-formed one), and its refused CONNECTs. */
struct chat_client {
    unsigned refused;
    char session_key[];
};

/* A connected socket's user and place in the roster. */
struct chat_user {
    uint64_t id;
    char id_str[24];
    struct roster_member *member;
    int64_t last_typing_ms;
    char pid[STORE_PID_LEN + 1]; /* connection state recovery's private id */
    bool no_record; /* its recovery failed: it leaves no record, comes back afresh */
    /* The socket's event budget (EVENTS_PER_SECOND, EVENTS_BURST), and
     * the refusals it may still earn before it is disconnected; set up
     * by its first event. */
    bool budgeted;
    struct bucket events, flood;
    int64_t refusals_logged_ms;
    uint32_t refusals_unlogged;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t presence_timeout_ms(const struct chat *c)
{
    return (int64_t)c->cfg->presence_timeout * 1000;
}

static void ignore_reply(void *priv, redisReply *reply)
{
    (void)priv;
    (void)reply;
}

/* ---- presence ---------------------------------------------------------------- */

/* n sockets of user left this server (on a worker thread; at shutdown,
 * with no worker, SCRIPT_SERVER_DOWN does it for all at once). */
static void presence_leave_now(struct chat *c, struct worker *w, const char *user_id, unsigned n)
{
    struct rconn *redis = w ? rconn_of(w) : NULL;
    if (!redis)
        return;
    struct store_presence_leave_params params = {.server_id = c->cfg->server_id,
                                                 .user_id = user_id,
                                                 .count = n,
                                                 .now_ms = now_ms(),
                                                 .timeout_ms = presence_timeout_ms(c)};
    struct store_call call;
    if (store_call_presence_leave(&call, &params) < 0 ||
        rconn_call(redis, &call, ignore_reply, NULL) < 0)
        log_warn("presence: Redis unavailable; user %s may look online until this server's "
                 "presence expires",
                 user_id);
}

/* Unlinks e from the queue (leave lock held). */
static void leaving_unlink(struct chat *c, struct leaving *e)
{
    (e->prev ? &e->prev->next : &c->leave_head)[0] = e->next;
    (e->next ? &e->next->prev : &c->leave_tail)[0] = e->prev;
    e->prev = e->next = NULL;
}

/* Appends e, due last (leave lock held). */
static void leaving_append(struct chat *c, struct leaving *e)
{
    e->prev = c->leave_tail;
    (c->leave_tail ? &c->leave_tail->next : &c->leave_head)[0] = e;
    c->leave_tail = e;
}

/* Holds one more closed socket of user_id for PRESENCE_GRACE: false when
 * it could not be held (out of memory). */
static bool presence_hold(struct chat *c, const char *user_id)
{
    pthread_mutex_lock(&c->leave_lock);
    struct leaving *e = strmap_get(c->leaving, user_id);
    if (e) {
        leaving_unlink(c, e);
    } else if ((e = calloc(1, sizeof *e))) {
        snprintf(e->user_id, sizeof e->user_id, "%s", user_id);
        if (strmap_put(c->leaving, e->user_id, e) < 0) {
            free(e);
            e = NULL;
        }
    }
    if (e) {
        e->n++;
        e->due_ms = worker_now_ms() + (int64_t)c->cfg->presence_grace * 1000;
        leaving_append(c, e);
    }
    pthread_mutex_unlock(&c->leave_lock);
    return e != NULL;
}

/* One socket of user left this server.  Its count in presence stays for
 * PRESENCE_GRACE after the user's last close, so a user who comes back
 * meanwhile (here or on another server) never looks offline, and a client
 * cycling its connection costs the fleet no presence events. */
static void presence_leave(struct chat *c, const char *user_id)
{
    if (!c->cfg->presence_grace || !presence_hold(c, user_id))
        presence_leave_now(c, worker_current(), user_id, 1);
}

/* The users whose grace ended, out of presence (the heartbeat's worker). */
static void on_leave_tick(struct timer *t)
{
    struct chat *c = (struct chat *)((char *)t - offsetof(struct chat, leave_timer));
    struct worker *w = c->heartbeat_worker;
    int64_t now = worker_now_ms();
    struct leaving *due = NULL;
    pthread_mutex_lock(&c->leave_lock);
    while (c->leave_head && c->leave_head->due_ms <= now) {
        struct leaving *e = c->leave_head;
        leaving_unlink(c, e);
        strmap_remove(c->leaving, e->user_id);
        e->next = due;
        due = e;
    }
    pthread_mutex_unlock(&c->leave_lock);
    while (due) {
        struct leaving *e = due;
        due = e->next;
        presence_leave_now(c, w, e->user_id, e->n);
        free(e);
    }
    worker_timer_schedule(w, t, now + LEAVE_TICK_MS);
}

static void heartbeat_done(void *priv, redisReply *reply)
{
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0)
        log_info("presence: %lld users of unresponsive servers went offline", reply->integer);
}

static void on_heartbeat(struct timer *t)
{
    struct chat *c = (struct chat *)((char *)t - offsetof(struct chat, heartbeat));
    struct worker *w = c->heartbeat_worker;
    struct store_heartbeat_params params = {
        .server_id = c->cfg->server_id,
        .now_ms = now_ms(),
        .timeout_ms = presence_timeout_ms(c),
        .presence_ttl_s = c->cfg->presence_timeout * PRESENCE_TTL_FACTOR,
    };
    struct store_call call;
    if (store_call_heartbeat(&call, &params) == 0)
        rconn_call(rconn_of(w), &call, heartbeat_done, NULL);
    worker_timer_schedule(w, t, worker_now_ms() + presence_timeout_ms(c) / 3);
}

void chat_worker_start(void *ctx, struct worker *w)
{
    struct chat *c = ctx;
    if (worker_index(w) != 0)
        return;
    c->heartbeat_worker = w;
    timer_init(&c->heartbeat, on_heartbeat);
    /* The first beat as soon as Redis is connected. */
    worker_timer_schedule(w, &c->heartbeat, worker_now_ms() + 200);
    timer_init(&c->leave_timer, on_leave_tick);
    worker_timer_schedule(w, &c->leave_timer, worker_now_ms() + LEAVE_TICK_MS);
}

/* ---- fan-out (subscriber thread; and a recovering socket's replay) ------- */

/* A recovering socket's view of the log while it is replayed: its user
 * and its rooms as the events change them, so it gets exactly what it
 * would have received had it stayed. */
struct replay {
    struct eio_session *es;
    uint64_t user;
    bool failed; /* the session did not take a packet */
    char rooms[ROSTER_ROOMS_MAX][STORE_ROOM_ID_MAX];
    size_t n;
};

/* Where one event goes: live, the roster's sockets; replayed, one socket. */
struct fan {
    struct chat *c;
    const char *offset; /* the event's, NULL when it has none (an original's) */
    struct replay *replay;
};

static bool replay_in(const struct replay *r, const char *room)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->rooms[i], room) == 0)
            return true;
    return false;
}

static void replay_join(struct replay *r, const char *room)
{
    if (!replay_in(r, room) && r->n < ROSTER_ROOMS_MAX)
        snprintf(r->rooms[r->n++], STORE_ROOM_ID_MAX, "%s", room);
}

static void replay_leave(struct replay *r, const char *room)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->rooms[i], room) == 0) {
            memcpy(r->rooms[i], r->rooms[--r->n], STORE_ROOM_ID_MAX);
            return;
        }
    }
}

/* The Engine.IO packet of the event [name, data(, offset)], built once:
 * the offset goes last, as socket.io's server sends it. */
static struct sbuf *event_packet(const char *name, const cJSON *data, const char *offset)
{
    size_t len;
    char *text = NULL;
    if (!offset) {
        text = sio_encode_event(NULL, name, data, &len);
    } else {
        cJSON *args = cJSON_CreateArray();
        cJSON_AddItemToArray(args, cJSON_CreateString(name));
        cJSON_AddItemReferenceToArray(args, (cJSON *)data);
        cJSON_AddItemToArray(args, cJSON_CreateString(offset));
        struct sio_packet p = {.type = SIO_EVENT, .data = args};
        text = sio_encode(&p, &len);
        cJSON_Delete(args);
    }
    struct sbuf *b = text ? outpkt_new(EIO_MESSAGE, false, text, len) : NULL;
    free(text);
    return b;
}

enum fan_to { TO_ROOM, TO_USER, TO_ALL };

/* Sends [name, event, offset] to a room's sockets (but except's), a
 * user's, or all; returns how many got it. */
static size_t fan_send(const struct fan *f, enum fan_to to, const char *room, uint64_t user,
                       uint64_t except, const char *name, const cJSON *event)
{
    struct replay *r = f->replay;
    if (r && ((to == TO_ROOM && (!replay_in(r, room) || r->user == except)) ||
              (to == TO_USER && r->user != user)))
        return 0;
    struct roster_send p = {.packet = event_packet(name, event, f->offset), .except_user = except};
    if (!p.packet)
        return 0;
    p.has_offset = f->offset && store_offset_parse(f->offset, strlen(f->offset), &p.offset) == 0;
    size_t n = 0;
    if (r)
        n = eio_session_send_packet(r->es, p.packet) == 0;
    else if (to == TO_ROOM)
        n = roster_send_in_room(f->c->roster, room, &p);
    else if (to == TO_USER)
        n = roster_send_to_user(f->c->roster, user, &p);
    else
        n = roster_send_all(f->c->roster, &p);
    if (r && !n)
        r->failed = true; /* closed, or its outbox full: the replay is not whole */
    sbuf_unref(p.packet);
    return n;
}

/* A user's sockets join or leave a room (show.room, room.added/removed);
 * the roster remembers the change at the event's offset, for joins that
 * read the membership before it. */
static void fan_membership(const struct fan *f, uint64_t user, const char *room, bool join)
{
    struct store_offset at;
    bool has_at = f->offset && store_offset_parse(f->offset, strlen(f->offset), &at) == 0;
    if (f->replay) {
        if (f->replay->user == user)
            (join ? replay_join : replay_leave)(f->replay, room);
    } else if (join) {
        roster_join_user(f->c->roster, user, room, has_at ? &at : NULL);
    } else {
        roster_leave_user(f->c->roster, user, room, has_at ? &at : NULL);
    }
}

static void count_out(const struct fan *f, enum metrics_event e, size_t n)
{
    if (!f->replay)
        metrics_event_out(e, n);
}

/* An id given as a string or a number, as decimal text. */
static bool id_text(const cJSON *v, char out[24])
{
    uint64_t id;
    if (cJSON_IsString(v) &&
        store_parse_id(v->valuestring, strlen(v->valuestring), false, &id) == 0)
        return snprintf(out, 24, "%" PRIu64, id) > 0;
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= (double)STORE_ID_MAX &&
        (double)(uint64_t)v->valuedouble == v->valuedouble)
        return snprintf(out, 24, "%" PRIu64, (uint64_t)v->valuedouble) > 0;
    return false;
}

/* A room id given as a string or a number (named rooms). */
static bool room_from_json(const cJSON *v, struct room_ref *out)
{
    char text[STORE_ROOM_ID_MAX];
    if (cJSON_IsString(v))
        return store_room_parse(v->valuestring, strlen(v->valuestring), out) == 0;
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= (double)STORE_ID_MAX &&
        (double)(uint64_t)v->valuedouble == v->valuedouble) {
        snprintf(text, sizeof text, "%" PRIu64, (uint64_t)v->valuedouble);
        return store_room_parse(text, strlen(text), out) == 0;
    }
    return false;
}

static void fan_message(const struct fan *f, const cJSON *data)
{
    cJSON *m = store_message_from_object(data);
    const cJSON *room = cJSON_GetObjectItemCaseSensitive(m, "roomId");
    struct room_ref ref;
    if (cJSON_IsString(room) &&
        store_room_parse(room->valuestring, strlen(room->valuestring), &ref) == 0)
        count_out(f, METRICS_EVENT_MESSAGE, fan_send(f, TO_ROOM, ref.id, 0, 0, "message", m));
    cJSON_Delete(m);
}

static void fan_presence(const struct fan *f, const char *type, const cJSON *data, bool online)
{
    char id[24];
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(data, "username");
    if (!id_text(cJSON_GetObjectItemCaseSensitive(data, "id"), id) || !cJSON_IsString(name))
        return;
    cJSON *user = cJSON_CreateObject();
    cJSON_AddStringToObject(user, "id", id);
    cJSON_AddStringToObject(user, "username", name->valuestring);
    cJSON_AddBoolToObject(user, "online", online);
    count_out(f, online ? METRICS_EVENT_USER_CONNECTED : METRICS_EVENT_USER_DISCONNECTED,
              fan_send(f, TO_ALL, NULL, 0, 0, type, user));
    cJSON_Delete(user);
}

static void fan_show_room(const struct fan *f, const cJSON *data)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "id");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(data, "names");
    struct room_ref ref;
    if (!cJSON_IsString(id) ||
        store_room_parse(id->valuestring, strlen(id->valuestring), &ref) < 0 ||
        ref.kind != ROOM_PRIVATE || !cJSON_IsArray(names))
        return;
    /* Join first, so the message that follows reaches them. */
    fan_membership(f, ref.a, ref.id, true);
    fan_membership(f, ref.b, ref.id, true);
    cJSON *room = cJSON_CreateObject();
    cJSON_AddStringToObject(room, "id", ref.id);
    cJSON *flat = cJSON_AddArrayToObject(room, "names");
    const cJSON *name;
    cJSON_ArrayForEach(name, names)
    {
        /* The Node original sends each name as a one-element array. */
        const cJSON *n = cJSON_IsArray(name) ? cJSON_GetArrayItem(name, 0) : name;
        cJSON_AddItemToArray(flat, cJSON_CreateString(cJSON_IsString(n) ? n->valuestring : ""));
    }
    size_t n = fan_send(f, TO_USER, NULL, ref.a, 0, "show.room", room);
    n += fan_send(f, TO_USER, NULL, ref.b, 0, "show.room", room);
    count_out(f, METRICS_EVENT_SHOW_ROOM, n);
    cJSON_Delete(room);
}

static void fan_typing(const struct fan *f, const cJSON *data)
{
    const cJSON *room = cJSON_GetObjectItemCaseSensitive(data, "roomId");
    char from[24];
    uint64_t uid;
    struct room_ref ref;
    if (!cJSON_IsString(room) || !id_text(cJSON_GetObjectItemCaseSensitive(data, "from"), from) ||
        store_room_parse(room->valuestring, strlen(room->valuestring), &ref) < 0 ||
        store_parse_id(from, strlen(from), false, &uid) < 0)
        return;
    cJSON *event = cJSON_CreateObject();
    cJSON_AddStringToObject(event, "roomId", ref.id);
    cJSON_AddStringToObject(event, "from", from);
    count_out(f, METRICS_EVENT_TYPING, fan_send(f, TO_ROOM, ref.id, 0, uid, "typing", event));
    cJSON_Delete(event);
}

/* The room and message id an edit, delete or reaction event names. */
static bool change_ids(const cJSON *data, struct room_ref *ref, const char **id)
{
    const cJSON *room = cJSON_GetObjectItemCaseSensitive(data, "roomId");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, "id");
    if (!cJSON_IsString(room) || !cJSON_IsString(v) ||
        !store_message_id_valid(v->valuestring, strlen(v->valuestring)) ||
        store_room_parse(room->valuestring, strlen(room->valuestring), ref) < 0)
        return false;
    *id = v->valuestring;
    return true;
}

/* message.edit: the whole message as now stored, normalized, to the
 * room's sockets (all of them, the author's included, as `message` goes). */
static void fan_edit(const struct fan *f, const cJSON *data)
{
    cJSON *m = store_message_from_object(data);
    struct room_ref ref;
    const char *id;
    if (m && change_ids(m, &ref, &id))
        count_out(f, METRICS_EVENT_OTHER, fan_send(f, TO_ROOM, ref.id, 0, 0, "message.edit", m));
    cJSON_Delete(m);
}

/* message.delete {roomId, id}, and message.react {roomId, id, reactions}. */
static void fan_delete_or_react(const struct fan *f, const char *type, const cJSON *data)
{
    bool react = strcmp(type, "message.react") == 0;
    struct room_ref ref;
    const char *id;
    if (!change_ids(data, &ref, &id))
        return;
    cJSON *event = cJSON_CreateObject();
    cJSON_AddStringToObject(event, "roomId", ref.id);
    cJSON_AddStringToObject(event, "id", id);
    if (react)
        cJSON_AddItemToObject(
            event, "reactions",
            store_reactions_normalize(cJSON_GetObjectItemCaseSensitive(data, "reactions")));
    count_out(f, METRICS_EVENT_OTHER, fan_send(f, TO_ROOM, ref.id, 0, 0, type, event));
    cJSON_Delete(event);
}

/* room.read {userId, roomId, id}: {roomId, id} to every socket of the
 * reader, so a read in one tab clears the count in all of them. */
static void fan_read(const struct fan *f, const cJSON *data)
{
    char user[24];
    uint64_t uid;
    struct room_ref ref;
    const cJSON *room = cJSON_GetObjectItemCaseSensitive(data, "roomId");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "id");
    if (!id_text(cJSON_GetObjectItemCaseSensitive(data, "userId"), user) ||
        store_parse_id(user, strlen(user), false, &uid) < 0 || !cJSON_IsString(room) ||
        store_room_parse(room->valuestring, strlen(room->valuestring), &ref) < 0 ||
        !cJSON_IsString(id) || !store_message_id_valid(id->valuestring, strlen(id->valuestring)))
        return;
    cJSON *event = cJSON_CreateObject();
    cJSON_AddStringToObject(event, "roomId", ref.id);
    cJSON_AddStringToObject(event, "id", id->valuestring);
    count_out(f, METRICS_EVENT_ROOM_READ, fan_send(f, TO_USER, NULL, uid, 0, "room.read", event));
    cJSON_Delete(event);
}

/* A group id ("12": a named room's number, never 0). */
static bool group_id_text(const cJSON *v, char out[24])
{
    struct room_ref ref;
    return cJSON_IsString(v) &&
           store_room_parse(v->valuestring, strlen(v->valuestring), &ref) == 0 &&
           ref.kind == ROOM_NAMED && ref.a != 0 && snprintf(out, 24, "%s", ref.id) > 0;
}

/* room.added {userId, room}: the user's sockets join, then hear of it.
 * The room is the group's summary (memberCount): an event logged before
 * summaries carried the list, which is not passed on. */
static void fan_room_added(const struct fan *f, const cJSON *data)
{
    char uid[24];
    uint64_t user;
    cJSON *room = store_group_from_object(cJSON_GetObjectItemCaseSensitive(data, "room"));
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(room, "id");
    cJSON_DeleteItemFromObjectCaseSensitive(room, "members");
    if (room && id_text(cJSON_GetObjectItemCaseSensitive(data, "userId"), uid) &&
        store_parse_id(uid, strlen(uid), false, &user) == 0) {
        fan_membership(f, user, id->valuestring, true);
        fan_send(f, TO_USER, NULL, user, 0, "room.added", room);
    }
    cJSON_Delete(room);
}

/* room.removed {userId, id}: the user's sockets leave at once, so nothing
 * of the room reaches them after this event. */
static void fan_room_removed(const struct fan *f, const cJSON *data)
{
    char uid[24], gid[24];
    uint64_t user;
    if (!id_text(cJSON_GetObjectItemCaseSensitive(data, "userId"), uid) ||
        store_parse_id(uid, strlen(uid), false, &user) < 0 ||
        !group_id_text(cJSON_GetObjectItemCaseSensitive(data, "id"), gid))
        return;
    fan_membership(f, user, gid, false);
    cJSON *event = cJSON_CreateObject();
    cJSON_AddStringToObject(event, "id", gid);
    fan_send(f, TO_USER, NULL, user, 0, "room.removed", event);
    cJSON_Delete(event);
}

/* room.member {id, userId, change, memberCount}: one membership change,
 * to the sockets in the room (a new member's among them, a removed one's
 * no longer).  The change, never the list: small whatever the group. */
static void fan_room_member(const struct fan *f, const cJSON *data)
{
    char gid[24], uid[24];
    const cJSON *change = cJSON_GetObjectItemCaseSensitive(data, "change");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(data, "memberCount");
    if (!group_id_text(cJSON_GetObjectItemCaseSensitive(data, "id"), gid) ||
        !id_text(cJSON_GetObjectItemCaseSensitive(data, "userId"), uid) || !cJSON_IsString(change) ||
        (strcmp(change->valuestring, "added") != 0 && strcmp(change->valuestring, "removed") != 0) ||
        !cJSON_IsNumber(count) || count->valuedouble < 0 ||
        count->valuedouble > (double)STORE_ID_MAX ||
        (double)(uint64_t)count->valuedouble != count->valuedouble)
        return;
    cJSON *event = cJSON_CreateObject();
    cJSON_AddStringToObject(event, "id", gid);
    cJSON_AddStringToObject(event, "userId", uid);
    cJSON_AddStringToObject(event, "change", change->valuestring);
    cJSON_AddNumberToObject(event, "memberCount", count->valuedouble);
    fan_send(f, TO_ROOM, gid, 0, 0, "room.member", event);
    cJSON_Delete(event);
}

/* One event of the channel or the log, {"serverId", "type", "data"}. */
static void fan_event(const struct fan *f, const char *type, const cJSON *data)
{
    if (strcmp(type, "message") == 0)
        fan_message(f, data);
    else if (strcmp(type, "user.connected") == 0)
        fan_presence(f, "user.connected", data, true);
    else if (strcmp(type, "user.disconnected") == 0)
        fan_presence(f, "user.disconnected", data, false);
    else if (strcmp(type, "show.room") == 0)
        fan_show_room(f, data);
    else if (strcmp(type, "typing") == 0)
        fan_typing(f, data);
    else if (strcmp(type, "message.edit") == 0)
        fan_edit(f, data);
    else if (strcmp(type, "message.delete") == 0 || strcmp(type, "message.react") == 0)
        fan_delete_or_react(f, type, data);
    else if (strcmp(type, "room.read") == 0)
        fan_read(f, data);
    else if (strcmp(type, "room.added") == 0)
        fan_room_added(f, data);
    else if (strcmp(type, "room.removed") == 0)
        fan_room_removed(f, data);
    else if (strcmp(type, "room.member") == 0)
        fan_room_member(f, data);
}

/* A message of chatd's control channel: a logout closes every connection
 * its login session opened on this server (their sid alone no longer
 * reaches them: see eio_binding). */
static void on_control(struct chat *c, const char *payload, size_t len)
{
    char digest_hex[TOKEN_DIGEST_HEX_LEN + 1];
    unsigned char digest[TOKEN_DIGEST_BYTES];
    if (store_control_read(payload, len, digest_hex) != STORE_CONTROL_LOGOUT ||
        !token_digest_from_hex(digest_hex, strlen(digest_hex), digest)) {
        log_debug("control: ignoring an unknown message");
        return;
    }
    chat_close_login(c, digest);
}

size_t chat_close_login(struct chat *c, const unsigned char *digest)
{
    _Static_assert(TOKEN_DIGEST_BYTES == EIO_CREDENTIAL_BYTES, "a credential is a cookie digest");
    size_t n = c->engine ? engine_close_bound(c->engine, digest, "logout") : 0;
    if (n)
        log_debug("logout: %zu connections closed", n);
    return n;
}

/* Whether a logged event at o is new to the subscriber (one a catch-up
 * applied already comes again live); it becomes the last applied. */
static bool applied_next(struct chat *c, const struct store_offset *o, const char *id)
{
    if (c->has_applied && store_offset_cmp(o, &c->applied) <= 0)
        return false;
    c->has_applied = true;
    c->applied = *o;
    snprintf(c->applied_id, sizeof c->applied_id, "%s", id);
    return true;
}

/* Every message of MESSAGES: {"offset", "serverId", "type", "data"} (the
 * originals' have no offset: sent without one, never replayed); and of
 * chatd's control channel. */
static void on_channel(void *ctx, const char *channel, const char *payload, size_t len)
{
    struct chat *c = ctx;
    if (channel == STORE_CONTROL_CHANNEL) {
        on_control(c, payload, len);
        return;
    }
    const char *type = NULL;
    const cJSON *data = NULL;
    cJSON *env = store_envelope_read(payload, len, &type, &data);
    if (!env) {
        log_debug("channel: ignoring a malformed event");
    } else {
        const cJSON *offset = cJSON_GetObjectItemCaseSensitive(env, "offset");
        struct store_offset o;
        struct fan f = {.c = c};
        if (cJSON_IsString(offset) &&
            store_offset_parse(offset->valuestring, strlen(offset->valuestring), &o) == 0)
            f.offset = offset->valuestring;
        if (!f.offset || applied_next(c, &o, f.offset))
            fan_event(&f, type, data);
    }
    metrics_inc(METRICS_BROADCASTS);
    cJSON_Delete(env);
}

/* ---- the subscriber's catch-up (subscriber thread) ------------------------- */

/* Events after this many pages are too many to catch up: sockets reconnect. */
#define CATCH_UP_PAGES (STORE_EVENTS_MAX / STORE_CATCH_UP_PAGE + 1)

static void close_one(void *ctx, struct eio_session *es, uint64_t user)
{
    (void)ctx;
    (void)user;
    eio_session_close(es, "events lost");
}

/* Runs SCRIPT_CATCH_UP after `after` (NULL: the position only) on r. */
static redisReply *catch_up_call(redisContext *r, const char *after)
{
    struct store_call call;
    const char *argv[STORE_CALL_ARGV_MAX];
    int argc = store_call_catch_up(&call, after) < 0 ? -1 : store_call_eval_argv(&call, argv);
    redisReply *reply = argc < 0 ? NULL : redisCommandArgv(r, argc, argv, NULL);
    if (reply && (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
                  !rconn_str(reply->element[0], NULL))) {
        freeReplyObject(reply);
        reply = NULL;
    }
    return reply;
}

/* One logged event {id, {'e', envelope}} through live fan-out, unless it
 * was applied already. */
static void catch_up_entry(struct chat *c, const redisReply *e)
{
    const char *id =
        e->type == REDIS_REPLY_ARRAY && e->elements == 2 ? rconn_str(e->element[0], NULL) : NULL;
    const redisReply *fields = id ? e->element[1] : NULL;
    size_t len = 0;
    const char *env = fields && fields->type == REDIS_REPLY_ARRAY && fields->elements == 2
                          ? rconn_str(fields->element[1], &len)
                          : NULL;
    struct store_offset o;
    if (!env || store_offset_parse(id, strlen(id), &o) < 0 || !applied_next(c, &o, id))
        return;
    const char *type = NULL;
    const cJSON *data = NULL;
    cJSON *parsed = store_envelope_read(env, len, &type, &data);
    struct fan f = {.c = c, .offset = id};
    if (parsed)
        fan_event(&f, type, data);
    cJSON_Delete(parsed);
}

/* Applies one page after the last applied event: 1 more may follow, 0
 * done, -1 the log no longer holds them all (or Redis failed: -2). */
static int catch_up_page(struct chat *c, redisContext *r, struct store_offset *position)
{
    redisReply *reply = catch_up_call(r, c->applied_id);
    if (!reply || reply->elements != 3 || reply->element[2]->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(reply);
        return -2;
    }
    const char *pos = rconn_str(reply->element[0], NULL);
    const char *deleted = rconn_str(reply->element[1], NULL);
    struct store_offset gone;
    int rc = store_offset_parse(pos, strlen(pos), position) < 0 || !deleted ||
                     store_offset_parse(deleted, strlen(deleted), &gone) < 0
                 ? -2
                 : store_offset_cmp(&gone, &c->applied) > 0 ? -1 : 0;
    const redisReply *events = reply->element[2];
    for (size_t i = 0; rc == 0 && i < events->elements; i++)
        catch_up_entry(c, events->element[i]);
    if (rc == 0 && events->elements == STORE_CATCH_UP_PAGE)
        rc = 1;
    freeReplyObject(reply);
    return rc;
}

/* The subscription is in place (subscriber_resume_fn): the first time,
 * note the log's position; after a lost connection, apply what was
 * logged since the last event applied, in order, so no socket misses
 * one.  When the log no longer holds them all, every socket is closed
 * instead ("events lost", recoverable): each recovers from its own
 * offset, or starts afresh. */
static int on_resume(void *ctx)
{
    struct chat *c = ctx;
    redisContext *r = redis_sync_connect(c->cfg, 2, NULL);
    if (!r)
        return -1;
    int rc = 1;
    struct store_offset position;
    if (!c->has_applied) {
        redisReply *reply = catch_up_call(r, NULL);
        const char *pos = reply ? rconn_str(reply->element[0], NULL) : NULL;
        rc = pos && store_offset_parse(pos, strlen(pos), &position) == 0 &&
                     applied_next(c, &position, pos)
                 ? 0
                 : -2;
        freeReplyObject(reply);
    }
    for (int page = 0; rc == 1 && page < CATCH_UP_PAGES; page++)
        rc = catch_up_page(c, r, &position);
    redisFree(r);
    if (rc == -2)
        return -1;
    if (rc != 0) {
        size_t n = roster_each(c->roster, close_one, NULL);
        log_warn("subscriber: events missed while disconnected are no longer in the log; "
                 "%zu connections closed to recover",
                 n);
        char id[STORE_OFFSET_MAX];
        snprintf(id, sizeof id, "%" PRIu64 "-%" PRIu64, position.ms, position.seq);
        applied_next(c, &position, id);
    }
    return 0;
}

/* ---- acks -------------------------------------------------------------------------- */

/* What a message.edit, .delete or .react event asks. */
enum change { CHANGE_EDIT, CHANGE_DELETE, CHANGE_REACT };

/* A pending reply to a socket's event. */
struct pending {
    struct chat *chat;
    struct sio_socket *s;
    bool has_ack;
    uint64_t ack_id;
    char *message; /* SCRIPT_SEND_MESSAGE: the stored JSON */
    /* SCRIPT_SEND_MESSAGE followed by WAIT (REDIS_WAIT_REPLICAS): the
     * script's answer waits for WAIT's, which acks. */
    bool awaits_replicas;
    bool wait_unsent;         /* WAIT could not be queued: not known to be safe */
    const char *stored_error; /* the script's refusal, NULL when stored */
    /* SCRIPT_SOCKET_OPEN and SCRIPT_REPLAY: what a recovering CONNECT
     * brought ("" when nothing); the socket's rooms and the log's last
     * offset when it was opened (a replay). */
    char pid[STORE_PID_LEN + 1];
    char offset[STORE_OFFSET_MAX];
    struct store_offset opened;
    struct replay *replay;
    struct room_ref room;
    enum change change; /* the change scripts */
};

static struct pending *pending_new(struct chat *c, struct sio_socket *s, bool has_ack,
                                   uint64_t ack_id)
{
    struct pending *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->chat = c;
    p->s = s;
    p->has_ack = has_ack;
    p->ack_id = ack_id;
    sio_socket_ref(s);
    return p;
}

static void pending_free(struct pending *p)
{
    sio_socket_unref(p->s);
    free(p->replay);
    free(p->message);
    free(p);
}

/* Acks result (taken): {ok:…} with what the caller added. */
static void ack_result(struct sio_socket *s, bool has_ack, uint64_t ack_id, cJSON *result)
{
    if (has_ack && result) {
        cJSON *args = cJSON_CreateArray();
        cJSON_AddItemToArray(args, result);
        sio_socket_ack(s, ack_id, args);
        cJSON_Delete(args);
    } else {
        cJSON_Delete(result);
    }
}

/* Acks {ok:true[, message]} or {ok:false, error}; detail is taken. */
static void ack(struct sio_socket *s, bool has_ack, uint64_t ack_id, const char *error,
                cJSON *detail)
{
    if (!has_ack) {
        cJSON_Delete(detail);
        return;
    }
    cJSON *result = cJSON_CreateObject();
    cJSON_AddBoolToObject(result, "ok", !error);
    if (error)
        cJSON_AddStringToObject(result, "error", error);
    if (detail)
        cJSON_AddItemToObject(result, "message", detail);
    ack_result(s, has_ack, ack_id, result);
}

/* ---- events ---------------------------------------------------------------------- */

#define UNAVAILABLE "Service unavailable; try again"
/* A private room more for a user already in ROOMS_PER_USER rooms. */
#define ROOMS_REFUSAL "Too many rooms: a user may be in at most ROOMS_PER_USER"
/* The message may be on the master only: a failover now would lose it. */
#define NOT_REPLICATED "Not stored safely; try again"

/* SCRIPT_SEND_MESSAGE's answer: NULL when stored, else the ack's error.
 * A retry of a message stored before (same clientId) counts as stored: p's
 * message becomes that one, so the ack carries the id it got then. */
static const char *send_error(struct pending *p, const redisReply *reply)
{
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        rconn_str(reply->element[0], NULL) && strcmp(reply->element[0]->str, "dup") == 0 &&
        reply->element[1]->type == REDIS_REPLY_STRING) {
        char *earlier = strdup(reply->element[1]->str);
        if (!earlier)
            return "Out of memory";
        free(p->message);
        p->message = earlier;
        return NULL;
    }
    const char *status = rconn_str(reply, NULL);
    if (rconn_is_error(reply) || !status)
        return UNAVAILABLE;
    if (strcmp(status, "ok") == 0)
        return NULL;
    if (strcmp(status, "limited") == 0)
        return "Too many messages; slow down";
    if (strcmp(status, "nouser") == 0)
        return "No such user";
    if (strcmp(status, "rooms") == 0)
        return ROOMS_REFUSAL;
    return "You are not a member of this room";
}

static void ack_sent(struct pending *p, const char *error)
{
    ack(p->s, p->has_ack, p->ack_id, error, error ? NULL : cJSON_Parse(p->message));
    pending_free(p);
}

static void message_stored(void *priv, redisReply *reply)
{
    struct pending *p = priv;
    const char *error = send_error(p, reply);
    if (p->awaits_replicas)
        p->stored_error = error; /* WAIT's answer follows */
    else
        ack_sent(p, error ? error : p->wait_unsent ? NOT_REPLICATED : NULL);
}

/* WAIT's answer: how many replicas have the message. */
static void message_replicated(void *priv, redisReply *reply)
{
    struct pending *p = priv;
    unsigned wanted = p->chat->cfg->wait_replicas;
    bool enough = reply && reply->type == REDIS_REPLY_INTEGER && reply->integer >= wanted;
    if (!p->stored_error && !enough) {
        metrics_inc(METRICS_WAIT_SHORT);
        log_warn("chat: a message reached %lld of %u replicas in time; refused",
                 reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1LL, wanted);
    }
    ack_sent(p, p->stored_error ? p->stored_error : enough ? NULL : NOT_REPLICATED);
}

static void on_message_event(struct chat *c, struct sio_socket *s, struct worker *w,
                             const cJSON *arg, bool has_ack, uint64_t ack_id)
{
    const struct chat_user *u = sio_socket_data(s);
    if (!subscriber_listening(c->sub)) {
        /* Stored now, it would reach no live socket here: refuse instead. */
        ack(s, has_ack, ack_id, "Service unavailable; try again", NULL);
        return;
    }
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(arg, "message");
    const cJSON *client_id = cJSON_GetObjectItemCaseSensitive(arg, "clientId");
    struct room_ref room;
    const char *problem = NULL;
    if (!cJSON_IsObject(arg) || !cJSON_IsString(text))
        problem = "Expected {roomId, message}";
    else if (!room_from_json(cJSON_GetObjectItemCaseSensitive(arg, "roomId"), &room))
        problem = "Invalid room id";
    else if (client_id &&
             (!cJSON_IsString(client_id) ||
              !store_client_id_valid(client_id->valuestring, strlen(client_id->valuestring))))
        problem = "Invalid clientId";
    else
        problem = store_message_problem(text->valuestring, strlen(text->valuestring),
                                        c->cfg->max_message_bytes);
    if (!problem && c->cfg->wait_replicas && rconn_replicas_short(rconn_of(w)))
        problem = UNAVAILABLE; /* the master lacks replicas now: not even stored */
    struct pending *p = problem ? NULL : pending_new(c, s, has_ack, ack_id);
    if (!p) {
        ack(s, has_ack, ack_id, problem ? problem : "Out of memory", NULL);
        return;
    }
    p->room = room;
    /* The score keeps milliseconds, so messages of one second stay in the
     * order they were sent; the message's date is whole seconds. */
    int64_t sent_ms = now_ms();
    struct store_message msg = {
        .from = u->id,
        .date = sent_ms / 1000,
        .text = text->valuestring,
        .text_len = strlen(text->valuestring),
        .room_id = room.id,
    };
    token_random_hex(msg.id, STORE_MESSAGE_ID_BYTES);
    p->message = store_message_encode(&msg);
    char *envelope =
        p->message ? store_envelope(c->cfg->server_id, "message", p->message, NULL) : NULL;
    struct store_send_message_params params = {
        .room = &room,
        .sender = u->id,
        .message_json = p->message,
        .message_id = msg.id,
        .envelope = envelope,
        .sent_ms = sent_ms,
        .per_minute = c->cfg->messages_per_minute,
        .server_id = c->cfg->server_id,
        .client_id = client_id ? client_id->valuestring : NULL,
        .rooms_max = c->cfg->rooms_per_user,
    };
    struct store_call call;
    if (!envelope || store_call_send_message(&call, &params) < 0) {
        free(envelope);
        ack(s, has_ack, ack_id, "Message is too long", NULL);
        pending_free(p);
        return;
    }
    struct rconn *r = rconn_of(w);
    int rc = rconn_call(r, &call, message_stored, p);
    free(envelope);
    if (rc < 0) {
        ack(s, has_ack, ack_id, UNAVAILABLE, NULL);
        pending_free(p);
        return;
    }
    /* Right after the script on the same connection: WAIT then counts the
     * replicas that have it (WAIT cannot run inside a script). */
    unsigned replicas = c->cfg->wait_replicas;
    p->awaits_replicas = replicas > 0 && rconn_wait_replicas(r, replicas, c->cfg->wait_timeout_ms,
                                                             message_replicated, p) == 0;
    p->wait_unsent = replicas > 0 && !p->awaits_replicas;
}

/* ---- edits, deletes and reactions ---------------------------------------- */

static const char *change_error(enum change kind, const char *status)
{
    if (strcmp(status, "forbidden") == 0)
        return "You are not a member of this room";
    if (strcmp(status, "limited") == 0)
        return "Too many messages; slow down";
    if (strcmp(status, "notfound") == 0)
        return "No such message";
    if (strcmp(status, "notyours") == 0)
        return kind == CHANGE_EDIT ? "You can only edit your own messages"
                                   : "You can only delete your own messages";
    if (strcmp(status, "toomany") == 0)
        return "Too many different reactions on this message";
    return "Service unavailable; try again";
}

/* The reply of a change script: {'ok', json} or a status. */
static void change_done(void *priv, redisReply *reply)
{
    struct pending *p = priv;
    const char *status = rconn_str(reply, NULL);
    size_t len = 0;
    const char *json =
        !rconn_is_error(reply) && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
            ? rconn_str(reply->element[1], &len)
            : NULL;
    cJSON *m = json ? store_message_normalize(json, len) : NULL;
    if (!m) {
        const char *error = status && !rconn_is_error(reply) ? change_error(p->change, status)
                                                             : "Service unavailable; try again";
        ack(p->s, p->has_ack, p->ack_id, error, NULL);
    } else if (p->change == CHANGE_REACT) {
        cJSON *result = cJSON_CreateObject();
        cJSON_AddBoolToObject(result, "ok", true);
        cJSON_AddItemToObject(
            result, "reactions",
            store_reactions_normalize(cJSON_GetObjectItemCaseSensitive(m, "reactions")));
        cJSON_AddItemToObject(result, "message", m);
        ack_result(p->s, p->has_ack, p->ack_id, result);
    } else {
        ack(p->s, p->has_ack, p->ack_id, NULL, m);
    }
    pending_free(p);
}

/* What is wrong with a change's argument, or NULL; fills room and id. */
static const char *change_problem(const struct chat *c, enum change kind, const cJSON *arg,
                                  struct room_ref *room, const char **id)
{
    static const char *const expected[] = {[CHANGE_EDIT] = "Expected {roomId, id, message}",
                                           [CHANGE_DELETE] = "Expected {roomId, id}",
                                           [CHANGE_REACT] = "Expected {roomId, id, emoji}"};
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(arg, "id");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(arg, "message");
    const cJSON *emoji = cJSON_GetObjectItemCaseSensitive(arg, "emoji");
    if (!cJSON_IsObject(arg) || (kind == CHANGE_EDIT && !cJSON_IsString(text)) ||
        (kind == CHANGE_REACT && !cJSON_IsString(emoji)))
        return expected[kind];
    if (!room_from_json(cJSON_GetObjectItemCaseSensitive(arg, "roomId"), room))
        return "Invalid room id";
    if (!cJSON_IsString(v) || !store_message_id_valid(v->valuestring, strlen(v->valuestring)))
        return "Invalid message id";
    *id = v->valuestring;
    if (kind == CHANGE_EDIT)
        return store_message_problem(text->valuestring, strlen(text->valuestring),
                                     c->cfg->max_message_bytes);
    if (kind == CHANGE_REACT)
        return store_emoji_problem(emoji->valuestring, strlen(emoji->valuestring));
    return NULL;
}

static int change_call(struct store_call *call, enum change kind,
                       const struct store_change_target *t, const cJSON *arg)
{
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(arg, "message");
    const cJSON *emoji = cJSON_GetObjectItemCaseSensitive(arg, "emoji");
    if (kind == CHANGE_EDIT) {
        struct store_edit_message_params params = {
            .target = *t, .text = text->valuestring, .edited = now_ms() / 1000};
        return store_call_edit_message(call, &params);
    }
    if (kind == CHANGE_DELETE)
        return store_call_delete_message(call, t);
    return store_call_react_message(call, t, emoji->valuestring);
}

/* message.edit, message.delete, message.react: validated here, then the
 * script checks membership, the rate limit, the message and its author,
 * changes it in place and publishes the event. */
static void on_change_event(struct chat *c, struct sio_socket *s, struct worker *w,
                            enum change kind, const cJSON *arg, bool has_ack, uint64_t ack_id)
{
    const struct chat_user *u = sio_socket_data(s);
    if (!subscriber_listening(c->sub)) {
        ack(s, has_ack, ack_id, "Service unavailable; try again", NULL);
        return;
    }
    struct room_ref room;
    const char *id = NULL;
    const char *problem = change_problem(c, kind, arg, &room, &id);
    struct pending *p = problem ? NULL : pending_new(c, s, has_ack, ack_id);
    if (!p) {
        ack(s, has_ack, ack_id, problem ? problem : "Out of memory", NULL);
        return;
    }
    p->change = kind;
    struct store_change_target target = {.room = &room,
                                         .user_id = u->id,
                                         .message_id = id,
                                         .per_minute = c->cfg->messages_per_minute,
                                         .server_id = c->cfg->server_id};
    struct store_call call;
    if (change_call(&call, kind, &target, arg) < 0 ||
        rconn_call(rconn_of(w), &call, change_done, p) < 0) {
        ack(s, has_ack, ack_id, "Service unavailable; try again", NULL);
        pending_free(p);
    }
}

/* A join's check, with the log position it was read at. */
struct join_job {
    const struct pending *p;
    struct store_offset read_at;
};

/* Under the socket's lock: a disconnect on another worker cannot free the
 * user meanwhile.  A removal the subscriber applied after the check was
 * read wins over it (roster_join). */
static void join_locked(void *arg, struct sio_socket *s, void **data)
{
    const struct join_job *job = arg;
    const struct pending *p = job->p;
    const struct chat_user *u = *data;
    enum roster_join_result rc =
        u && u->member ? roster_join(p->chat->roster, u->member, p->room.id, &job->read_at)
                       : ROSTER_FAILED;
    const char *error = rc == ROSTER_JOINED    ? NULL
                        : rc == ROSTER_REMOVED ? "You are not a member of this room"
                        : rc == ROSTER_STALE   ? UNAVAILABLE
                                               : "Could not join the room";
    ack(s, p->has_ack, p->ack_id, error, NULL);
}

/* SCRIPT_ROOM_JOIN's answer, {1 | 0, log position}: 1 joins, 0 is refused
 * with refusal. */
static void join_checked(struct pending *p, const redisReply *reply, const char *refusal)
{
    struct join_job job = {.p = p};
    const char *at = !rconn_is_error(reply) && reply->type == REDIS_REPLY_ARRAY &&
                             reply->elements == 2 &&
                             reply->element[0]->type == REDIS_REPLY_INTEGER
                         ? rconn_str(reply->element[1], NULL)
                         : NULL;
    if (!at || store_offset_parse(at, strlen(at), &job.read_at) < 0)
        ack(p->s, p->has_ack, p->ack_id, UNAVAILABLE, NULL);
    else if (reply->element[0]->integer != 1)
        ack(p->s, p->has_ack, p->ack_id, refusal, NULL);
    else
        sio_socket_with_data(p->s, join_locked, &job); /* a socket gone needs no answer */
    pending_free(p);
}

/* A private room of the user's own: the other user must exist. */
static void join_pair_checked(void *priv, redisReply *reply)
{
    join_checked(priv, reply, "No such user");
}

/* Any other room (another pair's private room too): the user's room set. */
static void join_member_checked(void *priv, redisReply *reply)
{
    join_checked(priv, reply, "You are not a member of this room");
}

/* Asks Redis whether user may join p->room: a private room of theirs (by
 * its id) needs the other user to exist; a group, the user in it. */
static int join_check(struct pending *p, struct rconn *redis, uint64_t user)
{
    struct store_call call;
    if (store_call_room_join(&call, &p->room, user) < 0)
        return -1;
    return rconn_call(redis, &call,
                      store_room_is_private_member(&p->room, user) ? join_pair_checked
                                                                   : join_member_checked,
                      p);
}

static void on_room_join(struct chat *c, struct sio_socket *s, struct worker *w, const cJSON *arg,
                         bool has_ack, uint64_t ack_id)
{
    struct chat_user *u = sio_socket_data(s);
    struct room_ref room;
    if (cJSON_IsObject(arg))
        arg = cJSON_GetObjectItemCaseSensitive(arg, "roomId");
    if (!room_from_json(arg, &room)) {
        ack(s, has_ack, ack_id, "Invalid room id", NULL);
        return;
    }
    struct pending *p = pending_new(c, s, has_ack, ack_id);
    if (p)
        p->room = room;
    if (!p || join_check(p, rconn_of(w), u->id) < 0) {
        ack(s, has_ack, ack_id, "Service unavailable; try again", NULL);
        if (p)
            pending_free(p);
    }
}

/* SCRIPT_READ_MARK's answer as an ack error, NULL when it succeeded. */
static const char *read_error(redisReply *reply)
{
    const char *status = rconn_is_error(reply) ? NULL : rconn_str(reply, NULL);
    if (!status)
        return "Service unavailable; try again";
    if (strcmp(status, "ok") == 0 || strcmp(status, "same") == 0)
        return NULL;
    if (strcmp(status, "forbidden") == 0)
        return "You are not a member of this room";
    if (strcmp(status, "unknown") == 0)
        return "Unknown message";
    if (strcmp(status, "backwards") == 0)
        return "The read marker cannot move backwards";
    return "Service unavailable; try again";
}

static void read_marked(void *priv, redisReply *reply)
{
    struct pending *p = priv;
    ack(p->s, p->has_ack, p->ack_id, read_error(reply), NULL);
    pending_free(p);
}

/* Why a room.read argument is refused, or NULL (room filled in). */
static const char *read_problem(const cJSON *arg, struct room_ref *room)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(arg, "id");
    if (!cJSON_IsObject(arg) || !cJSON_GetObjectItemCaseSensitive(arg, "roomId") || !id)
        return "Expected {roomId, id}";
    if (!room_from_json(cJSON_GetObjectItemCaseSensitive(arg, "roomId"), room))
        return "Invalid room id";
    if (!cJSON_IsString(id) || !store_message_id_valid(id->valuestring, strlen(id->valuestring)))
        return "Invalid message id";
    return NULL;
}

/* room.read {roomId, id}: the reader's marker forward, room.read to their
 * sockets (SCRIPT_READ_MARK publishes it). */
static void on_room_read(struct chat *c, struct sio_socket *s, struct worker *w, const cJSON *arg,
                         bool has_ack, uint64_t ack_id)
{
    const struct chat_user *u = sio_socket_data(s);
    struct room_ref room;
    const char *problem = read_problem(arg, &room);
    if (problem) {
        ack(s, has_ack, ack_id, problem, NULL);
        return;
    }
    struct store_read_mark_params params = {
        .room = &room,
        .user_id = u->id,
        .message_id = cJSON_GetObjectItemCaseSensitive(arg, "id")->valuestring,
        .server_id = c->cfg->server_id,
    };
    struct store_call call;
    struct pending *p = pending_new(c, s, has_ack, ack_id);
    if (!p || store_call_read_mark(&call, &params) < 0 ||
        rconn_call(rconn_of(w), &call, read_marked, p) < 0) {
        ack(s, has_ack, ack_id, "Service unavailable; try again", NULL);
        if (p)
            pending_free(p);
    }
}

static void on_typing(struct chat *c, struct sio_socket *s, struct worker *w, const cJSON *arg)
{
    struct chat_user *u = sio_socket_data(s);
    struct room_ref room;
    int64_t now = worker_now_ms();
    if (!room_from_json(cJSON_GetObjectItemCaseSensitive(arg, "roomId"), &room) ||
        now - u->last_typing_ms < TYPING_MIN_INTERVAL_MS ||
        !roster_in_room(c->roster, u->member, room.id))
        return;
    u->last_typing_ms = now;
    char data[128];
    int len =
        snprintf(data, sizeof data, "{\"roomId\":\"%s\",\"from\":\"%s\"}", room.id, u->id_str);
    char *envelope = len > 0 && (size_t)len < sizeof data
                         ? store_envelope(c->cfg->server_id, "typing", data, NULL)
                         : NULL;
    struct store_call call;
    /* Logged like every event, so a recovering socket's offsets follow. */
    if (envelope && store_call_typing(&call, u->id, envelope, TYPING_MIN_INTERVAL_MS) == 0)
        rconn_call(rconn_of(w), &call, ignore_reply, NULL);
    free(envelope);
}

/* ---- the event budget ------------------------------------------------------ */

enum admission { ADMITTED, REFUSED, EXPELLED };

/* A refusal of u's socket, logged once per REFUSAL_LOG_INTERVAL_MS with
 * how many there were since the last line. */
static void refusal_log(const struct chat *c, struct chat_user *u, int64_t now)
{
    u->refusals_unlogged++;
    if (now - u->refusals_logged_ms < REFUSAL_LOG_INTERVAL_MS)
        return;
    log_warn("user %s: %" PRIu32 " events of one socket refused over EVENTS_PER_SECOND=%u "
             "(EVENTS_BURST=%u); logged once per %d s",
             u->id_str, u->refusals_unlogged, c->cfg->events_per_second, c->cfg->events_burst,
             REFUSAL_LOG_INTERVAL_MS / 1000);
    u->refusals_logged_ms = now;
    u->refusals_unlogged = 0;
}

/* Whether one more event of u's socket may run (under the socket's lock):
 * a token of its budget.  A refused event runs nothing (no Redis); a
 * socket that keeps flooding is to be disconnected. */
static enum admission admit_event(const struct chat *c, struct chat_user *u)
{
    int64_t now = worker_now_ms();
    if (!u->budgeted) {
        bucket_init(&u->events, c->cfg->events_per_second, c->cfg->events_burst, now);
        bucket_init(&u->flood, c->cfg->events_per_second,
                    FLOOD_REFUSALS(c->cfg->events_burst), now);
        u->refusals_logged_ms = now - REFUSAL_LOG_INTERVAL_MS;
        u->budgeted = true;
    }
    if (bucket_take(&u->events, now))
        return ADMITTED;
    if (!bucket_take(&u->flood, now)) {
        log_warn("user %s: a socket kept sending far over EVENTS_PER_SECOND=%u; disconnected",
                 u->id_str, c->cfg->events_per_second);
        return EXPELLED;
    }
    refusal_log(c, u, now);
    return REFUSED;
}

/* Charges an event to its socket's budget: true when it may run; false
 * when it was answered (refused, or the socket disconnected). */
static bool event_budgeted(const struct chat *c, struct sio_socket *s, struct chat_user *u,
                           bool has_ack, uint64_t ack_id)
{
    switch (admit_event(c, u)) {
    case ADMITTED:
        return true;
    case REFUSED:
        ack(s, has_ack, ack_id, "Too many requests", NULL);
        return false;
    case EXPELLED:
        sio_socket_disconnect(s); /* frees u (on_disconnect) */
        return false;
    }
    return false;
}

static void on_event(void *ctx, struct sio_socket *s, struct worker *w, const char *name,
                     const cJSON *data, bool has_ack, uint64_t ack_id)
{
    struct chat *c = ctx;
    struct chat_user *u = sio_socket_data(s);
    const cJSON *arg = cJSON_GetArrayItem(data, 1);
    if (!u || !u->member) {
        ack(s, has_ack, ack_id, "Not connected", NULL);
    } else if (!event_budgeted(c, s, u, has_ack, ack_id)) {
        return;
    } else if (strcmp(name, "message") == 0) {
        on_message_event(c, s, w, arg, has_ack, ack_id);
    } else if (strcmp(name, "room.join") == 0) {
        on_room_join(c, s, w, arg, has_ack, ack_id);
    } else if (strcmp(name, "typing") == 0) {
        on_typing(c, s, w, arg);
    } else if (strcmp(name, "message.edit") == 0) {
        on_change_event(c, s, w, CHANGE_EDIT, arg, has_ack, ack_id);
    } else if (strcmp(name, "message.delete") == 0) {
        on_change_event(c, s, w, CHANGE_DELETE, arg, has_ack, ack_id);
    } else if (strcmp(name, "message.react") == 0) {
        on_change_event(c, s, w, CHANGE_REACT, arg, has_ack, ack_id);
    } else if (strcmp(name, "room.read") == 0) {
        on_room_read(c, s, w, arg, has_ack, ack_id);
    } else {
        ack(s, has_ack, ack_id, "Unknown event", NULL);
    }
}

static void on_unreadable(void *ctx, struct sio_socket *s, bool has_ack, uint64_t ack_id)
{
    struct chat_user *u = sio_socket_data(s);
    if (!u || event_budgeted(ctx, s, u, has_ack, ack_id))
        ack(s, has_ack, ack_id, "Text must not contain NUL characters", NULL);
}

/* ---- connect and disconnect ------------------------------------------------------------------ */

/* A client's data: the session key of its handshake's cookie ("" without
 * a well-formed one), kept for its life at its own length. */
static void *on_open(void *ctx, struct http_req *req, bool *refuse)
{
    (void)ctx;
    char key[STORE_KEY_MAX];
    auth_session_key(req, key, sizeof key);
    size_t len = strlen(key);
    struct chat_client *cl = calloc(1, sizeof *cl + len + 1);
    if (!cl)
        *refuse = true;
    else
        memcpy(cl->session_key, key, len + 1);
    return cl;
}

static void on_close(void *ctx, void *client_data)
{
    (void)ctx;
    free(client_data);
}

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
        sio_socket_disconnect(s); /* out of memory: on_disconnect cleans up */
    } else if (stale) {
        /* Its rooms were read before changes this server no longer
         * remembers: the client reconnects and reads them again. */
        log_info("user %s: rooms read too long ago; closing the session", a->user->id_str);
        eio_session_close(sio_socket_session(s), "rooms changed");
    } else {
        roster_since(a->chat->roster, a->user->member, &a->first);
    }
}

/* ---- connection state recovery ------------------------------------------- */

/* Whether the CONNECT's auth asks to recover ({pid, offset}, as
 * socket.io-client 4.6+ sends them); fills p's pid and offset. */
static bool recovery_asked(const cJSON *auth, struct pending *p)
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
static bool recoverable(const char *reason)
{
    static const char *const lost[] = {"transport close", "client close", "ping timeout",
                                       "slow consumer", "server shutting down", "events lost"};
    for (size_t i = 0; i < sizeof lost / sizeof *lost; i++)
        if (strcmp(reason, lost[i]) == 0)
            return true;
    return false;
}

/* The socket's user and rooms under its pid, for RECOVERY_WINDOW (on a
 * worker; at shutdown there is none and nothing is saved). */
static void recovery_save(struct chat *c, const struct chat_user *u)
{
    struct worker *w = worker_current();
    struct rconn *redis = w && !u->no_record ? rconn_of(w) : NULL;
    char *record = redis && u->member ? roster_record(c->roster, u->member) : NULL;
    struct store_call call;
    if (record && store_call_recovery_save(&call, u->pid, record, c->cfg->recovery_window) == 0)
        rconn_call(redis, &call, ignore_reply, NULL);
    free(record);
}

/* A replay's start: the rooms the socket joined, the user's as the log
 * stood when it was opened. */
static struct replay *replay_new(const char *const *rooms, size_t n)
{
    struct replay *view = calloc(1, sizeof *view);
    for (size_t i = 0; view && i < n; i++)
        if (strlen(rooms[i]) < STORE_ROOM_ID_MAX)
            replay_join(view, rooms[i]);
    return view;
}

/* One logged entry {id, {'e', envelope}}, parsed once (env NULL when it is
 * not an event chatd knows). */
struct replay_event {
    const char *id;
    struct store_offset at;
    cJSON *env;
    const char *type;
    const cJSON *data;
};

static bool replay_parse(const redisReply *e, struct replay_event *out)
{
    const char *id =
        e->type == REDIS_REPLY_ARRAY && e->elements == 2 ? rconn_str(e->element[0], NULL) : NULL;
    const redisReply *fields = id ? e->element[1] : NULL;
    size_t len = 0;
    const char *env = fields && fields->type == REDIS_REPLY_ARRAY && fields->elements == 2
                          ? rconn_str(fields->element[1], &len)
                          : NULL;
    if (!env || store_offset_parse(id, strlen(id), &out->at) < 0)
        return false;
    out->id = id;
    out->env = store_envelope_read(env, len, &out->type, &out->data);
    return true;
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
    if (!id_text(cJSON_GetObjectItemCaseSensitive(data, "userId"), uid) ||
        store_parse_id(uid, strlen(uid), false, &user) < 0 || user != r->user ||
        !group_id_text(cJSON_GetObjectItemCaseSensitive(group, "id"), gid))
        return;
    (added ? replay_leave : replay_join)(r, gid);
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
    struct replay_event *ev = calloc(n ? n : 1, sizeof *ev);
    bool ok = ev != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = replay_parse(reply->element[i], &ev[i]);
    for (size_t i = n; ok && i-- > 0;)
        if (ev[i].env && store_offset_cmp(&ev[i].at, &p->opened) <= 0)
            replay_undo(p->replay, ev[i].type, ev[i].data);
    for (size_t i = 0; ok && i < n && !p->replay->failed; i++) {
        struct fan f = {.c = p->chat, .offset = ev[i].id, .replay = p->replay};
        if (ev[i].env)
            fan_event(&f, ev[i].type, ev[i].data);
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
    pending_free(job.p);
}

/* Reads the log after the client's offset (the socket is in the roster,
 * held, already: nothing published from now on can be missed). */
static void replay_start(struct pending *p, struct worker *w, const char *const *rooms, size_t n,
                         const struct store_offset *opened)
{
    struct pending *q = pending_new(p->chat, p->s, false, 0);
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
            presence_leave(c, id); /* the script counted this socket */
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
            presence_leave(c, u->id_str);
            free(u);
        } else if (record) {
            replay_start(p, worker_current(), names, n, &read_at);
        }
        for (size_t i = from_set; names && i < n; i++)
            free((void *)names[i]);
        free(names);
    }
    pending_free(p);
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
static void on_connect(void *ctx, struct sio_socket *s, struct worker *w, const cJSON *auth)
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
    struct pending *p = pending_new(c, s, false, 0);
    struct store_socket_open_params params = {
        .session_key = session_key,
        .server_id = c->cfg->server_id,
        .session_ttl_s = c->cfg->session_ttl,
        .now_ms = now_ms(),
        .presence_ttl_s = c->cfg->presence_timeout * PRESENCE_TTL_FACTOR,
        .rooms_max = c->cfg->rooms_per_user,
    };
    if (p && recovery_asked(auth, p)) {
        params.pid = p->pid;
        params.offset = p->offset;
    }
    struct store_call call;
    if (!p || store_call_socket_open(&call, &params) < 0 ||
        rconn_call(rconn_of(w), &call, socket_opened, p) < 0) {
        sio_socket_refuse(s, "Service unavailable");
        if (p)
            pending_free(p);
    }
}

static void on_disconnect(void *ctx, struct sio_socket *s, const char *reason)
{
    struct chat *c = ctx;
    struct chat_user *u = sio_socket_data(s);
    sio_socket_set_data(s, NULL);
    if (!u)
        return;
    log_debug("user %s disconnected: %s", u->id_str, reason);
    if (recoverable(reason))
        recovery_save(c, u);
    roster_remove(c->roster, u->member);
    presence_leave(c, u->id_str);
    free(u);
}

/* ---- life ------------------------------------------------------------------------------ */

static const char *const namespaces[] = {"/", NULL};

/* Warns when one user's allowed events (MESSAGES_PER_MINUTE of at most
 * MAX_MESSAGE_BYTES, plus a read marker for each) could fill the event log
 * within RECOVERY_WINDOW: then one user could push the others' offsets out
 * of it, and their recoveries would fail. */
static void check_event_log(const struct config *cfg)
{
    uint64_t minutes = (cfg->recovery_window + 59) / 60;
    uint64_t events = 2 * (uint64_t)cfg->messages_per_minute * minutes;
    /* A message's envelope: its text JSON-escaped (at most twice as long
     * for the quotes and backslashes a text may hold), and the rest. */
    uint64_t bytes = (uint64_t)cfg->messages_per_minute * minutes * (2 * cfg->max_message_bytes + 512);
    if (events > STORE_EVENTS_MAX / 2 || bytes > cfg->event_log_bytes / 2)
        log_warn("one user may log %" PRIu64 " events (%" PRIu64 " bytes) in RECOVERY_WINDOW=%u s: "
                 "over half the event log (%d events, EVENT_LOG_BYTES=%u); a single user could "
                 "make others' recoveries fail",
                 events, bytes, cfg->recovery_window, STORE_EVENTS_MAX, cfg->event_log_bytes);
}

struct chat *chat_new(const struct config *cfg)
{
    struct chat *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = cfg;
    check_event_log(cfg);
    c->roster = roster_new(cfg->rooms_per_user);
    c->leaving = strmap_new();
    c->connects = addrlimit_new(CONNECT_METER_SESSIONS, cfg->connects_per_minute, 60000);
    if (!c->roster || !c->leaving || !c->connects) {
        chat_free(c);
        return NULL;
    }
    pthread_mutex_init(&c->leave_lock, NULL);
    pthread_mutex_init(&c->connect_lock, NULL);
    c->locks = true;
    c->app = (struct sio_app){
        .namespaces = namespaces,
        .on_open = on_open,
        .on_connect = on_connect,
        .on_event = on_event,
        .on_unreadable = on_unreadable,
        .on_disconnect = on_disconnect,
        .on_close = on_close,
        .ctx = c,
    };
    return c;
}

const struct sio_app *chat_sio_app(struct chat *c)
{
    return &c->app;
}

void chat_attach_engine(struct chat *c, struct engine *e)
{
    c->engine = e;
}

/* Takes this server id's connections out of presence: at shutdown, and at
 * start, for what a previous life under the same SERVER_ID left behind
 * (after a crash).  Returns 0, or -1 when Redis was unavailable. */
static int presence_server_down(struct chat *c, const char *when)
{
    redisContext *r = redis_sync_connect(c->cfg, 2, when);
    if (!r)
        return -1;
    struct store_server_down_params params = {
        .server_id = c->cfg->server_id, .now_ms = now_ms(), .timeout_ms = presence_timeout_ms(c)};
    struct store_call call;
    const char *argv[STORE_CALL_ARGV_MAX];
    /* This connection loads no scripts: EVAL the source. */
    int argc = store_call_server_down(&call, &params) < 0 ? -1 : store_call_eval_argv(&call, argv);
    redisReply *reply = argc < 0 ? NULL : redisCommandArgv(r, argc, argv, NULL);
    int rc = reply && reply->type != REDIS_REPLY_ERROR ? 0 : -1;
    if (rc < 0)
        log_warn("presence: could not clear this server's connections: %s",
                 reply ? reply->str : r->errstr);
    freeReplyObject(reply);
    redisFree(r);
    return rc;
}

int chat_start(struct chat *c)
{
    /* Best effort: with Redis down, the others' heartbeat sweep does it. */
    presence_server_down(c, "start");
    static const char *const channels[] = {STORE_CHANNEL, STORE_CONTROL_CHANNEL, NULL};
    c->sub = subscriber_start(c->cfg, channels, on_channel, on_resume, c);
    return c->sub ? 0 : -1;
}

void chat_stop(struct chat *c)
{
    subscriber_stop(c->sub);
    c->sub = NULL;
    if (presence_server_down(c, "shutdown") < 0)
        log_warn("presence: this server's users go offline when the others notice it is gone");
}

void chat_free(struct chat *c)
{
    if (!c)
        return;
    while (c->leave_head) { /* chat_stop took this server out of presence */
        struct leaving *e = c->leave_head;
        c->leave_head = e->next;
        free(e);
    }
    strmap_free(c->leaving);
    addrlimit_free(c->connects);
    if (c->locks) {
        pthread_mutex_destroy(&c->leave_lock);
        pthread_mutex_destroy(&c->connect_lock);
    }
    roster_free(c->roster);
    free(c);
}
