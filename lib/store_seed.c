/* store_seed: the demo data (see store_seed.h). */
#include "store_seed.h"
#include "store_keys.h"
#include "store_message.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const STORE_DEMO_USERNAMES[STORE_DEMO_USERS] = {"Pablo", "Joe", "Mary", "Alex"};
const char STORE_DEMO_PASSWORD[] = "password123";

/* ---- demo data ------------------------------------------------------- */

static const char *const demo_greetings[] = {"Hello", "Hi", "Yo", "Hola"};
static const char *const demo_general[] = {
    "Hello!",
    "Hi, How are you? What about our next meeting?",
    "Yeah everything is fine",
    "Next meeting tomorrow 10.00AM",
    "Wow that's great",
};

static int emit_str(store_emit_fn *emit, void *ctx, int argc, const char **argv)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return emit(ctx, argc, argv, lens);
}

static int seed_message(const struct store_message *msg, uint32_t (*random)(void *), void *rctx,
                        store_emit_fn *emit, void *ctx)
{
    struct store_message m = *msg;
    for (size_t i = 0; i < STORE_MESSAGE_ID_BYTES; i++)
        snprintf(&m.id[2 * i], 3, "%02x", random(rctx) & 0xFF);
    char key[STORE_KEY_MAX], score[24];
    char *json = store_message_encode(&m);
    if (!json || store_key_room(key, sizeof key, m.room_id) < 0) {
        free(json);
        return -1;
    }
    snprintf(score, sizeof score, "%" PRId64, m.date);
    int rc = emit_str(emit, ctx, 4, (const char *[]){"ZADD", key, score, json});
    free(json);
    return rc;
}

int store_seed_commands(const char *const hashes[STORE_DEMO_USERS], int64_t now,
                        uint32_t (*random)(void *ctx), store_emit_fn *emit, void *ctx)
{
    char key[STORE_KEY_MAX], key2[STORE_KEY_MAX], num[24];
    snprintf(num, sizeof num, "%d", STORE_DEMO_USERS);
    if (emit_str(emit, ctx, 3, (const char *[]){"SET", STORE_KEY_TOTAL_USERS, num}) ||
        emit_str(emit, ctx, 3, (const char *[]){"SET", "room:0:name", "General"}))
        return -1;

    for (uint64_t u = 1; u <= STORE_DEMO_USERS; u++) {
        const char *name = STORE_DEMO_USERNAMES[u - 1];
        store_key_user(key2, sizeof key2, u);
        store_key_username(key, sizeof key, name, strlen(name));
        if (emit_str(emit, ctx, 3, (const char *[]){"SET", key, key2}) ||
            emit_str(emit, ctx, 6,
                     (const char *[]){"HSET", key2, "username", name, "password", hashes[u - 1]}))
            return -1;
        store_key_user_rooms(key, sizeof key, u);
        if (emit_str(emit, ctx, 3, (const char *[]){"SADD", key, "0"}))
            return -1;
    }

    /* Every pair gets a private room, and each of the two says hello in it
     * a few minutes ago, as the originals' demo data does. */
    for (uint64_t a = 1; a <= STORE_DEMO_USERS; a++) {
        for (uint64_t b = a + 1; b <= STORE_DEMO_USERS; b++) {
            struct room_ref room;
            store_room_private(a, b, &room);
            for (uint64_t u = a; u; u = (u == a ? b : 0)) {
                store_key_user_rooms(key, sizeof key, u);
                if (emit_str(emit, ctx, 3, (const char *[]){"SADD", key, room.id}))
                    return -1;
                const char *greeting = demo_greetings[random(ctx) % 4];
                struct store_message msg = {
                    .from = u,
                    .date = now - (int64_t)(random(ctx) % 222),
                    .text = greeting,
                    .text_len = strlen(greeting),
                    .room_id = room.id,
                };
                if (seed_message(&msg, random, ctx, emit, ctx))
                    return -1;
            }
        }
    }

    const int n = (int)(sizeof demo_general / sizeof *demo_general);
    for (int i = 0; i < n; i++) {
        struct store_message msg = {
            .from = 1 + random(ctx) % STORE_DEMO_USERS,
            .date = now - (int64_t)(n - i) * 200,
            .text = demo_general[i],
            .text_len = strlen(demo_general[i]),
            .room_id = "0",
        };
        if (seed_message(&msg, random, ctx, emit, ctx))
            return -1;
    }
    return 0;
}
