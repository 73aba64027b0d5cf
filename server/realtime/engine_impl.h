/* engine internals shared by engine.c (sessions, polling) and
 * engine_ws.c (the WebSocket transport).  Not a public header. */
#ifndef CHATD_ENGINE_IMPL_H
#define CHATD_ENGINE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "engine.h"
#include "outq.h"
#include "ws.h"
#include "timerheap.h"
#include "worker.h"

#define EIO_SID_LEN 20
/* An outgoing packet is a shared buffer laid out as
 *   [0] WebSocket header length, [1] flags, [2 .. 12) room for the header
 *   (right-aligned), [12 ..] the packet: "<type digit><text>" or raw bytes.
 * So a packet is framed for WebSocket once, whoever it goes to. */
#define OUTPKT_HEAD 12
#define OUTPKT_BINARY 0x01

enum eio_state { SESSION_OPEN, SESSION_CLOSING, SESSION_CLOSED };

struct eio_ws;
struct eio_poll;

struct engine {
    struct engine_options opt;
    struct engine_handlers h;
    char path[64];
    size_t path_len;

    pthread_rwlock_t table_lock; /* the sid table */
    struct eio_session **table;  /* open addressing, linear probing */
    size_t table_cap, table_count;
};

struct eio_session {
    struct engine *engine;
    char sid[EIO_SID_LEN + 1];
    atomic_uint refs;
    struct worker *home; /* runs the timer and the close */

    /* Home worker only. */
    struct timer timer;
    int64_t ping_sent_ms;
    bool awaiting_pong;
    struct inbox_item close_item;
    atomic_bool close_posted;
    atomic_llong last_pong_ms; /* written by whichever worker got the pong */

    pthread_mutex_t in_lock; /* see engine.h */
    void *data;

    pthread_mutex_t out_lock; /* the leaf lock: everything below */
    enum eio_state state;
    const char *close_reason;
    bool client_closed;    /* a pending poll ends with a noop */
    bool aborted;          /* a slow consumer: drop, don't flush */
    bool upgraded;         /* the WebSocket carries the session */
    bool noop_pending;     /* end the pending poll: upgrading */
    struct eio_ws *ws;     /* probing or upgraded WebSocket */
    struct eio_poll *poll; /* the pending long-poll */
    struct sbuf **out;     /* ring of queued packets */
    size_t out_head, out_count, out_cap, out_bytes;
};

/* engine.c */
struct eio_session *session_lookup(struct engine *e, const char *sid);
struct eio_session *session_create(struct engine *e, struct worker *home, bool websocket);
/* A new session for a handshake request, accepted by the layer above: the
 * caller's reference, or NULL after answering the request (503 or 403). */
struct eio_session *session_open(struct engine *e, struct http_req *req, bool websocket);
/* The open packet's JSON (offering the upgrade over polling); caller frees. */
char *session_open_json(struct eio_session *s, bool offer_upgrade, size_t *len);
void session_input(struct eio_session *s, struct worker *w, const struct eio_packet *p,
                   bool over_websocket);
void session_close_locked(struct eio_session *s, const char *reason);
void session_wake_transports_locked(struct eio_session *s);
struct sbuf *session_take_locked(struct eio_session *s);
void session_fail(struct eio_session *s, const char *reason);
void engine_error(struct http_req *req, unsigned status, int code, const char *message);
bool engine_origin_ok(struct engine *e, struct http_req *req);
struct sbuf *outpkt_text(enum eio_type type, const char *data, size_t len);

/* engine_ws.c */
/* Answers a WebSocket upgrade request for session s (NULL: a new session
 * over WebSocket only). */
void ws_upgrade(struct engine *e, struct http_req *req, struct eio_session *s);
/* Asks the WebSocket's worker to write what the session has queued. */
void ws_wake_locked(struct eio_ws *ws);

static inline const uint8_t *outpkt_payload(struct sbuf *b, size_t *len)
{
    const uint8_t *d = sbuf_data(b);
    *len = sbuf_len(b) - OUTPKT_HEAD;
    return d + OUTPKT_HEAD;
}

static inline bool outpkt_binary(struct sbuf *b)
{
    return ((const uint8_t *)sbuf_data(b))[1] & OUTPKT_BINARY;
}

#endif
