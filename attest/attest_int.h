/*
 * attest/: what the library's files share among themselves and with the
 * CLI, tests and fuzzers; the gateway needs only attest.h.
 */

#ifndef CONFER_ATTEST_INT_H
#define CONFER_ATTEST_INT_H

#include <jansson.h>

#include "attest.h"


/* RFC 4648, 4: padded base64; strict (no whitespace, canonical padding) */
attest_err_t attest_b64_decode(const char *s, size_t n, uint8_t *out,
    size_t cap, size_t *len);
#define attest_b64_len(n)  (4 * (((n) + 2) / 3))
void attest_b64_encode(const uint8_t *p, size_t n, char *out);

/* hex, either case; *len gets the byte count */
attest_err_t attest_unhex(const char *s, size_t n, uint8_t *out, size_t cap,
    size_t *len);
void attest_hex(const uint8_t *p, size_t n, char *out);
/* o[key] = the hex string of p; -1 on no memory */
int attest_json_hex(json_t *o, const char *key, const uint8_t *p, size_t n);


/* what the document verifier needs from a policy */
int attest_policy_simulated(const attest_policy_t *pol,
    const uint8_t **sim_root);
long long attest_policy_max_age(const attest_policy_t *pol);


/* one entry of NVIDIA's evidence JSON, decoded */
typedef struct {
    attest_blob_t       evidence;        /* the SPDM report */
    attest_blob_t       certs;           /* the PEM chain, leaf first */
    char                arch[16];        /* as the tool said; unsigned */
} attest_gpu_entry_t;


/* a parsed document; blobs point into one allocation */
typedef struct {
    attest_platform_t   platform;
    uint64_t            not_after;
    attest_blob_t       ohttp_keys;
    attest_blob_t       evidence;
    attest_blob_t       certs[ATTEST_MAX_CERTS];
    size_t              ncerts;

    /* TDX collateral, each optional */
    attest_blob_t       tcb_info;
    attest_blob_t       qe_identity;
    attest_blob_t       tcb_signing_chain;
    attest_blob_t       pck_crl;
    attest_blob_t       root_crl;
    int                 has_collateral;
    int                 has_gpu;
    size_t              ngpu;
    attest_gpu_entry_t  gpu[ATTEST_MAX_GPUS];

    uint8_t            *mem;
} attest_doc_parsed_t;

attest_err_t attest_doc_parse(const uint8_t *p, size_t n,
    attest_doc_parsed_t *d, char *detail, size_t dn);
void attest_doc_parsed_free(attest_doc_parsed_t *d);


#endif /* CONFER_ATTEST_INT_H */
