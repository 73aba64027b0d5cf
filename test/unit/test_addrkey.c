/* Unit tests of the counting key of a client address: IPv4 as it is,
 * IPv4-mapped IPv6 as IPv4, other IPv6 by its network; loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "addrkey.h"

static const char *key_of(const char *text, unsigned prefix)
{
    static char out[ADDRKEY_MAX];
    return addrkey_of_text(text, prefix, out, sizeof out) == 0 ? out : NULL;
}

static void test_ipv4_as_it_is(void **state)
{
    (void)state;
    assert_string_equal(key_of("192.0.2.7", 64), "192.0.2.7");
    assert_string_equal(key_of("::ffff:192.0.2.7", 64), "192.0.2.7");
    assert_string_equal(key_of("::ffff:192.0.2.7", 128), "192.0.2.7");
}

static void test_ipv6_by_network(void **state)
{
    (void)state;
    /* Every address of one /64 is one key; the next /64 another. */
    assert_string_equal(key_of("2001:db8::1", 64), "2001:db8::/64");
    assert_string_equal(key_of("2001:db8::ffff:ffff:ffff:ffff", 64), "2001:db8::/64");
    assert_string_equal(key_of("2001:DB8:0:0:abcd::9", 64), "2001:db8::/64");
    assert_string_equal(key_of("2001:db8:0:1::1", 64), "2001:db8:0:1::/64");
    /* Other lengths, bits inside a byte included. */
    assert_string_equal(key_of("2001:db8:aaaa:bbbb:cccc::1", 48), "2001:db8:aaaa::/48");
    assert_string_equal(key_of("2001:db8:ffff::1", 36), "2001:db8:f000::/36");
    assert_string_equal(key_of("2001:db8::1", 128), "2001:db8::1/128");
    assert_string_equal(key_of("::1", 64), "::/64");
    /* The longest key fits. */
    const char *longest = key_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 128);
    assert_non_null(longest);
    assert_string_equal(longest, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128");
}

static void test_refusals(void **state)
{
    (void)state;
    char out[ADDRKEY_MAX] = "x";
    assert_int_equal(addrkey_of_text("unknown", 64, out, sizeof out), -1);
    assert_string_equal(out, "");
    assert_int_equal(addrkey_of_text(NULL, 64, out, sizeof out), -1);
    assert_int_equal(addrkey_of_text("2001:db8::1", 31, out, sizeof out), -1);
    assert_int_equal(addrkey_of_text("2001:db8::1", 129, out, sizeof out), -1);
    assert_int_equal(addrkey_of_text("192.0.2.1 ", 64, out, sizeof out), -1);
    char small[8];
    assert_int_equal(addrkey_of_text("2001:db8::1", 64, small, sizeof small), -1);
    assert_string_equal(small, "");
}

static void test_sockaddr(void **state)
{
    (void)state;
    char out[ADDRKEY_MAX];
    struct sockaddr_in in = {.sin_family = AF_INET};
    inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
    assert_int_equal(addrkey_of_sockaddr((struct sockaddr *)&in, 64, out, sizeof out), 0);
    assert_string_equal(out, "10.1.2.3");
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "2001:db8:5:6:7::8", &in6.sin6_addr);
    assert_int_equal(addrkey_of_sockaddr((struct sockaddr *)&in6, 64, out, sizeof out), 0);
    assert_string_equal(out, "2001:db8:5:6::/64");
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &in6.sin6_addr);
    assert_int_equal(addrkey_of_sockaddr((struct sockaddr *)&in6, 64, out, sizeof out), 0);
    assert_string_equal(out, "10.1.2.3");
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_int_equal(addrkey_of_sockaddr((struct sockaddr *)&un, 64, out, sizeof out), -1);
    assert_int_equal(addrkey_of_sockaddr(NULL, 64, out, sizeof out), -1);
}

static void test_loopback(void **state)
{
    (void)state;
    assert_true(addrkey_is_loopback("127.0.0.1"));
    assert_true(addrkey_is_loopback("127.9.8.7"));
    assert_true(addrkey_is_loopback("::1"));
    assert_true(addrkey_is_loopback("::ffff:127.0.0.1"));
    assert_false(addrkey_is_loopback("128.0.0.1"));
    assert_false(addrkey_is_loopback("10.0.0.1"));
    assert_false(addrkey_is_loopback("::2"));
    assert_false(addrkey_is_loopback("2001:db8::1"));
    assert_false(addrkey_is_loopback("::ffff:10.0.0.1"));
    assert_false(addrkey_is_loopback("unknown"));
    assert_false(addrkey_is_loopback(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_as_it_is),  cmocka_unit_test(test_ipv6_by_network),
        cmocka_unit_test(test_refusals),       cmocka_unit_test(test_sockaddr),
        cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
