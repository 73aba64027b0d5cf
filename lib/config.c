/* config — one table describes every setting: its name, default, help text and
 * parser. Defaults go through the same parsers as the user's values, so
 * `chatd --help` cannot disagree with what the server does.
 *
 * Loading fills a private struct and copies it out only on success, so a
 * refusal leaves the caller's struct as it was.
 */
#include "config.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addrkey.h"

#ifndef CHATD_VERSION
#define CHATD_VERSION "dev"
#endif

#define WHY_MAX 320              /* the reason part of an error line */
#define ECHO_MAX 64              /* bytes of a bad value echoed back in an error */
#define FLAG_NAME_MAX 32         /* "redis-endpoint-url" and friends */
#define SERVER_ID_RANDOM_BYTES 8 /* the default SERVER_ID: 16 hex digits */
#define REDIS_DEFAULT_PORT 6379
#define SENTINEL_DEFAULT_PORT 26379
#define SECONDS_PER_DAY 86400u

#define REDIS_URL_FORMS "redis://[[user]:password@]host[:port][/db] or unix:///path/to.sock[?db=N]"

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

static parse_fn parse_sentinels, parse_master_name, parse_sentinel_password;
static parse_fn parse_bind, parse_web_root, parse_server_id, parse_origins, parse_registration,
    parse_password_hash, parse_password_rehash, parse_log_level, parse_links;
static compute_fn default_workers, default_server_id;

#define UINT_FIELD(field, lo, hi)                                                                  \
    .kind = KIND_UINT, .offset = offsetof(struct config, field), .min = (lo), .max = (hi)
#define DURATION_FIELD(field, lo, hi)                                                              \
    .kind = KIND_DURATION, .offset = offsetof(struct config, field), .min = (lo), .max = (hi)
#define SIZE_KIB_FIELD(field, lo, hi)                                                              \
    .kind = KIND_SIZE_KIB, .offset = offsetof(struct config, field), .min = (lo), .max = (hi)
#define BOOL_FIELD(field) .kind = KIND_BOOL, .offset = offsetof(struct config, field)

/* The floor of PASSWORD_MEMORY and PASSWORD_ITERATIONS, said where they are refused. */
#define ARGON2ID_FLOOR_NOTE "OWASP's minimum for Argon2id is 19MiB with 2 iterations"

static const struct opt opts[OPT_COUNT] = {
    [OPT_PORT] = {"PORT", "8000", NULL, "TCP port to listen on.", UINT_FIELD(port, 1, 65535)},
    [OPT_BIND] = {"BIND", "0.0.0.0", NULL,
                  "Address to listen on: an IPv4 or IPv6 literal (:: for every address).",
                  .parse = parse_bind},
    [OPT_REDIS_URL] = {"REDIS_URL", "redis://127.0.0.1:6379", NULL,
                       "Redis to use: redis://[[user]:password@]host[:port][/db]\n"
                       "or unix:///path/to.sock[?db=N]. No TLS: rediss:// is refused.",
                       .kind = KIND_REDIS, .secret = true},
    [OPT_REDIS_ENDPOINT_URL] = {"REDIS_ENDPOINT_URL", NULL, "unset",
                                "The original demo's host:port, read when REDIS_URL is unset.",
                                .kind = KIND_REDIS},
    [OPT_REDIS_PASSWORD] = {"REDIS_PASSWORD", NULL, "unset",
                            "Redis password, used when the Redis URL carries none.",
                            .kind = KIND_REDIS, .secret = true},
    [OPT_REDIS_SENTINELS] =
        {"REDIS_SENTINELS", "", "unset",
         "Comma-separated host:port of Redis Sentinels (port 26379 when not\n"
         "given; at most 8): the master is asked of them and followed through a\n"
         "failover, and REDIS_URL then gives only the user, password and db.",
         .parse = parse_sentinels},
    [OPT_REDIS_MASTER_NAME] = {"REDIS_MASTER_NAME", "mymaster", NULL,
                               "The master's name in the Sentinels' configuration\n"
                               "(1-64 characters of A-Z a-z 0-9 . _ -).",
                               .parse = parse_master_name},
    [OPT_REDIS_SENTINEL_PASSWORD] = {"REDIS_SENTINEL_PASSWORD", NULL, "unset",
                                     "The Sentinels' own password (their requirepass),\n"
                                     "when they have one.",
                                     .secret = true, .parse = parse_sentinel_password},
    [OPT_REDIS_WAIT_REPLICAS] = {"REDIS_WAIT_REPLICAS", "0", NULL,
                                 "Replicas that must have a chat message (Redis WAIT) before\n"
                                 "it is acknowledged; 0 acknowledges once the master has it.",
                                 UINT_FIELD(wait_replicas, 0, CONFIG_WAIT_REPLICAS_MAX)},
    [OPT_REDIS_WAIT_TIMEOUT] = {"REDIS_WAIT_TIMEOUT", "1000", NULL,
                                "Milliseconds to wait for REDIS_WAIT_REPLICAS; fewer replicas\n"
                                "by then and the message's ack is an error.",
                                UINT_FIELD(wait_timeout_ms, 10, 4000)},
    [OPT_WEB_ROOT] = {"WEB_ROOT", "web/dist", NULL,
                      "Directory of the web app, served for every other GET\n"
                      "(index.html for unknown paths).",
                      .parse = parse_web_root},
    [OPT_WORKERS] = {"WORKERS", NULL, "the number of online CPUs",
                     "Worker threads, each with its own event loop and Redis connection.",
                     UINT_FIELD(workers, 1, CONFIG_WORKERS_MAX), .compute = default_workers},
    [OPT_SERVER_ID] = {"SERVER_ID", NULL, "16 random hex digits",
                       "This server's id on the MESSAGES channel, unique in the fleet:\n"
                       "1-64 characters of A-Z a-z 0-9 . _ -",
                       .parse = parse_server_id, .compute = default_server_id},
    [OPT_ALLOWED_ORIGINS] = {"ALLOWED_ORIGINS", "", "the request's own host",
                             "Comma-separated origins allowed to open Socket.IO connections,\n"
                             "e.g. https://chat.example.com,http://localhost:3000 (at most 32).",
                             .parse = parse_origins},
    [OPT_SESSION_TTL] = {"SESSION_TTL", "7d", NULL, "Lifetime of a login session.",
                         DURATION_FIELD(session_ttl, 60, 365 * SECONDS_PER_DAY)},
    [OPT_COOKIE_SECURE] = {"COOKIE_SECURE", "false", NULL,
                           "Mark the session cookie Secure (set it when served over HTTPS).",
                           BOOL_FIELD(cookie_secure)},
    [OPT_TRUST_PROXY] = {"TRUST_PROXY", "false", NULL,
                         "Take the client address from X-Forwarded-For (only behind a proxy\n"
                         "that sets it).",
                         BOOL_FIELD(trust_proxy)},
    [OPT_IPV6_PREFIX] = {"IPV6_PREFIX", "64", NULL,
                         "Bits of an IPv6 client address that every per-address limit counts\n"
                         "by: one network (a host's /64) is one client.",
                         UINT_FIELD(ipv6_prefix, ADDRKEY_PREFIX_MIN, ADDRKEY_PREFIX_MAX)},
    [OPT_MAX_MESSAGE_BYTES] = {"MAX_MESSAGE_BYTES", "4096", NULL,
                               "Longest chat message, in bytes of UTF-8.",
                               UINT_FIELD(max_message_bytes, 1, 65536)},
    [OPT_REGISTRATION] = {"REGISTRATION", "open", NULL,
                          "open: logging in with an unknown username registers it;\n"
                          "closed: it is refused (403).",
                          .parse = parse_registration},
    [OPT_SEED_DEMO] = {"SEED_DEMO", "true", NULL,
                       "Create the demo users, rooms and messages when Redis has no users.",
                       BOOL_FIELD(seed_demo)},
    [OPT_PASSWORD_HASH] = {"PASSWORD_HASH", "argon2id", NULL,
                           "argon2id, or bcrypt while original demo servers share the Redis\n"
                           "(they only read bcrypt).",
                           .parse = parse_password_hash},
    [OPT_PASSWORD_MEMORY] = {"PASSWORD_MEMORY", "19MiB", NULL,
                             "Memory of one Argon2id password hash (its m), held while it runs\n"
                             "(HASH_THREADS at once); at least OWASP's minimum, 19MiB.",
                             SIZE_KIB_FIELD(password_cost.mem_kib, PW_ARGON2ID_MEM_KIB_MIN,
                                            PW_ARGON2ID_MEM_KIB_MAX),
                             .refusal_note = ARGON2ID_FLOOR_NOTE},
    [OPT_PASSWORD_ITERATIONS] = {"PASSWORD_ITERATIONS", "2", NULL,
                                 "Passes of one Argon2id password hash over its memory (its t);\n"
                                 "at least 2, OWASP's minimum with 19MiB. A hash takes time in\n"
                                 "proportion to PASSWORD_MEMORY times this.",
                                 UINT_FIELD(password_cost.passes, PW_ARGON2ID_PASSES_MIN,
                                            PW_ARGON2ID_PASSES_MAX),
                                 .refusal_note = ARGON2ID_FLOOR_NOTE},
    [OPT_PASSWORD_REHASH] = {"PASSWORD_REHASH", "weaker", NULL,
                             "Stored Argon2id hashes a login rewrites at PASSWORD_MEMORY and\n"
                             "PASSWORD_ITERATIONS: weaker (below them in either), or different\n"
                             "(stronger ones too: to bring the cost down after lowering them).",
                             .parse = parse_password_rehash},
    [OPT_LOG_LEVEL] = {"LOG_LEVEL", "info", NULL, "error, warn, info or debug.",
                       .parse = parse_log_level},
    [OPT_PING_INTERVAL] = {"PING_INTERVAL", "25000", NULL,
                           "Engine.IO pingInterval: milliseconds between pings.",
                           UINT_FIELD(ping_interval_ms, 100, 300000)},
    [OPT_PING_TIMEOUT] = {"PING_TIMEOUT", "20000", NULL,
                          "Engine.IO pingTimeout: milliseconds to wait for a pong.",
                          UINT_FIELD(ping_timeout_ms, 100, 300000)},
    [OPT_CONNECT_TIMEOUT] = {"CONNECT_TIMEOUT", "5s", NULL,
                             "A connection without a Socket.IO CONNECT accepted this long after\n"
                             "its handshake is closed.",
                             DURATION_FIELD(connect_timeout, 1, 300)},
    [OPT_HANDSHAKES_PER_MINUTE] = {"HANDSHAKES_PER_MINUTE", "300", NULL,
                                   "Engine.IO handshakes per client address per minute; more are\n"
                                   "refused with 429.",
                                   UINT_FIELD(handshakes_per_minute, 1, 1000000)},
    [OPT_PRELOADS_PER_MINUTE] = {"PRELOADS_PER_MINUTE", "60", NULL,
                                 "GET /room/0/preload per client address per minute; more are\n"
                                 "refused with 429.",
                                 UINT_FIELD(preloads_per_minute, 1, 1000000)},
    [OPT_MAX_CONNECTIONS] = {"MAX_CONNECTIONS", "10000", NULL,
                             "Open client connections beyond which new ones are refused.",
                             UINT_FIELD(max_connections, 1, 1000000)},
    [OPT_MAX_CONNECTIONS_PER_ADDR] =
        {"MAX_CONNECTIONS_PER_ADDR", "500", NULL,
         "Open connections from one client address beyond which new ones from it\n"
         "are closed at once (the peer's address; X-Forwarded-For is not read).",
         UINT_FIELD(max_connections_per_addr, 1, 1000000)},
    [OPT_HEADER_TIMEOUT] = {"HEADER_TIMEOUT", "10s", NULL,
                            "A connection that has not sent a whole request head this long after\n"
                            "it opened (or after its last answer) is closed, however it trickles.",
                            DURATION_FIELD(header_timeout, 1, 3600)},
    [OPT_REQUEST_TIMEOUT] = {"REQUEST_TIMEOUT", "30s", NULL,
                             "A connection that has not sent a whole request, head and body, this\n"
                             "long after it opened (or after its last answer) is closed.",
                             DURATION_FIELD(request_timeout, 1, 3600)},
    [OPT_HASH_THREADS] = {"HASH_THREADS", "2", NULL,
                          "Password hashes computed at once; each Argon2id holds\n"
                          "PASSWORD_MEMORY while it runs.",
                          UINT_FIELD(hash_threads, 1, 64)},
    [OPT_REGISTRATIONS_PER_HOUR] =
        {"REGISTRATIONS_PER_HOUR", "10", NULL,
         "New users one client address may register per hour; beyond, 429.",
         UINT_FIELD(registrations_per_hour, 1, 1000000)},
    [OPT_LOGINS_PER_MINUTE] =
        {"LOGINS_PER_MINUTE", "30", NULL,
         "Logins and registrations one client address may attempt per minute,\n"
         "right or wrong (each costs a password hash); beyond, 429.",
         UINT_FIELD(logins_per_minute, 1, 1000000)},
    [OPT_LOGIN_MAX_FAILS_USER] =
        {"LOGIN_MAX_FAILS_USER", "5", NULL,
         "Failed logins for one username from one address in LOGIN_FAIL_WINDOW\n"
         "before each further try must wait (1 s, doubling up to LOGIN_DELAY_MAX; 429).",
         UINT_FIELD(login_max_fails_user, 1, 100000)},
    [OPT_LOGIN_MAX_FAILS_ADDR] =
        {"LOGIN_MAX_FAILS_ADDR", "50", NULL,
         "Failed logins per client address in LOGIN_FAIL_WINDOW before 429.",
         UINT_FIELD(login_max_fails_addr, 1, 1000000)},
    [OPT_LOGIN_FAIL_WINDOW] = {"LOGIN_FAIL_WINDOW", "15m", NULL,
                               "Window over which failed logins are counted.",
                               DURATION_FIELD(login_fail_window, 10, SECONDS_PER_DAY)},
    [OPT_LOGIN_DELAY_MAX] = {"LOGIN_DELAY_MAX", "15m", NULL,
                             "Longest wait between tries for one username from one address.",
                             DURATION_FIELD(login_delay_max, 1, SECONDS_PER_DAY)},
    [OPT_MESSAGES_PER_MINUTE] = {"MESSAGES_PER_MINUTE", "120", NULL,
                                 "Chat messages a user may send per minute, over all connections.",
                                 UINT_FIELD(messages_per_minute, 1, 100000)},
    [OPT_GROUPS_PER_HOUR] = {"GROUPS_PER_HOUR", "20", NULL,
                             "Groups one user may create per hour; beyond, 429.",
                             UINT_FIELD(groups_per_hour, 1, 100000)},
    [OPT_GROUPS_PER_USER] = {"GROUPS_PER_USER", "100", NULL,
                             "Groups one user may own at once (created and still a member of);\n"
                             "beyond, POST /rooms answers 409.",
                             UINT_FIELD(groups_per_user, 1, 100000)},
    [OPT_MEMBERSHIP_CHANGES_PER_MINUTE] =
        {"MEMBERSHIP_CHANGES_PER_MINUTE", "60", NULL,
         "Group joins, additions, removals and leaves one user may make per\n"
         "minute; beyond, 429.",
         UINT_FIELD(membership_changes_per_minute, 1, 100000)},
    [OPT_GROUP_ADDS_PER_HOUR] = {"GROUP_ADDS_PER_HOUR", "30", NULL,
                                 "Times others may add one user to groups per hour (at creation\n"
                                 "or later); beyond, 429 to whoever adds.",
                                 UINT_FIELD(group_adds_per_hour, 1, 100000)},
    [OPT_EVENTS_PER_SECOND] =
        {"EVENTS_PER_SECOND", "20", NULL,
         "Socket.IO events one connection may send per second, sustained; more are\n"
         "refused (\"Too many requests\") before they reach Redis.",
         UINT_FIELD(events_per_second, 1, 100000)},
    [OPT_EVENTS_BURST] = {"EVENTS_BURST", "50", NULL,
                          "Socket.IO events one connection may send at once, above the rate.",
                          UINT_FIELD(events_burst, 1, 1000000)},
    [OPT_SOCKETS_PER_USER] = {"SOCKETS_PER_USER", "32", NULL,
                              "Socket.IO connections one user may hold on one server; the\n"
                              "CONNECT of one more is refused.",
                              UINT_FIELD(sockets_per_user, 1, 100000)},
    [OPT_ROOMS_PER_USER] = {"ROOMS_PER_USER", "1000", NULL,
                            "Rooms (General, groups, private rooms) one user may be in; adding\n"
                            "one more is refused.  A socket joins at most this many.",
                            UINT_FIELD(rooms_per_user, 1, 4096)},
    [OPT_PRESENCE_TIMEOUT] = {"PRESENCE_TIMEOUT", "30s", NULL,
                              "A server silent this long is presumed dead: its users go offline.",
                              DURATION_FIELD(presence_timeout, 3, 3600)},
    [OPT_RECOVERY_WINDOW] = {"RECOVERY_WINDOW", "120", NULL,
                             "A client whose transport was lost may recover its rooms and missed\n"
                             "events for this long (Socket.IO connection state recovery).",
                             DURATION_FIELD(recovery_window, 1, 3600)},
    [OPT_PRESENCE_GRACE] = {"PRESENCE_GRACE", "5s", NULL,
                            "A user whose last connection closed stays online this long: back\n"
                            "within it, nobody hears they left (0: they leave at once).",
                            DURATION_FIELD(presence_grace, 0, 60)},
    [OPT_CONNECTS_PER_MINUTE] =
        {"CONNECTS_PER_MINUTE", "120", NULL,
         "Socket.IO CONNECTs one login session may make per minute on one server;\n"
         "more are refused, and a connection that keeps trying is closed.",
         UINT_FIELD(connects_per_minute, 1, 1000000)},
    [OPT_EVENT_LOG_BYTES] = {"EVENT_LOG_BYTES", "67108864", NULL,
                             "Bytes of events the event log keeps for connection state\n"
                             "recovery (besides its 10000 entries); the oldest go first.",
                             UINT_FIELD(event_log_bytes, 1u << 20, 1u << 31)},
    [OPT_ATTACHMENT_BYTES_PER_SESSION] =
        {"ATTACHMENT_BYTES_PER_SESSION", "1048576", NULL,
         "Bytes of a Socket.IO binary packet (header and attachments) one\n"
         "connection may hold while it is assembled; beyond, it is closed.",
         UINT_FIELD(attachment_bytes_per_session, 1024, 1024 * 1024 * 1024)},
    [OPT_ATTACHMENT_BYTES_TOTAL] =
        {"ATTACHMENT_BYTES_TOTAL", "67108864", NULL,
         "Bytes of binary packets being assembled over all connections; a\n"
         "connection whose packet would pass it is closed.",
         UINT_FIELD(attachment_bytes_total, 1024, 1u << 31)},
    [OPT_LINKS] = {"LINKS", "{}", NULL,
                   "JSON object served by GET /links, e.g. {\"github\":\"https://...\"}\n"
                   "(at most 16384 bytes).",
                   .parse = parse_links},
};

/* ---- small helpers ------------------------------------------------------ */

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

/* Parses s[0..len) as a decimal integer no greater than max: digits only, no
 * sign, no spaces. Returns false when it is not one. */
static bool scan_uint(const char *s, size_t len, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;

    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v > max) /* checked every digit, so v * 10 cannot overflow */
            return false;
    }
    *out = v;
    return true;
}

static unsigned *uint_field(struct config *c, const struct opt *o)
{
    return (unsigned *)(void *)((char *)c + o->offset);
}

/* Writes a duration the way a person would: the largest unit that divides it. */
static void format_duration(unsigned seconds, char *buf, size_t n)
{
    static const struct {
        char suffix;
        unsigned seconds;
    } units[] = {{'d', SECONDS_PER_DAY}, {'h', 3600}, {'m', 60}};

    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (seconds % units[i].seconds == 0) {
            snprintf(buf, n, "%u%c", seconds / units[i].seconds, units[i].suffix);
            return;
        }
    }
    snprintf(buf, n, "%us", seconds);
}

/* Writes a size in KiB with the largest binary unit that divides it. */
static void format_size_kib(unsigned kib, char *buf, size_t n)
{
    if (kib != 0 && kib % (1024u * 1024) == 0)
        snprintf(buf, n, "%uGiB", kib / (1024u * 1024));
    else if (kib != 0 && kib % 1024 == 0)
        snprintf(buf, n, "%uMiB", kib / 1024);
    else
        snprintf(buf, n, "%uKiB", kib);
}

/* The flag of an option: "REDIS_URL" becomes "redis-url". */
static void flag_name(const struct opt *o, char *buf, size_t n)
{
    size_t i = 0;

    for (; o->name[i] != '\0' && i + 1 < n; i++)
        buf[i] = o->name[i] == '_' ? '-' : ascii_lower(o->name[i]);
    buf[i] = '\0';
}

static int opt_by_flag(const char *name, size_t len)
{
    char flag[FLAG_NAME_MAX];

    for (int i = 0; i < OPT_COUNT; i++) {
        flag_name(&opts[i], flag, sizeof flag);
        if (strlen(flag) == len && memcmp(flag, name, len) == 0)
            return i;
    }
    return -1;
}

/* Writes ` "value"` for an error line: bounded, quotes and control characters
 * escaped, so a hostile or binary value cannot garble the terminal. */
static void echo_value(const char *value, char *buf, size_t n)
{
    size_t at = 0, i = 0;

    at += (size_t)snprintf(buf, n, " \"");
    for (; value[i] != '\0' && i < ECHO_MAX && at + 8 < n; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c == '"' || c == '\\')
            at += (size_t)snprintf(buf + at, n - at, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            at += (size_t)snprintf(buf + at, n - at, "\\x%02x", c);
        else
            buf[at++] = (char)c;
    }
    snprintf(buf + at, n - at, "%s\"", value[i] != '\0' ? "..." : "");
}

/* Prints the one error line for a refused value and returns config_load's 2. */
static int refuse(FILE *err, const struct opt *o, bool from_flag, const char *value,
                  const char *why)
{
    char label[FLAG_NAME_MAX + 2] = "--";
    char shown[ECHO_MAX * 4 + 16] = "";

    if (from_flag)
        flag_name(o, label + 2, sizeof label - 2);
    else
        snprintf(label, sizeof label, "%s", o->name);
    if (!o->secret)
        echo_value(value, shown, sizeof shown);
    fprintf(err, "chatd: invalid %s%s: %s\n", label, shown, why);
    return 2;
}

/* The environment's value of an option; "" counts as unset, so that
 * `PORT= chatd` and compose files with blank entries mean "the default". */
static const char *env_value(const struct opt *o)
{
    const char *v = getenv(o->name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* ---- generic kinds ------------------------------------------------------ */

static int parse_uint(struct config *c, const struct opt *o, const char *value, char *why, size_t n)
{
    unsigned long v;

    if (!scan_uint(value, strlen(value), o->max, &v) || v < o->min) {
        snprintf(why, n, "expected an integer %u-%u", o->min, o->max);
        return -1;
    }
    *uint_field(c, o) = (unsigned)v;
    return 0;
}

static int parse_duration(struct config *c, const struct opt *o, const char *value, char *why,
                          size_t n)
{
    static const char suffixes[] = "smhd";
    static const unsigned multipliers[] = {1, 60, 3600, SECONDS_PER_DAY};
    size_t len = strlen(value);
    unsigned mult = 1;
    unsigned long v;

    if (len > 0) {
        const char *s = strchr(suffixes, ascii_lower(value[len - 1]));
        if (s != NULL && *s != '\0') {
            mult = multipliers[s - suffixes];
            len--;
        }
    }
    if (!scan_uint(value, len, o->max / mult, &v) || v * mult < o->min) {
        char lo[16], hi[16];
        format_duration(o->min, lo, sizeof lo);
        format_duration(o->max, hi, sizeof hi);
        snprintf(why, n, "expected a duration %s-%s: seconds, or a number with s, m, h or d", lo,
                 hi);
        return -1;
    }
    *uint_field(c, o) = (unsigned)(v * mult);
    return 0;
}

/* A size in KiB: a bare number is KiB (as Argon2's m=), or a number with a
 * binary unit: K or KiB, M or MiB, G or GiB, in any case. */
static int parse_size_kib(struct config *c, const struct opt *o, const char *value, char *why,
                          size_t n)
{
    static const struct {
        const char *suffix;
        unsigned kib;
    } units[] = {{"kib", 1},           {"k", 1},          {"mib", 1024}, {"m", 1024},
                 {"gib", 1024 * 1024}, {"g", 1024 * 1024}};
    size_t len = strlen(value), digits = strspn(value, "0123456789");
    unsigned mult = digits == len ? 1 : 0;
    unsigned long v;

    for (size_t i = 0; i < sizeof units / sizeof units[0] && mult == 0; i++) {
        if (strcasecmp(value + digits, units[i].suffix) == 0)
            mult = units[i].kib;
    }
    if (mult == 0 || !scan_uint(value, digits, o->max / mult, &v) || v * mult < o->min) {
        char lo[16], hi[16];
        format_size_kib(o->min, lo, sizeof lo);
        format_size_kib(o->max, hi, sizeof hi);
        snprintf(why, n, "expected a size %s-%s: KiB, or a number with KiB, MiB or GiB", lo, hi);
        return -1;
    }
    *uint_field(c, o) = (unsigned)(v * mult);
    return 0;
}

/* Matches value case-insensitively against words[0..count); returns the index,
 * or -1. */
static int match_word(const char *value, const char *const *words, int count)
{
    for (int i = 0; i < count; i++) {
        if (strcasecmp(value, words[i]) == 0)
            return i;
    }
    return -1;
}

/* One of two words, case-insensitively: 0 for first, 1 for second, or -1
 * with why saying both. */
static int match_either(const char *value, const char *first, const char *second, char *why,
                        size_t n)
{
    const char *const words[] = {first, second};
    int i = match_word(value, words, 2);
    if (i < 0)
        snprintf(why, n, "expected %s or %s", first, second);
    return i;
}

static int parse_bool(struct config *c, const struct opt *o, const char *value, char *why, size_t n)
{
    /* Pairs: even indexes are true, odd ones false. */
    static const char *const words[] = {"1", "0", "true", "false", "yes", "no", "on", "off"};
    int i = match_word(value, words, (int)(sizeof words / sizeof words[0]));

    if (i < 0) {
        snprintf(why, n, "expected a boolean: 1/0, true/false, yes/no or on/off");
        return -1;
    }
    *(bool *)(void *)((char *)c + o->offset) = i % 2 == 0;
    return 0;
}

/* ---- custom parsers ----------------------------------------------------- */

static int parse_bind(struct config *c, const char *value, char *why, size_t n)
{
    unsigned char addr[sizeof(struct in6_addr)];
    int family = 0;

    if (strlen(value) <= CONFIG_BIND_MAX) {
        if (inet_pton(AF_INET, value, addr) == 1)
            family = AF_INET;
        else if (inet_pton(AF_INET6, value, addr) == 1)
            family = AF_INET6;
    }
    if (family == 0) {
        snprintf(why, n, "expected an IPv4 or IPv6 address such as 0.0.0.0, 127.0.0.1 or ::");
        return -1;
    }
    snprintf(c->bind, sizeof c->bind, "%s", value);
    c->bind_family = family;
    return 0;
}

static int parse_web_root(struct config *c, const char *value, char *why, size_t n)
{
    size_t len = strlen(value);

    if (len == 0 || len > CONFIG_PATH_MAX) {
        snprintf(why, n, "expected a directory path of 1-%d bytes", CONFIG_PATH_MAX);
        return -1;
    }
    memcpy(c->web_root, value, len + 1);
    return 0;
}

static int parse_server_id(struct config *c, const char *value, char *why, size_t n)
{
    size_t len = strlen(value);
    bool ok = len >= 1 && len <= CONFIG_SERVER_ID_MAX;

    for (size_t i = 0; ok && i < len; i++)
        ok = is_host_char(value[i]);
    if (!ok) {
        snprintf(why, n, "expected 1-%d characters of A-Z a-z 0-9 . _ -", CONFIG_SERVER_ID_MAX);
        return -1;
    }
    memcpy(c->server_id, value, len + 1);
    return 0;
}

/* REDIS_MASTER_NAME: a Sentinel's name for a master. */
static int parse_master_name(struct config *c, const char *value, char *why, size_t n)
{
    size_t len = strlen(value);
    bool ok = len >= 1 && len <= CONFIG_MASTER_NAME_MAX;

    for (size_t i = 0; ok && i < len; i++)
        ok = is_host_char(value[i]);
    if (!ok) {
        snprintf(why, n, "expected 1-%d characters of A-Z a-z 0-9 . _ -", CONFIG_MASTER_NAME_MAX);
        return -1;
    }
    memcpy(c->master_name, value, len + 1);
    return 0;
}

static int parse_sentinel_password(struct config *c, const char *value, char *why, size_t n)
{
    if (strlen(value) > CONFIG_SECRET_MAX) {
        snprintf(why, n, "expected at most %d bytes", CONFIG_SECRET_MAX);
        return -1;
    }
    snprintf(c->sentinel_password, sizeof c->sentinel_password, "%s", value);
    return 0;
}

/* Normalises one origin, s[0..len), the way browsers serialise the Origin
 * header: lowercase scheme and host, no path, no default port. So an operator's
 * "https://Chat.Example.com:443/" still matches what Chrome sends. Returns 0, or
 * -1 when it is not an http(s) origin. */
static int normalise_origin(const char *s, size_t len, char out[CONFIG_ORIGIN_MAX + 1])
{
    char o[CONFIG_ORIGIN_MAX + 1];
    const char *default_port;
    char *host, *end;
    char port[8] = "";

    if (len > 0 && s[len - 1] == '/')
        len--;
    if (len == 0 || len > CONFIG_ORIGIN_MAX)
        return -1;
    for (size_t i = 0; i < len; i++)
        o[i] = ascii_lower(s[i]);
    o[len] = '\0';

    if (strncmp(o, "https://", 8) == 0) {
        host = o + 8;
        default_port = "443";
    } else if (strncmp(o, "http://", 7) == 0) {
        host = o + 7;
        default_port = "80";
    } else {
        return -1;
    }

    if (*host == '[') {
        char literal[INET6_ADDRSTRLEN];
        unsigned char addr[sizeof(struct in6_addr)];
        char *rb = strchr(host, ']');
        size_t lit_len = rb != NULL ? (size_t)(rb - host - 1) : 0;

        if (lit_len == 0 || lit_len >= sizeof literal)
            return -1;
        memcpy(literal, host + 1, lit_len);
        literal[lit_len] = '\0';
        if (inet_pton(AF_INET6, literal, addr) != 1)
            return -1;
        end = rb + 1;
    } else {
        for (end = host; is_host_char(*end); end++)
            ;
        if (end == host)
            return -1;
    }

    if (*end == ':') {
        unsigned long p;
        if (!scan_uint(end + 1, strlen(end + 1), 65535, &p) || p == 0)
            return -1;
        snprintf(port, sizeof port, "%lu", p);
        if (strcmp(port, default_port) == 0)
            port[0] = '\0';
    } else if (*end != '\0') {
        return -1; /* a path, a query, userinfo: not an origin */
    }
    snprintf(out, CONFIG_ORIGIN_MAX + 1, "%.*s%s%s", (int)(end - o), o, port[0] ? ":" : "", port);
    return 0;
}

static int parse_origins(struct config *c, const char *value, char *why, size_t n)
{
    const char *p = value;

    c->n_origins = 0;
    for (;;) {
        const char *end = strchrnul(p, ',');
        const char *a = p, *b = end;

        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (a < b) {
            if (c->n_origins == CONFIG_ORIGINS_MAX) {
                snprintf(why, n, "expected at most %d origins", CONFIG_ORIGINS_MAX);
                return -1;
            }
            if (normalise_origin(a, (size_t)(b - a), c->origins[c->n_origins]) < 0) {
                int shown = b - a > ECHO_MAX ? ECHO_MAX : (int)(b - a);
                snprintf(why, n,
                         "\"%.*s\" is not an origin; expected a comma-separated list "
                         "such as https://chat.example.com,http://localhost:3000",
                         shown, a);
                return -1;
            }
            c->n_origins++;
        }
        if (*end == '\0')
            return 0;
        p = end + 1;
    }
}

static int parse_registration(struct config *c, const char *value, char *why, size_t n)
{
    static const enum config_registration values[] = {CONFIG_REGISTRATION_OPEN,
                                                      CONFIG_REGISTRATION_CLOSED};
    int i = match_either(value, "open", "closed", why, n);

    if (i < 0)
        return -1;
    c->registration = values[i];
    return 0;
}

static int parse_password_hash(struct config *c, const char *value, char *why, size_t n)
{
    static const enum pw_scheme values[] = {PW_ARGON2ID, PW_BCRYPT};
    int i = match_either(value, "argon2id", "bcrypt", why, n);

    if (i < 0)
        return -1;
    c->password_hash = values[i];
    return 0;
}

static int parse_password_rehash(struct config *c, const char *value, char *why, size_t n)
{
    static const enum pw_rehash values[] = {PW_REHASH_WEAKER, PW_REHASH_DIFFERENT};
    int i = match_either(value, "weaker", "different", why, n);

    if (i < 0)
        return -1;
    c->password_rehash = values[i];
    return 0;
}

static int parse_log_level(struct config *c, const char *value, char *why, size_t n)
{
    if (log_level_parse(value, &c->log_level) < 0) {
        snprintf(why, n, "expected error, warn, info or debug");
        return -1;
    }
    return 0;
}

static int parse_links(struct config *c, const char *value, char *why, size_t n)
{
    cJSON *json = NULL;
    char *text = NULL, *copy = NULL;

    if (strlen(value) <= CONFIG_LINKS_MAX)
        json = cJSON_ParseWithOpts(value, NULL, true);
    if (!cJSON_IsObject(json)) {
        cJSON_Delete(json);
        snprintf(why, n,
                 "expected a JSON object of at most %d bytes, such as "
                 "{\"github\":\"https://github.com/you/chat\"}",
                 CONFIG_LINKS_MAX);
        return -1;
    }
    /* Served as is, so print it once, compactly, with cJSON's escaping. The
     * copy keeps the struct's memory malloc's, whatever hooks cJSON has. */
    text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    if (text != NULL)
        copy = strdup(text);
    cJSON_free(text);
    if (copy == NULL) {
        snprintf(why, n, "out of memory");
        return -1;
    }
    free(c->links);
    c->links = copy;
    return 0;
}

static int default_workers(struct config *c, char *why, size_t n)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    c->workers = cpus < 1 ? 1 : cpus > CONFIG_WORKERS_MAX ? CONFIG_WORKERS_MAX : (unsigned)cpus;
    return 0;
}

static int default_server_id(struct config *c, char *why, size_t n)
{
    unsigned char raw[SERVER_ID_RANDOM_BYTES];

    _Static_assert(2 * SERVER_ID_RANDOM_BYTES <= CONFIG_SERVER_ID_MAX, "SERVER_ID too long");
    if (sodium_init() < 0) {
        snprintf(why, n, "libsodium failed to initialise, so no random id can be made");
        return -1;
    }
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(c->server_id, sizeof c->server_id, raw, sizeof raw);
    return 0;
}

/* ---- Redis -------------------------------------------------------------- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = ascii_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes the %XX escapes of s[0..len) into out (cap bytes, NUL included).
 * Returns 0, or -1 on a malformed escape, an encoded NUL, or no room. */
static int percent_decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t at = 0;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_digit(s[i + 2]) : -1;

            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (at + 1 >= cap)
            return -1;
        out[at++] = c;
    }
    out[at] = '\0';
    return 0;
}

/* Parses host[:port] or [ipv6][:port] from s[0..len) into r. */
static int parse_host_port(const char *s, size_t len, struct config_redis *r, char *why, size_t n)
{
    const char *host = s, *port = NULL;
    size_t host_len = len, port_len = 0;
    unsigned long p = REDIS_DEFAULT_PORT;

    if (len > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        unsigned char addr[sizeof(struct in6_addr)];

        if (rb == NULL || (size_t)(rb - s - 1) >= INET6_ADDRSTRLEN)
            goto bad_host;
        host = s + 1;
        host_len = (size_t)(rb - host);
        memcpy(r->host, host, host_len);
        r->host[host_len] = '\0';
        if (inet_pton(AF_INET6, r->host, addr) != 1)
            goto bad_host;
        if (rb + 1 < s + len) {
            if (rb[1] != ':')
                goto bad_host;
            port = rb + 2;
            port_len = len - (size_t)(port - s);
        }
    } else {
        const char *colon = memchr(s, ':', len);

        if (colon != NULL) {
            host_len = (size_t)(colon - s);
            port = colon + 1;
            port_len = len - host_len - 1;
        }
        if (host_len == 0 || host_len > CONFIG_HOST_MAX)
            goto bad_host;
        for (size_t i = 0; i < host_len; i++) {
            if (!is_host_char(host[i]))
                goto bad_host;
        }
        memcpy(r->host, host, host_len);
        r->host[host_len] = '\0';
    }
    if (port != NULL && (!scan_uint(port, port_len, 65535, &p) || p == 0)) {
        snprintf(why, n, "port \"%.*s\" is not 1-65535", (int)(port_len > 8 ? 8 : port_len), port);
        return -1;
    }
    r->port = (unsigned)p;
    return 0;

bad_host:
    snprintf(why, n, "expected a host name, an IPv4 address or an [IPv6] address");
    return -1;
}

/* Parses a URL query, s[0..len): db=N and password=… are understood. */
static int parse_redis_query(const char *s, size_t len, struct config_redis *r, char *why, size_t n)
{
    const char *end = s + len;

    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *item_end = amp != NULL ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(item_end - s));
        const char *v = eq != NULL ? eq + 1 : item_end;
        size_t key_len = (size_t)((eq != NULL ? eq : item_end) - s);
        size_t v_len = (size_t)(item_end - v);
        unsigned long db;

        if (key_len == 2 && memcmp(s, "db", 2) == 0) {
            if (!scan_uint(v, v_len, CONFIG_REDIS_DB_MAX, &db)) {
                snprintf(why, n, "db is not 0-%d", CONFIG_REDIS_DB_MAX);
                return -1;
            }
            r->db = (unsigned)db;
        } else if (key_len == 8 && memcmp(s, "password", 8) == 0) {
            if (percent_decode(v, v_len, r->password, sizeof r->password) < 0) {
                snprintf(why, n, "the password is too long or badly %%-encoded");
                return -1;
            }
        } else if (key_len > 0) {
            snprintf(why, n, "unknown parameter \"%.*s\" (db and password are known)",
                     (int)(key_len > 16 ? 16 : key_len), s);
            return -1;
        }
        s = item_end + (amp != NULL);
    }
    return 0;
}

/* REDIS_SENTINELS: host[:port] or [ipv6][:port], comma-separated. */
static int parse_sentinels(struct config *c, const char *value, char *why, size_t n)
{
    c->n_sentinels = 0;
    if (*value == '\0')
        return 0;
    for (const char *item = value;;) {
        size_t len = strcspn(item, ",");
        const char *close = item[0] == '[' ? memchr(item, ']', len) : item;
        bool has_port = close != NULL && memchr(close, ':', len - (size_t)(close - item)) != NULL;
        struct config_redis r;

        if (c->n_sentinels == CONFIG_SENTINELS_MAX) {
            snprintf(why, n, "at most %d sentinels", CONFIG_SENTINELS_MAX);
            return -1;
        }
        memset(&r, 0, sizeof r);
        if (parse_host_port(item, len, &r, why, n) < 0) {
            size_t at = strlen(why);
            snprintf(why + at, n - at, "; expected host:port,host:port,...");
            return -1;
        }
        struct config_sentinel *s = &c->sentinels[c->n_sentinels++];
        memcpy(s->host, r.host, sizeof s->host);
        s->port = has_port ? r.port : SENTINEL_DEFAULT_PORT;
        if (item[len] == '\0')
            break;
        item += len + 1;
    }
    return 0;
}

static int parse_redis_url(const char *url, struct config_redis *r, char *why, size_t n)
{
    memset(r, 0, sizeof *r);
    if (strncasecmp(url, "rediss://", 9) == 0) {
        snprintf(why, n,
                 "rediss:// (TLS) is not supported; use redis:// on a trusted "
                 "network, or a TLS tunnel such as stunnel");
        return -1;
    }

    if (strncasecmp(url, "unix://", 7) == 0) {
        const char *path = url + 7;
        size_t path_len = strcspn(path, "?");

        if (path_len == 0 || path[0] != '/' || path_len > CONFIG_UNIX_PATH_MAX) {
            snprintf(why, n,
                     "expected unix:///absolute/path/to.sock[?db=N] with a path "
                     "of at most %d bytes",
                     CONFIG_UNIX_PATH_MAX);
            return -1;
        }
        memcpy(r->unix_path, path, path_len);
        r->unix_path[path_len] = '\0';
        return path[path_len] == '?'
                   ? parse_redis_query(path + path_len + 1, strlen(path + path_len + 1), r, why, n)
                   : 0;
    }

    if (strncasecmp(url, "redis://", 8) != 0) {
        snprintf(why, n, "expected " REDIS_URL_FORMS);
        return -1;
    }
    /* RFC 3986: the authority ends at the first '/', '?' or '#', and userinfo at
     * its last '@' (so an unescaped '@' in a password still works). */
    const char *auth = url + 8;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', auth_len);
    const char *rest = auth + auth_len;

    if (at != NULL) {
        size_t info_len = (size_t)(at - auth);
        const char *colon = memchr(auth, ':', info_len);
        size_t user_len = colon != NULL ? (size_t)(colon - auth) : info_len;

        if (percent_decode(auth, user_len, r->username, sizeof r->username) < 0 ||
            (colon != NULL && percent_decode(colon + 1, info_len - user_len - 1, r->password,
                                             sizeof r->password) < 0)) {
            snprintf(why, n, "the user or password is too long or badly %%-encoded");
            return -1;
        }
        if (strcmp(r->username, "default") == 0)
            r->username[0] = '\0';
        auth_len -= info_len + 1;
        auth = at + 1;
    }
    if (parse_host_port(auth, auth_len, r, why, n) < 0)
        return -1;

    if (*rest == '/') {
        size_t db_len = strcspn(++rest, "?#");
        unsigned long db = 0;

        if (db_len > 0 && !scan_uint(rest, db_len, CONFIG_REDIS_DB_MAX, &db)) {
            snprintf(why, n, "the database after '/' is not 0-%d", CONFIG_REDIS_DB_MAX);
            return -1;
        }
        r->db = (unsigned)db;
        rest += db_len;
    }
    if (*rest == '?') {
        size_t q_len = strcspn(++rest, "#");
        if (parse_redis_query(rest, q_len, r, why, n) < 0)
            return -1;
        rest += q_len;
    }
    if (*rest != '\0') {
        snprintf(why, n, "unexpected '#'; expected " REDIS_URL_FORMS);
        return -1;
    }
    return 0;
}

/* The originals' REDIS_ENDPOINT_URL: host:port. A value with a scheme is taken
 * as a URL, since that is plainly what was meant. */
static int parse_redis_endpoint(const char *value, struct config_redis *r, char *why, size_t n)
{
    if (strstr(value, "://") != NULL)
        return parse_redis_url(value, r, why, n);
    memset(r, 0, sizeof *r);
    if (parse_host_port(value, strlen(value), r, why, n) < 0) {
        size_t len = strlen(why);
        snprintf(why + len, n - len, "; expected host:port such as 127.0.0.1:6379");
        return -1;
    }
    return 0;
}

/* REDIS_URL, REDIS_ENDPOINT_URL and REDIS_PASSWORD make one target. The first
 * of these that is set wins: --redis-url, --redis-endpoint-url, $REDIS_URL,
 * $REDIS_ENDPOINT_URL (flags over the environment, as for everything else). */
static int load_redis(struct config *c, const char *const flags[OPT_COUNT], FILE *err)
{
    static const struct {
        enum opt_id id;
        bool flag;
    } order[] = {
        {OPT_REDIS_URL, true},
        {OPT_REDIS_ENDPOINT_URL, true},
        {OPT_REDIS_URL, false},
        {OPT_REDIS_ENDPOINT_URL, false},
    };
    const struct opt *src = &opts[OPT_REDIS_URL];
    const char *value = NULL;
    bool from_flag = false;
    char why[WHY_MAX];
    int rc;

    for (size_t i = 0; i < sizeof order / sizeof order[0] && value == NULL; i++) {
        value = order[i].flag ? flags[order[i].id] : env_value(&opts[order[i].id]);
        src = &opts[order[i].id];
        from_flag = order[i].flag;
    }
    if (value == NULL) {
        src = &opts[OPT_REDIS_URL];
        value = src->def;
    }
    if (src == &opts[OPT_REDIS_ENDPOINT_URL])
        rc = parse_redis_endpoint(value, &c->redis, why, sizeof why);
    else
        rc = parse_redis_url(value, &c->redis, why, sizeof why);
    if (rc < 0)
        return refuse(err, src, from_flag, value, why);

    src = &opts[OPT_REDIS_PASSWORD];
    from_flag = flags[OPT_REDIS_PASSWORD] != NULL;
    value = from_flag ? flags[OPT_REDIS_PASSWORD] : env_value(src);
    if (value != NULL && c->redis.password[0] == '\0') {
        if (strlen(value) > CONFIG_SECRET_MAX) {
            snprintf(why, sizeof why, "expected at most %d bytes", CONFIG_SECRET_MAX);
            return refuse(err, src, from_flag, value, why);
        }
        snprintf(c->redis.password, sizeof c->redis.password, "%s", value);
    }
    if (c->n_sentinels > 0 && c->redis.unix_path[0] != '\0') {
        bool sflag = flags[OPT_REDIS_SENTINELS] != NULL;
        snprintf(why, sizeof why,
                 "a Unix socket cannot be followed through a failover; "
                 "use redis:// in REDIS_URL (its host is then ignored)");
        return refuse(err, &opts[OPT_REDIS_SENTINELS], sflag,
                      sflag ? flags[OPT_REDIS_SENTINELS] : env_value(&opts[OPT_REDIS_SENTINELS]),
                      why);
    }
    return 0;
}

/* ---- the command line --------------------------------------------------- */

/* What chatd is and how settings are given: the head of --help and the
 * DESCRIPTION of the man page. */
static const char intro[] =
    "A Socket.IO chat server backed by Redis. Every setting is an environment\n"
    "variable, or the flag of the same name in lowercase with '_' as '-'\n"
    "(REDIS_URL is --redis-url); a flag wins over the environment, and an\n"
    "empty variable counts as unset.";

/* The values an option accepts, one sentence ("" when its help says it). */
static void describe_values(const struct opt *o, char *buf, size_t n)
{
    char lo[16], hi[16];

    switch (o->kind) {
    case KIND_UINT:
        snprintf(buf, n, "An integer %u-%u.", o->min, o->max);
        break;
    case KIND_DURATION:
        format_duration(o->min, lo, sizeof lo);
        format_duration(o->max, hi, sizeof hi);
        snprintf(buf, n, "A duration %s-%s: seconds, or a number with s, m, h or d.", lo, hi);
        break;
    case KIND_SIZE_KIB:
        format_size_kib(o->min, lo, sizeof lo);
        format_size_kib(o->max, hi, sizeof hi);
        snprintf(buf, n, "A size %s-%s: KiB, or a number with KiB, MiB or GiB.", lo, hi);
        break;
    case KIND_BOOL:
        snprintf(buf, n, "A boolean: 1/0, true/false, yes/no, on/off.");
        break;
    default:
        buf[0] = '\0';
        break;
    }
}

static const char *default_text(const struct opt *o)
{
    return o->def_text != NULL ? o->def_text : o->def;
}

/* Prints help text, indenting its continuation lines. */
static void put_indented(FILE *out, const char *text)
{
    for (; *text != '\0'; text++) {
        if (*text == '\n')
            fputs("\n      ", out);
        else
            fputc(*text, out);
    }
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: chatd [--flag VALUE | --flag=VALUE]...\n"
            "\n"
            "%s\n"
            "\n"
            "  -h, --help      print this help and exit (--help=man: as a man page)\n"
            "  -V, --version   print the version and exit\n",
            intro);
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct opt *o = &opts[i];
        char flag[FLAG_NAME_MAX], values[128];

        flag_name(o, flag, sizeof flag);
        fprintf(out, "\n  %s, --%s VALUE\n      default: %s\n      ", o->name, flag,
                default_text(o));
        put_indented(out, o->help);
        describe_values(o, values, sizeof values);
        if (values[0] != '\0')
            fprintf(out, "\n      %s", values);
        fputc('\n', out);
    }
}

/* ---- the man page: chatd(8), from the same table as --help ------------- */

/* text as roff: a backslash is \e, every '-' a minus (\-: flags and
 * values are typed as shown), and a line that would start with a control
 * character ('.' or '\'') is guarded with \&.  Line breaks stay. */
static void put_roff(FILE *out, const char *text)
{
    bool line_start = true;

    for (; *text != '\0'; text++) {
        if (line_start && (*text == '.' || *text == '\''))
            fputs("\\&", out);
        line_start = *text == '\n';
        if (*text == '\\')
            fputs("\\e", out);
        else if (*text == '-')
            fputs("\\-", out);
        else
            fputc(*text, out);
    }
}

/* The build's date as YYYY-MM-DD, from __DATE__ ("Mmm dd yyyy"; gcc takes
 * it from SOURCE_DATE_EPOCH when set, so builds are reproducible). */
static void build_date(char *buf, size_t n)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *d = __DATE__;
    const char *m = strstr(months, (char[4]){d[0], d[1], d[2], '\0'});
    unsigned month = m != NULL ? (unsigned)(m - months) / 3 + 1 : 1;
    unsigned day = (d[4] == ' ' ? 0u : (unsigned)(d[4] - '0')) * 10 + (unsigned)(d[5] - '0');

    snprintf(buf, n, "%.4s-%02u-%02u", d + 7, month % 100, day % 100);
}

static const char man_head[] =
    ".SH NAME\n"
    "chatd \\- real\\-time chat server: Socket.IO, backed by Redis\n"
    ".SH SYNOPSIS\n"
    ".B chatd\n"
    "[\\fB\\-\\-\\fIflag\\fR \\fIvalue\\fR | \\fB\\-\\-\\fIflag\\fB=\\fIvalue\\fR]...\n"
    ".br\n"
    ".B chatd \\-\\-help\\fR[\\fB=man\\fR] | \\fB\\-\\-version\n"
    ".SH DESCRIPTION\n";

static const char man_options[] =
    ".SH OPTIONS\n"
    ".TP\n"
    ".BR \\-h \", \" \\-\\-help\n"
    "Print the settings with their defaults and exit;\n"
    ".B \\-\\-help=man\n"
    "prints this page.\n"
    ".TP\n"
    ".BR \\-V \", \" \\-\\-version\n"
    "Print the version and exit.\n"
    ".SH ENVIRONMENT\n"
    "Each setting, with its flag and default; a value outside what it accepts\n"
    "stops chatd with exit status 2.\n";

static const char man_tail[] =
    ".SH FILES\n"
    ".TP\n"
    ".I /etc/chatd/chatd.env\n"
    "Settings of chatd.service, and of every instance of chatd@.service.\n"
    ".TP\n"
    ".I /etc/chatd/chatd@PORT.env\n"
    "Settings of the instance chatd@PORT.service only.\n"
    ".SH SIGNALS\n"
    ".TP\n"
    ".BR SIGTERM \", \" SIGINT\n"
    "Stop accepting connections, close every client connection cleanly, and exit 0.\n"
    ".TP\n"
    ".B SIGHUP\n"
    "Ignored: settings are read once, at start.\n"
    ".SH \"EXIT STATUS\"\n"
    "0 after a clean stop (and after \\-\\-help, \\-\\-version);\n"
    "1 when chatd could not start (the address is taken, out of memory);\n"
    "2 for an invalid setting or an unknown flag.\n"
    ".SH SYSTEMD\n"
    "Started with\n"
    ".B NOTIFY_SOCKET\n"
    "set (a unit with\n"
    ".BR Type=notify ),\n"
    "chatd sends READY=1 once it listens and its workers run, STOPPING=1 when\n"
    "its shutdown starts, and a STATUS= line.\n"
    "With\n"
    ".B WATCHDOG_USEC\n"
    "set (\\fBWatchdogSec=\\fR), and\n"
    ".B WATCHDOG_PID\n"
    "unset or chatd's, it sends WATCHDOG=1 every half of that time while every\n"
    "worker's event loop turns.\n"
    ".SH \"SEE ALSO\"\n"
    ".BR systemd.service (5),\n"
    ".BR nginx (8),\n"
    ".BR redis\\-server (1),\n"
    ".BR redis\\-sentinel (1);\n"
    "docs/configuration.md and docs/deployment.md in chatd's sources.\n";

static void man_page(FILE *out)
{
    char date[16];

    build_date(date, sizeof date);
    fprintf(out, ".TH CHATD 8 %s \"chatd %s\" \"System Administration\"\n", date, CHATD_VERSION);
    fputs(man_head, out);
    put_roff(out, intro);
    fputs("\n.PP\nchatd serves the chat's HTTP API, its Socket.IO endpoint and the web app;\n"
          "several chatd sharing one Redis form one chat.\n",
          out);
    fputs(man_options, out);
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct opt *o = &opts[i];
        char flag[FLAG_NAME_MAX], values[128];

        flag_name(o, flag, sizeof flag);
        fputs(".TP\n.BR ", out);
        put_roff(out, o->name);
        fputs(" \", \" \\-\\-", out);
        put_roff(out, flag);
        fputs(" \" \\fIvalue\\fR\"\n", out);
        put_roff(out, o->help);
        describe_values(o, values, sizeof values);
        if (values[0] != '\0') {
            fputc('\n', out);
            put_roff(out, values);
        }
        fputs("\n.br\nDefault: ", out);
        put_roff(out, default_text(o));
        fputc('\n', out);
    }
    fputs(man_tail, out);
}

/* Reads the flags into flags[] (pointers into argv). Returns 0 to go on, 1 when
 * help or the version was printed, 2 on a bad command line. */
static int scan_args(int argc, char **argv, const char *flags[OPT_COUNT], FILE *out, FILE *err)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        char shown[ECHO_MAX * 4 + 16];

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(out);
            return 1;
        }
        if (strcmp(arg, "--help=man") == 0) {
            man_page(out);
            return 1;
        }
        if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
            fprintf(out, "chatd %s\n", CHATD_VERSION);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            echo_value(arg, shown, sizeof shown);
            fprintf(err, "chatd: unexpected argument%s; see chatd --help\n", shown);
            return 2;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        int id = opt_by_flag(name, name_len);

        if (id < 0) {
            echo_value(arg, shown, sizeof shown);
            fprintf(err, "chatd: unknown flag%s; see chatd --help\n", shown);
            return 2;
        }
        if (eq != NULL) {
            flags[id] = eq + 1;
        } else if (i + 1 < argc) {
            flags[id] = argv[++i];
        } else {
            fprintf(err, "chatd: flag --%.*s needs a value\n", (int)name_len, name);
            return 2;
        }
    }
    return 0;
}

static int apply(struct config *c, const struct opt *o, const char *value, char *why, size_t n)
{
    switch (o->kind) {
    case KIND_UINT:
        return parse_uint(c, o, value, why, n);
    case KIND_DURATION:
        return parse_duration(c, o, value, why, n);
    case KIND_SIZE_KIB:
        return parse_size_kib(c, o, value, why, n);
    case KIND_BOOL:
        return parse_bool(c, o, value, why, n);
    case KIND_CUSTOM:
        return o->parse(c, value, why, n);
    case KIND_REDIS:
        break; /* load_redis does them together */
    }
    return 0;
}

int config_load(struct config *cfg, int argc, char **argv, FILE *out, FILE *err)
{
    const char *flags[OPT_COUNT] = {NULL};
    struct config c;
    char why[WHY_MAX];
    int rc = scan_args(argc, argv, flags, out, err);

    if (rc != 0)
        return rc;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct opt *o = &opts[i];
        bool from_flag = flags[i] != NULL;
        const char *value = from_flag ? flags[i] : env_value(o);

        if (value != NULL) {
            rc = apply(&c, o, value, why, sizeof why);
            if (rc < 0 && o->refusal_note != NULL) {
                size_t at = strlen(why);
                snprintf(why + at, sizeof why - at, " (%s)", o->refusal_note);
            }
            if (rc < 0)
                rc = refuse(err, o, from_flag, value, why);
        } else if (o->def != NULL) {
            rc = apply(&c, o, o->def, why, sizeof why);
            if (rc < 0) /* a bug in the table; the default tests catch it */
                rc = refuse(err, o, false, o->def, why);
        } else if (o->compute != NULL && o->compute(&c, why, sizeof why) < 0) {
            fprintf(err, "chatd: cannot set %s: %s\n", o->name, why);
            rc = 2;
        }
        if (rc != 0) {
            config_free(&c);
            return 2;
        }
    }
    if (load_redis(&c, flags, err) != 0) {
        config_free(&c);
        return 2;
    }
    *cfg = c;
    return 0;
}

void config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->links);
    cfg->links = NULL;
    sodium_memzero(cfg->redis.password, sizeof cfg->redis.password);
    sodium_memzero(cfg->sentinel_password, sizeof cfg->sentinel_password);
}

const char *config_redis_describe(const struct config *cfg, char *buf, size_t n)
{
    const struct config_redis *r = &cfg->redis;
    bool v6 = strchr(r->host, ':') != NULL;

    if (n == 0)
        return buf;
    if (cfg->n_sentinels > 0) {
        /* "sentinel://h1:26379,h2:26379/mymaster/0" (password as ***) */
        size_t at = (size_t)snprintf(buf, n, "sentinel://%s%s%s", r->username,
                                     r->password[0] != '\0' ? ":***" : "",
                                     r->username[0] != '\0' || r->password[0] != '\0' ? "@" : "");
        for (size_t i = 0; i < cfg->n_sentinels && at < n; i++) {
            const struct config_sentinel *sn = &cfg->sentinels[i];
            bool v6s = strchr(sn->host, ':') != NULL;
            at += (size_t)snprintf(buf + at, n - at, "%s%s%s%s:%u", i ? "," : "", v6s ? "[" : "",
                                   sn->host, v6s ? "]" : "", sn->port);
        }
        if (at < n)
            snprintf(buf + at, n - at, "/%s/%u", cfg->master_name, r->db);
        return buf;
    }
    if (r->unix_path[0] != '\0')
        snprintf(buf, n, "unix://%s?db=%u%s", r->unix_path, r->db,
                 r->password[0] != '\0' ? "&password=***" : "");
    else
        snprintf(buf, n, "redis://%s%s%s%s%s%s:%u/%u", r->username,
                 r->password[0] != '\0' ? ":***" : "",
                 r->username[0] != '\0' || r->password[0] != '\0' ? "@" : "", v6 ? "[" : "",
                 r->host, v6 ? "]" : "", r->port, r->db);
    return buf;
}
