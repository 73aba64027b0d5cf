/* addrcap: per-address connection counts (see addrcap.h). */
#include "addrcap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "strmap.h"

struct addrcap {
    unsigned max_per_addr;
    pthread_mutex_t lock;
    struct strmap *counts; /* address text -> count, stored as a pointer-sized integer */
};

struct addrcap *addrcap_new(unsigned max_per_addr)
{
    struct addrcap *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->max_per_addr = max_per_addr;
    c->counts = strmap_new();
    if (!c->counts || pthread_mutex_init(&c->lock, NULL) != 0) {
        strmap_free(c->counts);
        free(c);
        return NULL;
    }
    return c;
}

void addrcap_free(struct addrcap *c)
{
    if (!c)
        return;
    strmap_free(c->counts);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* The address as text, an IPv4-mapped IPv6 address as IPv4.  false for
 * families that carry no address. */
static bool address_key(const struct sockaddr *sa, char *buf, socklen_t n)
{
    if (sa->sa_family == AF_INET)
        return inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, n) != NULL;
    if (sa->sa_family != AF_INET6)
        return false;
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a6))
        return inet_ntop(AF_INET, &a6->s6_addr[12], buf, n) != NULL;
    return inet_ntop(AF_INET6, a6, buf, n) != NULL;
}

/* Counts ride in the map's value pointer: no allocation per address but
 * the key. */
static uintptr_t count_of(const struct addrcap *c, const char *key)
{
    return (uintptr_t)strmap_get(c->counts, key);
}

bool addrcap_take(struct addrcap *c, const struct sockaddr *addr)
{
    char key[INET6_ADDRSTRLEN];
    if (!address_key(addr, key, sizeof key))
        return true;
    pthread_mutex_lock(&c->lock);
    uintptr_t n = count_of(c, key);
    bool ok = n < c->max_per_addr && strmap_put(c->counts, key, (void *)(n + 1)) == 0;
    pthread_mutex_unlock(&c->lock);
    return ok;
}

void addrcap_release(struct addrcap *c, const struct sockaddr *addr)
{
    char key[INET6_ADDRSTRLEN];
    if (!c || !address_key(addr, key, sizeof key))
        return;
    pthread_mutex_lock(&c->lock);
    uintptr_t n = count_of(c, key);
    if (n <= 1)
        strmap_remove(c->counts, key); /* the last one, or one never taken */
    else
        strmap_put(c->counts, key, (void *)(n - 1)); /* an existing key: no allocation */
    pthread_mutex_unlock(&c->lock);
}
