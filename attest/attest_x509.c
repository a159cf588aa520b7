/*
 * attest/: certificate loading, hand-built chains to pinned roots, and the
 * AMD VCEK extension parser.
 */

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "attest_x509.h"


#define ATTEST_AMD_OID  "1.3.6.1.4.1.3704.1."
#define ATTEST_X509_MAX_POOL  32


static void attest_x509_detail(char *detail, size_t dn, const char *what,
    X509 *x);


/* a PEM bundle has this line; DER cannot start with it */
static int
attest_x509_is_pem(const uint8_t *p, size_t n)
{
    size_t  i;

    for (i = 0; i + 10 <= n; i++) {
        if (p[i] == '-' && memcmp(p + i, "-----BEGIN", 10) == 0) {
            return 1;
        }
    }

    return 0;
}


attest_err_t
attest_x509_load(const uint8_t *p, size_t n, STACK_OF(X509) *sk)
{
    int                   count;
    X509                 *x;
    BIO                  *bio;
    const unsigned char  *q;

    if (n == 0 || n > 1024 * 1024) {
        return ATTEST_ERR_CERT;
    }

    count = 0;

    if (p[0] != 0x30 && attest_x509_is_pem(p, n)) {
        bio = BIO_new_mem_buf(p, (int) n);
        if (bio == NULL) {
            return ATTEST_ERR_NOMEM;
        }

        for ( ;; ) {
            x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
            if (x == NULL) {
                break;
            }

            if (sk_X509_num(sk) >= ATTEST_X509_MAX_POOL
                || !sk_X509_push(sk, x))
            {
                X509_free(x);
                BIO_free(bio);
                return ATTEST_ERR_CERT;
            }

            count++;
        }

        /* the loop ends at the end of the data, which OpenSSL reports as
         * an error; anything else (a damaged block) is still a failure
         * below if nothing was read */
        ERR_clear_error();
        BIO_free(bio);

        return count ? ATTEST_OK : ATTEST_ERR_CERT;
    }

    q = p;

    while (q < p + n) {
        x = d2i_X509(NULL, &q, (long) (p + n - q));
        if (x == NULL) {
            ERR_clear_error();
            return ATTEST_ERR_CERT;
        }

        if (sk_X509_num(sk) >= ATTEST_X509_MAX_POOL || !sk_X509_push(sk, x)) {
            X509_free(x);
            return ATTEST_ERR_CERT;
        }
    }

    return ATTEST_OK;
}


void
attest_x509_sha256(X509 *x, uint8_t out[32])
{
    unsigned int  len;

    len = 32;
    if (!X509_digest(x, EVP_sha256(), out, &len)) {
        memset(out, 0, 32);
    }
}


int
attest_x509_self_signed(X509 *x)
{
    EVP_PKEY  *key;

    if (X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x))
        != 0)
    {
        return 0;
    }

    key = X509_get0_pubkey(x);
    if (key == NULL || X509_verify(x, key) != 1) {
        ERR_clear_error();
        return 0;
    }

    return 1;
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

    if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
                                  cn, sizeof(cn)) < 0)
    {
        ERR_clear_error();
        strcpy(cn, "?");
    }

    snprintf(detail, dn, "%s \"%s\"", what, cn);
}


static time_t
attest_x509_time(const ASN1_TIME *t, int *ok)
{
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));

    if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) {
        *ok = 0;
        return 0;
    }

    *ok = 1;
    return timegm(&tm);
}


attest_err_t
attest_x509_valid_at(X509 *x, time_t now)
{
    int     ok1, ok2;
    time_t  nb, na;

    nb = attest_x509_time(X509_get0_notBefore(x), &ok1);
    na = attest_x509_time(X509_get0_notAfter(x), &ok2);

    if (!ok1 || !ok2) {
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
    int  ok;

    return attest_x509_time(X509_get0_notAfter(x), &ok);
}


attest_err_t
attest_x509_chain(X509 *leaf, STACK_OF(X509) *pool, time_t now,
    X509 **chain, size_t max, size_t *depth, char *detail, size_t dn)
{
    int            i, named;
    X509          *cur, *cand, *issuer;
    size_t         d, k;
    EVP_PKEY      *key;
    attest_err_t   rc;

    d = 0;
    cur = leaf;
    chain[d++] = cur;

    while (!attest_x509_self_signed(cur)) {

        if (d == max) {
            attest_x509_detail(detail, dn, "chain too long at", cur);
            return ATTEST_ERR_CHAIN;
        }

        issuer = NULL;
        named = 0;

        for (i = 0; i < sk_X509_num(pool); i++) {
            cand = sk_X509_value(pool, i);

            if (cand == cur
                || X509_NAME_cmp(X509_get_subject_name(cand),
                                 X509_get_issuer_name(cur)) != 0)
            {
                continue;
            }

            named = 1;

            key = X509_get0_pubkey(cand);
            if (key != NULL && X509_verify(cur, key) == 1) {
                issuer = cand;
                break;
            }

            ERR_clear_error();
        }

        if (issuer == NULL) {
            attest_x509_detail(detail, dn, named
                               ? "signature does not verify on"
                               : "no issuer given for", cur);
            return ATTEST_ERR_CHAIN;
        }

        if (X509_check_ca(issuer) < 1) {
            attest_x509_detail(detail, dn, "issuer is not a CA:", issuer);
            return ATTEST_ERR_CHAIN;
        }

        for (k = 0; k < d; k++) {
            if (chain[k] == issuer) {
                attest_x509_detail(detail, dn, "loop at", issuer);
                return ATTEST_ERR_CHAIN;
            }
        }

        chain[d++] = issuer;
        cur = issuer;
    }

    for (k = 0; k < d; k++) {
        rc = attest_x509_valid_at(chain[k], now);
        if (rc != ATTEST_OK) {
            attest_x509_detail(detail, dn, "not valid at the given time:",
                               chain[k]);
            return rc;
        }
    }

    *depth = d;
    return ATTEST_OK;
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
