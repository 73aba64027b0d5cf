/* ws — the server side of WebSocket (RFC 6455) over wslay's frame layer: pure,
 * bytes in, events out; frames out into memory. No sockets, no threads.
 *
 * Receiving: a ws_parser is fed whatever the socket read, split anywhere. It
 * drives wslay_frame_recv, checks what RFC 6455 asks of a client's frames,
 * reassembles fragmented messages and calls a handler per message, ping, pong
 * and close. The first protocol error is sticky: every later feed returns it,
 * and ws_close_code() names the close code to answer with.
 *
 * Sending: a server's frames are unmasked, so a broadcast is framed once
 * (ws_frame_header + payload in one buffer) and the same bytes go to every
 * socket. The header is written here, by hand; the unit tests prove every
 * length class byte for byte against wslay_frame_send.
 *
 * Memory per parser: about 230 bytes, plus wslay's frame context (its 4 KiB
 * input buffer) only while a frame is partly received — it is released
 * whenever a feed ends on a frame boundary — plus a reassembly buffer, never
 * over max_message, only while a message is being reassembled. A message that
 * arrives in one piece (one frame, one read) is handed over from wslay's
 * buffer without a copy; only fragmented or large messages are reassembled.
 */
#ifndef CHAT_WS_H
#define CHAT_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
    WS_OP_CONTINUATION = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/* What ws_parser_feed returns; every one but WS_OK is sticky. */
enum ws_err {
    WS_OK = 0,
    WS_ECLOSED = -1,  /* the peer sent a close frame; on_close was called */
    WS_EPROTO = -2,   /* a frame RFC 6455 forbids: answer 1002 */
    WS_EUTF8 = -3,    /* a text message or close reason not UTF-8: 1007 */
    WS_ETOOBIG = -4,  /* a message over max_message: 1009 */
    WS_ENOMEM = -5,   /* the reassembly buffer could not grow: 1011 */
    WS_ESTOPPED = -6, /* a handler returned non-zero */
};

/* Close codes of RFC 6455 section 7.4.1 that this module names. */
enum ws_close_status {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_NO_STATUS = 1005, /* reported by on_close, never sent */
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL_ERROR = 1011,
};

#define WS_HEADER_MAX 10     /* a server frame's header: 2, 4 or 10 bytes */
#define WS_CONTROL_MAX 125   /* payload of a ping, pong or close frame */
#define WS_REASON_MAX 123    /* a close reason: the control payload minus the code */
#define WS_ACCEPT_KEY_LEN 28 /* base64 of a SHA-1 digest, without the NUL */

/* Writes Sec-WebSocket-Accept for client_key[0..len) and a NUL into out.
 * Returns 0, or -1 (out untouched) unless the key is padded base64 of exactly
 * 16 bytes, as RFC 6455 section 4.1 requires. */
int ws_accept_key(const char *client_key, size_t len, char out[WS_ACCEPT_KEY_LEN + 1]);

/* Handlers, called during ws_parser_feed. Data is valid only during the call
 * and is not NUL-terminated. A handler left NULL ignores its event. A handler
 * must not feed or free the parser that called it. Returning non-zero stops
 * the parser: the feed returns WS_ESTOPPED, now and later. */
struct ws_handlers {
    /* A complete message; text is valid UTF-8. At most max_message bytes. */
    int (*on_message)(void *ctx, bool binary, const uint8_t *data, size_t len);
    /* A ping (at most WS_CONTROL_MAX bytes): the caller answers with a pong
     * carrying the same payload. */
    int (*on_ping)(void *ctx, const uint8_t *payload, size_t len);
    /* A pong, solicited or not. */
    int (*on_pong)(void *ctx);
    /* The peer's close frame: its code (WS_CLOSE_NO_STATUS when it had none)
     * and UTF-8 reason. The caller answers with a close frame and closes the
     * socket; nothing after it is read. */
    void (*on_close)(void *ctx, uint16_t code, const char *reason, size_t len);
};

struct ws_parser;

/* A parser for one connection, accepting messages of up to max_message bytes.
 * Returns NULL when out of memory. Free with ws_parser_free. */
struct ws_parser *ws_parser_new(size_t max_message);

/* Whether the parser holds no partial frame (and so no frame buffer): the
 * last feed ended on a frame boundary. A fragmented message may still be
 * pending between its frames (in its own reassembly buffer). */
bool ws_parser_idle(const struct ws_parser *p);

/* Frees the parser and any partial message. NULL-safe. */
void ws_parser_free(struct ws_parser *p);

/* Consumes data[0..len) read from the socket, any split, calling h's handlers
 * with ctx as events complete; partial frames wait inside for the next feed.
 * Returns WS_OK when all of it was consumed, or a negative ws_err: the first
 * error (or close) ends the stream, the rest of data is ignored, and every
 * later feed returns the same value without calling a handler. */
int ws_parser_feed(struct ws_parser *p, const uint8_t *data, size_t len,
                   const struct ws_handlers *h, void *ctx);

/* The close code to send after ws_parser_feed returned err: 1000 after the
 * peer's close (or WS_OK), 1002, 1007, 1009, 1011 for the errors above, and
 * 1008 for WS_ESTOPPED (a generic default; the handler that stopped knows
 * better). */
uint16_t ws_close_code(int err);

/* A short English description of a ws_err, for logs. Never NULL. */
const char *ws_strerror(int err);

/* Writes the header of a final, unmasked server frame of op carrying
 * payload_len bytes. Returns its length (2, 4 or 10), or 0 when op is
 * WS_OP_CONTINUATION or unknown, or a control frame is over WS_CONTROL_MAX. */
size_t ws_frame_header(uint8_t out[WS_HEADER_MAX], enum ws_opcode op, size_t payload_len);

/* Writes a whole frame (header + payload) into out[0..cap) and its length into
 * *outlen. payload may be NULL when len is 0. Returns 0, or -1 (out and
 * *outlen untouched) when ws_frame_header refuses or cap is too small. */
int ws_frame_build(enum ws_opcode op, const void *payload, size_t len, uint8_t *out, size_t cap,
                   size_t *outlen);

/* Writes a close frame's payload — code in network order, then reason (NUL-
 * terminated UTF-8, may be NULL) — into out[0..cap). Code 0 writes an empty
 * payload (a close without a status). Returns its length, or -1 when code may
 * not be sent (RFC 6455 section 7.4), the reason is over WS_REASON_MAX bytes
 * or not UTF-8, or cap is too small. */
int ws_close_payload(uint16_t code, const char *reason, uint8_t *out, size_t cap);

#endif
