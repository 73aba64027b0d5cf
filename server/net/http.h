/* http: a worker's HTTP server — a libmicrohttpd daemon without a listening
 * socket, driven by the worker's epoll — and the request its handlers see.
 *
 * A request goes to the first mount whose prefix owns its URL, else to the
 * fallback.  A handler answers at once or later: it may start Redis commands
 * or a password hash and return; the request is then suspended, and resumed
 * when the handler calls one of the http_respond* functions from a callback.
 * Every request gets exactly one answer.
 *
 * Threads: the mount table is built before the workers start and is
 * read-only afterwards (every worker's server shares it); a server and its
 * requests belong to their worker's thread. */
#ifndef CHATD_HTTP_H
#define CHATD_HTTP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "addrkey.h"

#define HTTP_BODY_MAX (16 * 1024) /* request bodies, 413 beyond, unless mounted otherwise */
/* An oversized body is read and dropped up to this much, so the client can
 * read its 413; beyond, the connection is closed. */
#define HTTP_DISCARD_MAX (8 * 1024 * 1024)
#define HTTP_ADDR_MAX INET6_ADDRSTRLEN
#define HTTP_MOUNTS_MAX 4
/* Room in a request for its user's name and session key (see below). */
#define HTTP_USERNAME_MAX 128
#define HTTP_SESSION_KEY_MAX 320

struct http_req;
struct http_server;
struct worker;

/* Handles a request (answers it now or later); ctx is its mount's. */
typedef void http_handler(void *ctx, struct http_req *req);

/* Where the requests under one URL prefix go. */
struct http_mount {
    const char *prefix; /* ends in '/'; also owns the path without it */
    http_handler *handle;
    void *ctx;
    size_t max_body; /* larger bodies are answered 413 */
    /* Told about a body over max_body before the 413 goes out; may be NULL. */
    http_handler *body_too_large;
};

/* The mount table: endpoints at their prefixes, then everything else. */
struct http_mounts {
    struct http_mount at[HTTP_MOUNTS_MAX];
    unsigned count;
    struct http_mount fallback; /* no handler: 404 */
};

/* Mounts handle at prefix, after the mounts already there.  0, or -1 when
 * the table is full or prefix does not end in '/'. */
int http_mount(struct http_mounts *m, const char *prefix, http_handler *handle, void *ctx,
               size_t max_body, http_handler *body_too_large);

/* Sends every URL no mount owns to handle (bodies up to HTTP_BODY_MAX). */
void http_mount_fallback(struct http_mounts *m, http_handler *handle, void *ctx);

struct http_options {
    const struct http_mounts *mounts; /* shared; outlives the server */
    bool trust_proxy;                 /* the client is X-Forwarded-For's last address */
    unsigned ipv6_prefix;             /* an IPv6 client is counted by this network */
    unsigned max_connections;         /* libmicrohttpd's own limit */
    int64_t header_timeout_ms;        /* a request head must be whole within this */
    int64_t request_timeout_ms;       /* and the whole request (its body too) within this */
};

struct http_req {
    struct worker *worker;
    struct MHD_Connection *conn;
    const char *url;
    const char *method;
    const struct http_mount *mount; /* where the URL belongs; its ctx is the handler's */
    char *body;                     /* NUL-terminated, body_len bytes */
    size_t body_len;
    bool body_too_large; /* over the mount's max_body: answered 413 */
    size_t discarded;    /* bytes of an oversized body dropped */
    char client_addr[HTTP_ADDR_MAX]; /* for logs */
    /* What every per-address limit counts it under (addrkey.h): the
     * address, or for IPv6 its IPV6_PREFIX network. */
    char client_key[ADDRKEY_MAX];

    /* The signed-in user, for the layers above: http.c leaves these zero,
     * the application's session check sets them (0: no valid session). */
    uint64_t user_id;
    char username[HTTP_USERNAME_MAX + 1];
    char session_key[HTTP_SESSION_KEY_MAX];
    /* The layers above's next step after an asynchronous one. */
    void (*next_step)(struct http_req *);

    /* A handler's state across asynchronous steps, freed with the request. */
    void *route_state;
    void (*route_state_free)(void *);

    /* Private to http.c. */
    struct MHD_Response *response;
    unsigned status;
    bool dispatched, suspended;
    bool answered; /* a response was queued directly */
};

/* Starts worker w's server (its daemon's epoll fd joins w's).  NULL on
 * failure (logged).  Worker thread, or before the worker starts. */
struct http_server *http_server_new(struct worker *w, const struct http_options *opt);
/* Stops the daemon, closing every connection.  NULL-safe. */
void http_server_free(struct http_server *s);
/* Adds an accepted socket; ownership passes to the daemon, which closes
 * it on failure too.  0 or -1. */
int http_server_add(struct http_server *s, int fd, const struct sockaddr *addr, socklen_t len);
/* How long the loop may sleep before http_server_run is due, at most cap
 * (cap < 0: no limit). */
int http_server_timeout_ms(struct http_server *s, int cap);
/* Lets the daemon do its pending work. */
void http_server_run(struct http_server *s);

/* An upgraded connection's socket, taken out of libmicrohttpd: the
 * descriptor and the peer, whose slot in the per-address cap goes back
 * when it is closed. */
struct http_socket {
    int fd; /* -1: none */
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } peer;
};

/* From an upgrade handler (libmicrohttpd's arguments): takes the socket
 * into *out (a duplicate descriptor) and has libmicrohttpd free the
 * connection, its memory pool and the request with its next run — an
 * upgraded connection keeps nothing of HTTP.  extra_in lives in that pool:
 * use it before the handler returns.  0, or -1 (out->fd = -1) when the
 * socket could not be taken (out of descriptors or memory): libmicrohttpd
 * then closes the connection itself.  Worker thread. */
int http_upgrade_take(struct MHD_Connection *conn, struct MHD_UpgradeResponseHandle *urh,
                      int sock, struct http_socket *out);
/* Closes a taken socket and gives its slot back.  No-op when fd is -1. */
void http_socket_close(struct worker *w, struct http_socket *s);

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
/* Whether the request came straight from this host: a loopback peer, and
 * no proxy's X-Forwarded-For (a local proxy relays anyone). */
bool http_local_direct(struct http_req *req);
/* Calls fn for every query argument named key, in order, until it returns
 * false.  Returns how many values were seen. */
unsigned http_query_each(struct http_req *req, const char *key,
                         bool (*fn)(void *ctx, const char *value), void *ctx);

/* Whether a browser's Origin header is allowed: one of origins[0..n) (as
 * browsers send them: lowercase, no default port), or with n == 0 the
 * request's own Host.  True without an Origin header. */
bool http_origin_allowed(struct http_req *req, const char *const *origins, size_t n);

/* Parses the body as a JSON object.  NULL after answering 400 itself. */
cJSON *http_json_object(struct http_req *req);

#endif
