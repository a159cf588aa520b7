/*
 * A replay set of encapsulated keys (RFC 9458, 6.5) in fixed memory: an
 * open-addressing table of hashed encs tagged with their generation.
 */

#include <string.h>

#include <sodium.h>

#include "confer_replay.h"


#define CONFER_REPLAY_TAG  ((uint64_t) 0xff)


static size_t confer_replay_home(const confer_replay_t *rp, uint64_t slot);
static size_t confer_replay_next(const confer_replay_t *rp, size_t i);
static unsigned confer_replay_gen(confer_replay_t *rp, int64_t expires,
    int64_t now);
static int confer_replay_ended(const confer_replay_t *rp, int64_t now);
static void confer_replay_sweep(confer_replay_t *rp, int64_t now);
static void confer_replay_delete(confer_replay_t *rp, size_t i);
static size_t confer_replay_free_slot(const confer_replay_t *rp,
    uint64_t h);


static const char  *confer_replay_names[] = {
    "new",
    "seen",
    "full"
};


const char *
confer_replay_strerror(confer_replay_rc_t rc)
{
    if ((unsigned) rc >= CONFER_REPLAY_ERR_LAST) {
        return "unknown";
    }

    return confer_replay_names[rc];
}


size_t
confer_replay_slots(size_t bytes)
{
    size_t  n;

    n = bytes / sizeof(uint64_t);

    return n > 0xffffffff ? 0xffffffff : n;
}


size_t
confer_replay_capacity(size_t nslots)
{
    /* at least one slot stays empty: every probe sequence ends */
    return nslots - (nslots / 8 > 1 ? nslots / 8 : 1);
}


void
confer_replay_init(confer_replay_t *rp, uint64_t *slots, size_t nslots,
    const uint8_t *key)
{
    memset(rp, 0, sizeof(*rp));
    memcpy(rp->key, key, CONFER_REPLAY_KEY);

    rp->slots = slots;
    rp->nslots = nslots;
    rp->max_used = confer_replay_capacity(nslots);

    memset(slots, 0, nslots * sizeof(uint64_t));
}


/* the slot a hash starts probing at: from its top 32 bits, kept in slots */
static size_t
confer_replay_home(const confer_replay_t *rp, uint64_t h)
{
    return (size_t) (((h >> 32) * (uint64_t) rp->nslots) >> 32);
}


static size_t
confer_replay_next(const confer_replay_t *rp, size_t i)
{
    return i + 1 == rp->nslots ? 0 : i + 1;
}


/*
 * The tag for entries ending at expires; 0 if no tag is free but an ended
 * generation holds one (a sweep frees it)
 */
static unsigned
confer_replay_gen(confer_replay_t *rp, int64_t expires, int64_t now)
{
    int                   ended;
    unsigned              i, free, latest;
    confer_replay_gen_t  *g;

    g = rp->gens;

    if (rp->last_gen && g[rp->last_gen].expires == expires) {
        return rp->last_gen;
    }

    ended = 0;
    free = 0;
    latest = 0;

    for (i = 1; i < CONFER_REPLAY_GENS; i++) {

        if (g[i].count && g[i].expires == expires) {
            rp->last_gen = i;
            return i;
        }

        if (g[i].count == 0) {
            if (free == 0) {
                free = i;
            }

        } else if (g[i].expires < now) {
            ended = 1;

        } else if (latest == 0 || g[i].expires > g[latest].expires) {
            latest = i;
        }
    }

    if (free) {
        g[free].expires = expires;
        rp->last_gen = free;
        return free;
    }

    if (ended) {
        return 0;
    }

    /*
     * 255 end times at once (reloads in a loop), none ended: the new
     * entries join the generation that lives longest, made to live at
     * least as long as they must; keeping an entry longer is safe
     */
    if (latest) {
        if (g[latest].expires < expires) {
            g[latest].expires = expires;
        }

        rp->last_gen = latest;
    }

    return latest;
}


static int
confer_replay_ended(const confer_replay_t *rp, int64_t now)
{
    unsigned  i;

    for (i = 1; i < CONFER_REPLAY_GENS; i++) {
        if (rp->gens[i].count && rp->gens[i].expires < now) {
            return 1;
        }
    }

    return 0;
}


/*
 * Removes slot i and moves later entries of its cluster back into the
 * hole where their probe sequence allows (backward-shift deletion for
 * linear probing, Knuth's Algorithm R): every entry stays reachable from
 * its home without crossing an empty slot.
 */
static void
confer_replay_delete(confer_replay_t *rp, size_t i)
{
    size_t    hole, j, home;
    uint64_t  s;

    rp->gens[rp->slots[i] & CONFER_REPLAY_TAG].count--;
    rp->used--;

    hole = i;
    j = i;

    for ( ;; ) {
        j = confer_replay_next(rp, j);
        s = rp->slots[j];

        if (s == 0) {
            break;
        }

        home = confer_replay_home(rp, s);

        /* an entry whose home lies in (hole, j] cannot move before it */
        if (hole <= j ? (home > hole && home <= j)
                      : (home > hole || home <= j))
        {
            continue;
        }

        rp->slots[hole] = s;
        hole = j;
    }

    rp->slots[hole] = 0;
}


/*
 * Drops every entry of an ended generation.  The pass starts after an
 * empty slot, which no cluster crosses: entries move backwards within
 * their cluster, into the slot being looked at or later ones, so nothing
 * already passed changes and every ended entry is met.
 */
static void
confer_replay_sweep(confer_replay_t *rp, int64_t now)
{
    size_t    start, k, i;
    uint64_t  s;

    for (start = 0; rp->slots[start] != 0; start++) { /* void */ }

    i = start;

    for (k = 1; k < rp->nslots; k++) {
        i = confer_replay_next(rp, i);

        for ( ;; ) {
            s = rp->slots[i];

            if (s == 0 || rp->gens[s & CONFER_REPLAY_TAG].expires >= now) {
                break;
            }

            confer_replay_delete(rp, i);
        }
    }

    rp->sweeps++;
}


static size_t
confer_replay_free_slot(const confer_replay_t *rp, uint64_t h)
{
    size_t  i;

    for (i = confer_replay_home(rp, h); rp->slots[i] != 0;
         i = confer_replay_next(rp, i))
    { /* void */ }

    return i;
}


confer_replay_rc_t
confer_replay_check(confer_replay_t *rp, const uint8_t *enc, size_t n,
    int64_t expires, int64_t now)
{
    size_t    i;
    uint64_t  h, s, fp;
    unsigned  tag;

    (void) crypto_shorthash((unsigned char *) &h, enc, n, rp->key);

    fp = h & ~CONFER_REPLAY_TAG;

    for (i = confer_replay_home(rp, h); /* void */ ;
         i = confer_replay_next(rp, i))
    {
        s = rp->slots[i];

        if (s == 0) {
            break;
        }

        if ((s & ~CONFER_REPLAY_TAG) == fp
            && rp->gens[s & CONFER_REPLAY_TAG].expires >= now)
        {
            return CONFER_REPLAY_SEEN;
        }
    }

    tag = 0;

    if (rp->used < rp->max_used) {
        tag = confer_replay_gen(rp, expires, now);
    }

    if (tag == 0 && confer_replay_ended(rp, now)) {
        /* full, of slots or of tags: ended entries make room */
        confer_replay_sweep(rp, now);

        if (rp->used < rp->max_used) {
            tag = confer_replay_gen(rp, expires, now);
        }

        i = confer_replay_free_slot(rp, h);
    }

    if (tag == 0) {
        return CONFER_REPLAY_FULL;
    }

    rp->slots[i] = fp | tag;
    rp->gens[tag].count++;
    rp->used++;

    return CONFER_REPLAY_NEW;
}
