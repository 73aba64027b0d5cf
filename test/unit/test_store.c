/* Unit tests of the data model: key names, ids, rooms, validation, the
 * message format (ours and the originals'), scripts and demo seeding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store.h"

static void test_keys(void **state)
{
    (void)state;
    char k[STORE_KEY_MAX];
    assert_int_equal(store_key_user(k, sizeof k, 42), 7);
    assert_string_equal(k, "user:42");
    store_key_user_rooms(k, sizeof k, 7);
    assert_string_equal(k, "user:7:rooms");
    store_key_username(k, sizeof k, "Pablo!", 5);
    assert_string_equal(k, "username:Pablo");
    store_key_room(k, sizeof k, "1:2");
    assert_string_equal(k, "room:1:2");
    store_key_room_name(k, sizeof k, "0");
    assert_string_equal(k, "room:0:name");
    store_key_session(k, sizeof k, "abcd");
    assert_string_equal(k, "chatd:session:abcd");
    store_key_login_fails_addr(k, sizeof k, "::1");
    assert_string_equal(k, "chatd:loginfail:addr:::1");
    store_key_login_fails_user(k, sizeof k, "Joe", 3);
    assert_string_equal(k, "chatd:loginfail:user:Joe");
    /* Too small a buffer is an error, never a truncated key. */
    char tiny[6];
    assert_int_equal(store_key_user(tiny, sizeof tiny, 42), -1);
    /* chatd's own keys never collide with the originals' session stores. */
    assert_int_not_equal(strncmp(STORE_OWN_PREFIX, "session:", 8), 0);
    assert_int_not_equal(strncmp(STORE_OWN_PREFIX, "sess:", 5), 0);
}

static void test_parse_id(void **state)
{
    (void)state;
    uint64_t v = 99;
    assert_int_equal(store_parse_id("17", 2, false, &v), 0);
    assert_int_equal(v, 17);
    assert_int_equal(store_parse_id("0", 1, true, &v), 0);
    assert_int_equal(v, 0);
    v = 5;
    const char *bad[] = {"",
                         "0",
                         "01",
                         "-1",
                         "+1",
                         "1a",
                         " 1",
                         "1 ",
                         "1.0",
                         "9007199254740992",
                         "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(store_parse_id(bad[i], strlen(bad[i]), false, &v), -1);
        assert_int_equal(v, 5); /* unchanged on error */
    }
    assert_int_equal(store_parse_id("9007199254740991", 16, false, &v), 0);
    assert_int_equal(store_parse_user_ref("user:12", 7, &v), 0);
    assert_int_equal(v, 12);
    assert_int_equal(store_parse_user_ref("user:", 5, &v), -1);
    assert_int_equal(store_parse_user_ref("usr:12", 6, &v), -1);
}

static void test_rooms(void **state)
{
    (void)state;
    struct room_ref r;
    assert_int_equal(store_room_parse("0", 1, &r), 0);
    assert_int_equal(r.kind, ROOM_NAMED);
    assert_string_equal(r.id, "0");
    assert_int_equal(store_room_parse("3:10", 4, &r), 0);
    assert_int_equal(r.kind, ROOM_PRIVATE);
    assert_int_equal(r.a, 3);
    assert_int_equal(r.b, 10);
    assert_string_equal(r.id, "3:10");
    assert_true(store_room_is_private_member(&r, 3));
    assert_true(store_room_is_private_member(&r, 10));
    assert_false(store_room_is_private_member(&r, 4));
    const char *bad[] = {"", "abc", "2:1", "1:1", "0:1", "1:2:3", ":1", "1:", "01:2", "1:02", "-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(store_room_parse(bad[i], strlen(bad[i]), &r), -1);
    assert_int_equal(store_room_private(10, 9, &r), 0);
    assert_string_equal(r.id, "9:10");
    assert_int_equal(store_room_private(4, 4, &r), -1);
    assert_int_equal(store_room_private(0, 4, &r), -1);
    struct room_ref named;
    store_room_parse("0", 1, &named);
    assert_false(store_room_is_private_member(&named, 0));
}

static void test_username(void **state)
{
    (void)state;
    assert_null(store_username_problem("Pablo", 5));
    assert_null(store_username_problem("Zoë_1-x.y", strlen("Zoë_1-x.y")));
    char name[200] = "";
    for (int i = 0; i < 32; i++)
        strcat(name, "é");
    assert_null(store_username_problem(name, strlen(name)));
    strcat(name, "é");
    assert_non_null(store_username_problem(name, strlen(name)));
    const char *bad[] = {"",
                         "a b",
                         "a\tb",
                         "a\nb",
                         "\x7f",
                         "a\xc2\xa0"
                         "b",
                         "a\xe3\x80\x80"
                         "b",
                         "\xff",
                         "\xc0\xaf",
                         "\xed\xa0\x80",
                         "a\x01"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_non_null(store_username_problem(bad[i], strlen(bad[i])));
}

static void test_utf8_and_messages(void **state)
{
    (void)state;
    size_t chars;
    assert_true(store_utf8_valid("h\xc3\xa9\xf0\x9f\x98\x80", 7, &chars));
    assert_int_equal(chars, 3);
    assert_false(store_utf8_valid("\xf0\x9f\x98", 3, NULL));     /* truncated */
    assert_false(store_utf8_valid("\xe0\x80\x80", 3, NULL));     /* overlong */
    assert_false(store_utf8_valid("\xf4\x90\x80\x80", 4, NULL)); /* > U+10FFFF */
    assert_null(store_message_problem("hi", 2, 10));
    assert_null(store_message_problem("<img src=x onerror=alert(1)>", 28, 4096));
    assert_non_null(store_message_problem("", 0, 10));
    assert_non_null(store_message_problem("  \n\t", 4, 10));
    assert_non_null(store_message_problem("hello world", 11, 10));
    assert_non_null(store_message_problem("a\0b", 3, 10));
    assert_non_null(store_message_problem("\xff", 1, 10));
}

static void test_message_encode(void **state)
{
    (void)state;
    struct store_message m = {
        .from = 7,
        .date = 1795868576,
        .text = "Tom & Jerry <b>\"x\"</b> and more",
        .text_len = 22,
        .room_id = "1:7",
        .id = "00aa",
    };
    char *json = store_message_encode(&m);
    assert_non_null(json);
    assert_string_equal(json, "{\"from\":\"7\",\"date\":1795868576,"
                              "\"message\":\"Tom & Jerry <b>\\\"x\\\"</b>\",\"roomId\":\"1:7\","
                              "\"id\":\"00aa\"}");
    /* What we write reads back the same. */
    cJSON *n = store_message_normalize(json, strlen(json));
    assert_non_null(n);
    char *again = cJSON_PrintUnformatted(n);
    assert_string_equal(again, json);
    free(again);
    cJSON_Delete(n);
    free(json);
    m.id[0] = '\0';
    json = store_message_encode(&m);
    assert_null(strstr(json, "\"id\""));
    free(json);
}

static void expect_normalized(const char *stored, const char *want)
{
    cJSON *n = store_message_normalize(stored, strlen(stored));
    assert_non_null(n);
    char *got = cJSON_PrintUnformatted(n);
    assert_string_equal(got, want);
    free(got);
    cJSON_Delete(n);
}

static void test_message_legacy(void **state)
{
    (void)state;
    /* The Python demo: spaces, numeric from, float date, escaped text. */
    expect_normalized("{\"from\": 1, \"date\": 1795868576.509251, \"message\": \"Tom &amp; "
                      "Jerry &lt;b&gt;bold&lt;/b&gt;\", \"roomId\": \"0\"}",
                      "{\"from\":\"1\",\"date\":1795868576,\"message\":\"Tom &amp; Jerry "
                      "&lt;b&gt;bold&lt;/b&gt;\",\"roomId\":\"0\"}");
    /* The Node demo: string from, keys in another order, &lt without ';'. */
    expect_normalized("{\"roomId\":\"1:5\",\"message\":\"&ltb&gt hi\",\"from\":\"5\","
                      "\"date\":1795869588}",
                      "{\"from\":\"5\",\"date\":1795869588,\"message\":\"&ltb&gt hi\","
                      "\"roomId\":\"1:5\"}");
    expect_normalized("{\"from\":2,\"date\":\"1795869588.25\",\"message\":\"x\",\"roomId\":0}",
                      "{\"from\":\"2\",\"date\":1795869588,\"message\":\"x\",\"roomId\":\"0\"}");
    const char *bad[] = {
        "",
        "null",
        "[]",
        "{}",
        "not json",
        "{\"from\":1,\"date\":1,\"roomId\":\"0\"}",                     /* no text */
        "{\"from\":1.5,\"date\":1,\"message\":\"x\",\"roomId\":\"0\"}", /* fractional id */
        "{\"from\":-1,\"date\":1,\"message\":\"x\",\"roomId\":\"0\"}",
        "{\"from\":\"x\",\"date\":1,\"message\":\"x\",\"roomId\":\"0\"}",
        "{\"from\":1,\"date\":\"soon\",\"message\":\"x\",\"roomId\":\"0\"}",
        "{\"from\":1,\"date\":1,\"message\":7,\"roomId\":\"0\"}",
        "{\"from\":1,\"date\":1,\"message\":\"x\"}", /* no room */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_null(store_message_normalize(bad[i], strlen(bad[i])));
}

static void test_scripts(void **state)
{
    (void)state;
    for (int s = 0; s < SCRIPT_COUNT; s++) {
        const char *sha = store_script_sha(s);
        assert_int_equal(strlen(sha), 40);
        assert_int_equal(strspn(sha, "0123456789abcdef"), 40);
        assert_non_null(strstr(store_script_source(s), "return"));
        for (int t = 0; t < s; t++)
            assert_string_not_equal(store_script_sha(t), sha);
    }
}

/* Collects the seeding commands. */
struct seed_log {
    int commands, zadds, sadds, sets, hsets;
    int general_messages, private_messages;
    char rooms_of_1[256];
};

static int collect(void *ctx, int argc, const char **argv, const size_t *lens)
{
    struct seed_log *log = ctx;
    log->commands++;
    assert_true(argc >= 2);
    char key[STORE_KEY_MAX];
    snprintf(key, sizeof key, "%.*s", (int)lens[1], argv[1]);
    if (!strcmp(argv[0], "ZADD")) {
        log->zadds++;
        assert_int_equal(argc, 4);
        cJSON *m = store_message_normalize(argv[3], lens[3]);
        assert_non_null(m); /* every seeded member is a valid message */
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
        assert_true(cJSON_IsString(id));
        assert_int_equal(strlen(id->valuestring), STORE_MESSAGE_ID_LEN);
        if (!strcmp(key, "room:0"))
            log->general_messages++;
        else
            log->private_messages++;
        cJSON_Delete(m);
    } else if (!strcmp(argv[0], "SADD")) {
        log->sadds++;
        if (!strcmp(key, "user:1:rooms")) {
            strncat(log->rooms_of_1, argv[2], lens[2]);
            strcat(log->rooms_of_1, " ");
        }
    } else if (!strcmp(argv[0], "SET")) {
        log->sets++;
    } else if (!strcmp(argv[0], "HSET")) {
        log->hsets++;
        assert_int_equal(argc, 6);
        assert_string_equal(argv[5], "HASH");
    }
    return 0;
}

static uint32_t counter_random(void *ctx)
{
    (void)ctx;
    static uint32_t x = 12345;
    x = x * 1103515245u + 12345u;
    return x >> 8;
}

static void test_seed(void **state)
{
    (void)state;
    const char *hashes[STORE_DEMO_USERS] = {"HASH", "HASH", "HASH", "HASH"};
    struct seed_log log = {0};
    assert_int_equal(store_seed_commands(hashes, 1795868576, counter_random, collect, &log), 0);
    assert_int_equal(log.hsets, 4);
    assert_int_equal(log.sets, 2 + 4); /* total_users, room:0:name, 4 usernames */
    assert_int_equal(log.general_messages, 5);
    assert_int_equal(log.private_messages, 12); /* 6 pairs, a greeting from each */
    assert_string_equal(log.rooms_of_1, "0 1:2 1:3 1:4 ");
}

static int fail_third(void *ctx, int argc, const char **argv, const size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    return ++*(int *)ctx == 3 ? -1 : 0;
}

static void test_seed_stops_on_error(void **state)
{
    (void)state;
    const char *hashes[STORE_DEMO_USERS] = {"H", "H", "H", "H"};
    int calls = 0;
    assert_int_equal(store_seed_commands(hashes, 1, counter_random, fail_third, &calls), -1);
    assert_int_equal(calls, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_parse_id),
        cmocka_unit_test(test_rooms),
        cmocka_unit_test(test_username),
        cmocka_unit_test(test_utf8_and_messages),
        cmocka_unit_test(test_message_encode),
        cmocka_unit_test(test_message_legacy),
        cmocka_unit_test(test_scripts),
        cmocka_unit_test(test_seed),
        cmocka_unit_test(test_seed_stops_on_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
