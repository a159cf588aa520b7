/*
 * libFuzzer harness: an NVIDIA SPDM report with its certificate chain,
 * framed as u16be(chain length) || PEM chain || report, through the
 * layout parser, the JSON view, the opaque fields, the FWID extension
 * parser and the whole verification.  The last certificate of the chain
 * is pinned as the simulated root and the nonce is the report's own, so
 * that a seed made by the simulated platform reaches every check.
 */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "attest_gpu.h"
#include "attest_x509.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                  text[32];
    json_t               *j;
    X509                 *x[ATTEST_X509_MAX_POOL];
    size_t                clen, n, len;
    time_t                now;
    uint8_t               root[32], fwid[48], nonce[32];
    const uint8_t        *chain, *report, *p;
    attest_gpu_facts_t    f;
    attest_gpu_report_t  *r;

    attest_gpu_leaf_fwid(data, size, fwid);

    if (size < 2) {
        return 0;
    }

    clen = (size_t) data[0] << 8 | data[1];
    if (clen > size - 2) {
        return 0;
    }

    chain = data + 2;
    report = chain + clen;
    n = size - 2 - clen;

    r = malloc(sizeof(attest_gpu_report_t));
    if (r == NULL) {
        return 0;
    }

    if (attest_gpu_parse(report, n, r) == ATTEST_OK) {
        j = attest_gpu_report_json(r);
        json_decref(j);

        p = attest_gpu_opaque(r, ATTEST_GPU_TLV_VBIOS, &len);
        if (p != NULL) {
            attest_gpu_vbios_text(p, len, text, sizeof(text));
        }

        memcpy(nonce, r->nonce, 32);

    } else {
        memset(nonce, 0, 32);
    }

    /* pin whatever the chain ends with, and check at a time when its
     * leaf is valid, so that old seeds still reach the signature */
    memset(root, 0, 32);
    now = 1780272000;
    len = 0;
    if (clen > 0
        && attest_x509_load(chain, clen, x, ATTEST_X509_MAX_POOL, &len)
           == ATTEST_OK)
    {
        attest_x509_sha256(x[len - 1], root);
        if (attest_asn1_time(X509_get0_notBefore(x[0]), &now) == 0) {
            now += 60;
        }
        attest_x509_free(x, len);
    }

    attest_gpu_verify(report, n, chain, clen, nonce, root, now, &f, text,
                      sizeof(text));
    attest_gpu_verify(report, n, chain, clen, nonce, NULL, now, &f, NULL, 0);

    free(r);
    return 0;
}
