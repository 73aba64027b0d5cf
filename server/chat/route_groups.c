/* route_groups: named groups — POST /rooms, GET /rooms/public, and
 * /room/{id}/join and /room/{id}/members[/{userId}]. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route_handlers.h"

#include "config.h"
#include "http.h"
#include "rconn.h"
#include "route_util.h"
#include "store.h"

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
void group_create_start(struct http_req *req)
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
void group_join_start(struct http_req *req)
{
    struct room_ref room;
    if (group_route_new(req, "This room is invite-only") && group_of_url(req, "/join", &room, NULL))
        group_change_send(req, &room, req->user_id, true, STORE_GROUP_JOIN);
}

/* POST /room/{id}/members {"userId"}: a member adds someone. */
void group_invite_start(struct http_req *req)
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
void group_remove_start(struct http_req *req)
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
void group_members_start(struct http_req *req)
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
void public_groups_start(struct http_req *req)
{
    struct store_call call;
    if (store_call_groups_public(&call, STORE_GROUP_LIST_MAX) < 0 ||
        send_call(req, &call, public_groups_answer) < 0)
        http_respond_unavailable(req);
}
