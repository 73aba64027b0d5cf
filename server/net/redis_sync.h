/* redis_sync: a blocking Redis connection for the few places that may
 * block (start-up seeding, the subscriber thread, shutdown): connected,
 * authenticated and on the configured database, with timeouts. */
#ifndef CHATD_REDIS_SYNC_H
#define CHATD_REDIS_SYNC_H

#include <hiredis/hiredis.h>

struct config;

/* Connects to the master (sentinel.h: REDIS_URL's, or the Sentinels') with timeout_s for the connection and every command.  NULL when
 * Redis cannot be reached or refuses (logged at warn when log is set). */
redisContext *redis_sync_connect(const struct config *cfg, int timeout_s, const char *who);

#endif
