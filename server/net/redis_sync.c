/* redis_sync: blocking connections (see redis_sync.h). */
#include "redis_sync.h"

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "log.h"
#include "sentinel.h"

static bool ok(redisContext *c, redisReply *r, const char *who, const char *what)
{
    bool good = r && r->type != REDIS_REPLY_ERROR;
    if (!good && who)
        log_warn("%s: %s failed: %s", who, what, r ? r->str : c->errstr);
    freeReplyObject(r);
    return good;
}

redisContext *redis_sync_connect(const struct config *cfg, int timeout_s, const char *who)
{
    struct timeval tv = {.tv_sec = timeout_s};
    struct sentinel_addr master;
    if (!cfg->redis.unix_path[0] && !sentinel_master(cfg, &master)) {
        if (who)
            log_warn("%s: the Sentinels know of no Redis master now", who);
        return NULL;
    }
    redisContext *c = cfg->redis.unix_path[0]
                          ? redisConnectUnixWithTimeout(cfg->redis.unix_path, tv)
                          : redisConnectWithTimeout(master.host, (int)master.port, tv);
    if (!c || c->err) {
        if (who)
            log_warn("%s: cannot reach Redis: %s", who, c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (!cfg->redis.unix_path[0])
        redisEnableKeepAlive(c); /* notices a Redis that vanished without a FIN */
    bool good = true;
    if (cfg->redis.username[0])
        good = ok(c, redisCommand(c, "AUTH %s %s", cfg->redis.username, cfg->redis.password), who,
                  "AUTH");
    else if (cfg->redis.password[0])
        good = ok(c, redisCommand(c, "AUTH %s", cfg->redis.password), who, "AUTH");
    if (good && cfg->redis.db)
        good = ok(c, redisCommand(c, "SELECT %u", cfg->redis.db), who, "SELECT");
    if (!good) {
        redisFree(c);
        return NULL;
    }
    return c;
}
