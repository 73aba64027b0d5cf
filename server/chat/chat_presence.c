/* chat_presence: who is online across the fleet — a closed socket held
 * for PRESENCE_GRACE, this server's heartbeat, its connections out of
 * presence at start and shutdown — and `typing`, a notice of presence in a
 * room. */
#include "chat_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "config.h"
#include "log.h"
#include "rconn.h"
#include "redis_sync.h"
#include "strmap.h"
#include "worker.h"

/* Typing notices a user may send, at most one per this many ms, over all
 * their sockets on every server (a gate in Redis); a socket does not even
 * ask Redis sooner than that after its own last one. */
#define TYPING_MIN_INTERVAL_MS 300
/* How often the users whose presence grace ended are taken out. */
#define LEAVE_TICK_MS 250

static int64_t presence_timeout_ms(const struct chat *c)
{
    return (int64_t)c->cfg->presence_timeout * 1000;
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
                                                 .now_ms = chat_now_ms(),
                                                 .timeout_ms = presence_timeout_ms(c)};
    struct store_call call;
    if (store_call_presence_leave(&call, &params) < 0 ||
        rconn_call(redis, &call, chat_ignore_reply, NULL) < 0)
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
void chat_presence_leave(struct chat *c, const char *user_id)
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
        .now_ms = chat_now_ms(),
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

void chat_on_typing(struct chat *c, struct sio_socket *s, struct worker *w, const cJSON *arg,
                    bool has_ack, uint64_t ack_id)
{
    struct chat_user *u = sio_socket_data(s);
    struct room_ref room;
    int64_t now = worker_now_ms();
    if (!chat_room_from_json(cJSON_GetObjectItemCaseSensitive(arg, "roomId"), &room) ||
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
        rconn_call(rconn_of(w), &call, chat_ignore_reply, NULL);
    free(envelope);
}

/* Takes this server id's connections out of presence: at shutdown, and at
 * start, for what a previous life under the same SERVER_ID left behind
 * (after a crash).  Returns 0, or -1 when Redis was unavailable. */
int chat_presence_server_down(struct chat *c, const char *when)
{
    redisContext *r = redis_sync_connect(c->cfg, 2, when);
    if (!r)
        return -1;
    struct store_server_down_params params = {.server_id = c->cfg->server_id,
                                              .now_ms = chat_now_ms(),
                                              .timeout_ms = presence_timeout_ms(c)};
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
