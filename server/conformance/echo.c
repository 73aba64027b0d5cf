/* chatd-conformance: chatd's engine and worker loop with the echo
 * application the official Engine.IO and Socket.IO test suites expect:
 *   /engine.io/  Engine.IO echo: every message comes back as it was;
 *   /socket.io/  Socket.IO: on connect an "auth" event carries the CONNECT
 *                payload; "message" is answered by "message-back" with the
 *                same arguments, "message-with-ack" is acked with them;
 *                namespaces "/" and "/custom".
 * pingInterval 300, pingTimeout 200, maxPayload 1000000, connectTimeout
 * 1000, CORS *.  Port 3000; PORT, PING_INTERVAL and PING_TIMEOUT may say
 * otherwise (a test that loads the machine gives pongs more time); no
 * Redis. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "engine.h"
#include "http.h"
#include "log.h"
#include "runtime.h"
#include "sio_server.h"
#include "worker.h"
#include "timerheap.h"

#define EIO_PATH "/engine.io/"
#define SOCKETIO_PATH "/socket.io/"
#define PING_INTERVAL_MS "300"
#define PING_TIMEOUT_MS "200"
#define MAX_PAYLOAD 1000000
#define CONNECT_TIMEOUT_MS 1000
#define OUTBOX_BYTES (8 * 1024 * 1024)
#define OUTBOX_PACKETS 4096

static void eio_echo(void *ctx, struct eio_session *s, struct worker *w, const struct eio_packet *p)
{
    (void)ctx;
    (void)w;
    eio_session_send(s, p->binary, p->data, p->len);
}

/* The suite waits for the CONNECT answer, then adds a listener for "auth":
 * a client that gets both in one read (ws emits them in one go) would miss
 * the second.  The reference server's two writes are an event-loop turn
 * apart; here "auth" follows a few milliseconds later. */
#define AUTH_DELAY_MS 5

struct auth_later {
    struct timer timer;
    struct sio_socket *s;
    cJSON *auth;
    struct auth_later *prev, *next;
};

/* Pending ones, so that those a shutdown interrupts are freed. */
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct auth_later *pending;

static void auth_free(struct auth_later *a)
{
    pthread_mutex_lock(&pending_lock);
    if (a->prev)
        a->prev->next = a->next;
    else
        pending = a->next;
    if (a->next)
        a->next->prev = a->prev;
    pthread_mutex_unlock(&pending_lock);
    sio_socket_unref(a->s);
    cJSON_Delete(a->auth);
    free(a);
}

static void emit_auth(struct timer *t)
{
    struct auth_later *a = (struct auth_later *)t;
    sio_socket_emit_event(a->s, "auth", a->auth);
    auth_free(a);
}

static void on_connect(void *ctx, struct sio_socket *s, struct worker *w, const cJSON *auth)
{
    (void)ctx;
    if (sio_socket_accept(s) < 0)
        return;
    struct auth_later *a = calloc(1, sizeof *a);
    if (!a)
        return;
    timer_init(&a->timer, emit_auth);
    a->s = s;
    a->auth = cJSON_Duplicate(auth, true);
    sio_socket_ref(s);
    pthread_mutex_lock(&pending_lock);
    a->next = pending;
    if (pending)
        pending->prev = a;
    pending = a;
    pthread_mutex_unlock(&pending_lock);
    if (worker_timer_schedule(w, &a->timer, worker_now_ms() + AUTH_DELAY_MS) < 0)
        emit_auth(&a->timer);
}

/* The event's arguments: data without its name. */
static cJSON *arguments(const cJSON *data)
{
    cJSON *args = cJSON_Duplicate(data, true);
    if (args)
        cJSON_Delete(cJSON_DetachItemFromArray(args, 0));
    return args;
}

static void on_event(void *ctx, struct sio_socket *s, struct worker *w, const char *name,
                     const cJSON *data, bool has_ack, uint64_t ack_id)
{
    (void)ctx;
    (void)w;
    if (strcmp(name, "message") == 0) {
        cJSON *back = cJSON_Duplicate(data, true);
        if (back) {
            cJSON_ReplaceItemInArray(back, 0, cJSON_CreateString("message-back"));
            sio_socket_emit(s, back);
        }
        cJSON_Delete(back);
    } else if (strcmp(name, "message-with-ack") == 0 && has_ack) {
        cJSON *args = arguments(data);
        sio_socket_ack(s, ack_id, args);
        cJSON_Delete(args);
    }
}

static struct engine *echo_engine(const struct config *cfg, const char *path,
                                  const struct eio_handlers *h)
{
    struct engine_options opt = {
        .path = path,
        .ping_interval_ms = cfg->ping_interval_ms,
        .ping_timeout_ms = cfg->ping_timeout_ms,
        .max_payload = MAX_PAYLOAD,
        .outbox_max_bytes = OUTBOX_BYTES,
        .outbox_max_packets = OUTBOX_PACKETS,
        .cors_any = true,
    };
    return engine_new(&opt, h);
}

int main(int argc, char **argv)
{
    setenv("PORT", "3000", 0);
    setenv("SEED_DEMO", "0", 0);
    setenv("BIND", "127.0.0.1", 0);
    setenv("PING_INTERVAL", PING_INTERVAL_MS, 0);
    setenv("PING_TIMEOUT", PING_TIMEOUT_MS, 0);
    struct config cfg;
    int rc = config_load(&cfg, argc, argv, stdout, stderr);
    if (rc == 1)
        return 0;
    if (rc != 0)
        return 2;
    log_set_level(cfg.log_level);
    runtime_block_signals();

    static const char *const namespaces[] = {"/", "/custom", NULL};
    struct sio_app app_sio = {
        .namespaces = namespaces,
        .on_connect = on_connect,
        .on_event = on_event,
    };
    struct sio_server *sio = sio_server_new(
        &app_sio, &(struct sio_server_options){
                      .connect_timeout_ms = CONNECT_TIMEOUT_MS,
                      .attachment_bytes_per_client = cfg.attachment_bytes_per_session,
                      .attachment_bytes_total = cfg.attachment_bytes_total,
                  });
    struct eio_handlers eio_handlers = {.on_message = eio_echo};
    /* Everything else is answered 404: the HTTP server's default. */
    struct app app = {.cfg = &cfg, .without_redis = true};
    struct engine *eio = echo_engine(&cfg, EIO_PATH, &eio_handlers);
    struct engine *socketio =
        sio ? echo_engine(&cfg, SOCKETIO_PATH, sio_server_handlers(sio)) : NULL;
    int exit_code = 1;
    if (eio && socketio && runtime_mount_engine(&app, EIO_PATH, eio) == 0 &&
        runtime_mount_engine(&app, SOCKETIO_PATH, socketio) == 0)
        exit_code = runtime_run(&app);
    while (pending)
        auth_free(pending);
    engine_free(eio);
    engine_free(socketio);
    sio_server_free(sio);
    config_free(&cfg);
    return exit_code;
}
