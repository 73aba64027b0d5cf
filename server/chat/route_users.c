/* route_users: GET /users/online and GET /users?ids[]=… */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route_handlers.h"

#include "http.h"
#include "rconn.h"
#include "route_util.h"
#include "store.h"

#define USERS_MAX_IDS 100

static void online_users_answer(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    if (rconn_is_error(reply) || reply->type != REDIS_REPLY_ARRAY) {
        http_respond_unavailable(req);
        return;
    }
    cJSON *users = cJSON_CreateObject();
    for (size_t i = 0; users && i + 1 < reply->elements; i += 2) {
        const char *id = rconn_str(reply->element[i], NULL);
        cJSON *u = id ? user_object(id, reply->element[i + 1], 1) : NULL;
        if (u)
            cJSON_AddItemToObject(users, id, u);
    }
    http_respond_json(req, MHD_HTTP_OK, users);
}

void online_users_start(struct http_req *req)
{
    struct store_call call;
    if (store_call_online_users(&call) < 0 || send_call(req, &call, online_users_answer) < 0)
        http_respond_unavailable(req);
}

_Static_assert(USERS_MAX_IDS <= STORE_CALL_USERS_MAX, "one SCRIPT_USERS call looks up every id");

struct id_list {
    uint64_t ids[USERS_MAX_IDS];
    size_t count;
    bool bad;
};

static bool collect_id(void *ctx, const char *value)
{
    struct id_list *list = ctx;
    uint64_t id;
    if (list->count == USERS_MAX_IDS || store_parse_id(value, strlen(value), false, &id) < 0) {
        list->bad = true;
        return false;
    }
    list->ids[list->count++] = id;
    return true;
}

static void users_answer(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    if (rconn_is_error(reply) || reply->type != REDIS_REPLY_ARRAY) {
        http_respond_unavailable(req);
        return;
    }
    cJSON *users = cJSON_CreateObject();
    for (size_t i = 0; users && i + 2 < reply->elements; i += 3) {
        const char *id = rconn_str(reply->element[i], NULL);
        int online = reply->element[i + 2]->type == REDIS_REPLY_INTEGER &&
                     reply->element[i + 2]->integer == 1;
        cJSON *u = id ? user_object(id, reply->element[i + 1], online) : NULL;
        if (u && !cJSON_GetObjectItemCaseSensitive(users, id))
            cJSON_AddItemToObject(users, id, u);
        else
            cJSON_Delete(u);
    }
    http_respond_json(req, MHD_HTTP_OK, users);
}

void users_start(struct http_req *req)
{
    struct id_list *list = calloc(1, sizeof *list);
    if (!list) {
        http_respond_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "Out of memory");
        return;
    }
    req->route_state = list;
    req->route_state_free = free;
    unsigned seen = http_query_each(req, "ids[]", collect_id, list);
    if (!list->bad)
        seen += http_query_each(req, "ids", collect_id, list);
    if (list->bad || seen == 0) {
        http_respond_error(req, MHD_HTTP_BAD_REQUEST, "ids[] must be 1 to 100 numeric user ids");
        return;
    }
    struct store_call call;
    if (store_call_users(&call, list->ids, list->count) < 0 ||
        send_call(req, &call, users_answer) < 0)
        http_respond_unavailable(req);
}
