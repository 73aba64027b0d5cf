/* Unit tests for lib/token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

#define UNIQUE_ROUNDS 4096

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static bool in_alphabet(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static void test_new_shape(void **state)
{
    (void)state;
    char t[TOKEN_STR_LEN + 1];
    for (int i = 0; i < 256; i++) {
        memset(t, '#', sizeof t);
        token_new(t);
        assert_int_equal(strlen(t), TOKEN_STR_LEN);
        for (size_t j = 0; j < TOKEN_STR_LEN; j++)
            assert_true(in_alphabet(t[j]));
        assert_true(token_is_wellformed(t, TOKEN_STR_LEN));
    }
}

static int cmp_token(const void *a, const void *b)
{
    return memcmp(a, b, TOKEN_STR_LEN + 1);
}

static void test_new_unique(void **state)
{
    (void)state;
    char(*t)[TOKEN_STR_LEN + 1] = calloc(UNIQUE_ROUNDS, sizeof *t);
    assert_non_null(t);
    for (size_t i = 0; i < UNIQUE_ROUNDS; i++)
        token_new(t[i]);
    qsort(t, UNIQUE_ROUNDS, sizeof *t, cmp_token);
    for (size_t i = 1; i < UNIQUE_ROUNDS; i++)
        assert_string_not_equal(t[i - 1], t[i]);
    free(t);
}

static void test_wellformed(void **state)
{
    (void)state;
    char t[TOKEN_STR_LEN + 2];
    token_new(t);

    assert_true(token_is_wellformed(t, TOKEN_STR_LEN));
    assert_false(token_is_wellformed(t, TOKEN_STR_LEN - 1));
    assert_false(token_is_wellformed(t, 0));
    assert_false(token_is_wellformed(NULL, TOKEN_STR_LEN));
    assert_false(token_is_wellformed("", 0));

    t[TOKEN_STR_LEN] = 'A';
    t[TOKEN_STR_LEN + 1] = '\0';
    assert_false(token_is_wellformed(t, TOKEN_STR_LEN + 1));

    static const char bad_chars[] = {'+', '/', '=', '.', ' ', '%', '\0', '\n', (char)0xc3};
    for (size_t i = 0; i < sizeof bad_chars; i++) {
        for (size_t pos = 0; pos < TOKEN_STR_LEN; pos += 21) {
            char u[TOKEN_STR_LEN + 1];
            token_new(u);
            u[pos] = bad_chars[i];
            if (token_is_wellformed(u, TOKEN_STR_LEN))
                fail_msg("byte 0x%02x at %zu accepted", (unsigned char)bad_chars[i], pos);
        }
    }

    /* 43 characters carry 258 bits for 256: the last one's low two bits must be
     * zero, so "A" (0) is canonical and "B" (1) is not. */
    char a[TOKEN_STR_LEN + 1];
    memset(a, 'A', TOKEN_STR_LEN);
    a[TOKEN_STR_LEN] = '\0';
    assert_true(token_is_wellformed(a, TOKEN_STR_LEN));
    a[TOKEN_STR_LEN - 1] = 'B';
    assert_false(token_is_wellformed(a, TOKEN_STR_LEN));
    a[TOKEN_STR_LEN - 1] = 'E'; /* 4 = 0b000100 */
    assert_true(token_is_wellformed(a, TOKEN_STR_LEN));
}

static void test_digest(void **state)
{
    (void)state;
    char hex[TOKEN_DIGEST_HEX_LEN + 1];

    token_digest_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    token_digest_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    /* Only len bytes count. */
    token_digest_hex("abcdef", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    /* The raw digest, and back from hex. */
    unsigned char raw[TOKEN_DIGEST_BYTES], back[TOKEN_DIGEST_BYTES];
    token_digest("abc", 3, raw);
    assert_true(token_digest_from_hex(hex, TOKEN_DIGEST_HEX_LEN, back));
    assert_memory_equal(raw, back, sizeof raw);
    assert_int_equal(raw[0], 0xba);
    assert_false(token_digest_from_hex(hex, TOKEN_DIGEST_HEX_LEN - 1, back));
    hex[0] = 'B'; /* uppercase: not what token_digest_hex writes */
    assert_false(token_digest_from_hex(hex, TOKEN_DIGEST_HEX_LEN, back));
    hex[0] = 'g';
    assert_false(token_digest_from_hex(hex, TOKEN_DIGEST_HEX_LEN, back));
}

static void test_random_hex(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 8, 16, 31, 32, 33, 100};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        char *a = malloc(2 * n + 2), *b = malloc(2 * n + 2);
        assert_non_null(a);
        assert_non_null(b);
        a[2 * n + 1] = b[2 * n + 1] = '#'; /* must stay untouched */
        token_random_hex(a, n);
        token_random_hex(b, n);
        assert_int_equal(strlen(a), 2 * n);
        assert_int_equal(a[2 * n + 1], '#');
        for (size_t j = 0; j < 2 * n; j++)
            assert_non_null(strchr("0123456789abcdef", a[j]));
        if (n >= 8)
            assert_string_not_equal(a, b);
        free(a);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_shape),  cmocka_unit_test(test_new_unique),
        cmocka_unit_test(test_wellformed), cmocka_unit_test(test_digest),
        cmocka_unit_test(test_random_hex),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
