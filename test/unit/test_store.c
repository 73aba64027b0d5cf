/* Unit tests of the data model: key names, ids, rooms, validation, the
 * message format (ours and the originals'), scripts, the channel's
 * envelope, script calls and demo seeding. */
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
    store_key_login_fails_pair(k, sizeof k, "Joe", 3, "::1");
    assert_string_equal(k, "chatd:loginfail:pair:::1 Joe");
    store_key_registrations_addr(k, sizeof k, "127.0.0.2");
    assert_string_equal(k, "chatd:registrations:addr:127.0.0.2");
    store_key_username_canonical(k, sizeof k, "pablo");
    assert_string_equal(k, "chatd:username:pablo");
    const char *name;
    size_t name_len;
    assert_int_equal(store_username_of_key("username:Pablo", 14, &name, &name_len), 0);
    assert_int_equal(name_len, 5);
    assert_memory_equal(name, "Pablo", 5);
    assert_int_equal(store_username_of_key("username:", 9, &name, &name_len), -1);
    assert_int_equal(store_username_of_key("user:1", 6, &name, &name_len), -1);
    assert_int_equal(store_key_message_index(k, sizeof k, "1:2"), 16);
    assert_string_equal(k, "chatd:msgidx:1:2");
    store_key_read_markers(k, sizeof k, 7);
    assert_string_equal(k, "chatd:read:7");
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
    /* Tabs and line feeds stay; other controls and bidi formatting do not. */
    assert_null(store_message_problem("a\tb\nc", 5, 10));
    const char *refused[] = {"a\rb",         "a\x1b[31mb",   "a\x7f",       "a\xC2\x85z",
                             "a\xE2\x80\xAAz", "a\xE2\x80\xAEz", "a\xE2\x81\xA6z", "a\xE2\x81\xA9z"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        assert_non_null(store_message_problem(refused[i], strlen(refused[i]), 64));
    /* Neighbours of the refused ranges are ordinary text. */
    const char *kept[] = {"a\xE2\x80\xA9z", "a\xE2\x80\xAFz", "a\xE2\x81\xA5z", "a\xE2\x81\xAAz",
                          "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D"};
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
        assert_null(store_message_problem(kept[i], strlen(kept[i]), 64));
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

/* ---- the channel's envelope ------------------------------------------- */

static void test_envelope(void **state)
{
    (void)state;
    size_t len = 0;
    char *e = store_envelope("srv-1", "message", "{\"a\":1}", &len);
    assert_string_equal(e, "{\"serverId\":\"srv-1\",\"type\":\"message\",\"data\":{\"a\":1}}");
    assert_int_equal(len, strlen(e));
    free(e);

    /* Whatever the server id holds, the envelope stays JSON with that id. */
    e = store_envelope("a\"b\\c\n\x01", "typing", "{}", NULL);
    assert_string_equal(e, "{\"serverId\":\"a\\\"b\\\\c\\u000a\\u0001\",\"type\":\"typing\","
                           "\"data\":{}}");
    cJSON *parsed = cJSON_Parse(e);
    assert_string_equal(cJSON_GetObjectItem(parsed, "serverId")->valuestring, "a\"b\\c\n\x01");
    cJSON_Delete(parsed);
    free(e);

    assert_null(store_envelope(NULL, "message", "{}", NULL));
    assert_null(store_envelope("s", NULL, "{}", NULL));
    assert_null(store_envelope("s", "message", NULL, NULL));
    assert_null(store_envelope("s", "message", "", NULL));
}

/* What store_envelope writes, store_envelope_read reads back; anything that
 * is not an envelope with a string type and an object data is refused. */
static void test_envelope_read(void **state)
{
    (void)state;
    size_t len = 0;
    char *e = store_envelope("srv-1", "show.room", "{\"id\":\"1:2\"}", &len);
    const char *type = NULL;
    const cJSON *data = NULL;
    cJSON *env = store_envelope_read(e, len, &type, &data);
    assert_non_null(env);
    assert_string_equal(type, "show.room");
    assert_string_equal(cJSON_GetObjectItem(data, "id")->valuestring, "1:2");
    cJSON_Delete(env);
    free(e);

    /* An original server's envelope: its own key order, no serverId. */
    const char *orig = "{\"type\":\"message\",\"data\":{\"from\":1}}";
    env = store_envelope_read(orig, strlen(orig), &type, &data);
    assert_non_null(env);
    assert_string_equal(type, "message");
    cJSON_Delete(env);

    const char *bad[] = {"",
                         "nope",
                         "[]",
                         "{\"type\":\"message\"}",
                         "{\"type\":1,\"data\":{}}",
                         "{\"type\":\"message\",\"data\":[]}",
                         "{\"type\":\"message\",\"data\":{}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        type = "untouched";
        data = NULL;
        assert_null(store_envelope_read(bad[i], strlen(bad[i]), &type, &data));
        assert_string_equal(type, "untouched");
        assert_null(data);
    }
}

static void test_envelope_bound(void **state)
{
    (void)state;
    /* The envelope of data X is {"serverId":"s","type":"t","data":X}. */
    const size_t frame = strlen("{\"serverId\":\"s\",\"type\":\"t\",\"data\":}");
    char *data = malloc(STORE_ENVELOPE_MAX);
    assert_non_null(data);
    size_t fits = STORE_ENVELOPE_MAX - 1 - frame;
    memset(data, '1', fits + 1);
    data[fits] = '\0';
    size_t len;
    char *e = store_envelope("s", "t", data, &len);
    assert_non_null(e);
    assert_int_equal(len, STORE_ENVELOPE_MAX - 1);
    free(e);
    data[fits] = '1';
    data[fits + 1] = '\0';
    assert_null(store_envelope("s", "t", data, NULL));
    free(data);
}

/* ---- scripts ------------------------------------------------------------- */

static size_t count_of(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Every script that publishes does it through one prelude at its start,
 * the only place the channel is named. */
static void test_scripts_publish_through_the_prelude(void **state)
{
    (void)state;
    assert_string_equal(STORE_CHANNEL, STORE_CHANNEL_NAME);
    const char *quoted = "'" STORE_CHANNEL_NAME "'";
    const char *first = NULL;
    size_t prelude_end = 0;
    int publishing = 0;
    for (int s = 0; s < SCRIPT_COUNT; s++) {
        const char *src = store_script_source(s);
        /* A control message (a logout) is no event: neither logged nor
         * replayed, and never on MESSAGES. */
        size_t control = count_of(src, "'" STORE_CONTROL_CHANNEL_NAME "'");
        size_t publishes = count_of(src, "PUBLISH") - control;
        assert_int_equal(count_of(src, STORE_CHANNEL_NAME), publishes);
        if (!publishes)
            continue;
        publishing++;
        /* The prelude's two: an event logged first, and an ephemeral one
         * (typing, presence) never logged. */
        assert_int_equal(publishes, 2);
        assert_int_equal(count_of(src, quoted), 2);
        assert_int_equal(count_of(src, "XADD"), 1);
        assert_true(strstr(src, "XADD") < strstr(src, quoted));
        size_t at = (size_t)(strstr(src, quoted) - src);
        if (!first) {
            first = src;
            prelude_end = at;
        }
        /* The same prelude, in the same place, in each. */
        assert_int_equal(at, prelude_end);
        assert_memory_equal(src, first, at);
    }
    /* socket open, message, leave, heartbeat, server down; edit, delete,
     * react, read mark; group create, add, remove; typing's publish */
    assert_int_equal(publishing, 13);
    /* Typing and presence are never logged. */
    assert_non_null(strstr(store_script_source(SCRIPT_TYPING), "\npublish_ephemeral(ARGV[1])"));
    assert_null(strstr(store_script_source(SCRIPT_TYPING), "\npublish_envelope("));
    for (int s = 0; s < SCRIPT_COUNT; s++) {
        const char *src = store_script_source(s);
        assert_null(strstr(src, "publish(ARGV[2], 'user.connected'"));
        assert_null(strstr(src, "publish(me, 'user.disconnected'"));
    }
    assert_non_null(strstr(store_script_source(SCRIPT_SOCKET_OPEN), "announce(ARGV[2], 'user.connected'"));
}

/* ---- script calls: each builder puts each value where its script reads it */

static void expect_strings(const char *const *got, int n, const char *const *want, int want_n)
{
    assert_int_equal(n, want_n);
    for (int i = 0; i < n; i++)
        assert_string_equal(got[i], want[i]);
}

#define EXPECT_KEYS(call, ...)                                                                     \
    expect_strings((call)->keys, (call)->nkeys, (const char *const[]){__VA_ARGS__},                \
                   (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)))
#define EXPECT_ARGS(call, ...)                                                                     \
    expect_strings((call)->args, (call)->nargs, (const char *const[]){__VA_ARGS__},                \
                   (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)))

static void test_call_session_and_login(void **state)
{
    (void)state;
    struct store_call call;
    assert_int_equal(store_call_session(&call, "chatd:session:ab", 604800), 0);
    assert_int_equal(call.script, SCRIPT_SESSION);
    EXPECT_KEYS(&call, "chatd:session:ab");
    EXPECT_ARGS(&call, "604800");

    struct store_login_lookup_params lookup = {.username = "Joe",
                                               .canonical = "joe",
                                               .may_register = true,
                                               .client_addr = "::1",
                                               .max_fails_user = 5,
                                               .max_fails_addr = 50,
                                               .window_s = 900,
                                               .delay_max_s = 600,
                                               .registrations_per_hour = 10,
                                               .logins_per_minute = 30};
    assert_int_equal(store_call_login_lookup(&call, &lookup), 0);
    assert_int_equal(call.script, SCRIPT_LOGIN_LOOKUP);
    /* The limits count the canonical name: other spellings get no more tries. */
    EXPECT_KEYS(&call, "username:Joe", "chatd:loginfail:pair:::1 joe", "chatd:loginfail:addr:::1",
                "chatd:registrations:addr:::1", "chatd:username:joe", "chatd:logins:addr:::1");
    EXPECT_ARGS(&call, "5", "50", "900", "600", "10", "1", "30", "0");
    /* POST /register: a known name is taken. */
    lookup.register_only = true;
    assert_int_equal(store_call_login_lookup(&call, &lookup), 0);
    EXPECT_ARGS(&call, "5", "50", "900", "600", "10", "1", "30", "1");

    const char *key = "chatd:session:"
                      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    assert_int_equal(store_call_logout(&call, key), 0);
    assert_int_equal(call.script, SCRIPT_LOGOUT);
    EXPECT_KEYS(&call, key);
    EXPECT_ARGS(&call, "{\"type\":\"logout\",\"session\":"
                       "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}");
    char digest[65];
    assert_int_equal(store_control_read(call.args[0], strlen(call.args[0]), digest),
                     STORE_CONTROL_LOGOUT);
    assert_string_equal(digest, key + strlen("chatd:session:"));
    /* Only a session key with a whole digest; only known messages. */
    assert_int_equal(store_call_logout(&call, "chatd:session:ab"), -1);
    assert_int_equal(store_call_logout(&call, "session:" "00112233445566778899aabbccddeeff"
                                              "00112233445566778899aabbccddeeff"), -1);
    assert_int_equal(store_control_read("{\"type\":\"logout\",\"session\":\"AB\"}", 32, digest),
                     -1);
    assert_int_equal(store_control_read("{\"type\":\"other\"}", 16, digest), -1);
    assert_int_equal(store_control_read("nope", 4, digest), -1);

    assert_int_equal(store_call_login_release(&call, "joe", "::1"), 0);
    assert_int_equal(call.script, SCRIPT_LOGIN_RELEASE);
    EXPECT_KEYS(&call, "chatd:loginfail:pair:::1 joe", "chatd:loginfail:addr:::1");
    assert_int_equal(call.nargs, 0);

    assert_int_equal(store_call_login_failed(&call, "joe", "::1"), 0);
    assert_int_equal(call.script, SCRIPT_LOGIN_FAILED);
    EXPECT_KEYS(&call, "chatd:loginfail:pair:::1 joe");
    assert_int_equal(call.nargs, 0);

    assert_int_equal(store_call_register(&call, "Joe", "joe", "$argon2id$x"), 0);
    assert_int_equal(call.script, SCRIPT_REGISTER);
    EXPECT_KEYS(&call, "username:Joe", "total_users", "chatd:username:joe", "chatd:usersearch");
    EXPECT_ARGS(&call, "Joe", "$argon2id$x", "joe");

    struct store_rehash_params rehash = {.user_id = 7, .old_hash = "$2b$old", .new_hash = "$new"};
    assert_int_equal(store_call_rehash(&call, &rehash), 0);
    assert_int_equal(call.script, SCRIPT_REHASH);
    EXPECT_KEYS(&call, "user:7");
    EXPECT_ARGS(&call, "$2b$old", "$new");

    /* Missing or oversized input fails the call instead of sending half. */
    assert_int_equal(store_call_session(&call, NULL, 1), -1);
    lookup.client_addr = NULL;
    assert_int_equal(store_call_login_lookup(&call, &lookup), -1);
    char long_name[STORE_USERNAME_MAX_BYTES + 2];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(store_call_register(&call, long_name, "x", "h"), -1);
    assert_int_equal(store_call_register(&call, "Joe", NULL, "h"), -1);
    assert_int_equal(store_call_login_release(&call, long_name, "::1"), -1);
}

static void test_call_users_and_rooms(void **state)
{
    (void)state;
    struct store_call call;
    assert_int_equal(store_call_online_users(&call), 0);
    assert_int_equal(call.script, SCRIPT_ONLINE_USERS);
    EXPECT_KEYS(&call, "online_users");
    assert_int_equal(call.nargs, 0);

    const uint64_t ids[] = {3, 1, STORE_ID_MAX};
    assert_int_equal(store_call_users(&call, ids, 3), 0);
    assert_int_equal(call.script, SCRIPT_USERS);
    EXPECT_KEYS(&call, "online_users");
    EXPECT_ARGS(&call, "3", "1", "9007199254740991");
    uint64_t many[STORE_CALL_USERS_MAX + 1];
    for (size_t i = 0; i < STORE_CALL_USERS_MAX + 1; i++)
        many[i] = STORE_ID_MAX - i;
    assert_int_equal(store_call_users(&call, many, STORE_CALL_USERS_MAX), 0);
    assert_int_equal(call.nargs, STORE_CALL_USERS_MAX);
    assert_string_equal(call.args[STORE_CALL_USERS_MAX - 1], "9007199254740892");
    assert_int_equal(store_call_users(&call, many, STORE_CALL_USERS_MAX + 1), -1);
    assert_int_equal(store_call_users(&call, many, 0), -1);

    struct store_users_search_params search = {
        .user_id = 7, .prefix = "pab", .limit = 20, .per_minute = 60};
    assert_int_equal(store_call_users_search(&call, &search), 0);
    assert_int_equal(call.script, SCRIPT_USERS_SEARCH);
    EXPECT_KEYS(&call, "chatd:usersearch", "online_users", "chatd:ratelimit:usersearch:7");
    EXPECT_ARGS(&call, "pab", "20", "60");
    search.limit = STORE_USER_SEARCH_MAX + 1;
    assert_int_equal(store_call_users_search(&call, &search), -1);
    search.limit = 0;
    assert_int_equal(store_call_users_search(&call, &search), -1);
    search.limit = 1;
    search.prefix = "";
    assert_int_equal(store_call_users_search(&call, &search), -1);
    search.prefix = NULL;
    assert_int_equal(store_call_users_search(&call, &search), -1);

    assert_int_equal(store_call_rooms(&call, 4), 0);
    assert_int_equal(call.script, SCRIPT_ROOMS);
    EXPECT_KEYS(&call, "user:4:rooms", "chatd:read:4");
    /* the reader, the scan, the cap, the rooms read at most */
    EXPECT_ARGS(&call, "4", "100", "99", "1000");

    struct room_ref general, private_room;
    store_room_parse("0", 1, &general);
    store_room_private(5, 2, &private_room);
    struct store_history_params history = {.session_key = "chatd:session:ab",
                                           .session_ttl = 604800,
                                           .room = &general,
                                           .offset = 30,
                                           .size = 15};
    assert_int_equal(store_call_history(&call, &history), 0);
    assert_int_equal(call.script, SCRIPT_HISTORY);
    EXPECT_KEYS(&call, "chatd:session:ab", "room:0");
    EXPECT_ARGS(&call, "604800", "0", "", "", "30", "44");
    history.room = &private_room;
    assert_int_equal(store_call_history(&call, &history), 0);
    EXPECT_KEYS(&call, "chatd:session:ab", "room:2:5");
    EXPECT_ARGS(&call, "604800", "2:5", "2", "5", "30", "44"); /* members by the room's id */
    history.session_key = NULL;
    assert_int_equal(store_call_history(&call, &history), -1);
    history.session_key = "chatd:session:ab";
    history.offset = -1;
    assert_int_equal(store_call_history(&call, &history), -1);
    history.offset = 0;
    history.size = 0;
    assert_int_equal(store_call_history(&call, &history), -1);

    assert_int_equal(store_call_create_private(&call, &private_room, 1000), 0);
    assert_int_equal(call.script, SCRIPT_CREATE_PRIVATE);
    EXPECT_KEYS(&call, "user:2", "user:5", "user:2:rooms", "user:5:rooms");
    EXPECT_ARGS(&call, "2:5", "1000");
    assert_int_equal(store_call_create_private(&call, &general, 1000), -1);
    assert_int_equal(store_call_create_private(&call, &private_room, 0), -1);

    /* room.join's check: a group by the user's set, a private room of
     * theirs by the other user; both with the log's position. */
    assert_int_equal(store_call_room_join(&call, &private_room, 5), 0);
    assert_int_equal(call.script, SCRIPT_ROOM_JOIN);
    EXPECT_KEYS(&call, "user:2", "chatd:events");
    EXPECT_ARGS(&call, "private", "2:5");
    assert_int_equal(store_call_room_join(&call, &general, 5), 0);
    EXPECT_KEYS(&call, "user:5:rooms", "chatd:events");
    EXPECT_ARGS(&call, "group", "0");

    /* The subscriber's catch-up: the position alone, or after an offset. */
    assert_int_equal(store_call_catch_up(&call, NULL), 0);
    assert_int_equal(call.script, SCRIPT_CATCH_UP);
    EXPECT_KEYS(&call, "chatd:events");
    EXPECT_ARGS(&call, "", "1000");
    assert_int_equal(store_call_catch_up(&call, "1795868576123-7"), 0);
    EXPECT_ARGS(&call, "1795868576123-7", "1000");
    assert_int_equal(store_call_catch_up(&call, "7"), -1);

    assert_int_equal(store_call_preload(&call, "0", 20), 0);
    assert_int_equal(call.script, SCRIPT_PRELOAD);
    EXPECT_KEYS(&call, "room:0:name", "room:0");
    EXPECT_ARGS(&call, "19");
    assert_int_equal(store_call_preload(&call, "0", 0), -1);
}

static void test_call_socket_and_message(void **state)
{
    (void)state;
    struct store_call call;
    struct store_socket_open_params open = {.session_key = "chatd:session:ab",
                                            .server_id = "srv",
                                            .session_ttl_s = 3600,
                                            .now_ms = 1795868576123,
                                            .presence_ttl_s = 600,
                                            .rooms_max = 1000};
    assert_int_equal(store_call_socket_open(&call, &open), 0);
    assert_int_equal(call.script, SCRIPT_SOCKET_OPEN);
    EXPECT_KEYS(&call, "chatd:session:ab", "online_users", "chatd:presence:srv", "chatd:servers",
                "chatd:events", "chatd:events");
    EXPECT_ARGS(&call, "3600", "srv", "1795868576123", "600", "", "1000", "524288", "1000");
    /* Recovering: the pid's record and the client's offset. */
    open.pid = "0123456789abcdef0123456789abcdef";
    open.offset = "1795868576123-7";
    assert_int_equal(store_call_socket_open(&call, &open), 0);
    EXPECT_KEYS(&call, "chatd:session:ab", "online_users", "chatd:presence:srv", "chatd:servers",
                "chatd:recovery:0123456789abcdef0123456789abcdef", "chatd:events");
    EXPECT_ARGS(&call, "3600", "srv", "1795868576123", "600", "1795868576123-7", "1000",
                "524288", "1000");
    open.offset = "1-2-3";
    assert_int_equal(store_call_socket_open(&call, &open), -1);
    open.offset = "1795868576123-7";
    open.pid = "0123456789ABCDEF0123456789abcdef";
    assert_int_equal(store_call_socket_open(&call, &open), -1);

    struct room_ref general, private_room;
    store_room_parse("0", 1, &general);
    store_room_private(1, 2, &private_room);
    struct store_send_message_params send = {.room = &private_room,
                                             .sender = 1,
                                             .message_json = "{\"m\":1}",
                                             .message_id = "00112233445566778899aabb",
                                             .envelope = "{\"e\":1}",
                                             .sent_ms = 1795868576007,
                                             .per_minute = 30,
                                             .server_id = "srv",
                                             .rooms_max = 1000};
    assert_int_equal(store_call_send_message(&call, &send), 0);
    assert_int_equal(call.script, SCRIPT_SEND_MESSAGE);
    EXPECT_KEYS(&call, "room:1:2", "user:1:rooms", "chatd:ratelimit:msg:1", "user:1:rooms",
                "user:2:rooms", "chatd:msgidx:1:2", "chatd:ratelimit:msg:1");
    EXPECT_ARGS(&call, "1:2", "1", "{\"m\":1}", "1795868576.007", "{\"e\":1}", "30", "srv", "1",
                "1", "2", "00112233445566778899aabb", "2592000", "0", "600", "1000", "1", "");
    /* A named room: membership by the sender's set, no second user; the
     * mentioned names as given, the sender's id before them. */
    send.room = &general;
    send.sender = 3;
    send.mentions = "pablo\nroom\n";
    assert_int_equal(store_call_send_message(&call, &send), 0);
    EXPECT_KEYS(&call, "room:0", "user:3:rooms", "chatd:ratelimit:msg:3", "user:3:rooms",
                "user:3:rooms", "chatd:msgidx:0", "chatd:ratelimit:msg:3");
    EXPECT_ARGS(&call, "0", "0", "{\"m\":1}", "1795868576.007", "{\"e\":1}", "30", "srv", "0", "0",
                "0", "00112233445566778899aabb", "2592000", "0", "600", "1000", "3", "pablo\nroom\n");
    send.mentions = NULL;
    /* A client's id: a retry with it finds the first send. */
    send.client_id = "c-17_x";
    assert_int_equal(store_call_send_message(&call, &send), 0);
    EXPECT_KEYS(&call, "room:0", "user:3:rooms", "chatd:ratelimit:msg:3", "user:3:rooms",
                "user:3:rooms", "chatd:msgidx:0", "chatd:sent:3:c-17_x");
    EXPECT_ARGS(&call, "0", "0", "{\"m\":1}", "1795868576.007", "{\"e\":1}", "30", "srv", "0", "0",
                "0", "00112233445566778899aabb", "2592000", "1", "600", "1000", "3", "");
    static const char *const bad_client_ids[] = {
        "", "a b", "a:b", "ü", "0123456789012345678901234567890123456789012345678901234567890123x"};
    for (size_t i = 0; i < sizeof bad_client_ids / sizeof bad_client_ids[0]; i++) {
        send.client_id = bad_client_ids[i];
        assert_false(store_client_id_valid(send.client_id, strlen(send.client_id)));
        assert_int_equal(store_call_send_message(&call, &send), -1);
    }
    assert_true(store_client_id_valid(
        "0123456789012345678901234567890123456789012345678901234567890123", 64));
    send.client_id = NULL;
    /* Every message is indexed: no id, no call. */
    send.message_id = "not-an-id";
    assert_int_equal(store_call_send_message(&call, &send), -1);
    send.message_id = NULL;
    assert_int_equal(store_call_send_message(&call, &send), -1);
    send.message_id = "00112233445566778899aabb";
    send.envelope = NULL;
    assert_int_equal(store_call_send_message(&call, &send), -1);
    send.envelope = "{\"e\":1}";
    send.message_id = NULL;
    assert_int_equal(store_call_send_message(&call, &send), -1);
}

#define MSG_ID "0123456789abcdef01234567"

static void test_call_changes(void **state)
{
    (void)state;
    struct store_call call;
    struct room_ref general, private_room;
    store_room_parse("0", 1, &general);
    store_room_private(1, 2, &private_room);
    struct store_change_target t = {.room = &private_room,
                                    .user_id = 2,
                                    .message_id = MSG_ID,
                                    .per_minute = 30,
                                    .server_id = "srv"};
    struct store_edit_message_params edit = {.target = t, .text = "new", .edited = 1795868600};
    assert_int_equal(store_call_edit_message(&call, &edit), 0);
    assert_int_equal(call.script, SCRIPT_EDIT_MESSAGE);
    EXPECT_KEYS(&call, "room:1:2", "chatd:msgidx:1:2", "user:2:rooms", "chatd:ratelimit:msg:2");
    EXPECT_ARGS(&call, "1:2", "1", MSG_ID, "2", "30", "srv", "2592000", "new", "1795868600");

    /* A named room: membership by the user's set. */
    t.room = &general;
    assert_int_equal(store_call_delete_message(&call, &t), 0);
    assert_int_equal(call.script, SCRIPT_DELETE_MESSAGE);
    EXPECT_KEYS(&call, "room:0", "chatd:msgidx:0", "user:2:rooms", "chatd:ratelimit:msg:2");
    EXPECT_ARGS(&call, "0", "0", MSG_ID, "2", "30", "srv", "2592000");

    assert_int_equal(store_call_react_message(&call, &t, "\xf0\x9f\x91\x8d"), 0);
    assert_int_equal(call.script, SCRIPT_REACT_MESSAGE);
    EXPECT_KEYS(&call, "room:0", "chatd:msgidx:0", "user:2:rooms", "chatd:ratelimit:msg:2");
    EXPECT_ARGS(&call, "0", "0", MSG_ID, "2", "30", "srv", "2592000", "\xf0\x9f\x91\x8d", "20");

    /* Refused: not an emoji, no text, a malformed id, no room. */
    assert_int_equal(store_call_react_message(&call, &t, "ok"), -1);
    assert_int_equal(store_call_react_message(&call, &t, NULL), -1);
    edit.text = NULL;
    assert_int_equal(store_call_edit_message(&call, &edit), -1);
    const char *bad_ids[] = {NULL,
                             "",
                             "0123456789ABCDEF01234567",
                             "0123456789abcdef0123456",
                             "0123456789abcdef012345678",
                             "0123456789abcdef0123456g"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++) {
        t.message_id = bad_ids[i];
        assert_false(store_message_id_valid(bad_ids[i], bad_ids[i] ? strlen(bad_ids[i]) : 0));
        assert_int_equal(store_call_delete_message(&call, &t), -1);
    }
    t.message_id = MSG_ID;
    t.room = NULL;
    assert_int_equal(store_call_delete_message(&call, &t), -1);
    assert_true(store_message_id_valid(MSG_ID, strlen(MSG_ID)));
}

static void test_emoji(void **state)
{
    (void)state;
    const char *good[] = {
        "\xf0\x9f\x91\x8d",                             /* thumbs up */
        "\xe2\x9d\xa4\xef\xb8\x8f",                     /* red heart + VS16 */
        "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",             /* thumbs up, skin tone */
        "\xf0\x9f\x87\xab\xf0\x9f\x87\xb7",             /* flag: F R */
        "1\xef\xb8\x8f\xe2\x83\xa3",                    /* keycap 1 */
        "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", /* woman technologist (ZWJ) */
        "\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa7\xf3\xa0\x81\xa2\xf3\xa0\x81\xa5\xf3\xa0\x81\xae"
        "\xf3\xa0\x81\xa7\xf3\xa0\x81\xbf", /* flag of England (tags) */
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_null(store_emoji_problem(good[i], strlen(good[i])));
    const char *bad[] = {
        "",
        "a",
        "1", /* a keycap base alone */
        ":+1:",
        "\xf0\x9f\x91\x8d\xf0\x9f\x91\x8d", /* two emoji */
        "\xf0\x9f\x91\x8d ",                /* and a space */
        "\xf0\x9f\x87\xab",                 /* half a flag */
        "\xf0\x9f\x8f\xbd",                 /* a skin tone alone */
        "\xe2\x80\x8d",                     /* a ZWJ alone */
        "\xf0\x9f\x91\xa9\xe2\x80\x8d",     /* a dangling ZWJ */
        "\xf0\x9f\x91",                     /* truncated UTF-8 */
        "\xed\xa0\xbd",                     /* a surrogate */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_non_null(store_emoji_problem(bad[i], strlen(bad[i])));
    /* Past STORE_EMOJI_MAX_BYTES: nine joined pictographs (4 + 8 x 7 bytes). */
    char longest[128] = "\xf0\x9f\x91\xa9";
    for (int i = 0; i < 8; i++)
        strcat(longest, "\xe2\x80\x8d\xf0\x9f\x91\xa9");
    assert_true(strlen(longest) > STORE_EMOJI_MAX_BYTES);
    assert_non_null(store_emoji_problem(longest, strlen(longest)));
}

/* Edits and reactions ride along through the readers; junk does not. */
static void test_message_changes(void **state)
{
    (void)state;
    expect_normalized("{\"from\":\"1\",\"date\":5,\"message\":\"x\",\"roomId\":\"0\",\"id\":\"a\","
                      "\"edited\":9,\"reactions\":{\"\xf0\x9f\x91\x8d\":[\"1\",\"2\"]}}",
                      "{\"from\":\"1\",\"date\":5,\"message\":\"x\",\"roomId\":\"0\",\"id\":\"a\","
                      "\"edited\":9,\"reactions\":{\"\xf0\x9f\x91\x8d\":[\"1\",\"2\"]}}");
    /* Empty reactions are no reactions; bad emoji, non-ids and non-arrays go. */
    expect_normalized("{\"from\":\"1\",\"date\":5,\"message\":\"x\",\"roomId\":\"0\","
                      "\"reactions\":{}}",
                      "{\"from\":\"1\",\"date\":5,\"message\":\"x\",\"roomId\":\"0\"}");
    expect_normalized(
        "{\"from\":\"1\",\"date\":5,\"message\":\"x\",\"roomId\":\"0\","
        "\"edited\":\"soon\",\"reactions\":{\"ok\":[\"1\"],\"\xf0\x9f\x91\x8d\":[1,\"x\","
        "\"3\"],\"\xe2\x9d\xa4\":\"1\",\"\xf0\x9f\x98\x80\":[]}}",
        "{\"from\":\"1\",\"date\":5,\"message\":\"x\",\"roomId\":\"0\","
        "\"reactions\":{\"\xf0\x9f\x91\x8d\":[\"3\"]}}");
    /* Mentions: a non-empty array of ids, whole or not at all. */
    expect_normalized("{\"from\":\"1\",\"date\":5,\"message\":\"@a\",\"roomId\":\"0\","
                      "\"mentions\":[\"2\",\"3\"]}",
                      "{\"from\":\"1\",\"date\":5,\"message\":\"@a\",\"roomId\":\"0\","
                      "\"mentions\":[\"2\",\"3\"]}");
    const char *bad_mentions[] = {"[]", "{}", "[\"2\",3]", "[\"x\"]", "\"2\""};
    for (size_t i = 0; i < sizeof bad_mentions / sizeof *bad_mentions; i++) {
        char in[256];
        snprintf(in, sizeof in,
                 "{\"from\":\"1\",\"date\":5,\"message\":\"x\",\"roomId\":\"0\",\"mentions\":%s}",
                 bad_mentions[i]);
        expect_normalized(in, "{\"from\":\"1\",\"date\":5,\"message\":\"x\",\"roomId\":\"0\"}");
    }
    /* At most STORE_REACTIONS_MAX emoji are kept. */
    cJSON *r = cJSON_CreateObject();
    for (int i = 0; i < STORE_REACTIONS_MAX + 5; i++) {
        char emoji[8] = "\xf0\x9f\x98\x80";
        emoji[3] = (char)(0x80 + i);
        cJSON *users = cJSON_AddArrayToObject(r, emoji);
        cJSON_AddItemToArray(users, cJSON_CreateString("1"));
    }
    cJSON *n = store_reactions_normalize(r);
    assert_int_equal(cJSON_GetArraySize(n), STORE_REACTIONS_MAX);
    cJSON_Delete(n);
    cJSON_Delete(r);
    n = store_reactions_normalize(NULL);
    assert_non_null(n);
    assert_int_equal(cJSON_GetArraySize(n), 0);
    cJSON_Delete(n);
    char k[STORE_KEY_MAX];
    assert_int_equal(store_key_message_index(k, sizeof k, "1:2"), 16);
    assert_string_equal(k, "chatd:msgidx:1:2");
}

static void test_message_id_valid(void **state)
{
    (void)state;
    assert_true(store_message_id_valid("00112233445566778899aabb", 24));
    assert_false(store_message_id_valid("00112233445566778899aab", 23));
    assert_false(store_message_id_valid("00112233445566778899aabbc", 25));
    assert_false(
        store_message_id_valid("00112233445566778899AABB", 24)); /* chatd writes lowercase */
    assert_false(store_message_id_valid("00112233445566778899aabg", 24));
    assert_false(store_message_id_valid("0011223344556677889\"aabb", 24));
    assert_false(store_message_id_valid(NULL, 24));
}

static void test_call_read_mark(void **state)
{
    (void)state;
    struct store_call call;
    struct room_ref general, private_room;
    store_room_parse("0", 1, &general);
    store_room_private(9, 3, &private_room);
    struct store_read_mark_params mark = {.room = &private_room,
                                          .user_id = 3,
                                          .message_id = "00112233445566778899aabb",
                                          .server_id = "srv"};
    assert_int_equal(store_call_read_mark(&call, &mark), 0);
    assert_int_equal(call.script, SCRIPT_READ_MARK);
    EXPECT_KEYS(&call, "user:3:rooms", "room:3:9", "chatd:msgidx:3:9", "chatd:read:3");
    EXPECT_ARGS(&call, "3:9", "1", "00112233445566778899aabb", "3", "srv", "15552000", "100");
    /* A named room: membership by the reader's set. */
    mark.room = &general;
    mark.user_id = 12;
    assert_int_equal(store_call_read_mark(&call, &mark), 0);
    EXPECT_KEYS(&call, "user:12:rooms", "room:0", "chatd:msgidx:0", "chatd:read:12");
    EXPECT_ARGS(&call, "0", "0", "00112233445566778899aabb", "12", "srv", "15552000", "100");
    /* Not a member of 3:9 by its id: the script checks the set. */
    mark.room = &private_room;
    assert_int_equal(store_call_read_mark(&call, &mark), 0);
    assert_string_equal(call.args[1], "0");
    /* Bad input builds no call. */
    mark.message_id = "00112233445566778899AABB";
    assert_int_equal(store_call_read_mark(&call, &mark), -1);
    mark.message_id = NULL;
    assert_int_equal(store_call_read_mark(&call, &mark), -1);
    mark.message_id = "00112233445566778899aabb";
    mark.server_id = NULL;
    assert_int_equal(store_call_read_mark(&call, &mark), -1);
    mark.server_id = "srv";
    mark.room = NULL;
    assert_int_equal(store_call_read_mark(&call, &mark), -1);
    /* It publishes room.read; markers live 180 days. */
    assert_non_null(strstr(store_script_source(SCRIPT_READ_MARK), "'room.read'"));
    assert_int_equal(STORE_READ_TTL_S, 15552000);
}

static void test_call_presence(void **state)
{
    (void)state;
    struct store_call call;
    struct store_presence_leave_params leave = {
        .server_id = "srv", .user_id = "4", .now_ms = 1000, .timeout_ms = 30000};
    assert_int_equal(store_call_presence_leave(&call, &leave), 0);
    assert_int_equal(call.script, SCRIPT_PRESENCE_LEAVE);
    EXPECT_KEYS(&call, "chatd:presence:srv", "chatd:servers", "online_users");
    EXPECT_ARGS(&call, "4", "srv", "1000", "30000", "1");
    leave.count = 3;
    assert_int_equal(store_call_presence_leave(&call, &leave), 0);
    EXPECT_ARGS(&call, "4", "srv", "1000", "30000", "3");

    struct store_heartbeat_params beat = {
        .server_id = "srv", .now_ms = 2000, .timeout_ms = 30000, .presence_ttl_s = 600};
    assert_int_equal(store_call_heartbeat(&call, &beat), 0);
    assert_int_equal(call.script, SCRIPT_HEARTBEAT);
    EXPECT_KEYS(&call, "chatd:servers", "chatd:presence:srv", "online_users");
    EXPECT_ARGS(&call, "srv", "2000", "30000", "600");

    struct store_server_down_params down = {
        .server_id = "srv", .now_ms = 3000, .timeout_ms = 30000};
    assert_int_equal(store_call_server_down(&call, &down), 0);
    assert_int_equal(call.script, SCRIPT_SERVER_DOWN);
    EXPECT_KEYS(&call, "chatd:servers", "online_users");
    EXPECT_ARGS(&call, "srv", "3000", "30000");

    /* A server id too long for a key fails the call. */
    char long_id[STORE_KEY_MAX + 1];
    memset(long_id, 's', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    beat.server_id = long_id;
    assert_int_equal(store_call_heartbeat(&call, &beat), -1);
}

static void test_call_eval_argv(void **state)
{
    (void)state;
    struct store_call call;
    struct store_server_down_params down = {.server_id = "srv", .now_ms = 3, .timeout_ms = 4};
    assert_int_equal(store_call_server_down(&call, &down), 0);
    const char *argv[STORE_CALL_ARGV_MAX];
    /* A publishing script's last argument is the event log's byte budget. */
    store_set_event_log_bytes(1048576);
    assert_int_equal(store_call_eval_argv(&call, argv), 9);
    assert_string_equal(argv[0], "EVAL");
    assert_ptr_equal(argv[1], store_script_source(SCRIPT_SERVER_DOWN));
    assert_string_equal(argv[2], "2");
    const char *rest[] = {"chatd:servers", "online_users", "srv", "3", "4", "1048576"};
    expect_strings(argv + 3, 6, rest, 6);
    const char *args[STORE_CALL_ARGS_MAX + 1];
    assert_int_equal(store_call_args(&call, args), 4);
    assert_int_equal(store_call_replay(&call, "1-0"), 0);
    assert_int_equal(store_call_args(&call, args), 3); /* publishes nothing */
    store_set_event_log_bytes(STORE_EVENTS_BYTES_DEFAULT);
    assert_int_equal(store_call_server_down(&call, &down), 0);
    down.server_id = NULL;
    assert_int_equal(store_call_server_down(&call, &down), -1);
    assert_int_equal(store_call_eval_argv(&call, argv), -1);
    /* The most keys a call has: the send script's seven. */
    struct room_ref general;
    store_room_parse("0", 1, &general);
    struct store_send_message_params send = {.room = &general,
                                             .sender = 1,
                                             .message_json = "{}",
                                             .message_id = "00112233445566778899aabb",
                                             .envelope = "{}",
                                             .server_id = "srv",
                                             .rooms_max = 1000};
    assert_int_equal(store_call_send_message(&call, &send), 0);
    assert_int_equal(store_call_eval_argv(&call, argv), 3 + 7 + 17 + 1);
    assert_string_equal(argv[2], "7");
    assert_string_equal(argv[3 + 5], "chatd:msgidx:0");
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

/* ---- groups ------------------------------------------------------------ */

static void test_group_keys_and_names(void **state)
{
    (void)state;
    char k[STORE_KEY_MAX];
    assert_int_equal(store_key_group_members(k, sizeof k, "12"), 22);
    assert_string_equal(k, "chatd:group:12:members");
    store_key_group(k, sizeof k, "12");
    assert_string_equal(k, "chatd:group:12");
    store_key_group_left(k, sizeof k, "12");
    assert_string_equal(k, "chatd:group:12:left");
    store_key_groups_owned(k, sizeof k, 7);
    assert_string_equal(k, "chatd:groups:owned:7");
    store_key_group_rate(k, sizeof k, 7);
    assert_string_equal(k, "chatd:ratelimit:groups:7");
    store_key_membership_rate(k, sizeof k, 7);
    assert_string_equal(k, "chatd:ratelimit:members:7");
    store_key_added_rate(k, sizeof k, 7);
    assert_string_equal(k, "chatd:ratelimit:added:7");
    assert_int_equal(strncmp(STORE_KEY_PUBLIC_GROUPS, STORE_OWN_PREFIX, 6), 0);
    assert_int_equal(strncmp(STORE_KEY_GROUP_COUNTER, STORE_OWN_PREFIX, 6), 0);

    const char *good[] = {"Team", "a", "Équipe 🚀", "  spaced  out  ", "tab-free—dash"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_null(store_group_name_problem(good[i], strlen(good[i])));
    char name[STORE_GROUP_NAME_MAX_BYTES + 8];
    memset(name, 'x', 64);
    assert_null(store_group_name_problem(name, 64));
    assert_non_null(store_group_name_problem(name, 65)); /* 65 code points */
    /* 64 four-byte code points are fine, 65 are not. */
    for (int i = 0; i < 65; i++)
        memcpy(name + 4 * i, "\xF0\x9F\x9A\x80", 4);
    assert_null(store_group_name_problem(name, 256));
    assert_non_null(store_group_name_problem(name, 260));
    const char *bad[] = {"",         "   ",  "a\nb",         "a\tb",    "\x7f",
                         "\xC2\x85", "\xC3", "\xED\xA0\x80", "\xC0\xAF", "a\xE2\x80\xAEz",
                         "a\xE2\x81\xA7z"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_non_null(store_group_name_problem(bad[i], strlen(bad[i])));
    assert_non_null(store_group_name_problem("a\0b", 3)); /* NUL */
}

static void test_group_objects(void **state)
{
    (void)state;
    cJSON *in = cJSON_Parse("{\"id\":\"7\",\"name\":\"Team\",\"public\":true,\"creator\":\"2\","
                            "\"members\":[\"10\",\"2\",\"9\"]}");
    cJSON *g = store_group_from_object(in);
    char *text = cJSON_PrintUnformatted(g);
    assert_string_equal(text,
                        "{\"id\":\"7\",\"name\":\"Team\",\"names\":[\"Team\"],\"public\":true,"
                        "\"creator\":\"2\",\"members\":[\"2\",\"9\",\"10\"],\"memberCount\":3}");
    free(text);
    cJSON_Delete(g);
    cJSON_Delete(in);

    /* A summary (room.added): the count, no list. */
    in = cJSON_Parse("{\"id\":\"7\",\"name\":\"Team\",\"public\":false,\"creator\":\"2\","
                     "\"memberCount\":1000}");
    g = store_group_from_object(in);
    text = cJSON_PrintUnformatted(g);
    assert_string_equal(text, "{\"id\":\"7\",\"name\":\"Team\",\"names\":[\"Team\"],\"public\":false,"
                              "\"creator\":\"2\",\"memberCount\":1000}");
    free(text);
    cJSON_Delete(g);
    cJSON_Delete(in);

    /* Lua's empty list is {}. */
    cJSON *empty = cJSON_Parse("{}");
    cJSON *m = store_group_members(empty);
    assert_true(cJSON_IsArray(m));
    assert_int_equal(cJSON_GetArraySize(m), 0);
    cJSON_Delete(m);
    cJSON_Delete(empty);

    const char *bad[] = {
        "[]",
        "{\"id\":\"0\",\"name\":\"x\",\"public\":true,\"creator\":\"1\",\"members\":[]}",
        "{\"id\":\"1:2\",\"name\":\"x\",\"public\":true,\"creator\":\"1\",\"members\":[]}",
        "{\"id\":7,\"name\":\"x\",\"public\":true,\"creator\":\"1\",\"members\":[]}",
        "{\"id\":\"7\",\"public\":true,\"creator\":\"1\",\"members\":[]}",
        "{\"id\":\"7\",\"name\":\"x\",\"public\":1,\"creator\":\"1\",\"members\":[]}",
        "{\"id\":\"7\",\"name\":\"x\",\"public\":true,\"creator\":\"1\",\"members\":[1]}",
        "{\"id\":\"7\",\"name\":\"x\",\"public\":true,\"creator\":\"1\",\"members\":\"1\"}",
        "{\"id\":\"7\",\"name\":\"x\",\"public\":true,\"members\":[]}",
        "{\"id\":\"7\",\"name\":\"x\",\"public\":true,\"creator\":\"1\"}",
        "{\"id\":\"7\",\"name\":\"x\",\"public\":true,\"creator\":\"1\",\"memberCount\":-1}",
        "{\"id\":\"7\",\"name\":\"x\",\"public\":true,\"creator\":\"1\",\"memberCount\":1.5}",
        "{\"id\":\"7\",\"name\":\"x\",\"public\":true,\"creator\":\"1\",\"memberCount\":\"3\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *o = cJSON_Parse(bad[i]);
        assert_null(store_group_from_object(o));
        cJSON_Delete(o);
    }
}

static void test_call_groups(void **state)
{
    (void)state;
    struct store_call call;
    uint64_t members[] = {3, 9};
    struct store_group_create_params create = {.creator = 2,
                                               .name = "Team",
                                               .public_room = true,
                                               .members = members,
                                               .count = 2,
                                               .server_id = "srv",
                                               .groups_per_hour = 20,
                                               .groups_per_user = 100,
                                               .adds_per_hour = 30,
                                               .rooms_max = 1000};
    assert_int_equal(store_call_group_create(&call, &create), 0);
    assert_int_equal(call.script, SCRIPT_GROUP_CREATE);
    EXPECT_KEYS(&call, "chatd:groups:next", "chatd:groups:public", "chatd:ratelimit:groups:2",
                "chatd:groups:owned:2");
    EXPECT_ARGS(&call, "2", "Team", "1", "srv", "20", "100", "30", "1000", "3", "9");
    members[1] = 2; /* the creator is no "other" member */
    assert_int_equal(store_call_group_create(&call, &create), -1);
    members[1] = 9;
    create.name = "";
    assert_int_equal(store_call_group_create(&call, &create), -1);
    create.name = "Team";
    create.count = STORE_GROUP_CREATE_MAX + 1;
    assert_int_equal(store_call_group_create(&call, &create), -1);

    /* As many members as allowed fit in one call. */
    uint64_t many[STORE_GROUP_CREATE_MAX];
    for (size_t i = 0; i < STORE_GROUP_CREATE_MAX; i++)
        many[i] = STORE_ID_MAX - i;
    create.members = many;
    create.count = STORE_GROUP_CREATE_MAX;
    assert_int_equal(store_call_group_create(&call, &create), 0);
    assert_int_equal(call.nargs, 8 + STORE_GROUP_CREATE_MAX);
    assert_string_equal(call.args[8], "9007199254740991");

    struct store_group_change_params change = {.room_id = "12",
                                               .actor = 2,
                                               .target = 5,
                                               .mode = STORE_GROUP_INVITE,
                                               .server_id = "srv",
                                               .changes_per_minute = 60,
                                               .adds_per_hour = 30,
                                               .rooms_max = 1000};
    assert_int_equal(store_call_group_add(&call, &change), 0);
    assert_int_equal(call.script, SCRIPT_GROUP_ADD);
    EXPECT_KEYS(&call, "chatd:group:12", "chatd:group:12:members", "user:5:rooms",
                "chatd:ratelimit:members:2", "chatd:ratelimit:added:5", "chatd:group:12:left");
    EXPECT_ARGS(&call, "12", "2", "5", "invite", "srv", "1000", "60", "30", "1000");
    change.mode = STORE_GROUP_JOIN;
    assert_int_equal(store_call_group_add(&call, &change), 0);
    EXPECT_ARGS(&call, "12", "2", "5", "join", "srv", "1000", "60", "30", "1000");
    assert_int_equal(store_call_group_remove(&call, &change), 0);
    assert_int_equal(call.script, SCRIPT_GROUP_REMOVE);
    EXPECT_KEYS(&call, "chatd:group:12", "chatd:group:12:members", "user:5:rooms",
                "chatd:ratelimit:members:2", "chatd:group:12:left", "chatd:groups:public");
    EXPECT_ARGS(&call, "12", "2", "5", "srv", "60");
    const char *bad_ids[] = {"1:2", "012", "x", ""};
    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++) {
        change.room_id = bad_ids[i];
        assert_int_equal(store_call_group_add(&call, &change), -1);
        assert_int_equal(store_call_group_remove(&call, &change), -1);
    }

    assert_int_equal(store_call_group_members(&call, "12", 4), 0);
    assert_int_equal(call.script, SCRIPT_GROUP_MEMBERS);
    EXPECT_KEYS(&call, "chatd:group:12", "chatd:group:12:members", "online_users");
    EXPECT_ARGS(&call, "4");
    assert_int_equal(store_call_group_members(&call, "1:2", 4), -1);

    assert_int_equal(store_call_groups_public(&call, STORE_GROUP_LIST_MAX), 0);
    assert_int_equal(call.script, SCRIPT_GROUPS_PUBLIC);
    EXPECT_KEYS(&call, "chatd:groups:public");
    EXPECT_ARGS(&call, "99");
    assert_int_equal(store_call_groups_public(&call, 0), -1);
    assert_int_equal(store_call_groups_public(&call, STORE_GROUP_LIST_MAX + 1), -1);
}

static void test_recovery(void **state)
{
    (void)state;
    char k[STORE_KEY_MAX];
    const char *pid = "00112233445566778899aabbccddeeff";
    assert_int_equal(store_key_recovery(k, sizeof k, pid), 15 + STORE_PID_LEN);
    assert_string_equal(k, "chatd:recovery:00112233445566778899aabbccddeeff");
    assert_int_equal(store_key_recovery(k, sizeof k, "short"), -1);
    assert_int_equal(store_key_recovery(k, sizeof k, "../00112233445566778899aabbccdd"), -1);
    assert_int_equal(store_key_recovery(k, sizeof k, NULL), -1);
    assert_string_equal(STORE_KEY_EVENTS, "chatd:events");

    struct store_offset a, b;
    assert_int_equal(store_offset_parse("1795868576123-0", 15, &a), 0);
    assert_true(a.ms == 1795868576123ULL && a.seq == 0);
    assert_int_equal(store_offset_parse("1795868576123-12", 16, &b), 0);
    assert_true(store_offset_cmp(&a, &b) < 0 && store_offset_cmp(&b, &a) > 0);
    assert_int_equal(store_offset_cmp(&a, &a), 0);
    assert_int_equal(store_offset_parse("1795868576124-0", 15, &b), 0);
    assert_true(store_offset_cmp(&a, &b) < 0);
    /* Only "<digits>-<digits>", each at most 20 digits and within 64 bits. */
    const char *bad[] = {"",
                         "-",
                         "1-",
                         "-1",
                         "1",
                         "1-2-3",
                         "a-1",
                         "1-a",
                         " 1-2",
                         "1-2 ",
                         "+1-2",
                         "18446744073709551616-0",
                         "123456789012345678901-0",
                         "$",
                         "+",
                         "(1-2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(store_offset_parse(bad[i], strlen(bad[i]), &a), -1);
    assert_int_equal(store_offset_parse("18446744073709551615-18446744073709551615", 41, &a), 0);

    char text[STORE_OFFSET_MAX];
    store_offset_format(&a, text);
    assert_string_equal(text, "18446744073709551615-18446744073709551615");

    const char *rooms[] = {"0", "1:2", "7"};
    struct store_offset first = {1795868576123, 0}, last = {1795868576999, 12};
    char *rec = store_recovery_encode(2, rooms, 3, &first, &last);
    assert_string_equal(rec, "{\"rooms\":[\"0\",\"1:2\",\"7\"],\"user\":\"2\",\"first\":"
                             "\"1795868576123-0\",\"last\":\"1795868576999-12\"}");

    struct store_call call;
    assert_int_equal(store_call_recovery_save(&call, pid, rec, 120), 0);
    assert_int_equal(call.script, SCRIPT_RECOVERY_SAVE);
    EXPECT_KEYS(&call, "chatd:recovery:00112233445566778899aabbccddeeff");
    EXPECT_ARGS(&call, rec, "120");
    assert_int_equal(store_call_recovery_save(&call, "nope", rec, 120), -1);
    free(rec);

    assert_int_equal(store_call_replay(&call, "1795868576123-7"), 0);
    assert_int_equal(call.script, SCRIPT_REPLAY);
    EXPECT_KEYS(&call, "chatd:events");
    EXPECT_ARGS(&call, "1795868576123-7", "1000", "524288");
    assert_int_equal(store_call_replay(&call, "-"), -1);
    assert_int_equal(store_call_replay(&call, NULL), -1);

    assert_int_equal(store_call_typing(&call, 12, "{\"type\":\"typing\"}", 300), 0);
    assert_int_equal(call.script, SCRIPT_TYPING);
    EXPECT_KEYS(&call, "chatd:ratelimit:typing:12");
    EXPECT_ARGS(&call, "{\"type\":\"typing\"}", "300");
    assert_int_equal(store_call_typing(&call, 12, NULL, 300), -1);
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
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_envelope_read),
        cmocka_unit_test(test_envelope_bound),
        cmocka_unit_test(test_scripts_publish_through_the_prelude),
        cmocka_unit_test(test_call_session_and_login),
        cmocka_unit_test(test_call_users_and_rooms),
        cmocka_unit_test(test_call_socket_and_message),
        cmocka_unit_test(test_call_changes),
        cmocka_unit_test(test_emoji),
        cmocka_unit_test(test_message_changes),
        cmocka_unit_test(test_message_id_valid),
        cmocka_unit_test(test_call_read_mark),
        cmocka_unit_test(test_call_presence),
        cmocka_unit_test(test_call_eval_argv),
        cmocka_unit_test(test_group_keys_and_names),
        cmocka_unit_test(test_group_objects),
        cmocka_unit_test(test_call_groups),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_seed),
        cmocka_unit_test(test_seed_stops_on_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
