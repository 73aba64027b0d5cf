/* password — Argon2id through libsodium, legacy bcrypt through libxcrypt. */
#include "password.h"

#include <crypt.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGON2ID_PREFIX "$argon2id$"
#define ARGON2ID_VERSION 19 /* Argon2 v1.3 ("v=19"), the one libsodium writes */
#define ARGON2ID_LANES 1    /* libsodium computes one lane ("p=1") */
#define BCRYPT_COST_MAX 14  /* 16 times our cost: about a second */

/* What the original demos wrote ($2b$10$); cost 10 is ~50 ms on current hardware. */
#define BCRYPT_PREFIX "$2b$"
#define BCRYPT_COST 10
#define BCRYPT_SALT_BYTES 16 /* bcrypt's salt is 128 bits */

_Static_assert(PW_ARGON2ID_MEM_KIB_MIN <= PW_ARGON2ID_MEM_KIB_DEFAULT &&
                   PW_ARGON2ID_MEM_KIB_DEFAULT <= PW_ARGON2ID_MEM_KIB_MAX &&
                   PW_ARGON2ID_PASSES_MIN <= PW_ARGON2ID_PASSES_DEFAULT &&
                   PW_ARGON2ID_PASSES_DEFAULT <= PW_ARGON2ID_PASSES_MAX,
               "the default Argon2id cost must lie within the floor and the caps");
_Static_assert(PW_HASH_MAX >= crypto_pwhash_argon2id_STRBYTES,
               "PW_HASH_MAX must hold an encoded Argon2id hash");
_Static_assert(PW_PASSWORD_MAX < CRYPT_MAX_PASSPHRASE_SIZE,
               "libxcrypt must accept every password we accept");

/* crypt_r's scratch space is 32 KiB — too much to put on the stack of a thread
 * we do not control, so it lives on the heap together with the NUL-terminated copy of the password
 * that crypt_r needs (our passwords come as pointer + length). */
struct crypt_scratch {
    struct crypt_data data;
    char phrase[PW_PASSWORD_MAX + 1];
};

/* Set once by main before any thread starts (pw_set_argon2id), read after. */
static struct pw_argon2id_cost argon2id_cost = {PW_ARGON2ID_MEM_KIB_DEFAULT,
                                                PW_ARGON2ID_PASSES_DEFAULT};
static enum pw_rehash rehash_policy = PW_REHASH_WEAKER;

int pw_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

int pw_set_argon2id(struct pw_argon2id_cost cost, enum pw_rehash rehash)
{
    if (cost.mem_kib < PW_ARGON2ID_MEM_KIB_MIN || cost.mem_kib > PW_ARGON2ID_MEM_KIB_MAX ||
        cost.passes < PW_ARGON2ID_PASSES_MIN || cost.passes > PW_ARGON2ID_PASSES_MAX ||
        (rehash != PW_REHASH_WEAKER && rehash != PW_REHASH_DIFFERENT))
        return -1;
    argon2id_cost = cost;
    rehash_policy = rehash;
    return 0;
}

struct pw_argon2id_cost pw_argon2id_cost(void)
{
    return argon2id_cost;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_bcrypt(const char *hash)
{
    return has_prefix(hash, "$2a$") || has_prefix(hash, "$2b$") || has_prefix(hash, "$2y$");
}

/* Runs crypt_r(password, setting) and copies the result to out.
 * Returns 0, or -1 when the password cannot be given to crypt (NUL byte), memory
 * ran out, or crypt failed: libxcrypt then answers a "*0"/"*1" failure token
 * (or NULL, when built without failure tokens), never a valid hash. */
static int bcrypt_run(const char *setting, const char *password, size_t len, char out[PW_HASH_MAX])
{
    if (memchr(password, '\0', len) != NULL)
        return -1;

    struct crypt_scratch *s = calloc(1, sizeof *s); /* crypt_r wants it zeroed */
    if (s == NULL)
        return -1;
    memcpy(s->phrase, password, len);
    s->phrase[len] = '\0';

    int rc = -1;
    const char *res = crypt_r(s->phrase, setting, &s->data);
    if (res != NULL && res[0] != '*') {
        size_t n = strlen(res);
        if (n < PW_HASH_MAX) {
            memcpy(out, res, n + 1);
            rc = 0;
        }
    }
    /* The scratch holds the password and bcrypt's key schedule derived from it. */
    sodium_memzero(s, sizeof *s);
    free(s);
    return rc;
}

static int bcrypt_hash(const char *password, size_t len, char out[PW_HASH_MAX])
{
    char rbytes[BCRYPT_SALT_BYTES];
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];

    randombytes_buf(rbytes, sizeof rbytes);
    if (crypt_gensalt_rn(BCRYPT_PREFIX, BCRYPT_COST, rbytes, (int)sizeof rbytes, setting,
                         (int)sizeof setting) == NULL)
        return -1;
    return bcrypt_run(setting, password, len, out);
}

int pw_hash(enum pw_scheme scheme, const char *password, size_t len, char out[PW_HASH_MAX])
{
    if (len > PW_PASSWORD_MAX)
        return -1;
    switch (scheme) {
    case PW_ARGON2ID:
        return crypto_pwhash_argon2id_str(out, password, len, argon2id_cost.passes,
                                          (size_t)argon2id_cost.mem_kib * 1024) == 0
                   ? 0
                   : -1;
    case PW_BCRYPT:
        return bcrypt_hash(password, len, out);
    }
    return -1;
}

/* The parameters an encoded Argon2id hash carries. */
struct argon2id_params {
    unsigned long version, mem_kib, passes, lanes;
};

/* Reads the parameters of a well-formed Argon2id hash in libsodium's encoding,
 * $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>.
 * Returns 0, or -1 when it is not one. */
static int argon2id_params(const char *stored, struct argon2id_params *p)
{
    /* needs_rehash decodes the whole string with libsodium's own parser and
     * says -1 only for a malformed one; after it every number fits 32 bits. */
    if (crypto_pwhash_argon2id_str_needs_rehash(stored, argon2id_cost.passes,
                                                (size_t)argon2id_cost.mem_kib * 1024) < 0)
        return -1;
    return sscanf(stored, ARGON2ID_PREFIX "v=%lu$m=%lu,t=%lu,p=%lu$", &p->version, &p->mem_kib,
                  &p->passes, &p->lanes) == 4
               ? 0
               : -1;
}

static int argon2id_verify(const char *stored, const char *password, size_t len)
{
    struct argon2id_params p;

    /* crypto_pwhash_str_verify answers -1 both for "wrong password" and for "not
     * a hash", so the format is checked first. A stored hash sets the cost of
     * checking it: the caps keep a corrupt or planted record from stalling a
     * pool thread or passing the memory the pool's size is meant to bound. */
    if (argon2id_params(stored, &p) < 0 || p.mem_kib > PW_ARGON2ID_MEM_KIB_MAX ||
        p.passes > PW_ARGON2ID_PASSES_MAX)
        return -1;
    errno = 0;
    if (crypto_pwhash_argon2id_str_verify(stored, password, len) == 0)
        return 0;
    /* A well-formed hash that fails to verify is a mismatch, unless the memory
     * it asks for could not be allocated. */
    return errno == ENOMEM ? -1 : 1;
}

/* The cost of "$2b$10$…": two digits, then '$'; -1 when they are not there. */
static int bcrypt_cost(const char *stored)
{
    const char *c = stored + 4; /* after "$2b$", checked by is_bcrypt */
    if (c[0] < '0' || c[0] > '9' || c[1] < '0' || c[1] > '9' || c[2] != '$')
        return -1;
    return (c[0] - '0') * 10 + (c[1] - '0');
}

static int bcrypt_verify(const char *stored, const char *password, size_t len)
{
    char computed[PW_HASH_MAX];
    size_t stored_len = strnlen(stored, PW_HASH_MAX);

    int cost = bcrypt_cost(stored);
    if (stored_len == PW_HASH_MAX || cost < 0 || cost > BCRYPT_COST_MAX)
        return -1;
    if (bcrypt_run(stored, password, len, computed) < 0)
        return -1;
    /* crypt re-derives the whole string from the setting in stored; a length
     * difference means stored carried something crypt ignored: malformed. */
    int rc;
    if (strlen(computed) != stored_len)
        rc = -1;
    else
        rc = sodium_memcmp(computed, stored, stored_len) == 0 ? 0 : 1;
    sodium_memzero(computed, sizeof computed);
    return rc;
}

int pw_verify(const char *stored_hash, const char *password, size_t len)
{
    if (stored_hash == NULL || len > PW_PASSWORD_MAX)
        return -1;
    if (has_prefix(stored_hash, ARGON2ID_PREFIX))
        return argon2id_verify(stored_hash, password, len);
    if (is_bcrypt(stored_hash))
        return bcrypt_verify(stored_hash, password, len);
    return -1;
}

/* libsodium's needs_rehash says "differs from these limits", which would also
 * rewrite a hash made with stronger ones: by default only a weaker one is
 * upgraded, and a stronger one is brought down only when the operator asked
 * (PW_REHASH_DIFFERENT, after lowering the cost on purpose). */
static bool argon2id_needs_rehash(const char *stored)
{
    struct argon2id_params p;

    if (argon2id_params(stored, &p) < 0)
        return true; /* not a hash we could verify: replace it if one ever does */
    bool weaker = p.version < ARGON2ID_VERSION || p.mem_kib < argon2id_cost.mem_kib ||
                  p.passes < argon2id_cost.passes;
    bool different = p.version != ARGON2ID_VERSION || p.mem_kib != argon2id_cost.mem_kib ||
                     p.passes != argon2id_cost.passes || p.lanes != ARGON2ID_LANES;
    return rehash_policy == PW_REHASH_DIFFERENT ? different : weaker;
}

bool pw_needs_rehash(const char *stored_hash, enum pw_scheme wanted)
{
    if (wanted != PW_ARGON2ID || stored_hash == NULL)
        return false;
    if (has_prefix(stored_hash, ARGON2ID_PREFIX))
        return argon2id_needs_rehash(stored_hash);
    return true; /* bcrypt (or anything else) when Argon2id is wanted */
}
