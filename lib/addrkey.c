/* addrkey: counting keys of client addresses (see addrkey.h). */
#include "addrkey.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static int refuse(char *out, size_t n)
{
    if (n)
        out[0] = '\0';
    return -1;
}

static int key_v4(const struct in_addr *a4, char *out, size_t n)
{
    return inet_ntop(AF_INET, a4, out, (socklen_t)n) ? 0 : refuse(out, n);
}

/* The /prefix network of a6, written as "network/prefix". */
static int key_v6(const struct in6_addr *a6, unsigned prefix, char *out, size_t n)
{
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
        struct in_addr a4;
        memcpy(&a4, &a6->s6_addr[12], sizeof a4);
        return key_v4(&a4, out, n);
    }
    if (prefix < ADDRKEY_PREFIX_MIN || prefix > ADDRKEY_PREFIX_MAX)
        return refuse(out, n);
    struct in6_addr net = *a6;
    for (unsigned bit = prefix; bit < 128; bit++)
        net.s6_addr[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(AF_INET6, &net, text, sizeof text))
        return refuse(out, n);
    int len = snprintf(out, n, "%s/%u", text, prefix);
    return len > 0 && (size_t)len < n ? 0 : refuse(out, n);
}

int addrkey_of_text(const char *text, unsigned v6_prefix, char *out, size_t n)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!text)
        return refuse(out, n);
    if (inet_pton(AF_INET, text, &a4) == 1)
        return key_v4(&a4, out, n);
    if (inet_pton(AF_INET6, text, &a6) == 1)
        return key_v6(&a6, v6_prefix, out, n);
    return refuse(out, n);
}

int addrkey_of_sockaddr(const struct sockaddr *sa, unsigned v6_prefix, char *out, size_t n)
{
    if (sa && sa->sa_family == AF_INET)
        return key_v4(&((const struct sockaddr_in *)sa)->sin_addr, out, n);
    if (sa && sa->sa_family == AF_INET6)
        return key_v6(&((const struct sockaddr_in6 *)sa)->sin6_addr, v6_prefix, out, n);
    return refuse(out, n);
}

bool addrkey_is_loopback(const char *text)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!text)
        return false;
    if (inet_pton(AF_INET, text, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, text, &a6) != 1)
        return false;
    if (IN6_IS_ADDR_V4MAPPED(&a6))
        return a6.s6_addr[12] == 127;
    return IN6_IS_ADDR_LOOPBACK(&a6);
}
