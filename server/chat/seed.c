/* seed: the demo data, written once with WATCH/MULTI/EXEC (see seed.h). */
#include "seed.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "config.h"
#include "log.h"
#include "password.h"
#include "redis_sync.h"
#include "store.h"
#include "username.h"

#define SEED_TIMEOUT_S 5

/* Runs a command and checks its reply is not an error.  0 or -1. */
static int run(redisContext *c, redisReply **out, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        log_warn("seed: %s failed: %s", argv[0], r ? r->str : c->errstr);
        freeReplyObject(r);
        return -1;
    }
    if (out)
        *out = r;
    else
        freeReplyObject(r);
    return 0;
}

struct pipeline {
    redisContext *c;
    int queued;
};

static int append(void *ctx, int argc, const char **argv, const size_t *lens)
{
    struct pipeline *p = ctx;
    p->queued++;
    return redisAppendCommandArgv(p->c, argc, argv, lens) == REDIS_OK ? 0 : -1;
}

static uint32_t random32(void *ctx)
{
    (void)ctx;
    return randombytes_random();
}

int seed_demo(const struct config *cfg)
{
    redisContext *c = redis_sync_connect(cfg, SEED_TIMEOUT_S, "seed");
    if (!c)
        return -1;
    int rc = -1;
    redisReply *r = NULL;
    if (run(c, NULL, 2, (const char *[]){"WATCH", STORE_KEY_TOTAL_USERS}) ||
        run(c, &r, 2, (const char *[]){"EXISTS", STORE_KEY_TOTAL_USERS}))
        goto out;
    if (r->integer) {
        rc = 0;
        goto out;
    }

    enum pw_scheme scheme = cfg->password_hash;
    char hashes[STORE_DEMO_USERS][PW_HASH_MAX];
    const char *hash_ptrs[STORE_DEMO_USERS];
    for (int i = 0; i < STORE_DEMO_USERS; i++) {
        if (pw_hash(scheme, STORE_DEMO_PASSWORD, strlen(STORE_DEMO_PASSWORD), hashes[i]) < 0) {
            log_error("seed: password hashing failed");
            goto out;
        }
        hash_ptrs[i] = hashes[i];
    }

    /* Queue MULTI, the data, EXEC; then read every reply.  EXEC answers
     * nil when another server seeded first (the WATCH fired). */
    struct pipeline p = {.c = c};
    bool ok = redisAppendCommand(c, "MULTI") == REDIS_OK &&
              store_seed_commands(hash_ptrs, (int64_t)time(NULL), random32, append, &p) == 0 &&
              redisAppendCommand(c, "EXEC") == REDIS_OK;
    if (!ok) {
        log_error("seed: could not build the demo data");
        goto out;
    }
    for (int i = 0; i < p.queued + 2; i++) {
        freeReplyObject(r);
        r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR) {
            log_error("seed: %s", r ? r->str : c->errstr);
            goto out;
        }
    }
    if (r->type == REDIS_REPLY_ARRAY) {
        log_info("seeded the demo data (users %s, %s, %s, %s)", STORE_DEMO_USERNAMES[0],
                 STORE_DEMO_USERNAMES[1], STORE_DEMO_USERNAMES[2], STORE_DEMO_USERNAMES[3]);
        rc = 1;
    } else {
        rc = 0;
    }
out:
    freeReplyObject(r);
    redisFree(c);
    return rc;
}

/* ---- the canonical username index ------------------------------------- */

#define INDEX_SCAN_COUNT "500"

/* Reads n replies and frees them; -1 at the first that failed. */
static int drain_replies(redisContext *c, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR) {
            log_warn("username index: %s", r ? r->str : c->errstr);
            rc = -1;
        }
        freeReplyObject(r);
        if (!r)
            return -1; /* the connection is gone: nothing more to read */
    }
    return rc;
}

/* Queues the ZADD of a user's people search entry, "<canonical> NUL <id>"
 * (every user, look-alikes of an indexed name too: each can be found). */
static int search_entry(redisContext *c, const char *canonical, const redisReply *ref)
{
    uint64_t id;
    char member[USERNAME_CANONICAL_MAX + 1 + 24];
    size_t clen = strlen(canonical);
    if (store_parse_user_ref(ref->str, ref->len, &id) < 0)
        return -1;
    memcpy(member, canonical, clen);
    member[clen] = STORE_KEY_USER_SEARCH_SEP;
    int n = snprintf(member + clen + 1, sizeof member - clen - 1, "%" PRIu64, id);
    if (n < 0 || (size_t)n >= sizeof member - clen - 1)
        return -1;
    size_t len = clen + 1 + (size_t)n;
    return redisAppendCommandArgv(c, 4, (const char *[]){"ZADD", STORE_KEY_USER_SEARCH, "0", member},
                                  (const size_t[]){4, strlen(STORE_KEY_USER_SEARCH), 1, len}) ==
                   REDIS_OK
               ? 0
               : -1;
}

/* Indexes the users of one SCAN page of username keys: GET each one's
 * user, then SET its canonical entry unless one exists (NX), and add its
 * people search entry. */
static int index_page(redisContext *c, const redisReply *keys)
{
    size_t queued = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        if (k->type == REDIS_REPLY_STRING &&
            redisAppendCommandArgv(c, 2, (const char *[]){"GET", k->str},
                                   (const size_t[]){3, k->len}) == REDIS_OK)
            queued++;
    }
    size_t sets = 0;
    int rc = 0;
    for (size_t i = 0, q = 0; i < keys->elements && q < queued; i++) {
        const redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING)
            continue;
        q++;
        redisReply *ref = NULL;
        if (redisGetReply(c, (void **)&ref) != REDIS_OK || !ref)
            return -1;
        const char *name;
        size_t name_len;
        char canonical[USERNAME_CANONICAL_MAX + 1], key[STORE_KEY_MAX];
        if (ref->type == REDIS_REPLY_STRING &&
            store_username_of_key(k->str, k->len, &name, &name_len) == 0 &&
            username_canonical(name, name_len, canonical) >= 0 &&
            store_key_username_canonical(key, sizeof key, canonical) > 0 &&
            redisAppendCommandArgv(c, 4, (const char *[]){"SET", key, ref->str, "NX"},
                                   (const size_t[]){3, strlen(key), ref->len, 2}) == REDIS_OK) {
            sets++;
            sets += search_entry(c, canonical, ref) == 0;
        } else if (ref->type == REDIS_REPLY_ERROR)
            rc = -1;
        freeReplyObject(ref);
    }
    return drain_replies(c, sets) < 0 ? -1 : rc;
}

int seed_username_index(const struct config *cfg)
{
    redisContext *c = redis_sync_connect(cfg, SEED_TIMEOUT_S, "username index");
    if (!c)
        return -1;
    char cursor[32] = "0";
    int rc = 0;
    do {
        redisReply *r = NULL;
        if (run(c, &r, 6,
                (const char *[]){"SCAN", cursor, "MATCH", STORE_USERNAME_KEY_PATTERN, "COUNT",
                                 INDEX_SCAN_COUNT}) < 0) {
            rc = -1;
            break;
        }
        bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                  r->element[0]->type == REDIS_REPLY_STRING &&
                  r->element[0]->len < sizeof cursor && r->element[1]->type == REDIS_REPLY_ARRAY;
        if (ok) {
            memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
            ok = index_page(c, r->element[1]) == 0;
        }
        freeReplyObject(r);
        if (!ok) {
            rc = -1;
            break;
        }
    } while (strcmp(cursor, "0") != 0);
    redisFree(c);
    return rc;
}
