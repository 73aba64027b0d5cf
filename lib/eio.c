/* eio — Engine.IO v4 packet codec. See eio.h for the wire format. */
#include "eio.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

/* The one variant Engine.IO uses: Node's Buffer#toString("base64") and the
 * browser client's encoder both write the standard alphabet with padding. */
#define B64_VARIANT sodium_base64_VARIANT_ORIGINAL

const char *eio_strerror(int err)
{
    switch (err) {
    case 0:
        return "ok";
    case EIO_EEMPTY:
        return "empty packet";
    case EIO_ETYPE:
        return "unknown packet type";
    case EIO_EBASE64:
        return "bad base64 in binary packet";
    case EIO_ETOOMANY:
        return "too many packets in payload";
    case EIO_ETOOBIG:
        return "payload too large";
    case EIO_ESPACE:
        return "buffer too small";
    case EIO_EINVAL:
        return "packet cannot be encoded";
    }
    return "unknown error";
}

/* Sets *n to the bytes b64[0..len) decodes to; false if its length or padding
 * cannot be padded base64. Knowing the exact size up front tells a short scratch
 * buffer apart from bad input without reading errno after libsodium. */
static bool b64_decoded_len(const char *b64, size_t len, size_t *n)
{
    if (len % 4 != 0)
        return false;
    size_t pad = 0;
    if (len > 0 && b64[len - 1] == '=')
        pad = b64[len - 2] == '=' ? 2 : 1;
    *n = len / 4 * 3 - pad;
    return true;
}

static int decode_base64(const char *b64, size_t len, struct eio_packet *out, char *scratch,
                         size_t scratch_len)
{
    size_t want;
    if (!b64_decoded_len(b64, len, &want))
        return EIO_EBASE64;
    if (want > scratch_len)
        return EIO_ESPACE;
    size_t got = 0;
    if (len > 0 && sodium_base642bin((unsigned char *)scratch, want, b64, len, NULL, &got, NULL,
                                     B64_VARIANT) != 0)
        return EIO_EBASE64;
    *out = (struct eio_packet){
        .type = EIO_MESSAGE, .binary = true, .data = got ? scratch : NULL, .len = got};
    return 0;
}

int eio_decode_packet(const char *in, size_t len, struct eio_packet *out, char *scratch,
                      size_t scratch_len)
{
    if (len == 0)
        return EIO_EEMPTY;
    if (in[0] == 'b')
        return decode_base64(in + 1, len - 1, out, scratch, scratch_len);
    if (in[0] < '0' || in[0] >= '0' + EIO_TYPE_COUNT)
        return EIO_ETYPE;
    *out = (struct eio_packet){
        .type = (enum eio_type)(in[0] - '0'),
        .data = len > 1 ? in + 1 : NULL,
        .len = len - 1,
    };
    return 0;
}

void eio_decode_binary(const void *in, size_t len, struct eio_packet *out)
{
    *out = (struct eio_packet){
        .type = EIO_MESSAGE, .binary = true, .data = len ? in : NULL, .len = len};
}

int eio_decode_payload(const char *in, size_t len, size_t max_payload, struct eio_packet *out,
                       size_t max_packets, char *scratch, size_t scratch_len)
{
    if (len > max_payload)
        return EIO_ETOOBIG;
    if (max_packets > INT_MAX) /* the count is returned as an int */
        max_packets = INT_MAX;
    size_t n = 0, used = 0;
    const char *end = in + len;
    const char *rec = in;
    /* Each pass takes one record; an empty body or a trailing separator is an
     * empty record, which eio_decode_packet refuses, as the reference does. */
    for (;;) {
        const char *sep = rec < end ? memchr(rec, EIO_SEPARATOR, (size_t)(end - rec)) : NULL;
        size_t rec_len = sep ? (size_t)(sep - rec) : (size_t)(end - rec);
        if (n == max_packets)
            return EIO_ETOOMANY;
        int rc = eio_decode_packet(rec, rec_len, &out[n], scratch ? scratch + used : NULL,
                                   scratch_len - used);
        if (rc < 0)
            return rc;
        if (out[n].binary)
            used += out[n].len;
        n++;
        if (!sep)
            break;
        rec = sep + 1;
    }
    return (int)n;
}

/* Text-form size of one packet into *size, or a negative eio_err. */
static int packet_size(const struct eio_packet *p, size_t *size)
{
    if ((unsigned)p->type >= EIO_TYPE_COUNT || (p->len > 0 && p->data == NULL) ||
        (p->binary && p->type != EIO_MESSAGE))
        return EIO_EINVAL;
    /* Far from overflow, in libsodium's size macro too. */
    if (p->len > SIZE_MAX / 2)
        return EIO_ETOOBIG;
    /* "<digit><data>", or 'b' + base64 (the macro counts a NUL, 'b' replaces it). */
    *size = p->binary ? sodium_base64_ENCODED_LEN(p->len, B64_VARIANT) : p->len + 1;
    return 0;
}

/* Writes p's text form at out, which has room for it plus a NUL. */
static size_t write_packet(const struct eio_packet *p, char *out)
{
    if (!p->binary) {
        out[0] = (char)('0' + p->type);
        if (p->len)
            memcpy(out + 1, p->data, p->len);
        return p->len + 1;
    }
    size_t b64 = sodium_base64_ENCODED_LEN(p->len, B64_VARIANT);
    out[0] = 'b';
    /* An exact b64_maxlen: libsodium zero-fills up to it, so a larger one would
     * clear the rest of the caller's buffer; the last byte is the NUL. */
    sodium_bin2base64(out + 1, b64, (const unsigned char *)p->data, p->len, B64_VARIANT);
    return b64; /* 'b' + the base64 without its NUL */
}

/* Both encoders: one packet alone may hold 0x1e (a WebSocket frame), packets in
 * a polling body may not (in_payload). */
static int encode(const struct eio_packet *p, size_t n, bool in_payload, char *out, size_t cap,
                  size_t *len)
{
    size_t total = 0;
    *len = 0;
    if (n == 0)
        return EIO_EINVAL;
    for (size_t i = 0; i < n; i++) {
        size_t sz;
        int rc = packet_size(&p[i], &sz);
        if (rc < 0)
            return rc;
        if (in_payload && !p[i].binary && p[i].len && memchr(p[i].data, EIO_SEPARATOR, p[i].len))
            return EIO_EINVAL;
        if (sz > SIZE_MAX / 2 - total)
            return EIO_ETOOBIG;
        total += sz + (i + 1 < n); /* + the separator after all but the last */
    }
    *len = total;
    if (out == NULL || cap <= total)
        return EIO_ESPACE;
    char *w = out;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *w++ = EIO_SEPARATOR;
        w += write_packet(&p[i], w);
    }
    *w = '\0';
    return 0;
}

int eio_encode_packet(const struct eio_packet *p, char *out, size_t cap, size_t *len)
{
    return encode(p, 1, false, out, cap, len);
}

int eio_encode_payload(const struct eio_packet *p, size_t n, char *out, size_t cap, size_t *len)
{
    return encode(p, n, true, out, cap, len);
}

char *eio_open_json(const struct eio_handshake *h, size_t *len)
{
    if (h == NULL || h->sid == NULL)
        return NULL;
    /* cJSON for the escaping of sid; the key order is the reference server's. */
    cJSON *o = cJSON_CreateObject();
    bool ok = cJSON_AddStringToObject(o, "sid", h->sid) != NULL;
    cJSON *up = ok ? cJSON_AddArrayToObject(o, "upgrades") : NULL;
    ok = up != NULL;
    for (size_t i = 0; ok && i < h->n_upgrades; i++) {
        cJSON *s = cJSON_CreateString(h->upgrades[i]);
        ok = s != NULL && cJSON_AddItemToArray(up, s);
    }
    ok = ok && cJSON_AddNumberToObject(o, "pingInterval", h->ping_interval_ms) &&
         cJSON_AddNumberToObject(o, "pingTimeout", h->ping_timeout_ms) &&
         cJSON_AddNumberToObject(o, "maxPayload", (double)h->max_payload);
    char *printed = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (printed == NULL)
        return NULL;
    /* Hand back plain malloc memory, whatever allocator cJSON was given. */
    size_t n = strlen(printed);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, printed, n + 1);
        if (len)
            *len = n;
    }
    cJSON_free(printed);
    return s;
}
