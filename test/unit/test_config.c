/* Tests of config: defaults, every variable valid and invalid, flags over the
 * environment, Redis URL forms, --help, --version, and the error lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define ARGS_MAX 16

/* Every variable config reads; each test starts with none of them set. */
static const char *const vars[] = {
    "PORT",
    "BIND",
    "REDIS_URL",
    "REDIS_ENDPOINT_URL",
    "REDIS_PASSWORD",
    "REDIS_SENTINELS",
    "REDIS_MASTER_NAME",
    "REDIS_SENTINEL_PASSWORD",
    "REDIS_WAIT_REPLICAS",
    "REDIS_WAIT_TIMEOUT",
    "WEB_ROOT",
    "WORKERS",
    "SERVER_ID",
    "ALLOWED_ORIGINS",
    "SESSION_TTL",
    "COOKIE_SECURE",
    "TRUST_PROXY",
    "MAX_MESSAGE_BYTES",
    "REGISTRATION",
    "SEED_DEMO",
    "PASSWORD_HASH",
    "PASSWORD_MEMORY",
    "PASSWORD_ITERATIONS",
    "PASSWORD_REHASH",
    "LOG_LEVEL",
    "PING_INTERVAL",
    "PING_TIMEOUT",
    "MAX_CONNECTIONS",
    "HASH_THREADS",
    "LOGIN_MAX_FAILS_USER",
    "LOGIN_MAX_FAILS_ADDR",
    "LOGIN_FAIL_WINDOW",
    "MESSAGES_PER_MINUTE",
    "EVENTS_PER_SECOND",
    "EVENTS_BURST",
    "SOCKETS_PER_USER",
    "LINKS",
};
#define N_VARS (sizeof vars / sizeof vars[0])

struct result {
    int rc;
    struct config cfg;
    char *out, *err; /* what config_load wrote to each stream */
    size_t out_len, err_len;
};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VARS; i++)
        unsetenv(vars[i]);
    return 0;
}

/* Runs config_load with argv = {"chatd", args..., NULL}; the list ends in NULL. */
static void load(struct result *r, ...)
{
    char *argv[ARGS_MAX + 2] = {"chatd"};
    int argc = 1;
    va_list ap;
    FILE *out, *err;

    va_start(ap, r);
    for (char *a; (a = va_arg(ap, char *)) != NULL;) {
        assert_true(argc <= ARGS_MAX);
        argv[argc++] = a;
    }
    va_end(ap);

    memset(r, 0, sizeof *r);
    out = open_memstream(&r->out, &r->out_len);
    err = open_memstream(&r->err, &r->err_len);
    assert_non_null(out);
    assert_non_null(err);
    r->rc = config_load(&r->cfg, argc, argv, out, err);
    fclose(out);
    fclose(err);
}

static void done(struct result *r)
{
    if (r->rc == 0)
        config_free(&r->cfg);
    free(r->out);
    free(r->err);
}

/* Loads with var=value in the environment and expects success. */
static void load_env(struct result *r, const char *var, const char *value)
{
    setenv(var, value, 1);
    load(r, NULL);
    unsetenv(var);
    if (r->rc != 0)
        fail_msg("%s=\"%s\": rc %d, stderr: %s", var, value, r->rc, r->err);
    assert_int_equal(r->err_len, 0);
}

/* Expects var=value to be refused with one line that names the variable,
 * quotes the value and contains want. */
static void expect_invalid_env(const char *var, const char *value, const char *want)
{
    struct result r;
    char head[256];

    setenv(var, value, 1);
    load(&r, NULL);
    unsetenv(var);
    if (r.rc != 2)
        fail_msg("%s=\"%s\": rc %d, expected 2", var, value, r.rc);
    snprintf(head, sizeof head, "chatd: invalid %s \"", var);
    if (strncmp(r.err, head, strlen(head)) != 0 || strstr(r.err, want) == NULL)
        fail_msg("%s=\"%s\": stderr \"%s\" lacks \"%s\" or \"%s\"", var, value, r.err, head, want);
    assert_ptr_equal(strchr(r.err, '\n'), r.err + r.err_len - 1); /* one line */
    assert_int_equal(r.out_len, 0);
    done(&r);
}

static unsigned load_uint(const char *var, const char *value, size_t offset)
{
    struct result r;
    unsigned v;

    load_env(&r, var, value);
    memcpy(&v, (char *)&r.cfg + offset, sizeof v);
    done(&r);
    return v;
}

static bool load_bool(const char *var, const char *value, size_t offset)
{
    struct result r;
    bool v;

    load_env(&r, var, value);
    memcpy(&v, (char *)&r.cfg + offset, sizeof v);
    done(&r);
    return v;
}

static bool is_hex(const char *s)
{
    for (; *s != '\0'; s++) {
        if (strchr("0123456789abcdef", *s) == NULL)
            return false;
    }
    return true;
}

static void test_defaults(void **state)
{
    struct result r, again;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    (void)state;
    load(&r, NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.out_len, 0);
    assert_int_equal(r.err_len, 0);
    assert_int_equal(r.cfg.port, 8000);
    assert_string_equal(r.cfg.bind, "0.0.0.0");
    assert_int_equal(r.cfg.bind_family, AF_INET);
    assert_string_equal(r.cfg.redis.host, "127.0.0.1");
    assert_int_equal(r.cfg.redis.port, 6379);
    assert_string_equal(r.cfg.redis.unix_path, "");
    assert_string_equal(r.cfg.redis.username, "");
    assert_string_equal(r.cfg.redis.password, "");
    assert_int_equal(r.cfg.redis.db, 0);
    assert_string_equal(r.cfg.web_root, "web/dist");
    assert_int_equal(r.cfg.workers, cpus < 1 ? 1 : cpus > 256 ? 256 : cpus);
    assert_int_equal(strlen(r.cfg.server_id), 16);
    assert_true(is_hex(r.cfg.server_id));
    assert_int_equal(r.cfg.n_origins, 0);
    assert_int_equal(r.cfg.session_ttl, 604800);
    assert_false(r.cfg.cookie_secure);
    assert_false(r.cfg.trust_proxy);
    assert_int_equal(r.cfg.max_message_bytes, 4096);
    assert_int_equal(r.cfg.registration, CONFIG_REGISTRATION_OPEN);
    assert_true(r.cfg.seed_demo);
    assert_int_equal(r.cfg.password_hash, PW_ARGON2ID);
    /* The table's Argon2id default is the password module's own. */
    assert_int_equal(r.cfg.password_cost.mem_kib, PW_ARGON2ID_MEM_KIB_DEFAULT);
    assert_int_equal(r.cfg.password_cost.passes, PW_ARGON2ID_PASSES_DEFAULT);
    assert_int_equal(r.cfg.password_rehash, PW_REHASH_WEAKER);
    assert_int_equal(r.cfg.log_level, LOG_LEVEL_INFO);
    assert_int_equal(r.cfg.ping_interval_ms, 25000);
    assert_int_equal(r.cfg.ping_timeout_ms, 20000);
    assert_int_equal(r.cfg.max_connections, 10000);
    assert_int_equal(r.cfg.hash_threads, 2);
    assert_int_equal(r.cfg.login_max_fails_user, 5);
    assert_int_equal(r.cfg.login_max_fails_addr, 50);
    assert_int_equal(r.cfg.login_fail_window, 900);
    assert_int_equal(r.cfg.login_delay_max, 900);
    assert_int_equal(r.cfg.max_connections_per_addr, 500);
    assert_int_equal(r.cfg.header_timeout, 10);
    assert_int_equal(r.cfg.registrations_per_hour, 10);
    assert_int_equal(r.cfg.logins_per_minute, 30);
    assert_int_equal(r.cfg.messages_per_minute, 120);
    assert_int_equal(r.cfg.events_per_second, 20);
    assert_int_equal(r.cfg.events_burst, 50);
    assert_int_equal(r.cfg.sockets_per_user, 32);
    assert_int_equal(r.cfg.rooms_per_user, 1000);
    assert_string_equal(r.cfg.links, "{}");
    assert_int_equal(r.cfg.n_sentinels, 0);
    assert_string_equal(r.cfg.master_name, "mymaster");
    assert_string_equal(r.cfg.sentinel_password, "");
    assert_int_equal(r.cfg.wait_replicas, 0);
    assert_int_equal(r.cfg.wait_timeout_ms, 1000);

    /* A random id is a different one each start. */
    load(&again, NULL);
    assert_int_equal(again.rc, 0);
    assert_string_not_equal(r.cfg.server_id, again.cfg.server_id);
    done(&again);
    done(&r);
}

static void test_empty_env_is_unset(void **state)
{
    (void)state;
    assert_int_equal(load_uint("PORT", "", offsetof(struct config, port)), 8000);
    assert_true(load_bool("SEED_DEMO", "", offsetof(struct config, seed_demo)));
}

static void test_port(void **state)
{
    struct result r;
    static const char *const bad[] = {
        "0", "65536", "-1", "abc", " 80", "80 ", "+80", "8080x", "99999999999999999999999"};
    const size_t off = offsetof(struct config, port);

    (void)state;
    assert_int_equal(load_uint("PORT", "1", off), 1);
    assert_int_equal(load_uint("PORT", "65535", off), 65535);
    assert_int_equal(load_uint("PORT", "08080", off), 8080);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid_env("PORT", bad[i], "expected an integer 1-65535");

    /* The exact line the brief asks for. */
    setenv("PORT", "70000", 1);
    load(&r, NULL);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "chatd: invalid PORT \"70000\": expected an integer 1-65535\n");
    done(&r);
}

static void test_bind(void **state)
{
    static const char *const bad[] = {"localhost", "1.2.3", "[::1]",
                                      "256.0.0.1", "::g",   "0.0.0.0 "};
    struct result r;

    (void)state;
    load_env(&r, "BIND", "127.0.0.1");
    assert_string_equal(r.cfg.bind, "127.0.0.1");
    assert_int_equal(r.cfg.bind_family, AF_INET);
    done(&r);
    load_env(&r, "BIND", "::");
    assert_string_equal(r.cfg.bind, "::");
    assert_int_equal(r.cfg.bind_family, AF_INET6);
    done(&r);
    load_env(&r, "BIND", "fe80::1:2");
    assert_int_equal(r.cfg.bind_family, AF_INET6);
    done(&r);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid_env("BIND", bad[i], "expected an IPv4 or IPv6 address");
}

static void test_web_root(void **state)
{
    struct result r;
    char *longest = malloc(CONFIG_PATH_MAX + 2);

    (void)state;
    load_env(&r, "WEB_ROOT", "/srv/chat/www");
    assert_string_equal(r.cfg.web_root, "/srv/chat/www");
    done(&r);

    memset(longest, 'a', CONFIG_PATH_MAX);
    longest[CONFIG_PATH_MAX] = '\0';
    load_env(&r, "WEB_ROOT", longest);
    assert_int_equal(strlen(r.cfg.web_root), CONFIG_PATH_MAX);
    done(&r);
    strcat(longest, "a");
    expect_invalid_env("WEB_ROOT", longest, "expected a directory path");
    free(longest);

    load(&r, "--web-root=", NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "invalid --web-root \"\""));
    done(&r);
}

static void test_workers(void **state)
{
    const size_t off = offsetof(struct config, workers);

    (void)state;
    assert_int_equal(load_uint("WORKERS", "1", off), 1);
    assert_int_equal(load_uint("WORKERS", "256", off), 256);
    expect_invalid_env("WORKERS", "0", "expected an integer 1-256");
    expect_invalid_env("WORKERS", "257", "expected an integer 1-256");
    expect_invalid_env("WORKERS", "four", "expected an integer 1-256");
}

static void test_server_id(void **state)
{
    struct result r;
    char id[CONFIG_SERVER_ID_MAX + 2];
    static const char *const bad[] = {"a b", "a/b", "caf\xc3\xa9", "x:y", "{}"};

    (void)state;
    load_env(&r, "SERVER_ID", "chat-1.eu_west");
    assert_string_equal(r.cfg.server_id, "chat-1.eu_west");
    done(&r);

    memset(id, 'z', CONFIG_SERVER_ID_MAX);
    id[CONFIG_SERVER_ID_MAX] = '\0';
    load_env(&r, "SERVER_ID", id);
    assert_string_equal(r.cfg.server_id, id);
    done(&r);
    strcat(id, "z");
    expect_invalid_env("SERVER_ID", id, "expected 1-64 characters");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid_env("SERVER_ID", bad[i], "expected 1-64 characters");
}

static void test_allowed_origins(void **state)
{
    struct result r;
    char many[40 * 33] = "";
    static const char *const bad[] = {"*",
                                      "null",
                                      "ftp://x.example",
                                      "https://",
                                      "https://x.example/app",
                                      "https://x:0",
                                      "https://x:99999",
                                      "https://user@x.example",
                                      "x.example",
                                      "https://[::zz]",
                                      "https://x.example?a=b"};

    (void)state;
    load_env(&r, "ALLOWED_ORIGINS", "https://chat.example.com");
    assert_int_equal(r.cfg.n_origins, 1);
    assert_string_equal(r.cfg.origins[0], "https://chat.example.com");
    done(&r);

    /* Normalised to what browsers send; blanks and empty items skipped. */
    load_env(&r, "ALLOWED_ORIGINS",
             " HTTPS://Chat.Example.COM:443/ , http://localhost:3000,,http://h:80,"
             "http://[::1]:08000 ,");
    assert_int_equal(r.cfg.n_origins, 4);
    assert_string_equal(r.cfg.origins[0], "https://chat.example.com");
    assert_string_equal(r.cfg.origins[1], "http://localhost:3000");
    assert_string_equal(r.cfg.origins[2], "http://h");
    assert_string_equal(r.cfg.origins[3], "http://[::1]:8000");
    done(&r);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid_env("ALLOWED_ORIGINS", bad[i], "is not an origin");
    expect_invalid_env("ALLOWED_ORIGINS", "https://a.example,ftp://b", "\"ftp://b\" is not");

    /* Exactly CONFIG_ORIGINS_MAX fit; one more is refused. */
    for (int i = 0; i < CONFIG_ORIGINS_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%shttp://h%d.example",
                 i ? "," : "", i);
    load_env(&r, "ALLOWED_ORIGINS", many);
    assert_int_equal(r.cfg.n_origins, CONFIG_ORIGINS_MAX);
    assert_string_equal(r.cfg.origins[31], "http://h31.example");
    done(&r);
    strcat(many, ",http://one-more.example");
    expect_invalid_env("ALLOWED_ORIGINS", many, "expected at most 32 origins");
}

static void test_session_ttl(void **state)
{
    const size_t off = offsetof(struct config, session_ttl);
    static const char *const bad[] = {"59",  "0",    "366d", "1w",  "d",       "10 m",
                                      "-5m", "1.5h", "",     "5ms", "31536001"};

    (void)state;
    assert_int_equal(load_uint("SESSION_TTL", "60", off), 60);
    assert_int_equal(load_uint("SESSION_TTL", "1m", off), 60);
    assert_int_equal(load_uint("SESSION_TTL", "90s", off), 90);
    assert_int_equal(load_uint("SESSION_TTL", "2h", off), 7200);
    assert_int_equal(load_uint("SESSION_TTL", "7d", off), 604800);
    assert_int_equal(load_uint("SESSION_TTL", "30D", off), 30 * 86400);
    assert_int_equal(load_uint("SESSION_TTL", "365d", off), 365 * 86400);
    assert_int_equal(load_uint("SESSION_TTL", "31536000", off), 31536000);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bad[i][0] == '\0')
            continue; /* empty is unset in the environment; see the flag below */
        expect_invalid_env("SESSION_TTL", bad[i], "expected a duration 1m-365d");
    }
    struct result r;
    load(&r, "--session-ttl=", NULL);
    assert_int_equal(r.rc, 2);
    done(&r);
}

static void test_booleans(void **state)
{
    static const char *const yes[] = {"1", "true", "TRUE", "yes", "Yes", "on", "ON"};
    static const char *const no[] = {"0", "false", "False", "no", "NO", "off", "Off"};
    static const char *const bad[] = {"2", "yep", "t", "enabled", "truee"};
    static const struct {
        const char *var;
        size_t off;
    } bools[] = {
        {"COOKIE_SECURE", offsetof(struct config, cookie_secure)},
        {"TRUST_PROXY", offsetof(struct config, trust_proxy)},
        {"SEED_DEMO", offsetof(struct config, seed_demo)},
    };

    (void)state;
    for (size_t b = 0; b < sizeof bools / sizeof bools[0]; b++) {
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
            assert_true(load_bool(bools[b].var, yes[i], bools[b].off));
        for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
            assert_false(load_bool(bools[b].var, no[i], bools[b].off));
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            expect_invalid_env(bools[b].var, bad[i], "expected a boolean");
    }
}

static void test_max_message_bytes(void **state)
{
    const size_t off = offsetof(struct config, max_message_bytes);

    (void)state;
    assert_int_equal(load_uint("MAX_MESSAGE_BYTES", "1", off), 1);
    assert_int_equal(load_uint("MAX_MESSAGE_BYTES", "65536", off), 65536);
    expect_invalid_env("MAX_MESSAGE_BYTES", "0", "expected an integer 1-65536");
    expect_invalid_env("MAX_MESSAGE_BYTES", "65537", "expected an integer 1-65536");
}

static void test_keywords(void **state)
{
    struct result r;

    (void)state;
    load_env(&r, "REGISTRATION", "closed");
    assert_int_equal(r.cfg.registration, CONFIG_REGISTRATION_CLOSED);
    done(&r);
    load_env(&r, "REGISTRATION", "OPEN");
    assert_int_equal(r.cfg.registration, CONFIG_REGISTRATION_OPEN);
    done(&r);
    load_env(&r, "REGISTRATION", "Explicit");
    assert_int_equal(r.cfg.registration, CONFIG_REGISTRATION_EXPLICIT);
    done(&r);
    expect_invalid_env("REGISTRATION", "invite", "expected open, explicit or closed");

    load_env(&r, "PASSWORD_HASH", "bcrypt");
    assert_int_equal(r.cfg.password_hash, PW_BCRYPT);
    done(&r);
    load_env(&r, "PASSWORD_HASH", "Argon2id");
    assert_int_equal(r.cfg.password_hash, PW_ARGON2ID);
    done(&r);
    expect_invalid_env("PASSWORD_HASH", "md5", "expected argon2id or bcrypt");
    expect_invalid_env("PASSWORD_HASH", "argon2", "expected argon2id or bcrypt");

    static const struct {
        const char *name;
        enum log_level level;
    } levels[] = {{"error", LOG_LEVEL_ERROR},
                  {"warn", LOG_LEVEL_WARN},
                  {"WARNING", LOG_LEVEL_WARN},
                  {"info", LOG_LEVEL_INFO},
                  {"Debug", LOG_LEVEL_DEBUG}};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        load_env(&r, "LOG_LEVEL", levels[i].name);
        assert_int_equal(r.cfg.log_level, levels[i].level);
        done(&r);
    }
    expect_invalid_env("LOG_LEVEL", "trace", "expected error, warn, info or debug");
}

static void test_chatd_knobs(void **state)
{
    static const struct {
        const char *var;
        size_t off;
        const char *lo, *hi, *below, *above, *expected;
    } knobs[] = {
        {"PING_INTERVAL", offsetof(struct config, ping_interval_ms), "100", "300000", "99",
         "300001", "expected an integer 100-300000"},
        {"PING_TIMEOUT", offsetof(struct config, ping_timeout_ms), "100", "300000", "99", "300001",
         "expected an integer 100-300000"},
        {"MAX_CONNECTIONS", offsetof(struct config, max_connections), "1", "1000000", "0",
         "1000001", "expected an integer 1-1000000"},
        {"HASH_THREADS", offsetof(struct config, hash_threads), "1", "64", "0", "65",
         "expected an integer 1-64"},
        {"LOGIN_MAX_FAILS_USER", offsetof(struct config, login_max_fails_user), "1", "100000", "0",
         "100001", "expected an integer 1-100000"},
        {"LOGIN_MAX_FAILS_ADDR", offsetof(struct config, login_max_fails_addr), "1", "1000000", "0",
         "1000001", "expected an integer 1-1000000"},
        {"LOGIN_FAIL_WINDOW", offsetof(struct config, login_fail_window), "10", "86400", "9",
         "86401", "expected a duration 10s-1d"},
        {"MESSAGES_PER_MINUTE", offsetof(struct config, messages_per_minute), "1", "100000", "0",
         "100001", "expected an integer 1-100000"},
        {"EVENTS_PER_SECOND", offsetof(struct config, events_per_second), "1", "100000", "0",
         "100001", "expected an integer 1-100000"},
        {"EVENTS_BURST", offsetof(struct config, events_burst), "1", "1000000", "0", "1000001",
         "expected an integer 1-1000000"},
        {"SOCKETS_PER_USER", offsetof(struct config, sockets_per_user), "1", "100000", "0",
         "100001", "expected an integer 1-100000"},
        {"ROOMS_PER_USER", offsetof(struct config, rooms_per_user), "1", "4096", "0", "4097",
         "expected an integer 1-4096"},
        {"MAX_CONNECTIONS_PER_ADDR", offsetof(struct config, max_connections_per_addr), "1",
         "1000000", "0", "1000001", "expected an integer 1-1000000"},
        {"HEADER_TIMEOUT", offsetof(struct config, header_timeout), "1", "3600", "0", "3601",
         "expected a duration 1s-1h"},
        {"REGISTRATIONS_PER_HOUR", offsetof(struct config, registrations_per_hour), "1", "1000000",
         "0", "1000001", "expected an integer 1-1000000"},
        {"LOGINS_PER_MINUTE", offsetof(struct config, logins_per_minute), "1", "1000000", "0",
         "1000001", "expected an integer 1-1000000"},
        {"LOGIN_DELAY_MAX", offsetof(struct config, login_delay_max), "1", "86400", "0", "86401",
         "expected a duration 1s-1d"},
        {"REDIS_WAIT_REPLICAS", offsetof(struct config, wait_replicas), "0", "16", "-1", "17",
         "expected an integer 0-16"},
        {"REDIS_WAIT_TIMEOUT", offsetof(struct config, wait_timeout_ms), "10", "4000", "9", "4001",
         "expected an integer 10-4000"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++) {
        assert_int_equal(load_uint(knobs[i].var, knobs[i].lo, knobs[i].off),
                         strtoul(knobs[i].lo, NULL, 10));
        assert_int_equal(load_uint(knobs[i].var, knobs[i].hi, knobs[i].off),
                         strtoul(knobs[i].hi, NULL, 10));
        expect_invalid_env(knobs[i].var, knobs[i].below, knobs[i].expected);
        expect_invalid_env(knobs[i].var, knobs[i].above, knobs[i].expected);
        expect_invalid_env(knobs[i].var, "x", knobs[i].expected);
    }
    assert_int_equal(
        load_uint("LOGIN_FAIL_WINDOW", "30m", offsetof(struct config, login_fail_window)), 1800);
}

/* The Argon2id cost: sizes with binary units, OWASP's minimum as the floor
 * (refused with a line that says so), libsodium-verifiable caps. */
static void test_password_cost(void **state)
{
    static const struct {
        const char *value;
        unsigned kib;
    } sizes[] = {
        {"19456", 19456},   {"19456KiB", 19456}, {"19456k", 19456}, {"19MiB", 19456},
        {"19m", 19456},     {"46MiB", 47104},    {"32768K", 32768}, {"256MiB", 262144},
        {"262144", 262144}, {"20000", 20000},    {"19MIB", 19456},
    };
    static const char *const bad_sizes[] = {
        "19455",  "18MiB", "1MiB", "0",       "257MiB", "262145", "1GiB",   "1G",
        "19 MiB", "MiB",   "19MB", "19.5MiB", "-19MiB", "x",      "19MiBs", "99999999999999999999",
    };
    const size_t mem = offsetof(struct config, password_cost.mem_kib);
    const size_t passes = offsetof(struct config, password_cost.passes);
    static const char floor[] = "(OWASP's minimum for Argon2id is 19MiB with 2 iterations)";
    struct result r;

    (void)state;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        assert_int_equal(load_uint("PASSWORD_MEMORY", sizes[i].value, mem), sizes[i].kib);
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        expect_invalid_env("PASSWORD_MEMORY", bad_sizes[i], "expected a size 19MiB-256MiB");
        expect_invalid_env("PASSWORD_MEMORY", bad_sizes[i], floor);
    }

    assert_int_equal(load_uint("PASSWORD_ITERATIONS", "2", passes), 2);
    assert_int_equal(load_uint("PASSWORD_ITERATIONS", "10", passes), 10);
    expect_invalid_env("PASSWORD_ITERATIONS", "1", "expected an integer 2-10 (OWASP's minimum");
    expect_invalid_env("PASSWORD_ITERATIONS", "0", floor);
    expect_invalid_env("PASSWORD_ITERATIONS", "11", "expected an integer 2-10");
    expect_invalid_env("PASSWORD_ITERATIONS", "x", "expected an integer 2-10");

    load_env(&r, "PASSWORD_REHASH", "Different");
    assert_int_equal(r.cfg.password_rehash, PW_REHASH_DIFFERENT);
    done(&r);
    load_env(&r, "PASSWORD_REHASH", "weaker");
    assert_int_equal(r.cfg.password_rehash, PW_REHASH_WEAKER);
    done(&r);
    expect_invalid_env("PASSWORD_REHASH", "always", "expected weaker or different");

    /* The floor holds for flags too, and only the two settings carry its note. */
    load(&r, "--password-memory=16MiB", NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "chatd: invalid --password-memory \"16MiB\""));
    assert_non_null(strstr(r.err, floor));
    done(&r);
    load(&r, "--password-memory", "24MiB", "--password-iterations", "3", NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.cfg.password_cost.mem_kib, 24576);
    assert_int_equal(r.cfg.password_cost.passes, 3);
    done(&r);
    load(&r, "--hash-threads=0", NULL);
    assert_int_equal(r.rc, 2);
    assert_null(strstr(r.err, "OWASP"));
    done(&r);
}

static void test_links(void **state)
{
    struct result r;
    static const char *const bad[] = {"[]", "1",    "\"x\"",    "null",
                                      "{",  "{} x", "{\"a\":}", "{'a':1}"};
    char *huge = malloc(CONFIG_LINKS_MAX + 16);

    (void)state;
    load_env(&r, "LINKS", " { \"github\" : \"https://github.com/x/y\", \"n\": [1, 2] } ");
    assert_string_equal(r.cfg.links, "{\"github\":\"https://github.com/x/y\",\"n\":[1,2]}");
    done(&r);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid_env("LINKS", bad[i], "expected a JSON object");

    /* A valid object one byte over the limit. */
    memset(huge, ' ', CONFIG_LINKS_MAX - 1);
    huge[0] = '{';
    huge[CONFIG_LINKS_MAX - 1] = '}';
    huge[CONFIG_LINKS_MAX] = '\0';
    load_env(&r, "LINKS", huge);
    assert_string_equal(r.cfg.links, "{}");
    done(&r);
    memmove(huge + 1, huge, CONFIG_LINKS_MAX + 1);
    huge[1] = ' ';
    expect_invalid_env("LINKS", huge, "at most 16384 bytes");
    free(huge);
}

static void test_flags_override_env(void **state)
{
    struct result r;

    (void)state;
    setenv("PORT", "1000", 1);
    setenv("SEED_DEMO", "yes", 1);
    setenv("LOG_LEVEL", "error", 1);
    setenv("ALLOWED_ORIGINS", "https://env.example", 1);
    load(&r, "--port", "2000", "--seed-demo=off", "--allowed-origins", "https://flag.example",
         NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.cfg.port, 2000);
    assert_false(r.cfg.seed_demo);
    assert_int_equal(r.cfg.log_level, LOG_LEVEL_ERROR); /* no flag: the environment's */
    assert_int_equal(r.cfg.n_origins, 1);
    assert_string_equal(r.cfg.origins[0], "https://flag.example");
    done(&r);

    /* A bad environment value is not an error when a flag replaces it. */
    setenv("PORT", "not-a-port", 1);
    load(&r, "--port=3000", NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.cfg.port, 3000);
    done(&r);
    clear_env(NULL);
}

static void test_flag_syntaxes(void **state)
{
    struct result r;

    (void)state;
    load(&r, "--port", "9000", "--bind=::1", "--redis-url", "redis://r.example:7000/2",
         "--max-message-bytes=100", "--login-max-fails-user", "9", NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.cfg.port, 9000);
    assert_string_equal(r.cfg.bind, "::1");
    assert_string_equal(r.cfg.redis.host, "r.example");
    assert_int_equal(r.cfg.redis.port, 7000);
    assert_int_equal(r.cfg.redis.db, 2);
    assert_int_equal(r.cfg.max_message_bytes, 100);
    assert_int_equal(r.cfg.login_max_fails_user, 9);
    done(&r);

    /* The last of repeated flags wins; a value may itself contain '='. */
    load(&r, "--port=1", "--port=2", "--links", "{\"a=b\":\"c=d\"}", NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.cfg.port, 2);
    assert_string_equal(r.cfg.links, "{\"a=b\":\"c=d\"}");
    done(&r);

    /* A flag with no value, and an invalid flag value. */
    load(&r, "--port", NULL);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "chatd: flag --port needs a value\n");
    done(&r);
    load(&r, "--port=70000", NULL);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "chatd: invalid --port \"70000\": expected an integer 1-65535\n");
    done(&r);
    load(&r, "--cookie-secure", "maybe", NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "invalid --cookie-secure \"maybe\": expected a boolean"));
    done(&r);
}

static void test_bad_arguments(void **state)
{
    struct result r;
    static const char *const bad[] = {
        "--nope", "--PORT=1", "-p", "serve", "--", "--port_x=1", "--redis_url=redis://h"};

    (void)state;
    load(&r, "--nope", NULL);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "chatd: unknown flag \"--nope\"; see chatd --help\n");
    assert_int_equal(r.out_len, 0);
    done(&r);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        load(&r, bad[i], NULL);
        if (r.rc != 2 || r.err_len == 0)
            fail_msg("argument \"%s\": rc %d, stderr \"%s\"", bad[i], r.rc, r.err);
        done(&r);
    }
}

static void test_help(void **state)
{
    struct result r;
    char flag[64], line[128];

    (void)state;
    setenv("PORT", "not-a-port", 1); /* help is answered whatever the settings */
    load(&r, "--help", NULL);
    assert_int_equal(r.rc, 1);
    assert_int_equal(r.err_len, 0);
    assert_non_null(strstr(r.out, "Usage: chatd"));
    assert_non_null(strstr(r.out, "--version"));
    for (size_t i = 0; i < N_VARS; i++) {
        size_t j = 0;

        for (; vars[i][j] != '\0'; j++) {
            char c = vars[i][j];
            flag[j] = c == '_' ? '-' : c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        flag[j] = '\0';
        snprintf(line, sizeof line, "  %s, --%s VALUE\n      default: ", vars[i], flag);
        if (strstr(r.out, line) == NULL)
            fail_msg("--help lacks \"%s\"", line);
    }
    assert_non_null(strstr(r.out, "PORT, --port VALUE\n      default: 8000\n"));
    assert_non_null(strstr(r.out, "default: redis://127.0.0.1:6379\n"));
    assert_non_null(strstr(r.out, "default: the number of online CPUs\n"));
    assert_non_null(strstr(r.out, "default: 7d\n"));
    assert_non_null(strstr(r.out, "TCP port to listen on.\n      An integer 1-65535.\n"));
    assert_non_null(strstr(r.out, "A size 19MiB-256MiB: KiB, or a number with KiB, MiB or GiB.\n"));
    done(&r);

    load(&r, "-h", NULL);
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.out, "Usage: chatd"));
    done(&r);
    clear_env(NULL);
}

/* --help=man: chatd(8) in roff, every setting from the same table. */
static void test_help_man(void **state)
{
    struct result r;
    char flag[64], line[160];

    (void)state;
    load(&r, "--help=man", NULL);
    assert_int_equal(r.rc, 1);
    assert_int_equal(r.err_len, 0);
    assert_memory_equal(r.out, ".TH CHATD 8 ", strlen(".TH CHATD 8 "));
    for (size_t i = 0; i < N_VARS; i++) {
        size_t j = 0, k = 0;

        /* The flag as roff writes it: every '-' a minus, \-. */
        for (; vars[i][j] != '\0' && k + 3 < sizeof flag; j++) {
            char c = vars[i][j];
            if (c == '_') {
                flag[k++] = '\\';
                flag[k++] = '-';
            } else {
                flag[k++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
            }
        }
        flag[k] = '\0';
        snprintf(line, sizeof line, "\n.TP\n.BR %s \", \" \\-\\-%s \" \\fIvalue\\fR\"\n", vars[i],
                 flag);
        if (strstr(r.out, line) == NULL)
            fail_msg("--help=man lacks \"%s\"", line);
    }
    assert_non_null(
        strstr(r.out, "TCP port to listen on.\nAn integer 1\\-65535.\n.br\nDefault: 8000\n"));
    /* No line of the page starts with a control character it did not mean. */
    assert_null(strstr(r.out, "\n'"));
    assert_non_null(strstr(r.out, "\n.SH \"SEE ALSO\"\n"));
    done(&r);
}

static void test_version(void **state)
{
    struct result r;
    static const char *const spellings[] = {"--version", "-V"};

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        load(&r, spellings[i], NULL);
        assert_int_equal(r.rc, 1);
        assert_int_equal(r.err_len, 0);
        assert_true(r.out_len > strlen("chatd \n"));
        assert_memory_equal(r.out, "chatd ", 6);
        assert_ptr_equal(strchr(r.out, '\n'), r.out + r.out_len - 1);
        assert_null(strchr(r.out + 6, ' '));
        done(&r);
    }
}

/* ---- Redis -------------------------------------------------------------- */

struct redis_case {
    const char *url;
    const char *host;
    unsigned port;
    const char *unix_path, *username, *password;
    unsigned db;
};

static void check_redis(const char *var, const struct redis_case *c)
{
    struct result r;

    load_env(&r, var, c->url);
    assert_string_equal(r.cfg.redis.host, c->host);
    assert_int_equal(r.cfg.redis.port, c->port);
    assert_string_equal(r.cfg.redis.unix_path, c->unix_path);
    assert_string_equal(r.cfg.redis.username, c->username);
    assert_string_equal(r.cfg.redis.password, c->password);
    assert_int_equal(r.cfg.redis.db, c->db);
    done(&r);
}

static void test_redis_url(void **state)
{
    static const struct redis_case good[] = {
        {"redis://h:1234", "h", 1234, "", "", "", 0},
        {"redis://redis.internal", "redis.internal", 6379, "", "", "", 0},
        {"redis://10.1.2.3:6380/", "10.1.2.3", 6380, "", "", "", 0},
        {"redis://:secret@h:1234/3", "h", 1234, "", "", "secret", 3},
        {"redis://user:p%40ss%2Fw@h:1/15", "h", 1, "", "user", "p@ss/w", 15},
        {"redis://default:pw@h", "h", 6379, "", "", "pw", 0},
        {"redis://:p@ss@h:2", "h", 2, "", "", "p@ss", 0},
        {"redis://h:3?db=4", "h", 3, "", "", "", 4},
        {"redis://[::1]:6380/1", "::1", 6380, "", "", "", 1},
        {"redis://[2001:db8::7]", "2001:db8::7", 6379, "", "", "", 0},
        {"REDIS://H:5", "H", 5, "", "", "", 0},
        {"unix:///var/run/redis.sock", "", 0, "/var/run/redis.sock", "", "", 0},
        {"unix:///tmp/r.sock?db=2", "", 0, "/tmp/r.sock", "", "", 2},
        {"unix:///tmp/r.sock?db=2&password=s%26t", "", 0, "/tmp/r.sock", "", "s&t", 2},
    };
    static const struct {
        const char *url, *want;
    } bad[] = {
        {"rediss://h:6380", "rediss:// (TLS) is not supported"},
        {"http://h:6379", "expected redis://"},
        {"h:6379", "expected redis://"},
        {"redis://h:0", "port \"0\" is not 1-65535"},
        {"redis://h:70000", "port \"70000\" is not 1-65535"},
        {"redis://h:", "port \"\" is not 1-65535"},
        {"redis://h:ab", "port \"ab\" is not"},
        {"redis://:pw@/0", "expected a host"},
        {"redis://", "expected a host"},
        {"redis://h h:1", "expected a host"},
        {"redis://[::1", "expected a host"},
        {"redis://[nope]:1", "expected a host"},
        {"redis://h/x", "database after '/' is not 0-65535"},
        {"redis://h/65536", "database after '/' is not 0-65535"},
        {"redis://h?db=x", "db is not 0-65535"},
        {"redis://h?timeout=5", "unknown parameter \"timeout\""},
        {"redis://h:1#frag", "unexpected '#'"},
        {"redis://u:%zz@h", "badly %-encoded"},
        {"redis://u:%00@h", "badly %-encoded"},
        {"unix://relative.sock", "expected unix:///absolute/path"},
        {"unix://", "expected unix:///absolute/path"},
        {"unix:///tmp/r.sock?db=-1", "db is not 0-65535"},
    };
    char long_path[CONFIG_UNIX_PATH_MAX + 16] = "unix://";

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        check_redis("REDIS_URL", &good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct result r;

        setenv("REDIS_URL", bad[i].url, 1);
        load(&r, NULL);
        if (r.rc != 2 || strncmp(r.err, "chatd: invalid REDIS_URL: ", 26) != 0 ||
            strstr(r.err, bad[i].want) == NULL)
            fail_msg("REDIS_URL=\"%s\": rc %d, stderr \"%s\", wanted \"%s\"", bad[i].url, r.rc,
                     r.err, bad[i].want);
        done(&r);
    }

    /* The longest socket path that fits in sun_path, and one byte more. */
    memset(long_path + 7, 'p', CONFIG_UNIX_PATH_MAX);
    long_path[7] = '/';
    long_path[7 + CONFIG_UNIX_PATH_MAX] = '\0';
    struct result r;
    load_env(&r, "REDIS_URL", long_path);
    assert_int_equal(strlen(r.cfg.redis.unix_path), CONFIG_UNIX_PATH_MAX);
    done(&r);
    strcat(long_path, "p");
    setenv("REDIS_URL", long_path, 1);
    load(&r, NULL);
    assert_int_equal(r.rc, 2);
    done(&r);
    unsetenv("REDIS_URL");
}

static void test_redis_errors_hide_secrets(void **state)
{
    struct result r;

    (void)state;
    setenv("REDIS_URL", "redis://:hunter2@h:0", 1);
    load(&r, NULL);
    assert_int_equal(r.rc, 2);
    assert_null(strstr(r.err, "hunter2"));
    done(&r);
    load(&r, "--redis-url=redis://:hunter2@h:x", NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "chatd: invalid --redis-url: "));
    assert_null(strstr(r.err, "hunter2"));
    done(&r);
    unsetenv("REDIS_URL");
}

static void test_redis_endpoint_fallback(void **state)
{
    struct result r;
    char long_pw[CONFIG_SECRET_MAX + 2];

    (void)state;
    static const struct redis_case endpoint = {"10.0.0.5:6380", "10.0.0.5", 6380, "", "", "pw", 0};
    setenv("REDIS_PASSWORD", "pw", 1);
    check_redis("REDIS_ENDPOINT_URL", &endpoint);

    /* REDIS_URL wins over the endpoint; REDIS_PASSWORD fills in a missing password
     * but never replaces the URL's. */
    setenv("REDIS_ENDPOINT_URL", "10.0.0.5:6380", 1);
    setenv("REDIS_URL", "redis://u.example:1", 1);
    load(&r, NULL);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.cfg.redis.host, "u.example");
    assert_string_equal(r.cfg.redis.password, "pw");
    done(&r);
    setenv("REDIS_URL", "redis://:url-pw@u.example:1", 1);
    load(&r, NULL);
    assert_string_equal(r.cfg.redis.password, "url-pw");
    done(&r);

    /* A flag beats every environment variable, whichever of the two it is. */
    load(&r, "--redis-endpoint-url", "flag.example:9", "--redis-password=fpw", NULL);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.cfg.redis.host, "flag.example");
    assert_int_equal(r.cfg.redis.port, 9);
    assert_string_equal(r.cfg.redis.password, "fpw");
    done(&r);
    clear_env(NULL);

    /* Port optional, IPv6 bracketed, a URL accepted as it is. */
    static const struct redis_case more[] = {
        {"cache", "cache", 6379, "", "", "", 0},
        {"[::1]:7000", "::1", 7000, "", "", "", 0},
        {"redis://:x@h:8/1", "h", 8, "", "", "x", 1},
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        check_redis("REDIS_ENDPOINT_URL", &more[i]);

    expect_invalid_env("REDIS_ENDPOINT_URL", "h:x", "expected host:port");
    expect_invalid_env("REDIS_ENDPOINT_URL", "a:b:c", "expected host:port");

    memset(long_pw, 'x', sizeof long_pw - 1);
    long_pw[sizeof long_pw - 1] = '\0';
    setenv("REDIS_PASSWORD", long_pw, 1);
    load(&r, NULL);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "chatd: invalid REDIS_PASSWORD: expected at most 512 bytes\n");
    done(&r);
    unsetenv("REDIS_PASSWORD");
}

static void test_redis_sentinels(void **state)
{
    struct result r;
    char nine[128] = "";

    (void)state;
    load_env(&r, "REDIS_SENTINELS", "127.0.0.1:26380,sentinel-b,[::1]:5000");
    assert_int_equal(r.cfg.n_sentinels, 3);
    assert_string_equal(r.cfg.sentinels[0].host, "127.0.0.1");
    assert_int_equal(r.cfg.sentinels[0].port, 26380);
    assert_string_equal(r.cfg.sentinels[1].host, "sentinel-b");
    assert_int_equal(r.cfg.sentinels[1].port, 26379); /* Sentinel's own default */
    assert_string_equal(r.cfg.sentinels[2].host, "::1");
    assert_int_equal(r.cfg.sentinels[2].port, 5000);
    /* REDIS_URL still gives the password and the database. */
    assert_string_equal(r.cfg.redis.host, "127.0.0.1");
    done(&r);
    load_env(&r, "REDIS_SENTINELS", "[::1]");
    assert_int_equal(r.cfg.sentinels[0].port, 26379);
    done(&r);

    expect_invalid_env("REDIS_SENTINELS", "a:0", "port \"0\" is not 1-65535");
    expect_invalid_env("REDIS_SENTINELS", "a,,b", "expected a host");
    expect_invalid_env("REDIS_SENTINELS", "a:1,", "expected host:port,host:port");
    expect_invalid_env("REDIS_SENTINELS", "a b", "expected a host");
    for (int i = 0; i < 9; i++)
        strcat(nine, i ? ",s:1" : "s:1");
    expect_invalid_env("REDIS_SENTINELS", nine, "at most 8 sentinels");

    /* A socket cannot be followed to another host. */
    setenv("REDIS_URL", "unix:///tmp/r.sock", 1);
    setenv("REDIS_SENTINELS", "s:1", 1);
    load(&r, NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "chatd: invalid REDIS_SENTINELS"));
    assert_non_null(strstr(r.err, "a Unix socket cannot be followed"));
    done(&r);
    unsetenv("REDIS_URL");
    unsetenv("REDIS_SENTINELS");

    load_env(&r, "REDIS_MASTER_NAME", "prod-chat.1");
    assert_string_equal(r.cfg.master_name, "prod-chat.1");
    done(&r);
    expect_invalid_env("REDIS_MASTER_NAME", "my master", "expected 1-64 characters");

    load_env(&r, "REDIS_SENTINEL_PASSWORD", "s3cret");
    assert_string_equal(r.cfg.sentinel_password, "s3cret");
    done(&r);
    char long_pw[CONFIG_SECRET_MAX + 2];
    memset(long_pw, 'q', sizeof long_pw - 1);
    long_pw[sizeof long_pw - 1] = '\0';
    setenv("REDIS_SENTINEL_PASSWORD", long_pw, 1);
    load(&r, NULL);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err,
                        "chatd: invalid REDIS_SENTINEL_PASSWORD: expected at most 512 bytes\n");
    done(&r);
    unsetenv("REDIS_SENTINEL_PASSWORD");

    /* Logged as the Sentinels and the master's name, the password hidden. */
    char buf[256];
    setenv("REDIS_URL", "redis://:hunter2@ignored:1/2", 1);
    load_env(&r, "REDIS_SENTINELS", "s1,[::1]:7");
    assert_string_equal(config_redis_describe(&r.cfg, buf, sizeof buf),
                        "sentinel://:***@s1:26379,[::1]:7/mymaster/2");
    assert_string_equal(config_redis_describe(&r.cfg, buf, 12), "sentinel://");
    done(&r);
    unsetenv("REDIS_URL");
}

static void test_redis_describe(void **state)
{
    static const struct {
        const char *url, *want;
    } cases[] = {
        {"redis://127.0.0.1:6379", "redis://127.0.0.1:6379/0"},
        {"redis://:s3cret@h:1/2", "redis://:***@h:1/2"},
        {"redis://bob:s3cret@h:1/2", "redis://bob:***@h:1/2"},
        {"redis://[::1]:7", "redis://[::1]:7/0"},
        {"unix:///run/r.sock?db=3&password=s3cret", "unix:///run/r.sock?db=3&password=***"},
        {"unix:///run/r.sock", "unix:///run/r.sock?db=0"},
    };
    char buf[128];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct result r;

        load_env(&r, "REDIS_URL", cases[i].url);
        assert_ptr_equal(config_redis_describe(&r.cfg, buf, sizeof buf), buf);
        assert_string_equal(buf, cases[i].want);
        assert_null(strstr(buf, "s3cret"));
        /* Cut to fit, NUL-terminated. */
        config_redis_describe(&r.cfg, buf, 9);
        assert_int_equal(strlen(buf), 8);
        assert_memory_equal(buf, cases[i].want, 8);
        done(&r);
    }
}

/* ---- errors ------------------------------------------------------------- */

static void test_refusal_leaves_cfg_alone(void **state)
{
    struct config cfg, before;
    char *argv[] = {"chatd", "--workers=0", NULL};
    FILE *sink = fopen("/dev/null", "w");

    (void)state;
    memset(&cfg, 0xA5, sizeof cfg);
    memcpy(&before, &cfg, sizeof cfg);
    assert_int_equal(config_load(&cfg, 2, argv, sink, sink), 2);
    assert_memory_equal(&cfg, &before, sizeof cfg);
    argv[1] = "--version";
    assert_int_equal(config_load(&cfg, 2, argv, sink, sink), 1);
    assert_memory_equal(&cfg, &before, sizeof cfg);
    fclose(sink);

    config_free(NULL);
    memset(&cfg, 0, sizeof cfg);
    config_free(&cfg);
}

static void test_error_echo_is_escaped_and_bounded(void **state)
{
    struct result r;
    char long_value[300];

    (void)state;
    setenv("PORT", "\x1b[31m\"red\"\n", 1);
    load(&r, NULL);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "chatd: invalid PORT \"\\x1b[31m\\\"red\\\"\\x0a\": expected an "
                               "integer 1-65535\n");
    done(&r);

    memset(long_value, '7', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    setenv("PORT", long_value, 1);
    load(&r, NULL);
    assert_int_equal(r.rc, 2);
    assert_true(r.err_len < 160);
    assert_non_null(strstr(r.err, "7777...\": expected"));
    done(&r);
    unsetenv("PORT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_empty_env_is_unset, clear_env),
        cmocka_unit_test_setup(test_port, clear_env),
        cmocka_unit_test_setup(test_bind, clear_env),
        cmocka_unit_test_setup(test_web_root, clear_env),
        cmocka_unit_test_setup(test_workers, clear_env),
        cmocka_unit_test_setup(test_server_id, clear_env),
        cmocka_unit_test_setup(test_allowed_origins, clear_env),
        cmocka_unit_test_setup(test_session_ttl, clear_env),
        cmocka_unit_test_setup(test_booleans, clear_env),
        cmocka_unit_test_setup(test_max_message_bytes, clear_env),
        cmocka_unit_test_setup(test_keywords, clear_env),
        cmocka_unit_test_setup(test_chatd_knobs, clear_env),
        cmocka_unit_test_setup(test_password_cost, clear_env),
        cmocka_unit_test_setup(test_links, clear_env),
        cmocka_unit_test_setup(test_flags_override_env, clear_env),
        cmocka_unit_test_setup(test_flag_syntaxes, clear_env),
        cmocka_unit_test_setup(test_bad_arguments, clear_env),
        cmocka_unit_test_setup(test_help, clear_env),
        cmocka_unit_test_setup(test_help_man, clear_env),
        cmocka_unit_test_setup(test_version, clear_env),
        cmocka_unit_test_setup(test_redis_url, clear_env),
        cmocka_unit_test_setup(test_redis_errors_hide_secrets, clear_env),
        cmocka_unit_test_setup(test_redis_endpoint_fallback, clear_env),
        cmocka_unit_test_setup(test_redis_sentinels, clear_env),
        cmocka_unit_test_setup(test_redis_describe, clear_env),
        cmocka_unit_test_setup(test_refusal_leaves_cfg_alone, clear_env),
        cmocka_unit_test_setup(test_error_echo_is_escaped_and_bounded, clear_env),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
