/* addrkey: the key a client address is counted under by every
 * per-address limit.  An IPv6 host is usually given a whole /64 (or more),
 * so counting IPv6 addresses one by one would let one client rotate through
 * its prefix for fresh limits: IPv6 addresses are counted by their network
 * (IPV6_PREFIX bits).  Pure functions, any thread. */
#ifndef CHATD_ADDRKEY_H
#define CHATD_ADDRKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A key's longest text and its NUL: an IPv6 network and "/128". */
#define ADDRKEY_MAX 52
#define ADDRKEY_PREFIX_MIN 32
#define ADDRKEY_PREFIX_MAX 128

/* The counting key of a textual address into out[0..n): an IPv4 address as
 * it is ("192.0.2.7"), an IPv4-mapped IPv6 address as its IPv4 address,
 * any other IPv6 address as its network of v6_prefix bits in canonical
 * text with the length ("2001:db8:1:2::/64").  0, or -1 (out = "") when
 * text is no address or v6_prefix is outside
 * ADDRKEY_PREFIX_MIN..ADDRKEY_PREFIX_MAX. */
int addrkey_of_text(const char *text, unsigned v6_prefix, char *out, size_t n);
/* The same for a socket address (AF_INET, AF_INET6); -1 for others. */
int addrkey_of_sockaddr(const struct sockaddr *sa, unsigned v6_prefix, char *out, size_t n);

/* Whether a textual address is a loopback one (127.0.0.0/8, ::1, or
 * IPv4-mapped 127.0.0.0/8). */
bool addrkey_is_loopback(const char *text);

#endif
