/*
 * Real Intel PCS collateral (shared/vectors/tdx): the TCB evaluation
 * table of ATTESTATION-VECTORS.md section 3 reproduced, the collateral
 * signatures, expiry, the TCB signing certificate re-issue and the CRLs.
 */

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tdx_test.h"


typedef struct {
    uint8_t   *p;
    size_t     n;
} blob_t;

static blob_t
load(const char *name)
{
    blob_t  b;

    b.p = tdx_vec(name, &b.n);
    if (b.p == NULL) {
        b.n = 0;
    }
    return b;
}


static attest_tdx_collateral_t
col_of(blob_t ti, blob_t qi, blob_t chain, blob_t pck_crl, blob_t root_crl)
{
    attest_tdx_collateral_t  c;

    c.tcb_info = ti.p;
    c.tcb_info_len = ti.n;
    c.qe_identity = qi.p;
    c.qe_identity_len = qi.n;
    c.tcb_signing_chain = chain.p;
    c.tcb_signing_chain_len = chain.n;
    c.pck_crl = pck_crl.p;
    c.pck_crl_len = pck_crl.n;
    c.root_crl = root_crl.p;
    c.root_crl_len = root_crl.n;
    return c;
}


/* one row of the table: verify at now, then the evaluation columns */
typedef struct {
    const char               *quote;
    const char               *tcb_info;
    const char               *now;
    attest_err_t              want;
    const char               *overall;
    attest_tdx_tcb_status_t   platform;
    attest_tdx_tcb_status_t   module;
} tcb_row_t;

static const blob_t  none = { NULL, 0 };

static void
check_row(const tcb_row_t *r, blob_t qe, blob_t chain)
{
    blob_t                    q, ti;
    attest_err_t              rc;
    attest_evidence_t         ev;
    attest_tdx_pck_t          pck;
    attest_tdx_quote_t        pq;
    attest_tdx_tcb_info_t     tinfo;
    attest_tdx_qe_identity_t  qinfo;
    attest_tdx_tcb_result_t   res;
    attest_tdx_collateral_t   c;

    q = load(r->quote);
    ti = load(r->tcb_info);
    if (q.p == NULL || ti.p == NULL) {
        ok(0, "%s and %s are readable", r->quote, r->tcb_info);
        free(q.p);
        free(ti.p);
        return;
    }

    if (r->now != NULL) {
        c = col_of(ti, qe, chain, none, none);
        rc = attest_tdx_verify(q.p, q.n, &c, tdx_t(r->now), &ev);
        is_err(rc, r->want, "%s with %s at %s: %s", r->quote, r->tcb_info,
               r->now, attest_strerror(r->want));
        ok(strcmp(ev.tcb_status, r->overall) == 0,
           "  tcb_status \"%s\" (got \"%s\")", r->overall, ev.tcb_status);
        ok(strcmp(ev.qe_tcb_status, "UpToDate") == 0,
           "  qe_tcb_status UpToDate (got \"%s\")", ev.qe_tcb_status);
    }

    /* the evaluation alone: platform and TDX module columns */
    if (attest_tdx_parse(q.p, q.n, &pq) != ATTEST_OK
        || attest_tdx_quote_pck(&pq, &pck) != ATTEST_OK
        || attest_tdx_tcb_info_parse(ti.p, ti.n, &tinfo) != ATTEST_OK
        || attest_tdx_qe_identity_parse(qe.p, qe.n, &qinfo) != ATTEST_OK)
    {
        ok(0, "%s, %s and the QE identity parse", r->quote, r->tcb_info);

    } else {
        rc = attest_tdx_evaluate(&pq, &pck, &tinfo, &qinfo, &res);
        is_err(rc, r->want, "  evaluation alone: %s",
               attest_strerror(r->want));
        is_int(res.platform, r->platform, "  platform level %s",
               attest_tdx_tcb_status_name(r->platform));
        is_int(res.module, r->module, "  TDX module level %s",
               r->module ? attest_tdx_tcb_status_name(r->module)
                         : "n/a (tee_tcb_svn[1] = 0)");
        is_int(res.qe, ATTEST_TDX_TCB_UP_TO_DATE, "  QE level UpToDate");
    }

    free(q.p);
    free(ti.p);
}


/*
 * ATTESTATION-VECTORS.md 3.2, "TCB evaluation".  The QE Identity is
 * trustee's (2025-10-28 to 11-27), the TCB Infos teekit's (2025-09-29 to
 * 10-29): both are current on 2025-10-28T12:00Z.  The v5 sample's PCK is
 * from 2026-01-27, after teekit's collateral expired: that row is the
 * evaluation alone (and tinfoil's collateral is checked in full below).
 */
#define NOW  "2025-10-28T12:00:00Z"
#define UTD  ATTEST_TDX_TCB_UP_TO_DATE
#define OOD  ATTEST_TDX_TCB_OUT_OF_DATE

static const tcb_row_t  rows[] = {
    { "gotdxguest_ccel_cos-113-tdx-quote.dat",
      "teekit_tcbInfo-tdx-00806f050000.json", NOW, ATTEST_OK, "UpToDate",
      UTD, UTD },
    { "teekit_tdx-v4-azure.bin",
      "teekit_tcbInfo-tdx-00806f050000.json", NOW, ATTEST_OK, "UpToDate",
      UTD, UTD },
    { "trustee_azure_td-quote.bin",
      "teekit_tcbInfo-tdx-00806f050000.json", NOW, ATTEST_OK, "OutOfDate",
      OOD, OOD },
    { "teekit_tdx-v4-edgeless.dat",
      "teekit_tcbInfo-tdx-00806f050000.json", NOW, ATTEST_OK, "OutOfDate",
      OOD, 0 },
    { "trustee_tdx_quote_4.dat",
      "teekit_tcbInfo-tdx-50806f000000.json", NOW, ATTEST_OK, "OutOfDate",
      OOD, 0 },
    { "gotdxguest_quote_v5_sample.dat",
      "teekit_tcbInfo-tdx-90c06f000000.json", NULL, ATTEST_OK, "UpToDate",
      UTD, UTD },
    { "gotdxguest_tdx_prod_quote_SPR_E4.dat",
      "teekit_tcbInfo-tdx-50806f000000.json", NOW, ATTEST_ERR_TCB_NO_MATCH,
      "", 0, 0 },
    { "teekit_tdx-v4-moemahhouk.dat",
      "teekit_tcbInfo-tdx-90c06f000000.json", NOW, ATTEST_ERR_TCB_NO_MATCH,
      "", 0, 0 },
    { "teekit_tdx-v4-tappd.bin",
      "teekit_tcbInfo-tdx-b0c06f000000.json", NOW, ATTEST_ERR_TCB_NO_MATCH,
      "", 0, 0 },
};


static blob_t
crl_to_pem(blob_t der)
{
    BIO                  *b;
    long                  n;
    char                 *d;
    blob_t                out;
    X509_CRL             *crl;
    const unsigned char  *p;

    out.p = NULL;
    out.n = 0;
    p = der.p;
    crl = d2i_X509_CRL(NULL, &p, (long) der.n);
    b = BIO_new(BIO_s_mem());
    if (crl != NULL && PEM_write_bio_X509_CRL(b, crl) == 1) {
        n = BIO_get_mem_data(b, &d);
        out.p = malloc(n);
        memcpy(out.p, d, n);
        out.n = (size_t) n;
    }
    BIO_free(b);
    X509_CRL_free(crl);
    return out;
}


static attest_err_t
verify(blob_t q, attest_tdx_collateral_t c, const char *now,
    attest_evidence_t *ev)
{
    return attest_tdx_verify(q.p, q.n, &c, tdx_t(now), ev);
}


int
main(void)
{
    size_t                    i;
    blob_t                    qe, qe23, qe26, old, new, url, pchain, tf_ti;
    blob_t                    v5, spr, cos, ti23, ti_cos, pcrl23, rcrl23;
    blob_t                    pcrl26, proc26, rcrl26, pem, bad, v5ti;
    attest_err_t              rc;
    attest_evidence_t         ev;
    attest_tdx_tcb_info_t     tinfo;
    attest_tdx_collateral_t   c;

    tdx_need_vectors();

    qe = load("trustee_enclaveIdentity.json");
    qe23 = load("gotdxguest_sample_qeIdentity_response");
    qe26 = load("tinfoil_qe_identity.json");
    old = load("intel_tcb_signing_chain_2018-2025.pem");
    new = load("intel_tcb_signing_chain_2025-2032.pem");
    url = load("tinfoil_tcb_info_issuer_chain_urlencoded.txt");
    pchain = load("intel_pck_platform_ca_chain.pem");
    tf_ti = load("tinfoil_tcb_info_90c06f000000.json");
    v5ti = load("gotdxguest_sample_tcbinfo_response_v5");
    ti23 = load("gotdxguest_sample_tcbInfo_response");
    ti_cos = load("teekit_tcbInfo-tdx-00806f050000.json");
    v5 = load("gotdxguest_quote_v5_sample.dat");
    spr = load("gotdxguest_tdx_prod_quote_SPR_E4.dat");
    cos = load("gotdxguest_ccel_cos-113-tdx-quote.dat");
    pcrl23 = load("gotdxguest_pckcrl");
    rcrl23 = load("gotdxguest_rootcrl.der");
    pcrl26 = load("tinfoil_pck_crl_platform.crl");
    proc26 = load("tinfoil_pck_crl_processor.crl");
    rcrl26 = load("tinfoil_root_ca.crl");

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        check_row(&rows[i], qe, new);
    }

    /* collateral parses to what the files say */
    rc = attest_tdx_tcb_info_parse(ti_cos.p, ti_cos.n, &tinfo);
    is_err(rc, ATTEST_OK, "teekit 00806f050000 TCB Info parses");
    is_int(tinfo.nlevels, 4, "  4 TCB levels");
    is_int(tinfo.nmodules, 2, "  2 TDX module identities");
    ok(strcmp(tinfo.modules[1].id, "TDX_01") == 0, "  the second is TDX_01");
    is_int(tinfo.eval_num, 17, "  tcbEvaluationDataNumber 17");
    is_int(tinfo.next_update, tdx_t("2025-10-29T18:04:58Z"),
           "  nextUpdate 2025-10-29T18:04:58Z");
    ok(tinfo.body_len > 0 && tinfo.body[0] == '{'
       && memcmp(tinfo.body, "{\"id\":\"TDX\"", 11) == 0,
       "  the signed body is the inner object's text");
    rc = attest_tdx_tcb_info_parse(ti23.p, ti23.n, &tinfo);
    is_err(rc, ATTEST_OK, "go-tdx-guest 2023 TCB Info (no module "
           "identities) parses");
    is_int(tinfo.nmodules, 0, "  with no module identities");

    /* v5 sample, tinfoil's full collateral: CRLs and URL-encoded chain */
    c = col_of(tf_ti, qe26, url, pcrl26, rcrl26);
    rc = verify(v5, c, "2026-02-03T00:00:00Z", &ev);
    is_err(rc, ATTEST_OK, "v5 sample with tinfoil's collateral and CRLs, "
           "URL-encoded signing chain");
    ok(strcmp(ev.tcb_status, "UpToDate") == 0, "  tcb_status UpToDate");
    ok(strcmp(ev.qe_tcb_status, "UpToDate") == 0, "  qe_tcb_status UpToDate");
    is_int(ev.collateral_not_after, tdx_t("2026-02-11T15:46:45Z"),
           "  collateral_not_after is the TCB Info's nextUpdate");
    is_int(ev.chain_not_after, tdx_t("2032-05-06T09:25:00Z"),
           "  chain_not_after includes the TCB signing cert");
    c = col_of(v5ti, qe26, new, none, none);
    rc = verify(v5, c, "2026-02-03T00:00:00Z", &ev);
    is_err(rc, ATTEST_OK, "v5 sample with go-tdx-guest's v5 TCB Info");
    ok(strcmp(ev.tcb_status, "UpToDate") == 0, "  tcb_status UpToDate");

    /* SPR_E4 in 2023 with go-tdx-guest's collateral and CRLs */
    c = col_of(ti23, qe23, old, pcrl23, rcrl23);
    rc = verify(spr, c, "2023-06-19T00:00:00Z", &ev);
    is_err(rc, ATTEST_ERR_TCB_NO_MATCH, "SPR_E4 with go-tdx-guest's TCB "
           "Info: below every level (TestVerifyUsingTcbInfoV4)");
    ok(strcmp(ev.qe_tcb_status, "UpToDate") == 0, "  its QE is UpToDate");
    c = col_of(none, qe23, old, pcrl23, rcrl23);
    rc = verify(spr, c, "2023-06-19T00:00:00Z", &ev);
    is_err(rc, ATTEST_OK, "SPR_E4 with QE Identity and CRLs only");
    is_int(ev.tcb_status[0], 0, "  no platform status without TCB Info");
    is_int(ev.collateral_not_after, tdx_t("2023-07-08T07:24:59Z"),
           "  collateral_not_after is the earliest nextUpdate");

    /* the TCB signing certificate re-issue: same key, pin the root */
    c = col_of(ti_cos, qe, old, none, none);
    rc = verify(cos, c, "2025-05-10T00:00:00Z", &ev);
    is_err(rc, ATTEST_OK, "2025 collateral verifies with the 2018-2025 "
           "TCB signing cert (same key) while it is valid");
    c = col_of(ti_cos, qe, new, none, none);
    rc = verify(cos, c, "2025-05-10T00:00:00Z", &ev);
    is_err(rc, ATTEST_OK, "and with the re-issued 2025-2032 cert");
    c = col_of(ti_cos, qe, old, none, none);
    rc = verify(cos, c, NOW, &ev);
    is_err(rc, ATTEST_ERR_CERT_EXPIRED, "the 2018-2025 cert after "
           "2025-05-21: certificate_expired");
    c = col_of(ti23, qe23, new, none, none);
    rc = verify(spr, c, "2023-06-19T00:00:00Z", &ev);
    is_err(rc, ATTEST_ERR_CERT_EXPIRED, "the 2025-2032 cert in 2023: "
           "not yet valid");

    /* expiry of the collateral itself */
    c = col_of(ti_cos, none, new, none, none);
    rc = verify(cos, c, "2025-10-29T18:04:59Z", &ev);
    is_err(rc, ATTEST_ERR_COLLATERAL_EXPIRED, "TCB Info one second past "
           "nextUpdate: collateral_expired");
    rc = verify(cos, c, "2025-10-29T18:04:58Z", &ev);
    is_err(rc, ATTEST_OK, "at nextUpdate itself it is still current");
    c = col_of(none, qe, new, none, none);
    rc = verify(cos, c, "2025-11-28T00:00:00Z", &ev);
    is_err(rc, ATTEST_ERR_COLLATERAL_EXPIRED, "QE Identity past "
           "nextUpdate: collateral_expired");
    c = col_of(none, none, none, pcrl23, none);
    rc = verify(spr, c, "2023-07-09T00:00:00Z", &ev);
    is_err(rc, ATTEST_ERR_COLLATERAL_EXPIRED, "PCK CRL past nextUpdate: "
           "collateral_expired");

    /* the wrong collateral */
    c = col_of(ti23, none, old, none, none);
    rc = verify(cos, c, "2023-06-19T00:00:00Z", &ev);
    ok(rc != ATTEST_OK, "cos-113 PCK did not exist in 2023 (%s)",
       attest_strerror(rc));
    c = col_of(load("teekit_tcbInfo-tdx-50806f000000.json"), none, new, none,
               none);
    rc = verify(cos, c, NOW, &ev);
    is_err(rc, ATTEST_ERR_COLLATERAL, "TCB Info of another FMSPC: "
           "bad_collateral");
    free((void *) c.tcb_info);
    c = col_of(qe, none, new, none, none);
    rc = verify(cos, c, NOW, &ev);
    is_err(rc, ATTEST_ERR_COLLATERAL, "a QE Identity given as TCB Info: "
           "bad_collateral");
    c = col_of(ti_cos, qe, none, none, none);
    rc = verify(cos, c, NOW, &ev);
    is_err(rc, ATTEST_ERR_NO_CERT, "collateral without its signing chain: "
           "missing_certificate");
    c = col_of(ti_cos, qe, pchain, none, none);
    rc = verify(cos, c, NOW, &ev);
    is_err(rc, ATTEST_ERR_COLLATERAL, "signed by another Intel key (the PCK "
           "Platform CA chain): bad_collateral");

    /* one changed byte inside the signed text */
    bad.n = ti_cos.n;
    bad.p = malloc(bad.n);
    memcpy(bad.p, ti_cos.p, bad.n);
    for (i = 0; i + 8 < bad.n; i++) {
        if (memcmp(bad.p + i, "\"svn\":7,", 8) == 0) {
            bad.p[i + 6] = '8';
            break;
        }
    }
    c = col_of(bad, qe, new, none, none);
    rc = verify(cos, c, NOW, &ev);
    is_err(rc, ATTEST_ERR_COLLATERAL, "an SVN edited in the TCB Info: "
           "bad_collateral (signature)");
    memcpy(bad.p, ti_cos.p, bad.n);
    bad.p[bad.n - 10] ^= 0x01;
    rc = verify(cos, c, NOW, &ev);
    ok(rc == ATTEST_ERR_COLLATERAL, "a flipped signature bit: "
       "bad_collateral (got %s)", attest_strerror(rc));
    free(bad.p);

    /* CRLs: PEM too, the other CA's, a broken one */
    pem = crl_to_pem(rcrl26);
    c = col_of(none, none, none, pcrl26, pem);
    rc = verify(v5, c, "2026-02-03T00:00:00Z", &ev);
    is_err(rc, ATTEST_OK, "a PEM root CRL is accepted");
    free(pem.p);
    c = col_of(none, none, none, proc26, none);
    rc = verify(v5, c, "2026-02-03T00:00:00Z", &ev);
    is_err(rc, ATTEST_ERR_CRL, "the Processor CA's CRL for a Platform CA "
           "chain: bad_crl");
    c = col_of(none, none, none, rcrl26, none);
    rc = verify(v5, c, "2026-02-03T00:00:00Z", &ev);
    is_err(rc, ATTEST_ERR_CRL, "the root CRL given as PCK CRL: bad_crl");
    bad.n = pcrl26.n;
    bad.p = malloc(bad.n);
    memcpy(bad.p, pcrl26.p, bad.n);
    bad.p[bad.n - 5] ^= 0x40;
    c = col_of(none, none, none, bad, none);
    rc = verify(v5, c, "2026-02-03T00:00:00Z", &ev);
    is_err(rc, ATTEST_ERR_CRL, "a PCK CRL with a changed signature: bad_crl");
    bad.p[bad.n - 5] ^= 0x40;
    bad.p[200] ^= 0x01;
    rc = verify(v5, c, "2026-02-03T00:00:00Z", &ev);
    ok(rc == ATTEST_ERR_CRL, "a PCK CRL with a changed serial: bad_crl "
       "(got %s)", attest_strerror(rc));
    bad.n = 17;
    rc = verify(v5, c, "2026-02-03T00:00:00Z", &ev);
    is_err(rc, ATTEST_ERR_CRL, "a truncated CRL: bad_crl");
    free(bad.p);

    free(qe.p);
    free(qe23.p);
    free(qe26.p);
    free(old.p);
    free(new.p);
    free(url.p);
    free(pchain.p);
    free(tf_ti.p);
    free(v5ti.p);
    free(ti23.p);
    free(ti_cos.p);
    free(v5.p);
    free(spr.p);
    free(cos.p);
    free(pcrl23.p);
    free(rcrl23.p);
    free(pcrl26.p);
    free(proc26.p);
    free(rcrl26.p);

    return done_testing();
}
