/* route_rooms: a user's rooms, a room's history, and private rooms —
 * GET /rooms/{userId}, GET /room/{id}/messages, POST /room. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route_handlers.h"

#include "auth.h"
#include "config.h"
#include "http.h"
#include "rconn.h"
#include "route_util.h"
#include "store.h"

#define HISTORY_DEFAULT_SIZE 15
#define HISTORY_MAX_SIZE 100
#define HISTORY_MAX_OFFSET 1000000000L

/* Messages of a ZREVRANGE reply, normalized; members that are not
 * messages are skipped. */
static cJSON *messages_array(const redisReply *members)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < members->elements; i++) {
        size_t len;
        const char *json = rconn_str(members->element[i], &len);
        cJSON *m = json ? store_message_normalize(json, len) : NULL;
        if (m)
            cJSON_AddItemToArray(arr, m);
    }
    return arr;
}

struct room_entry {
    struct room_ref ref;
    const redisReply *row;
};

static int room_order(const void *x, const void *y)
{
    const struct room_entry *a = x, *b = y;
    if (a->ref.kind != b->ref.kind)
        return a->ref.kind == ROOM_NAMED ? -1 : 1;
    if (a->ref.a != b->ref.a)
        return a->ref.a < b->ref.a ? -1 : 1;
    return a->ref.b < b->ref.b ? -1 : a->ref.b > b->ref.b;
}

/* A row of SCRIPT_ROOMS: {id, unread, more, last, mentions, name…}. */
enum { ROOM_ROW_UNREAD = 1, ROOM_ROW_MORE, ROOM_ROW_LAST, ROOM_ROW_MENTIONS, ROOM_ROW_NAMES };

static long long row_integer(const redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
}

/* The newest message of a row, normalized, or JSON null. */
static cJSON *last_message(const redisReply *r)
{
    size_t len;
    const char *json = rconn_str(r, &len);
    cJSON *m = json && len ? store_message_normalize(json, len) : NULL;
    return m ? m : cJSON_CreateNull();
}

/* {"id","names":[…],"unread","unreadMore","lastMessage","mentions"}: the
 * originals' fields first; the client ignores the others. */
static cJSON *room_object(const struct room_entry *e)
{
    const redisReply *row = e->row;
    cJSON *room = cJSON_CreateObject();
    cJSON_AddStringToObject(room, "id", e->ref.id);
    cJSON *names = cJSON_AddArrayToObject(room, "names");
    for (size_t k = ROOM_ROW_NAMES; names && k < row->elements; k++) {
        size_t len;
        const char *name = rconn_str(row->element[k], &len);
        char *copy = name ? strndup(name, len) : NULL;
        if (copy)
            cJSON_AddItemToArray(names, cJSON_CreateString(copy));
        free(copy);
    }
    cJSON_AddNumberToObject(room, "unread", (double)row_integer(row->element[ROOM_ROW_UNREAD]));
    cJSON_AddBoolToObject(room, "unreadMore", row_integer(row->element[ROOM_ROW_MORE]) != 0);
    cJSON_AddItemToObject(room, "lastMessage", last_message(row->element[ROOM_ROW_LAST]));
    cJSON_AddNumberToObject(room, "mentions", (double)row_integer(row->element[ROOM_ROW_MENTIONS]));
    return room;
}

static void rooms_answer(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    if (rconn_is_error(reply) || reply->type != REDIS_REPLY_ARRAY) {
        http_respond_unavailable(req);
        return;
    }
    struct room_entry *rooms = calloc(reply->elements ? reply->elements : 1, sizeof *rooms);
    cJSON *out = rooms ? cJSON_CreateArray() : NULL;
    size_t n = 0;
    for (size_t i = 0; out && i < reply->elements; i++) {
        const redisReply *row = reply->element[i];
        size_t len;
        const char *id = row->type == REDIS_REPLY_ARRAY && row->elements >= ROOM_ROW_NAMES + 1
                             ? rconn_str(row->element[0], &len)
                             : NULL;
        if (id && store_room_parse(id, len, &rooms[n].ref) == 0) {
            rooms[n].row = row;
            n++;
        }
    }
    if (n)
        qsort(rooms, n, sizeof *rooms, room_order);
    for (size_t i = 0; out && i < n; i++)
        cJSON_AddItemToArray(out, room_object(&rooms[i]));
    free(rooms);
    http_respond_json(req, MHD_HTTP_OK, out);
}

/* GET /rooms/{userId}: only one's own list. */
void rooms_start(struct http_req *req)
{
    const char *id = req->url + strlen("/rooms/");
    uint64_t uid;
    if (store_parse_id(id, strlen(id), false, &uid) < 0) {
        http_respond_error(req, MHD_HTTP_BAD_REQUEST, "Invalid user id");
        return;
    }
    if (uid != req->user_id) {
        http_respond_error(req, MHD_HTTP_FORBIDDEN, "You can only list your own rooms");
        return;
    }
    struct store_call call;
    if (store_call_rooms(&call, uid) < 0 || send_call(req, &call, rooms_answer) < 0)
        http_respond_unavailable(req);
}

/* Parses an optional non-negative integer query argument. */
static bool query_long(struct http_req *req, const char *name, long dflt, long min, long max,
                       long *out)
{
    const char *v = http_query(req, name);
    if (!v) {
        *out = dflt;
        return true;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < min || (v[0] == '-' && n == 0))
        return false;
    *out = n > max ? max : n;
    return true;
}

/* SCRIPT_HISTORY's reply: nil (no session), {id, username} (not a
 * member) or {id, username, {members}}. */
static void history_answer(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    if (rconn_is_error(reply)) {
        http_respond_unavailable(req);
        return;
    }
    bool user = reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2;
    if (user)
        auth_take_user(req, reply->element[0], reply->element[1]);
    if (!req->user_id)
        http_respond_error(req, MHD_HTTP_UNAUTHORIZED, "Not signed in");
    else if (reply->elements == 2)
        http_respond_error(req, MHD_HTTP_FORBIDDEN, "You are not a member of this room");
    else if (reply->elements == 3 && reply->element[2]->type == REDIS_REPLY_ARRAY)
        http_respond_json(req, MHD_HTTP_OK, messages_array(reply->element[2]));
    else
        http_respond_unavailable(req);
}

static void history_bad_room(struct http_req *req)
{
    http_respond_error(req, MHD_HTTP_BAD_REQUEST, "Invalid room id");
}

static void history_bad_page(struct http_req *req)
{
    http_respond_error(req, MHD_HTTP_BAD_REQUEST, "offset must be 0 or more and size 1 or more");
}

/* GET /room/{id}/messages?offset=&size=: the session and the page in one
 * Redis round trip (the busiest route).  A request that is not signed in
 * is answered 401 before anything else, as by auth_with_user. */
void history_start(struct http_req *req)
{
    const struct config *cfg = cfg_of(req);
    req->user_id = 0;
    if (!auth_session_key(req, req->session_key, sizeof req->session_key)) {
        http_respond_error(req, MHD_HTTP_UNAUTHORIZED, "Not signed in");
        return;
    }
    const char *id = req->url + strlen("/room/");
    const char *end = strchr(id, '/');
    struct room_ref room;
    long offset, size;
    if (!end || store_room_parse(id, (size_t)(end - id), &room) < 0) {
        auth_with_user(req, cfg, true, history_bad_room);
        return;
    }
    if (!query_long(req, "offset", 0, 0, HISTORY_MAX_OFFSET, &offset) ||
        !query_long(req, "size", HISTORY_DEFAULT_SIZE, 1, HISTORY_MAX_SIZE, &size)) {
        auth_with_user(req, cfg, true, history_bad_page);
        return;
    }
    struct store_history_params params = {.session_key = req->session_key,
                                          .session_ttl = cfg->session_ttl,
                                          .room = &room,
                                          .offset = offset,
                                          .size = size};
    struct store_call call;
    if (store_call_history(&call, &params) < 0 || send_call(req, &call, history_answer) < 0)
        http_respond_unavailable(req);
}

static void private_room_answer(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    const struct room_ref *room = req->route_state;
    if (rconn_is_error(reply)) {
        http_respond_unavailable(req);
        return;
    }
    if (reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_STRING) {
        http_respond_error(req, MHD_HTTP_CONFLICT, ROOMS_REFUSAL);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        http_respond_error(req, MHD_HTTP_NOT_FOUND, "No such user");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", room->id);
    cJSON *names = cJSON_AddArrayToObject(o, "names");
    for (size_t i = 0; names && i < 2; i++) {
        size_t len;
        const char *name = rconn_str(reply->element[i], &len);
        char *copy = name ? strndup(name, len) : NULL;
        if (copy)
            cJSON_AddItemToArray(names, cJSON_CreateString(copy));
        free(copy);
    }
    http_respond_json(req, MHD_HTTP_CREATED, o);
}

/* POST /room {"user1","user2"}: only by one of the two. */
void private_room_start(struct http_req *req)
{
    cJSON *body = http_json_object(req);
    if (!body)
        return;
    uint64_t u1, u2;
    bool ok = json_user_id(cJSON_GetObjectItemCaseSensitive(body, "user1"), &u1) &&
              json_user_id(cJSON_GetObjectItemCaseSensitive(body, "user2"), &u2);
    cJSON_Delete(body);
    struct room_ref *room = calloc(1, sizeof *room);
    if (!room) {
        http_respond_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "Out of memory");
        return;
    }
    req->route_state = room;
    req->route_state_free = free;
    if (!ok || store_room_private(u1, u2, room) < 0) {
        http_respond_error(req, MHD_HTTP_BAD_REQUEST,
                           "user1 and user2 must be two different user ids");
        return;
    }
    if (req->user_id != u1 && req->user_id != u2) {
        http_respond_error(req, MHD_HTTP_FORBIDDEN, "You can only open rooms you are in");
        return;
    }
    struct store_call call;
    if (store_call_create_private(&call, room, cfg_of(req)->rooms_per_user) < 0 ||
        send_call(req, &call, private_room_answer) < 0)
        http_respond_unavailable(req);
}
