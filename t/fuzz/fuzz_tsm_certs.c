/*
 * The SEV-SNP certificate table that configfs-tsm's auxblob holds
 * (attest_tsm_snp_certs): every blob it returns must lie inside the input,
 * in the document's order, at most the room given.
 */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "attest_tsm.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t         i, n, max;
    attest_blob_t  certs[4];

    for (max = 0; max <= 4; max += 2) {
        if (attest_tsm_snp_certs(data, size, certs, max, &n) != ATTEST_OK) {
            continue;
        }

        if (n > max) {
            abort();
        }

        for (i = 0; i < n; i++) {
            if (certs[i].p < data || certs[i].n == 0
                || certs[i].p + certs[i].n > data + size)
            {
                abort();
            }
        }
    }

    return 0;
}
