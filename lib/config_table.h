/* config_table — every setting of chatd, in the order --help lists them:
 * name, default, help text, kind and range or parser (struct opt).
 * Internal to config*.c; docs/configuration.md says the same. */
#ifndef CHAT_CONFIG_TABLE_H
#define CHAT_CONFIG_TABLE_H

#include <stddef.h>

#include "config_opt.h"

#define FLAG_NAME_MAX 32 /* "redis-endpoint-url" and friends */

extern const struct opt config_opts[OPT_COUNT];

/* The flag of an option: "REDIS_URL" becomes "redis-url". */
void flag_name(const struct opt *o, char *buf, size_t n);
/* The option whose flag is name[0..len), or -1. */
int opt_by_flag(const char *name, size_t len);

#endif
