/*
 * Helpers shared by the TDX unit tests: vector files, times, hex.
 */

#ifndef CONFER_TDX_TEST_H
#define CONFER_TDX_TEST_H

#include <time.h>

#include "tap.h"
#include "attest_tdx.h"


/* "2025-10-28T12:00:00Z" to time_t */
static inline time_t
tdx_t(const char *s)
{
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
    {
        return 0;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}


/* shared/vectors/tdx/NAME, or NULL (with a diagnostic) */
static inline uint8_t *
tdx_vec(const char *name, size_t *n)
{
    char      path[1024];
    uint8_t  *p;

    snprintf(path, sizeof(path), "%s/tdx/%s", tap_vectors_dir(), name);
    p = tap_slurp(path, n);
    if (p == NULL) {
        diag("missing vector %s", path);
    }
    return p;
}


/* skip the whole file unless the TDX vectors are there */
static inline void
tdx_need_vectors(void)
{
    char      path[1024];
    size_t    n;
    uint8_t  *p;

    snprintf(path, sizeof(path), "%s/tdx/intel_sgx_root_ca.pem",
             tap_vectors_dir());
    p = tap_slurp(path, &n);
    if (p == NULL) {
        printf("1..0 # SKIP TDX vectors not found in %s/tdx "
               "(set CONFER_VECTORS)\n", tap_vectors_dir());
        exit(0);
    }
    free(p);
}


static inline int
tdx_is_hex(const uint8_t *got, size_t n, const char *hex, const char *what)
{
    uint8_t  want[256];
    long     wn;

    wn = tap_unhex(hex, want, sizeof(want));
    if (wn < 0) {
        return ok(0, "%s: bad hex in the test", what);
    }
    return is_mem(got, wn < (long) n ? (size_t) wn : n, want, (size_t) wn,
                  "%s", what);
}


static inline int
is_err(attest_err_t got, attest_err_t want, const char *fmt, ...)
{
    va_list  ap;
    int      pass;

    pass = got == want;
    va_start(ap, fmt);
    tap_vok(pass, fmt, ap);
    va_end(ap);
    if (!pass) {
        printf("#   got %s, want %s\n", attest_strerror(got),
               attest_strerror(want));
    }
    return pass;
}

#endif /* CONFER_TDX_TEST_H */
