/* password — hashing and verifying user passwords.
 *
 * New hashes are Argon2id (libsodium's crypto_pwhash_str, "interactive" limits).
 * Hashes written by the original demo servers are bcrypt ($2a$/$2b$/$2y$, via
 * libxcrypt); they verify here and are upgraded on the next login unless the
 * fleet still runs original servers (PASSWORD_HASH=bcrypt), which only read bcrypt.
 *
 * Every function is thread-safe and slow on purpose (tens of milliseconds, and
 * Argon2id takes 64 MiB while it runs): call them off the event loops.
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

/* Initialises libsodium (random numbers, Argon2id). Call once from main before
 * any thread starts; the token module relies on it too. Returns 0, or -1. */
int pw_init(void);

/* Hashes password[0..len) with a fresh random salt into out (NUL-terminated).
 * Returns 0, or -1 (len > PW_PASSWORD_MAX, out of memory, or a NUL byte in a
 * password for bcrypt, which cannot represent one); out is unspecified on -1. */
int pw_hash(enum pw_scheme scheme, const char *password, size_t len, char out[PW_HASH_MAX]);

/* Checks password[0..len) against stored_hash (NUL-terminated) in constant time.
 * Returns 0 when it matches, 1 when it does not, -1 when stored_hash is of no
 * known scheme, malformed, or asks for more work than a login may cost (bcrypt
 * cost above 14, Argon2id above 256 MiB or 10 passes), when len > PW_PASSWORD_MAX,
 * a bcrypt password holds a NUL byte, or memory ran out. */
int pw_verify(const char *stored_hash, const char *password, size_t len);

/* Whether a password that just verified against stored_hash should be hashed
 * again for the wanted scheme: true for bcrypt, or for Argon2id weaker than the
 * current limits, when Argon2id is wanted. When bcrypt is wanted (a fleet with
 * original servers) always false: never downgrade, never upgrade. */
bool pw_needs_rehash(const char *stored_hash, enum pw_scheme wanted);

#endif
