/*
 * OHTTP key configurations, RFC 9458, 3.
 *
 *   Key Config {
 *     Key Identifier (8),
 *     HPKE KEM ID (16),
 *     HPKE Public Key (Npk * 8),
 *     HPKE Symmetric Algorithms Length (16) = 4..65532,
 *     HPKE Symmetric Algorithms (32) ...,
 *   }
 */

#include <string.h>

#include "confer_keyconfig.h"
#include "confer_util.h"


static size_t confer_kem_npk(uint16_t kem_id);


static const char  *confer_keyconfig_errors[] = {
    "ok",
    "key configuration truncated",
    "unsupported KEM in key configuration",
    "bad symmetric algorithms length",
    "too many symmetric algorithms",
    "bad key configuration length in list",
    "no usable key configuration",
    "no common HPKE suite",
    "output buffer too small",
};


const char *
confer_keyconfig_strerror(confer_keyconfig_err_t err)
{
    if ((unsigned) err >= CONFER_KEYCONFIG_ERR_LAST) {
        return "unknown";
    }

    return confer_keyconfig_errors[err];
}


static size_t
confer_kem_npk(uint16_t kem_id)
{
    /* RFC 9180, 7.1: the one KEM implemented here */
    return kem_id == CONFER_HPKE_KEM_X25519_SHA256 ? CONFER_HPKE_NPK : 0;
}


size_t
confer_keyconfig_size(const confer_keyconfig_t *kc)
{
    return 1 + 2 + confer_kem_npk(kc->kem_id) + 2 + 4 * kc->nsuites;
}


confer_keyconfig_err_t
confer_keyconfig_encode(const confer_keyconfig_t *kc, uint8_t *out,
    size_t cap, size_t *out_len)
{
    size_t    i, npk, size;
    uint8_t  *p;

    npk = confer_kem_npk(kc->kem_id);
    if (npk == 0) {
        return CONFER_KEYCONFIG_ERR_UNSUPPORTED_KEM;
    }

    if (kc->nsuites == 0 || kc->nsuites > CONFER_KEYCONFIG_MAX_SUITES) {
        return CONFER_KEYCONFIG_ERR_BAD_SUITES;
    }

    size = confer_keyconfig_size(kc);
    if (cap < size) {
        return CONFER_KEYCONFIG_ERR_BUFFER_TOO_SMALL;
    }

    p = out;
    *p++ = kc->key_id;
    confer_put16(p, kc->kem_id);
    p += 2;
    memcpy(p, kc->pk, npk);
    p += npk;
    confer_put16(p, 4 * kc->nsuites);
    p += 2;

    for (i = 0; i < kc->nsuites; i++) {
        confer_put16(p, kc->suites[i].kdf_id);
        confer_put16(p + 2, kc->suites[i].aead_id);
        p += 4;
    }

    *out_len = size;

    return CONFER_KEYCONFIG_OK;
}


confer_keyconfig_err_t
confer_keyconfig_decode(const uint8_t *p, size_t n, confer_keyconfig_t *kc,
    size_t *used)
{
    size_t  i, npk, slen;

    memset(kc, 0, sizeof(*kc));

    if (n < 3) {
        return CONFER_KEYCONFIG_ERR_TRUNCATED;
    }

    kc->key_id = p[0];
    kc->kem_id = confer_get16(p + 1);

    npk = confer_kem_npk(kc->kem_id);
    if (npk == 0) {
        return CONFER_KEYCONFIG_ERR_UNSUPPORTED_KEM;
    }

    if (n < 3 + npk + 2) {
        return CONFER_KEYCONFIG_ERR_TRUNCATED;
    }

    memcpy(kc->pk, p + 3, npk);
    p += 3 + npk;

    slen = confer_get16(p);
    p += 2;

    if (slen < 4 || slen % 4) {
        return CONFER_KEYCONFIG_ERR_BAD_SUITES;
    }

    if (n - (3 + npk + 2) < slen) {
        return CONFER_KEYCONFIG_ERR_TRUNCATED;
    }

    if (slen / 4 > CONFER_KEYCONFIG_MAX_SUITES) {
        return CONFER_KEYCONFIG_ERR_TOO_MANY_SUITES;
    }

    kc->nsuites = slen / 4;

    for (i = 0; i < kc->nsuites; i++) {
        kc->suites[i].kdf_id = confer_get16(p);
        kc->suites[i].aead_id = confer_get16(p + 2);
        p += 4;
    }

    *used = 3 + npk + 2 + slen;

    return CONFER_KEYCONFIG_OK;
}


/* RFC 9458, 3.2: application/ohttp-keys */

confer_keyconfig_err_t
confer_keyconfig_encode_list(const confer_keyconfig_t *kcs, size_t n,
    uint8_t *out, size_t cap, size_t *out_len)
{
    size_t                  i, off, len;
    confer_keyconfig_err_t  rc;

    off = 0;

    for (i = 0; i < n; i++) {
        if (cap - off < 2) {
            return CONFER_KEYCONFIG_ERR_BUFFER_TOO_SMALL;
        }

        rc = confer_keyconfig_encode(&kcs[i], out + off + 2, cap - off - 2,
                                     &len);
        if (rc != CONFER_KEYCONFIG_OK) {
            return rc;
        }

        confer_put16(out + off, len);
        off += 2 + len;
    }

    *out_len = off;

    return CONFER_KEYCONFIG_OK;
}


confer_keyconfig_err_t
confer_keyconfig_decode_list(const uint8_t *p, size_t n,
    confer_keyconfig_t *out, size_t max, size_t *count)
{
    size_t                  len, used, k;
    confer_keyconfig_t      kc;
    confer_keyconfig_err_t  rc;

    k = 0;

    while (n > 0) {
        if (n < 2) {
            return CONFER_KEYCONFIG_ERR_TRUNCATED;
        }

        len = confer_get16(p);
        p += 2;
        n -= 2;

        if (len > n) {
            return CONFER_KEYCONFIG_ERR_TRUNCATED;
        }

        rc = confer_keyconfig_decode(p, len, &kc, &used);

        if (rc == CONFER_KEYCONFIG_ERR_UNSUPPORTED_KEM && len >= 3) {
            /* a KEM unknown here: its length prefix lets us step over it */
            p += len;
            n -= len;
            continue;
        }

        if (rc == CONFER_KEYCONFIG_ERR_TRUNCATED) {
            return CONFER_KEYCONFIG_ERR_BAD_LENGTH;
        }

        if (rc != CONFER_KEYCONFIG_OK) {
            return rc;
        }

        if (used != len) {
            return CONFER_KEYCONFIG_ERR_BAD_LENGTH;
        }

        if (k < max) {
            out[k] = kc;
        }

        k++;
        p += len;
        n -= len;
    }

    *count = k < max ? k : max;

    return k ? CONFER_KEYCONFIG_OK : CONFER_KEYCONFIG_ERR_NO_CONFIG;
}


int
confer_keyconfig_offers(const confer_keyconfig_t *kc, uint16_t kdf_id,
    uint16_t aead_id)
{
    size_t  i;

    for (i = 0; i < kc->nsuites && i < CONFER_KEYCONFIG_MAX_SUITES; i++) {
        if (kc->suites[i].kdf_id == kdf_id
            && kc->suites[i].aead_id == aead_id)
        {
            return 1;
        }
    }

    return 0;
}


confer_keyconfig_err_t
confer_keyconfig_pick(const confer_keyconfig_t *kc, const uint16_t *aead_pref,
    size_t npref, confer_hpke_suite_t *suite)
{
    size_t  i;

    if (kc->kem_id != CONFER_HPKE_KEM_X25519_SHA256) {
        return CONFER_KEYCONFIG_ERR_UNSUPPORTED_KEM;
    }

    for (i = 0; i < npref; i++) {
        if (confer_hpke_aead_nk(aead_pref[i]) == 0) {
            continue;
        }

        if (confer_keyconfig_offers(kc, CONFER_HPKE_KDF_HKDF_SHA256,
                                    aead_pref[i]))
        {
            suite->kem_id = kc->kem_id;
            suite->kdf_id = CONFER_HPKE_KDF_HKDF_SHA256;
            suite->aead_id = aead_pref[i];
            return CONFER_KEYCONFIG_OK;
        }
    }

    return CONFER_KEYCONFIG_ERR_NO_COMMON_SUITE;
}
