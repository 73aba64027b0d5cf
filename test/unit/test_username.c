/* username: canonical forms and the characters refused in new names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "username.h"

static const char *canonical_of(const char *name, char out[USERNAME_CANONICAL_MAX + 1])
{
    return username_canonical(name, strlen(name), out) < 0 ? NULL : out;
}

static void test_case_and_width_fold_to_one_name(void **state)
{
    (void)state;
    char a[USERNAME_CANONICAL_MAX + 1], b[USERNAME_CANONICAL_MAX + 1];
    const char *same[] = {"pablo", "PABLO", "Pablo", "pAbLo", "\xef\xbc\xb0\xef\xbd\x81\xef\xbd\x82\xef\xbd\x8c\xef\xbd\x8f" /* full-width Ｐａｂｌｏ */};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        assert_string_equal(canonical_of(same[i], a), "pablo");
    /* Full case folding: ß is ss; NFKC: the ligature ﬁ is fi. */
    assert_string_equal(canonical_of("Stra\xc3\x9f" "e", a), canonical_of("STRASSE", b));
    assert_string_equal(canonical_of("\xef\xac\x81sh", a), "fish");
    /* Composed and decomposed é are one name. */
    assert_string_equal(canonical_of("Jos\xc3\xa9", a), canonical_of("JOSE\xcc\x81", b));
    /* Different names stay different. */
    assert_string_not_equal(canonical_of("pablo", a), canonical_of("pablo2", b));
}

static void test_canonical_is_idempotent_and_bounded(void **state)
{
    (void)state;
    char a[USERNAME_CANONICAL_MAX + 1], b[USERNAME_CANONICAL_MAX + 1];
    canonical_of("\xce\xa3\xce\xbf\xcf\x86\xce\xaf\xce\xb1", a); /* Σοφία */
    assert_string_equal(canonical_of(a, b), a);
    /* Invalid UTF-8 has no canonical form. */
    assert_int_equal(username_canonical("\xff", 1, a), -1);
    /* U+FDFA expands to 18 characters (33 bytes) under NFKC: 32 of them do
     * not fit. */
    char big[32 * 3 + 1] = "";
    for (int i = 0; i < 32; i++)
        strcat(big, "\xef\xb7\xba");
    assert_int_equal(username_canonical(big, strlen(big), a), -1);
    assert_non_null(username_new_problem(big, strlen(big)));
}

static void test_new_names_refuse_invisible_and_bidi(void **state)
{
    (void)state;
    const char *refused[] = {
        "pa\xe2\x80\x8d" "blo", /* zero-width joiner */
        "pa\xe2\x80\x8c" "blo", /* zero-width non-joiner */
        "pa\xe2\x80\x8b" "blo", /* zero-width space */
        "pablo\xe2\x81\xa0",    /* word joiner */
        "\xe2\x80\xae" "olbap", /* right-to-left override */
        "pablo\xe2\x80\x8f",    /* right-to-left mark */
        "\xe2\x81\xa6pablo",    /* left-to-right isolate */
        "pa\xc2\xad" "blo",     /* soft hyphen */
        "pablo\xef\xb8\x8f",    /* variation selector 16 */
        "\xef\xbb\xbfpablo",    /* byte order mark */
        "pablo\xee\x80\x80",    /* private use U+E000 */
        "pablo\xef\xbf\xbe",    /* noncharacter U+FFFE */
        "pablo\x01",            /* a control character */
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        assert_non_null(username_new_problem(refused[i], strlen(refused[i])));
}

static void test_new_names_refuse_mixed_scripts(void **state)
{
    (void)state;
    const char *refused[] = {
        "p\xd0\xb0" "blo",     /* Latin with a Cyrillic а */
        "\xd1\x80" "ablo",     /* Cyrillic р, Latin ablo */
        "p\xce\xb1" "blo",     /* Latin with a Greek α */
        "\xd0\xb0\xce\xb1",    /* Cyrillic with Greek */
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        assert_string_equal(username_new_problem(refused[i], strlen(refused[i])),
                            "Username must not mix Latin, Greek and Cyrillic letters");
    const char *accepted[] = {
        "Pablo", "pablo_99", "Jos\xc3\xa9", "\xd0\x9f\xd0\xb0\xd0\xb2\xd0\xb5\xd0\xbb" /* Павел */,
        "\xce\xa3\xce\xbf\xcf\x86\xce\xaf\xce\xb1" /* Σοφία */, "\xe5\xa4\xaa\xe9\x83\x8e" /* 太郎 */,
        "Taro\xe5\xa4\xaa\xe9\x83\x8e" /* Latin with Han: not a confusable pair */, "chat\xf0\x9f\x98\x80",
    };
    for (size_t i = 0; i < sizeof accepted / sizeof *accepted; i++)
        assert_null(username_new_problem(accepted[i], strlen(accepted[i])));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case_and_width_fold_to_one_name),
        cmocka_unit_test(test_canonical_is_idempotent_and_bounded),
        cmocka_unit_test(test_new_names_refuse_invisible_and_bidi),
        cmocka_unit_test(test_new_names_refuse_mixed_scripts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
