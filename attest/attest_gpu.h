/*
 * attest/: NVIDIA GPU and NVSwitch attestation reports (Hopper, Blackwell,
 * LS_10), as NVIDIA's tools produce them: the SPDM 1.1 GET_MEASUREMENTS
 * request (37 bytes) followed by the MEASUREMENTS response, signed with
 * ECDSA P-384 by the device's FMC leaf key, whose chain of five ends at
 * the NVIDIA Device Identity CA, pinned here.
 *
 * DMTF DSP0274 1.1.0 (SPDM), 10.11 "GET_MEASUREMENTS request and
 * MEASUREMENTS response"; the opaque data TLVs are NVIDIA's
 * (ATTESTATION-VECTORS.md 1.3).  attest_gpu_verify() is the whole job for
 * one device; the evidence JSON of several devices is read by
 * attest_gpu_evidence_parse() and verified by attest_gpu_verify_list().
 * Nothing here is trusted unless it came out of a verify call with
 * ATTEST_OK.
 */

#ifndef CONFER_ATTEST_GPU_H
#define CONFER_ATTEST_GPU_H

#include <jansson.h>

#include "attest.h"
#include "attest_int.h"


#define ATTEST_GPU_REQUEST_LEN     37     /* 11 e0 p1 p2, nonce, slot */
#define ATTEST_GPU_SIG_LEN         96     /* P-384 r || s, big-endian */
#define ATTEST_GPU_SPDM_11         0x11
#define ATTEST_GPU_GET_MEASUREMENTS  0xe0
#define ATTEST_GPU_MEASUREMENTS    0x60
#define ATTEST_GPU_MAX_BLOCKS      255
#define ATTEST_GPU_CHAIN_LEN       5      /* FMC LF, BROM, Provisioner ICA,
                                             Identity, Device Identity CA */

/* NVIDIA opaque data field types */
#define ATTEST_GPU_TLV_DRIVER      3
#define ATTEST_GPU_TLV_VBIOS       6
#define ATTEST_GPU_TLV_BOARD_ID    14
#define ATTEST_GPU_TLV_FWID        20


/* SPDM 1.1, Table 45 "Measurement block format" with the DMTF
 * measurement (Table 46) inside */
typedef struct {
    uint8_t          index;
    uint8_t          spec;              /* MeasurementSpecification: 1 */
    uint8_t          type;              /* DMTFSpecMeasurementValueType */
    uint16_t         size;              /* of value */
    const uint8_t   *value;
} attest_gpu_block_t;

/* a parsed report: pointers into the caller's buffer, nothing verified */
typedef struct {
    const uint8_t       *request;       /* 37 bytes */
    uint8_t              req_param1;    /* bit 0: signature requested */
    uint8_t              req_param2;    /* 0xff: all measurements */
    const uint8_t       *nonce;         /* 32: the requester's nonce */
    uint8_t              slot;

    const uint8_t       *response;
    uint8_t              version;       /* 0x11 */
    uint8_t              param1;
    uint8_t              param2;
    size_t               nblocks;
    attest_gpu_block_t   blocks[ATTEST_GPU_MAX_BLOCKS];
    const uint8_t       *resp_nonce;    /* 32: the responder's */
    const uint8_t       *opaque;
    size_t               opaque_len;

    /* opaque fields of note, NULL when absent */
    const uint8_t       *driver;        /* ASCII, NUL-terminated */
    size_t               driver_len;
    const uint8_t       *vbios;         /* 8 bytes binary (GPU) or ASCII */
    size_t               vbios_len;
    const uint8_t       *fwid;          /* 48 */
    size_t               fwid_len;

    const uint8_t       *signature;     /* 96 */
    size_t               signed_len;    /* request + response up to the
                                           signature */
    size_t               used;          /* signed_len + 96; bytes after
                                           it are ignored (one is seen in
                                           the wild) */
} attest_gpu_report_t;


/* SHA-256 of the DER of the NVIDIA Device Identity CA, the built-in pin
 * (ATTESTATION-VECTORS.md 4) */
extern const uint8_t  attest_gpu_nvidia_root_sha256[32];


/* layout only: no signature, no certificate is looked at */
attest_err_t attest_gpu_parse(const uint8_t *p, size_t n,
    attest_gpu_report_t *r);

/* one opaque TLV, or NULL; for tools */
const uint8_t *attest_gpu_opaque(const attest_gpu_report_t *r,
    uint16_t type, size_t *len);

/* "96.00.9F.00.01" from the VBIOS field (8 bytes binary, or text) */
void attest_gpu_vbios_text(const uint8_t *p, size_t n, char *out,
    size_t cap);

/* the FWID of an NVIDIA leaf: the SHA-384 digest in its TCG DICE
 * extension (2.23.133.5.4.1); ATTEST_ERR_NO_CERT when it has none */
attest_err_t attest_gpu_leaf_fwid(const uint8_t *ext, size_t n,
    uint8_t fwid[48]);

/*
 * One device: the report, its certificate chain (PEM or DER, leaf first,
 * five certificates ending at the NVIDIA Device Identity CA, or at the
 * simulated root when sim_root is the SHA-256 of its DER), the nonce the
 * caller asked for, the time.  Checks the chain and that the leaf is an
 * FMC leaf, the signature over request and response, then the nonce
 * (ATTEST_ERR_GPU_NONCE), then that the FWID of the opaque data is the
 * leaf's (ATTEST_ERR_TCB_MISMATCH).  f is cleared first and filled on
 * success.  detail (may be NULL) gets a short reason.
 */
attest_err_t attest_gpu_verify(const uint8_t *report, size_t n,
    const uint8_t *chain, size_t chain_len, const uint8_t nonce[32],
    const uint8_t *sim_root, time_t now, attest_gpu_facts_t *f,
    char *detail, size_t dn);

/*
 * NVIDIA's evidence JSON: an array of objects with "arch", "certificate"
 * (base64 of the PEM chain), "evidence" (base64 of the report) and
 * optionally "nonce", "version", "driver_version", "vbios_version" (all
 * unsigned, ignored: the signed request holds the nonce).  Other keys are
 * errors.  At most ATTEST_MAX_GPUS entries; blobs point into *mem, which
 * the caller frees.
 */
attest_err_t attest_gpu_evidence_parse(const uint8_t *json, size_t n,
    attest_gpu_entry_t *e, size_t max, size_t *count, uint8_t **mem,
    char *detail, size_t dn);

/* the same on a parsed array, decoding into *mem (advanced), which must
 * hold the sum of the entries' string lengths (the document parser) */
attest_err_t attest_gpu_entries(json_t *arr, attest_gpu_entry_t *e,
    size_t max, size_t *count, uint8_t **mem, char *detail, size_t dn);
/* the bytes attest_gpu_entries() needs for arr */
size_t attest_gpu_entries_size(json_t *arr);

/*
 * Every entry with attest_gpu_verify(), into ev->gpu (ev->ngpu); the same
 * device twice (one leaf certificate) is refused.  The NVIDIA root is
 * always pinned; sim_root (may be NULL) is pinned as well.  On failure
 * ev->ngpu is 0 and detail names the entry.
 */
attest_err_t attest_gpu_verify_list(const attest_gpu_entry_t *e, size_t n,
    const uint8_t nonce[32], const uint8_t *sim_root, time_t now,
    attest_evidence_t *ev, char *detail, size_t dn);

/* the parsed report as a JSON object (hex strings); NULL on no memory */
json_t *attest_gpu_report_json(const attest_gpu_report_t *r);

/* "gpu" or "nvswitch" */
const char *attest_gpu_kind_name(attest_gpu_kind_t k);

/* dotted decimal versions, component by component: <0, 0, >0; a
 * malformed version is below any other */
int attest_gpu_version_cmp(const char *a, const char *b);


#endif /* CONFER_ATTEST_GPU_H */
