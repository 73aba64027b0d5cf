/* route_preload: GET /room/0/preload, the public room's newest messages
 * for a visitor with no session, counted per address (PRELOADS_PER_MINUTE). */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "route_handlers.h"
#include "routes.h" /* routes_preload_gate_new, _free */

#include "addrlimit.h"
#include "config.h"
#include "http.h"
#include "rconn.h"
#include "route_ctx.h"
#include "route_util.h"
#include "static.h"
#include "store.h"
#include "worker.h"

#define PRELOAD_SIZE 20
/* Bytes of stored messages a preload answers at most (the newest first). */
#define PRELOAD_BYTES_MAX (32 * 1024)
#define PRELOAD_ADDRS_MAX 4096
#define MINUTE_MS 60000


/* Preloads counted per client address (anyone may ask, with no session). */
struct preload_gate {
    pthread_mutex_t lock;
    struct addrlimit *per_addr;
};

struct preload_gate *routes_preload_gate_new(const struct config *cfg)
{
    struct preload_gate *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->per_addr = addrlimit_new(PRELOAD_ADDRS_MAX, cfg->preloads_per_minute, MINUTE_MS);
    if (!g->per_addr || pthread_mutex_init(&g->lock, NULL) != 0) {
        addrlimit_free(g->per_addr);
        free(g);
        return NULL;
    }
    return g;
}

void routes_preload_gate_free(struct preload_gate *g)
{
    if (!g)
        return;
    addrlimit_free(g->per_addr);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

static bool preload_allowed(struct http_req *req)
{
    struct preload_gate *g = ctx_of(req)->preloads;
    if (!g)
        return true;
    pthread_mutex_lock(&g->lock);
    bool ok = addrlimit_take(g->per_addr, req->client_key, worker_now_ms());
    pthread_mutex_unlock(&g->lock);
    return ok;
}

/* The newest messages whose stored bytes fit PRELOAD_BYTES_MAX: a room of
 * long messages answers fewer, never a larger body. */
static cJSON *preload_messages(const redisReply *members)
{
    cJSON *arr = cJSON_CreateArray();
    size_t bytes = 0;
    for (size_t i = 0; arr && i < members->elements; i++) {
        size_t len;
        const char *json = rconn_str(members->element[i], &len);
        if (!json || (bytes += len) > PRELOAD_BYTES_MAX)
            break;
        cJSON *m = store_message_normalize(json, len);
        if (m)
            cJSON_AddItemToArray(arr, m);
    }
    return arr;
}

/* The answer with a strong ETag of its bytes, and 304 when the client's
 * copy has it: revalidated each time (no-cache), sent only when changed. */
static void preload_respond(struct http_req *req, cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) {
        http_respond(req, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    size_t len = strlen(text);
    unsigned char digest[16];
    char hex[2 * sizeof digest + 1], etag[sizeof hex + 2];
    crypto_generichash(digest, sizeof digest, (const unsigned char *)text, len, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    snprintf(etag, sizeof etag, "\"%s\"", hex);
    const char *inm = http_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
    unsigned status = inm && static_etag_matches(inm, etag) ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
    /* A 304 is made from the same bytes: libmicrohttpd sends no body with
     * it, and its Content-Length is then the 200's (RFC 9110 8.6). */
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
    } else if (!MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") ||
               !MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache") ||
               !MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag)) {
        MHD_destroy_response(r);
        r = NULL;
    }
    http_respond(req, status, r);
}

static void preload_answer(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    if (rconn_is_error(reply) || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        http_respond_unavailable(req);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", "0");
    add_reply_string(o, "name", reply->element[0]);
    cJSON_AddItemToObject(o, "messages", preload_messages(reply->element[1]));
    preload_respond(req, o);
}

void preload_start(struct http_req *req)
{
    if (!preload_allowed(req)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "message", "Too many requests from this address; try again later");
        http_respond_json_with(req, MHD_HTTP_TOO_MANY_REQUESTS, o, MHD_HTTP_HEADER_RETRY_AFTER, "60");
        return;
    }
    struct store_call call;
    if (store_call_preload(&call, "0", PRELOAD_SIZE) < 0 ||
        send_call(req, &call, preload_answer) < 0)
        http_respond_unavailable(req);
}
