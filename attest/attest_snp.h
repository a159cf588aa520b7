/*
 * attest/: the AMD SEV-SNP ATTESTATION_REPORT, field by field, for the CLI's
 * inspect command, the simulated platform and the tests.  Verification is
 * attest_snp_verify() in attest.h.
 *
 * Layout: AMD SEV-SNP ABI specification, 7.3 "Attestation", Table 23
 * (ATTESTATION_REPORT structure); see ATTESTATION-VECTORS.md 1.1.
 */

#ifndef CONFER_ATTEST_SNP_H
#define CONFER_ATTEST_SNP_H

#include "attest.h"


#define ATTEST_SNP_REPORT_SIZE   0x4a0
#define ATTEST_SNP_SIGNED_SIZE   0x2a0
#define ATTEST_SNP_SIG_OFFSET    0x2a0

#define ATTEST_SNP_POLICY_DEBUG  (1ull << 19)

typedef enum {
    ATTEST_SNP_PRODUCT_UNKNOWN = 0,
    ATTEST_SNP_PRODUCT_MILAN,
    ATTEST_SNP_PRODUCT_GENOA,
    ATTEST_SNP_PRODUCT_TURIN
} attest_snp_product_t;

typedef struct {
    uint32_t   version;
    uint32_t   guest_svn;
    uint64_t   policy;
    uint8_t    family_id[16];
    uint8_t    image_id[16];
    uint32_t   vmpl;
    uint32_t   signature_algo;
    uint64_t   current_tcb;
    uint64_t   platform_info;
    uint32_t   signer_info;
    uint8_t    report_data[64];
    uint8_t    measurement[48];
    uint8_t    host_data[32];
    uint8_t    id_key_digest[48];
    uint8_t    author_key_digest[48];
    uint8_t    report_id[32];
    uint8_t    report_id_ma[32];
    uint64_t   reported_tcb;
    uint8_t    cpuid_fam_id;             /* v3+ */
    uint8_t    cpuid_mod_id;
    uint8_t    cpuid_step;
    uint8_t    chip_id[64];
    uint64_t   committed_tcb;
    uint8_t    current_build;
    uint8_t    current_minor;
    uint8_t    current_major;
    uint8_t    committed_build;
    uint8_t    committed_minor;
    uint8_t    committed_major;
    uint64_t   launch_tcb;
    uint64_t   launch_mit_vector;        /* v5 */
    uint64_t   current_mit_vector;       /* v5 */
    uint8_t    signature_r[72];          /* little-endian */
    uint8_t    signature_s[72];
} attest_snp_report_t;

#define attest_snp_signing_key(r)  (((r)->signer_info >> 2) & 7)
#define attest_snp_mask_chip_key(r)  (((r)->signer_info >> 1) & 1)


/* structure only: size, version, must-be-zero fields; detail may be NULL */
attest_err_t attest_snp_parse(const uint8_t *p, size_t n,
    attest_snp_report_t *r, char *detail, size_t dn);

/* from cpuid family/model (v3+); UNKNOWN for v2 or unknown models */
attest_snp_product_t attest_snp_product(const attest_snp_report_t *r);
const char *attest_snp_product_name(attest_snp_product_t p);

/* TCB_VERSION bytes per product (Turin moved the fields) */
void attest_snp_tcb_decode(uint64_t raw, attest_snp_product_t p,
    attest_snp_tcb_t *tcb);
uint64_t attest_snp_tcb_encode(const attest_snp_tcb_t *tcb,
    attest_snp_product_t p);

void attest_snp_put(uint8_t *p, const attest_snp_report_t *r);


#endif /* CONFER_ATTEST_SNP_H */
