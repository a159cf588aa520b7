/*
 * libFuzzer harness: SSE padding and its stripper (confer_pad).  Input: an
 * option byte, then an event stream.  Checks, aborting on failure:
 *   - the stripper fed in pieces, with small output buffers, equals the
 *     whole-input reference;
 *   - the stream padded read by read (reads cut where the option byte
 *     says) puts every chunk on the quantum, means the same to an SSE
 *     parser, and strips back to what the reference strips.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/sse_ref.h"
#include "confer_pad.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
fail(const char *what)
{
    fprintf(stderr, "%s\n", what);
    abort();
}


/* strips p in pieces of piece bytes into a buffer of outcap bytes */
static size_t
strip_pieces(const uint8_t *p, size_t n, size_t piece, size_t outcap,
    uint8_t *got)
{
    size_t              i, k, end, used, len, glen;
    uint8_t            *out;
    confer_pad_strip_t  s;

    out = malloc(outcap);
    confer_pad_strip_init(&s);
    glen = 0;

    for (i = 0; i < n; i = end) {
        end = i + piece < n ? i + piece : n;
        k = i;

        do {
            if (confer_pad_strip(&s, p + k, end - k, &used, out, outcap, &len)
                != CONFER_PAD_OK)
            {
                fail("strip failed");
            }
            if (used == 0 && len == 0 && k < end) {
                fail("strip made no progress");
            }
            memcpy(got + glen, out, len);
            glen += len;
            k += used;
        } while (k < end);
    }

    if (confer_pad_strip_finish(&s, out, outcap, &len) == CONFER_PAD_ERR_SPACE)
    {
        free(out);
        out = malloc(len);
        if (confer_pad_strip_finish(&s, out, len, &len) != CONFER_PAD_OK) {
            fail("finish failed with the size it asked for");
        }
    }
    memcpy(got + glen, out, len);
    glen += len;

    free(out);
    return glen;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char           *want, *got;
    size_t          n, i, nc, rlen, glen, plen, bad, chunks, q, *cuts;
    uint8_t        *ref, *out, *padded;
    uint32_t        x;
    const uint8_t  *p;

    static const size_t  quanta[] = { 256, 2, 16, 64, 1, 100, 1000, 4096 };

    if (size < 1 || size > 65536) {
        return 0;
    }

    x = data[0] * 2654435761u + (uint32_t) size;
    q = quanta[data[0] & 7];
    p = data + 1;
    n = size - 1;

    ref = malloc(n + 1);
    out = malloc(n + 1);
    rlen = sse_ref_strip(p, n, ref);

    /* the stripper, whole and in pieces */
    glen = strip_pieces(p, n, n ? n : 1, n + 1, out);
    if (glen != rlen || memcmp(out, ref, rlen) != 0) {
        fail("stripper whole differs from the reference");
    }

    glen = strip_pieces(p, n, 1 + (data[0] >> 3) % 7, 1 + (data[0] >> 5), out);
    if (glen != rlen || memcmp(out, ref, rlen) != 0) {
        fail("stripper in pieces differs from the reference");
    }

    /* the terminator's padding, reads cut where the option byte says */
    cuts = calloc(n + 1, sizeof(size_t));
    nc = 0;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if (x % 7 == 0) {
            cuts[nc++] = i;
        }
    }

    padded = sse_sim_pad(q, (data[0] & 0x40) ? 37 : 0, p, n, cuts, nc, &plen,
                         &bad, &chunks);
    if (bad) {
        fail("a padded chunk is off the quantum");
    }

    want = sse_ref_parse(p, n);
    got = sse_ref_parse(padded, plen);
    if (strcmp(want, got) != 0) {
        fprintf(stderr, "want:\n%s\ngot:\n%s\n", want, got);
        fail("the padded stream means something else");
    }
    free(got);

    free(out);
    out = malloc(plen + 1);
    glen = strip_pieces(padded, plen, 1 + (data[0] >> 2) % 13, 7, out);
    free(ref);
    ref = malloc(plen + 1);
    rlen = sse_ref_strip(padded, plen, ref);
    if (glen != rlen || memcmp(out, ref, rlen) != 0) {
        fail("stripping the padded stream differs from the reference");
    }

    got = sse_ref_parse(out, glen);
    if (strcmp(want, got) != 0) {
        fail("the stripped stream means something else");
    }
    free(got);

    /* a stream with no padding-like line of its own comes back whole */
    if (sse_ref_strip(p, n, ref) == n
        && (glen != n || memcmp(out, p, n) != 0))
    {
        fail("strip(pad(x)) is not x");
    }

    free(want);
    free(cuts);
    free(padded);
    free(ref);
    free(out);

    return 0;
}
