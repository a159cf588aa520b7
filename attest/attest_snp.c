/*
 * attest/: AMD SEV-SNP attestation reports (versions 2, 3 and 5): parsing,
 * the ECDSA P-384 signature, the VCEK/VLEK chain to a pinned ARK, and the
 * VCEK extensions checked against the report.
 *
 * AMD SEV-SNP ABI specification (publication 56860), 7.3 "Attestation"
 * and Table 3 "TCB_VERSION"; VCEK certificate specification (publication
 * 57230), 3 "VCEK Certificate Extensions".
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "attest_snp.h"
#include "attest_x509.h"


typedef struct {
    attest_snp_product_t   product;
    const char            *name;
    uint8_t                ark_sha256[32];
} attest_snp_root_t;


static attest_err_t attest_snp_fail(char *detail, size_t dn,
    attest_err_t err, const char *fmt, ...);
static int attest_snp_zero(const uint8_t *p, size_t from, size_t to);
static attest_err_t attest_snp_check_sig(const uint8_t *report,
    const attest_snp_report_t *r, EVP_PKEY *key);
static X509 *attest_snp_leaf(X509 *const *pool, size_t n, const char *cn);
static attest_err_t attest_snp_check_ext(const attest_snp_report_t *r,
    attest_snp_product_t product, const attest_amd_ext_t *ext,
    int vlek, char *detail, size_t dn);


/*
 * The AMD Root Keys, pinned by the SHA-256 of their DER encoding as served
 * by the AMD KDS (ATTESTATION-VECTORS.md 2.1).  The ARK signs both the ASK
 * (VCEK chain) and the ASVK (VLEK chain) of its product.
 */
static const attest_snp_root_t  attest_snp_roots[] = {
    { ATTEST_SNP_PRODUCT_MILAN, "Milan",
      { 0x69, 0xd0, 0x63, 0xb4, 0x53, 0x44, 0xd2, 0x6a,
        0x2e, 0x94, 0xe1, 0xf4, 0x21, 0x0d, 0xe4, 0x9e,
        0xf5, 0x55, 0x30, 0x82, 0x87, 0xd4, 0xc1, 0x74,
        0x44, 0x5c, 0x95, 0x63, 0x9a, 0x54, 0x0b, 0xcd } },
    { ATTEST_SNP_PRODUCT_GENOA, "Genoa",
      { 0x4c, 0x65, 0x98, 0xd1, 0x9c, 0x18, 0x71, 0x9c,
        0x5d, 0xfd, 0x4a, 0x7d, 0x33, 0x5f, 0x67, 0x4e,
        0x5b, 0xfe, 0x1d, 0x8f, 0x80, 0x0c, 0xea, 0x2c,
        0xf2, 0x70, 0xc1, 0x0d, 0x10, 0x3d, 0xb2, 0xf1 } },
    { ATTEST_SNP_PRODUCT_TURIN, "Turin",
      { 0x1f, 0x08, 0x41, 0x61, 0xa4, 0x4b, 0xb6, 0xd9,
        0x37, 0x78, 0xa9, 0x04, 0x87, 0x7d, 0x48, 0x19,
        0xca, 0xfa, 0x5d, 0x05, 0xef, 0x41, 0x93, 0xb2,
        0xde, 0xd9, 0xdd, 0x9c, 0x73, 0xdd, 0x3f, 0x6a } }
};


static uint32_t
attest_get32(const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
           | (uint32_t) p[3] << 24;
}


static uint64_t
attest_get64(const uint8_t *p)
{
    return (uint64_t) attest_get32(p) | (uint64_t) attest_get32(p + 4) << 32;
}


static void
attest_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
    p[2] = (uint8_t) (v >> 16);
    p[3] = (uint8_t) (v >> 24);
}


static void
attest_put64(uint8_t *p, uint64_t v)
{
    attest_put32(p, (uint32_t) v);
    attest_put32(p + 4, (uint32_t) (v >> 32));
}


static attest_err_t
attest_snp_fail(char *detail, size_t dn, attest_err_t err,
    const char *fmt, ...)
{
    va_list  ap;

    if (detail != NULL && dn > 0) {
        va_start(ap, fmt);
        vsnprintf(detail, dn, fmt, ap);
        va_end(ap);
    }

    return err;
}


static int
attest_snp_zero(const uint8_t *p, size_t from, size_t to)
{
    size_t  i;

    for (i = from; i < to; i++) {
        if (p[i] != 0) {
            return 0;
        }
    }

    return 1;
}


/* ABI spec Table 23; the offsets are the table's */
attest_err_t
attest_snp_parse(const uint8_t *p, size_t n, attest_snp_report_t *r,
    char *detail, size_t dn)
{
    size_t  mbz_from;

    memset(r, 0, sizeof(*r));

    if (n != ATTEST_SNP_REPORT_SIZE) {
        return attest_snp_fail(detail, dn, ATTEST_ERR_INPUT,
                               "a report is %d bytes, not %zu",
                               ATTEST_SNP_REPORT_SIZE, n);
    }

    r->version = attest_get32(p + 0x000);

    if (r->version != 2 && r->version != 3 && r->version != 5) {
        return attest_snp_fail(detail, dn, ATTEST_ERR_VERSION,
                               "report version %u", r->version);
    }

    r->guest_svn = attest_get32(p + 0x004);
    r->policy = attest_get64(p + 0x008);
    memcpy(r->family_id, p + 0x010, 16);
    memcpy(r->image_id, p + 0x020, 16);
    r->vmpl = attest_get32(p + 0x030);
    r->signature_algo = attest_get32(p + 0x034);
    r->current_tcb = attest_get64(p + 0x038);
    r->platform_info = attest_get64(p + 0x040);
    r->signer_info = attest_get32(p + 0x048);
    memcpy(r->report_data, p + 0x050, 64);
    memcpy(r->measurement, p + 0x090, 48);
    memcpy(r->host_data, p + 0x0c0, 32);
    memcpy(r->id_key_digest, p + 0x0e0, 48);
    memcpy(r->author_key_digest, p + 0x110, 48);
    memcpy(r->report_id, p + 0x140, 32);
    memcpy(r->report_id_ma, p + 0x160, 32);
    r->reported_tcb = attest_get64(p + 0x180);
    memcpy(r->chip_id, p + 0x1a0, 64);
    r->committed_tcb = attest_get64(p + 0x1e0);
    r->current_build = p[0x1e8];
    r->current_minor = p[0x1e9];
    r->current_major = p[0x1ea];
    r->committed_build = p[0x1ec];
    r->committed_minor = p[0x1ed];
    r->committed_major = p[0x1ee];
    r->launch_tcb = attest_get64(p + 0x1f0);
    memcpy(r->signature_r, p + 0x2a0, 72);
    memcpy(r->signature_s, p + 0x2e8, 72);

    if (r->version >= 3) {
        r->cpuid_fam_id = p[0x188];
        r->cpuid_mod_id = p[0x189];
        r->cpuid_step = p[0x18a];
    }

    if (r->version >= 5) {
        r->launch_mit_vector = attest_get64(p + 0x1f8);
        r->current_mit_vector = attest_get64(p + 0x200);
    }

    if (r->signature_algo != 1) {
        return attest_snp_fail(detail, dn, ATTEST_ERR_SIG_ALGO,
                               "signature algorithm %u, not ECDSA P-384",
                               r->signature_algo);
    }

    /* the reserved ranges of Table 23, which differ per version */
    mbz_from = r->version >= 5 ? 0x208 : 0x1f8;

    if (!attest_snp_zero(p, 0x04c, 0x050)
        || !attest_snp_zero(p, r->version >= 3 ? 0x18b : 0x188, 0x1a0)
        || p[0x1eb] != 0 || p[0x1ef] != 0
        || !attest_snp_zero(p, mbz_from, ATTEST_SNP_SIGNED_SIZE))
    {
        return attest_snp_fail(detail, dn, ATTEST_ERR_RESERVED,
                               "a reserved field of the report is not zero");
    }

    /* R and S are 48-byte values zero-extended to 72, then reserved */
    if (!attest_snp_zero(p, 0x2a0 + 48, 0x2a0 + 72)
        || !attest_snp_zero(p, 0x2e8 + 48, 0x2e8 + 72)
        || !attest_snp_zero(p, 0x330, ATTEST_SNP_REPORT_SIZE))
    {
        return attest_snp_fail(detail, dn, ATTEST_ERR_RESERVED,
                               "the signature area has non-zero padding");
    }

    /* GUEST_POLICY (ABI spec 4.3): bit 17 is reserved and must be one,
     * bits 26-63 are reserved and must be zero */
    if (!(r->policy & (1ull << 17)) || (r->policy >> 26) != 0) {
        return attest_snp_fail(detail, dn, ATTEST_ERR_RESERVED,
                               "guest policy 0x%llx has reserved bits wrong",
                               (unsigned long long) r->policy);
    }

    /* signer_info: bits 5-31 reserved; SIGNING_KEY 0 VCEK, 1 VLEK,
     * 7 none */
    if ((r->signer_info >> 5) != 0
        || (attest_snp_signing_key(r) > 1 && attest_snp_signing_key(r) != 7))
    {
        return attest_snp_fail(detail, dn, ATTEST_ERR_RESERVED,
                               "signer info 0x%x has reserved values",
                               r->signer_info);
    }

    return ATTEST_OK;
}


void
attest_snp_put(uint8_t *p, const attest_snp_report_t *r)
{
    memset(p, 0, ATTEST_SNP_REPORT_SIZE);

    attest_put32(p + 0x000, r->version);
    attest_put32(p + 0x004, r->guest_svn);
    attest_put64(p + 0x008, r->policy);
    memcpy(p + 0x010, r->family_id, 16);
    memcpy(p + 0x020, r->image_id, 16);
    attest_put32(p + 0x030, r->vmpl);
    attest_put32(p + 0x034, r->signature_algo);
    attest_put64(p + 0x038, r->current_tcb);
    attest_put64(p + 0x040, r->platform_info);
    attest_put32(p + 0x048, r->signer_info);
    memcpy(p + 0x050, r->report_data, 64);
    memcpy(p + 0x090, r->measurement, 48);
    memcpy(p + 0x0c0, r->host_data, 32);
    memcpy(p + 0x0e0, r->id_key_digest, 48);
    memcpy(p + 0x110, r->author_key_digest, 48);
    memcpy(p + 0x140, r->report_id, 32);
    memcpy(p + 0x160, r->report_id_ma, 32);
    attest_put64(p + 0x180, r->reported_tcb);

    if (r->version >= 3) {
        p[0x188] = r->cpuid_fam_id;
        p[0x189] = r->cpuid_mod_id;
        p[0x18a] = r->cpuid_step;
    }

    memcpy(p + 0x1a0, r->chip_id, 64);
    attest_put64(p + 0x1e0, r->committed_tcb);
    p[0x1e8] = r->current_build;
    p[0x1e9] = r->current_minor;
    p[0x1ea] = r->current_major;
    p[0x1ec] = r->committed_build;
    p[0x1ed] = r->committed_minor;
    p[0x1ee] = r->committed_major;
    attest_put64(p + 0x1f0, r->launch_tcb);

    if (r->version >= 5) {
        attest_put64(p + 0x1f8, r->launch_mit_vector);
        attest_put64(p + 0x200, r->current_mit_vector);
    }

    memcpy(p + 0x2a0, r->signature_r, 72);
    memcpy(p + 0x2e8, r->signature_s, 72);
}


/* CPUID Fn0000_0001 family and model as AMD's KDS maps them to products */
attest_snp_product_t
attest_snp_product(const attest_snp_report_t *r)
{
    uint8_t  m;

    if (r->version < 3) {
        return ATTEST_SNP_PRODUCT_UNKNOWN;
    }

    m = r->cpuid_mod_id;

    if (r->cpuid_fam_id == 0x19) {
        if (m <= 0x0f) {
            return ATTEST_SNP_PRODUCT_MILAN;
        }
        if (m <= 0x1f || (m >= 0xa0 && m <= 0xaf)) {
            return ATTEST_SNP_PRODUCT_GENOA;
        }
    }

    if (r->cpuid_fam_id == 0x1a) {
        if (m <= 0x1f || (m >= 0x90 && m <= 0xaf)) {
            return ATTEST_SNP_PRODUCT_TURIN;
        }
    }

    return ATTEST_SNP_PRODUCT_UNKNOWN;
}


const char *
attest_snp_product_name(attest_snp_product_t p)
{
    switch (p) {
    case ATTEST_SNP_PRODUCT_MILAN:
        return "Milan";
    case ATTEST_SNP_PRODUCT_GENOA:
        return "Genoa";
    case ATTEST_SNP_PRODUCT_TURIN:
        return "Turin";
    default:
        return "";
    }
}


/* TCB_VERSION: Milan/Genoa [bl, tee, 0, 0, 0, 0, snp, ucode];
 * Turin [fmc, bl, tee, snp, 0, 0, 0, ucode] */
void
attest_snp_tcb_decode(uint64_t raw, attest_snp_product_t p,
    attest_snp_tcb_t *tcb)
{
    uint8_t  b[8];

    attest_put64(b, raw);

    if (p == ATTEST_SNP_PRODUCT_TURIN) {
        tcb->fmc = b[0];
        tcb->bootloader = b[1];
        tcb->tee = b[2];
        tcb->snp = b[3];

    } else {
        tcb->fmc = 0;
        tcb->bootloader = b[0];
        tcb->tee = b[1];
        tcb->snp = b[6];
    }

    tcb->microcode = b[7];
}


uint64_t
attest_snp_tcb_encode(const attest_snp_tcb_t *tcb, attest_snp_product_t p)
{
    uint8_t  b[8];

    memset(b, 0, sizeof(b));

    if (p == ATTEST_SNP_PRODUCT_TURIN) {
        b[0] = tcb->fmc;
        b[1] = tcb->bootloader;
        b[2] = tcb->tee;
        b[3] = tcb->snp;

    } else {
        b[0] = tcb->bootloader;
        b[1] = tcb->tee;
        b[6] = tcb->snp;
    }

    b[7] = tcb->microcode;

    return attest_get64(b);
}


/* ABI spec 7.3: ECDSA P-384 with SHA-384 over bytes 0x000-0x29F, R and S
 * little-endian (ABI spec, Table 136 "ECDSA P-384 Signature") */
static attest_err_t
attest_snp_check_sig(const uint8_t *report, const attest_snp_report_t *r,
    EVP_PKEY *key)
{
    if (!attest_ec_is(key, "secp384r1")) {
        return ATTEST_ERR_CERT;
    }

    return attest_ecdsa_verify(key, EVP_sha384(), report,
                               ATTEST_SNP_SIGNED_SIZE, r->signature_r,
                               r->signature_s, 72, 1)
           ? ATTEST_OK : ATTEST_ERR_SIGNATURE;
}


/* the first EC certificate that is not self-issued and has the expected
 * common name (NULL: any) */
static X509 *
attest_snp_leaf(X509 *const *pool, size_t n, const char *cn)
{
    X509      *x;
    size_t     i;
    EVP_PKEY  *key;

    for (i = 0; i < n; i++) {
        x = pool[i];
        key = X509_get0_pubkey(x);

        if (key == NULL || !EVP_PKEY_is_a(key, "EC")
            || attest_x509_self_issued(x)
            || (cn != NULL && !attest_x509_cn_is(x, cn)))
        {
            ERR_clear_error();
            continue;
        }

        return x;
    }

    return NULL;
}


/* VCEK certificate specification, 3: the TCB and hwID extensions must
 * describe the chip and firmware the report came from */
static attest_err_t
attest_snp_check_ext(const attest_snp_report_t *r,
    attest_snp_product_t product, const attest_amd_ext_t *ext, int vlek,
    char *detail, size_t dn)
{
    size_t            idlen;
    uint16_t          need;
    attest_snp_tcb_t  tcb;

    need = 1u << ATTEST_AMD_TCB_BL | 1u << ATTEST_AMD_TCB_TEE
           | 1u << ATTEST_AMD_TCB_SNP | 1u << ATTEST_AMD_TCB_UCODE;

    if (product == ATTEST_SNP_PRODUCT_TURIN) {
        need |= 1u << ATTEST_AMD_TCB_FMC;
    }

    if ((ext->have_tcb & need) != need) {
        return attest_snp_fail(detail, dn, ATTEST_ERR_CERT,
                               "the signing certificate lacks TCB "
                               "extensions");
    }

    attest_snp_tcb_decode(r->reported_tcb, product, &tcb);

    if (ext->tcb[ATTEST_AMD_TCB_BL] != tcb.bootloader
        || ext->tcb[ATTEST_AMD_TCB_TEE] != tcb.tee
        || ext->tcb[ATTEST_AMD_TCB_SNP] != tcb.snp
        || ext->tcb[ATTEST_AMD_TCB_UCODE] != tcb.microcode
        || (product == ATTEST_SNP_PRODUCT_TURIN
            && ext->tcb[ATTEST_AMD_TCB_FMC] != tcb.fmc))
    {
        return attest_snp_fail(detail, dn, ATTEST_ERR_TCB_MISMATCH,
                               "reported TCB bl%u tee%u snp%u ucode%u "
                               "fmc%u; the certificate's differs",
                               tcb.bootloader, tcb.tee, tcb.snp,
                               tcb.microcode, tcb.fmc);
    }

    /* the reserved bytes of the reported TCB_VERSION */
    if (attest_snp_tcb_encode(&tcb, product) != r->reported_tcb) {
        return attest_snp_fail(detail, dn, ATTEST_ERR_RESERVED,
                               "reserved bytes of the reported TCB are "
                               "not zero");
    }

    if (product == ATTEST_SNP_PRODUCT_TURIN
        && !attest_snp_zero(r->chip_id, 8, 64))
    {
        return attest_snp_fail(detail, dn, ATTEST_ERR_RESERVED,
                               "a Turin chip id has 8 bytes");
    }

    /* a VLEK belongs to a cloud provider, not to a chip; a masked chip id
     * is zero in the report */
    if (vlek || attest_snp_mask_chip_key(r)) {
        return ATTEST_OK;
    }

    idlen = product == ATTEST_SNP_PRODUCT_TURIN ? 8 : 64;

    if (ext->hwid_len != idlen) {
        return attest_snp_fail(detail, dn, ATTEST_ERR_CERT,
                               "the VCEK has no %zu-byte hwID", idlen);
    }

    if (memcmp(ext->hwid, r->chip_id, idlen) != 0) {
        return attest_snp_fail(detail, dn, ATTEST_ERR_CHIP_ID,
                               "the report's chip id is not the VCEK's");
    }

    return ATTEST_OK;
}


attest_err_t
attest_snp_verify(const uint8_t *report, size_t n,
    const attest_blob_t *certs, size_t ncerts, const uint8_t *sim_root,
    time_t now, attest_evidence_t *ev, char *detail, size_t detail_len)
{
    return attest_snp_verify_crl(report, n, certs, ncerts, NULL, sim_root,
                                 now, ev, detail, detail_len);
}


attest_err_t
attest_snp_verify_crl(const uint8_t *report, size_t n,
    const attest_blob_t *certs, size_t ncerts, const attest_blob_t *root_crl,
    const uint8_t *sim_root, time_t now, attest_evidence_t *ev,
    char *detail, size_t detail_len)
{
    int                         vlek;
    char                        cn[32];
    X509                       *leaf, *pool[ATTEST_X509_MAX_POOL];
    size_t                      i, npool, plen, npins;
    uint8_t                     pins[3][32];
    attest_err_t                rc;
    attest_amd_ext_t            ext;
    attest_x509_path_t          path;
    attest_snp_report_t         r;
    attest_snp_product_t        product, cpu;
    const attest_snp_root_t    *root;

    memset(ev, 0, sizeof(*ev));

    if (detail != NULL && detail_len > 0) {
        detail[0] = '\0';
    }

    rc = attest_snp_parse(report, n, &r, detail, detail_len);
    if (rc != ATTEST_OK) {
        return rc;
    }

    if (attest_snp_signing_key(&r) == 7) {
        return attest_snp_fail(detail, detail_len, ATTEST_ERR_SIGNATURE,
                               "the report is not signed");
    }

    vlek = attest_snp_signing_key(&r) == 1;

    if (sim_root != NULL && vlek) {
        return attest_snp_fail(detail, detail_len, ATTEST_ERR_CERT,
                               "simulated reports are signed by a VCEK");
    }

    if (ncerts == 0) {
        return attest_snp_fail(detail, detail_len, ATTEST_ERR_NO_CERT,
                               "no certificates came with the report");
    }

    npool = 0;

    for (i = 0; i < ncerts; i++) {
        rc = attest_x509_load(certs[i].p, certs[i].n, pool,
                              ATTEST_X509_MAX_POOL, &npool);
        if (rc != ATTEST_OK) {
            rc = attest_snp_fail(detail, detail_len,
                                 rc == ATTEST_ERR_NOMEM ? rc
                                                        : ATTEST_ERR_CERT,
                                 "certificate %zu does not parse", i + 1);
            goto done;
        }
    }

    leaf = attest_snp_leaf(pool, npool, sim_root ? NULL
                                        : vlek ? "SEV-VLEK" : "SEV-VCEK");
    if (leaf == NULL) {
        rc = attest_snp_fail(detail, detail_len, ATTEST_ERR_NO_CERT,
                             "no %s among the certificates",
                             vlek ? "VLEK" : "VCEK");
        goto done;
    }

    if (sim_root != NULL) {
        memcpy(pins[0], sim_root, 32);
        npins = 1;

    } else {
        for (i = 0; i < 3; i++) {
            memcpy(pins[i], attest_snp_roots[i].ark_sha256, 32);
        }
        npins = 3;
    }

    /* VCEK <- ASK (ASVK) <- ARK; simulated: leaf <- root */
    rc = attest_x509_chain(leaf, pool, npool, (const uint8_t (*)[32]) pins,
                           npins, now, sim_root ? 2 : 3, &path, detail,
                           detail_len);
    if (rc != ATTEST_OK) {
        if (rc == ATTEST_ERR_UNKNOWN_ROOT) {
            attest_snp_fail(detail, detail_len, rc, sim_root
                            ? "the chain does not end at the pinned "
                              "simulated root"
                            : "the chain does not end at an AMD ARK");
        }
        goto done;
    }

    root = NULL;
    product = ATTEST_SNP_PRODUCT_UNKNOWN;

    if (sim_root == NULL) {
        root = &attest_snp_roots[path.pin];

        if (path.depth != 3) {
            rc = attest_snp_fail(detail, detail_len, ATTEST_ERR_CHAIN,
                                 "an AMD chain has three certificates");
            goto done;
        }

        product = root->product;

        /* a VCEK hangs off the ASK "SEV-<product>", a VLEK off the ASVK
         * "SEV-VLEK-<product>" */
        snprintf(cn, sizeof(cn), "SEV-%s%s", vlek ? "VLEK-" : "",
                 root->name);

        if (!attest_x509_cn_is(path.chain[1], cn)) {
            rc = attest_snp_fail(detail, detail_len, ATTEST_ERR_CHAIN,
                                 "the intermediate is not %s", cn);
            goto done;
        }
    }

    /* AMD KDS serves a CRL signed by the ARK listing revoked ASKs (and
     * ASVKs); simulated, the root's CRL lists revoked leaves */
    if (root_crl != NULL && root_crl->n > 0) {
        rc = attest_x509_crl_check(root_crl->p, root_crl->n,
                                   path.chain[path.depth - 1],
                                   path.chain[path.depth - 2], now,
                                   &ev->collateral_not_after);
        if (rc != ATTEST_OK) {
            attest_snp_fail(detail, detail_len, rc, rc == ATTEST_ERR_REVOKED
                            ? "the root's CRL lists the certificate it "
                              "issued"
                            : rc == ATTEST_ERR_COLLATERAL_EXPIRED
                            ? "the root's CRL is past its nextUpdate"
                            : "the CRL is not one the root signed");
            goto done;
        }
    }

    /* the chain says who the key is; now what it signed */
    rc = attest_snp_check_sig(report, &r, X509_get0_pubkey(leaf));
    if (rc != ATTEST_OK) {
        attest_snp_fail(detail, detail_len, rc, rc == ATTEST_ERR_CERT
                        ? "the signing key is not ECDSA P-384"
                        : "the report signature does not verify");
        goto done;
    }

    rc = attest_x509_amd_ext(leaf, &ext);
    if (rc != ATTEST_OK) {
        attest_snp_fail(detail, detail_len, rc,
                        "the signing certificate's AMD extensions are "
                        "malformed");
        goto done;
    }

    if (root != NULL) {
        /* productName is "Milan-B0", "Genoa", "Turin" ... */
        plen = strlen(root->name);

        if (strncmp(ext.product, root->name, plen) != 0
            || (ext.product[plen] != '\0' && ext.product[plen] != '-'))
        {
            rc = attest_snp_fail(detail, detail_len, ATTEST_ERR_PRODUCT,
                                 "certificate product \"%s\", root %s",
                                 ext.product, root->name);
            goto done;
        }

        cpu = attest_snp_product(&r);

        if (r.version >= 3 && cpu != product) {
            rc = attest_snp_fail(detail, detail_len, ATTEST_ERR_PRODUCT,
                                 "cpuid %02x/%02x is not %s",
                                 r.cpuid_fam_id, r.cpuid_mod_id, root->name);
            goto done;
        }

    } else if (strcmp(ext.product, "SIMULATED") != 0) {
        rc = attest_snp_fail(detail, detail_len, ATTEST_ERR_PRODUCT,
                             "a simulated leaf names product SIMULATED");
        goto done;
    }

    rc = attest_snp_check_ext(&r, product, &ext, vlek, detail, detail_len);
    if (rc != ATTEST_OK) {
        goto done;
    }

    ev->platform = sim_root ? ATTEST_PLATFORM_SIMULATED
                            : ATTEST_PLATFORM_SEV_SNP;
    ev->version = r.version;
    snprintf(ev->product, sizeof(ev->product), "%s",
             root ? root->name : "SIMULATED");
    memcpy(ev->report_data, r.report_data, 64);
    memcpy(ev->measurement, r.measurement, 48);
    ev->debug = (r.policy & ATTEST_SNP_POLICY_DEBUG) != 0;
    ev->vmpl = r.vmpl;
    ev->guest_policy = r.policy;
    attest_snp_tcb_decode(r.reported_tcb, product, &ev->reported_tcb);
    memcpy(ev->chip_id, r.chip_id, 64);
    ev->signing_key = vlek;
    ev->chain_not_after = path.not_after;
    ev->checked_at = now;

    attest_snp_fail(detail, detail_len, ATTEST_OK,
                    "%s report v%u, %s chain verified%s",
                    root ? root->name : "simulated", r.version,
                    vlek ? "VLEK" : "VCEK",
                    root_crl != NULL && root_crl->n > 0
                    ? ", CRL checked" : "");

    rc = ATTEST_OK;

done:

    attest_x509_free(pool, npool);

    if (rc != ATTEST_OK) {
        memset(ev, 0, sizeof(*ev));
    }

    return rc;
}
