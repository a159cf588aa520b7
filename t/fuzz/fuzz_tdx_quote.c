/*
 * libFuzzer harness: a TDX quote through the layout parser, the JSON
 * view, the SGX extension parser and the whole verification (no
 * collateral).  The root pin is taken from the input's own chain, so that
 * a well-formed synthetic seed reaches every signature check.
 */

#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest_tdx.h"


static int
no_password(char *buf, int size, int rwflag, void *u)
{
    return 0;
}


/* SHA-256 of the last certificate of the PEM chain, or zeros */
static void
root_of(const attest_tdx_quote_t *q, uint8_t fp[32])
{
    BIO           *b;
    X509          *x, *last;
    unsigned int   len;

    memset(fp, 0, 32);
    if (q->pck_chain_len == 0 || q->pck_chain_len > 1 << 20) {
        return;
    }

    b = BIO_new_mem_buf(q->pck_chain, (int) q->pck_chain_len);
    last = NULL;
    while ((x = PEM_read_bio_X509(b, NULL, no_password, NULL)) != NULL) {
        X509_free(last);
        last = x;
    }
    if (last != NULL) {
        X509_digest(last, EVP_sha256(), fp, &len);
        X509_free(last);
    }
    BIO_free(b);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t              *j;
    uint8_t              fp[32];
    attest_tdx_pck_t     pck;
    attest_evidence_t    ev;
    attest_tdx_quote_t   q;

    attest_tdx_pck_ext_parse(data, size, &pck);

    if (attest_tdx_parse(data, size, &q) != ATTEST_OK) {
        return 0;
    }

    j = attest_tdx_quote_json(&q);
    json_decref(j);

    root_of(&q, fp);

    /* 2026-01-01, when the synthetic seeds' certificates are valid */
    attest_tdx_verify_root(data, size, NULL, 1767225600, fp, &ev);
    attest_tdx_verify(data, size, NULL, 1767225600, &ev);

    return 0;
}
