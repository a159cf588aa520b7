/*
 * libFuzzer harness: NVIDIA's evidence JSON through its parser, then every
 * entry through the report parser and the verification of the list, with
 * the first entry's own nonce and its chain's last certificate pinned as
 * the simulated root (so that seeds from the simulated platform reach the
 * signature, nonce and duplicate checks).
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
    X509                 *x[ATTEST_X509_MAX_POOL];
    size_t                i, count, len;
    time_t                now;
    uint8_t              *mem, root[32], nonce[32];
    attest_evidence_t    *ev;
    attest_gpu_entry_t    e[ATTEST_MAX_GPUS];
    attest_gpu_report_t  *r;

    if (attest_gpu_evidence_parse(data, size, e, ATTEST_MAX_GPUS, &count,
                                  &mem, NULL, 0)
        != ATTEST_OK)
    {
        return 0;
    }

    r = malloc(sizeof(attest_gpu_report_t));
    ev = calloc(1, sizeof(attest_evidence_t));

    memset(nonce, 0, 32);
    memset(root, 0, 32);

    for (i = 0; r != NULL && i < count; i++) {
        if (attest_gpu_parse(e[i].evidence.p, e[i].evidence.n, r)
            == ATTEST_OK && i == 0)
        {
            memcpy(nonce, r->nonce, 32);
        }
    }

    /* the first chain's root pinned, at a time when its leaf is valid */
    now = 1780272000;
    len = 0;
    if (attest_x509_load(e[0].certs.p, e[0].certs.n, x, ATTEST_X509_MAX_POOL,
                         &len) == ATTEST_OK)
    {
        attest_x509_sha256(x[len - 1], root);
        if (attest_asn1_time(X509_get0_notBefore(x[0]), &now) == 0) {
            now += 60;
        }
        attest_x509_free(x, len);
    }

    if (ev != NULL) {
        attest_gpu_verify_list(e, count, nonce, root, now, ev, NULL, 0);
    }

    free(ev);
    free(r);
    free(mem);
    return 0;
}
