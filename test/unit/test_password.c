/* Unit tests for lib/password: legacy bcrypt from the originals, Argon2id and
 * bcrypt round trips, malformed input, the configurable Argon2id cost and its
 * floor, the rehash policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "password.h"

static const struct pw_argon2id_cost DEFAULT_COST = {PW_ARGON2ID_MEM_KIB_DEFAULT,
                                                     PW_ARGON2ID_PASSES_DEFAULT};

/* Real hashes from test/fixtures (user:N "password" fields), written by
 * the original demo servers: demo users have "password123", Zoe "zoe-secret-1". */
static const char PY_PABLO[] = "$2b$10$hNsLTYqomPJ7/DyHL6mXwu6iGEKeGb8UrHEx175wjSuAjqRsm3A56";
static const char PY_ZOE[] = "$2b$10$UfzJFBiqDo7VFhQnc5wBKupwbx4DUr30JTopDhAZaw/hsg7Cy5dCS";
static const char NODE_JOE[] = "$2b$10$FEw3cMOjXaWIwq5l/Uxq1.DHcwHbcXHgI9SapX/CrTuccz09kDxqa";
static const char NODE_ZOE[] = "$2b$10$m4bYXPaFEEFvOVXtJuE5feV/bOA08g/ex6567nrCDRAoujptrlf7q";

static int verify(const char *hash, const char *password)
{
    return pw_verify(hash, password, strlen(password));
}

static int setup(void **state)
{
    (void)state;
    return pw_init();
}

/* Tests that change the cost put the default back, whatever they assert. */
static int restore_default_cost(void **state)
{
    (void)state;
    return pw_set_argon2id(DEFAULT_COST, PW_REHASH_WEAKER);
}

/* A well-formed Argon2id hash string with these parameters (salt and digest
 * made up): pw_needs_rehash reads parameters, it does not verify. */
static const char *argon2id_with(unsigned version, unsigned mem_kib, unsigned passes,
                                 unsigned lanes)
{
    static char buf[PW_HASH_MAX];
    snprintf(buf, sizeof buf,
             "$argon2id$v=%u$m=%u,t=%u,p=%u$c29tZXNhbHRzb21lc2FsdA$"
             "ZnVsbGhhc2hmdWxsaGFzaGZ1bGxoYXNoZnVsbGhhc2g",
             version, mem_kib, passes, lanes);
    return buf;
}

static void test_legacy_bcrypt(void **state)
{
    (void)state;
    assert_int_equal(verify(PY_PABLO, "password123"), 0);
    assert_int_equal(verify(NODE_JOE, "password123"), 0);
    assert_int_equal(verify(PY_ZOE, "zoe-secret-1"), 0);
    assert_int_equal(verify(NODE_ZOE, "zoe-secret-1"), 0);

    assert_int_equal(verify(PY_PABLO, "password124"), 1);
    assert_int_equal(verify(PY_PABLO, "zoe-secret-1"), 1);
    assert_int_equal(verify(NODE_ZOE, "password123"), 1);
    assert_int_equal(verify(NODE_JOE, ""), 1);
    /* A prefix of the password is not the password. */
    assert_int_equal(pw_verify(PY_PABLO, "password123", 10), 1);
}

static void test_legacy_bcrypt_variants(void **state)
{
    (void)state;
    /* $2a$ and $2y$ name the same algorithm for passwords without 8-bit bytes. */
    char h[sizeof PY_PABLO];
    memcpy(h, PY_PABLO, sizeof h);
    h[2] = 'a';
    assert_int_equal(verify(h, "password123"), 0);
    assert_int_equal(verify(h, "password12"), 1);
    h[2] = 'y';
    assert_int_equal(verify(h, "password123"), 0);
    /* $2x$ (the old 8-bit bug mode) is not a scheme we accept. */
    h[2] = 'x';
    assert_int_equal(verify(h, "password123"), -1);
}

static void test_argon2id_round_trip(void **state)
{
    (void)state;
    char h[PW_HASH_MAX];
    assert_int_equal(pw_hash(PW_ARGON2ID, "correct horse", 13, h), 0);
    assert_true(strncmp(h, "$argon2id$", 10) == 0);
    assert_true(strlen(h) < PW_HASH_MAX);
    assert_int_equal(verify(h, "correct horse"), 0);
    assert_int_equal(verify(h, "correct horsE"), 1);
    assert_int_equal(verify(h, ""), 1);

    /* Argon2id takes any bytes, NUL included, and all of them count. */
    static const char nul_pw[] = {'a', '\0', 'b'};
    assert_int_equal(pw_hash(PW_ARGON2ID, nul_pw, sizeof nul_pw, h), 0);
    assert_int_equal(pw_verify(h, nul_pw, sizeof nul_pw), 0);
    assert_int_equal(pw_verify(h, nul_pw, 1), 1);

    /* Fresh salt every time. */
    char h2[PW_HASH_MAX];
    assert_int_equal(pw_hash(PW_ARGON2ID, "x", 1, h), 0);
    assert_int_equal(pw_hash(PW_ARGON2ID, "x", 1, h2), 0);
    assert_string_not_equal(h, h2);
}

static void test_bcrypt_round_trip(void **state)
{
    (void)state;
    char h[PW_HASH_MAX], h2[PW_HASH_MAX];
    assert_int_equal(pw_hash(PW_BCRYPT, "password123", 11, h), 0);
    assert_true(strncmp(h, "$2b$10$", 7) == 0);
    assert_int_equal(strlen(h), 60);
    assert_int_equal(verify(h, "password123"), 0);
    assert_int_equal(verify(h, "password1234"), 1);

    assert_int_equal(pw_hash(PW_BCRYPT, "password123", 11, h2), 0);
    assert_string_not_equal(h, h2);

    /* bcrypt cannot carry a NUL byte: refused, not truncated. */
    static const char nul_pw[] = {'a', '\0', 'b'};
    assert_int_equal(pw_hash(PW_BCRYPT, nul_pw, sizeof nul_pw, h), -1);
    assert_int_equal(pw_verify(h2, nul_pw, sizeof nul_pw), -1);

    /* bcrypt reads 72 bytes; documented, and checked so nobody is surprised. */
    char long_a[80], long_b[80];
    memset(long_a, 'p', sizeof long_a);
    memcpy(long_b, long_a, sizeof long_b);
    long_b[79] = 'q';
    assert_int_equal(pw_hash(PW_BCRYPT, long_a, sizeof long_a, h), 0);
    assert_int_equal(pw_verify(h, long_b, sizeof long_b), 0);
}

static void test_limits(void **state)
{
    (void)state;
    char pw[PW_PASSWORD_MAX + 1], h[PW_HASH_MAX];
    memset(pw, 'z', sizeof pw);
    assert_int_equal(pw_hash(PW_ARGON2ID, pw, PW_PASSWORD_MAX + 1, h), -1);
    assert_int_equal(pw_hash(PW_BCRYPT, pw, PW_PASSWORD_MAX + 1, h), -1);
    assert_int_equal(pw_hash(PW_BCRYPT, pw, PW_PASSWORD_MAX, h), 0);
    assert_int_equal(pw_verify(h, pw, PW_PASSWORD_MAX), 0);
    assert_int_equal(pw_verify(h, pw, PW_PASSWORD_MAX + 1), -1);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "password123",
        "$",
        "$2b$",
        "$2b$10$",
        "$2b$10$short",
        "$2b$99$hNsLTYqomPJ7/DyHL6mXwu6iGEKeGb8UrHEx175wjSuAjqRsm3A56",
        "$2b$1$hNsLTYqomPJ7/DyHL6mXwu6iGEKeGb8UrHEx175wjSuAjqRsm3A56",
        "$2b$10$hNsLTYqomPJ7/DyHL6mXwu6iGEKeGb8UrHEx175wjSuAjqRsm3A56extra",
        "$2b$10$!!!!!!!!!!!!!!!!!!!!!!UrHEx175wjSuAjqRsm3A56aaaaaaaaaaaa",
        "*0",
        "*1",
        "$1$saltsalt$abcdefghijklmnopqrstuv",            /* md5crypt: not ours */
        "$6$saltsalt$abc",                               /* sha512crypt */
        "$argon2i$v=19$m=4096,t=3,p=1$c29tZXNhbHQ$aaaa", /* wrong variant */
        "$argon2id$",
        "$argon2id$v=19$m=65536,t=2,p=1$",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$!!!!",
        "$argon2id$v=19$m=99999999999999,t=2,p=1$c29tZXNhbHQ$c29tZXNhbHQ",
        "$argon2id$v=19$m=65536,t=0,p=1$c29tZXNhbHQ$c29tZXNhbHQ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = verify(bad[i], "password123");
        if (r != -1)
            fail_msg("pw_verify(\"%s\") = %d, want -1", bad[i], r);
    }
    assert_int_equal(pw_verify(NULL, "x", 1), -1);

    /* Well-formed, but a login must not cost this much: refused unrun. */
    static const char *const too_costly[] = {
        "$2b$15$hNsLTYqomPJ7/DyHL6mXwu6iGEKeGb8UrHEx175wjSuAjqRsm3A56",
        "$2b$31$hNsLTYqomPJ7/DyHL6mXwu6iGEKeGb8UrHEx175wjSuAjqRsm3A56",
        "$argon2id$v=19$m=1048576,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
        "ZnVsbGhhc2hmdWxsaGFzaGZ1bGxoYXNoZnVsbGhhc2g",
        "$argon2id$v=19$m=65536,t=1000,p=1$c29tZXNhbHRzb21lc2FsdA$"
        "ZnVsbGhhc2hmdWxsaGFzaGZ1bGxoYXNoZnVsbGhhc2g",
    };
    for (size_t i = 0; i < sizeof too_costly / sizeof too_costly[0]; i++) {
        int r = verify(too_costly[i], "password123");
        if (r != -1)
            fail_msg("pw_verify(\"%s\") = %d, want -1", too_costly[i], r);
    }
    /* Within the caps, a wrong password against a foreign-parameter hash is 1. */
    assert_int_equal(verify("$argon2id$v=19$m=4096,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$"
                            "ZnVsbGhhc2hmdWxsaGFzaGZ1bGxoYXNoZnVsbGhhc2g",
                            "password123"),
                     1);

    /* An unterminated-looking giant string is bounded, not over-read forever. */
    char huge[4 * PW_HASH_MAX];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    memcpy(huge, "$2b$10$", 7);
    assert_int_equal(verify(huge, "password123"), -1);
}

static void test_needs_rehash(void **state)
{
    (void)state;
    char argon[PW_HASH_MAX];
    assert_int_equal(pw_hash(PW_ARGON2ID, "pw", 2, argon), 0);

    /* libsodium's own format with weaker (t=1) and stronger (m=256 MiB) limits. */
    static const char weak[] = "$argon2id$v=19$m=65536,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$"
                               "ZnVsbGhhc2hmdWxsaGFzaGZ1bGxoYXNoZnVsbGhhc2g";
    static const char small_mem[] = "$argon2id$v=19$m=4096,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
                                    "ZnVsbGhhc2hmdWxsaGFzaGZ1bGxoYXNoZnVsbGhhc2g";
    static const char strong[] = "$argon2id$v=19$m=262144,t=4,p=1$c29tZXNhbHRzb21lc2FsdA$"
                                 "ZnVsbGhhc2hmdWxsaGFzaGZ1bGxoYXNoZnVsbGhhc2g";

    static const struct {
        const char *hash;
        enum pw_scheme wanted;
        bool expect;
    } table[] = {
        {PY_PABLO, PW_ARGON2ID, true},  /* legacy bcrypt: upgrade */
        {PY_PABLO, PW_BCRYPT, false},   /* fleet with originals: leave it */
        {weak, PW_ARGON2ID, true},      /* fewer passes than ours */
        {small_mem, PW_ARGON2ID, true}, /* less memory than ours */
        {strong, PW_ARGON2ID, false},   /* never downgrade */
        {weak, PW_BCRYPT, false},       /* never downgrade to bcrypt */
        {strong, PW_BCRYPT, false},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        bool got = pw_needs_rehash(table[i].hash, table[i].wanted);
        if (got != table[i].expect)
            fail_msg("pw_needs_rehash(\"%s\", %d) = %d, want %d", table[i].hash,
                     (int)table[i].wanted, got, table[i].expect);
    }
    assert_false(pw_needs_rehash(argon, PW_ARGON2ID));
    assert_false(pw_needs_rehash(argon, PW_BCRYPT));
    assert_false(pw_needs_rehash(NULL, PW_ARGON2ID));
}

static void test_cost_floor_and_caps(void **state)
{
    (void)state;
    /* The default is OWASP's minimum or above, and is what pw_hash starts with. */
    assert_true(DEFAULT_COST.mem_kib >= 19456 && DEFAULT_COST.passes >= 2);
    assert_int_equal(pw_argon2id_cost().mem_kib, DEFAULT_COST.mem_kib);
    assert_int_equal(pw_argon2id_cost().passes, DEFAULT_COST.passes);

    /* OWASP's minimum, m = 19 MiB and t = 2, is the floor; the caps are what
     * pw_verify accepts. Outside them nothing changes. */
    static const struct pw_argon2id_cost refused[] = {
        {19455, 2}, {19456, 1}, {19456, 0}, {0, 0}, {262145, 2}, {19456, 11}, {8192, 5},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (pw_set_argon2id(refused[i], PW_REHASH_WEAKER) != -1)
            fail_msg("m=%u t=%u accepted", refused[i].mem_kib, refused[i].passes);
        assert_int_equal(pw_argon2id_cost().mem_kib, DEFAULT_COST.mem_kib);
        assert_int_equal(pw_argon2id_cost().passes, DEFAULT_COST.passes);
    }
    assert_int_equal(pw_set_argon2id(DEFAULT_COST, (enum pw_rehash)7), -1);
    assert_int_equal(pw_set_argon2id((struct pw_argon2id_cost){19456, 2}, PW_REHASH_WEAKER), 0);
    assert_int_equal(pw_set_argon2id((struct pw_argon2id_cost){262144, 10}, PW_REHASH_DIFFERENT),
                     0);
    assert_int_equal(pw_argon2id_cost().mem_kib, 262144);

    /* New hashes carry the configured parameters, and verify. */
    char h[PW_HASH_MAX];
    assert_int_equal(pw_set_argon2id((struct pw_argon2id_cost){20480, 3}, PW_REHASH_WEAKER), 0);
    assert_int_equal(pw_hash(PW_ARGON2ID, "pw", 2, h), 0);
    assert_true(strncmp(h, "$argon2id$v=19$m=20480,t=3,p=1$", 31) == 0);
    assert_int_equal(verify(h, "pw"), 0);
    assert_false(pw_needs_rehash(h, PW_ARGON2ID));
}

static void test_rehash_against_configured_cost(void **state)
{
    (void)state;
    static const struct pw_argon2id_cost cost = {24576, 3}; /* 24 MiB, 3 passes */
    static const struct {
        unsigned version, mem_kib, passes, lanes;
        bool weaker, different; /* the answer under each policy */
    } table[] = {
        {19, 24576, 3, 1, false, false}, /* exactly the configured cost */
        {19, 19456, 3, 1, true, true},   /* less memory */
        {19, 24576, 2, 1, true, true},   /* fewer passes */
        {19, 65536, 2, 1, true, true},   /* more memory, fewer passes: still below */
        {19, 32768, 4, 1, false, true},  /* stronger: brought down only when asked */
        {19, 24576, 4, 1, false, true},  {19, 262144, 10, 1, false, true}, /* at the caps */
        {19, 24576, 3, 4, false, true}, /* other lanes (another implementation) */
        {19, 4096, 1, 1, true, true},   /* far below OWASP's floor */
    };

    for (int policy = PW_REHASH_WEAKER; policy <= PW_REHASH_DIFFERENT; policy++) {
        assert_int_equal(pw_set_argon2id(cost, (enum pw_rehash)policy), 0);
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
            const char *h =
                argon2id_with(table[i].version, table[i].mem_kib, table[i].passes, table[i].lanes);
            bool want = policy == PW_REHASH_WEAKER ? table[i].weaker : table[i].different;
            if (pw_needs_rehash(h, PW_ARGON2ID) != want)
                fail_msg("policy %d: pw_needs_rehash(\"%s\") != %d", policy, h, want);
            /* A fleet with original servers rewrites nothing. */
            assert_false(pw_needs_rehash(h, PW_BCRYPT));
        }
    }

    /* A real hash at an old, weaker cost (below even the floor: written by
     * libsodium directly) verifies, needs a rehash, and the rehash is at the
     * configured cost. */
    char old[PW_HASH_MAX], fresh[PW_HASH_MAX];
    assert_int_equal(crypto_pwhash_argon2id_str(old, "hunter2", 7, 1, 8192 * 1024), 0);
    assert_int_equal(pw_set_argon2id(cost, PW_REHASH_WEAKER), 0);
    assert_int_equal(verify(old, "hunter2"), 0);
    assert_true(pw_needs_rehash(old, PW_ARGON2ID));
    assert_int_equal(pw_hash(PW_ARGON2ID, "hunter2", 7, fresh), 0);
    assert_true(strncmp(fresh, "$argon2id$v=19$m=24576,t=3,p=1$", 31) == 0);
    assert_false(pw_needs_rehash(fresh, PW_ARGON2ID));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_bcrypt),
        cmocka_unit_test(test_legacy_bcrypt_variants),
        cmocka_unit_test(test_argon2id_round_trip),
        cmocka_unit_test(test_bcrypt_round_trip),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_needs_rehash),
        cmocka_unit_test_teardown(test_cost_floor_and_caps, restore_default_cost),
        cmocka_unit_test_teardown(test_rehash_against_configured_cost, restore_default_cost),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
