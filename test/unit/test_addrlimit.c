/* Unit tests of the per-address limiter: the limit, the window, addresses
 * counted apart, and the table's bound (expired entries go first, then the
 * oldest window). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "addrlimit.h"

static void test_limit_and_window(void **state)
{
    (void)state;
    struct addrlimit *l = addrlimit_new(16, 3, 60000);
    assert_non_null(l);
    for (int i = 0; i < 3; i++)
        assert_true(addrlimit_take(l, "10.0.0.1", 1000 + i));
    assert_false(addrlimit_take(l, "10.0.0.1", 2000));
    assert_false(addrlimit_take(l, "10.0.0.1", 60999)); /* same window */
    assert_true(addrlimit_take(l, "10.0.0.2", 2000));   /* another address */
    assert_true(addrlimit_take(l, "10.0.0.1", 61000));  /* a new window */
    assert_int_equal(addrlimit_count(l), 2);
    addrlimit_free(l);
}

static void test_bounded(void **state)
{
    (void)state;
    struct addrlimit *l = addrlimit_new(4, 1, 60000);
    char addr[32];
    /* a flood of fresh addresses never takes more than 4 entries */
    for (int i = 0; i < 1000; i++) {
        snprintf(addr, sizeof addr, "2001:db8::%x", i);
        assert_true(addrlimit_take(l, addr, 1000 + i));
        assert_true(addrlimit_count(l) <= 4);
    }
    /* the 4 newest are still counted; the oldest were dropped */
    assert_false(addrlimit_take(l, "2001:db8::3e7", 3000));
    assert_true(addrlimit_take(l, "2001:db8::0", 3000));
    /* expired entries go before live ones: a's window survives the flood */
    struct addrlimit *m = addrlimit_new(2, 1, 100);
    assert_true(addrlimit_take(m, "a", 0));
    assert_true(addrlimit_take(m, "b", 0));
    assert_true(addrlimit_take(m, "a", 150)); /* a's new window */
    assert_true(addrlimit_take(m, "c", 160)); /* b expired: b goes */
    assert_false(addrlimit_take(m, "a", 170));
    assert_int_equal(addrlimit_count(m), 2);
    addrlimit_free(m);
    addrlimit_free(l);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_null(addrlimit_new(0, 1, 1));
    assert_null(addrlimit_new(1, 0, 1));
    assert_null(addrlimit_new(1, 1, 0));
    addrlimit_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_and_window),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
