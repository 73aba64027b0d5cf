/* routes: the one table of chatd's HTTP routes (docs/api.md) and the
 * dispatcher that serves it.  Each route's handler lives in the file of its
 * resource (route_session.c, route_register.c, route_users.c, route_people.c,
 * route_rooms.c, route_preload.c, route_groups.c, route_app.c, route_health.c), declared in
 * route_handlers.h; what they share is in route_util.c.  Adding a route:
 * its handler in its resource's file, its declaration in route_handlers.h,
 * and one row below. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "routes.h"

#include "auth.h"
#include "http.h"
#include "log.h"
#include "route_handlers.h"
#include "route_util.h"
#include "static.h"

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
    {"POST", "/register", NULL, PUBLIC, register_start},
    {"POST", "/logout", NULL, USER, logout_start},
    {"GET", "/users/online", NULL, USER, online_users_start},
    {"GET", "/users", NULL, USER, users_start},
    {"GET", "/users/search", NULL, USER, user_search_start},
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
    {"GET", "/links", NULL, PUBLIC, links_answer},
    {"GET", "/stream", NULL, PUBLIC, stream_answer},
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
