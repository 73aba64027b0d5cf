/* config — chatd's settings, from the environment and the command line.
 *
 * Every setting is an environment variable (PORT) and a flag of the same name in
 * lowercase with '_' as '-' (--port 8080 or --port=8080); a flag wins over the
 * environment, and an empty environment variable counts as unset. Everything is
 * parsed and checked here, once, so the rest of the server reads typed fields
 * and never sees a malformed value. docs/configuration.md lists every setting;
 * `chatd --help` prints the same list from the same table.
 */
#ifndef CHAT_CONFIG_H
#define CHAT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "log.h"
#include "password.h"

#define CONFIG_HOST_MAX 255       /* a DNS name */
#define CONFIG_UNIX_PATH_MAX 107  /* sizeof(sockaddr_un.sun_path), NUL excluded */
#define CONFIG_SECRET_MAX 512     /* Redis username or password */
#define CONFIG_REDIS_DB_MAX 65535 /* highest SELECTable database accepted */
#define CONFIG_PATH_MAX 4095      /* WEB_ROOT */
#define CONFIG_SERVER_ID_MAX 64   /* SERVER_ID */
#define CONFIG_ORIGINS_MAX 32     /* entries of ALLOWED_ORIGINS */
#define CONFIG_ORIGIN_MAX 255     /* one origin: scheme://host[:port] */
#define CONFIG_LINKS_MAX 16384    /* LINKS, in bytes */
#define CONFIG_WORKERS_MAX 256
#define CONFIG_BIND_MAX 45          /* INET6_ADDRSTRLEN - 1 */
#define CONFIG_SENTINELS_MAX 8      /* entries of REDIS_SENTINELS */
#define CONFIG_MASTER_NAME_MAX 64   /* REDIS_MASTER_NAME */
#define CONFIG_WAIT_REPLICAS_MAX 16 /* REDIS_WAIT_REPLICAS */

enum config_registration {
    CONFIG_REGISTRATION_OPEN,     /* an unknown username at /login registers it */
    CONFIG_REGISTRATION_EXPLICIT, /* only POST /register creates users */
    CONFIG_REGISTRATION_CLOSED,   /* nothing does: /login answers as a wrong password */
};

/* Where Redis is: TCP (host, port) when unix_path is "", else a Unix socket. */
struct config_redis {
    char host[CONFIG_HOST_MAX + 1];           /* a name or an IP literal, without brackets */
    unsigned port;                            /* 1-65535 */
    char unix_path[CONFIG_UNIX_PATH_MAX + 1]; /* absolute, or "" for TCP */
    /* ACL user (Redis 6+), "" for none; "default" is stored as "", which means
     * the same to Redis 6+ and lets a plain AUTH work on older servers too. */
    char username[CONFIG_SECRET_MAX + 1];
    char password[CONFIG_SECRET_MAX + 1]; /* "" for no AUTH */
    unsigned db;                          /* SELECT after connecting when > 0 */
};

/* One Redis Sentinel of REDIS_SENTINELS. */
struct config_sentinel {
    char host[CONFIG_HOST_MAX + 1]; /* a name or an IP literal, without brackets */
    unsigned port;                  /* 1-65535, 26379 when not given */
};

struct config {
    unsigned port;                  /* PORT */
    char bind[CONFIG_BIND_MAX + 1]; /* BIND, a valid IPv4 or IPv6 literal */
    int bind_family;                /* AF_INET or AF_INET6, matching bind */
    struct config_redis redis;      /* REDIS_URL, or REDIS_ENDPOINT_URL + REDIS_PASSWORD */
    /* REDIS_SENTINELS: when n_sentinels > 0 the master is asked of them, and
     * redis.host/port are not used (its user, password and db still are). */
    struct config_sentinel sentinels[CONFIG_SENTINELS_MAX];
    size_t n_sentinels;
    char master_name[CONFIG_MASTER_NAME_MAX + 1];  /* REDIS_MASTER_NAME */
    char sentinel_password[CONFIG_SECRET_MAX + 1]; /* REDIS_SENTINEL_PASSWORD, "" for none */
    unsigned wait_replicas;                        /* REDIS_WAIT_REPLICAS */
    unsigned wait_timeout_ms;                      /* REDIS_WAIT_TIMEOUT */
    char web_root[CONFIG_PATH_MAX + 1];            /* WEB_ROOT, as given (not checked to exist) */
    unsigned workers;                              /* WORKERS */
    char server_id[CONFIG_SERVER_ID_MAX + 1];      /* SERVER_ID, [A-Za-z0-9._-]+ */
    /* ALLOWED_ORIGINS, normalised as browsers send them: lowercase, no trailing
     * '/', no default port. n_origins == 0: only the request's own host. */
    char origins[CONFIG_ORIGINS_MAX][CONFIG_ORIGIN_MAX + 1];
    size_t n_origins;
    unsigned session_ttl;                  /* SESSION_TTL, seconds */
    bool cookie_secure;                    /* COOKIE_SECURE */
    bool trust_proxy;                      /* TRUST_PROXY */
    unsigned ipv6_prefix;                  /* IPV6_PREFIX, bits */
    unsigned max_message_bytes;            /* MAX_MESSAGE_BYTES */
    enum config_registration registration; /* REGISTRATION */
    bool seed_demo;                        /* SEED_DEMO */
    enum pw_scheme password_hash;          /* PASSWORD_HASH */
    /* PASSWORD_MEMORY (KiB) and PASSWORD_ITERATIONS: never below OWASP's floor. */
    struct pw_argon2id_cost password_cost;
    enum pw_rehash password_rehash;        /* PASSWORD_REHASH */
    enum log_level log_level;              /* LOG_LEVEL */
    unsigned ping_interval_ms;             /* PING_INTERVAL */
    unsigned ping_timeout_ms;              /* PING_TIMEOUT */
    unsigned connect_timeout;              /* CONNECT_TIMEOUT, seconds */
    unsigned handshakes_per_minute;        /* HANDSHAKES_PER_MINUTE */
    unsigned preloads_per_minute;          /* PRELOADS_PER_MINUTE */
    unsigned max_connections;              /* MAX_CONNECTIONS */
    unsigned max_connections_per_addr;     /* MAX_CONNECTIONS_PER_ADDR */
    unsigned header_timeout;               /* HEADER_TIMEOUT, seconds */
    unsigned request_timeout;              /* REQUEST_TIMEOUT, seconds */
    unsigned registrations_per_hour;       /* REGISTRATIONS_PER_HOUR, per address */
    unsigned logins_per_minute;            /* LOGINS_PER_MINUTE, per address */
    unsigned hash_threads;                 /* HASH_THREADS */
    unsigned login_max_fails_user;         /* LOGIN_MAX_FAILS_USER */
    unsigned login_max_fails_addr;         /* LOGIN_MAX_FAILS_ADDR */
    unsigned login_fail_window;            /* LOGIN_FAIL_WINDOW, seconds */
    unsigned login_delay_max;              /* LOGIN_DELAY_MAX, seconds */
    unsigned messages_per_minute;          /* MESSAGES_PER_MINUTE */
    unsigned groups_per_hour;              /* GROUPS_PER_HOUR, per user */
    unsigned groups_per_user;              /* GROUPS_PER_USER, owned at once */
    unsigned membership_changes_per_minute; /* MEMBERSHIP_CHANGES_PER_MINUTE, per actor */
    unsigned group_adds_per_hour;          /* GROUP_ADDS_PER_HOUR, per added user */
    unsigned user_searches_per_minute;     /* USER_SEARCHES_PER_MINUTE, per user */
    unsigned events_per_second;            /* EVENTS_PER_SECOND, per socket */
    unsigned events_burst;                 /* EVENTS_BURST, per socket */
    unsigned sockets_per_user;             /* SOCKETS_PER_USER, per server */
    unsigned rooms_per_user;               /* ROOMS_PER_USER */
    unsigned presence_timeout;             /* PRESENCE_TIMEOUT, seconds */
    unsigned recovery_window;              /* RECOVERY_WINDOW, seconds */
    unsigned presence_grace;               /* PRESENCE_GRACE, seconds */
    unsigned connects_per_minute;          /* CONNECTS_PER_MINUTE, per login session */
    unsigned event_log_bytes;              /* EVENT_LOG_BYTES */
    unsigned attachment_bytes_per_session; /* ATTACHMENT_BYTES_PER_SESSION */
    unsigned attachment_bytes_total;       /* ATTACHMENT_BYTES_TOTAL */
    /* LINKS re-serialised compactly: the exact body of GET /links. Owned by the
     * config (config_free). */
    char *links;
};

/* Fills *cfg from argv (argv[0] is skipped) and the environment, writing help
 * or the version to out and errors to err. Reads getenv(), so call it once at
 * start, before any thread exists. Calls sodium_init() itself when it draws the
 * random default SERVER_ID.
 * Returns 0: *cfg is ready, release it with config_free.
 *         1: --help/-h or --version/-V was answered on out; exit 0.
 *         2: an unknown flag or an invalid value; one line naming it went to
 *            err; exit 2.
 * On 1 and 2 *cfg is untouched and nothing needs freeing. */
int config_load(struct config *cfg, int argc, char **argv, FILE *out, FILE *err);

/* Releases what config_load allocated; NULL-safe, and safe on a zeroed struct. */
void config_free(struct config *cfg);

/* Writes the Redis target for logs into buf[0..n) — "redis://host:6379/0",
 * "unix:///run/redis.sock?db=1" or "sentinel://s1:26379,s2:26379/mymaster/0", a password shown as
 * "***", never itself. Returns buf (truncated to fit, always NUL-terminated when n > 0). */
const char *config_redis_describe(const struct config *cfg, char *buf, size_t n);

#endif
