/* token — everything here is libsodium: randombytes, base64, SHA-256, hex. */
#include "token.h"

#include <sodium.h>

#define TOKEN_B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

_Static_assert(sodium_base64_ENCODED_LEN(TOKEN_BYTES, TOKEN_B64_VARIANT) == TOKEN_STR_LEN + 1,
               "TOKEN_STR_LEN must be the unpadded base64 length of TOKEN_BYTES");
_Static_assert(TOKEN_DIGEST_HEX_LEN == 2 * crypto_hash_sha256_BYTES,
               "TOKEN_DIGEST_HEX_LEN must be SHA-256 in hex");

void token_new(char out[TOKEN_STR_LEN + 1])
{
    unsigned char raw[TOKEN_BYTES];

    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, TOKEN_STR_LEN + 1, raw, sizeof raw, TOKEN_B64_VARIANT);
    sodium_memzero(raw, sizeof raw);
}

static bool is_b64url(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

bool token_is_wellformed(const char *s, size_t len)
{
    unsigned char raw[TOKEN_BYTES];
    size_t raw_len = 0;
    const char *end = NULL;

    if (s == NULL || len != TOKEN_STR_LEN)
        return false;
    /* libsodium 1.0.18's decoder reads bytes >= 0x80 as '_' (a signed char
     * slips through its constant-time range checks), so the alphabet is checked
     * here rather than trusted to it. */
    for (size_t i = 0; i < len; i++)
        if (!is_b64url((unsigned char)s[i]))
            return false;
    /* 43 characters carry 258 bits for 256: the decoder refuses a last character
     * whose two unused bits are set, so each token has exactly one spelling. */
    int rc = sodium_base642bin(raw, sizeof raw, s, len, NULL, &raw_len, &end, TOKEN_B64_VARIANT);
    sodium_memzero(raw, sizeof raw);
    return rc == 0 && raw_len == TOKEN_BYTES && end == s + len;
}

void token_digest(const char *token, size_t len, unsigned char out[TOKEN_DIGEST_BYTES])
{
    _Static_assert(TOKEN_DIGEST_BYTES == crypto_hash_sha256_BYTES, "a digest is a SHA-256");
    crypto_hash_sha256(out, (const unsigned char *)token, len);
}

void token_digest_hex(const char *token, size_t len, char out[TOKEN_DIGEST_HEX_LEN + 1])
{
    unsigned char digest[TOKEN_DIGEST_BYTES];

    token_digest(token, len, digest);
    sodium_bin2hex(out, TOKEN_DIGEST_HEX_LEN + 1, digest, sizeof digest);
}

bool token_digest_from_hex(const char *hex, size_t len, unsigned char out[TOKEN_DIGEST_BYTES])
{
    if (len != TOKEN_DIGEST_HEX_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return false;
    size_t bin_len = 0;
    return sodium_hex2bin(out, TOKEN_DIGEST_BYTES, hex, len, NULL, &bin_len, NULL) == 0 &&
           bin_len == TOKEN_DIGEST_BYTES;
}

void token_random_hex(char *out, size_t nbytes)
{
    unsigned char chunk[TOKEN_BYTES];

    /* Chunked so any length works without a variable-length array. */
    out[0] = '\0';
    for (size_t done = 0; done < nbytes;) {
        size_t n = nbytes - done < sizeof chunk ? nbytes - done : sizeof chunk;
        randombytes_buf(chunk, n);
        sodium_bin2hex(out + 2 * done, 2 * n + 1, chunk, n);
        done += n;
    }
}
