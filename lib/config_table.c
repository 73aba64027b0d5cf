/* config_table — every setting of chatd (config_table.h).  Defaults go
 * through the same parsers as the user's values, so `chatd --help` cannot
 * disagree with what the server does. */
#include "config_table.h"

#include <stdio.h>
#include <string.h>

#include "addrkey.h"
#include "config.h"
#include "config_parse.h"
#include "config_redis.h"

#define UINT_FIELD(field, lo, hi)                                                                  \
    .kind = KIND_UINT, .offset = offsetof(struct config, field), .min = (lo), .max = (hi)
#define DURATION_FIELD(field, lo, hi)                                                              \
    .kind = KIND_DURATION, .offset = offsetof(struct config, field), .min = (lo), .max = (hi)
#define SIZE_KIB_FIELD(field, lo, hi)                                                              \
    .kind = KIND_SIZE_KIB, .offset = offsetof(struct config, field), .min = (lo), .max = (hi)
#define BOOL_FIELD(field) .kind = KIND_BOOL, .offset = offsetof(struct config, field)

/* The floor of PASSWORD_MEMORY and PASSWORD_ITERATIONS, said where they are refused. */
#define ARGON2ID_FLOOR_NOTE "OWASP's minimum for Argon2id is 19MiB with 2 iterations"

const struct opt config_opts[OPT_COUNT] = {
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
                          "explicit: only POST /register creates users;\n"
                          "closed: nobody registers (/register answers 403).",
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
    [OPT_USER_SEARCHES_PER_MINUTE] = {"USER_SEARCHES_PER_MINUTE", "60", NULL,
                                      "People searches (GET /users/search) one user may make per\n"
                                      "minute; beyond, 429.",
                                      UINT_FIELD(user_searches_per_minute, 1, 100000)},
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

void flag_name(const struct opt *o, char *buf, size_t n)
{
    size_t i = 0;

    for (; o->name[i] != '\0' && i + 1 < n; i++)
        buf[i] = o->name[i] == '_' ? '-' : ascii_lower(o->name[i]);
    buf[i] = '\0';
}

int opt_by_flag(const char *name, size_t len)
{
    char flag[FLAG_NAME_MAX];

    for (int i = 0; i < OPT_COUNT; i++) {
        flag_name(&config_opts[i], flag, sizeof flag);
        if (strlen(flag) == len && memcmp(flag, name, len) == 0)
            return i;
    }
    return -1;
}
