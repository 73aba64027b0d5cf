/* chat_changes: `message.edit`, `message.delete` and `message.react` —
 * validated here; the change scripts check membership, the rate limit,
 * the message and its author, change it in place and publish the event. */
#include "chat_internal.h"

#include <string.h>

#include "config.h"
#include "rconn.h"
#include "subscriber.h"

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
        chat_ack(p->s, p->has_ack, p->ack_id, error, NULL);
    } else if (p->change == CHANGE_REACT) {
        cJSON *result = cJSON_CreateObject();
        cJSON_AddBoolToObject(result, "ok", true);
        cJSON_AddItemToObject(
            result, "reactions",
            store_reactions_normalize(cJSON_GetObjectItemCaseSensitive(m, "reactions")));
        cJSON_AddItemToObject(result, "message", m);
        chat_ack_result(p->s, p->has_ack, p->ack_id, result);
    } else {
        chat_ack(p->s, p->has_ack, p->ack_id, NULL, m);
    }
    chat_pending_free(p);
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
    if (!chat_room_from_json(cJSON_GetObjectItemCaseSensitive(arg, "roomId"), room))
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
            .target = *t, .text = text->valuestring, .edited = chat_now_ms() / 1000};
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
        chat_ack(s, has_ack, ack_id, "Service unavailable; try again", NULL);
        return;
    }
    struct room_ref room;
    const char *id = NULL;
    const char *problem = change_problem(c, kind, arg, &room, &id);
    struct pending *p = problem ? NULL : chat_pending_new(c, s, has_ack, ack_id);
    if (!p) {
        chat_ack(s, has_ack, ack_id, problem ? problem : "Out of memory", NULL);
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
        chat_ack(s, has_ack, ack_id, "Service unavailable; try again", NULL);
        chat_pending_free(p);
    }
}

void chat_on_edit(struct chat *c, struct sio_socket *s, struct worker *w, const cJSON *arg,
                  bool has_ack, uint64_t ack_id)
{
    on_change_event(c, s, w, CHANGE_EDIT, arg, has_ack, ack_id);
}

void chat_on_delete(struct chat *c, struct sio_socket *s, struct worker *w, const cJSON *arg,
                    bool has_ack, uint64_t ack_id)
{
    on_change_event(c, s, w, CHANGE_DELETE, arg, has_ack, ack_id);
}

void chat_on_react(struct chat *c, struct sio_socket *s, struct worker *w, const cJSON *arg,
                   bool has_ack, uint64_t ack_id)
{
    on_change_event(c, s, w, CHANGE_REACT, arg, has_ack, ack_id);
}
