/*
 * Chunked response reader (chunked draft, 6.2) of a client that sent a
 * request with the fixed ephemeral key.  Input: 1 byte AEAD choice, 1
 * byte n, n bytes of cut sizes, then the stream; whole and cut readings
 * must agree.
 */

#include "fuzz_common.h"

#define FZ_CAP  4096

static uint8_t      fz_buf[FZ_CAP];
static fz_record_t  fz_a, fz_b;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                   ncut;
    uint16_t                 aead;
    confer_ohttp_ctx_t       c;
    confer_chunked_reader_t  rd;

    if (size < 2 || (size_t) data[1] + 2 > size) {
        return 0;
    }

    aead = (uint16_t) (data[0] % 3 + 1);
    ncut = data[1];

    if (!fz_client(&c, CONFER_OHTTP_MODE_CHUNKED, aead)) {
        abort();
    }
    confer_chunked_response_reader_init(&rd, &c, fz_buf, FZ_CAP);
    fz_run(&rd, data + 2 + ncut, size - 2 - ncut, NULL, 0, &fz_a);
    confer_chunked_reader_cleanup(&rd);
    confer_ohttp_cleanup(&c);

    if (!fz_client(&c, CONFER_OHTTP_MODE_CHUNKED, aead)) {
        abort();
    }
    confer_chunked_response_reader_init(&rd, &c, fz_buf, FZ_CAP);
    fz_run(&rd, data + 2 + ncut, size - 2 - ncut, data + 2, ncut, &fz_b);
    confer_chunked_reader_cleanup(&rd);
    confer_ohttp_cleanup(&c);

    fz_same(&fz_a, &fz_b);

    return 0;
}
