/* chat_common: the helpers every chat event uses — the clock, ids read
 * from JSON, a pending reply and its chat_ack (see chat_internal.h). */
#include "chat_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rconn.h"

int64_t chat_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void chat_ignore_reply(void *priv, redisReply *reply)
{
    (void)priv;
    (void)reply;
}

/* An id given as a string or a number, as decimal text. */
bool chat_id_text(const cJSON *v, char out[24])
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
bool chat_room_from_json(const cJSON *v, struct room_ref *out)
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

/* A group id ("12": a named room's number, never 0). */
bool chat_group_id_text(const cJSON *v, char out[24])
{
    struct room_ref ref;
    return cJSON_IsString(v) &&
           store_room_parse(v->valuestring, strlen(v->valuestring), &ref) == 0 &&
           ref.kind == ROOM_NAMED && ref.a != 0 && snprintf(out, 24, "%s", ref.id) > 0;
}

struct pending *chat_pending_new(struct chat *c, struct sio_socket *s, bool has_ack,
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

void chat_pending_free(struct pending *p)
{
    sio_socket_unref(p->s);
    free(p->replay);
    free(p->message);
    free(p);
}

/* Acks result (taken): {ok:…} with what the caller added. */
void chat_ack_result(struct sio_socket *s, bool has_ack, uint64_t ack_id, cJSON *result)
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
void chat_ack(struct sio_socket *s, bool has_ack, uint64_t ack_id, const char *error, cJSON *detail)
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
    chat_ack_result(s, has_ack, ack_id, result);
}

bool chat_log_event_parse(const redisReply *e, struct log_event *out)
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
