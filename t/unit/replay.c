/*
 * The replay set (confer_replay.h): every enc recorded while its key is
 * honoured is refused again, however full the table, however entries of
 * ended keys were dropped around it; a full table says so instead of
 * forgetting a live entry; its capacity is what the directive promises.
 * A random run is checked step by step against a plain list.
 */

#include <sodium.h>

#include "tap.h"
#include "confer_replay.h"


#define ENC  32


static uint64_t         rng = 0x9e3779b97f4a7c15ULL;
static confer_replay_t  rp;
static uint64_t         slots[1 << 16];


static void
enc_make(uint8_t *e)
{
    size_t  i;

    for (i = 0; i < ENC; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        e[i] = (uint8_t) (rng >> 24);
    }
}


static void
setup(size_t nslots)
{
    uint8_t  key[CONFER_REPLAY_KEY];

    randombytes_buf(key, sizeof(key));
    confer_replay_init(&rp, slots, nslots, key);
}


/* a model entry: an enc and when it ends */
typedef struct {
    uint8_t  enc[ENC];
    int64_t  expires;
} model_t;

static model_t  model[60000];
static size_t   nmodel;


static void
basics(void)
{
    int      good;
    size_t   i, cap;
    uint8_t  e[ENC];

    is_int(confer_replay_slots(1024 * 1024), 131072,
           "1 MiB of table is 131072 slots");
    is_int(confer_replay_capacity(131072), 114688,
           "which hold 114688 entries (7/8)");

    /* 20000 encs in 32768 slots: each new, each then a replay */
    setup(32768);
    good = 1;
    for (i = 0; i < 20000; i++) {
        enc_make(model[i].enc);
        good &= confer_replay_check(&rp, model[i].enc, ENC, 100, 0)
                == CONFER_REPLAY_NEW;
    }
    ok(good, "20000 different encs are new");

    good = 1;
    for (i = 0; i < 20000; i++) {
        good &= confer_replay_check(&rp, model[i].enc, ENC, 100, 50)
                == CONFER_REPLAY_SEEN;
    }
    ok(good, "each of them again is a replay");

    good = 1;
    for (i = 0; i < 20000; i++) {
        good &= confer_replay_check(&rp, model[i].enc, ENC, 200, 101)
                == CONFER_REPLAY_NEW;
    }
    ok(good, "after their key ended they are new (the key refuses them)");

    /* full: exactly the capacity, then refusals, and nothing forgotten */
    setup(4096);
    cap = confer_replay_capacity(4096);
    for (i = 0; i < cap + 10; i++) {
        enc_make(model[i].enc);
        if (confer_replay_check(&rp, model[i].enc, ENC, 100, 0)
            != CONFER_REPLAY_NEW)
        {
            break;
        }
    }
    is_int(i, cap, "a 4096-slot table takes exactly its capacity (3584)");
    enc_make(e);
    is_int(confer_replay_check(&rp, e, ENC, 100, 0), CONFER_REPLAY_FULL,
           "then says it is full");
    is_int(confer_replay_check(&rp, e, ENC, 100, 0), CONFER_REPLAY_FULL,
           "and did not record the refused enc");

    good = 1;
    for (i = 0; i < cap; i++) {
        good &= confer_replay_check(&rp, model[i].enc, ENC, 100, 100)
                == CONFER_REPLAY_SEEN;
    }
    ok(good, "every entry of the full table is still a replay at its end");

    /* one second later they ended: room again, in one pass */
    is_int(confer_replay_check(&rp, e, ENC, 300, 101), CONFER_REPLAY_NEW,
           "once their key ended, a new enc finds room");
    ok(rp.sweeps == 1 && rp.used == 1, "the ended entries were dropped in "
       "one pass (%llu pass, %zu left)", (unsigned long long) rp.sweeps,
       rp.used);
}


/*
 * Generations interleaved in the table: dropping the ended ones must not
 * break the probe sequences of the live ones around them.
 */
static void
generations(void)
{
    int      good;
    size_t   i, cap;
    uint8_t  e[ENC];

    setup(2048);
    cap = confer_replay_capacity(2048);

    for (i = 0; i < cap; i++) {
        enc_make(model[i].enc);
        model[i].expires = (i % 3 == 0) ? 10 : 20;
        confer_replay_check(&rp, model[i].enc, ENC, model[i].expires, 0);
    }

    enc_make(e);
    is_int(confer_replay_check(&rp, e, ENC, 30, 10), CONFER_REPLAY_FULL,
           "full while both generations live");
    is_int(confer_replay_check(&rp, e, ENC, 30, 11), CONFER_REPLAY_NEW,
           "room once the first ended");

    good = 1;
    for (i = 0; i < cap; i++) {
        if (model[i].expires == 20) {
            good &= confer_replay_check(&rp, model[i].enc, ENC, 30, 11)
                    == CONFER_REPLAY_SEEN;
        }
    }
    ok(good, "every entry of the live generation is still a replay after "
       "the ended one was dropped around it");
    is_int(rp.used, cap - (cap + 2) / 3 + 1,
           "and only the ended generation's entries went");
}


/* a random run against a list: the set never differs from it */
/*
 * strict: the set answers exactly as the list; otherwise (more end times
 * at once than tags) an entry may live longer than its end, never shorter
 */
static void
random_run(size_t nslots, int64_t steps, int spread, int strict,
    const char *what)
{
    int                 good, full_ok;
    size_t              i, live, fulls, sweeps0;
    int64_t             now, exp;
    uint8_t             e[ENC];
    confer_replay_rc_t  rc, want;

    setup(nslots);
    nmodel = 0;
    good = 1;
    full_ok = 1;
    fulls = 0;
    sweeps0 = 0;

    for (now = 0; now < steps; now++) {

        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;

        if (nmodel && rng % 3 == 0) {
            /* a replay of something recorded, live or ended */
            i = (size_t) (rng >> 8) % nmodel;
            memcpy(e, model[i].enc, ENC);
            want = model[i].expires >= now / 8 ? CONFER_REPLAY_SEEN
                                               : CONFER_REPLAY_NEW;
        } else {
            enc_make(e);
            want = CONFER_REPLAY_NEW;
            i = nmodel;
        }

        /* key generations: an end time per 64 steps, a few live at once */
        exp = now / 8 + 8 + (int64_t) ((rng >> 20) % (uint64_t) spread) * 8;

        rc = confer_replay_check(&rp, e, ENC, exp, now / 8);

        if (rc == CONFER_REPLAY_FULL) {
            live = 0;
            for (i = 0; i < nmodel; i++) {
                live += model[i].expires >= now / 8;
            }
            full_ok &= !strict || live >= confer_replay_capacity(nslots);
            fulls++;
            continue;
        }

        if (strict) {
            good &= rc == want;

        } else {
            good &= want == CONFER_REPLAY_SEEN ? rc == CONFER_REPLAY_SEEN
                                               : i < nmodel || rc == want;
        }

        if (rc == CONFER_REPLAY_NEW && nmodel < 60000) {
            if (i < nmodel) {
                /* an ended enc recorded again, with its new end */
                model[i].expires = exp;

            } else {
                memcpy(model[nmodel].enc, e, ENC);
                model[nmodel++].expires = exp;
            }
        }
    }

    ok(good, "%s: %lld steps, every answer as the list says (%zu entries, "
       "%llu passes, %zu refusals)", what, (long long) steps, nmodel,
       (unsigned long long) rp.sweeps - sweeps0, fulls);
    ok(full_ok, "%s: full only when the live entries fill it", what);
}


int
main(void)
{
    if (sodium_init() < 0) {
        skip_all("libsodium does not start");
    }

    basics();
    generations();
    random_run(1024, 40000, 4, 1, "1024 slots, a few live generations");
    random_run(128, 40000, 4, 1, "128 slots, often full");
    random_run(8192, 50000, 20, 1, "8192 slots, 150 live generations");
    random_run(512, 30000, 300, 0, "512 slots, more end times than tags");

    done_testing();
    return 0;
}
