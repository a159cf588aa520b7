/*
 * attest/: Intel TDX quote v4/v5 layout, signatures, PCK chain, CRLs and
 * the cryptographic half of the collateral check.  The JSON half and the
 * TCB evaluation are in attest_tdx_collateral.c.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest_int.h"
#include "attest_tdx.h"
#include "attest_x509.h"


/*
 * The Intel SGX Root CA ("CN=Intel SGX Root CA, O=Intel Corporation",
 * 2018-05-21 to 2049-12-31): SHA-256 of its DER encoding.  Every PCK
 * chain and every TCB signing chain ends in this certificate; the quote
 * carries a copy, which must hash to this value.  Computed from
 * shared/vectors/tdx/intel_sgx_root_ca.pem, the same certificate that
 * Intel PCS serves and that every quote in the vectors embeds.
 */
const uint8_t  attest_tdx_intel_root_sha256[32] = {
    0x44, 0xa0, 0x19, 0x6b, 0x2b, 0x99, 0xf8, 0x89,
    0xb8, 0xe1, 0x49, 0xe9, 0x5b, 0x80, 0x7a, 0x35,
    0x0e, 0x74, 0x24, 0x96, 0x43, 0x99, 0xe8, 0x85,
    0xa7, 0xcb, 0xb8, 0xcc, 0xfa, 0xb6, 0x74, 0xd3
};

/* QE vendor ID of the Intel quoting enclaves (quote header 0x0c) */
static const uint8_t  tdx_intel_qe_vendor[16] = {
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
    0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07
};

/* OID 1.2.840.113741.1.13.1, the SGX extensions of a PCK certificate */
static const uint8_t  tdx_sgx_ext_oid[] = {
    0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01
};

#define TDX_CERT_QE_REPORT   6          /* certification data types */
#define TDX_CERT_PCK_CHAIN   5
#define TDX_MAX_CHAIN        4


static uint16_t tdx_le16(const uint8_t *p);
static uint32_t tdx_le32(const uint8_t *p);
static attest_err_t tdx_chain_check(X509 **c, size_t k,
    const uint8_t root_sha256[32], time_t now, time_t *not_after);
static attest_err_t tdx_pem_chain(const uint8_t *p, size_t n, X509 **certs,
    size_t max, size_t *count);
static int tdx_ecdsa_verify(EVP_PKEY *key, const uint8_t *msg, size_t n,
    const uint8_t sig[64]);
static attest_err_t tdx_leaf_pck(X509 *leaf, attest_tdx_pck_t *pck);
static attest_err_t tdx_verify_quote(const attest_tdx_quote_t *q,
    const attest_tdx_collateral_t *col, time_t now,
    const uint8_t root_sha256[32], attest_evidence_t *ev, X509 **chain,
    size_t *nchain, attest_tdx_pck_t *pck);
static attest_err_t tdx_verify_collateral(const attest_tdx_quote_t *q,
    const attest_tdx_pck_t *pck, const attest_tdx_collateral_t *col,
    time_t now, const uint8_t root_sha256[32], attest_evidence_t *ev);
static uint8_t *tdx_url_decode(const uint8_t *p, size_t n, size_t *out_n);


/* --- quote layout ------------------------------------------------------- */

static uint16_t
tdx_le16(const uint8_t *p)
{
    return (uint16_t) (p[0] | (p[1] << 8));
}


static uint32_t
tdx_le32(const uint8_t *p)
{
    return (uint32_t) p[0] | ((uint32_t) p[1] << 8)
           | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}


/*
 * Intel TDX DCAP Quote Library API, "Quote Format": header 48 bytes,
 * TD quote body (v5: type and size first), then the signature data.
 */
attest_err_t
attest_tdx_parse(const uint8_t *p, size_t n, attest_tdx_quote_t *q)
{
    size_t          off, end, cert_size, pck_size, need;
    uint32_t        sig_len;
    const uint8_t  *b;

    memset(q, 0, sizeof(*q));

    if (p == NULL || n < ATTEST_TDX_HEADER_LEN) {
        return ATTEST_ERR_INPUT;
    }

    q->header = p;
    q->version = tdx_le16(p);
    q->att_key_type = tdx_le16(p + 2);
    q->tee_type = tdx_le32(p + 4);
    q->reserved[0] = tdx_le16(p + 8);
    q->reserved[1] = tdx_le16(p + 10);
    q->qe_vendor_id = p + 0x0c;
    q->user_data = p + 0x1c;

    /* an SGX quote (tee_type 0) has the same first fields */
    if (q->tee_type != ATTEST_TDX_TEE_TYPE) {
        return ATTEST_ERR_NOT_TDX;
    }

    if (q->version != 4 && q->version != 5) {
        return ATTEST_ERR_VERSION;
    }

    if (q->att_key_type != ATTEST_TDX_ATT_KEY_ECDSA) {
        return ATTEST_ERR_SIG_ALGO;
    }

    if (memcmp(q->qe_vendor_id, tdx_intel_qe_vendor, 16) != 0) {
        return ATTEST_ERR_NOT_TDX;
    }

    off = ATTEST_TDX_HEADER_LEN;

    if (q->version == 4) {
        q->body_type = ATTEST_TDX_BODY_TD10;
        q->body_len = ATTEST_TDX_BODY10_LEN;

    } else {
        /* v5: u16 body type, u32 body size, body */
        if (n - off < 6) {
            return ATTEST_ERR_INPUT;
        }

        q->body_type = tdx_le16(p + off);
        q->body_len = tdx_le32(p + off + 2);
        off += 6;

        if (q->body_type == ATTEST_TDX_BODY_TD10) {
            need = ATTEST_TDX_BODY10_LEN;

        } else if (q->body_type == ATTEST_TDX_BODY_TD15) {
            need = ATTEST_TDX_BODY15_LEN;

        } else {
            return ATTEST_ERR_VERSION;
        }

        if (q->body_len != need) {
            return ATTEST_ERR_INPUT;
        }
    }

    if (n - off < q->body_len) {
        return ATTEST_ERR_INPUT;
    }

    b = p + off;
    q->body = b;
    q->tee_tcb_svn = b;
    q->mrseam = b + 0x10;
    q->mrsignerseam = b + 0x40;
    q->seam_attributes = b + 0x70;
    q->td_attributes = b + 0x78;
    q->xfam = b + 0x80;
    q->mrtd = b + 0x88;
    q->mrconfigid = b + 0xb8;
    q->mrowner = b + 0xe8;
    q->mrownerconfig = b + 0x118;
    q->rtmr[0] = b + 0x148;
    q->rtmr[1] = b + 0x178;
    q->rtmr[2] = b + 0x1a8;
    q->rtmr[3] = b + 0x1d8;
    q->report_data = b + 0x208;

    if (q->body_type == ATTEST_TDX_BODY_TD15) {
        q->tee_tcb_svn2 = b + 0x248;
        q->mr_servicetd = b + 0x258;
    }

    off += q->body_len;
    q->signed_len = off;

    /* signature data: u32 length, then exactly that many bytes */
    if (n - off < 4) {
        return ATTEST_ERR_INPUT;
    }

    sig_len = tdx_le32(p + off);
    off += 4;

    if (n - off < sig_len || sig_len < 64 + 64 + 6) {
        return ATTEST_ERR_INPUT;
    }

    end = off + sig_len;

    q->signature = p + off;
    q->attest_key = p + off + 64;
    q->cert_type = tdx_le16(p + off + 128);
    cert_size = tdx_le32(p + off + 130);
    off += 134;

    if (cert_size != end - off) {
        return ATTEST_ERR_INPUT;
    }

    if (q->cert_type != TDX_CERT_QE_REPORT) {
        return ATTEST_ERR_NO_CERT;
    }

    /* QE report certification data */
    if (end - off < ATTEST_TDX_QE_REPORT_LEN + 64 + 2) {
        return ATTEST_ERR_INPUT;
    }

    q->qe_report = p + off;
    q->qe_report_sig = p + off + ATTEST_TDX_QE_REPORT_LEN;
    off += ATTEST_TDX_QE_REPORT_LEN + 64;

    q->qe_auth_len = tdx_le16(p + off);
    off += 2;

    if (end - off < q->qe_auth_len + 6) {
        return ATTEST_ERR_INPUT;
    }

    q->qe_auth = p + off;
    off += q->qe_auth_len;

    q->pck_cert_type = tdx_le16(p + off);
    pck_size = tdx_le32(p + off + 2);
    off += 6;

    if (pck_size != end - off) {
        return ATTEST_ERR_INPUT;
    }

    if (q->pck_cert_type != TDX_CERT_PCK_CHAIN) {
        return ATTEST_ERR_NO_CERT;
    }

    q->pck_chain = p + off;
    q->pck_chain_len = pck_size;
    q->used = end;

    return ATTEST_OK;
}


/* --- the SGX extensions of a PCK certificate (DER) ---------------------- */

/*
 * Intel SGX PCK Certificate and CRL Profile, "SGX Extensions":
 * SEQUENCE { SEQUENCE { OID, value } ... } under 1.2.840.113741.1.13.1.
 * A minimal DER reader: definite lengths only, bounds checked.
 */
static int
tdx_der(const uint8_t **pp, const uint8_t *end, uint8_t *tag,
    const uint8_t **val, size_t *len)
{
    size_t          l, k;
    const uint8_t  *p;

    p = *pp;

    if (end - p < 2) {
        return -1;
    }

    *tag = *p++;
    l = *p++;

    if (l & 0x80) {
        k = l & 0x7f;
        if (k == 0 || k > 3 || (size_t) (end - p) < k) {
            return -1;
        }
        for (l = 0; k; k--) {
            l = (l << 8) | *p++;
        }
    }

    if ((size_t) (end - p) < l) {
        return -1;
    }

    *val = p;
    *len = l;
    *pp = p + l;

    return 0;
}


/* a small non-negative DER INTEGER (or ENUMERATED) */
static int
tdx_der_uint(const uint8_t *v, size_t len, uint32_t max, uint32_t *out)
{
    uint32_t  x;

    if (len == 0 || len > 3 || (v[0] & 0x80)) {
        return -1;
    }

    for (x = 0; len; len--) {
        x = (x << 8) | *v++;
    }

    if (x > max) {
        return -1;
    }

    *out = x;
    return 0;
}


/* the arc after 1.2.840.113741.1.13.1 (and after .2 for TCB entries) */
static int
tdx_sgx_arc(const uint8_t *oid, size_t len, size_t depth, uint8_t *arc)
{
    if (len != sizeof(tdx_sgx_ext_oid) + depth
        || memcmp(oid, tdx_sgx_ext_oid, sizeof(tdx_sgx_ext_oid)) != 0)
    {
        return -1;
    }

    arc[0] = oid[sizeof(tdx_sgx_ext_oid)];
    arc[1] = depth > 1 ? oid[sizeof(tdx_sgx_ext_oid) + 1] : 0;

    return (arc[0] & 0x80) || (arc[1] & 0x80) ? -1 : 0;
}


static attest_err_t
tdx_sgx_tcb(const uint8_t *p, size_t n, attest_tdx_pck_t *pck,
    uint32_t *seen)
{
    uint8_t         tag, arc[2];
    size_t          len, olen, vlen;
    uint32_t        x;
    const uint8_t  *end, *v, *s, *send, *oid, *val;

    end = p + n;

    while (p < end) {
        if (tdx_der(&p, end, &tag, &v, &len) != 0 || tag != 0x30) {
            return ATTEST_ERR_CERT;
        }

        s = v;
        send = v + len;

        if (tdx_der(&s, send, &tag, &oid, &olen) != 0 || tag != 0x06
            || tdx_der(&s, send, &tag, &val, &vlen) != 0 || s != send
            || tdx_sgx_arc(oid, olen, 2, arc) != 0 || arc[0] != 2)
        {
            return ATTEST_ERR_CERT;
        }

        if (arc[1] >= 1 && arc[1] <= 16) {
            if (tag != 0x02 || tdx_der_uint(val, vlen, 255, &x) != 0) {
                return ATTEST_ERR_CERT;
            }
            pck->cpusvn_comp[arc[1] - 1] = (uint8_t) x;

        } else if (arc[1] == 17) {
            if (tag != 0x02 || tdx_der_uint(val, vlen, 65535, &x) != 0) {
                return ATTEST_ERR_CERT;
            }
            pck->pcesvn = (uint16_t) x;

        } else if (arc[1] == 18) {
            if (tag != 0x04 || vlen != 16) {
                return ATTEST_ERR_CERT;
            }
            memcpy(pck->cpusvn, val, 16);

        } else {
            continue;
        }

        if (*seen & (1u << arc[1])) {
            return ATTEST_ERR_CERT;
        }

        *seen |= 1u << arc[1];
    }

    return ATTEST_OK;
}


attest_err_t
attest_tdx_pck_ext_parse(const uint8_t *p, size_t n, attest_tdx_pck_t *pck)
{
    uint8_t         tag, arc[2];
    size_t          len, olen, vlen;
    uint32_t        x, seen, tcb;
    attest_err_t    rc;
    const uint8_t  *end, *v, *s, *send, *oid, *val;

    memset(pck, 0, sizeof(*pck));

    if (p == NULL || n == 0) {
        return ATTEST_ERR_CERT;
    }

    end = p + n;

    if (tdx_der(&p, end, &tag, &v, &len) != 0 || tag != 0x30 || p != end) {
        return ATTEST_ERR_CERT;
    }

    p = v;
    end = v + len;
    seen = 0;
    tcb = 0;

    while (p < end) {
        if (tdx_der(&p, end, &tag, &v, &len) != 0 || tag != 0x30) {
            return ATTEST_ERR_CERT;
        }

        s = v;
        send = v + len;

        if (tdx_der(&s, send, &tag, &oid, &olen) != 0 || tag != 0x06
            || tdx_der(&s, send, &tag, &val, &vlen) != 0 || s != send)
        {
            return ATTEST_ERR_CERT;
        }

        if (tdx_sgx_arc(oid, olen, 1, arc) != 0) {
            return ATTEST_ERR_CERT;
        }

        switch (arc[0]) {

        case 1:                                     /* PPID */
            if (tag != 0x04 || vlen != 16) {
                return ATTEST_ERR_CERT;
            }
            memcpy(pck->ppid, val, 16);
            break;

        case 2:                                     /* TCB */
            if (tag != 0x30) {
                return ATTEST_ERR_CERT;
            }
            rc = tdx_sgx_tcb(val, vlen, pck, &tcb);
            if (rc != ATTEST_OK) {
                return rc;
            }
            break;

        case 3:                                     /* PCE-ID */
            if (tag != 0x04 || vlen != 2) {
                return ATTEST_ERR_CERT;
            }
            memcpy(pck->pceid, val, 2);
            break;

        case 4:                                     /* FMSPC */
            if (tag != 0x04 || vlen != 6) {
                return ATTEST_ERR_CERT;
            }
            memcpy(pck->fmspc, val, 6);
            break;

        case 5:                                     /* SGX type */
            if (tag != 0x0a || tdx_der_uint(val, vlen, 255, &x) != 0) {
                return ATTEST_ERR_CERT;
            }
            pck->sgx_type = (int) x;
            break;

        default:            /* platform instance ID, configuration, ... */
            continue;
        }

        if (seen & (1u << arc[0])) {
            return ATTEST_ERR_CERT;
        }

        seen |= 1u << arc[0];
    }

    /* TCB needs its 16 components and the PCESVN; FMSPC and PCE-ID */
    if ((seen & 0x1c) != 0x1c || (tcb & 0x3fffe) != 0x3fffe) {
        return ATTEST_ERR_CERT;
    }

    return ATTEST_OK;
}


/* --- the PCK and TCB signing chains -------------------------------------- */

/*
 * c[0] is the leaf, c[k - 1] the root: every certificate given must be on
 * the path, in this order, and the root must be the pinned one
 * (attest_x509_chain() checks names, key identifiers, CA bits, signatures
 * and validity at now).
 */
static attest_err_t
tdx_chain_check(X509 **c, size_t k, const uint8_t root_sha256[32],
    time_t now, time_t *not_after)
{
    size_t              i;
    attest_err_t        rc;
    attest_x509_path_t  path;

    rc = attest_x509_chain(c[0], c, k, (const uint8_t (*)[32]) root_sha256,
                           1, now, k, &path, NULL, 0);
    if (rc != ATTEST_OK) {
        return rc;
    }

    for (i = 0; i < k; i++) {
        if (i >= path.depth || path.chain[i] != c[i]) {
            return ATTEST_ERR_CHAIN;
        }
    }

    attest_min_time(not_after, path.not_after);
    return ATTEST_OK;
}


/* Intel's form: ECDSA P-256 / SHA-256, raw big-endian r || s */
static int
tdx_ecdsa_verify(EVP_PKEY *key, const uint8_t *msg, size_t n,
    const uint8_t sig[64])
{
    return attest_ecdsa_verify(key, EVP_sha256(), msg, n, sig, sig + 32, 32,
                               0);
}


static attest_err_t
tdx_pem_chain(const uint8_t *p, size_t n, X509 **certs, size_t max,
    size_t *count)
{
    *count = 0;
    return attest_x509_load(p, n, certs, max, count);
}


/* --- verification ------------------------------------------------------ */

static attest_err_t
tdx_leaf_pck(X509 *leaf, attest_tdx_pck_t *pck)
{
    int                       i, count;
    size_t                    len;
    const uint8_t            *oid;
    X509_EXTENSION           *ext;
    const ASN1_OBJECT        *obj;
    const ASN1_OCTET_STRING  *val;

    count = X509_get_ext_count(leaf);

    for (i = 0; i < count; i++) {
        ext = X509_get_ext(leaf, i);
        obj = X509_EXTENSION_get_object(ext);
        len = OBJ_length(obj);
        oid = OBJ_get0_data(obj);

        if (oid == NULL || len != sizeof(tdx_sgx_ext_oid)
            || memcmp(oid, tdx_sgx_ext_oid, len) != 0)
        {
            continue;
        }

        val = X509_EXTENSION_get_data(ext);

        return attest_tdx_pck_ext_parse(ASN1_STRING_get0_data(val),
                                        ASN1_STRING_length(val), pck);
    }

    return ATTEST_ERR_CERT;
}


attest_err_t
attest_tdx_quote_pck(const attest_tdx_quote_t *q, attest_tdx_pck_t *pck)
{
    X509          *chain[TDX_MAX_CHAIN];
    size_t         k;
    attest_err_t   rc;

    memset(pck, 0, sizeof(*pck));

    rc = tdx_pem_chain(q->pck_chain, q->pck_chain_len, chain, TDX_MAX_CHAIN,
                       &k);
    if (rc != ATTEST_OK) {
        return rc;
    }

    rc = tdx_leaf_pck(chain[0], pck);
    attest_x509_free(chain, k);

    return rc;
}


static attest_err_t
tdx_verify_quote(const attest_tdx_quote_t *q,
    const attest_tdx_collateral_t *col, time_t now,
    const uint8_t root_sha256[32], attest_evidence_t *ev, X509 **chain,
    size_t *nchain, attest_tdx_pck_t *pck)
{
    size_t         i;
    uint8_t        md[32];
    EVP_PKEY      *akey;
    EVP_MD_CTX    *h;
    attest_err_t   rc;
    unsigned int   mdlen;

    /* the PCK chain: leaf, Platform or Processor CA, Intel SGX Root CA */
    rc = tdx_pem_chain(q->pck_chain, q->pck_chain_len, chain, TDX_MAX_CHAIN,
                       nchain);
    if (rc != ATTEST_OK) {
        return rc;
    }

    if (*nchain != 3) {
        return *nchain < 3 ? ATTEST_ERR_NO_CERT : ATTEST_ERR_CERT;
    }

    rc = tdx_chain_check(chain, 3, root_sha256, now, &ev->chain_not_after);
    if (rc != ATTEST_OK) {
        return rc;
    }

    rc = tdx_leaf_pck(chain[0], pck);
    if (rc != ATTEST_OK) {
        return rc;
    }

    memcpy(ev->fmspc, pck->fmspc, 6);

    /* revocation: the root CA lists CAs, the PCK CA lists PCKs */
    if (col != NULL && col->root_crl != NULL && col->root_crl_len > 0) {
        rc = attest_x509_crl_check(col->root_crl, col->root_crl_len,
                                   chain[2], chain[1], now,
                                   &ev->collateral_not_after);
        if (rc != ATTEST_OK) {
            return rc;
        }
    }

    if (col != NULL && col->pck_crl != NULL && col->pck_crl_len > 0) {
        rc = attest_x509_crl_check(col->pck_crl, col->pck_crl_len,
                                   chain[1], chain[0], now,
                                   &ev->collateral_not_after);
        if (rc != ATTEST_OK) {
            return rc;
        }
    }

    /* the QE report, signed by the PCK leaf */
    if (!attest_ec_is(X509_get0_pubkey(chain[0]), "prime256v1")) {
        return ATTEST_ERR_CERT;
    }

    if (!tdx_ecdsa_verify(X509_get0_pubkey(chain[0]), q->qe_report,
                          ATTEST_TDX_QE_REPORT_LEN, q->qe_report_sig))
    {
        ERR_clear_error();
        return ATTEST_ERR_QE_REPORT;
    }

    /* report_data = SHA-256(attestation key || QE auth data) || 0^32 */
    h = EVP_MD_CTX_new();
    if (h == NULL
        || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(h, q->attest_key, 64) != 1
        || EVP_DigestUpdate(h, q->qe_auth, q->qe_auth_len) != 1
        || EVP_DigestFinal_ex(h, md, &mdlen) != 1)
    {
        EVP_MD_CTX_free(h);
        return ATTEST_ERR_INTERNAL;
    }

    EVP_MD_CTX_free(h);

    if (CRYPTO_memcmp(md, q->qe_report + ATTEST_TDX_QE_REPORT_DATA, 32)
        != 0)
    {
        return ATTEST_ERR_QE_BINDING;
    }

    for (i = 32; i < 64; i++) {
        if (q->qe_report[ATTEST_TDX_QE_REPORT_DATA + i] != 0) {
            return ATTEST_ERR_QE_BINDING;
        }
    }

    /* the quote: header and body, signed by the attestation key */
    akey = attest_ec_key("prime256v1", q->attest_key, 64);
    if (akey == NULL) {
        ERR_clear_error();
        return ATTEST_ERR_SIGNATURE;
    }

    i = tdx_ecdsa_verify(akey, q->header, q->signed_len, q->signature);
    EVP_PKEY_free(akey);
    ERR_clear_error();

    return i ? ATTEST_OK : ATTEST_ERR_SIGNATURE;
}


/* PCS sends issuer chains URL-encoded in a header; accept both forms */
static uint8_t *
tdx_url_decode(const uint8_t *p, size_t n, size_t *out_n)
{
    int       hi, lo;
    size_t    i, k;
    uint8_t  *out;

    out = malloc(n + 1);
    if (out == NULL) {
        return NULL;
    }

    for (i = 0, k = 0; i < n; i++) {
        if (p[i] != '%') {
            out[k++] = p[i];
            continue;
        }

        if (n - i < 3
            || (hi = OPENSSL_hexchar2int(p[i + 1])) < 0
            || (lo = OPENSSL_hexchar2int(p[i + 2])) < 0)
        {
            free(out);
            return NULL;
        }

        out[k++] = (uint8_t) (hi << 4 | lo);
        i += 2;
    }

    *out_n = k;
    return out;
}


static int
tdx_has(const uint8_t *p, size_t n, const char *s)
{
    size_t  i, l;

    l = strlen(s);

    for (i = 0; i + l <= n; i++) {
        if (memcmp(p + i, s, l) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * TCB Info and QE Identity: signed (ECDSA P-256, r || s in hex) by the
 * Intel SGX TCB Signing certificate over the exact text of the inner
 * object; that certificate chains to the pinned root.  It was re-issued
 * in 2025 with the same key (2018-2025, then 2025-2032): what is pinned
 * is the root, so either chain works while it is valid at "now".
 */
static attest_err_t
tdx_verify_collateral(const attest_tdx_quote_t *q,
    const attest_tdx_pck_t *pck, const attest_tdx_collateral_t *col,
    time_t now, const uint8_t root_sha256[32], attest_evidence_t *ev)
{
    int                        has_ti, has_qi;
    X509                      *chain[TDX_MAX_CHAIN];
    size_t                     k, cn, lv;
    uint8_t                   *dec;
    EVP_PKEY                  *key;
    attest_err_t               rc;
    const uint8_t             *cp;
    attest_tdx_tcb_info_t     *ti;
    attest_tdx_tcb_result_t    res;
    attest_tdx_qe_identity_t  *qi;

    /* an empty member is an absent one (a CLI may pass /dev/null) */
    has_ti = col->tcb_info != NULL && col->tcb_info_len > 0;
    has_qi = col->qe_identity != NULL && col->qe_identity_len > 0;

    if (!has_ti && !has_qi) {
        return ATTEST_OK;
    }

    if (col->tcb_signing_chain == NULL || col->tcb_signing_chain_len == 0) {
        return ATTEST_ERR_NO_CERT;
    }

    k = 0;
    ti = NULL;
    qi = NULL;
    dec = NULL;
    cp = col->tcb_signing_chain;
    cn = col->tcb_signing_chain_len;

    if (!tdx_has(cp, cn, "-----BEGIN CERTIFICATE-----")
        && tdx_has(cp, cn, "%"))
    {
        dec = tdx_url_decode(cp, cn, &cn);
        if (dec == NULL) {
            return ATTEST_ERR_CERT;
        }
        cp = dec;
    }

    rc = tdx_pem_chain(cp, cn, chain, TDX_MAX_CHAIN, &k);
    free(dec);

    if (rc != ATTEST_OK) {
        return rc;
    }

    if (k != 2) {
        rc = k < 2 ? ATTEST_ERR_NO_CERT : ATTEST_ERR_CERT;
        goto done;
    }

    rc = tdx_chain_check(chain, 2, root_sha256, now, &ev->chain_not_after);
    if (rc != ATTEST_OK) {
        goto done;
    }

    key = X509_get0_pubkey(chain[0]);
    if (!attest_ec_is(key, "prime256v1")) {
        rc = ATTEST_ERR_CERT;
        goto done;
    }

    if (has_ti) {
        ti = malloc(sizeof(*ti));
        if (ti == NULL) {
            rc = ATTEST_ERR_NOMEM;
            goto done;
        }

        rc = attest_tdx_tcb_info_parse(col->tcb_info, col->tcb_info_len, ti);
        if (rc != ATTEST_OK) {
            goto done;
        }

        if (!tdx_ecdsa_verify(key, ti->body, ti->body_len, ti->signature)) {
            rc = ATTEST_ERR_COLLATERAL;
            goto done;
        }

        if (now > ti->next_update) {
            rc = ATTEST_ERR_COLLATERAL_EXPIRED;
            goto done;
        }

        attest_min_time(&ev->collateral_not_after, ti->next_update);
    }

    if (has_qi) {
        qi = malloc(sizeof(*qi));
        if (qi == NULL) {
            rc = ATTEST_ERR_NOMEM;
            goto done;
        }

        rc = attest_tdx_qe_identity_parse(col->qe_identity,
                                          col->qe_identity_len, qi);
        if (rc != ATTEST_OK) {
            goto done;
        }

        if (!tdx_ecdsa_verify(key, qi->body, qi->body_len, qi->signature)) {
            rc = ATTEST_ERR_COLLATERAL;
            goto done;
        }

        if (now > qi->next_update) {
            rc = ATTEST_ERR_COLLATERAL_EXPIRED;
            goto done;
        }

        attest_min_time(&ev->collateral_not_after, qi->next_update);
    }

    rc = attest_tdx_evaluate(q, pck, ti, qi, &res);

    /* the latest TCB recovery: the newest UpToDate level's tcbDate, from
     * which a policy's out_of_date_grace runs */
    for (lv = 0; ti != NULL && lv < ti->nlevels; lv++) {
        if (ti->levels[lv].status == ATTEST_TDX_TCB_UP_TO_DATE
            && ti->levels[lv].tcb_date > ev->tcb_recovery_date)
        {
            ev->tcb_recovery_date = ti->levels[lv].tcb_date;
        }
    }

    if (ti != NULL) {
        snprintf(ev->tcb_status, sizeof(ev->tcb_status), "%s",
                 attest_tdx_tcb_status_name(res.overall));
    }

    if (qi != NULL) {
        snprintf(ev->qe_tcb_status, sizeof(ev->qe_tcb_status), "%s",
                 attest_tdx_tcb_status_name(res.qe));
    }

done:

    free(ti);
    free(qi);
    attest_x509_free(chain, k);
    ERR_clear_error();

    return rc;
}


attest_err_t
attest_tdx_verify_root(const uint8_t *quote, size_t n,
    const attest_tdx_collateral_t *col, time_t now,
    const uint8_t root_sha256[32], attest_evidence_t *ev)
{
    int                 i;
    X509               *chain[TDX_MAX_CHAIN];
    size_t              nchain;
    attest_err_t        rc;
    attest_tdx_pck_t    pck;
    attest_tdx_quote_t  q;

    memset(ev, 0, sizeof(*ev));
    ev->checked_at = now;

    if (quote == NULL) {
        return ATTEST_ERR_INPUT;
    }

    rc = attest_tdx_parse(quote, n, &q);
    if (rc != ATTEST_OK) {
        return rc;
    }

    /* what the quote says; proved only when ATTEST_OK is returned */
    ev->platform = ATTEST_PLATFORM_TDX;
    ev->version = q.version;
    memcpy(ev->report_data, q.report_data, 64);
    memcpy(ev->measurement, q.mrtd, 48);
    for (i = 0; i < 4; i++) {
        memcpy(ev->rtmr[i], q.rtmr[i], 48);
    }
    memcpy(ev->mrseam, q.mrseam, 48);
    memcpy(ev->tee_tcb_svn, q.tee_tcb_svn, 16);
    ev->debug = q.td_attributes[0] & 0x01;

    nchain = 0;
    rc = tdx_verify_quote(&q, col, now, root_sha256, ev, chain, &nchain,
                          &pck);

    if (rc == ATTEST_OK && col != NULL) {
        rc = tdx_verify_collateral(&q, &pck, col, now, root_sha256, ev);
    }

    attest_x509_free(chain, nchain);
    ERR_clear_error();

    return rc;
}


attest_err_t
attest_tdx_verify(const uint8_t *quote, size_t n,
    const attest_tdx_collateral_t *col, time_t now, attest_evidence_t *ev)
{
    return attest_tdx_verify_root(quote, n, col, now,
                                  attest_tdx_intel_root_sha256, ev);
}


/* --- inspection --------------------------------------------------------- */

json_t *
attest_tdx_quote_json(const attest_tdx_quote_t *q)
{
    int               i, bad;
    char              name[8];
    json_t           *o, *td, *qe, *pk, *arr;
    const uint8_t    *r;
    attest_tdx_pck_t  pck;

    o = json_object();
    td = json_object();
    qe = json_object();

    if (o == NULL || td == NULL || qe == NULL) {
        json_decref(o);
        json_decref(td);
        json_decref(qe);
        return NULL;
    }

    bad = 0;

    bad |= json_object_set_new(o, "platform", json_string("tdx"));
    bad |= json_object_set_new(o, "version", json_integer(q->version));
    bad |= json_object_set_new(o, "att_key_type",
                               json_integer(q->att_key_type));
    bad |= json_object_set_new(o, "tee_type", json_integer(q->tee_type));
    bad |= json_object_set_new(o, "body_type", json_integer(q->body_type));
    bad |= attest_json_hex(o, "qe_vendor_id", q->qe_vendor_id, 16);
    bad |= attest_json_hex(o, "user_data", q->user_data, 20);

    bad |= attest_json_hex(td, "tee_tcb_svn", q->tee_tcb_svn, 16);
    bad |= attest_json_hex(td, "mrseam", q->mrseam, 48);
    bad |= attest_json_hex(td, "mrsignerseam", q->mrsignerseam, 48);
    bad |= attest_json_hex(td, "seam_attributes", q->seam_attributes, 8);
    bad |= attest_json_hex(td, "td_attributes", q->td_attributes, 8);
    bad |= attest_json_hex(td, "xfam", q->xfam, 8);
    bad |= attest_json_hex(td, "mrtd", q->mrtd, 48);
    bad |= attest_json_hex(td, "mrconfigid", q->mrconfigid, 48);
    bad |= attest_json_hex(td, "mrowner", q->mrowner, 48);
    bad |= attest_json_hex(td, "mrownerconfig", q->mrownerconfig, 48);
    for (i = 0; i < 4; i++) {
        snprintf(name, sizeof(name), "rtmr%d", i);
        bad |= attest_json_hex(td, name, q->rtmr[i], 48);
    }
    bad |= attest_json_hex(td, "report_data", q->report_data, 64);
    if (q->tee_tcb_svn2 != NULL) {
        bad |= attest_json_hex(td, "tee_tcb_svn2", q->tee_tcb_svn2, 16);
        bad |= attest_json_hex(td, "mr_servicetd", q->mr_servicetd, 48);
    }
    bad |= json_object_set_new(td, "debug",
                               json_boolean(q->td_attributes[0] & 0x01));
    bad |= json_object_set_new(o, "td", td);

    bad |= attest_json_hex(o, "signature", q->signature, 64);
    bad |= attest_json_hex(o, "attestation_key", q->attest_key, 64);

    r = q->qe_report;
    bad |= attest_json_hex(qe, "cpusvn", r + ATTEST_TDX_QE_CPUSVN, 16);
    bad |= json_object_set_new(qe, "miscselect",
                          json_integer(tdx_le32(r + ATTEST_TDX_QE_MISCSELECT)));
    bad |= attest_json_hex(qe, "attributes", r + ATTEST_TDX_QE_ATTRIBUTES, 16);
    bad |= attest_json_hex(qe, "mrenclave", r + ATTEST_TDX_QE_MRENCLAVE, 32);
    bad |= attest_json_hex(qe, "mrsigner", r + ATTEST_TDX_QE_MRSIGNER, 32);
    bad |= json_object_set_new(qe, "isvprodid",
                           json_integer(tdx_le16(r + ATTEST_TDX_QE_ISVPRODID)));
    bad |= json_object_set_new(qe, "isvsvn",
                              json_integer(tdx_le16(r + ATTEST_TDX_QE_ISVSVN)));
    bad |= attest_json_hex(qe, "report_data", r + ATTEST_TDX_QE_REPORT_DATA,
                           64);
    bad |= attest_json_hex(qe, "signature", q->qe_report_sig, 64);
    bad |= attest_json_hex(qe, "auth_data", q->qe_auth, q->qe_auth_len);
    bad |= json_object_set_new(o, "qe_report", qe);

    bad |= json_object_set_new(o, "pck_chain_bytes",
                               json_integer((json_int_t) q->pck_chain_len));
    bad |= json_object_set_new(o, "signed_bytes",
                               json_integer((json_int_t) q->signed_len));
    bad |= json_object_set_new(o, "quote_bytes",
                               json_integer((json_int_t) q->used));

    if (attest_tdx_quote_pck(q, &pck) == ATTEST_OK) {
        pk = json_object();
        arr = json_array();
        if (pk == NULL || arr == NULL) {
            json_decref(pk);
            json_decref(arr);
            json_decref(o);
            return NULL;
        }
        bad |= attest_json_hex(pk, "fmspc", pck.fmspc, 6);
        bad |= attest_json_hex(pk, "pceid", pck.pceid, 2);
        bad |= json_object_set_new(pk, "pcesvn", json_integer(pck.pcesvn));
        bad |= attest_json_hex(pk, "cpusvn", pck.cpusvn, 16);
        for (i = 0; i < 16; i++) {
            bad |= json_array_append_new(arr,
                                         json_integer(pck.cpusvn_comp[i]));
        }
        bad |= json_object_set_new(pk, "tcb_components", arr);
        bad |= json_object_set_new(pk, "sgx_type", json_integer(pck.sgx_type));
        bad |= attest_json_hex(pk, "ppid", pck.ppid, 16);
        bad |= json_object_set_new(o, "pck", pk);
    }

    if (bad) {
        json_decref(o);
        return NULL;
    }

    return o;
}
