/* route_health: what monitors read — GET /healthz and GET /metrics. */
#include <stdbool.h>
#include <stdlib.h>

#include "route_handlers.h"

#include "http.h"
#include "metrics.h"
#include "rconn.h"
#include "worker.h"

static void health_answer(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    bool up = !rconn_is_error(reply);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", up ? "ok" : "error");
    /* The rest is for a monitor on this host only: the public (through a
     * proxy too) learns up or down, not where Redis is. */
    if (http_local_direct(req)) {
        cJSON_AddStringToObject(o, "redis", up ? "ok" : "down");
        /* Which Redis: with REDIS_SENTINELS, the master this worker follows. */
        cJSON_AddStringToObject(o, "redisServer", rconn_where(rconn_of(req->worker)));
    }
    http_respond_json(req, up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, o);
}

void healthz(struct http_req *req)
{
    if (rconn_commandv(rconn_of(req->worker), health_answer, req, 1, (const char *[]){"PING"}) < 0)
        health_answer(req, NULL);
}

void metrics_page(struct http_req *req)
{
    size_t len;
    char *text = metrics_render(&len);
    struct MHD_Response *r =
        text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (r)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8");
    else
        free(text);
    http_respond(req, MHD_HTTP_OK, r);
}
