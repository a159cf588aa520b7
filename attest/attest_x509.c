/*
 * attest/: certificate loading through a process-wide cache, hand-built
 * chains to pinned roots, CRLs, raw-signature ECDSA, and the AMD VCEK
 * extension parser.  Every verifier (SEV-SNP, TDX, NVIDIA GPU) uses these;
 * nothing X.509 is written twice.
 */

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "attest_x509.h"


#define ATTEST_AMD_OID        "1.3.6.1.4.1.3704.1."
#define ATTEST_X509_MAX_DATA  (1024 * 1024)


static X509 *attest_x509_cache_get(const uint8_t md[32]);
static void attest_x509_cache_put(X509 *x);
static int attest_x509_cache_ready(void);
static void attest_x509_cache_init(void);
static int attest_x509_is_pem(const uint8_t *p, size_t n);
static attest_err_t attest_x509_load_pem(const uint8_t *p, size_t n,
    X509 **certs, size_t max, size_t *count);
static size_t attest_der_seq_len(const uint8_t *p, size_t n);
static void attest_x509_detail(char *detail, size_t dn, const char *what,
    X509 *x);


/*
 * The certificate cache.  OpenSSL 3.0 spends about 0.35 ms in d2i_X509
 * (most of it decoding the public key through the provider), more than
 * the signature checks of a whole SNP chain; yet a gateway sees the same
 * few vendor certificates again and again: the AMD ASK and ARK, Intel's
 * PCK CA, root and TCB signing certificate, NVIDIA's intermediates and
 * root, and one leaf per chip.  So each distinct certificate is parsed
 * once per process.
 *
 * What it holds: only certificates of chains that attest_x509_chain()
 * verified to a pinned root (a vendor root, or the simulated root a
 * policy pins), all public; anything else parsed is freed by its caller
 * and never enters.  So a stream of foreign certificates cannot evict
 * the vendors' ones, and the cache never holds a secret or a client's
 * data.  It is keyed by the SHA-256 of the DER, holds 64 entries
 * (a multi-GPU document carries about 30 distinct certificates: a leaf
 * and a BROM certificate per device), and replaces entries in turn.
 *
 * Locking: nginx workers are single-threaded processes, so each worker
 * has its own copy (inherited by fork, then private) and the lock is
 * never contended there.  It is kept, an OpenSSL rwlock taken for a few
 * instructions, so that the library stays correct for a threaded caller
 * (a test harness, a thread pool); the shared X509 objects are read-only
 * and have their lazily computed parts filled before they are shared.
 * attest_cleanup() frees the cache; after it the library still works,
 * without caching.
 */
#define ATTEST_X509_CACHE  64

static struct {
    uint8_t          md[32];
    X509            *x;
} attest_x509_cache[ATTEST_X509_CACHE];

static size_t          attest_x509_cache_next;
static int             attest_x509_cache_off;
static CRYPTO_RWLOCK  *attest_x509_cache_lock;
static CRYPTO_ONCE     attest_x509_cache_once = CRYPTO_ONCE_STATIC_INIT;


static void
attest_x509_cache_init(void)
{
    attest_x509_cache_lock = CRYPTO_THREAD_lock_new();
}


static int
attest_x509_cache_ready(void)
{
    return !attest_x509_cache_off
           && CRYPTO_THREAD_run_once(&attest_x509_cache_once,
                                     attest_x509_cache_init)
           && attest_x509_cache_lock != NULL;
}


/* a new reference to the cached certificate with this digest, or NULL */
static X509 *
attest_x509_cache_get(const uint8_t md[32])
{
    X509    *x;
    size_t   i;

    x = NULL;

    if (!attest_x509_cache_ready()
        || !CRYPTO_THREAD_read_lock(attest_x509_cache_lock))
    {
        return NULL;
    }

    for (i = 0; i < ATTEST_X509_CACHE; i++) {
        if (attest_x509_cache[i].x != NULL
            && memcmp(attest_x509_cache[i].md, md, 32) == 0
            && X509_up_ref(attest_x509_cache[i].x))
        {
            x = attest_x509_cache[i].x;
            break;
        }
    }

    CRYPTO_THREAD_unlock(attest_x509_cache_lock);
    return x;
}


static void
attest_x509_cache_put(X509 *x)
{
    size_t        i;
    uint8_t       md[32];
    unsigned int  len;

    if (!attest_x509_cache_ready()
        || !CRYPTO_THREAD_write_lock(attest_x509_cache_lock))
    {
        return;
    }

    for (i = 0; i < ATTEST_X509_CACHE; i++) {
        if (attest_x509_cache[i].x == x) {
            CRYPTO_THREAD_unlock(attest_x509_cache_lock);
            return;
        }
    }

    len = 32;

    if (X509_digest(x, EVP_sha256(), md, &len) == 1 && len == 32
        && X509_up_ref(x))
    {
        i = attest_x509_cache_next++ % ATTEST_X509_CACHE;
        X509_free(attest_x509_cache[i].x);
        memcpy(attest_x509_cache[i].md, md, 32);
        attest_x509_cache[i].x = x;
    }

    ERR_clear_error();
    CRYPTO_THREAD_unlock(attest_x509_cache_lock);
}


void
attest_cleanup(void)
{
    size_t  i;

    if (attest_x509_cache_off) {
        return;
    }

    attest_x509_cache_off = 1;

    if (attest_x509_cache_lock == NULL) {
        return;
    }

    CRYPTO_THREAD_write_lock(attest_x509_cache_lock);

    for (i = 0; i < ATTEST_X509_CACHE; i++) {
        X509_free(attest_x509_cache[i].x);
        attest_x509_cache[i].x = NULL;
    }

    CRYPTO_THREAD_unlock(attest_x509_cache_lock);
    CRYPTO_THREAD_lock_free(attest_x509_cache_lock);
    attest_x509_cache_lock = NULL;
}


X509 *
attest_x509_parse(const uint8_t *der, size_t n)
{
    X509                 *x;
    uint8_t               md[32];
    const unsigned char  *d;

    if (der == NULL || n == 0 || n > LONG_MAX) {
        return NULL;
    }

    if (attest_x509_cache_ready()
        && EVP_Digest(der, n, md, NULL, EVP_sha256(), NULL) == 1)
    {
        x = attest_x509_cache_get(md);
        if (x != NULL) {
            return x;
        }
    }

    d = der;
    x = d2i_X509(NULL, &d, (long) n);

    if (x == NULL || d != der + n) {
        X509_free(x);
        ERR_clear_error();
        return NULL;
    }

    /* fill the lazily cached parts now, before the object may be shared */
    if (X509_get0_pubkey(x) == NULL || X509_check_purpose(x, -1, 0) != 1) {
        ERR_clear_error();
    }

    return x;
}


void
attest_x509_free(X509 **certs, size_t n)
{
    while (n) {
        X509_free(certs[--n]);
        certs[n] = NULL;
    }
}


/* a PEM bundle has this line; DER cannot start with it */
static int
attest_x509_is_pem(const uint8_t *p, size_t n)
{
    size_t  i;

    if (p[0] == 0x30) {
        return 0;
    }

    for (i = 0; i + 10 <= n; i++) {
        if (p[i] == '-' && memcmp(p + i, "-----BEGIN", 10) == 0) {
            return 1;
        }
    }

    return 0;
}


/* RFC 7468: CERTIFICATE blocks in order; a damaged block fails all */
static attest_err_t
attest_x509_load_pem(const uint8_t *p, size_t n, X509 **certs, size_t max,
    size_t *count)
{
    long            len;
    BIO            *bio;
    X509           *x;
    char           *name, *header;
    size_t          k;
    unsigned long   e;
    unsigned char  *data;
    attest_err_t    rc;

    bio = BIO_new_mem_buf(p, (int) n);
    if (bio == NULL) {
        return ATTEST_ERR_NOMEM;
    }

    ERR_set_mark();
    rc = ATTEST_OK;
    k = *count;

    for ( ;; ) {
        name = NULL;
        header = NULL;
        data = NULL;

        if (PEM_read_bio(bio, &name, &header, &data, &len) != 1) {
            e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) != ERR_LIB_PEM
                || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
            {
                rc = ATTEST_ERR_CERT;
            }
            break;
        }

        x = NULL;

        if (strcmp(name, "CERTIFICATE") != 0 || header[0] != '\0'
            || len <= 0 || k == max
            || (x = attest_x509_parse(data, (size_t) len)) == NULL)
        {
            rc = ATTEST_ERR_CERT;
        }

        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);

        if (rc != ATTEST_OK) {
            break;
        }

        certs[k++] = x;
    }

    ERR_pop_to_mark();
    BIO_free(bio);

    if (rc == ATTEST_OK && k == *count) {
        rc = ATTEST_ERR_NO_CERT;
    }

    if (rc != ATTEST_OK) {
        attest_x509_free(certs + *count, k - *count);
        return rc;
    }

    *count = k;
    return ATTEST_OK;
}


/* the length of the DER SEQUENCE at p, header included; 0 if bad */
static size_t
attest_der_seq_len(const uint8_t *p, size_t n)
{
    size_t  i, k, len;

    if (n < 2 || p[0] != 0x30) {
        return 0;
    }

    if (p[1] < 0x80) {
        len = p[1];
        i = 2;

    } else {
        k = p[1] & 0x7f;
        if (k == 0 || k > 3 || n < 2 + k) {
            return 0;
        }

        len = 0;
        for (i = 0; i < k; i++) {
            len = len << 8 | p[2 + i];
        }
        i = 2 + k;
    }

    return len <= n - i ? i + len : 0;
}


attest_err_t
attest_x509_load(const uint8_t *p, size_t n, X509 **certs, size_t max,
    size_t *count)
{
    X509    *x;
    size_t   k, len;

    if (p == NULL || n == 0) {
        return ATTEST_ERR_NO_CERT;
    }

    /* text: NULs and blanks after the last block (TDX quotes, files) */
    while (p[0] != 0x30 && n > 0
           && (p[n - 1] == '\0' || p[n - 1] == '\n' || p[n - 1] == '\r'
               || p[n - 1] == ' '))
    {
        n--;
    }

    if (n == 0) {
        return ATTEST_ERR_NO_CERT;
    }

    if (n > ATTEST_X509_MAX_DATA || *count > max) {
        return ATTEST_ERR_CERT;
    }

    if (attest_x509_is_pem(p, n)) {
        return attest_x509_load_pem(p, n, certs, max, count);
    }

    k = *count;

    while (n > 0) {
        len = attest_der_seq_len(p, n);
        x = (len && k < max) ? attest_x509_parse(p, len) : NULL;

        if (x == NULL) {
            attest_x509_free(certs + *count, k - *count);
            return ATTEST_ERR_CERT;
        }

        certs[k++] = x;
        p += len;
        n -= len;
    }

    *count = k;
    return ATTEST_OK;
}


void
attest_x509_sha256(X509 *x, uint8_t out[32])
{
    unsigned int  len;

    len = 32;
    if (!X509_digest(x, EVP_sha256(), out, &len)) {
        memset(out, 0, 32);
        ERR_clear_error();
    }
}


int
attest_x509_self_issued(X509 *x)
{
    int  rc;

    rc = X509_check_issued(x, x) == X509_V_OK;
    ERR_clear_error();
    return rc;
}


int
attest_x509_self_signed(X509 *x)
{
    EVP_PKEY  *key;

    if (!attest_x509_self_issued(x)) {
        return 0;
    }

    key = X509_get0_pubkey(x);
    if (key == NULL || X509_verify(x, key) != 1) {
        ERR_clear_error();
        return 0;
    }

    return 1;
}


void
attest_x509_cn(X509 *x, char *buf, size_t n)
{
    if (n == 0) {
        return;
    }

    if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
                                  buf, (int) n) < 0)
    {
        ERR_clear_error();
        buf[0] = '\0';
    }
}


int
attest_x509_cn_is(X509 *x, const char *cn)
{
    int   len;
    char  buf[128];

    len = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
                                    buf, sizeof(buf));
    if (len < 0) {
        ERR_clear_error();
        return 0;
    }

    return (size_t) len == strlen(cn) && strcmp(buf, cn) == 0;
}


static void
attest_x509_detail(char *detail, size_t dn, const char *what, X509 *x)
{
    char  cn[64];

    if (detail == NULL || dn == 0) {
        return;
    }

    attest_x509_cn(x, cn, sizeof(cn));
    snprintf(detail, dn, "%s \"%s\"", what, cn[0] ? cn : "?");
}


/* days from civil, proleptic Gregorian: no timegm(), no TZ, any year */
time_t
attest_days_to_time(long y, int mon, int d, int h, int mi, int s)
{
    long  era, yoe, doy, doe;

    y -= mon <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return (time_t) (era * 146097 + doe - 719468) * 86400
           + h * 3600 + mi * 60 + s;
}


int
attest_asn1_time(const ASN1_TIME *t, time_t *out)
{
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        return -1;
    }

    *out = attest_days_to_time(tm.tm_year + 1900L, tm.tm_mon + 1,
                               tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return 0;
}


void
attest_min_time(time_t *acc, time_t t)
{
    if (*acc == 0 || t < *acc) {
        *acc = t;
    }
}


attest_err_t
attest_x509_valid_at(X509 *x, time_t now)
{
    time_t  nb, na;

    if (attest_asn1_time(X509_get0_notBefore(x), &nb) != 0
        || attest_asn1_time(X509_get0_notAfter(x), &na) != 0)
    {
        return ATTEST_ERR_CERT;
    }

    if (now < nb || now > na) {
        return ATTEST_ERR_CERT_EXPIRED;
    }

    return ATTEST_OK;
}


time_t
attest_x509_not_after(X509 *x)
{
    time_t  t;

    return attest_asn1_time(X509_get0_notAfter(x), &t) == 0 ? t : 0;
}


attest_err_t
attest_x509_chain(X509 *leaf, X509 *const *pool, size_t npool,
    const uint8_t (*pins)[32], size_t npins, time_t now, size_t max,
    attest_x509_path_t *path, char *detail, size_t dn)
{
    int            named, sound;
    X509          *cur, *cand, *issuer, *root;
    size_t         d, i, k;
    uint8_t        md[32];
    EVP_PKEY      *key;
    attest_err_t   rc;

    memset(path, 0, sizeof(*path));

    if (max > ATTEST_X509_MAX_CHAIN) {
        max = ATTEST_X509_MAX_CHAIN;
    }

    d = 0;
    cur = leaf;
    path->chain[d++] = cur;

    while (!attest_x509_self_issued(cur)) {

        if (d == max) {
            attest_x509_detail(detail, dn, "chain too long at", cur);
            return ATTEST_ERR_CHAIN;
        }

        issuer = NULL;
        named = 0;

        for (i = 0; i < npool; i++) {
            cand = pool[i];

            if (cand == cur || X509_check_issued(cand, cur) != X509_V_OK) {
                continue;
            }

            named = 1;

            key = X509_get0_pubkey(cand);
            if (key != NULL && X509_verify(cur, key) == 1) {
                issuer = cand;
                break;
            }
        }

        ERR_clear_error();

        if (issuer == NULL) {
            attest_x509_detail(detail, dn, named
                               ? "signature does not verify on"
                               : "no issuer given for", cur);
            return ATTEST_ERR_CHAIN;
        }

        if (X509_check_ca(issuer) != 1) {
            attest_x509_detail(detail, dn, "issuer is not a CA:", issuer);
            return ATTEST_ERR_CHAIN;
        }

        for (k = 0; k < d; k++) {
            if (path->chain[k] == issuer) {
                attest_x509_detail(detail, dn, "loop at", issuer);
                return ATTEST_ERR_CHAIN;
            }
        }

        path->chain[d++] = issuer;
        cur = issuer;
    }

    root = cur;

    if (X509_check_ca(root) != 1) {
        ERR_clear_error();
        attest_x509_detail(detail, dn, "the root is not a CA:", root);
        return ATTEST_ERR_CHAIN;
    }

    /* the pin covers the root's self-signature; it is checked only to
     * tell a damaged root (bad_chain) from another root (unknown_root) */
    attest_x509_sha256(root, md);

    for (i = 0; i < npins; i++) {
        if (CRYPTO_memcmp(md, pins[i], 32) == 0) {
            break;
        }
    }

    if (i == npins) {
        key = X509_get0_pubkey(root);
        sound = key != NULL && X509_verify(root, key) == 1;
        ERR_clear_error();

        attest_x509_detail(detail, dn, sound ? "the chain ends at a root "
                           "that is not pinned:" : "the root does not "
                           "verify:", root);
        return sound ? ATTEST_ERR_UNKNOWN_ROOT : ATTEST_ERR_CHAIN;
    }

    path->pin = i;

    for (k = 0; k < d; k++) {
        rc = attest_x509_valid_at(path->chain[k], now);
        if (rc != ATTEST_OK) {
            attest_x509_detail(detail, dn, "not valid at the given time:",
                               path->chain[k]);
            return rc;
        }

        attest_min_time(&path->not_after,
                        attest_x509_not_after(path->chain[k]));
    }

    path->depth = d;

    for (k = 0; k < d; k++) {
        attest_x509_cache_put(path->chain[k]);
    }

    return ATTEST_OK;
}


/* RFC 5280, 5: a CRL, DER or PEM */
attest_err_t
attest_x509_crl_load(const uint8_t *p, size_t n, X509_CRL **out)
{
    long                  len;
    BIO                  *bio;
    char                 *name, *header;
    X509_CRL             *crl;
    unsigned char        *data;
    const unsigned char  *d;

    *out = NULL;

    if (p == NULL || n == 0 || n > 16 * ATTEST_X509_MAX_DATA) {
        return ATTEST_ERR_CRL;
    }

    if (n < 11 || memcmp(p, "-----BEGIN ", 11) != 0) {
        d = p;
        crl = d2i_X509_CRL(NULL, &d, (long) n);
        if (crl == NULL || d != p + n) {
            X509_CRL_free(crl);
            ERR_clear_error();
            return ATTEST_ERR_CRL;
        }
        *out = crl;
        return ATTEST_OK;
    }

    bio = BIO_new_mem_buf(p, (int) n);
    if (bio == NULL) {
        return ATTEST_ERR_NOMEM;
    }

    crl = NULL;
    name = NULL;
    header = NULL;
    data = NULL;

    if (PEM_read_bio(bio, &name, &header, &data, &len) == 1
        && strcmp(name, "X509 CRL") == 0 && header[0] == '\0')
    {
        d = data;
        crl = d2i_X509_CRL(NULL, &d, len);
        if (crl != NULL && d != data + len) {
            X509_CRL_free(crl);
            crl = NULL;
        }
    }

    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    BIO_free(bio);
    ERR_clear_error();

    *out = crl;
    return crl ? ATTEST_OK : ATTEST_ERR_CRL;
}


/* RFC 5280, 6.3: issuer, signature, currency, then the serial */
attest_err_t
attest_x509_crl_check(const uint8_t *p, size_t n, X509 *issuer,
    X509 *subject, time_t now, time_t *not_after)
{
    time_t         next;
    X509_CRL      *crl;
    EVP_PKEY      *key;
    attest_err_t   rc;
    X509_REVOKED  *rev;

    rc = attest_x509_crl_load(p, n, &crl);
    if (rc != ATTEST_OK) {
        return rc;
    }

    key = X509_get0_pubkey(issuer);

    if (key == NULL
        || X509_NAME_cmp(X509_CRL_get_issuer(crl),
                         X509_get_subject_name(issuer)) != 0
        || X509_CRL_verify(crl, key) != 1)
    {
        rc = ATTEST_ERR_CRL;
        goto done;
    }

    if (X509_CRL_get0_nextUpdate(crl) != NULL) {
        if (attest_asn1_time(X509_CRL_get0_nextUpdate(crl), &next) != 0) {
            rc = ATTEST_ERR_CRL;
            goto done;
        }

        if (now > next) {
            rc = ATTEST_ERR_COLLATERAL_EXPIRED;
            goto done;
        }

        attest_min_time(not_after, next);
    }

    if (X509_CRL_get0_by_serial(crl, &rev,
                                X509_get0_serialNumber(subject)) == 1)
    {
        rc = ATTEST_ERR_REVOKED;
    }

done:

    X509_CRL_free(crl);
    ERR_clear_error();
    return rc;
}


EVP_PKEY *
attest_ec_key(const char *group, const uint8_t *xy, size_t n)
{
    uint8_t        pt[133];
    EVP_PKEY      *pkey;
    OSSL_PARAM     params[3];
    EVP_PKEY_CTX  *ctx;

    if (n == 0 || n + 1 > sizeof(pt)) {
        return NULL;
    }

    /* SEC 1, 2.3.3: an uncompressed point */
    pt[0] = 0x04;
    memcpy(pt + 1, xy, n);

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *) group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                  pt, n + 1);
    params[2] = OSSL_PARAM_construct_end();

    pkey = NULL;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

    if (ctx == NULL
        || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }

    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return pkey;
}


int
attest_ec_is(EVP_PKEY *key, const char *group)
{
    char    name[32];
    size_t  len;

    if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC
        || EVP_PKEY_get_group_name(key, name, sizeof(name), &len) != 1)
    {
        ERR_clear_error();
        return 0;
    }

    return strcmp(name, group) == 0;
}


int
attest_ecdsa_verify(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg,
    size_t n, const uint8_t *r, const uint8_t *s, size_t len, int le)
{
    int             ok, dlen;
    BIGNUM         *br, *bs;
    ECDSA_SIG      *sig;
    EVP_MD_CTX     *ctx;
    unsigned char  *der;

    if (key == NULL || len == 0 || len > 72) {
        return 0;
    }

    br = le ? BN_lebin2bn(r, (int) len, NULL) : BN_bin2bn(r, (int) len, NULL);
    bs = le ? BN_lebin2bn(s, (int) len, NULL) : BN_bin2bn(s, (int) len, NULL);
    sig = ECDSA_SIG_new();

    if (br == NULL || bs == NULL || sig == NULL) {
        BN_free(br);
        BN_free(bs);
        ECDSA_SIG_free(sig);
        ERR_clear_error();
        return 0;
    }

    ECDSA_SIG_set0(sig, br, bs);

    der = NULL;
    dlen = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);

    if (dlen <= 0) {
        ERR_clear_error();
        return 0;
    }

    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL
         && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1
         && EVP_DigestVerify(ctx, der, (size_t) dlen, msg, n) == 1;

    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ERR_clear_error();

    return ok;
}


/* DER INTEGER, non-negative, minimally encoded, at most 64 bits */
attest_err_t
attest_der_uint(const uint8_t *p, size_t n, uint64_t *v)
{
    size_t    i, len;
    uint64_t  r;

    if (n < 3 || p[0] != 0x02 || p[1] >= 0x80) {
        return ATTEST_ERR_CERT;
    }

    len = p[1];

    if (len == 0 || len + 2 != n || (p[2] & 0x80)) {
        return ATTEST_ERR_CERT;
    }

    if (len > 1 && p[2] == 0 && !(p[3] & 0x80)) {
        return ATTEST_ERR_CERT;           /* not minimal */
    }

    if (len > 9 || (len == 9 && p[2] != 0)) {
        return ATTEST_ERR_CERT;
    }

    r = 0;
    for (i = 0; i < len; i++) {
        r = (r << 8) | p[2 + i];
    }

    *v = r;
    return ATTEST_OK;
}


/* DER IA5String or UTF8String of printable ASCII, short form length */
attest_err_t
attest_der_string(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t  i, len;

    if (n < 2 || (p[0] != 0x16 && p[0] != 0x0c) || p[1] >= 0x80) {
        return ATTEST_ERR_CERT;
    }

    len = p[1];

    if (len + 2 != n || len + 1 > cap) {
        return ATTEST_ERR_CERT;
    }

    for (i = 0; i < len; i++) {
        if (p[2 + i] < 0x20 || p[2 + i] > 0x7e) {
            return ATTEST_ERR_CERT;
        }
        out[i] = (char) p[2 + i];
    }

    out[len] = '\0';
    return ATTEST_OK;
}


/* one extension under 1.3.6.1.4.1.3704.1; oid is the text after that
 * prefix ("2", "3.8", ...); unknown arcs are ignored */
attest_err_t
attest_amd_ext_value(const char *oid, const uint8_t *p, size_t n,
    attest_amd_ext_t *e)
{
    char      *end;
    unsigned   long arc;

    if (strcmp(oid, "1") == 0) {
        if (e->have_struct_version) {
            return ATTEST_ERR_CERT;
        }
        e->have_struct_version = 1;
        return attest_der_uint(p, n, &e->struct_version);
    }

    if (strcmp(oid, "2") == 0) {
        if (e->product[0] != '\0') {
            return ATTEST_ERR_CERT;
        }
        return attest_der_string(p, n, e->product, sizeof(e->product));
    }

    if (strncmp(oid, "3.", 2) == 0) {
        arc = strtoul(oid + 2, &end, 10);
        if (*end != '\0' || arc == 0 || arc > 9) {
            return ATTEST_OK;
        }
        if (e->have_tcb & (1u << arc)) {
            return ATTEST_ERR_CERT;
        }
        e->have_tcb |= 1u << arc;
        return attest_der_uint(p, n, &e->tcb[arc]);
    }

    if (strcmp(oid, "4") == 0) {
        if (e->hwid_len) {
            return ATTEST_ERR_CERT;
        }

        /* hwID is the raw 64 (Turin: 8) bytes; some tools wrap it in an
         * OCTET STRING, which the lengths tell apart */
        if ((n == 66 && p[0] == 0x04 && p[1] == 64)
            || (n == 10 && p[0] == 0x04 && p[1] == 8))
        {
            p += 2;
            n -= 2;
        }

        if (n != 64 && n != 8) {
            return ATTEST_ERR_CERT;
        }

        memcpy(e->hwid, p, n);
        e->hwid_len = n;
        return ATTEST_OK;
    }

    if (strcmp(oid, "5") == 0) {
        if (e->csp_id[0] != '\0') {
            return ATTEST_ERR_CERT;
        }
        return attest_der_string(p, n, e->csp_id, sizeof(e->csp_id));
    }

    return ATTEST_OK;
}


attest_err_t
attest_x509_amd_ext(X509 *x, attest_amd_ext_t *e)
{
    int                 i, len;
    char                oid[80];
    X509_EXTENSION     *ext;
    attest_err_t        rc;
    ASN1_OCTET_STRING  *val;

    memset(e, 0, sizeof(*e));

    for (i = 0; i < X509_get_ext_count(x); i++) {
        ext = X509_get_ext(x, i);

        len = OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext),
                          1);
        if (len <= 0 || (size_t) len >= sizeof(oid)) {
            continue;
        }

        if (strncmp(oid, ATTEST_AMD_OID, sizeof(ATTEST_AMD_OID) - 1) != 0) {
            continue;
        }

        val = X509_EXTENSION_get_data(ext);

        rc = attest_amd_ext_value(oid + sizeof(ATTEST_AMD_OID) - 1,
                                  ASN1_STRING_get0_data(val),
                                  (size_t) ASN1_STRING_length(val), e);
        if (rc != ATTEST_OK) {
            return rc;
        }
    }

    return ATTEST_OK;
}
