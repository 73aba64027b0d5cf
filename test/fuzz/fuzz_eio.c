/* libFuzzer target for lib/eio: decodes the input as a polling payload and as
 * one WebSocket text frame; whatever decodes must encode, decode again to the
 * same packets, and encode again to the same bytes (a stable round trip). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eio.h"

#define MAX_PACKETS 64
#define MAX_PAYLOAD 4096 /* as the fuzz run's -max_len */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void same_packets(const struct eio_packet *a, const struct eio_packet *b, int n)
{
    for (int i = 0; i < n; i++) {
        CHECK(a[i].type == b[i].type);
        CHECK(a[i].binary == b[i].binary);
        CHECK(a[i].len == b[i].len);
        CHECK(a[i].len == 0 || memcmp(a[i].data, b[i].data, a[i].len) == 0);
    }
}

/* Encodes p[0..n) (as a payload, or as one packet), decodes it back, checks. */
static void round_trip(const struct eio_packet *p, int n, bool payload)
{
    size_t len, len2;
    int rc = payload ? eio_encode_payload(p, (size_t)n, NULL, 0, &len)
                     : eio_encode_packet(p, NULL, 0, &len);
    CHECK(rc == EIO_ESPACE);
    char *enc = malloc(len + 1);
    CHECK(enc != NULL);
    rc = payload ? eio_encode_payload(p, (size_t)n, enc, len + 1, &len2)
                 : eio_encode_packet(p, enc, len + 1, &len2);
    CHECK(rc == 0 && len2 == len && enc[len] == '\0');

    struct eio_packet q[MAX_PACKETS];
    size_t ss = eio_scratch_size(len);
    char *scratch = malloc(ss + 1);
    CHECK(scratch != NULL);
    int m = payload ? eio_decode_payload(enc, len, len, q, MAX_PACKETS, scratch, ss)
                    : (eio_decode_packet(enc, len, q, scratch, ss) == 0 ? 1 : -1);
    CHECK(m == n);
    same_packets(p, q, n);

    char *enc2 = malloc(len + 1);
    CHECK(enc2 != NULL);
    rc = payload ? eio_encode_payload(q, (size_t)m, enc2, len + 1, &len2)
                 : eio_encode_packet(q, enc2, len + 1, &len2);
    CHECK(rc == 0 && len2 == len && memcmp(enc, enc2, len) == 0);
    free(enc2);
    free(scratch);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    struct eio_packet p[MAX_PACKETS];
    size_t ss = eio_scratch_size(size);
    char *scratch = malloc(ss + 1);
    if (scratch == NULL)
        return 0;

    int n = eio_decode_payload(in, size, MAX_PAYLOAD, p, MAX_PACKETS, scratch, ss);
    CHECK(n < 0 ? n >= EIO_EINVAL : (n >= 1 && n <= MAX_PACKETS));
    if (n > 0)
        round_trip(p, n, true);

    if (eio_decode_packet(in, size, p, scratch, ss) == 0)
        round_trip(p, 1, false);

    eio_decode_binary(in, size, p);
    CHECK(p[0].binary && p[0].len == size);
    round_trip(p, 1, true);

    free(scratch);
    return 0;
}
