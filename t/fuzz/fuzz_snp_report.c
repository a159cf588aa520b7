/*
 * The SEV-SNP report parser and verifier: the first 0x4A0 bytes are the
 * report, the rest one certificate blob (DER or PEM), so that the chain
 * builder and the extension checks see hostile certificates too.
 */

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include "attest.h"
#include "attest_snp.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t               n;
    attest_blob_t        cert;
    attest_evidence_t    ev;
    attest_snp_report_t  r;
    char                 detail[256];
    static const uint8_t  root[32];

    attest_snp_parse(data, size, &r, detail, sizeof(detail));

    n = size < ATTEST_SNP_REPORT_SIZE ? size : ATTEST_SNP_REPORT_SIZE;
    cert.p = data + n;
    cert.n = size - n;

    attest_snp_verify(data, n, &cert, cert.n ? 1 : 0, NULL, 1780272000, &ev,
                      detail, sizeof(detail));
    attest_snp_verify(data, n, &cert, cert.n ? 1 : 0, root, 1780272000, &ev,
                      NULL, 0);

    return 0;
}
