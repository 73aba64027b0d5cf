/* config_redis — where Redis is, as config reads it: REDIS_URL's forms,
 * REDIS_ENDPOINT_URL's host:port, REDIS_SENTINELS' list.  Each parser
 * returns 0, or -1 with what was expected in why[0..n).  Internal to
 * config*.c; config_redis_describe (config.h) is here too. */
#ifndef CHAT_CONFIG_REDIS_H
#define CHAT_CONFIG_REDIS_H

#include <stddef.h>

#include "config_opt.h"

struct config_redis;

/* redis://[[user]:password@]host[:port][/db][?db=&password=] or
 * unix:///path[?db=N] into *r (zeroed first). */
int parse_redis_url(const char *url, struct config_redis *r, char *why, size_t n);
/* The originals' REDIS_ENDPOINT_URL: host:port. A value with a scheme is taken
 * as a URL, since that is plainly what was meant. */
int parse_redis_endpoint(const char *value, struct config_redis *r, char *why, size_t n);
/* REDIS_SENTINELS: host[:port] or [ipv6][:port], comma-separated. */
parse_fn parse_sentinels;

#endif
