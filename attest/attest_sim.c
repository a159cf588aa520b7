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
 *
 * Below the same root, an NVIDIA-like device chain for simulated GPUs:
 * "SIMULATED GH100 Identity" <- "SIMULATED GH100 Provisioner ICA 1" <-
 * "SIMULATED GH100 A01 GSP BROM" (sim-gpu-ca.pem, BROM first; its key
 * sim-gpu-brom.key signs a fresh "SIMULATED GH100 A01 GSP FMC LF" leaf
 * per simulated GPU), so that simulated GPU evidence has the five
 * certificates and the SPDM 1.1 layout of real evidence.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/buffer.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "attest_gpu.h"
#include "attest_int.h"
#include "attest_snp.h"
#include "attest_x509.h"


#define ATTEST_SIM_ROOT_CERT  "sim-root.pem"
#define ATTEST_SIM_ROOT_KEY   "sim-root.key"
#define ATTEST_SIM_LEAF_CERT  "sim-vcek.pem"
#define ATTEST_SIM_LEAF_KEY   "sim-vcek.key"

#define ATTEST_SIM_GPU_CA     "sim-gpu-ca.pem"
#define ATTEST_SIM_GPU_KEY    "sim-gpu-brom.key"

#define ATTEST_SIM_AMD_OID    "1.3.6.1.4.1.3704.1."
#define ATTEST_SIM_DICE_OID   "2.23.133.5.4.1"

#define ATTEST_SIM_GPU_BLOCKS  8
#define ATTEST_SIM_GPU_DRIVER  "570.86.15"


struct attest_sim_s {
    EVP_PKEY          *key;
    uint8_t           *leaf_der;
    size_t             leaf_len;
    uint8_t           *root_der;
    size_t             root_len;
    attest_snp_tcb_t   tcb;
    uint8_t            chip_id[64];

    /* the simulated GPUs; NULL for a directory made before them */
    EVP_PKEY          *gpu_key;          /* the SIMULATED BROM's */
    X509              *gpu_brom;
    char              *gpu_chain;        /* PEM: BROM, ICA, Identity,
                                            root */
    size_t             gpu_chain_len;
};


static attest_err_t attest_sim_fail(char *msg, size_t n, attest_err_t rc,
    const char *fmt, const char *arg);
static int attest_sim_ext(X509 *x, const char *oid, const uint8_t *der,
    size_t n);
static X509 *attest_sim_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer,
    const char *cn, long days, int ca, const uint8_t *hwid,
    const uint8_t *fwid);
static attest_err_t attest_sim_write(const char *dir, const char *name,
    X509 **certs, size_t ncerts, EVP_PKEY *key, char *msg, size_t n);
static X509 *attest_sim_read_cert(const char *path);
static attest_err_t attest_sim_load_gpu(const char *dir, attest_sim_t *sim);
static void attest_sim_gpu_fwid(uint8_t fwid[48]);
static attest_err_t attest_sim_gpu_report(EVP_PKEY *key,
    const uint8_t nonce[32], const uint8_t fwid[48], uint8_t *out,
    size_t cap, size_t *len);
static attest_err_t attest_sim_doc(const attest_sim_t *sim,
    const uint8_t *ohttp_keys, size_t n, uint64_t not_after,
    const uint8_t *gpu, size_t gpu_len, uint8_t *out, size_t cap,
    size_t *len);


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


/* a private extension whose value is the given DER; oid is an AMD VCEK
 * arc ("3.1") or a whole OID ("2.23.133.5.4.1") */
static int
attest_sim_ext(X509 *x, const char *arc, const uint8_t *der, size_t n)
{
    int                 ok;
    char                oid[64];
    ASN1_OBJECT        *obj;
    X509_EXTENSION     *ext;
    ASN1_OCTET_STRING  *val;

    snprintf(oid, sizeof(oid), "%s%s",
             strncmp(arc, "2.", 2) == 0 ? "" : ATTEST_SIM_AMD_OID, arc);

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


/* a root (issuer NULL), a CA (ca), a VCEK-like leaf (hwid) or a GPU FMC
 * leaf (fwid) */
static X509 *
attest_sim_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer,
    const char *cn, long days, int ca, const uint8_t *hwid,
    const uint8_t *fwid)
{
    int              ok;
    X509            *x;
    uint8_t          der[3], dice[2 + 3 + 2 + 11 + 2 + 48];
    uint64_t         serial;
    X509_NAME       *name;
    X509V3_CTX       ctx;
    X509_EXTENSION  *ext;
    static const uint8_t  product[] = {
        0x16, 0x09, 'S', 'I', 'M', 'U', 'L', 'A', 'T', 'E', 'D'
    };
    /* TCG DICE TcbInfo as NVIDIA fills it: SEQUENCE { version,
     * FWID ::= SEQUENCE { id-sha384, OCTET STRING } } */
    static const uint8_t  dice_head[] = {
        0x30, 0x42, 0x02, 0x01, 0x01, 0x30, 0x3d,
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
        0x04, 0x30
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

    ca = ca || issuer == NULL;

    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                              ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    ok = ext != NULL && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);

    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, ca
                              ? "critical,keyCertSign,cRLSign"
                              : "critical,digitalSignature");
    ok = ok && ext != NULL && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);

    if (fwid != NULL) {
        memcpy(dice, dice_head, sizeof(dice_head));
        memcpy(dice + sizeof(dice_head), fwid, 48);
        ok = ok && attest_sim_ext(x, ATTEST_SIM_DICE_OID, dice,
                                  sizeof(dice_head) + 48);
    }

    if (hwid != NULL) {
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
attest_sim_write(const char *dir, const char *name, X509 **certs,
    size_t ncerts, EVP_PKEY *key, char *msg, size_t n)
{
    int     fd, ok;
    char    path[4096];
    FILE   *f;
    size_t  i;

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

    ok = 1;

    if (key != NULL) {
        ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    }

    for (i = 0; i < ncerts; i++) {
        ok = ok && PEM_write_X509(f, certs[i]);
    }

    if (fclose(f) != 0 || !ok) {
        return attest_sim_fail(msg, n, ATTEST_ERR_INPUT, "%s: %s", path);
    }

    return ATTEST_OK;
}


attest_err_t
attest_sim_init(const char *dir, char *msg, size_t msg_len)
{
    char          path[4096], *s;
    X509          *root, *leaf, *gpu[3];
    size_t         i;
    uint8_t        hwid[64];
    EVP_PKEY      *root_key, *leaf_key, *gpu_key[3];
    attest_err_t   rc;
    static const char  *gpu_cn[3] = {
        "SIMULATED GH100 A01 GSP BROM", "SIMULATED GH100 Provisioner ICA 1",
        "SIMULATED GH100 Identity"
    };

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
    memset(gpu, 0, sizeof(gpu));
    root_key = EVP_EC_gen("P-384");
    leaf_key = EVP_EC_gen("P-384");

    for (i = 0; i < 3; i++) {
        gpu_key[i] = EVP_EC_gen("P-384");
    }

    rc = ATTEST_ERR_INTERNAL;

    if (root_key == NULL || leaf_key == NULL || gpu_key[0] == NULL
        || gpu_key[1] == NULL || gpu_key[2] == NULL
        || RAND_bytes(hwid, sizeof(hwid)) != 1)
    {
        goto done;
    }

    root = attest_sim_cert(root_key, root_key, NULL,
                           "SIMULATED confer root", 20 * 365, 1, NULL, NULL);
    if (root == NULL) {
        goto done;
    }

    leaf = attest_sim_cert(leaf_key, root_key, root, "SIMULATED SEV-VCEK",
                           10 * 365, 0, hwid, NULL);
    if (leaf == NULL) {
        goto done;
    }

    /* Identity <- root, ICA <- Identity, BROM <- ICA */
    for (i = 3; i-- > 0; ) {
        gpu[i] = attest_sim_cert(gpu_key[i], i == 2 ? root_key
                                                    : gpu_key[i + 1],
                                 i == 2 ? root : gpu[i + 1], gpu_cn[i],
                                 10 * 365, 1, NULL, NULL);
        if (gpu[i] == NULL) {
            goto done;
        }
    }

    rc = attest_sim_write(dir, ATTEST_SIM_ROOT_KEY, NULL, 0, root_key, msg,
                          msg_len);
    if (rc == ATTEST_OK) {
        rc = attest_sim_write(dir, ATTEST_SIM_LEAF_KEY, NULL, 0, leaf_key,
                              msg, msg_len);
    }
    if (rc == ATTEST_OK) {
        rc = attest_sim_write(dir, ATTEST_SIM_GPU_KEY, NULL, 0, gpu_key[0],
                              msg, msg_len);
    }
    if (rc == ATTEST_OK) {
        rc = attest_sim_write(dir, ATTEST_SIM_ROOT_CERT, &root, 1, NULL, msg,
                              msg_len);
    }
    if (rc == ATTEST_OK) {
        rc = attest_sim_write(dir, ATTEST_SIM_LEAF_CERT, &leaf, 1, NULL, msg,
                              msg_len);
    }
    if (rc == ATTEST_OK) {
        rc = attest_sim_write(dir, ATTEST_SIM_GPU_CA, gpu, 3, NULL, msg,
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

    for (i = 0; i < 3; i++) {
        X509_free(gpu[i]);
        EVP_PKEY_free(gpu_key[i]);
    }

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

    /* the GPU chain is optional: directories made before it still load,
     * and attest_sim_gpu_evidence() says not_supported for them */
    rc = attest_sim_load_gpu(dir, sim);

    if (rc != ATTEST_OK && msg != NULL && msg_len > 0) {
        snprintf(msg, msg_len, "%s: the simulated GPU chain (%s, %s) is "
                 "damaged", dir, ATTEST_SIM_GPU_CA, ATTEST_SIM_GPU_KEY);
    }

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


/* sim-gpu-brom.key and sim-gpu-ca.pem (BROM, ICA, Identity), then the
 * root, as one PEM chain without the leaf */
static attest_err_t
attest_sim_load_gpu(const char *dir, attest_sim_t *sim)
{
    int        ok;
    char       path[4096];
    BIO       *mem;
    FILE      *f;
    X509      *x, *root;
    size_t     i;
    uint8_t   *p;
    BUF_MEM   *bm;

    snprintf(path, sizeof(path), "%s/%s", dir, ATTEST_SIM_GPU_KEY);

    f = fopen(path, "rb");
    if (f == NULL) {
        return ATTEST_OK;
    }

    sim->gpu_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);

    snprintf(path, sizeof(path), "%s/%s", dir, ATTEST_SIM_GPU_CA);

    f = fopen(path, "rb");
    mem = BIO_new(BIO_s_mem());
    ok = f != NULL && mem != NULL && sim->gpu_key != NULL;

    for (i = 0; ok && i < 3; i++) {
        x = PEM_read_X509(f, NULL, NULL, NULL);
        ok = x != NULL && PEM_write_bio_X509(mem, x);

        if (ok && i == 0) {
            ok = X509_check_private_key(x, sim->gpu_key) == 1;
            sim->gpu_brom = x;
            x = NULL;
        }

        X509_free(x);
    }

    if (f != NULL) {
        fclose(f);
    }

    p = sim->root_der;
    root = ok ? d2i_X509(NULL, (const unsigned char **) &p,
                         (long) sim->root_len)
              : NULL;
    ok = ok && root != NULL && PEM_write_bio_X509(mem, root);
    X509_free(root);

    if (ok) {
        BIO_get_mem_ptr(mem, &bm);
        sim->gpu_chain = malloc(bm->length + 1);
        ok = sim->gpu_chain != NULL;

        if (ok) {
            memcpy(sim->gpu_chain, bm->data, bm->length);
            sim->gpu_chain[bm->length] = '\0';
            sim->gpu_chain_len = bm->length;
        }
    }

    BIO_free(mem);
    ERR_clear_error();

    return ok ? ATTEST_OK : ATTEST_ERR_INPUT;
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
    EVP_PKEY_free(sim->gpu_key);
    X509_free(sim->gpu_brom);
    free(sim->gpu_chain);
    free(sim);
}


attest_err_t
attest_sim_document(const attest_sim_t *sim, const uint8_t *ohttp_keys,
    size_t n, uint64_t not_after, uint8_t *out, size_t cap, size_t *len)
{
    return attest_sim_doc(sim, ohttp_keys, n, not_after, NULL, 0, out, cap,
                          len);
}


attest_err_t
attest_sim_document_gpu(const attest_sim_t *sim, const uint8_t *ohttp_keys,
    size_t n, uint64_t not_after, const uint8_t *gpu_json, size_t gpu_len,
    uint8_t *out, size_t cap, size_t *len)
{
    if (gpu_json == NULL || gpu_len == 0) {
        *len = 0;
        return ATTEST_ERR_INPUT;
    }

    return attest_sim_doc(sim, ohttp_keys, n, not_after, gpu_json, gpu_len,
                          out, cap, len);
}


void
attest_sim_gpu_nonce(const uint8_t *ohttp_keys, size_t n,
    uint64_t not_after, uint8_t nonce[32])
{
    uint8_t  rd[64];

    attest_binding(ohttp_keys, n, not_after, rd);
    attest_gpu_nonce(rd, nonce);
}


static attest_err_t
attest_sim_doc(const attest_sim_t *sim, const uint8_t *ohttp_keys,
    size_t n, uint64_t not_after, const uint8_t *gpu, size_t gpu_len,
    uint8_t *out, size_t cap, size_t *len)
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
    doc.gpu.p = gpu;
    doc.gpu.n = gpu_len;

    return attest_doc_build(&doc, out, cap, len);
}


/* the firmware identity every simulated GPU reports */
static void
attest_sim_gpu_fwid(uint8_t fwid[48])
{
    static const char  what[] = "confer SIMULATED GPU firmware";

    if (EVP_Digest(what, sizeof(what) - 1, fwid, NULL, EVP_sha384(), NULL)
        != 1)
    {
        memset(fwid, 0, 48);
    }
}


static void
attest_sim_put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
}


/*
 * DSP0274 1.1.0, 10.11: GET_MEASUREMENTS for all blocks with a
 * signature, and the MEASUREMENTS answer with 8 DMTF blocks, NVIDIA's
 * opaque driver, VBIOS and FWID fields, signed by the device key.
 */
static attest_err_t
attest_sim_gpu_report(EVP_PKEY *key, const uint8_t nonce[32],
    const uint8_t fwid[48], uint8_t *out, size_t cap, size_t *len)
{
    int                  ok;
    char                 what[32];
    size_t               i, l1, l2, k, siglen;
    uint8_t             *q, der[128];
    ECDSA_SIG           *sig;
    EVP_MD_CTX          *ctx;
    const unsigned char *d;
    static const uint8_t  vbios[8] = { 0x00, 0x5a, 0x00, 0x96,
                                       0x01, 0x00, 0x00, 0x00 };

    l1 = ATTEST_SIM_GPU_BLOCKS * (4 + 3 + 48);
    l2 = 4 + sizeof(ATTEST_SIM_GPU_DRIVER) + 4 + 8 + 4 + 48;

    if (cap < 37 + 42 + l1 + l2 + 96) {
        return ATTEST_ERR_NOMEM;
    }

    q = out;
    *q++ = 0x11;
    *q++ = 0xe0;
    *q++ = 0x01;                      /* a signature, please */
    *q++ = 0xff;                      /* every measurement */
    memcpy(q, nonce, 32);
    q += 32;
    *q++ = 0x00;                      /* slot 0 */

    *q++ = 0x11;
    *q++ = 0x60;
    *q++ = 0x00;
    *q++ = 0x00;
    *q++ = ATTEST_SIM_GPU_BLOCKS;
    *q++ = (uint8_t) l1;
    *q++ = (uint8_t) (l1 >> 8);
    *q++ = (uint8_t) (l1 >> 16);

    for (i = 1; i <= ATTEST_SIM_GPU_BLOCKS; i++) {
        *q++ = (uint8_t) i;
        *q++ = 0x01;                  /* DMTF */
        attest_sim_put16(q, 3 + 48);
        q += 2;
        *q++ = 0x01;
        attest_sim_put16(q, 48);
        q += 2;
        k = (size_t) snprintf(what, sizeof(what), "SIMULATED block %zu", i);
        if (EVP_Digest(what, k, q, NULL, EVP_sha384(), NULL) != 1) {
            return ATTEST_ERR_INTERNAL;
        }
        q += 48;
    }

    if (RAND_bytes(q, 32) != 1) {
        return ATTEST_ERR_INTERNAL;
    }
    q += 32;

    attest_sim_put16(q, l2);
    q += 2;

    attest_sim_put16(q, 3);
    attest_sim_put16(q + 2, sizeof(ATTEST_SIM_GPU_DRIVER));
    memcpy(q + 4, ATTEST_SIM_GPU_DRIVER, sizeof(ATTEST_SIM_GPU_DRIVER));
    q += 4 + sizeof(ATTEST_SIM_GPU_DRIVER);

    attest_sim_put16(q, 6);
    attest_sim_put16(q + 2, 8);
    memcpy(q + 4, vbios, 8);
    q += 12;

    attest_sim_put16(q, 20);
    attest_sim_put16(q + 2, 48);
    memcpy(q + 4, fwid, 48);
    q += 52;

    siglen = sizeof(der);
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL
         && EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, key) == 1
         && EVP_DigestSign(ctx, der, &siglen, out, (size_t) (q - out)) == 1;
    EVP_MD_CTX_free(ctx);

    d = der;
    sig = ok ? d2i_ECDSA_SIG(NULL, &d, (long) siglen) : NULL;

    ok = sig != NULL
         && BN_bn2binpad(ECDSA_SIG_get0_r(sig), q, 48) == 48
         && BN_bn2binpad(ECDSA_SIG_get0_s(sig), q + 48, 48) == 48;
    ECDSA_SIG_free(sig);
    ERR_clear_error();

    if (!ok) {
        return ATTEST_ERR_INTERNAL;
    }

    *len = (size_t) (q + 96 - out);
    return ATTEST_OK;
}


attest_err_t
attest_sim_gpu_evidence(const attest_sim_t *sim, const uint8_t nonce[32],
    size_t ngpus, uint8_t *out, size_t cap, size_t *len)
{
    int            ok;
    char          *b64, hex[65];
    X509          *leaf;
    BIO           *mem;
    size_t         i, rlen, n;
    json_t        *arr, *o;
    uint8_t        report[2048], fwid[48];
    BUF_MEM       *bm;
    EVP_PKEY      *key;
    attest_err_t   rc;

    *len = 0;

    if (sim->gpu_key == NULL) {
        return ATTEST_ERR_UNSUPPORTED;
    }

    if (ngpus == 0 || ngpus > ATTEST_MAX_GPUS) {
        return ATTEST_ERR_INPUT;
    }

    attest_sim_gpu_fwid(fwid);
    attest_hex(nonce, 32, hex);

    arr = json_array();
    b64 = malloc(attest_b64_len(sizeof(report) + 8192) + 1);
    rc = arr != NULL && b64 != NULL ? ATTEST_OK : ATTEST_ERR_NOMEM;

    /* one device key and leaf per GPU, as real GPUs each have theirs */
    for (i = 0; rc == ATTEST_OK && i < ngpus; i++) {
        key = EVP_EC_gen("P-384");
        leaf = key ? attest_sim_cert(key, sim->gpu_key, sim->gpu_brom,
                                     "SIMULATED GH100 A01 GSP FMC LF",
                                     365, 0, NULL, fwid)
                   : NULL;
        mem = BIO_new(BIO_s_mem());

        ok = leaf != NULL && mem != NULL && PEM_write_bio_X509(mem, leaf)
             && BIO_write(mem, sim->gpu_chain, (int) sim->gpu_chain_len)
                == (int) sim->gpu_chain_len;

        rc = ok ? attest_sim_gpu_report(key, nonce, fwid, report,
                                        sizeof(report), &rlen)
                : ATTEST_ERR_INTERNAL;

        if (rc == ATTEST_OK) {
            BIO_get_mem_ptr(mem, &bm);
            o = json_object();
            json_object_set_new(o, "arch", json_string("HOPPER"));
            attest_b64_encode((uint8_t *) bm->data, bm->length, b64);
            json_object_set_new(o, "certificate", json_string(b64));
            attest_b64_encode(report, rlen, b64);
            json_object_set_new(o, "evidence", json_string(b64));
            json_object_set_new(o, "nonce", json_string(hex));
            json_array_append_new(arr, o);
        }

        BIO_free(mem);
        X509_free(leaf);
        EVP_PKEY_free(key);
    }

    ERR_clear_error();
    free(b64);

    if (rc != ATTEST_OK) {
        json_decref(arr);
        return rc;
    }

    n = json_dumpb(arr, NULL, 0, JSON_COMPACT);

    /* fresh keys make each run a few bytes longer or shorter: ask for
     * room enough for any run */
    if (n == 0 || n > cap) {
        json_decref(arr);
        *len = n + 512 * ngpus;
        return ATTEST_ERR_NOMEM;
    }

    *len = json_dumpb(arr, (char *) out, cap, JSON_COMPACT);
    json_decref(arr);

    return ATTEST_OK;
}
