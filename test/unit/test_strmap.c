/* Unit tests of the string map: put, get, replace, remove, growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "strmap.h"

static void test_map(void **state)
{
    (void)state;
    struct strmap *m = strmap_new();
    assert_non_null(m);
    static int values[5000];
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "room:%d", i);
        assert_int_equal(strmap_put(m, key, &values[i]), 0);
    }
    assert_int_equal(strmap_count(m), 5000);
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "room:%d", i);
        assert_ptr_equal(strmap_get(m, key), &values[i]);
    }
    assert_null(strmap_get(m, "room:5000"));
    assert_int_equal(strmap_put(m, "room:7", &values[8]), 0); /* replace */
    assert_ptr_equal(strmap_get(m, "room:7"), &values[8]);
    assert_int_equal(strmap_count(m), 5000);
    for (int i = 0; i < 5000; i += 2) {
        snprintf(key, sizeof key, "room:%d", i);
        assert_non_null(strmap_remove(m, key));
    }
    assert_null(strmap_remove(m, "room:0"));
    assert_int_equal(strmap_count(m), 2500);
    assert_null(strmap_get(m, "room:2"));
    assert_ptr_equal(strmap_get(m, "room:3"), &values[3]);
    strmap_free(m);
    strmap_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_map)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
