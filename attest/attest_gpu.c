/*
 * attest/: NVIDIA GPU and NVSwitch attestation: SPDM 1.1 MEASUREMENTS
 * reports, their certificate chains to the NVIDIA Device Identity CA, the
 * evidence JSON of NVIDIA's tools, and the nonce that binds GPU evidence
 * to a confer document.
 *
 * DMTF DSP0274 1.1.0 (SPDM), 10.11; layouts and vendor facts as in
 * ATTESTATION-VECTORS.md 1.3 and 4.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "attest_gpu.h"
#include "attest_x509.h"


#define GPU_LABEL  "confer-gpu/v1"


static attest_err_t gpu_fail(char *detail, size_t dn, attest_err_t rc,
    const char *fmt, ...);
static uint16_t gpu_le16(const uint8_t *p);
static attest_err_t gpu_record(attest_gpu_report_t *r, const uint8_t *p,
    size_t n);
static attest_err_t gpu_opaque(attest_gpu_report_t *r);
static int gpu_der(const uint8_t **pp, const uint8_t *end, uint8_t *tag,
    const uint8_t **v, size_t *len);
static int gpu_find_fwid(const uint8_t *p, size_t n, int depth,
    const uint8_t **fwid);
static attest_err_t gpu_leaf_ext_fwid(X509 *leaf, uint8_t fwid[48]);
static attest_err_t gpu_leaf_kind(X509 *leaf, int simulated,
    attest_gpu_facts_t *f);
static void gpu_text(const uint8_t *p, size_t n, char *out, size_t cap);
static int gpu_version(const char *s, unsigned long v[8], size_t *n);


/*
 * The NVIDIA Device Identity CA ("CN=NVIDIA Device Identity CA,
 * O=NVIDIA", P-384, 2021-11-05 to 9999-12-31): SHA-256 of its DER.  The
 * chain of every Hopper, Blackwell and NVSwitch device ends in it; the
 * evidence carries a copy, which must hash to this value.
 */
const uint8_t  attest_gpu_nvidia_root_sha256[32] = {
    0x10, 0x2b, 0xf6, 0x59, 0xd5, 0x41, 0x96, 0x14,
    0xc9, 0xd8, 0xe6, 0xae, 0xce, 0xbc, 0x80, 0x45,
    0x4e, 0xb2, 0x6b, 0x1d, 0xf6, 0xa7, 0x69, 0xac,
    0x72, 0x0b, 0x9a, 0x69, 0x0b, 0x16, 0x7b, 0x48
};

/* 2.23.133.5.4.1, tcg-dice-TcbInfo, which NVIDIA leaves carry */
static const uint8_t  gpu_dice_oid[] = {
    0x67, 0x81, 0x05, 0x05, 0x04, 0x01
};

/* 2.16.840.1.101.3.4.2.2, id-sha384, as a DER OBJECT IDENTIFIER */
static const uint8_t  gpu_sha384_oid[] = {
    0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02
};

static const char  *const gpu_entry_keys[] = {
    "arch", "certificate", "evidence", "nonce", "version", "driver_version",
    "vbios_version", NULL
};


static attest_err_t
gpu_fail(char *detail, size_t dn, attest_err_t rc, const char *fmt, ...)
{
    va_list  ap;

    if (detail != NULL && dn > 0) {
        va_start(ap, fmt);
        vsnprintf(detail, dn, fmt, ap);
        va_end(ap);
    }

    return rc;
}


static uint16_t
gpu_le16(const uint8_t *p)
{
    return (uint16_t) (p[0] | p[1] << 8);
}


void
attest_gpu_nonce(const uint8_t report_data[64], uint8_t nonce[32])
{
    EVP_MD_CTX  *ctx;

    ctx = EVP_MD_CTX_new();

    if (ctx == NULL
        || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(ctx, GPU_LABEL, sizeof(GPU_LABEL)) != 1
        || EVP_DigestUpdate(ctx, report_data, 64) != 1
        || EVP_DigestFinal_ex(ctx, nonce, NULL) != 1)
    {
        /* answered by no device */
        memset(nonce, 0xff, 32);
    }

    EVP_MD_CTX_free(ctx);
}


const char *
attest_gpu_kind_name(attest_gpu_kind_t k)
{
    switch (k) {
    case ATTEST_GPU_GPU:
        return "gpu";
    case ATTEST_GPU_SWITCH:
        return "nvswitch";
    default:
        return "none";
    }
}


/* SPDM 1.1, Table 45: NumberOfBlocks blocks, exactly filling the record */
static attest_err_t
gpu_record(attest_gpu_report_t *r, const uint8_t *p, size_t n)
{
    size_t               i, off, size;
    attest_gpu_block_t  *b;

    off = 0;

    for (i = 0; i < r->nblocks; i++) {
        if (n - off < 4) {
            return ATTEST_ERR_INPUT;
        }

        b = &r->blocks[i];
        b->index = p[off];
        b->spec = p[off + 1];
        size = gpu_le16(p + off + 2);
        off += 4;

        /* bit 0: the DMTF measurement format (Table 46), the only one */
        if (b->spec != 0x01 || size < 3 || n - off < size) {
            return ATTEST_ERR_INPUT;
        }

        b->type = p[off];
        b->size = gpu_le16(p + off + 1);
        b->value = p + off + 3;

        if ((size_t) b->size + 3 != size) {
            return ATTEST_ERR_INPUT;
        }

        off += size;
    }

    return off == n ? ATTEST_OK : ATTEST_ERR_INPUT;
}


/* NVIDIA's opaque data: u16 type, u16 length, value; nothing left over */
static attest_err_t
gpu_opaque(attest_gpu_report_t *r)
{
    size_t          off, len;
    uint16_t        type;
    const uint8_t  *p, **slot;
    size_t         *slot_len;

    p = r->opaque;
    off = 0;

    while (off < r->opaque_len) {
        if (r->opaque_len - off < 4) {
            return ATTEST_ERR_INPUT;
        }

        type = gpu_le16(p + off);
        len = gpu_le16(p + off + 2);
        off += 4;

        if (r->opaque_len - off < len) {
            return ATTEST_ERR_INPUT;
        }

        slot = NULL;
        slot_len = NULL;

        if (type == ATTEST_GPU_TLV_DRIVER) {
            slot = &r->driver;
            slot_len = &r->driver_len;

        } else if (type == ATTEST_GPU_TLV_VBIOS) {
            slot = &r->vbios;
            slot_len = &r->vbios_len;

        } else if (type == ATTEST_GPU_TLV_FWID) {
            slot = &r->fwid;
            slot_len = &r->fwid_len;
        }

        if (slot != NULL) {
            if (*slot != NULL) {
                return ATTEST_ERR_INPUT;      /* said twice */
            }
            *slot = p + off;
            *slot_len = len;
        }

        off += len;
    }

    if (r->fwid != NULL && r->fwid_len != 48) {
        return ATTEST_ERR_INPUT;
    }

    return ATTEST_OK;
}


/* DSP0274 1.1.0, 10.11: GET_MEASUREMENTS (Table 40), then MEASUREMENTS
 * (Table 44) */
attest_err_t
attest_gpu_parse(const uint8_t *p, size_t n, attest_gpu_report_t *r)
{
    size_t          m, l1;
    attest_err_t    rc;
    const uint8_t  *q;

    memset(r, 0, sizeof(*r));

    if (p == NULL || n < ATTEST_GPU_REQUEST_LEN + 42 + ATTEST_GPU_SIG_LEN) {
        return ATTEST_ERR_INPUT;
    }

    /* the request: version, code, param1 (bit 0: sign), param2 (the
     * operation), nonce, slot */
    r->request = p;

    if (p[1] != ATTEST_GPU_GET_MEASUREMENTS || !(p[2] & 0x01)) {
        return ATTEST_ERR_INPUT;
    }

    if (p[0] != ATTEST_GPU_SPDM_11) {
        return ATTEST_ERR_VERSION;
    }

    r->req_param1 = p[2];
    r->req_param2 = p[3];
    r->nonce = p + 4;
    r->slot = p[36];

    /* the response, in the request's version */
    q = p + ATTEST_GPU_REQUEST_LEN;
    m = n - ATTEST_GPU_REQUEST_LEN;
    r->response = q;
    r->version = q[0];

    if (q[0] != p[0]) {
        return ATTEST_ERR_VERSION;
    }

    if (q[1] != ATTEST_GPU_MEASUREMENTS) {
        return ATTEST_ERR_INPUT;
    }

    r->param1 = q[2];
    r->param2 = q[3];
    r->nblocks = q[4];
    l1 = (size_t) q[5] | (size_t) q[6] << 8 | (size_t) q[7] << 16;

    if (r->nblocks == 0 || l1 > m - 42 - ATTEST_GPU_SIG_LEN) {
        return ATTEST_ERR_INPUT;
    }

    rc = gpu_record(r, q + 8, l1);
    if (rc != ATTEST_OK) {
        return rc;
    }

    r->resp_nonce = q + 8 + l1;
    r->opaque_len = gpu_le16(q + 40 + l1);
    r->opaque = q + 42 + l1;

    if (r->opaque_len > m - 42 - l1 - ATTEST_GPU_SIG_LEN) {
        return ATTEST_ERR_INPUT;
    }

    rc = gpu_opaque(r);
    if (rc != ATTEST_OK) {
        return rc;
    }

    r->signed_len = ATTEST_GPU_REQUEST_LEN + 42 + l1 + r->opaque_len;
    r->signature = p + r->signed_len;
    r->used = r->signed_len + ATTEST_GPU_SIG_LEN;

    return ATTEST_OK;
}


const uint8_t *
attest_gpu_opaque(const attest_gpu_report_t *r, uint16_t type, size_t *len)
{
    size_t          off, l;
    const uint8_t  *p;

    p = r->opaque;

    for (off = 0; off + 4 <= r->opaque_len; off += 4 + l) {
        l = gpu_le16(p + off + 2);

        if (gpu_le16(p + off) == type) {
            *len = l;
            return p + off + 4;
        }
    }

    return NULL;
}


/* printable ASCII up to the first NUL; anything else empties it */
static void
gpu_text(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t  i;

    out[0] = '\0';

    for (i = 0; i < n && p[i] != '\0'; i++) {
        if (p[i] < 0x20 || p[i] > 0x7e || i + 1 >= cap) {
            out[0] = '\0';
            return;
        }
        out[i] = (char) p[i];
    }

    out[i] = '\0';
}


/*
 * GPUs send the VBIOS version as 8 little-endian bytes b0..b7 and NVIDIA's
 * tools print "b3.b2.b1.b0.b4" in hex ("96.00.9F.00.01"); NVSwitches send
 * the text itself.
 */
void
attest_gpu_vbios_text(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t  i;

    if (cap == 0) {
        return;
    }

    out[0] = '\0';

    for (i = 0; i < n && p[i] != '\0'; i++) {
        if (p[i] < 0x20 || p[i] > 0x7e) {
            break;
        }
    }

    if (n > 0 && (i == n || p[i] == '\0') && i > 0) {
        gpu_text(p, n, out, cap);
        return;
    }

    if (n == 8 && cap >= 15) {
        snprintf(out, cap, "%02X.%02X.%02X.%02X.%02X", p[3], p[2], p[1],
                 p[0], p[4]);
    }
}


/* one DER TLV at *pp (definite lengths up to 4 bytes) */
static int
gpu_der(const uint8_t **pp, const uint8_t *end, uint8_t *tag,
    const uint8_t **v, size_t *len)
{
    size_t          i, k, l;
    const uint8_t  *p;

    p = *pp;

    if (end - p < 2) {
        return -1;
    }

    *tag = p[0];

    if ((p[0] & 0x1f) == 0x1f) {
        return -1;                        /* high tag numbers: not here */
    }

    if (p[1] < 0x80) {
        l = p[1];
        p += 2;

    } else {
        k = p[1] & 0x7f;
        if (k == 0 || k > 4 || (size_t) (end - p) < 2 + k) {
            return -1;
        }
        l = 0;
        for (i = 0; i < k; i++) {
            l = l << 8 | p[2 + i];
        }
        p += 2 + k;
    }

    if ((size_t) (end - p) < l) {
        return -1;
    }

    *v = p;
    *len = l;
    *pp = p + l;
    return 0;
}


/* TCG DICE: FWID ::= SEQUENCE { hashAlg OID, digest OCTET STRING }; the
 * first SHA-384 one found in the structure, NVIDIA's being
 * SEQUENCE { version, SubjectPublicKeyInfo, FWID } */
static int
gpu_find_fwid(const uint8_t *p, size_t n, int depth, const uint8_t **fwid)
{
    size_t          len, l2;
    uint8_t         tag, t2;
    const uint8_t  *end, *v, *q, *v2;

    if (depth > 4) {
        return 0;
    }

    end = p + n;

    while (p < end) {
        if (gpu_der(&p, end, &tag, &v, &len) != 0) {
            return 0;
        }

        if (tag == 0x30
            && len == sizeof(gpu_sha384_oid) + 2 + 48
            && memcmp(v, gpu_sha384_oid, sizeof(gpu_sha384_oid)) == 0)
        {
            q = v + sizeof(gpu_sha384_oid);
            if (gpu_der(&q, v + len, &t2, &v2, &l2) == 0 && t2 == 0x04
                && l2 == 48)
            {
                *fwid = v2;
                return 1;
            }
        }

        if ((tag & 0x20) && gpu_find_fwid(v, len, depth + 1, fwid)) {
            return 1;
        }
    }

    return 0;
}


attest_err_t
attest_gpu_leaf_fwid(const uint8_t *ext, size_t n, uint8_t fwid[48])
{
    const uint8_t  *f;

    if (ext == NULL || !gpu_find_fwid(ext, n, 0, &f)) {
        return ATTEST_ERR_NO_CERT;
    }

    memcpy(fwid, f, 48);
    return ATTEST_OK;
}


static attest_err_t
gpu_leaf_ext_fwid(X509 *leaf, uint8_t fwid[48])
{
    int                       i;
    X509_EXTENSION           *ext;
    const ASN1_OBJECT        *obj;
    const ASN1_OCTET_STRING  *val;

    for (i = 0; i < X509_get_ext_count(leaf); i++) {
        ext = X509_get_ext(leaf, i);
        obj = X509_EXTENSION_get_object(ext);

        if (OBJ_length(obj) != sizeof(gpu_dice_oid)
            || memcmp(OBJ_get0_data(obj), gpu_dice_oid,
                      sizeof(gpu_dice_oid)) != 0)
        {
            continue;
        }

        val = X509_EXTENSION_get_data(ext);

        return attest_gpu_leaf_fwid(ASN1_STRING_get0_data(val),
                                    (size_t) ASN1_STRING_length(val), fwid);
    }

    return ATTEST_ERR_NO_CERT;
}


/*
 * The device from its FMC leaf's common name: "GH100 A01 GSP FMC LF"
 * (Hopper), "GB100 A01 GSP FMC LF" and kin (Blackwell), "LS_10 A01 FSP
 * FMC LF" (NVSwitch); simulated leaves say "SIMULATED " first.
 */
static attest_err_t
gpu_leaf_kind(X509 *leaf, int simulated, attest_gpu_facts_t *f)
{
    char        cn[64], *s, *fmc;
    size_t      len;

    attest_x509_cn(leaf, cn, sizeof(cn));
    s = cn;

    if (simulated) {
        if (strncmp(s, "SIMULATED ", 10) != 0) {
            return ATTEST_ERR_CERT;
        }
        s += 10;
    }

    fmc = strstr(s, " FMC LF");
    if (fmc == NULL || fmc[7] != '\0') {
        return ATTEST_ERR_NO_CERT;
    }

    if (strncmp(s, "LS_10 ", 6) == 0) {
        f->kind = ATTEST_GPU_SWITCH;
        snprintf(f->arch, sizeof(f->arch), "LS10");

    } else if (strncmp(s, "GH", 2) == 0) {
        f->kind = ATTEST_GPU_GPU;
        snprintf(f->arch, sizeof(f->arch), "HOPPER");

    } else if (strncmp(s, "GB", 2) == 0) {
        f->kind = ATTEST_GPU_GPU;
        snprintf(f->arch, sizeof(f->arch), "BLACKWELL");

    } else {
        return ATTEST_ERR_CERT;
    }

    /* the model: what comes before " GSP" or " FSP" */
    len = (size_t) (fmc - s);
    if (len >= 4 && (memcmp(fmc - 4, " GSP", 4) == 0
                     || memcmp(fmc - 4, " FSP", 4) == 0))
    {
        len -= 4;
    }

    snprintf(f->model, sizeof(f->model), "%.*s", (int) len, s);
    return ATTEST_OK;
}


attest_err_t
attest_gpu_verify(const uint8_t *report, size_t n, const uint8_t *chain,
    size_t chain_len, const uint8_t nonce[32], const uint8_t *sim_root,
    time_t now, attest_gpu_facts_t *f, char *detail, size_t dn)
{
    int                  simulated;
    char                 cn[64];
    X509                *certs[ATTEST_X509_MAX_POOL], *leaf;
    size_t               i, ncerts, npins;
    uint8_t              pins[2][32], leaf_fwid[48];
    EVP_PKEY            *key;
    attest_err_t         rc, frc;
    attest_x509_path_t   path;
    attest_gpu_report_t *r;

    memset(f, 0, sizeof(*f));

    if (detail != NULL && dn > 0) {
        detail[0] = '\0';
    }

    r = malloc(sizeof(attest_gpu_report_t));
    if (r == NULL) {
        return ATTEST_ERR_NOMEM;
    }

    ncerts = 0;

    rc = attest_gpu_parse(report, n, r);
    if (rc != ATTEST_OK) {
        gpu_fail(detail, dn, rc, "the report is not an SPDM 1.1 signed "
                 "MEASUREMENTS exchange");
        goto done;
    }

    /* the chain: FMC leaf, BROM, Provisioner ICA, Identity, root */
    rc = attest_x509_load(chain, chain_len, certs, ATTEST_X509_MAX_POOL,
                          &ncerts);
    if (rc != ATTEST_OK) {
        gpu_fail(detail, dn, rc, rc == ATTEST_ERR_NO_CERT
                 ? "no certificate chain came with the report"
                 : "the certificate chain does not parse");
        goto done;
    }

    leaf = certs[0];
    attest_x509_cn(leaf, cn, sizeof(cn));

    if (ncerts < 2) {
        rc = gpu_fail(detail, dn, ATTEST_ERR_NO_CERT, "the chain has %zu "
                      "certificate; a device chain has the leaf and its CAs",
                      ncerts);
        goto done;
    }

    if (X509_check_ca(leaf) != 0 || strstr(cn, " FMC LF") == NULL) {
        ERR_clear_error();
        rc = gpu_fail(detail, dn, ATTEST_ERR_NO_CERT, "the first "
                      "certificate is \"%s\", not a device's FMC leaf", cn);
        goto done;
    }

    memcpy(pins[0], attest_gpu_nvidia_root_sha256, 32);
    npins = 1;

    if (sim_root != NULL) {
        memcpy(pins[1], sim_root, 32);
        npins = 2;
    }

    rc = attest_x509_chain(leaf, certs, ncerts, (const uint8_t (*)[32]) pins,
                           npins, now, ATTEST_GPU_CHAIN_LEN, &path, detail,
                           dn);
    if (rc != ATTEST_OK) {
        if (rc == ATTEST_ERR_UNKNOWN_ROOT) {
            gpu_fail(detail, dn, rc, "the chain does not end at the NVIDIA "
                     "Device Identity CA%s", sim_root ? " or the simulated "
                     "root" : "");
        }
        goto done;
    }

    if (path.depth != ATTEST_GPU_CHAIN_LEN || ncerts != ATTEST_GPU_CHAIN_LEN)
    {
        rc = gpu_fail(detail, dn, ATTEST_ERR_CHAIN, "a device chain is five "
                      "certificates to the root, not %zu", ncerts);
        goto done;
    }

    for (i = 0; i < ATTEST_GPU_CHAIN_LEN; i++) {
        if (path.chain[i] != certs[i]) {
            rc = gpu_fail(detail, dn, ATTEST_ERR_CHAIN, "the chain is not "
                          "in order, leaf first");
            goto done;
        }
    }

    simulated = sim_root != NULL && path.pin == 1;

    rc = gpu_leaf_kind(leaf, simulated, f);
    if (rc != ATTEST_OK) {
        gpu_fail(detail, dn, rc, "\"%s\" is not a GPU or NVSwitch leaf%s", cn,
                 simulated ? " named SIMULATED" : "");
        goto done;
    }

    /* SPDM 1.1, 10.11: the signature over the request and the response
     * up to it, ECDSA P-384 with SHA-384, r || s big-endian */
    key = X509_get0_pubkey(leaf);

    if (!attest_ec_is(key, "secp384r1")) {
        rc = gpu_fail(detail, dn, ATTEST_ERR_CERT, "the device key is not "
                      "ECDSA P-384");
        goto done;
    }

    if (!attest_ecdsa_verify(key, EVP_sha384(), report, r->signed_len,
                             r->signature, r->signature + 48, 48, 0))
    {
        rc = gpu_fail(detail, dn, ATTEST_ERR_SIGNATURE, "the report "
                      "signature does not verify with \"%s\"", cn);
        goto done;
    }

    /* what it signed is fresh: the nonce the caller asked for */
    if (CRYPTO_memcmp(r->nonce, nonce, 32) != 0) {
        rc = gpu_fail(detail, dn, ATTEST_ERR_GPU_NONCE, "the report "
                      "answers another nonce");
        goto done;
    }

    /* the firmware identity: the leaf's, which the opaque data repeats */
    frc = gpu_leaf_ext_fwid(leaf, leaf_fwid);

    if (frc == ATTEST_OK) {
        memcpy(f->fwid, leaf_fwid, 48);
        f->has_fwid = 1;
    }

    if (r->fwid != NULL) {
        if (f->has_fwid && memcmp(r->fwid, leaf_fwid, 48) != 0) {
            rc = gpu_fail(detail, dn, ATTEST_ERR_TCB_MISMATCH, "the report's "
                          "FWID is not its leaf certificate's");
            goto done;
        }

        memcpy(f->fwid, r->fwid, 48);
        f->has_fwid = 1;
    }

    f->simulated = simulated;

    if (r->driver != NULL) {
        gpu_text(r->driver, r->driver_len, f->driver, sizeof(f->driver));
    }

    if (r->vbios != NULL) {
        attest_gpu_vbios_text(r->vbios, r->vbios_len, f->vbios,
                              sizeof(f->vbios));
    }

    memcpy(f->nonce, r->nonce, 32);
    attest_x509_sha256(leaf, f->leaf_sha256);
    f->nmeas = r->nblocks;
    f->chain_not_after = path.not_after;

    gpu_fail(detail, dn, ATTEST_OK, "%s%s %s, %zu measurements, chain to "
             "the %s verified", simulated ? "SIMULATED " : "", f->model,
             attest_gpu_kind_name(f->kind), r->nblocks,
             simulated ? "simulated root" : "NVIDIA Device Identity CA");

    rc = ATTEST_OK;

done:

    attest_x509_free(certs, ncerts);
    free(r);

    if (rc != ATTEST_OK) {
        memset(f, 0, sizeof(*f));
    }

    return rc;
}


size_t
attest_gpu_entries_size(json_t *arr)
{
    size_t       i, total;
    json_t      *e;

    total = 0;

    if (!json_is_array(arr)) {
        return 0;
    }

    json_array_foreach(arr, i, e) {
        total += json_string_length(json_object_get(e, "certificate"));
        total += json_string_length(json_object_get(e, "evidence"));
    }

    return total;
}


attest_err_t
attest_gpu_entries(json_t *arr, attest_gpu_entry_t *e, size_t max,
    size_t *count, uint8_t **mem, char *detail, size_t dn)
{
    size_t         i, k, len;
    json_t        *o, *v;
    const char    *key;
    attest_blob_t *b;

    *count = 0;

    if (!json_is_array(arr)) {
        return gpu_fail(detail, dn, ATTEST_ERR_INPUT, "GPU evidence is not "
                        "a JSON array");
    }

    if (json_array_size(arr) > max) {
        return gpu_fail(detail, dn, ATTEST_ERR_INPUT, "GPU evidence for more "
                        "than %zu devices", max);
    }

    json_array_foreach(arr, i, o) {
        if (!json_is_object(o)) {
            return gpu_fail(detail, dn, ATTEST_ERR_INPUT, "GPU evidence "
                            "entry %zu is not an object", i + 1);
        }

        json_object_foreach(o, key, v) {
            for (k = 0; gpu_entry_keys[k] != NULL; k++) {
                if (strcmp(key, gpu_entry_keys[k]) == 0) {
                    break;
                }
            }

            if (gpu_entry_keys[k] == NULL || !json_is_string(v)) {
                return gpu_fail(detail, dn, ATTEST_ERR_INPUT, "GPU evidence "
                                "entry %zu: unknown key or a value that is "
                                "not a string", i + 1);
            }
        }

        memset(&e[i], 0, sizeof(attest_gpu_entry_t));

        for (k = 0; k < 2; k++) {
            v = json_object_get(o, k ? "evidence" : "certificate");
            b = k ? &e[i].evidence : &e[i].certs;

            if (v == NULL
                || attest_b64_decode(json_string_value(v),
                                     json_string_length(v), *mem,
                                     json_string_length(v), &len)
                   != ATTEST_OK
                || len == 0)
            {
                return gpu_fail(detail, dn, ATTEST_ERR_INPUT, "GPU evidence "
                                "entry %zu: \"%s\" is not base64", i + 1,
                                k ? "evidence" : "certificate");
            }

            b->p = *mem;
            b->n = len;
            *mem += len;
        }

        v = json_object_get(o, "arch");
        if (v != NULL) {
            snprintf(e[i].arch, sizeof(e[i].arch), "%s",
                     json_string_value(v));
        }

        *count = i + 1;
    }

    return ATTEST_OK;
}


attest_err_t
attest_gpu_evidence_parse(const uint8_t *json, size_t n,
    attest_gpu_entry_t *e, size_t max, size_t *count, uint8_t **mem,
    char *detail, size_t dn)
{
    json_t        *root;
    uint8_t       *m;
    attest_err_t   rc;
    json_error_t   jerr;

    *count = 0;
    *mem = NULL;

    root = json_loadb((const char *) json, n, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return gpu_fail(detail, dn, ATTEST_ERR_INPUT, "GPU evidence is not "
                        "JSON (line %d)", jerr.line);
    }

    *mem = malloc(attest_gpu_entries_size(root) + 1);
    if (*mem == NULL) {
        json_decref(root);
        return ATTEST_ERR_NOMEM;
    }

    m = *mem;
    rc = attest_gpu_entries(root, e, max, count, &m, detail, dn);

    if (rc == ATTEST_OK && *count == 0) {
        rc = gpu_fail(detail, dn, ATTEST_ERR_INPUT, "GPU evidence lists no "
                      "device");
    }

    json_decref(root);

    if (rc != ATTEST_OK) {
        free(*mem);
        *mem = NULL;
        *count = 0;
    }

    return rc;
}


attest_err_t
attest_gpu_verify_list(const attest_gpu_entry_t *e, size_t n,
    const uint8_t nonce[32], const uint8_t *sim_root, time_t now,
    attest_evidence_t *ev, char *detail, size_t dn)
{
    char           why[200];
    size_t         i, k;
    attest_err_t   rc;

    ev->ngpu = 0;

    if (n > ATTEST_MAX_GPUS) {
        return gpu_fail(detail, dn, ATTEST_ERR_INPUT, "GPU evidence for more "
                        "than %d devices", ATTEST_MAX_GPUS);
    }

    for (i = 0; i < n; i++) {
        rc = attest_gpu_verify(e[i].evidence.p, e[i].evidence.n,
                               e[i].certs.p, e[i].certs.n, nonce, sim_root,
                               now, &ev->gpu[i], why, sizeof(why));
        if (rc != ATTEST_OK) {
            memset(ev->gpu, 0, sizeof(ev->gpu));
            return gpu_fail(detail, dn, rc, "GPU %zu of %zu: %s", i + 1, n,
                            why);
        }

        /* a device counts once: its leaf is its identity */
        for (k = 0; k < i; k++) {
            if (memcmp(ev->gpu[k].leaf_sha256, ev->gpu[i].leaf_sha256, 32)
                == 0)
            {
                memset(ev->gpu, 0, sizeof(ev->gpu));
                return gpu_fail(detail, dn, ATTEST_ERR_INPUT, "GPU %zu is "
                                "GPU %zu again", i + 1, k + 1);
            }
        }
    }

    ev->ngpu = n;
    return ATTEST_OK;
}


/* "550.90.07": 1 to 8 components of 1 to 9 digits; -1 if not */
static int
gpu_version(const char *s, unsigned long v[8], size_t *n)
{
    size_t  k, digits;

    *n = 0;

    for ( ;; ) {
        if (*n == 8) {
            return -1;
        }

        v[*n] = 0;

        for (digits = 0; *s >= '0' && *s <= '9'; s++, digits++) {
            v[*n] = v[*n] * 10 + (unsigned long) (*s - '0');
        }

        if (digits == 0 || digits > 9) {
            return -1;
        }

        (*n)++;

        if (*s == '\0') {
            for (k = *n; k < 8; k++) {
                v[k] = 0;
            }
            return 0;
        }

        if (*s++ != '.') {
            return -1;
        }
    }
}


int
attest_gpu_version_cmp(const char *a, const char *b)
{
    int            ba, bb;
    size_t         i, na, nb;
    unsigned long  va[8], vb[8];

    ba = gpu_version(a, va, &na) != 0;
    bb = gpu_version(b, vb, &nb) != 0;

    if (ba || bb) {
        return ba - bb == 0 ? 0 : ba ? -1 : 1;
    }

    /* missing components are 0: "550.90" == "550.90.0" < "550.90.07" */
    for (i = 0; i < 8; i++) {
        if (va[i] != vb[i]) {
            return va[i] < vb[i] ? -1 : 1;
        }
    }

    return 0;
}


json_t *
attest_gpu_report_json(const attest_gpu_report_t *r)
{
    int       bad;
    char      buf[64], idx[8];
    size_t    i, off, len;
    json_t   *o, *req, *resp, *meas, *opq;

    o = json_object();
    req = json_object();
    resp = json_object();
    meas = json_object();
    opq = json_object();

    if (o == NULL || req == NULL || resp == NULL || meas == NULL
        || opq == NULL)
    {
        json_decref(o);
        json_decref(req);
        json_decref(resp);
        json_decref(meas);
        json_decref(opq);
        return NULL;
    }

    bad = 0;

    bad |= json_object_set_new(o, "platform", json_string("nvidia-gpu"));
    snprintf(buf, sizeof(buf), "%u.%u", r->version >> 4, r->version & 15);
    bad |= json_object_set_new(o, "spdm_version", json_string(buf));

    bad |= json_object_set_new(req, "param1", json_integer(r->req_param1));
    bad |= json_object_set_new(req, "param2", json_integer(r->req_param2));
    bad |= attest_json_hex(req, "nonce", r->nonce, 32);
    bad |= json_object_set_new(req, "slot", json_integer(r->slot));
    bad |= json_object_set_new(o, "request", req);

    bad |= json_object_set_new(resp, "param1", json_integer(r->param1));
    bad |= json_object_set_new(resp, "param2", json_integer(r->param2));
    bad |= json_object_set_new(resp, "blocks", json_integer(r->nblocks));
    bad |= attest_json_hex(resp, "nonce", r->resp_nonce, 32);
    bad |= json_object_set_new(o, "response", resp);

    for (i = 0; i < r->nblocks; i++) {
        snprintf(idx, sizeof(idx), "%u", r->blocks[i].index);
        bad |= attest_json_hex(meas, idx, r->blocks[i].value,
                               r->blocks[i].size);
    }
    bad |= json_object_set_new(o, "measurements", meas);

    for (off = 0; off + 4 <= r->opaque_len; off += 4 + len) {
        len = gpu_le16(r->opaque + off + 2);
        snprintf(idx, sizeof(idx), "%u", gpu_le16(r->opaque + off));
        bad |= attest_json_hex(opq, idx, r->opaque + off + 4, len);
    }
    bad |= json_object_set_new(o, "opaque", opq);

    if (r->driver != NULL) {
        gpu_text(r->driver, r->driver_len, buf, sizeof(buf));
        bad |= json_object_set_new(o, "driver", json_string(buf));
    }

    if (r->vbios != NULL) {
        attest_gpu_vbios_text(r->vbios, r->vbios_len, buf, sizeof(buf));
        bad |= json_object_set_new(o, "vbios", json_string(buf));
    }

    if (r->fwid != NULL) {
        bad |= attest_json_hex(o, "fwid", r->fwid, r->fwid_len);
    }

    bad |= attest_json_hex(o, "signature", r->signature, ATTEST_GPU_SIG_LEN);
    bad |= json_object_set_new(o, "signed_bytes",
                               json_integer((json_int_t) r->signed_len));
    bad |= json_object_set_new(o, "report_bytes",
                               json_integer((json_int_t) r->used));

    if (bad) {
        json_decref(o);
        return NULL;
    }

    return o;
}
