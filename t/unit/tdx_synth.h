/*
 * Synthetic Intel TDX evidence for tests, the bench and the fuzz seeds:
 * a private root, PCK CA, PCK leaf (with SGX extensions), TCB signing
 * certificate, and quotes, CRLs and PCS-style collateral made with them.
 * Nothing here is vendor data; verify with attest_tdx_verify_root() and
 * synth_pki_t.root_sha256.  Header-only, for test programs.
 */

#ifndef CONFER_TDX_SYNTH_H
#define CONFER_TDX_SYNTH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest_tdx.h"


/* 2020-01-01, 2024-01-01, 2026-01-01, 2031-01-01, 2049-12-31 (UTC) */
#define SYNTH_T2020   1577836800L
#define SYNTH_T2024   1704067200L
#define SYNTH_NOW     1767225600L
#define SYNTH_T2031   1924992000L
#define SYNTH_T2049   2524521599L

typedef struct {
    EVP_PKEY  *root_key, *ca_key, *pck_key, *tcb_key, *att_key;
    X509      *root, *ca, *pck, *tcb;
    uint8_t    root_sha256[32];

    /* what the PCK leaf says */
    uint8_t    fmspc[6];
    uint8_t    pceid[2];
    uint8_t    comp[16];
    uint16_t   pcesvn;
} synth_pki_t;

typedef struct {
    int        version;                 /* 4 or 5 */
    int        body_type;               /* v5: 2 or 3 */
    uint8_t    tee_tcb_svn[16];
    uint8_t    td_attributes[8];
    uint8_t    mrsignerseam[48];
    uint8_t    mrtd[48];
    uint8_t    report_data[64];
    uint16_t   qe_isvsvn;
    uint16_t   qe_isvprodid;
    int        pem_nul;                 /* end the PEM chain with a NUL */
    size_t     trailing;                /* zero bytes after the quote */
} synth_quote_opts_t;


static inline size_t
synth_der(uint8_t *out, uint8_t tag, const uint8_t *in, size_t n)
{
    size_t  h;

    out[0] = tag;
    if (n < 0x80) {
        out[1] = (uint8_t) n;
        h = 2;
    } else if (n < 0x100) {
        out[1] = 0x81;
        out[2] = (uint8_t) n;
        h = 3;
    } else {
        out[1] = 0x82;
        out[2] = (uint8_t) (n >> 8);
        out[3] = (uint8_t) n;
        h = 4;
    }
    memmove(out + h, in, n);
    return h + n;
}


/* SEQUENCE { OID 1.2.840.113741.1.13.1.<a>[.<b>], <tag> value } */
static inline size_t
synth_sgx_item(uint8_t *out, int a, int b, uint8_t tag, const uint8_t *v,
    size_t vn)
{
    uint8_t  oid[16], body[1024];
    size_t   on, n;

    static const uint8_t  pfx[] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d,
                                    0x01, 0x0d, 0x01 };

    memcpy(oid, pfx, sizeof(pfx));
    on = sizeof(pfx);
    oid[on++] = (uint8_t) a;
    if (b) {
        oid[on++] = (uint8_t) b;
    }

    n = synth_der(body, 0x06, oid, on);
    n += synth_der(body + n, tag, v, vn);
    return synth_der(out, 0x30, body, n);
}


/* the DER of the SGX extensions value */
static inline size_t
synth_sgx_ext(const synth_pki_t *k, uint8_t *out)
{
    int      i;
    uint8_t  tcb[1024], all[2048], v[20];
    size_t   tn, an;

    tn = 0;
    for (i = 1; i <= 16; i++) {
        tn += synth_sgx_item(tcb + tn, 2, i, 0x02, &k->comp[i - 1], 1);
    }
    if (k->pcesvn < 0x80) {
        v[0] = (uint8_t) k->pcesvn;
        tn += synth_sgx_item(tcb + tn, 2, 17, 0x02, v, 1);
    } else {
        v[0] = 0;
        v[1] = (uint8_t) (k->pcesvn >> 8);
        v[2] = (uint8_t) k->pcesvn;
        tn += synth_sgx_item(tcb + tn, 2, 17, 0x02,
                             v + (k->pcesvn < 0x8000 ? 1 : 0),
                             k->pcesvn < 0x8000 ? 2 : 3);
    }
    memcpy(v, k->comp, 16);
    tn += synth_sgx_item(tcb + tn, 2, 18, 0x04, v, 16);

    an = 0;
    memset(v, 0x5a, 16);
    an += synth_sgx_item(all + an, 1, 0, 0x04, v, 16);
    an += synth_sgx_item(all + an, 2, 0, 0x30, tcb, tn);
    an += synth_sgx_item(all + an, 3, 0, 0x04, k->pceid, 2);
    an += synth_sgx_item(all + an, 4, 0, 0x04, k->fmspc, 6);
    v[0] = 0;
    an += synth_sgx_item(all + an, 5, 0, 0x0a, v, 1);

    return synth_der(out, 0x30, all, an);
}


static inline void
synth_name(X509_NAME *nm, const char *cn)
{
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
                               (const unsigned char *) cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC,
                               (const unsigned char *) "Confer Test", -1,
                               -1, 0);
}


static inline void
synth_ext(X509 *x, X509 *issuer, int nid, const char *val)
{
    X509V3_CTX       ctx;
    X509_EXTENSION  *e;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, val);
    if (e != NULL) {
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
}


static inline X509 *
synth_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    long serial, time_t nb, time_t na, int ca, const synth_pki_t *sgx)
{
    X509               *x;
    uint8_t             der[2048];
    size_t              dn;
    ASN1_OBJECT        *obj;
    ASN1_OCTET_STRING  *os;
    X509_EXTENSION     *e;

    x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    ASN1_TIME_set(X509_getm_notBefore(x), nb);
    ASN1_TIME_set(X509_getm_notAfter(x), na);
    synth_name(X509_get_subject_name(x), cn);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
                                   : X509_get_subject_name(x));
    X509_set_pubkey(x, key);

    synth_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
    synth_ext(x, issuer ? issuer : x, NID_authority_key_identifier,
              "keyid:always");
    synth_ext(x, issuer ? issuer : x, NID_basic_constraints,
              ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    synth_ext(x, issuer ? issuer : x, NID_key_usage,
              ca ? "critical,keyCertSign,cRLSign"
                 : "critical,digitalSignature,nonRepudiation");

    if (sgx != NULL) {
        dn = synth_sgx_ext(sgx, der);
        obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
        os = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(os, der, (int) dn);
        e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(obj);
    }

    X509_sign(x, ikey, EVP_sha256());
    return x;
}


/* a PKI whose PCK leaf has these SGX TCB values (all 2, PCESVN 11) */
static inline void
synth_pki_init(synth_pki_t *k)
{
    unsigned int  len;

    memset(k, 0, sizeof(*k));
    memcpy(k->fmspc, "\x90\xc0\x6f\x00\x00\x00", 6);
    memset(k->comp, 2, 16);
    k->pcesvn = 11;

    k->root_key = EVP_EC_gen("P-256");
    k->ca_key = EVP_EC_gen("P-256");
    k->pck_key = EVP_EC_gen("P-256");
    k->tcb_key = EVP_EC_gen("P-256");
    k->att_key = EVP_EC_gen("P-256");

    k->root = synth_cert("Test SGX Root CA", k->root_key, NULL, k->root_key,
                         1, SYNTH_T2020, SYNTH_T2049, 1, NULL);
    k->ca = synth_cert("Test SGX PCK Platform CA", k->ca_key, k->root,
                       k->root_key, 2, SYNTH_T2020, SYNTH_T2049, 1, NULL);
    k->pck = synth_cert("Test SGX PCK Certificate", k->pck_key, k->ca,
                        k->ca_key, 3, SYNTH_T2024, SYNTH_T2031, 0, k);
    k->tcb = synth_cert("Test SGX TCB Signing", k->tcb_key, k->root,
                        k->root_key, 4, SYNTH_T2020, SYNTH_T2031, 0, NULL);

    X509_digest(k->root, EVP_sha256(), k->root_sha256, &len);
}


/* make the PCK leaf again, e.g. after changing the TCB values */
static inline void
synth_pki_repck(synth_pki_t *k, long serial, time_t nb, time_t na)
{
    X509_free(k->pck);
    k->pck = synth_cert("Test SGX PCK Certificate", k->pck_key, k->ca,
                        k->ca_key, serial, nb, na, 0, k);
}


static inline void
synth_pki_free(synth_pki_t *k)
{
    X509_free(k->root);
    X509_free(k->ca);
    X509_free(k->pck);
    X509_free(k->tcb);
    EVP_PKEY_free(k->root_key);
    EVP_PKEY_free(k->ca_key);
    EVP_PKEY_free(k->pck_key);
    EVP_PKEY_free(k->tcb_key);
    EVP_PKEY_free(k->att_key);
}


/* ECDSA P-256 / SHA-256, raw big-endian r || s */
static inline void
synth_sign(EVP_PKEY *key, const uint8_t *m, size_t n, uint8_t sig[64])
{
    size_t          dl;
    uint8_t         der[80];
    EVP_MD_CTX     *md;
    ECDSA_SIG      *es;
    const BIGNUM   *r, *s;
    const uint8_t  *d;

    md = EVP_MD_CTX_new();
    dl = sizeof(der);
    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key);
    EVP_DigestSign(md, der, &dl, m, n);
    EVP_MD_CTX_free(md);

    d = der;
    es = d2i_ECDSA_SIG(NULL, &d, (long) dl);
    ECDSA_SIG_get0(es, &r, &s);
    BN_bn2binpad(r, sig, 32);
    BN_bn2binpad(s, sig + 32, 32);
    ECDSA_SIG_free(es);
}


static inline void
synth_le(uint8_t *p, uint32_t v, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t) (v >> (8 * i));
    }
}


static inline size_t
synth_pem(X509 **c, int k, uint8_t *out, size_t cap)
{
    BIO   *b;
    int    i;
    long   n;
    char  *d;

    b = BIO_new(BIO_s_mem());
    for (i = 0; i < k; i++) {
        PEM_write_bio_X509(b, c[i]);
    }
    n = BIO_get_mem_data(b, &d);
    if ((size_t) n > cap) {
        n = 0;
    }
    memcpy(out, d, n);
    BIO_free(b);
    return (size_t) n;
}


static inline void
synth_quote_defaults(synth_quote_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->version = 4;
    o->body_type = 2;
    memcpy(o->tee_tcb_svn, "\x05\x01\x03", 3);
    memset(o->mrtd, 0x7d, 48);
    memcpy(o->report_data, "synthetic report data", 21);
    o->qe_isvsvn = 8;
    o->qe_isvprodid = 2;
}


/* the quote into out (cap bytes); returns its length */
static inline size_t
synth_quote(const synth_pki_t *k, const synth_quote_opts_t *o, uint8_t *out,
    size_t cap)
{
    int            i;
    X509          *chain[3];
    size_t         off, body, sig, cert, pem, qe, len;
    uint8_t        pt[65], *b;
    EVP_MD_CTX    *h;
    unsigned int   mdl;

    static const uint8_t  vendor[16] = {
        0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
        0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07
    };
    static const uint8_t  td_qe_mrsigner[32] = {
        0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17,
        0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
        0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf,
        0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5
    };

    if (cap < 8192) {
        return 0;
    }

    memset(out, 0, cap);

    /* header */
    synth_le(out, (uint32_t) o->version, 2);
    synth_le(out + 2, 2, 2);
    synth_le(out + 4, 0x81, 4);
    memcpy(out + 12, vendor, 16);
    memcpy(out + 28, "confer synthetic", 16);
    off = 48;

    len = o->body_type == 3 ? 648 : 584;
    if (o->version == 5) {
        synth_le(out + off, (uint32_t) o->body_type, 2);
        synth_le(out + off + 2, (uint32_t) len, 4);
        off += 6;
    }

    /* TD quote body */
    body = off;
    b = out + body;
    memcpy(b, o->tee_tcb_svn, 16);
    memset(b + 0x10, 0x5e, 48);                         /* mrseam */
    memcpy(b + 0x40, o->mrsignerseam, 48);
    memcpy(b + 0x78, o->td_attributes, 8);
    memcpy(b + 0x80, "\xe7\x18\x06\x00\x00\x00\x00\x00", 8);   /* xfam */
    memcpy(b + 0x88, o->mrtd, 48);
    for (i = 0; i < 4; i++) {
        memset(b + 0x148 + 48 * i, 0xa0 + i, 48);
    }
    memcpy(b + 0x208, o->report_data, 64);
    if (o->body_type == 3) {
        memcpy(b + 0x248, o->tee_tcb_svn, 16);
    }
    off += len;

    /* signature data */
    sig = off;
    off += 4;
    len = 65;
    EVP_PKEY_get_octet_string_param(k->att_key, OSSL_PKEY_PARAM_PUB_KEY,
                                    pt, sizeof(pt), &len);
    memcpy(out + off + 64, pt + 1, 64);
    synth_le(out + off + 128, 6, 2);
    cert = off + 130;
    off += 134;

    /* QE report */
    qe = off;
    b = out + qe;
    memset(b, 0x02, 16);                                /* cpusvn */
    b[0x30] = 0x11;                                     /* attributes */
    memset(b + 0x40, 0xe4, 32);                         /* mrenclave */
    memcpy(b + 0x80, td_qe_mrsigner, 32);
    synth_le(b + 0x100, o->qe_isvprodid, 2);
    synth_le(b + 0x102, o->qe_isvsvn, 2);
    off += 384 + 64;

    synth_le(out + off, 32, 2);                         /* QE auth data */
    for (i = 0; i < 32; i++) {
        out[off + 2 + i] = (uint8_t) i;
    }

    h = EVP_MD_CTX_new();
    EVP_DigestInit_ex(h, EVP_sha256(), NULL);
    EVP_DigestUpdate(h, out + sig + 4 + 64, 64);
    EVP_DigestUpdate(h, out + off + 2, 32);
    EVP_DigestFinal_ex(h, b + 0x140, &mdl);
    EVP_MD_CTX_free(h);
    synth_sign(k->pck_key, b, 384, out + qe + 384);

    off += 2 + 32;

    /* PCK chain, PEM */
    chain[0] = k->pck;
    chain[1] = k->ca;
    chain[2] = k->root;
    synth_le(out + off, 5, 2);
    pem = synth_pem(chain, 3, out + off + 6, cap - off - 6 - 4096);
    if (o->pem_nul) {
        out[off + 6 + pem++] = '\0';
    }
    synth_le(out + off + 2, (uint32_t) pem, 4);
    off += 6 + pem;

    synth_le(out + cert, (uint32_t) (off - cert - 4), 4);
    synth_le(out + sig, (uint32_t) (off - sig - 4), 4);

    synth_sign(k->att_key, out, sig, out + sig + 4);

    return off + o->trailing;
}


/* a CRL by issuer (key ikey) listing the given serials */
static inline size_t
synth_crl(X509 *issuer, EVP_PKEY *ikey, const long *serials, int ns,
    time_t last, time_t next, uint8_t *out, size_t cap)
{
    int            i, n;
    X509_CRL      *crl;
    ASN1_TIME     *t;
    X509_REVOKED  *r;
    uint8_t       *p;

    crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
    t = ASN1_TIME_set(NULL, last);
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_set(t, next);
    X509_CRL_set1_nextUpdate(crl, t);

    for (i = 0; i < ns; i++) {
        r = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();
        ASN1_INTEGER_set(s, serials[i]);
        X509_REVOKED_set_serialNumber(r, s);
        ASN1_TIME_set(t, last);
        X509_REVOKED_set_revocationDate(r, t);
        X509_CRL_add0_revoked(crl, r);
        ASN1_INTEGER_free(s);
    }

    ASN1_TIME_free(t);
    X509_CRL_sort(crl);
    X509_CRL_sign(crl, ikey, EVP_sha256());

    n = i2d_X509_CRL(crl, NULL);
    if (n <= 0 || (size_t) n > cap) {
        X509_CRL_free(crl);
        return 0;
    }
    p = out;
    i2d_X509_CRL(crl, &p);
    X509_CRL_free(crl);
    return (size_t) n;
}


/* {"<key>":<body>,"signature":"<hex>"} signed by key; malloc'd */
static inline char *
synth_signed_json(EVP_PKEY *key, const char *name, const char *body)
{
    int      i;
    char    *doc;
    size_t   n;
    uint8_t  sig[64];

    synth_sign(key, (const uint8_t *) body, strlen(body), sig);

    n = strlen(body) + strlen(name) + 160;
    doc = malloc(n);
    i = snprintf(doc, n, "{\"%s\":%s,\"signature\":\"", name, body);
    for (n = 0; n < 64; n++) {
        i += sprintf(doc + i, "%02x", sig[n]);
    }
    sprintf(doc + i, "\"}");
    return doc;
}


static inline char *
synth_hex(const uint8_t *p, size_t n, char *out)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", p[i]);
    }
    out[2 * n] = '\0';
    return out;
}


/*
 * A TCB Info body for the PKI's FMSPC; levels is the text of the
 * "tcbLevels" array and modules of "tdxModuleIdentities" (or NULL).
 */
static inline char *
synth_tcb_info_body(const synth_pki_t *k, const char *modules,
    const char *levels)
{
    char    *b, fm[13];
    size_t   n;

    n = strlen(levels) + (modules ? strlen(modules) : 0) + 1024;
    b = malloc(n);
    snprintf(b, n,
        "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"2025-12-30T00:00:00Z\","
        "\"nextUpdate\":\"2026-01-29T00:00:00Z\",\"fmspc\":\"%s\","
        "\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":17,"
        "\"tdxModule\":{\"mrsigner\":\"%096d\",\"attributes\":"
        "\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"}"
        "%s%s,\"tcbLevels\":%s}",
        synth_hex(k->fmspc, 6, fm), 0,
        modules ? ",\"tdxModuleIdentities\":" : "", modules ? modules : "",
        levels);
    return b;
}


/* one tcbLevel: sgx components all "sgx", pcesvn, tdx[0..2] */
static inline int
synth_level(char *out, size_t cap, int sgx, int pcesvn, int t0, int t1,
    int t2, const char *status)
{
    int  i, n;

    n = snprintf(out, cap, "{\"tcb\":{\"sgxtcbcomponents\":[");
    for (i = 0; i < 16; i++) {
        n += snprintf(out + n, cap - n, "%s{\"svn\":%d}", i ? "," : "", sgx);
    }
    n += snprintf(out + n, cap - n, "],\"pcesvn\":%d,\"tdxtcbcomponents\":["
                  "{\"svn\":%d},{\"svn\":%d},{\"svn\":%d}", pcesvn, t0, t1,
                  t2);
    for (i = 3; i < 16; i++) {
        n += snprintf(out + n, cap - n, ",{\"svn\":0}");
    }
    n += snprintf(out + n, cap - n, "]},\"tcbDate\":\"2025-01-01T00:00:00Z\","
                  "\"tcbStatus\":\"%s\"}", status);
    return n;
}


static inline char *
synth_qe_identity_body(int isvprodid, const char *levels)
{
    char    *b;
    size_t   n;

    n = strlen(levels) + 1024;
    b = malloc(n);
    snprintf(b, n,
        "{\"id\":\"TD_QE\",\"version\":2,"
        "\"issueDate\":\"2025-12-30T00:00:00Z\","
        "\"nextUpdate\":\"2026-01-29T00:00:00Z\",\"tcbEvaluationDataNumber\":"
        "17,\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
        "\"attributes\":\"11000000000000000000000000000000\","
        "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
        "\"mrsigner\":\"DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340"
        "C82E0E54A8C5\",\"isvprodid\":%d,\"tcbLevels\":%s}",
        isvprodid, levels);
    return b;
}


/* the TCB signing chain (signing certificate, root), PEM; malloc'd */
static inline char *
synth_tcb_chain(const synth_pki_t *k, size_t *n)
{
    X509     *c[2];
    uint8_t  *out;

    out = malloc(8192);
    c[0] = k->tcb;
    c[1] = k->root;
    *n = synth_pem(c, 2, out, 8192);
    return (char *) out;
}

#endif /* CONFER_TDX_SYNTH_H */
