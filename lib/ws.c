/* ws — WebSocket server glue over wslay's frame layer. See ws.h. */
#include "ws.h"

#include <stdlib.h>
#include <string.h>

#include <nettle/sha1.h>
#include <sodium.h>
#include <wslay/wslay.h>

#include "store.h"

/* RFC 6455 section 1.3: the GUID every server appends to the client's key. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_BYTES 16   /* a Sec-WebSocket-Key is a random 16-byte nonce */
#define WS_KEY_LEN 24     /* ... in padded base64 */
#define WS_BUFFER_MIN 256 /* the first reassembly buffer; it doubles from there */

_Static_assert(sodium_base64_ENCODED_LEN(SHA1_DIGEST_SIZE, sodium_base64_VARIANT_ORIGINAL) ==
                   WS_ACCEPT_KEY_LEN + 1,
               "Sec-WebSocket-Accept is base64 of a SHA-1 digest");

int ws_accept_key(const char *client_key, size_t len, char out[WS_ACCEPT_KEY_LEN + 1])
{
    /* 24 characters of unpadded base64 would decode to 18 bytes: room to see them. */
    unsigned char nonce[WS_KEY_LEN / 4 * 3];
    size_t nonce_len;
    const char *end;
    if (client_key == NULL || len != WS_KEY_LEN ||
        sodium_base642bin(nonce, sizeof nonce, client_key, len, NULL, &nonce_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != client_key + len || nonce_len != WS_KEY_BYTES)
        return -1;

    struct sha1_ctx sha;
    uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_init(&sha);
    sha1_update(&sha, len, (const uint8_t *)client_key);
    sha1_update(&sha, sizeof WS_GUID - 1, (const uint8_t *)WS_GUID);
    sha1_digest(&sha, sizeof digest, digest);
    sodium_bin2base64(out, WS_ACCEPT_KEY_LEN + 1, digest, sizeof digest,
                      sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

struct ws_parser {
    /* wslay's frame context (its 4 KiB input buffer): only while a frame
     * is partly received; NULL between frames. */
    wslay_frame_context_ptr frames;
    int err; /* sticky: WS_OK while the stream is open */

    /* The bytes of the current feed, which recv_bytes hands to wslay. */
    const uint8_t *in;
    size_t in_left;
    /* Bytes handed to wslay and not yet seen come out as a frame's header
     * or payload: 0 between frames means wslay's buffer is empty. */
    uint64_t unparsed;

    /* The frame being received: set by its first chunk. */
    bool in_frame;
    bool fin;
    uint8_t opcode;
    uint64_t frame_left; /* payload bytes still to come */

    /* The data message being received, which may span frames. */
    bool in_message;
    bool binary;
    uint8_t *msg; /* reassembly buffer; NULL until a message needs one */
    size_t msg_len;
    size_t msg_cap;
    size_t max_message;

    /* A control frame's payload, which wslay may hand over in pieces. */
    uint8_t ctrl[WS_CONTROL_MAX];
    size_t ctrl_len;
};

static const struct ws_handlers no_handlers;

static bool is_control(uint8_t opcode)
{
    return opcode & 0x8;
}

/* RFC 6455 section 7.4 and the IANA registry: the codes an endpoint may put in
 * a close frame. 1004 is reserved; 1005, 1006 and 1015 only name local events. */
static bool close_code_sendable(uint16_t code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* wslay's recv callback: hand over what the current feed still holds. Running
 * dry is not an error; wslay keeps its partial frame for the next feed. */
static ssize_t recv_bytes(uint8_t *buf, size_t len, int flags, void *user)
{
    struct ws_parser *p = user;
    (void)flags;
    if (p->in_left == 0)
        return WSLAY_ERR_WOULDBLOCK;
    size_t n = len < p->in_left ? len : p->in_left;
    memcpy(buf, p->in, n);
    p->in += n;
    p->in_left -= n;
    p->unparsed += n;
    return (ssize_t)n;
}

struct ws_parser *ws_parser_new(size_t max_message)
{
    struct ws_parser *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->max_message = max_message;
    return p;
}

bool ws_parser_idle(const struct ws_parser *p)
{
    return p->frames == NULL;
}

/* A frame header's length on the wire: wslay accepts lengths only in their
 * shortest form, so the payload length tells the form. */
static uint64_t header_length(const struct wslay_frame_iocb *io)
{
    uint64_t ext = io->payload_length < 126 ? 0 : io->payload_length <= UINT16_MAX ? 2 : 8;
    return 2 + ext + (io->mask ? 4 : 0);
}

void ws_parser_free(struct ws_parser *p)
{
    if (p == NULL)
        return;
    wslay_frame_context_free(p->frames);
    free(p->msg);
    free(p);
}

/* Checks a frame's header, known from its first chunk, against RFC 6455 and
 * max_message, and starts the message or control payload it belongs to. */
static int frame_start(struct ws_parser *p, const struct wslay_frame_iocb *io)
{
    /* 5.1: a client masks every frame. 5.2: no extension was negotiated. */
    if (!io->mask || io->rsv != 0)
        return WS_EPROTO;
    switch (io->opcode) {
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        /* 5.5: short and never fragmented (wslay checks this too). */
        if (!io->fin || io->payload_length > WS_CONTROL_MAX)
            return WS_EPROTO;
        p->ctrl_len = 0;
        break;
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        /* 5.4: fragments of one message are not interleaved with another. */
        if (p->in_message)
            return WS_EPROTO;
        p->in_message = true;
        p->binary = io->opcode == WS_OP_BINARY;
        p->msg_len = 0;
        break;
    case WS_OP_CONTINUATION:
        if (!p->in_message)
            return WS_EPROTO;
        break;
    default:
        return WS_EPROTO;
    }
    /* Refused on the header, before a byte of it is buffered. */
    if (!is_control(io->opcode) && io->payload_length > p->max_message - p->msg_len)
        return WS_ETOOBIG;
    p->in_frame = true;
    p->fin = io->fin;
    p->opcode = io->opcode;
    p->frame_left = io->payload_length;
    return WS_OK;
}

/* Grows the reassembly buffer to hold need <= max_message bytes, doubling so a
 * message in many small pieces is not copied over and over. */
static int reserve(struct ws_parser *p, size_t need)
{
    if (need <= p->msg_cap)
        return WS_OK;
    size_t cap = p->msg_cap == 0                   ? WS_BUFFER_MIN
                 : p->msg_cap > p->max_message / 2 ? p->max_message
                                                   : p->msg_cap * 2;
    if (cap < need)
        cap = need;
    if (cap > p->max_message)
        cap = p->max_message;
    uint8_t *msg = realloc(p->msg, cap);
    if (msg == NULL)
        return WS_ENOMEM;
    p->msg = msg;
    p->msg_cap = cap;
    return WS_OK;
}

static int deliver(struct ws_parser *p, const uint8_t *data, size_t len,
                   const struct ws_handlers *h, void *ctx)
{
    p->in_message = false;
    /* Checked whole: a text message is small next to what validating it costs
     * to get wrong at fragment boundaries. */
    if (!p->binary && !store_utf8_valid((const char *)data, len, NULL))
        return WS_EUTF8;
    if (h->on_message != NULL && h->on_message(ctx, p->binary, data, len) != 0)
        return WS_ESTOPPED;
    return WS_OK;
}

static int data_chunk(struct ws_parser *p, const uint8_t *data, size_t len, bool frame_done,
                      const struct ws_handlers *h, void *ctx)
{
    bool last = frame_done && p->fin;
    /* The whole message in one piece: straight from wslay's buffer. */
    if (last && p->msg_len == 0)
        return deliver(p, data, len, h, ctx);

    if (len > 0) {
        int rc = reserve(p, p->msg_len + len);
        if (rc != WS_OK)
            return rc;
        memcpy(p->msg + p->msg_len, data, len);
        p->msg_len += len;
    }
    if (!last)
        return WS_OK;
    int rc = deliver(p, p->msg, p->msg_len, h, ctx);
    /* Reassembly is the exception: an idle connection keeps no buffer. */
    free(p->msg);
    p->msg = NULL;
    p->msg_len = 0;
    p->msg_cap = 0;
    return rc;
}

static int close_frame(struct ws_parser *p, const struct ws_handlers *h, void *ctx)
{
    uint16_t code = WS_CLOSE_NO_STATUS;
    const char *reason = (const char *)p->ctrl + 2;
    size_t reason_len = 0;
    if (p->ctrl_len == 1) /* 5.5.1: a body starts with a 2-byte code */
        return WS_EPROTO;
    if (p->ctrl_len >= 2) {
        code = (uint16_t)(p->ctrl[0] << 8 | p->ctrl[1]);
        reason_len = p->ctrl_len - 2;
        if (!close_code_sendable(code))
            return WS_EPROTO;
        if (!store_utf8_valid(reason, reason_len, NULL))
            return WS_EUTF8;
    }
    if (h->on_close != NULL)
        h->on_close(ctx, code, reason, reason_len);
    return WS_ECLOSED;
}

static int control_frame(struct ws_parser *p, const struct ws_handlers *h, void *ctx)
{
    switch (p->opcode) {
    case WS_OP_PING:
        if (h->on_ping != NULL && h->on_ping(ctx, p->ctrl, p->ctrl_len) != 0)
            return WS_ESTOPPED;
        return WS_OK;
    case WS_OP_PONG:
        if (h->on_pong != NULL && h->on_pong(ctx) != 0)
            return WS_ESTOPPED;
        return WS_OK;
    default:
        return close_frame(p, h, ctx);
    }
}

/* One piece of payload from wslay_frame_recv: the first of a frame carries
 * its header, the last (frame_left reaching 0) completes it. */
static int frame_chunk(struct ws_parser *p, const struct wslay_frame_iocb *io,
                       const struct ws_handlers *h, void *ctx)
{
    if (!p->in_frame) {
        int rc = frame_start(p, io);
        if (rc != WS_OK)
            return rc;
        p->unparsed -= header_length(io);
    }
    /* wslay never hands over more than the header announced; if it ever did,
     * ctrl[] and the max_message check would be at stake. */
    if (io->data_length > p->frame_left)
        return WS_EPROTO;
    p->frame_left -= io->data_length;
    p->unparsed -= io->data_length;
    bool frame_done = p->frame_left == 0;
    if (frame_done)
        p->in_frame = false;

    if (!is_control(p->opcode))
        return data_chunk(p, io->data, io->data_length, frame_done, h, ctx);
    if (io->data_length > 0) {
        memcpy(p->ctrl + p->ctrl_len, io->data, io->data_length);
        p->ctrl_len += io->data_length;
    }
    return frame_done ? control_frame(p, h, ctx) : WS_OK;
}

int ws_parser_feed(struct ws_parser *p, const uint8_t *data, size_t len,
                   const struct ws_handlers *h, void *ctx)
{
    if (p->err != WS_OK)
        return p->err;
    if (h == NULL)
        h = &no_handlers;
    if (p->frames == NULL) {
        static const struct wslay_frame_callbacks callbacks = {.recv_callback = recv_bytes};
        if (len == 0)
            return WS_OK;
        if (wslay_frame_context_init(&p->frames, &callbacks, p) != 0) {
            p->frames = NULL;
            return p->err = WS_ENOMEM;
        }
    }
    p->in = data;
    p->in_left = len;
    /* Each round consumes header or payload bytes, so the loop ends. wslay
     * asks for more only after recv_bytes ran dry: its buffer always has
     * room for what a feed still holds when it is short of a header. */
    int rc = WS_OK;
    while (rc == WS_OK) {
        struct wslay_frame_iocb io;
        ssize_t n = wslay_frame_recv(p->frames, &io);
        if (n == WSLAY_ERR_WANT_READ)
            break;
        /* WSLAY_ERR_PROTO: a control frame too long or fragmented, a length
         * not in its shortest form or over 2^63. */
        rc = n < 0 ? WS_EPROTO : frame_chunk(p, &io, h, ctx);
    }
    p->in = NULL;
    p->in_left = 0;
    p->err = rc;
    /* At a frame boundary wslay holds nothing but its empty buffer: give it
     * back, so an idle connection keeps only this parser. */
    if (rc == WS_OK && !p->in_frame && p->unparsed == 0) {
        wslay_frame_context_free(p->frames);
        p->frames = NULL;
    }
    return rc;
}

uint16_t ws_close_code(int err)
{
    switch (err) {
    case WS_EPROTO:
        return WS_CLOSE_PROTOCOL_ERROR;
    case WS_EUTF8:
        return WS_CLOSE_INVALID_DATA;
    case WS_ETOOBIG:
        return WS_CLOSE_TOO_BIG;
    case WS_ENOMEM:
        return WS_CLOSE_INTERNAL_ERROR;
    case WS_ESTOPPED:
        return WS_CLOSE_POLICY;
    default:
        return WS_CLOSE_NORMAL;
    }
}

const char *ws_strerror(int err)
{
    switch (err) {
    case WS_OK:
        return "ok";
    case WS_ECLOSED:
        return "closed by the peer";
    case WS_EPROTO:
        return "WebSocket protocol error";
    case WS_EUTF8:
        return "text not valid UTF-8";
    case WS_ETOOBIG:
        return "message too big";
    case WS_ENOMEM:
        return "out of memory";
    case WS_ESTOPPED:
        return "stopped by a handler";
    default:
        return "unknown WebSocket error";
    }
}

size_t ws_frame_header(uint8_t out[WS_HEADER_MAX], enum ws_opcode op, size_t payload_len)
{
    switch (op) {
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        break;
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        if (payload_len > WS_CONTROL_MAX)
            return 0;
        break;
    default:
        return 0;
    }
    uint64_t n = payload_len;
    if (n >> 63) /* 5.2: the most significant bit must be 0 */
        return 0;
    out[0] = 0x80 | (uint8_t)op; /* FIN: a server frame is never fragmented */
    /* 5.2: lengths take their shortest form, in network byte order; no mask bit. */
    if (n < 126) {
        out[1] = (uint8_t)n;
        return 2;
    }
    if (n <= UINT16_MAX) {
        out[1] = 126;
        out[2] = (uint8_t)(n >> 8);
        out[3] = (uint8_t)n;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(n >> (56 - 8 * i));
    return 10;
}

int ws_frame_build(enum ws_opcode op, const void *payload, size_t len, uint8_t *out, size_t cap,
                   size_t *outlen)
{
    uint8_t header[WS_HEADER_MAX];
    size_t hlen = ws_frame_header(header, op, len);
    if (hlen == 0 || cap < hlen || len > cap - hlen)
        return -1;
    memcpy(out, header, hlen);
    if (len > 0)
        memcpy(out + hlen, payload, len);
    *outlen = hlen + len;
    return 0;
}

int ws_close_payload(uint16_t code, const char *reason, uint8_t *out, size_t cap)
{
    size_t reason_len = reason != NULL ? strnlen(reason, WS_REASON_MAX + 1) : 0;
    if (code == 0) /* 5.5.1: no body at all; a reason needs a code before it */
        return reason_len == 0 ? 0 : -1;
    if (!close_code_sendable(code) || reason_len > WS_REASON_MAX ||
        !store_utf8_valid(reason, reason_len, NULL) || cap < 2 + reason_len)
        return -1;
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    if (reason_len > 0)
        memcpy(out + 2, reason, reason_len);
    return (int)(2 + reason_len);
}
