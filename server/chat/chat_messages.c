/* chat_messages: the `message` event — validated here, stored and
 * published by SCRIPT_SEND_MESSAGE, acked when stored (and, with
 * WAIT_REPLICAS, replicated). */
#include "chat_internal.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "mentions.h"
#include "metrics.h"
#include "rconn.h"
#include "subscriber.h"
#include "token.h"

/* A private room more for a user already in ROOMS_PER_USER rooms. */
#define ROOMS_REFUSAL "Too many rooms: a user may be in at most ROOMS_PER_USER"
/* The message may be on the master only: a failover now would lose it. */
#define NOT_REPLICATED "Not stored safely; try again"

/* SCRIPT_SEND_MESSAGE's answer: NULL when stored, else the ack's error.
 * A retry of a message stored before (same clientId) counts as stored: p's
 * message becomes that one, so the ack carries the id it got then; a
 * message with mentions comes back as stored, which the ack carries. */
static const char *send_error(struct pending *p, const redisReply *reply)
{
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        rconn_str(reply->element[0], NULL) &&
        (strcmp(reply->element[0]->str, "dup") == 0 || strcmp(reply->element[0]->str, "ok") == 0) &&
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
    chat_ack(p->s, p->has_ack, p->ack_id, error, error ? NULL : cJSON_Parse(p->message));
    chat_pending_free(p);
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

void chat_on_message(struct chat *c, struct sio_socket *s, struct worker *w, const cJSON *arg,
                     bool has_ack, uint64_t ack_id)
{
    const struct chat_user *u = sio_socket_data(s);
    if (!subscriber_listening(c->sub)) {
        /* Stored now, it would reach no live socket here: refuse instead. */
        chat_ack(s, has_ack, ack_id, "Service unavailable; try again", NULL);
        return;
    }
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(arg, "message");
    const cJSON *client_id = cJSON_GetObjectItemCaseSensitive(arg, "clientId");
    struct room_ref room;
    const char *problem = NULL;
    if (!cJSON_IsObject(arg) || !cJSON_IsString(text))
        problem = "Expected {roomId, message}";
    else if (!chat_room_from_json(cJSON_GetObjectItemCaseSensitive(arg, "roomId"), &room))
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
    struct pending *p = problem ? NULL : chat_pending_new(c, s, has_ack, ack_id);
    if (!p) {
        chat_ack(s, has_ack, ack_id, problem ? problem : "Out of memory", NULL);
        return;
    }
    p->room = room;
    /* The score keeps milliseconds, so messages of one second stay in the
     * order they were sent; the message's date is whole seconds. */
    int64_t sent_ms = chat_now_ms();
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
    /* Names only: who they are and whether in the room, the script says. */
    char *mentions = envelope ? mentions_names(msg.text, msg.text_len) : NULL;
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
        .mentions = mentions,
    };
    struct store_call call;
    if (!mentions || store_call_send_message(&call, &params) < 0) {
        free(envelope);
        free(mentions);
        chat_ack(s, has_ack, ack_id, "Message is too long", NULL);
        chat_pending_free(p);
        return;
    }
    struct rconn *r = rconn_of(w);
    int rc = rconn_call(r, &call, message_stored, p);
    free(envelope);
    free(mentions);
    if (rc < 0) {
        chat_ack(s, has_ack, ack_id, UNAVAILABLE, NULL);
        chat_pending_free(p);
        return;
    }
    /* Right after the script on the same connection: WAIT then counts the
     * replicas that have it (WAIT cannot run inside a script). */
    unsigned replicas = c->cfg->wait_replicas;
    p->awaits_replicas = replicas > 0 && rconn_wait_replicas(r, replicas, c->cfg->wait_timeout_ms,
                                                             message_replicated, p) == 0;
    p->wait_unsent = replicas > 0 && !p->awaits_replicas;
}
