/*
 * The price of TDX verification, as ratios measured in one process run
 * (make build/bench/tdx_bench; run it without arguments):
 *
 *   - attest_tdx_verify() of one quote with its PCK chain, against the
 *     signature checks any verifier must make for it, done directly with
 *     OpenSSL on keys parsed beforehand: the quote (attestation key), the
 *     QE report (PCK), the PCK (by its CA) and the CA (by the pinned
 *     root);
 *   - the same with the collateral (TCB Info, QE Identity, TCB signing
 *     chain, PCK and root CRLs), against those four plus the TCB signing
 *     certificate, the two collateral signatures and the two CRLs.
 *
 * The quote is go-tdx-guest's v5 sample with tinfoil's collateral when
 * the vectors are there ($CONFER_VECTORS or ../shared/vectors), else a
 * synthetic one (t/unit/tdx_synth.h).  Baseline and our code alternate
 * call by call; each figure is the median ratio of the repetitions.
 * Prints one JSON object per line.
 */

#include "../unit/tdx_synth.h"
#include "bench.h"


#define REPS  15


typedef struct {
    const char               *what;
    uint8_t                  *quote;
    size_t                    n;
    attest_tdx_collateral_t   col;
    time_t                    now;
    const uint8_t            *root_sha256;

    /* for the baseline, parsed once */
    EVP_PKEY                 *att_key;
    X509                     *leaf, *ca, *root, *tcb;
    X509_CRL                 *pck_crl, *root_crl;
    uint8_t                   qsig[80], qesig[80], tisig[80], qisig[80];
    size_t                    qsig_n, qesig_n, tisig_n, qisig_n;
    attest_tdx_quote_t        q;
    attest_tdx_tcb_info_t     ti;
    attest_tdx_qe_identity_t  qi;
} bench_t;


/* a file of the vectors' tdx/ directory */
static uint8_t *
slurp(const char *dir, const char *name, size_t *n)
{
    char  path[1024];

    snprintf(path, sizeof(path), "%s/tdx/%s", dir, name);
    return tap_slurp(path, n);
}


/* raw r || s to DER, as any OpenSSL caller of these formats must do once */
static size_t
der_sig(const uint8_t rs[64], uint8_t *out)
{
    int         n;
    uint8_t    *p;
    ECDSA_SIG  *s;

    s = ECDSA_SIG_new();
    ECDSA_SIG_set0(s, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL));
    p = out;
    n = i2d_ECDSA_SIG(s, &p);
    ECDSA_SIG_free(s);
    return n > 0 ? (size_t) n : 0;
}


static int
raw_verify(EVP_PKEY *key, const uint8_t *m, size_t n, const uint8_t *sig,
    size_t sn)
{
    int          ok;
    EVP_MD_CTX  *md;

    md = EVP_MD_CTX_new();
    ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1
         && EVP_DigestVerify(md, sig, sn, m, n) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}


static X509 *
pem_cert(const uint8_t *p, size_t n, int index)
{
    BIO   *b;
    X509  *x;
    int    i;

    b = BIO_new_mem_buf(p, (int) n);
    x = NULL;
    for (i = 0; i <= index; i++) {
        X509_free(x);
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    }
    BIO_free(b);
    return x;
}


static X509_CRL *
der_crl(const uint8_t *p, size_t n)
{
    const uint8_t  *d;

    d = p;
    return p ? d2i_X509_CRL(NULL, &d, (long) n) : NULL;
}


/* the checks a verifier cannot avoid; with collateral when full */
static int
baseline(const bench_t *b, int full)
{
    int        ok;
    EVP_PKEY  *root_key;

    root_key = X509_get0_pubkey(b->root);

    ok = raw_verify(b->att_key, b->q.header, b->q.signed_len, b->qsig,
                    b->qsig_n)
         & raw_verify(X509_get0_pubkey(b->leaf), b->q.qe_report,
                      ATTEST_TDX_QE_REPORT_LEN, b->qesig, b->qesig_n)
         & (X509_verify(b->leaf, X509_get0_pubkey(b->ca)) == 1)
         & (X509_verify(b->ca, root_key) == 1);

    if (full) {
        ok &= (X509_verify(b->tcb, root_key) == 1)
              & raw_verify(X509_get0_pubkey(b->tcb), b->ti.body,
                           b->ti.body_len, b->tisig, b->tisig_n)
              & raw_verify(X509_get0_pubkey(b->tcb), b->qi.body,
                           b->qi.body_len, b->qisig, b->qisig_n)
              & (X509_CRL_verify(b->pck_crl, X509_get0_pubkey(b->ca)) == 1)
              & (X509_CRL_verify(b->root_crl, root_key) == 1);
    }

    return ok;
}


static int
ours(const bench_t *b, int full)
{
    attest_evidence_t  ev;

    return attest_tdx_verify_root(b->quote, b->n, full ? &b->col : NULL,
                                  b->now, b->root_sha256, &ev) == ATTEST_OK;
}


/*
 * One repetition: baseline and verification alternate call by call, so
 * that a busy machine slows both alike; returns the two mean times.
 */
static void
rep(const bench_t *b, int full, size_t iters, double *base, double *mine)
{
    int     bad;
    size_t  i;
    double  t0, t1, t2;

    bad = 0;
    *base = 0;
    *mine = 0;

    for (i = 0; i < iters; i++) {
        t0 = bench_now();
        bad |= !baseline(b, full);
        t1 = bench_now();
        bad |= !ours(b, full);
        t2 = bench_now();
        *base += t1 - t0;
        *mine += t2 - t1;
    }

    if (bad) {
        fprintf(stderr, "tdx_bench: a check failed\n");
        exit(1);
    }

    *base /= iters;
    *mine /= iters;
}


static void
measure(const bench_t *b, int full, const char *name, const char *goal,
    double limit, const char *checks)
{
    int     i;
    char    detail[768];
    double  r;
    size_t  iters;
    double  base[REPS], mine[REPS], ratio[REPS];

    /* about 100 ms of both per repetition */
    rep(b, full, 10, &base[0], &mine[0]);
    iters = (size_t) (0.1 / (base[0] + mine[0])) + 1;

    for (i = 0; i < REPS; i++) {
        rep(b, full, iters, &base[i], &mine[i]);
        ratio[i] = mine[i] / base[i];
    }

    snprintf(detail, sizeof(detail),
             "attest_tdx_verify of %s%s, %.1f us per call, vs %s with "
             "OpenSSL on keys parsed beforehand, %.1f us; alternating call "
             "by call, median ratio of %d repetitions",
             b->what, full ? " with its collateral and CRLs" : "",
             bench_median(mine, REPS) * 1e6, checks,
             bench_median(base, REPS) * 1e6, REPS);
    r = bench_median(ratio, REPS);
    bench_emit("tdx", name, r, "ratio", goal, r <= limit, detail);
}


/* the vectors' v5 sample with tinfoil's collateral */
static int
load_vectors(bench_t *b)
{
    size_t       n;
    const char  *dir;

    dir = tap_vectors_dir();

    b->quote = slurp(dir, "gotdxguest_quote_v5_sample.dat", &b->n);
    b->col.tcb_info = slurp(dir, "tinfoil_tcb_info_90c06f000000.json", &n);
    b->col.tcb_info_len = n;
    b->col.qe_identity = slurp(dir, "tinfoil_qe_identity.json", &n);
    b->col.qe_identity_len = n;
    b->col.tcb_signing_chain = slurp(dir,
                                     "intel_tcb_signing_chain_2025-2032.pem",
                                     &n);
    b->col.tcb_signing_chain_len = n;
    b->col.pck_crl = slurp(dir, "tinfoil_pck_crl_platform.crl", &n);
    b->col.pck_crl_len = n;
    b->col.root_crl = slurp(dir, "tinfoil_root_ca.crl", &n);
    b->col.root_crl_len = n;

    if (b->quote == NULL || b->col.tcb_info == NULL
        || b->col.qe_identity == NULL || b->col.tcb_signing_chain == NULL
        || b->col.pck_crl == NULL || b->col.root_crl == NULL)
    {
        return -1;
    }

    b->what = "go-tdx-guest's v5 quote (PCK chain of 3)";
    b->now = 1770076800;                        /* 2026-02-03 */
    b->root_sha256 = attest_tdx_intel_root_sha256;
    return 0;
}


static void
make_synthetic(bench_t *b, synth_pki_t *k)
{
    char                *body, *doc, level[4096];
    long                 serial;
    size_t               n;
    uint8_t             *crl;
    synth_quote_opts_t   o;

    synth_pki_init(k);
    synth_quote_defaults(&o);
    b->quote = malloc(16384);
    b->n = synth_quote(k, &o, b->quote, 16384);

    synth_level(level + 1, sizeof(level) - 2, 2, 11, 0, 0, 3, "UpToDate");
    level[0] = '[';
    strcat(level, "]");
    body = synth_tcb_info_body(k, "[{\"id\":\"TDX_01\",\"mrsigner\":\""
        "000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000\",\"attributes\":"
        "\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\","
        "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":5},\"tcbDate\":"
        "\"2025-01-01T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]}]", level);
    doc = synth_signed_json(k->tcb_key, "tcbInfo", body);
    b->col.tcb_info = (uint8_t *) doc;
    b->col.tcb_info_len = strlen(doc);
    free(body);

    body = synth_qe_identity_body(2, "[{\"tcb\":{\"isvsvn\":8},\"tcbDate\":"
                                  "\"2025-01-01T00:00:00Z\",\"tcbStatus\":"
                                  "\"UpToDate\"}]");
    doc = synth_signed_json(k->tcb_key, "enclaveIdentity", body);
    b->col.qe_identity = (uint8_t *) doc;
    b->col.qe_identity_len = strlen(doc);
    free(body);

    b->col.tcb_signing_chain = (uint8_t *) synth_tcb_chain(k, &n);
    b->col.tcb_signing_chain_len = n;

    serial = 99;
    crl = malloc(4096);
    b->col.pck_crl_len = synth_crl(k->ca, k->ca_key, &serial, 1,
                                   SYNTH_NOW - 86400, SYNTH_NOW + 86400, crl,
                                   4096);
    b->col.pck_crl = crl;
    crl = malloc(4096);
    b->col.root_crl_len = synth_crl(k->root, k->root_key, &serial, 1,
                                    SYNTH_NOW - 86400, SYNTH_NOW + 86400, crl,
                                    4096);
    b->col.root_crl = crl;

    b->what = "a synthetic v4 quote (vectors not found; PCK chain of 3)";
    b->now = SYNTH_NOW;
    b->root_sha256 = k->root_sha256;
}


int
main(void)
{
    bench_t             b;
    synth_pki_t         k;
    uint8_t             pt[65];
    EVP_PKEY_CTX       *ctx;
    OSSL_PARAM          params[3];
    attest_evidence_t   ev;

    memset(&b, 0, sizeof(b));
    memset(&k, 0, sizeof(k));

    if (load_vectors(&b) != 0) {
        make_synthetic(&b, &k);
    }

    if (attest_tdx_verify_root(b.quote, b.n, &b.col, b.now, b.root_sha256,
                               &ev) != ATTEST_OK
        || attest_tdx_parse(b.quote, b.n, &b.q) != ATTEST_OK
        || attest_tdx_tcb_info_parse(b.col.tcb_info, b.col.tcb_info_len,
                                     &b.ti) != ATTEST_OK
        || attest_tdx_qe_identity_parse(b.col.qe_identity,
                                        b.col.qe_identity_len, &b.qi)
           != ATTEST_OK)
    {
        fprintf(stderr, "tdx_bench: the bench quote does not verify\n");
        return 1;
    }

    /* the baseline's inputs, parsed once */
    pt[0] = 0x04;
    memcpy(pt + 1, b.q.attest_key, 64);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *) "prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                  pt, 65);
    params[2] = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY_fromdata_init(ctx);
    EVP_PKEY_fromdata(ctx, &b.att_key, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);

    b.leaf = pem_cert(b.q.pck_chain, b.q.pck_chain_len, 0);
    b.ca = pem_cert(b.q.pck_chain, b.q.pck_chain_len, 1);
    b.root = pem_cert(b.q.pck_chain, b.q.pck_chain_len, 2);
    b.tcb = pem_cert(b.col.tcb_signing_chain, b.col.tcb_signing_chain_len,
                     0);
    b.pck_crl = der_crl(b.col.pck_crl, b.col.pck_crl_len);
    b.root_crl = der_crl(b.col.root_crl, b.col.root_crl_len);
    b.qsig_n = der_sig(b.q.signature, b.qsig);
    b.qesig_n = der_sig(b.q.qe_report_sig, b.qesig);
    b.tisig_n = der_sig(b.ti.signature, b.tisig);
    b.qisig_n = der_sig(b.qi.signature, b.qisig);

    if (b.att_key == NULL || b.leaf == NULL || b.ca == NULL || b.root == NULL
        || b.tcb == NULL || b.pck_crl == NULL || b.root_crl == NULL
        || !baseline(&b, 1))
    {
        fprintf(stderr, "tdx_bench: the baseline does not verify\n");
        return 1;
    }

    measure(&b, 0, "verify_quote_vs_raw_sigs", "<= 1.5", 1.5,
            "its 4 ECDSA P-256 checks (quote, QE report, PCK, PCK CA)");
    measure(&b, 1, "verify_collateral_vs_raw_sigs", "<= 2.0", 2.0,
            "its 9 ECDSA P-256 checks (quote, QE report, PCK, PCK CA, "
            "TCB signing cert, TCB Info, QE Identity, PCK CRL, root CRL)");

    return 0;
}
