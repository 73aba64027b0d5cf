/* config_redis — the Redis target's forms (config_redis.h). */
#include "config_redis.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config.h"
#include "config_parse.h"

#define REDIS_DEFAULT_PORT 6379
#define SENTINEL_DEFAULT_PORT 26379

#define REDIS_URL_FORMS "redis://[[user]:password@]host[:port][/db] or unix:///path/to.sock[?db=N]"

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

int parse_sentinels(struct config *c, const char *value, char *why, size_t n)
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

int parse_redis_url(const char *url, struct config_redis *r, char *why, size_t n)
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

int parse_redis_endpoint(const char *value, struct config_redis *r, char *why, size_t n)
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
