/*
 * Bench section "bhttp": the price of BHTTP framing and length padding,
 * each figure a ratio against a baseline measured in the same run.  Prints
 * one JSON object per line, the form the bench runner collects.
 *
 *   sse_pad_bytes      wire bytes of a padded token stream (quantum 256)
 *                      over the same stream unpadded
 *   request_pad_bytes  wire bytes of bucket-padded chat requests over
 *                      unpadded ones
 *   gateway_cpu        decoding the streamed BHTTP response and stripping
 *                      its padding, over copying the same bytes
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confer_bhttp.h"
#include "confer_pad.h"
#include "bench.h"


#define EVENTS  2000


/* an OpenAI-style chat.completion.chunk event carrying one token */
static size_t
token_event(char *out, size_t cap, unsigned i)
{
    static const char  *tokens[] = { "The", " quick", " brown", " fox", ",",
                                     " jumps", " over", " the", " lazy",
                                     " dog", ".", "\\n" };

    return (size_t) snprintf(out, cap,
        "data: {\"id\":\"chatcmpl-%08u\",\"object\":\"chat.completion.chunk\","
        "\"created\":1760000000,\"model\":\"m\",\"choices\":[{\"index\":0,"
        "\"delta\":{\"content\":\"%s\"},\"finish_reason\":null}]}\n\n",
        i % 100000000u, tokens[i % 12]);
}


int
main(void)
{
    char                    ev[512];
    size_t                  i, n, len, used, plain, padded, total, off, k;
    size_t                  req_plain, req_padded;
    uint8_t                *stream, *copy, *out, scratch[4096];
    double                  t0, t_copy, t_gw;
    unsigned                round;
    confer_pad_sse_t        ps;
    confer_pad_strip_t      st;
    confer_bhttp_stream_t   bs;
    confer_bhttp_event_t    e;
    confer_bhttp_decoder_t  d;

    /* 1. SSE padding: one read per token event */
    confer_pad_sse_init(&ps, CONFER_PAD_QUANTUM_DEFAULT);
    confer_pad_sse_sent(&ps, (const uint8_t *) "\n", 1);
    out = malloc(4096);
    plain = 0;
    padded = 0;

    for (i = 0; i < EVENTS; i++) {
        n = token_event(ev, sizeof(ev), (unsigned) i);
        plain += confer_pad_chunk_wire(confer_bhttp_chunk_size(n));
        confer_pad_sse(&ps, 0, (const uint8_t *) ev, n, out, 4096, &len);
        padded += confer_pad_chunk_wire(confer_bhttp_chunk_size(len));
    }

    bench_emit("bhttp", "sse_pad_bytes", (double) padded / plain, "ratio",
               "<= 2.0", (double) padded / plain <= 2.0,
               "wire bytes of 2000 padded token events (quantum 256) over "
               "unpadded");

    /* 2. whole requests padded to their bucket, 200 B to 32 KiB */
    req_plain = 0;
    req_padded = 0;
    for (n = 200; n <= 32768; n = n * 9 / 8 + 1) {
        req_plain += n;
        req_padded += confer_pad_bucket(n);
    }

    bench_emit("bhttp", "request_pad_bytes",
               (double) req_padded / req_plain, "ratio", "<= 1.5",
               (double) req_padded / req_plain <= 1.5,
               "bucket-padded over unpadded BHTTP request sizes, 200 B to "
               "32 KiB in 12% steps");

    /* 3. the gateway's CPU per streamed byte: decode + strip vs memcpy */
    stream = malloc(EVENTS * 600 + 1024);
    confer_bhttp_stream_init(&bs);
    confer_pad_sse_init(&ps, CONFER_PAD_QUANTUM_DEFAULT);
    confer_bhttp_stream_begin(&bs, 200, NULL, 0, stream, 1024, &total);

    for (i = 0; i < EVENTS; i++) {
        n = token_event(ev, sizeof(ev), (unsigned) i);
        confer_pad_sse(&ps, 0, (const uint8_t *) ev, n, out, 4096, &len);
        confer_bhttp_stream_content(&bs, out, len, stream + total, 1024, &k);
        total += k;
    }
    confer_bhttp_stream_end(&bs, NULL, 0, 0, stream + total, 1024, &k);
    total += k;

    copy = malloc(total);
    t_copy = 0;
    t_gw = 0;

    for (round = 0; round < 50; round++) {
        t0 = bench_now();
        for (off = 0; off < total; off += 256) {
            k = total - off < 256 ? total - off : 256;
            memcpy(copy + off, stream + off, k);
        }
        t_copy += bench_now() - t0;

        t0 = bench_now();
        confer_bhttp_decoder_init(&d, 1, scratch, sizeof(scratch), NULL);
        confer_pad_strip_init(&st);
        for (off = 0; off < total; off += 256) {
            k = total - off < 256 ? total - off : 256;
            n = 0;
            while (confer_bhttp_next(&d, stream + off + n, k - n,
                                     off + k == total, &used, &e)
                   == CONFER_BHTTP_OK)
            {
                n += used;
                if (e.type == CONFER_BHTTP_EV_CONTENT) {
                    confer_pad_strip(&st, e.data, e.len, &used, copy, total,
                                     &len);
                }
            }
        }
        t_gw += bench_now() - t0;
    }

    if (copy[0] == 0xff) {
        printf("#\n");         /* keep the copies */
    }

    bench_emit("bhttp", "gateway_cpu", t_copy > 0 ? t_gw / t_copy : 0,
               "ratio", "informational", -1,
               "time to decode a streamed BHTTP response and strip its SSE "
               "padding, in 256-byte pieces, over memcpy of the same bytes");

    free(stream);
    free(copy);
    free(out);

    return 0;
}
