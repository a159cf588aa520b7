/*
 * Chunked Oblivious HTTP messages, draft-ietf-ohai-chunked-ohttp-08:
 * requests and responses sealed and opened chunk by chunk.  Uses the
 * exchange context and error codes of confer_ohttp.h.  No nginx header.
 *
 * Writers seal one chunk per call into a caller buffer.  Readers take
 * ciphertext in pieces of any size and hand out a chunk's plaintext only
 * after its tag verified; the final chunk (which runs to the end of the
 * stream) is opened by confer_chunked_finish(), and a stream that ends
 * without it is an error.  A reader works in memory the caller gives it:
 * that size bounds the largest chunk it accepts, unless the caller lets
 * it ask for more (confer_chunked_reader_set_max), so that memory follows
 * the chunks that actually arrive.  Only the bytes the reader wrote are
 * wiped at the end.
 */

#ifndef CONFER_CHUNKED_H
#define CONFER_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "confer_ohttp.h"


typedef struct {
    confer_ohttp_ctx_t      *ohttp;
    confer_ohttp_lookup_pt   lookup;
    void                    *lookup_data;

    uint8_t                 *buf;        /* caller memory, one chunk */
    size_t                   cap;
    size_t                   max;        /* largest chunk taken (>= cap) */
    size_t                   dirty;      /* bytes of buf ever written */
    size_t                   want;       /* NEED_SPACE: buffer size asked */
    size_t                   have;       /* bytes of the item in buf */
    size_t                   need;       /* bytes the item takes */

    uint8_t                  small[CONFER_OHTTP_REQ_PREFIX];
    size_t                   small_have; /* header or varint bytes */

    uint8_t                  state;
    uint8_t                  request;    /* 1: request reader (server) */
    confer_ohttp_err_t       error;      /* sticky once set */
    uint64_t                 chunks;     /* chunks handed out */
} confer_chunked_reader_t;


/*
 * Bytes a sealed chunk takes on the wire for pt_len bytes of plaintext:
 * varint length and ciphertext for a non-final chunk, the zero indicator
 * and ciphertext for the final one (chunked draft, 6.1 and 6.2).
 */
size_t confer_chunked_chunk_size(size_t pt_len, int final);

/* the largest plaintext whose chunk fits in wire_len bytes, or -1 */
long long confer_chunked_max_plaintext(size_t wire_len, int final);


/* client: chunked request (draft, 6.1) */

/* writes the request header and enc (CONFER_OHTTP_REQ_PREFIX bytes) */
confer_ohttp_err_t confer_chunked_request_begin(confer_ohttp_ctx_t *ctx,
    const confer_keyconfig_t *kc, const confer_hpke_suite_t *suite,
    uint8_t *out, size_t cap, size_t *out_len);

/* seals one chunk; after a final one, nothing more may be sealed */
confer_ohttp_err_t confer_chunked_request_seal(confer_ohttp_ctx_t *ctx,
    const uint8_t *pt, size_t pt_len, int final, uint8_t *out, size_t cap,
    size_t *out_len);


/* server: chunked response (draft, 6.2), after the request's header */

/* writes the response nonce (confer_ohttp_response_nonce_size bytes) */
confer_ohttp_err_t confer_chunked_response_begin(confer_ohttp_ctx_t *ctx,
    uint8_t *out, size_t cap, size_t *out_len);

confer_ohttp_err_t confer_chunked_response_seal(confer_ohttp_ctx_t *ctx,
    const uint8_t *pt, size_t pt_len, int final, uint8_t *out, size_t cap,
    size_t *out_len);


/* readers */

/*
 * Server side: opens a chunked request.  ohttp is the exchange context
 * (set up by the reader from the header; afterwards it seals the
 * response).  buf/cap is the memory for one chunk's ciphertext.
 */
void confer_chunked_request_reader_init(confer_chunked_reader_t *rd,
    confer_ohttp_ctx_t *ohttp, confer_ohttp_lookup_pt lookup, void *data,
    uint8_t *buf, size_t cap);

/* client side: opens a chunked response to the request sent with ohttp */
void confer_chunked_response_reader_init(confer_chunked_reader_t *rd,
    confer_ohttp_ctx_t *ohttp, uint8_t *buf, size_t cap);

/*
 * Lets the reader take chunks of up to max bytes (a final chunk: up to max
 * bytes in all) while its buffer is smaller: instead of refusing such a
 * chunk, confer_chunked_feed() answers CONFER_OHTTP_NEED_SPACE with
 * rd->want set, and the caller moves it to a larger buffer.  Without this
 * call, max is the buffer's size.
 */
void confer_chunked_reader_set_max(confer_chunked_reader_t *rd, size_t max);

/*
 * Moves the reader to buf/cap (cap at least rd->want, or the old cap):
 * the bytes it holds are copied and the old buffer's written part is
 * wiped; freeing the old buffer is the caller's.
 */
void confer_chunked_reader_move(confer_chunked_reader_t *rd, uint8_t *buf,
    size_t cap);

/*
 * Between chunks (after CONFER_OHTTP_OK, before the next feed): the reader
 * goes on in buf/cap and hands back its old buffer as it is, with the
 * plaintext just opened in it, so that the caller may keep that plaintext
 * where it lies; *written is how much of the old buffer the reader wrote,
 * which the caller now wipes.  NULL (nothing changed) in the middle of a
 * chunk.
 */
uint8_t *confer_chunked_reader_detach(confer_chunked_reader_t *rd,
    uint8_t *buf, size_t cap, size_t *written);

/*
 * Takes input from (in, n), sets *used to what it took, and returns
 *   CONFER_OHTTP_OK      a non-final chunk verified: *pt, *pt_len hold its
 *                        plaintext (maybe empty), valid until the next
 *                        call; call again with the rest of the input;
 *   CONFER_OHTTP_AGAIN   all input taken, no chunk completed;
 *   CONFER_OHTTP_NEED_SPACE
 *                        (only with a max above the buffer's size) the
 *                        chunk ahead needs rd->want bytes of buffer: move
 *                        the reader to one that large, then call again
 *                        with the rest of the input;
 *   an error             the stream is bad; every later call repeats it.
 * A request reader reports a key problem (confer_ohttp_is_key_problem)
 * as soon as it has the header.
 */
confer_ohttp_err_t confer_chunked_feed(confer_chunked_reader_t *rd,
    const uint8_t *in, size_t n, size_t *used, const uint8_t **pt,
    size_t *pt_len);

/*
 * At the end of the input: opens the final chunk and returns its
 * plaintext, or CONFER_OHTTP_ERR_INCOMPLETE if the stream stopped before
 * the final chunk (a truncation, never a normal end).
 */
confer_ohttp_err_t confer_chunked_finish(confer_chunked_reader_t *rd,
    const uint8_t **pt, size_t *pt_len);

/*
 * wipes what the reader wrote in its buffer; the ohttp context is the
 * caller's to clean
 */
void confer_chunked_reader_cleanup(confer_chunked_reader_t *rd);

#endif /* CONFER_CHUNKED_H */
