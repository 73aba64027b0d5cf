/* creds: see creds.h. */
#include "creds.h"

#include <inttypes.h>
#include <sodium.h>
#include <string.h>

#define NODE_SECRET "keyboard cat" /* the demo's express-session secret */
#define NODE_SID_BYTES 24          /* uid-safe(24): 32 base64url characters */
#define TOKEN_BYTES 32             /* chatd's token: 43 base64url characters */
#define LINE_MAX_ 512

int creds_kind_parse(const char *s, enum creds_kind *out)
{
    if (strcmp(s, "chatd") == 0)
        *out = CREDS_CHATD;
    else if (strcmp(s, "node") == 0)
        *out = CREDS_NODE;
    else
        return -1;
    return 0;
}

/* The base64url token of user id: the first nbytes of SHA-256("<label>/<id>"). */
static void derive_token(const char *label, uint64_t id, size_t nbytes, char *out, size_t n)
{
    char seed[64];
    int len = snprintf(seed, sizeof seed, "%s/%" PRIu64, label, id);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)seed, (size_t)len);
    sodium_bin2base64(out, n, digest, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* percent-encodes what encodeURIComponent would in a base64 signature. */
static size_t uri_encode(const char *in, char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = in; *p; p++) {
        const char *rep = *p == '+' ? "%2B" : *p == '/' ? "%2F" : *p == ':' ? "%3A" : NULL;
        size_t need = rep ? 3 : 1;
        if (o + need >= n)
            return 0;
        if (rep)
            memcpy(out + o, rep, 3);
        else
            out[o] = *p;
        o += need;
    }
    out[o] = '\0';
    return o;
}

static void node_sid(uint64_t id, char sid[NODE_SID_BYTES * 2])
{
    derive_token("node-bench", id, NODE_SID_BYTES, sid, NODE_SID_BYTES * 2);
}

static void chatd_token(uint64_t id, char token[TOKEN_BYTES * 2])
{
    derive_token("chatd-bench", id, TOKEN_BYTES, token, TOKEN_BYTES * 2);
}

int creds_cookie(enum creds_kind kind, uint64_t id, char *out, size_t n)
{
    if (kind == CREDS_CHATD) {
        char token[TOKEN_BYTES * 2];
        chatd_token(id, token);
        return snprintf(out, n, "chatd_sid=%s", token) < (int)n ? 0 : -1;
    }
    char sid[NODE_SID_BYTES * 2];
    node_sid(id, sid);
    /* cookie-signature: sid + "." + base64(HMAC-SHA256(secret, sid)), '=' stripped. */
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)NODE_SECRET, strlen(NODE_SECRET));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)sid, strlen(sid));
    crypto_auth_hmacsha256_final(&st, mac);
    char sig[sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
    sodium_bin2base64(sig, sizeof sig, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    char raw[CREDS_COOKIE_MAX], enc[CREDS_COOKIE_MAX];
    snprintf(raw, sizeof raw, "s:%s.%s", sid, sig);
    if (uri_encode(raw, enc, sizeof enc) == 0)
        return -1;
    return snprintf(out, n, "connect.sid=%s", enc) < (int)n ? 0 : -1;
}

/* One RESP command of argc NUL-terminated arguments. */
static int resp(FILE *out, int argc, const char *const *argv)
{
    if (fprintf(out, "*%d\r\n", argc) < 0)
        return -1;
    for (int i = 0; i < argc; i++)
        if (fprintf(out, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]) < 0)
            return -1;
    return 0;
}

int creds_setup(enum creds_kind kind, uint64_t first_id, uint64_t count, unsigned ttl, FILE *out)
{
    char ttl_s[24];
    snprintf(ttl_s, sizeof ttl_s, "%u", ttl);
    for (uint64_t id = first_id; id < first_id + count; id++) {
        char name[32], ukey[48], nkey[48], rkey[64], uref[48], id_s[24];
        snprintf(id_s, sizeof id_s, "%" PRIu64, id);
        snprintf(name, sizeof name, "bench%" PRIu64, id);
        snprintf(ukey, sizeof ukey, "user:%" PRIu64, id);
        snprintf(nkey, sizeof nkey, "username:%s", name);
        snprintf(rkey, sizeof rkey, "user:%" PRIu64 ":rooms", id);
        snprintf(uref, sizeof uref, "user:%" PRIu64, id);
        /* "!" is no hash either server accepts: bench users log in by cookie only. */
        const char *hset[] = {"HSET", ukey, "username", name, "password", "!"};
        const char *set[] = {"SET", nkey, uref};
        const char *sadd[] = {"SADD", rkey, "0"};
        if (resp(out, 6, hset) < 0 || resp(out, 3, set) < 0 || resp(out, 3, sadd) < 0)
            return -1;

        char skey[128], sval[LINE_MAX_];
        if (kind == CREDS_CHATD) {
            char token[TOKEN_BYTES * 2];
            unsigned char digest[crypto_hash_sha256_BYTES];
            char hex[crypto_hash_sha256_BYTES * 2 + 1];
            chatd_token(id, token);
            crypto_hash_sha256(digest, (const unsigned char *)token, strlen(token));
            sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
            snprintf(skey, sizeof skey, "chatd:session:%s", hex);
            snprintf(sval, sizeof sval, "%s", id_s);
        } else {
            char sid[NODE_SID_BYTES * 2];
            node_sid(id, sid);
            snprintf(skey, sizeof skey, "sess:%s", sid);
            snprintf(sval, sizeof sval,
                     "{\"cookie\":{\"originalMaxAge\":null,\"expires\":null,\"httpOnly\":true,"
                     "\"path\":\"/\"},\"user\":{\"id\":\"%s\",\"username\":\"%s\"}}",
                     id_s, name);
        }
        const char *sess[] = {"SET", skey, sval, "EX", ttl_s};
        if (resp(out, 5, sess) < 0)
            return -1;
    }
    char last[24];
    snprintf(last, sizeof last, "%" PRIu64, first_id + count - 1);
    const char *total[] = {"SET", "total_users", last};
    if (resp(out, 3, total) < 0)
        return -1;
    return fflush(out) == 0 ? 0 : -1;
}
