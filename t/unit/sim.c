/*
 * The simulated platform end to end: init, document, verification with
 * and without a policy that allows it, and reports signed by the simulated
 * key with one thing wrong each, which must fail with their own reason.
 */

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tap.h"
#include "attest.h"
#include "attest_int.h"
#include "attest_snp.h"


static const uint8_t  keys[] = {
    /* a key configuration (RFC 9458, 3): id 1, X25519, HKDF-SHA256,
     * AES-128-GCM; the key itself does not matter here */
    0x01, 0x00, 0x20, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
    0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11,
    0x00, 0x04, 0x00, 0x01, 0x00, 0x01
};

static char      dir[64], dir2[64];
static uint8_t   doc[16384];
static size_t    doc_len;


static attest_policy_t *
policy(const char *fmt, const char *arg)
{
    char              buf[2048], msg[256];
    attest_policy_t  *pol;

    snprintf(buf, sizeof(buf), fmt, arg);

    if (attest_policy_parse((uint8_t *) buf, strlen(buf), "/", &pol, msg,
                            sizeof(msg)) != ATTEST_OK)
    {
        diag("policy: %s", msg);
        return NULL;
    }

    return pol;
}


static EVP_PKEY *
read_key(const char *d, const char *name)
{
    char       path[512];
    FILE      *f;
    EVP_PKEY  *k;

    snprintf(path, sizeof(path), "%s/%s", d, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}


static uint8_t *
read_der(const char *d, const char *name, size_t *n)
{
    int            len;
    char           path[512];
    FILE          *f;
    X509          *x;
    unsigned char *der;

    snprintf(path, sizeof(path), "%s/%s", d, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);

    der = NULL;
    len = i2d_X509(x, &der);
    X509_free(x);
    *n = (size_t) len;
    return der;
}


/* sign a report with the given key as the SNP firmware would */
static void
sign_report(EVP_PKEY *key, const attest_snp_report_t *r, uint8_t *out)
{
    size_t               siglen;
    uint8_t              der[128];
    ECDSA_SIG           *sig;
    EVP_MD_CTX          *ctx;
    const unsigned char *q;

    attest_snp_put(out, r);

    siglen = sizeof(der);
    ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, key);
    EVP_DigestSign(ctx, der, &siglen, out, ATTEST_SNP_SIGNED_SIZE);
    EVP_MD_CTX_free(ctx);

    q = der;
    sig = d2i_ECDSA_SIG(NULL, &q, (long) siglen);
    BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), out + 0x2a0, 72);
    BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), out + 0x2e8, 72);
    ECDSA_SIG_free(sig);
}


/* a document around a report, with the simulated certificates */
static size_t
make_doc(const uint8_t *report, const uint8_t *k, size_t kn,
    uint64_t not_after, const char *platform_dir, uint8_t *out, size_t cap)
{
    size_t         len;
    uint8_t       *leaf, *root;
    attest_doc_t   d;
    attest_blob_t  certs[2];

    leaf = read_der(platform_dir, "sim-vcek.pem", &certs[0].n);
    root = read_der(platform_dir, "sim-root.pem", &certs[1].n);
    certs[0].p = leaf;
    certs[1].p = root;

    memset(&d, 0, sizeof(d));
    d.platform = ATTEST_PLATFORM_SIMULATED;
    d.not_after = not_after;
    d.ohttp_keys.p = k;
    d.ohttp_keys.n = kn;
    d.evidence.p = report;
    d.evidence.n = ATTEST_SNP_REPORT_SIZE;
    d.certs = certs;
    d.ncerts = 2;

    len = 0;
    if (attest_doc_build(&d, out, cap, &len) != ATTEST_OK) {
        len = 0;
    }

    OPENSSL_free(leaf);
    OPENSSL_free(root);
    return len;
}


static void
check(attest_err_t got, attest_err_t want, const char *what)
{
    ok(got == want, "%s: %s (got %s)", what, attest_strerror(want),
       attest_strerror(got));
}


static X509 *
forged_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer, const char *cn,
    int ca)
{
    X509            *x;
    X509_NAME       *name;
    X509V3_CTX       ctx;
    X509_EXTENSION  *ext;

    x = X509_new();
    name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *) cn, -1, -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(x, key);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                              ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, signer, EVP_sha384());
    X509_NAME_free(name);
    return x;
}


/* AMD's names under a root nobody pinned */
static void
forged_amd_chain(const uint8_t *report)
{
    int                i, len;
    X509              *c[3];
    EVP_PKEY          *k[3];
    attest_blob_t      b[3];
    unsigned char     *der[3];
    attest_evidence_t  ev;

    for (i = 0; i < 3; i++) {
        k[i] = EVP_EC_gen("P-384");
    }

    c[2] = forged_cert(k[2], k[2], NULL, "ARK-Milan", 1);
    c[1] = forged_cert(k[1], k[2], c[2], "SEV-Milan", 1);
    c[0] = forged_cert(k[0], k[1], c[1], "SEV-VCEK", 0);

    for (i = 0; i < 3; i++) {
        der[i] = NULL;
        len = i2d_X509(c[i], &der[i]);
        b[i].p = der[i];
        b[i].n = (size_t) len;
    }

    check(attest_snp_verify(report, ATTEST_SNP_REPORT_SIZE, b, 3, NULL,
                            time(NULL), &ev, NULL, 0),
          ATTEST_ERR_UNKNOWN_ROOT, "AMD names under an unpinned root");

    for (i = 0; i < 3; i++) {
        OPENSSL_free(der[i]);
        X509_free(c[i]);
        EVP_PKEY_free(k[i]);
    }
}


int
main(void)
{
    char                 path[512], msg[256], hex[65];
    size_t               n;
    time_t               now;
    uint8_t              report[ATTEST_SNP_REPORT_SIZE], fp[32], *der;
    uint8_t             *big;
    EVP_PKEY            *key;
    struct stat          st;
    attest_err_t         rc;
    attest_sim_t        *sim;
    attest_policy_t     *allow, *by_path, *other, *aged, *dbg, *vm;
    attest_verdict_t     v;
    attest_doc_parsed_t  pd;
    attest_snp_report_t  r, base;
    unsigned int         fplen;
    const unsigned char *q;
    X509                *x;

    snprintf(dir, sizeof(dir), "/tmp/confer-sim-XXXXXX");
    snprintf(dir2, sizeof(dir2), "/tmp/confer-sim2-XXXXXX");
    if (mkdtemp(dir) == NULL || mkdtemp(dir2) == NULL) {
        skip_all("no temporary directory");
    }

    now = time(NULL);

    /* init */
    check(attest_sim_init(dir, msg, sizeof(msg)), ATTEST_OK, "init");
    snprintf(path, sizeof(path), "%s/sim-vcek.key", dir);
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
       "the leaf key is mode 0600");
    snprintf(path, sizeof(path), "%s/sim-root.key", dir);
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
       "the root key is mode 0600");
    ok(attest_sim_init(dir, msg, sizeof(msg)) != ATTEST_OK,
       "init refuses to overwrite (%s)", msg);
    check(attest_sim_init(dir2, msg, sizeof(msg)), ATTEST_OK,
          "a second platform");

    der = read_der(dir, "sim-root.pem", &n);
    q = der;
    x = d2i_X509(NULL, &q, (long) n);
    X509_NAME_oneline(X509_get_subject_name(x), msg, sizeof(msg));
    ok(strstr(msg, "SIMULATED") != NULL, "the root says SIMULATED: %s", msg);
    fplen = 32;
    X509_digest(x, EVP_sha256(), fp, &fplen);
    X509_free(x);
    OPENSSL_free(der);
    for (n = 0; n < 32; n++) {
        snprintf(hex + 2 * n, 3, "%02x", fp[n]);
    }

    /* a document */
    check(attest_sim_load(dir2 + 0, &sim, msg, sizeof(msg)), ATTEST_OK,
          "load");
    attest_sim_free(sim);
    ok(attest_sim_load("/nonexistent", &sim, msg, sizeof(msg)) != ATTEST_OK,
       "load of a missing directory fails (%s)", msg);
    check(attest_sim_load(dir, &sim, msg, sizeof(msg)), ATTEST_OK, "load");

    n = 0;
    check(attest_sim_document(sim, keys, sizeof(keys), now + 600, doc, 10,
                              &n), ATTEST_ERR_NOMEM, "a small buffer");
    ok(n > 100, "the size needed is reported (%zu)", n);
    check(attest_sim_document(sim, keys, sizeof(keys), now + 600, doc,
                              sizeof(doc), &doc_len), ATTEST_OK, "document");
    attest_sim_free(sim);

    check(attest_doc_parse(doc, doc_len, &pd, msg, sizeof(msg)), ATTEST_OK,
          "the document parses");
    ok(pd.platform == ATTEST_PLATFORM_SIMULATED && pd.ncerts == 2
       && pd.evidence.n == ATTEST_SNP_REPORT_SIZE,
       "platform simulated, certs [leaf, root], an SNP-sized report");
    check(attest_snp_parse(pd.evidence.p, pd.evidence.n, &base, NULL, 0),
          ATTEST_OK, "the report parses");
    is_int(base.version, 3, "the SNP v3 layout");
    attest_doc_parsed_free(&pd);

    /* verification */
    allow = policy("{\"allow_simulated\": true, \"simulated_root\": "
                   "\"sha256:%s\"}", hex);
    snprintf(path, sizeof(path), "%s/sim-root.pem", dir);
    by_path = policy("{\"allow_simulated\": true, \"simulated_root\": "
                     "\"%s\"}", path);
    snprintf(path, sizeof(path), "%s/sim-root.pem", dir2);
    other = policy("{\"allow_simulated\": true, \"simulated_root\": "
                   "\"%s\"}", path);
    aged = policy("{\"allow_simulated\": true, \"max_age\": 60, "
                  "\"simulated_root\": \"sha256:%s\"}", hex);
    dbg = policy("{\"allow_simulated\": true, \"allow_debug\": true, "
                 "\"simulated_root\": \"sha256:%s\"}", hex);
    vm = policy("{\"allow_simulated\": true, \"sev-snp\": {\"max_vmpl\": 0},"
                " \"simulated_root\": \"sha256:%s\"}", hex);
    ok(allow && by_path && other && aged && dbg && vm, "policies parse");

    check(attest_verify_document(doc, doc_len, NULL, now, &v),
          ATTEST_ERR_POLICY_SIMULATED, "the default policy");
    check(attest_verify_document(doc, doc_len, allow, now, &v), ATTEST_OK,
          "allowed, root pinned by fingerprint");
    is_mem(v.ohttp_keys, v.ohttp_keys_len, keys, sizeof(keys),
           "the verdict holds the verified ohttp_keys");
    is_int(v.ev.platform, ATTEST_PLATFORM_SIMULATED, "platform simulated");
    is_int((long long) v.not_after, now + 600, "not_after");
    is_int((long long) v.valid_until, now + 600, "valid until not_after");
    ok(strstr(v.detail, "simulated") != NULL, "detail: %s", v.detail);
    check(attest_verify_document(doc, doc_len, by_path, now, &v), ATTEST_OK,
          "allowed, root pinned by path");
    check(attest_verify_document(doc, doc_len, other, now, &v),
          ATTEST_ERR_UNKNOWN_ROOT, "another simulated root pinned");
    check(attest_verify_document(doc, doc_len, aged, now, &v), ATTEST_OK,
          "max_age 60");
    is_int((long long) v.valid_until, now + 60, "valid for max_age");
    check(attest_verify_document(doc, doc_len, allow, now + 601, &v),
          ATTEST_ERR_DOC_EXPIRED, "past not_after");

    /* the same evidence with other keys or another not_after */
    check(attest_doc_parse(doc, doc_len, &pd, NULL, 0), ATTEST_OK, "parse");
    memcpy(report, pd.evidence.p, sizeof(report));
    attest_doc_parsed_free(&pd);
    big = malloc(65536);

    n = make_doc(report, keys, sizeof(keys) - 1, now + 600, dir, big, 65536);
    check(attest_verify_document(big, n, allow, now, &v),
          ATTEST_ERR_BINDING, "other ohttp_keys");
    n = make_doc(report, keys, sizeof(keys), now + 601, dir, big, 65536);
    check(attest_verify_document(big, n, allow, now, &v),
          ATTEST_ERR_BINDING, "another not_after");
    n = make_doc(report, keys, sizeof(keys), now + 600, dir, big, 65536);
    check(attest_verify_document(big, n, allow, now, &v), ATTEST_OK,
          "rebuilt unchanged");

    /* reports signed by the simulated key, one thing wrong each */
    key = read_key(dir, "sim-vcek.key");

    r = base;
    attest_binding(keys, sizeof(keys), now + 600, r.report_data);
    r.reported_tcb ^= 1;
    sign_report(key, &r, report);
    n = make_doc(report, keys, sizeof(keys), now + 600, dir, big, 65536);
    check(attest_verify_document(big, n, allow, now, &v),
          ATTEST_ERR_TCB_MISMATCH, "reported TCB is not the leaf's");

    r = base;
    r.chip_id[63] ^= 1;
    sign_report(key, &r, report);
    n = make_doc(report, keys, sizeof(keys), now + 600, dir, big, 65536);
    check(attest_verify_document(big, n, allow, now, &v),
          ATTEST_ERR_CHIP_ID, "chip id is not the leaf's hwID");

    r = base;
    r.policy |= ATTEST_SNP_POLICY_DEBUG;
    sign_report(key, &r, report);
    n = make_doc(report, keys, sizeof(keys), now + 600, dir, big, 65536);
    check(attest_verify_document(big, n, allow, now, &v),
          ATTEST_ERR_POLICY_DEBUG, "a debug guest");
    check(attest_verify_document(big, n, dbg, now, &v), ATTEST_OK,
          "a debug guest under allow_debug");
    ok(v.ev.debug, "the verdict says debug");

    r = base;
    r.vmpl = 2;
    sign_report(key, &r, report);
    n = make_doc(report, keys, sizeof(keys), now + 600, dir, big, 65536);
    check(attest_verify_document(big, n, allow, now, &v), ATTEST_OK,
          "VMPL 2 without a VMPL rule");
    check(attest_verify_document(big, n, vm, now, &v),
          ATTEST_ERR_POLICY_VMPL, "VMPL 2 over max_vmpl 0");

    r = base;
    r.signer_info = 1 << 2;
    sign_report(key, &r, report);
    n = make_doc(report, keys, sizeof(keys), now + 600, dir, big, 65536);
    check(attest_verify_document(big, n, allow, now, &v), ATTEST_ERR_CERT,
          "a simulated report claiming a VLEK");

    /* signed by the second platform's key, with the first's certs */
    EVP_PKEY_free(key);
    key = read_key(dir2, "sim-vcek.key");
    sign_report(key, &base, report);
    n = make_doc(report, keys, sizeof(keys), now + 600, dir, big, 65536);
    check(attest_verify_document(big, n, allow, now, &v),
          ATTEST_ERR_SIGNATURE, "signed by another simulated key");
    EVP_PKEY_free(key);

    forged_amd_chain(report);

    /* evidence checked as real SNP evidence */
    check(attest_doc_parse(doc, doc_len, &pd, NULL, 0), ATTEST_OK, "parse");
    rc = attest_snp_verify(pd.evidence.p, pd.evidence.n, pd.certs,
                           pd.ncerts, NULL, now, &v.ev, msg, sizeof(msg));
    ok(rc != ATTEST_OK, "simulated evidence is not SEV-SNP evidence (%s)",
       attest_strerror(rc));
    attest_doc_parsed_free(&pd);

    free(big);
    attest_policy_free(allow);
    attest_policy_free(by_path);
    attest_policy_free(other);
    attest_policy_free(aged);
    attest_policy_free(dbg);
    attest_policy_free(vm);

    snprintf(path, sizeof(path), "rm -rf %s %s", dir, dir2);
    if (system(path) != 0) {
        diag("could not remove %s", dir);
    }

    return done_testing();
}
