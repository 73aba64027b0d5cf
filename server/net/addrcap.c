/* addrcap: per-address connection counts (see addrcap.h). */
#include "addrcap.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "addrkey.h"
#include "strmap.h"

struct addrcap {
    unsigned max_per_addr;
    unsigned ipv6_prefix;
    pthread_mutex_t lock;
    struct strmap *counts; /* address key -> count, stored as a pointer-sized integer */
};

struct addrcap *addrcap_new(unsigned max_per_addr, unsigned ipv6_prefix)
{
    if (ipv6_prefix < ADDRKEY_PREFIX_MIN || ipv6_prefix > ADDRKEY_PREFIX_MAX)
        return NULL;
    struct addrcap *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->max_per_addr = max_per_addr;
    c->ipv6_prefix = ipv6_prefix;
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

/* The address's counting key.  false for families that carry no address. */
static bool address_key(const struct addrcap *c, const struct sockaddr *sa, char *buf, size_t n)
{
    return addrkey_of_sockaddr(sa, c->ipv6_prefix, buf, n) == 0;
}

/* Counts ride in the map's value pointer: no allocation per address but
 * the key. */
static uintptr_t count_of(const struct addrcap *c, const char *key)
{
    return (uintptr_t)strmap_get(c->counts, key);
}

bool addrcap_take(struct addrcap *c, const struct sockaddr *addr)
{
    char key[ADDRKEY_MAX];
    if (!address_key(c, addr, key, sizeof key))
        return true;
    pthread_mutex_lock(&c->lock);
    uintptr_t n = count_of(c, key);
    bool ok = n < c->max_per_addr && strmap_put(c->counts, key, (void *)(n + 1)) == 0;
    pthread_mutex_unlock(&c->lock);
    return ok;
}

void addrcap_release(struct addrcap *c, const struct sockaddr *addr)
{
    char key[ADDRKEY_MAX];
    if (!c || !address_key(c, addr, key, sizeof key))
        return;
    pthread_mutex_lock(&c->lock);
    uintptr_t n = count_of(c, key);
    if (n <= 1)
        strmap_remove(c->counts, key); /* the last one, or one never taken */
    else
        strmap_put(c->counts, key, (void *)(n - 1)); /* an existing key: no allocation */
    pthread_mutex_unlock(&c->lock);
}
