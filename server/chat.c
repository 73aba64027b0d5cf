/* chat: chatd's Socket.IO application (see chat.h). */
#include "chat.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "rconn.h"
#include "store.h"
#include "token.h"
#include "worker.h"

/* What a client brought to its handshake. */
struct chat_client {
    char session_key[STORE_KEY_MAX];    /* "" without a well-formed cookie */
};

/* A socket's user, once its session is verified. */
struct chat_user {
    uint64_t id;
    char name[STORE_USERNAME_MAX_BYTES + 1];
};

static void *on_open(void *ctx, struct http_req *req, bool *refuse)
{
    (void)ctx;
    (void)refuse;
    struct chat_client *c = calloc(1, sizeof *c);
    if (!c) {
        *refuse = true;
        return NULL;
    }
    const char *token = http_cookie(req, HTTP_SESSION_COOKIE);
    if (token && token_is_wellformed(token, strlen(token))) {
        char digest[TOKEN_DIGEST_HEX_LEN + 1];
        token_digest_hex(token, strlen(token), digest);
        store_key_session(c->session_key, sizeof c->session_key, digest);
    }
    return c;
}

static void on_close(void *ctx, void *client_data)
{
    (void)ctx;
    free(client_data);
}

struct pending_connect {
    struct sio_socket *s;
    const struct config *cfg;
};

static void session_checked(void *priv, redisReply *reply)
{
    struct pending_connect *pc = priv;
    struct sio_socket *s = pc->s;
    struct chat_user *u = NULL;
    if (rconn_is_error(reply)) {
        sio_refuse(s, "Service unavailable");
    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
               (u = calloc(1, sizeof *u))) {
        size_t nlen = 0;
        const char *id = rconn_str(reply->element[0], NULL);
        const char *name = rconn_str(reply->element[1], &nlen);
        if (id && name && nlen < sizeof u->name &&
            store_parse_id(id, strlen(id), false, &u->id) == 0) {
            memcpy(u->name, name, nlen);
            sio_socket_set_data(s, u);
            if (sio_accept(s) == 0)
                u = NULL; /* on_disconnect frees it */
            else
                sio_socket_set_data(s, NULL);
        } else {
            sio_refuse(s, "unauthorized");
        }
    } else {
        sio_refuse(s, "unauthorized");
    }
    free(u);
    sio_socket_unref(s);
    free(pc);
}

/* A CONNECT: the session cookie of the handshake decides. */
static void on_connect(void *ctx, struct sio_socket *s, struct worker *w, const cJSON *auth)
{
    const struct config *cfg = ctx;
    (void)auth;
    const struct chat_client *c = sio_client_data(s);
    if (!c || !c->session_key[0]) {
        sio_refuse(s, "unauthorized");
        return;
    }
    struct pending_connect *pc = malloc(sizeof *pc);
    if (!pc) {
        sio_refuse(s, "Service unavailable");
        return;
    }
    pc->s = s;
    pc->cfg = cfg;
    sio_socket_ref(s);
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%u", cfg->session_ttl);
    const char *keys[] = {c->session_key};
    const char *args[] = {ttl};
    if (rconn_script(worker_redis(w), SCRIPT_SESSION, session_checked, pc, 1, keys, 1, args) < 0) {
        sio_refuse(s, "Service unavailable");
        sio_socket_unref(s);
        free(pc);
    }
}

static void on_disconnect(void *ctx, struct sio_socket *s, const char *reason)
{
    (void)ctx;
    struct chat_user *u = sio_socket_data(s);
    if (u)
        log_debug("user %" PRIu64 " disconnected: %s", u->id, reason);
    sio_socket_set_data(s, NULL);
    free(u);
}

static const char *const namespaces[] = {"/", NULL};

struct sio_app chat_app(const struct config *cfg)
{
    return (struct sio_app){
        .namespaces = namespaces,
        .on_open = on_open,
        .on_connect = on_connect,
        .on_disconnect = on_disconnect,
        .on_close = on_close,
        .ctx = (void *)cfg,
    };
}
