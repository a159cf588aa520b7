/*
 * Chunked OHTTP (draft-ietf-ohai-chunked-ohttp-08): byte for byte against
 * the draft's example, and the reader's promises: the same plaintext
 * chunks however the input is split, nothing released before its tag
 * verified, a cut stream is an error, a chunk above the bound is refused.
 */

#include "ohttp_test.h"
#include "confer_chunked.h"


/* what a reader produced: each chunk as 4-byte length then bytes */
typedef struct {
    uint8_t             data[1 << 20];
    size_t              len;
    int                 chunks;
    confer_ohttp_err_t  rc;
} record_t;


static void
rec_add(record_t *r, const uint8_t *p, size_t n)
{
    if (r->len + 4 + n > sizeof(r->data)) {
        return;
    }
    r->data[r->len++] = (uint8_t) (n >> 24);
    r->data[r->len++] = (uint8_t) (n >> 16);
    r->data[r->len++] = (uint8_t) (n >> 8);
    r->data[r->len++] = (uint8_t) n;
    memcpy(r->data + r->len, p, n);
    r->len += n;
    r->chunks++;
}


/* NEED_SPACE moves the reader to a malloc()ed buffer of just that size */
static int       grow_on;
static int       grows;
static uint8_t  *grown;


static void
grow(confer_chunked_reader_t *rd)
{
    uint8_t  *buf, *old;

    buf = malloc(rd->want);
    if (buf == NULL) {
        return;
    }

    old = rd->buf;
    confer_chunked_reader_move(rd, buf, rd->want);

    if (old == grown) {
        free(grown);
    }

    grown = buf;
    grows++;
}


/*
 * Feeds (in, n) in pieces of the sizes given by cut() and finishes.
 * step == 0 means all at once.  Returns the last status.
 */
static confer_ohttp_err_t
run_reader(confer_chunked_reader_t *rd, const uint8_t *in, size_t n,
    size_t step, unsigned seed, record_t *r)
{
    size_t              off, piece, used, ptn;
    const uint8_t      *pt;
    confer_ohttp_err_t  rc;

    r->len = 0;
    r->chunks = 0;

    for (off = 0; off < n; ) {
        if (step) {
            piece = step;
        } else if (seed) {
            seed = seed * 1103515245 + 12345;
            piece = 1 + (seed >> 16) % 97;
        } else {
            piece = n;
        }
        piece = piece < n - off ? piece : n - off;

        while (piece > 0) {
            rc = confer_chunked_feed(rd, in + off, piece, &used, &pt, &ptn);
            off += used;
            piece -= used;
            if (rc == CONFER_OHTTP_AGAIN) {
                break;
            }
            if (rc == CONFER_OHTTP_NEED_SPACE && grow_on) {
                grow(rd);
                continue;
            }
            if (rc != CONFER_OHTTP_OK) {
                r->rc = rc;
                return rc;
            }
            rec_add(r, pt, ptn);
        }
    }

    rc = confer_chunked_finish(rd, &pt, &ptn);
    if (rc == CONFER_OHTTP_OK) {
        rec_add(r, pt, ptn);
    }
    r->rc = rc;
    return rc;
}


static record_t  rec_a, rec_b;
static uint8_t   rdbuf[1 << 20];


static void
draft_example(json_t *v)
{
    int                      allsame;
    size_t                   i, n, off, split[3];
    uint8_t                  want[64], buf[1024];
    json_t                  *sp;
    keyring_t                kr;
    ohttp_example_t          ex;
    confer_ohttp_ctx_t       c, s;
    confer_hpke_suite_t      suite = { 0x20, 1, 1 };
    confer_chunked_reader_t  rd;

    ohttp_example_load(v, &ex);

    confer_keyconfig_decode(ex.kc, ex.kc_n, &kr.key.config, &n);
    confer_hpke_keypair_from_sk(ex.sk, ex.sk_n, &kr.key.kp);

    /* client writes the request in the example's chunks */
    confer_ohttp_init(&c);
    confer_ohttp_test_set_ephemeral(&c, ex.esk, 32);
    ok(confer_chunked_request_begin(&c, &kr.key.config, &suite, buf,
                                    sizeof(buf), &n) == CONFER_OHTTP_OK
       && n == 39, "draft: request header and enc written");
    off = n;
    sp = json_object_get(v, "request_chunks_plaintext_split");
    for (i = 0; i < json_array_size(sp); i++) {
        split[i] = json_integer_value(json_array_get(sp, i));
    }
    ok(confer_chunked_request_seal(&c, ex.req, split[0], 0, buf + off,
                                   sizeof(buf) - off, &n) == CONFER_OHTTP_OK
       && n == confer_chunked_chunk_size(split[0], 0),
       "draft: first chunk (%zu bytes) sealed, size predicted", split[0]);
    off += n;
    confer_chunked_request_seal(&c, ex.req + split[0], split[1], 0, buf + off,
                                sizeof(buf) - off, &n);
    off += n;
    ok(confer_chunked_request_seal(&c, ex.req + split[0] + split[1],
                                   ex.req_n - split[0] - split[1], 1, buf + off,
                                   sizeof(buf) - off, &n) == CONFER_OHTTP_OK
       && n == confer_chunked_chunk_size(ex.req_n - split[0] - split[1], 1),
       "draft: final chunk sealed");
    off += n;
    is_mem(buf, off, ex.ereq, ex.ereq_n, "draft: chunked request byte-exact");
    is_int(confer_chunked_request_seal(&c, ex.req, 1, 0, buf, sizeof(buf), &n),
           CONFER_OHTTP_ERR_STATE, "draft: nothing after the final chunk");

    /* server reads it, in one piece and byte by byte */
    confer_ohttp_init(&s);
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf,
                                       sizeof(rdbuf));
    is_int(run_reader(&rd, ex.ereq, ex.ereq_n, 0, 0, &rec_a), CONFER_OHTTP_OK,
           "draft: server reads the request");
    is_int(rec_a.chunks, 3, "draft: in three chunks");
    ok(rec_a.len == ex.req_n + 12 && memcmp(rec_a.data + 4, ex.req, 12) == 0
       && memcmp(rec_a.data + 20, ex.req + 12, 13) == 0,
       "draft: chunk plaintexts are the BHTTP request's pieces");
    confer_chunked_reader_cleanup(&rd);
    confer_ohttp_cleanup(&s);

    allsame = 1;
    for (i = 1; i <= 41; i += 4) {
        confer_ohttp_init(&s);
        confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf,
                                           sizeof(rdbuf));
        run_reader(&rd, ex.ereq, ex.ereq_n, i, 0, &rec_b);
        allsame &= rec_b.rc == CONFER_OHTTP_OK && rec_b.len == rec_a.len
                   && memcmp(rec_b.data, rec_a.data, rec_a.len) == 0;
        confer_chunked_reader_cleanup(&rd);
        confer_ohttp_cleanup(&s);
    }
    ok(allsame, "draft: same chunks when fed 1, 5, 9 ... 41 bytes at a time");

    /* server answers with the example's nonce and chunks */
    confer_ohttp_init(&s);
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf,
                                       sizeof(rdbuf));
    run_reader(&rd, ex.ereq, ex.ereq_n, 0, 0, &rec_b);
    confer_ohttp_test_set_response_nonce(&s, ex.salt + 32, ex.salt_n - 32);
    ok(confer_chunked_response_begin(&s, buf, sizeof(buf), &n)
       == CONFER_OHTTP_OK && n == 16, "draft: response nonce written");
    n = hexv(v, "response_key", want, sizeof(want));
    is_mem(s.res_aead.key, s.res_aead.nk, want, n, "draft: response key");
    n = hexv(v, "response_nonce_aead", want, sizeof(want));
    is_mem(s.res_nonce, 12, want, n, "draft: response AEAD nonce");

    off = 16;
    sp = json_object_get(v, "response_chunks_plaintext_split");
    for (i = 0; i < json_array_size(sp); i++) {
        split[i] = json_integer_value(json_array_get(sp, i));
    }
    confer_chunked_response_seal(&s, ex.res, split[0], 0, buf + off,
                                 sizeof(buf) - off, &n);
    off += n;
    confer_chunked_response_seal(&s, ex.res + split[0], split[1], 0, buf + off,
                                 sizeof(buf) - off, &n);
    off += n;
    confer_chunked_response_seal(&s, ex.res + split[0] + split[1],
                                 ex.res_n - split[0] - split[1], 1, buf + off,
                                 sizeof(buf) - off, &n);
    off += n;
    is_mem(buf, off, ex.eres, ex.eres_n, "draft: chunked response byte-exact");
    is_int(confer_chunked_response_seal(&s, ex.res, 1, 1, buf, sizeof(buf), &n),
           CONFER_OHTTP_ERR_STATE, "draft: nothing after the final chunk");
    confer_chunked_reader_cleanup(&rd);
    confer_ohttp_cleanup(&s);

    /* client reads the response */
    confer_chunked_response_reader_init(&rd, &c, rdbuf, sizeof(rdbuf));
    is_int(run_reader(&rd, ex.eres, ex.eres_n, 1, 0, &rec_a), CONFER_OHTTP_OK,
           "draft: client reads the response byte by byte");
    ok(rec_a.chunks == 3 && rec_a.len == 12 + ex.res_n
       && rec_a.data[4] == ex.res[0] && rec_a.data[9] == ex.res[1]
       && rec_a.data[10] == ex.res[2], "draft: the BHTTP response, 1+2+0");
    confer_chunked_reader_cleanup(&rd);

    confer_ohttp_cleanup(&c);
    confer_hpke_keypair_cleanup(&kr.key.kp);
}


static uint8_t  stream[1 << 20], tampered[1 << 20], msg[300000];


/* a whole exchange for one AEAD, with chunk sizes from sizes[] */
static void
exchange(uint16_t aead)
{
    int                      allsame, never;
    size_t                   i, n, off, roff, pos, res_len, req_len,
                             chunk_at[8];
    keyring_t                kr;
    confer_ohttp_ctx_t       c, s;
    confer_ohttp_err_t       rc;
    confer_hpke_suite_t      suite = { 0x20, 1, 0 };
    confer_chunked_reader_t  rd;
    static const size_t      sizes[] = { 0, 1, 63, 64, 16383, 100000, 7 };

    suite.aead_id = aead;
    for (i = 0; i < sizeof(msg); i++) {
        msg[i] = (uint8_t) (i * 31 + (i >> 8));
    }

    keyring_generate(&kr, 5, aead);

    confer_ohttp_init(&c);
    confer_chunked_request_begin(&c, &kr.key.config, &suite, stream,
                                 sizeof(stream), &off);
    pos = 0;
    for (i = 0; i < 7; i++) {
        chunk_at[i] = off;
        rc = confer_chunked_request_seal(&c, msg + pos, sizes[i], i == 6,
                                         stream + off, sizeof(stream) - off,
                                         &n);
        if (rc != CONFER_OHTTP_OK) {
            diag("seal: %s", confer_ohttp_strerror(rc));
        }
        off += n;
        pos += sizes[i];
    }
    req_len = off;
    chunk_at[7] = off;

    confer_ohttp_init(&s);
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf,
                                       sizeof(rdbuf));
    rc = run_reader(&rd, stream, req_len, 0, 0, &rec_a);
    ok(rc == CONFER_OHTTP_OK && rec_a.chunks == 7
       && rec_a.len == pos + 7 * 4,
       "aead %d: request of 7 chunks (0 to 100000 bytes) read back", aead);
    confer_chunked_reader_cleanup(&rd);

    /* split invariance, random and fixed cuts */
    allsame = 1;
    for (i = 1; i < 12; i++) {
        confer_ohttp_cleanup(&s);
        confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf,
                                           sizeof(rdbuf));
        run_reader(&rd, stream, req_len, i < 4 ? i * 1000 : 0, (unsigned) i,
                   &rec_b);
        allsame &= rec_b.rc == CONFER_OHTTP_OK && rec_b.len == rec_a.len
                   && memcmp(rec_b.data, rec_a.data, rec_a.len) == 0;
        confer_chunked_reader_cleanup(&rd);
    }
    ok(allsame, "aead %d: identical output for 11 different splits", aead);

    /* every cut of the stream is an error at finish, never a clean end */
    never = 1;
    for (i = 0; i < req_len; i += (i < 200 || req_len - i < 200) ? 1 : 997) {
        confer_ohttp_cleanup(&s);
        confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf,
                                           sizeof(rdbuf));
        rc = run_reader(&rd, stream, i, 0, 0, &rec_b);
        never &= rc != CONFER_OHTTP_OK;
        confer_chunked_reader_cleanup(&rd);
    }
    ok(never, "aead %d: no truncation of the request ends cleanly", aead);

    confer_ohttp_cleanup(&s);
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf,
                                       sizeof(rdbuf));
    rc = run_reader(&rd, stream, chunk_at[6], 0, 0, &rec_b);
    ok(rc == CONFER_OHTTP_ERR_INCOMPLETE && rec_b.chunks == 6,
       "aead %d: cut before the final chunk: 6 chunks, then incomplete",
       aead);
    confer_chunked_reader_cleanup(&rd);

    /* drop chunk 2: the sequence numbers no longer line up */
    memcpy(tampered, stream, chunk_at[2]);
    memcpy(tampered + chunk_at[2], stream + chunk_at[3],
           req_len - chunk_at[3]);
    confer_ohttp_cleanup(&s);
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf,
                                       sizeof(rdbuf));
    rc = run_reader(&rd, tampered, req_len - (chunk_at[3] - chunk_at[2]), 0,
                    0, &rec_b);
    ok(rc == CONFER_OHTTP_ERR_DECRYPT && rec_b.chunks == 2,
       "aead %d: a dropped chunk is caught at the next one", aead);
    confer_chunked_reader_cleanup(&rd);

    /* a non-final chunk re-labelled as final (truncation attack) */
    memcpy(tampered, stream, chunk_at[6]);
    tampered[chunk_at[5]] = 0;
    memcpy(tampered + chunk_at[5] + 1, stream + chunk_at[5] + 1,
           chunk_at[6] - chunk_at[5] - 1);
    confer_ohttp_cleanup(&s);
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf,
                                       sizeof(rdbuf));
    rc = run_reader(&rd, tampered, chunk_at[6], 0, 0, &rec_b);
    ok(rc == CONFER_OHTTP_ERR_DECRYPT || rc == CONFER_OHTTP_ERR_MALFORMED,
       "aead %d: a non-final chunk passed off as final is refused (%s)",
       aead, confer_ohttp_strerror(rc));
    confer_chunked_reader_cleanup(&rd);

    /* flipped bit in the 100000-byte chunk: no plaintext of it released */
    memcpy(tampered, stream, req_len);
    tampered[chunk_at[5] + 500] ^= 4;
    confer_ohttp_cleanup(&s);
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf,
                                       sizeof(rdbuf));
    rc = run_reader(&rd, tampered, req_len, 333, 0, &rec_b);
    ok(rc == CONFER_OHTTP_ERR_DECRYPT && rec_b.chunks == 5,
       "aead %d: tampered chunk fails, earlier chunks only", aead);
    ok(confer_chunked_feed(&rd, stream, 1, &n, (const uint8_t **) &msg, &n)
       == CONFER_OHTTP_ERR_DECRYPT, "aead %d: and the error sticks", aead);
    confer_chunked_reader_cleanup(&rd);

    /* a reader bounded below the largest chunk */
    confer_ohttp_cleanup(&s);
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf, 65536);
    rc = run_reader(&rd, stream, req_len, 0, 0, &rec_b);
    ok(rc == CONFER_OHTTP_ERR_CHUNK_TOO_LARGE && rec_b.chunks == 5,
       "aead %d: 100016-byte chunk refused by a 64 KiB reader", aead);
    confer_chunked_reader_cleanup(&rd);

    /* a reader that starts small and asks for memory as chunks need it */
    allsame = 1;
    grow_on = 1;
    for (i = 0; i < 6; i++) {
        grows = 0;
        confer_ohttp_cleanup(&s);
        confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf, 16);
        confer_chunked_reader_set_max(&rd, 100016);
        run_reader(&rd, stream, req_len, i < 3 ? i * 700 : 0,
                   (unsigned) i, &rec_b);
        allsame &= rec_b.rc == CONFER_OHTTP_OK && rec_b.len == rec_a.len
                   && memcmp(rec_b.data, rec_a.data, rec_a.len) == 0
                   && grows > 0 && rd.cap <= 100016;
        confer_chunked_reader_cleanup(&rd);
    }
    ok(allsame, "aead %d: a 16-byte reader that may grow to the largest "
       "chunk reads the same chunks for 6 splits", aead);

    /*
     * A reader that hands back its buffer after every chunk: each
     * plaintext stays where it was opened, untouched by later chunks.
     */
    {
        int             kept;
        size_t          k, used, ptn, written, nkept, at;
        uint8_t        *old, *bufs[8];
        const uint8_t  *pt;

        confer_ohttp_cleanup(&s);
        bufs[0] = malloc(100016);
        confer_chunked_request_reader_init(&rd, &s, lookup, &kr, bufs[0],
                                           100016);
        nkept = 0;
        kept = 1;
        off = 0;
        at = 0;

        while (off < req_len && nkept < 7) {
            rc = confer_chunked_feed(&rd, stream + off, req_len - off, &used,
                                     &pt, &ptn);
            off += used;

            if (rc != CONFER_OHTTP_OK) {
                break;
            }

            kept &= pt == bufs[nkept] && ptn == sizes[nkept];
            at += ptn;

            bufs[nkept + 1] = malloc(100016);
            old = confer_chunked_reader_detach(&rd, bufs[nkept + 1], 100016,
                                               &written);
            kept &= old == bufs[nkept] && written >= ptn;
            nkept++;
        }

        kept &= confer_chunked_finish(&rd, &pt, &ptn) == CONFER_OHTTP_OK
                && pt == bufs[nkept] && ptn == sizes[6];

        /*
         * every chunk's plaintext is still in its own buffer, as the first
         * reading of the stream gave it (rec_a: length, bytes per chunk)
         */
        at = 0;
        for (k = 0; k <= nkept && k < 7; k++) {
            ptn = (size_t) rec_a.data[at] << 24 | rec_a.data[at + 1] << 16
                  | rec_a.data[at + 2] << 8 | rec_a.data[at + 3];
            kept &= ptn == sizes[k]
                    && memcmp(bufs[k], rec_a.data + at + 4, ptn) == 0;
            at += 4 + ptn;
        }
        ok(kept && nkept == 6, "aead %d: a reader detached after each of 6 "
           "chunks leaves each plaintext in its buffer", aead);

        ok(confer_chunked_reader_detach(&rd, bufs[0], 1, &written) != NULL,
           "aead %d: and detaches after the final one too", aead);
        confer_chunked_reader_cleanup(&rd);

        for (k = 0; k <= nkept && k < 7; k++) {
            free(bufs[k]);
        }
    }

    confer_ohttp_cleanup(&s);
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf, 16);
    confer_chunked_reader_set_max(&rd, 100015);
    rc = run_reader(&rd, stream, req_len, 0, 0, &rec_b);
    ok(rc == CONFER_OHTTP_ERR_CHUNK_TOO_LARGE && rec_b.chunks == 5,
       "aead %d: growing stops at max: a 100016-byte chunk is refused at "
       "100015", aead);
    confer_chunked_reader_cleanup(&rd);
    grow_on = 0;
    free(grown);
    grown = NULL;

    /* the response, and its reader */
    confer_ohttp_cleanup(&s);
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf,
                                       sizeof(rdbuf));
    run_reader(&rd, stream, req_len, 0, 0, &rec_b);
    confer_chunked_reader_cleanup(&rd);

    ok(confer_chunked_response_begin(&s, stream, sizeof(stream), &off)
       == CONFER_OHTTP_OK
       && off == confer_ohttp_response_nonce_size(aead),
       "aead %d: response nonce", aead);
    pos = 0;
    for (i = 0; i < 7; i++) {
        chunk_at[i] = off;
        confer_chunked_response_seal(&s, msg + pos, sizes[6 - i], i == 6,
                                     stream + off, sizeof(stream) - off, &n);
        off += n;
        pos += sizes[6 - i];
    }
    res_len = off;

    confer_chunked_response_reader_init(&rd, &c, rdbuf, sizeof(rdbuf));
    rc = run_reader(&rd, stream, res_len, 0, 0, &rec_a);
    ok(rc == CONFER_OHTTP_OK && rec_a.chunks == 7
       && memcmp(rec_a.data + 4, msg, 7) == 0,
       "aead %d: response of 7 chunks read back", aead);
    confer_chunked_reader_cleanup(&rd);

    allsame = 1;
    never = 1;
    for (i = 1; i < 8; i++) {
        /* the client context's response state is per reading: redo it */
        c.res_ready = 0;
        confer_aead_cleanup(&c.res_aead);
        confer_chunked_response_reader_init(&rd, &c, rdbuf, sizeof(rdbuf));
        run_reader(&rd, stream, res_len, 0, (unsigned) (i * 77), &rec_b);
        allsame &= rec_b.rc == CONFER_OHTTP_OK && rec_b.len == rec_a.len
                   && memcmp(rec_b.data, rec_a.data, rec_a.len) == 0;
        confer_chunked_reader_cleanup(&rd);

        c.res_ready = 0;
        confer_aead_cleanup(&c.res_aead);
        confer_chunked_response_reader_init(&rd, &c, rdbuf, sizeof(rdbuf));
        roff = res_len - i * 3;
        never &= run_reader(&rd, stream, roff, 0, 0, &rec_b)
                 != CONFER_OHTTP_OK;
        confer_chunked_reader_cleanup(&rd);
    }
    ok(allsame, "aead %d: response output identical for 7 random splits",
       aead);
    ok(never, "aead %d: a cut response never ends cleanly", aead);

    confer_ohttp_cleanup(&s);
    confer_ohttp_cleanup(&c);
    confer_hpke_keypair_cleanup(&kr.key.kp);
}


static void
framing(void)
{
    size_t                   n, used, ptn;
    uint8_t                  hdr[64];
    keyring_t                kr;
    const uint8_t           *pt;
    confer_ohttp_ctx_t       c, s;
    confer_hpke_suite_t      suite = { 0x20, 1, 1 };
    confer_chunked_reader_t  rd;

    keyring_generate(&kr, 9, 1);

    /* unknown key id: said at the first byte */
    confer_ohttp_init(&s);
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf, 4096);
    hdr[0] = 8;
    ok(confer_chunked_feed(&rd, hdr, 1, &used, &pt, &ptn)
       == CONFER_OHTTP_ERR_UNKNOWN_KEY, "unknown key id at the first byte");
    confer_ohttp_cleanup(&s);

    /* a chunk length below the tag size */
    confer_ohttp_init(&c);
    confer_chunked_request_begin(&c, &kr.key.config, &suite, hdr,
                                 sizeof(hdr), &n);
    hdr[n++] = 15;
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf, 4096);
    ok(confer_chunked_feed(&rd, hdr, n, &used, &pt, &ptn)
       == CONFER_OHTTP_ERR_MALFORMED, "chunk length 15 is malformed");

    confer_ohttp_cleanup(&s);
    hdr[n - 1] = 0x80;
    hdr[n++] = 0;
    hdr[n++] = 0x10;
    hdr[n++] = 0x01;
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf, 4096);
    ok(confer_chunked_feed(&rd, hdr, n, &used, &pt, &ptn)
       == CONFER_OHTTP_ERR_CHUNK_TOO_LARGE,
       "a 4097-byte chunk for a 4096-byte reader, said at its length");
    confer_ohttp_cleanup(&s);

    confer_ohttp_init(&s);
    confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf, 4096);
    ok(confer_chunked_finish(&rd, &pt, &ptn) == CONFER_OHTTP_ERR_INCOMPLETE,
       "an empty stream is incomplete");
    confer_ohttp_cleanup(&s);

    /* a response reader without a request sent */
    confer_ohttp_init(&s);
    confer_chunked_response_reader_init(&rd, &s, rdbuf, 4096);
    ok(confer_chunked_feed(&rd, hdr, 5, &used, &pt, &ptn)
       == CONFER_OHTTP_ERR_STATE, "response reader needs a sent request");
    ok(confer_chunked_response_begin(&c, hdr, sizeof(hdr), &n)
       == CONFER_OHTTP_ERR_STATE, "a client cannot write a response");

    confer_ohttp_cleanup(&s);
    confer_ohttp_cleanup(&c);

    /* sizes the padding code relies on */
    is_int(confer_chunked_chunk_size(0, 1), 17, "empty final chunk: 17");
    is_int(confer_chunked_chunk_size(47, 0), 64, "47 bytes: 1 + 63");
    is_int(confer_chunked_chunk_size(48, 0), 66, "48 bytes: 2 + 64");
    is_int(confer_chunked_chunk_size(16367, 0), 16385, "16367: 2 + 16383");
    is_int(confer_chunked_chunk_size(16368, 0), 16388, "16368: 4 + 16384");
    {
        int     good;
        size_t  w;

        good = 1;
        for (w = 0; w < 70000; w++) {
            long long  p;

            p = confer_chunked_max_plaintext(w, 0);
            if (p >= 0) {
                good &= confer_chunked_chunk_size((size_t) p, 0) <= w
                        && confer_chunked_chunk_size((size_t) p + 1, 0) > w;
            } else {
                good &= w < 17;
            }
            p = confer_chunked_max_plaintext(w, 1);
            good &= p < 0 ? w < 17
                          : confer_chunked_chunk_size((size_t) p, 1) == w;
        }
        ok(good, "max_plaintext is the largest fit for every size < 70000");
    }

    /*
     * What the reader wrote is wiped at the end, and nothing else is
     * touched: a large buffer costs only the bytes a request used.
     */
    {
        int                  clean;
        size_t               k, wrote, off;
        confer_ohttp_ctx_t   c2, s2;
        static uint8_t       big[65536];

        confer_ohttp_init(&c2);
        confer_chunked_request_begin(&c2, &kr.key.config, &suite, hdr,
                                     sizeof(hdr), &n);
        memcpy(stream, hdr, n);
        off = n;
        memset(msg, 0x5a, 300);
        confer_chunked_request_seal(&c2, msg, 300, 0, stream + off,
                                    sizeof(stream) - off, &n);
        off += n;
        confer_chunked_request_seal(&c2, msg, 100, 1, stream + off,
                                    sizeof(stream) - off, &n);
        off += n;

        memset(big, 0xa5, sizeof(big));
        confer_ohttp_init(&s2);
        confer_chunked_request_reader_init(&rd, &s2, lookup, &kr, big,
                                           sizeof(big));
        ok(run_reader(&rd, stream, off, 7, 0, &rec_b) == CONFER_OHTTP_OK
           && rec_b.chunks == 2, "a 300 and a 100-byte chunk read");
        wrote = rd.dirty;
        confer_chunked_reader_cleanup(&rd);

        clean = wrote >= 316 && wrote < 1024;
        for (k = 0; k < sizeof(big); k++) {
            clean &= big[k] == (k < wrote ? 0 : 0xa5);
        }
        ok(clean, "cleanup wiped the %zu bytes written, left the rest of "
           "64 KiB untouched", wrote);

        confer_ohttp_cleanup(&s2);
        confer_ohttp_cleanup(&c2);
    }

    confer_hpke_keypair_cleanup(&kr.key.kp);
}


/*
 * The client's Encap prepared ahead (confer_hpke_encap_prepare): the
 * request carries the prepared enc and opens at the server; one prepared
 * for another key is not used (a fresh one is) and is wiped all the same.
 */
static void
prepared(void)
{
    int                      mine;
    size_t                   n, off;
    uint8_t                  buf[256], enc[32], zero[32];
    keyring_t                kr, other;
    confer_ohttp_ctx_t       c, s;
    confer_hpke_suite_t      suite = { 0x20, 1, CONFER_HPKE_AEAD_AES128GCM };
    confer_hpke_encap_t      pre;
    confer_chunked_reader_t  rd;

    memset(zero, 0, sizeof(zero));
    keyring_generate(&kr, 7, CONFER_HPKE_AEAD_AES128GCM);
    keyring_generate(&other, 8, CONFER_HPKE_AEAD_AES128GCM);

    for (mine = 1; mine >= 0; mine--) {
        confer_hpke_encap_prepare(&pre, mine ? kr.key.kp.pk
                                             : other.key.kp.pk, 32);
        memcpy(enc, pre.enc, 32);

        confer_ohttp_init(&c);
        c.encap = &pre;
        ok(confer_chunked_request_begin(&c, &kr.key.config, &suite, buf,
                                        sizeof(buf), &n) == CONFER_OHTTP_OK,
           "prepared (%s key): request begun", mine ? "its" : "another");
        ok(mine ? memcmp(buf + 7, enc, 32) == 0
                : memcmp(buf + 7, enc, 32) != 0,
           mine ? "prepared: the request carries the prepared enc"
                : "prepared: for another key, a fresh enc instead");
        ok(!pre.ready && memcmp(pre.dh, zero, 32) == 0 && c.encap == NULL,
           "prepared (%s key): wiped, and the context lets go of it",
           mine ? "its" : "another");

        off = n;
        confer_chunked_request_seal(&c, (uint8_t *) "hello", 5, 1,
                                    buf + off, sizeof(buf) - off, &n);
        off += n;

        confer_ohttp_init(&s);
        confer_chunked_request_reader_init(&rd, &s, lookup, &kr, rdbuf,
                                           sizeof(rdbuf));
        /* the record: each chunk's 4-byte length, then its plaintext */
        ok(run_reader(&rd, buf, off, 0, 0, &rec_a) == CONFER_OHTTP_OK
           && rec_a.chunks == 1 && rec_a.len == 9
           && memcmp(rec_a.data + 4, "hello", 5) == 0,
           "prepared (%s key): the server opens it",
           mine ? "its" : "another");
        confer_chunked_reader_cleanup(&rd);
        confer_ohttp_cleanup(&s);
        confer_ohttp_cleanup(&c);
    }

    confer_hpke_keypair_cleanup(&kr.key.kp);
    confer_hpke_keypair_cleanup(&other.key.kp);
}


int
main(void)
{
    json_t  *v;

    framing();
    prepared();
    exchange(CONFER_HPKE_AEAD_AES128GCM);
    exchange(CONFER_HPKE_AEAD_AES256GCM);
    exchange(CONFER_HPKE_AEAD_CHACHA20POLY1305);

    v = ohttp_vector_file("ohttp-chunked-example.json", "draft example");
    if (v != NULL) {
        draft_example(v);
        json_decref(v);
    }

    return done_testing();
}
