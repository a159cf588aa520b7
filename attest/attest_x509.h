/*
 * attest/: X.509 and ECDSA helpers shared by the verifiers (internal to
 * attest/).  One loader for DER and PEM, one chain builder that ends at a
 * pinned root, one CRL check, one raw-signature ECDSA verify.
 *
 * Chains are built by hand from the leaf to a self-issued root and the root
 * is then compared with pinned SHA-256 fingerprints of its DER, so no
 * system trust store is ever consulted.
 *
 * Parsed certificates are shared through a small process-wide cache (see
 * attest_x509.c): a certificate returned by these functions is a reference
 * of the caller's own, to be released with X509_free() or
 * attest_x509_free(), and must be treated as read-only.
 */

#ifndef CONFER_ATTEST_X509_H
#define CONFER_ATTEST_X509_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest.h"


#define ATTEST_X509_MAX_CHAIN  6         /* NVIDIA device chains have 5 */
#define ATTEST_X509_MAX_POOL   32


/* one DER certificate, exactly n bytes; NULL if it does not parse */
X509 *attest_x509_parse(const uint8_t *der, size_t n);

/*
 * DER (one certificate or several concatenated) or PEM (CERTIFICATE
 * blocks; NULs and blanks after the last block are tolerated, a damaged
 * block is not), appended to certs[*count .. max).  ATTEST_ERR_NO_CERT
 * for empty input, ATTEST_ERR_CERT for anything unparsable or too many;
 * on failure nothing is appended.
 */
attest_err_t attest_x509_load(const uint8_t *p, size_t n, X509 **certs,
    size_t max, size_t *count);
void attest_x509_free(X509 **certs, size_t n);

void attest_x509_sha256(X509 *x, uint8_t out[32]);
int attest_x509_self_issued(X509 *x);    /* names, key ids, key usage */
int attest_x509_self_signed(X509 *x);    /* self-issued and verifies */
int attest_x509_cn_is(X509 *x, const char *cn);
/* the subject's common name into buf ("" if none) */
void attest_x509_cn(X509 *x, char *buf, size_t n);


/* a verified path: leaf first, pointers borrowed from the pool */
typedef struct {
    X509      *chain[ATTEST_X509_MAX_CHAIN];
    size_t     depth;
    size_t     pin;                      /* index into pins of the root */
    time_t     not_after;                /* the earliest notAfter */
} attest_x509_path_t;

/*
 * From leaf through issuers found in pool (any order; leaf may be in it)
 * to a self-issued root whose SHA-256 is one of pins, at most max long.
 * Each link: issuer name, key identifiers and key usage
 * (X509_check_issued), the issuer a CA, the signature.  Then every
 * certificate valid at now.  Reasons: ATTEST_ERR_CHAIN (a link, a loop,
 * too long, a damaged root), ATTEST_ERR_UNKNOWN_ROOT (a sound root that
 * is not pinned), ATTEST_ERR_CERT_EXPIRED, ATTEST_ERR_CERT.  On success
 * the path's certificates go into the process-wide cache.
 */
attest_err_t attest_x509_chain(X509 *leaf, X509 *const *pool, size_t npool,
    const uint8_t (*pins)[32], size_t npins, time_t now, size_t max,
    attest_x509_path_t *path, char *detail, size_t dn);

/* notBefore <= now <= notAfter */
attest_err_t attest_x509_valid_at(X509 *x, time_t now);
time_t attest_x509_not_after(X509 *x);

/* a UTC date and time to unix seconds, without timegm() or TZ */
time_t attest_days_to_time(long y, int mon, int d, int h, int mi, int s);

/* ASN.1 time to unix seconds; -1 if unreadable */
int attest_asn1_time(const ASN1_TIME *t, time_t *out);
/* *acc = min(*acc, t), 0 meaning "none yet" */
void attest_min_time(time_t *acc, time_t t);


/* a CRL, DER or PEM ("X509 CRL") */
attest_err_t attest_x509_crl_load(const uint8_t *p, size_t n,
    X509_CRL **out);

/*
 * A CRL that issuer signed (name and signature), current at now
 * (ATTEST_ERR_COLLATERAL_EXPIRED past its nextUpdate, which also lowers
 * *not_after), that does not list subject (ATTEST_ERR_REVOKED).  An
 * unparsable or foreign CRL is ATTEST_ERR_CRL.
 */
attest_err_t attest_x509_crl_check(const uint8_t *p, size_t n, X509 *issuer,
    X509 *subject, time_t now, time_t *not_after);


/* an EC public key from a raw x || y point of the named group ("P-256",
 * "P-384"); NULL for a point off the curve */
EVP_PKEY *attest_ec_key(const char *group, const uint8_t *xy, size_t n);

/* the key is EC on that group ("prime256v1", "secp384r1") */
int attest_ec_is(EVP_PKEY *key, const char *group);

/* ECDSA over msg with md; the signature raw r and s of len bytes each,
 * big-endian, or little-endian when le (AMD) */
int attest_ecdsa_verify(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg,
    size_t n, const uint8_t *r, const uint8_t *s, size_t len, int le);


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
