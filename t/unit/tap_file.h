/*
 * Files for the C tests and bench sections: where the shared vectors are,
 * and a whole file read into memory.  Header-only; tap.h includes it.
 */

#ifndef CONFER_TAP_FILE_H
#define CONFER_TAP_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* where the shared vectors are: $CONFER_VECTORS or ../shared/vectors */
static inline const char *
tap_vectors_dir(void)
{
    const char  *d;

    d = getenv("CONFER_VECTORS");
    return d ? d : "../shared/vectors";
}

/* read a whole file, NUL-terminated past its end; NULL if absent */
static inline uint8_t *
tap_slurp(const char *path, size_t *n)
{
    FILE     *f;
    long      len;
    uint8_t  *p;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc(len + 1);
    if (p == NULL || fread(p, 1, len, f) != (size_t) len) {
        fclose(f);
        free(p);
        return NULL;
    }
    p[len] = '\0';
    fclose(f);
    *n = (size_t) len;
    return p;
}

#endif /* CONFER_TAP_FILE_H */
