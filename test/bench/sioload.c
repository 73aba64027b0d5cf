/* sioload: see sioload.h. */
#include "sioload.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "hist.h"
#include "ws.h"

#define CLIENT_BUF 4096       /* unread bytes of one client: a handshake answer or frames */
#define FRAME_MAX 8192        /* one outgoing frame, header and mask included */
#define WS_KEY_LEN 24         /* base64 of 16 random bytes */
#define ACK_RING 4096         /* send times of a sender's latest messages, by ack id */
#define EVENTS_MAX 512        /* epoll events per wait */
#define SENDS_PER_TICK_MAX 16 /* a late sender catches up at most this much per loop turn */
#define GO_DELAY_NS (100 * 1000000ULL)       /* lets every process see "go" before the window */
#define EXIT_GRACE_NS (5 * BENCH_NS_PER_SEC) /* beyond the timeout before children are killed */
#define CONNECT_RESERVE_NS (10 * BENCH_NS_PER_SEC) /* of the timeout, for the parent's pace */
#define MARKER "\"message\":\"b:" /* where a bench message's text starts in an event */

enum client_state {
    CL_IDLE,       /* not started */
    CL_CONNECTING, /* TCP connect in progress */
    CL_UPGRADING,  /* upgrade request sent, waiting for 101 */
    CL_OPENING,    /* waiting for Engine.IO's open packet */
    CL_JOINING,    /* "40" sent, waiting for the namespace's CONNECT */
    CL_READY,
    CL_DEAD,
};

struct client {
    int fd;
    enum client_state st;
    uint32_t gidx;       /* index among all clients of the run */
    uint8_t port_ix;     /* which of the run's ports (servers) */
    uint8_t rounds_seen; /* fleet: bit r set once round r's message arrived */
    uint64_t user_id;
    uint64_t t_start; /* connect() time, for the handshake latency */
    size_t len;       /* bytes in buf */
    uint8_t *buf;     /* CLIENT_BUF bytes */
    uint8_t *wbuf;    /* unwritten tail of a frame, when the socket was full */
    size_t wlen, woff;
    char key[WS_KEY_LEN + 1]; /* Sec-WebSocket-Key */
    /* Senders only. */
    uint64_t *sent_at; /* ACK_RING send times by seq % ACK_RING */
    uint32_t seq;
    uint64_t next_send;
};

/* What a load process tells its parent when its clients are connected. */
struct ready_msg {
    uint64_t connected, failed;
    uint64_t connect_ns; /* length of this process's connect phase */
};

/* What a load process tells its parent at the end. */
struct result_msg {
    uint64_t connected, failed, dropped;
    uint64_t sent, acked, ack_errors, delivered, echoed, other_events, unexpected;
    uint64_t cpu_window_ns; /* CPU this process used during the send window */
    uint64_t pings;         /* Engine.IO pings answered */
    struct hist handshake, delivery, ack, echo;
    /* The fleet report: per port (server), and per General message. */
    uint64_t connected_on[SIOLOAD_PORTS_MAX], alive_on[SIOLOAD_PORTS_MAX];
    uint64_t present[SIOLOAD_FLEET_ROUNDS]; /* sessions up when the message was sent */
    uint64_t got[SIOLOAD_FLEET_ROUNDS];     /* sessions it reached */
    uint64_t sent_round[SIOLOAD_FLEET_ROUNDS];
    uint64_t dropped_after;           /* of `dropped`: once every process was connected */
    uint64_t cpu_msg_ns, cpu_idle_ns; /* drain seconds from message 1, and the next */
    struct hist round[SIOLOAD_FLEET_ROUNDS];
};

struct proc {
    const struct sioload_opts *o;
    unsigned index;
    int ep;
    int down; /* parent -> child: the go time */
    struct client *clients;
    unsigned n;
    struct client **senders;
    unsigned n_senders;
    unsigned next_start, inflight;
    struct result_msg res;
    bool logged_error;
};

static void proc_error(struct proc *p, struct client *c, const char *what)
{
    /* One line per process is enough to say why; the counts say how often. */
    if (p->logged_error)
        return;
    p->logged_error = true;
    fprintf(stderr, "sioload[%u]: client %" PRIu32 " (user %" PRIu64 "): %s\n", p->index, c->gidx,
            c->user_id, what);
}

/* ---- writing ----------------------------------------------------------------- */

static void client_kill(struct proc *p, struct client *c, const char *why);

static void want_out(struct proc *p, struct client *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(p->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes data, keeping what the socket does not take for EPOLLOUT. */
static int client_write(struct proc *p, struct client *c, const void *data, size_t len)
{
    if (c->wlen > c->woff) { /* already waiting: keep the order */
        uint8_t *nb = realloc(c->wbuf, c->wlen - c->woff + len);
        if (!nb)
            return -1;
        memmove(nb, nb + c->woff, c->wlen - c->woff);
        memcpy(nb + c->wlen - c->woff, data, len);
        c->wbuf = nb;
        c->wlen = c->wlen - c->woff + len;
        c->woff = 0;
        return 0;
    }
    ssize_t w;
    do
        w = write(c->fd, data, len);
    while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN)
        return -1;
    size_t done = w < 0 ? 0 : (size_t)w;
    if (done == len)
        return 0;
    free(c->wbuf);
    c->wbuf = malloc(len - done);
    if (!c->wbuf)
        return -1;
    memcpy(c->wbuf, (const uint8_t *)data + done, len - done);
    c->wlen = len - done;
    c->woff = 0;
    want_out(p, c, true);
    return 0;
}

static int client_flush(struct proc *p, struct client *c)
{
    while (c->woff < c->wlen) {
        ssize_t w = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return 0;
        if (w <= 0)
            return -1;
        c->woff += (size_t)w;
    }
    free(c->wbuf);
    c->wbuf = NULL;
    c->wlen = c->woff = 0;
    want_out(p, c, false);
    return 0;
}

/* Sends one masked text frame, as RFC 6455 requires of a client. */
static int client_send_text(struct proc *p, struct client *c, const char *text, size_t len)
{
    uint8_t frame[FRAME_MAX];
    size_t h = ws_frame_header(frame, WS_OP_TEXT, len);
    if (h == 0 || h + 4 + len > sizeof frame)
        return -1;
    frame[1] |= 0x80; /* MASK */
    uint8_t *mask = frame + h;
    randombytes_buf(mask, 4);
    uint8_t *payload = mask + 4;
    for (size_t i = 0; i < len; i++)
        payload[i] = (uint8_t)text[i] ^ mask[i & 3];
    return client_write(p, c, frame, h + 4 + len);
}

/* A pong or a close answer: control frames carry at most 125 bytes. */
static int client_send_control(struct proc *p, struct client *c, enum ws_opcode op,
                               const uint8_t *data, size_t len)
{
    uint8_t frame[WS_HEADER_MAX + 4 + WS_CONTROL_MAX];
    size_t h = ws_frame_header(frame, op, len);
    if (h == 0)
        return -1;
    frame[1] |= 0x80;
    memset(frame + h, 0, 4); /* a zero mask: the payload goes as it is */
    memcpy(frame + h + 4, data, len);
    return client_write(p, c, frame, h + 4 + len);
}

/* ---- connecting --------------------------------------------------------------- */

static unsigned client_port(const struct sioload_opts *o, const struct client *c)
{
    return o->n_ports ? o->ports[c->port_ix] : o->port;
}

/* Which port client gidx goes to (see enum sioload_spread). */
static unsigned port_index(const struct sioload_opts *o, uint32_t gidx)
{
    if (o->n_ports <= 1)
        return 0;
    if (o->spread == SIOLOAD_SPREAD_BLOCK)
        return (unsigned)((uint64_t)gidx * o->n_ports / o->clients);
    return gidx % o->n_ports;
}

static int client_start(struct proc *p, struct client *c)
{
    c->t_start = bench_now_ns();
    c->fd = bench_connect(p->o->host, client_port(p->o, c));
    if (c->fd < 0)
        return -1;
    c->st = CL_CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(p->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    p->inflight++;
    return 0;
}

/* Starts handshakes until `inflight` are under way or every client has begun. */
static void start_more(struct proc *p)
{
    while (p->inflight < p->o->inflight && p->next_start < p->n) {
        struct client *c = &p->clients[p->next_start++];
        if (client_start(p, c) < 0) {
            c->st = CL_DEAD;
            p->res.failed++;
            proc_error(p, c, strerror(errno));
        }
    }
}

static int send_upgrade(struct proc *p, struct client *c)
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(c->key, sizeof c->key, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    char cookie[CREDS_COOKIE_MAX];
    if (creds_cookie(p->o->kind, c->user_id, cookie, sizeof cookie) < 0)
        return -1;
    char req[1024];
    int len = snprintf(req, sizeof req,
                       "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                       "Host: %s:%u\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                       "Cookie: %s\r\n\r\n",
                       p->o->host, client_port(p->o, c), c->key, cookie);
    if (len < 0 || (size_t)len >= sizeof req)
        return -1;
    c->st = CL_UPGRADING;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(p->ep, EPOLL_CTL_MOD, c->fd, &ev);
    return client_write(p, c, req, (size_t)len);
}

/* Checks the 101 answer in buf; returns its length, 0 when incomplete, -1 when
 * the server refused the upgrade. */
static long parse_upgrade(struct client *c)
{
    uint8_t *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end)
        return c->len == CLIENT_BUF ? -1 : 0;
    size_t head = (size_t)(end - c->buf) + 4;
    if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 101", 12) != 0)
        return -1;
    char accept[WS_ACCEPT_KEY_LEN + 1];
    if (ws_accept_key(c->key, strlen(c->key), accept) < 0 ||
        !memmem(c->buf, head, accept, WS_ACCEPT_KEY_LEN))
        return -1;
    return (long)head;
}

/* ---- receiving ----------------------------------------------------------------- */

/* Reads the decimal number at s[0..len), stopping at the first non-digit. */
static uint64_t parse_u64(const char *s, size_t len, size_t *used)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    if (used)
        *used = i;
    return v;
}

static void on_delivery(struct proc *p, struct client *c, const char *d, size_t len, uint64_t now)
{
    const char *m = memmem(d, len, MARKER, sizeof MARKER - 1);
    if (!m) {
        p->res.other_events++; /* someone else's message */
        return;
    }
    const char *s = m + sizeof MARKER - 1;
    size_t rest = len - (size_t)(s - d), used;
    uint64_t t = parse_u64(s, rest, &used);
    if (used == 0 || used >= rest || s[used] != ':' || t > now) {
        p->res.unexpected++;
        return;
    }
    size_t gused;
    uint64_t g = parse_u64(s + used + 1, rest - used - 1, &gused);
    p->res.delivered++;
    hist_add(&p->res.delivery, (now - t) / 1000);
    if (g == c->gidx) {
        p->res.echoed++;
        hist_add(&p->res.echo, (now - t) / 1000);
    }
    if (p->o->report == SIOLOAD_FLEET) {
        size_t at = used + 1 + gused; /* the sender's sequence number follows */
        uint64_t r = at + 1 < rest && s[at] == ':' ? parse_u64(s + at + 1, rest - at - 1, NULL)
                                                   : SIOLOAD_FLEET_ROUNDS;
        if (r >= SIOLOAD_FLEET_ROUNDS || (c->rounds_seen & (1u << r))) {
            p->res.unexpected++; /* not a round's message, or one seen twice */
            return;
        }
        c->rounds_seen |= (uint8_t)(1u << r);
        p->res.got[r]++;
        hist_add(&p->res.round[r], (now - t) / 1000);
    }
}

static void on_ack(struct proc *p, struct client *c, const char *d, size_t len, uint64_t now)
{
    size_t used;
    uint64_t id = parse_u64(d, len, &used);
    if (used == 0 || !c->sent_at || id >= c->seq || c->seq - id > ACK_RING) {
        p->res.unexpected++;
        return;
    }
    if (!memmem(d, len, "\"ok\":true", 9))
        p->res.ack_errors++;
    p->res.acked++;
    hist_add(&p->res.ack, (now - c->sent_at[id % ACK_RING]) / 1000);
}

static void join_rooms(struct proc *p, struct client *c)
{
    /* The original's client joins its rooms itself; chatd joins them on connect. */
    static const char join[] = "42[\"room.join\",\"0\"]";
    if (p->o->kind == CREDS_NODE && client_send_text(p, c, join, sizeof join - 1) < 0)
        client_kill(p, c, "cannot send room.join");
}

/* One Engine.IO packet (a text frame's payload). */
static void on_packet(struct proc *p, struct client *c, const char *d, size_t len, uint64_t now)
{
    if (len == 0)
        return;
    switch (d[0]) {
    case '0': /* open */
        if (c->st == CL_OPENING) {
            c->st = CL_JOINING;
            if (client_send_text(p, c, "40", 2) < 0)
                client_kill(p, c, "cannot send CONNECT");
        }
        return;
    case '1':
        client_kill(p, c, "the server closed the Engine.IO session");
        return;
    case '2':
        if (client_send_text(p, c, "3", 1) < 0) /* pong */
            client_kill(p, c, "cannot send pong");
        else
            p->res.pings++;
        return;
    case '4':
        break;
    default:
        p->res.other_events++;
        return;
    }
    if (len < 2) {
        p->res.unexpected++;
        return;
    }
    switch (d[1]) {
    case '0': /* CONNECT answered */
        if (c->st == CL_JOINING) {
            c->st = CL_READY;
            p->inflight--;
            p->res.connected++;
            p->res.connected_on[c->port_ix]++;
            hist_add(&p->res.handshake, (now - c->t_start) / 1000);
        }
        return;
    case '4':
        client_kill(p, c, "CONNECT_ERROR (is the session cookie valid?)");
        return;
    case '2':
        if (len > 12 && memcmp(d + 2, "[\"message\"", 10) == 0)
            on_delivery(p, c, d, len, now);
        else
            p->res.other_events++;
        return;
    case '3':
        on_ack(p, c, d + 2, len - 2, now);
        return;
    default:
        p->res.other_events++;
        return;
    }
}

/* Consumes complete frames from buf; returns 0, or -1 on a protocol error. */
static int parse_frames(struct proc *p, struct client *c, uint64_t now)
{
    size_t off = 0;
    while (c->st != CL_DEAD && c->len - off >= 2) {
        const uint8_t *f = c->buf + off;
        size_t avail = c->len - off;
        uint8_t op = f[0] & 0x0f;
        bool fin = f[0] & 0x80;
        uint64_t plen = f[1] & 0x7f;
        size_t h = 2;
        if (f[1] & 0x80)
            return -1; /* a server never masks */
        if (plen == 126) {
            if (avail < 4)
                break;
            plen = (uint64_t)f[2] << 8 | f[3];
            h = 4;
        } else if (plen == 127) {
            if (avail < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | f[2 + i];
            h = 10;
        }
        if (h + plen > CLIENT_BUF || !fin)
            return -1; /* neither server fragments or sends this much to us */
        if (avail < h + plen)
            break;
        const uint8_t *payload = f + h;
        switch (op) {
        case WS_OP_TEXT:
            on_packet(p, c, (const char *)payload, (size_t)plen, now);
            break;
        case WS_OP_PING:
            if (client_send_control(p, c, WS_OP_PONG, payload, (size_t)plen) < 0)
                return -1;
            break;
        case WS_OP_CLOSE:
            client_kill(p, c, "the server sent a WebSocket close");
            return 0;
        default:
            p->res.other_events++;
        }
        off += h + (size_t)plen;
    }
    if (c->st != CL_DEAD && off > 0) {
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
    }
    return 0;
}

static void client_kill(struct proc *p, struct client *c, const char *why)
{
    if (c->st == CL_DEAD)
        return;
    if (c->st == CL_READY) {
        p->res.dropped++;
    } else {
        p->res.failed++;
        p->inflight--;
    }
    proc_error(p, c, why);
    c->st = CL_DEAD;
    if (c->fd >= 0) {
        epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    free(c->wbuf);
    c->wbuf = NULL;
}

static void on_client_event(struct proc *p, struct client *c, uint32_t events)
{
    if (c->st == CL_DEAD)
        return;
    if (c->st == CL_CONNECTING) {
        int err = bench_connect_result(c->fd);
        if (err != 0)
            client_kill(p, c, strerror(err));
        else if (send_upgrade(p, c) < 0)
            client_kill(p, c, "cannot send the upgrade request");
        return;
    }
    if ((events & EPOLLOUT) && client_flush(p, c) < 0) {
        client_kill(p, c, "write failed");
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    ssize_t n = read(c->fd, c->buf + c->len, CLIENT_BUF - c->len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        client_kill(p, c, n == 0 ? "the server closed the connection" : strerror(errno));
        return;
    }
    uint64_t now = bench_now_ns();
    c->len += (size_t)n;
    if (c->st == CL_UPGRADING) {
        long head = parse_upgrade(c);
        if (head < 0) {
            client_kill(p, c, "upgrade refused");
            return;
        }
        if (head == 0)
            return;
        memmove(c->buf, c->buf + head, c->len - (size_t)head);
        c->len -= (size_t)head;
        c->st = CL_OPENING;
    }
    if (parse_frames(p, c, now) < 0)
        client_kill(p, c, "bad frame");
}

/* ---- sending ------------------------------------------------------------------- */

static void send_message(struct proc *p, struct client *c, uint64_t now)
{
    char text[SIOLOAD_MSG_BYTES_MAX + 64];
    uint32_t seq = c->seq++;
    int tl =
        snprintf(text, sizeof text, "b:%" PRIu64 ":%" PRIu32 ":%" PRIu32 ":", now, c->gidx, seq);
    while ((unsigned)tl < p->o->msg_bytes && (size_t)tl < sizeof text - 1)
        text[tl++] = 'x';
    text[tl] = '\0';

    char pkt[SIOLOAD_MSG_BYTES_MAX + 256];
    int len;
    if (p->o->kind == CREDS_NODE) /* the original trusts the client's from and date */
        len = snprintf(pkt, sizeof pkt,
                       "42[\"message\",{\"roomId\":\"0\",\"message\":\"%s\",\"from\":\"%" PRIu64
                       "\",\"date\":%lld}]",
                       text, c->user_id, (long long)time(NULL));
    else if (p->o->ack)
        len =
            snprintf(pkt, sizeof pkt,
                     "42%" PRIu32 "[\"message\",{\"roomId\":\"0\",\"message\":\"%s\"}]", seq, text);
    else
        len = snprintf(pkt, sizeof pkt, "42[\"message\",{\"roomId\":\"0\",\"message\":\"%s\"}]",
                       text);
    c->sent_at[seq % ACK_RING] = now;
    if (len < 0 || (size_t)len >= sizeof pkt || client_send_text(p, c, pkt, (size_t)len) < 0) {
        client_kill(p, c, "cannot send a message");
        return;
    }
    p->res.sent++;
}

/* Sends what is due; returns ns until the next send, or UINT64_MAX. */
static uint64_t send_due(struct proc *p, uint64_t now, uint64_t end, uint64_t interval)
{
    uint64_t next = UINT64_MAX;
    for (unsigned i = 0; i < p->n_senders; i++) {
        struct client *c = p->senders[i];
        for (int k = 0; k < SENDS_PER_TICK_MAX && c->st == CL_READY && c->next_send <= now &&
                        c->next_send < end;
             k++) {
            send_message(p, c, bench_now_ns());
            c->next_send += interval;
        }
        if (c->st == CL_READY && c->next_send < end && c->next_send - now < next)
            next = c->next_send > now ? c->next_send - now : 0;
    }
    return next;
}

/* ---- a load process ---------------------------------------------------------------- */

/* Runs the event loop until `until` (ns) or until cond(p) holds (cond may be
 * NULL), sending the messages due in [window_start, window_end) when
 * window_end is not 0. Returns 0 then; 1 when the parent sent the go time,
 * which is stored in *go (go may be NULL only where none is expected); -1
 * when the parent is gone or epoll failed. */
static int loop(struct proc *p, uint64_t until, bool (*cond)(struct proc *), uint64_t *go,
                uint64_t window_start, uint64_t window_end, uint64_t interval)
{
    struct epoll_event evs[EVENTS_MAX];
    for (;;) {
        uint64_t now = bench_now_ns();
        if (now >= until || (cond && cond(p)))
            return 0;
        uint64_t wait = until - now;
        if (window_end && now >= window_start) {
            uint64_t next = send_due(p, now, window_end, interval);
            if (next < wait)
                wait = next;
        } else if (window_end && window_start - now < wait) {
            wait = window_start - now;
        }
        int n = epoll_wait(p->ep, evs, EVENTS_MAX, (int)((wait + 999999) / 1000000));
        if (n < 0 && errno != EINTR)
            return -1;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr) {
                on_client_event(p, evs[i].data.ptr, evs[i].events);
                continue;
            }
            /* The parent: the go time, or end of file when it is gone. */
            if (!go || bench_read_all(p->down, go, sizeof *go) < 0)
                return -1;
            return 1;
        }
        if (p->next_start < p->n)
            start_more(p);
    }
}

static bool all_started(struct proc *p)
{
    return p->next_start == p->n && p->inflight == 0;
}

static int proc_init(struct proc *p, const struct sioload_opts *o, unsigned index, int down)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    p->index = index;
    p->down = down;
    p->ep = epoll_create1(EPOLL_CLOEXEC);
    /* Clients are dealt out like cards, so every process gets its share of
     * the senders. */
    for (unsigned g = index; g < o->clients; g += o->procs)
        p->n++;
    p->clients = calloc(p->n, sizeof *p->clients);
    p->senders = calloc(p->n, sizeof *p->senders);
    if (p->ep < 0 || !p->clients || !p->senders)
        return -1;
    for (unsigned i = 0; i < p->n; i++)
        p->clients[i].fd = -1;
    for (unsigned i = 0; i < p->n; i++) {
        struct client *c = &p->clients[i];
        c->gidx = index + i * o->procs;
        c->user_id = o->first_id + c->gidx % o->users;
        c->port_ix = (uint8_t)port_index(o, c->gidx);
        c->buf = malloc(CLIENT_BUF);
        if (!c->buf)
            return -1;
        if (c->gidx < o->senders) {
            c->sent_at = calloc(ACK_RING, sizeof *c->sent_at);
            if (!c->sent_at)
                return -1;
            p->senders[p->n_senders++] = c;
        }
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    return epoll_ctl(p->ep, EPOLL_CTL_ADD, down, &ev);
}

static void proc_free(struct proc *p)
{
    for (unsigned i = 0; p->clients && i < p->n; i++) {
        struct client *c = &p->clients[i];
        if (c->fd >= 0)
            close(c->fd);
        free(c->buf);
        free(c->wbuf);
        free(c->sent_at);
    }
    free(p->clients);
    free(p->senders);
    if (p->ep >= 0)
        close(p->ep);
}

static uint64_t ns_of(double seconds)
{
    return (uint64_t)(seconds * (double)BENCH_NS_PER_SEC);
}

double sioload_phases_seconds(const struct sioload_opts *o)
{
    if (o->report == SIOLOAD_FLEET)
        return o->hold + SIOLOAD_FLEET_ROUNDS * o->drain;
    return o->hold + o->seconds + o->drain;
}

static uint64_t ready_on_port(const struct proc *p, unsigned port_ix)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < p->n; i++)
        n += p->clients[i].st == CL_READY && p->clients[i].port_ix == port_ix;
    return n;
}

static uint64_t ready_count(const struct proc *p)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < p->n; i++)
        n += p->clients[i].st == CL_READY;
    return n;
}

/* Marks this process's CPU time at go + drain and go + 2 x drain (when the
 * hold is that long): message 1's window and an idle one to compare. */
static int fleet_cpu_windows(struct proc *p, uint64_t go, uint64_t drain, uint64_t hard_end,
                             uint64_t cpu[3])
{
    for (unsigned i = 1; i < 3; i++) {
        uint64_t t = go + i * drain;
        if (i == 2 && p->o->hold < p->o->drain)
            t = go + drain;
        if (loop(p, t < hard_end ? t : hard_end, NULL, NULL, 0, 0, 0) < 0)
            return -1;
        cpu[i] = bench_self_cpu_ns();
    }
    return 0;
}

/* The fleet's rounds from go on: round r's message leaves at
 * go + r * (drain + hold) and has drain seconds to arrive; the time between
 * is the hold, when every session only answers pings. The sender is client 0,
 * so only its process sends. */
static int fleet_rounds(struct proc *p, uint64_t go, uint64_t hard_end)
{
    const struct sioload_opts *o = p->o;
    uint64_t drain = ns_of(o->drain), step = drain + ns_of(o->hold);
    uint64_t dropped0 = p->res.dropped, cpu[3] = {0};
    for (unsigned r = 0; r < SIOLOAD_FLEET_ROUNDS; r++) {
        uint64_t at = go + r * step;
        if (r == 1 && fleet_cpu_windows(p, go, drain, hard_end, cpu) < 0)
            return -1;
        if (loop(p, at < hard_end ? at : hard_end, NULL, NULL, 0, 0, 0) < 0)
            return -1;
        if (r == 0)
            cpu[0] = bench_self_cpu_ns();
        p->res.present[r] = ready_count(p);
        struct client *sender = p->n_senders ? p->senders[0] : NULL;
        if (sender && sender->st == CL_READY) {
            uint64_t sent0 = p->res.sent;
            send_message(p, sender, bench_now_ns());
            p->res.sent_round[r] = p->res.sent - sent0;
        }
    }
    uint64_t end = go + (SIOLOAD_FLEET_ROUNDS - 1) * step + drain;
    if (loop(p, end < hard_end ? end : hard_end, NULL, NULL, 0, 0, 0) < 0)
        return -1;
    unsigned ports = o->n_ports ? o->n_ports : 1;
    for (unsigned i = 0; i < ports; i++)
        p->res.alive_on[i] = ready_on_port(p, i);
    p->res.dropped_after = p->res.dropped - dropped0;
    p->res.cpu_msg_ns = cpu[1] - cpu[0];
    p->res.cpu_idle_ns = cpu[2] - cpu[1];
    return 0;
}

/* A load process: connect, report, wait for go, send, report. */
static int child_main(const struct sioload_opts *o, unsigned index, int up, int down)
{
    struct proc p;
    int rc = -1;
    if (proc_init(&p, o, index, down) < 0) {
        fprintf(stderr, "sioload[%u]: out of memory\n", index);
        goto out;
    }
    uint64_t start = bench_now_ns();
    uint64_t hard_end = start + (uint64_t)(o->timeout * (double)BENCH_NS_PER_SEC);

    /* Connecting may take what the later phases leave of the timeout; a
     * handshake still unfinished then has failed. */
    uint64_t later = ns_of(sioload_phases_seconds(o)) + CONNECT_RESERVE_NS;
    uint64_t connect_end = hard_end - start > later ? hard_end - later : hard_end;
    start_more(&p);
    if (loop(&p, connect_end, all_started, NULL, 0, 0, 0) < 0)
        goto out;
    for (unsigned i = 0; i < p.n; i++)
        if (p.clients[i].st != CL_READY && p.clients[i].st != CL_IDLE)
            client_kill(&p, &p.clients[i], "handshake timed out");
    p.res.failed += p.n - p.next_start; /* never started */
    struct ready_msg ready = {
        .connected = p.res.connected, .failed = p.res.failed, .connect_ns = bench_now_ns() - start};
    for (unsigned i = 0; i < p.n; i++)
        if (p.clients[i].st == CL_READY)
            join_rooms(&p, &p.clients[i]);
    if (bench_write_all(up, &ready, sizeof ready) < 0)
        goto out;

    uint64_t go = 0;
    if (loop(&p, hard_end, NULL, &go, 0, 0, 0) != 1) /* the parent is gone, or time is up */
        goto out;
    if (o->report == SIOLOAD_FLEET) {
        if (fleet_rounds(&p, go, hard_end) == 0)
            rc = bench_write_all(up, &p.res, sizeof p.res);
        goto out;
    }
    /* The original registers its room.join handler only after a Redis round
     * trip of its connection handler, so a join sent right after CONNECT may
     * be lost; a second one, now, is not (joining twice is harmless). */
    for (unsigned i = 0; i < p.n; i++)
        if (p.clients[i].st == CL_READY)
            join_rooms(&p, &p.clients[i]);
    uint64_t interval =
        o->senders ? (uint64_t)((double)BENCH_NS_PER_SEC * o->senders / o->rate) : 0;
    uint64_t window_end = go + (uint64_t)(o->seconds * (double)BENCH_NS_PER_SEC);
    for (unsigned i = 0; i < p.n_senders; i++) /* staggered, so sends do not come in bursts */
        p.senders[i]->next_send = go + interval * p.senders[i]->gidx / o->senders;
    if (loop(&p, go, NULL, NULL, 0, 0, 0) < 0)
        goto out;
    uint64_t cpu0 = bench_self_cpu_ns();
    if (loop(&p, window_end, NULL, NULL, go, window_end, interval) < 0)
        goto out;
    p.res.cpu_window_ns = bench_self_cpu_ns() - cpu0;
    uint64_t drain_end = window_end + (uint64_t)(o->drain * (double)BENCH_NS_PER_SEC);
    if (loop(&p, drain_end < hard_end ? drain_end : hard_end, NULL, NULL, 0, 0, 0) < 0)
        goto out;
    rc = bench_write_all(up, &p.res, sizeof p.res);
out:
    proc_free(&p);
    return rc;
}

/* ---- the parent ----------------------------------------------------------------- */

void sioload_header(enum sioload_report report, FILE *out)
{
    switch (report) {
    case SIOLOAD_CAPACITY:
        fprintf(out, "%-34s %7s %9s %6s %7s %7s %8s %8s %9s %9s %8s %7s\n", "scenario", "clients",
                "connected", "failed", "ramp s", "conn/s", "hs p50", "hs p99", "RSS0 MiB",
                "RSS MiB", "KiB/conn", "dropped");
        break;
    case SIOLOAD_FANOUT:
        fprintf(out, "%-34s %7s %7s %7s %7s %9s %7s %8s %8s %8s %5s %5s %5s %5s %7s\n", "scenario",
                "clients", "senders", "msg/s", "sent/s", "deliv/s", "deliv%", "p50 ms", "p99 ms",
                "max ms", "srv%", "rds%", "gen%", "oth%", "dropped");
        break;
    case SIOLOAD_RTT:
        fprintf(out, "%-34s %7s %6s %9s %9s %9s %9s %9s %9s %5s\n", "scenario", "clients", "msgs",
                "ack p50", "ack p99", "ack max", "echo p50", "echo p99", "echo max", "oth%");
        break;
    case SIOLOAD_FLEET:
        fprintf(out, "%-34s %8s %7s %6s %7s %7s %8s %8s %7s %10s\n", "scenario", "sessions",
                "servers", "failed", "ramp s", "conn/s", "hs p50", "hs p99", "dropped",
                "pings/sess");
        break;
    }
}

/* Every connection to one server port needs its own source port (one source
 * address: 127.0.0.1), so the busiest port's clients must fit the range. */
static bool fits_ephemeral_ports(const struct sioload_opts *o)
{
    unsigned ports = o->n_ports ? o->n_ports : 1;
    uint64_t per_port = (o->clients + ports - 1) / ports;
    long range = bench_ephemeral_ports();
    return range < 0 || per_port <= (uint64_t)range;
}

static int check_opts(const struct sioload_opts *o)
{
    const char *bad = NULL;
    if (o->procs == 0 || o->procs > SIOLOAD_PROCS_MAX)
        bad = "procs must be 1..64";
    else if (o->clients == 0 ||
             (o->clients + o->procs - 1) / o->procs > SIOLOAD_CLIENTS_PER_PROC_MAX)
        bad = "clients must be 1..19000 per process: add processes";
    else if (o->users == 0 || o->senders > o->clients)
        bad = "users must be > 0 and senders at most clients";
    else if (o->senders > 0 && !(o->rate > 0) && o->report != SIOLOAD_FLEET)
        bad = "rate must be > 0 with senders";
    else if (o->msg_bytes > SIOLOAD_MSG_BYTES_MAX)
        bad = "msg-bytes must be at most 4000";
    else if (o->inflight == 0 || !(o->timeout > 0) || o->seconds < 0 || o->hold < 0 || o->drain < 0)
        bad = "inflight and timeout must be > 0, durations >= 0";
    else if (o->n_ports > SIOLOAD_PORTS_MAX)
        bad = "at most 16 ports";
    else if (o->report == SIOLOAD_FLEET && o->senders != 1)
        bad = "the fleet report has one sender (--senders 1)";
    else if (!fits_ephemeral_ports(o))
        bad =
            "more clients per server port than ephemeral ports (ip_local_port_range): add servers";
    if (bad)
        fprintf(stderr, "sioload: %s\n", bad);
    else if (o->senders > o->users)
        fprintf(stderr,
                "sioload: warning: %u senders share %u users: the per-user message "
                "limit applies to their sum\n",
                o->senders, o->users);
    return bad ? -1 : 0;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = {.tv_sec = (time_t)(t / BENCH_NS_PER_SEC),
                          .tv_nsec = (long)(t % BENCH_NS_PER_SEC)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* Waits for every child, killing what is still running at deadline (our own
 * children, by pid). Returns 0 when all exited with status 0. */
static int reap(const pid_t *pids, unsigned n, uint64_t deadline)
{
    int rc = 0;
    for (unsigned i = 0; i < n; i++) {
        int status;
        pid_t r;
        while ((r = waitpid(pids[i], &status, WNOHANG)) == 0 && bench_now_ns() < deadline)
            usleep(10000);
        if (r == 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], &status, 0);
        }
        if (r <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            rc = -1;
    }
    return rc;
}

static double mib(uint64_t kib)
{
    return (double)kib / 1024.0;
}

struct samples {
    struct bench_proc base, connected, held;
    struct bench_meter meter; /* over the send window */
    uint64_t ramp_ns, gen_cpu_ns;
};

/* The fleet's servers and Redis, once connected and at the end of the hold:
 * memory from /proc, sessions from each server's own /metrics (-1: unread). */
struct fleet_samples {
    struct bench_proc base[SIOLOAD_PORTS_MAX], connected[SIOLOAD_PORTS_MAX],
        held[SIOLOAD_PORTS_MAX];
    struct bench_proc redis_base, redis_held;
    double sessions_connected[SIOLOAD_PORTS_MAX], sessions_held[SIOLOAD_PORTS_MAX];
    struct fleet_cpu {
        uint64_t servers, redis, machine; /* CPU used so far, ns */
    } cpu[3]; /* at message 1, drain seconds later, and drain more (idle) */
};

static void fleet_cpu_mark(const struct sioload_opts *o, struct fleet_cpu *m)
{
    struct bench_proc p;
    *m = (struct fleet_cpu){.machine = bench_machine_busy_ns()};
    for (unsigned i = 0; i < o->n_ports; i++)
        if (bench_proc_sample(o->server_pids[i], &p) == 0)
            m->servers += p.cpu_ns;
    if (bench_proc_sample(o->redis_pid, &p) == 0)
        m->redis = p.cpu_ns;
}

/* Where the CPU went in the drain seconds after message 1 and in as many
 * idle seconds after them (pings only): what the message cost is the
 * difference, spread over its deliveries. */
static void print_fleet_cpu(const struct result_msg *r, const struct fleet_samples *f, FILE *out)
{
    const struct fleet_cpu *c = f->cpu;
    double srv[2], rds[2], gen[2], oth[2];
    for (int w = 0; w < 2; w++) {
        srv[w] = (double)(c[w + 1].servers - c[w].servers) / 1e9;
        rds[w] = (double)(c[w + 1].redis - c[w].redis) / 1e9;
        gen[w] = (double)(w ? r->cpu_idle_ns : r->cpu_msg_ns) / 1e9;
        oth[w] = (double)(c[w + 1].machine - c[w].machine) / 1e9 - srv[w] - rds[w] - gen[w];
        if (oth[w] < 0) /* sampling jitter */
            oth[w] = 0;
    }
    fprintf(out,
            "  CPU s after message 1 / as long idle: chatd %.2f / %.2f, load generator %.2f / "
            "%.2f, redis %.2f / %.2f, other work %.2f / %.2f\n",
            srv[0], srv[1], gen[0], gen[1], rds[0], rds[1], oth[0], oth[1]);
    /* A busier idle window (a shutdown, a burst of pings) says nothing. */
    if (r->got[0] && srv[0] > srv[1] && gen[0] > gen[1])
        fprintf(out, "  per delivery of message 1: chatd %.1f us, load generator %.1f us\n",
                (srv[0] - srv[1]) * 1e6 / (double)r->got[0],
                (gen[0] - gen[1]) * 1e6 / (double)r->got[0]);
}

static void fleet_sample(const struct sioload_opts *o, struct bench_proc *mem, double *sessions)
{
    for (unsigned i = 0; i < o->n_ports; i++) {
        bench_proc_sample(o->server_pids[i], &mem[i]);
        if (sessions && bench_metric(o->host, o->ports[i], "chatd_sessions", &sessions[i]) < 0)
            sessions[i] = -1;
    }
}

static void print_round(const struct result_msg *r, unsigned round, const char *when, FILE *out)
{
    char a[16], b[16], c[16];
    const struct hist *h = &r->round[round];
    fprintf(out,
            "  message %u%s: sent %" PRIu64 ", reached %" PRIu64 " of %" PRIu64
            " sessions (%.2f %%), p50 %s ms, p99 %s ms, max %s ms\n",
            round + 1, when, r->sent_round[round], r->got[round], r->present[round],
            r->present[round] ? 100.0 * (double)r->got[round] / (double)r->present[round] : 0.0,
            bench_fmt_ms(a, sizeof a, hist_quantile(h, 0.50)),
            bench_fmt_ms(b, sizeof b, hist_quantile(h, 0.99)),
            bench_fmt_ms(c, sizeof c, h->max_us));
}

static void print_fleet(const struct sioload_opts *o, const struct result_msg *r,
                        const struct samples *s, const struct fleet_samples *f, FILE *out)
{
    char a[16], b[16], when[64];
    double ramp = (double)s->ramp_ns / 1e9;
    fprintf(out, "%-34s %8" PRIu64 " %7u %6" PRIu64 " %7.2f %7.0f %8s %8s %7" PRIu64 " %10.1f\n",
            o->label, r->connected, o->n_ports, r->failed, ramp,
            ramp > 0 ? (double)r->connected / ramp : 0.0,
            bench_fmt_ms(a, sizeof a, hist_quantile(&r->handshake, 0.50)),
            bench_fmt_ms(b, sizeof b, hist_quantile(&r->handshake, 0.99)), r->dropped,
            r->connected ? (double)r->pings / (double)r->connected : 0.0);
    for (unsigned i = 0; i < SIOLOAD_FLEET_ROUNDS; i++) {
        if (i == 0)
            snprintf(when, sizeof when, " (all connected)");
        else
            snprintf(when, sizeof when, " (%.0f s later)", o->hold + o->drain);
        print_round(r, i, when, out);
    }
    fprintf(out,
            "  sessions dropped: %" PRIu64 " while the others connected, %" PRIu64
            " once all were (the messages and the hold)\n",
            r->dropped - r->dropped_after, r->dropped_after);
    print_fleet_cpu(r, f, out);
    for (unsigned i = 0; i < o->n_ports; i++) {
        uint64_t grown =
            f->held[i].rss_kib > f->base[i].rss_kib ? f->held[i].rss_kib - f->base[i].rss_kib : 0;
        fprintf(out,
                "  server :%u (pid %d): %" PRIu64 " sessions connected, %" PRIu64
                " at the end; its /metrics: %.0f, %.0f before message 2; RSS idle/connected/held "
                "%.1f / %.1f / %.1f MiB, %.2f KiB/session\n",
                o->ports[i], (int)o->server_pids[i], r->connected_on[i], r->alive_on[i],
                f->sessions_connected[i], f->sessions_held[i], mib(f->base[i].rss_kib),
                mib(f->connected[i].rss_kib), mib(f->held[i].rss_kib),
                r->connected_on[i] ? (double)grown / (double)r->connected_on[i] : 0.0);
    }
    fprintf(out, "  redis (pid %d): RSS %.1f MiB before, %.1f MiB held\n", (int)o->redis_pid,
            mib(f->redis_base.rss_kib), mib(f->redis_held.rss_kib));
    if (r->unexpected || r->ack_errors)
        fprintf(stderr, "sioload: %s: %" PRIu64 " unexpected packets, %" PRIu64 " ack errors\n",
                o->label, r->unexpected, r->ack_errors);
    fflush(out);
}

static void print_row(const struct sioload_opts *o, const struct result_msg *r,
                      const struct samples *s, FILE *out)
{
    char a[16], b[16], c[16], d[16], e[16], f[16];
    switch (o->report) {
    case SIOLOAD_CAPACITY: {
        double ramp = (double)s->ramp_ns / 1e9;
        double per = r->connected && s->held.rss_kib > s->base.rss_kib
                         ? (double)(s->held.rss_kib - s->base.rss_kib) / (double)r->connected
                         : 0.0;
        fprintf(out,
                "%-34s %7u %9" PRIu64 " %6" PRIu64
                " %7.2f %7.0f %8s %8s %9.1f %9.1f %8.2f %7" PRIu64 "\n",
                o->label, o->clients, r->connected, r->failed, ramp,
                ramp > 0 ? (double)r->connected / ramp : 0.0,
                bench_fmt_ms(a, sizeof a, hist_quantile(&r->handshake, 0.50)),
                bench_fmt_ms(b, sizeof b, hist_quantile(&r->handshake, 0.99)), mib(s->base.rss_kib),
                mib(s->held.rss_kib), per, r->dropped);
        break;
    }
    case SIOLOAD_FANOUT: {
        uint64_t expected = r->sent * r->connected;
        struct bench_cpu cpu = bench_meter_cpu(&s->meter, s->gen_cpu_ns);
        fprintf(out,
                "%-34s %7" PRIu64
                " %7u %7.0f %7.0f %9.0f %7.2f %8s %8s %8s %5.0f %5.0f %5.0f %5.0f "
                "%7" PRIu64 "\n",
                o->label, r->connected, o->senders, o->rate, (double)r->sent / o->seconds,
                (double)r->delivered / o->seconds,
                expected ? 100.0 * (double)r->delivered / (double)expected : 0.0,
                bench_fmt_ms(a, sizeof a, hist_quantile(&r->delivery, 0.50)),
                bench_fmt_ms(b, sizeof b, hist_quantile(&r->delivery, 0.99)),
                bench_fmt_ms(c, sizeof c, r->delivery.max_us), cpu.server, cpu.redis, cpu.gen,
                cpu.other, r->dropped);
        break;
    }
    case SIOLOAD_RTT: {
        bool acks = r->ack.count > 0;
        struct bench_cpu cpu = bench_meter_cpu(&s->meter, s->gen_cpu_ns);
        fprintf(out, "%-34s %7" PRIu64 " %6" PRIu64 " %9s %9s %9s %9s %9s %9s %5.0f\n", o->label,
                r->connected, r->sent,
                acks ? bench_fmt_ms(a, sizeof a, hist_quantile(&r->ack, 0.50)) : "-",
                acks ? bench_fmt_ms(b, sizeof b, hist_quantile(&r->ack, 0.99)) : "-",
                acks ? bench_fmt_ms(c, sizeof c, r->ack.max_us) : "-",
                bench_fmt_ms(d, sizeof d, hist_quantile(&r->echo, 0.50)),
                bench_fmt_ms(e, sizeof e, hist_quantile(&r->echo, 0.99)),
                bench_fmt_ms(f, sizeof f, r->echo.max_us), cpu.other);
        break;
    }
    case SIOLOAD_FLEET: /* several lines: print_fleet */
        break;
    }
    if (r->ack_errors || r->unexpected || (o->senders && r->sent && !r->delivered))
        fprintf(stderr,
                "sioload: %s: %" PRIu64 " ack errors, %" PRIu64 " unexpected packets, %" PRIu64
                " sent, %" PRIu64 " delivered\n",
                o->label, r->ack_errors, r->unexpected, r->sent, r->delivered);
    fflush(out);
}

static void result_add(struct result_msg *total, const struct result_msg *r)
{
    total->connected += r->connected;
    total->failed += r->failed;
    total->dropped += r->dropped;
    total->sent += r->sent;
    total->acked += r->acked;
    total->ack_errors += r->ack_errors;
    total->delivered += r->delivered;
    total->echoed += r->echoed;
    total->other_events += r->other_events;
    total->unexpected += r->unexpected;
    total->pings += r->pings;
    total->dropped_after += r->dropped_after;
    total->cpu_msg_ns += r->cpu_msg_ns;
    total->cpu_idle_ns += r->cpu_idle_ns;
    hist_merge(&total->handshake, &r->handshake);
    hist_merge(&total->delivery, &r->delivery);
    hist_merge(&total->ack, &r->ack);
    hist_merge(&total->echo, &r->echo);
    for (unsigned i = 0; i < SIOLOAD_PORTS_MAX; i++) {
        total->connected_on[i] += r->connected_on[i];
        total->alive_on[i] += r->alive_on[i];
    }
    for (unsigned i = 0; i < SIOLOAD_FLEET_ROUNDS; i++) {
        total->present[i] += r->present[i];
        total->got[i] += r->got[i];
        total->sent_round[i] += r->sent_round[i];
        hist_merge(&total->round[i], &r->round[i]);
    }
}

/* Tells every load process when to go, a little ahead so all see it in
 * time. Returns the go time, or 0 when a process is gone. */
static uint64_t send_go(const int *down, unsigned procs)
{
    uint64_t go = bench_now_ns() + GO_DELAY_NS;
    for (unsigned i = 0; i < procs; i++)
        if (bench_write_all(down[i], &go, sizeof go) < 0)
            return 0;
    return go;
}

/* The parent's part of a run once every process is connected: hold, sample
 * the server, send go, and meter the send window. */
static int window_parent(const struct sioload_opts *o, struct samples *s, const int *down,
                         unsigned procs)
{
    bench_proc_sample(o->server_pid, &s->connected);
    sleep_until(bench_now_ns() + ns_of(o->hold));
    bench_proc_sample(o->server_pid, &s->held);
    uint64_t go = send_go(down, procs);
    if (!go)
        return -1;
    sleep_until(go);
    bench_meter_start(&s->meter, o->server_pid, o->redis_pid);
    sleep_until(go + ns_of(o->seconds));
    bench_meter_stop(&s->meter);
    return 0;
}

/* The parent's part of the fleet run, once every process is connected:
 * samples the servers, sends go, and samples them again at the end of the
 * hold (just before the second message). */
static int fleet_parent(const struct sioload_opts *o, struct fleet_samples *f, const int *down,
                        unsigned procs)
{
    fleet_sample(o, f->connected, f->sessions_connected);
    uint64_t go = send_go(down, procs);
    if (!go)
        return -1;
    uint64_t drain = ns_of(o->drain);
    for (unsigned i = 0; i < 3; i++) {
        sleep_until(go + (i == 2 && o->hold < o->drain ? 1 : i) * drain);
        fleet_cpu_mark(o, &f->cpu[i]);
    }
    uint64_t second = go + ns_of(o->drain + o->hold);
    uint64_t before = ns_of(o->hold < 2 ? o->hold / 2 : 1); /* ahead of the second message */
    sleep_until(second - before);
    fleet_sample(o, f->held, f->sessions_held);
    bench_proc_sample(o->redis_pid, &f->redis_held);
    return 0;
}

int sioload_run(const struct sioload_opts *o, FILE *out)
{
    if (check_opts(o) < 0)
        return -1;
    pid_t pids[SIOLOAD_PROCS_MAX];
    int up[SIOLOAD_PROCS_MAX], down[SIOLOAD_PROCS_MAX];
    unsigned started = 0;
    struct samples s = {0};
    struct fleet_samples *f = calloc(1, sizeof *f);
    struct result_msg *total = calloc(1, sizeof *total);
    struct result_msg *r = malloc(sizeof *r);
    int rc = -1;
    if (!r || !total || !f) {
        free(r);
        free(total);
        free(f);
        return -1;
    }

    bench_proc_sample(o->server_pid, &s.base);
    fleet_sample(o, f->base, NULL);
    bench_proc_sample(o->redis_pid, &f->redis_base);
    uint64_t start = bench_now_ns();
    uint64_t timeout_ns = (uint64_t)(o->timeout * (double)BENCH_NS_PER_SEC);
    fflush(out);
    fflush(stderr);
    for (; started < o->procs; started++) {
        int u[2], d[2];
        if (pipe2(u, O_CLOEXEC) < 0)
            goto out;
        if (pipe2(d, O_CLOEXEC) < 0) {
            close(u[0]);
            close(u[1]);
            goto out;
        }
        pid_t pid = fork();
        if (pid < 0) {
            close(u[0]);
            close(u[1]);
            close(d[0]);
            close(d[1]);
            goto out;
        }
        if (pid == 0) {
            for (unsigned i = 0; i < started; i++) {
                close(up[i]);
                close(down[i]);
            }
            close(u[0]);
            close(d[1]);
            bench_raise_nofile();
            int crc = child_main(o, started, u[1], d[0]);
            /* A forked child leaves without running the parent's exit
             * handlers or flushing its copy of the parent's stdio buffers. */
            _exit(crc == 0 ? 0 : 1);
        }
        close(u[1]);
        close(d[0]);
        pids[started] = pid;
        up[started] = u[0];
        down[started] = d[1];
    }

    for (unsigned i = 0; i < started; i++) {
        struct ready_msg ready;
        if (bench_read_all(up[i], &ready, sizeof ready) < 0) {
            fprintf(stderr, "sioload: load process %u died while connecting\n", i);
            goto out;
        }
        if (ready.connect_ns > s.ramp_ns)
            s.ramp_ns = ready.connect_ns;
    }
    if ((o->report == SIOLOAD_FLEET ? fleet_parent(o, f, down, started)
                                    : window_parent(o, &s, down, started)) < 0)
        goto out;
    for (unsigned i = 0; i < started; i++) {
        if (bench_read_all(up[i], r, sizeof *r) < 0) {
            fprintf(stderr, "sioload: load process %u died\n", i);
            goto out;
        }
        result_add(total, r);
        s.gen_cpu_ns += r->cpu_window_ns;
    }
    if (o->report == SIOLOAD_FLEET)
        print_fleet(o, total, &s, f, out);
    else
        print_row(o, total, &s, out);
    rc = total->connected > 0 ? 0 : -1;
out:
    for (unsigned i = 0; i < started; i++) {
        close(down[i]); /* end of file: a child still waiting gives up */
        close(up[i]);
    }
    if (reap(pids, started, start + timeout_ns + EXIT_GRACE_NS) < 0 && rc == 0)
        fprintf(stderr, "sioload: a load process failed\n");
    free(r);
    free(total);
    free(f);
    return rc;
}
