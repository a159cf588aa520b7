/*
 * Chunked Oblivious HTTP messages, draft-ietf-ohai-chunked-ohttp-08, 6.
 *
 *   Chunked Encapsulated Request {
 *     Chunked Request Header (56 + 8 * Nenc),    key id, suite, enc
 *     Non-Final Request Chunk (..) ...,          Length (i) = 1.., HPKE ct
 *     Final Request Chunk Indicator (i) = 0,
 *     HPKE-Protected Final Chunk (..),           to the end of the stream
 *   }
 *
 *   Chunked Encapsulated Response {
 *     Response Nonce (8 * max(Nn, Nk)),
 *     Non-Final Response Chunk (..) ...,
 *     Final Response Chunk Indicator (i) = 0,
 *     AEAD-Protected Final Response Chunk (..),
 *   }
 *
 * Request chunks are HPKE Seal()s in sequence; response chunks use the
 * AEAD nonce XORed with a chunk counter.  The AAD is empty for a non-final
 * chunk and "final" for the final one, so that neither reordering nor
 * truncation goes unnoticed.
 */

#include <string.h>

#include <sodium.h>

#include "confer_chunked.h"
#include "confer_util.h"


enum {
    CONFER_RD_PREFIX = 0,
    CONFER_RD_LEN,
    CONFER_RD_BODY,
    CONFER_RD_FINAL,
    CONFER_RD_DONE
};


static void confer_chunked_res_nonce(const confer_ohttp_ctx_t *ctx,
    uint8_t nonce[CONFER_HPKE_NN]);
static confer_ohttp_err_t confer_chunked_open(confer_chunked_reader_t *rd,
    const uint8_t *ct, size_t ct_len, int final);
static confer_ohttp_err_t confer_chunked_fail(confer_chunked_reader_t *rd,
    confer_ohttp_err_t err);
static void confer_chunked_wrote(confer_chunked_reader_t *rd, size_t n);


static const uint8_t  confer_final_aad[] = "final";


size_t
confer_chunked_chunk_size(size_t pt_len, int final)
{
    size_t  ct;

    ct = pt_len + CONFER_HPKE_NT;

    return (final ? 1 : confer_varint_size(ct)) + ct;
}


long long
confer_chunked_max_plaintext(size_t wire_len, int final)
{
    size_t     vs, ct, ct_max;
    long long  best;

    if (final) {
        return wire_len >= 1 + CONFER_HPKE_NT
               ? (long long) (wire_len - 1 - CONFER_HPKE_NT) : -1;
    }

    best = -1;

    /* each varint width, with the largest ciphertext it can carry */
    for (vs = 1; vs <= 8; vs *= 2) {
        if (wire_len <= vs) {
            break;
        }

        ct_max = vs == 1 ? 0x3f : vs == 2 ? 0x3fff
                 : vs == 4 ? 0x3fffffff : (size_t) CONFER_VARINT_MAX;
        ct = wire_len - vs;
        ct = ct < ct_max ? ct : ct_max;

        if (ct >= CONFER_HPKE_NT
            && (long long) (ct - CONFER_HPKE_NT) > best)
        {
            best = (long long) (ct - CONFER_HPKE_NT);
        }
    }

    return best;
}


/* draft, 6.1: the client's request */

confer_ohttp_err_t
confer_chunked_request_begin(confer_ohttp_ctx_t *ctx,
    const confer_keyconfig_t *kc, const confer_hpke_suite_t *suite,
    uint8_t *out, size_t cap, size_t *out_len)
{
    confer_ohttp_err_t  rc;

    rc = confer_ohttp_client_setup(ctx, CONFER_OHTTP_MODE_CHUNKED, kc, suite,
                                   out, cap);
    if (rc == CONFER_OHTTP_OK) {
        *out_len = CONFER_OHTTP_REQ_PREFIX;
    }

    return rc;
}


confer_ohttp_err_t
confer_chunked_request_seal(confer_ohttp_ctx_t *ctx, const uint8_t *pt,
    size_t pt_len, int final, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t             size, hl, n;
    confer_hpke_err_t  rc;

    if (!ctx->client || !ctx->req_ready || ctx->req_final
        || ctx->mode != CONFER_OHTTP_MODE_CHUNKED)
    {
        return CONFER_OHTTP_ERR_STATE;
    }

    if (pt_len > CONFER_VARINT_MAX - CONFER_HPKE_NT) {
        return CONFER_OHTTP_ERR_CHUNK_TOO_LARGE;
    }

    size = confer_chunked_chunk_size(pt_len, final);
    if (cap < size) {
        return CONFER_OHTTP_ERR_BUFFER_TOO_SMALL;
    }

    if (final) {
        out[0] = 0x00;
        hl = 1;

    } else {
        hl = confer_varint_encode(pt_len + CONFER_HPKE_NT, out, cap);
    }

    rc = confer_hpke_seal(&ctx->hpke, final ? confer_final_aad : NULL,
                          final ? sizeof(confer_final_aad) - 1 : 0, pt,
                          pt_len, out + hl, cap - hl, &n);
    if (rc != CONFER_HPKE_OK) {
        return rc == CONFER_HPKE_ERR_SEQ_OVERFLOW ? CONFER_OHTTP_ERR_STATE
                                                  : CONFER_OHTTP_ERR_CRYPTO;
    }

    if (final) {
        ctx->req_final = 1;
    }

    *out_len = size;

    return CONFER_OHTTP_OK;
}


/* draft, 6.2: the server's response */

confer_ohttp_err_t
confer_chunked_response_begin(confer_ohttp_ctx_t *ctx, uint8_t *out,
    size_t cap, size_t *out_len)
{
    size_t              nlen;
    confer_ohttp_err_t  rc;

    if (ctx->client || !ctx->req_ready
        || ctx->mode != CONFER_OHTTP_MODE_CHUNKED)
    {
        return CONFER_OHTTP_ERR_STATE;
    }

    nlen = confer_ohttp_response_nonce_size(ctx->hpke.suite.aead_id);
    if (cap < nlen) {
        return CONFER_OHTTP_ERR_BUFFER_TOO_SMALL;
    }

    rc = confer_ohttp_response_start(ctx, out, nlen);
    if (rc == CONFER_OHTTP_OK) {
        *out_len = nlen;
    }

    return rc;
}


/* draft, 6.2: chunk_nonce = aead_nonce XOR I2OSP(counter, Nn) */

static void
confer_chunked_res_nonce(const confer_ohttp_ctx_t *ctx,
    uint8_t nonce[CONFER_HPKE_NN])
{
    int       i;
    uint64_t  c;

    memcpy(nonce, ctx->res_nonce, CONFER_HPKE_NN);

    c = ctx->res_counter;
    for (i = CONFER_HPKE_NN - 1; c != 0; i--) {
        nonce[i] ^= (uint8_t) c;
        c >>= 8;
    }
}


confer_ohttp_err_t
confer_chunked_response_seal(confer_ohttp_ctx_t *ctx, const uint8_t *pt,
    size_t pt_len, int final, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t             size, hl;
    uint8_t            nonce[CONFER_HPKE_NN];
    confer_hpke_err_t  rc;

    if (ctx->client || !ctx->res_ready || ctx->res_final
        || ctx->mode != CONFER_OHTTP_MODE_CHUNKED
        || ctx->res_counter == UINT64_MAX)
    {
        return CONFER_OHTTP_ERR_STATE;
    }

    if (pt_len > CONFER_VARINT_MAX - CONFER_HPKE_NT) {
        return CONFER_OHTTP_ERR_CHUNK_TOO_LARGE;
    }

    size = confer_chunked_chunk_size(pt_len, final);
    if (cap < size) {
        return CONFER_OHTTP_ERR_BUFFER_TOO_SMALL;
    }

    if (final) {
        out[0] = 0x00;
        hl = 1;

    } else {
        hl = confer_varint_encode(pt_len + CONFER_HPKE_NT, out, cap);
    }

    confer_chunked_res_nonce(ctx, nonce);

    rc = confer_aead_seal(&ctx->res_aead, nonce,
                          final ? confer_final_aad : NULL,
                          final ? sizeof(confer_final_aad) - 1 : 0, pt,
                          pt_len, out + hl);
    if (rc != CONFER_HPKE_OK) {
        return CONFER_OHTTP_ERR_CRYPTO;
    }

    ctx->res_counter++;

    if (final) {
        ctx->res_final = 1;
    }

    *out_len = size;

    return CONFER_OHTTP_OK;
}


/* readers */

void
confer_chunked_request_reader_init(confer_chunked_reader_t *rd,
    confer_ohttp_ctx_t *ohttp, confer_ohttp_lookup_pt lookup, void *data,
    uint8_t *buf, size_t cap)
{
    memset(rd, 0, sizeof(*rd));
    rd->ohttp = ohttp;
    rd->lookup = lookup;
    rd->lookup_data = data;
    rd->buf = buf;
    rd->cap = cap;
    rd->max = cap;
    rd->request = 1;
}


void
confer_chunked_response_reader_init(confer_chunked_reader_t *rd,
    confer_ohttp_ctx_t *ohttp, uint8_t *buf, size_t cap)
{
    memset(rd, 0, sizeof(*rd));
    rd->ohttp = ohttp;
    rd->buf = buf;
    rd->cap = cap;
    rd->max = cap;
}


void
confer_chunked_reader_set_max(confer_chunked_reader_t *rd, size_t max)
{
    rd->max = max > rd->cap ? max : rd->cap;
}


void
confer_chunked_reader_move(confer_chunked_reader_t *rd, uint8_t *buf,
    size_t cap)
{
    if (rd->have) {
        memcpy(buf, rd->buf, rd->have);
    }

    if (rd->buf) {
        sodium_memzero(rd->buf, rd->dirty);
    }

    rd->buf = buf;
    rd->cap = cap;
    rd->dirty = rd->have;

    if (rd->max < cap) {
        rd->max = cap;
    }
}


uint8_t *
confer_chunked_reader_detach(confer_chunked_reader_t *rd, uint8_t *buf,
    size_t cap, size_t *written)
{
    uint8_t  *old;

    *written = 0;

    /* between chunks, or after the final one */
    if (rd->state == CONFER_RD_BODY || rd->state == CONFER_RD_FINAL
        || (rd->state != CONFER_RD_DONE && rd->have))
    {
        return NULL;
    }

    old = rd->buf;
    *written = rd->dirty;

    rd->buf = buf;
    rd->cap = cap;
    rd->dirty = 0;

    if (rd->max < cap) {
        rd->max = cap;
    }

    return old;
}


/*
 * Only what was written is wiped: a buffer sized for the largest chunk
 * allowed is mostly never touched, and wiping all of it would cost more
 * than the request.
 */
static void
confer_chunked_wrote(confer_chunked_reader_t *rd, size_t n)
{
    if (n > rd->dirty) {
        rd->dirty = n;
    }
}


void
confer_chunked_reader_cleanup(confer_chunked_reader_t *rd)
{
    if (rd->buf) {
        sodium_memzero(rd->buf, rd->dirty);
    }

    sodium_memzero(rd->small, sizeof(rd->small));
    rd->dirty = 0;
    rd->have = 0;
    rd->state = CONFER_RD_DONE;
    rd->error = CONFER_OHTTP_ERR_STATE;
}


static confer_ohttp_err_t
confer_chunked_fail(confer_chunked_reader_t *rd, confer_ohttp_err_t err)
{
    rd->error = err;

    if (rd->buf) {
        sodium_memzero(rd->buf, rd->dirty);
        rd->dirty = 0;
    }

    return err;
}


/* opens ct (in buf, or still in the caller's input) into buf */

static confer_ohttp_err_t
confer_chunked_open(confer_chunked_reader_t *rd, const uint8_t *ct,
    size_t ct_len, int final)
{
    size_t               n;
    uint8_t              nonce[CONFER_HPKE_NN];
    const uint8_t       *aad;
    size_t               aad_len;
    confer_hpke_err_t    rc;
    confer_ohttp_ctx_t  *ctx;

    ctx = rd->ohttp;
    aad = final ? confer_final_aad : NULL;
    aad_len = final ? sizeof(confer_final_aad) - 1 : 0;

    if (ct_len < CONFER_HPKE_NT) {
        return CONFER_OHTTP_ERR_MALFORMED;
    }

    /* the plaintext goes to buf (wiped again if the tag does not verify) */
    confer_chunked_wrote(rd, ct_len - CONFER_HPKE_NT);

    if (rd->request) {
        rc = confer_hpke_open(&ctx->hpke, aad, aad_len, ct, ct_len, rd->buf,
                              rd->cap, &n);

    } else {
        if (ctx->res_counter == UINT64_MAX) {
            return CONFER_OHTTP_ERR_STATE;
        }

        confer_chunked_res_nonce(ctx, nonce);
        rc = confer_aead_open(&ctx->res_aead, nonce, aad, aad_len, ct, ct_len,
                              rd->buf);
        if (rc == CONFER_HPKE_OK) {
            ctx->res_counter++;
        }
    }

    if (rc == CONFER_HPKE_ERR_OPEN) {
        return CONFER_OHTTP_ERR_DECRYPT;
    }

    if (rc != CONFER_HPKE_OK) {
        return CONFER_OHTTP_ERR_CRYPTO;
    }

    rd->chunks++;

    return CONFER_OHTTP_OK;
}


confer_ohttp_err_t
confer_chunked_feed(confer_chunked_reader_t *rd, const uint8_t *in, size_t n,
    size_t *used, const uint8_t **pt, size_t *pt_len)
{
    size_t               off, take, plen, vlen;
    uint64_t             v;
    confer_ohttp_err_t   rc;
    confer_ohttp_ctx_t  *ctx;

    *used = 0;
    *pt = NULL;
    *pt_len = 0;

    if (rd->error != CONFER_OHTTP_OK) {
        return rd->error;
    }

    if (n == 0) {
        /* every state needs input to move on */
        return rd->state == CONFER_RD_DONE
               ? confer_chunked_fail(rd, CONFER_OHTTP_ERR_STATE)
               : CONFER_OHTTP_AGAIN;
    }

    ctx = rd->ohttp;
    off = 0;

    for ( ;; ) {

        switch (rd->state) {

        case CONFER_RD_PREFIX:

            if (rd->request) {
                /* the header and enc; the key id is checked at once */
                plen = CONFER_OHTTP_REQ_PREFIX;

                if (rd->small_have == 0 && off < n
                    && (rd->lookup == NULL
                        || rd->lookup(rd->lookup_data, in[off]) == NULL))
                {
                    return confer_chunked_fail(rd,
                                               CONFER_OHTTP_ERR_UNKNOWN_KEY);
                }

            } else {
                /* the response nonce, once the request was sent */
                if (!ctx->client || !ctx->req_ready
                    || ctx->mode != CONFER_OHTTP_MODE_CHUNKED)
                {
                    return confer_chunked_fail(rd, CONFER_OHTTP_ERR_STATE);
                }

                plen = confer_ohttp_response_nonce_size(
                                                   ctx->hpke.suite.aead_id);
            }

            take = plen - rd->small_have;
            take = take < n - off ? take : n - off;
            memcpy(rd->small + rd->small_have, in + off, take);
            rd->small_have += take;
            off += take;

            if (rd->small_have < plen) {
                *used = off;
                return CONFER_OHTTP_AGAIN;
            }

            if (rd->request) {
                rc = confer_ohttp_server_setup(ctx, CONFER_OHTTP_MODE_CHUNKED,
                                               rd->lookup, rd->lookup_data,
                                               rd->small, plen);
            } else {
                rc = confer_ohttp_response_start(ctx, rd->small, plen);
            }

            if (rc != CONFER_OHTTP_OK) {
                return confer_chunked_fail(rd, rc);
            }

            rd->small_have = 0;
            rd->state = CONFER_RD_LEN;
            break;

        case CONFER_RD_LEN:

            if (off == n) {
                *used = off;
                return CONFER_OHTTP_AGAIN;
            }

            if (rd->small_have == 0) {
                rd->small[0] = in[off++];
                rd->small_have = 1;
            }

            vlen = confer_varint_len(rd->small[0]);
            take = vlen - rd->small_have;
            take = take < n - off ? take : n - off;
            memcpy(rd->small + rd->small_have, in + off, take);
            rd->small_have += take;
            off += take;

            if (rd->small_have < vlen) {
                *used = off;
                return CONFER_OHTTP_AGAIN;
            }

            (void) confer_varint_decode(rd->small, vlen, &v);
            rd->small_have = 0;
            rd->have = 0;

            if (v == 0) {
                /* the final chunk: everything up to the end of the input */
                rd->state = CONFER_RD_FINAL;
                break;
            }

            if (v < CONFER_HPKE_NT) {
                return confer_chunked_fail(rd, CONFER_OHTTP_ERR_MALFORMED);
            }

            if (v > rd->max && v > rd->cap) {
                return confer_chunked_fail(rd,
                                           CONFER_OHTTP_ERR_CHUNK_TOO_LARGE);
            }

            rd->need = (size_t) v;
            rd->state = CONFER_RD_BODY;
            break;

        case CONFER_RD_BODY:

            if (rd->need > rd->cap) {
                /* within max (checked above): the caller grows the buffer */
                rd->want = rd->need;
                *used = off;
                return CONFER_OHTTP_NEED_SPACE;
            }

            if (off == n) {
                *used = off;
                return CONFER_OHTTP_AGAIN;
            }

            if (rd->have == 0 && n - off >= rd->need) {
                /* the whole chunk is in the input: no copy */
                rc = confer_chunked_open(rd, in + off, rd->need, 0);
                off += rd->need;

            } else {
                take = rd->need - rd->have;
                take = take < n - off ? take : n - off;
                memcpy(rd->buf + rd->have, in + off, take);
                rd->have += take;
                off += take;
                confer_chunked_wrote(rd, rd->have);

                if (rd->have < rd->need) {
                    *used = off;
                    return CONFER_OHTTP_AGAIN;
                }

                rc = confer_chunked_open(rd, rd->buf, rd->need, 0);
            }

            if (rc != CONFER_OHTTP_OK) {
                return confer_chunked_fail(rd, rc);
            }

            rd->state = CONFER_RD_LEN;
            rd->have = 0;
            *used = off;
            *pt = rd->buf;
            *pt_len = rd->need - CONFER_HPKE_NT;
            return CONFER_OHTTP_OK;

        case CONFER_RD_FINAL:

            if (n - off > rd->cap - rd->have) {
                if (n - off > (rd->max > rd->cap ? rd->max : rd->cap)
                              - rd->have)
                {
                    return confer_chunked_fail(rd,
                                             CONFER_OHTTP_ERR_CHUNK_TOO_LARGE);
                }

                rd->want = rd->have + (n - off);
                *used = off;
                return CONFER_OHTTP_NEED_SPACE;
            }

            if (n > off) {
                memcpy(rd->buf + rd->have, in + off, n - off);
                rd->have += n - off;
                confer_chunked_wrote(rd, rd->have);
            }
            *used = n;
            return CONFER_OHTTP_AGAIN;

        default: /* CONFER_RD_DONE */

            return confer_chunked_fail(rd, CONFER_OHTTP_ERR_STATE);
        }
    }
}


confer_ohttp_err_t
confer_chunked_finish(confer_chunked_reader_t *rd, const uint8_t **pt,
    size_t *pt_len)
{
    confer_ohttp_err_t  rc;

    *pt = NULL;
    *pt_len = 0;

    if (rd->error != CONFER_OHTTP_OK) {
        return rd->error;
    }

    if (rd->state == CONFER_RD_DONE) {
        return confer_chunked_fail(rd, CONFER_OHTTP_ERR_STATE);
    }

    if (rd->state != CONFER_RD_FINAL) {
        /* no final chunk indicator: the stream was cut */
        return confer_chunked_fail(rd, CONFER_OHTTP_ERR_INCOMPLETE);
    }

    if (rd->have < CONFER_HPKE_NT) {
        return confer_chunked_fail(rd, CONFER_OHTTP_ERR_TRUNCATED);
    }

    rc = confer_chunked_open(rd, rd->buf, rd->have, 1);
    if (rc != CONFER_OHTTP_OK) {
        return confer_chunked_fail(rd, rc);
    }

    rd->state = CONFER_RD_DONE;
    *pt = rd->buf;
    *pt_len = rd->have - CONFER_HPKE_NT;

    return CONFER_OHTTP_OK;
}
