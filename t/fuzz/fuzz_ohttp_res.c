/*
 * OHTTP response decapsulation (RFC 9458, 4.4) by a client that sent a
 * request with the fixed ephemeral key; the first input byte picks the
 * AEAD.
 */

#include "fuzz_common.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t              n;
    uint8_t            *out;
    confer_ohttp_ctx_t  c;

    if (size < 1) {
        return 0;
    }

    if (!fz_client(&c, CONFER_OHTTP_MODE_PLAIN, (uint16_t) (data[0] % 3 + 1)))
    {
        abort();
    }

    out = malloc(size);
    (void) confer_ohttp_decapsulate_response(&c, data + 1, size - 1, out,
                                             size - 1, &n);
    confer_ohttp_cleanup(&c);
    free(out);

    return 0;
}
