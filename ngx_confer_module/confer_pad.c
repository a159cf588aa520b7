/*
 * Length padding: size buckets, SSE comment padding, and its stripper.
 * See confer_pad.h for the interface and the choices.
 */

#include <string.h>

#include "confer_pad.h"
#include "confer_util.h"


/* what the SSE bytes sent so far ended with */
enum {
    PS_START = 0,        /* nothing sent yet */
    PS_LF,               /* an LF: a line starts here */
    PS_OTHER             /* mid-line, or a CR that an LF may follow */
};

/* stripper states */
enum {
    SP_MID = 0,          /* inside a line that is not padding, or at the
                            start of the stream */
    SP_LINE_START,       /* after an LF */
    SP_COLON,            /* ':' at a line start, held back */
    SP_TILDES            /* ':' and tildes at a line start, held back */
};

/* reads and chunks larger than this are not what this code is for */
#define CONFER_PAD_MAX  ((size_t) 1 << 40)


static size_t pad_sse_wire(size_t extra, size_t d);
static int pad_line_start(const confer_pad_sse_t *s, const uint8_t *p,
    size_t n, size_t *at);


static const char  *confer_pad_names[] = {
    "ok",
    "no_line_start",
    "no_space",
    "bad_argument",
    "too_large"
};


const char *
confer_pad_strerror(confer_pad_rc_t rc)
{
    if ((unsigned) rc >= sizeof(confer_pad_names) / sizeof(char *)) {
        return "unknown";
    }

    return confer_pad_names[rc];
}


/* --- whole messages ----------------------------------------------------- */

size_t
confer_pad_bucket(size_t n)
{
    size_t  b;

    if (n <= CONFER_PAD_BUCKET_FLOOR) {
        return CONFER_PAD_BUCKET_FLOOR;
    }

    if (n <= CONFER_PAD_BUCKET_LINEAR) {
        b = CONFER_PAD_BUCKET_FLOOR;
        while (b < n) {
            b <<= 1;
        }

        return b;
    }

    if (n > SIZE_MAX - (CONFER_PAD_BUCKET_LINEAR - 1)) {
        return n;
    }

    return (n + CONFER_PAD_BUCKET_LINEAR - 1)
           / CONFER_PAD_BUCKET_LINEAR * CONFER_PAD_BUCKET_LINEAR;
}


size_t
confer_pad_bucket_padding(size_t n)
{
    return confer_pad_bucket(n) - n;
}


/* --- chunk sizes, draft-ietf-ohai-chunked-ohttp-08, 6.2 ----------------- */

size_t
confer_pad_chunk_wire(size_t plaintext)
{
    size_t  ct;

    ct = plaintext + CONFER_PAD_AEAD_TAG;

    return confer_varint_size(ct) + ct;
}


size_t
confer_pad_final_padding(size_t plaintext, size_t quantum)
{
    size_t  wire;

    if (quantum < 2) {
        return 0;
    }

    /* Final Response Chunk: Indicator (i) = 0, then the ciphertext */
    wire = 1 + plaintext + CONFER_PAD_AEAD_TAG;

    return (quantum - wire % quantum) % quantum;
}


/* --- SSE padding -------------------------------------------------------- */

void
confer_pad_sse_init(confer_pad_sse_t *s, size_t quantum)
{
    s->quantum = quantum;
    s->state = PS_START;
}


/* wire size of a chunk whose BHTTP content chunk carries d bytes */
static size_t
pad_sse_wire(size_t extra, size_t d)
{
    size_t  pt;

    pt = extra;

    if (d) {
        /* RFC 9292, 3.2: a content chunk is varint(length) and the data */
        pt += confer_varint_size(d) + d;
    }

    return confer_pad_chunk_wire(pt);
}


/*
 * The first place in p[0..n) where a line starts for certain, whatever
 * comes after: after an LF (see confer_pad.h).
 */
static int
pad_line_start(const confer_pad_sse_t *s, const uint8_t *p, size_t n,
    size_t *at)
{
    const uint8_t  *lf;

    if (s->state == PS_LF) {
        *at = 0;
        return 1;
    }

    lf = n ? memchr(p, '\n', n) : NULL;
    if (lf == NULL) {
        return 0;
    }

    *at = (size_t) (lf - p) + 1;
    return 1;
}


confer_pad_rc_t
confer_pad_sse_plan(const confer_pad_sse_t *s, size_t extra,
    const uint8_t *p, size_t n, size_t *at, size_t *pad)
{
    size_t  q, w, target, d, vd, vc, k, tries;

    if (s == NULL || at == NULL || pad == NULL || (p == NULL && n)) {
        return CONFER_PAD_ERR_ARG;
    }

    *at = 0;
    *pad = 0;

    if (n > CONFER_PAD_MAX || extra > CONFER_PAD_MAX) {
        return CONFER_PAD_ERR_TOO_LARGE;
    }

    q = s->quantum;

    if (q < 2 || pad_sse_wire(extra, n) % q == 0) {
        return CONFER_PAD_OK;
    }

    if (!pad_line_start(s, p, n, at)) {
        return CONFER_PAD_NO_LINE_START;
    }

    /*
     * The smallest comment line is ":~\n", 3 bytes.  The wire size grows
     * by one per byte of data except where a varint gets longer, where it
     * skips; so try the multiples of q from the first reachable one and,
     * for each, every pair of varint lengths (data, ciphertext).
     */

    w = pad_sse_wire(extra, n + 3);
    target = (w + q - 1) / q * q;

    for (tries = 0; tries < 16; tries++, target += q) {

        for (k = 0; k < 16; k++) {
            vd = (size_t) 1 << (k >> 2);
            vc = (size_t) 1 << (k & 3);

            if (target < vc + CONFER_PAD_AEAD_TAG + extra + vd + n + 3) {
                continue;
            }

            d = target - vc - CONFER_PAD_AEAD_TAG - extra - vd;

            if (confer_varint_size(d) == vd
                && confer_varint_size(extra + vd + d + CONFER_PAD_AEAD_TAG)
                   == vc)
            {
                *pad = d - n;
                return CONFER_PAD_OK;
            }
        }
    }

    /* not reached for any quantum >= 2 */
    *at = 0;
    return CONFER_PAD_ERR_TOO_LARGE;
}


confer_pad_rc_t
confer_pad_sse_write(confer_pad_sse_t *s, const uint8_t *p, size_t n,
    size_t at, size_t pad, uint8_t *out, size_t cap, size_t *len)
{
    if (s == NULL || len == NULL || (p == NULL && n) || at > n
        || pad == 1 || pad == 2 || n > CONFER_PAD_MAX || pad > CONFER_PAD_MAX)
    {
        return CONFER_PAD_ERR_ARG;
    }

    *len = n + pad;

    if (out == NULL || cap < n + pad) {
        return CONFER_PAD_ERR_SPACE;
    }

    if (at) {
        memcpy(out, p, at);
    }

    if (pad) {
        /* an SSE comment line: ':' one or more '~' and LF */
        out[at] = ':';
        memset(out + at + 1, '~', pad - 2);
        out[at + pad - 1] = '\n';
    }

    if (n > at) {
        memcpy(out + at + pad, p + at, n - at);
    }

    confer_pad_sse_sent(s, out, n + pad);

    return CONFER_PAD_OK;
}


confer_pad_rc_t
confer_pad_sse(confer_pad_sse_t *s, size_t extra, const uint8_t *p, size_t n,
    uint8_t *out, size_t cap, size_t *len)
{
    size_t           at, pad;
    confer_pad_rc_t  rc, wrc;

    rc = confer_pad_sse_plan(s, extra, p, n, &at, &pad);
    if (rc != CONFER_PAD_OK && rc != CONFER_PAD_NO_LINE_START) {
        return rc;
    }

    wrc = confer_pad_sse_write(s, p, n, at, pad, out, cap, len);

    return wrc != CONFER_PAD_OK ? wrc : rc;
}


void
confer_pad_sse_sent(confer_pad_sse_t *s, const uint8_t *p, size_t n)
{
    if (n == 0) {
        return;
    }

    s->state = (p[n - 1] == '\n') ? PS_LF : PS_OTHER;
}


/* --- SSE padding stripper ----------------------------------------------- */

void
confer_pad_strip_init(confer_pad_strip_t *s)
{
    memset(s, 0, sizeof(confer_pad_strip_t));
    s->state = SP_MID;
}


size_t
confer_pad_strip_held(const confer_pad_strip_t *s)
{
    size_t  held;

    held = s->pend_colon + s->pend_tildes;

    if (s->state == SP_COLON || s->state == SP_TILDES) {
        held += 1 + s->tildes;
    }

    return held;
}


confer_pad_rc_t
confer_pad_strip(confer_pad_strip_t *s, const uint8_t *p, size_t n,
    size_t *consumed, uint8_t *out, size_t cap, size_t *len)
{
    size_t          i, o, k;
    uint8_t         c;
    const uint8_t  *lf;

    if (s == NULL || consumed == NULL || len == NULL || (p == NULL && n)
        || (out == NULL && cap))
    {
        return CONFER_PAD_ERR_ARG;
    }

    i = 0;
    o = 0;

    for ( ;; ) {

        /* held bytes that turned out not to be padding go out first */

        while (s->pend_colon || s->pend_tildes) {
            if (o == cap) {
                goto done;
            }

            if (s->pend_colon) {
                out[o++] = ':';
                s->pend_colon = 0;
                continue;
            }

            k = cap - o < s->pend_tildes ? cap - o : s->pend_tildes;
            memset(out + o, '~', k);
            o += k;
            s->pend_tildes -= k;
        }

        if (i == n) {
            goto done;
        }

        c = p[i];

        switch (s->state) {

        case SP_LINE_START:
            if (c == ':') {
                s->state = SP_COLON;
                s->tildes = 0;
                i++;
                break;
            }

            s->state = SP_MID;

            /* fall through */

        case SP_MID:
            /* copy up to and including the next LF, as far as fits */
            if (o == cap) {
                goto done;
            }

            k = n - i < cap - o ? n - i : cap - o;
            lf = memchr(p + i, '\n', k);
            if (lf) {
                k = (size_t) (lf - (p + i)) + 1;
                s->state = SP_LINE_START;
            }

            memcpy(out + o, p + i, k);
            o += k;
            i += k;
            break;

        case SP_COLON:
            if (c == '~') {
                s->state = SP_TILDES;
                s->tildes = 1;
                i++;
                break;
            }

            /* not padding: give back the ':' and go on mid-line */
            s->pend_colon = 1;
            s->state = SP_MID;
            break;

        default: /* SP_TILDES */
            if (c == '~') {
                i++;
                s->tildes++;

                while (i < n && p[i] == '~') {
                    i++;
                    s->tildes++;
                }

                break;
            }

            if (c == '\n') {
                /* a padding line: drop it, a line starts after it */
                i++;
                s->tildes = 0;
                s->state = SP_LINE_START;
                break;
            }

            s->pend_colon = 1;
            s->pend_tildes = s->tildes;
            s->tildes = 0;
            s->state = SP_MID;
            break;
        }
    }

done:

    *consumed = i;
    *len = o;

    return CONFER_PAD_OK;
}


confer_pad_rc_t
confer_pad_strip_finish(confer_pad_strip_t *s, uint8_t *out, size_t cap,
    size_t *len)
{
    size_t  held, consumed;

    if (s == NULL || len == NULL) {
        return CONFER_PAD_ERR_ARG;
    }

    held = confer_pad_strip_held(s);
    *len = held;

    if (held == 0) {
        return CONFER_PAD_OK;
    }

    if (out == NULL || cap < held) {
        return CONFER_PAD_ERR_SPACE;
    }

    if (s->state == SP_COLON || s->state == SP_TILDES) {
        /* pend_* can only be set in SP_MID */
        s->pend_colon = 1;
        s->pend_tildes = s->tildes;
        s->tildes = 0;
        s->state = SP_MID;
    }

    return confer_pad_strip(s, NULL, 0, &consumed, out, cap, len);
}
