/*
 * A small TAP producer for the C unit tests, run by prove through
 * t/lib/Confer/Unit.pm.  Header-only; one test binary per topic.  The file
 * helpers (tap_vectors_dir, tap_slurp) are in tap_file.h.
 */

#ifndef CONFER_TAP_H
#define CONFER_TAP_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap_file.h"

static int  tap_n;
static int  tap_failed;

static inline void
tap_vok(int pass, const char *fmt, va_list ap)
{
    tap_n++;
    printf("%sok %d - ", pass ? "" : "not ", tap_n);
    vprintf(fmt, ap);
    printf("\n");
    if (!pass) {
        tap_failed++;
    }
    fflush(stdout);
}

static inline int
ok(int pass, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    tap_vok(pass, fmt, ap);
    va_end(ap);
    return pass;
}

static inline void
diag(const char *fmt, ...)
{
    va_list  ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static inline void
tap_hexdump(const char *label, const uint8_t *p, size_t n)
{
    size_t  i;

    printf("#   %s (%zu): ", label, n);
    for (i = 0; i < n && i < 64; i++) {
        printf("%02x", p[i]);
    }
    printf("%s\n", n > 64 ? "..." : "");
}

/* byte-exact comparison, with both sides shown on failure */
static inline int
is_mem(const void *got, size_t got_n, const void *want, size_t want_n,
    const char *fmt, ...)
{
    int      pass;
    va_list  ap;

    pass = got_n == want_n && (want_n == 0 || memcmp(got, want, want_n) == 0);
    va_start(ap, fmt);
    tap_vok(pass, fmt, ap);
    va_end(ap);
    if (!pass) {
        tap_hexdump("got ", got, got_n);
        tap_hexdump("want", want, want_n);
    }
    return pass;
}

static inline int
is_int(long long got, long long want, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    tap_vok(got == want, fmt, ap);
    va_end(ap);
    if (got != want) {
        printf("#   got %lld, want %lld\n", got, want);
    }
    return got == want;
}

static inline void
skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    exit(0);
}

static inline int
done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

/* hex string to bytes; returns the length or -1 */
static inline long
tap_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t    i, n;
    unsigned  b;

    n = strlen(hex);
    if (n % 2 || n / 2 > cap) {
        return -1;
    }
    for (i = 0; i < n / 2; i++) {
        if (sscanf(hex + 2 * i, "%2x", &b) != 1) {
            return -1;
        }
        out[i] = (uint8_t) b;
    }
    return (long) (n / 2);
}

#endif /* CONFER_TAP_H */
