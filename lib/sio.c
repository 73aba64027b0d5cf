/* sio — Socket.IO v5 packet codec. See sio.h for the wire format. */
#include "sio.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B64_VARIANT sodium_base64_VARIANT_ORIGINAL
#define BINARY_KEY "_binary"

/* Longest header: type, "10-", namespace, ',', 16 digits of ack id, NUL. */
#define HEADER_MAX (1 + 3 + SIO_NSP_MAX + 1 + 16 + 1)

const char *sio_strerror(int err)
{
    switch (err) {
    case 0:
        return "ok";
    case SIO_ETYPE:
        return "unknown packet type";
    case SIO_EATTACH:
        return "illegal attachments";
    case SIO_ENSP:
        return "invalid namespace";
    case SIO_EACKID:
        return "ack id out of range";
    case SIO_EJSON:
        return "payload is not JSON";
    case SIO_EPAYLOAD:
        return "invalid payload";
    case SIO_ENOMEM:
        return "out of memory";
    case SIO_EINVAL:
        return "packet cannot be encoded";
    case SIO_ENUL:
        return "a string holds U+0000";
    }
    return "unknown error";
}

static bool is_binary_type(enum sio_type t)
{
    return t == SIO_BINARY_EVENT || t == SIO_BINARY_ACK;
}

/* What each type may carry: socket.io-parser's isPayloadValid, except that an
 * event name must be a string (not a number) and the EVENT/ACK payload is
 * required (the reference lets "2" through as an event without a name). */
static bool payload_ok(enum sio_type t, const cJSON *d)
{
    switch (t) {
    case SIO_CONNECT:
        return d == NULL || cJSON_IsObject(d);
    case SIO_DISCONNECT:
        return d == NULL;
    case SIO_EVENT:
    case SIO_BINARY_EVENT:
        return cJSON_IsArray(d) && cJSON_IsString(d->child) && d->child->valuestring;
    case SIO_ACK:
    case SIO_BINARY_ACK:
        return cJSON_IsArray(d);
    case SIO_CONNECT_ERROR:
        return cJSON_IsObject(d) || cJSON_IsString(d);
    }
    return false;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parses the run of digits at in[*pos..len) into *value, refusing values above
 * max without overflowing. Returns 1, 0 when there is no digit, -1 past max. */
static int parse_uint(const char *in, size_t len, size_t *pos, uint64_t max, uint64_t *value)
{
    uint64_t v = 0;
    size_t start = *pos;
    while (*pos < len && is_digit(in[*pos])) {
        unsigned d = (unsigned)(in[*pos] - '0');
        if (v > max / 10 || v * 10 > max - d)
            return -1;
        v = v * 10 + d;
        (*pos)++;
    }
    *value = v;
    return *pos > start;
}

static bool is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Whether JSON text s[0..len) escapes a NUL ("\u0000"). cJSON keeps strings
 * NUL-terminated, so it would silently cut such a string short: better refuse
 * the packet than hand the application altered text. Backslashes appear only
 * inside strings, and each escapes the next character, hence the skip by 2. */
static bool has_escaped_nul(const char *s, size_t len)
{
    const char *end = s + len;
    const char *p = memchr(s, '\\', len);
    while (p) {
        if (end - p >= 6 && memcmp(p + 1, "u0000", 5) == 0)
            return true;
        if (end - p <= 2)
            break;
        p += 2;
        p = memchr(p, '\\', (size_t)(end - p));
    }
    return false;
}

/* Parses in[0..len) as exactly one JSON value (whitespace around it allowed,
 * as JSON.parse does). cJSON's require_null_terminated wants a NUL inside the
 * length, which a slice of a frame does not have, so the end is checked here. */
static cJSON *parse_json(const char *in, size_t len)
{
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(in, len, &end, 0);
    if (v == NULL)
        return NULL;
    while (end < in + len && is_json_space(*end))
        end++;
    if (end != in + len) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

int sio_decode(const char *in, size_t len, struct sio_packet *out)
{
    struct sio_packet p = {.nsp = "/"};
    size_t pos = 1;
    uint64_t v;

    memset(out, 0, sizeof *out);
    if (len == 0 || !is_digit(in[0]) || in[0] - '0' >= SIO_TYPE_COUNT)
        return SIO_ETYPE;
    p.type = (enum sio_type)(in[0] - '0');

    if (is_binary_type(p.type)) {
        if (parse_uint(in, len, &pos, SIO_ATTACHMENTS_MAX, &v) <= 0 || pos == len || in[pos] != '-')
            return SIO_EATTACH;
        p.attachments = (unsigned)v;
        pos++;
    }

    if (pos < len && in[pos] == '/') {
        const char *comma = memchr(in + pos, ',', len - pos);
        size_t n = comma ? (size_t)(comma - (in + pos)) : len - pos;
        /* The namespace is kept as a C string, so a NUL would cut it short. */
        if (n > SIO_NSP_MAX || memchr(in + pos, '\0', n))
            return SIO_ENSP;
        memcpy(p.nsp, in + pos, n);
        p.nsp[n] = '\0';
        pos += n + (comma != NULL);
    }

    if (pos < len && is_digit(in[pos])) {
        if (parse_uint(in, len, &pos, SIO_ACK_ID_MAX, &v) < 0)
            return SIO_EACKID;
        p.has_ack = true;
        p.ack_id = v;
    }

    if (pos < len && has_escaped_nul(in + pos, len - pos)) {
        *out = p; /* the header only: see SIO_ENUL */
        return SIO_ENUL;
    }
    if (pos < len) {
        p.data = parse_json(in + pos, len - pos);
        if (p.data == NULL)
            return SIO_EJSON;
    }
    if (!payload_ok(p.type, p.data)) {
        cJSON_Delete(p.data);
        return SIO_EPAYLOAD;
    }
    *out = p;
    return 0;
}

void sio_packet_clear(struct sio_packet *p)
{
    if (p == NULL)
        return;
    cJSON_Delete(p->data);
    memset(p, 0, sizeof *p);
}

const char *sio_event_name(const struct sio_packet *p)
{
    if (p == NULL || (p->type != SIO_EVENT && p->type != SIO_BINARY_EVENT) ||
        !payload_ok(p->type, p->data))
        return NULL;
    return p->data->child->valuestring;
}

const cJSON *sio_arg(const struct sio_packet *p, size_t i)
{
    if (p == NULL || !cJSON_IsArray(p->data))
        return NULL;
    const cJSON *c = p->data->child;
    if (p->type == SIO_EVENT || p->type == SIO_BINARY_EVENT)
        c = c ? c->next : NULL; /* skip the name */
    else if (p->type != SIO_ACK && p->type != SIO_BINARY_ACK)
        return NULL;
    while (c && i-- > 0)
        c = c->next;
    return c;
}

/* "" and "/" are the default namespace, written as nothing. Any other must
 * start with '/', fit SIO_NSP_MAX and hold no ',' (it ends the namespace). */
static bool nsp_ok(const char *nsp, bool *is_default)
{
    *is_default = nsp == NULL || nsp[0] == '\0' || strcmp(nsp, "/") == 0;
    if (*is_default)
        return true;
    size_t n = strnlen(nsp, SIO_NSP_MAX + 1);
    return nsp[0] == '/' && n <= SIO_NSP_MAX && memchr(nsp, ',', n) == NULL;
}

/* The one encoder behind the public ones: header, then the JSON, in a fresh
 * malloc block so that the caller frees it with free() whatever cJSON's hooks. */
static char *encode(enum sio_type type, const char *nsp, bool has_ack, uint64_t id,
                    unsigned attachments, const cJSON *data, size_t *len)
{
    bool dflt;
    if ((unsigned)type >= SIO_TYPE_COUNT || !nsp_ok(nsp, &dflt) ||
        (has_ack && id > SIO_ACK_ID_MAX) ||
        (is_binary_type(type) && attachments > SIO_ATTACHMENTS_MAX) || !payload_ok(type, data))
        return NULL;

    char hdr[HEADER_MAX];
    int h = snprintf(hdr, sizeof hdr, "%d", (int)type);
    if (is_binary_type(type))
        h += snprintf(hdr + h, sizeof hdr - (size_t)h, "%u-", attachments);
    if (!dflt)
        h += snprintf(hdr + h, sizeof hdr - (size_t)h, "%s,", nsp);
    if (has_ack)
        h += snprintf(hdr + h, sizeof hdr - (size_t)h, "%" PRIu64, id);

    char *json = NULL;
    size_t jlen = 0;
    if (data) {
        json = cJSON_PrintUnformatted(data);
        if (json == NULL)
            return NULL;
        jlen = strlen(json);
    }
    char *s = malloc((size_t)h + jlen + 1);
    if (s) {
        memcpy(s, hdr, (size_t)h);
        if (jlen)
            memcpy(s + h, json, jlen);
        s[(size_t)h + jlen] = '\0';
        if (len)
            *len = (size_t)h + jlen;
    }
    cJSON_free(json);
    return s;
}

char *sio_encode(const struct sio_packet *p, size_t *len)
{
    if (p == NULL)
        return NULL;
    /* A namespace that fills the array without a NUL is no C string. */
    if (memchr(p->nsp, '\0', sizeof p->nsp) == NULL)
        return NULL;
    return encode(p->type, p->nsp, p->has_ack, p->ack_id, p->attachments, p->data, len);
}

/* An array of [first?, arg?] that borrows both: references, so nothing is
 * copied and cJSON_Delete on it frees only the array's own nodes. cJSON's
 * reference API takes a non-const item but only copies its header. */
static cJSON *borrowed_array(const char *first, const cJSON *arg)
{
    cJSON *a = cJSON_CreateArray();
    if (a == NULL)
        return NULL;
    if (first && !cJSON_AddItemToArray(a, cJSON_CreateStringReference(first)))
        goto fail;
    if (arg && !cJSON_AddItemReferenceToArray(a, (cJSON *)arg))
        goto fail;
    return a;
fail:
    cJSON_Delete(a);
    return NULL;
}

char *sio_encode_event(const char *nsp, const char *event, const cJSON *arg, size_t *len)
{
    if (event == NULL)
        return NULL;
    cJSON *a = borrowed_array(event, arg);
    char *s = a ? encode(SIO_EVENT, nsp, false, 0, 0, a, len) : NULL;
    cJSON_Delete(a);
    return s;
}

char *sio_encode_ack(const char *nsp, uint64_t id, const cJSON *arg, size_t *len)
{
    cJSON *a = borrowed_array(NULL, arg);
    char *s = a ? encode(SIO_ACK, nsp, true, id, 0, a, len) : NULL;
    cJSON_Delete(a);
    return s;
}

/* --- binary attachments ------------------------------------------------- */

static bool is_placeholder(const cJSON *o)
{
    return cJSON_IsObject(o) && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "_placeholder"));
}

/* The attachment index of placeholder o, or -1 unless it is an integer below n
 * (the reference would index its buffer array with anything). */
static int placeholder_num(const cJSON *o, size_t n)
{
    const cJSON *num = cJSON_GetObjectItemCaseSensitive(o, "num");
    if (!cJSON_IsNumber(num))
        return -1;
    double d = num->valuedouble;
    if (!(d >= 0 && d < (double)n) || (double)(int)d != d)
        return -1;
    return (int)d;
}

/* The base64 text of a binary value {"_binary":"…"}, or NULL if o is not one. */
static const char *binary_b64(const cJSON *o)
{
    if (!cJSON_IsObject(o) || o->child == NULL || o->child->next != NULL)
        return NULL;
    const cJSON *v = o->child;
    if (v->string == NULL || strcmp(v->string, BINARY_KEY) != 0 || !cJSON_IsString(v))
        return NULL;
    return v->valuestring;
}

/* Gives object o the members of object from, which is deleted: the node keeps
 * its place and key in the tree, only its contents change. Building the new
 * members aside first means a failed allocation leaves o as it was. */
static void take_members(cJSON *o, cJSON *from)
{
    cJSON_Delete(o->child);
    o->child = from->child;
    from->child = NULL;
    cJSON_Delete(from);
}

/* Every tree walk below stops at SIO_DEPTH_MAX: a tree from sio_decode is never
 * deeper, one built by the application might be. */

static int check_placeholders(const cJSON *t, size_t n, int depth)
{
    if (depth > SIO_DEPTH_MAX)
        return SIO_EPAYLOAD;
    if (is_placeholder(t))
        return placeholder_num(t, n) < 0 ? SIO_EATTACH : 0;
    for (const cJSON *c = t->child; c; c = c->next) {
        int rc = check_placeholders(c, n, depth + 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* {"_binary":"<base64 of b>"}, or NULL when out of memory. */
static cJSON *new_binary(const struct sio_blob *b)
{
    size_t cap = sodium_base64_ENCODED_LEN(b->len, B64_VARIANT);
    char *b64 = malloc(cap);
    cJSON *o = cJSON_CreateObject();
    if (b64 && o) {
        sodium_bin2base64(b64, cap, b->data, b->len, B64_VARIANT);
        if (!cJSON_AddStringToObject(o, BINARY_KEY, b64)) {
            cJSON_Delete(o);
            o = NULL;
        }
    } else {
        cJSON_Delete(o);
        o = NULL;
    }
    free(b64);
    return o;
}

/* Runs after check_placeholders, so every placeholder is valid here. */
static int fill_placeholders(cJSON *t, const struct sio_blob *blobs, size_t n)
{
    if (is_placeholder(t)) {
        cJSON *b = new_binary(&blobs[placeholder_num(t, n)]);
        if (b == NULL)
            return SIO_ENOMEM;
        take_members(t, b);
        return 0;
    }
    for (cJSON *c = t->child; c; c = c->next) {
        int rc = fill_placeholders(c, blobs, n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int sio_reconstruct(struct sio_packet *p, const struct sio_blob *blobs, size_t n)
{
    if (p == NULL || !is_binary_type(p->type) || p->data == NULL || (n > 0 && blobs == NULL))
        return SIO_EINVAL;
    if (n != p->attachments)
        return SIO_EATTACH;
    for (size_t i = 0; i < n; i++)
        if (blobs[i].len > SIZE_MAX / 2 || (blobs[i].len > 0 && blobs[i].data == NULL))
            return SIO_EINVAL;
    int rc = check_placeholders(p->data, n, 0);
    if (rc == 0)
        rc = fill_placeholders(p->data, blobs, n);
    if (rc < 0)
        return rc;
    p->type = p->type == SIO_BINARY_EVENT ? SIO_EVENT : SIO_ACK;
    p->attachments = 0;
    return 0;
}

/* Sets *n to the bytes padded base64 b64 decodes to; false when its length
 * or padding cannot be that (libsodium checks the alphabet when decoding). */
static bool b64_decoded_len(const char *b64, size_t *n)
{
    size_t len = strlen(b64), pad = 0;
    if (len % 4 != 0)
        return false;
    if (len > 0 && b64[len - 1] == '=')
        pad = b64[len - 2] == '=' ? 2 : 1;
    *n = len / 4 * 3 - pad;
    return true;
}

/* Counts the binary values under t and the bytes they decode to. */
static int count_binaries(const cJSON *t, size_t *count, size_t *bytes, int depth)
{
    if (depth > SIO_DEPTH_MAX)
        return SIO_EPAYLOAD;
    const char *b64 = binary_b64(t);
    if (b64) {
        size_t n;
        if (!b64_decoded_len(b64, &n))
            return SIO_EINVAL;
        if (++*count > SIO_ATTACHMENTS_MAX)
            return SIO_EATTACH;
        *bytes += n;
        return 0;
    }
    for (const cJSON *c = t->child; c; c = c->next) {
        int rc = count_binaries(c, count, bytes, depth + 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Decodes the binary values under t, in tree order, into store from *used on. */
static int decode_binaries(const cJSON *t, struct sio_blob *blobs, size_t *count,
                           unsigned char *store, size_t *used)
{
    const char *b64 = binary_b64(t);
    if (b64) {
        size_t want = 0, got = 0;
        b64_decoded_len(b64, &want); /* checked by count_binaries */
        if (want > 0 && sodium_base642bin(store + *used, want, b64, strlen(b64), NULL, &got, NULL,
                                          B64_VARIANT) != 0)
            return SIO_EINVAL;
        blobs[(*count)++] = (struct sio_blob){.data = got ? store + *used : NULL, .len = got};
        *used += got;
        return 0;
    }
    for (const cJSON *c = t->child; c; c = c->next) {
        int rc = decode_binaries(c, blobs, count, store, used);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Turns the binary values under t into placeholders numbered from *num on. */
static int place_placeholders(cJSON *t, int *num)
{
    if (binary_b64(t)) {
        cJSON *ph = cJSON_CreateObject();
        if (ph == NULL || !cJSON_AddTrueToObject(ph, "_placeholder") ||
            !cJSON_AddNumberToObject(ph, "num", *num)) {
            cJSON_Delete(ph);
            return SIO_ENOMEM;
        }
        take_members(t, ph);
        ++*num;
        return 0;
    }
    for (cJSON *c = t->child; c; c = c->next) {
        int rc = place_placeholders(c, num);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int sio_deconstruct(struct sio_packet *p, struct sio_blob blobs[SIO_ATTACHMENTS_MAX], void **store)
{
    size_t count = 0, bytes = 0, used = 0;
    *store = NULL;
    if (p == NULL || (p->type != SIO_EVENT && p->type != SIO_ACK) || p->data == NULL)
        return SIO_EINVAL;
    int rc = count_binaries(p->data, &count, &bytes, 0);
    if (rc < 0 || count == 0)
        return rc;
    /* Decode everything before touching the tree, so bad base64 changes nothing. */
    unsigned char *mem = malloc(bytes ? bytes : 1);
    if (mem == NULL)
        return SIO_ENOMEM;
    count = 0;
    rc = decode_binaries(p->data, blobs, &count, mem, &used);
    int num = 0;
    if (rc == 0)
        rc = place_placeholders(p->data, &num);
    if (rc < 0) {
        free(mem);
        return rc;
    }
    p->type = p->type == SIO_EVENT ? SIO_BINARY_EVENT : SIO_BINARY_ACK;
    p->attachments = (unsigned)count;
    *store = mem;
    return (int)count;
}
