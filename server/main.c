/* chatd: configuration, the application's parts, and the runtime. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "app.h"
#include "auth.h"
#include "chat.h"
#include "config.h"
#include "engine.h"
#include "hashpool.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "password.h"
#include "routes.h"
#include "runtime.h"
#include "seed.h"
#include "sentinel.h"
#include "sio_server.h"
#include "static.h"
#include "store.h"

/* Password hashes waiting for a hashing thread, at most; beyond that a
 * login is refused with 503 rather than queued without bound. */
#define HASH_QUEUE_MAX 256
#define SEED_RETRY_MAX_S 5
/* Engine.IO limits of chatd: a chat message is at most MAX_MESSAGE_BYTES
 * (65536 at most), so a payload of 128 KiB holds one with room to spare. */
#define CHAT_MAX_PAYLOAD (128 * 1024)
#define CHAT_OUTBOX_BYTES (1024 * 1024)
#define CHAT_OUTBOX_PACKETS 1024
#define SOCKETIO_PATH "/socket.io/"

/* When Redis is down at start, the demo data is seeded and the username
 * index completed by this thread as soon as it comes back. */
struct seeder {
    const struct config *cfg;
    pthread_t thread;
    atomic_bool stop;
    bool started;
};

/* What Redis needs before chatd serves: the demo data (SEED_DEMO), then
 * every user in the canonical username index.  0, or -1 to try again. */
static int prepare_redis(const struct config *cfg)
{
    if (cfg->seed_demo && seed_demo(cfg) < 0)
        return -1;
    return seed_username_index(cfg);
}

static void *seeder_main(void *arg)
{
    struct seeder *s = arg;
    unsigned delay = 1;
    while (!atomic_load(&s->stop) && prepare_redis(s->cfg) < 0) {
        for (unsigned i = 0; i < delay * 10 && !atomic_load(&s->stop); i++)
            nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
        delay = delay * 2 > SEED_RETRY_MAX_S ? SEED_RETRY_MAX_S : delay * 2;
    }
    return NULL;
}

/* A Socket.IO connection is bound to the login cookie of its handshake. */
static bool session_cookie_credential(void *ctx, struct http_req *req,
                                      unsigned char digest[EIO_CREDENTIAL_BYTES])
{
    _Static_assert(EIO_CREDENTIAL_BYTES == TOKEN_DIGEST_BYTES, "a credential is a cookie digest");
    (void)ctx;
    return auth_cookie_digest(req, digest);
}

/* ALLOWED_ORIGINS as the pointers the engine and the routes take. */
static const char *const *allowed_origins(const struct config *cfg)
{
    static const char *origins[CONFIG_ORIGINS_MAX];
    for (size_t i = 0; i < cfg->n_origins; i++)
        origins[i] = cfg->origins[i];
    return origins;
}

static struct engine *socketio_engine(const struct config *cfg, struct sio_server *sio)
{
    const char *const *origins = allowed_origins(cfg);
    struct engine_options opt = {
        .path = SOCKETIO_PATH,
        .ping_interval_ms = cfg->ping_interval_ms,
        .ping_timeout_ms = cfg->ping_timeout_ms,
        .max_payload = CHAT_MAX_PAYLOAD,
        .outbox_max_bytes = CHAT_OUTBOX_BYTES,
        .outbox_max_packets = CHAT_OUTBOX_PACKETS,
        .origins = origins,
        .n_origins = cfg->n_origins,
        .bind = {.credential = session_cookie_credential},
        .handshakes_per_minute = cfg->handshakes_per_minute,
        .behind_proxy = cfg->trust_proxy,
    };
    return engine_new(&opt, sio_server_handlers(sio));
}

int main(int argc, char **argv)
{
    struct config cfg;
    int rc = config_load(&cfg, argc, argv, stdout, stderr);
    if (rc == 1)
        return 0;
    if (rc != 0)
        return 2;
    log_set_level(cfg.log_level);
    metrics_init();
    if (pw_init() < 0) {
        log_error("libsodium failed to initialize");
        return 1;
    }
    /* config_load kept the cost within the floor and the caps; before the
     * seeder and the hash pool, the only threads that hash. */
    if (pw_set_argon2id(cfg.password_cost, cfg.password_rehash) < 0) {
        log_error("Argon2id cost out of range");
        return 2;
    }
    runtime_block_signals();
    store_set_event_log_bytes(cfg.event_log_bytes);

    struct seeder seeder = {.cfg = &cfg};
    struct chat *chat = chat_new(&cfg);
    struct sio_server_options sio_opt = {
        .connect_timeout_ms = cfg.connect_timeout * 1000,
        .attachment_bytes_per_client = cfg.attachment_bytes_per_session,
        .attachment_bytes_total = cfg.attachment_bytes_total,
    };
    struct sio_server *sio = chat ? sio_server_new(chat_sio_app(chat), &sio_opt) : NULL;
    struct app app = {.cfg = &cfg, .on_worker_start = chat_worker_start, .ctx = chat};
    struct routes_ctx routes = {
        .cfg = &cfg, .origins = allowed_origins(&cfg), .n_origins = cfg.n_origins, .chat = chat};
    struct engine *socketio = sio ? socketio_engine(&cfg, sio) : NULL;
    int exit_code = 1;
    struct sentinel *sentinel = NULL;

    routes.web = static_root_open(cfg.web_root);
    if (!routes.web)
        log_warn("WEB_ROOT %s cannot be opened: serving the API only", cfg.web_root);
    routes.hashes = app.hashes = hashpool_new(cfg.hash_threads, HASH_QUEUE_MAX);
    routes.preloads = routes_preload_gate_new(&cfg);
    if (!app.hashes || !routes.preloads || !socketio || runtime_mount_engine(&app, SOCKETIO_PATH, socketio) < 0) {
        log_error("out of memory at start");
        goto out;
    }
    http_mount_fallback(&app.mounts, routes_handle, &routes);

    /* Before any Redis connection: with REDIS_SENTINELS they ask it where
     * the master is. */
    sentinel = sentinel_start(&cfg);
    if (cfg.n_sentinels > 0 && !sentinel)
        goto out;
    if (prepare_redis(&cfg) < 0) {
        log_warn("Redis is unavailable: serving anyway; the demo data and the username index"
                 " follow when it is back");
        if (pthread_create(&seeder.thread, NULL, seeder_main, &seeder) == 0)
            seeder.started = true;
    }
    chat_attach_engine(chat, socketio);
    if (chat_start(chat) < 0)
        goto out;
    exit_code = runtime_run(&app);
    chat_stop(chat);
    if (exit_code == 0)
        log_info("stopped");

out:
    if (seeder.started) {
        atomic_store(&seeder.stop, true);
        pthread_join(seeder.thread, NULL);
    }
    sentinel_stop(sentinel);
    hashpool_free(app.hashes);
    engine_free(socketio);
    sio_server_free(sio);
    chat_free(chat);
    static_root_free(routes.web);
    routes_preload_gate_free(routes.preloads);
    config_free(&cfg);
    return exit_code;
}
