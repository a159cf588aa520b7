/*
 * Chunked request reader (chunked draft, 6.1) with the fuzz server key.
 * Input: 1 byte n, n bytes of cut sizes, then the stream.  The stream is
 * read whole and again cut into pieces, and once more by a reader that
 * starts with one byte of memory and grows up to the same bound: all must
 * give the same chunks and the same end.
 */

#include "fuzz_common.h"

#define FZ_CAP  4096

static uint8_t      fz_buf[FZ_CAP];
static fz_record_t  fz_a, fz_b;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                   ncut;
    confer_ohttp_ctx_t       s;
    confer_chunked_reader_t  rd;

    if (size < 1 || (size_t) data[0] + 1 > size) {
        return 0;
    }

    fz_init_key();
    ncut = data[0];

    confer_ohttp_init(&s);
    confer_chunked_request_reader_init(&rd, &s, fz_lookup, NULL, fz_buf,
                                       FZ_CAP);
    fz_run(&rd, data + 1 + ncut, size - 1 - ncut, NULL, 0, &fz_a);
    confer_chunked_reader_cleanup(&rd);
    confer_ohttp_cleanup(&s);

    confer_ohttp_init(&s);
    confer_chunked_request_reader_init(&rd, &s, fz_lookup, NULL, fz_buf,
                                       FZ_CAP);
    fz_run(&rd, data + 1 + ncut, size - 1 - ncut, data + 1, ncut, &fz_b);
    confer_chunked_reader_cleanup(&rd);
    confer_ohttp_cleanup(&s);

    fz_same(&fz_a, &fz_b);

    fz_grown = malloc(1);
    if (fz_grown == NULL) {
        return 0;
    }

    confer_ohttp_init(&s);
    confer_chunked_request_reader_init(&rd, &s, fz_lookup, NULL, fz_grown,
                                       1);
    confer_chunked_reader_set_max(&rd, FZ_CAP);
    fz_run(&rd, data + 1 + ncut, size - 1 - ncut, data + 1, ncut, &fz_b);
    confer_chunked_reader_cleanup(&rd);
    confer_ohttp_cleanup(&s);
    fz_grown_free();

    fz_same(&fz_a, &fz_b);

    return 0;
}
