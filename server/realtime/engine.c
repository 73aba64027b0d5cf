/* engine: an Engine.IO endpoint (see engine.h). */
#include "engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "addrlimit.h"
#include "eio_http.h"
#include "eio_polling.h"
#include "eio_session.h"
#include "eio_transport.h"
#include "eio_websocket.h"
#include "http.h"
#include "log.h"
#include "worker.h"

/* Client addresses whose handshakes are counted at once, at most: beyond
 * it the quietest is forgotten (addrlimit.h), so memory stays bounded. */
#define HANDSHAKE_ADDRS_MAX 4096
#define MINUTE_MS 60000

struct engine {
    struct engine_options opt;
    struct eio_polling_options polling;
    struct eio_sessions *sessions;
    /* Handshakes per client address; NULL: no limit.  One table for all
     * workers (a client's connections are spread over them), locked only
     * for a lookup. */
    pthread_mutex_t handshakes_lock;
    struct addrlimit *handshakes;
    atomic_bool draining; /* shutting down: no new session */
    char path[64];
    size_t path_len;
};

struct engine *engine_new(const struct engine_options *opt, const struct eio_handlers *h)
{
    struct engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->opt = *opt;
    e->polling =
        (struct eio_polling_options){.max_payload = opt->max_payload, .cors_any = opt->cors_any};
    snprintf(e->path, sizeof e->path, "%s", opt->path);
    e->path_len = strlen(e->path);
    struct eio_limits lim = {
        .ping_interval_ms = opt->ping_interval_ms,
        .ping_timeout_ms = opt->ping_timeout_ms,
        .max_payload = opt->max_payload,
        .outbox_max_bytes = opt->outbox_max_bytes,
        .outbox_max_packets = opt->outbox_max_packets,
    };
    pthread_mutex_init(&e->handshakes_lock, NULL);
    e->sessions = eio_sessions_new(&lim, h, &opt->bind);
    if (opt->handshakes_per_minute)
        e->handshakes = addrlimit_new(HANDSHAKE_ADDRS_MAX, opt->handshakes_per_minute, MINUTE_MS);
    if (!e->sessions || (opt->handshakes_per_minute && !e->handshakes)) {
        engine_free(e);
        return NULL;
    }
    return e;
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    eio_sessions_free(e->sessions);
    addrlimit_free(e->handshakes);
    pthread_mutex_destroy(&e->handshakes_lock);
    free(e);
}

bool engine_owns(const struct engine *e, const char *url)
{
    /* "/socket.io/" and "/socket.io" both belong. */
    return strncmp(url, e->path, e->path_len - 1) == 0 &&
           (url[e->path_len - 1] == '/' || url[e->path_len - 1] == '\0');
}

size_t engine_max_body(const struct engine *e)
{
    return e->opt.max_payload;
}

void engine_drain(struct engine *e)
{
    atomic_store(&e->draining, true);
    eio_sessions_drain(e->sessions);
}

bool engine_drained(struct engine *e)
{
    return eio_sessions_idle(e->sessions);
}

void engine_close_worker_sessions(struct engine *e, struct worker *w)
{
    eio_sessions_close_worker(e->sessions, w);
}

size_t engine_close_bound(struct engine *e, const unsigned char digest[EIO_CREDENTIAL_BYTES],
                          const char *reason, bool settle)
{
    return eio_sessions_close_bound(e->sessions, digest, reason, settle);
}

/* The session the request names, if the request presents the credential it
 * was opened with: the sid alone is not enough (it travels in URLs).  A
 * reference the caller drops, or NULL. */
static struct eio_session *session_of(struct engine *e, struct http_req *req, const char *sid)
{
    struct eio_session *s = eio_sessions_find(e->sessions, sid);
    if (s && !eio_session_presented_by(s, req)) {
        eio_session_unref(s);
        return NULL;
    }
    return s;
}

void engine_body_too_large(struct engine *e, struct http_req *req)
{
    const char *sid = http_query(req, "sid");
    struct eio_session *s = sid ? session_of(e, req, sid) : NULL;
    if (s) {
        eio_session_close(s, "payload too large");
        eio_session_unref(s);
    }
}

static bool origin_ok(const struct engine *e, struct http_req *req)
{
    /* cors_any: anyone may come (the conformance server). */
    return e->opt.cors_any || http_origin_allowed(req, e->opt.origins, e->opt.n_origins);
}

static void preflight(struct http_req *req)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (r) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
        MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST");
        MHD_add_response_header(r, "Access-Control-Allow-Headers", "Content-Type");
    }
    http_respond(req, MHD_HTTP_NO_CONTENT, r);
}

/* A request naming an existing session. */
static void handle_session(struct engine *e, struct http_req *req, struct eio_session *s,
                           bool websocket, bool get)
{
    bool open, upgraded;
    eio_session_status(s, &open, &upgraded);
    if (websocket && get && open)
        eio_websocket_upgrade(e->sessions, s, req, e->opt.max_payload);
    else if (websocket || upgraded)
        eio_http_error(req, MHD_HTTP_BAD_REQUEST, EIO_ERR_BAD_REQUEST);
    else if (get)
        eio_polling_get(s, req, &e->polling);
    else if (strcmp(req->method, "POST") == 0 && open)
        eio_polling_post(s, req, &e->polling);
    else if (!open)
        eio_http_error(req, MHD_HTTP_BAD_REQUEST, EIO_ERR_SESSION_UNKNOWN);
    else
        eio_http_error(req, MHD_HTTP_BAD_REQUEST, EIO_ERR_BAD_REQUEST);
}

/* Whether the client's address may make another handshake now (counted). */
static bool handshake_allowed(struct engine *e, struct http_req *req)
{
    if (!e->handshakes)
        return true;
    pthread_mutex_lock(&e->handshakes_lock);
    bool ok = addrlimit_take(e->handshakes, req->client_key, worker_now_ms());
    pthread_mutex_unlock(&e->handshakes_lock);
    if (!ok)
        log_debug("handshake from %s refused: over HANDSHAKES_PER_MINUTE", req->client_key);
    return ok;
}

void engine_handle(struct engine *e, struct http_req *req)
{
    if (strcmp(req->method, "OPTIONS") == 0 && e->opt.cors_any) {
        preflight(req);
        return;
    }
    const char *eio = http_query(req, "EIO");
    const char *transport = http_query(req, "transport");
    const char *sid = http_query(req, "sid");
    if (!eio || strcmp(eio, "4") != 0) {
        eio_http_error(req, MHD_HTTP_BAD_REQUEST, EIO_ERR_UNSUPPORTED_VERSION);
        return;
    }
    bool websocket = transport && strcmp(transport, "websocket") == 0;
    if (!websocket && (!transport || strcmp(transport, "polling") != 0)) {
        eio_http_error(req, MHD_HTTP_BAD_REQUEST, EIO_ERR_TRANSPORT_UNKNOWN);
        return;
    }
    if (!origin_ok(e, req)) {
        eio_http_error(req, MHD_HTTP_FORBIDDEN, EIO_ERR_FORBIDDEN);
        return;
    }
    bool get = strcmp(req->method, "GET") == 0;
    if (!sid) {
        if (!get)
            eio_http_error(req, MHD_HTTP_BAD_REQUEST, EIO_ERR_BAD_HANDSHAKE_METHOD);
        else if (atomic_load(&e->draining))
            /* 503: a proxy passes the handshake to another server. */
            eio_http_error_message(req, MHD_HTTP_SERVICE_UNAVAILABLE, EIO_ERR_BAD_REQUEST,
                                   "Server shutting down; try again");
        else if (!handshake_allowed(e, req))
            eio_http_error_message(req, MHD_HTTP_TOO_MANY_REQUESTS, EIO_ERR_BAD_REQUEST,
                                   "Too many handshakes from this address; try again later");
        else if (websocket)
            eio_websocket_upgrade(e->sessions, NULL, req, e->opt.max_payload);
        else
            eio_polling_handshake(e->sessions, req, &e->polling);
        return;
    }
    /* Another client's session is answered as no session: the request
     * changes nothing, and learns nothing of whether the sid exists. */
    struct eio_session *s = session_of(e, req, sid);
    if (!s) {
        eio_http_error(req, e->opt.behind_proxy ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_BAD_REQUEST,
                       EIO_ERR_SESSION_UNKNOWN);
        return;
    }
    handle_session(e, req, s, websocket, get);
    eio_session_unref(s);
}
