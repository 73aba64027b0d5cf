/* route_handlers: the handler of every HTTP route, by the file of its
 * resource; routes.c's table is their one caller.  A handler answers the
 * request itself (now or from a Redis reply), after the dispatcher's CSRF
 * and session checks of its row. */
#ifndef CHATD_ROUTE_HANDLERS_H
#define CHATD_ROUTE_HANDLERS_H

#include <stdbool.h>

struct http_req;

/* ---- route_session.c ----------------------------------------------------- */

/* GET /me: the signed-in user, or null. */
void me_answer(struct http_req *req);
/* POST /login {"username","password"}: a session cookie. */
void login_start(struct http_req *req);
/* POST /logout: the session ends, its connections close. */
void logout_start(struct http_req *req);
/* The chain of /login and /register (one path: limits, username rules,
 * hashing pool); register_only: an unknown name must be created, a known
 * one is 409. */
void login_chain_start(struct http_req *req, bool register_only);
/* Fewest characters of a new account's password. */
#define LOGIN_NEW_PASSWORD_MIN_CHARS 8

/* ---- route_register.c ---------------------------------------------------- */

/* POST /register {"username","password"}: a new account and its session. */
void register_start(struct http_req *req);

/* ---- route_users.c ------------------------------------------------------- */

/* GET /users/online: every signed-in user with a live connection. */
void online_users_start(struct http_req *req);
/* GET /users?ids[]=…: 1 to 100 users by id, with presence. */
void users_start(struct http_req *req);

/* ---- route_people.c ------------------------------------------------------ */

/* GET /users/search?q=&limit=: users by a prefix of the canonical name. */
void user_search_start(struct http_req *req);

/* ---- route_rooms.c ------------------------------------------------------- */

/* GET /rooms/{userId}: one's own rooms, named groups first. */
void rooms_start(struct http_req *req);
/* GET /room/{id}/messages?offset=&size=: resolves the session itself. */
void history_start(struct http_req *req);
/* POST /room {"user1","user2"}: opens the private room of two users. */
void private_room_start(struct http_req *req);

/* ---- route_preload.c ----------------------------------------------------- */

/* GET /room/0/preload: answered with an ETag, 304 when unchanged. */
void preload_start(struct http_req *req);

/* ---- route_groups.c ------------------------------------------------------ */

/* POST /rooms {"name","members":[ids],"public"}: the creator is a member. */
void group_create_start(struct http_req *req);
/* GET /rooms/public: the first STORE_GROUP_LIST_MAX public groups. */
void public_groups_start(struct http_req *req);
/* POST /room/{id}/join: a public group, by oneself. */
void group_join_start(struct http_req *req);
/* GET /room/{id}/members: members with presence. */
void group_members_start(struct http_req *req);
/* POST /room/{id}/members {"userId"}: a member adds someone. */
void group_invite_start(struct http_req *req);
/* DELETE /room/{id}/members/{userId}: oneself, or the creator anyone. */
void group_remove_start(struct http_req *req);

/* ---- route_app.c --------------------------------------------------------- */

/* GET /randomname: a suggested username, as text. */
void random_name(struct http_req *req);
/* GET /links: LINKS, as configured. */
void links_answer(struct http_req *req);
/* GET /stream: 204, an EventSource's cue to stop. */
void stream_answer(struct http_req *req);

/* ---- route_health.c ------------------------------------------------------ */

/* GET /healthz: 200 when Redis answers PING, else 503. */
void healthz(struct http_req *req);
/* GET /metrics: the Prometheus text of metrics.h. */
void metrics_page(struct http_req *req);

#endif
