/* outpkt: outgoing Engine.IO packets framed once (see outpkt.h). */
#include "outpkt.h"

#include <string.h>

#include "outq.h"
#include "ws.h"

#define OUTPKT_HEAD 12
#define OUTPKT_BINARY 0x01

struct sbuf *outpkt_new(enum eio_type type, bool binary, const void *data, size_t len)
{
    size_t body = binary ? len : len + 1;
    struct sbuf *b = sbuf_new(OUTPKT_HEAD + body);
    if (!b)
        return NULL;
    uint8_t *d = sbuf_data(b);
    uint8_t *payload = d + OUTPKT_HEAD;
    if (binary) {
        if (len)
            memcpy(payload, data, len);
    } else {
        payload[0] = (uint8_t)('0' + type);
        if (len)
            memcpy(payload + 1, data, len);
    }
    uint8_t header[WS_HEADER_MAX];
    size_t h = ws_frame_header(header, binary ? WS_OP_BINARY : WS_OP_TEXT, body);
    d[0] = (uint8_t)h;
    d[1] = binary ? OUTPKT_BINARY : 0;
    memcpy(payload - h, header, h);
    return b;
}

const uint8_t *outpkt_payload(struct sbuf *b, size_t *len)
{
    *len = outpkt_payload_len(b);
    return (const uint8_t *)sbuf_data(b) + OUTPKT_HEAD;
}

size_t outpkt_payload_len(const struct sbuf *b)
{
    return sbuf_len(b) - OUTPKT_HEAD;
}

bool outpkt_binary(struct sbuf *b)
{
    return ((const uint8_t *)sbuf_data(b))[1] & OUTPKT_BINARY;
}

void outpkt_ws_frame(struct sbuf *b, size_t *offset, size_t *len)
{
    size_t h = ((const uint8_t *)sbuf_data(b))[0];
    *offset = OUTPKT_HEAD - h;
    *len = sbuf_len(b) - OUTPKT_HEAD + h;
}
