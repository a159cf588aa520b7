/*
 * attest/: the terminator's side, making the attestation document from
 * its providers.  No nginx header; called at configuration time only (it
 * runs commands and waits for them, bounded by timeouts).
 *
 *   CPU evidence   simulated=DIR, or configfs-tsm (attest_tsm.h)
 *   GPU evidence   none, a command, a unix socket, or simulated GPUs
 *   collateral     files in a directory, re-read every time
 *
 * One binding serves all of them (DESIGN.md, "Attestation document"):
 *
 *   report_data = SHA-512("confer-attestation/v1" || 0x00 ||
 *                         u64be(not_after) || ohttp_keys)
 *   gpu nonce   = SHA-256("confer-gpu/v1" || 0x00 || report_data)
 *
 * Both depend on the keys and not_after only, so the GPU nonce is known
 * before any evidence is taken, and the CPU evidence carries the very
 * report_data it was derived from: a gateway that verified the CPU
 * evidence recomputes the nonce and checks every GPU's answer to it.
 *
 * The GPU evidence contract (gpu=command:PATH, gpu=unix:PATH)
 * -----------------------------------------------------------
 *
 * command: PATH is executed (execve, no shell) as
 *
 *     PATH NONCE
 *
 * NONCE being the 32-byte nonce as 64 lowercase hex digits, with stdin
 * /dev/null, no other descriptor open, default signal dispositions, in a
 * process group of its own, as the user reading the configuration (nginx's
 * master: usually root), with nothing in its environment but
 * PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin and
 * nginx's TZ (a wrapper sets whatever else it needs).  It must print
 * NVIDIA's evidence JSON on stdout and exit 0; stderr is not read except
 * for the message of a failure (its last line).  It must answer within
 * the timeout, else its process group is killed.
 *
 * unix: a stream socket at PATH gets the line "NONCE\n" and must answer
 * with the evidence JSON and close the connection, within the timeout.
 *
 * The evidence JSON is what NVIDIA's attestation SDK returns from
 * get_evidence() (nv_attestation_sdk: set_nonce(NONCE), a local GPU
 * verifier, get_evidence()) and what its local GPU verifier collects: an
 * array with one object per GPU or NVSwitch,
 *
 *     [{"arch": "HOPPER", "certificate": base64 of the PEM chain,
 *       "evidence": base64 of the SPDM GET_MEASUREMENTS request and
 *       response, "nonce": hex}, ...]
 *
 * ("version", "driver_version", "vbios_version" may be present; they are
 * unsigned and ignored).  At most ATTEST_MAX_GPUS devices, at most
 * ATTEST_PROVIDE_GPU_MAX bytes.  Every device's report must answer NONCE
 * and chain to the NVIDIA Device Identity CA: the evidence is verified
 * here, before it goes into the document's "gpu" member, so that a tool
 * that ignored the nonce fails nginx -t instead of every gateway.
 *
 * Collateral (collateral=DIR)
 * ---------------------------
 *
 * Files an operator refreshes from the vendors' services (Intel PCS, AMD
 * KDS) before their nextUpdate; nothing here calls a vendor service:
 *
 *   TDX        tcb_info.json          PCS tdx/certification/v4/tcb body
 *              qe_identity.json       PCS tdx/certification/v4/qe/identity
 *              tcb_signing_chain.pem  its TCB-Info-Issuer-Chain header,
 *                                     URL-decoded (or as it comes)
 *              pck_crl.der|.pem       PCS pckcrl (platform or processor CA,
 *                                     the one that issued this PCK)
 *              root_crl.der|.pem      the Intel SGX Root CA's CRL
 *   SEV-SNP    ark_crl.der|.pem       KDS vcek/v1/{product}/crl
 *              ask_ark.pem            optional: KDS vcek/v1/{product}/
 *                                     cert_chain (ASK or ASVK, then ARK);
 *                                     replaces the chain after the VCEK
 *   simulated  ark_crl.der|.pem       a CRL signed by the simulated root
 *
 * Every file named without "optional" must exist; each is checked to be
 * what it says (JSON of the right shape, certificates, a CRL) and its
 * nextUpdate is reported.  The bytes go into the document unchanged.
 */

#ifndef CONFER_ATTEST_PROVIDE_H
#define CONFER_ATTEST_PROVIDE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "attest.h"


#define ATTEST_PROVIDE_GPU_MAX     (1024 * 1024)


typedef enum {
    ATTEST_GPU_SOURCE_NONE = 0,
    ATTEST_GPU_SOURCE_COMMAND,          /* PATH NONCE, JSON on stdout */
    ATTEST_GPU_SOURCE_UNIX,             /* "NONCE\n" to a socket */
    ATTEST_GPU_SOURCE_SIMULATED         /* attest_sim_gpu_evidence() */
} attest_gpu_source_t;


/* where a terminator's evidence comes from */
typedef struct {
    /* CPU evidence: the simulated platform in sim_dir, or configfs-tsm */
    const char           *sim_dir;
    const char           *tsm_root;
    unsigned              tsm_timeout_ms;
    const char           *certs_pem;      /* SNP chain; NULL: auxblob's */

    attest_gpu_source_t   gpu;
    const char           *gpu_path;       /* the command or the socket */
    size_t                gpu_count;      /* simulated GPUs */
    unsigned              gpu_timeout_ms;

    const char           *collateral_dir; /* NULL: no collateral */
} attest_provider_t;


/* which part failed */
typedef enum {
    ATTEST_STAGE_CPU = 0,
    ATTEST_STAGE_GPU,
    ATTEST_STAGE_COLLATERAL,
    ATTEST_STAGE_DOCUMENT
} attest_stage_t;


/* what was made, for the log */
typedef struct {
    attest_stage_t        stage;          /* of the failure */
    attest_platform_t     platform;
    size_t                ngpu;           /* GPUs, verified here */
    size_t                nswitch;        /* NVSwitches */
    size_t                ncollateral;    /* files read */
    time_t                next_update;    /* the collateral's earliest
                                             nextUpdate; 0: none */
    /*
     * The document verified here as a gateway would, with a policy that
     * accepts any real platform, debug guests, and the simulated root of
     * sim_dir: ATTEST_OK, or why gateways will refuse it (the document is
     * made either way; the caller decides what to say).
     */
    attest_err_t          check;
    char                  check_detail[256];
    char                  tcb_status[ATTEST_TCB_STATUS_LEN];   /* TDX */
} attest_provided_t;


/*
 * The whole document for ohttp_keys and not_after into *doc (malloc()ed,
 * *len bytes).  On failure info->stage says which provider failed and msg
 * why, naming the parameter, the file or the command.
 */
attest_err_t attest_provide_document(const attest_provider_t *pr,
    const uint8_t *ohttp_keys, size_t n, uint64_t not_after, uint8_t **doc,
    size_t *len, attest_provided_t *info, char *msg, size_t msg_len);


/* the GPU evidence JSON for nonce from one source, unverified, into *out
 * (malloc()ed); msg says what went wrong */
attest_err_t attest_gpu_command(const char *path, const uint8_t nonce[32],
    unsigned timeout_ms, uint8_t **out, size_t *len, char *msg,
    size_t msg_len);
attest_err_t attest_gpu_unix(const char *path, const uint8_t nonce[32],
    unsigned timeout_ms, uint8_t **out, size_t *len, char *msg,
    size_t msg_len);


/* the files of collateral=DIR for one platform */
typedef struct {
    attest_blob_t         tcb_info;
    attest_blob_t         qe_identity;
    attest_blob_t         tcb_signing_chain;
    attest_blob_t         pck_crl;
    attest_blob_t         root_crl;       /* TDX root_crl, SNP ark_crl */
    attest_blob_t         chain[ATTEST_MAX_CERTS];   /* ask_ark.pem, DER */
    size_t                nchain;
    size_t                nfiles;
    time_t                next_update;    /* earliest; 0 when none said */

    uint8_t              *mem[8];         /* what the blobs point into */
} attest_collateral_t;

/* reads and checks them; msg names the file that is missing or bad.
 * Free c with attest_collateral_free() whatever the result. */
attest_err_t attest_collateral_load(const char *dir,
    attest_platform_t platform, attest_collateral_t *c, char *msg,
    size_t msg_len);
void attest_collateral_free(attest_collateral_t *c);


#endif /* CONFER_ATTEST_PROVIDE_H */
