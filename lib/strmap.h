/* strmap: a string-keyed hash map of pointers (separate chaining, keys
 * copied).  Not thread-safe: its owner locks. */
#ifndef CHATD_STRMAP_H
#define CHATD_STRMAP_H

#include <stddef.h>

struct strmap;

/* An empty map; NULL on OOM. */
struct strmap *strmap_new(void);
/* Frees the map and its keys, not the values.  NULL-safe. */
void strmap_free(struct strmap *m);
/* The value of key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/* Sets key to value (value must not be NULL).  0, or -1 on OOM (the map
 * is then unchanged). */
int strmap_put(struct strmap *m, const char *key, void *value);
/* Removes key; returns its value, or NULL when absent. */
void *strmap_remove(struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);

#endif
