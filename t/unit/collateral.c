/*
 * Documents carry their collateral, and attest_verify_document() verifies
 * everything from the document alone: the root's CRL of an SNP (here
 * simulated) chain, whose nextUpdate bounds the verdict's valid_until, and
 * a real TDX quote with Intel's collateral, which verifies and then fails
 * on report_data (a real quote cannot bind our keys).
 */

#define _GNU_SOURCE          /* memmem */

#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tap.h"
#include "attest.h"
#include "attest_int.h"


static const uint8_t  keys[] = {
    0x01, 0x00, 0x20, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
    0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11,
    0x00, 0x04, 0x00, 0x01, 0x00, 0x01
};


static int
is_err(attest_err_t got, attest_err_t want, const char *what,
    const char *detail)
{
    int  pass;

    pass = ok(got == want, "%s: %s", what, attest_strerror(want));
    if (!pass) {
        diag("got %s (%s)", attest_strerror(got), detail ? detail : "");
    }
    return pass;
}


static void *
read_pem(const char *dir, const char *name, int key)
{
    char   path[512];
    FILE  *f;
    void  *p;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    p = key ? (void *) PEM_read_PrivateKey(f, NULL, NULL, NULL)
            : (void *) PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return p;
}


/* RFC 5280, 5.1: a CRL by issuer, optionally listing one serial */
static uint8_t *
make_crl(X509 *issuer, EVP_PKEY *key, time_t next, X509 *revoke,
    size_t *n)
{
    int            len;
    X509_CRL      *crl;
    ASN1_TIME     *t;
    X509_REVOKED  *rev;
    unsigned char *der;

    crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
    t = ASN1_TIME_set(NULL, next - 7200);
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_set(t, next);
    X509_CRL_set1_nextUpdate(crl, t);
    ASN1_TIME_free(t);

    if (revoke != NULL) {
        rev = X509_REVOKED_new();
        X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(revoke));
        t = ASN1_TIME_set(NULL, next - 3600);
        X509_REVOKED_set_revocationDate(rev, t);
        ASN1_TIME_free(t);
        X509_CRL_add0_revoked(crl, rev);
    }

    X509_CRL_sort(crl);
    X509_CRL_sign(crl, key, EVP_sha384());

    der = NULL;
    len = i2d_X509_CRL(crl, &der);
    X509_CRL_free(crl);
    *n = len > 0 ? (size_t) len : 0;
    return der;
}


/* the parsed document again, with root_crl */
static size_t
with_crl(const attest_doc_parsed_t *d, const uint8_t *crl, size_t crl_n,
    uint8_t *out, size_t cap)
{
    size_t        len;
    attest_doc_t  doc;

    memset(&doc, 0, sizeof(doc));
    doc.platform = d->platform;
    doc.not_after = d->not_after;
    doc.ohttp_keys = d->ohttp_keys;
    doc.evidence = d->evidence;
    doc.certs = d->certs;
    doc.ncerts = d->ncerts;
    doc.root_crl.p = crl;
    doc.root_crl.n = crl_n;

    len = 0;
    return attest_doc_build(&doc, out, cap, &len) == ATTEST_OK ? len : 0;
}


static void
simulated(void)
{
    char                 dir[64], msg[256], pol_text[512], hex[65];
    size_t               n, len, crl_n, i;
    time_t               now, next;
    uint8_t              fp[32], *crl, *out;
    X509                *root, *leaf;
    EVP_PKEY            *root_key, *leaf_key;
    attest_err_t         rc;
    attest_sim_t        *sim;
    unsigned int         fplen;
    attest_policy_t     *pol;
    attest_verdict_t     v;
    attest_doc_parsed_t  d;

    snprintf(dir, sizeof(dir), "/tmp/confer-col-XXXXXX");
    if (mkdtemp(dir) == NULL
        || attest_sim_init(dir, msg, sizeof(msg)) != ATTEST_OK
        || attest_sim_load(dir, &sim, msg, sizeof(msg)) != ATTEST_OK)
    {
        ok(0, "a simulated platform: %s", msg);
        return;
    }

    root = read_pem(dir, "sim-root.pem", 0);
    leaf = read_pem(dir, "sim-vcek.pem", 0);
    root_key = read_pem(dir, "sim-root.key", 1);
    leaf_key = read_pem(dir, "sim-vcek.key", 1);

    fplen = 32;
    X509_digest(root, EVP_sha256(), fp, &fplen);
    for (i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", fp[i]);
    }
    snprintf(pol_text, sizeof(pol_text), "{\"allow_simulated\":true,"
             "\"simulated_root\":\"sha256:%s\"}", hex);
    attest_policy_parse((uint8_t *) pol_text, strlen(pol_text), NULL, &pol,
                        NULL, 0);

    now = time(NULL);
    out = malloc(65536);

    attest_sim_document(sim, keys, sizeof(keys), now + 3600, out, 65536,
                        &len);
    attest_sim_free(sim);
    attest_doc_parse(out, len, &d, NULL, 0);

    rc = attest_verify_document(out, len, pol, now, &v);
    is_err(rc, ATTEST_OK, "a simulated document without a CRL", v.detail);
    is_int(v.valid_until, now + 3600, "  valid until its not_after");
    is_int(v.ev.collateral_not_after, 0, "  no collateral");

    /* the root's CRL, current, listing nobody: valid_until is its
     * nextUpdate, before the document's not_after */
    next = now + 600;
    crl = make_crl(root, root_key, next, NULL, &crl_n);
    n = with_crl(&d, crl, crl_n, out + 32768, 32768);
    ok(n > 0 && memmem(out + 32768, n, "\"collateral\":{\"root_crl\":", 25)
       != NULL, "the document carries the CRL as collateral.root_crl");
    rc = attest_verify_document(out + 32768, n, pol, now, &v);
    is_err(rc, ATTEST_OK, "with the root's CRL", v.detail);
    is_int(v.ev.collateral_not_after, next,
           "  collateral_not_after is the CRL's nextUpdate");
    is_int(v.valid_until, next,
           "  valid_until honours collateral_not_after");
    ok(strstr(v.detail, "verified") != NULL, "  detail: %s", v.detail);
    OPENSSL_free(crl);

    /* the same CRL after its nextUpdate (the document still valid) */
    crl = make_crl(root, root_key, now - 60, NULL, &crl_n);
    n = with_crl(&d, crl, crl_n, out + 32768, 32768);
    rc = attest_verify_document(out + 32768, n, pol, now, &v);
    is_err(rc, ATTEST_ERR_COLLATERAL_EXPIRED, "a CRL past its nextUpdate",
           v.detail);
    OPENSSL_free(crl);

    /* a CRL listing the leaf */
    crl = make_crl(root, root_key, next, leaf, &crl_n);
    n = with_crl(&d, crl, crl_n, out + 32768, 32768);
    rc = attest_verify_document(out + 32768, n, pol, now, &v);
    is_err(rc, ATTEST_ERR_REVOKED, "a CRL listing the leaf", v.detail);
    ok(v.ohttp_keys_len == 0 && v.valid_until == 0,
       "  nothing usable in the verdict");
    OPENSSL_free(crl);

    /* a CRL in the root's name, signed by the leaf's key */
    crl = make_crl(root, leaf_key, next, NULL, &crl_n);
    n = with_crl(&d, crl, crl_n, out + 32768, 32768);
    rc = attest_verify_document(out + 32768, n, pol, now, &v);
    is_err(rc, ATTEST_ERR_CRL, "a CRL the root did not sign", v.detail);
    OPENSSL_free(crl);

    /* not a CRL at all */
    n = with_crl(&d, (const uint8_t *) "not a CRL", 9, out + 32768, 32768);
    rc = attest_verify_document(out + 32768, n, pol, now, &v);
    is_err(rc, ATTEST_ERR_CRL, "garbage as root_crl", v.detail);

    attest_doc_parsed_free(&d);
    attest_policy_free(pol);
    X509_free(root);
    X509_free(leaf);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(leaf_key);
    free(out);

    snprintf(pol_text, sizeof(pol_text), "rm -rf %s", dir);
    if (system(pol_text) != 0) {
        diag("could not remove %s", dir);
    }
}


static uint8_t *
vec(const char *sub, const char *name, size_t *n)
{
    char  path[1024];

    snprintf(path, sizeof(path), "%s/%s/%s", tap_vectors_dir(), sub, name);
    return tap_slurp(path, n);
}


/* "2026-02-03" midnight UTC */
static time_t
day(int y, int m, int d)
{
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    return timegm(&tm);
}


static void
real_snp_crl(void)
{
    size_t            n, len;
    uint8_t          *report, *vcek, *ask_ark, *crl, *out;
    attest_err_t      rc;
    attest_blob_t     certs[2];
    attest_doc_t      doc;
    attest_verdict_t  v;

    report = vec("sev-snp", "mstav_milan_report_v3.bin", &n);
    vcek = vec("sev-snp", "mstav_milan_vcek.pem", &certs[0].n);
    ask_ark = vec("sev-snp", "amd_ask_ark_milan.pem", &certs[1].n);
    crl = vec("tdx", "tinfoil_root_ca.crl", &len);

    if (report == NULL || vcek == NULL || ask_ark == NULL || crl == NULL) {
        diag("SKIP real SNP with a CRL: vectors absent");
        free(report);
        free(vcek);
        free(ask_ark);
        free(crl);
        return;
    }

    certs[0].p = vcek;
    certs[1].p = ask_ark;

    memset(&doc, 0, sizeof(doc));
    doc.platform = ATTEST_PLATFORM_SEV_SNP;
    doc.not_after = day(2027, 1, 1);
    doc.ohttp_keys.p = keys;
    doc.ohttp_keys.n = sizeof(keys);
    doc.evidence.p = report;
    doc.evidence.n = n;
    doc.certs = certs;
    doc.ncerts = 2;
    doc.root_crl.p = crl;
    doc.root_crl.n = len;

    out = malloc(65536);

    /* Intel's root CRL in place of the ARK's: refused before the
     * binding, so the CRL is checked against the ARK */
    rc = attest_doc_build(&doc, out, 65536, &len);
    rc = rc == ATTEST_OK ? attest_verify_document(out, len, NULL,
                                                  day(2026, 6, 1), &v)
                         : rc;
    is_err(rc, ATTEST_ERR_CRL, "a real SNP document with a CRL the ARK "
           "did not sign", v.detail);

    doc.root_crl.n = 0;
    rc = attest_doc_build(&doc, out, 65536, &len);
    rc = rc == ATTEST_OK ? attest_verify_document(out, len, NULL,
                                                  day(2026, 6, 1), &v)
                         : rc;
    is_err(rc, ATTEST_ERR_BINDING, "and without it: verified, then the "
           "binding", v.detail);

    /* TDX collateral in an SNP document */
    doc.tcb_info.p = crl;
    doc.tcb_info.n = 8;
    is_int(attest_doc_build(&doc, out, 65536, &len), ATTEST_ERR_INPUT,
           "attest_doc_build refuses TDX collateral for SEV-SNP");

    free(out);
    free(report);
    free(vcek);
    free(ask_ark);
    free(crl);
}


static void
real_tdx(void)
{
    size_t             i, len;
    uint8_t           *f[6], *out;
    attest_err_t       rc;
    attest_doc_t       doc;
    attest_verdict_t   v;
    static const char *names[6] = {
        "gotdxguest_quote_v5_sample.dat", "tinfoil_tcb_info_90c06f000000.json",
        "tinfoil_qe_identity.json",
        "tinfoil_tcb_info_issuer_chain_urlencoded.txt",
        "tinfoil_pck_crl_platform.crl", "tinfoil_root_ca.crl"
    };
    attest_blob_t     *b[6];

    memset(&doc, 0, sizeof(doc));
    b[0] = &doc.evidence;
    b[1] = &doc.tcb_info;
    b[2] = &doc.qe_identity;
    b[3] = &doc.tcb_signing_chain;
    b[4] = &doc.pck_crl;
    b[5] = &doc.root_crl;

    for (i = 0; i < 6; i++) {
        f[i] = vec("tdx", names[i], &b[i]->n);
        b[i]->p = f[i];

        if (f[i] == NULL) {
            diag("SKIP the TDX document: no %s", names[i]);
            while (i-- > 0) {
                free(f[i]);
            }
            return;
        }
    }

    doc.platform = ATTEST_PLATFORM_TDX;
    doc.not_after = day(2026, 3, 1);
    doc.ohttp_keys.p = keys;
    doc.ohttp_keys.n = sizeof(keys);

    out = malloc(1 << 20);

    rc = attest_doc_build(&doc, out, 1 << 20, &len);
    is_err(rc, ATTEST_OK, "a TDX document with the quote and all five "
           "collateral members", NULL);

    /* the quote, its PCK chain, both CRLs, TCB Info and QE Identity
     * verify; then the quote's report_data is not our binding */
    rc = attest_verify_document(out, len, NULL, day(2026, 2, 3), &v);
    is_err(rc, ATTEST_ERR_BINDING, "the real TDX quote with its collateral, "
           "from the document alone", v.detail);
    ok(v.ohttp_keys_len == 0, "  no keys from it");

    /* each part is really checked: a damaged quote, damaged collateral,
     * collateral past its nextUpdate */
    f[0][0x40] ^= 1;
    attest_doc_build(&doc, out, 1 << 20, &len);
    rc = attest_verify_document(out, len, NULL, day(2026, 2, 3), &v);
    is_err(rc, ATTEST_ERR_SIGNATURE, "  a flipped bit in the quote body",
           v.detail);
    f[0][0x40] ^= 1;

    for (i = 0; i + 20 < doc.tcb_info.n; i++) {
        if (memcmp(f[1] + i, "\"tcbEvaluationDataNumber\":", 26) == 0) {
            f[1][i + 26] = f[1][i + 26] == '9' ? '8' : f[1][i + 26] + 1;
            break;
        }
    }
    attest_doc_build(&doc, out, 1 << 20, &len);
    rc = attest_verify_document(out, len, NULL, day(2026, 2, 3), &v);
    is_err(rc, ATTEST_ERR_COLLATERAL, "  an edited TCB Info", v.detail);
    free(f[1]);
    f[1] = vec("tdx", names[1], &doc.tcb_info.n);
    doc.tcb_info.p = f[1];

    attest_doc_build(&doc, out, 1 << 20, &len);
    rc = attest_verify_document(out, len, NULL, day(2026, 2, 20), &v);
    is_err(rc, ATTEST_ERR_COLLATERAL_EXPIRED, "  in 2026-02-20, past the "
           "TCB Info's nextUpdate", v.detail);

    for (i = 0; i < 6; i++) {
        free(f[i]);
    }
    free(out);
}


int
main(void)
{
    attest_verdict_t  v;
    static const char  json[] = "{\"version\":1,\"platform\":\"sev-snp\","
        "\"ohttp_keys\":\"AQ==\",\"not_after\":1800000000,"
        "\"evidence\":\"AQ==\",\"collateral\":{\"tcb_info\":\"e30=\"}}";

    is_err(attest_verify_document((const uint8_t *) json, strlen(json), NULL,
                                  1700000000, &v),
           ATTEST_ERR_DOCUMENT, "an SNP document with TDX collateral",
           v.detail);

    simulated();
    real_snp_crl();
    real_tdx();

    attest_cleanup();
    return done_testing();
}
