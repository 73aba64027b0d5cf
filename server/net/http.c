/* http: a worker's libmicrohttpd daemon and the request life (see http.h). */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addrkey.h"
#include "log.h"
#include "metrics.h"
#include "worker.h"

/* An idle keep-alive connection is closed after this many seconds. */
#define HTTP_IDLE_TIMEOUT_S 60
/* Per-connection memory for headers and buffers inside libmicrohttpd: 16
 * KiB holds any sane request head (cookies included).  An upgraded
 * connection gives it back (http_upgrade_take). */
#define HTTP_CONN_MEMORY (16 * 1024)

/* A place in one of a server's deadline lists.  Every deadline of a list
 * is "then + the same timeout", so appending keeps a list oldest first. */
struct due {
    struct due *prev, *next; /* NULL while in no list */
    int64_t deadline_ms;
};

/* A connection of the daemon.  Until a request head is complete it waits
 * in its server's list of heads, and until the whole request (its body
 * too) is in, in the list of requests. */
struct http_conn {
    struct due head, whole;
    struct MHD_Connection *conn;
    bool taken; /* its socket lives on outside (http_upgrade_take) */
};

struct http_server {
    struct worker *worker;
    struct http_options opt;
    struct MHD_Daemon *daemon;
    struct watcher watch; /* the daemon's own epoll fd */
    struct due heads_due; /* sentinels of the deadline lists */
    struct due requests_due;
};

static void on_daemon_ready(struct watcher *wt, uint32_t events)
{
    /* Nothing to do here: the worker runs the daemon after every wake-up. */
    (void)wt;
    (void)events;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (!log_enabled(LOG_LEVEL_DEBUG))
        return;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n')
        line[n - 1] = '\0';
    log_debug("http: %s", line);
}

/* ---- the mount table ------------------------------------------------ */

int http_mount(struct http_mounts *m, const char *prefix, http_handler *handle, void *ctx,
               size_t max_body, http_handler *body_too_large)
{
    size_t len = strlen(prefix);
    if (m->count == HTTP_MOUNTS_MAX || len == 0 || prefix[len - 1] != '/')
        return -1;
    m->at[m->count++] = (struct http_mount){.prefix = prefix,
                                            .handle = handle,
                                            .ctx = ctx,
                                            .max_body = max_body,
                                            .body_too_large = body_too_large};
    return 0;
}

void http_mount_fallback(struct http_mounts *m, http_handler *handle, void *ctx)
{
    m->fallback = (struct http_mount){.handle = handle, .ctx = ctx, .max_body = HTTP_BODY_MAX};
}

/* "/socket.io/" owns "/socket.io/…" and "/socket.io" itself. */
static bool mount_owns(const struct http_mount *m, const char *url)
{
    size_t dir_len = strlen(m->prefix) - 1;
    return strncmp(url, m->prefix, dir_len) == 0 && (url[dir_len] == '/' || url[dir_len] == '\0');
}

static const struct http_mount *mount_of(const struct http_mounts *m, const char *url)
{
    for (unsigned i = 0; i < m->count; i++)
        if (mount_owns(&m->at[i], url))
            return &m->at[i];
    return &m->fallback;
}

static void not_found(void *ctx, struct http_req *req)
{
    (void)ctx;
    http_respond_error(req, MHD_HTTP_NOT_FOUND, "Not found");
}

/* ---- the request's deadlines ------------------------------------------ */

/* libmicrohttpd's connection timeout is idle time, so a client trickling a
 * byte now and then would hold a connection for ever: a head must be whole
 * within the header timeout, and the whole request (head and body) within
 * the request timeout, of the connection's start or of the answer before it
 * on a kept-alive connection. */
static void due_start(struct due *list, struct due *d, int64_t timeout_ms)
{
    if (d->prev)
        return;
    d->deadline_ms = worker_now_ms() + timeout_ms;
    d->prev = list->prev;
    d->next = list;
    d->prev->next = d;
    list->prev = d;
}

static void due_stop(struct due *d)
{
    if (!d->prev)
        return;
    d->prev->next = d->next;
    d->next->prev = d->prev;
    d->prev = d->next = NULL;
}

/* The connection starts (again) to wait for a request. */
static void request_wait_start(struct http_server *s, struct http_conn *hc)
{
    if (!hc)
        return;
    due_start(&s->heads_due, &hc->head, s->opt.header_timeout_ms);
    due_start(&s->requests_due, &hc->whole, s->opt.request_timeout_ms);
}

static void request_wait_stop(struct http_conn *hc)
{
    if (!hc)
        return;
    due_stop(&hc->head);
    due_stop(&hc->whole);
}

static struct http_conn *conn_state(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Closes the connections of one list whose deadline passed.  shutdown()
 * rather than close(): libmicrohttpd still owns the descriptor, reads the
 * end of the stream and closes the connection its usual way. */
static void overdue(struct due *list, size_t link_offset, int64_t now, const char *what)
{
    while (list->next != list && list->next->deadline_ms <= now) {
        struct http_conn *hc = (struct http_conn *)(void *)((char *)list->next - link_offset);
        request_wait_stop(hc);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(hc->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci)
            shutdown(ci->connect_fd, SHUT_RDWR);
        log_debug("http: %s not complete in time; closing the connection", what);
    }
}

static void requests_overdue(struct http_server *s)
{
    int64_t now = worker_now_ms();
    overdue(&s->heads_due, offsetof(struct http_conn, head), now, "request head");
    overdue(&s->requests_due, offsetof(struct http_conn, whole), now, "request");
}

/* Milliseconds until a list's first deadline, at most cap (< 0: none). */
static int due_in_ms(const struct due *list, int cap)
{
    if (list->next == list)
        return cap;
    int64_t due = list->next->deadline_ms - worker_now_ms();
    int due_ms = due < 0 ? 0 : due < INT_MAX ? (int)due : INT_MAX;
    return cap < 0 || due_ms < cap ? due_ms : cap;
}

/* ---- request life ---------------------------------------------------- */

/* The value of the last X-Forwarded-For line (libmicrohttpd keeps every
 * line of a repeated header; a lookup finds the first). */
static enum MHD_Result last_xff_line(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    if (key && strcasecmp(key, "X-Forwarded-For") == 0)
        *(const char **)cls = value ? value : "";
    return MHD_YES;
}

/* The address the trusted proxy appended: the last entry of the last
 * X-Forwarded-For line.  Every earlier entry, on that line or on lines
 * before it, is the client's to forge.  false when there is none or it is
 * no address. */
static bool forwarded_for(struct http_req *req, char *out, size_t n)
{
    const char *xff = NULL;
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, last_xff_line, &xff);
    if (!xff)
        return false;
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ' || *last == '\t')
        last++;
    size_t len = strcspn(last, " \t");
    unsigned char probe[sizeof(struct in6_addr)];
    if (len == 0 || len >= n)
        return false;
    memcpy(out, last, len);
    out[len] = '\0';
    return inet_pton(AF_INET, out, probe) == 1 || inet_pton(AF_INET6, out, probe) == 1;
}

/* The TCP peer's address as text, an IPv4-mapped IPv6 one as IPv4. */
static void peer_address(struct MHD_Connection *conn, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    snprintf(out, n, "unknown");
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6))
            inet_ntop(AF_INET, &a6->s6_addr[12], out, (socklen_t)n);
        else
            inet_ntop(AF_INET6, a6, out, (socklen_t)n);
    }
}

static void client_address(struct http_req *req, const struct http_options *opt)
{
    if (!opt->trust_proxy || !forwarded_for(req, req->client_addr, sizeof req->client_addr))
        peer_address(req->conn, req->client_addr, sizeof req->client_addr);
    /* "unknown" (no address) is counted as itself. */
    if (addrkey_of_text(req->client_addr, opt->ipv6_prefix, req->client_key,
                        sizeof req->client_key) < 0)
        snprintf(req->client_key, sizeof req->client_key, "%s", req->client_addr);
}

/* libmicrohttpd's own percent-decoding, refusing an encoded NUL: it would
 * cut the path or value short and make it mean something else.  Such a
 * URL becomes "\x01", which no route accepts. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *uri)
{
    (void)cls;
    (void)conn;
    size_t len = MHD_http_unescape(uri);
    if (strlen(uri) != len) {
        uri[0] = '\x01';
        uri[1] = '\0';
        return 1;
    }
    return len;
}

static struct http_req *req_new(struct http_server *s, struct MHD_Connection *conn, const char *url,
                                const char *method)
{
    struct http_req *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->worker = s->worker;
    req->conn = conn;
    req->url = url;
    req->method = method;
    req->mount = mount_of(s->opt.mounts, url);
    client_address(req, &s->opt);
    return req;
}

static void req_free(struct http_req *req)
{
    if (!req)
        return;
    if (req->route_state_free)
        req->route_state_free(req->route_state);
    if (req->response)
        MHD_destroy_response(req->response);
    free(req->body);
    free(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct http_req *req = *con_cls;
    (void)toe;
    /* The connection waits for its next request, unless it left HTTP. */
    if (req && req->status != MHD_HTTP_SWITCHING_PROTOCOLS && conn)
        request_wait_start(s, conn_state(conn));
    req_free(req);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct http_conn *hc = calloc(1, sizeof *hc);
        if (hc) {
            hc->conn = conn;
            request_wait_start(s, hc);
        } else {
            log_warn("http: out of memory: a connection without a head deadline");
        }
        *socket_context = hc;
        return;
    }
    if (toe != MHD_CONNECTION_NOTIFY_CLOSED)
        return;
    struct http_conn *hc = *socket_context;
    bool taken = hc && hc->taken;
    request_wait_stop(hc);
    free(hc);
    *socket_context = NULL;
    if (taken)
        return; /* its taker gives the slot back (http_socket_close) */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    worker_socket_closed(s->worker, ci ? ci->client_addr : NULL);
}

static enum MHD_Result queue_response(struct http_req *req)
{
    struct MHD_Response *r = req->response;
    req->response = NULL;
    metrics_http_status(req->status);
    enum MHD_Result rc = MHD_queue_response(req->conn, req->status, r);
    MHD_destroy_response(r);
    return rc;
}

static bool content_length_too_large(struct http_req *req, unsigned long long *announced)
{
    const char *cl = http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return false;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    *announced = errno || end == cl ? ULLONG_MAX : n;
    return *announced > req->mount->max_body;
}

static void too_large(struct http_req *req)
{
    if (req->mount->body_too_large)
        req->mount->body_too_large(req->mount->ctx, req);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *s = cls;
    struct http_req *req = *con_cls;
    (void)version;

    if (!req) {
        struct http_conn *hc = conn_state(conn);
        if (hc)
            due_stop(&hc->head); /* the head is complete */
        req = req_new(s, conn, url, method);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        if (url[0] != '/') {
            http_respond_error(req, MHD_HTTP_BAD_REQUEST, "Malformed URL");
            return queue_response(req);
        }
        unsigned long long announced = 0;
        if (content_length_too_large(req, &announced)) {
            too_large(req);
            req->body_too_large = true;
            if (announced > HTTP_DISCARD_MAX) {
                http_respond_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "Request body is too large");
                return queue_response(req);
            }
        }
        return MHD_YES;
    }

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (!req->body_too_large && req->body_len + n > req->mount->max_body) {
            too_large(req); /* a chunked body that outgrew the limit */
            req->body_too_large = true;
        }
        if (req->body_too_large) {
            /* Read and drop the rest, up to a bound, so that the client
             * is there to read the 413 instead of a reset connection. */
            req->discarded += n;
            return req->discarded > HTTP_DISCARD_MAX ? MHD_NO : MHD_YES;
        }
        char *grown = realloc(req->body, req->body_len + n + 1);
        if (!grown)
            return MHD_NO;
        req->body = grown;
        memcpy(req->body + req->body_len, upload_data, n);
        req->body_len += n;
        req->body[req->body_len] = '\0';
        return MHD_YES;
    }

    /* The whole request is in: from here on the time is the server's. */
    struct http_conn *hc = conn_state(conn);
    if (hc)
        due_stop(&hc->whole);
    if (req->body_too_large && !req->dispatched) {
        req->dispatched = true;
        http_respond_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "Request body is too large");
    }
    if (!req->dispatched) {
        req->dispatched = true;
        http_handler *handle = req->mount->handle ? req->mount->handle : not_found;
        handle(req->mount->ctx, req);
    }
    if (req->response)
        return queue_response(req);
    if (req->answered)
        return MHD_YES;
    if (!req->suspended) {
        /* Waiting for Redis or a password hash: park the connection. */
        req->suspended = true;
        MHD_suspend_connection(conn);
    }
    return MHD_YES;
}

/* ---- responses ------------------------------------------------------- */

void http_respond(struct http_req *req, unsigned status, struct MHD_Response *r)
{
    if (!r) {
        /* Out of memory: closing the connection is the only answer left. */
        log_error("http: could not build a response for %s %s", req->method, req->url);
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (!r)
            return;
    }
    if (req->response) {
        log_error("http: second answer to %s %s ignored", req->method, req->url);
        MHD_destroy_response(r);
        return;
    }
    req->response = r;
    req->status = status;
    if (req->suspended) {
        req->suspended = false;
        MHD_resume_connection(req->conn);
    }
}

static struct MHD_Response *json_response(cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : strdup("null");
    cJSON_Delete(body);
    if (!text)
        return NULL;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return r;
}

void http_respond_json(struct http_req *req, unsigned status, cJSON *body)
{
    http_respond(req, status, json_response(body));
}

void http_respond_json_with(struct http_req *req, unsigned status, cJSON *body, const char *header,
                            const char *value)
{
    struct MHD_Response *r = json_response(body);
    if (r)
        MHD_add_response_header(r, header, value);
    http_respond(req, status, r);
}

void http_respond_error(struct http_req *req, unsigned status, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    if (o)
        cJSON_AddStringToObject(o, "message", message);
    http_respond_json(req, status, o);
}

void http_respond_unavailable(struct http_req *req)
{
    struct MHD_Response *r = NULL;
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "message", "Service temporarily unavailable"))
        r = json_response(o);
    else
        cJSON_Delete(o);
    if (r)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    http_respond(req, MHD_HTTP_SERVICE_UNAVAILABLE, r);
}

/* ---- upgraded sockets ---------------------------------------------------- */

static void copy_peer(struct MHD_Connection *conn, struct http_socket *out)
{
    memset(&out->peer, 0, sizeof out->peer);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        memcpy(&out->peer.in, sa, sizeof out->peer.in);
    else if (sa && sa->sa_family == AF_INET6)
        memcpy(&out->peer.in6, sa, sizeof out->peer.in6);
}

/* libmicrohttpd 0.9.75 frees an upgraded connection once the application
 * closes the upgrade: at its next run it frees the pool, the connection
 * and the request, and close()s the descriptor without a shutdown() (that
 * only happens on its HTTP close path), so the duplicate keeps the TCP
 * connection open and untouched. */
int http_upgrade_take(struct MHD_Connection *conn, struct MHD_UpgradeResponseHandle *urh,
                      int sock, struct http_socket *out)
{
    struct http_conn *hc = conn_state(conn);
    out->fd = hc ? fcntl(sock, F_DUPFD_CLOEXEC, 0) : -1;
    if (out->fd < 0) {
        log_warn("http: cannot take an upgraded socket (%s); closing it",
                 hc ? strerror(errno) : "out of memory");
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return -1;
    }
    copy_peer(conn, out);
    hc->taken = true;
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    return 0;
}

void http_socket_close(struct worker *w, struct http_socket *s)
{
    if (s->fd < 0)
        return;
    close(s->fd);
    s->fd = -1;
    worker_socket_closed(w, s->peer.sa.sa_family == AF_UNSPEC ? NULL : &s->peer.sa);
}

/* ---- request accessors ------------------------------------------------- */

const char *http_header(struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_query(struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool http_local_direct(struct http_req *req)
{
    char peer[HTTP_ADDR_MAX];
    peer_address(req->conn, peer, sizeof peer);
    return addrkey_is_loopback(peer) && !http_header(req, "X-Forwarded-For");
}

const char *http_cookie(struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

struct query_walk {
    const char *key;
    bool (*fn)(void *, const char *);
    void *ctx;
    unsigned seen;
    bool stopped;
};

static enum MHD_Result query_walk_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct query_walk *q = cls;
    (void)kind;
    if (q->stopped || !key || strcmp(key, q->key) != 0)
        return MHD_YES;
    q->seen++;
    if (!q->fn(q->ctx, value ? value : ""))
        q->stopped = true;
    return MHD_YES;
}

unsigned http_query_each(struct http_req *req, const char *key,
                         bool (*fn)(void *ctx, const char *value), void *ctx)
{
    struct query_walk q = {.key = key, .fn = fn, .ctx = ctx};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_walk_one, &q);
    return q.seen;
}

/* The host[:port] part of an origin "scheme://host[:port]". */
static const char *origin_host(const char *origin)
{
    const char *p = strstr(origin, "://");
    return p ? p + 3 : NULL;
}

bool http_origin_allowed(struct http_req *req, const char *const *origins, size_t n)
{
    const char *origin = http_header(req, "Origin");
    if (!origin)
        return true; /* not a browser's cross-origin request */
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(origin, origins[i]) == 0)
            return true;
    if (n)
        return false;
    const char *host = http_header(req, "Host");
    const char *oh = origin_host(origin);
    return host && oh && strcasecmp(host, oh) == 0;
}

/* Whether a JSON text escapes a NUL (\u0000) inside a string: cJSON would
 * decode it into a C string that silently ends there. */
static bool json_has_nul_escape(const char *s, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0)
            return true;
        i++; /* skip the escaped character, so "\\u0000" is plain text */
    }
    return false;
}

cJSON *http_json_object(struct http_req *req)
{
    if (req->body &&
        (memchr(req->body, '\0', req->body_len) || json_has_nul_escape(req->body, req->body_len))) {
        http_respond_error(req, MHD_HTTP_BAD_REQUEST, "Strings must not contain NUL characters");
        return NULL;
    }
    cJSON *o = req->body ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        http_respond_error(req, MHD_HTTP_BAD_REQUEST, "Request body must be a JSON object");
        return NULL;
    }
    return o;
}

/* ---- the daemon -------------------------------------------------------- */

struct http_server *http_server_new(struct worker *w, const struct http_options *opt)
{
    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->worker = w;
    s->opt = *opt;
    s->heads_due.prev = s->heads_due.next = &s->heads_due;
    s->requests_due.prev = s->requests_due.next = &s->requests_due;
    unsigned flags = MHD_USE_NO_LISTEN_SOCKET | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)HTTP_IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
        MHD_OPTION_CONNECTION_LIMIT, s->opt.max_connections, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        NULL, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
    if (!s->daemon) {
        log_error("worker %u: could not start the HTTP daemon", worker_index(w));
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    s->watch.fd = info ? info->epoll_fd : -1;
    s->watch.fn = on_daemon_ready;
    if (s->watch.fd < 0 || worker_watch(w, &s->watch, EPOLLIN) < 0) {
        log_error("worker %u: could not watch the HTTP daemon", worker_index(w));
        http_server_free(s);
        return NULL;
    }
    return s;
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    if (s->daemon) {
        /* Let resumed requests finish their bookkeeping before the stop. */
        MHD_run(s->daemon);
        MHD_stop_daemon(s->daemon);
    }
    free(s);
}

int http_server_add(struct http_server *s, int fd, const struct sockaddr *addr, socklen_t len)
{
    /* On failure libmicrohttpd has closed the socket already. */
    return MHD_add_connection(s->daemon, fd, addr, len) == MHD_YES ? 0 : -1;
}

int http_server_timeout_ms(struct http_server *s, int cap)
{
    /* Wake up for the oldest deadlines too. */
    cap = due_in_ms(&s->requests_due, due_in_ms(&s->heads_due, cap));
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(s->daemon, &ms) != MHD_YES)
        return cap;
    if (cap >= 0 && ms >= (MHD_UNSIGNED_LONG_LONG)cap)
        return cap;
    return ms < INT_MAX ? (int)ms : INT_MAX;
}

void http_server_run(struct http_server *s)
{
    MHD_run(s->daemon);
    requests_overdue(s);
}
