/* config_opt — what a setting of config is: its id, its kind and its row
 * in the table (config_table.c).  Internal to config*.c. */
#ifndef CHAT_CONFIG_OPT_H
#define CHAT_CONFIG_OPT_H

#include <stdbool.h>
#include <stddef.h>

struct config;

enum opt_id {
    OPT_PORT,
    OPT_BIND,
    OPT_REDIS_URL,
    OPT_REDIS_ENDPOINT_URL,
    OPT_REDIS_PASSWORD,
    OPT_REDIS_SENTINELS,
    OPT_REDIS_MASTER_NAME,
    OPT_REDIS_SENTINEL_PASSWORD,
    OPT_REDIS_WAIT_REPLICAS,
    OPT_REDIS_WAIT_TIMEOUT,
    OPT_WEB_ROOT,
    OPT_WORKERS,
    OPT_SERVER_ID,
    OPT_ALLOWED_ORIGINS,
    OPT_SESSION_TTL,
    OPT_COOKIE_SECURE,
    OPT_TRUST_PROXY,
    OPT_IPV6_PREFIX,
    OPT_MAX_MESSAGE_BYTES,
    OPT_REGISTRATION,
    OPT_SEED_DEMO,
    OPT_PASSWORD_HASH,
    OPT_PASSWORD_MEMORY,
    OPT_PASSWORD_ITERATIONS,
    OPT_PASSWORD_REHASH,
    OPT_LOG_LEVEL,
    OPT_PING_INTERVAL,
    OPT_PING_TIMEOUT,
    OPT_CONNECT_TIMEOUT,
    OPT_HANDSHAKES_PER_MINUTE,
    OPT_PRELOADS_PER_MINUTE,
    OPT_MAX_CONNECTIONS,
    OPT_MAX_CONNECTIONS_PER_ADDR,
    OPT_HEADER_TIMEOUT,
    OPT_REQUEST_TIMEOUT,
    OPT_HASH_THREADS,
    OPT_REGISTRATIONS_PER_HOUR,
    OPT_LOGINS_PER_MINUTE,
    OPT_LOGIN_MAX_FAILS_USER,
    OPT_LOGIN_MAX_FAILS_ADDR,
    OPT_LOGIN_FAIL_WINDOW,
    OPT_LOGIN_DELAY_MAX,
    OPT_MESSAGES_PER_MINUTE,
    OPT_GROUPS_PER_HOUR,
    OPT_GROUPS_PER_USER,
    OPT_MEMBERSHIP_CHANGES_PER_MINUTE,
    OPT_GROUP_ADDS_PER_HOUR,
    OPT_USER_SEARCHES_PER_MINUTE,
    OPT_EVENTS_PER_SECOND,
    OPT_EVENTS_BURST,
    OPT_SOCKETS_PER_USER,
    OPT_ROOMS_PER_USER,
    OPT_PRESENCE_TIMEOUT,
    OPT_RECOVERY_WINDOW,
    OPT_PRESENCE_GRACE,
    OPT_CONNECTS_PER_MINUTE,
    OPT_EVENT_LOG_BYTES,
    OPT_ATTACHMENT_BYTES_PER_SESSION,
    OPT_ATTACHMENT_BYTES_TOTAL,
    OPT_LINKS,
    OPT_COUNT
};

enum opt_kind {
    KIND_CUSTOM,   /* opt.parse does the work */
    KIND_UINT,     /* an unsigned field in [min, max] */
    KIND_DURATION, /* seconds in [min, max], with an optional s/m/h/d suffix */
    KIND_SIZE_KIB, /* KiB in [min, max], with an optional KiB/MiB/GiB suffix */
    KIND_BOOL,     /* a bool field */
    KIND_REDIS,    /* REDIS_*: three variables make one target, see load_redis */
};

/* A parser stores value into cfg, or returns -1 with what was expected in why. */
typedef int parse_fn(struct config *cfg, const char *value, char *why, size_t n);
/* Computes a default that is not a constant (WORKERS, SERVER_ID). */
typedef int compute_fn(struct config *cfg, char *why, size_t n);

struct opt {
    const char *name;     /* the environment variable; the flag is derived from it */
    const char *def;      /* the default as a value to parse; NULL: computed or unset */
    const char *def_text; /* how --help shows the default when def does not say it */
    const char *help;     /* one sentence, lines broken with '\n' */
    enum opt_kind kind;
    bool secret;              /* never echo the value in an error */
    const char *refusal_note; /* why the range is what it is, added to an error */
    size_t offset;            /* of the field, for the generic kinds */
    unsigned min, max;
    parse_fn *parse;
    compute_fn *compute;
};

#endif
