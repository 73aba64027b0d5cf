/* token — random session tokens, their stored digests, random hex ids.
 *
 * A session token is 32 random bytes in base64url without padding: what the
 * cookie carries. Redis stores only its SHA-256, so a leaked dump or MONITOR
 * output does not hand out live sessions. libsodium must be initialised first
 * (pw_init does it at start-up). Every function is thread-safe.
 */
#ifndef CHAT_TOKEN_H
#define CHAT_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_BYTES 32          /* 256 random bits */
#define TOKEN_STR_LEN 43        /* base64url, no padding, of TOKEN_BYTES */
#define TOKEN_DIGEST_BYTES 32   /* SHA-256 */
#define TOKEN_DIGEST_HEX_LEN 64 /* SHA-256 in hex, without the NUL */

/* Writes a new random token and its NUL into out. Cannot fail. */
void token_new(char out[TOKEN_STR_LEN + 1]);

/* Whether s[0..len) could be a token made by token_new: exact length, base64url
 * alphabet, no padding, canonical last character. Check a cookie value with it
 * before it goes anywhere near Redis. */
bool token_is_wellformed(const char *s, size_t len);

/* Writes the SHA-256 of token[0..len) into out. Cannot fail. */
void token_digest(const char *token, size_t len, unsigned char out[TOKEN_DIGEST_BYTES]);

/* Writes the SHA-256 of token[0..len) as lowercase hex and a NUL into out:
 * the session's key material in Redis. Cannot fail. */
void token_digest_hex(const char *token, size_t len, char out[TOKEN_DIGEST_HEX_LEN + 1]);

/* Reads a digest written by token_digest_hex back into out: false when hex
 * is not exactly TOKEN_DIGEST_HEX_LEN lowercase hex digits. */
bool token_digest_from_hex(const char *hex, size_t len, unsigned char out[TOKEN_DIGEST_BYTES]);

/* Writes nbytes random bytes as lowercase hex and a NUL into out, which holds
 * 2 * nbytes + 1 chars: server ids, message ids. Cannot fail. */
void token_random_hex(char *out, size_t nbytes);

#endif
