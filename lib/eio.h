/* eio — Engine.IO protocol v4 packets: pure codec, bytes in, packets out.
 *
 * A packet is a type and optional data. On a WebSocket each packet is one
 * frame: a text frame holds "<type digit><data>", a binary frame is a message
 * packet whose data is the frame as is. A long-polling body (a "payload") holds
 * packets joined by the record separator 0x1e, where a binary message is 'b'
 * followed by standard padded base64.
 *
 * Decoding never copies text: a decoded packet's data points into the input,
 * which must outlive it. Base64 data is decoded into a scratch buffer the caller
 * provides, which must outlive the packet too. Nothing here allocates except
 * eio_open_json, nothing keeps state, and every function is thread-safe.
 * libsodium's base64 codec needs no sodium_init.
 */
#ifndef CHAT_EIO_H
#define CHAT_EIO_H

#include <stdbool.h>
#include <stddef.h>

enum eio_type {
    EIO_OPEN = 0,    /* server → client handshake, data is eio_open_json */
    EIO_CLOSE = 1,   /* the transport may be closed */
    EIO_PING = 2,    /* server → client heartbeat; "2probe" during an upgrade */
    EIO_PONG = 3,    /* answer to a ping, same data */
    EIO_MESSAGE = 4, /* the data carries a Socket.IO packet */
    EIO_UPGRADE = 5, /* client completes the switch to WebSocket */
    EIO_NOOP = 6,    /* ends a pending poll during an upgrade */
};
#define EIO_TYPE_COUNT 7

/* Every error is negative; 0 (or a count) is success. */
enum eio_err {
    EIO_EEMPTY = -1,   /* an empty packet: nothing, not even a type */
    EIO_ETYPE = -2,    /* the first byte is not a packet type or 'b' */
    EIO_EBASE64 = -3,  /* 'b' followed by anything but padded standard base64 */
    EIO_ETOOMANY = -4, /* more packets in a payload than the caller allows */
    EIO_ETOOBIG = -5,  /* a payload over its size limit, or a size overflow */
    EIO_ESPACE = -6,   /* the caller's scratch or output buffer is too small */
    EIO_EINVAL = -7,   /* a packet that cannot be encoded (see eio_encode_packet) */
};

#define EIO_SEPARATOR '\x1e'

/* Defaults announced in the handshake, as the reference server's. */
#define EIO_DEFAULT_PING_INTERVAL_MS 25000
#define EIO_DEFAULT_PING_TIMEOUT_MS 20000
#define EIO_DEFAULT_MAX_PAYLOAD 1000000 /* bytes per polling body or frame */
#define EIO_DEFAULT_MAX_PACKETS 1024    /* packets per polling body */

struct eio_packet {
    enum eio_type type;
    bool binary;      /* data is bytes, not text; only for EIO_MESSAGE */
    const char *data; /* not NUL-terminated; NULL only when len is 0 */
    size_t len;
};

/* A scratch buffer of this many bytes always holds every binary packet of an
 * encoded payload of `len` bytes (base64 shrinks 4 bytes to 3). */
static inline size_t eio_scratch_size(size_t len)
{
    return len / 4 * 3;
}

/* A short English description of an eio_err, for logs. Never NULL. */
const char *eio_strerror(int err);

/* Decodes one text packet: a WebSocket text frame or one record of a payload.
 * 'b'+base64 decodes to a binary message in scratch[0..scratch_len) (pass NULL,
 * 0 to refuse binary with EIO_ESPACE). Returns 0 and fills *out, or a negative
 * eio_err and leaves *out unchanged. */
int eio_decode_packet(const char *in, size_t len, struct eio_packet *out, char *scratch,
                      size_t scratch_len);

/* Decodes a WebSocket binary frame: a binary message whose data is `in` itself
 * (empty allowed). Cannot fail; declared for symmetry and to state the rule. */
void eio_decode_binary(const void *in, size_t len, struct eio_packet *out);

/* Decodes a polling body into out[0..max_packets). Binary packets share
 * scratch (eio_scratch_size(len) bytes always suffice). Returns the number of
 * packets (at least 1), or a negative eio_err: EIO_ETOOBIG when len exceeds
 * max_payload, EIO_ETOOMANY past max_packets, or the first bad packet's error.
 * All or nothing: on error no packet is valid (the transport closes the
 * session, as the reference server does on a parse error). */
int eio_decode_payload(const char *in, size_t len, size_t max_payload, struct eio_packet *out,
                       size_t max_packets, char *scratch, size_t scratch_len);

/* Encodes one packet in its text form, "<type digit><data>" or, for binary,
 * "b<base64>" (a WebSocket sends binary data as a binary frame instead, as is).
 * Sets *len to the encoded length (0 if the packet is invalid) and writes the
 * packet plus a NUL into out when cap > *len: call with NULL, 0 to measure.
 * Returns 0, EIO_ESPACE when out is too small, EIO_EINVAL for a bad type, a
 * binary packet that is not a message or NULL data with a length, EIO_ETOOBIG
 * when the size would overflow. */
int eio_encode_packet(const struct eio_packet *p, char *out, size_t cap, size_t *len);

/* Encodes n >= 1 packets as a polling body: their text forms joined by 0x1e.
 * Same contract as eio_encode_packet, and EIO_EINVAL when a text packet holds
 * 0x1e, which would split it in two on the other side. */
int eio_encode_payload(const struct eio_packet *p, size_t n, char *out, size_t cap, size_t *len);

/* What the server announces in its open packet. */
struct eio_handshake {
    const char *sid;
    const char *const *upgrades; /* e.g. {"websocket"} on polling, none on WebSocket */
    size_t n_upgrades;
    unsigned ping_interval_ms;
    unsigned ping_timeout_ms;
    size_t max_payload;
};

/* The open packet's data, byte for byte as the reference server writes it:
 * {"sid":…,"upgrades":[…],"pingInterval":…,"pingTimeout":…,"maxPayload":…}.
 * Returns a NUL-terminated string the caller frees with free(), length in *len
 * (len may be NULL), or NULL when out of memory or sid is NULL. */
char *eio_open_json(const struct eio_handshake *h, size_t *len);

#endif
