/*
 * attest/: the confer attestation document (DESIGN.md, "Attestation
 * document"): parse, build, and the gateway's one-call verification.
 *
 *   {
 *     "version": 1,
 *     "platform": "sev-snp" | "tdx" | "simulated",
 *     "ohttp_keys": base64 of application/ohttp-keys (RFC 9458, 3),
 *     "not_after": unix seconds,
 *     "evidence": base64 of the SNP report or TDX quote,
 *     "certs": [base64 DER, ...]            SNP: VCEK or VLEK, ASK, ARK
 *     "collateral": { "tcb_info", "qe_identity", "tcb_signing_chain",
 *                     "pck_crl", "root_crl": base64 of the bytes Intel's
 *                     PCS serves }          TDX, each optional
 *                   { "root_crl": base64 of the ARK's CRL (AMD KDS) }
 *                                           SEV-SNP and simulated
 *     "gpu": [ { "arch", "certificate", "evidence", "nonce" }, ... ]
 *                   NVIDIA's evidence JSON as its tools write it, one
 *                   entry per GPU or NVSwitch, each answering the nonce
 *                   attest_gpu_nonce(report_data); optional
 *   }
 *
 * Base64 is RFC 4648 section 4 with padding.  Unknown keys are errors:
 * version 1 is fixed, a later shape gets a new version.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "attest_gpu.h"
#include "attest_int.h"

#if defined(__has_include)
#if __has_include("attest_tdx.h")
#include "attest_tdx.h"
#define ATTEST_HAVE_TDX  1
#endif
#endif


#define ATTEST_DOC_MAX       (1024 * 1024)
#define ATTEST_DOC_LABEL     "confer-attestation/v1"


static attest_err_t attest_doc_fail(char *detail, size_t dn,
    const char *what);
static attest_err_t attest_doc_b64(json_t *v, uint8_t **mem,
    attest_blob_t *b);
static attest_err_t attest_doc_tdx(const attest_doc_parsed_t *d, time_t now,
    attest_evidence_t *ev, char *detail, size_t dn);


static const char  *const attest_doc_keys[] = {
    "version", "platform", "ohttp_keys", "not_after", "evidence", "certs",
    "collateral", "gpu", NULL
};

static const char  *const attest_doc_collateral_keys[] = {
    "tcb_info", "qe_identity", "tcb_signing_chain", "pck_crl", "root_crl",
    NULL
};

static const char  attest_b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


/* RFC 4648, 4 */
void
attest_b64_encode(const uint8_t *p, size_t n, char *out)
{
    size_t    i;
    uint32_t  v;

    for (i = 0; i + 3 <= n; i += 3) {
        v = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8 | p[i + 2];
        *out++ = attest_b64_chars[v >> 18];
        *out++ = attest_b64_chars[(v >> 12) & 63];
        *out++ = attest_b64_chars[(v >> 6) & 63];
        *out++ = attest_b64_chars[v & 63];
    }

    if (n - i == 1) {
        v = (uint32_t) p[i] << 16;
        *out++ = attest_b64_chars[v >> 18];
        *out++ = attest_b64_chars[(v >> 12) & 63];
        *out++ = '=';
        *out++ = '=';

    } else if (n - i == 2) {
        v = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8;
        *out++ = attest_b64_chars[v >> 18];
        *out++ = attest_b64_chars[(v >> 12) & 63];
        *out++ = attest_b64_chars[(v >> 6) & 63];
        *out++ = '=';
    }

    *out = '\0';
}


static int
attest_b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}


/* RFC 4648, 4; padding required, and the unused bits of the last group
 * must be zero (3.5), so that every byte string has one encoding */
attest_err_t
attest_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap,
    size_t *len)
{
    int       c[4];
    size_t    i, k, o, pad;
    uint32_t  v;

    if (n % 4 != 0) {
        return ATTEST_ERR_INPUT;
    }

    pad = 0;
    if (n >= 4 && s[n - 1] == '=') {
        pad = s[n - 2] == '=' ? 2 : 1;
    }

    if (n / 4 * 3 - pad > cap) {
        return ATTEST_ERR_INPUT;
    }

    o = 0;

    for (i = 0; i < n; i += 4) {
        for (k = 0; k < 4; k++) {
            if (i + 4 == n && k >= 4 - pad) {
                c[k] = 0;
                continue;
            }

            c[k] = attest_b64_value(s[i + k]);
            if (c[k] < 0) {
                return ATTEST_ERR_INPUT;
            }
        }

        v = (uint32_t) c[0] << 18 | (uint32_t) c[1] << 12
            | (uint32_t) c[2] << 6 | (uint32_t) c[3];

        if (i + 4 == n && pad == 2) {
            if (v & 0xffff) {
                return ATTEST_ERR_INPUT;
            }
            out[o++] = (uint8_t) (v >> 16);

        } else if (i + 4 == n && pad == 1) {
            if (v & 0xff) {
                return ATTEST_ERR_INPUT;
            }
            out[o++] = (uint8_t) (v >> 16);
            out[o++] = (uint8_t) (v >> 8);

        } else {
            out[o++] = (uint8_t) (v >> 16);
            out[o++] = (uint8_t) (v >> 8);
            out[o++] = (uint8_t) v;
        }
    }

    *len = o;
    return ATTEST_OK;
}


static int
attest_hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}


/* the rest of out (up to cap) is zeroed */
attest_err_t
attest_unhex(const char *s, size_t n, uint8_t *out, size_t cap, size_t *len)
{
    int     hi, lo;
    size_t  i;

    if (n % 2 != 0 || n / 2 > cap) {
        return ATTEST_ERR_INPUT;
    }

    for (i = 0; i < n; i += 2) {
        hi = attest_hex_value(s[i]);
        lo = attest_hex_value(s[i + 1]);

        if (hi < 0 || lo < 0) {
            return ATTEST_ERR_INPUT;
        }

        out[i / 2] = (uint8_t) (hi << 4 | lo);
    }

    memset(out + n / 2, 0, cap - n / 2);
    *len = n / 2;
    return ATTEST_OK;
}


void
attest_hex(const uint8_t *p, size_t n, char *out)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        out[2 * i] = "0123456789abcdef"[p[i] >> 4];
        out[2 * i + 1] = "0123456789abcdef"[p[i] & 15];
    }

    out[2 * n] = '\0';
}


int
attest_json_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    int    rc;
    char  *s;

    s = malloc(2 * n + 1);
    if (s == NULL) {
        return -1;
    }

    attest_hex(p, n, s);
    rc = json_object_set_new(o, key, json_string(s));
    free(s);

    return rc;
}


/* DESIGN.md, "Attestation document": the binding */
void
attest_binding(const uint8_t *ohttp_keys, size_t n, uint64_t not_after,
    uint8_t report_data[64])
{
    int          i;
    uint8_t      be[8];
    unsigned     len;
    EVP_MD_CTX  *ctx;

    for (i = 0; i < 8; i++) {
        be[i] = (uint8_t) (not_after >> (56 - 8 * i));
    }

    ctx = EVP_MD_CTX_new();

    if (ctx == NULL
        || !EVP_DigestInit_ex(ctx, EVP_sha512(), NULL)
        || !EVP_DigestUpdate(ctx, ATTEST_DOC_LABEL,
                             sizeof(ATTEST_DOC_LABEL))   /* with the NUL */
        || !EVP_DigestUpdate(ctx, be, 8)
        || !EVP_DigestUpdate(ctx, ohttp_keys, n)
        || !EVP_DigestFinal_ex(ctx, report_data, &len))
    {
        /* cannot match any evidence */
        memset(report_data, 0xff, 64);
    }

    EVP_MD_CTX_free(ctx);
}


static attest_err_t
attest_doc_fail(char *detail, size_t dn, const char *what)
{
    if (detail != NULL && dn > 0) {
        snprintf(detail, dn, "%s", what);
    }

    return ATTEST_ERR_DOCUMENT;
}


/* decode one base64 string into *mem, advancing it */
static attest_err_t
attest_doc_b64(json_t *v, uint8_t **mem, attest_blob_t *b)
{
    size_t  len;

    if (!json_is_string(v)
        || attest_b64_decode(json_string_value(v), json_string_length(v),
                             *mem, json_string_length(v), &len) != ATTEST_OK)
    {
        return ATTEST_ERR_DOCUMENT;
    }

    b->p = *mem;
    b->n = len;
    *mem += len;

    return ATTEST_OK;
}


attest_err_t
attest_doc_parse(const uint8_t *p, size_t n, attest_doc_parsed_t *d,
    char *detail, size_t dn)
{
    size_t          i, k, total;
    json_t         *root, *v, *x;
    uint8_t        *mem;
    const char     *key, *s;
    json_int_t      t;
    attest_err_t    rc;
    json_error_t    jerr;
    attest_blob_t  *col[5];

    memset(d, 0, sizeof(*d));

    if (n > ATTEST_DOC_MAX) {
        return attest_doc_fail(detail, dn, "the document is too large");
    }

    root = json_loadb((const char *) p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return attest_doc_fail(detail, dn, "the document is not JSON");
    }

    rc = ATTEST_ERR_DOCUMENT;

    if (!json_is_object(root)) {
        attest_doc_fail(detail, dn, "the document is not a JSON object");
        goto done;
    }

    json_object_foreach(root, key, v) {
        for (i = 0; attest_doc_keys[i] != NULL; i++) {
            if (strcmp(key, attest_doc_keys[i]) == 0) {
                break;
            }
        }

        if (attest_doc_keys[i] == NULL) {
            attest_doc_fail(detail, dn, "the document has an unknown key");
            goto done;
        }
    }

    v = json_object_get(root, "version");
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        attest_doc_fail(detail, dn, "the document's version is not 1");
        goto done;
    }

    s = json_string_value(json_object_get(root, "platform"));

    if (s != NULL && strcmp(s, "sev-snp") == 0) {
        d->platform = ATTEST_PLATFORM_SEV_SNP;

    } else if (s != NULL && strcmp(s, "tdx") == 0) {
        d->platform = ATTEST_PLATFORM_TDX;

    } else if (s != NULL && strcmp(s, "simulated") == 0) {
        d->platform = ATTEST_PLATFORM_SIMULATED;

    } else {
        attest_doc_fail(detail, dn, "the document's platform is unknown");
        goto done;
    }

    v = json_object_get(root, "not_after");
    t = json_is_integer(v) ? json_integer_value(v) : -1;

    if (t < 0) {
        attest_doc_fail(detail, dn, "not_after is not a unix time");
        goto done;
    }

    d->not_after = (uint64_t) t;

    /* one allocation for every decoded string: each decodes to fewer
     * bytes than its text */
    total = 0;

    json_object_foreach(root, key, v) {
        if (json_is_string(v)) {
            total += json_string_length(v);
        }
    }

    v = json_object_get(root, "certs");
    if (v != NULL) {
        if (!json_is_array(v) || json_array_size(v) > ATTEST_MAX_CERTS) {
            attest_doc_fail(detail, dn, "certs is not an array of at most "
                            "8 strings");
            goto done;
        }

        json_array_foreach(v, i, x) {
            total += json_string_length(x);
        }
    }

    v = json_object_get(root, "collateral");
    if (v != NULL) {
        if (!json_is_object(v)) {
            attest_doc_fail(detail, dn, "collateral is not an object");
            goto done;
        }

        json_object_foreach(v, key, x) {
            for (i = 0; attest_doc_collateral_keys[i] != NULL; i++) {
                if (strcmp(key, attest_doc_collateral_keys[i]) == 0) {
                    break;
                }
            }

            if (attest_doc_collateral_keys[i] == NULL) {
                attest_doc_fail(detail, dn, "collateral has an unknown key");
                goto done;
            }

            total += json_string_length(x);

            /* AMD has one CRL, the ARK's; the rest is Intel's */
            if (d->platform != ATTEST_PLATFORM_TDX
                && strcmp(key, "root_crl") != 0)
            {
                attest_doc_fail(detail, dn, "SEV-SNP collateral is "
                                "root_crl only");
                goto done;
            }
        }

        d->has_collateral = 1;
    }

    v = json_object_get(root, "gpu");
    if (v != NULL) {
        if (!json_is_array(v)) {
            attest_doc_fail(detail, dn, "gpu is not an array");
            goto done;
        }

        d->has_gpu = json_array_size(v) > 0;
        total += attest_gpu_entries_size(v);
    }

    d->mem = malloc(total + 1);
    if (d->mem == NULL) {
        rc = ATTEST_ERR_NOMEM;
        goto done;
    }

    mem = d->mem;

    if (attest_doc_b64(json_object_get(root, "ohttp_keys"), &mem,
                       &d->ohttp_keys) != ATTEST_OK
        || d->ohttp_keys.n == 0 || d->ohttp_keys.n > ATTEST_MAX_OHTTP_KEYS)
    {
        attest_doc_fail(detail, dn, "ohttp_keys is not base64 of 1 to 4096 "
                        "bytes");
        goto done;
    }

    if (attest_doc_b64(json_object_get(root, "evidence"), &mem,
                       &d->evidence) != ATTEST_OK
        || d->evidence.n == 0)
    {
        attest_doc_fail(detail, dn, "evidence is not base64");
        goto done;
    }

    v = json_object_get(root, "certs");

    json_array_foreach(v, i, x) {
        if (attest_doc_b64(x, &mem, &d->certs[i]) != ATTEST_OK
            || d->certs[i].n == 0)
        {
            attest_doc_fail(detail, dn, "a certificate is not base64");
            goto done;
        }

        d->ncerts = i + 1;
    }

    v = json_object_get(root, "gpu");

    if (v != NULL
        && attest_gpu_entries(v, d->gpu, ATTEST_MAX_GPUS, &d->ngpu, &mem,
                              detail, dn) != ATTEST_OK)
    {
        rc = ATTEST_ERR_DOCUMENT;
        goto done;
    }

    col[0] = &d->tcb_info;
    col[1] = &d->qe_identity;
    col[2] = &d->tcb_signing_chain;
    col[3] = &d->pck_crl;
    col[4] = &d->root_crl;

    v = json_object_get(root, "collateral");

    for (k = 0; v != NULL && k < 5; k++) {
        x = json_object_get(v, attest_doc_collateral_keys[k]);

        if (x != NULL && attest_doc_b64(x, &mem, col[k]) != ATTEST_OK) {
            attest_doc_fail(detail, dn, "a collateral item is not base64");
            goto done;
        }
    }

    rc = ATTEST_OK;

done:

    json_decref(root);

    if (rc != ATTEST_OK) {
        attest_doc_parsed_free(d);
    }

    return rc;
}


void
attest_doc_parsed_free(attest_doc_parsed_t *d)
{
    free(d->mem);
    memset(d, 0, sizeof(*d));
}


attest_err_t
attest_doc_build(const attest_doc_t *doc, uint8_t *out, size_t cap,
    size_t *len)
{
    char                 *b64;
    size_t                i, max, n, ngpu;
    json_t               *root, *certs, *col, *gpu;
    uint8_t              *gmem;
    attest_err_t          rc;
    json_error_t          jerr;
    attest_gpu_entry_t   *ge;
    const attest_blob_t  *cb[5];

    *len = 0;

    if (doc->platform == ATTEST_PLATFORM_NONE
        || doc->ohttp_keys.n == 0 || doc->evidence.n == 0
        || doc->ncerts > ATTEST_MAX_CERTS
        || doc->not_after > (uint64_t) INT64_MAX)
    {
        return ATTEST_ERR_INPUT;
    }

    cb[0] = &doc->tcb_info;
    cb[1] = &doc->qe_identity;
    cb[2] = &doc->tcb_signing_chain;
    cb[3] = &doc->pck_crl;
    cb[4] = &doc->root_crl;

    max = doc->ohttp_keys.n > doc->evidence.n ? doc->ohttp_keys.n
                                              : doc->evidence.n;
    for (i = 0; i < doc->ncerts; i++) {
        if (doc->certs[i].n > max) {
            max = doc->certs[i].n;
        }
    }

    for (i = 0; i < 5; i++) {
        if (cb[i]->n > max) {
            max = cb[i]->n;
        }

        if (cb[i]->n > 0 && i < 4 && doc->platform != ATTEST_PLATFORM_TDX) {
            return ATTEST_ERR_INPUT;
        }
    }

    /* GPU evidence goes in as NVIDIA's tools wrote it, once it reads
     * as such */
    gpu = NULL;

    if (doc->gpu.n > 0) {
        ge = malloc(ATTEST_MAX_GPUS * sizeof(attest_gpu_entry_t));
        if (ge == NULL) {
            return ATTEST_ERR_NOMEM;
        }

        rc = attest_gpu_evidence_parse(doc->gpu.p, doc->gpu.n, ge,
                                       ATTEST_MAX_GPUS, &ngpu, &gmem, NULL,
                                       0);
        free(ge);
        free(gmem);

        if (rc != ATTEST_OK) {
            return rc;
        }

        gpu = json_loadb((const char *) doc->gpu.p, doc->gpu.n,
                         JSON_REJECT_DUPLICATES, &jerr);
        if (gpu == NULL) {
            return ATTEST_ERR_INPUT;
        }
    }

    b64 = malloc(attest_b64_len(max) + 1);
    root = json_object();
    certs = json_array();
    col = json_object();

    rc = ATTEST_ERR_NOMEM;

    if (b64 == NULL || root == NULL || certs == NULL || col == NULL) {
        json_decref(certs);
        json_decref(col);
        json_decref(gpu);
        goto done;
    }

    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "platform",
                        json_string(attest_platform_name(doc->platform)));

    attest_b64_encode(doc->ohttp_keys.p, doc->ohttp_keys.n, b64);
    json_object_set_new(root, "ohttp_keys", json_string(b64));
    json_object_set_new(root, "not_after",
                        json_integer((json_int_t) doc->not_after));

    attest_b64_encode(doc->evidence.p, doc->evidence.n, b64);
    json_object_set_new(root, "evidence", json_string(b64));

    for (i = 0; i < doc->ncerts; i++) {
        attest_b64_encode(doc->certs[i].p, doc->certs[i].n, b64);
        json_array_append_new(certs, json_string(b64));
    }

    json_object_set_new(root, "certs", certs);

    for (i = 0; i < 5; i++) {
        if (cb[i]->n > 0) {
            attest_b64_encode(cb[i]->p, cb[i]->n, b64);
            json_object_set_new(col, attest_doc_collateral_keys[i],
                                json_string(b64));
        }
    }

    if (json_object_size(col) > 0) {
        json_object_set_new(root, "collateral", col);
    } else {
        json_decref(col);
    }

    if (gpu != NULL) {
        json_object_set_new(root, "gpu", gpu);
    }

    n = json_dumpb(root, NULL, 0, JSON_COMPACT);
    if (n == 0) {
        goto done;
    }

    *len = n;

    if (n > cap) {
        goto done;
    }

    json_dumpb(root, (char *) out, cap, JSON_COMPACT);
    rc = ATTEST_OK;

done:

    free(b64);
    json_decref(root);
    return rc;
}


/*
 * TDX documents go to attest_tdx_verify() (attest/attest_tdx.h, written
 * separately); this file picks it up by itself once that header exists.
 */
static attest_err_t
attest_doc_tdx(const attest_doc_parsed_t *d, time_t now,
    attest_evidence_t *ev, char *detail, size_t dn)
{
#ifdef ATTEST_HAVE_TDX
    attest_tdx_collateral_t  col = {
        .tcb_info = d->tcb_info.p, .tcb_info_len = d->tcb_info.n,
        .qe_identity = d->qe_identity.p,
        .qe_identity_len = d->qe_identity.n,
        .tcb_signing_chain = d->tcb_signing_chain.p,
        .tcb_signing_chain_len = d->tcb_signing_chain.n,
        .pck_crl = d->pck_crl.p, .pck_crl_len = d->pck_crl.n,
        .root_crl = d->root_crl.p, .root_crl_len = d->root_crl.n
    };

    return attest_tdx_verify(d->evidence.p, d->evidence.n,
                             d->has_collateral ? &col : NULL, now, ev);
#else
    snprintf(detail, dn, "TDX verification is not built in yet");
    return ATTEST_ERR_UNSUPPORTED;
#endif
}


attest_err_t
attest_verify_document(const uint8_t *doc, size_t n,
    const attest_policy_t *pol, time_t now, attest_verdict_t *v)
{
    size_t                i;
    uint8_t               binding[64], nonce[32];
    long long             age;
    attest_err_t          rc;
    const uint8_t        *sim_root;
    attest_doc_parsed_t   d;

    memset(v, 0, sizeof(attest_verdict_t));

    rc = attest_doc_parse(doc, n, &d, v->detail, sizeof(v->detail));
    if (rc != ATTEST_OK) {
        return rc;
    }

    if (now < 0 || (uint64_t) now > d.not_after) {
        snprintf(v->detail, sizeof(v->detail), "not_after %llu is past",
                 (unsigned long long) d.not_after);
        rc = ATTEST_ERR_DOC_EXPIRED;
        goto done;
    }

    switch (d.platform) {

    case ATTEST_PLATFORM_SEV_SNP:
        rc = attest_snp_verify_crl(d.evidence.p, d.evidence.n, d.certs,
                                   d.ncerts, &d.root_crl, NULL, now, &v->ev,
                                   v->detail, sizeof(v->detail));
        break;

    case ATTEST_PLATFORM_SIMULATED:
        /* refused before any work unless the policy pins a simulated
         * root */
        if (!attest_policy_simulated(pol, &sim_root)) {
            snprintf(v->detail, sizeof(v->detail), "the policy does not "
                     "allow simulated evidence");
            rc = ATTEST_ERR_POLICY_SIMULATED;
            goto done;
        }

        rc = attest_snp_verify_crl(d.evidence.p, d.evidence.n, d.certs,
                                   d.ncerts, &d.root_crl, sim_root, now,
                                   &v->ev, v->detail, sizeof(v->detail));
        break;

    default:
        rc = attest_doc_tdx(&d, now, &v->ev, v->detail, sizeof(v->detail));
        break;
    }

    if (rc != ATTEST_OK) {
        goto done;
    }

    attest_binding(d.ohttp_keys.p, d.ohttp_keys.n, d.not_after, binding);

    if (memcmp(binding, v->ev.report_data, 64) != 0) {
        snprintf(v->detail, sizeof(v->detail), "report_data does not bind "
                 "ohttp_keys and not_after");
        rc = ATTEST_ERR_BINDING;
        goto done;
    }

    /* the GPUs answered the nonce derived from this report_data, so
     * their evidence is bound to the same keys (attest_gpu_nonce()) */
    if (d.ngpu > 0) {
        attest_gpu_nonce(v->ev.report_data, nonce);

        if (!attest_policy_simulated(pol, &sim_root)) {
            sim_root = NULL;
        }

        rc = attest_gpu_verify_list(d.gpu, d.ngpu, nonce, sim_root, now,
                                    &v->ev, v->detail, sizeof(v->detail));
        if (rc != ATTEST_OK) {
            goto done;
        }
    }

    rc = attest_policy_check(pol, &v->ev, v->detail, sizeof(v->detail));
    if (rc != ATTEST_OK) {
        goto done;
    }

    v->not_after = d.not_after;
    v->valid_until = (time_t) d.not_after;

    age = attest_policy_max_age(pol);
    if (age > 0 && now + age < v->valid_until) {
        v->valid_until = now + age;
    }

    /* the earliest certificate notAfter, and the earliest nextUpdate of
     * the collateral and CRLs: past it, the document must be verified
     * again with fresh collateral */
    if (v->ev.chain_not_after > 0 && v->ev.chain_not_after < v->valid_until)
    {
        v->valid_until = v->ev.chain_not_after;
    }

    if (v->ev.collateral_not_after > 0
        && v->ev.collateral_not_after < v->valid_until)
    {
        v->valid_until = v->ev.collateral_not_after;
    }

    for (i = 0; i < v->ev.ngpu; i++) {
        if (v->ev.gpu[i].chain_not_after > 0
            && v->ev.gpu[i].chain_not_after < v->valid_until)
        {
            v->valid_until = v->ev.gpu[i].chain_not_after;
        }
    }

    memcpy(v->ohttp_keys, d.ohttp_keys.p, d.ohttp_keys.n);
    v->ohttp_keys_len = d.ohttp_keys.n;

    snprintf(v->detail, sizeof(v->detail), "%s evidence verified (%s%s)%s",
             attest_platform_name(v->ev.platform), v->ev.product,
             v->ev.debug ? ", debug" : "",
             v->ev.ngpu ? " with bound GPU evidence" : "");

done:

    attest_doc_parsed_free(&d);

    if (rc != ATTEST_OK) {
        memset(&v->ev, 0, sizeof(v->ev));
    }

    return rc;
}
