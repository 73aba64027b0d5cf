/* Unit tests for lib/eio: Engine.IO v4 packets and payloads, byte for byte.
 * Expected bytes come from the reference engine.io-parser 5.2 where it has an
 * opinion (see docs/protocol-codecs.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "eio.h"

#define S(lit) lit, sizeof(lit) - 1 /* a literal and its length, NULs included */
#define MAX_PKTS 16
#define SCRATCH 256

/* Asserts that [got, got_len) is exactly the literal want, printing both. */
#define assert_bytes(got, got_len, want)                                                           \
    do {                                                                                           \
        assert_int_equal((got_len), sizeof(want) - 1);                                             \
        assert_memory_equal((got), (want), sizeof(want) - 1);                                      \
    } while (0)

/* Decoding works on an exact-size heap copy, so that AddressSanitizer catches
 * any read past the input. */
static char *dup_exact(const char *in, size_t len)
{
    char *p = malloc(len ? len : 1);
    assert_non_null(p);
    if (len)
        memcpy(p, in, len);
    return p;
}

static void test_decode_each_type(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        enum eio_type type;
        const char *data;
    } cases[] = {
        {S("0{\"sid\":\"x\"}"), EIO_OPEN, "{\"sid\":\"x\"}"},
        {S("1"), EIO_CLOSE, ""},
        {S("2"), EIO_PING, ""},
        {S("2probe"), EIO_PING, "probe"},
        {S("3probe"), EIO_PONG, "probe"},
        {S("4hello"), EIO_MESSAGE, "hello"},
        {S("42[\"a\"]"), EIO_MESSAGE, "2[\"a\"]"},
        {S("4\xe2\x82\xac\x1e"), EIO_MESSAGE, "\xe2\x82\xac\x1e"}, /* a frame may hold 0x1e */
        {S("5"), EIO_UPGRADE, ""},
        {S("6"), EIO_NOOP, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct eio_packet p;
        char *in = dup_exact(cases[i].in, cases[i].len);
        assert_int_equal(eio_decode_packet(in, cases[i].len, &p, NULL, 0), 0);
        assert_int_equal(p.type, cases[i].type);
        assert_false(p.binary);
        assert_int_equal(p.len, strlen(cases[i].data));
        if (p.len) {
            assert_ptr_equal(p.data, in + 1); /* zero copy */
            assert_memory_equal(p.data, cases[i].data, p.len);
        }
        free(in);
    }
}

static void test_decode_packet_errors(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        int err;
    } cases[] = {
        {S(""), EIO_EEMPTY},         {S("7"), EIO_ETYPE},          {S("a123"), EIO_ETYPE},
        {S("/"), EIO_ETYPE},         {S("\x1e"), EIO_ETYPE},       {S("\0004"), EIO_ETYPE},
        {S("bAQ"), EIO_EBASE64},     {S("bAQIDBA="), EIO_EBASE64}, {S("b!!!!"), EIO_EBASE64},
        {S("bAR=="), EIO_EBASE64}, /* non-zero trailing bits: not canonical */
        {S("bAQIDBA"), EIO_EBASE64}, {S("b===="), EIO_EBASE64},    {S("bAQ\nI"), EIO_EBASE64},
        {S("bAQ-_"), EIO_EBASE64}, /* URL-safe alphabet is not Engine.IO's */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct eio_packet p = {.type = EIO_NOOP, .len = 99};
        char scratch[16];
        char *in = dup_exact(cases[i].in, cases[i].len);
        assert_int_equal(eio_decode_packet(in, cases[i].len, &p, scratch, sizeof scratch),
                         cases[i].err);
        assert_int_equal(p.len, 99); /* untouched on error */
        free(in);
    }
}

static void test_decode_base64(void **state)
{
    (void)state;
    struct eio_packet p;
    char scratch[8];

    assert_int_equal(eio_decode_packet(S("bAQIDBA=="), &p, scratch, sizeof scratch), 0);
    assert_int_equal(p.type, EIO_MESSAGE);
    assert_true(p.binary);
    assert_ptr_equal(p.data, scratch);
    assert_bytes(p.data, p.len, "\x01\x02\x03\x04");

    /* Exactly enough scratch is enough; one byte less is EIO_ESPACE. */
    assert_int_equal(eio_decode_packet(S("bAQIDBA=="), &p, scratch, 4), 0);
    assert_int_equal(eio_decode_packet(S("bAQIDBA=="), &p, scratch, 3), EIO_ESPACE);
    assert_int_equal(eio_decode_packet(S("bAAAA"), &p, scratch, 3), 0);
    assert_bytes(p.data, p.len, "\0\0\0");

    /* "b" alone is an empty binary message, as Buffer.from("", "base64"). */
    assert_int_equal(eio_decode_packet(S("b"), &p, NULL, 0), 0);
    assert_true(p.binary);
    assert_int_equal(p.len, 0);
}

static void test_decode_binary_frame(void **state)
{
    (void)state;
    struct eio_packet p;
    const unsigned char frame[] = {0x34, 0x00, 0xff};
    eio_decode_binary(frame, sizeof frame, &p);
    assert_int_equal(p.type, EIO_MESSAGE);
    assert_true(p.binary);
    assert_ptr_equal(p.data, frame); /* as is: no type byte in a v4 binary frame */
    assert_int_equal(p.len, 3);
    eio_decode_binary(frame, 0, &p);
    assert_true(p.binary);
    assert_int_equal(p.len, 0);
}

static void test_decode_payload(void **state)
{
    (void)state;
    struct eio_packet p[MAX_PKTS];
    char scratch[SCRATCH];
    char *in = dup_exact(S("4hello\x1e"
                           "2\x1e"
                           "4world\x1e"
                           "bAQIDBA==\x1e"
                           "bBQY="));
    size_t len = sizeof("4hello\x1e"
                        "2\x1e"
                        "4world\x1e"
                        "bAQIDBA==\x1e"
                        "bBQY=") -
                 1;

    assert_int_equal(eio_decode_payload(in, len, 1000, p, MAX_PKTS, scratch, sizeof scratch), 5);
    assert_int_equal(p[0].type, EIO_MESSAGE);
    assert_bytes(p[0].data, p[0].len, "hello");
    assert_ptr_equal(p[0].data, in + 1);
    assert_int_equal(p[1].type, EIO_PING);
    assert_int_equal(p[1].len, 0);
    assert_bytes(p[2].data, p[2].len, "world");
    assert_true(p[3].binary);
    assert_bytes(p[3].data, p[3].len, "\x01\x02\x03\x04");
    /* Binary packets share the scratch buffer, one after the other. */
    assert_true(p[4].binary);
    assert_bytes(p[4].data, p[4].len, "\x05\x06");
    assert_ptr_equal(p[3].data, scratch);
    assert_ptr_equal(p[4].data, scratch + 4);
    free(in);

    /* A single packet is a payload too. */
    assert_int_equal(eio_decode_payload(S("6"), 1000, p, MAX_PKTS, NULL, 0), 1);
    assert_int_equal(p[0].type, EIO_NOOP);
}

static void test_decode_payload_errors(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        int err;
    } cases[] = {
        {S(""), EIO_EEMPTY},
        {S("\x1e"), EIO_EEMPTY},
        {S("4a\x1e"), EIO_EEMPTY},
        {S("\x1e"
           "4a"),
         EIO_EEMPTY},
        {S("4a\x1e\x1e"
           "4b"),
         EIO_EEMPTY},
        {S("{"), EIO_ETYPE},
        {S("{}"), EIO_ETYPE},
        {S("[\"a123\", \"a456\"]"), EIO_ETYPE},
        {S("4a\x1e"
           "9"),
         EIO_ETYPE},
        {S("4a\x1e"
           "b%%%%"),
         EIO_EBASE64},
        {S("\x00\x06\xff"
           "4hello"),
         EIO_ETYPE}, /* v3 binary framing is not v4 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct eio_packet p[MAX_PKTS];
        char scratch[SCRATCH];
        char *in = dup_exact(cases[i].in, cases[i].len);
        assert_int_equal(
            eio_decode_payload(in, cases[i].len, 1000, p, MAX_PKTS, scratch, sizeof scratch),
            cases[i].err);
        free(in);
    }
}

static void test_decode_payload_limits(void **state)
{
    (void)state;
    struct eio_packet p[4];
    char scratch[4];

    /* max_packets: 3 packets fit in 3 slots, not in 2. */
    assert_int_equal(eio_decode_payload(S("2\x1e"
                                          "3\x1e"
                                          "6"),
                                        100, p, 3, NULL, 0),
                     3);
    assert_int_equal(eio_decode_payload(S("2\x1e"
                                          "3\x1e"
                                          "6"),
                                        100, p, 2, NULL, 0),
                     EIO_ETOOMANY);
    assert_int_equal(eio_decode_payload(S("2"), 100, p, 0, NULL, 0), EIO_ETOOMANY);

    /* max_payload: the limit itself is allowed, one byte more is not. */
    assert_int_equal(eio_decode_payload(S("4abcd"), 5, p, 4, NULL, 0), 1);
    assert_int_equal(eio_decode_payload(S("4abcd"), 4, p, 4, NULL, 0), EIO_ETOOBIG);

    /* Scratch is for all binary packets together. */
    assert_int_equal(eio_decode_payload(S("bAQID\x1e"
                                          "bAQID"),
                                        100, p, 4, scratch, 3),
                     EIO_ESPACE);
    assert_int_equal(eio_decode_payload(S("bAQID\x1e"
                                          "bAQ=="),
                                        100, p, 4, scratch, 4),
                     2);
    assert_int_equal(eio_decode_payload(S("bAQID"), 100, p, 4, NULL, 0), EIO_ESPACE);
}

/* eio_scratch_size(len) always suffices, whatever the mix of packets. */
static void test_scratch_size_suffices(void **state)
{
    (void)state;
    enum { N = 6, MAXB = 40 };
    unsigned seed = 12345;
    for (int round = 0; round < 500; round++) {
        struct eio_packet in[N], out[N];
        unsigned char bytes[N][MAXB];
        size_t n = 1 + (size_t)(seed % N);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            size_t dlen = (seed >> 8) % MAXB;
            for (size_t j = 0; j < dlen; j++)
                bytes[i][j] = (unsigned char)(seed >> (j % 24));
            bool bin = (seed >> 4) & 1;
            in[i] = (struct eio_packet){
                .type = EIO_MESSAGE, .binary = bin, .data = (const char *)bytes[i], .len = dlen};
            if (!bin) /* text may not hold the separator */
                for (size_t j = 0; j < dlen; j++)
                    if (bytes[i][j] == 0x1e)
                        bytes[i][j] = 'x';
        }
        size_t len;
        assert_int_equal(eio_encode_payload(in, n, NULL, 0, &len), EIO_ESPACE);
        char *body = malloc(len + 1);
        assert_int_equal(eio_encode_payload(in, n, body, len + 1, &len), 0);
        size_t ss = eio_scratch_size(len);
        char *scratch = malloc(ss ? ss : 1);
        assert_int_equal(eio_decode_payload(body, len, len, out, N, scratch, ss), (int)n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(out[i].binary, in[i].binary);
            assert_int_equal(out[i].len, in[i].len);
            if (in[i].len)
                assert_memory_equal(out[i].data, in[i].data, in[i].len);
        }
        free(scratch);
        free(body);
    }
}

/* Every prefix of valid input decodes to a sane answer: a known error, or
 * packets whose data lies inside the input or the scratch buffer. */
static void test_every_prefix(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
    } valid[] = {
        {S("4hello\x1e"
           "2\x1e"
           "4world\x1e"
           "bAQIDBA==")},
        {S("0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"]}\x1e"
           "6")},
        {S("2probe\x1e"
           "3probe\x1e"
           "5\x1e"
           "bAAAAAAAA\x1e"
           "b\x1e"
           "42[\"m\",{\"a\":1}]")},
    };
    for (size_t v = 0; v < sizeof valid / sizeof valid[0]; v++) {
        for (size_t len = 0; len <= valid[v].len; len++) {
            struct eio_packet p[MAX_PKTS];
            char scratch[SCRATCH];
            char *in = dup_exact(valid[v].in, len);
            int n = eio_decode_payload(in, len, 4096, p, MAX_PKTS, scratch, sizeof scratch);
            if (n < 0) {
                assert_true(n >= EIO_EINVAL);
                assert_string_not_equal(eio_strerror(n), "unknown error");
            } else {
                assert_in_range(n, 1, MAX_PKTS);
                for (int i = 0; i < n; i++) {
                    assert_in_range(p[i].type, EIO_OPEN, EIO_NOOP);
                    if (p[i].len == 0)
                        continue;
                    const char *lo = p[i].binary ? scratch : in;
                    size_t cap = p[i].binary ? sizeof scratch : len;
                    assert_true(p[i].data >= lo && p[i].data + p[i].len <= lo + cap);
                }
            }
            /* The same prefix as one WebSocket text frame. */
            struct eio_packet one;
            int rc = eio_decode_packet(in, len, &one, scratch, sizeof scratch);
            assert_true(rc == 0 || (rc < 0 && rc >= EIO_EINVAL));
            free(in);
        }
    }
}

static void test_encode_packet(void **state)
{
    (void)state;
    char out[64];
    size_t len;

    struct eio_packet msg = {.type = EIO_MESSAGE, .data = "hello", .len = 5};
    assert_int_equal(eio_encode_packet(&msg, out, sizeof out, &len), 0);
    assert_bytes(out, len, "4hello");
    assert_int_equal(out[len], '\0');

    struct eio_packet ping = {.type = EIO_PING, .data = "probe", .len = 5};
    assert_int_equal(eio_encode_packet(&ping, out, sizeof out, &len), 0);
    assert_bytes(out, len, "2probe");

    struct eio_packet close = {.type = EIO_CLOSE};
    assert_int_equal(eio_encode_packet(&close, out, sizeof out, &len), 0);
    assert_bytes(out, len, "1");

    struct eio_packet bin = {.type = EIO_MESSAGE, .binary = true, .data = "\1\2\3\4", .len = 4};
    assert_int_equal(eio_encode_packet(&bin, out, sizeof out, &len), 0);
    assert_bytes(out, len, "bAQIDBA==");

    struct eio_packet empty_bin = {.type = EIO_MESSAGE, .binary = true};
    assert_int_equal(eio_encode_packet(&empty_bin, out, sizeof out, &len), 0);
    assert_bytes(out, len, "b");

    /* One packet alone (a WebSocket frame) may hold the separator. */
    struct eio_packet sep = {.type = EIO_MESSAGE,
                             .data = "a\x1e"
                                     "b",
                             .len = 3};
    assert_int_equal(eio_encode_packet(&sep, out, sizeof out, &len), 0);
    assert_bytes(out, len,
                 "4a\x1e"
                 "b");
}

static void test_encode_sizes(void **state)
{
    (void)state;
    char out[16];
    size_t len = 0;
    struct eio_packet msg = {.type = EIO_MESSAGE, .data = "hello", .len = 5};

    /* Measure first, snprintf style; the NUL needs one more byte. */
    assert_int_equal(eio_encode_packet(&msg, NULL, 0, &len), EIO_ESPACE);
    assert_int_equal(len, 6);
    memset(out, '#', sizeof out);
    assert_int_equal(eio_encode_packet(&msg, out, 6, &len), EIO_ESPACE);
    assert_int_equal(out[0], '#'); /* nothing written */
    assert_int_equal(eio_encode_packet(&msg, out, 7, &len), 0);
    assert_string_equal(out, "4hello");

    /* Base64 never writes past its exact size, and never clears the rest. */
    struct eio_packet bin = {.type = EIO_MESSAGE, .binary = true, .data = "\1\2\3\4\5", .len = 5};
    memset(out, '#', sizeof out);
    assert_int_equal(eio_encode_packet(&bin, out, sizeof out, &len), 0);
    assert_int_equal(len, 9);
    assert_string_equal(out, "bAQIDBAU=");
    assert_int_equal(out[10], '#');
}

static void test_encode_invalid(void **state)
{
    (void)state;
    char out[16];
    size_t len;
    struct eio_packet bad_type = {.type = (enum eio_type)7};
    struct eio_packet bin_ping = {.type = EIO_PING, .binary = true};
    struct eio_packet null_data = {.type = EIO_MESSAGE, .len = 3};
    struct eio_packet huge = {.type = EIO_MESSAGE, .binary = true, .data = "", .len = SIZE_MAX};
    assert_int_equal(eio_encode_packet(&bad_type, out, sizeof out, &len), EIO_EINVAL);
    assert_int_equal(eio_encode_packet(&bin_ping, out, sizeof out, &len), EIO_EINVAL);
    assert_int_equal(eio_encode_packet(&null_data, out, sizeof out, &len), EIO_EINVAL);
    assert_int_equal(eio_encode_packet(&huge, out, sizeof out, &len), EIO_ETOOBIG);
    assert_int_equal(eio_encode_payload(&bad_type, 0, out, sizeof out, &len), EIO_EINVAL);

    /* In a payload a text packet holding 0x1e would become two packets. */
    struct eio_packet sep = {.type = EIO_MESSAGE,
                             .data = "a\x1e"
                                     "b",
                             .len = 3};
    assert_int_equal(eio_encode_payload(&sep, 1, out, sizeof out, &len), EIO_EINVAL);
    struct eio_packet sep_bin = {.type = EIO_MESSAGE, .binary = true, .data = "\x1e", .len = 1};
    assert_int_equal(eio_encode_payload(&sep_bin, 1, out, sizeof out, &len), 0);
    assert_bytes(out, len, "bHg==");
}

static void test_encode_payload(void **state)
{
    (void)state;
    char out[128];
    size_t len;

    /* engine.io-parser's own examples. */
    const struct eio_packet mixed[] = {
        {.type = EIO_MESSAGE, .data = "hello", .len = 5},
        {.type = EIO_MESSAGE, .binary = true, .data = "\1\2\3", .len = 3},
    };
    assert_int_equal(eio_encode_payload(mixed, 2, out, sizeof out, &len), 0);
    assert_bytes(out, len,
                 "4hello\x1e"
                 "bAQID");

    const struct eio_packet all[] = {
        {.type = EIO_OPEN},
        {.type = EIO_CLOSE},
        {.type = EIO_PING, .data = "probe", .len = 5},
        {.type = EIO_PONG, .data = "probe", .len = 5},
        {.type = EIO_MESSAGE, .data = "test", .len = 4},
        {.type = EIO_UPGRADE},
        {.type = EIO_NOOP},
    };
    assert_int_equal(eio_encode_payload(all, 7, out, sizeof out, &len), 0);
    assert_bytes(out, len,
                 "0\x1e"
                 "1\x1e"
                 "2probe\x1e"
                 "3probe\x1e"
                 "4test\x1e"
                 "5\x1e"
                 "6");

    /* And back: every type survives the round trip. */
    struct eio_packet back[MAX_PKTS];
    assert_int_equal(eio_decode_payload(out, len, len, back, MAX_PKTS, NULL, 0), 7);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(back[i].type, all[i].type);
        assert_int_equal(back[i].binary, all[i].binary);
        assert_int_equal(back[i].len, all[i].len);
        if (all[i].len)
            assert_memory_equal(back[i].data, all[i].data, all[i].len);
    }
    assert_int_equal(eio_encode_payload(all, 7, out, len, &len), EIO_ESPACE);
}

static void test_open_json(void **state)
{
    (void)state;
    const char *ws[] = {"websocket"};
    struct eio_handshake h = {
        .sid = "lv_VI97HAXpY6yYWAAAC",
        .upgrades = ws,
        .n_upgrades = 1,
        .ping_interval_ms = EIO_DEFAULT_PING_INTERVAL_MS,
        .ping_timeout_ms = EIO_DEFAULT_PING_TIMEOUT_MS,
        .max_payload = EIO_DEFAULT_MAX_PAYLOAD,
    };
    size_t len = 0;
    char *s = eio_open_json(&h, &len);
    assert_non_null(s);
    assert_string_equal(s, "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],"
                           "\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}");
    assert_int_equal(len, strlen(s));
    free(s);

    /* A WebSocket-only session offers no upgrade; odd bytes in sid are escaped. */
    h = (struct eio_handshake){.sid = "a\"b", .ping_interval_ms = 1, .ping_timeout_ms = 2};
    s = eio_open_json(&h, NULL);
    assert_string_equal(s, "{\"sid\":\"a\\\"b\",\"upgrades\":[],\"pingInterval\":1,"
                           "\"pingTimeout\":2,\"maxPayload\":0}");
    free(s);

    h.sid = NULL;
    assert_null(eio_open_json(&h, NULL));
    assert_null(eio_open_json(NULL, NULL));
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(eio_strerror(0), "ok");
    for (int e = EIO_EINVAL; e <= EIO_EEMPTY; e++) {
        assert_non_null(eio_strerror(e));
        assert_string_not_equal(eio_strerror(e), "unknown error");
        for (int f = e + 1; f <= EIO_EEMPTY; f++)
            assert_string_not_equal(eio_strerror(e), eio_strerror(f));
    }
    assert_string_equal(eio_strerror(-100), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_each_type),
        cmocka_unit_test(test_decode_packet_errors),
        cmocka_unit_test(test_decode_base64),
        cmocka_unit_test(test_decode_binary_frame),
        cmocka_unit_test(test_decode_payload),
        cmocka_unit_test(test_decode_payload_errors),
        cmocka_unit_test(test_decode_payload_limits),
        cmocka_unit_test(test_scratch_size_suffices),
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_encode_packet),
        cmocka_unit_test(test_encode_sizes),
        cmocka_unit_test(test_encode_invalid),
        cmocka_unit_test(test_encode_payload),
        cmocka_unit_test(test_open_json),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
