/*
 * QUIC variable-length integers, RFC 9000, 16: the two top bits of the
 * first byte give the length (1, 2, 4, 8), the rest is the value.
 */

#include "confer_util.h"


size_t
confer_varint_size(uint64_t v)
{
    if (v < 0x40) {
        return 1;
    }

    if (v < 0x4000) {
        return 2;
    }

    if (v < 0x40000000) {
        return 4;
    }

    if (v <= CONFER_VARINT_MAX) {
        return 8;
    }

    return 0;
}


size_t
confer_varint_encode(uint64_t v, uint8_t *out, size_t cap)
{
    size_t  len, i;

    len = confer_varint_size(v);
    if (len == 0 || len > cap) {
        return 0;
    }

    for (i = len; i > 0; i--) {
        out[i - 1] = (uint8_t) v;
        v >>= 8;
    }

    /* RFC 9000, 16: 00, 01, 10, 11 for 1, 2, 4, 8 bytes */
    out[0] |= (uint8_t) ((len == 1 ? 0 : len == 2 ? 1 : len == 4 ? 2 : 3)
                         << 6);

    return len;
}


size_t
confer_varint_decode(const uint8_t *p, size_t n, uint64_t *v)
{
    size_t    len, i;
    uint64_t  r;

    if (n == 0) {
        return 0;
    }

    len = confer_varint_len(p[0]);
    if (n < len) {
        return 0;
    }

    r = p[0] & 0x3f;
    for (i = 1; i < len; i++) {
        r = (r << 8) | p[i];
    }

    *v = r;

    return len;
}
