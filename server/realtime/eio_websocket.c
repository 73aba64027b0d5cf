/* eio_websocket: the WebSocket transport (see eio_websocket.h). */
#include "eio_websocket.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "eio_http.h"
#include "eio_session.h"
#include "eio_transport.h"
#include "http.h"
#include "log.h"
#include "outpkt.h"
#include "outq.h"
#include "timerheap.h"
#include "worker.h"
#include "ws.h"

#define WS_READ_CHUNK (16 * 1024)
/* Reads per readiness event: fairness to the worker's other sockets. */
#define WS_READS_PER_EVENT 4
/* Bytes handed to the socket's queue before waiting for it to drain; the
 * rest waits in the session's bounded outbox. */
#define WS_QUEUE_HIGH (256 * 1024)
#define WS_QUEUE_MAX_BYTES (WS_QUEUE_HIGH + 2 * 1024 * 1024)
#define WS_QUEUE_MAX_SLICES 4096
/* Refills of the socket's queue per wake-up, at most. */
#define WS_PUMP_ROUNDS 8
/* How long a closed WebSocket waits for its peer to read the close frame
 * and close too. */
#define WS_LINGER_MS 1000

struct eio_ws {
    struct eio_transport transport;
    struct worker *worker;
    struct eio_session *s; /* a reference */
    struct watcher watch;
    struct worker_conn conn;
    struct http_socket sock; /* taken from libmicrohttpd at the upgrade */
    struct ws_parser *parser;
    struct outq wq;
    struct inbox_item item; /* a wake-up from another thread */
    atomic_bool queued;
    struct inbox_item free_item;
    bool connected; /* the upgrade handler ran */
    bool probing;   /* upgrading a polling session */
    bool refused;   /* a second WebSocket for a session */
    bool closing;   /* close frame queued: flush, then close */
    bool closed;    /* detached; lingering until finished */
    bool half_closed;
    bool finished;
    bool refused_packet; /* the socket's queue refused a packet of the batch */
    struct timer linger;
};

static void ws_close(struct eio_ws *ws, uint16_t code);
static void linger_io(struct eio_ws *ws, uint32_t events);

/* ---- writing --------------------------------------------------------------- */

static void queue_control(struct eio_ws *ws, enum ws_opcode op, const void *payload, size_t len)
{
    uint8_t frame[WS_HEADER_MAX + WS_CONTROL_MAX];
    size_t flen;
    if (ws_frame_build(op, payload, len, frame, sizeof frame, &flen) < 0)
        return;
    struct sbuf *b = sbuf_from(frame, flen);
    if (b) {
        outq_push(&ws->wq, b);
        sbuf_unref(b);
    }
}

/* Queues an Engine.IO packet's frame straight on the socket.  false when
 * the socket's queue refuses it (at its slice bound, or out of memory). */
static bool queue_packet(struct eio_ws *ws, struct sbuf *b)
{
    size_t off, len;
    outpkt_ws_frame(b, &off, &len);
    return outq_push_slice(&ws->wq, b, off, len) == 0;
}

/* A batch's callback: the socket's queue takes WS_QUEUE_HIGH at a time.  A
 * packet the queue refuses stays in the session's outbox (never dropped):
 * it goes once the queue drains, or the outbox's bound ends a client that
 * does not read. */
static bool take_packet(void *ctx, struct sbuf *b)
{
    struct eio_ws *ws = ctx;
    if (outq_bytes(&ws->wq) >= WS_QUEUE_HIGH)
        return false;
    if (!queue_packet(ws, b)) {
        ws->refused_packet = true;
        return false;
    }
    return true;
}

static void ws_wake(struct eio_transport *t);

static void update_interest(struct eio_ws *ws)
{
    uint32_t events = EPOLLIN | (outq_empty(&ws->wq) ? 0 : EPOLLOUT);
    if (events != ws->watch.events && worker_watch(ws->worker, &ws->watch, events) < 0)
        ws_close(ws, 0);
}

static void flush(struct eio_ws *ws)
{
    while (!outq_empty(&ws->wq)) {
        ssize_t n = outq_flush(&ws->wq, ws->watch.fd);
        if (n < 0) {
            ws_close(ws, 0);
            return;
        }
        if (n == 0)
            break; /* the socket is full: EPOLLOUT */
    }
    update_interest(ws);
}

/* Moves what the session queued onto the socket, and finishes a closing
 * session.  The socket's own queue takes WS_QUEUE_HIGH at a time: when the
 * socket swallows that whole, the next part follows at once (a few rounds
 * here, then a wake-up of our own, so one busy socket cannot hog the loop);
 * when it does not, EPOLLOUT brings us back.  Worker thread. */
static void pump(struct eio_ws *ws)
{
    for (int round = 0; round < WS_PUMP_ROUNDS; round++) {
        if (ws->closed || !ws->connected)
            return;
        bool more;
        ws->refused_packet = false;
        enum eio_batch r = eio_session_ws_take(ws->s, &ws->transport, take_packet, ws, &more);
        if (r == EIO_BATCH_ABORT) {
            ws_close(ws, 0); /* a slow consumer: no goodbye it would not read */
            return;
        }
        if (ws->refused_packet && outq_empty(&ws->wq)) {
            /* Refused by an empty queue (out of memory): nothing will drain
             * to make room, so the session cannot go on over this socket. */
            log_warn("websocket: cannot queue a packet; closing the connection");
            ws_close(ws, 0);
            return;
        }
        bool done = r == EIO_BATCH_END || r == EIO_BATCH_DETACHED;
        if (done && !ws->closing && eio_session_going_away(ws->s)) {
            /* The server is going away: 1001, written after what is queued,
             * and lingering so the peer reads it before the socket closes. */
            ws_close(ws, WS_CLOSE_GOING_AWAY);
            return;
        }
        if (done && !ws->closing) {
            uint8_t payload[2];
            int len = ws_close_payload(WS_CLOSE_NORMAL, NULL, payload, sizeof payload);
            queue_control(ws, WS_OP_CLOSE, payload, len > 0 ? (size_t)len : 0);
            ws->closing = true;
        }
        flush(ws);
        if (ws->closing && outq_empty(&ws->wq) && !ws->closed)
            ws_close(ws, 0);
        if (!more || ws->closed || !outq_empty(&ws->wq))
            return; /* done, or waiting for EPOLLOUT */
    }
    /* Still more, and the socket keeps up: continue on a later turn. */
    ws_wake(&ws->transport);
}

static void on_wake(struct worker *w, struct inbox_item *item)
{
    struct eio_ws *ws = (struct eio_ws *)((char *)item - offsetof(struct eio_ws, item));
    (void)w;
    if (ws->finished) {
        worker_defer(ws->worker, &ws->free_item);
        return;
    }
    atomic_store(&ws->queued, false);
    if (ws->closed)
        return;
    pump(ws);
}

/* From the session (its out lock held, any thread), or from pump. */
static void ws_wake(struct eio_transport *t)
{
    struct eio_ws *ws = (struct eio_ws *)((char *)t - offsetof(struct eio_ws, transport));
    if (!atomic_exchange(&ws->queued, true))
        worker_post(ws->worker, &ws->item);
}

/* ---- reading --------------------------------------------------------------- */

static void finish_upgrade(struct eio_ws *ws)
{
    if (eio_session_ws_upgrade(ws->s, &ws->transport))
        ws->probing = false;
    pump(ws);
}

static void probe_input(struct eio_ws *ws, const struct eio_packet *p)
{
    if (p->type == EIO_PING && p->len == 5 && memcmp(p->data, "probe", 5) == 0) {
        struct sbuf *b = outpkt_new(EIO_PONG, false, "probe", 5);
        bool queued = b && queue_packet(ws, b);
        sbuf_unref(b);
        if (!queued) {
            ws_close(ws, 0); /* the probe cannot be answered: the client keeps polling */
            return;
        }
        eio_session_ws_probed(ws->s, &ws->transport);
        flush(ws);
    } else if (p->type == EIO_UPGRADE) {
        finish_upgrade(ws);
    }
    /* Anything else before the upgrade is ignored, as the reference does. */
}

static int on_message(void *ctx, bool binary, const uint8_t *data, size_t len)
{
    struct eio_ws *ws = ctx;
    struct eio_packet p;
    if (binary) {
        eio_decode_binary(data, len, &p);
    } else if (eio_decode_packet((const char *)data, len, &p, NULL, 0) < 0) {
        eio_session_close(ws->s, "parse error");
        return -1;
    }
    if (ws->probing) {
        probe_input(ws, &p);
        return 0;
    }
    eio_session_receive(ws->s, ws->worker, &p, 1, true);
    return 0;
}

static int on_ping(void *ctx, const uint8_t *payload, size_t len)
{
    queue_control(ctx, WS_OP_PONG, payload, len);
    return 0;
}

static void on_peer_close(void *ctx, uint16_t code, const char *reason, size_t len)
{
    (void)code;
    (void)reason;
    (void)len;
    struct eio_ws *ws = ctx;
    if (!ws->probing)
        eio_session_close(ws->s, "transport close");
}

static const struct ws_handlers handlers = {
    .on_message = on_message,
    .on_ping = on_ping,
    .on_close = on_peer_close,
};

static void on_readable(struct eio_ws *ws)
{
    uint8_t buf[WS_READ_CHUNK];
    for (int i = 0; i < WS_READS_PER_EVENT && !ws->closed; i++) {
        ssize_t n = read(ws->watch.fd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0) {
            ws_close(ws, 0); /* the peer went away */
            return;
        }
        int rc = ws_parser_feed(ws->parser, buf, (size_t)n, &handlers, ws);
        if (rc != WS_OK) {
            if (rc != WS_ECLOSED && rc != WS_ESTOPPED)
                log_debug("websocket: %s", ws_strerror(rc));
            ws_close(ws, rc == WS_ESTOPPED ? WS_CLOSE_PROTOCOL_ERROR : ws_close_code(rc));
            return;
        }
        if ((size_t)n < sizeof buf)
            break;
    }
    flush(ws);
}

static void on_event(struct watcher *wt, uint32_t events)
{
    struct eio_ws *ws = (struct eio_ws *)((char *)wt - offsetof(struct eio_ws, watch));
    if (ws->finished)
        return;
    if (ws->closed) {
        linger_io(ws, events);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(ws);
    if (!ws->closed && (events & EPOLLOUT))
        pump(ws);
}

/* ---- life ---------------------------------------------------------------------- */

static void ws_free(struct worker *w, struct inbox_item *item)
{
    struct eio_ws *ws = (struct eio_ws *)((char *)item - offsetof(struct eio_ws, free_item));
    (void)w;
    if (ws->connected)
        eio_transport_freed(ws->s);
    eio_session_unref(ws->s);
    free(ws);
}

/* Closes the socket (after a close frame with code, when code != 0) and
 * detaches from the session; an upgraded session closes with it. */
/* Releases the socket and the object.  Worker thread. */
static void ws_finish(struct eio_ws *ws)
{
    if (ws->finished)
        return;
    ws->finished = true;
    worker_timer_cancel(ws->worker, &ws->linger);
    if (ws->connected) {
        worker_watch(ws->worker, &ws->watch, 0);
        worker_conn_remove(ws->worker, &ws->conn);
        http_socket_close(ws->worker, &ws->sock);
    }
    outq_clear(&ws->wq);
    ws_parser_free(ws->parser);
    ws->parser = NULL;
    /* A wake-up already posted frees it when it runs; else free after this
     * batch of events, which may still name the socket. */
    if (!atomic_exchange(&ws->queued, true))
        worker_defer(ws->worker, &ws->free_item);
}

static void on_linger_timeout(struct timer *t)
{
    ws_finish((struct eio_ws *)((char *)t - offsetof(struct eio_ws, linger)));
}

/* While lingering: write what is left (the close frame), then half-close;
 * read and drop whatever the peer still sends until it closes too or the
 * linger times out.  Closing with unread input would reset the connection
 * and the peer would never read why it was closed. */
static void linger_io(struct eio_ws *ws, uint32_t events)
{
    if (events & EPOLLOUT || !outq_empty(&ws->wq)) {
        if (outq_flush(&ws->wq, ws->watch.fd) < 0) {
            ws_finish(ws);
            return;
        }
        if (outq_empty(&ws->wq) && !ws->half_closed) {
            shutdown(ws->watch.fd, SHUT_WR);
            ws->half_closed = true;
        }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        uint8_t buf[WS_READ_CHUNK];
        for (int i = 0; i < WS_READS_PER_EVENT; i++) {
            ssize_t n = read(ws->watch.fd, buf, sizeof buf);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                break;
            if (n <= 0) {
                ws_finish(ws); /* the peer is done too */
                return;
            }
        }
    }
    uint32_t want = EPOLLIN | (outq_empty(&ws->wq) ? 0 : EPOLLOUT);
    if (want != ws->watch.events && worker_watch(ws->worker, &ws->watch, want) < 0)
        ws_finish(ws);
}

/* Detaches the WebSocket from its session (an upgraded session closes with
 * it) and closes it: after a close frame with code, when code != 0. */
static void ws_close(struct eio_ws *ws, uint16_t code)
{
    if (ws->closed)
        return;
    ws->closed = true;
    eio_session_ws_detach(ws->s, &ws->transport);
    if (!code || !ws->connected || worker_stopping(ws->worker)) {
        ws_finish(ws);
        return;
    }
    uint8_t payload[2];
    int len = ws_close_payload(code, NULL, payload, sizeof payload);
    queue_control(ws, WS_OP_CLOSE, payload, len > 0 ? (size_t)len : 0);
    worker_timer_schedule(ws->worker, &ws->linger, worker_now_ms() + WS_LINGER_MS);
    linger_io(ws, EPOLLOUT);
}

static void close_conn(struct worker_conn *c)
{
    struct eio_ws *ws = (struct eio_ws *)((char *)c - offsetof(struct eio_ws, conn));
    ws_close(ws, WS_CLOSE_GOING_AWAY);
    ws_finish(ws); /* shutting down: no lingering */
}

static void on_upgraded(void *cls, struct MHD_Connection *connection, void *con_cls,
                        const char *extra_in, size_t extra_in_size, MHD_socket sock,
                        struct MHD_UpgradeResponseHandle *urh)
{
    struct eio_ws *ws = cls;
    (void)con_cls;
    ws->connected = true;
    /* Counted from here: a client that vanished before the 101 never gets
     * here, and a drain must not wait for it. */
    eio_transport_made(ws->s);
    worker_conn_add(ws->worker, &ws->conn);
    /* The socket leaves libmicrohttpd, which frees the connection's memory;
     * extra_in stays readable until this handler returns. */
    if (http_upgrade_take(connection, urh, sock, &ws->sock) < 0) {
        ws_close(ws, 0);
        return;
    }
    ws->watch.fd = ws->sock.fd;
    /* libmicrohttpd clears TCP_NODELAY when it hands the socket over; with
     * Nagle and delayed ACKs small frames would wait up to 40 ms. */
    int one = 1;
    setsockopt(ws->sock.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (ws->refused) {
        ws_close(ws, WS_CLOSE_POLICY);
        return;
    }
    if (worker_watch(ws->worker, &ws->watch, EPOLLIN) < 0) {
        ws_close(ws, 0);
        return;
    }
    if (extra_in_size) {
        int rc =
            ws_parser_feed(ws->parser, (const uint8_t *)extra_in, extra_in_size, &handlers, ws);
        if (rc != WS_OK) {
            ws_close(ws, ws_close_code(rc));
            return;
        }
    }
    pump(ws);
}

static bool header_has_token(const char *value, const char *token)
{
    /* Connection: keep-alive, Upgrade */
    size_t tlen = strlen(token);
    for (const char *p = value; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
            trimmed--;
        if (trimmed == tlen && strncasecmp(p, token, tlen) == 0)
            return true;
        p += len;
    }
    return false;
}

void eio_websocket_upgrade(struct eio_sessions *t, struct eio_session *s, struct http_req *req,
                           size_t max_payload)
{
    const char *upgrade = http_header(req, "Upgrade");
    const char *connection = http_header(req, "Connection");
    const char *version = http_header(req, "Sec-WebSocket-Version");
    const char *key = http_header(req, "Sec-WebSocket-Key");
    char accept[WS_ACCEPT_KEY_LEN + 1];
    if (!upgrade || strcasecmp(upgrade, "websocket") != 0 || !connection ||
        !header_has_token(connection, "upgrade") || !version || strcmp(version, "13") != 0 ||
        !key || ws_accept_key(key, strlen(key), accept) < 0) {
        eio_http_error(req, MHD_HTTP_BAD_REQUEST, EIO_ERR_BAD_REQUEST);
        return;
    }

    struct eio_ws *ws = calloc(1, sizeof *ws);
    if (ws)
        ws->parser = ws_parser_new(max_payload);
    if (!ws || !ws->parser) {
        free(ws);
        http_respond_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "Out of memory");
        return;
    }
    ws->transport.wake = ws_wake;
    ws->worker = req->worker;
    ws->watch.fd = -1;
    ws->sock.fd = -1;
    ws->watch.fn = on_event;
    ws->conn.close = close_conn;
    ws->item.run = on_wake;
    ws->free_item.run = ws_free;
    timer_init(&ws->linger, on_linger_timeout);
    outq_init(&ws->wq, WS_QUEUE_MAX_BYTES, WS_QUEUE_MAX_SLICES);

    if (s) {
        /* A probe reserves the session's upgrade slot now; a second
         * WebSocket for the same sid is accepted, then closed at once, as
         * the reference server does. */
        ws->refused = !eio_session_ws_attach(s, &ws->transport);
        eio_session_ref(s);
        ws->s = s;
        ws->probing = true;
    } else {
        bool refused;
        ws->s = eio_session_open(t, req, req->worker, &ws->transport, &refused);
        if (!ws->s) {
            ws_parser_free(ws->parser);
            free(ws);
            if (refused)
                eio_http_error(req, MHD_HTTP_FORBIDDEN, EIO_ERR_FORBIDDEN);
            else
                http_respond_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "Out of memory");
            return;
        }
    }

    struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgraded, ws);
    if (r) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
        MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
    }
    http_respond(req, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    /* A client that vanishes before the 101 is sent never reaches
     * on_upgraded: its session times out, but this object stays, small,
     * until shutdown.  (libmicrohttpd gives no earlier signal.) */
    if (!r)
        ws_close(ws, 0);
}
