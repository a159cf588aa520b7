/*
 * References for the SSE padding tests and fuzzer: a stripper that works
 * on the whole input at once, and a small event-stream parser after the
 * WHATWG HTML standard ("interpret an event stream") whose log of
 * dispatched events tells whether two streams mean the same to a browser
 * or an SDK.  Header-only.
 */

#ifndef CONFER_SSE_REF_H
#define CONFER_SSE_REF_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confer_pad.h"
#include "confer_util.h"


/* removes every ":~+\n" that follows an LF; returns the output length
   (out holds n bytes) */
static inline size_t
sse_ref_strip(const uint8_t *p, size_t n, uint8_t *out)
{
    int     line_start;
    size_t  i, j, o;

    i = 0;
    o = 0;
    line_start = 0;

    while (i < n) {
        if (line_start && p[i] == ':') {
            j = i + 1;
            while (j < n && p[j] == '~') {
                j++;
            }

            if (j > i + 1 && j < n && p[j] == '\n') {
                i = j + 1;
                continue;
            }
        }

        line_start = p[i] == '\n';
        out[o++] = p[i++];
    }

    return o;
}


typedef struct {
    char    *buf;
    size_t   len;
    size_t   cap;
} sse_text_t;


static inline void
sse_text_add(sse_text_t *t, const void *p, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2 + 64;
        t->buf = realloc(t->buf, t->cap);
        if (t->buf == NULL) {
            abort();
        }
    }

    memcpy(t->buf + t->len, p, n);
    t->len += n;
    t->buf[t->len] = '\0';
}


/* one line, without its terminator */
static inline void
sse_ref_line(const uint8_t *l, size_t n, sse_text_t *data, sse_text_t *type,
    sse_text_t *id, sse_text_t *log)
{
    size_t          nl, vl;
    const uint8_t  *colon, *v;

    if (n == 0) {
        /* dispatch */
        if (data->len) {
            sse_text_add(log, "event ", 6);
            if (type->len) {
                sse_text_add(log, type->buf, type->len);
            } else {
                sse_text_add(log, "message", 7);
            }
            sse_text_add(log, " id ", 4);
            sse_text_add(log, id->buf ? id->buf : "", id->len);
            sse_text_add(log, " data ", 6);
            sse_text_add(log, data->buf, data->len - 1);
            sse_text_add(log, "\n", 1);
        }
        data->len = 0;
        type->len = 0;
        return;
    }

    if (l[0] == ':') {
        return;
    }

    colon = memchr(l, ':', n);
    if (colon) {
        nl = (size_t) (colon - l);
        v = colon + 1;
        vl = n - nl - 1;
        if (vl && v[0] == ' ') {
            v++;
            vl--;
        }

    } else {
        nl = n;
        v = l + n;
        vl = 0;
    }

    if (nl == 5 && memcmp(l, "event", 5) == 0) {
        type->len = 0;
        sse_text_add(type, v, vl);

    } else if (nl == 4 && memcmp(l, "data", 4) == 0) {
        sse_text_add(data, v, vl);
        sse_text_add(data, "\n", 1);

    } else if (nl == 2 && memcmp(l, "id", 2) == 0) {
        if (memchr(v, '\0', vl) == NULL) {
            id->len = 0;
            sse_text_add(id, v, vl);
        }

    } else if (nl == 5 && memcmp(l, "retry", 5) == 0) {
        sse_text_add(log, "retry ", 6);
        sse_text_add(log, v, vl);
        sse_text_add(log, "\n", 1);
    }
}


/* the events a parser dispatches for the whole stream; free the result */
static inline char *
sse_ref_parse(const uint8_t *p, size_t n)
{
    size_t      i, start;
    sse_text_t  data, type, id, log;

    memset(&data, 0, sizeof(data));
    memset(&type, 0, sizeof(type));
    memset(&id, 0, sizeof(id));
    memset(&log, 0, sizeof(log));
    sse_text_add(&log, "", 0);

    i = 0;

    /* a leading byte order mark is dropped */
    if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
        i = 3;
    }

    start = i;

    while (i < n) {
        if (p[i] == '\n' || p[i] == '\r') {
            sse_ref_line(p + start, i - start, &data, &type, &id, &log);
            if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') {
                i++;
            }
            start = ++i;
            continue;
        }
        i++;
    }

    /* an unterminated last line, and an undispatched event, are dropped */

    free(data.buf);
    free(type.buf);
    free(id.buf);

    return log.buf;
}


/*
 * The terminator's side: the stream p[0..n) arrives in reads that end at
 * cuts[] and then n; each read is padded and goes out as one chunk, a read
 * with no line start is held and sent with the next one, and the last read
 * goes out unpadded if it has none (it would travel in the final chunk,
 * padded by BHTTP padding).  extra: other plaintext in the first chunk.
 * Returns the padded stream (*outlen bytes; free it) and counts the chunks
 * whose wire size is not a multiple of quantum in *bad (the last excepted
 * if it went unpadded).
 */
static inline uint8_t *
sse_sim_pad(size_t quantum, size_t extra, const uint8_t *p, size_t n,
    const size_t *cuts, size_t ncuts, size_t *outlen, size_t *bad,
    size_t *nchunks)
{
    int               last;
    size_t            k, from, to, at, pad, len, cap, o, x;
    uint8_t          *out;
    confer_pad_rc_t   rc;
    confer_pad_sse_t  s;

    confer_pad_sse_init(&s, quantum);
    cap = n + (ncuts + 1) * (quantum + 64) + 64;
    out = malloc(cap);
    if (out == NULL) {
        abort();
    }

    o = 0;
    from = 0;
    *bad = 0;
    *nchunks = 0;
    x = extra;

    for (k = 0; k <= ncuts; k++) {
        to = (k < ncuts) ? cuts[k] : n;
        if (to < from) {
            to = from;
        }
        last = (k == ncuts);

        if (to == from && !last) {
            continue;
        }

        rc = confer_pad_sse_plan(&s, x, p + from, to - from, &at, &pad);

        if (rc == CONFER_PAD_NO_LINE_START && !last) {
            continue;           /* hold it: from stays */
        }

        if (rc != CONFER_PAD_OK && rc != CONFER_PAD_NO_LINE_START) {
            (*bad)++;
            pad = 0;
            at = 0;
        }

        rc = confer_pad_sse_write(&s, p + from, to - from, at, pad, out + o,
                                  cap - o, &len);
        if (rc != CONFER_PAD_OK) {
            abort();
        }

        if ((pad || to > from || !last) && quantum > 1
            && confer_pad_chunk_wire(x + (len ? confer_varint_size(len) + len
                                              : 0)) % quantum != 0
            && !(last && pad == 0))
        {
            (*bad)++;
        }

        (*nchunks)++;
        o += len;
        from = to;
        x = 0;
    }

    *outlen = o;
    return out;
}

#endif /* CONFER_SSE_REF_H */
