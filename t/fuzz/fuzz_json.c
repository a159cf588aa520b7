/*
 * libFuzzer harness: the JSON stripper (confer_json).  Input: an option
 * byte (bit 0: strip user, metadata, safety_identifier; else only check),
 * then a JSON text or not.  Checks, aborting on failure:
 *   - in place and into another buffer give the same result;
 *   - a result is no longer than the input, is valid JSON with nothing
 *     more to drop, and is the input itself when nothing was dropped;
 *   - a text that jansson accepts is accepted (unless nested beyond our
 *     limit), and jansson reads the result as the input without the
 *     dropped members.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "confer_json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const confer_json_name_t  fz_names[] = {
    { (const uint8_t *) "user", 4 },
    { (const uint8_t *) "metadata", 8 },
    { (const uint8_t *) "safety_identifier", 17 }
};


static void
fail(const char *what)
{
    fprintf(stderr, "%s\n", what);
    abort();
}


static int
has_nul_escape(const uint8_t *p, size_t n)
{
    size_t  i;

    for (i = 0; i + 6 <= n; i++) {
        if (memcmp(p + i, "\\u0000", 6) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
check_jansson(const uint8_t *p, size_t n, confer_json_rc_t rc,
    const uint8_t *out, size_t len, size_t nnames)
{
    size_t         k;
    json_t        *in, *res;
    json_error_t   err;

    in = json_loadb((const char *) p, n, JSON_DECODE_ANY, &err);

    if (in == NULL) {
        return;
    }

    if (rc == CONFER_JSON_ERR_DEPTH) {
        json_decref(in);
        return;
    }

    if (rc != CONFER_JSON_OK) {
        fail("jansson accepts a text that the stripper refuses");
    }

    if (json_is_object(in)) {
        for (k = 0; k < nnames; k++) {
            json_object_del(in, (const char *) fz_names[k].data);
        }
    }

    res = json_loadb((const char *) out, len, JSON_DECODE_ANY, &err);

    if (res == NULL || !json_equal(in, res)) {
        fail("jansson reads the result differently");
    }

    json_decref(res);
    json_decref(in);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t              n, nnames, len, len2, dropped, dropped2;
    uint8_t            *p, *out, *inplace, *again;
    confer_json_rc_t    rc, rc2;

    if (size == 0) {
        return 0;
    }

    nnames = (data[0] & 1) ? 3 : 0;
    n = size - 1;

    /* exact-size copies, so that ASan sees every overrun */
    p = malloc(n + 1);
    out = malloc(n + 1);
    inplace = malloc(n + 1);
    again = malloc(n + 1);

    memcpy(p, data + 1, n);
    memcpy(inplace, data + 1, n);

    rc = confer_json_strip(p, n, fz_names, nnames, out, n, &len, &dropped);
    rc2 = confer_json_strip(inplace, n, fz_names, nnames, inplace, n, &len2,
                            &dropped2);

    if (rc != rc2) {
        fail("in place and out of place disagree");
    }

    if (rc == CONFER_JSON_OK) {
        if (len != len2 || dropped != dropped2
            || memcmp(out, inplace, len) != 0)
        {
            fail("in place gives other bytes");
        }

        if (len > n) {
            fail("the result is longer than the input");
        }

        if (dropped == 0 && (len != n || memcmp(out, p, n) != 0)) {
            fail("nothing dropped, but the bytes changed");
        }

        if (nnames == 0 && dropped != 0) {
            fail("dropped without names");
        }

        rc2 = confer_json_strip(out, len, fz_names, nnames, again, len,
                                &len2, &dropped2);

        if (rc2 != CONFER_JSON_OK || dropped2 != 0 || len2 != len
            || memcmp(again, out, len) != 0)
        {
            fail("the result is not valid JSON with nothing left to drop");
        }
    }

    /*
     * jansson reads a NUL byte as the end of the input, and its object
     * keys end at an escaped NUL: no comparison with those
     */
    if (memchr(p, '\0', n) == NULL && !has_nul_escape(p, n)) {
        check_jansson(p, n, rc, out, len, nnames);
    }

    free(again);
    free(inplace);
    free(out);
    free(p);

    return 0;
}
