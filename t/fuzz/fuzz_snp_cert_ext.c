/*
 * The AMD VCEK extension parsers: the first byte picks an extension arc
 * and the rest is its value; the whole input is also read as certificates
 * whose extensions are then parsed.
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "attest_x509.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char              s[64];
    X509             *x[ATTEST_X509_MAX_POOL];
    size_t            i, n;
    uint64_t          v;
    attest_amd_ext_t  e;
    static const char  *arcs[] = {
        "1", "2", "3.1", "3.2", "3.3", "3.8", "3.9", "3.10", "4", "5", "3.x"
    };

    if (size > 0) {
        memset(&e, 0, sizeof(e));
        attest_amd_ext_value(arcs[data[0] % 11], data + 1, size - 1, &e);
        attest_der_uint(data + 1, size - 1, &v);
        attest_der_string(data + 1, size - 1, s, sizeof(s));
    }

    n = 0;

    if (attest_x509_load(data, size, x, ATTEST_X509_MAX_POOL, &n)
        == ATTEST_OK)
    {
        for (i = 0; i < n; i++) {
            attest_x509_amd_ext(x[i], &e);
            attest_x509_self_signed(x[i]);
        }
    }

    attest_x509_free(x, n);
    return 0;
}
