/* routes: the HTTP API (docs/contract.md) on the data model of store.h.
 * Each route is a short chain: validate, (resolve the session,) one Redis
 * round trip, answer. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "routes.h"

#include "addrlimit.h"
#include "auth.h"
#include "chat.h"
#include "config.h"
#include "hashpool.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "password.h"
#include "rconn.h"
#include "static.h"
#include "token.h"
#include "username.h"
#include "worker.h"

#define HISTORY_DEFAULT_SIZE 15
#define HISTORY_MAX_SIZE 100
#define HISTORY_MAX_OFFSET 1000000000L
#define PRELOAD_SIZE 20
/* Bytes of stored messages a preload answers at most (the newest first). */
#define PRELOAD_BYTES_MAX (32 * 1024)
#define PRELOAD_ADDRS_MAX 4096
#define MINUTE_MS 60000
#define USERS_MAX_IDS 100

/* The routes' context: every route is reached through routes_handle. */
static const struct routes_ctx *ctx_of(struct http_req *req)
{
    return req->mount->ctx;
}

static const struct config *cfg_of(struct http_req *req)
{
    return ctx_of(req)->cfg;
}

/* Sends a script call answered to cb with the request. */
static int send_call(struct http_req *req, const struct store_call *call, rconn_cb *cb)
{
    return rconn_call(rconn_of(req->worker), call, cb, req);
}

/* Adds a NUL-terminated copy of a reply string to a JSON object. */
static bool add_reply_string(cJSON *o, const char *name, const redisReply *r)
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

static cJSON *user_object(const char *id, const redisReply *name, int online)
{
    cJSON *u = cJSON_CreateObject();
    if (!u || !cJSON_AddStringToObject(u, "id", id) || !add_reply_string(u, "username", name) ||
        (online >= 0 && !cJSON_AddBoolToObject(u, "online", online))) {
        cJSON_Delete(u);
        return NULL;
    }
    return u;
}

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

/* ---- /me, /logout ------------------------------------------------------ */

static void me_answer(struct http_req *req)
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
        chat_close_login(ctx->chat, digest);
    char cookie[128];
    const struct config *cfg = cfg_of(req);
    auth_set_cookie(cookie, sizeof cookie, NULL, 0, cfg->cookie_secure);
    http_respond_json_with(req, MHD_HTTP_OK, cJSON_CreateObject(), MHD_HTTP_HEADER_SET_COOKIE,
                           cookie);
}

/* The session ends, and every server closes the connections it opened. */
static void logout_start(struct http_req *req)
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
    const char *name_problem;                    /* why the name cannot be registered */
    uint64_t user_id;
    bool registering;
    bool decoy;   /* an unknown name with registration closed: hashed for the time */
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
    const struct config *cfg = cfg_of(req);
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
    if (what && strcmp(what, "badname") == 0) {
        http_respond_error(req, MHD_HTTP_BAD_REQUEST, l->name_problem);
        return; /* nothing was counted */
    }
    l->counted = true;
    if (what && strcmp(what, "none") == 0) {
        if (cfg->registration == CONFIG_REGISTRATION_CLOSED) {
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
        .client_addr = req->client_key,
        .max_fails_user = cfg->login_max_fails_user,
        .max_fails_addr = cfg->login_max_fails_addr,
        .window_s = cfg->login_fail_window,
        .delay_max_s = cfg->login_delay_max,
        .registrations_per_hour =
            cfg->registration == CONFIG_REGISTRATION_OPEN ? cfg->registrations_per_hour : 0,
        .logins_per_minute = cfg->logins_per_minute,
    };
    struct store_call call;
    if (store_call_login_lookup(&call, &params) < 0 || send_call(req, &call, login_looked_up) < 0)
        http_respond_unavailable(req);
}

static void login_start(struct http_req *req)
{
    const struct config *cfg = cfg_of(req);
    char canonical[USERNAME_CANONICAL_MAX + 1];
    cJSON *body = http_json_object(req);
    if (!body)
        return;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "username");
    const cJSON *pass = cJSON_GetObjectItemCaseSensitive(body, "password");
    const char *problem = NULL;
    if (!cJSON_IsString(name) || !cJSON_IsString(pass))
        problem = "username and password are required strings";
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
    /* With registration closed an unknown name answers as a wrong password
     * does, whatever its characters. */
    l->name_problem = cfg->registration == CONFIG_REGISTRATION_OPEN
                          ? username_new_problem(l->username, strlen(l->username))
                          : NULL;
    sodium_memzero(pass->valuestring, l->password_len);
    cJSON_Delete(body);
    sodium_memzero(req->body, req->body_len);
    lookup(req);
}

/* ---- users ----------------------------------------------------------------- */

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

static void online_users_start(struct http_req *req)
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

static void users_start(struct http_req *req)
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

/* ---- rooms ----------------------------------------------------------------- */

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

/* A row of SCRIPT_ROOMS: {id, unread, more, last, name…}. */
enum { ROOM_ROW_UNREAD = 1, ROOM_ROW_MORE, ROOM_ROW_LAST, ROOM_ROW_NAMES };

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

/* {"id","names":[…],"unread","unreadMore","lastMessage"}: the originals'
 * fields first; the client ignores the others. */
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
static void rooms_start(struct http_req *req)
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
static void history_start(struct http_req *req)
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

/* A room more for a user already in ROOMS_PER_USER. */
#define ROOMS_REFUSAL "Too many rooms: a user may be in at most ROOMS_PER_USER"

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

/* A user id given as a JSON number or a numeric string. */
static bool json_user_id(const cJSON *v, uint64_t *out)
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

/* POST /room {"user1","user2"}: only by one of the two. */
static void private_room_start(struct http_req *req)
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

/* ---- preload --------------------------------------------------------------- */

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

static void preload_start(struct http_req *req)
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

/* ---- groups ------------------------------------------------------------------ */

/* A group route's request: what the script's answer needs. */
struct group_route {
    const char *forbidden; /* the 403's message for this route */
    const char *limited;   /* the 429's message when the actor's rate is spent */
    char name[STORE_GROUP_NAME_MAX_BYTES + 1];
    uint64_t members[STORE_GROUP_CREATE_MAX];
    size_t count;
};

static struct group_route *group_route_new(struct http_req *req, const char *forbidden)
{
    struct group_route *g = calloc(1, sizeof *g);
    if (!g) {
        http_respond_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "Out of memory");
        return NULL;
    }
    g->forbidden = forbidden;
    g->limited = "Too many membership changes; slow down";
    req->route_state = g;
    req->route_state_free = free;
    return g;
}

/* 429 with Retry-After: the seconds a refusal {problem, seconds, …} says. */
static void group_too_many(struct http_req *req, const redisReply *reply, const char *why)
{
    long long seconds = reply->elements >= 2 && reply->element[1]->type == REDIS_REPLY_INTEGER
                            ? reply->element[1]->integer
                            : 1;
    char retry[24];
    snprintf(retry, sizeof retry, "%lld", seconds > 0 ? seconds : 1);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", why);
    http_respond_json_with(req, MHD_HTTP_TOO_MANY_REQUESTS, o, MHD_HTTP_HEADER_RETRY_AFTER, retry);
}

/* The refusals with a wait: the actor's rate, or the target's additions. */
static bool group_rate_refused(struct http_req *req, const redisReply *reply, const char *problem)
{
    const struct group_route *g = req->route_state;
    if (strcmp(problem, "limited") == 0)
        group_too_many(req, reply, g->limited);
    else if (strcmp(problem, "busy") == 0)
        group_too_many(req, reply,
                       "That user was added to too many groups lately; try again later");
    else
        return false;
    return true;
}

/* Answers a script's refusal ({problem}); false when it was none. */
static bool group_refused(struct http_req *req, const char *problem)
{
    static const struct {
        const char *problem;
        unsigned status;
        const char *message;
    } answers[] = {
        {"nogroup", MHD_HTTP_NOT_FOUND, "No such room"},
        {"nouser", MHD_HTTP_NOT_FOUND, "No such user"},
        {"notmember", MHD_HTTP_NOT_FOUND, "That user is not a member of this room"},
        {"exists", MHD_HTTP_CONFLICT, "Already a member of this room"},
        {"full", MHD_HTTP_CONFLICT, "This room is full"},
        {"left", MHD_HTTP_FORBIDDEN,
         "That user left this room; only they can come back, by joining it if it is public"},
        {"toomany", MHD_HTTP_CONFLICT,
         "You own too many groups; leave one you created before creating another"},
        {"rooms", MHD_HTTP_CONFLICT, ROOMS_REFUSAL},
    };
    const struct group_route *g = req->route_state;
    if (strcmp(problem, "forbidden") == 0) {
        http_respond_error(req, MHD_HTTP_FORBIDDEN, g->forbidden);
        return true;
    }
    for (size_t i = 0; i < sizeof answers / sizeof *answers; i++) {
        if (strcmp(problem, answers[i].problem) == 0) {
            http_respond_error(req, answers[i].status, answers[i].message);
            return true;
        }
    }
    return false;
}

/* The status word of a group script's reply ({word, …}), or NULL. */
static const char *group_status(const redisReply *reply)
{
    if (rconn_is_error(reply) || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1)
        return NULL;
    return rconn_str(reply->element[0], NULL);
}

/* {'ok', group JSON} answers the group with status; else the refusal. */
static void group_answer_with(struct http_req *req, redisReply *reply, unsigned status)
{
    const char *word = group_status(reply);
    size_t len = 0;
    const char *json = word && reply->elements == 2 ? rconn_str(reply->element[1], &len) : NULL;
    if (word && strcmp(word, "ok") == 0 && json) {
        cJSON *raw = cJSON_ParseWithLength(json, len);
        cJSON *group = store_group_from_object(raw);
        cJSON_Delete(raw);
        if (group)
            http_respond_json(req, status, group);
        else
            http_respond_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "Unreadable room");
    } else if (!word || !(group_rate_refused(req, reply, word) || group_refused(req, word))) {
        http_respond_unavailable(req);
    }
}

static void group_created(void *priv, redisReply *reply)
{
    group_answer_with(priv, reply, MHD_HTTP_CREATED);
}

static void group_changed(void *priv, redisReply *reply)
{
    group_answer_with(priv, reply, MHD_HTTP_OK);
}

/* members of POST /rooms: an array of user ids; the creator and repeats
 * are dropped.  false when malformed or too many. */
static bool group_members_of(const cJSON *v, uint64_t creator, struct group_route *g)
{
    if (!v)
        return true;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > STORE_GROUP_CREATE_MAX)
        return false;
    const cJSON *m;
    cJSON_ArrayForEach(m, v)
    {
        uint64_t id;
        if (!json_user_id(m, &id))
            return false;
        bool seen = id == creator;
        for (size_t i = 0; i < g->count && !seen; i++)
            seen = g->members[i] == id;
        if (!seen)
            g->members[g->count++] = id;
    }
    return true;
}

/* Checks POST /rooms' body into g: NULL, or the problem. */
static const char *group_body_problem(const cJSON *body, uint64_t creator, struct group_route *g,
                                      bool *public_room)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "name");
    const cJSON *pub = cJSON_GetObjectItemCaseSensitive(body, "public");
    const char *problem;
    if (!cJSON_IsString(name))
        return "name is a required string";
    if ((problem = store_group_name_problem(name->valuestring, strlen(name->valuestring))))
        return problem;
    if (pub && !cJSON_IsBool(pub))
        return "public must be true or false";
    if (!group_members_of(cJSON_GetObjectItemCaseSensitive(body, "members"), creator, g))
        return "members must be an array of at most 100 user ids";
    snprintf(g->name, sizeof g->name, "%s", name->valuestring);
    *public_room = cJSON_IsTrue(pub);
    return NULL;
}

/* POST /rooms {"name","members":[ids],"public"}: the creator is a member. */
static void group_create_start(struct http_req *req)
{
    struct group_route *g = group_route_new(req, "Not allowed");
    cJSON *body = g ? http_json_object(req) : NULL;
    if (!body)
        return;
    g->limited = "Too many groups created this hour; try again later";
    bool public_room = false;
    const char *problem = group_body_problem(body, req->user_id, g, &public_room);
    cJSON_Delete(body);
    if (problem) {
        http_respond_error(req, MHD_HTTP_BAD_REQUEST, problem);
        return;
    }
    struct store_group_create_params params = {
        .creator = req->user_id,
        .name = g->name,
        .public_room = public_room,
        .members = g->members,
        .count = g->count,
        .server_id = cfg_of(req)->server_id,
        .groups_per_hour = cfg_of(req)->groups_per_hour,
        .groups_per_user = cfg_of(req)->groups_per_user,
        .adds_per_hour = cfg_of(req)->group_adds_per_hour,
        .rooms_max = cfg_of(req)->rooms_per_user,
    };
    struct store_call call;
    if (store_call_group_create(&call, &params) < 0 || send_call(req, &call, group_created) < 0)
        http_respond_unavailable(req);
}

/* The group of /room/{id}<rest>: rest must follow the id exactly, and the
 * part after it (a user id for ".../members/") goes to *tail.  Answers
 * 400/404 itself and returns false. */
static bool group_of_url(struct http_req *req, const char *rest, struct room_ref *room,
                         const char **tail)
{
    const char *id = req->url + strlen("/room/");
    const char *end = strchr(id, '/');
    size_t rlen = strlen(rest);
    if (!end || strncmp(end, rest, rlen) != 0 || (!tail && end[rlen]) ||
        store_room_parse(id, (size_t)(end - id), room) < 0) {
        http_respond_error(req, MHD_HTTP_BAD_REQUEST, "Invalid room id");
        return false;
    }
    if (room->kind != ROOM_NAMED) {
        http_respond_error(req, MHD_HTTP_NOT_FOUND, "No such room");
        return false;
    }
    if (tail)
        *tail = end + rlen;
    return true;
}

static void group_change_send(struct http_req *req, const struct room_ref *room, uint64_t target,
                              bool add, enum store_group_add_mode mode)
{
    struct store_group_change_params params = {
        .room_id = room->id,
        .actor = req->user_id,
        .target = target,
        .mode = mode,
        .server_id = cfg_of(req)->server_id,
        .changes_per_minute = cfg_of(req)->membership_changes_per_minute,
        .adds_per_hour = cfg_of(req)->group_adds_per_hour,
        .rooms_max = cfg_of(req)->rooms_per_user,
    };
    struct store_call call;
    int rc = add ? store_call_group_add(&call, &params) : store_call_group_remove(&call, &params);
    if (rc < 0 || send_call(req, &call, group_changed) < 0)
        http_respond_unavailable(req);
}

/* POST /room/{id}/join: a public group, by oneself. */
static void group_join_start(struct http_req *req)
{
    struct room_ref room;
    if (group_route_new(req, "This room is invite-only") && group_of_url(req, "/join", &room, NULL))
        group_change_send(req, &room, req->user_id, true, STORE_GROUP_JOIN);
}

/* POST /room/{id}/members {"userId"}: a member adds someone. */
static void group_invite_start(struct http_req *req)
{
    struct room_ref room;
    if (!group_route_new(req, "You are not a member of this room") ||
        !group_of_url(req, "/members", &room, NULL))
        return;
    cJSON *body = http_json_object(req);
    if (!body)
        return;
    uint64_t target;
    bool ok = json_user_id(cJSON_GetObjectItemCaseSensitive(body, "userId"), &target);
    cJSON_Delete(body);
    if (!ok)
        http_respond_error(req, MHD_HTTP_BAD_REQUEST, "userId must be a user id");
    else
        group_change_send(req, &room, target, true, STORE_GROUP_INVITE);
}

static void group_removed(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    const char *word = group_status(reply);
    if (word && strcmp(word, "ok") == 0)
        http_respond_json(req, MHD_HTTP_OK, cJSON_CreateObject());
    else if (!word || !(group_rate_refused(req, reply, word) || group_refused(req, word)))
        http_respond_unavailable(req);
}

/* DELETE /room/{id}/members/{userId}: oneself, or the creator anyone. */
static void group_remove_start(struct http_req *req)
{
    struct room_ref room;
    const char *tail;
    uint64_t target;
    if (!group_route_new(req, "Only the room's creator may remove others") ||
        !group_of_url(req, "/members/", &room, &tail))
        return;
    if (store_parse_id(tail, strlen(tail), false, &target) < 0) {
        http_respond_error(req, MHD_HTTP_BAD_REQUEST, "Invalid user id");
        return;
    }
    struct store_group_change_params params = {
        .room_id = room.id,
        .actor = req->user_id,
        .target = target,
        .server_id = cfg_of(req)->server_id,
        .changes_per_minute = cfg_of(req)->membership_changes_per_minute,
    };
    struct store_call call;
    if (store_call_group_remove(&call, &params) < 0 || send_call(req, &call, group_removed) < 0)
        http_respond_unavailable(req);
}

static void group_members_answer(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    const char *word = group_status(reply);
    const redisReply *rows = word && reply->elements == 2 ? reply->element[1] : NULL;
    if (!word || (strcmp(word, "ok") == 0 && (!rows || rows->type != REDIS_REPLY_ARRAY))) {
        http_respond_unavailable(req);
        return;
    }
    if (strcmp(word, "ok") != 0) {
        if (!group_refused(req, word))
            http_respond_unavailable(req);
        return;
    }
    cJSON *out = cJSON_CreateArray();
    for (size_t i = 0; out && i + 2 < rows->elements; i += 3) {
        const char *id = rconn_str(rows->element[i], NULL);
        int online =
            rows->element[i + 2]->type == REDIS_REPLY_INTEGER && rows->element[i + 2]->integer == 1;
        cJSON *u = id ? user_object(id, rows->element[i + 1], online) : NULL;
        if (u)
            cJSON_AddItemToArray(out, u);
    }
    http_respond_json(req, MHD_HTTP_OK, out);
}

/* GET /room/{id}/members: members with presence. */
static void group_members_start(struct http_req *req)
{
    struct room_ref room;
    struct store_call call;
    if (!group_route_new(req, "You are not a member of this room") ||
        !group_of_url(req, "/members", &room, NULL))
        return;
    if (store_call_group_members(&call, room.id, req->user_id) < 0 ||
        send_call(req, &call, group_members_answer) < 0)
        http_respond_unavailable(req);
}

static void public_groups_answer(void *priv, redisReply *reply)
{
    struct http_req *req = priv;
    if (rconn_is_error(reply) || reply->type != REDIS_REPLY_ARRAY) {
        http_respond_unavailable(req);
        return;
    }
    cJSON *out = cJSON_CreateArray();
    for (size_t i = 0; out && i < reply->elements; i++) {
        const redisReply *row = reply->element[i];
        const char *id = row->type == REDIS_REPLY_ARRAY && row->elements == 3
                             ? rconn_str(row->element[0], NULL)
                             : NULL;
        cJSON *g = id ? cJSON_CreateObject() : NULL;
        if (!g)
            continue;
        cJSON_AddStringToObject(g, "id", id);
        add_reply_string(g, "name", row->element[1]);
        cJSON_AddBoolToObject(g, "public", true);
        cJSON_AddNumberToObject(
            g, "memberCount",
            (double)(row->element[2]->type == REDIS_REPLY_INTEGER ? row->element[2]->integer : 0));
        cJSON_AddItemToArray(out, g);
    }
    http_respond_json(req, MHD_HTTP_OK, out);
}

/* GET /rooms/public: the first STORE_GROUP_LIST_MAX public groups by id. */
static void public_groups_start(struct http_req *req)
{
    struct store_call call;
    if (store_call_groups_public(&call, STORE_GROUP_LIST_MAX) < 0 ||
        send_call(req, &call, public_groups_answer) < 0)
        http_respond_unavailable(req);
}

/* ---- small routes -------------------------------------------------------- */

static struct MHD_Response *text_response(const char *text, size_t len, const char *type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (r)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    return r;
}

static void random_name(struct http_req *req)
{
    static const char *const adjectives[] = {
        "Brave", "Calm",   "Clever", "Curious", "Eager",  "Gentle", "Happy", "Jolly",
        "Kind",  "Lively", "Lucky",  "Mellow",  "Nimble", "Quiet",  "Swift", "Witty",
    };
    static const char *const animals[] = {
        "Badger", "Beaver", "Falcon", "Fox",    "Heron", "Koala", "Lynx",  "Marten",
        "Otter",  "Owl",    "Panda",  "Puffin", "Raven", "Seal",  "Tiger", "Wombat",
    };
    char name[STORE_USERNAME_MAX_CHARS + 1];
    snprintf(name, sizeof name, "%s%s%02u", adjectives[randombytes_uniform(16)],
             animals[randombytes_uniform(16)], (unsigned)randombytes_uniform(100));
    http_respond(req, MHD_HTTP_OK, text_response(name, strlen(name), "text/plain; charset=utf-8"));
}

static void links(struct http_req *req)
{
    const char *json = cfg_of(req)->links;
    http_respond(req, MHD_HTTP_OK, text_response(json, strlen(json), "application/json"));
}

static void stream(struct http_req *req)
{
    /* Every event travels on Socket.IO; 204 tells an EventSource to stop. */
    http_respond(req, MHD_HTTP_NO_CONTENT,
                 MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}

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

static void healthz(struct http_req *req)
{
    if (rconn_commandv(rconn_of(req->worker), health_answer, req, 1, (const char *[]){"PING"}) < 0)
        health_answer(req, NULL);
}

static void metrics_page(struct http_req *req)
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

/* ---- dispatch ------------------------------------------------------------- */

/* SESSION_IN_ROUTE: signed in only, the route resolving the session itself
 * (in its own script's round trip). */
enum route_auth { PUBLIC, OPTIONAL_USER, USER, SESSION_IN_ROUTE };

struct route {
    const char *method;
    const char *path;   /* exact, or a prefix when it ends in '/' */
    const char *suffix; /* with a prefix: the path must end so; one ending
                         * in '/' is followed by one more segment */
    enum route_auth auth;
    void (*handler)(struct http_req *);
};

static const struct route routes[] = {
    {"GET", "/me", NULL, OPTIONAL_USER, me_answer},
    {"POST", "/login", NULL, PUBLIC, login_start},
    {"POST", "/logout", NULL, USER, logout_start},
    {"GET", "/users/online", NULL, USER, online_users_start},
    {"GET", "/users", NULL, USER, users_start},
    {"GET", "/rooms/public", NULL, USER, public_groups_start},
    {"GET", "/rooms/", NULL, USER, rooms_start},
    {"POST", "/rooms", NULL, USER, group_create_start},
    {"GET", "/room/0/preload", NULL, PUBLIC, preload_start},
    {"GET", "/room/", "/messages", SESSION_IN_ROUTE, history_start},
    {"POST", "/room", NULL, USER, private_room_start},
    {"POST", "/room/", "/join", USER, group_join_start},
    {"GET", "/room/", "/members", USER, group_members_start},
    {"POST", "/room/", "/members", USER, group_invite_start},
    {"DELETE", "/room/", "/members/", USER, group_remove_start},
    {"GET", "/randomname", NULL, PUBLIC, random_name},
    {"GET", "/links", NULL, PUBLIC, links},
    {"GET", "/stream", NULL, PUBLIC, stream},
    {"GET", "/healthz", NULL, PUBLIC, healthz},
    {"GET", "/metrics", NULL, PUBLIC, metrics_page},
};

static bool path_matches(const struct route *r, const char *url)
{
    size_t plen = strlen(r->path);
    if (r->path[plen - 1] != '/')
        return strcmp(url, r->path) == 0;
    if (strncmp(url, r->path, plen) != 0 || !url[plen])
        return false;
    if (!r->suffix)
        return !strchr(url + plen, '/');
    size_t ulen = strlen(url), slen = strlen(r->suffix);
    if (r->suffix[slen - 1] == '/') {
        size_t head = (size_t)(strrchr(url, '/') - url) + 1; /* the last segment's start */
        return url[head] && head > plen + slen && strncmp(url + head - slen, r->suffix, slen) == 0;
    }
    return ulen > plen + slen && strcmp(url + ulen - slen, r->suffix) == 0;
}

/* A media type is compared without its parameters (charset=utf-8). */
static bool is_json_type(const char *content_type)
{
    static const char json[] = "application/json";
    size_t n = sizeof json - 1;
    if (!content_type || strncasecmp(content_type, json, n) != 0)
        return false;
    const char *rest = content_type + n;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    return *rest == '\0' || *rest == ';';
}

/* Why a request that changes state is refused, or NULL.  Login CSRF and
 * its kin: a page elsewhere can make a browser POST here (a form of
 * enctype text/plain even spells JSON), so such a request must come from
 * our own origin: Sec-Fetch-Site says so, or else Origin is allowed (the
 * rule of the Socket.IO endpoint).  Requests carrying neither header are
 * not a browser's (curl, scripts) and pass.  A body must be JSON, which a
 * form cannot send. */
static const char *state_change_problem(struct http_req *req, unsigned *status)
{
    const struct routes_ctx *ctx = ctx_of(req);
    const char *site = http_header(req, "Sec-Fetch-Site");
    const char *origin = http_header(req, "Origin");
    bool same_site = site && (strcasecmp(site, "same-origin") == 0 || strcasecmp(site, "none") == 0);
    if (!same_site && ((origin && !http_origin_allowed(req, ctx->origins, ctx->n_origins)) ||
                       (!origin && site))) {
        *status = MHD_HTTP_FORBIDDEN;
        return "Cross-origin requests are not allowed";
    }
    if (req->body_len > 0 && !is_json_type(http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        *status = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
        return "Content-Type must be application/json";
    }
    return NULL;
}

void routes_handle(void *ctx, struct http_req *req)
{
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        const struct route *r = &routes[i];
        if (!path_matches(r, req->url))
            continue;
        path_known = true;
        bool head = strcmp(req->method, "HEAD") == 0 && strcmp(r->method, "GET") == 0;
        if (strcmp(req->method, r->method) != 0 && !head)
            continue;
        unsigned status;
        const char *problem = strcmp(r->method, "GET") != 0 ? state_change_problem(req, &status) : NULL;
        if (problem) {
            http_respond_error(req, status, problem);
            return;
        }
        if (r->auth == PUBLIC || r->auth == SESSION_IN_ROUTE)
            r->handler(req);
        else
            auth_with_user(req, cfg_of(req), r->auth == USER, r->handler);
        return;
    }
    if (path_known) {
        http_respond_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed");
        return;
    }
    bool get = strcmp(req->method, "GET") == 0, head = strcmp(req->method, "HEAD") == 0;
    if (!get && !head) {
        http_respond_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed");
        return;
    }
    struct static_root *web = ((const struct routes_ctx *)ctx)->web;
    if (!web) {
        http_respond_error(req, MHD_HTTP_NOT_FOUND, "Not found");
        return;
    }
    /* static_serve queues its response itself. */
    req->answered = true;
    if (static_serve(web, req->conn, req->url, head) != MHD_YES)
        log_debug("static: could not answer %s", req->url);
}
