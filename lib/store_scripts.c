/* store_scripts: the scripts' names, sources and SHA-1s (see store_scripts.h);
 * the table itself is generated from lib/redis-scripts/ (the Makefile). */
#include "store_scripts.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <nettle/sha1.h>

static char script_sha[SCRIPT_COUNT][2 * SHA1_DIGEST_SIZE + 1];
static pthread_once_t script_sha_once = PTHREAD_ONCE_INIT;

static void script_sha_compute(void)
{
    for (int s = 0; s < SCRIPT_COUNT; s++) {
        struct sha1_ctx ctx;
        uint8_t digest[SHA1_DIGEST_SIZE];
        sha1_init(&ctx);
        const char *src = store_script_source(s);
        sha1_update(&ctx, strlen(src), (const uint8_t *)src);
        sha1_digest(&ctx, sizeof digest, digest);
        for (size_t i = 0; i < sizeof digest; i++)
            snprintf(&script_sha[s][2 * i], 3, "%02x", digest[i]);
    }
}

const char *store_script_source(enum store_script s)
{
    return store_script_texts[s].source;
}

const char *store_script_sha(enum store_script s)
{
    pthread_once(&script_sha_once, script_sha_compute);
    return script_sha[s];
}

const char *store_script_name(enum store_script s)
{
    return store_script_texts[s].name;
}

bool store_script_publishes(enum store_script s)
{
    return store_script_texts[s].publishes;
}
