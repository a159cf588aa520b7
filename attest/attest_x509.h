/*
 * attest/: X.509 helpers shared by the verifiers (internal to attest/).
 *
 * Certificates arrive as DER or PEM bundles; chains are built by hand from
 * the leaf to a self-signed root and the root is then compared with a
 * pinned SHA-256 fingerprint, so no system trust store is ever consulted.
 */

#ifndef CONFER_ATTEST_X509_H
#define CONFER_ATTEST_X509_H

#include <openssl/x509.h>

#include "attest.h"


#define ATTEST_X509_MAX_CHAIN  4


/* one DER certificate (or several concatenated) or a PEM bundle,
 * appended to sk */
attest_err_t attest_x509_load(const uint8_t *p, size_t n, STACK_OF(X509) *sk);

void attest_x509_sha256(X509 *x, uint8_t out[32]);
int attest_x509_self_signed(X509 *x);
int attest_x509_cn_is(X509 *x, const char *cn);

/* leaf first; stops at a self-signed certificate or fails; checks each
 * link's signature and that every issuer is a CA; validity at now */
attest_err_t attest_x509_chain(X509 *leaf, STACK_OF(X509) *pool, time_t now,
    X509 **chain, size_t max, size_t *depth, char *detail, size_t dn);

/* notBefore <= now <= notAfter */
attest_err_t attest_x509_valid_at(X509 *x, time_t now);
time_t attest_x509_not_after(X509 *x);


/* AMD VCEK/VLEK extensions under 1.3.6.1.4.1.3704.1
 * (ATTESTATION-VECTORS.md 1.1) */
#define ATTEST_AMD_TCB_BL     1
#define ATTEST_AMD_TCB_TEE    2
#define ATTEST_AMD_TCB_SNP    3
#define ATTEST_AMD_TCB_UCODE  8
#define ATTEST_AMD_TCB_FMC    9

typedef struct {
    uint64_t   struct_version;
    int        have_struct_version;
    char       product[32];              /* productName, "" if absent */
    uint64_t   tcb[10];                  /* index: the last OID arc .3.N */
    uint16_t   have_tcb;                 /* bit N: .3.N present */
    uint8_t    hwid[64];
    size_t     hwid_len;                 /* 0: absent (VLEK) */
    char       csp_id[128];              /* .5, VLEK only */
} attest_amd_ext_t;

attest_err_t attest_x509_amd_ext(X509 *x, attest_amd_ext_t *e);

/* one extension value, byte in: what attest_x509_amd_ext() applies to
 * each (exposed for the fuzzer) */
attest_err_t attest_amd_ext_value(const char *oid, const uint8_t *p,
    size_t n, attest_amd_ext_t *e);
attest_err_t attest_der_uint(const uint8_t *p, size_t n, uint64_t *v);
attest_err_t attest_der_string(const uint8_t *p, size_t n, char *out,
    size_t cap);


#endif /* CONFER_ATTEST_X509_H */
