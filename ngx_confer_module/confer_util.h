/*
 * Small helpers shared by the nginx-free core: QUIC variable-length
 * integers (RFC 9000, 16) and network-order integers.  No nginx header.
 */

#ifndef CONFER_UTIL_H
#define CONFER_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* largest value a QUIC varint can carry: 2^62 - 1 */
#define CONFER_VARINT_MAX  0x3fffffffffffffffULL


/* bytes needed to encode v (1, 2, 4 or 8); 0 if v > CONFER_VARINT_MAX */
size_t confer_varint_size(uint64_t v);

/*
 * Writes v in its shortest form; returns the bytes written, or 0 if cap is
 * too small or v is out of range.
 */
size_t confer_varint_encode(uint64_t v, uint8_t *out, size_t cap);

/*
 * Reads one varint from (p, n).  Returns the bytes it took (1..8), 0 if
 * (p, n) ends before the varint does.  Non-shortest encodings are accepted,
 * as RFC 9000 allows.
 */
size_t confer_varint_decode(const uint8_t *p, size_t n, uint64_t *v);

/* length of a varint from its first byte (1, 2, 4 or 8) */
#define confer_varint_len(b)  ((size_t) 1 << ((b) >> 6))

#define confer_put16(p, v)                                                    \
    ((p)[0] = (uint8_t) ((v) >> 8), (p)[1] = (uint8_t) (v))

#define confer_get16(p)  ((uint16_t) (((uint16_t) (p)[0] << 8) | (p)[1]))

#endif /* CONFER_UTIL_H */
