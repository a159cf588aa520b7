/*
 * attest/: hardware evidence from the Linux configfs-tsm report interface
 * (Documentation/ABI/testing/configfs-tsm, Linux 6.7+): one interface for
 * SEV-SNP ("sev_guest") and TDX ("tdx_guest") guests.  No nginx header.
 *
 * One report is taken like this, under ROOT (normally
 * /sys/kernel/config/tsm/report):
 *
 *   mkdir ROOT/confer            an entry; one left behind is reused
 *   read  provider               "sev_guest" or "tdx_guest"
 *   read  generation             g
 *   write inblob                 the 64 bytes of report_data
 *   read  outblob                the SNP report or TDX quote
 *   read  auxblob                SNP: the certificate table, maybe empty
 *   read  generation             must be g + 1, else another writer
 *                                raced us: tried once more, then an error
 *   rmdir ROOT/confer
 *
 * Every file is opened non-blocking and read with poll() under one
 * deadline, so the same code works on the kernel's attributes and on a
 * fake tree whose attributes are FIFOs served by a test daemon
 * (t/tools/fake-tsm), and never hangs a worker: an absent reader of
 * inblob is an error at once, a silent outblob one at the deadline.
 */

#ifndef CONFER_ATTEST_TSM_H
#define CONFER_ATTEST_TSM_H

#include <stddef.h>
#include <stdint.h>

#include "attest.h"


#define ATTEST_TSM_ENTRY      "confer"
#define ATTEST_TSM_BLOB_MAX   (1024 * 1024)


typedef struct {
    char       provider[32];
    uint64_t   generation;         /* after our write */
    uint8_t   *outblob;            /* malloc()ed */
    size_t     outblob_len;
    uint8_t   *auxblob;            /* malloc()ed, NULL if none */
    size_t     auxblob_len;
} attest_tsm_report_t;


/* one report for report_data; msg (may be NULL) says what went wrong */
attest_err_t attest_tsm_get(const char *root, const uint8_t report_data[64],
    unsigned timeout_ms, attest_tsm_report_t *rep, char *msg,
    size_t msg_len);

void attest_tsm_report_free(attest_tsm_report_t *rep);

/*
 * The SEV-SNP certificate table (AMD SEV-SNP firmware ABI, the GUID table
 * of SNP_GET_EXT_REPORT) that auxblob holds for "sev_guest": certs get the
 * DER blobs (pointing into aux) in the document's order, VCEK or VLEK,
 * then ASK or ASVK, then ARK; entries of other GUIDs are skipped.
 */
attest_err_t attest_tsm_snp_certs(const uint8_t *aux, size_t n,
    attest_blob_t *certs, size_t max, size_t *ncerts);

/* the CPU evidence of one report, as a document carries it */
typedef struct {
    attest_platform_t     platform;     /* from the provider attribute */
    attest_blob_t         evidence;     /* the SNP report or TDX quote */
    attest_blob_t         certs[ATTEST_MAX_CERTS];  /* SNP: DER, leaf
                                                       first; TDX: none */
    size_t                ncerts;

    attest_tsm_report_t   rep;          /* what the blobs point into */
    uint8_t              *der[ATTEST_MAX_CERTS];    /* certs_pem's */
} attest_tsm_evidence_t;

/*
 * Takes a report for report_data (the document's binding, computed by the
 * caller), checks that the evidence carries it, and finds the SNP chain:
 * certs_pem (may be NULL), a PEM file with the chain, leaf first, is used
 * instead of auxblob's.  msg says what went wrong.  Free e with
 * attest_tsm_evidence_free() whatever the result.
 */
attest_err_t attest_tsm_evidence(const char *root, unsigned timeout_ms,
    const char *certs_pem, const uint8_t report_data[64],
    attest_tsm_evidence_t *e, char *msg, size_t msg_len);

void attest_tsm_evidence_free(attest_tsm_evidence_t *e);


#endif /* CONFER_ATTEST_TSM_H */
