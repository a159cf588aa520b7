/*
 * Length padding, so that ciphertext sizes do not spell out prompts or
 * tokens.  This header is the whole interface; nothing here allocates.
 *
 * 1. Size buckets for whole messages (a request, a non-streamed response):
 *    the BHTTP message is padded with zero bytes (RFC 9292, 3.8) up to
 *    confer_pad_bucket() of its length:
 *
 *        n <= 256            256
 *        256 < n <= 64 KiB   the next power of two
 *        n > 64 KiB          the next multiple of 64 KiB
 *
 *    Powers of two leak at most log2 of the size and cost less than 2x;
 *    above 64 KiB (long documents, embeddings input) the linear step keeps
 *    the cost under 64 KiB per message while the sizes that matter most,
 *    short prompts, fall in a handful of buckets.
 *
 * 2. Streamed answers (text/event-stream): the terminator seals each
 *    upstream read as one chunked-OHTTP chunk.  On the wire a non-final
 *    chunk is varint(len) + ciphertext, the ciphertext is the plaintext and
 *    a 16-byte AEAD tag, and the plaintext is one BHTTP content chunk,
 *    varint(len) + data (plus, for the first chunk, whatever BHTTP bytes go
 *    with it: `extra`).  confer_pad_sse_plan() finds the smallest SSE
 *    comment line ":~...~\n" that makes that wire size a multiple of the
 *    quantum, and where it can go: at a line start the padder knows of, so
 *    that any SSE parser ignores it.  That is the start of the read when
 *    the bytes sent before ended with LF, else just after the first LF in
 *    the read.  Never after a CR: a CR LF pair split across reads would
 *    otherwise gain an empty line, which dispatches an event.  Never at the
 *    very start of the stream either: a byte order mark must stay first,
 *    and stripping a line there could make one first.
 *    A read that offers no such place (a piece of a long line with no LF)
 *    is reported; the caller should keep it and send it with the next read,
 *    which costs no latency since no SSE event can complete before that
 *    line's end.
 *
 * 3. The gateway's stripper: fed the decrypted event stream in pieces of
 *    any size, it removes exactly the lines ":~+\n" that start after an
 *    LF, and passes every other byte through
 *    (": ping" and other comments too).  Its output does not depend on how
 *    the input is split; its state is a few words.
 */

#ifndef CONFER_PAD_H
#define CONFER_PAD_H

#include <stddef.h>
#include <stdint.h>


typedef enum {
    CONFER_PAD_OK = 0,             /* "ok" */
    CONFER_PAD_NO_LINE_START,      /* "no_line_start": nowhere safe to put
                                      a comment line in this read */
    CONFER_PAD_ERR_SPACE,          /* "no_space": output buffer too small */
    CONFER_PAD_ERR_ARG,            /* "bad_argument" */
    CONFER_PAD_ERR_TOO_LARGE,      /* "too_large": sizes beyond reason */
    CONFER_PAD_ERR_LAST
} confer_pad_rc_t;

const char *confer_pad_strerror(confer_pad_rc_t rc);


/* --- whole messages ------------------------------------------------------ */

#define CONFER_PAD_BUCKET_FLOOR   256
#define CONFER_PAD_BUCKET_LINEAR  65536

/* the bucket a message of n bytes is padded up to (n itself if none fits
   in a size_t) */
size_t confer_pad_bucket(size_t n);

/* the padding for it: confer_pad_bucket(n) - n */
size_t confer_pad_bucket_padding(size_t n);


/* --- chunk sizes --------------------------------------------------------- */

#define CONFER_PAD_QUANTUM_DEFAULT  256
#define CONFER_PAD_AEAD_TAG         16    /* AES-GCM and ChaCha20-Poly1305 */

/* wire size of a non-final chunked-OHTTP chunk of plaintext bytes:
   varint(plaintext + tag) + plaintext + tag */
size_t confer_pad_chunk_wire(size_t plaintext);

/* zero bytes of BHTTP padding that bring the final chunk (indicator 0,
   ciphertext) to a multiple of quantum, given its plaintext without them */
size_t confer_pad_final_padding(size_t plaintext, size_t quantum);


/* --- SSE padding (terminator) ------------------------------------------- */

typedef struct {
    size_t    quantum;    /* 0 or 1: no padding */
    unsigned  state;      /* what the bytes sent so far ended with */
} confer_pad_sse_t;

void confer_pad_sse_init(confer_pad_sse_t *s, size_t quantum);

/*
 * For one read p[0..n) that goes out as one BHTTP content chunk in one
 * non-final OHTTP chunk, with extra other plaintext bytes in that chunk:
 * sets *at (where the comment line goes, 0..n) and *pad (its length; 0 when
 * none is needed, else at least 3).  Returns CONFER_PAD_OK, or
 * CONFER_PAD_NO_LINE_START (then *pad is 0).  Changes nothing.
 */
confer_pad_rc_t confer_pad_sse_plan(const confer_pad_sse_t *s, size_t extra,
    const uint8_t *p, size_t n, size_t *at, size_t *pad);

/*
 * Writes p[0..at), the comment line of pad bytes, p[at..n) into out and
 * notes what the stream now ends with.  *len = n + pad; CONFER_PAD_ERR_SPACE
 * (nothing written, *len the size needed) when cap is too small.  With
 * pad == 0 it copies p (use this to send a read unpadded too).
 */
confer_pad_rc_t confer_pad_sse_write(confer_pad_sse_t *s, const uint8_t *p,
    size_t n, size_t at, size_t pad, uint8_t *out, size_t cap, size_t *len);

/* plan and write in one: CONFER_PAD_NO_LINE_START means that p went out
   unpadded */
confer_pad_rc_t confer_pad_sse(confer_pad_sse_t *s, size_t extra,
    const uint8_t *p, size_t n, uint8_t *out, size_t cap, size_t *len);

/* notes bytes sent by other means (unpadded, or in the final chunk) */
void confer_pad_sse_sent(confer_pad_sse_t *s, const uint8_t *p, size_t n);


/* --- SSE padding stripper (gateway) ------------------------------------- */

typedef struct {
    unsigned  state;
    size_t    tildes;       /* '~' held back after a held ':' */
    unsigned  pend_colon;   /* held bytes being written out */
    size_t    pend_tildes;
} confer_pad_strip_t;

void confer_pad_strip_init(confer_pad_strip_t *s);

/* bytes held back (part of what may be a padding line); an output buffer
   of n + held bytes always takes all of n */
size_t confer_pad_strip_held(const confer_pad_strip_t *s);

/*
 * Consumes input and writes output until one of them runs out: *consumed
 * input bytes, *len output bytes.  Always CONFER_PAD_OK, unless called
 * with bad arguments.
 */
confer_pad_rc_t confer_pad_strip(confer_pad_strip_t *s, const uint8_t *p,
    size_t n, size_t *consumed, uint8_t *out, size_t cap, size_t *len);

/*
 * End of the stream: writes what is held back (a ":~~" line that never
 * ended).  CONFER_PAD_ERR_SPACE (nothing written, *len the size needed)
 * when cap is too small.
 */
confer_pad_rc_t confer_pad_strip_finish(confer_pad_strip_t *s, uint8_t *out,
    size_t cap, size_t *len);


#endif /* CONFER_PAD_H */
