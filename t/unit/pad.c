/*
 * Length padding: the buckets are what confer_pad.h promises; every padded
 * SSE chunk lands on the quantum with the smallest comment line that does;
 * padding never changes what an SSE parser sees; the gateway's stripper
 * gives back the model server's bytes exactly, however the stream is cut.
 */

#include "tap.h"
#include "sse_ref.h"
#include "confer_bhttp.h"
#include "confer_pad.h"


static uint64_t  rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}


#define B(s)  (const uint8_t *) (s), sizeof(s) - 1


/* wire size of a padded read of d bytes, as the brief defines it */
static size_t
wire(size_t extra, size_t d)
{
    return confer_pad_chunk_wire(extra + confer_bhttp_chunk_size(d));
}


static void
test_buckets(void)
{
    size_t  i, bad;

    is_int(confer_pad_bucket(0), 256, "bucket: 0 bytes -> 256");
    is_int(confer_pad_bucket(1), 256, "bucket: 1 -> 256");
    is_int(confer_pad_bucket(256), 256, "bucket: 256 -> 256");
    is_int(confer_pad_bucket(257), 512, "bucket: 257 -> 512");
    is_int(confer_pad_bucket(1000), 1024, "bucket: 1000 -> 1024");
    is_int(confer_pad_bucket(65536), 65536, "bucket: 64 KiB -> 64 KiB");
    is_int(confer_pad_bucket(65537), 131072, "bucket: 64 KiB + 1 -> 128 KiB");
    is_int(confer_pad_bucket(131073), 196608,
           "bucket: 128 KiB + 1 -> 192 KiB (linear above 64 KiB)");
    is_int(confer_pad_bucket(SIZE_MAX), SIZE_MAX,
           "bucket: no overflow at SIZE_MAX");
    is_int(confer_pad_bucket_padding(300), 212, "padding: 300 -> 212");

    bad = 0;
    for (i = 0; i < 300000; i += 1 + (size_t) (rng() % 97)) {
        if (confer_pad_bucket(i) < i
            || confer_pad_bucket(confer_pad_bucket(i)) != confer_pad_bucket(i)
            || (i > 256 && i <= 65536
                && confer_pad_bucket(i) >= 2 * i)
            || (i > 65536 && confer_pad_bucket(i) - i >= 65536))
        {
            bad++;
        }
    }
    is_int(bad, 0, "buckets hold n, are fixed points, cost < 2x or < 64 KiB");
}


static void
test_chunk_sizes(void)
{
    is_int(confer_pad_chunk_wire(0), 17, "wire: empty plaintext, tag only");
    is_int(confer_pad_chunk_wire(47), 64, "wire: ciphertext 63, 1-byte len");
    is_int(confer_pad_chunk_wire(48), 66, "wire: ciphertext 64, 2-byte len");
    is_int(confer_pad_final_padding(3, 256), 236,
           "final chunk of 0140c8 (RFC 9458 A) pads to 256");
    is_int((1 + 3 + 236 + 16) % 256, 0, "  which is 256 on the wire");
    is_int(confer_pad_final_padding(3, 0), 0, "quantum 0: no padding");
}


static void
test_plan(void)
{
    size_t            q, n, extra, at, pad, alt, k, bad, minimal;
    size_t            quanta[] = { 256, 64, 2, 1000, 16384 };
    size_t            extras[] = { 0, 5, 100 };
    confer_pad_rc_t   rc;
    confer_pad_sse_t  s;
    uint8_t           buf[70000];

    memset(buf, 'x', sizeof(buf));
    bad = 0;
    minimal = 0;

    for (q = 0; q < sizeof(quanta) / sizeof(quanta[0]); q++) {
        for (k = 0; k < 3; k++) {
            extra = extras[k];

            for (n = 0; n < 20000; n += (n < 300 || (n > 16200 && n < 16500))
                                         ? 1 : 37)
            {
                confer_pad_sse_init(&s, quanta[q]);
                confer_pad_sse_sent(&s, B("\n"));
                rc = confer_pad_sse_plan(&s, extra, buf, n, &at, &pad);

                if (rc != CONFER_PAD_OK || at != 0 || pad == 1 || pad == 2
                    || wire(extra, n + pad) % quanta[q] != 0)
                {
                    if (bad++ < 5) {
                        diag("q %zu extra %zu n %zu: rc %d at %zu pad %zu",
                             quanta[q], extra, n, rc, at, pad);
                    }
                    continue;
                }

                /* no smaller comment line would do */
                for (alt = 0; alt < pad; alt++) {
                    if (alt != 1 && alt != 2
                        && wire(extra, n + alt) % quanta[q] == 0)
                    {
                        if (minimal++ < 5) {
                            diag("q %zu n %zu: %zu would do, not %zu",
                                 quanta[q], n, alt, pad);
                        }
                        break;
                    }
                }
            }
        }
    }

    is_int(bad, 0, "every read lands on the quantum (256, 64, 2, 1000, "
           "16384; varint lengths change at 64 and 16384)");
    is_int(minimal, 0, "with the smallest comment line that does");
}


static void
test_sse_examples(void)
{
    uint8_t           out[1024];
    size_t            at, pad, len;
    confer_pad_rc_t   rc;
    confer_pad_sse_t  s;

    /* a 16-byte event: chunk 1 + 16, ciphertext 33, wire 34; to reach 256
       the data grows to 236 (2-byte length), so the line is 220 bytes */
    confer_pad_sse_init(&s, 256);
    rc = confer_pad_sse(&s, 0, B("data: {\"x\":12}\n\n"), out, sizeof(out),
                        &len);
    ok(rc == CONFER_PAD_OK && len == 236, "a 16-byte event pads to 236");
    ok(memcmp(out, "data: {\"x\":12}\n:~", 17) == 0 && out[233] == '~'
       && out[234] == '\n' && out[235] == '\n',
       "with a comment line :~...~ after its first LF (stream start)");
    is_int(wire(0, len), 256, "and 256 bytes on the wire");

    rc = confer_pad_sse(&s, 0, B("data: 2\n\n"), out, sizeof(out), &len);
    ok(rc == CONFER_PAD_OK && out[0] == ':' && out[len - 10] == '\n'
       && memcmp(out + len - 9, "data: 2\n\n", 9) == 0,
       "the next read, after an LF: at its start");

    confer_pad_sse_init(&s, 256);
    rc = confer_pad_sse_plan(&s, 0, B("\xef\xbb\xbf" "data: a\n\n"), &at,
                             &pad);
    ok(rc == CONFER_PAD_OK && at == 11,
       "a stream that starts with a BOM: after the first LF, BOM first");

    confer_pad_sse_init(&s, 256);
    confer_pad_sse_sent(&s, B("data: abc"));
    rc = confer_pad_sse_plan(&s, 0, B("def\n\ndata: x\n\n"), &at, &pad);
    ok(rc == CONFER_PAD_OK && at == 4,
       "a read that begins mid-line: after its first LF");

    confer_pad_sse_init(&s, 256);
    confer_pad_sse_sent(&s, B("data: abc\r"));
    rc = confer_pad_sse_plan(&s, 0, B("\ndata: x\r\n\r\n"), &at, &pad);
    ok(rc == CONFER_PAD_OK && at == 1,
       "after a CR that ended the last read: after the LF that follows");

    confer_pad_sse_init(&s, 256);
    confer_pad_sse_sent(&s, B("data: abc"));
    rc = confer_pad_sse_plan(&s, 0, B("defghi"), &at, &pad);
    is_int(rc, CONFER_PAD_NO_LINE_START,
           "a piece of a line with no LF: no safe place");
    rc = confer_pad_sse(&s, 0, B("defghi"), out, sizeof(out), &len);
    ok(rc == CONFER_PAD_NO_LINE_START && len == 6
       && memcmp(out, "defghi", 6) == 0,
       "  and confer_pad_sse sends it as it is, saying so");

    confer_pad_sse_init(&s, 256);
    rc = confer_pad_sse(&s, 0, B("data: x\n\n"), out, 10, &len);
    ok(rc == CONFER_PAD_ERR_SPACE && len > 10,
       "a small output buffer: no_space and the size needed");

    confer_pad_sse_init(&s, 0);
    rc = confer_pad_sse(&s, 0, B("data: x\n\n"), out, sizeof(out), &len);
    ok(rc == CONFER_PAD_OK && len == 9, "quantum 0: nothing added");
}


/* strips p cut at every offset in pieces of piece bytes with an output
   buffer of outcap bytes; the result must equal the reference */
static int
strip_split(const uint8_t *p, size_t n, size_t piece, size_t outcap,
    uint8_t *got, size_t *glen)
{
    size_t              i, k, used, len, end;
    uint8_t            *out;
    confer_pad_strip_t  s;

    out = malloc(outcap);
    confer_pad_strip_init(&s);
    *glen = 0;

    for (i = 0; i < n; i = end) {
        end = i + piece < n ? i + piece : n;
        k = i;

        while (k < end || confer_pad_strip_held(&s) > 0) {
            if (confer_pad_strip(&s, p + k, end - k, &used, out, outcap, &len)
                != CONFER_PAD_OK)
            {
                free(out);
                return 0;
            }
            memcpy(got + *glen, out, len);
            *glen += len;
            k += used;
            if (used == 0 && len == 0) {
                break;
            }
        }
    }

    while (confer_pad_strip_finish(&s, out, outcap, &len)
           == CONFER_PAD_ERR_SPACE)
    {
        /* the caller must offer what finish asks for */
        free(out);
        outcap = len;
        out = malloc(outcap);
    }
    memcpy(got + *glen, out, len);
    *glen += len;

    free(out);
    return 1;
}


static void
test_strip_examples(void)
{
    size_t   i, k, glen, rlen, bad;
    uint8_t  got[256], ref[256];

    static const struct {
        const char  *in;
        const char  *out;
        const char  *what;
    } cases[] = {
        { ":~~~\ndata: a\n\n", ":~~~\ndata: a\n\n",
          "the stream start is not ours: stays" },
        { "data: a\n:~\n\n", "data: a\n\n", "after an LF" },
        { "\n:~\n:~~\n", "\n", "two in a row" },
        { ": ping\n", ": ping\n", "other comments stay" },
        { ":\n", ":\n", "an empty comment stays" },
        { "::~\n", "::~\n", "::~ is not padding" },
        { ":~~ \n", ":~~ \n", "a space before the LF: not padding" },
        { ":~x~\n", ":~x~\n", "anything but tildes: not padding" },
        { ":~~\r\n", ":~~\r\n", "CR LF: not ours, stays" },
        { "data: x:~~\n", "data: x:~~\n", "mid-line: stays" },
        { "x\r:~\n", "x\r:~\n", "after a CR: stays (see confer_pad.h)" },
        { "data: a\n:~~", "data: a\n:~~", "an unterminated one stays" },
        { "data: a\n:", "data: a\n:", "a lone colon at the end stays" },
        { "~~\n:~~~~~~~~~~~~~~\nz", "~~\nz", "a long one" }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const uint8_t  *in = (const uint8_t *) cases[i].in;
        size_t          n = strlen(cases[i].in);

        rlen = sse_ref_strip(in, n, ref);
        is_mem(ref, rlen, cases[i].out, strlen(cases[i].out),
               "reference strip: %s", cases[i].what);

        bad = 0;
        for (k = 1; k <= n + 1; k++) {
            if (!strip_split(in, n, k, 1 + (k % 3), got, &glen)
                || glen != rlen || memcmp(got, ref, rlen) != 0)
            {
                bad++;
            }
        }
        is_int(bad, 0, "stripper, in pieces of every size, tiny output: %s",
               cases[i].what);
    }
}


/* a random event stream as model servers (and odd ones) write it */
static size_t
random_stream(uint8_t *p, size_t cap)
{
    size_t       n, k, j, len;
    const char  *eol, *x;

    static const char  *eols[] = { "\n", "\n", "\n", "\r\n", "\r" };
    static const char  *extras[] = {
        ": ping", ":", ":~~", ":~", "event: delta", "id: 7", "retry: 10",
        "data", "data:", "data:  two spaces", ":~~ x", "~~~"
    };

    n = 0;

    if (rng() % 10 == 0) {
        memcpy(p, "\xef\xbb\xbf", 3);
        n = 3;
    }

    for (k = rng() % 12; k > 0 && n + 1200 < cap; k--) {
        eol = eols[rng() % 5];

        for (j = rng() % 3; j > 0; j--) {
            x = extras[rng() % 12];
            memcpy(p + n, x, strlen(x));
            n += strlen(x);
            memcpy(p + n, eol, strlen(eol));
            n += strlen(eol);
        }

        /* one to three data lines, then the empty line that dispatches */
        for (j = 1 + rng() % 3; j > 0; j--) {
            memcpy(p + n, "data: ", 6);
            n += 6;
            len = (rng() % 4 == 0) ? rng() % 300 : rng() % 40;
            while (len--) {
                p[n++] = "abc {}\":~,xyz0123"[rng() % 17];
            }
            memcpy(p + n, eol, strlen(eol));
            n += strlen(eol);
        }

        memcpy(p + n, eol, strlen(eol));
        n += strlen(eol);
    }

    return n;
}


static void
test_sse_roundtrip(void)
{
    int       round, fails[5];
    char     *want, *got;
    size_t    n, i, nc, cuts[64], plen, bad, glen, rlen, chunks, q, total;
    uint8_t   p[8192], *padded, *stripped, *ref;

    memset(fails, 0, sizeof(fails));
    total = 0;

    for (round = 0; round < 1500; round++) {
        n = random_stream(p, sizeof(p));
        q = (round % 3 == 0) ? 64 : 256;

        nc = 0;
        for (i = 0; i < 64 && n; i++) {
            /* often right after a CR or an LF */
            cuts[nc] = rng() % n;
            if (rng() % 2 && (p[cuts[nc]] == '\r' || p[cuts[nc]] == '\n')) {
                cuts[nc]++;
            }
            if (nc == 0 || cuts[nc] >= cuts[nc - 1]) {
                nc++;
            }
        }

        padded = sse_sim_pad(q, round % 2 ? 0 : 40, p, n, cuts, nc, &plen,
                             &bad, &chunks);
        total += chunks;

        want = sse_ref_parse(p, n);
        got = sse_ref_parse(padded, plen);
        if (strcmp(want, got) != 0) {
            if (fails[0]++ == 0) {
                diag("round %d: padded stream parses differently", round);
            }
        }
        free(got);

        if (bad) {
            if (fails[1]++ == 0) {
                diag("round %d: %zu chunks off the quantum", round, bad);
            }
        }

        stripped = malloc(plen + 1);
        ref = malloc(plen + 1);
        rlen = sse_ref_strip(padded, plen, ref);
        strip_split(padded, plen, 1 + rng() % 40, 1 + rng() % 50, stripped,
                    &glen);
        if (glen != rlen || memcmp(stripped, ref, rlen) != 0) {
            if (fails[2]++ == 0) {
                diag("round %d: stripper differs from the reference", round);
            }
        }

        got = sse_ref_parse(stripped, glen);
        if (strcmp(want, got) != 0) {
            if (fails[3]++ == 0) {
                diag("round %d: stripped stream parses differently", round);
            }
        }
        free(got);

        /* a stream with no padding-like line of its own comes back whole */
        rlen = sse_ref_strip(p, n, ref);
        if (rlen == n && (glen != n || memcmp(stripped, p, n) != 0)) {
            if (fails[4]++ == 0) {
                diag("round %d: not the model server's bytes", round);
            }
        }

        free(want);
        free(stripped);
        free(ref);
        free(padded);
    }

    diag("%zu chunks padded in 1500 random streams", total);
    is_int(fails[0], 0, "padding never changes the events a parser sees");
    is_int(fails[1], 0, "every chunk but an unpaddable last is on the quantum");
    is_int(fails[2], 0, "the stripper equals the whole-input reference");
    is_int(fails[3], 0, "stripping never changes the events either");
    is_int(fails[4], 0, "strip(pad(x)) is x, byte for byte");
}


static void
test_strerror(void)
{
    int  i, j, dup;

    dup = 0;
    for (i = 0; i < CONFER_PAD_ERR_LAST; i++) {
        for (j = i + 1; j < CONFER_PAD_ERR_LAST; j++) {
            dup += strcmp(confer_pad_strerror(i), confer_pad_strerror(j)) == 0;
        }
        dup += strcmp(confer_pad_strerror(i), "unknown") == 0;
    }
    is_int(dup, 0, "every result code has its own name");
}


int
main(void)
{
    test_buckets();
    test_chunk_sizes();
    test_plan();
    test_sse_examples();
    test_strip_examples();
    test_sse_roundtrip();
    test_strerror();

    return done_testing();
}
