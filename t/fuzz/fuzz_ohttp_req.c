/*
 * OHTTP request decapsulation (RFC 9458, 4.3) with the fuzz server key;
 * a request that opens is answered, so response sealing runs too.
 */

#include "fuzz_common.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t              n;
    uint8_t            *out, res[64];
    confer_ohttp_ctx_t  s;
    confer_ohttp_err_t  rc;

    fz_init_key();

    out = malloc(size ? size : 1);
    confer_ohttp_init(&s);
    rc = confer_ohttp_decapsulate_request(&s, fz_lookup, NULL, data, size,
                                          out, size, &n);
    if (rc == CONFER_OHTTP_OK) {
        if (n + CONFER_OHTTP_REQ_PREFIX + CONFER_HPKE_NT != size) {
            abort();
        }
        if (confer_ohttp_encapsulate_response(&s, out, n < 16 ? n : 16, res,
                                              sizeof(res), &n)
            != CONFER_OHTTP_OK)
        {
            abort();
        }
    }
    confer_ohttp_cleanup(&s);
    free(out);

    return 0;
}
