/* QUIC varints (RFC 9000, 16), as the chunk lengths use them. */

#include "tap.h"
#include "confer_util.h"


int
main(void)
{
    size_t    i, n;
    uint8_t   buf[8];
    uint64_t  v;

    /* RFC 9000, A.1 examples */
    static const struct {
        const char  *hex;
        uint64_t     v;
    } ex[] = {
        { "c2197c5eff14e88c", 151288809941952652ULL },
        { "9d7f3e7d", 494878333 },
        { "7bbd", 15293 },
        { "25", 37 },
    };

    for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
        uint8_t  want[8];
        long     wn;

        wn = tap_unhex(ex[i].hex, want, sizeof(want));
        n = confer_varint_encode(ex[i].v, buf, sizeof(buf));
        is_mem(buf, n, want, (size_t) wn, "encode %llu",
               (unsigned long long) ex[i].v);
        ok(confer_varint_decode(want, (size_t) wn, &v) == (size_t) wn
           && v == ex[i].v, "decode %s", ex[i].hex);
    }

    ok(confer_varint_decode((uint8_t *) "\x40\x25", 2, &v) == 2 && v == 37,
       "a two-byte 37 is read (non-shortest allowed)");
    is_int(confer_varint_decode((uint8_t *) "\x9d\x7f\x3e", 3, &v), 0,
           "a cut varint needs more input");
    is_int(confer_varint_decode(buf, 0, &v), 0, "empty input");
    is_int(confer_varint_size(63), 1, "63 takes one byte");
    is_int(confer_varint_size(64), 2, "64 takes two");
    is_int(confer_varint_size(16383), 2, "16383 takes two");
    is_int(confer_varint_size(16384), 4, "16384 takes four");
    is_int(confer_varint_size(CONFER_VARINT_MAX), 8, "2^62-1 takes eight");
    is_int(confer_varint_size(CONFER_VARINT_MAX + 1), 0, "2^62 is too big");
    is_int(confer_varint_encode(16384, buf, 3), 0, "no room: nothing");

    return done_testing();
}
