/*
 * The attestation fetch's HTTP/1.1 response reader: any input, read whole
 * and read in pieces whose sizes come from the input, must give the same
 * verdict, body and bytes taken; the body never exceeds the cap.
 */

#include <stdlib.h>
#include <string.h>

#include "confer_http1.h"


typedef struct {
    confer_http1_err_t  rc;
    size_t              used;
    size_t              body_len;
    uint8_t             body[1024];
} fz_http1_result_t;


static void
fz_http1_run(const uint8_t *in, size_t n, const uint8_t *cut, size_t ncut,
    size_t cap, fz_http1_result_t *r)
{
    size_t          off, piece, used, k;
    confer_http1_t  h;

    confer_http1_init(&h);
    r->rc = CONFER_HTTP1_AGAIN;
    r->used = 0;
    r->body_len = 0;
    k = 0;

    for (off = 0; off < n; off += used) {
        piece = ncut ? (size_t) cut[k++ % ncut] % 16 + 1 : n;
        piece = piece < n - off ? piece : n - off;

        r->rc = confer_http1_parse(&h, in + off, piece, &used, r->body, cap,
                                   &r->body_len);
        if (used > piece || r->body_len > cap) {
            abort();
        }

        r->used += used;

        if (r->rc != CONFER_HTTP1_AGAIN) {
            break;
        }

        if (used != piece) {
            abort();                /* AGAIN must mean "took it all" */
        }
    }

    if (r->rc == CONFER_HTTP1_AGAIN) {
        r->rc = confer_http1_eof(&h);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t              cap, ncut;
    fz_http1_result_t  *a, *b;

    static fz_http1_result_t  whole, cut;

    if (size < 2) {
        return 0;
    }

    /* the first byte sets the cap, the next few the piece sizes */
    cap = (size_t) data[0] * 4;
    ncut = data[1] % 8;

    if (size < 2 + ncut) {
        return 0;
    }

    a = &whole;
    b = &cut;

    fz_http1_run(data + 2 + ncut, size - 2 - ncut, NULL, 0, cap, a);
    fz_http1_run(data + 2 + ncut, size - 2 - ncut, data + 2, ncut, cap, b);

    if (a->rc != b->rc || a->body_len != b->body_len
        || memcmp(a->body, b->body, a->body_len) != 0
        || (a->rc == CONFER_HTTP1_DONE && a->used != b->used))
    {
        abort();                    /* the verdict depends on the split */
    }

    return 0;
}
