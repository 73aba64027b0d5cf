/* http: a worker's libmicrohttpd daemon (no listening socket, driven by the
 * worker's epoll) and the request object the routes work with.
 *
 * A route answers at once or later: it may start Redis commands or a
 * password hash and return; the request is then suspended, and resumed
 * when the route calls one of the http_respond* functions from a
 * callback.  Every request gets exactly one answer.  Worker thread only. */
#ifndef CHATD_HTTP_H
#define CHATD_HTTP_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#define HTTP_BODY_MAX (16 * 1024) /* request bodies, 413 beyond */
/* An oversized body is read and dropped up to this much, so the client can
 * read its 413; beyond, the connection is closed. */
#define HTTP_DISCARD_MAX (8 * 1024 * 1024)
#define HTTP_ADDR_MAX INET6_ADDRSTRLEN
/* Room in a request for its user's name and session key (see below). */
#define HTTP_USERNAME_MAX 128
#define HTTP_SESSION_KEY_MAX 320

struct engine;
struct http_server;
struct worker;

struct http_req {
    struct worker *worker;
    struct MHD_Connection *conn;
    const char *url;
    const char *method;
    char *body; /* NUL-terminated, body_len bytes */
    size_t body_len;
    size_t body_max;       /* HTTP_BODY_MAX, or an engine's payload limit */
    bool body_too_large;   /* over body_max: answered 413 */
    size_t discarded;      /* bytes of an oversized body dropped */
    struct engine *engine; /* the Engine.IO endpoint the URL belongs to */
    char client_addr[HTTP_ADDR_MAX];

    /* The signed-in user, for the layers above: http.c leaves these zero,
     * the application's session check sets them (0: no valid session). */
    uint64_t user_id;
    char username[HTTP_USERNAME_MAX + 1];
    char session_key[HTTP_SESSION_KEY_MAX];
    /* The layers above's next step after an asynchronous one. */
    void (*next_step)(struct http_req *);

    /* A route's state across asynchronous steps, freed with the request. */
    void *route_state;
    void (*route_state_free)(void *);

    /* Private to http.c. */
    struct MHD_Response *response;
    unsigned status;
    bool dispatched, suspended;
    bool answered; /* a response was queued directly */
};

struct http_server *http_server_new(struct worker *w);
/* Stops the daemon, closing every connection.  NULL-safe. */
void http_server_free(struct http_server *s);
/* Adds an accepted socket; ownership passes to the daemon, which closes
 * it on failure too.  0 or -1. */
int http_server_add(struct http_server *s, int fd, const struct sockaddr *addr, socklen_t len);
/* How long the loop may sleep before http_server_run is due, at most cap. */
int http_server_timeout_ms(struct http_server *s, int cap);
/* Lets the daemon do its pending work. */
void http_server_run(struct http_server *s);

/* Answers the request with response r (ownership taken) and status. */
void http_respond(struct http_req *req, unsigned status, struct MHD_Response *r);
/* Answers with a JSON body (ownership of body taken; NULL answers `null`). */
void http_respond_json(struct http_req *req, unsigned status, cJSON *body);
/* Same, adding one header (e.g. Set-Cookie, Retry-After). */
void http_respond_json_with(struct http_req *req, unsigned status, cJSON *body, const char *header,
                            const char *value);
/* Answers {"message": message}. */
void http_respond_error(struct http_req *req, unsigned status, const char *message);
/* Answers 503: Redis is unavailable. */
void http_respond_unavailable(struct http_req *req);

/* Request accessors (NULL when absent). */
const char *http_header(struct http_req *req, const char *name);
const char *http_query(struct http_req *req, const char *name);
const char *http_cookie(struct http_req *req, const char *name);
/* Calls fn for every query argument named key, in order, until it returns
 * false.  Returns how many values were seen. */
unsigned http_query_each(struct http_req *req, const char *key,
                         bool (*fn)(void *ctx, const char *value), void *ctx);

/* Parses the body as a JSON object.  NULL after answering 400 itself. */
cJSON *http_json_object(struct http_req *req);

/* chatd's routes (routes.c): app->dispatch of chatd. */
void routes_dispatch(struct http_req *req);

#endif
