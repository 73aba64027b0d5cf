/* route_util: the helpers every route file shares. */
#include <stdlib.h>
#include <string.h>

#include "route_util.h"

#include "http.h"
#include "route_ctx.h"
#include "store.h"
#include "worker.h"

const struct routes_ctx *ctx_of(struct http_req *req)
{
    return req->mount->ctx;
}

const struct config *cfg_of(struct http_req *req)
{
    return ctx_of(req)->cfg;
}

int send_call(struct http_req *req, const struct store_call *call, rconn_cb *cb)
{
    return rconn_call(rconn_of(req->worker), call, cb, req);
}

bool add_reply_string(cJSON *o, const char *name, const redisReply *r)
{
    size_t len;
    const char *s = rconn_str(r, &len);
    if (!s)
        return false;
    char *copy = strndup(s, len);
    bool ok = copy && cJSON_AddStringToObject(o, name, copy);
    free(copy);
    return ok;
}

cJSON *user_object(const char *id, const redisReply *name, int online)
{
    cJSON *u = cJSON_CreateObject();
    if (!u || !cJSON_AddStringToObject(u, "id", id) || !add_reply_string(u, "username", name) ||
        (online >= 0 && !cJSON_AddBoolToObject(u, "online", online))) {
        cJSON_Delete(u);
        return NULL;
    }
    return u;
}

bool json_user_id(const cJSON *v, uint64_t *out)
{
    if (cJSON_IsString(v))
        return store_parse_id(v->valuestring, strlen(v->valuestring), false, out) == 0;
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= (double)STORE_ID_MAX &&
        (double)(uint64_t)v->valuedouble == v->valuedouble) {
        *out = (uint64_t)v->valuedouble;
        return true;
    }
    return false;
}
