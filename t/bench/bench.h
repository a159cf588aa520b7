/*
 * What the C bench sections share: a monotonic clock, the median of a set
 * of timings, and the JSON line of one figure (the brief's bench format,
 * collected by t/bench/run).  Files and the vectors directory come from
 * t/unit/tap_file.h.  Header-only.
 */

#ifndef CONFER_BENCH_H
#define CONFER_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../unit/tap_file.h"


/* seconds on the monotonic clock */
static inline double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static inline int
bench_cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


/* the median of n values; sorts v */
static inline double
bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(double), bench_cmp_double);
    return v[n / 2];
}


/* one figure; met is 1, 0, or -1 for null (no goal, or the figure void) */
static inline void
bench_emit(const char *section, const char *name, double value,
    const char *unit, const char *goal, int met, const char *detail)
{
    printf("{\"section\":\"%s\",\"name\":\"%s\",\"value\":%.4f,"
           "\"unit\":\"%s\",\"goal\":\"%s\",\"met\":%s,\"detail\":\"%s\"}\n",
           section, name, value, unit, goal,
           met < 0 ? "null" : met ? "true" : "false", detail);
    fflush(stdout);
}

#endif /* CONFER_BENCH_H */
