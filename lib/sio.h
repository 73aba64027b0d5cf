/* sio — Socket.IO protocol v5 packets: pure codec, text in, packets out.
 *
 * Wire format (each packet travels as the data of one Engine.IO message):
 *
 *   <type digit>[<attachments>-][/<namespace>,][<ack id>][<JSON payload>]
 *
 * the attachment count only for the BINARY_ types, the namespace only when it
 * is not "/". Examples: 2["message",{"a":1}]   31["ok"]   0/custom,{"sid":"x"}
 * 44{"message":"unauthorized"}   51-["up",{"_placeholder":true,"num":0}]
 *
 * A decoded packet owns its payload (a cJSON tree) and copies its namespace,
 * so it does not depend on the input. The encoder writes exactly what
 * socket.io's JavaScript encoder writes for the same packet (JSON through
 * cJSON_PrintUnformatted; docs/protocol-codecs.md lists the few number formats
 * where the two differ). No state and no allocation beyond the cJSON trees
 * and the encoded strings. Thread-safe but for one cJSON wart: its parser
 * records the position of its last error in a global that nobody here reads.
 */
#ifndef CHAT_SIO_H
#define CHAT_SIO_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sio_type {
    SIO_CONNECT = 0,       /* payload: absent or an object (client auth / server {"sid"}) */
    SIO_DISCONNECT = 1,    /* no payload */
    SIO_EVENT = 2,         /* payload: ["name", args…] */
    SIO_ACK = 3,           /* payload: [args…], with the ack id being answered */
    SIO_CONNECT_ERROR = 4, /* payload: an object or a string */
    SIO_BINARY_EVENT = 5,  /* an EVENT with placeholders for binary attachments */
    SIO_BINARY_ACK = 6,    /* an ACK with placeholders for binary attachments */
};
#define SIO_TYPE_COUNT 7

/* Every error is negative; 0 is success. */
enum sio_err {
    SIO_ETYPE = -1,    /* empty input or an unknown type digit */
    SIO_EATTACH = -2,  /* bad or too many attachments, or a bad placeholder */
    SIO_ENSP = -3,     /* namespace too long, or holding a NUL or ',' */
    SIO_EACKID = -4,   /* ack id above SIO_ACK_ID_MAX */
    SIO_EJSON = -5,    /* the payload is not one JSON value cJSON can hold */
    SIO_EPAYLOAD = -6, /* a payload the packet type does not allow */
    SIO_ENOMEM = -7,
    SIO_EINVAL = -8, /* a packet that cannot be encoded (bad type, NULL data…) */
    /* A payload string holds U+0000, which cJSON cannot keep: the packet is
     * refused, but *out holds its header (type, nsp, ack id; no data) so
     * that the caller can answer it rather than drop the connection. */
    SIO_ENUL = -9,
};

#define SIO_NSP_MAX 128        /* bytes of a namespace, leading '/' included */
#define SIO_ATTACHMENTS_MAX 10 /* as socket.io-parser's default maxAttachments */
/* The largest integer a JavaScript peer holds exactly (2^53 - 1). */
#define SIO_ACK_ID_MAX UINT64_C(9007199254740991)
/* Nesting the placeholder walks follow, as deep as cJSON parses. */
#define SIO_DEPTH_MAX CJSON_NESTING_LIMIT

struct sio_packet {
    enum sio_type type;
    char nsp[SIO_NSP_MAX + 1]; /* NUL-terminated; "" also means the default "/" */
    bool has_ack;
    uint64_t ack_id;      /* meaningful when has_ack */
    unsigned attachments; /* binary attachments following a BINARY_ packet */
    cJSON *data;          /* the payload, owned by the packet; NULL when absent */
};

/* A short English description of a sio_err, for logs. Never NULL. */
const char *sio_strerror(int err);

/* Decodes one packet from in[0..len) (need not be NUL-terminated) and checks it
 * as socket.io-parser does: an EVENT's payload is a non-empty array whose first
 * element is a string (the event name; reserved names are the application's
 * business), an ACK's an array, a CONNECT's absent or an object, a
 * CONNECT_ERROR's an object or a string, a DISCONNECT has none (a few checks
 * are stricter than the reference: see the doc). Returns 0 and
 * fills *out (release with sio_packet_clear), or a negative sio_err and leaves
 * *out empty. */
int sio_decode(const char *in, size_t len, struct sio_packet *out);

/* Frees the payload p owns and empties p. NULL-safe; p itself is the caller's. */
void sio_packet_clear(struct sio_packet *p);

/* The event name of a valid EVENT or BINARY_EVENT, or NULL for any other packet. */
const char *sio_event_name(const struct sio_packet *p);

/* Argument i (0-based) of an EVENT (after its name) or of an ACK, or NULL when
 * there are fewer. Borrowed from p->data. */
const cJSON *sio_arg(const struct sio_packet *p, size_t i);

/* Encodes p. Returns a NUL-terminated string the caller frees with free() and
 * its length in *len (len may be NULL); NULL when out of memory or when p is
 * not a packet sio_decode would accept: a bad type or namespace, a payload the
 * type does not allow, an ack id above SIO_ACK_ID_MAX, more than
 * SIO_ATTACHMENTS_MAX attachments. */
char *sio_encode(const struct sio_packet *p, size_t *len);

/* The server's hot path, without building a packet: [event, arg] (just
 * [event] when arg is NULL) as an EVENT in nsp (NULL or "/" for the default).
 * Same result and contract as sio_encode; arg stays the caller's. */
char *sio_encode_event(const char *nsp, const char *event, const cJSON *arg, size_t *len);

/* An ACK answering ack id `id` with [arg] ([] when arg is NULL). Same contract. */
char *sio_encode_ack(const char *nsp, uint64_t id, const cJSON *arg, size_t *len);

/* Binary data inside a cJSON tree is the object {"_binary":"<padded base64>"}:
 * simple, bounded by the frame limit, and easy to tell from a placeholder. */

/* Bytes of one attachment (an Engine.IO binary message). */
struct sio_blob {
    const void *data;
    size_t len;
};

/* Completes a BINARY_EVENT/BINARY_ACK once its n == p->attachments binary
 * messages have arrived: every {"_placeholder":true,"num":N} in p->data becomes
 * {"_binary":base64(blobs[N])}, p becomes an EVENT/ACK with no attachments.
 * Returns 0, or SIO_EATTACH (n is not p->attachments, or a placeholder's num is
 * not an integer below n), SIO_EINVAL (not a binary packet), SIO_EPAYLOAD (a
 * tree deeper than SIO_DEPTH_MAX) with p unchanged, or SIO_ENOMEM with p
 * possibly half converted (clear it). */
int sio_reconstruct(struct sio_packet *p, const struct sio_blob *blobs, size_t n);

/* The reverse, before sio_encode: every {"_binary":…} in p->data becomes a
 * placeholder and its bytes land in blobs[i], which point into *store (one
 * malloc'd block the caller frees with free(); NULL when there is none); an
 * EVENT/ACK with binaries becomes a BINARY_EVENT/BINARY_ACK. Returns the number
 * of attachments, the binary messages to send after the packet in this order
 * (0: nothing changed), or SIO_EATTACH (more than SIO_ATTACHMENTS_MAX),
 * SIO_EINVAL (not an EVENT/ACK, or bad base64), SIO_EPAYLOAD (too deep) with p
 * unchanged, or SIO_ENOMEM with p possibly half converted. */
int sio_deconstruct(struct sio_packet *p, struct sio_blob blobs[SIO_ATTACHMENTS_MAX], void **store);

#endif
