/*
 * The price of verifying SEV-SNP evidence, as ratios against the raw
 * signature checks it cannot avoid, timed with OpenSSL directly in the
 * same run.  One JSON object per line (see the brief's bench format).
 *
 *   snp_verify: attest_snp_verify() of a Milan v3 report with VCEK, ASK
 *     and ARK as they arrive (PEM and DER), over one ECDSA P-384 verify of
 *     the report plus the three RSA-PSS verifies of the chain (VCEK by ASK,
 *     ASK by ARK, ARK by itself) on pre-parsed certificates.
 *   doc_verify: attest_verify_document() of a simulated document (JSON,
 *     base64, chain, binding, policy) over its three ECDSA P-384 verifies.
 *   gpu_verify: attest_gpu_verify() of nvtrust's H100 report (SPDM 1.1)
 *     with its PEM chain of five, over the five ECDSA P-384 verifies it
 *     cannot avoid: the report by the leaf, and the four links.
 *   gpu_list_verify: NVIDIA's evidence JSON of an 8-GPU HGX parsed and
 *     verified (attest_gpu_evidence_parse, attest_gpu_verify_list) over
 *     the same five verifies per GPU.
 *
 * Pinned roots are not verified by their own key (the pin covers them);
 * the SNP and document baselines still include that self-signature, so
 * their ratios can be below 1.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest.h"
#include "attest_gpu.h"
#include "attest_int.h"
#include "attest_snp.h"
#include "attest_x509.h"
#include "bench.h"


#define ROUNDS   31
#define PER      20


typedef struct {
    uint8_t        *report;
    size_t          report_len;
    attest_blob_t   certs[2];
    X509           *x[3];              /* VCEK, ASK, ARK */
    uint8_t         sig_der[128];
    size_t          sig_len;
} snp_case_t;


/* the unavoidable work: one ECDSA P-384 and the chain's RSA-PSS */
static int
raw_snp(snp_case_t *c)
{
    int          ok;
    EVP_MD_CTX  *ctx;

    ctx = EVP_MD_CTX_new();
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL,
                              X509_get0_pubkey(c->x[0])) == 1
         && EVP_DigestVerify(ctx, c->sig_der, c->sig_len, c->report,
                             ATTEST_SNP_SIGNED_SIZE) == 1;
    EVP_MD_CTX_free(ctx);

    ok = ok && X509_verify(c->x[0], X509_get0_pubkey(c->x[1])) == 1
         && X509_verify(c->x[1], X509_get0_pubkey(c->x[2])) == 1
         && X509_verify(c->x[2], X509_get0_pubkey(c->x[2])) == 1;

    return ok;
}


static int
full_snp(snp_case_t *c)
{
    attest_evidence_t  ev;

    return attest_snp_verify(c->report, c->report_len, c->certs, 2, NULL,
                             1780272000, &ev, NULL, 0) == ATTEST_OK;
}


static int
setup_snp(snp_case_t *c, const char *vdir)
{
    int                  len;
    char                 path[1024];
    BIO                 *bio;
    BIGNUM              *r, *s;
    ECDSA_SIG           *sig;
    unsigned char       *der;
    const unsigned char *q;

    snprintf(path, sizeof(path), "%s/sev-snp/mstav_milan_report_v3.bin",
             vdir);
    c->report = tap_slurp(path, &c->report_len);
    snprintf(path, sizeof(path), "%s/sev-snp/mstav_milan_vcek.pem", vdir);
    c->certs[0].p = tap_slurp(path, &c->certs[0].n);
    snprintf(path, sizeof(path), "%s/sev-snp/amd_ask_ark_milan.pem", vdir);
    c->certs[1].p = tap_slurp(path, &c->certs[1].n);

    if (c->report == NULL || c->certs[0].p == NULL || c->certs[1].p == NULL)
    {
        return 0;
    }

    bio = BIO_new_mem_buf(c->certs[0].p, (int) c->certs[0].n);
    c->x[0] = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    bio = BIO_new_mem_buf(c->certs[1].p, (int) c->certs[1].n);
    c->x[1] = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    c->x[2] = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);

    r = BN_lebin2bn(c->report + 0x2a0, 72, NULL);
    s = BN_lebin2bn(c->report + 0x2e8, 72, NULL);
    sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, r, s);
    der = NULL;
    len = i2d_ECDSA_SIG(sig, &der);
    memcpy(c->sig_der, der, len);
    c->sig_len = (size_t) len;
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    (void) q;

    return c->x[0] && c->x[1] && c->x[2];
}


typedef struct {
    uint8_t           *doc;
    size_t             doc_len;
    attest_policy_t   *pol;
    time_t             now;
    X509              *leaf, *root;
    uint8_t            report[ATTEST_SNP_REPORT_SIZE];
    uint8_t            sig_der[128];
    size_t             sig_len;
} doc_case_t;


static int
raw_doc(doc_case_t *c)
{
    int          ok;
    EVP_MD_CTX  *ctx;

    ctx = EVP_MD_CTX_new();
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL,
                              X509_get0_pubkey(c->leaf)) == 1
         && EVP_DigestVerify(ctx, c->sig_der, c->sig_len, c->report,
                             ATTEST_SNP_SIGNED_SIZE) == 1;
    EVP_MD_CTX_free(ctx);

    return ok && X509_verify(c->leaf, X509_get0_pubkey(c->root)) == 1
           && X509_verify(c->root, X509_get0_pubkey(c->root)) == 1;
}


static int
full_doc(doc_case_t *c)
{
    attest_err_t             rc;
    static attest_verdict_t  v;

    rc = attest_verify_document(c->doc, c->doc_len, c->pol, c->now, &v);
    return rc == ATTEST_OK;
}


static int
setup_doc(doc_case_t *c)
{
    int                  len;
    char                 dir[64], pol[256], fp[65];
    size_t               i;
    uint8_t              keys[41], md[32];
    unsigned             mdlen;
    BIGNUM              *r, *s;
    ECDSA_SIG           *sig;
    attest_sim_t        *sim;
    unsigned char       *der;
    attest_doc_parsed_t  d;
    const unsigned char *q;

    snprintf(dir, sizeof(dir), "/tmp/confer-bench-XXXXXX");
    if (mkdtemp(dir) == NULL
        || attest_sim_init(dir, NULL, 0) != ATTEST_OK
        || attest_sim_load(dir, &sim, NULL, 0) != ATTEST_OK)
    {
        return 0;
    }

    memset(keys, 7, sizeof(keys));
    c->now = time(NULL);
    c->doc = malloc(16384);
    attest_sim_document(sim, keys, sizeof(keys), c->now + 3600, c->doc,
                        16384, &c->doc_len);
    attest_sim_free(sim);

    snprintf(pol, sizeof(pol), "rm -rf %s", dir);
    if (system(pol) != 0) {
        return 0;
    }

    if (attest_doc_parse(c->doc, c->doc_len, &d, NULL, 0) != ATTEST_OK) {
        return 0;
    }

    memcpy(c->report, d.evidence.p, sizeof(c->report));
    q = d.certs[0].p;
    c->leaf = d2i_X509(NULL, &q, (long) d.certs[0].n);
    q = d.certs[1].p;
    c->root = d2i_X509(NULL, &q, (long) d.certs[1].n);
    attest_doc_parsed_free(&d);

    mdlen = 32;
    X509_digest(c->root, EVP_sha256(), md, &mdlen);
    for (i = 0; i < 32; i++) {
        snprintf(fp + 2 * i, 3, "%02x", md[i]);
    }

    snprintf(pol, sizeof(pol), "{\"allow_simulated\": true, "
             "\"simulated_root\": \"sha256:%s\"}", fp);
    if (attest_policy_parse((uint8_t *) pol, strlen(pol), NULL, &c->pol,
                            NULL, 0) != ATTEST_OK)
    {
        return 0;
    }

    r = BN_lebin2bn(c->report + 0x2a0, 72, NULL);
    s = BN_lebin2bn(c->report + 0x2e8, 72, NULL);
    sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, r, s);
    der = NULL;
    len = i2d_ECDSA_SIG(sig, &der);
    memcpy(c->sig_der, der, len);
    c->sig_len = (size_t) len;
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);

    return c->leaf && c->root;
}


typedef struct {
    uint8_t             *report;
    size_t               report_len;
    uint8_t             *chain;
    size_t               chain_len;
    uint8_t              nonce[32];
    X509                *x[5];           /* leaf .. root */
    uint8_t              sig_der[128];
    size_t               sig_len;
    size_t               signed_len;

    /* the 8-GPU evidence JSON */
    uint8_t             *json;
    size_t               json_len;
    uint8_t              list_nonce[32];
    size_t               ngpu;
    X509                *lx[ATTEST_MAX_GPUS][5];
    uint8_t             *lreport[ATTEST_MAX_GPUS];
    size_t               lsigned[ATTEST_MAX_GPUS];
    uint8_t              lsig[ATTEST_MAX_GPUS][128];
    size_t               lsig_len[ATTEST_MAX_GPUS];
    uint8_t             *lmem;
    attest_evidence_t   *ev;
} gpu_case_t;


static int
raw_sig384(X509 *signer, const uint8_t *sig, size_t sig_len,
    const uint8_t *msg, size_t n)
{
    int          ok;
    EVP_MD_CTX  *ctx;

    ctx = EVP_MD_CTX_new();
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL,
                              X509_get0_pubkey(signer)) == 1
         && EVP_DigestVerify(ctx, sig, sig_len, msg, n) == 1;
    EVP_MD_CTX_free(ctx);

    return ok;
}


/* the report by the leaf, each certificate by its issuer */
static int
raw_gpu(gpu_case_t *c)
{
    int  i, ok;

    ok = raw_sig384(c->x[0], c->sig_der, c->sig_len, c->report,
                    c->signed_len);

    for (i = 0; i < 4; i++) {
        ok = ok && X509_verify(c->x[i], X509_get0_pubkey(c->x[i + 1])) == 1;
    }

    return ok;
}


static int
full_gpu(gpu_case_t *c)
{
    attest_gpu_facts_t  f;

    return attest_gpu_verify(c->report, c->report_len, c->chain,
                             c->chain_len, c->nonce, NULL, 1780272000, &f,
                             NULL, 0) == ATTEST_OK;
}


static int
raw_gpu_list(gpu_case_t *c)
{
    int     k, ok;
    size_t  i;

    ok = 1;

    for (i = 0; i < c->ngpu; i++) {
        ok = ok && raw_sig384(c->lx[i][0], c->lsig[i], c->lsig_len[i],
                              c->lreport[i], c->lsigned[i]);

        for (k = 0; k < 4; k++) {
            ok = ok && X509_verify(c->lx[i][k],
                                   X509_get0_pubkey(c->lx[i][k + 1])) == 1;
        }
    }

    return ok;
}


static int
full_gpu_list(gpu_case_t *c)
{
    int                 ok;
    size_t              count;
    uint8_t            *mem;
    attest_gpu_entry_t  e[ATTEST_MAX_GPUS];

    if (attest_gpu_evidence_parse(c->json, c->json_len, e, ATTEST_MAX_GPUS,
                                  &count, &mem, NULL, 0) != ATTEST_OK)
    {
        return 0;
    }

    ok = attest_gpu_verify_list(e, count, c->list_nonce, NULL, 1780272000,
                                c->ev, NULL, 0) == ATTEST_OK;
    free(mem);

    return ok;
}


/* r || s, big-endian, as DER for EVP_DigestVerify */
static size_t
raw_to_der(const uint8_t *rs, uint8_t *der)
{
    int             len;
    BIGNUM         *r, *s;
    ECDSA_SIG      *sig;
    unsigned char  *p;

    r = BN_bin2bn(rs, 48, NULL);
    s = BN_bin2bn(rs + 48, 48, NULL);
    sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, r, s);
    p = NULL;
    len = i2d_ECDSA_SIG(sig, &p);
    memcpy(der, p, len);
    OPENSSL_free(p);
    ECDSA_SIG_free(sig);

    return (size_t) len;
}


static int
setup_gpu(gpu_case_t *c, const char *vdir)
{
    char                  path[1024];
    size_t                n, k, count;
    uint8_t              *hex;
    attest_gpu_entry_t    e[ATTEST_MAX_GPUS];
    attest_gpu_report_t  *r;

    snprintf(path, sizeof(path), "%s/nvidia/nvtrust_hopperAttestationReport"
             ".txt", vdir);
    hex = tap_slurp(path, &n);
    snprintf(path, sizeof(path), "%s/nvidia/nvtrust_hopperCertChain.txt",
             vdir);
    c->chain = tap_slurp(path, &c->chain_len);
    snprintf(path, sizeof(path), "%s/nvidia/nvtrust_ppcie_gpu_evidence.json",
             vdir);
    c->json = tap_slurp(path, &c->json_len);

    if (hex == NULL || c->chain == NULL || c->json == NULL) {
        free(hex);
        return 0;
    }

    while (n > 0 && (hex[n - 1] == '\n' || hex[n - 1] == ' ')) {
        n--;
    }

    c->report = malloc(n / 2);
    attest_unhex((char *) hex, n, c->report, n / 2, &c->report_len);
    free(hex);

    r = malloc(sizeof(*r));
    c->ev = calloc(1, sizeof(attest_evidence_t));

    if (attest_gpu_parse(c->report, c->report_len, r) != ATTEST_OK) {
        free(r);
        return 0;
    }

    memcpy(c->nonce, r->nonce, 32);
    c->signed_len = r->signed_len;
    c->sig_len = raw_to_der(r->signature, c->sig_der);

    k = 0;
    if (attest_x509_load(c->chain, c->chain_len, c->x, 5, &k) != ATTEST_OK
        || k != 5)
    {
        free(r);
        return 0;
    }

    /* the eight GPUs, parsed once for the baseline */
    if (attest_gpu_evidence_parse(c->json, c->json_len, e, ATTEST_MAX_GPUS,
                                  &count, &c->lmem, NULL, 0) != ATTEST_OK)
    {
        free(r);
        return 0;
    }

    c->ngpu = count;

    for (n = 0; n < count; n++) {
        k = 0;
        if (attest_gpu_parse(e[n].evidence.p, e[n].evidence.n, r)
            != ATTEST_OK
            || attest_x509_load(e[n].certs.p, e[n].certs.n, c->lx[n], 5, &k)
               != ATTEST_OK || k != 5)
        {
            free(r);
            return 0;
        }

        c->lreport[n] = (uint8_t *) e[n].evidence.p;
        c->lsigned[n] = r->signed_len;
        c->lsig_len[n] = raw_to_der(r->signature, c->lsig[n]);

        if (n == 0) {
            memcpy(c->list_nonce, r->nonce, 32);
        }
    }

    free(r);
    return 1;
}


/* medians over interleaved rounds, so that both sides see the same noise */
static double
ratio(int (*full)(void *), int (*raw)(void *), void *c, int *ok)
{
    int     r, i;
    double  t, tf[ROUNDS], tr[ROUNDS];

    *ok = full(c) && raw(c);

    for (r = 0; r < ROUNDS; r++) {
        t = bench_now();
        for (i = 0; i < PER; i++) {
            *ok &= full(c);
        }
        tf[r] = bench_now() - t;

        t = bench_now();
        for (i = 0; i < PER; i++) {
            *ok &= raw(c);
        }
        tr[r] = bench_now() - t;
    }

    return bench_median(tf, ROUNDS) / bench_median(tr, ROUNDS);
}


static void
emit(const char *name, double value, double limit, const char *detail,
    int ok)
{
    char  goal[16], text[1024];

    snprintf(goal, sizeof(goal), "<= %.2f", limit);
    snprintf(text, sizeof(text), "%s%s", detail,
             ok ? "" : " (a verification FAILED, figure void)");
    bench_emit("attest", name, value, "ratio", goal,
               ok ? value <= limit : -1, text);
}


int
main(int argc, char **argv)
{
    int          ok;
    double       r;
    const char  *vdir;
    snp_case_t   snp;
    doc_case_t   doc;
    gpu_case_t  *gpu;

    vdir = getenv("CONFER_VECTORS") == NULL && argc > 1 ? argv[1]
                                                       : tap_vectors_dir();

    memset(&snp, 0, sizeof(snp));

    if (setup_snp(&snp, vdir)) {
        r = ratio((int (*)(void *)) full_snp, (int (*)(void *)) raw_snp,
                  &snp, &ok);
        emit("snp_verify_vs_raw_signatures", r, 1.25,
             "attest_snp_verify of a Milan v3 report with VCEK (PEM) and "
             "ASK+ARK (PEM bundle): parsing (certificates cached by DER "
             "digest), chain, extensions, signature; over 1 ECDSA P-384 + 3 "
             "RSA-PSS-4096 verifies (VCEK, ASK, and the ARK by itself, which "
             "the pin makes unnecessary) by OpenSSL on parsed certificates; "
             "medians of 31 interleaved rounds of 20",
             ok);

    } else {
        fprintf(stderr, "attest_bench: no SEV-SNP vectors under %s, "
                "skipping snp_verify\n", vdir);
    }

    gpu = calloc(1, sizeof(*gpu));

    if (setup_gpu(gpu, vdir)) {
        r = ratio((int (*)(void *)) full_gpu, (int (*)(void *)) raw_gpu,
                  gpu, &ok);
        emit("gpu_verify_vs_raw_signatures", r, 1.25,
             "attest_gpu_verify of nvtrust's H100 report (hex decoded "
             "beforehand) with its PEM chain of five: parsing, chain to the "
             "pinned NVIDIA root, leaf, signature, nonce, FWID; over its 5 "
             "ECDSA P-384 verifies (report, 4 links) by OpenSSL on parsed "
             "certificates; medians of 31 interleaved rounds of 20", ok);

        r = ratio((int (*)(void *)) full_gpu_list,
                  (int (*)(void *)) raw_gpu_list, gpu, &ok);
        emit("gpu_list_verify_vs_raw_signatures", r, 1.35,
             "NVIDIA's evidence JSON of an 8-GPU HGX (nvtrust PPCIe): "
             "JSON, base64, PEM, 8 chains, 8 reports, duplicate check; over "
             "8 x 5 ECDSA P-384 verifies by OpenSSL on parsed certificates; "
             "medians of 31 interleaved rounds of 20", ok);

    } else {
        fprintf(stderr, "attest_bench: no NVIDIA vectors under %s, "
                "skipping gpu_verify\n", vdir);
    }

    memset(&doc, 0, sizeof(doc));

    if (setup_doc(&doc)) {
        r = ratio((int (*)(void *)) full_doc, (int (*)(void *)) raw_doc,
                  &doc, &ok);
        emit("doc_verify_vs_raw_signatures", r, 1.5,
             "attest_verify_document of a simulated document (JSON, base64, "
             "chain, binding, policy) over 3 ECDSA P-384 verifies by "
             "OpenSSL (report, leaf, and the root by itself, which the pin "
             "makes unnecessary); medians of 31 interleaved rounds of 20",
             ok);
    }

    return 0;
}
