/* config_load — config_load and config_free of config.h: the command line
 * and the environment, through the table of config_table.c, into a struct
 * config.  One table describes every setting: its name, default, help text
 * and parser (config_parse.c; config_redis.c for the Redis target), and
 * --help and the man page are written from it (config_usage.c).  Defaults go
 * through the same parsers as the user's values, so `chatd --help` cannot
 * disagree with what the server does.
 *
 * Loading fills a private struct and copies it out only on success, so a
 * refusal leaves the caller's struct as it was.
 */
#include "config.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "config_opt.h"
#include "config_parse.h"
#include "config_redis.h"
#include "config_table.h"
#include "config_usage.h"

#define WHY_MAX 320 /* the reason part of an error line */

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
    const struct opt *src = &config_opts[OPT_REDIS_URL];
    const char *value = NULL;
    bool from_flag = false;
    char why[WHY_MAX];
    int rc;

    for (size_t i = 0; i < sizeof order / sizeof order[0] && value == NULL; i++) {
        value = order[i].flag ? flags[order[i].id] : env_value(&config_opts[order[i].id]);
        src = &config_opts[order[i].id];
        from_flag = order[i].flag;
    }
    if (value == NULL) {
        src = &config_opts[OPT_REDIS_URL];
        value = src->def;
    }
    if (src == &config_opts[OPT_REDIS_ENDPOINT_URL])
        rc = parse_redis_endpoint(value, &c->redis, why, sizeof why);
    else
        rc = parse_redis_url(value, &c->redis, why, sizeof why);
    if (rc < 0)
        return refuse(err, src, from_flag, value, why);

    src = &config_opts[OPT_REDIS_PASSWORD];
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
        return refuse(
            err, &config_opts[OPT_REDIS_SENTINELS], sflag,
            sflag ? flags[OPT_REDIS_SENTINELS] : env_value(&config_opts[OPT_REDIS_SENTINELS]), why);
    }
    return 0;
}

/* ---- the command line --------------------------------------------------- */

/* Reads the flags into flags[] (pointers into argv). Returns 0 to go on, 1 when
 * help or the version was printed, 2 on a bad command line. */
static int scan_args(int argc, char **argv, const char *flags[OPT_COUNT], FILE *out, FILE *err)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        char shown[ECHO_MAX * 4 + 16];

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            config_usage(out);
            return 1;
        }
        if (strcmp(arg, "--help=man") == 0) {
            config_man_page(out);
            return 1;
        }
        if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
            config_version(out);
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
        const struct opt *o = &config_opts[i];
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
