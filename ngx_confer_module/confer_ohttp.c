/*
 * Oblivious HTTP message encapsulation, RFC 9458, 4, and the parts of the
 * chunked draft (draft-ietf-ohai-chunked-ohttp-08, 6) that differ from it
 * only by label.
 */

#include <string.h>

#include <sodium.h>

#include "confer_ohttp.h"
#include "confer_util.h"


static confer_ohttp_err_t confer_ohttp_hpke_err(confer_hpke_err_t rc);


static const char  *confer_ohttp_errors[] = {
    "ok",
    "more input needed",
    "a larger buffer needed",
    "unknown key identifier",
    "unsupported HPKE suite for this key",
    "message truncated",
    "malformed chunk framing",
    "bad encapsulated key",
    "decryption failed",
    "chunk too large",
    "stream ended before the final chunk",
    "call out of order",
    "no common HPKE suite",
    "output buffer too small",
    "crypto library failure",
};


/* RFC 9458, 4.3 and 4.4; chunked draft, 6.1 and 6.2 */
static const char  *confer_req_label[] = {
    "message/bhttp request",
    "message/bhttp chunked request",
};

static const char  *confer_res_label[] = {
    "message/bhttp response",
    "message/bhttp chunked response",
};


const char *
confer_ohttp_strerror(confer_ohttp_err_t err)
{
    if ((unsigned) err >= CONFER_OHTTP_ERR_LAST) {
        return "unknown";
    }

    return confer_ohttp_errors[err];
}


int
confer_ohttp_is_key_problem(confer_ohttp_err_t err)
{
    return err == CONFER_OHTTP_ERR_UNKNOWN_KEY
           || err == CONFER_OHTTP_ERR_UNSUPPORTED_SUITE;
}


static confer_ohttp_err_t
confer_ohttp_hpke_err(confer_hpke_err_t rc)
{
    switch (rc) {
    case CONFER_HPKE_OK:
        return CONFER_OHTTP_OK;
    case CONFER_HPKE_ERR_OPEN:
        return CONFER_OHTTP_ERR_DECRYPT;
    case CONFER_HPKE_ERR_BAD_KEY:
    case CONFER_HPKE_ERR_BAD_LENGTH:
        return CONFER_OHTTP_ERR_BAD_ENC;
    case CONFER_HPKE_ERR_UNSUPPORTED_KEM:
    case CONFER_HPKE_ERR_UNSUPPORTED_KDF:
    case CONFER_HPKE_ERR_UNSUPPORTED_AEAD:
    case CONFER_HPKE_ERR_EXPORT_ONLY:
        return CONFER_OHTTP_ERR_UNSUPPORTED_SUITE;
    case CONFER_HPKE_ERR_BUFFER_TOO_SMALL:
        return CONFER_OHTTP_ERR_BUFFER_TOO_SMALL;
    default:
        return CONFER_OHTTP_ERR_CRYPTO;
    }
}


void
confer_ohttp_init(confer_ohttp_ctx_t *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
}


void
confer_ohttp_cleanup(confer_ohttp_ctx_t *ctx)
{
    confer_hpke_cleanup(&ctx->hpke);
    confer_aead_cleanup(&ctx->res_aead);
    sodium_memzero(ctx, sizeof(*ctx));
}


confer_ohttp_err_t
confer_ohttp_test_set_ephemeral(confer_ohttp_ctx_t *ctx, const uint8_t *sk,
    size_t n)
{
    if (confer_hpke_keypair_from_sk(sk, n, &ctx->test_eph)
        != CONFER_HPKE_OK)
    {
        return CONFER_OHTTP_ERR_BAD_ENC;
    }

    ctx->test_eph_set = 1;

    return CONFER_OHTTP_OK;
}


confer_ohttp_err_t
confer_ohttp_test_set_response_nonce(confer_ohttp_ctx_t *ctx,
    const uint8_t *nonce, size_t n)
{
    if (n > CONFER_OHTTP_NONCE_MAX) {
        return CONFER_OHTTP_ERR_BUFFER_TOO_SMALL;
    }

    memset(ctx->test_nonce, 0, sizeof(ctx->test_nonce));
    memcpy(ctx->test_nonce, nonce, n);
    ctx->test_nonce_set = 1;

    return CONFER_OHTTP_OK;
}


size_t
confer_ohttp_request_size(size_t pt_len)
{
    return CONFER_OHTTP_REQ_PREFIX + pt_len + CONFER_HPKE_NT;
}


size_t
confer_ohttp_response_nonce_size(uint16_t aead_id)
{
    size_t  nk;

    /* RFC 9458, 4.4: max(Nn, Nk) */
    nk = confer_hpke_aead_nk(aead_id);

    return nk > CONFER_HPKE_NN ? nk : nk ? CONFER_HPKE_NN : 0;
}


size_t
confer_ohttp_response_size(uint16_t aead_id, size_t pt_len)
{
    return confer_ohttp_response_nonce_size(aead_id) + pt_len
           + CONFER_HPKE_NT;
}


/* RFC 9458, 4.3: hdr, then info = label || 0x00 || hdr */

confer_ohttp_err_t
confer_ohttp_client_setup(confer_ohttp_ctx_t *ctx, confer_ohttp_mode_t mode,
    const confer_keyconfig_t *kc, const confer_hpke_suite_t *suite,
    uint8_t *out, size_t cap)
{
    size_t             llen;
    uint8_t            info[64];
    const char        *label;
    confer_hpke_err_t  rc;

    if (ctx->req_ready) {
        return CONFER_OHTTP_ERR_STATE;
    }

    if (cap < CONFER_OHTTP_REQ_PREFIX) {
        return CONFER_OHTTP_ERR_BUFFER_TOO_SMALL;
    }

    if (suite->kem_id != kc->kem_id
        || !confer_keyconfig_offers(kc, suite->kdf_id, suite->aead_id)
        || confer_hpke_aead_nk(suite->aead_id) == 0)
    {
        return CONFER_OHTTP_ERR_NO_COMMON_SUITE;
    }

    ctx->mode = (uint8_t) mode;
    ctx->client = 1;

    ctx->hdr[0] = kc->key_id;
    confer_put16(ctx->hdr + 1, suite->kem_id);
    confer_put16(ctx->hdr + 3, suite->kdf_id);
    confer_put16(ctx->hdr + 5, suite->aead_id);

    label = confer_req_label[mode != CONFER_OHTTP_MODE_PLAIN];
    llen = strlen(label);
    memcpy(info, label, llen);
    info[llen] = 0x00;
    memcpy(info + llen + 1, ctx->hdr, CONFER_OHTTP_HDR_SIZE);

    rc = CONFER_HPKE_ERR_NOT_READY;

    if (ctx->encap && ctx->test_eph_set) {
        confer_hpke_encap_cleanup(ctx->encap);

    } else if (ctx->encap) {
        rc = confer_hpke_setup_base_s_prepared(&ctx->hpke, suite, kc->pk,
                                               CONFER_HPKE_NPK, info,
                                               llen + 1
                                               + CONFER_OHTTP_HDR_SIZE,
                                               ctx->encap, ctx->enc);
    }

    ctx->encap = NULL;

    if (rc == CONFER_HPKE_ERR_NOT_READY) {
        /* none prepared, or for another key: a fresh one now */
        rc = confer_hpke_setup_base_s_eph(&ctx->hpke, suite, kc->pk,
                                          CONFER_HPKE_NPK, info,
                                          llen + 1 + CONFER_OHTTP_HDR_SIZE,
                                          ctx->test_eph_set ? &ctx->test_eph
                                                            : NULL,
                                          ctx->enc);
    }

    if (rc != CONFER_HPKE_OK) {
        return confer_ohttp_hpke_err(rc);
    }

    memcpy(out, ctx->hdr, CONFER_OHTTP_HDR_SIZE);
    memcpy(out + CONFER_OHTTP_HDR_SIZE, ctx->enc, CONFER_HPKE_NENC);
    ctx->req_ready = 1;

    return CONFER_OHTTP_OK;
}


confer_ohttp_err_t
confer_ohttp_server_setup(confer_ohttp_ctx_t *ctx, confer_ohttp_mode_t mode,
    confer_ohttp_lookup_pt lookup, void *data, const uint8_t *in, size_t n)
{
    size_t                     llen;
    uint8_t                    info[64];
    const char                *label;
    confer_hpke_err_t          rc;
    confer_hpke_suite_t        suite;
    const confer_ohttp_key_t  *key;

    if (ctx->req_ready) {
        return CONFER_OHTTP_ERR_STATE;
    }

    if (n < CONFER_OHTTP_REQ_PREFIX) {
        return CONFER_OHTTP_ERR_TRUNCATED;
    }

    /* RFC 9458, 4.3 and 5.3: an unknown key is its own answer */
    key = lookup ? lookup(data, in[0]) : NULL;
    if (key == NULL) {
        return CONFER_OHTTP_ERR_UNKNOWN_KEY;
    }

    suite.kem_id = confer_get16(in + 1);
    suite.kdf_id = confer_get16(in + 3);
    suite.aead_id = confer_get16(in + 5);

    if (suite.kem_id != key->config.kem_id
        || !confer_keyconfig_offers(&key->config, suite.kdf_id,
                                    suite.aead_id)
        || confer_hpke_suite_check(&suite) != CONFER_HPKE_OK
        || confer_hpke_aead_nk(suite.aead_id) == 0)
    {
        return CONFER_OHTTP_ERR_UNSUPPORTED_SUITE;
    }

    ctx->mode = (uint8_t) mode;
    ctx->client = 0;
    memcpy(ctx->hdr, in, CONFER_OHTTP_HDR_SIZE);
    memcpy(ctx->enc, in + CONFER_OHTTP_HDR_SIZE, CONFER_HPKE_NENC);

    label = confer_req_label[mode != CONFER_OHTTP_MODE_PLAIN];
    llen = strlen(label);
    memcpy(info, label, llen);
    info[llen] = 0x00;
    memcpy(info + llen + 1, ctx->hdr, CONFER_OHTTP_HDR_SIZE);

    rc = confer_hpke_setup_base_r(&ctx->hpke, &suite, ctx->enc,
                                  CONFER_HPKE_NENC, &key->kp, info,
                                  llen + 1 + CONFER_OHTTP_HDR_SIZE);
    if (rc != CONFER_HPKE_OK) {
        return confer_ohttp_hpke_err(rc);
    }

    ctx->req_ready = 1;

    return CONFER_OHTTP_OK;
}


/*
 * RFC 9458, 4.4 (and chunked draft, 6.2, with its own label):
 *   secret = context.Export(label, max(Nn, Nk))
 *   salt = enc || response_nonce
 *   prk = Extract(salt, secret)
 *   aead_key = Expand(prk, "key", Nk)
 *   aead_nonce = Expand(prk, "nonce", Nn)
 */

confer_ohttp_err_t
confer_ohttp_response_start(confer_ohttp_ctx_t *ctx, uint8_t *nonce,
    size_t nonce_len)
{
    size_t             nk, nlen;
    uint8_t            secret[CONFER_OHTTP_NONCE_MAX],
                       salt[CONFER_HPKE_NENC + CONFER_OHTTP_NONCE_MAX],
                       prk[CONFER_HPKE_NH], key[CONFER_HPKE_NK_MAX];
    const char        *label;
    confer_hpke_err_t  rc;

    if (!ctx->req_ready || ctx->res_ready) {
        return CONFER_OHTTP_ERR_STATE;
    }

    nk = confer_hpke_aead_nk(ctx->hpke.suite.aead_id);
    nlen = confer_ohttp_response_nonce_size(ctx->hpke.suite.aead_id);

    if (nonce_len < nlen) {
        return ctx->client ? CONFER_OHTTP_ERR_TRUNCATED
                           : CONFER_OHTTP_ERR_BUFFER_TOO_SMALL;
    }

    if (!ctx->client) {
        if (ctx->test_nonce_set) {
            memcpy(nonce, ctx->test_nonce, nlen);

        } else {
            randombytes_buf(nonce, nlen);
        }
    }

    label = confer_res_label[ctx->mode != CONFER_OHTTP_MODE_PLAIN];

    rc = confer_hpke_export(&ctx->hpke, (const uint8_t *) label,
                            strlen(label), secret, nlen);
    if (rc != CONFER_HPKE_OK) {
        goto done;
    }

    memcpy(salt, ctx->enc, CONFER_HPKE_NENC);
    memcpy(salt + CONFER_HPKE_NENC, nonce, nlen);

    rc = confer_hkdf_extract(salt, CONFER_HPKE_NENC + nlen, secret, nlen,
                             prk);
    if (rc != CONFER_HPKE_OK) {
        goto done;
    }

    rc = confer_hkdf_expand(prk, sizeof(prk), (const uint8_t *) "key", 3, key,
                            nk);
    if (rc != CONFER_HPKE_OK) {
        goto done;
    }

    rc = confer_hkdf_expand(prk, sizeof(prk), (const uint8_t *) "nonce", 5,
                            ctx->res_nonce, CONFER_HPKE_NN);
    if (rc != CONFER_HPKE_OK) {
        goto done;
    }

    rc = confer_aead_init(&ctx->res_aead, ctx->hpke.suite.aead_id, key, nk);
    if (rc != CONFER_HPKE_OK) {
        goto done;
    }

    ctx->res_counter = 0;
    ctx->res_ready = 1;

done:

    sodium_memzero(secret, sizeof(secret));
    sodium_memzero(prk, sizeof(prk));
    sodium_memzero(key, sizeof(key));

    return confer_ohttp_hpke_err(rc);
}


confer_ohttp_err_t
confer_ohttp_encapsulate_request(confer_ohttp_ctx_t *ctx,
    const confer_keyconfig_t *kc, const confer_hpke_suite_t *suite,
    const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap,
    size_t *out_len)
{
    size_t              n;
    confer_hpke_err_t   rc;
    confer_ohttp_err_t  orc;

    if (pt_len > SIZE_MAX - CONFER_OHTTP_REQ_PREFIX - CONFER_HPKE_NT
        || cap < confer_ohttp_request_size(pt_len))
    {
        return CONFER_OHTTP_ERR_BUFFER_TOO_SMALL;
    }

    orc = confer_ohttp_client_setup(ctx, CONFER_OHTTP_MODE_PLAIN, kc, suite,
                                    out, cap);
    if (orc != CONFER_OHTTP_OK) {
        return orc;
    }

    rc = confer_hpke_seal(&ctx->hpke, NULL, 0, pt, pt_len,
                          out + CONFER_OHTTP_REQ_PREFIX,
                          cap - CONFER_OHTTP_REQ_PREFIX, &n);
    if (rc != CONFER_HPKE_OK) {
        return confer_ohttp_hpke_err(rc);
    }

    *out_len = CONFER_OHTTP_REQ_PREFIX + n;

    return CONFER_OHTTP_OK;
}


confer_ohttp_err_t
confer_ohttp_decapsulate_request(confer_ohttp_ctx_t *ctx,
    confer_ohttp_lookup_pt lookup, void *data, const uint8_t *in, size_t n,
    uint8_t *out, size_t cap, size_t *out_len)
{
    confer_hpke_err_t   rc;
    confer_ohttp_err_t  orc;

    if (n < CONFER_OHTTP_REQ_PREFIX + CONFER_HPKE_NT) {
        /* still tell an unknown key apart when the header is there */
        if (n >= 1 && (lookup == NULL || lookup(data, in[0]) == NULL)) {
            return CONFER_OHTTP_ERR_UNKNOWN_KEY;
        }

        return CONFER_OHTTP_ERR_TRUNCATED;
    }

    if (cap < n - CONFER_OHTTP_REQ_PREFIX - CONFER_HPKE_NT) {
        return CONFER_OHTTP_ERR_BUFFER_TOO_SMALL;
    }

    orc = confer_ohttp_server_setup(ctx, CONFER_OHTTP_MODE_PLAIN, lookup,
                                    data, in, n);
    if (orc != CONFER_OHTTP_OK) {
        return orc;
    }

    rc = confer_hpke_open(&ctx->hpke, NULL, 0, in + CONFER_OHTTP_REQ_PREFIX,
                          n - CONFER_OHTTP_REQ_PREFIX, out, cap, out_len);

    return confer_ohttp_hpke_err(rc);
}


confer_ohttp_err_t
confer_ohttp_encapsulate_response(confer_ohttp_ctx_t *ctx, const uint8_t *pt,
    size_t pt_len, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t              nlen;
    confer_hpke_err_t   rc;
    confer_ohttp_err_t  orc;

    if (ctx->client || ctx->mode != CONFER_OHTTP_MODE_PLAIN
        || !ctx->req_ready)
    {
        return CONFER_OHTTP_ERR_STATE;
    }

    nlen = confer_ohttp_response_nonce_size(ctx->hpke.suite.aead_id);

    if (pt_len > SIZE_MAX - nlen - CONFER_HPKE_NT
        || cap < nlen + pt_len + CONFER_HPKE_NT)
    {
        return CONFER_OHTTP_ERR_BUFFER_TOO_SMALL;
    }

    orc = confer_ohttp_response_start(ctx, out, nlen);
    if (orc != CONFER_OHTTP_OK) {
        return orc;
    }

    rc = confer_aead_seal(&ctx->res_aead, ctx->res_nonce, NULL, 0, pt,
                          pt_len, out + nlen);
    if (rc != CONFER_HPKE_OK) {
        return confer_ohttp_hpke_err(rc);
    }

    *out_len = nlen + pt_len + CONFER_HPKE_NT;

    return CONFER_OHTTP_OK;
}


confer_ohttp_err_t
confer_ohttp_decapsulate_response(confer_ohttp_ctx_t *ctx, const uint8_t *in,
    size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t              nlen;
    confer_hpke_err_t   rc;
    confer_ohttp_err_t  orc;

    if (!ctx->client || ctx->mode != CONFER_OHTTP_MODE_PLAIN
        || !ctx->req_ready)
    {
        return CONFER_OHTTP_ERR_STATE;
    }

    nlen = confer_ohttp_response_nonce_size(ctx->hpke.suite.aead_id);

    if (n < nlen + CONFER_HPKE_NT) {
        return CONFER_OHTTP_ERR_TRUNCATED;
    }

    if (cap < n - nlen - CONFER_HPKE_NT) {
        return CONFER_OHTTP_ERR_BUFFER_TOO_SMALL;
    }

    orc = confer_ohttp_response_start(ctx, (uint8_t *) in, nlen);
    if (orc != CONFER_OHTTP_OK) {
        return orc;
    }

    rc = confer_aead_open(&ctx->res_aead, ctx->res_nonce, NULL, 0, in + nlen,
                          n - nlen, out);
    if (rc != CONFER_HPKE_OK) {
        return confer_ohttp_hpke_err(rc);
    }

    *out_len = n - nlen - CONFER_HPKE_NT;

    return CONFER_OHTTP_OK;
}
