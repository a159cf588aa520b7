/*
 * attest/: Intel TDX quotes (version 4 and 5, ECDSA-256 attestation key)
 * and the Intel PCS collateral that grades them.
 *
 * attest_tdx_verify() is the whole job: quote layout, the quote signature
 * by the attestation key, the QE report signature by the PCK leaf, the QE
 * report data binding, the PCK chain to the pinned Intel SGX Root CA at
 * "now", the CRLs, and when collateral is given the TCB Info and QE
 * Identity signed by Intel's TCB signing chain, evaluated to a TCB status.
 *
 * The other functions expose the steps for `confer-attest inspect tdx`,
 * the tests and the fuzzers.  Nothing here is trusted unless it came out
 * of attest_tdx_verify() with ATTEST_OK.
 *
 * Layouts: Intel TDX DCAP Quote Generation Library and Quote Verification
 * Library API, appendix "Quote Format" (v4), and the v5 addendum; the PCS
 * collateral: Intel SGX/TDX PCS API v4, "TCB Info V3" and "Enclave
 * Identity V2".
 */

#ifndef CONFER_ATTEST_TDX_H
#define CONFER_ATTEST_TDX_H

#include <jansson.h>

#include "attest.h"


#define ATTEST_TDX_TEE_TYPE        0x00000081
#define ATTEST_TDX_ATT_KEY_ECDSA   2         /* ECDSA-256 with P-256 */
#define ATTEST_TDX_BODY_TD10       2         /* v5 body type, TDX 1.0 */
#define ATTEST_TDX_BODY_TD15       3         /* v5 body type, TDX 1.5 */
#define ATTEST_TDX_HEADER_LEN      48
#define ATTEST_TDX_BODY10_LEN      584
#define ATTEST_TDX_BODY15_LEN      648
#define ATTEST_TDX_QE_REPORT_LEN   384


/* a parsed quote: pointers into the caller's buffer, nothing verified */
typedef struct {
    const uint8_t   *header;            /* 48: the start of the quote */
    uint16_t         version;           /* 4 or 5 */
    uint16_t         att_key_type;      /* 2 */
    uint32_t         tee_type;          /* 0x81 */
    uint16_t         reserved[2];       /* header 0x08, 0x0a */
    const uint8_t   *qe_vendor_id;      /* 16 */
    const uint8_t   *user_data;         /* 20 */

    uint16_t         body_type;         /* v5 field; 2 for v4 */
    size_t           body_len;          /* 584 or 648 */
    const uint8_t   *body;

    /* TD quote body, TDX module 1.0 fields, then 1.5 */
    const uint8_t   *tee_tcb_svn;       /* 16 */
    const uint8_t   *mrseam;            /* 48 */
    const uint8_t   *mrsignerseam;      /* 48 */
    const uint8_t   *seam_attributes;   /* 8 */
    const uint8_t   *td_attributes;     /* 8, bit 0 = DEBUG */
    const uint8_t   *xfam;              /* 8 */
    const uint8_t   *mrtd;              /* 48 */
    const uint8_t   *mrconfigid;        /* 48 */
    const uint8_t   *mrowner;           /* 48 */
    const uint8_t   *mrownerconfig;     /* 48 */
    const uint8_t   *rtmr[4];           /* 48 each */
    const uint8_t   *report_data;       /* 64 */
    const uint8_t   *tee_tcb_svn2;      /* 16, body type 3 only, else NULL */
    const uint8_t   *mr_servicetd;      /* 48, body type 3 only, else NULL */

    size_t           signed_len;        /* header + body: what is signed */

    const uint8_t   *signature;         /* 64: r || s, big-endian */
    const uint8_t   *attest_key;        /* 64: x || y, big-endian */
    uint16_t         cert_type;         /* 6: QE report certification */

    const uint8_t   *qe_report;         /* 384: SGX report body */
    const uint8_t   *qe_report_sig;     /* 64: r || s by the PCK */
    const uint8_t   *qe_auth;
    size_t           qe_auth_len;
    uint16_t         pck_cert_type;     /* 5: PCK chain, PEM */
    const uint8_t   *pck_chain;
    size_t           pck_chain_len;

    size_t           used;              /* bytes up to the end of the
                                           signature data; the rest of the
                                           buffer is ignored */
} attest_tdx_quote_t;

/* QE report (SGX REPORT body) fields */
#define ATTEST_TDX_QE_CPUSVN       0x000
#define ATTEST_TDX_QE_MISCSELECT   0x010
#define ATTEST_TDX_QE_ATTRIBUTES   0x030
#define ATTEST_TDX_QE_MRENCLAVE    0x040
#define ATTEST_TDX_QE_MRSIGNER     0x080
#define ATTEST_TDX_QE_ISVPRODID    0x100
#define ATTEST_TDX_QE_ISVSVN       0x102
#define ATTEST_TDX_QE_REPORT_DATA  0x140


/* the SGX extensions of a PCK leaf (OID 1.2.840.113741.1.13.1) */
typedef struct {
    uint8_t          ppid[16];
    uint8_t          cpusvn_comp[16];   /* TCB components .2.1 - .2.16 */
    uint16_t         pcesvn;            /* .2.17 */
    uint8_t          cpusvn[16];        /* .2.18 */
    uint8_t          pceid[2];
    uint8_t          fmspc[6];
    int              sgx_type;          /* 0 standard, 1 scalable, ... */
} attest_tdx_pck_t;


/* Intel PCS TCB Info V3 and Enclave Identity V2, as parsed */
typedef enum {
    ATTEST_TDX_TCB_NONE = 0,
    ATTEST_TDX_TCB_UP_TO_DATE,
    ATTEST_TDX_TCB_SW_HARDENING_NEEDED,
    ATTEST_TDX_TCB_CONFIGURATION_NEEDED,
    ATTEST_TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    ATTEST_TDX_TCB_OUT_OF_DATE,
    ATTEST_TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    ATTEST_TDX_TCB_REVOKED
} attest_tdx_tcb_status_t;

#define ATTEST_TDX_MAX_TCB_LEVELS     64
#define ATTEST_TDX_MAX_MODULES        8
#define ATTEST_TDX_MAX_ISV_LEVELS     16

typedef struct {
    uint8_t                  sgx[16];   /* sgxtcbcomponents[].svn */
    uint16_t                 pcesvn;
    uint8_t                  tdx[16];   /* tdxtcbcomponents[].svn */
    time_t                   tcb_date;
    attest_tdx_tcb_status_t  status;
} attest_tdx_tcb_level_t;

typedef struct {
    uint16_t                 isvsvn;
    time_t                   tcb_date;
    attest_tdx_tcb_status_t  status;
} attest_tdx_isv_level_t;

typedef struct {
    char                     id[16];    /* "TDX_01" */
    uint8_t                  mrsigner[48];
    uint8_t                  attributes[8];
    uint8_t                  attributes_mask[8];
    size_t                   nlevels;
    attest_tdx_isv_level_t   levels[ATTEST_TDX_MAX_ISV_LEVELS];
} attest_tdx_module_id_t;

typedef struct {
    const uint8_t           *body;      /* the signed text: the value of */
    size_t                   body_len;  /* "tcbInfo" inside the input */
    uint8_t                  signature[64];

    uint32_t                 version;   /* 3 */
    time_t                   issue_date;
    time_t                   next_update;
    uint8_t                  fmspc[6];
    uint8_t                  pceid[2];
    uint32_t                 tcb_type;
    uint32_t                 eval_num;  /* tcbEvaluationDataNumber */

    uint8_t                  module_mrsigner[48];     /* tdxModule */
    uint8_t                  module_attributes[8];
    uint8_t                  module_attributes_mask[8];
    size_t                   nmodules;  /* tdxModuleIdentities */
    attest_tdx_module_id_t   modules[ATTEST_TDX_MAX_MODULES];

    size_t                   nlevels;
    attest_tdx_tcb_level_t   levels[ATTEST_TDX_MAX_TCB_LEVELS];
} attest_tdx_tcb_info_t;

typedef struct {
    const uint8_t           *body;      /* the value of "enclaveIdentity" */
    size_t                   body_len;
    uint8_t                  signature[64];

    uint32_t                 version;   /* 2 */
    time_t                   issue_date;
    time_t                   next_update;
    uint32_t                 eval_num;
    uint32_t                 miscselect;
    uint32_t                 miscselect_mask;
    uint8_t                  attributes[16];
    uint8_t                  attributes_mask[16];
    uint8_t                  mrsigner[32];
    uint16_t                 isvprodid;

    size_t                   nlevels;
    attest_tdx_isv_level_t   levels[ATTEST_TDX_MAX_ISV_LEVELS];
} attest_tdx_qe_identity_t;


/* what the collateral says about a quote */
typedef struct {
    attest_tdx_tcb_status_t  platform;  /* matching tcbLevel */
    attest_tdx_tcb_status_t  module;    /* TDX module identity level, or
                                           NONE when tee_tcb_svn[1] == 0 */
    attest_tdx_tcb_status_t  qe;        /* QE Identity level */
    attest_tdx_tcb_status_t  overall;   /* the three converged, as Intel's
                                           QVL reports it */
    time_t                   tcb_date;  /* of the matching platform level */
} attest_tdx_tcb_result_t;


/* collateral from Intel PCS; any member may be NULL/0 (empty = absent) */
typedef struct {
    const uint8_t   *tcb_info;          /* {"tcbInfo":{..},"signature":".."} */
    size_t           tcb_info_len;
    const uint8_t   *qe_identity;       /* {"enclaveIdentity":{..},..} */
    size_t           qe_identity_len;
    const uint8_t   *tcb_signing_chain; /* PEM (or URL-encoded PEM, as in */
    size_t           tcb_signing_chain_len;  /* TCB-Info-Issuer-Chain) */
    const uint8_t   *pck_crl;           /* DER or PEM */
    size_t           pck_crl_len;
    const uint8_t   *root_crl;          /* DER or PEM */
    size_t           root_crl_len;
} attest_tdx_collateral_t;


/*
 * Verifies a quote against the built-in Intel SGX Root CA at time "now"
 * and fills ev (cleared first) with what it proved.  col may be NULL:
 * then only the quote and its PCK chain are checked and ev->tcb_status
 * stays "".  Bytes after the signature data are ignored.
 *
 * ev->tcb_status is the converged status (platform TCB level, TDX module
 * and QE); ev->qe_tcb_status the QE Identity's alone.  A "Revoked" level
 * fails with ATTEST_ERR_REVOKED.  ev->chain_not_after is the earliest
 * notAfter of every certificate used; ev->collateral_not_after the
 * earliest nextUpdate of the collateral and CRLs used (0 without).
 */
attest_err_t attest_tdx_verify(const uint8_t *quote, size_t n,
    const attest_tdx_collateral_t *col, time_t now, attest_evidence_t *ev);

/* the same with another pinned root: SHA-256 of its DER (tests, labs) */
attest_err_t attest_tdx_verify_root(const uint8_t *quote, size_t n,
    const attest_tdx_collateral_t *col, time_t now,
    const uint8_t root_sha256[32], attest_evidence_t *ev);

/* SHA-256 of the DER of the Intel SGX Root CA, the built-in pin */
extern const uint8_t  attest_tdx_intel_root_sha256[32];


/* layout only: no signature, no certificate is looked at */
attest_err_t attest_tdx_parse(const uint8_t *quote, size_t n,
    attest_tdx_quote_t *q);

/* the SGX extensions of the quote's PCK leaf, unverified */
attest_err_t attest_tdx_quote_pck(const attest_tdx_quote_t *q,
    attest_tdx_pck_t *pck);

/* the DER value of the SGX extension (an OCTET STRING's content) */
attest_err_t attest_tdx_pck_ext_parse(const uint8_t *p, size_t n,
    attest_tdx_pck_t *pck);

/* the parsed quote as a JSON object (hex strings); NULL on no memory */
json_t *attest_tdx_quote_json(const attest_tdx_quote_t *q);


/* Intel PCS bodies to structs: layout and types only, no signature */
attest_err_t attest_tdx_tcb_info_parse(const uint8_t *p, size_t n,
    attest_tdx_tcb_info_t *ti);
attest_err_t attest_tdx_qe_identity_parse(const uint8_t *p, size_t n,
    attest_tdx_qe_identity_t *qi);

/*
 * The TCB evaluation alone, on a parsed quote and parsed collateral, no
 * signature and no clock: ti or qi may be NULL.  It proves nothing about
 * the quote or the collateral; attest_tdx_verify() calls it after both
 * are verified.  Returns ATTEST_ERR_COLLATERAL when the TCB Info is for
 * another platform (FMSPC, PCE-ID), ATTEST_ERR_TCB_MISMATCH when the TDX
 * module or QE is not the one the collateral describes,
 * ATTEST_ERR_TCB_NO_MATCH when no level fits, ATTEST_ERR_REVOKED for a
 * revoked level.
 */
attest_err_t attest_tdx_evaluate(const attest_tdx_quote_t *q,
    const attest_tdx_pck_t *pck, const attest_tdx_tcb_info_t *ti,
    const attest_tdx_qe_identity_t *qi, attest_tdx_tcb_result_t *res);

/* "UpToDate", "OutOfDate", ...; "" for NONE */
const char *attest_tdx_tcb_status_name(attest_tdx_tcb_status_t s);


#endif /* CONFER_ATTEST_TDX_H */
