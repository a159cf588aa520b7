/*
 * The confer attestation document: parsing, and the whole verification
 * under the default policy and under one that allows simulated evidence
 * and pins the root the document's own chain ends at, so that a simulated
 * seed reaches every check, its GPU evidence included.
 */

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "attest_int.h"
#include "attest_x509.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                  pol[160];
    X509                 *x[ATTEST_X509_MAX_POOL];
    size_t                i, k;
    uint8_t               md[32];
    attest_policy_t      *sim;
    attest_verdict_t     *v;
    attest_doc_parsed_t   d;

    memset(md, 0, sizeof(md));

    if (attest_doc_parse(data, size, &d, NULL, 0) == ATTEST_OK) {
        k = 0;
        if (d.ncerts > 0
            && attest_x509_load(d.certs[d.ncerts - 1].p,
                                d.certs[d.ncerts - 1].n, x,
                                ATTEST_X509_MAX_POOL, &k) == ATTEST_OK)
        {
            attest_x509_sha256(x[k - 1], md);
            attest_x509_free(x, k);
        }
        attest_doc_parsed_free(&d);
    }

    i = (size_t) snprintf(pol, sizeof(pol), "{\"allow_simulated\": true, "
                          "\"simulated_root\": \"sha256:");
    attest_hex(md, 32, pol + i);
    strcat(pol, "\"}");

    sim = NULL;
    attest_policy_parse((const uint8_t *) pol, strlen(pol), NULL, &sim,
                        NULL, 0);

    v = malloc(sizeof(attest_verdict_t));
    if (v == NULL) {
        attest_policy_free(sim);
        return 0;
    }

    attest_verify_document(data, size, NULL, 1800000000, v);
    attest_verify_document(data, size, sim, 1800000000, v);

    free(v);
    attest_policy_free(sim);
    return 0;
}
