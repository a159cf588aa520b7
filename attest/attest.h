/*
 * attest/: nginx-free verification of TEE attestation evidence.
 *
 * This header is the whole public interface.  The gateway calls one
 * function, attest_verify_document(), with the document bytes, a policy
 * and the time, and gets a verdict with the verified key configuration.
 * The per-platform verifiers below fill one attest_evidence_t with the facts
 * they proved; the policy is evaluated on that struct only.
 */

#ifndef CONFER_ATTEST_H
#define CONFER_ATTEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>


/* stable reason codes: attest_strerror() gives the string the CLI prints */
typedef enum {
    ATTEST_OK = 0,
    ATTEST_ERR_NOMEM,             /* "nomem" */
    ATTEST_ERR_INPUT,             /* "malformed": truncated, bad encoding */
    ATTEST_ERR_VERSION,           /* "unsupported_version" */
    ATTEST_ERR_NOT_TDX,           /* "not_tdx": an SGX or other quote */
    ATTEST_ERR_SIG_ALGO,          /* "unsupported_signature_algorithm" */
    ATTEST_ERR_RESERVED,          /* "reserved_nonzero": must-be-zero bits */
    ATTEST_ERR_SIGNATURE,         /* "bad_signature": evidence signature */
    ATTEST_ERR_NO_CERT,           /* "missing_certificate" */
    ATTEST_ERR_CERT,              /* "bad_certificate": unparsable */
    ATTEST_ERR_CHAIN,             /* "bad_chain": a link does not verify */
    ATTEST_ERR_UNKNOWN_ROOT,      /* "unknown_root": not a pinned root */
    ATTEST_ERR_CERT_EXPIRED,      /* "certificate_expired" (or not yet) */
    ATTEST_ERR_REVOKED,           /* "revoked": listed in a CRL */
    ATTEST_ERR_CRL,               /* "bad_crl": unparsable or unsigned */
    ATTEST_ERR_PRODUCT,           /* "product_mismatch": Milan/Genoa/Turin */
    ATTEST_ERR_TCB_MISMATCH,      /* "tcb_mismatch": cert TCB != report */
    ATTEST_ERR_CHIP_ID,           /* "chip_id_mismatch" */
    ATTEST_ERR_QE_REPORT,         /* "bad_qe_report": QE signature */
    ATTEST_ERR_QE_BINDING,        /* "qe_binding": QE report_data */
    ATTEST_ERR_COLLATERAL,        /* "bad_collateral": TCB info, QE id */
    ATTEST_ERR_COLLATERAL_EXPIRED,/* "collateral_expired" */
    ATTEST_ERR_TCB_NO_MATCH,      /* "no_matching_tcb_level" */
    ATTEST_ERR_DOCUMENT,          /* "bad_document": JSON, base64 */
    ATTEST_ERR_DOC_EXPIRED,       /* "document_expired": past not_after */
    ATTEST_ERR_BINDING,           /* "report_data_mismatch" */
    ATTEST_ERR_POLICY,            /* "bad_policy": unparsable policy */
    ATTEST_ERR_POLICY_PLATFORM,   /* "platform_not_allowed" */
    ATTEST_ERR_POLICY_SIMULATED,  /* "simulated_not_allowed" */
    ATTEST_ERR_POLICY_PRODUCT,    /* "product_not_allowed" */
    ATTEST_ERR_POLICY_MEASUREMENT,/* "measurement_not_allowed" */
    ATTEST_ERR_POLICY_DEBUG,      /* "debug_not_allowed" */
    ATTEST_ERR_POLICY_VMPL,       /* "vmpl_not_allowed" */
    ATTEST_ERR_POLICY_TCB,        /* "tcb_too_low" */
    ATTEST_ERR_POLICY_TCB_STATUS, /* "tcb_status_not_allowed" */
    ATTEST_ERR_POLICY_AGE,        /* "too_old": older than max_age */
    ATTEST_ERR_POLICY_GPU,        /* "gpu_required" */
    ATTEST_ERR_INTERNAL,          /* "internal": a library failed */
    ATTEST_ERR_UNSUPPORTED,       /* "not_supported": not built in yet */
    ATTEST_ERR_GPU_NONCE,         /* "gpu_nonce_mismatch": GPU evidence
                                     answers another nonce */
    ATTEST_ERR_POLICY_GPU_COUNT,  /* "gpu_count_too_low" */
    ATTEST_ERR_POLICY_GPU_SWITCH, /* "gpu_switch_not_allowed" */
    ATTEST_ERR_POLICY_GPU_DRIVER, /* "gpu_driver_too_old" */
    ATTEST_ERR_POLICY_GPU_FIRMWARE,/* "gpu_firmware_not_allowed": VBIOS
                                     or FWID not in the policy */
    ATTEST_ERR_LAST
} attest_err_t;

const char *attest_strerror(attest_err_t err);


/* the longest TCB status name, "ConfigurationAndSWHardeningNeeded", fits */
#define ATTEST_TCB_STATUS_LEN  40


typedef enum {
    ATTEST_PLATFORM_NONE = 0,
    ATTEST_PLATFORM_SEV_SNP,
    ATTEST_PLATFORM_TDX,
    ATTEST_PLATFORM_SIMULATED        /* SNP layout, a local test root */
} attest_platform_t;

const char *attest_platform_name(attest_platform_t p);


/* AMD SEV-SNP TCB_VERSION, decoded per product (Turin differs) */
typedef struct {
    uint8_t   bootloader;
    uint8_t   tee;
    uint8_t   snp;
    uint8_t   microcode;
    uint8_t   fmc;                       /* Turin only, else 0 */
} attest_snp_tcb_t;


/* NVIDIA confidential-computing devices (attest_gpu.h) */
#define ATTEST_MAX_GPUS  16

typedef enum {
    ATTEST_GPU_NONE = 0,
    ATTEST_GPU_GPU,                      /* Hopper GH100, Blackwell GB1xx */
    ATTEST_GPU_SWITCH                    /* NVSwitch LS_10 */
} attest_gpu_kind_t;

/* what attest_gpu_verify() proved about one device */
typedef struct {
    attest_gpu_kind_t  kind;
    int                simulated;        /* chain to the simulated root */
    char               model[32];        /* "GH100 A01", "LS_10 A01" */
    char               arch[16];         /* "HOPPER", "BLACKWELL", "LS10" */
    char               driver[32];       /* "550.90.07"; "" if not sent */
    char               vbios[32];        /* "96.00.9F.00.01"; "" if not */
    uint8_t            fwid[48];         /* firmware identity, SHA-384 */
    int                has_fwid;
    uint8_t            nonce[32];        /* the nonce it answered */
    uint8_t            leaf_sha256[32];  /* the device certificate */
    size_t             nmeas;            /* measurement blocks signed */
    time_t             chain_not_after;
} attest_gpu_facts_t;


/* what a verifier proved about the evidence; the policy reads only this */
typedef struct {
    attest_platform_t  platform;
    uint32_t           version;          /* report or quote version */
    char               product[16];      /* "Milan", "Genoa", "Turin"; TDX "" */

    uint8_t            report_data[64];
    uint8_t            measurement[48];  /* SNP MEASUREMENT; TDX MRTD */
    uint8_t            rtmr[4][48];      /* TDX only */
    uint8_t            mrseam[48];       /* TDX only */
    int                debug;            /* SNP policy.DEBUG; TDX attr bit 0 */

    /* SEV-SNP */
    uint32_t           vmpl;
    uint64_t           guest_policy;
    attest_snp_tcb_t   reported_tcb;
    uint8_t            chip_id[64];
    uint8_t            signing_key;      /* 0 VCEK, 1 VLEK */

    /* TDX */
    uint8_t            tee_tcb_svn[16];
    /* "UpToDate", "OutOfDate", ...; "" without collateral */
    char               tcb_status[ATTEST_TCB_STATUS_LEN];
    char               qe_tcb_status[ATTEST_TCB_STATUS_LEN];
    uint8_t            fmspc[6];

    time_t             chain_not_after;  /* earliest notAfter in the chain */
    time_t             collateral_not_after; /* the earliest nextUpdate
                                            of the collateral and CRLs
                                            used (TDX; SNP's root CRL),
                                            0 when none was given */
    time_t             checked_at;       /* the "now" validity was
                                            checked at */
    /* TDX with TCB Info: the tcbDate of its newest UpToDate level, the
     * TCB recovery that made older levels OutOfDate; 0 if none */
    time_t             tcb_recovery_date;

    /* NVIDIA evidence bound to report_data (attest_gpu_nonce()) */
    size_t             ngpu;
    attest_gpu_facts_t gpu[ATTEST_MAX_GPUS];
} attest_evidence_t;


/* a byte range; certificates are DER or PEM (a PEM may hold several) */
typedef struct {
    const uint8_t     *p;
    size_t             n;
} attest_blob_t;


/* AMD SEV-SNP: the report, the certificates that came with it (VCEK or
 * VLEK, ASK or ASVK, ARK, in any order), the time to check validity at.
 * sim_root NULL: the chain must end at a pinned AMD ARK.  Otherwise it is
 * the SHA-256 of a simulated root's DER, and ev->platform says simulated.
 * detail (may be NULL) gets a short human-readable reason. */
attest_err_t attest_snp_verify(const uint8_t *report, size_t n,
    const attest_blob_t *certs, size_t ncerts, const uint8_t *sim_root,
    time_t now, attest_evidence_t *ev, char *detail, size_t detail_len);

/* the same, offline revocation too: root_crl (NULL or empty: none) is a
 * CRL, DER or PEM, that the chain's root signed (AMD KDS "crl": the ARK's,
 * listing revoked ASKs and ASVKs; simulated: the root's); it must be
 * current at now and must not list the certificate the root issued.
 * ev->collateral_not_after gets its nextUpdate. */
attest_err_t attest_snp_verify_crl(const uint8_t *report, size_t n,
    const attest_blob_t *certs, size_t ncerts, const attest_blob_t *root_crl,
    const uint8_t *sim_root, time_t now, attest_evidence_t *ev,
    char *detail, size_t detail_len);


/*
 * The nonce a terminator asks its GPUs to sign, which binds their evidence
 * to the same report_data (and so the same keys and not_after) as the CPU
 * evidence:
 *
 *   nonce = SHA-256("confer-gpu/v1" || 0x00 || report_data[64])
 *
 * the 32 bytes of the digest, the SPDM GET_MEASUREMENTS nonce.
 */
void attest_gpu_nonce(const uint8_t report_data[64], uint8_t nonce[32]);


/* policy (attest/POLICY.md); NULL means the built-in default policy:
 * real platforms only, no debug */
typedef struct attest_policy_s  attest_policy_t;

attest_err_t attest_policy_load(const char *path, attest_policy_t **pol,
    char *msg, size_t msg_len);
attest_err_t attest_policy_parse(const uint8_t *p, size_t n,
    const char *base_dir, attest_policy_t **pol, char *msg, size_t msg_len);
void attest_policy_free(attest_policy_t *pol);
attest_err_t attest_policy_check(const attest_policy_t *pol,
    const attest_evidence_t *ev, char *detail, size_t detail_len);
/* the "gpu" rules alone, on ev->gpu (attest_policy_check() applies them
 * last); for GPU evidence verified on its own */
attest_err_t attest_policy_check_gpu(const attest_policy_t *pol,
    const attest_evidence_t *ev, char *detail, size_t detail_len);


/* the confer attestation document (DESIGN.md, "Attestation document") */
#define ATTEST_MAX_OHTTP_KEYS  4096
#define ATTEST_MAX_CERTS       8

typedef struct {
    attest_platform_t  platform;
    uint64_t           not_after;
    attest_blob_t      ohttp_keys;       /* raw application/ohttp-keys */
    attest_blob_t      evidence;         /* SNP report or TDX quote */
    const attest_blob_t *certs;          /* DER, leaf first */
    size_t             ncerts;

    /* optional, n == 0 when absent: zero the struct before filling it */
    attest_blob_t      tcb_info;         /* TDX collateral, the bytes */
    attest_blob_t      qe_identity;      /*   Intel PCS serves */
    attest_blob_t      tcb_signing_chain;
    attest_blob_t      pck_crl;
    attest_blob_t      root_crl;         /* TDX: the Intel root CA's CRL;
                                            SNP: the ARK's (AMD KDS crl);
                                            simulated: the root's */
    attest_blob_t      gpu;              /* NVIDIA evidence JSON, as its
                                            tools write it: [{"arch",
                                            "certificate", "evidence",
                                            "nonce"}, ...], each answering
                                            attest_gpu_nonce() */
} attest_doc_t;

typedef struct {
    attest_evidence_t  ev;
    uint64_t           not_after;        /* the document's */
    time_t             valid_until;      /* min(not_after, now + max_age,
                                            chain_not_after,
                                            collateral_not_after) */
    size_t             ohttp_keys_len;
    uint8_t            ohttp_keys[ATTEST_MAX_OHTTP_KEYS];   /* verified */
    char               detail[256];      /* why, for logs; no secrets */
} attest_verdict_t;

/* report_data = SHA-512("confer-attestation/v1" || 0x00 ||
 *                       u64be(not_after) || ohttp_keys) */
void attest_binding(const uint8_t *ohttp_keys, size_t n, uint64_t not_after,
    uint8_t report_data[64]);

/* JSON into out; *len gets the size (also when cap is too small: then
 * ATTEST_ERR_NOMEM and nothing useful in out) */
attest_err_t attest_doc_build(const attest_doc_t *doc, uint8_t *out,
    size_t cap, size_t *len);

/* the gateway's one call: parse, check not_after, verify the evidence
 * with the collateral the document carries (nothing is fetched) and its
 * binding to ohttp_keys, verify each GPU's evidence against the nonce
 * derived from that report_data, apply the policy (NULL: the default) */
attest_err_t attest_verify_document(const uint8_t *doc, size_t n,
    const attest_policy_t *pol, time_t now, attest_verdict_t *v);


/* the simulated platform: a P-384 root and a VCEK-like leaf in a directory
 * made by attest_sim_init() (confer-attest simulate init DIR) */
typedef struct attest_sim_s  attest_sim_t;

attest_err_t attest_sim_init(const char *dir, char *msg, size_t msg_len);
attest_err_t attest_sim_load(const char *dir, attest_sim_t **sim,
    char *msg, size_t msg_len);
void attest_sim_free(attest_sim_t *sim);
attest_err_t attest_sim_document(const attest_sim_t *sim,
    const uint8_t *ohttp_keys, size_t n, uint64_t not_after, uint8_t *out,
    size_t cap, size_t *len);

/* the same with GPU evidence (NVIDIA's JSON, e.g. from
 * attest_sim_gpu_evidence() with attest_sim_gpu_nonce()) */
attest_err_t attest_sim_document_gpu(const attest_sim_t *sim,
    const uint8_t *ohttp_keys, size_t n, uint64_t not_after,
    const uint8_t *gpu_json, size_t gpu_len, uint8_t *out, size_t cap,
    size_t *len);

/* the GPU nonce a simulated document for these keys will carry */
void attest_sim_gpu_nonce(const uint8_t *ohttp_keys, size_t n,
    uint64_t not_after, uint8_t nonce[32]);

/*
 * SIMULATED NVIDIA evidence JSON for ngpus devices answering nonce: each a
 * fresh device key and leaf ("SIMULATED GH100 A01 GSP FMC LF") under the
 * SIMULATED BROM, Provisioner and Identity CAs that attest_sim_init()
 * made below the simulated root.  Accepted only by a policy that allows
 * simulated evidence and pins that root.  ATTEST_ERR_NOMEM when cap is too
 * small, *len then an upper bound of the size (fresh keys change the
 * length by a few bytes from call to call); ATTEST_ERR_UNSUPPORTED for a
 * directory made before simulated GPUs existed.
 */
attest_err_t attest_sim_gpu_evidence(const attest_sim_t *sim,
    const uint8_t nonce[32], size_t ngpus, uint8_t *out, size_t cap,
    size_t *len);


/*
 * Frees what the library keeps between calls: the process-wide cache of
 * parsed vendor certificates (only certificates of chains verified to a
 * pinned root).  For a clean exit under valgrind; the library still works
 * afterwards, without the cache.
 */
void attest_cleanup(void);


#endif /* CONFER_ATTEST_H */
