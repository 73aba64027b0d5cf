/* libFuzzer target for lib/sio: whatever decodes must encode, decode again to
 * the same header fields, and encode again to the same bytes. Binary packets
 * also go through sio_reconstruct and sio_deconstruct. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool same_nsp(const char *a, const char *b)
{
    bool da = a[0] == '\0' || strcmp(a, "/") == 0, db = b[0] == '\0' || strcmp(b, "/") == 0;
    return da == db && (da || strcmp(a, b) == 0);
}

/* Encodes p, decodes the result, checks the header survived and that encoding
 * again gives the same bytes. */
static void round_trip(const struct sio_packet *p)
{
    size_t len, len2;
    char *s = sio_encode(p, &len);
    CHECK(s != NULL && strlen(s) == len);
    struct sio_packet q;
    CHECK(sio_decode(s, len, &q) == 0);
    CHECK(q.type == p->type);
    CHECK(same_nsp(q.nsp, p->nsp));
    CHECK(q.has_ack == p->has_ack && (!q.has_ack || q.ack_id == p->ack_id));
    CHECK(q.attachments == p->attachments);
    CHECK((q.data == NULL) == (p->data == NULL));
    char *s2 = sio_encode(&q, &len2);
    CHECK(s2 != NULL && len2 == len && memcmp(s, s2, len) == 0);
    free(s2);
    free(s);
    sio_packet_clear(&q);
}

/* Fills in made-up attachments, then takes them out again. */
static void binary_round_trip(struct sio_packet *p)
{
    static const char bytes[] = "\x00\x01\x1e\xff";
    struct sio_blob blobs[SIO_ATTACHMENTS_MAX];
    for (unsigned i = 0; i < p->attachments; i++)
        blobs[i] = (struct sio_blob){bytes, i % sizeof bytes};
    int rc = sio_reconstruct(p, blobs, p->attachments);
    CHECK(rc == 0 || rc == SIO_EATTACH);
    if (rc != 0)
        return;
    CHECK(p->type == SIO_EVENT || p->type == SIO_ACK);
    round_trip(p);

    void *store = NULL;
    rc = sio_deconstruct(p, blobs, &store);
    CHECK(rc >= 0 || rc == SIO_EATTACH || rc == SIO_EINVAL);
    if (rc > 0) {
        CHECK(store != NULL && p->attachments == (unsigned)rc);
        round_trip(p);
    }
    free(store);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sio_packet p;
    int rc = sio_decode((const char *)data, size, &p);
    if (rc < 0) {
        /* SIO_ENUL keeps the header (no data) so the packet can be answered. */
        CHECK(rc >= SIO_ENUL && p.data == NULL);
        CHECK(rc != SIO_ENUL || (p.type < SIO_TYPE_COUNT && p.nsp[0] == '/'));
        return 0;
    }
    CHECK(p.type < SIO_TYPE_COUNT && p.nsp[0] == '/' && strlen(p.nsp) <= SIO_NSP_MAX);
    CHECK(p.attachments <= SIO_ATTACHMENTS_MAX && p.ack_id <= SIO_ACK_ID_MAX);
    if (p.type == SIO_EVENT || p.type == SIO_BINARY_EVENT)
        CHECK(sio_event_name(&p) != NULL);
    round_trip(&p);

    if (p.type == SIO_BINARY_EVENT || p.type == SIO_BINARY_ACK) {
        binary_round_trip(&p);
    } else if (p.type == SIO_EVENT || p.type == SIO_ACK) {
        /* The input may hold {"_binary":…} values of its own. */
        struct sio_blob blobs[SIO_ATTACHMENTS_MAX];
        void *store = NULL;
        rc = sio_deconstruct(&p, blobs, &store);
        CHECK(rc >= 0 || rc == SIO_EATTACH || rc == SIO_EINVAL);
        if (rc > 0)
            round_trip(&p);
        free(store);
    }
    sio_packet_clear(&p);
    return 0;
}
