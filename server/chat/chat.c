/* chat: chatd's Socket.IO application (see chat.h).
 *
 * Every event reaches sockets through one path: the worker stores and
 * PUBLISHes it on MESSAGES (one Lua script, one round trip); the subscriber
 * thread receives it — ours and other servers' alike —, encodes the packet
 * once and queues that one buffer on every target socket found in the
 * roster.  So delivery is exactly once, and the same on every server. */
#include "chat.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "addrlimit.h"
#include "auth.h"
#include "chat_internal.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "strmap.h"
#include "subscriber.h"
#include "token.h"

/* ---- client events ------------------------------------------------------------- */

/* Every event a client may send, and its handler: the one list (docs/api.md
 * documents exactly these; the apidoc test reads this table). */
static const struct chat_event {
    const char *name;
    chat_event_fn *fn;
} client_events[] = {
    {"message", chat_on_message},
    {"room.join", chat_on_room_join},
    {"typing", chat_on_typing},
    {"message.edit", chat_on_edit},
    {"message.delete", chat_on_delete},
    {"message.react", chat_on_react},
    {"room.read", chat_on_room_read},
};

/* An event of a connected socket, charged to its budget first (an unknown
 * name too), then to its handler. */
static void on_event(void *ctx, struct sio_socket *s, struct worker *w, const char *name,
                     const cJSON *data, bool has_ack, uint64_t ack_id)
{
    struct chat *c = ctx;
    struct chat_user *u = sio_socket_data(s);
    const cJSON *arg = cJSON_GetArrayItem(data, 1);
    if (!u || !u->member) {
        chat_ack(s, has_ack, ack_id, "Not connected", NULL);
        return;
    }
    if (!chat_event_budgeted(c, s, u, has_ack, ack_id))
        return;
    for (size_t i = 0; i < sizeof client_events / sizeof *client_events; i++) {
        if (strcmp(name, client_events[i].name) == 0) {
            client_events[i].fn(c, s, w, arg, has_ack, ack_id);
            return;
        }
    }
    chat_ack(s, has_ack, ack_id, "Unknown event", NULL);
}

static void on_unreadable(void *ctx, struct sio_socket *s, bool has_ack, uint64_t ack_id)
{
    struct chat_user *u = sio_socket_data(s);
    if (!u || chat_event_budgeted(ctx, s, u, has_ack, ack_id))
        chat_ack(s, has_ack, ack_id, "Text must not contain NUL characters", NULL);
}

/* ---- an Engine.IO session's data ------------------------------------------------ */

/* A client's data: the session key of its handshake's cookie ("" without
 * a well-formed one), kept for its life at its own length. */
static void *on_open(void *ctx, struct http_req *req, bool *refuse)
{
    (void)ctx;
    char key[STORE_KEY_MAX];
    auth_session_key(req, key, sizeof key);
    size_t len = strlen(key);
    struct chat_client *cl = calloc(1, sizeof *cl + len + 1);
    if (!cl)
        *refuse = true;
    else
        memcpy(cl->session_key, key, len + 1);
    return cl;
}

static void on_close(void *ctx, void *client_data)
{
    (void)ctx;
    free(client_data);
}

size_t chat_close_login(struct chat *c, const unsigned char *digest, bool settle)
{
    _Static_assert(TOKEN_DIGEST_BYTES == EIO_CREDENTIAL_BYTES, "a credential is a cookie digest");
    size_t n = c->engine ? engine_close_bound(c->engine, digest, "logout", settle) : 0;
    if (n)
        log_debug("logout: %zu connections closed", n);
    return n;
}

/* ---- life ------------------------------------------------------------------------------ */

static const char *const namespaces[] = {"/", NULL};

/* Warns when one user's allowed events (MESSAGES_PER_MINUTE of at most
 * MAX_MESSAGE_BYTES, plus a read marker for each) could fill the event log
 * within RECOVERY_WINDOW: then one user could push the others' offsets out
 * of it, and their recoveries would fail. */
static void check_event_log(const struct config *cfg)
{
    uint64_t minutes = (cfg->recovery_window + 59) / 60;
    uint64_t events = 2 * (uint64_t)cfg->messages_per_minute * minutes;
    /* A message's envelope: its text JSON-escaped (at most twice as long
     * for the quotes and backslashes a text may hold), and the rest. */
    uint64_t bytes = (uint64_t)cfg->messages_per_minute * minutes * (2 * cfg->max_message_bytes + 512);
    if (events > STORE_EVENTS_MAX / 2 || bytes > cfg->event_log_bytes / 2)
        log_warn("one user may log %" PRIu64 " events (%" PRIu64 " bytes) in RECOVERY_WINDOW=%u s: "
                 "over half the event log (%d events, EVENT_LOG_BYTES=%u); a single user could "
                 "make others' recoveries fail",
                 events, bytes, cfg->recovery_window, STORE_EVENTS_MAX, cfg->event_log_bytes);
}

struct chat *chat_new(const struct config *cfg)
{
    struct chat *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = cfg;
    check_event_log(cfg);
    c->roster = roster_new(cfg->rooms_per_user);
    c->leaving = strmap_new();
    c->connects = addrlimit_new(CONNECT_METER_SESSIONS, cfg->connects_per_minute, 60000);
    if (!c->roster || !c->leaving || !c->connects) {
        chat_free(c);
        return NULL;
    }
    pthread_mutex_init(&c->leave_lock, NULL);
    pthread_mutex_init(&c->connect_lock, NULL);
    c->locks = true;
    c->app = (struct sio_app){
        .namespaces = namespaces,
        .on_open = on_open,
        .on_connect = chat_on_connect,
        .on_event = on_event,
        .on_unreadable = on_unreadable,
        .on_disconnect = chat_on_disconnect,
        .on_close = on_close,
        .ctx = c,
    };
    return c;
}

const struct sio_app *chat_sio_app(struct chat *c)
{
    return &c->app;
}

void chat_attach_engine(struct chat *c, struct engine *e)
{
    c->engine = e;
}

int chat_start(struct chat *c)
{
    /* Best effort: with Redis down, the others' heartbeat sweep does it. */
    chat_presence_server_down(c, "start");
    static const char *const channels[] = {STORE_CHANNEL, STORE_CONTROL_CHANNEL, NULL};
    c->sub = subscriber_start(c->cfg, channels, chat_on_channel, chat_on_resume, c);
    return c->sub ? 0 : -1;
}

void chat_stop(struct chat *c)
{
    subscriber_stop(c->sub);
    c->sub = NULL;
    if (chat_presence_server_down(c, "shutdown") < 0)
        log_warn("presence: this server's users go offline when the others notice it is gone");
}

void chat_free(struct chat *c)
{
    if (!c)
        return;
    while (c->leave_head) { /* chat_stop took this server out of presence */
        struct leaving *e = c->leave_head;
        c->leave_head = e->next;
        free(e);
    }
    strmap_free(c->leaving);
    addrlimit_free(c->connects);
    if (c->locks) {
        pthread_mutex_destroy(&c->leave_lock);
        pthread_mutex_destroy(&c->connect_lock);
    }
    roster_free(c->roster);
    free(c);
}
