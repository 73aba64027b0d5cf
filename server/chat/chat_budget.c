/* chat_budget: a socket's event budget — EVENTS_PER_SECOND with
 * EVENTS_BURST, a refused event answered without running, a socket that
 * keeps flooding disconnected. */
#include "chat_internal.h"

#include <inttypes.h>

#include "config.h"
#include "log.h"
#include "worker.h"

/* Refusals a socket over its event budget may earn, net of the
 * EVENTS_PER_SECOND a second forgiven, before it is disconnected: enough
 * for a client that rejoins every room it can be in at once (the web app
 * does, without acks, on reconnecting), and five bursts more.  A client
 * that slows down when refused is never disconnected; a flood soon is. */
#define FLOOD_REFUSALS(burst) (ROSTER_ROOMS_MAX + 5 * (burst))
/* A socket's refusals are logged once per this many ms at most. */
#define REFUSAL_LOG_INTERVAL_MS 10000
enum admission { ADMITTED, REFUSED, EXPELLED };

/* A refusal of u's socket, logged once per REFUSAL_LOG_INTERVAL_MS with
 * how many there were since the last line. */
static void refusal_log(const struct chat *c, struct chat_user *u, int64_t now)
{
    u->refusals_unlogged++;
    if (now - u->refusals_logged_ms < REFUSAL_LOG_INTERVAL_MS)
        return;
    log_warn("user %s: %" PRIu32 " events of one socket refused over EVENTS_PER_SECOND=%u "
             "(EVENTS_BURST=%u); logged once per %d s",
             u->id_str, u->refusals_unlogged, c->cfg->events_per_second, c->cfg->events_burst,
             REFUSAL_LOG_INTERVAL_MS / 1000);
    u->refusals_logged_ms = now;
    u->refusals_unlogged = 0;
}

/* Whether one more event of u's socket may run (under the socket's lock):
 * a token of its budget.  A refused event runs nothing (no Redis); a
 * socket that keeps flooding is to be disconnected. */
static enum admission admit_event(const struct chat *c, struct chat_user *u)
{
    int64_t now = worker_now_ms();
    if (!u->budgeted) {
        bucket_init(&u->events, c->cfg->events_per_second, c->cfg->events_burst, now);
        bucket_init(&u->flood, c->cfg->events_per_second,
                    FLOOD_REFUSALS(c->cfg->events_burst), now);
        u->refusals_logged_ms = now - REFUSAL_LOG_INTERVAL_MS;
        u->budgeted = true;
    }
    if (bucket_take(&u->events, now))
        return ADMITTED;
    if (!bucket_take(&u->flood, now)) {
        log_warn("user %s: a socket kept sending far over EVENTS_PER_SECOND=%u; disconnected",
                 u->id_str, c->cfg->events_per_second);
        return EXPELLED;
    }
    refusal_log(c, u, now);
    return REFUSED;
}

/* Charges an event to its socket's budget: true when it may run; false
 * when it was answered (refused, or the socket disconnected). */
bool chat_event_budgeted(const struct chat *c, struct sio_socket *s, struct chat_user *u,
                         bool has_ack, uint64_t ack_id)
{
    switch (admit_event(c, u)) {
    case ADMITTED:
        return true;
    case REFUSED:
        chat_ack(s, has_ack, ack_id, "Too many requests", NULL);
        return false;
    case EXPELLED:
        sio_socket_disconnect(s); /* frees u (chat_on_disconnect) */
        return false;
    }
    return false;
}
