/* addrcap: connections counted per client address. */
#include "../../server/net/addrcap.c"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

static struct sockaddr_storage v4(const char *text)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *text)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
    return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static void test_cap_per_address(void **state)
{
    (void)state;
    struct addrcap *c = addrcap_new(2, 64);
    assert_non_null(c);
    struct sockaddr_storage a = v4("127.0.0.1"), b = v4("127.0.0.2");
    assert_true(addrcap_take(c, SA(a)));
    assert_true(addrcap_take(c, SA(a)));
    assert_false(addrcap_take(c, SA(a)));
    assert_true(addrcap_take(c, SA(b))); /* another address has its own slots */
    addrcap_release(c, SA(a));
    assert_true(addrcap_take(c, SA(a))); /* a slot given back is free again */
    assert_false(addrcap_take(c, SA(a)));
    addrcap_release(c, SA(a));
    addrcap_release(c, SA(a));
    addrcap_release(c, SA(b));
    assert_int_equal(strmap_count(c->counts), 0); /* no entry outlives its connections */
    addrcap_free(c);
}

static void test_mapped_ipv4_is_the_same_address(void **state)
{
    (void)state;
    struct addrcap *c = addrcap_new(1, 64);
    struct sockaddr_storage plain = v4("10.0.0.7"), mapped = v6("::ffff:10.0.0.7"), other = v6("::1");
    assert_true(addrcap_take(c, SA(plain)));
    assert_false(addrcap_take(c, SA(mapped)));
    assert_true(addrcap_take(c, SA(other)));
    addrcap_release(c, SA(mapped));
    assert_true(addrcap_take(c, SA(plain)));
    /* A family without an address is not capped, and giving back a slot
     * never taken changes nothing. */
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_true(addrcap_take(c, (const struct sockaddr *)&un));
    assert_true(addrcap_take(c, (const struct sockaddr *)&un));
    struct sockaddr_storage never = v4("192.0.2.1");
    addrcap_release(c, SA(never));
    assert_true(addrcap_take(c, SA(never)));
    addrcap_free(c);
}

static void test_ipv6_counted_by_network(void **state)
{
    (void)state;
    /* One client rotating through its /64 holds one set of slots. */
    struct addrcap *c = addrcap_new(2, 64);
    struct sockaddr_storage a = v6("2001:db8::1"), b = v6("2001:db8::2"),
                            far = v6("2001:db8::ffff:ffff:ffff:ffff"), next = v6("2001:db8:0:1::1");
    assert_true(addrcap_take(c, SA(a)));
    assert_true(addrcap_take(c, SA(b)));
    assert_false(addrcap_take(c, SA(far)));
    assert_true(addrcap_take(c, SA(next))); /* another /64 */
    addrcap_release(c, SA(a));
    assert_true(addrcap_take(c, SA(far)));
    addrcap_release(c, SA(b));
    addrcap_release(c, SA(far));
    addrcap_release(c, SA(next));
    assert_int_equal(strmap_count(c->counts), 0);
    addrcap_free(c);
    /* /128 counts each address; a prefix out of range is refused. */
    c = addrcap_new(1, 128);
    assert_true(addrcap_take(c, SA(a)));
    assert_true(addrcap_take(c, SA(b)));
    addrcap_free(c);
    assert_null(addrcap_new(1, 31));
    assert_null(addrcap_new(1, 129));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_per_address),
        cmocka_unit_test(test_mapped_ipv4_is_the_same_address),
        cmocka_unit_test(test_ipv6_counted_by_network),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
