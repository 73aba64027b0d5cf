/* store_seed: the demo data, as Redis commands for the caller to send. */
#ifndef CHATD_STORE_SEED_H
#define CHATD_STORE_SEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Demo data: the users, the General room, one private room for every
 * pair with greetings, five messages in General. */
#define STORE_DEMO_USERS 4
extern const char *const STORE_DEMO_USERNAMES[STORE_DEMO_USERS];
extern const char STORE_DEMO_PASSWORD[];

/* Receives one Redis command as an argv array (strings may not be
 * NUL-terminated; use lens).  Returns 0, or -1 to stop building. */
typedef int store_emit_fn(void *ctx, int argc, const char **argv, const size_t *lens);

/* Emits the commands that write the demo data into an empty database,
 * given one password hash per demo user, the time now, and a source of
 * random numbers (for greetings and message ids; random(ctx) returns a
 * uniformly distributed 32-bit value).  Returns 0, or -1 when emit failed
 * or memory ran out. */
int store_seed_commands(const char *const hashes[STORE_DEMO_USERS], int64_t now,
                        uint32_t (*random)(void *ctx), store_emit_fn *emit, void *ctx);

#endif
