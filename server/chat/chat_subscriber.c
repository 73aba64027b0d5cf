/* chat_subscriber: the subscriber thread's side of the application —
 * every message of MESSAGES through the fan-out, the control channel's
 * logouts, and the catch-up from the event log after a lost connection. */
#include "chat_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "chat.h"
#include "log.h"
#include "metrics.h"
#include "rconn.h"
#include "redis_sync.h"
#include "token.h"

/* A message of chatd's control channel: a logout closes every connection
 * its login session opened on this server (their sid alone no longer
 * reaches them: see eio_binding). */
static void on_control(struct chat *c, const char *payload, size_t len)
{
    char digest_hex[TOKEN_DIGEST_HEX_LEN + 1];
    unsigned char digest[TOKEN_DIGEST_BYTES];
    if (store_control_read(payload, len, digest_hex) != STORE_CONTROL_LOGOUT ||
        !token_digest_from_hex(digest_hex, strlen(digest_hex), digest)) {
        log_debug("control: ignoring an unknown message");
        return;
    }
    chat_close_login(c, digest, false);
}

/* Whether a logged event at o is new to the subscriber (one a catch-up
 * applied already comes again live); it becomes the last applied. */
static bool applied_next(struct chat *c, const struct store_offset *o, const char *id)
{
    if (c->has_applied && store_offset_cmp(o, &c->applied) <= 0)
        return false;
    c->has_applied = true;
    c->applied = *o;
    snprintf(c->applied_id, sizeof c->applied_id, "%s", id);
    return true;
}

/* Every message of MESSAGES: {"offset", "serverId", "type", "data"} (the
 * originals' have no offset: sent without one, never replayed); and of
 * chatd's control channel. */
void chat_on_channel(void *ctx, const char *channel, const char *payload, size_t len)
{
    struct chat *c = ctx;
    if (channel == STORE_CONTROL_CHANNEL) {
        on_control(c, payload, len);
        return;
    }
    const char *type = NULL;
    const cJSON *data = NULL;
    cJSON *env = store_envelope_read(payload, len, &type, &data);
    if (!env) {
        log_debug("channel: ignoring a malformed event");
    } else {
        const cJSON *offset = cJSON_GetObjectItemCaseSensitive(env, "offset");
        struct store_offset o;
        struct fan f = {.c = c};
        if (cJSON_IsString(offset) &&
            store_offset_parse(offset->valuestring, strlen(offset->valuestring), &o) == 0)
            f.offset = offset->valuestring;
        if (!f.offset || applied_next(c, &o, f.offset))
            chat_fan_event(&f, type, data);
    }
    metrics_inc(METRICS_BROADCASTS);
    cJSON_Delete(env);
}

/* ---- the subscriber's catch-up (subscriber thread) ------------------------- */

/* Events after this many pages are too many to catch up: sockets reconnect. */
#define CATCH_UP_PAGES (STORE_EVENTS_MAX / STORE_CATCH_UP_PAGE + 1)

static void close_one(void *ctx, struct eio_session *es, uint64_t user)
{
    (void)ctx;
    (void)user;
    eio_session_close(es, "events lost");
}

/* Runs SCRIPT_CATCH_UP after `after` (NULL: the position only) on r. */
static redisReply *catch_up_call(redisContext *r, const char *after)
{
    struct store_call call;
    const char *argv[STORE_CALL_ARGV_MAX];
    int argc = store_call_catch_up(&call, after) < 0 ? -1 : store_call_eval_argv(&call, argv);
    redisReply *reply = argc < 0 ? NULL : redisCommandArgv(r, argc, argv, NULL);
    if (reply && (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
                  !rconn_str(reply->element[0], NULL))) {
        freeReplyObject(reply);
        reply = NULL;
    }
    return reply;
}

/* One logged event {id, {'e', envelope}} through live fan-out, unless it
 * was applied already. */
static void catch_up_entry(struct chat *c, const redisReply *e)
{
    struct log_event ev;
    if (!chat_log_event_parse(e, &ev))
        return;
    struct fan f = {.c = c, .offset = ev.id};
    if (applied_next(c, &ev.at, ev.id) && ev.env)
        chat_fan_event(&f, ev.type, ev.data);
    cJSON_Delete(ev.env);
}

/* Applies one page after the last applied event: 1 more may follow, 0
 * done, -1 the log no longer holds them all (or Redis failed: -2). */
static int catch_up_page(struct chat *c, redisContext *r, struct store_offset *position)
{
    redisReply *reply = catch_up_call(r, c->applied_id);
    if (!reply || reply->elements != 3 || reply->element[2]->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(reply);
        return -2;
    }
    const char *pos = rconn_str(reply->element[0], NULL);
    const char *deleted = rconn_str(reply->element[1], NULL);
    struct store_offset gone;
    int rc = store_offset_parse(pos, strlen(pos), position) < 0 || !deleted ||
                     store_offset_parse(deleted, strlen(deleted), &gone) < 0
                 ? -2
                 : store_offset_cmp(&gone, &c->applied) > 0 ? -1 : 0;
    const redisReply *events = reply->element[2];
    for (size_t i = 0; rc == 0 && i < events->elements; i++)
        catch_up_entry(c, events->element[i]);
    if (rc == 0 && events->elements == STORE_CATCH_UP_PAGE)
        rc = 1;
    freeReplyObject(reply);
    return rc;
}

/* The subscription is in place (subscriber_resume_fn): the first time,
 * note the log's position; after a lost connection, apply what was
 * logged since the last event applied, in order, so no socket misses
 * one.  When the log no longer holds them all, every socket is closed
 * instead ("events lost", chat_recoverable): each recovers from its own
 * offset, or starts afresh. */
int chat_on_resume(void *ctx)
{
    struct chat *c = ctx;
    redisContext *r = redis_sync_connect(c->cfg, 2, NULL);
    if (!r)
        return -1;
    int rc = 1;
    struct store_offset position;
    if (!c->has_applied) {
        redisReply *reply = catch_up_call(r, NULL);
        const char *pos = reply ? rconn_str(reply->element[0], NULL) : NULL;
        rc = pos && store_offset_parse(pos, strlen(pos), &position) == 0 &&
                     applied_next(c, &position, pos)
                 ? 0
                 : -2;
        freeReplyObject(reply);
    }
    for (int page = 0; rc == 1 && page < CATCH_UP_PAGES; page++)
        rc = catch_up_page(c, r, &position);
    redisFree(r);
    if (rc == -2)
        return -1;
    if (rc != 0) {
        size_t n = roster_each(c->roster, close_one, NULL);
        log_warn("subscriber: events missed while disconnected are no longer in the log; "
                 "%zu connections closed to recover",
                 n);
        char id[STORE_OFFSET_MAX];
        snprintf(id, sizeof id, "%" PRIu64 "-%" PRIu64, position.ms, position.seq);
        applied_next(c, &position, id);
    }
    return 0;
}
