/* strmap: string-keyed hash map with separate chaining (see strmap.h). */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STRMAP_MIN_BUCKETS 16

struct node {
    struct node *next;
    void *value;
    uint64_t hash;
    char key[];
};

struct strmap {
    struct node **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
};

static uint64_t hash_key(const char *key)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

struct strmap *strmap_new(void)
{
    struct strmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->nbuckets = STRMAP_MIN_BUCKETS;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    return m;
}

void strmap_free(struct strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct node *n = m->buckets[i];
        while (n) {
            struct node *next = n->next;
            free(n);
            n = next;
        }
    }
    free(m->buckets);
    free(m);
}

static struct node **find(const struct strmap *m, const char *key, uint64_t h)
{
    struct node **at = &m->buckets[h & (m->nbuckets - 1)];
    while (*at && ((*at)->hash != h || strcmp((*at)->key, key) != 0))
        at = &(*at)->next;
    return at;
}

void *strmap_get(const struct strmap *m, const char *key)
{
    struct node *n = *find(m, key, hash_key(key));
    return n ? n->value : NULL;
}

static void grow(struct strmap *m)
{
    size_t nb = m->nbuckets * 2;
    struct node **buckets = calloc(nb, sizeof *buckets);
    if (!buckets)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct node *n = m->buckets[i];
        while (n) {
            struct node *next = n->next;
            n->next = buckets[n->hash & (nb - 1)];
            buckets[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(m->buckets);
    m->buckets = buckets;
    m->nbuckets = nb;
}

int strmap_put(struct strmap *m, const char *key, void *value)
{
    uint64_t h = hash_key(key);
    struct node **at = find(m, key, h);
    if (*at) {
        (*at)->value = value;
        return 0;
    }
    size_t len = strlen(key);
    struct node *n = malloc(sizeof *n + len + 1);
    if (!n)
        return -1;
    n->hash = h;
    n->value = value;
    memcpy(n->key, key, len + 1);
    n->next = NULL;
    *at = n;
    if (++m->count > m->nbuckets)
        grow(m);
    return 0;
}

void *strmap_remove(struct strmap *m, const char *key)
{
    struct node **at = find(m, key, hash_key(key));
    struct node *n = *at;
    if (!n)
        return NULL;
    *at = n->next;
    void *value = n->value;
    free(n);
    m->count--;
    return value;
}

size_t strmap_count(const struct strmap *m)
{
    return m->count;
}
