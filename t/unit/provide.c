/*
 * The terminator's providers without nginx (attest/attest_provide.h):
 * collateral=DIR for each platform, Intel's real PCS collateral read from
 * files and then verifying a real quote exactly as loaded, AMD's chain
 * from ask_ark.pem, the files named when missing or bad; and whole
 * documents of the simulated platform with simulated GPUs and the
 * collateral, verified as a gateway would.
 */

#define _GNU_SOURCE          /* mkdtemp */

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tap.h"
#include "tdx_test.h"
#include "attest.h"
#include "attest_int.h"
#include "attest_provide.h"


static char  tmp[256];


static uint8_t *sim_crl(const char *sim, time_t next, size_t *len);


static const uint8_t  keys[] = {
    0x01, 0x00, 0x20, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
    0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11,
    0x00, 0x04, 0x00, 0x01, 0x00, 0x01
};


static void
put(const char *dir, const char *name, const void *p, size_t n)
{
    char   path[512];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n) {
        diag("cannot write %s", path);
    }
    if (f != NULL) {
        fclose(f);
    }
}


static void
put_vec(const char *dir, const char *name, const char *vec)
{
    size_t    n;
    uint8_t  *p;

    p = tdx_vec(vec, &n);
    if (p != NULL) {
        put(dir, name, p, n);
        free(p);
    }
}


static void
rm(const char *dir, const char *name)
{
    char  path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}


/* the load fails, its message naming what */
static void
fails_naming(const char *dir, attest_platform_t platform, const char *what,
    const char *label)
{
    char                 msg[512];
    attest_err_t         rc;
    attest_collateral_t  c;

    msg[0] = '\0';
    rc = attest_collateral_load(dir, platform, &c, msg, sizeof(msg));
    attest_collateral_free(&c);

    ok(rc != ATTEST_OK && strstr(msg, what) != NULL, "%s: \"%s\"", label,
       what);
    if (rc == ATTEST_OK || strstr(msg, what) == NULL) {
        diag("got %s: %s", attest_strerror(rc), msg);
    }
}


static void
tdx(void)
{
    char                      dir[512], msg[512];
    uint8_t                  *quote;
    size_t                    qn;
    attest_err_t              rc;
    attest_evidence_t         ev;
    attest_collateral_t       c;
    attest_tdx_collateral_t   col;

    snprintf(dir, sizeof(dir), "%s/tdx", tmp);
    mkdir(dir, 0700);

    fails_naming(dir, ATTEST_PLATFORM_TDX, "tdx/tcb_info.json: No such file",
                 "TDX, empty directory");

    snprintf(msg, sizeof(msg), "%s/tdx/tinfoil_qe_identity.json",
             tap_vectors_dir());
    if (access(msg, R_OK) != 0) {
        diag("SKIP Intel's collateral: no %s (set CONFER_VECTORS)", msg);
        return;
    }

    /* tinfoil's PCS responses, as an operator saves them */
    put_vec(dir, "tcb_info.json", "tinfoil_tcb_info_90c06f000000.json");
    put_vec(dir, "qe_identity.json", "tinfoil_qe_identity.json");
    put_vec(dir, "tcb_signing_chain.pem",
            "tinfoil_tcb_info_issuer_chain_urlencoded.txt");
    put_vec(dir, "pck_crl.der", "tinfoil_pck_crl_platform.crl");
    put_vec(dir, "root_crl.der", "tinfoil_root_ca.crl");

    rc = attest_collateral_load(dir, ATTEST_PLATFORM_TDX, &c, msg,
                                sizeof(msg));
    ok(rc == ATTEST_OK, "TDX: the five files load");
    if (rc != ATTEST_OK) {
        diag("%s: %s", attest_strerror(rc), msg);
    }
    is_int(c.nfiles, 5, "  five files");
    is_int(c.next_update, tdx_t("2026-02-11T15:46:45Z"),
           "  the earliest nextUpdate, the TCB Info's");
    is_int(c.nchain, 0, "  no SNP chain");

    /* what was loaded verifies a real quote, unchanged */
    memset(&col, 0, sizeof(col));
    col.tcb_info = c.tcb_info.p;
    col.tcb_info_len = c.tcb_info.n;
    col.qe_identity = c.qe_identity.p;
    col.qe_identity_len = c.qe_identity.n;
    col.tcb_signing_chain = c.tcb_signing_chain.p;
    col.tcb_signing_chain_len = c.tcb_signing_chain.n;
    col.pck_crl = c.pck_crl.p;
    col.pck_crl_len = c.pck_crl.n;
    col.root_crl = c.root_crl.p;
    col.root_crl_len = c.root_crl.n;

    quote = tdx_vec("gotdxguest_quote_v5_sample.dat", &qn);
    rc = quote ? attest_tdx_verify(quote, qn, &col,
                                   tdx_t("2026-02-03T00:00:00Z"), &ev)
               : ATTEST_ERR_INPUT;
    ok(rc == ATTEST_OK && strcmp(ev.tcb_status, "UpToDate") == 0,
       "  a v5 quote verifies with them: UpToDate");
    free(quote);
    attest_collateral_free(&c);

    /* each file, missing or wrong, is named */
    put(dir, "pck_crl.pem", "x", 1);
    fails_naming(dir, ATTEST_PLATFORM_TDX,
                 "pck_crl.der and pck_crl.pem both exist",
                 "TDX, two forms of one CRL");
    rm(dir, "pck_crl.pem");

    put(dir, "root_crl.der", "not a CRL", 9);
    fails_naming(dir, ATTEST_PLATFORM_TDX, "root_crl.der: not a CRL",
                 "TDX, a bad root CRL");
    rm(dir, "root_crl.der");
    fails_naming(dir, ATTEST_PLATFORM_TDX,
                 "root_crl.der: No such file or directory (or root_crl.pem)",
                 "TDX, no root CRL");
    put_vec(dir, "root_crl.der", "tinfoil_root_ca.crl");

    put_vec(dir, "tcb_signing_chain.pem", "intel_sgx_root_ca.pem");
    fails_naming(dir, ATTEST_PLATFORM_TDX, "tcb_signing_chain.pem: not the "
                 "TCB signing certificate and the root",
                 "TDX, a chain of one");
    put_vec(dir, "tcb_signing_chain.pem",
            "intel_tcb_signing_chain_2025-2032.pem");

    put_vec(dir, "qe_identity.json", "tinfoil_tcb_info_90c06f000000.json");
    fails_naming(dir, ATTEST_PLATFORM_TDX, "qe_identity.json: not Intel's "
                 "QE Identity", "TDX, TCB Info for the QE Identity");
    rm(dir, "qe_identity.json");
    fails_naming(dir, ATTEST_PLATFORM_TDX, "qe_identity.json: No such file",
                 "TDX, no QE Identity");
    put_vec(dir, "qe_identity.json", "tinfoil_qe_identity.json");

    put(dir, "tcb_info.json", "{}", 2);
    fails_naming(dir, ATTEST_PLATFORM_TDX, "tcb_info.json: not Intel's TDX "
                 "TCB Info", "TDX, an empty object");

    rc = attest_collateral_load(dir, ATTEST_PLATFORM_SEV_SNP, &c, msg,
                                sizeof(msg));
    attest_collateral_free(&c);
    ok(rc != ATTEST_OK && strstr(msg, "ark_crl.der") != NULL,
       "the same directory for SEV-SNP wants ark_crl");
}


static void
snp(void)
{
    char                  dir[512], path[1024], msg[512];
    size_t                n;
    uint8_t              *p;
    attest_err_t          rc;
    attest_collateral_t   c;

    snprintf(dir, sizeof(dir), "%s/snp", tmp);
    mkdir(dir, 0700);

    fails_naming(dir, ATTEST_PLATFORM_SEV_SNP, "snp/ark_crl.der: No such "
                 "file", "SEV-SNP, empty directory");

    /* the simulated root's CRL stands in: a CRL is what is checked */
    snprintf(path, sizeof(path), "%s/sim", tmp);
    p = sim_crl(path, time(NULL) + 3600, &n);
    put(dir, "ark_crl.der", p, n);
    free(p);

    rc = attest_collateral_load(dir, ATTEST_PLATFORM_SEV_SNP, &c, msg,
                                sizeof(msg));
    ok(rc == ATTEST_OK && c.nfiles == 1 && c.nchain == 0
       && c.root_crl.n > 0, "SEV-SNP: the CRL alone (ask_ark.pem is "
       "optional)");
    attest_collateral_free(&c);

    snprintf(path, sizeof(path), "%s/sev-snp/amd_ask_ark_genoa.pem",
             tap_vectors_dir());
    p = tap_slurp(path, &n);
    if (p == NULL) {
        diag("SKIP AMD's chain: no %s (set CONFER_VECTORS)", path);
        return;
    }

    put(dir, "ask_ark.pem", p, n);
    free(p);

    rc = attest_collateral_load(dir, ATTEST_PLATFORM_SEV_SNP, &c, msg,
                                sizeof(msg));
    ok(rc == ATTEST_OK && c.nfiles == 2 && c.nchain == 2,
       "SEV-SNP: KDS's Genoa cert_chain gives two certificates");
    ok(c.nchain == 2 && c.chain[0].n > 0 && c.chain[0].p[0] == 0x30,
       "  as DER, for the document");
    attest_collateral_free(&c);

    put(dir, "ask_ark.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n", 33);
    fails_naming(dir, ATTEST_PLATFORM_SEV_SNP, "ask_ark.pem: not PEM "
                 "certificates", "SEV-SNP, a damaged chain");
}


/* a CRL of the simulated root, DER */
static uint8_t *
sim_crl(const char *sim, time_t next, size_t *len)
{
    int          n;
    char         path[512];
    FILE        *f;
    X509        *root;
    uint8_t     *der, *out;
    EVP_PKEY    *key;
    X509_CRL    *crl;
    ASN1_TIME   *t;

    snprintf(path, sizeof(path), "%s/sim-root.pem", sim);
    f = fopen(path, "rb");
    root = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f) {
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/sim-root.key", sim);
    f = fopen(path, "rb");
    key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f) {
        fclose(f);
    }

    crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(root));
    t = ASN1_TIME_set(NULL, time(NULL) - 60);
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_set(t, next);
    X509_CRL_set1_nextUpdate(crl, t);
    ASN1_TIME_free(t);
    X509_CRL_sign(crl, key, EVP_sha384());

    der = NULL;
    n = i2d_X509_CRL(crl, &der);
    out = malloc(n > 0 ? (size_t) n : 1);
    memcpy(out, der, n > 0 ? (size_t) n : 0);
    *len = n > 0 ? (size_t) n : 0;

    OPENSSL_free(der);
    X509_CRL_free(crl);
    EVP_PKEY_free(key);
    X509_free(root);

    return out;
}


static void
documents(void)
{
    char                sim[300], col[300], msg[512];
    size_t              len, n;
    time_t              next;
    uint8_t            *doc, *crl;
    attest_err_t        rc;
    attest_policy_t    *pol;
    attest_verdict_t   *v;
    attest_provided_t   info;
    attest_provider_t   pr;

    snprintf(sim, sizeof(sim), "%s/sim", tmp);
    rc = attest_sim_init(sim, msg, sizeof(msg));
    ok(rc == ATTEST_OK, "a simulated platform");

    snprintf(col, sizeof(col), "%s/simcol", tmp);
    mkdir(col, 0700);
    next = time(NULL) + 7200;
    crl = sim_crl(sim, next, &n);
    put(col, "ark_crl.der", crl, n);
    free(crl);

    memset(&pr, 0, sizeof(pr));
    pr.sim_dir = sim;
    pr.gpu = ATTEST_GPU_SOURCE_SIMULATED;
    pr.gpu_count = 3;
    pr.collateral_dir = col;

    /* the document outlives the CRL, whose end then bounds it */
    rc = attest_provide_document(&pr, keys, sizeof(keys),
                                 time(NULL) + 10800, &doc, &len, &info, msg,
                                 sizeof(msg));
    ok(rc == ATTEST_OK, "a simulated document with 3 GPUs and the CRL");
    if (rc != ATTEST_OK) {
        diag("%s: %s", attest_strerror(rc), msg);
        return;
    }

    is_int(info.platform, ATTEST_PLATFORM_SIMULATED, "  platform");
    is_int(info.ngpu, 3, "  3 GPUs verified while making it");
    is_int(info.nswitch, 0, "  no NVSwitch");
    is_int(info.ncollateral, 1, "  one collateral file");
    is_int(info.next_update, next, "  valid until the CRL's nextUpdate");
    ok(info.check == ATTEST_OK, "  and it verifies here (%s)",
       info.check_detail);

    v = malloc(sizeof(attest_verdict_t));
    snprintf(msg, sizeof(msg), "{\"platforms\":[],\"allow_simulated\":true,"
             "\"simulated_root\":\"%s/sim-root.pem\",\"gpu\":{\"count\":3}}",
             sim);
    rc = attest_policy_parse((uint8_t *) msg, strlen(msg), NULL, &pol, NULL,
                             0);
    rc = rc == ATTEST_OK ? attest_verify_document(doc, len, pol, time(NULL),
                                                  v)
                         : rc;
    ok(rc == ATTEST_OK, "a gateway's verification, 3 GPUs required");
    is_int(v->ev.ngpu, 3, "  3 GPUs");
    is_int(v->ev.collateral_not_after, next, "  collateral_not_after");
    is_int(v->valid_until, next, "  valid_until the CRL's end");

    rc = attest_verify_document(doc, len, pol, next + 1, v);
    ok(rc == ATTEST_ERR_COLLATERAL_EXPIRED, "  after it: collateral_expired");

    attest_policy_free(pol);
    free(v);
    free(doc);

    /* gpu=simulated without the simulated platform */
    pr.sim_dir = NULL;
    pr.tsm_root = "/nonexistent";
    pr.tsm_timeout_ms = 100;
    rc = attest_provide_document(&pr, keys, sizeof(keys), time(NULL) + 3600,
                                 &doc, &len, &info, msg, sizeof(msg));
    ok(rc != ATTEST_OK && info.stage == ATTEST_STAGE_CPU,
       "configfs-tsm that is not there: the CPU stage fails first");
}


int
main(void)
{
    char  cmd[300];

    snprintf(tmp, sizeof(tmp), "/tmp/confer-provide-XXXXXX");
    if (mkdtemp(tmp) == NULL) {
        skip_all("mkdtemp failed");
    }

    documents();
    snp();
    tdx();

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (system(cmd) != 0) {
        diag("cannot remove %s", tmp);
    }

    attest_cleanup();
    done_testing();
    return 0;
}
