/*
 * What the OHTTP fuzz harnesses and their corpus maker share: one fixed
 * server key (so that seeds made by mkcorpus.c open), a fixed client
 * ephemeral key (so that a response made for it opens), and the
 * split-invariance check of the chunked readers.
 */

#ifndef CONFER_FUZZ_COMMON_H
#define CONFER_FUZZ_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "confer_chunked.h"

static const uint8_t  fz_server_ikm[32] = "confer fuzz server key ikm .....";
static const uint8_t  fz_client_sk[32] = "confer fuzz client ephemeral sk.";

static confer_ohttp_key_t  fz_key;
static int                 fz_key_ready;


static inline const confer_ohttp_key_t *
fz_lookup(void *data, uint8_t key_id)
{
    (void) data;

    return key_id == fz_key.config.key_id ? &fz_key : NULL;
}


static inline void
fz_init_key(void)
{
    int  i;

    if (fz_key_ready) {
        return;
    }
    confer_hpke_derive_keypair(fz_server_ikm, 32, &fz_key.kp);
    fz_key.config.key_id = 1;
    fz_key.config.kem_id = CONFER_HPKE_KEM_X25519_SHA256;
    memcpy(fz_key.config.pk, fz_key.kp.pk, 32);
    fz_key.config.nsuites = 3;
    for (i = 0; i < 3; i++) {
        fz_key.config.suites[i].kdf_id = CONFER_HPKE_KDF_HKDF_SHA256;
        fz_key.config.suites[i].aead_id = (uint16_t) (i + 1);
    }
    fz_key_ready = 1;
}


/* a client context that sent a request with the fixed ephemeral key */
static inline int
fz_client_hdr(confer_ohttp_ctx_t *c, confer_ohttp_mode_t mode, uint16_t aead,
    uint8_t *hdr)
{
    confer_hpke_suite_t  suite;

    fz_init_key();
    confer_ohttp_init(c);
    confer_ohttp_test_set_ephemeral(c, fz_client_sk, 32);
    suite.kem_id = CONFER_HPKE_KEM_X25519_SHA256;
    suite.kdf_id = CONFER_HPKE_KDF_HKDF_SHA256;
    suite.aead_id = aead;
    return confer_ohttp_client_setup(c, mode, &fz_key.config, &suite, hdr,
                                     CONFER_OHTTP_REQ_PREFIX)
           == CONFER_OHTTP_OK;
}


static inline int
fz_client(confer_ohttp_ctx_t *c, confer_ohttp_mode_t mode, uint16_t aead)
{
    uint8_t  hdr[CONFER_OHTTP_REQ_PREFIX];

    return fz_client_hdr(c, mode, aead, hdr);
}


/* what a reader gave: every chunk, length-prefixed, and the final status */
typedef struct {
    uint8_t             *data;
    size_t               len, cap;
    confer_ohttp_err_t   rc;
} fz_record_t;


static inline void
fz_rec_add(fz_record_t *r, const uint8_t *p, size_t n)
{
    if (r->len + 8 + n > r->cap) {
        r->cap = (r->len + 8 + n) * 2;
        r->data = realloc(r->data, r->cap);
        if (r->data == NULL) {
            abort();
        }
    }
    memcpy(r->data + r->len, &n, sizeof(size_t));
    memcpy(r->data + r->len + sizeof(size_t), p, n);
    r->len += sizeof(size_t) + n;
}


/* feeds (in, n) in pieces whose sizes come from the cut bytes, 0 = all */
/*
 * A reader allowed to grow asks for more only within its max and above
 * its buffer; it moves to a malloc()ed buffer of exactly that size, so
 * that ASan sees any byte beyond what it asked for.
 */
static uint8_t  *fz_grown;

static inline void
fz_grow(confer_chunked_reader_t *rd)
{
    uint8_t  *buf, *old;

    if (rd->want <= rd->cap || rd->want > rd->max) {
        abort();
    }

    buf = malloc(rd->want);
    if (buf == NULL) {
        abort();
    }

    old = rd->buf;
    confer_chunked_reader_move(rd, buf, rd->want);

    if (old == fz_grown) {
        free(old);
    }

    fz_grown = buf;
}


static inline void
fz_grown_free(void)
{
    free(fz_grown);
    fz_grown = NULL;
}


static inline void
fz_run(confer_chunked_reader_t *rd, const uint8_t *in, size_t n,
    const uint8_t *cut, size_t ncut, fz_record_t *r)
{
    size_t               off, piece, used, ptn, k;
    const uint8_t       *pt;
    confer_ohttp_err_t   rc;

    r->len = 0;
    k = 0;

    for (off = 0; off < n; ) {
        piece = ncut ? (size_t) cut[k++ % ncut] + 1 : n;
        piece = piece < n - off ? piece : n - off;

        while (piece > 0) {
            rc = confer_chunked_feed(rd, in + off, piece, &used, &pt, &ptn);
            if (used > piece) {
                abort();
            }
            off += used;
            piece -= used;
            if (rc == CONFER_OHTTP_AGAIN) {
                if (piece != 0) {
                    abort();        /* AGAIN must mean "took it all" */
                }
                break;
            }
            if (rc == CONFER_OHTTP_NEED_SPACE) {
                fz_grow(rd);
                continue;
            }
            if (rc != CONFER_OHTTP_OK) {
                r->rc = rc;
                return;
            }
            fz_rec_add(r, pt, ptn);
        }
    }

    rc = confer_chunked_finish(rd, &pt, &ptn);
    if (rc == CONFER_OHTTP_OK) {
        fz_rec_add(r, pt, ptn);
    }
    r->rc = rc;
}


static inline void
fz_same(const fz_record_t *a, const fz_record_t *b)
{
    if (a->rc != b->rc || a->len != b->len
        || (a->len && memcmp(a->data, b->data, a->len) != 0))
    {
        abort();                    /* output depends on the split */
    }
}

#endif /* CONFER_FUZZ_COMMON_H */
