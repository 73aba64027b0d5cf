/* config_parse — the value parsers of config (config_parse.h). */
#include "config_parse.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"

#define SERVER_ID_RANDOM_BYTES 8 /* the default SERVER_ID: 16 hex digits */

/* ---- small helpers ------------------------------------------------------ */

char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

bool scan_uint(const char *s, size_t len, unsigned long max, unsigned long *out)
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

void format_duration(unsigned seconds, char *buf, size_t n)
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

void format_size_kib(unsigned kib, char *buf, size_t n)
{
    if (kib != 0 && kib % (1024u * 1024) == 0)
        snprintf(buf, n, "%uGiB", kib / (1024u * 1024));
    else if (kib != 0 && kib % 1024 == 0)
        snprintf(buf, n, "%uMiB", kib / 1024);
    else
        snprintf(buf, n, "%uKiB", kib);
}

/* ---- generic kinds ------------------------------------------------------ */

int parse_uint(struct config *c, const struct opt *o, const char *value, char *why, size_t n)
{
    unsigned long v;

    if (!scan_uint(value, strlen(value), o->max, &v) || v < o->min) {
        snprintf(why, n, "expected an integer %u-%u", o->min, o->max);
        return -1;
    }
    *uint_field(c, o) = (unsigned)v;
    return 0;
}

int parse_duration(struct config *c, const struct opt *o, const char *value, char *why, size_t n)
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
int parse_size_kib(struct config *c, const struct opt *o, const char *value, char *why, size_t n)
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

int parse_bool(struct config *c, const struct opt *o, const char *value, char *why, size_t n)
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

int parse_bind(struct config *c, const char *value, char *why, size_t n)
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

int parse_web_root(struct config *c, const char *value, char *why, size_t n)
{
    size_t len = strlen(value);

    if (len == 0 || len > CONFIG_PATH_MAX) {
        snprintf(why, n, "expected a directory path of 1-%d bytes", CONFIG_PATH_MAX);
        return -1;
    }
    memcpy(c->web_root, value, len + 1);
    return 0;
}

int parse_server_id(struct config *c, const char *value, char *why, size_t n)
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
int parse_master_name(struct config *c, const char *value, char *why, size_t n)
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

int parse_sentinel_password(struct config *c, const char *value, char *why, size_t n)
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

int parse_origins(struct config *c, const char *value, char *why, size_t n)
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

int parse_registration(struct config *c, const char *value, char *why, size_t n)
{
    static const enum config_registration values[] = {
        CONFIG_REGISTRATION_OPEN, CONFIG_REGISTRATION_EXPLICIT, CONFIG_REGISTRATION_CLOSED};
    static const char *const words[] = {"open", "explicit", "closed"};
    int i = match_word(value, words, 3);

    if (i < 0) {
        snprintf(why, n, "expected open, explicit or closed");
        return -1;
    }
    c->registration = values[i];
    return 0;
}

int parse_password_hash(struct config *c, const char *value, char *why, size_t n)
{
    static const enum pw_scheme values[] = {PW_ARGON2ID, PW_BCRYPT};
    int i = match_either(value, "argon2id", "bcrypt", why, n);

    if (i < 0)
        return -1;
    c->password_hash = values[i];
    return 0;
}

int parse_password_rehash(struct config *c, const char *value, char *why, size_t n)
{
    static const enum pw_rehash values[] = {PW_REHASH_WEAKER, PW_REHASH_DIFFERENT};
    int i = match_either(value, "weaker", "different", why, n);

    if (i < 0)
        return -1;
    c->password_rehash = values[i];
    return 0;
}

int parse_log_level(struct config *c, const char *value, char *why, size_t n)
{
    if (log_level_parse(value, &c->log_level) < 0) {
        snprintf(why, n, "expected error, warn, info or debug");
        return -1;
    }
    return 0;
}

int parse_links(struct config *c, const char *value, char *why, size_t n)
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

int default_workers(struct config *c, char *why, size_t n)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    c->workers = cpus < 1 ? 1 : cpus > CONFIG_WORKERS_MAX ? CONFIG_WORKERS_MAX : (unsigned)cpus;
    return 0;
}

int default_server_id(struct config *c, char *why, size_t n)
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
