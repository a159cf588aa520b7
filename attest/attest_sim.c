/*
 * attest/: the simulated platform, for development and tests only.
 *
 * A directory holds a P-384 root (sim-root.pem, sim-root.key) and a
 * VCEK-like leaf (sim-vcek.pem, sim-vcek.key) signed by it, both named
 * SIMULATED.  The leaf carries the AMD VCEK extensions (productName
 * "SIMULATED", TCB, hwID), so that simulated reports, laid out as SNP
 * version 3 reports, go through the very checks real ones do; only the
 * pinned root differs, and a policy must name it (allow_simulated,
 * simulated_root).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "attest_int.h"
#include "attest_snp.h"
#include "attest_x509.h"


#define ATTEST_SIM_ROOT_CERT  "sim-root.pem"
#define ATTEST_SIM_ROOT_KEY   "sim-root.key"
#define ATTEST_SIM_LEAF_CERT  "sim-vcek.pem"
#define ATTEST_SIM_LEAF_KEY   "sim-vcek.key"

#define ATTEST_SIM_AMD_OID    "1.3.6.1.4.1.3704.1."


struct attest_sim_s {
    EVP_PKEY          *key;
    uint8_t           *leaf_der;
    size_t             leaf_len;
    uint8_t           *root_der;
    size_t             root_len;
    attest_snp_tcb_t   tcb;
    uint8_t            chip_id[64];
};


static attest_err_t attest_sim_fail(char *msg, size_t n, attest_err_t rc,
    const char *fmt, const char *arg);
static int attest_sim_ext(X509 *x, const char *arc, const uint8_t *der,
    size_t n);
static X509 *attest_sim_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer,
    const char *cn, long days, const uint8_t *hwid);
static attest_err_t attest_sim_write(const char *dir, const char *name,
    X509 *cert, EVP_PKEY *key, char *msg, size_t n);
static X509 *attest_sim_read_cert(const char *path);


static const attest_snp_tcb_t  attest_sim_tcb = { 1, 0, 1, 1, 0 };


static attest_err_t
attest_sim_fail(char *msg, size_t n, attest_err_t rc, const char *fmt,
    const char *arg)
{
    if (msg != NULL && n > 0) {
        snprintf(msg, n, fmt, arg, strerror(errno));
    }

    return rc;
}


/* a private extension whose value is the given DER */
static int
attest_sim_ext(X509 *x, const char *arc, const uint8_t *der, size_t n)
{
    int                 ok;
    char                oid[64];
    ASN1_OBJECT        *obj;
    X509_EXTENSION     *ext;
    ASN1_OCTET_STRING  *val;

    snprintf(oid, sizeof(oid), "%s%s", ATTEST_SIM_AMD_OID, arc);

    obj = OBJ_txt2obj(oid, 1);
    val = ASN1_OCTET_STRING_new();
    ext = NULL;

    ok = obj != NULL && val != NULL
         && ASN1_OCTET_STRING_set(val, der, (int) n)
         && (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, val)) != NULL
         && X509_add_ext(x, ext, -1);

    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(val);
    ASN1_OBJECT_free(obj);

    return ok;
}


static X509 *
attest_sim_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer,
    const char *cn, long days, const uint8_t *hwid)
{
    int              ok;
    X509            *x;
    uint8_t          der[3];
    uint64_t         serial;
    X509_NAME       *name;
    X509V3_CTX       ctx;
    X509_EXTENSION  *ext;
    static const uint8_t  product[] = {
        0x16, 0x09, 'S', 'I', 'M', 'U', 'L', 'A', 'T', 'E', 'D'
    };

    x = X509_new();
    name = X509_NAME_new();

    if (x == NULL || name == NULL) {
        goto failed;
    }

    if (RAND_bytes((unsigned char *) &serial, sizeof(serial)) != 1) {
        goto failed;
    }

    ok = X509_set_version(x, 2)
         && ASN1_INTEGER_set_uint64(X509_get_serialNumber(x),
                                    (serial >> 1) | 1)
         && X509_gmtime_adj(X509_getm_notBefore(x), -3600)
         && X509_gmtime_adj(X509_getm_notAfter(x), days * 86400)
         && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                (const unsigned char *) "confer SIMULATED, not a TEE", -1,
                -1, 0)
         && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                       (const unsigned char *) cn, -1, -1, 0)
         && X509_set_subject_name(x, name)
         && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
                                           : name)
         && X509_set_pubkey(x, key);

    if (!ok) {
        goto failed;
    }

    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);

    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                              issuer ? "critical,CA:FALSE"
                                     : "critical,CA:TRUE");
    ok = ext != NULL && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);

    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, issuer
                              ? "critical,digitalSignature"
                              : "critical,keyCertSign,cRLSign");
    ok = ok && ext != NULL && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);

    if (issuer != NULL) {
        /* the VCEK extensions (VCEK specification, 3) */
        der[0] = 0x02;
        der[1] = 0x01;

        der[2] = 1;
        ok = ok && attest_sim_ext(x, "1", der, 3);
        ok = ok && attest_sim_ext(x, "2", product, sizeof(product));
        der[2] = attest_sim_tcb.bootloader;
        ok = ok && attest_sim_ext(x, "3.1", der, 3);
        der[2] = attest_sim_tcb.tee;
        ok = ok && attest_sim_ext(x, "3.2", der, 3);
        der[2] = attest_sim_tcb.snp;
        ok = ok && attest_sim_ext(x, "3.3", der, 3);
        der[2] = attest_sim_tcb.microcode;
        ok = ok && attest_sim_ext(x, "3.8", der, 3);
        ok = ok && attest_sim_ext(x, "4", hwid, 64);
    }

    if (!ok || !X509_sign(x, signer, EVP_sha384())) {
        goto failed;
    }

    X509_NAME_free(name);
    return x;

failed:

    X509_NAME_free(name);
    X509_free(x);
    return NULL;
}


static attest_err_t
attest_sim_write(const char *dir, const char *name, X509 *cert,
    EVP_PKEY *key, char *msg, size_t n)
{
    int    fd, ok;
    char   path[4096];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    /* keys are secrets of the simulated machine: mode 0600, never
     * overwritten */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, key ? 0600 : 0644);
    if (fd < 0) {
        return attest_sim_fail(msg, n, ATTEST_ERR_INPUT, "%s: %s", path);
    }

    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return attest_sim_fail(msg, n, ATTEST_ERR_INPUT, "%s: %s", path);
    }

    ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
             : PEM_write_X509(f, cert);

    if (fclose(f) != 0 || !ok) {
        return attest_sim_fail(msg, n, ATTEST_ERR_INPUT, "%s: %s", path);
    }

    return ATTEST_OK;
}


attest_err_t
attest_sim_init(const char *dir, char *msg, size_t msg_len)
{
    char          path[4096], *s;
    X509          *root, *leaf;
    uint8_t        hwid[64];
    EVP_PKEY      *root_key, *leaf_key;
    attest_err_t   rc;

    /* like mkdir -p */
    snprintf(path, sizeof(path), "%s", dir);

    for (s = path + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            if (*s == '/') {
                *s = '\0';
            }

            if (mkdir(path, 0700) != 0 && errno != EEXIST) {
                return attest_sim_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                       "%s: %s", path);
            }

            if (strlen(path) == strlen(dir)) {
                break;
            }

            *s = '/';
        }
    }

    root = NULL;
    leaf = NULL;
    root_key = EVP_EC_gen("P-384");
    leaf_key = EVP_EC_gen("P-384");

    rc = ATTEST_ERR_INTERNAL;

    if (root_key == NULL || leaf_key == NULL
        || RAND_bytes(hwid, sizeof(hwid)) != 1)
    {
        goto done;
    }

    root = attest_sim_cert(root_key, root_key, NULL,
                           "SIMULATED confer root", 20 * 365, NULL);
    if (root == NULL) {
        goto done;
    }

    leaf = attest_sim_cert(leaf_key, root_key, root, "SIMULATED SEV-VCEK",
                           10 * 365, hwid);
    if (leaf == NULL) {
        goto done;
    }

    rc = attest_sim_write(dir, ATTEST_SIM_ROOT_KEY, NULL, root_key, msg,
                          msg_len);
    if (rc == ATTEST_OK) {
        rc = attest_sim_write(dir, ATTEST_SIM_LEAF_KEY, NULL, leaf_key, msg,
                              msg_len);
    }
    if (rc == ATTEST_OK) {
        rc = attest_sim_write(dir, ATTEST_SIM_ROOT_CERT, root, NULL, msg,
                              msg_len);
    }
    if (rc == ATTEST_OK) {
        rc = attest_sim_write(dir, ATTEST_SIM_LEAF_CERT, leaf, NULL, msg,
                              msg_len);
    }

done:

    if (rc == ATTEST_ERR_INTERNAL && msg != NULL && msg_len > 0) {
        snprintf(msg, msg_len, "OpenSSL could not make the keys");
    }

    ERR_clear_error();
    X509_free(root);
    X509_free(leaf);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(leaf_key);
    return rc;
}


static X509 *
attest_sim_read_cert(const char *path)
{
    X509  *x;
    FILE  *f;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}


attest_err_t
attest_sim_load(const char *dir, attest_sim_t **out, char *msg,
    size_t msg_len)
{
    int                len;
    char               path[4096];
    FILE              *f;
    X509              *leaf, *root;
    uint8_t           *der;
    attest_err_t       rc;
    attest_sim_t      *sim;
    attest_amd_ext_t   ext;

    *out = NULL;

    sim = calloc(1, sizeof(attest_sim_t));
    if (sim == NULL) {
        return ATTEST_ERR_NOMEM;
    }

    snprintf(path, sizeof(path), "%s/%s", dir, ATTEST_SIM_LEAF_KEY);

    f = fopen(path, "rb");
    if (f != NULL) {
        sim->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }

    snprintf(path, sizeof(path), "%s/%s", dir, ATTEST_SIM_LEAF_CERT);
    leaf = attest_sim_read_cert(path);
    snprintf(path, sizeof(path), "%s/%s", dir, ATTEST_SIM_ROOT_CERT);
    root = attest_sim_read_cert(path);

    rc = ATTEST_ERR_INPUT;

    if (sim->key == NULL || leaf == NULL || root == NULL
        || X509_check_private_key(leaf, sim->key) != 1
        || attest_x509_amd_ext(leaf, &ext) != ATTEST_OK
        || ext.hwid_len != 64)
    {
        if (msg != NULL && msg_len > 0) {
            snprintf(msg, msg_len, "%s does not hold a simulated platform "
                     "(confer-attest simulate init DIR)", dir);
        }
        goto done;
    }

    sim->tcb.bootloader = (uint8_t) ext.tcb[ATTEST_AMD_TCB_BL];
    sim->tcb.tee = (uint8_t) ext.tcb[ATTEST_AMD_TCB_TEE];
    sim->tcb.snp = (uint8_t) ext.tcb[ATTEST_AMD_TCB_SNP];
    sim->tcb.microcode = (uint8_t) ext.tcb[ATTEST_AMD_TCB_UCODE];
    memcpy(sim->chip_id, ext.hwid, 64);

    der = NULL;
    len = i2d_X509(leaf, &der);
    sim->leaf_der = der;
    sim->leaf_len = len > 0 ? (size_t) len : 0;

    der = NULL;
    len = i2d_X509(root, &der);
    sim->root_der = der;
    sim->root_len = len > 0 ? (size_t) len : 0;

    if (sim->leaf_len == 0 || sim->root_len == 0) {
        rc = ATTEST_ERR_NOMEM;
        goto done;
    }

    rc = ATTEST_OK;

done:

    ERR_clear_error();
    X509_free(leaf);
    X509_free(root);

    if (rc != ATTEST_OK) {
        attest_sim_free(sim);
        return rc;
    }

    *out = sim;
    return ATTEST_OK;
}


void
attest_sim_free(attest_sim_t *sim)
{
    if (sim == NULL) {
        return;
    }

    EVP_PKEY_free(sim->key);
    OPENSSL_free(sim->leaf_der);
    OPENSSL_free(sim->root_der);
    free(sim);
}


attest_err_t
attest_sim_document(const attest_sim_t *sim, const uint8_t *ohttp_keys,
    size_t n, uint64_t not_after, uint8_t *out, size_t cap, size_t *len)
{
    int                   ok;
    size_t                siglen;
    uint8_t               report[ATTEST_SNP_REPORT_SIZE], der[128];
    EVP_MD_CTX           *ctx;
    ECDSA_SIG            *sig;
    attest_doc_t          doc;
    attest_blob_t         certs[2];
    const uint8_t        *q;
    attest_snp_report_t   r;

    *len = 0;

    if (n == 0 || n > ATTEST_MAX_OHTTP_KEYS) {
        return ATTEST_ERR_INPUT;
    }

    /* an SNP version 3 report as a guest at VMPL 0 would get it */
    memset(&r, 0, sizeof(r));
    r.version = 3;
    r.policy = 1ull << 17 | 1ull << 16;
    r.signature_algo = 1;
    r.current_tcb = attest_snp_tcb_encode(&sim->tcb,
                                          ATTEST_SNP_PRODUCT_UNKNOWN);
    r.reported_tcb = r.current_tcb;
    r.committed_tcb = r.current_tcb;
    r.launch_tcb = r.current_tcb;
    attest_binding(ohttp_keys, n, not_after, r.report_data);
    memcpy(r.chip_id, sim->chip_id, 64);
    memset(r.report_id_ma, 0xff, 32);
    r.current_major = 1;
    r.current_minor = 55;
    r.committed_major = 1;
    r.committed_minor = 55;

    if (RAND_bytes(r.report_id, 32) != 1) {
        return ATTEST_ERR_INTERNAL;
    }

    attest_snp_put(report, &r);

    siglen = sizeof(der);
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL
         && EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, sim->key) == 1
         && EVP_DigestSign(ctx, der, &siglen, report,
                           ATTEST_SNP_SIGNED_SIZE) == 1;
    EVP_MD_CTX_free(ctx);

    q = der;
    sig = ok ? d2i_ECDSA_SIG(NULL, &q, (long) siglen) : NULL;

    if (sig == NULL) {
        ERR_clear_error();
        return ATTEST_ERR_INTERNAL;
    }

    /* ABI spec, Table 136: R and S little-endian, zero-extended to 72 */
    ok = BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), report + 0x2a0, 72) == 72
         && BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), report + 0x2e8, 72) == 72;
    ECDSA_SIG_free(sig);

    if (!ok) {
        return ATTEST_ERR_INTERNAL;
    }

    certs[0].p = sim->leaf_der;
    certs[0].n = sim->leaf_len;
    certs[1].p = sim->root_der;
    certs[1].n = sim->root_len;

    memset(&doc, 0, sizeof(doc));
    doc.platform = ATTEST_PLATFORM_SIMULATED;
    doc.not_after = not_after;
    doc.ohttp_keys.p = ohttp_keys;
    doc.ohttp_keys.n = n;
    doc.evidence.p = report;
    doc.evidence.n = sizeof(report);
    doc.certs = certs;
    doc.ncerts = 2;

    return attest_doc_build(&doc, out, cap, len);
}
