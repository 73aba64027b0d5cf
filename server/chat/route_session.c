/* route_session: signing in and out — GET /me, POST /login (which
 * registers an unknown name when REGISTRATION=open, unless the body says
 * "register": false), POST /logout; and the one chain of checks, limits and
 * hashing that POST /register (route_register.c) shares with /login. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "route_handlers.h"

#include "auth.h"
#include "chat.h"
#include "config.h"
#include "hashpool.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "password.h"
#include "rconn.h"
#include "route_ctx.h"
#include "route_util.h"
#include "store.h"
#include "token.h"
#include "username.h"
#include "worker.h"

/* ---- /me, /logout ------------------------------------------------------ */

void me_answer(struct http_req *req)
{
    if (!req->user_id) {
        http_respond_json(req, MHD_HTTP_OK, NULL);
        return;
    }
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, req->user_id);
    cJSON *u = cJSON_CreateObject();
    if (u) {
        cJSON_AddStringToObject(u, "id", id);
        cJSON_AddStringToObject(u, "username", req->username);
    }
    http_respond_json(req, MHD_HTTP_OK, u);
}

static void logout_done(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    if (rconn_is_error(reply)) {
        http_respond_unavailable(req);
        return;
    }
    /* This server's connections of the session are closed before the
     * answer, so none acts after it; the others' on the control message. */
    const struct routes_ctx *ctx = ctx_of(req);
    unsigned char digest[TOKEN_DIGEST_BYTES];
    if (ctx->chat && auth_cookie_digest(req, digest))
        chat_close_login(ctx->chat, digest, true);
    char cookie[128];
    const struct config *cfg = cfg_of(req);
    auth_set_cookie(cookie, sizeof cookie, NULL, 0, cfg->cookie_secure);
    http_respond_json_with(req, MHD_HTTP_OK, cJSON_CreateObject(), MHD_HTTP_HEADER_SET_COOKIE,
                           cookie);
}

/* The session ends, and every server closes the connections it opened. */
void logout_start(struct http_req *req)
{
    struct store_call call;
    if (store_call_logout(&call, req->session_key) < 0 ||
        rconn_call(rconn_of(req->worker), &call, logout_done, req) < 0)
        http_respond_unavailable(req);
}

/* ---- /login -------------------------------------------------------------- */

/* Login is a chain: look up the name (counting the attempt against the
 * rate limits), verify or hash the password on the hash pool, register if
 * new, create a session.  An attempt that does not fail is uncounted. */
struct login {
    struct http_req *req;
    struct inbox_item item; /* the finished hash, back on the worker */
    struct hash_job job;
    char password[PW_PASSWORD_MAX + 1];
    size_t password_len;
    char username[STORE_USERNAME_MAX_BYTES + 1]; /* as typed; the stored one once found */
    char canonical[USERNAME_CANONICAL_MAX + 1];  /* the name the limits and the index know */
    const char *name_problem;                    /* why the account cannot be created */
    uint64_t user_id;
    bool may_create;    /* an unknown name creates the account */
    bool register_only; /* POST /register: a known name is taken */
    bool registering;
    bool decoy;   /* an unknown name that may not be created: hashed for the time */
    bool retried; /* lost a registration race once */
    bool counted; /* the attempt is counted as a failure */
    char token[TOKEN_STR_LEN + 1];
};

static void login_free(void *p)
{
    struct login *l = p;
    if (l)
        sodium_memzero(l, sizeof *l);
    free(l);
}

static void ignore_reply(void *priv, redisReply *reply)
{
    (void)priv;
    (void)reply;
}

/* Uncounts the attempt (it succeeded, or never got to fail).  Best effort:
 * the answer does not wait, and a lost release only errs on the safe side. */
static void release_attempt(struct http_req *req)
{
    struct login *l = req->route_state;
    if (!l || !l->counted)
        return;
    l->counted = false;
    struct store_call call;
    if (store_call_login_release(&call, l->canonical, req->client_key) == 0)
        rconn_call(rconn_of(req->worker), &call, ignore_reply, NULL);
}

static void login_unavailable(struct http_req *req)
{
    release_attempt(req);
    http_respond_unavailable(req);
}

static void session_created(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    struct login *l = req->route_state;
    if (rconn_is_error(reply)) {
        http_respond_unavailable(req);
        return;
    }
    const struct config *cfg = cfg_of(req);
    char id[24], cookie[160];
    snprintf(id, sizeof id, "%" PRIu64, l->user_id);
    auth_set_cookie(cookie, sizeof cookie, l->token, (long)cfg->session_ttl, cfg->cookie_secure);
    cJSON *u = cJSON_CreateObject();
    if (u) {
        cJSON_AddStringToObject(u, "id", id);
        cJSON_AddStringToObject(u, "username", l->username);
    }
    http_respond_json_with(req, l->registering ? MHD_HTTP_CREATED : MHD_HTTP_OK, u,
                           MHD_HTTP_HEADER_SET_COOKIE, cookie);
}

/* A new session for l->user_id: a fresh token every time; only its digest
 * is stored. */
static void create_session(struct http_req *req)
{
    struct login *l = req->route_state;
    const struct config *cfg = cfg_of(req);
    char digest[TOKEN_DIGEST_HEX_LEN + 1], ttl[24], id[24];
    release_attempt(req);
    token_new(l->token);
    token_digest_hex(l->token, strlen(l->token), digest);
    store_key_session(req->session_key, sizeof req->session_key, digest);
    snprintf(ttl, sizeof ttl, "%ld", (long)cfg->session_ttl);
    snprintf(id, sizeof id, "%" PRIu64, l->user_id);
    const char *argv[] = {"SET", req->session_key, id, "EX", ttl};
    if (rconn_commandv(rconn_of(req->worker), session_created, req, 5, argv) < 0)
        http_respond_unavailable(req);
}

static void lookup(struct http_req *req);

static void registered(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    struct login *l = req->route_state;
    if (rconn_is_error(reply)) {
        login_unavailable(req);
    } else if (reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
        l->user_id = (uint64_t)reply->integer;
        log_info("registered user %" PRIu64, l->user_id);
        create_session(req);
    } else if (l->register_only) {
        release_attempt(req);
        http_respond_error(req, MHD_HTTP_CONFLICT, "That username is taken");
    } else if (!l->retried) {
        /* Someone registered the name while we were hashing: this is a
         * login to their account now. */
        l->retried = true;
        l->registering = false;
        release_attempt(req);
        lookup(req);
    } else {
        release_attempt(req);
        http_respond_error(req, MHD_HTTP_CONFLICT, "That username is being registered; try again");
    }
}

static void wrong_password(struct http_req *req)
{
    /* The attempt stays counted: that is the failure; the pair's wait
     * starts now rather than when the attempt began. */
    struct login *l = req->route_state;
    l->counted = false;
    struct store_call call;
    if (store_call_login_failed(&call, l->canonical, req->client_key) == 0)
        rconn_call(rconn_of(req->worker), &call, ignore_reply, NULL);
    metrics_inc(METRICS_LOGIN_FAILURES);
    http_respond_error(req, MHD_HTTP_NOT_FOUND, "Invalid username or password");
}

/* Back on the worker thread with the hash pool's answer. */
static void hash_finished(struct worker *w, struct inbox_item *item)
{
    struct login *l = (struct login *)((char *)item - offsetof(struct login, item));
    struct http_req *req = l->req;
    struct hash_job *job = &l->job;
    if (worker_stopping(w) || job->result == HASHPOOL_CANCELLED) {
        login_unavailable(req);
        return;
    }
    if (l->decoy) {
        wrong_password(req);
        return;
    }
    if (l->registering) {
        if (job->result != 0) {
            release_attempt(req);
            http_respond_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "Could not hash the password");
            return;
        }
        struct store_call call;
        if (store_call_register(&call, l->username, l->canonical, job->hash) < 0 ||
            send_call(req, &call, registered) < 0)
            login_unavailable(req);
        return;
    }
    if (job->result != 0) {
        if (job->result < 0)
            log_warn("user %" PRIu64 " has a password hash chatd cannot use", l->user_id);
        wrong_password(req);
        return;
    }
    if (job->rehashed) {
        /* Upgrade a legacy hash, unless it changed meanwhile. */
        struct store_rehash_params rehash = {
            .user_id = l->user_id, .old_hash = job->hash, .new_hash = job->new_hash};
        struct store_call call;
        if (store_call_rehash(&call, &rehash) == 0)
            rconn_call(rconn_of(w), &call, ignore_reply, NULL);
    }
    create_session(req);
}

static void hash_done_on_pool(struct hash_job *job)
{
    struct login *l = job->ctx;
    worker_post(l->req->worker, &l->item);
}

static void submit_hash(struct http_req *req, enum hash_job_op op)
{
    struct login *l = req->route_state;
    l->job.op = op;
    memcpy(l->job.password, l->password, l->password_len);
    l->job.password_len = l->password_len;
    if (hashpool_submit(ctx_of(req)->hashes, &l->job) < 0) {
        sodium_memzero(l->job.password, sizeof l->job.password);
        release_attempt(req);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "message", "Too many sign-ins at once; try again shortly");
        http_respond_json_with(req, MHD_HTTP_SERVICE_UNAVAILABLE, o, MHD_HTTP_HEADER_RETRY_AFTER,
                               "1");
    }
}

/* 429 for seconds, with why. */
static void too_many(struct http_req *req, long long seconds, const char *why)
{
    char retry[24];
    snprintf(retry, sizeof retry, "%lld", seconds);
    metrics_inc(METRICS_LOGIN_FAILURES);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", why);
    http_respond_json_with(req, MHD_HTTP_TOO_MANY_REQUESTS, o, MHD_HTTP_HEADER_RETRY_AFTER, retry);
}

static void login_looked_up(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    struct login *l = req->route_state;
    if (rconn_is_error(reply) || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) {
        http_respond_unavailable(req);
        return;
    }
    const char *what = rconn_str(reply->element[0], NULL);
    if (what && reply->elements == 2 && reply->element[1]->type == REDIS_REPLY_INTEGER) {
        static const struct {
            const char *status, *message;
        } limits[] = {
            {"limited", "Too many failed sign-ins; try again later"},
            {"registrations", "Too many new accounts from this address; try again later"},
            {"attempts", "Too many sign-ins from this address; try again later"},
        };
        for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
            if (strcmp(what, limits[i].status) == 0) {
                too_many(req, reply->element[1]->integer, limits[i].message);
                return;
            }
    }
    if (what && strcmp(what, "taken") == 0) {
        http_respond_error(req, MHD_HTTP_CONFLICT, "That username is taken");
        return; /* nothing was counted */
    }
    if (what && strcmp(what, "badname") == 0) {
        http_respond_error(req, MHD_HTTP_BAD_REQUEST, l->name_problem);
        return; /* nothing was counted */
    }
    l->counted = true;
    if (what && strcmp(what, "none") == 0) {
        if (!l->may_create) {
            /* Answer as a wrong password would, after as long. */
            l->decoy = true;
            submit_hash(req, HASH_JOB_HASH);
            return;
        }
        l->registering = true;
        submit_hash(req, HASH_JOB_HASH);
        return;
    }
    size_t ref_len = 0, hash_len = 0, name_len = 0;
    bool found = what && strcmp(what, "found") == 0 && reply->elements == 4;
    const char *ref = found ? rconn_str(reply->element[1], &ref_len) : NULL;
    const char *hash = found ? rconn_str(reply->element[2], &hash_len) : NULL;
    const char *name = found ? rconn_str(reply->element[3], &name_len) : NULL;
    if (!ref || !hash || !name || store_parse_user_ref(ref, ref_len, &l->user_id) < 0 ||
        hash_len >= sizeof l->job.hash || name_len == 0 || name_len >= sizeof l->username) {
        log_warn("login: unreadable user record for a username");
        wrong_password(req);
        return;
    }
    /* Found under another spelling of the same name: the answer names the
     * account as it is stored. */
    memcpy(l->username, name, name_len);
    l->username[name_len] = '\0';
    memcpy(l->job.hash, hash, hash_len);
    l->job.hash[hash_len] = '\0';
    submit_hash(req, HASH_JOB_VERIFY);
}

static void lookup(struct http_req *req)
{
    struct login *l = req->route_state;
    const struct config *cfg = cfg_of(req);
    struct store_login_lookup_params params = {
        .username = l->username,
        .canonical = l->canonical,
        .may_register = l->name_problem == NULL,
        .register_only = l->register_only,
        .client_addr = req->client_key,
        .max_fails_user = cfg->login_max_fails_user,
        .max_fails_addr = cfg->login_max_fails_addr,
        .window_s = cfg->login_fail_window,
        .delay_max_s = cfg->login_delay_max,
        .registrations_per_hour = l->may_create ? cfg->registrations_per_hour : 0,
        .logins_per_minute = cfg->logins_per_minute,
    };
    struct store_call call;
    if (store_call_login_lookup(&call, &params) < 0 || send_call(req, &call, login_looked_up) < 0)
        http_respond_unavailable(req);
}

/* Characters (code points) of valid UTF-8. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Why a new account cannot have this name and password, or NULL.  Only
 * asked once the name turns out to be unknown (the lookup script).  The
 * password's length only at /register: /login keeps the originals' rules
 * for their client (REGISTRATION=explicit holds every new account to it). */
static const char *new_account_problem(const char *name, const char *password, bool register_only)
{
    const char *problem = username_new_problem(name, strlen(name));
    if (!problem && register_only && utf8_chars(password) < LOGIN_NEW_PASSWORD_MIN_CHARS)
        problem = "A new account's password must have at least 8 characters";
    return problem;
}

void login_chain_start(struct http_req *req, bool register_only)
{
    const struct config *cfg = cfg_of(req);
    char canonical[USERNAME_CANONICAL_MAX + 1];
    cJSON *body = http_json_object(req);
    if (!body)
        return;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "username");
    const cJSON *pass = cJSON_GetObjectItemCaseSensitive(body, "password");
    const cJSON *reg = register_only ? NULL : cJSON_GetObjectItemCaseSensitive(body, "register");
    const char *problem = NULL;
    if (!cJSON_IsString(name) || !cJSON_IsString(pass))
        problem = "username and password are required strings";
    else if (reg && !cJSON_IsBool(reg))
        problem = "register must be true or false";
    else if ((problem = store_username_problem(name->valuestring, strlen(name->valuestring))))
        ;
    else if (username_canonical(name->valuestring, strlen(name->valuestring), canonical) < 0)
        problem = "Username is too long once normalized";
    else if (!pass->valuestring[0])
        problem = "Password must not be empty";
    else if (strlen(pass->valuestring) > PW_PASSWORD_MAX)
        problem = "Password must be at most 256 bytes";
    struct login *l = problem ? NULL : calloc(1, sizeof *l);
    if (!l) {
        cJSON_Delete(body);
        http_respond_error(req, problem ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR,
                           problem ? problem : "Out of memory");
        return;
    }
    req->route_state = l;
    req->route_state_free = login_free;
    l->req = req;
    l->item.run = hash_finished;
    l->job.ctx = l;
    l->job.done = hash_done_on_pool;
    l->job.scheme = cfg->password_hash;
    l->password_len = strlen(pass->valuestring);
    memcpy(l->password, pass->valuestring, l->password_len);
    snprintf(l->username, sizeof l->username, "%s", name->valuestring);
    memcpy(l->canonical, canonical, sizeof canonical);
    /* /register creates (unless closed: route_register.c refused it);
     * /login only when open and not told "register": false.  Otherwise an
     * unknown name answers as a wrong password does, whatever its
     * characters. */
    l->register_only = register_only;
    l->may_create =
        register_only || (cfg->registration == CONFIG_REGISTRATION_OPEN && !cJSON_IsFalse(reg));
    l->name_problem =
        l->may_create ? new_account_problem(l->username, pass->valuestring, register_only) : NULL;
    sodium_memzero(pass->valuestring, l->password_len);
    cJSON_Delete(body);
    sodium_memzero(req->body, req->body_len);
    lookup(req);
}

void login_start(struct http_req *req)
{
    login_chain_start(req, false);
}
