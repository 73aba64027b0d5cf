/* Unit tests for lib/sio: Socket.IO v5 packets, byte for byte. Expected strings
 * were produced by the reference socket.io-parser 4.2.4 Encoder and checked
 * against its Decoder (see docs/protocol-codecs.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eio.h"
#include "sio.h"

#define S(lit) lit, sizeof(lit) - 1

/* Decodes from an exact-size heap copy, so that AddressSanitizer catches any
 * read past the end (a frame slice is never NUL-terminated). */
static int decode(const char *in, size_t len, struct sio_packet *p)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, in, len);
    int rc = sio_decode(copy, len, p);
    free(copy);
    return rc;
}

/* The payload printed compactly, or "" when absent; caller frees. */
static char *json_of(const struct sio_packet *p)
{
    char *s = p->data ? cJSON_PrintUnformatted(p->data) : strdup("");
    assert_non_null(s);
    return s;
}

/* Asserts that encoding p gives exactly want, and returns nothing to free. */
static void assert_encodes(const struct sio_packet *p, const char *want)
{
    size_t len = 0;
    char *s = sio_encode(p, &len);
    assert_non_null(s);
    assert_string_equal(s, want);
    assert_int_equal(len, strlen(want));
    free(s);
}

/* The reference's examples: decode, check every field, encode back to the
 * same bytes. */
static void test_reference_round_trips(void **state)
{
    (void)state;
    static const struct {
        const char *wire;
        enum sio_type type;
        const char *nsp;
        long long ack; /* -1: none */
        unsigned attachments;
        const char *json;
    } cases[] = {
        {"0", SIO_CONNECT, "/", -1, 0, ""},
        {"0{\"token\":\"123\"}", SIO_CONNECT, "/", -1, 0, "{\"token\":\"123\"}"},
        {"0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}", SIO_CONNECT, "/admin", -1, 0,
         "{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}"},
        {"0/custom,{\"sid\":\"x\"}", SIO_CONNECT, "/custom", -1, 0, "{\"sid\":\"x\"}"},
        {"1", SIO_DISCONNECT, "/", -1, 0, ""},
        {"1/admin,", SIO_DISCONNECT, "/admin", -1, 0, ""},
        {"2[\"foo\"]", SIO_EVENT, "/", -1, 0, "[\"foo\"]"},
        {"2[\"message\",{\"a\":1}]", SIO_EVENT, "/", -1, 0, "[\"message\",{\"a\":1}]"},
        {"2/admin,[\"bar\"]", SIO_EVENT, "/admin", -1, 0, "[\"bar\"]"},
        {"212[\"foo\"]", SIO_EVENT, "/", 12, 0, "[\"foo\"]"},
        {"2/admin,12[\"a\",1,{}]", SIO_EVENT, "/admin", 12, 0, "[\"a\",1,{}]"},
        {"31[\"ok\"]", SIO_ACK, "/", 1, 0, "[\"ok\"]"},
        {"37[]", SIO_ACK, "/", 7, 0, "[]"},
        {"3/admin,13[\"bar\"]", SIO_ACK, "/admin", 13, 0, "[\"bar\"]"},
        {"4{\"message\":\"Not authorized\"}", SIO_CONNECT_ERROR, "/", -1, 0,
         "{\"message\":\"Not authorized\"}"},
        {"4\"Unauthorized\"", SIO_CONNECT_ERROR, "/", -1, 0, "\"Unauthorized\""},
        {"51-[\"baz\",{\"_placeholder\":true,\"num\":0}]", SIO_BINARY_EVENT, "/", -1, 1,
         "[\"baz\",{\"_placeholder\":true,\"num\":0}]"},
        {"52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
         SIO_BINARY_EVENT, "/admin", -1, 2,
         "[\"baz\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]"},
        {"61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]", SIO_BINARY_ACK, "/", 15, 1,
         "[\"bar\",{\"_placeholder\":true,\"num\":0}]"},
        {"61-/admin,1[{\"_placeholder\":true,\"num\":0}]", SIO_BINARY_ACK, "/admin", 1, 1,
         "[{\"_placeholder\":true,\"num\":0}]"},
        {"510-[\"ten\"]", SIO_BINARY_EVENT, "/", -1, 10, "[\"ten\"]"},
        {"39007199254740991[]", SIO_ACK, "/", (long long)SIO_ACK_ID_MAX, 0, "[]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sio_packet p;
        assert_int_equal(decode(cases[i].wire, strlen(cases[i].wire), &p), 0);
        assert_int_equal(p.type, cases[i].type);
        assert_string_equal(p.nsp, cases[i].nsp);
        if (cases[i].ack >= 0) {
            assert_true(p.has_ack);
            assert_int_equal(p.ack_id, (uint64_t)cases[i].ack);
        } else {
            assert_false(p.has_ack);
        }
        assert_int_equal(p.attachments, cases[i].attachments);
        char *json = json_of(&p);
        assert_string_equal(json, cases[i].json);
        free(json);
        assert_encodes(&p, cases[i].wire);
        sio_packet_clear(&p);
        assert_null(p.data);
    }
}

/* Inputs the reference accepts whose canonical form differs. */
static void test_decode_lenient_forms(void **state)
{
    (void)state;
    static const struct {
        const char *wire;
        const char *canonical;
    } cases[] = {
        {"0/admin", "0/admin,"},     /* namespace without its comma */
        {"0/,{}", "0{}"},            /* the default namespace spelled out */
        {"3007[]", "37[]"},          /* leading zeros in the ack id */
        {"2[\"a\"] \n", "2[\"a\"]"}, /* JSON whitespace around the payload */
        {"2\t[\"a\"]", "2[\"a\"]"},
        {"2[ \"a\" , 1 ]", "2[\"a\",1]"},
        {"2[\"a\",1e999]", "2[\"a\",null]"}, /* as JSON.parse + JSON.stringify */
        {"2[\"\\u00e9\\/\"]", "2[\"\xc3\xa9/\"]"},
        {"2[\"connect\"]", "2[\"connect\"]"},     /* reserved names: the app's call */
        {"2[\"\\\\u0000\"]", "2[\"\\\\u0000\"]"}, /* an escaped backslash, then text */
        {"2[\"\\u0001\"]", "2[\"\\u0001\"]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sio_packet p;
        assert_int_equal(decode(cases[i].wire, strlen(cases[i].wire), &p), 0);
        assert_encodes(&p, cases[i].canonical);
        sio_packet_clear(&p);
    }
}

static void test_decode_errors(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        int err;
    } cases[] = {
        /* socket.io-parser's own "invalid payload" list */
        {S("442[\"some\",\"data\""), SIO_EJSON},
        {S("0/admin,\"invalid\""), SIO_EPAYLOAD},
        {S("0[]"), SIO_EPAYLOAD},
        {S("1/admin,{}"), SIO_EPAYLOAD},
        {S("2/admin,\"invalid"), SIO_EJSON},
        {S("2/admin,{}"), SIO_EPAYLOAD},
        {S("2[{\"toString\":\"foo\"}]"), SIO_EPAYLOAD},
        {S("2[true,\"foo\"]"), SIO_EPAYLOAD},
        {S("2[null,\"bar\"]"), SIO_EPAYLOAD},
        /* its "Illegal attachments" and "unknown packet type" lists */
        {S("5"), SIO_EATTACH},
        {S("51"), SIO_EATTACH},
        {S("5a-"), SIO_EATTACH},
        {S("51.23-"), SIO_EATTACH},
        {S("999"), SIO_ETYPE},
        /* stricter than the reference, see the doc */
        {S("5-[\"a\"]"), SIO_EATTACH}, /* no count at all */
        {S("2"), SIO_EPAYLOAD},        /* an event without a name */
        {S("2[]"), SIO_EPAYLOAD},
        {S("2[1,\"a\"]"), SIO_EPAYLOAD}, /* a number as event name */
        {S("3"), SIO_EPAYLOAD},
        {S("4"), SIO_EPAYLOAD},
        {S("2/admin"), SIO_EPAYLOAD},
        /* limits */
        {S("511-[\"a\"]"), SIO_EATTACH},
        {S("599999999999999999999999-[\"a\"]"), SIO_EATTACH},
        {S("39007199254740992[]"), SIO_EACKID},
        {S("3123456789012345678901234567890[]"), SIO_EACKID},
        {S("2/a\0b,[\"x\"]"), SIO_ENSP},
        /* plain garbage */
        {S(""), SIO_ETYPE},
        {S("7"), SIO_ETYPE},
        {S("a"), SIO_ETYPE},
        {S("-1"), SIO_ETYPE},
        {S("2[\"a\"]x"), SIO_EJSON},
        {S("2[\"a\"][\"b\"]"), SIO_EJSON},
        {S("2[\"a\"]\0"), SIO_EJSON},
        {S("2/a,b"), SIO_EJSON},
        {S("2[\"a\",]"), SIO_EJSON},
        {S("0{\"a\":1,"), SIO_EJSON},
        {S("2[\"\\ud800\"]"), SIO_EJSON}, /* lone surrogate */
        /* cJSON would cut these strings short at the NUL: refused, not altered */
        {S("2[\"a\\u0000b\"]"), SIO_ENUL},
        {S("2[\"a\",{\"k\\u0000\":1}]"), SIO_ENUL},
        {S("2[\"\\\\\\u0000\"]"), SIO_ENUL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sio_packet p;
        memset(&p, 0x5a, sizeof p);
        int rc = decode(cases[i].in, cases[i].len, &p);
        if (rc != cases[i].err)
            print_error("input %zu: \"%.*s\"\n", i, (int)cases[i].len, cases[i].in);
        assert_int_equal(rc, cases[i].err);
        /* Left empty (SIO_ENUL: the header only): clearing it is harmless. */
        assert_null(p.data);
        if (rc == SIO_ENUL)
            assert_int_equal(p.type, SIO_EVENT);
        sio_packet_clear(&p);
    }
}

static void test_namespace_limit(void **state)
{
    (void)state;
    char in[SIO_NSP_MAX + 16];
    struct sio_packet p;

    in[0] = '0';
    in[1] = '/';
    memset(in + 2, 'n', SIO_NSP_MAX - 1);
    in[SIO_NSP_MAX + 1] = ',';
    assert_int_equal(decode(in, SIO_NSP_MAX + 2, &p), 0);
    assert_int_equal(strlen(p.nsp), SIO_NSP_MAX);
    in[SIO_NSP_MAX + 2] = '\0';
    assert_encodes(&p, in);
    sio_packet_clear(&p);

    memset(in + 2, 'n', SIO_NSP_MAX);
    in[SIO_NSP_MAX + 2] = ',';
    assert_int_equal(decode(in, SIO_NSP_MAX + 3, &p), SIO_ENSP);
    assert_int_equal(decode(in, SIO_NSP_MAX + 2, &p), SIO_ENSP); /* no comma either */
}

/* Nesting stops at cJSON's limit, without a crash however deep the input. */
static void test_nesting(void **state)
{
    (void)state;
    const size_t depths[] = {CJSON_NESTING_LIMIT, CJSON_NESTING_LIMIT + 1, 100000};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        size_t d = depths[i], n = 0;
        char *in = malloc(2 * d + 16);
        struct sio_packet p;
        n += (size_t)sprintf(in, "2[\"a\",");
        memset(in + n, '[', d - 1), n += d - 1;
        memset(in + n, ']', d), n += d;
        assert_int_equal(decode(in, n, &p), d <= CJSON_NESTING_LIMIT ? 0 : SIO_EJSON);
        sio_packet_clear(&p);
        free(in);
    }
}

/* Every prefix of valid packets decodes to a known error or a packet that
 * encodes; nothing crashes or reads past the end. */
static void test_every_prefix(void **state)
{
    (void)state;
    static const char *valid[] = {
        "2/"
        "admin,12[\"message\",{\"roomId\":\"0\",\"message\":\"h\xc3\xa9\\\"\",\"n\":[1,2.5,-300]}]",
        "61-/chat,15[\"bar\",{\"_placeholder\":true,\"num\":0},null,false,true]",
        "0/custom,{\"sid\":\"x\",\"a\":{\"b\":[]}}",
        "4{\"message\":\"unauthorized\"}",
        "39007199254740991[\"ok\"]",
    };
    for (size_t v = 0; v < sizeof valid / sizeof valid[0]; v++) {
        size_t full = strlen(valid[v]);
        for (size_t len = 0; len <= full; len++) {
            struct sio_packet p;
            int rc = decode(valid[v], len, &p);
            if (rc < 0) {
                assert_in_range(rc, SIO_EINVAL, SIO_ETYPE);
                assert_null(p.data);
                continue;
            }
            char *s = sio_encode(&p, NULL);
            assert_non_null(s);
            if (len == full)
                assert_string_equal(s, valid[v]);
            free(s);
            sio_packet_clear(&p);
        }
    }
}

static void test_encode_event(void **state)
{
    (void)state;
    size_t len;
    cJSON *a = cJSON_Parse("{\"a\":1}");
    char *s = sio_encode_event(NULL, "message", a, &len);
    assert_string_equal(s, "2[\"message\",{\"a\":1}]");
    assert_int_equal(len, strlen(s));
    free(s);

    s = sio_encode_event("/", "typing", NULL, NULL);
    assert_string_equal(s, "2[\"typing\"]");
    free(s);

    s = sio_encode_event("/admin", "a", a, NULL);
    assert_string_equal(s, "2/admin,[\"a\",{\"a\":1}]");
    free(s);

    /* The argument is borrowed: still whole, still the caller's. */
    s = cJSON_PrintUnformatted(a);
    assert_string_equal(s, "{\"a\":1}");
    cJSON_free(s);
    cJSON_Delete(a);

    /* Any JSON value is an argument; names are escaped as JSON.stringify does. */
    cJSON *n = cJSON_CreateNumber(42);
    s = sio_encode_event(NULL, "a\"b\\c\n\t\x01\x1e/\xc3\xa9\xe2\x82\xac", n, NULL);
    assert_string_equal(s, "2[\"a\\\"b\\\\c\\n\\t\\u0001\\u001e/\xc3\xa9\xe2\x82\xac\",42]");
    free(s);
    cJSON_Delete(n);

    assert_null(sio_encode_event(NULL, NULL, NULL, NULL));
    assert_null(sio_encode_event("admin", "a", NULL, NULL));
}

static void test_encode_ack(void **state)
{
    (void)state;
    cJSON *ok = cJSON_CreateString("ok");
    char *s = sio_encode_ack(NULL, 1, ok, NULL);
    assert_string_equal(s, "31[\"ok\"]");
    free(s);
    cJSON_Delete(ok);

    s = sio_encode_ack("/", 7, NULL, NULL);
    assert_string_equal(s, "37[]");
    free(s);

    /* The chat server's answer to a message, as the reference writes it. */
    cJSON *ans = cJSON_Parse("{\"ok\":true,\"message\":{\"from\":\"1\",\"date\":1700000000,"
                             "\"message\":\"hi\",\"roomId\":\"0\",\"id\":\"ab\"}}");
    s = sio_encode_ack(NULL, 42, ans, NULL);
    assert_string_equal(s, "342[{\"ok\":true,\"message\":{\"from\":\"1\",\"date\":1700000000,"
                           "\"message\":\"hi\",\"roomId\":\"0\",\"id\":\"ab\"}}]");
    free(s);
    cJSON_Delete(ans);

    s = sio_encode_ack(NULL, SIO_ACK_ID_MAX, NULL, NULL);
    assert_string_equal(s, "39007199254740991[]");
    free(s);
    assert_null(sio_encode_ack(NULL, SIO_ACK_ID_MAX + 1, NULL, NULL));
}

static void test_encode_packets(void **state)
{
    (void)state;
    struct sio_packet p = {.type = SIO_CONNECT_ERROR};
    p.data = cJSON_Parse("{\"message\":\"unauthorized\"}");
    size_t len;
    char *s = sio_encode(&p, &len);
    assert_string_equal(s, "4{\"message\":\"unauthorized\"}");

    /* Wrapped in an Engine.IO message: what the unauthorized client receives. */
    struct eio_packet e = {.type = EIO_MESSAGE, .data = s, .len = len};
    char out[64];
    size_t olen;
    assert_int_equal(eio_encode_packet(&e, out, sizeof out, &olen), 0);
    assert_string_equal(out, "44{\"message\":\"unauthorized\"}");
    free(s);
    sio_packet_clear(&p);

    /* A zeroed packet's "" namespace is the default one. */
    p = (struct sio_packet){.type = SIO_CONNECT};
    assert_encodes(&p, "0");
    p = (struct sio_packet){.type = SIO_DISCONNECT, .nsp = "/admin"};
    assert_encodes(&p, "1/admin,");
    p = (struct sio_packet){.type = SIO_CONNECT, .nsp = "/custom"};
    p.data = cJSON_Parse("{\"sid\":\"x\"}");
    assert_encodes(&p, "0/custom,{\"sid\":\"x\"}");
    sio_packet_clear(&p);

    /* Numbers as JSON.stringify writes them, in the range cJSON agrees on. */
    p = (struct sio_packet){.type = SIO_EVENT};
    p.data = cJSON_Parse("[\"n\",2147483647,2147483648,-2147483648,-2147483649,4294967296,"
                         "1e300,100,1.5,0.1,123456789012,1700000000000,1e21,12345678901234567]");
    assert_encodes(&p, "2[\"n\",2147483647,2147483648,-2147483648,-2147483649,4294967296,"
                       "1e+300,100,1.5,0.1,123456789012,1700000000000,1e+21,12345678901234568]");
    sio_packet_clear(&p);
}

/* Where cJSON 1.7.15's number printing and JSON.stringify part ways: the same
 * values to any JSON reader (but the last bit of the first one), other bytes.
 * Listed in docs/protocol-codecs.md; a cJSON upgrade that changes them should
 * fail here and update the doc. */
static void test_number_divergences(void **state)
{
    (void)state;
    static const struct {
        const char *in, *cjson, *js;
    } cases[] = {
        {"0.30000000000000004", "0.3", "0.30000000000000004"}, /* within DBL_EPSILON */
        {"-0", "-0", "0"},
        {"1e15", "1e+15", "1000000000000000"},
        {"1e16", "1e+16", "10000000000000000"},
        {"1e-7", "1e-07", "1e-7"},
        {"1e-5", "1e-05", "0.00001"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *n = cJSON_Parse(cases[i].in);
        char *s = sio_encode_event(NULL, "n", n, NULL);
        char want[64];
        snprintf(want, sizeof want, "2[\"n\",%s]", cases[i].cjson);
        assert_string_equal(s, want);
        assert_string_not_equal(cases[i].cjson, cases[i].js);
        free(s);
        cJSON_Delete(n);
    }
}

static void test_encode_invalid(void **state)
{
    (void)state;
    struct sio_packet p = {.type = (enum sio_type)7};
    assert_null(sio_encode(&p, NULL));
    assert_null(sio_encode(NULL, NULL));

    p = (struct sio_packet){.type = SIO_EVENT}; /* no payload */
    assert_null(sio_encode(&p, NULL));
    p = (struct sio_packet){.type = SIO_CONNECT, .nsp = "admin"}; /* no leading '/' */
    assert_null(sio_encode(&p, NULL));
    p = (struct sio_packet){.type = SIO_CONNECT, .nsp = "/a,b"}; /* would end early */
    assert_null(sio_encode(&p, NULL));
    p = (struct sio_packet){.type = SIO_CONNECT};
    memset(p.nsp, 'n', sizeof p.nsp); /* no NUL */
    p.nsp[0] = '/';
    assert_null(sio_encode(&p, NULL));
    p = (struct sio_packet){.type = SIO_ACK, .has_ack = true, .ack_id = SIO_ACK_ID_MAX + 1};
    p.data = cJSON_CreateArray();
    assert_null(sio_encode(&p, NULL));
    p.ack_id = SIO_ACK_ID_MAX;
    assert_encodes(&p, "39007199254740991[]");
    p.type = SIO_DISCONNECT; /* a payload it may not carry */
    assert_null(sio_encode(&p, NULL));
    p.type = SIO_BINARY_ACK;
    p.attachments = SIO_ATTACHMENTS_MAX + 1;
    assert_null(sio_encode(&p, NULL));
    p.attachments = SIO_ATTACHMENTS_MAX;
    assert_encodes(&p, "610-9007199254740991[]");
    sio_packet_clear(&p);
}

static void test_accessors(void **state)
{
    (void)state;
    struct sio_packet p;
    assert_int_equal(decode(S("2[\"message\",{\"roomId\":\"0\"},3]"), &p), 0);
    assert_string_equal(sio_event_name(&p), "message");
    assert_true(cJSON_IsObject(sio_arg(&p, 0)));
    assert_int_equal(sio_arg(&p, 1)->valueint, 3);
    assert_null(sio_arg(&p, 2));
    sio_packet_clear(&p);

    assert_int_equal(decode(S("3/x,5[\"a\",\"b\"]"), &p), 0);
    assert_null(sio_event_name(&p));
    assert_string_equal(sio_arg(&p, 0)->valuestring, "a");
    assert_string_equal(sio_arg(&p, 1)->valuestring, "b");
    sio_packet_clear(&p);

    assert_int_equal(decode(S("0{}"), &p), 0);
    assert_null(sio_event_name(&p));
    assert_null(sio_arg(&p, 0));
    sio_packet_clear(&p);
    assert_null(sio_event_name(NULL));
    assert_null(sio_arg(NULL, 0));
    sio_packet_clear(NULL);
}

static void test_reconstruct(void **state)
{
    (void)state;
    struct sio_packet p;
    const struct sio_blob blobs[] = {{"\1\2\3\4", 4}, {"", 0}};

    assert_int_equal(decode(S("52-/up,[\"f\",{\"_placeholder\":true,\"num\":1},"
                              "{\"k\":[{\"_placeholder\":true,\"num\":0}]}]"),
                            &p),
                     0);
    assert_int_equal(sio_reconstruct(&p, blobs, 1), SIO_EATTACH); /* one short */
    assert_int_equal(p.type, SIO_BINARY_EVENT);                   /* unchanged */
    assert_int_equal(sio_reconstruct(&p, blobs, 2), 0);
    assert_int_equal(p.type, SIO_EVENT);
    assert_int_equal(p.attachments, 0);
    assert_encodes(&p, "2/up,[\"f\",{\"_binary\":\"\"},{\"k\":[{\"_binary\":\"AQIDBA==\"}]}]");
    assert_int_equal(sio_reconstruct(&p, blobs, 2), SIO_EINVAL); /* no longer binary */
    sio_packet_clear(&p);

    /* A binary ack; placeholders may repeat an index, as the reference allows. */
    assert_int_equal(decode(S("61-3[{\"_placeholder\":true,\"num\":0},"
                              "{\"_placeholder\":true,\"num\":0}]"),
                            &p),
                     0);
    assert_int_equal(sio_reconstruct(&p, blobs, 1), 0);
    assert_encodes(&p, "33[{\"_binary\":\"AQIDBA==\"},{\"_binary\":\"AQIDBA==\"}]");
    sio_packet_clear(&p);

    /* Zero attachments: nothing to wait for. */
    assert_int_equal(decode(S("50-[\"a\"]"), &p), 0);
    assert_int_equal(sio_reconstruct(&p, NULL, 0), 0);
    assert_encodes(&p, "2[\"a\"]");
    sio_packet_clear(&p);

    static const char *bad[] = {
        "51-[\"a\",{\"_placeholder\":true,\"num\":1}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":-1}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":0.5}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":\"0\"}]",
        "51-[\"a\",{\"_placeholder\":true}]",
        "51-[\"a\",{\"x\":{\"_placeholder\":true,\"num\":1000}}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(decode(bad[i], strlen(bad[i]), &p), 0);
        assert_int_equal(sio_reconstruct(&p, blobs, 1), SIO_EATTACH);
        assert_encodes(&p, bad[i]); /* p unchanged */
        sio_packet_clear(&p);
    }
    /* "_placeholder" that is not true is plain data. */
    assert_int_equal(decode(S("51-[\"a\",{\"_placeholder\":1,\"num\":9}]"), &p), 0);
    assert_int_equal(sio_reconstruct(&p, blobs, 1), 0);
    assert_encodes(&p, "2[\"a\",{\"_placeholder\":1,\"num\":9}]");
    sio_packet_clear(&p);
}

static void test_deconstruct(void **state)
{
    (void)state;
    struct sio_blob blobs[SIO_ATTACHMENTS_MAX];
    void *store = (void *)&store;
    struct sio_packet p = {.type = SIO_EVENT};

    /* What the reference encoder writes for ["up", <01 02 03>, {k: <>}]. */
    p.data = cJSON_Parse("[\"up\",{\"_binary\":\"AQID\"},{\"k\":{\"_binary\":\"\"}}]");
    assert_int_equal(sio_deconstruct(&p, blobs, &store), 2);
    assert_non_null(store);
    assert_int_equal(p.type, SIO_BINARY_EVENT);
    assert_int_equal(p.attachments, 2);
    assert_encodes(&p, "52-[\"up\",{\"_placeholder\":true,\"num\":0},"
                       "{\"k\":{\"_placeholder\":true,\"num\":1}}]");
    assert_int_equal(blobs[0].len, 3);
    assert_memory_equal(blobs[0].data, "\1\2\3", 3);
    assert_int_equal(blobs[1].len, 0);

    /* And back again. */
    assert_int_equal(sio_reconstruct(&p, blobs, 2), 0);
    assert_encodes(&p, "2[\"up\",{\"_binary\":\"AQID\"},{\"k\":{\"_binary\":\"\"}}]");
    free(store);
    sio_packet_clear(&p);

    /* A binary ack with an id and a namespace. */
    p = (struct sio_packet){.type = SIO_ACK, .nsp = "/admin", .has_ack = true, .ack_id = 15};
    p.data = cJSON_Parse("[\"bar\",{\"_binary\":\"AQIDBA==\"}]");
    assert_int_equal(sio_deconstruct(&p, blobs, &store), 1);
    assert_encodes(&p, "61-/admin,15[\"bar\",{\"_placeholder\":true,\"num\":0}]");
    assert_memory_equal(blobs[0].data, "\1\2\3\4", 4);
    free(store);
    sio_packet_clear(&p);

    /* Nothing binary: nothing changes, nothing to free. */
    p = (struct sio_packet){.type = SIO_EVENT};
    p.data = cJSON_Parse("[\"a\",{\"_binary\":1},{\"_binary\":\"AQID\",\"x\":1}]");
    assert_int_equal(sio_deconstruct(&p, blobs, &store), 0);
    assert_null(store);
    assert_int_equal(p.type, SIO_EVENT);
    sio_packet_clear(&p);

    /* Errors leave p as it was. */
    static const char *bad[] = {
        "[\"a\",{\"_binary\":\"AQI\"}]",  /* length */
        "[\"a\",{\"_binary\":\"AQ-_\"}]", /* alphabet */
        "[\"a\",{\"_binary\":\"AR==\"}]", /* trailing bits */
        "[\"a\",{\"_binary\":\"AQID\"},{\"_binary\":\"%%%%\"}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = (struct sio_packet){.type = SIO_EVENT};
        p.data = cJSON_Parse(bad[i]);
        assert_int_equal(sio_deconstruct(&p, blobs, &store), SIO_EINVAL);
        assert_null(store);
        char *want = malloc(strlen(bad[i]) + 2);
        sprintf(want, "2%s", bad[i]);
        assert_encodes(&p, want);
        free(want);
        sio_packet_clear(&p);
    }

    /* More than SIO_ATTACHMENTS_MAX binaries. */
    p = (struct sio_packet){.type = SIO_EVENT};
    p.data = cJSON_Parse("[\"a\"]");
    for (int i = 0; i <= SIO_ATTACHMENTS_MAX; i++) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "_binary", "AA==");
        cJSON_AddItemToArray(p.data, b);
    }
    assert_int_equal(sio_deconstruct(&p, blobs, &store), SIO_EATTACH);
    assert_int_equal(p.type, SIO_EVENT);
    cJSON_DeleteItemFromArray(p.data, 1);
    assert_int_equal(sio_deconstruct(&p, blobs, &store), SIO_ATTACHMENTS_MAX);
    free(store);
    sio_packet_clear(&p);

    /* Only EVENT and ACK. */
    p = (struct sio_packet){.type = SIO_CONNECT};
    p.data = cJSON_Parse("{\"_binary\":\"AQID\"}");
    assert_int_equal(sio_deconstruct(&p, blobs, &store), SIO_EINVAL);
    sio_packet_clear(&p);
}

/* A tree the application builds may nest deeper than a parsed one; the walks
 * refuse it instead of recursing without bound. */
static void test_walk_depth(void **state)
{
    (void)state;
    struct sio_blob blobs[SIO_ATTACHMENTS_MAX];
    void *store;
    struct sio_packet p = {.type = SIO_EVENT};
    p.data = cJSON_Parse("[\"deep\"]");
    cJSON *at = p.data;
    for (int i = 0; i < SIO_DEPTH_MAX + 10; i++) {
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(at, a);
        at = a;
    }
    assert_int_equal(sio_deconstruct(&p, blobs, &store), SIO_EPAYLOAD);
    p.type = SIO_BINARY_EVENT;
    assert_int_equal(sio_reconstruct(&p, NULL, 0), SIO_EPAYLOAD);
    sio_packet_clear(&p);

    /* As deep as the parser goes is fine. */
    size_t d = CJSON_NESTING_LIMIT;
    char *in = malloc(2 * d + 64);
    size_t n = (size_t)sprintf(in, "50-[\"a\",");
    memset(in + n, '[', d - 1), n += d - 1;
    memset(in + n, ']', d), n += d;
    assert_int_equal(decode(in, n, &p), 0);
    assert_int_equal(sio_reconstruct(&p, NULL, 0), 0);
    sio_packet_clear(&p);
    free(in);
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(sio_strerror(0), "ok");
    for (int e = SIO_EINVAL; e <= SIO_ETYPE; e++) {
        assert_string_not_equal(sio_strerror(e), "unknown error");
        for (int f = e + 1; f <= SIO_ETYPE; f++)
            assert_string_not_equal(sio_strerror(e), sio_strerror(f));
    }
    assert_string_equal(sio_strerror(1), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_round_trips),
        cmocka_unit_test(test_decode_lenient_forms),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_namespace_limit),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_encode_event),
        cmocka_unit_test(test_encode_ack),
        cmocka_unit_test(test_encode_packets),
        cmocka_unit_test(test_number_divergences),
        cmocka_unit_test(test_encode_invalid),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_reconstruct),
        cmocka_unit_test(test_deconstruct),
        cmocka_unit_test(test_walk_depth),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
