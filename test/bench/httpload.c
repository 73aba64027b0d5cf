/* httpload: see httpload.h. */
#include "httpload.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench.h"
#include "hist.h"

#define RESP_BUF 16384        /* response headers, chunk-size lines; bodies are skipped */
#define REQ_MAX 8192          /* one request, headers and body */
#define EVENTS_MAX 256        /* epoll events per wait */
#define RECONNECTS_MAX 100000 /* give up on a server that keeps refusing */

enum conn_state { C_CONNECTING, C_WRITING, C_READING };

/* Where the response parser is; bodies are counted off, not kept. */
enum parse_state { P_HEAD, P_BODY, P_CHUNK_SIZE, P_CHUNK_END, P_TRAILER };

struct conn {
    int fd;
    enum conn_state st;
    const char *req;
    size_t req_len, req_off;
    uint64_t t_start; /* when the request's first byte was written */
    enum parse_state ps;
    bool chunked, close_after;
    int status;
    uint64_t body_left;
    size_t len;
    char buf[RESP_BUF];
};

struct run {
    const struct httpload_opts *o;
    int ep;
    struct conn *conns;
    char (*reqs)[REQ_MAX];
    size_t *req_lens;
    struct hist lat;
    uint64_t by_class[6]; /* responses by status / 100 */
    uint64_t errors, reconnects;
    uint64_t done;
    bool stopping;
};

void httpload_header(FILE *out)
{
    fprintf(out, "%-34s %5s %9s %9s %8s %8s %8s %8s %7s %6s %5s %5s %5s %5s\n", "scenario", "conns",
            "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "non-2xx", "errors",
            "srv%", "rds%", "gen%", "oth%");
}

static int build_request(const struct httpload_opts *o, const char *body, char *out, size_t n)
{
    int len = snprintf(out, n,
                       "%s %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: chatload\r\n"
                       "Accept: */*\r\n",
                       o->method, o->path, o->host, o->port);
    if (o->cookie)
        len += snprintf(out + len, n - (size_t)len, "Cookie: %s\r\n", o->cookie);
    if (body)
        len += snprintf(out + len, n - (size_t)len,
                        "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen(body));
    len += snprintf(out + len, n - (size_t)len, "\r\n%s", body ? body : "");
    return len > 0 && (size_t)len < n ? len : -1;
}

static void conn_close(struct run *r, struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
}

static int conn_open(struct run *r, struct conn *c)
{
    if (r->reconnects++ > RECONNECTS_MAX)
        return -1;
    c->fd = bench_connect(r->o->host, r->o->port);
    if (c->fd < 0)
        return -1;
    c->st = C_CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static void want(struct run *r, struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what is left of the request; switches to reading when it is out. */
static int conn_write(struct run *r, struct conn *c)
{
    while (c->req_off < c->req_len) {
        ssize_t w = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            want(r, c, EPOLLOUT);
            c->st = C_WRITING;
            return 0;
        }
        if (w <= 0)
            return -1;
        c->req_off += (size_t)w;
    }
    c->st = C_READING;
    want(r, c, EPOLLIN);
    return 0;
}

static int conn_send(struct run *r, struct conn *c)
{
    c->req_off = 0;
    c->ps = P_HEAD;
    c->len = 0;
    c->t_start = bench_now_ns();
    return conn_write(r, c);
}

static void consume(struct conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* The value of header name in head[0..len), or NULL. */
static const char *header_value(const char *head, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end = strstr(v, "\r\n");
            *vlen = end ? (size_t)(end - v) : strlen(v);
            return v;
        }
    }
    return NULL;
}

static int parse_head(struct conn *c, size_t head_len)
{
    c->buf[head_len - 2] = '\0'; /* keep the last header's CRLF for header_value */
    int major, minor;
    if (sscanf(c->buf, "HTTP/%d.%d %d", &major, &minor, &c->status) != 3)
        return -1;
    size_t vlen;
    const char *v;
    c->chunked = (v = header_value(c->buf, "Transfer-Encoding", &vlen)) && vlen >= 7 &&
                 strncasecmp(v + vlen - 7, "chunked", 7) == 0;
    c->close_after = (v = header_value(c->buf, "Connection", &vlen)) && vlen == 5 &&
                     strncasecmp(v, "close", 5) == 0;
    if (minor == 0 && major == 1 && !header_value(c->buf, "Connection", &vlen))
        c->close_after = true;
    if (c->chunked) {
        c->ps = P_CHUNK_SIZE;
    } else if ((v = header_value(c->buf, "Content-Length", &vlen))) {
        c->body_left = strtoull(v, NULL, 10);
        c->ps = P_BODY;
    } else if (c->status == 204 || c->status == 304 || c->status / 100 == 1) {
        c->body_left = 0;
        c->ps = P_BODY;
    } else {
        return -1; /* a body delimited by close: not from these servers */
    }
    consume(c, head_len);
    return 0;
}

/* Advances the parser over buf. Returns 1 when the response is complete, 0
 * when more bytes are needed, -1 on a malformed response. */
static int parse(struct conn *c)
{
    for (;;) {
        char *crlf;
        switch (c->ps) {
        case P_HEAD: {
            char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
            if (!end)
                return c->len == sizeof c->buf ? -1 : 0;
            if (parse_head(c, (size_t)(end - c->buf) + 4) < 0)
                return -1;
            break;
        }
        case P_BODY: {
            size_t n = c->len < c->body_left ? c->len : (size_t)c->body_left;
            consume(c, n);
            c->body_left -= n;
            if (c->body_left > 0)
                return 0;
            if (!c->chunked)
                return 1;
            c->ps = P_CHUNK_END;
            break;
        }
        case P_CHUNK_SIZE:
            if (!(crlf = memmem(c->buf, c->len, "\r\n", 2)))
                return c->len == sizeof c->buf ? -1 : 0;
            c->body_left = strtoull(c->buf, NULL, 16);
            consume(c, (size_t)(crlf - c->buf) + 2);
            c->ps = c->body_left ? P_BODY : P_TRAILER;
            break;
        case P_CHUNK_END:
            if (c->len < 2)
                return 0;
            if (memcmp(c->buf, "\r\n", 2) != 0)
                return -1;
            consume(c, 2);
            c->ps = P_CHUNK_SIZE;
            break;
        case P_TRAILER: /* trailer lines until an empty one */
            if (!(crlf = memmem(c->buf, c->len, "\r\n", 2)))
                return c->len == sizeof c->buf ? -1 : 0;
            bool last = crlf == c->buf;
            consume(c, (size_t)(crlf - c->buf) + 2);
            if (last)
                return 1;
            break;
        }
    }
}

/* A connection failed: count it and open a new one in its place. */
static void conn_fail(struct run *r, struct conn *c)
{
    r->errors++;
    conn_close(r, c);
    if (!r->stopping && conn_open(r, c) < 0)
        r->stopping = r->done == 0 && r->reconnects > RECONNECTS_MAX;
}

static void on_response(struct run *r, struct conn *c, uint64_t now)
{
    hist_add(&r->lat, (now - c->t_start) / 1000);
    r->by_class[c->status / 100 < 6 ? c->status / 100 : 0]++;
    r->done++;
    if (r->o->max_requests && r->done >= r->o->max_requests)
        r->stopping = true;
    if (r->stopping)
        return;
    if (c->close_after) {
        conn_close(r, c);
        if (conn_open(r, c) < 0)
            r->errors++;
        return;
    }
    if (c->len != 0 || conn_send(r, c) < 0) /* nothing may follow a response we did not ask */
        conn_fail(r, c);
}

static void on_event(struct run *r, struct conn *c, uint32_t events)
{
    if (c->st == C_CONNECTING) {
        if (bench_connect_result(c->fd) != 0 || conn_send(r, c) < 0)
            conn_fail(r, c);
        return;
    }
    if (c->st == C_WRITING) {
        if (conn_write(r, c) < 0)
            conn_fail(r, c);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_fail(r, c);
        return;
    }
    uint64_t now = bench_now_ns();
    c->len += (size_t)n;
    int rc = parse(c);
    if (rc < 0)
        conn_fail(r, c);
    else if (rc > 0)
        on_response(r, c, now);
}

static void print_row(const struct run *r, double elapsed, const struct bench_cpu *cpu, FILE *out)
{
    char p50[16], p90[16], p99[16], mx[16];
    uint64_t non2xx = r->done - r->by_class[2];
    fprintf(out,
            "%-34s %5u %9" PRIu64 " %9.0f %8s %8s %8s %8s %7" PRIu64 " %6" PRIu64
            " %5.0f %5.0f %5.0f %5.0f\n",
            r->o->label, r->o->conns, r->done, (double)r->done / elapsed,
            bench_fmt_ms(p50, sizeof p50, hist_quantile(&r->lat, 0.50)),
            bench_fmt_ms(p90, sizeof p90, hist_quantile(&r->lat, 0.90)),
            bench_fmt_ms(p99, sizeof p99, hist_quantile(&r->lat, 0.99)),
            bench_fmt_ms(mx, sizeof mx, r->lat.max_us), non2xx, r->errors, cpu->server, cpu->redis,
            cpu->gen, cpu->other);
    fflush(out);
}

int httpload_run(const struct httpload_opts *o, FILE *out)
{
    struct run r = {.o = o, .ep = -1};
    int rc = -1;
    if (o->conns == 0 || o->conns > HTTPLOAD_CONNS_MAX || o->seconds <= 0) {
        fprintf(stderr, "httpload: conns must be 1..%d and seconds > 0\n", HTTPLOAD_CONNS_MAX);
        return -1;
    }
    size_t nreq = o->n_bodies ? o->n_bodies : 1;
    r.conns = calloc(o->conns, sizeof *r.conns);
    for (unsigned i = 0; r.conns && i < o->conns; i++)
        r.conns[i].fd = -1;
    r.reqs = calloc(nreq, sizeof *r.reqs);
    r.req_lens = calloc(nreq, sizeof *r.req_lens);
    r.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!r.conns || !r.reqs || !r.req_lens || r.ep < 0) {
        fprintf(stderr, "httpload: out of memory or epoll: %s\n", strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < nreq; i++) {
        int len = build_request(o, o->n_bodies ? o->bodies[i] : NULL, r.reqs[i], REQ_MAX);
        if (len < 0) {
            fprintf(stderr, "httpload: request over %d bytes\n", REQ_MAX);
            goto out;
        }
        r.req_lens[i] = (size_t)len;
    }

    struct bench_meter meter;
    bench_meter_start(&meter, o->server_pid, o->redis_pid);
    uint64_t cpu0 = bench_self_cpu_ns();
    uint64_t start = bench_now_ns();
    uint64_t deadline = start + (uint64_t)(o->seconds * (double)BENCH_NS_PER_SEC);
    for (unsigned i = 0; i < o->conns; i++) {
        struct conn *c = &r.conns[i];
        c->req = r.reqs[i % nreq];
        c->req_len = r.req_lens[i % nreq];
        if (conn_open(&r, c) < 0) {
            fprintf(stderr, "httpload: connect %s:%u: %s\n", o->host, o->port, strerror(errno));
            goto out;
        }
    }
    struct epoll_event evs[EVENTS_MAX];
    uint64_t now = start;
    while (!r.stopping && (now = bench_now_ns()) < deadline) {
        int timeout_ms = (int)((deadline - now) / 1000000) + 1;
        int n = epoll_wait(r.ep, evs, EVENTS_MAX, timeout_ms);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n && !r.stopping; i++)
            on_event(&r, evs[i].data.ptr, evs[i].events);
    }
    now = bench_now_ns();
    bench_meter_stop(&meter);
    struct bench_cpu cpu = bench_meter_cpu(&meter, bench_self_cpu_ns() - cpu0);
    print_row(&r, (double)((now < deadline ? now : deadline) - start) / 1e9, &cpu, out);
    rc = r.by_class[2] > 0 ? 0 : -1;
out:
    if (r.conns)
        for (unsigned i = 0; i < o->conns; i++)
            if (r.conns[i].fd >= 0)
                close(r.conns[i].fd);
    if (r.ep >= 0)
        close(r.ep);
    free(r.conns);
    free(r.reqs);
    free(r.req_lens);
    return rc;
}
