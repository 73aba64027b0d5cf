/* route_util: the helpers every route file shares — its context, one
 * script call, and the JSON pieces several answers are made of. */
#ifndef CHATD_ROUTE_UTIL_H
#define CHATD_ROUTE_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "rconn.h"

struct config;
struct http_req;
struct routes_ctx;
struct store_call;

/* A room more for a user already in ROOMS_PER_USER (POST /room and the
 * group routes). */
#define ROOMS_REFUSAL "Too many rooms: a user may be in at most ROOMS_PER_USER"

/* The routes' context: every route is reached through routes_handle. */
const struct routes_ctx *ctx_of(struct http_req *req);
const struct config *cfg_of(struct http_req *req);

/* Sends a script call answered to cb with the request. */
int send_call(struct http_req *req, const struct store_call *call, rconn_cb *cb);

/* Adds a NUL-terminated copy of a reply string to a JSON object. */
bool add_reply_string(cJSON *o, const char *name, const redisReply *r);

/* {"id","username"[,"online"]}: online < 0 leaves it out.  NULL on OOM or
 * an unreadable name. */
cJSON *user_object(const char *id, const redisReply *name, int online);

/* A user id given as a JSON number or a numeric string. */
bool json_user_id(const cJSON *v, uint64_t *out);

#endif
