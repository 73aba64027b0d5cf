/* outpkt: an outgoing Engine.IO packet, built once and carried by either
 * transport without a copy.  It is a shared buffer (outq.h) laid out as
 *   [0] the WebSocket header's length, [1] flags,
 *   [2 .. OUTPKT_HEAD) room for that header (right-aligned),
 *   [OUTPKT_HEAD ..] the packet: "<type digit><text>", or raw bytes.
 * So a broadcast is framed for WebSocket once, whoever it goes to, and a
 * long-poll reads the same bytes as its payload.  Pure; any thread. */
#ifndef CHATD_OUTPKT_H
#define CHATD_OUTPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eio.h"

struct sbuf;

/* A packet of type with data (text: copied after the type digit; binary:
 * the bytes as they are, the type is then ignored).  One reference; NULL on
 * OOM.  Release with sbuf_unref. */
struct sbuf *outpkt_new(enum eio_type type, bool binary, const void *data, size_t len);

/* The Engine.IO packet: "<digit>text", or the raw bytes of a binary one. */
const uint8_t *outpkt_payload(struct sbuf *b, size_t *len);
size_t outpkt_payload_len(const struct sbuf *b);
bool outpkt_binary(struct sbuf *b);

/* Where the packet's WebSocket frame (header and payload) lies in b. */
void outpkt_ws_frame(struct sbuf *b, size_t *offset, size_t *len);

#endif
