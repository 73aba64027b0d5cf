/* mentions: which `@name` tokens a text holds, as canonical names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mentions.h"

static void expect_names(const char *text, const char *names)
{
    char *got = mentions_names(text, strlen(text));
    assert_non_null(got);
    assert_string_equal(got, names);
    free(got);
}

static void test_tokens(void **state)
{
    (void)state;
    expect_names("no mention here", "");
    expect_names("@Pablo hi", "pablo\n");
    expect_names("hi @PABLO, @joe: (@Mary) [@alex]", "pablo\njoe\nmary\nalex\n");
    expect_names("see @pablo. and @joe...", "pablo\njoe\n");
    expect_names(
        "\xef\xbc\xb0\xef\xbd\x81 @\xef\xbc\xb0\xef\xbd\x81\xef\xbd\x82\xef\xbd\x8c\xef\xbd\x8f",
        "pablo\n"); /* full-width Ｐａｂｌｏ */
    /* Not after a name character; alone; only dots. */
    expect_names("mail@pablo a@@joe @ @... @", "");
    /* Repeats once; @room is a name like others. */
    expect_names("@pablo @PABLO @Pablo! @room", "pablo\nroom\n");
    /* A token longer than a username is none. */
    expect_names("@abcdefghijklmnopqrstuvwxyzabcdefg @joe", "joe\n");
    /* Invalid UTF-8 inside a token: not a name. */
    expect_names("@pa\xffz @joe", "joe\n");
}

static void test_bounded(void **state)
{
    (void)state;
    char text[2048] = "", expected[2048] = "";
    for (int i = 0; i < MENTIONS_MAX + 10; i++) {
        char one[32];
        snprintf(one, sizeof one, "@user%d ", i);
        strcat(text, one);
        if (i < MENTIONS_MAX) {
            snprintf(one, sizeof one, "user%d\n", i);
            strcat(expected, one);
        }
    }
    expect_names(text, expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
