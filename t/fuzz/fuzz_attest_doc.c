/*
 * The confer attestation document: parsing, and the whole verification
 * under the default policy and under one that allows simulated evidence
 * and pins the root of the seed corpus's simulated document.
 */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "attest_int.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    attest_verdict_t     *v;
    attest_doc_parsed_t   d;
    static attest_policy_t  *sim;
    static const char  *pol =
        "{\"allow_simulated\": true, \"simulated_root\": \"sha256:"
        "086bea79b059ef0bbbb9c1653e3c38b56da439faa6e48586a34d764bcb1e4660\"}";

    if (sim == NULL) {
        attest_policy_parse((const uint8_t *) pol, strlen(pol), NULL, &sim,
                            NULL, 0);
    }

    if (attest_doc_parse(data, size, &d, NULL, 0) == ATTEST_OK) {
        attest_doc_parsed_free(&d);
    }

    v = malloc(sizeof(attest_verdict_t));
    if (v == NULL) {
        return 0;
    }

    attest_verify_document(data, size, NULL, 1800000000, v);
    attest_verify_document(data, size, sim, 1800000000, v);

    free(v);
    return 0;
}
