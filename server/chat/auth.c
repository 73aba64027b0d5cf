/* auth: sessions, from the cookie to the user (see auth.h). */
#include "auth.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "rconn.h"
#include "store.h"
#include "token.h"

/* The request's generic user fields hold whatever the store allows. */
_Static_assert(sizeof((struct http_req *)0)->username > STORE_USERNAME_MAX_BYTES,
               "http_req.username is shorter than a username");
_Static_assert(sizeof((struct http_req *)0)->session_key >= STORE_KEY_MAX,
               "http_req.session_key is shorter than a key");

char *auth_set_cookie(char *buf, size_t n, const char *token, long ttl, bool secure)
{
    snprintf(buf, n, "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%ld%s", AUTH_COOKIE,
             token ? token : "", token ? ttl : 0L, secure ? "; Secure" : "");
    return buf;
}

bool auth_session_key(struct http_req *req, char *key, size_t n)
{
    const char *token = http_cookie(req, AUTH_COOKIE);
    if (n)
        key[0] = '\0';
    if (!token || !token_is_wellformed(token, strlen(token)))
        return false;
    char digest[TOKEN_DIGEST_HEX_LEN + 1];
    token_digest_hex(token, strlen(token), digest);
    if (store_key_session(key, n, digest) < 0) {
        if (n)
            key[0] = '\0';
        return false;
    }
    return true;
}

bool auth_cookie_digest(struct http_req *req, unsigned char digest[TOKEN_DIGEST_BYTES])
{
    const char *cookie = http_cookie(req, AUTH_COOKIE);
    if (!cookie)
        return false;
    token_digest(cookie, strlen(cookie), digest);
    return true;
}

void auth_take_user(struct http_req *req, const redisReply *id_reply, const redisReply *name_reply)
{
    size_t nlen;
    const char *id = rconn_str(id_reply, NULL);
    const char *name = rconn_str(name_reply, &nlen);
    uint64_t uid;
    if (id && name && nlen < sizeof req->username &&
        store_parse_id(id, strlen(id), false, &uid) == 0) {
        req->user_id = uid;
        memcpy(req->username, name, nlen);
        req->username[nlen] = '\0';
    }
}

/* Fills in the user of a SCRIPT_SESSION reply ({id, username} or nil);
 * false when Redis failed. */
static bool take_user(struct http_req *req, const redisReply *reply)
{
    if (rconn_is_error(reply))
        return false;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2)
        auth_take_user(req, reply->element[0], reply->element[1]);
    return true;
}

static void on_session_optional(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    if (!take_user(req, reply))
        http_respond_unavailable(req);
    else
        req->next_step(req);
}

static void on_session_required(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    if (!take_user(req, reply))
        http_respond_unavailable(req);
    else if (!req->user_id)
        http_respond_error(req, MHD_HTTP_UNAUTHORIZED, "Not signed in");
    else
        req->next_step(req);
}

void auth_with_user(struct http_req *req, const struct config *cfg, bool required,
                    void (*next)(struct http_req *))
{
    req->user_id = 0;
    req->next_step = next;
    if (!auth_session_key(req, req->session_key, sizeof req->session_key)) {
        if (required)
            http_respond_error(req, MHD_HTTP_UNAUTHORIZED, "Not signed in");
        else
            next(req);
        return;
    }
    struct store_call call;
    rconn_cb *resolved = required ? on_session_required : on_session_optional;
    if (store_call_session(&call, req->session_key, cfg->session_ttl) < 0 ||
        rconn_call(rconn_of(req->worker), &call, resolved, req) < 0)
        http_respond_unavailable(req);
}
