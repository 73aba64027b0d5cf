/* password — hashing and verifying user passwords.
 *
 * New hashes are Argon2id (libsodium's crypto_pwhash_argon2id_str) at the cost
 * pw_set_argon2id chose: memory and passes, one lane, never below OWASP's minimum.
 * Hashes written by the original demo servers are bcrypt ($2a$/$2b$/$2y$, via
 * libxcrypt); they verify here and are upgraded on the next login unless the
 * fleet still runs original servers (PASSWORD_HASH=bcrypt), which only read bcrypt.
 *
 * Every function is thread-safe and slow on purpose (tens of milliseconds, and
 * Argon2id takes its memory cost while it runs): call them off the event loops.
 */
#ifndef CHAT_PASSWORD_H
#define CHAT_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* Room for an encoded hash of either scheme, NUL included: libsodium's
 * crypto_pwhash_STRBYTES is 128; a bcrypt hash is 60 characters. */
#define PW_HASH_MAX 128

/* Longest password accepted, in bytes; callers refuse longer input (400) before
 * asking for a hash. bcrypt reads only the first 72 bytes, so two passwords that
 * share those 72 bytes verify against each other's bcrypt hash (Argon2id reads all). */
#define PW_PASSWORD_MAX 256

enum pw_scheme {
    PW_ARGON2ID, /* "$argon2id$…", what this server writes by default */
    PW_BCRYPT,   /* "$2b$10$…", what the original demo servers read and write */
};

/* Argon2id's cost: memory in KiB (the hash's m=) and passes (t=); one lane (p=1),
 * all libsodium computes. The floor is OWASP's minimum for Argon2id (19 MiB,
 * 2 passes, 1 lane); the caps are the most a login may cost: pw_verify refuses a
 * stored hash above them, so nothing above them is ever written either. */
#define PW_ARGON2ID_MEM_KIB_MIN (19u * 1024) /* 19 MiB */
#define PW_ARGON2ID_PASSES_MIN 2u
#define PW_ARGON2ID_MEM_KIB_MAX (256u * 1024) /* 256 MiB */
#define PW_ARGON2ID_PASSES_MAX 10u
/* The default, chosen from a measurement (docs/benchmarks.md, "Choosing the
 * Argon2id cost"); config's PASSWORD_MEMORY and PASSWORD_ITERATIONS say the same. */
#define PW_ARGON2ID_MEM_KIB_DEFAULT (19u * 1024)
#define PW_ARGON2ID_PASSES_DEFAULT 2u

struct pw_argon2id_cost {
    unsigned mem_kib; /* PW_ARGON2ID_MEM_KIB_MIN..MAX */
    unsigned passes;  /* PW_ARGON2ID_PASSES_MIN..MAX */
};

/* Which stored Argon2id hashes a login rewrites at the configured cost. */
enum pw_rehash {
    PW_REHASH_WEAKER,    /* those below it in memory or passes (or of an older Argon2) */
    PW_REHASH_DIFFERENT, /* every one whose parameters differ, stronger ones too */
};

/* Initialises libsodium (random numbers, Argon2id). Call once from main before
 * any thread starts; the token module relies on it too. Returns 0, or -1. */
int pw_init(void);

/* Sets the Argon2id cost of new hashes and the rehash policy pw_needs_rehash
 * applies. Call it from main before any thread starts, as pw_init; until then
 * the defaults apply (PW_REHASH_WEAKER). Returns 0, or -1 and changes nothing
 * when cost is outside the floor and the caps above. */
int pw_set_argon2id(struct pw_argon2id_cost cost, enum pw_rehash rehash);

/* The cost pw_hash writes Argon2id hashes with. */
struct pw_argon2id_cost pw_argon2id_cost(void);

/* Hashes password[0..len) with a fresh random salt into out (NUL-terminated).
 * Returns 0, or -1 (len > PW_PASSWORD_MAX, out of memory, or a NUL byte in a
 * password for bcrypt, which cannot represent one); out is unspecified on -1. */
int pw_hash(enum pw_scheme scheme, const char *password, size_t len, char out[PW_HASH_MAX]);

/* Checks password[0..len) against stored_hash (NUL-terminated) in constant time.
 * Returns 0 when it matches, 1 when it does not, -1 when stored_hash is of no
 * known scheme, malformed, or asks for more work than a login may cost (bcrypt
 * cost above 14, Argon2id above the caps above), when len > PW_PASSWORD_MAX, a
 * bcrypt password holds a NUL byte, or memory ran out. */
int pw_verify(const char *stored_hash, const char *password, size_t len);

/* Whether a password that just verified against stored_hash should be hashed
 * again for the wanted scheme. When Argon2id is wanted: true for bcrypt, and for
 * an Argon2id hash that the rehash policy picks against the configured cost
 * (PW_REHASH_WEAKER: below it in memory or in passes, or an older version;
 * PW_REHASH_DIFFERENT: any parameter not the configured one). When bcrypt is
 * wanted (a fleet with original servers) always false: never downgrade, never
 * upgrade. */
bool pw_needs_rehash(const char *stored_hash, enum pw_scheme wanted);

#endif
