/* Unit tests for lib/ws, byte for byte in the manner of wslay's own tests:
 * scripted client frames go in (the RFC 6455 section 5.7 examples, and frames
 * masked by wslay_frame_send itself), split at every byte boundary, and the
 * events that come out are compared with the expected log. Server frame
 * headers are compared with literal bytes and with wslay_frame_send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wslay/wslay.h>

#include "ws.h"

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1 /* a literal and its length */
#define STREAM_MAX (1u << 17)                          /* bytes of scripted client frames */
#define LOG_MAX 4096                                   /* bytes of one event log */
#define SHOWN_MAX 32                                   /* longer payloads are logged as a hash */
#define BIG 65536                                      /* the RFC's 64 KiB example */
#define MAX_MESSAGE (BIG + 1024)

/* The mask key of the RFC 6455 section 5.7 examples. */
static const uint8_t rfc_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/* ---- scripted client frames, masked by wslay ---- */

struct stream {
    uint8_t bytes[STREAM_MAX];
    size_t len;
    /* Where frames end, when every frame went in through put(): there, and
     * only there, a parser holds no partial frame (ws_parser_idle). */
    bool frame_end[STREAM_MAX + 1];
    bool raw; /* bytes went in through put_raw: frame ends unknown */
};

static ssize_t stream_send(const uint8_t *data, size_t len, int flags, void *user)
{
    struct stream *s = user;
    (void)flags;
    assert_true(len <= STREAM_MAX - s->len);
    memcpy(s->bytes + s->len, data, len);
    s->len += len;
    return (ssize_t)len;
}

static int rfc_genmask(uint8_t *buf, size_t len, void *user)
{
    (void)user;
    assert_int_equal(len, 4);
    memcpy(buf, rfc_mask, 4);
    return 0;
}

/* Appends one frame as a client sends it (masked), or as a server does. */
static void put_frame(struct stream *s, bool fin, uint8_t op, const void *data, size_t len,
                      bool masked)
{
    static const struct wslay_frame_callbacks cb = {stream_send, NULL, rfc_genmask};
    wslay_frame_context_ptr w;
    assert_int_equal(wslay_frame_context_init(&w, &cb, s), 0);
    struct wslay_frame_iocb io = {.fin = fin,
                                  .opcode = op,
                                  .mask = masked,
                                  .payload_length = len,
                                  .data = data,
                                  .data_length = len};
    assert_int_equal(wslay_frame_send(w, &io), (ssize_t)len);
    wslay_frame_context_free(w);
    s->frame_end[s->len] = true;
}

static void put(struct stream *s, bool fin, uint8_t op, const void *data, size_t len)
{
    put_frame(s, fin, op, data, len, true);
}

static void put_raw(struct stream *s, const uint8_t *bytes, size_t len)
{
    assert_true(len <= STREAM_MAX - s->len);
    memcpy(s->bytes + s->len, bytes, len);
    s->len += len;
    s->raw = true;
}

/* Empties s for a new script. */
static void stream_reset(struct stream *s)
{
    memset(s->frame_end, 0, sizeof s->frame_end);
    s->frame_end[0] = true;
    s->raw = false;
    s->len = 0;
}

static struct stream *stream_new(void)
{
    struct stream *s = calloc(1, sizeof *s);
    assert_non_null(s);
    stream_reset(s);
    return s;
}

/* ---- the event log ---- */

struct rec {
    char log[LOG_MAX];
    size_t len;
    bool stop_on_message; /* on_message returns 1 */
};

static void logf_(struct rec *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->log + r->len, LOG_MAX - r->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < LOG_MAX - r->len);
    r->len += (size_t)n;
}

static uint32_t fnv1a(const uint8_t *p, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void log_bytes(struct rec *r, const uint8_t *p, size_t len)
{
    if (len <= SHOWN_MAX)
        logf_(r, "%zu:%.*s", len, (int)len, (const char *)p);
    else
        logf_(r, "%zu#%08x", len, fnv1a(p, len));
}

static int on_message(void *ctx, bool binary, const uint8_t *data, size_t len)
{
    struct rec *r = ctx;
    logf_(r, binary ? "B" : "T");
    log_bytes(r, data, len);
    logf_(r, "|");
    return r->stop_on_message;
}

static int on_ping(void *ctx, const uint8_t *payload, size_t len)
{
    struct rec *r = ctx;
    assert_true(len <= WS_CONTROL_MAX);
    logf_(r, "PING");
    log_bytes(r, payload, len);
    logf_(r, "|");
    return 0;
}

static int on_pong(void *ctx)
{
    logf_(ctx, "PONG|");
    return 0;
}

static void on_close(void *ctx, uint16_t code, const char *reason, size_t len)
{
    logf_(ctx, "CLOSE%u:%.*s|", code, (int)len, reason);
}

static const struct ws_handlers handlers = {on_message, on_ping, on_pong, on_close};

/* ---- feeding in pieces ---- */

/* Feeds s in the pieces between cuts[0..ncuts) (increasing offsets), each from
 * an exact-size heap copy so AddressSanitizer sees any read past it. Checks
 * that an error is sticky and silent. Returns the first non-OK result. */
static int feed_pieces(const struct stream *s, const size_t *cuts, size_t ncuts, size_t max_message,
                       struct rec *r)
{
    struct ws_parser *p = ws_parser_new(max_message);
    assert_non_null(p);
    int rc = WS_OK;
    size_t from = 0;
    for (size_t i = 0; i <= ncuts && rc == WS_OK; i++) {
        size_t to = i < ncuts ? cuts[i] : s->len;
        uint8_t *piece = malloc(to - from + 1);
        assert_non_null(piece);
        memcpy(piece, s->bytes + from, to - from);
        rc = ws_parser_feed(p, piece, to - from, &handlers, r);
        free(piece);
        from = to;
        /* The frame buffer is released exactly at frame boundaries. */
        if (rc == WS_OK && !s->raw)
            assert_int_equal(ws_parser_idle(p), s->frame_end[to]);
    }
    if (rc != WS_OK) {
        size_t before = r->len;
        static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                        0x7f, 0x9f, 0x4d, 0x51, 0x58};
        assert_int_equal(ws_parser_feed(p, hello, sizeof hello, &handlers, r), rc);
        assert_int_equal(ws_parser_feed(p, NULL, 0, &handlers, r), rc);
        assert_int_equal(r->len, before);
    }
    ws_parser_free(p);
    return rc;
}

static void expect_run(const struct stream *s, const size_t *cuts, size_t ncuts, size_t max_message,
                       int want_rc, const char *want_log)
{
    struct rec r = {0};
    int rc = feed_pieces(s, cuts, ncuts, max_message, &r);
    assert_string_equal(r.log, want_log);
    assert_int_equal(rc, want_rc);
}

/* The same result for the stream in one piece, split in two at every offset
 * (every 97th past the first and last 64 bytes of a long stream), in three at
 * every pair of offsets (short streams), and one byte at a time. */
static void expect_splits(const struct stream *s, size_t max_message, int want_rc,
                          const char *want_log)
{
    expect_run(s, NULL, 0, max_message, want_rc, want_log);
    for (size_t k = 0; k <= s->len; k++) {
        if (k > 64 && k + 64 < s->len && k % 97 != 0)
            continue;
        expect_run(s, &k, 1, max_message, want_rc, want_log);
    }
    if (s->len <= 64) {
        for (size_t i = 0; i <= s->len; i++)
            for (size_t j = i; j <= s->len; j++)
                expect_run(s, (size_t[]){i, j}, 2, max_message, want_rc, want_log);
    }
    size_t *every = malloc(s->len * sizeof *every + 1);
    assert_non_null(every);
    for (size_t i = 0; i < s->len; i++)
        every[i] = i + 1;
    expect_run(s, every, s->len, max_message, want_rc, want_log);
    free(every);
}

static void expect_bytes(const uint8_t *bytes, size_t len, size_t max_message, int want_rc,
                         const char *want_log)
{
    struct stream *s = stream_new();
    put_raw(s, bytes, len);
    expect_splits(s, max_message, want_rc, want_log);
    free(s);
}

/* ---- Sec-WebSocket-Accept ---- */

static void test_accept_key_rfc(void **state)
{
    (void)state;
    char out[WS_ACCEPT_KEY_LEN + 1];
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /* The example of RFC 6455 section 1.2 is the same nonce; a second one: */
    assert_int_equal(ws_accept_key("x3JJHMbDL1EzLkh9GBhXDw==", 24, out), 0);
    assert_string_equal(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

static void test_accept_key_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "dGhlIHNhbXBsZSBub25jZQ=",      /* 23 chars */
        "dGhlIHNhbXBsZSBub25jZQ===",    /* 25 */
        "dGhlIHNhbXBsZSBub25jZQAA",     /* 24 chars, 18 bytes */
        "dGhlIHNhbXBsZSBub25jZR==",     /* non-zero bits under the padding */
        "dGhlIHNhbXBsZSBub25jZQ-_",     /* base64url */
        "dGhlIHNhbXBsZSBub25j ZQ=",     /* a space inside */
        "dGhlIHNhbXBsZSBub25jZ===",     /* 15 bytes and junk */
        "ZGhlIHNhbXBsZSBub25jZQ",       /* unpadded */
        "dGhlIHNhbXBsZSBub25jZQ==\r\n", /* not trimmed */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[WS_ACCEPT_KEY_LEN + 1] = "untouched";
        assert_int_equal(ws_accept_key(bad[i], strlen(bad[i]), out), -1);
        assert_string_equal(out, "untouched");
    }
    char out[WS_ACCEPT_KEY_LEN + 1];
    /* The length is the caller's: a longer buffer is not read past it. */
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==junk", 24, out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(ws_accept_key(NULL, 24, out), -1);
}

/* ---- receiving: the RFC 6455 section 5.7 examples ---- */

/* A single-frame masked text message "Hello", as the RFC writes it. */
static const uint8_t rfc_masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                           0x7f, 0x9f, 0x4d, 0x51, 0x58};

static void test_masked_hello(void **state)
{
    (void)state;
    expect_bytes(rfc_masked_hello, sizeof rfc_masked_hello, 64, WS_OK, "T5:Hello|");

    /* wslay masks it the same way, byte for byte. */
    struct stream *s = stream_new();
    put(s, true, WS_OP_TEXT, "Hello", 5);
    assert_int_equal(s->len, sizeof rfc_masked_hello);
    assert_memory_equal(s->bytes, rfc_masked_hello, sizeof rfc_masked_hello);
    free(s);
}

static void test_unmasked_is_refused(void **state)
{
    (void)state;
    /* The RFC's unmasked "Hello": what a server sends, never a client. */
    static const uint8_t hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    expect_bytes(hello, sizeof hello, 64, WS_EPROTO, "");
    assert_int_equal(ws_close_code(WS_EPROTO), 1002);
    /* An unmasked empty frame is refused as soon as its header is in. */
    expect_bytes((const uint8_t[]){0x81, 0x00}, 2, 64, WS_EPROTO, "");
}

static void test_fragmented_hello(void **state)
{
    (void)state;
    struct stream *s = stream_new();
    put(s, false, WS_OP_TEXT, "Hel", 3);
    put(s, true, WS_OP_CONTINUATION, "lo", 2);
    /* The RFC's fragments, masked with its key. */
    static const uint8_t want[] = {0x01, 0x83, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d,
                                   0x80, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x5b, 0x95};
    assert_int_equal(s->len, sizeof want);
    assert_memory_equal(s->bytes, want, sizeof want);
    expect_splits(s, 64, WS_OK, "T5:Hello|");
    free(s);
}

static void test_ping_pong(void **state)
{
    (void)state;
    struct stream *s = stream_new();
    put(s, true, WS_OP_PING, "Hello", 5);
    /* The RFC's masked pong "Hello". */
    put_raw(s, (const uint8_t[]){0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
            11);
    put(s, true, WS_OP_PING, "", 0);
    expect_splits(s, 64, WS_OK, "PING5:Hello|PONG|PING0:|");
    free(s);
}

static void test_binary_16bit_length(void **state)
{
    (void)state;
    uint8_t data[256];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)i;
    struct stream *s = stream_new();
    put(s, true, WS_OP_BINARY, data, sizeof data);
    /* 0x82 0xFE 0x0100 (masked), as the RFC's 256-byte example plus the mask bit. */
    assert_memory_equal(s->bytes, ((const uint8_t[]){0x82, 0xfe, 0x01, 0x00}), 4);
    char want[64];
    snprintf(want, sizeof want, "B256#%08x|", fnv1a(data, sizeof data));
    expect_splits(s, 256, WS_OK, want);
    expect_splits(s, 255, WS_ETOOBIG, "");
    free(s);
}

static void test_binary_64bit_length(void **state)
{
    (void)state;
    uint8_t *data = malloc(BIG);
    assert_non_null(data);
    for (size_t i = 0; i < BIG; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 8));
    struct stream *s = stream_new();
    put(s, true, WS_OP_BINARY, data, BIG);
    assert_memory_equal(s->bytes, ((const uint8_t[]){0x82, 0xff, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}),
                        10);
    char want[64];
    snprintf(want, sizeof want, "B65536#%08x|", fnv1a(data, BIG));
    expect_splits(s, BIG, WS_OK, want);
    expect_run(s, NULL, 0, BIG - 1, WS_ETOOBIG, "");
    free(s);
    free(data);
}

static void test_interleaved_control(void **state)
{
    (void)state;
    struct stream *s = stream_new();
    put(s, false, WS_OP_TEXT, "Hel", 3);
    put(s, true, WS_OP_PING, "Hello", 5);
    put(s, false, WS_OP_CONTINUATION, "l", 1);
    put(s, true, WS_OP_PONG, "", 0);
    put(s, true, WS_OP_CONTINUATION, "o", 1);
    put(s, true, WS_OP_BINARY, "\x01\x02", 2);
    expect_splits(s, 64, WS_OK, "PING5:Hello|PONG|T5:Hello|B2:\x01\x02|");
    free(s);
}

static void test_empty_messages(void **state)
{
    (void)state;
    struct stream *s = stream_new();
    put(s, true, WS_OP_TEXT, "", 0);
    put(s, true, WS_OP_BINARY, "", 0);
    put(s, false, WS_OP_TEXT, "", 0);
    put(s, false, WS_OP_CONTINUATION, "", 0);
    put(s, true, WS_OP_CONTINUATION, "", 0);
    put(s, false, WS_OP_BINARY, "", 0);
    put(s, true, WS_OP_CONTINUATION, "x", 1);
    expect_splits(s, 0 + 1, WS_OK, "T0:|B0:|T0:|B1:x|");
    free(s);
}

/* A multi-byte character cut between fragments is valid once whole. */
static void test_utf8_across_fragments(void **state)
{
    (void)state;
    struct stream *s = stream_new();
    put(s, false, WS_OP_TEXT, "\xe2", 1);
    put(s, false, WS_OP_CONTINUATION, "\x82", 1);
    put(s, true, WS_OP_CONTINUATION, "\xac!", 2);
    expect_splits(s, 4, WS_OK, "T4:\xe2\x82\xac!|");
    free(s);
}

/* ---- receiving: close ---- */

static void test_close(void **state)
{
    (void)state;
    uint8_t payload[WS_CONTROL_MAX];
    int n = ws_close_payload(1000, "bye", payload, sizeof payload);
    assert_int_equal(n, 5);

    struct stream *s = stream_new();
    put(s, true, WS_OP_TEXT, "Hello", 5);
    put(s, true, WS_OP_CLOSE, payload, (size_t)n);
    put(s, true, WS_OP_TEXT, "after", 5); /* never read */
    expect_splits(s, 64, WS_ECLOSED, "T5:Hello|CLOSE1000:bye|");
    assert_int_equal(ws_close_code(WS_ECLOSED), 1000);

    stream_reset(s);
    put(s, true, WS_OP_CLOSE, "", 0);
    expect_splits(s, 64, WS_ECLOSED, "CLOSE1005:|");

    /* Every code an endpoint may send is accepted. */
    static const uint16_t ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                  1010, 1011, 1012, 1013, 1014, 3000, 4999};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        stream_reset(s);
        put(s, true, WS_OP_CLOSE, (const uint8_t[]){ok[i] >> 8, ok[i] & 0xff}, 2);
        char want[32];
        snprintf(want, sizeof want, "CLOSE%u:|", ok[i]);
        expect_run(s, NULL, 0, 64, WS_ECLOSED, want);
    }
    free(s);
}

static void test_close_invalid(void **state)
{
    (void)state;
    struct stream *s = stream_new();
    /* A one-byte body, and codes that may not be sent. */
    put(s, true, WS_OP_CLOSE, "\x03", 1);
    expect_splits(s, 64, WS_EPROTO, "");
    static const uint16_t bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        stream_reset(s);
        put(s, true, WS_OP_CLOSE, (const uint8_t[]){bad[i] >> 8, bad[i] & 0xff}, 2);
        expect_run(s, NULL, 0, 64, WS_EPROTO, "");
    }
    /* A reason that is not UTF-8. */
    stream_reset(s);
    put(s, true, WS_OP_CLOSE, "\x03\xe8\xc0\xaf", 4);
    expect_splits(s, 64, WS_EUTF8, "");
    free(s);
}

/* ---- receiving: protocol errors ---- */

static void test_protocol_errors(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint8_t bytes[16];
        size_t len;
    } cases[] = {
        {"RSV1 set", {0xc1, 0x80, 1, 2, 3, 4}, 6},
        {"RSV2 set", {0xa1, 0x81, 1, 2, 3, 4, 'x'}, 7},
        {"RSV3 set", {0x91, 0x80, 1, 2, 3, 4}, 6},
        {"opcode 3", {0x83, 0x80, 1, 2, 3, 4}, 6},
        {"opcode 7", {0x87, 0x81, 1, 2, 3, 4, 'x'}, 7},
        {"opcode 0xB", {0x8b, 0x80, 1, 2, 3, 4}, 6},
        {"opcode 0xF", {0x8f, 0x80, 1, 2, 3, 4}, 6},
        {"ping of 126 bytes", {0x89, 0xfe, 0x00, 0x7e}, 4},
        {"fragmented ping", {0x09, 0x80, 1, 2, 3, 4}, 6},
        {"fragmented close", {0x08, 0x80, 1, 2, 3, 4}, 6},
        {"continuation first", {0x80, 0x81, 1, 2, 3, 4, 'x'}, 7},
        {"16-bit length under 126", {0x81, 0xfe, 0x00, 0x7d}, 4},
        {"64-bit length under 65536", {0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 10},
        {"64-bit length with its top bit", {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10},
        {"unmasked binary", {0x82, 0x01, 'x'}, 3},
        {"unmasked close", {0x88, 0x00}, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case: %s\n", cases[i].what);
        expect_bytes(cases[i].bytes, cases[i].len, 64, WS_EPROTO, "");
    }

    /* A new data frame inside a fragmented message. */
    struct stream *s = stream_new();
    put(s, false, WS_OP_TEXT, "Hel", 3);
    put(s, true, WS_OP_TEXT, "lo", 2);
    expect_splits(s, 64, WS_EPROTO, "");
    stream_reset(s);
    put(s, false, WS_OP_BINARY, "a", 1);
    put(s, true, WS_OP_PING, "p", 1);
    put(s, true, WS_OP_BINARY, "b", 1);
    expect_splits(s, 64, WS_EPROTO, "PING1:p|");
    /* A continuation after the message ended. */
    stream_reset(s);
    put(s, true, WS_OP_TEXT, "Hello", 5);
    put(s, true, WS_OP_CONTINUATION, "!", 1);
    expect_splits(s, 64, WS_EPROTO, "T5:Hello|");
    /* Events before the error are delivered; nothing after it. */
    stream_reset(s);
    put(s, true, WS_OP_PING, "1", 1);
    put_raw(s, (const uint8_t[]){0xc1, 0x80, 1, 2, 3, 4}, 6);
    put(s, true, WS_OP_PING, "2", 1);
    expect_splits(s, 64, WS_EPROTO, "PING1:1|");
    free(s);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    static const char *bad[] = {
        "\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ok\xe2\x82",
    };
    struct stream *s = stream_new();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        stream_reset(s);
        put(s, true, WS_OP_TEXT, bad[i], strlen(bad[i]));
        expect_splits(s, 64, WS_EUTF8, "");
    }
    /* The same bytes in a binary message are just bytes. */
    stream_reset(s);
    put(s, true, WS_OP_BINARY, "\xff", 1);
    expect_splits(s, 64, WS_OK, "B1:\xff|");
    /* Fragmented: checked once whole. */
    stream_reset(s);
    put(s, false, WS_OP_TEXT, "ok", 2);
    put(s, true, WS_OP_CONTINUATION, "\xe2\x82", 2);
    expect_splits(s, 64, WS_EUTF8, "");
    assert_int_equal(ws_close_code(WS_EUTF8), 1007);
    free(s);
}

static void test_max_message(void **state)
{
    (void)state;
    struct stream *s = stream_new();
    /* Exactly the limit, in one frame and in fragments. */
    put(s, true, WS_OP_TEXT, "12345", 5);
    put(s, false, WS_OP_TEXT, "12", 2);
    put(s, true, WS_OP_CONTINUATION, "345", 3);
    expect_splits(s, 5, WS_OK, "T5:12345|T5:12345|");
    /* One byte more: refused on the header of the frame that crosses it. */
    stream_reset(s);
    put(s, true, WS_OP_TEXT, "123456", 6);
    expect_splits(s, 5, WS_ETOOBIG, "");
    stream_reset(s);
    put(s, false, WS_OP_TEXT, "123", 3);
    put(s, true, WS_OP_PING, "", 0);
    put(s, true, WS_OP_CONTINUATION, "456", 3);
    expect_splits(s, 5, WS_ETOOBIG, "PING0:|");
    /* Control frames do not count against it. */
    stream_reset(s);
    put(s, true, WS_OP_PING, "0123456789", 10);
    expect_splits(s, 0, WS_OK, "PING10:0123456789|");
    /* A header announcing 2^62 bytes is refused before any payload arrives. */
    expect_bytes((const uint8_t[]){0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 'x'}, 15,
                 MAX_MESSAGE, WS_ETOOBIG, "");
    assert_int_equal(ws_close_code(WS_ETOOBIG), 1009);
    free(s);
}

/* Many fragments of a big message grow the buffer, freed once delivered; the same again. */
static void test_many_fragments(void **state)
{
    (void)state;
    struct stream *s = stream_new();
    uint8_t piece[1000];
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < 40; i++) {
            memset(piece, 'a' + (int)i % 26, sizeof piece);
            put(s, i == 39, i == 0 ? WS_OP_TEXT : WS_OP_CONTINUATION, piece, sizeof piece);
        }
        put(s, true, WS_OP_TEXT, "small", 5);
    }
    struct rec r = {0};
    assert_int_equal(feed_pieces(s, NULL, 0, 40000, &r), WS_OK);
    char one[64];
    uint8_t *whole = malloc(40000);
    assert_non_null(whole);
    for (size_t i = 0; i < 40; i++)
        memset(whole + i * 1000, 'a' + (int)i % 26, 1000);
    snprintf(one, sizeof one, "T40000#%08x|T5:small|", fnv1a(whole, 40000));
    char want[128];
    snprintf(want, sizeof want, "%s%s", one, one);
    assert_string_equal(r.log, want);
    expect_run(s, NULL, 0, 39999, WS_ETOOBIG, "");
    free(whole);
    free(s);
}

static void test_handler_stop(void **state)
{
    (void)state;
    struct stream *s = stream_new();
    put(s, true, WS_OP_TEXT, "one", 3);
    put(s, true, WS_OP_TEXT, "two", 3);
    struct ws_parser *p = ws_parser_new(64);
    assert_non_null(p);
    struct rec r = {.stop_on_message = true};
    assert_int_equal(ws_parser_feed(p, s->bytes, s->len, &handlers, &r), WS_ESTOPPED);
    assert_string_equal(r.log, "T3:one|");
    assert_int_equal(ws_parser_feed(p, s->bytes, s->len, &handlers, &r), WS_ESTOPPED);
    assert_string_equal(r.log, "T3:one|");
    assert_int_equal(ws_close_code(WS_ESTOPPED), 1008);
    ws_parser_free(p);

    /* No handlers at all: events are consumed and dropped. */
    p = ws_parser_new(64);
    assert_non_null(p);
    assert_int_equal(ws_parser_feed(p, s->bytes, s->len, NULL, NULL), WS_OK);
    assert_int_equal(ws_parser_feed(p, s->bytes, s->len, &(struct ws_handlers){0}, NULL), WS_OK);
    ws_parser_free(p);
    ws_parser_free(NULL);
    free(s);
}

/* Every length class, text and binary, in 1 to 3 fragments, round-trips. */
static void test_round_trip_lengths(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 124, 125, 126, 127, 4095, 4096, 4097, 65535, 65536, 70000};
    uint8_t *data = malloc(70000);
    assert_non_null(data);
    for (size_t i = 0; i < 70000; i++)
        data[i] = (uint8_t)('a' + i % 26);
    struct stream *s = stream_new();
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (size_t parts = 1; parts <= 3; parts++) {
            size_t n = lens[i];
            bool binary = (i + parts) % 2;
            stream_reset(s);
            size_t off = 0;
            for (size_t k = 0; k < parts; k++) {
                size_t len = k + 1 == parts ? n - off : n / parts;
                put(s, k + 1 == parts,
                    k == 0 ? (binary ? WS_OP_BINARY : WS_OP_TEXT) : WS_OP_CONTINUATION, data + off,
                    len);
                off += len;
            }
            struct rec want = {0};
            logf_(&want, binary ? "B" : "T");
            log_bytes(&want, data, n);
            logf_(&want, "|");
            expect_run(s, NULL, 0, 70000, WS_OK, want.log);
            expect_run(s, (size_t[]){1, s->len / 2, s->len - 1}, 3, 70000, WS_OK, want.log);
        }
    }
    free(s);
    free(data);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int e = WS_ESTOPPED; e <= WS_OK; e++)
        assert_string_not_equal(ws_strerror(e), ws_strerror(-100));
    assert_non_null(ws_strerror(1));
    assert_int_equal(ws_close_code(WS_OK), 1000);
    assert_int_equal(ws_close_code(WS_ENOMEM), 1011);
}

/* ---- sending ---- */

/* What wslay_frame_send writes for the header of an unmasked final frame. */
struct header {
    uint8_t bytes[WS_HEADER_MAX];
    size_t len;
};

static ssize_t header_send(const uint8_t *data, size_t len, int flags, void *user)
{
    struct header *h = user;
    (void)flags;
    assert_true(len <= WS_HEADER_MAX - h->len);
    memcpy(h->bytes + h->len, data, len);
    h->len += len;
    return (ssize_t)len;
}

static struct header wslay_header(uint8_t op, uint64_t len)
{
    static const struct wslay_frame_callbacks cb = {header_send, NULL, NULL};
    struct header h = {.len = 0};
    wslay_frame_context_ptr w;
    assert_int_equal(wslay_frame_context_init(&w, &cb, &h), 0);
    /* No payload given: wslay writes the header and returns 0 payload bytes. */
    struct wslay_frame_iocb io = {.fin = 1, .opcode = op, .payload_length = len};
    assert_int_equal(wslay_frame_send(w, &io), 0);
    wslay_frame_context_free(w);
    return h;
}

static void expect_header_as_wslay(uint8_t op, uint64_t len)
{
    uint8_t got[WS_HEADER_MAX];
    size_t n = ws_frame_header(got, op, (size_t)len);
    assert_int_equal(n, len < 126 ? 2 : len < 65536 ? 4 : 10);
    struct header theirs = wslay_header(op, len);
    assert_int_equal(n, theirs.len);
    assert_memory_equal(got, theirs.bytes, n);
}

static void test_frame_header_classes(void **state)
{
    (void)state;
    static const struct {
        uint8_t op;
        size_t len;
        uint8_t want[WS_HEADER_MAX];
        size_t want_len;
    } cases[] = {
        /* The RFC 6455 section 5.7 examples. */
        {WS_OP_TEXT, 5, {0x81, 0x05}, 2},
        {WS_OP_PING, 5, {0x89, 0x05}, 2},
        {WS_OP_BINARY, 256, {0x82, 0x7e, 0x01, 0x00}, 4},
        {WS_OP_BINARY, 65536, {0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}, 10},
        /* Each boundary between the length classes. */
        {WS_OP_TEXT, 0, {0x81, 0x00}, 2},
        {WS_OP_TEXT, 125, {0x81, 0x7d}, 2},
        {WS_OP_TEXT, 126, {0x81, 0x7e, 0x00, 0x7e}, 4},
        {WS_OP_TEXT, 127, {0x81, 0x7e, 0x00, 0x7f}, 4},
        {WS_OP_TEXT, 65535, {0x81, 0x7e, 0xff, 0xff}, 4},
        {WS_OP_TEXT, 65537, {0x81, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x01}, 10},
        {WS_OP_BINARY,
         0x0123456789abcdefull,
         {0x82, 0x7f, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef},
         10},
        {WS_OP_BINARY,
         0x7fffffffffffffffull,
         {0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
         10},
        {WS_OP_CLOSE, 0, {0x88, 0x00}, 2},
        {WS_OP_CLOSE, 125, {0x88, 0x7d}, 2},
        {WS_OP_PONG, 125, {0x8a, 0x7d}, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t got[WS_HEADER_MAX];
        size_t n = ws_frame_header(got, cases[i].op, cases[i].len);
        assert_int_equal(n, cases[i].want_len);
        assert_memory_equal(got, cases[i].want, n);
        expect_header_as_wslay(cases[i].op, cases[i].len);
    }
    /* Every length up to past the 64-bit class, and the 32-bit edges. */
    for (uint64_t len = 0; len <= 70000; len++)
        expect_header_as_wslay(WS_OP_BINARY, len);
    static const uint64_t edges[] = {0xffffffffull, 0x100000000ull, 0x100000001ull,
                                     0x7fffffffffffffffull};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        expect_header_as_wslay(WS_OP_TEXT, edges[i]);
}

static void test_frame_header_invalid(void **state)
{
    (void)state;
    uint8_t out[WS_HEADER_MAX] = {0};
    assert_int_equal(ws_frame_header(out, WS_OP_PING, 126), 0);
    assert_int_equal(ws_frame_header(out, WS_OP_CLOSE, 65536), 0);
    assert_int_equal(ws_frame_header(out, WS_OP_CONTINUATION, 1), 0);
    assert_int_equal(ws_frame_header(out, (enum ws_opcode)3, 1), 0);
    assert_int_equal(ws_frame_header(out, WS_OP_BINARY, (size_t)1 << 63), 0);
    static const uint8_t zero[WS_HEADER_MAX] = {0};
    assert_memory_equal(out, zero, sizeof zero);
}

/* The whole frame equals wslay_frame_send's, payload included. */
static void expect_build(uint8_t op, const void *payload, size_t len)
{
    struct stream *theirs = stream_new();
    put_frame(theirs, true, op, payload, len, false);
    size_t cap = len + WS_HEADER_MAX;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    size_t n = 0;
    assert_int_equal(ws_frame_build(op, payload, len, out, cap, &n), 0);
    assert_int_equal(n, theirs->len);
    assert_memory_equal(out, theirs->bytes, n);
    /* One byte short: refused, nothing written. */
    memset(out, 0xee, cap);
    size_t untouched = 12345;
    assert_int_equal(ws_frame_build(op, payload, len, out, n - 1, &untouched), -1);
    assert_int_equal(untouched, 12345);
    assert_int_equal(out[0], 0xee);
    free(out);
    free(theirs);
}

static void test_frame_build(void **state)
{
    (void)state;
    uint8_t *big = malloc(70000);
    assert_non_null(big);
    memset(big, 'z', 70000);
    expect_build(WS_OP_PONG, "Hello", 5);
    expect_build(WS_OP_PONG, NULL, 0);
    expect_build(WS_OP_TEXT, "Hello", 5);
    expect_build(WS_OP_TEXT, big, 126);
    expect_build(WS_OP_BINARY, big, 65535);
    expect_build(WS_OP_BINARY, big, 70000);

    uint8_t out[16];
    size_t n;
    assert_int_equal(ws_frame_build(WS_OP_PONG, "Hello", 5, out, sizeof out, &n), 0);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "\x8a\x05Hello", 7);
    assert_int_equal(ws_frame_build(WS_OP_PING, big, 126, big, 70000, &n), -1);

    /* A close frame: code 1000 and a reason, as the server sends it. */
    uint8_t payload[WS_CONTROL_MAX];
    int len = ws_close_payload(1000, "bye", payload, sizeof payload);
    assert_int_equal(len, 5);
    assert_int_equal(ws_frame_build(WS_OP_CLOSE, payload, (size_t)len, out, sizeof out, &n), 0);
    assert_int_equal(n, 7);
    assert_memory_equal(out,
                        "\x88\x05\x03\xe8"
                        "bye",
                        7);
    free(big);
}

static void test_close_payload(void **state)
{
    (void)state;
    uint8_t out[WS_CONTROL_MAX];
    assert_int_equal(ws_close_payload(1002, NULL, out, sizeof out), 2);
    assert_memory_equal(out, "\x03\xea", 2);
    assert_int_equal(ws_close_payload(1009, "", out, 2), 2);
    assert_memory_equal(out, "\x03\xf1", 2);
    assert_int_equal(ws_close_payload(0, NULL, out, 0), 0);
    assert_int_equal(ws_close_payload(0, "", out, 0), 0);
    assert_int_equal(ws_close_payload(0, "why", out, sizeof out), -1);
    assert_int_equal(ws_close_payload(4000, "\xc3\xa9", out, sizeof out), 4);
    assert_memory_equal(out, "\x0f\xa0\xc3\xa9", 4);

    char reason[WS_REASON_MAX + 2];
    memset(reason, 'r', sizeof reason);
    reason[WS_REASON_MAX] = '\0';
    assert_int_equal(ws_close_payload(1000, reason, out, sizeof out), WS_CONTROL_MAX);
    reason[WS_REASON_MAX] = 'r';
    reason[WS_REASON_MAX + 1] = '\0';
    assert_int_equal(ws_close_payload(1000, reason, out, sizeof out), -1);

    memset(out, 0xee, sizeof out);
    assert_int_equal(ws_close_payload(1000, "bye", out, 4), -1);
    assert_int_equal(ws_close_payload(1005, NULL, out, sizeof out), -1);
    assert_int_equal(ws_close_payload(1006, NULL, out, sizeof out), -1);
    assert_int_equal(ws_close_payload(999, NULL, out, sizeof out), -1);
    assert_int_equal(ws_close_payload(1000, "\xff", out, sizeof out), -1);
    assert_int_equal(out[0], 0xee);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key_rfc),        cmocka_unit_test(test_accept_key_invalid),
        cmocka_unit_test(test_masked_hello),          cmocka_unit_test(test_unmasked_is_refused),
        cmocka_unit_test(test_fragmented_hello),      cmocka_unit_test(test_ping_pong),
        cmocka_unit_test(test_binary_16bit_length),   cmocka_unit_test(test_binary_64bit_length),
        cmocka_unit_test(test_interleaved_control),   cmocka_unit_test(test_empty_messages),
        cmocka_unit_test(test_utf8_across_fragments), cmocka_unit_test(test_close),
        cmocka_unit_test(test_close_invalid),         cmocka_unit_test(test_protocol_errors),
        cmocka_unit_test(test_invalid_utf8),          cmocka_unit_test(test_max_message),
        cmocka_unit_test(test_many_fragments),        cmocka_unit_test(test_handler_stop),
        cmocka_unit_test(test_round_trip_lengths),    cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_frame_header_classes),  cmocka_unit_test(test_frame_header_invalid),
        cmocka_unit_test(test_frame_build),           cmocka_unit_test(test_close_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
