/* libFuzzer target for lib/ws: arbitrary bytes from a client, fed in one piece
 * and in random splits, must give the same events and the same result; every
 * event must keep the parser's promises (limits, UTF-8); an error must stay
 * sticky and silent; and the events, framed again (ws_frame_header with the
 * mask bit and a zero key), must parse back to the same events.
 *
 * Input: byte 0 seeds the splits and picks a handler that stops the parser,
 * byte 1 picks max_message, the rest is the stream. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "ws.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MASK_KEY_LEN 4
#define FRAME_OVERHEAD (WS_HEADER_MAX + MASK_KEY_LEN)

static const size_t max_messages[8] = {0, 1, 5, 125, 126, 200, 4096, 65536};

struct run {
    size_t max_message;
    unsigned stop_at; /* the handler of this event (1-based) stops; 0: never */
    unsigned events;
    uint64_t digest;
    bool sealed; /* the parser failed: no handler may run again */
    /* The events framed again as a client would send them; NULL: don't. */
    uint8_t *echo;
    size_t echo_len, echo_cap;
};

static void mix(struct run *r, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        r->digest = (r->digest ^ p[i]) * 1099511628211ull;
}

static void echo_frame(struct run *r, enum ws_opcode op, const uint8_t *data, size_t len)
{
    CHECK(!r->sealed); /* every handler starts here */
    if (r->echo == NULL)
        return;
    CHECK(r->echo_cap - r->echo_len >= FRAME_OVERHEAD + len);
    uint8_t *out = r->echo + r->echo_len;
    size_t n = ws_frame_header(out, op, len);
    CHECK(n == 2 || n == 4 || n == 10);
    out[1] |= 0x80; /* masked, with a key of zeros: the payload as is */
    memset(out + n, 0, MASK_KEY_LEN);
    if (len > 0)
        memcpy(out + n + MASK_KEY_LEN, data, len);
    r->echo_len += n + MASK_KEY_LEN + len;
}

/* Records one event; returns whether its handler stops the parser. */
static int event(struct run *r, uint8_t type, const uint8_t *data, size_t len)
{
    r->events++;
    mix(r, &type, 1);
    mix(r, &len, sizeof len);
    if (len > 0)
        mix(r, data, len);
    return r->events == r->stop_at;
}

static int on_message(void *ctx, bool binary, const uint8_t *data, size_t len)
{
    struct run *r = ctx;
    CHECK(len <= r->max_message);
    CHECK(binary || store_utf8_valid((const char *)data, len, NULL));
    echo_frame(r, binary ? WS_OP_BINARY : WS_OP_TEXT, data, len);
    return event(r, binary ? 'B' : 'T', data, len);
}

static int on_ping(void *ctx, const uint8_t *payload, size_t len)
{
    CHECK(len <= WS_CONTROL_MAX);
    echo_frame(ctx, WS_OP_PING, payload, len);
    return event(ctx, 'I', payload, len);
}

static int on_pong(void *ctx)
{
    echo_frame(ctx, WS_OP_PONG, NULL, 0);
    return event(ctx, 'O', NULL, 0);
}

static void on_close(void *ctx, uint16_t code, const char *reason, size_t len)
{
    struct run *r = ctx;
    CHECK(len <= WS_REASON_MAX);
    CHECK(store_utf8_valid(reason, len, NULL));
    CHECK(code == WS_CLOSE_NO_STATUS || (code >= 1000 && code <= 4999));
    if (code == WS_CLOSE_NO_STATUS) {
        CHECK(len == 0);
        echo_frame(r, WS_OP_CLOSE, NULL, 0);
    } else {
        uint8_t payload[WS_CONTROL_MAX];
        char z[WS_REASON_MAX + 1];
        memcpy(z, reason, len);
        z[len] = '\0';
        int n = memchr(reason, '\0', len) == NULL
                    ? ws_close_payload(code, z, payload, sizeof payload)
                    : -1;
        /* A reason with a NUL cannot be a C string: send its bytes by hand. */
        if (n < 0) {
            payload[0] = (uint8_t)(code >> 8);
            payload[1] = (uint8_t)code;
            memcpy(payload + 2, reason, len);
            n = (int)(2 + len);
        }
        CHECK((size_t)n == 2 + len);
        echo_frame(r, WS_OP_CLOSE, payload, (size_t)n);
    }
    uint16_t be = code;
    event(r, 'C', (const uint8_t *)&be, sizeof be);
    mix(r, reason, len);
}

static const struct ws_handlers handlers = {on_message, on_ping, on_pong, on_close};

/* Feeds in[0..len) in pieces whose sizes come from seed (0: one piece), each
 * an exact-size heap copy so ASan sees reads past it. Returns the result. */
static int feed(struct run *r, const uint8_t *in, size_t len, uint32_t seed)
{
    struct ws_parser *p = ws_parser_new(r->max_message);
    CHECK(p != NULL);
    int rc = WS_OK;
    size_t off = 0;
    uint32_t x = seed | 1;
    do {
        size_t n = len - off;
        if (seed != 0) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
            size_t piece = x % 4 == 0 ? x % 300 : x % 8;
            if (piece < n)
                n = piece;
        }
        uint8_t *copy = malloc(n + 1);
        CHECK(copy != NULL);
        memcpy(copy, in + off, n);
        rc = ws_parser_feed(p, copy, n, &handlers, r);
        free(copy);
        off += n;
    } while (rc == WS_OK && off < len);
    if (rc != WS_OK) {
        r->sealed = true;
        CHECK(ws_parser_feed(p, in, len, &handlers, r) == rc);
        CHECK(ws_close_code(rc) >= 1000);
    }
    ws_parser_free(p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const uint8_t *in = data + 2;
    size_t len = size - 2;
    size_t max_message = max_messages[data[1] & 7];
    unsigned stop_at = data[0] >> 5; /* 0 (never) most of the time... */
    uint32_t seed = data[0] & 0x1f ? data[0] * 2654435761u : 1;

    /* Each event framed again costs at most its payload and FRAME_OVERHEAD,
     * and every event took at least 6 bytes of input (a masked header). */
    struct run whole = {.max_message = max_message, .stop_at = stop_at};
    whole.echo_cap = len + (len / 6 + 1) * FRAME_OVERHEAD;
    whole.echo = malloc(whole.echo_cap);
    CHECK(whole.echo != NULL);
    int rc = feed(&whole, in, len, 0);

    struct run split = {.max_message = max_message, .stop_at = stop_at};
    CHECK(feed(&split, in, len, seed) == rc);
    CHECK(split.events == whole.events && split.digest == whole.digest);

    /* The echo holds the events up to the one that ended the stream. */
    struct run again = {.max_message = max_message, .stop_at = stop_at};
    int want = rc == WS_ECLOSED || rc == WS_ESTOPPED ? rc : WS_OK;
    CHECK(feed(&again, whole.echo, whole.echo_len, seed) == want);
    CHECK(again.events == whole.events && again.digest == whole.digest);

    free(whole.echo);
    return 0;
}
