/* route_people: GET /users/search?q=&limit=, people search by a prefix of
 * the canonical name (lib/username.h), from an index (never a SCAN),
 * counted per user (USER_SEARCHES_PER_MINUTE). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "route_handlers.h"

#include "config.h"
#include "http.h"
#include "rconn.h"
#include "route_util.h"
#include "store.h"
#include "username.h"

#define SEARCH_LIMIT_DEFAULT 10
#define SEARCH_PREFIX_MAX_CHARS STORE_USERNAME_MAX_CHARS

static const char BAD_QUERY[] = "q must be 1 to 32 characters of valid UTF-8";
static const char BAD_LIMIT[] = "limit must be an integer from 1 to 20";

/* Code points of valid UTF-8: the bytes that do not continue one. */
static size_t code_points(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* limit: absent is the default; else 1..STORE_USER_SEARCH_MAX in plain digits. */
static bool parse_limit(const char *s, unsigned *out)
{
    if (!s) {
        *out = SEARCH_LIMIT_DEFAULT;
        return true;
    }
    uint64_t v;
    if (store_parse_id(s, strlen(s), false, &v) < 0 || v > STORE_USER_SEARCH_MAX)
        return false;
    *out = (unsigned)v;
    return true;
}

static void search_answer(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    const char *status = NULL;
    if (!rconn_is_error(reply) && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2)
        status = rconn_str(reply->element[0], NULL);
    if (status && strcmp(status, "limited") == 0) {
        long long seconds =
            reply->element[1]->type == REDIS_REPLY_INTEGER ? reply->element[1]->integer : 1;
        char retry[24];
        snprintf(retry, sizeof retry, "%lld", seconds > 0 ? seconds : 1);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "message", "Too many searches; slow down");
        http_respond_json_with(req, MHD_HTTP_TOO_MANY_REQUESTS, o, MHD_HTTP_HEADER_RETRY_AFTER,
                               retry);
        return;
    }
    const redisReply *found = status && strcmp(status, "ok") == 0 ? reply->element[1] : NULL;
    if (!found || found->type != REDIS_REPLY_ARRAY) {
        http_respond_unavailable(req);
        return;
    }
    cJSON *users = cJSON_CreateArray();
    for (size_t i = 0; users && i + 2 < found->elements; i += 3) {
        const char *id = rconn_str(found->element[i], NULL);
        int online = found->element[i + 2]->type == REDIS_REPLY_INTEGER &&
                     found->element[i + 2]->integer == 1;
        cJSON *u = id ? user_object(id, found->element[i + 1], online) : NULL;
        if (u)
            cJSON_AddItemToArray(users, u);
    }
    http_respond_json(req, MHD_HTTP_OK, users);
}

void user_search_start(struct http_req *req)
{
    const char *q = http_query(req, "q");
    char prefix[USERNAME_CANONICAL_MAX + 1];
    /* Canonical as the names are, so "PAB" finds "Pablo" and "pablo". */
    int len = q && strlen(q) <= USERNAME_CANONICAL_MAX
                  ? username_canonical(q, strlen(q), prefix)
                  : -1;
    if (len <= 0 || code_points(prefix) > SEARCH_PREFIX_MAX_CHARS) {
        http_respond_error(req, MHD_HTTP_BAD_REQUEST, BAD_QUERY);
        return;
    }
    unsigned limit;
    if (!parse_limit(http_query(req, "limit"), &limit)) {
        http_respond_error(req, MHD_HTTP_BAD_REQUEST, BAD_LIMIT);
        return;
    }
    struct store_call call;
    struct store_users_search_params p = {
        .user_id = req->user_id,
        .prefix = prefix,
        .limit = limit,
        .per_minute = cfg_of(req)->user_searches_per_minute,
    };
    if (store_call_users_search(&call, &p) < 0 || send_call(req, &call, search_answer) < 0)
        http_respond_unavailable(req);
}
