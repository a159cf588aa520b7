/*
 * A replay set of encapsulated keys (RFC 9458, 6.5): has this enc been
 * seen while its key is still honoured?  Fixed memory the caller gives
 * (the terminator puts it in a shared-memory zone and holds the zone's
 * lock around every call), no allocation per entry.  No nginx header.
 *
 * One open-addressing table (linear probing) of 8-byte slots: the top 56
 * bits of a keyed hash of enc (SipHash-2-4, the key drawn when the set is
 * made, so that nobody can choose encs that collide) and an 8-bit
 * generation.  Entries stamped with one end time share a generation, whose
 * end is kept once in the set.  The table is filled to 7/8 at most; when
 * it is full, the entries of ended generations are dropped in one pass
 * (backward-shift deletion: no probe sequence breaks), and if it is still
 * full the caller is told so.  A live entry is never dropped: an evicted
 * enc could be replayed.  Two different encs are taken for one only if 56
 * hash bits agree: with N slots, a check meets about one entry of its own
 * home slot, which agrees with probability N / 2^56, about one check in
 * 10^10 for the default 8 MiB table.
 */

#ifndef CONFER_REPLAY_H
#define CONFER_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#define CONFER_REPLAY_KEY    16      /* SipHash-2-4 key */
#define CONFER_REPLAY_GENS   256     /* tags 1..255; 0 marks an empty slot */


typedef enum {
    CONFER_REPLAY_NEW = 0,           /* first time: recorded */
    CONFER_REPLAY_SEEN,              /* a replay of a live entry */
    CONFER_REPLAY_FULL,              /* no room without dropping live ones */
    CONFER_REPLAY_ERR_LAST
} confer_replay_rc_t;


typedef struct {
    int64_t            expires;      /* entries live while now <= this */
    size_t             count;        /* slots with this tag */
} confer_replay_gen_t;


typedef struct {
    uint8_t              key[CONFER_REPLAY_KEY];
    uint64_t            *slots;
    size_t               nslots;
    size_t               used;       /* entries, live or ended */
    size_t               max_used;   /* 7/8 of nslots */
    unsigned             last_gen;
    uint64_t             sweeps;     /* passes that dropped ended entries */
    confer_replay_gen_t  gens[CONFER_REPLAY_GENS];
} confer_replay_t;


const char *confer_replay_strerror(confer_replay_rc_t rc);

/* slots of memory for a table of size bytes, and the entries they hold */
size_t confer_replay_slots(size_t bytes);
size_t confer_replay_capacity(size_t nslots);

/*
 * Sets up rp over slots[0..nslots) (zeroed here; nslots >= 8, at most
 * 2^32 - 1) with a hash key of CONFER_REPLAY_KEY random bytes.
 */
void confer_replay_init(confer_replay_t *rp, uint64_t *slots, size_t nslots,
    const uint8_t *key);

/*
 * Looks enc (n bytes) up and records it if new, to live until expires
 * (the caller's clock, the same as now's).
 */
confer_replay_rc_t confer_replay_check(confer_replay_t *rp,
    const uint8_t *enc, size_t n, int64_t expires, int64_t now);

#endif /* CONFER_REPLAY_H */
