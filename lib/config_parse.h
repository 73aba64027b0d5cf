/* config_parse — the value parsers of config: the generic kinds (integers,
 * durations, sizes, booleans) and each custom setting's, with the small
 * scanners they share.  A parser stores into the config, or returns -1 with
 * what was expected in why[0..n).  Internal to config*.c. */
#ifndef CHAT_CONFIG_PARSE_H
#define CHAT_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "config_opt.h"

#define ECHO_MAX 64 /* bytes of a bad value echoed back in an error */
#define SECONDS_PER_DAY 86400u

char ascii_lower(char c);
/* A character of a host name, SERVER_ID or REDIS_MASTER_NAME. */
bool is_host_char(char c);
/* Parses s[0..len) as a decimal integer no greater than max: digits only, no
 * sign, no spaces. Returns false when it is not one. */
bool scan_uint(const char *s, size_t len, unsigned long max, unsigned long *out);
/* Writes a duration the way a person would: the largest unit that divides it. */
void format_duration(unsigned seconds, char *buf, size_t n);
/* Writes a size in KiB with the largest binary unit that divides it. */
void format_size_kib(unsigned kib, char *buf, size_t n);

/* The generic kinds: o's field, within [o->min, o->max]. */
int parse_uint(struct config *c, const struct opt *o, const char *value, char *why, size_t n);
int parse_duration(struct config *c, const struct opt *o, const char *value, char *why, size_t n);
int parse_size_kib(struct config *c, const struct opt *o, const char *value, char *why, size_t n);
int parse_bool(struct config *c, const struct opt *o, const char *value, char *why, size_t n);

/* The custom parsers and computed defaults of the table. */
parse_fn parse_bind, parse_web_root, parse_server_id, parse_master_name, parse_sentinel_password,
    parse_origins, parse_registration, parse_password_hash, parse_password_rehash, parse_log_level,
    parse_links;
compute_fn default_workers, default_server_id;

#endif
