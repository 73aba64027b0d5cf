/* chat_rooms: `room.join` (a socket into a room it may be in, ordered
 * against removals by log position) and `room.read` (the reader's marker). */
#include "chat_internal.h"

#include <string.h>

#include "config.h"
#include "rconn.h"

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
    chat_ack(s, p->has_ack, p->ack_id, error, NULL);
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
        chat_ack(p->s, p->has_ack, p->ack_id, UNAVAILABLE, NULL);
    else if (reply->element[0]->integer != 1)
        chat_ack(p->s, p->has_ack, p->ack_id, refusal, NULL);
    else
        sio_socket_with_data(p->s, join_locked, &job); /* a socket gone needs no answer */
    chat_pending_free(p);
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

void chat_on_room_join(struct chat *c, struct sio_socket *s, struct worker *w, const cJSON *arg,
                       bool has_ack, uint64_t ack_id)
{
    struct chat_user *u = sio_socket_data(s);
    struct room_ref room;
    if (cJSON_IsObject(arg))
        arg = cJSON_GetObjectItemCaseSensitive(arg, "roomId");
    if (!chat_room_from_json(arg, &room)) {
        chat_ack(s, has_ack, ack_id, "Invalid room id", NULL);
        return;
    }
    struct pending *p = chat_pending_new(c, s, has_ack, ack_id);
    if (p)
        p->room = room;
    if (!p || join_check(p, rconn_of(w), u->id) < 0) {
        chat_ack(s, has_ack, ack_id, "Service unavailable; try again", NULL);
        if (p)
            chat_pending_free(p);
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
    chat_ack(p->s, p->has_ack, p->ack_id, read_error(reply), NULL);
    chat_pending_free(p);
}

/* Why a room.read argument is refused, or NULL (room filled in). */
static const char *read_problem(const cJSON *arg, struct room_ref *room)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(arg, "id");
    if (!cJSON_IsObject(arg) || !cJSON_GetObjectItemCaseSensitive(arg, "roomId") || !id)
        return "Expected {roomId, id}";
    if (!chat_room_from_json(cJSON_GetObjectItemCaseSensitive(arg, "roomId"), room))
        return "Invalid room id";
    if (!cJSON_IsString(id) || !store_message_id_valid(id->valuestring, strlen(id->valuestring)))
        return "Invalid message id";
    return NULL;
}

/* room.read {roomId, id}: the reader's marker forward, room.read to their
 * sockets (SCRIPT_READ_MARK publishes it). */
void chat_on_room_read(struct chat *c, struct sio_socket *s, struct worker *w, const cJSON *arg,
                       bool has_ack, uint64_t ack_id)
{
    const struct chat_user *u = sio_socket_data(s);
    struct room_ref room;
    const char *problem = read_problem(arg, &room);
    if (problem) {
        chat_ack(s, has_ack, ack_id, problem, NULL);
        return;
    }
    struct store_read_mark_params params = {
        .room = &room,
        .user_id = u->id,
        .message_id = cJSON_GetObjectItemCaseSensitive(arg, "id")->valuestring,
        .server_id = c->cfg->server_id,
    };
    struct store_call call;
    struct pending *p = chat_pending_new(c, s, has_ack, ack_id);
    if (!p || store_call_read_mark(&call, &params) < 0 ||
        rconn_call(rconn_of(w), &call, read_marked, p) < 0) {
        chat_ack(s, has_ack, ack_id, "Service unavailable; try again", NULL);
        if (p)
            chat_pending_free(p);
    }
}
