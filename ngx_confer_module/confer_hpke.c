/*
 * HPKE (RFC 9180) base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256
 * and AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 or export-only.
 */

#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include "confer_hpke.h"


#define CONFER_SHA256_BLOCK  64


typedef struct {
    const uint8_t  *p;
    size_t          n;
} confer_iov_t;


/* one HMAC-SHA256 key at a time: the digest states after its two pads */
typedef struct {
    EVP_MD_CTX     *ipad;
    EVP_MD_CTX     *opad;
    EVP_MD_CTX     *work;
} confer_hmac_t;


static int confer_sodium_ready(void);
static const EVP_MD *confer_sha256(void);
static int confer_hmac_new(confer_hmac_t *h);
static void confer_hmac_free(confer_hmac_t *h);
static int confer_hmac_key(confer_hmac_t *h, const uint8_t *key,
    size_t key_len);
static int confer_hmac_iov(confer_hmac_t *h, const confer_iov_t *v,
    size_t nv, uint8_t out[CONFER_HPKE_NH]);
static int confer_expand_iov(confer_hmac_t *h, const confer_iov_t *info,
    size_t ninfo, uint8_t *out, size_t L);
static int confer_labeled_extract(confer_hmac_t *h, const uint8_t *suite_id,
    size_t sid_len, const char *label, const uint8_t *ikm, size_t ikm_len,
    uint8_t out[CONFER_HPKE_NH]);
static int confer_labeled_expand(confer_hmac_t *h, const uint8_t *suite_id,
    size_t sid_len, const char *label, const confer_iov_t *info,
    size_t ninfo, uint8_t *out, size_t L);
static confer_hpke_err_t confer_kem_shared_secret(confer_hmac_t *h,
    const uint8_t *dh, const uint8_t *enc, const uint8_t *pkR, uint8_t *ss);
static int confer_x25519_base(uint8_t pk[CONFER_HPKE_NPK],
    const uint8_t sk[CONFER_HPKE_NSK]);

/* the map below needs 128-bit products and a little-endian machine */
#if defined(__SIZEOF_INT128__) && defined(__BYTE_ORDER__)                   \
    && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CONFER_FE_MAP  1
static void confer_fe_frombytes(uint64_t h[5], const uint8_t s[32]);
static void confer_fe_tobytes(uint8_t s[32], const uint64_t f[5]);
static void confer_fe_mul(uint64_t h[5], const uint64_t f[5],
    const uint64_t g[5]);
static void confer_fe_sqn(uint64_t h[5], const uint64_t f[5], unsigned n);
static void confer_fe_invert(uint64_t out[5], const uint64_t z[5]);
#endif
static confer_hpke_err_t confer_hpke_setup_any(confer_hpke_ctx_t *ctx,
    uint8_t mode, const confer_hpke_suite_t *suite, const uint8_t *pkR,
    size_t pkR_len, const confer_hpke_keypair_t *kpR, const uint8_t *enc_in,
    size_t enc_in_len, const uint8_t *info, size_t info_len,
    const confer_hpke_keypair_t *eph, confer_hpke_encap_t *pre,
    uint8_t *enc_out);
static void confer_hpke_nonce(const confer_hpke_ctx_t *ctx,
    uint8_t nonce[CONFER_HPKE_NN]);
static const EVP_CIPHER *confer_aes_gcm(size_t nk);


static const char  *confer_hpke_errors[] = {
    "ok",
    "unsupported HPKE mode",
    "unsupported KEM",
    "unsupported KDF",
    "unsupported AEAD",
    "bad key or input length",
    "bad public key (DH result is zero)",
    "decryption failed (authentication)",
    "seal/open on an export-only suite",
    "sequence number overflow",
    "export length too large",
    "output buffer too small",
    "context not set up",
    "crypto library failure",
};


/* RFC 9180, 4: the fixed parts of labeled extract and expand */
static const uint8_t  confer_hpke_v1[] = "HPKE-v1";

static EVP_MD         *confer_sha256_md;
static EVP_CIPHER     *confer_aes128gcm;
static EVP_CIPHER     *confer_aes256gcm;
static int             confer_sodium_inited;


const char *
confer_hpke_strerror(confer_hpke_err_t err)
{
    if ((unsigned) err >= CONFER_HPKE_ERR_LAST) {
        return "unknown";
    }

    return confer_hpke_errors[err];
}


size_t
confer_hpke_aead_nk(uint16_t aead_id)
{
    switch (aead_id) {
    case CONFER_HPKE_AEAD_AES128GCM:
        return 16;
    case CONFER_HPKE_AEAD_AES256GCM:
    case CONFER_HPKE_AEAD_CHACHA20POLY1305:
        return 32;
    default:
        return 0;
    }
}


size_t
confer_hpke_aead_nn(uint16_t aead_id)
{
    return confer_hpke_aead_nk(aead_id) ? CONFER_HPKE_NN : 0;
}


confer_hpke_err_t
confer_hpke_suite_check(const confer_hpke_suite_t *suite)
{
    if (suite->kem_id != CONFER_HPKE_KEM_X25519_SHA256) {
        return CONFER_HPKE_ERR_UNSUPPORTED_KEM;
    }

    if (suite->kdf_id != CONFER_HPKE_KDF_HKDF_SHA256) {
        return CONFER_HPKE_ERR_UNSUPPORTED_KDF;
    }

    if (confer_hpke_aead_nk(suite->aead_id) == 0
        && suite->aead_id != CONFER_HPKE_AEAD_EXPORT_ONLY)
    {
        return CONFER_HPKE_ERR_UNSUPPORTED_AEAD;
    }

    return CONFER_HPKE_OK;
}


static int
confer_sodium_ready(void)
{
    if (!confer_sodium_inited) {
        if (sodium_init() < 0) {
            return 0;
        }
        confer_sodium_inited = 1;
    }

    return 1;
}


/*
 * HMAC-SHA256 (RFC 2104) on EVP digests: the SHA-256 states after the
 * inner and the outer pad are computed once per key and copied for every
 * HMAC under it.  An EVP_MAC context set up per HMAC cost about four times
 * as much, and a key exchange makes a dozen of them on each side.
 */

static const EVP_MD *
confer_sha256(void)
{
    /* fetched once: an implicit fetch per digest costs more than it */
    if (confer_sha256_md == NULL) {
        confer_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    }

    return confer_sha256_md;
}


static int
confer_hmac_new(confer_hmac_t *h)
{
    h->ipad = EVP_MD_CTX_new();
    h->opad = EVP_MD_CTX_new();
    h->work = EVP_MD_CTX_new();

    if (h->ipad == NULL || h->opad == NULL || h->work == NULL
        || confer_sha256() == NULL)
    {
        confer_hmac_free(h);
        return 0;
    }

    return 1;
}


static void
confer_hmac_free(confer_hmac_t *h)
{
    /* the providers clear a digest state when they free it */
    EVP_MD_CTX_free(h->ipad);
    EVP_MD_CTX_free(h->opad);
    EVP_MD_CTX_free(h->work);

    h->ipad = NULL;
    h->opad = NULL;
    h->work = NULL;
}


/* RFC 2104, 2: the key, hashed if longer than a block, zero-padded */
static int
confer_hmac_key(confer_hmac_t *h, const uint8_t *key, size_t key_len)
{
    int            ok;
    size_t         i;
    uint8_t        k[CONFER_SHA256_BLOCK], pad[CONFER_SHA256_BLOCK];
    unsigned int   len;
    const EVP_MD  *md;

    md = confer_sha256();

    memset(k, 0, sizeof(k));

    /*
     * RFC 5869, 2.2: an absent salt is HashLen zeros, which pads to the
     * same block as no key at all
     */
    if (key_len > CONFER_SHA256_BLOCK) {
        if (!EVP_Digest(key, key_len, k, &len, md, NULL)) {
            return 0;
        }

    } else if (key_len) {
        memcpy(k, key, key_len);
    }

    for (i = 0; i < CONFER_SHA256_BLOCK; i++) {
        pad[i] = k[i] ^ 0x36;
    }

    ok = EVP_DigestInit_ex(h->ipad, md, NULL)
         && EVP_DigestUpdate(h->ipad, pad, CONFER_SHA256_BLOCK);

    for (i = 0; i < CONFER_SHA256_BLOCK; i++) {
        pad[i] = k[i] ^ 0x5c;
    }

    ok = ok
         && EVP_DigestInit_ex(h->opad, md, NULL)
         && EVP_DigestUpdate(h->opad, pad, CONFER_SHA256_BLOCK);

    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));

    return ok;
}


/* HMAC(key set by confer_hmac_key, v[0] | v[1] | ...) */
static int
confer_hmac_iov(confer_hmac_t *h, const confer_iov_t *v, size_t nv,
    uint8_t out[CONFER_HPKE_NH])
{
    int           ok;
    size_t        i;
    uint8_t       inner[CONFER_HPKE_NH];
    unsigned int  len;

    ok = EVP_MD_CTX_copy_ex(h->work, h->ipad);

    for (i = 0; ok && i < nv; i++) {
        if (v[i].n) {
            ok = EVP_DigestUpdate(h->work, v[i].p, v[i].n);
        }
    }

    ok = ok
         && EVP_DigestFinal_ex(h->work, inner, &len)
         && len == CONFER_HPKE_NH
         && EVP_MD_CTX_copy_ex(h->work, h->opad)
         && EVP_DigestUpdate(h->work, inner, CONFER_HPKE_NH)
         && EVP_DigestFinal_ex(h->work, out, &len)
         && len == CONFER_HPKE_NH;

    OPENSSL_cleanse(inner, sizeof(inner));

    return ok;
}


/* RFC 5869, 2.3: T(i) = HMAC(PRK, T(i-1) | info | i), PRK set in h */

static int
confer_expand_iov(confer_hmac_t *h, const confer_iov_t *info, size_t ninfo,
    uint8_t *out, size_t L)
{
    size_t        i, n, take;
    uint8_t       t[CONFER_HPKE_NH], ctr;
    confer_iov_t  v[8];

    if (L > 255 * CONFER_HPKE_NH || ninfo > 6) {
        return 0;
    }

    n = 0;

    for (ctr = 1; n < L; ctr++) {
        i = 0;
        v[i].p = t;
        v[i++].n = ctr > 1 ? CONFER_HPKE_NH : 0;
        if (ninfo) {
            memcpy(&v[i], info, ninfo * sizeof(confer_iov_t));
            i += ninfo;
        }
        v[i].p = &ctr;
        v[i++].n = 1;

        if (!confer_hmac_iov(h, v, i, t)) {
            OPENSSL_cleanse(t, sizeof(t));
            return 0;
        }

        take = L - n < CONFER_HPKE_NH ? L - n : CONFER_HPKE_NH;
        memcpy(out + n, t, take);
        n += take;
    }

    OPENSSL_cleanse(t, sizeof(t));

    return 1;
}


confer_hpke_err_t
confer_hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
    size_t ikm_len, uint8_t prk[CONFER_HPKE_NH])
{
    int            ok;
    confer_iov_t   v;
    confer_hmac_t  h;

    if (!confer_hmac_new(&h)) {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    v.p = ikm;
    v.n = ikm_len;

    ok = confer_hmac_key(&h, salt, salt_len)
         && confer_hmac_iov(&h, &v, 1, prk);

    confer_hmac_free(&h);

    return ok ? CONFER_HPKE_OK : CONFER_HPKE_ERR_CRYPTO;
}


confer_hpke_err_t
confer_hkdf_expand(const uint8_t *prk, size_t prk_len, const uint8_t *info,
    size_t info_len, uint8_t *out, size_t L)
{
    int            ok;
    confer_iov_t   v;
    confer_hmac_t  h;

    if (L > 255 * CONFER_HPKE_NH) {
        return CONFER_HPKE_ERR_EXPORT_TOO_LONG;
    }

    if (!confer_hmac_new(&h)) {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    v.p = info;
    v.n = info_len;

    ok = confer_hmac_key(&h, prk, prk_len)
         && confer_expand_iov(&h, &v, 1, out, L);

    confer_hmac_free(&h);

    return ok ? CONFER_HPKE_OK : CONFER_HPKE_ERR_CRYPTO;
}


/*
 * RFC 9180, 4: LabeledExtract and LabeledExpand; h holds the salt (extract)
 * or the PRK (expand), set by the caller, so that several outputs under
 * one key share its pads
 */

static int
confer_labeled_extract(confer_hmac_t *h, const uint8_t *suite_id,
    size_t sid_len, const char *label, const uint8_t *ikm, size_t ikm_len,
    uint8_t out[CONFER_HPKE_NH])
{
    confer_iov_t  v[4];

    v[0].p = confer_hpke_v1;
    v[0].n = sizeof(confer_hpke_v1) - 1;
    v[1].p = suite_id;
    v[1].n = sid_len;
    v[2].p = (const uint8_t *) label;
    v[2].n = strlen(label);
    v[3].p = ikm;
    v[3].n = ikm_len;

    return confer_hmac_iov(h, v, 4, out);
}


static int
confer_labeled_expand(confer_hmac_t *h, const uint8_t *suite_id,
    size_t sid_len, const char *label, const confer_iov_t *info,
    size_t ninfo, uint8_t *out, size_t L)
{
    uint8_t       len2[2];
    confer_iov_t  v[6];

    if (L > 0xffff || ninfo > 2) {
        return 0;
    }

    len2[0] = (uint8_t) (L >> 8);
    len2[1] = (uint8_t) L;

    v[0].p = len2;
    v[0].n = 2;
    v[1].p = confer_hpke_v1;
    v[1].n = sizeof(confer_hpke_v1) - 1;
    v[2].p = suite_id;
    v[2].n = sid_len;
    v[3].p = (const uint8_t *) label;
    v[3].n = strlen(label);
    if (ninfo) {
        memcpy(&v[4], info, ninfo * sizeof(confer_iov_t));
    }

    return confer_expand_iov(h, v, 4 + ninfo, out, L);
}


/*
 * X25519 public keys, RFC 7748, 5: X25519(k, 9).  libsodium computes it
 * with the same Montgomery ladder as a DH with any point; its Ed25519
 * fixed-base multiplication, with precomputed multiples of the base
 * point, takes about half the time, and the birational map of RFC 7748,
 * 4.1 turns the Edwards point into the same u-coordinate: u = (1 + y) /
 * (1 - y).  crypto_scalarmult_ed25519_base() clamps the scalar as X25519
 * does.  The map's arithmetic works on the public key only; it is
 * written without branches on data all the same.
 */

#ifndef CONFER_FE_MAP

static int
confer_x25519_base(uint8_t pk[CONFER_HPKE_NPK],
    const uint8_t sk[CONFER_HPKE_NSK])
{
    return crypto_scalarmult_base(pk, sk);
}

#else

#define CONFER_FE_MASK  ((uint64_t) 0x7ffffffffffff)     /* 2^51 - 1 */

typedef unsigned __int128  confer_u128_t;


static int
confer_x25519_base(uint8_t pk[CONFER_HPKE_NPK],
    const uint8_t sk[CONFER_HPKE_NSK])
{
    int       i;
    uint8_t   ed[32];
    uint64_t  y[5], num[5], den[5];

    /* 2p, limb by limb: 2^52 - 38, then 2^52 - 2 */
    static const uint64_t  two_p[5] = {
        0xfffffffffffdaULL, 0xffffffffffffeULL, 0xffffffffffffeULL,
        0xffffffffffffeULL, 0xffffffffffffeULL
    };

    /*
     * -1 for 32 zero bytes (an X25519 key all the same once clamped) or a
     * scalar that is 0 mod the group order (never, once clamped): the
     * ladder answers those as it always did
     */
    if (crypto_scalarmult_ed25519_base(ed, sk) != 0) {
        return crypto_scalarmult_base(pk, sk);
    }

    /* y: the encoding without the sign bit of x (RFC 8032, 5.1.2) */
    confer_fe_frombytes(y, ed);

    for (i = 0; i < 5; i++) {
        num[i] = y[i] + (i == 0);
        den[i] = two_p[i] + (i == 0) - y[i];
    }

    confer_fe_invert(den, den);
    confer_fe_mul(num, num, den);
    confer_fe_tobytes(pk, num);

    return 0;
}


/* GF(2^255 - 19) in five 51-bit limbs, little-endian */

static void
confer_fe_frombytes(uint64_t h[5], const uint8_t s[32])
{
    uint64_t  w[4];

    memcpy(w, s, 32);

    /* the top bit of s is not part of the element */
    h[0] = w[0] & CONFER_FE_MASK;
    h[1] = (w[0] >> 51 | w[1] << 13) & CONFER_FE_MASK;
    h[2] = (w[1] >> 38 | w[2] << 26) & CONFER_FE_MASK;
    h[3] = (w[2] >> 25 | w[3] << 39) & CONFER_FE_MASK;
    h[4] = (w[3] >> 12) & CONFER_FE_MASK;
}


/* the unique representative below p, little-endian */
static void
confer_fe_tobytes(uint8_t s[32], const uint64_t f[5])
{
    int       i;
    uint64_t  h[5], q, w[4];

    memcpy(h, f, sizeof(h));

    for (i = 0; i < 2; i++) {
        h[1] += h[0] >> 51;
        h[0] &= CONFER_FE_MASK;
        h[2] += h[1] >> 51;
        h[1] &= CONFER_FE_MASK;
        h[3] += h[2] >> 51;
        h[2] &= CONFER_FE_MASK;
        h[4] += h[3] >> 51;
        h[3] &= CONFER_FE_MASK;
        h[0] += 19 * (h[4] >> 51);
        h[4] &= CONFER_FE_MASK;
    }

    /* q = 1 if h >= p: then h - p = h + 19 - 2^255 */
    q = (h[0] + 19) >> 51;
    q = (h[1] + q) >> 51;
    q = (h[2] + q) >> 51;
    q = (h[3] + q) >> 51;
    q = (h[4] + q) >> 51;

    h[0] += 19 * q;
    h[1] += h[0] >> 51;
    h[0] &= CONFER_FE_MASK;
    h[2] += h[1] >> 51;
    h[1] &= CONFER_FE_MASK;
    h[3] += h[2] >> 51;
    h[2] &= CONFER_FE_MASK;
    h[4] += h[3] >> 51;
    h[3] &= CONFER_FE_MASK;
    h[4] &= CONFER_FE_MASK;

    w[0] = h[0] | h[1] << 51;
    w[1] = h[1] >> 13 | h[2] << 38;
    w[2] = h[2] >> 26 | h[3] << 25;
    w[3] = h[3] >> 39 | h[4] << 12;

    memcpy(s, w, 32);
}


/* h = f * g; limbs of f and g below 2^54, of h below 2^52 */
static void
confer_fe_mul(uint64_t h[5], const uint64_t f[5], const uint64_t g[5])
{
    uint64_t       c, g1, g2, g3, g4;
    confer_u128_t  r0, r1, r2, r3, r4;

    /* 2^255 = 19: the products that reach past limb 4 come back times 19 */
    g1 = 19 * g[1];
    g2 = 19 * g[2];
    g3 = 19 * g[3];
    g4 = 19 * g[4];

    r0 = (confer_u128_t) f[0] * g[0] + (confer_u128_t) f[1] * g4
         + (confer_u128_t) f[2] * g3 + (confer_u128_t) f[3] * g2
         + (confer_u128_t) f[4] * g1;
    r1 = (confer_u128_t) f[0] * g[1] + (confer_u128_t) f[1] * g[0]
         + (confer_u128_t) f[2] * g4 + (confer_u128_t) f[3] * g3
         + (confer_u128_t) f[4] * g2;
    r2 = (confer_u128_t) f[0] * g[2] + (confer_u128_t) f[1] * g[1]
         + (confer_u128_t) f[2] * g[0] + (confer_u128_t) f[3] * g4
         + (confer_u128_t) f[4] * g3;
    r3 = (confer_u128_t) f[0] * g[3] + (confer_u128_t) f[1] * g[2]
         + (confer_u128_t) f[2] * g[1] + (confer_u128_t) f[3] * g[0]
         + (confer_u128_t) f[4] * g4;
    r4 = (confer_u128_t) f[0] * g[4] + (confer_u128_t) f[1] * g[3]
         + (confer_u128_t) f[2] * g[2] + (confer_u128_t) f[3] * g[1]
         + (confer_u128_t) f[4] * g[0];

    r1 += (uint64_t) (r0 >> 51);
    h[0] = (uint64_t) r0 & CONFER_FE_MASK;
    r2 += (uint64_t) (r1 >> 51);
    h[1] = (uint64_t) r1 & CONFER_FE_MASK;
    r3 += (uint64_t) (r2 >> 51);
    h[2] = (uint64_t) r2 & CONFER_FE_MASK;
    r4 += (uint64_t) (r3 >> 51);
    h[3] = (uint64_t) r3 & CONFER_FE_MASK;
    c = (uint64_t) (r4 >> 51);
    h[4] = (uint64_t) r4 & CONFER_FE_MASK;

    h[0] += c * 19;
    h[1] += h[0] >> 51;
    h[0] &= CONFER_FE_MASK;
}


/* h = f^(2^n), n >= 1 */
static void
confer_fe_sqn(uint64_t h[5], const uint64_t f[5], unsigned n)
{
    confer_fe_mul(h, f, f);

    while (--n) {
        confer_fe_mul(h, h, h);
    }
}


/* out = z^(p - 2) = 1 / z (Fermat), p - 2 = 2^255 - 21 */
static void
confer_fe_invert(uint64_t out[5], const uint64_t z[5])
{
    uint64_t  z2[5], z9[5], z11[5], a[5], b[5], c[5], t[5];

    confer_fe_sqn(z2, z, 1);
    confer_fe_sqn(t, z2, 2);
    confer_fe_mul(z9, t, z);
    confer_fe_mul(z11, z9, z2);
    confer_fe_sqn(t, z11, 1);
    confer_fe_mul(a, t, z9);                /* z^(2^5 - 1) */
    confer_fe_sqn(t, a, 5);
    confer_fe_mul(a, t, a);                 /* z^(2^10 - 1) */
    confer_fe_sqn(t, a, 10);
    confer_fe_mul(b, t, a);                 /* z^(2^20 - 1) */
    confer_fe_sqn(t, b, 20);
    confer_fe_mul(t, t, b);                 /* z^(2^40 - 1) */
    confer_fe_sqn(t, t, 10);
    confer_fe_mul(b, t, a);                 /* z^(2^50 - 1) */
    confer_fe_sqn(t, b, 50);
    confer_fe_mul(c, t, b);                 /* z^(2^100 - 1) */
    confer_fe_sqn(t, c, 100);
    confer_fe_mul(t, t, c);                 /* z^(2^200 - 1) */
    confer_fe_sqn(t, t, 50);
    confer_fe_mul(t, t, b);                 /* z^(2^250 - 1) */
    confer_fe_sqn(t, t, 5);
    confer_fe_mul(out, t, z11);             /* z^(2^255 - 21) */
}

#endif /* CONFER_FE_MAP */


/* DHKEM(X25519, HKDF-SHA256), RFC 9180, 4.1 and 7.1 */

static const uint8_t  confer_kem_suite_id[5] = { 'K', 'E', 'M', 0x00, 0x20 };


confer_hpke_err_t
confer_hpke_derive_keypair(const uint8_t *ikm, size_t n,
    confer_hpke_keypair_t *kp)
{
    uint8_t            prk[CONFER_HPKE_NH];
    confer_hmac_t      h;
    confer_hpke_err_t  rc;

    /* RFC 9180, 7.1.3: ikm SHOULD have at least Nsk bytes of entropy */
    if (n < CONFER_HPKE_NSK) {
        return CONFER_HPKE_ERR_BAD_LENGTH;
    }

    if (!confer_sodium_ready() || !confer_hmac_new(&h)) {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    rc = CONFER_HPKE_ERR_CRYPTO;

    if (confer_hmac_key(&h, NULL, 0)
        && confer_labeled_extract(&h, confer_kem_suite_id, 5, "dkp_prk",
                                  ikm, n, prk)
        && confer_hmac_key(&h, prk, sizeof(prk))
        && confer_labeled_expand(&h, confer_kem_suite_id, 5, "sk", NULL, 0,
                                 kp->sk, CONFER_HPKE_NSK)
        && confer_x25519_base(kp->pk, kp->sk) == 0)
    {
        rc = CONFER_HPKE_OK;
    }

    confer_hmac_free(&h);
    sodium_memzero(prk, sizeof(prk));

    if (rc != CONFER_HPKE_OK) {
        sodium_memzero(kp, sizeof(*kp));
    }

    return rc;
}


confer_hpke_err_t
confer_hpke_generate_keypair(confer_hpke_keypair_t *kp)
{
    if (!confer_sodium_ready()) {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    /* any 32 bytes are an X25519 private key: the DH clamps them */
    randombytes_buf(kp->sk, CONFER_HPKE_NSK);

    if (confer_x25519_base(kp->pk, kp->sk) != 0) {
        sodium_memzero(kp, sizeof(*kp));
        return CONFER_HPKE_ERR_CRYPTO;
    }

    return CONFER_HPKE_OK;
}


confer_hpke_err_t
confer_hpke_keypair_from_sk(const uint8_t *sk, size_t n,
    confer_hpke_keypair_t *kp)
{
    if (n != CONFER_HPKE_NSK) {
        return CONFER_HPKE_ERR_BAD_LENGTH;
    }

    if (!confer_sodium_ready()) {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    memmove(kp->sk, sk, CONFER_HPKE_NSK);

    if (confer_x25519_base(kp->pk, kp->sk) != 0) {
        sodium_memzero(kp, sizeof(*kp));
        return CONFER_HPKE_ERR_BAD_KEY;
    }

    return CONFER_HPKE_OK;
}


void
confer_hpke_keypair_cleanup(confer_hpke_keypair_t *kp)
{
    sodium_memzero(kp, sizeof(*kp));
}


/* RFC 9180, 4.1: ExtractAndExpand(dh, enc || pkR) */

static confer_hpke_err_t
confer_kem_shared_secret(confer_hmac_t *h, const uint8_t *dh,
    const uint8_t *enc, const uint8_t *pkR, uint8_t *ss)
{
    int           ok;
    uint8_t       prk[CONFER_HPKE_NH];
    confer_iov_t  ctx[2];

    ctx[0].p = enc;
    ctx[0].n = CONFER_HPKE_NENC;
    ctx[1].p = pkR;
    ctx[1].n = CONFER_HPKE_NPK;

    ok = confer_hmac_key(h, NULL, 0)
         && confer_labeled_extract(h, confer_kem_suite_id, 5, "eae_prk",
                                   dh, CONFER_HPKE_NSECRET, prk)
         && confer_hmac_key(h, prk, sizeof(prk))
         && confer_labeled_expand(h, confer_kem_suite_id, 5,
                                  "shared_secret", ctx, 2, ss,
                                  CONFER_HPKE_NSECRET);

    sodium_memzero(prk, sizeof(prk));

    return ok ? CONFER_HPKE_OK : CONFER_HPKE_ERR_CRYPTO;
}


/* RFC 9180, 5.1: the key schedule, base mode (psk and psk_id empty) */

confer_hpke_err_t
confer_hpke_setup(confer_hpke_ctx_t *ctx, uint8_t mode,
    const confer_hpke_suite_t *suite, const uint8_t *pkR, size_t pkR_len,
    const confer_hpke_keypair_t *kpR, const uint8_t *enc_in,
    size_t enc_in_len, const uint8_t *info, size_t info_len,
    const confer_hpke_keypair_t *eph, uint8_t *enc_out)
{
    return confer_hpke_setup_any(ctx, mode, suite, pkR, pkR_len, kpR, enc_in,
                                 enc_in_len, info, info_len, eph, NULL,
                                 enc_out);
}


/* the setup behind all entry points; pre: a prepared Encap (sender) */
static confer_hpke_err_t
confer_hpke_setup_any(confer_hpke_ctx_t *ctx, uint8_t mode,
    const confer_hpke_suite_t *suite, const uint8_t *pkR, size_t pkR_len,
    const confer_hpke_keypair_t *kpR, const uint8_t *enc_in,
    size_t enc_in_len, const uint8_t *info, size_t info_len,
    const confer_hpke_keypair_t *eph, confer_hpke_encap_t *pre,
    uint8_t *enc_out)
{
    size_t                 nk;
    uint8_t                sid[10], dh[CONFER_HPKE_NSECRET],
                           ss[CONFER_HPKE_NSECRET], secret[CONFER_HPKE_NH],
                           ksc[1 + 2 * CONFER_HPKE_NH],
                           key[CONFER_HPKE_NK_MAX];
    const uint8_t         *enc, *pk;
    confer_iov_t           v;
    confer_hmac_t          h;
    confer_hpke_err_t      rc;
    confer_hpke_keypair_t  e;

    memset(ctx, 0, sizeof(*ctx));
    memset(&h, 0, sizeof(h));
    memset(&e, 0, sizeof(e));

    if (mode != CONFER_HPKE_MODE_BASE) {
        rc = CONFER_HPKE_ERR_UNSUPPORTED_MODE;
        goto done;
    }

    rc = confer_hpke_suite_check(suite);
    if (rc != CONFER_HPKE_OK) {
        goto done;
    }

    rc = CONFER_HPKE_ERR_CRYPTO;

    if (!confer_sodium_ready()) {
        goto done;
    }

    /* RFC 9180, 4.1: Encap on the sender, Decap on the receiver */

    if (kpR == NULL) {
        if (pkR == NULL || pkR_len != CONFER_HPKE_NPK || enc_out == NULL) {
            rc = CONFER_HPKE_ERR_BAD_LENGTH;
            goto done;
        }

        if (pre) {
            /* done ahead: the same Encap, for this pkR only */
            if (!pre->ready
                || memcmp(pre->pkR, pkR, CONFER_HPKE_NPK) != 0)
            {
                rc = CONFER_HPKE_ERR_NOT_READY;
                goto done;
            }

            memcpy(e.pk, pre->enc, CONFER_HPKE_NENC);
            memcpy(dh, pre->dh, CONFER_HPKE_NSECRET);

        } else {
            if (eph) {
                e = *eph;

            } else if (confer_hpke_generate_keypair(&e) != CONFER_HPKE_OK) {
                goto done;
            }

            if (crypto_scalarmult(dh, e.sk, pkR) != 0) {
                rc = CONFER_HPKE_ERR_BAD_KEY;
                goto done;
            }
        }

        memcpy(enc_out, e.pk, CONFER_HPKE_NENC);
        enc = e.pk;
        pk = pkR;

    } else {
        if (enc_in == NULL || enc_in_len != CONFER_HPKE_NENC) {
            rc = CONFER_HPKE_ERR_BAD_LENGTH;
            goto done;
        }

        if (crypto_scalarmult(dh, kpR->sk, enc_in) != 0) {
            rc = CONFER_HPKE_ERR_BAD_KEY;
            goto done;
        }

        enc = enc_in;
        pk = kpR->pk;
    }

    if (!confer_hmac_new(&h)) {
        goto done;
    }

    rc = confer_kem_shared_secret(&h, dh, enc, pk, ss);
    if (rc != CONFER_HPKE_OK) {
        goto done;
    }

    rc = CONFER_HPKE_ERR_CRYPTO;

    sid[0] = 'H';
    sid[1] = 'P';
    sid[2] = 'K';
    sid[3] = 'E';
    sid[4] = (uint8_t) (suite->kem_id >> 8);
    sid[5] = (uint8_t) suite->kem_id;
    sid[6] = (uint8_t) (suite->kdf_id >> 8);
    sid[7] = (uint8_t) suite->kdf_id;
    sid[8] = (uint8_t) (suite->aead_id >> 8);
    sid[9] = (uint8_t) suite->aead_id;

    ksc[0] = mode;

    if (!confer_hmac_key(&h, NULL, 0)
        || !confer_labeled_extract(&h, sid, 10, "psk_id_hash", NULL, 0,
                                   ksc + 1)
        || !confer_labeled_extract(&h, sid, 10, "info_hash", info,
                                   info_len, ksc + 1 + CONFER_HPKE_NH)
        || !confer_hmac_key(&h, ss, CONFER_HPKE_NSECRET)
        || !confer_labeled_extract(&h, sid, 10, "secret", NULL, 0, secret)
        || !confer_hmac_key(&h, secret, CONFER_HPKE_NH))
    {
        goto done;
    }

    v.p = ksc;
    v.n = sizeof(ksc);

    nk = confer_hpke_aead_nk(suite->aead_id);

    if (nk) {
        if (!confer_labeled_expand(&h, sid, 10, "key", &v, 1, key, nk)
            || !confer_labeled_expand(&h, sid, 10, "base_nonce", &v, 1,
                                      ctx->base_nonce, CONFER_HPKE_NN))
        {
            goto done;
        }

        rc = confer_aead_init(&ctx->aead, suite->aead_id, key, nk);
        if (rc != CONFER_HPKE_OK) {
            goto done;
        }

        rc = CONFER_HPKE_ERR_CRYPTO;
    }

    if (!confer_labeled_expand(&h, sid, 10, "exp", &v, 1,
                               ctx->exporter_secret, CONFER_HPKE_NH))
    {
        goto done;
    }

    ctx->suite = *suite;
    ctx->aead.aead_id = suite->aead_id;
    ctx->seq = 0;
    ctx->ready = 1;

    rc = CONFER_HPKE_OK;

done:

    confer_hmac_free(&h);
    sodium_memzero(&e, sizeof(e));
    sodium_memzero(dh, sizeof(dh));
    sodium_memzero(ss, sizeof(ss));
    sodium_memzero(secret, sizeof(secret));
    sodium_memzero(key, sizeof(key));

    if (pre) {
        confer_hpke_encap_cleanup(pre);
    }

    if (rc != CONFER_HPKE_OK) {
        confer_hpke_cleanup(ctx);
    }

    return rc;
}


confer_hpke_err_t
confer_hpke_encap_prepare(confer_hpke_encap_t *pre, const uint8_t *pkR,
    size_t pkR_len)
{
    confer_hpke_err_t      rc;
    confer_hpke_keypair_t  e;

    confer_hpke_encap_cleanup(pre);

    if (pkR == NULL || pkR_len != CONFER_HPKE_NPK) {
        return CONFER_HPKE_ERR_BAD_LENGTH;
    }

    rc = confer_hpke_generate_keypair(&e);
    if (rc != CONFER_HPKE_OK) {
        return rc;
    }

    /* RFC 9180, 7.1.4: an all-zero DH (a low-order pkR) is refused */
    if (crypto_scalarmult(pre->dh, e.sk, pkR) != 0) {
        sodium_memzero(&e, sizeof(e));
        confer_hpke_encap_cleanup(pre);
        return CONFER_HPKE_ERR_BAD_KEY;
    }

    memcpy(pre->pkR, pkR, CONFER_HPKE_NPK);
    memcpy(pre->enc, e.pk, CONFER_HPKE_NENC);
    pre->ready = 1;

    sodium_memzero(&e, sizeof(e));

    return CONFER_HPKE_OK;
}


void
confer_hpke_encap_cleanup(confer_hpke_encap_t *pre)
{
    sodium_memzero(pre, sizeof(*pre));
}


confer_hpke_err_t
confer_hpke_setup_base_s_prepared(confer_hpke_ctx_t *ctx,
    const confer_hpke_suite_t *suite, const uint8_t *pkR, size_t pkR_len,
    const uint8_t *info, size_t info_len, confer_hpke_encap_t *pre,
    uint8_t *enc)
{
    if (pre == NULL) {
        memset(ctx, 0, sizeof(*ctx));
        return CONFER_HPKE_ERR_NOT_READY;
    }

    return confer_hpke_setup_any(ctx, CONFER_HPKE_MODE_BASE, suite, pkR,
                                 pkR_len, NULL, NULL, 0, info, info_len, NULL,
                                 pre, enc);
}


confer_hpke_err_t
confer_hpke_setup_base_s(confer_hpke_ctx_t *ctx,
    const confer_hpke_suite_t *suite, const uint8_t *pkR, size_t pkR_len,
    const uint8_t *info, size_t info_len, uint8_t *enc)
{
    return confer_hpke_setup(ctx, CONFER_HPKE_MODE_BASE, suite, pkR, pkR_len,
                             NULL, NULL, 0, info, info_len, NULL, enc);
}


confer_hpke_err_t
confer_hpke_setup_base_s_eph(confer_hpke_ctx_t *ctx,
    const confer_hpke_suite_t *suite, const uint8_t *pkR, size_t pkR_len,
    const uint8_t *info, size_t info_len, const confer_hpke_keypair_t *eph,
    uint8_t *enc)
{
    return confer_hpke_setup(ctx, CONFER_HPKE_MODE_BASE, suite, pkR, pkR_len,
                             NULL, NULL, 0, info, info_len, eph, enc);
}


confer_hpke_err_t
confer_hpke_setup_base_r(confer_hpke_ctx_t *ctx,
    const confer_hpke_suite_t *suite, const uint8_t *enc, size_t enc_len,
    const confer_hpke_keypair_t *kpR, const uint8_t *info, size_t info_len)
{
    if (kpR == NULL) {
        memset(ctx, 0, sizeof(*ctx));
        return CONFER_HPKE_ERR_BAD_LENGTH;
    }

    return confer_hpke_setup(ctx, CONFER_HPKE_MODE_BASE, suite, NULL, 0, kpR,
                             enc, enc_len, info, info_len, NULL, NULL);
}


/* RFC 9180, 5.2: ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn) */

static void
confer_hpke_nonce(const confer_hpke_ctx_t *ctx, uint8_t nonce[CONFER_HPKE_NN])
{
    int       i;
    uint64_t  seq;

    memcpy(nonce, ctx->base_nonce, CONFER_HPKE_NN);

    seq = ctx->seq;
    for (i = CONFER_HPKE_NN - 1; seq != 0; i--) {
        nonce[i] ^= (uint8_t) seq;
        seq >>= 8;
    }
}


confer_hpke_err_t
confer_hpke_seal(confer_hpke_ctx_t *ctx, const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
    uint8_t            nonce[CONFER_HPKE_NN];
    confer_hpke_err_t  rc;

    if (!ctx->ready) {
        return CONFER_HPKE_ERR_NOT_READY;
    }

    if (ctx->suite.aead_id == CONFER_HPKE_AEAD_EXPORT_ONLY) {
        return CONFER_HPKE_ERR_EXPORT_ONLY;
    }

    if (pt_len > SIZE_MAX - CONFER_HPKE_NT
        || out_cap < pt_len + CONFER_HPKE_NT)
    {
        return CONFER_HPKE_ERR_BUFFER_TOO_SMALL;
    }

    /* the 96-bit counter cannot wrap here: a 64-bit one stops first */
    if (ctx->seq == UINT64_MAX) {
        return CONFER_HPKE_ERR_SEQ_OVERFLOW;
    }

    confer_hpke_nonce(ctx, nonce);

    rc = confer_aead_seal(&ctx->aead, nonce, aad, aad_len, pt, pt_len, out);
    if (rc != CONFER_HPKE_OK) {
        return rc;
    }

    ctx->seq++;
    *out_len = pt_len + CONFER_HPKE_NT;

    return CONFER_HPKE_OK;
}


confer_hpke_err_t
confer_hpke_open(confer_hpke_ctx_t *ctx, const uint8_t *aad, size_t aad_len,
    const uint8_t *ct, size_t ct_len, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
    uint8_t            nonce[CONFER_HPKE_NN];
    confer_hpke_err_t  rc;

    if (!ctx->ready) {
        return CONFER_HPKE_ERR_NOT_READY;
    }

    if (ctx->suite.aead_id == CONFER_HPKE_AEAD_EXPORT_ONLY) {
        return CONFER_HPKE_ERR_EXPORT_ONLY;
    }

    if (ct_len < CONFER_HPKE_NT) {
        return CONFER_HPKE_ERR_OPEN;
    }

    if (out_cap < ct_len - CONFER_HPKE_NT) {
        return CONFER_HPKE_ERR_BUFFER_TOO_SMALL;
    }

    if (ctx->seq == UINT64_MAX) {
        return CONFER_HPKE_ERR_SEQ_OVERFLOW;
    }

    confer_hpke_nonce(ctx, nonce);

    rc = confer_aead_open(&ctx->aead, nonce, aad, aad_len, ct, ct_len, out);
    if (rc != CONFER_HPKE_OK) {
        return rc;
    }

    ctx->seq++;
    *out_len = ct_len - CONFER_HPKE_NT;

    return CONFER_HPKE_OK;
}


/* RFC 9180, 5.3: LabeledExpand(exporter_secret, "sec", context, L) */

confer_hpke_err_t
confer_hpke_export(const confer_hpke_ctx_t *ctx,
    const uint8_t *exporter_context, size_t context_len, uint8_t *out,
    size_t L)
{
    int            ok;
    uint8_t        sid[10];
    confer_iov_t   v;
    confer_hmac_t  h;

    if (!ctx->ready) {
        return CONFER_HPKE_ERR_NOT_READY;
    }

    if (L > 255 * CONFER_HPKE_NH) {
        return CONFER_HPKE_ERR_EXPORT_TOO_LONG;
    }

    if (!confer_hmac_new(&h)) {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    sid[0] = 'H';
    sid[1] = 'P';
    sid[2] = 'K';
    sid[3] = 'E';
    sid[4] = (uint8_t) (ctx->suite.kem_id >> 8);
    sid[5] = (uint8_t) ctx->suite.kem_id;
    sid[6] = (uint8_t) (ctx->suite.kdf_id >> 8);
    sid[7] = (uint8_t) ctx->suite.kdf_id;
    sid[8] = (uint8_t) (ctx->suite.aead_id >> 8);
    sid[9] = (uint8_t) ctx->suite.aead_id;

    v.p = exporter_context;
    v.n = context_len;

    ok = confer_hmac_key(&h, ctx->exporter_secret, CONFER_HPKE_NH)
         && confer_labeled_expand(&h, sid, 10, "sec", &v, 1, out, L);

    confer_hmac_free(&h);

    return ok ? CONFER_HPKE_OK : CONFER_HPKE_ERR_CRYPTO;
}


void
confer_hpke_cleanup(confer_hpke_ctx_t *ctx)
{
    confer_aead_cleanup(&ctx->aead);
    sodium_memzero(ctx, sizeof(*ctx));
}


/* the AEADs, RFC 9180, 7.3 */

static const EVP_CIPHER *
confer_aes_gcm(size_t nk)
{
    EVP_CIPHER  **c;

    c = nk == 16 ? &confer_aes128gcm : &confer_aes256gcm;

    /* fetched once: an implicit fetch per context costs as much as a DH */
    if (*c == NULL) {
        *c = EVP_CIPHER_fetch(NULL, nk == 16 ? "AES-128-GCM" : "AES-256-GCM",
                              NULL);
    }

    return *c;
}


void
confer_hpke_library_cleanup(void)
{
    EVP_MD_free(confer_sha256_md);
    EVP_CIPHER_free(confer_aes128gcm);
    EVP_CIPHER_free(confer_aes256gcm);

    confer_sha256_md = NULL;
    confer_aes128gcm = NULL;
    confer_aes256gcm = NULL;
}


confer_hpke_err_t
confer_aead_init(confer_aead_t *aead, uint16_t aead_id, const uint8_t *key,
    size_t key_len)
{
    size_t             nk;
    const EVP_CIPHER  *cipher;

    memset(aead, 0, sizeof(*aead));

    nk = confer_hpke_aead_nk(aead_id);
    if (nk == 0) {
        return CONFER_HPKE_ERR_UNSUPPORTED_AEAD;
    }

    if (key_len != nk) {
        return CONFER_HPKE_ERR_BAD_LENGTH;
    }

    aead->aead_id = aead_id;
    aead->nk = (uint8_t) nk;

    /* libsodium takes the key at each call; for AES it is kept for tests */
    memcpy(aead->key, key, nk);

    if (aead_id == CONFER_HPKE_AEAD_CHACHA20POLY1305) {
        return confer_sodium_ready() ? CONFER_HPKE_OK : CONFER_HPKE_ERR_CRYPTO;
    }

    /* AES-GCM: the key schedule is computed here, once */

    cipher = confer_aes_gcm(nk);
    if (cipher == NULL) {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    aead->evp = EVP_CIPHER_CTX_new();
    if (aead->evp == NULL) {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    if (!EVP_CipherInit_ex(aead->evp, cipher, NULL, key, NULL, 1)) {
        confer_aead_cleanup(aead);
        return CONFER_HPKE_ERR_CRYPTO;
    }

    return CONFER_HPKE_OK;
}


confer_hpke_err_t
confer_aead_seal(confer_aead_t *aead, const uint8_t *nonce,
    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
    uint8_t *out)
{
    int                 outl, chunk;
    size_t              done;
    unsigned long long  maclen;

    if (aead->aead_id == CONFER_HPKE_AEAD_CHACHA20POLY1305) {
        if (crypto_aead_chacha20poly1305_ietf_encrypt_detached(out,
                out + pt_len, &maclen, pt, pt_len, aad, aad_len, NULL, nonce,
                aead->key)
            != 0)
        {
            return CONFER_HPKE_ERR_CRYPTO;
        }

        return CONFER_HPKE_OK;
    }

    if (aead->evp == NULL) {
        return CONFER_HPKE_ERR_NOT_READY;
    }

    /* only the nonce (and, when it changes, the direction) is set */
    if (!EVP_CipherInit_ex(aead->evp, NULL, NULL, NULL, nonce, 1)) {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    if (aad_len
        && (aad_len > INT_MAX
            || !EVP_CipherUpdate(aead->evp, NULL, &outl, aad, (int) aad_len)))
    {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    for (done = 0; done < pt_len; done += (size_t) chunk) {
        chunk = pt_len - done > (1 << 30) ? (1 << 30) : (int) (pt_len - done);

        if (!EVP_CipherUpdate(aead->evp, out + done, &outl, pt + done, chunk)
            || outl != chunk)
        {
            return CONFER_HPKE_ERR_CRYPTO;
        }
    }

    if (!EVP_CipherFinal_ex(aead->evp, out + pt_len, &outl)
        || !EVP_CIPHER_CTX_ctrl(aead->evp, EVP_CTRL_GCM_GET_TAG,
                                CONFER_HPKE_NT, out + pt_len))
    {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    return CONFER_HPKE_OK;
}


confer_hpke_err_t
confer_aead_open(confer_aead_t *aead, const uint8_t *nonce,
    const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
    uint8_t *out)
{
    int      outl, chunk;
    size_t   done, pt_len;
    uint8_t  tag[CONFER_HPKE_NT];

    if (ct_len < CONFER_HPKE_NT) {
        return CONFER_HPKE_ERR_OPEN;
    }

    pt_len = ct_len - CONFER_HPKE_NT;

    if (aead->aead_id == CONFER_HPKE_AEAD_CHACHA20POLY1305) {
        /* libsodium checks the tag before it writes any plaintext */
        if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, NULL,
                ct, pt_len, ct + pt_len, aad, aad_len, nonce, aead->key)
            != 0)
        {
            return CONFER_HPKE_ERR_OPEN;
        }

        return CONFER_HPKE_OK;
    }

    if (aead->evp == NULL) {
        return CONFER_HPKE_ERR_NOT_READY;
    }

    /* the tag is copied first: out may overlap ct */
    memcpy(tag, ct + pt_len, CONFER_HPKE_NT);

    if (!EVP_CipherInit_ex(aead->evp, NULL, NULL, NULL, nonce, 0)) {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    if (!EVP_CIPHER_CTX_ctrl(aead->evp, EVP_CTRL_GCM_SET_TAG, CONFER_HPKE_NT,
                             tag))
    {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    if (aad_len
        && (aad_len > INT_MAX
            || !EVP_CipherUpdate(aead->evp, NULL, &outl, aad, (int) aad_len)))
    {
        return CONFER_HPKE_ERR_CRYPTO;
    }

    for (done = 0; done < pt_len; done += (size_t) chunk) {
        chunk = pt_len - done > (1 << 30) ? (1 << 30) : (int) (pt_len - done);

        if (!EVP_CipherUpdate(aead->evp, out + done, &outl, ct + done, chunk)
            || outl != chunk)
        {
            OPENSSL_cleanse(out, done);
            return CONFER_HPKE_ERR_CRYPTO;
        }
    }

    if (EVP_CipherFinal_ex(aead->evp, out + pt_len, &outl) <= 0) {
        /* GCM writes plaintext before the tag is checked: take it back */
        OPENSSL_cleanse(out, pt_len);
        return CONFER_HPKE_ERR_OPEN;
    }

    return CONFER_HPKE_OK;
}


void
confer_aead_cleanup(confer_aead_t *aead)
{
    if (aead->evp) {
        /* frees the key schedule after zeroing it */
        EVP_CIPHER_CTX_free(aead->evp);
    }

    OPENSSL_cleanse(aead, sizeof(*aead));
}
