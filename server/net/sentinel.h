/* sentinel: where the Redis master is.  Without REDIS_SENTINELS that is
 * REDIS_URL's host and port, for ever.  With them, one thread asks the
 * Sentinels (SENTINEL get-master-addr-by-name, each in turn), believes an
 * answer only when that server's ROLE says master, listens to
 * +switch-master on one Sentinel, and asks again when a connection saw the
 * master refuse a write or vanish (sentinel_suspect).  Every change of the
 * answer bumps a generation, which connections compare to follow it. */
#ifndef CHATD_SENTINEL_H
#define CHATD_SENTINEL_H

#include <stdbool.h>

#include "config.h"

struct sentinel;

struct sentinel_addr {
    char host[CONFIG_HOST_MAX + 1];
    unsigned port;
    unsigned generation; /* of the answer this address came from */
};

/* Asks the Sentinels once (blocking, a few seconds at most), then starts
 * the thread that follows the master.  NULL when cfg has no Sentinels (then
 * sentinel_master answers REDIS_URL's address) or on failure (logged).
 * Before any Redis connection is made; one per process. */
struct sentinel *sentinel_start(const struct config *cfg);

/* Stops and joins the thread.  NULL-safe. */
void sentinel_stop(struct sentinel *s);

/* The master to connect to now: false while none is known (the Sentinels
 * unreachable, or a failover under way).  Any thread. */
bool sentinel_master(const struct config *cfg, struct sentinel_addr *out);

/* The generation of the current answer: when it differs from the one a
 * connection was made with, the master moved.  Any thread. */
unsigned sentinel_generation(void);

/* A connection saw the master refuse a write (READONLY) or vanish: ask the
 * Sentinels again now.  Any thread; nothing without Sentinels. */
void sentinel_suspect(void);

/* Whether chatd follows the master through Sentinels. */
bool sentinel_enabled(void);

#endif
