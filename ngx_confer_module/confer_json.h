/*
 * JSON texts (RFC 8259): a strict validator that can drop members of the
 * top-level object, for the gateway's confer_strip_fields.  This header is
 * the whole interface.  No nginx header; nothing here allocates.
 *
 * confer_json_strip() checks that (p, n) is exactly one JSON text and
 * writes it to out without the members of the top-level object whose
 * names, once unescaped ("us\u0065r" is "user"), equal one of the names
 * given; every one of them goes, duplicates too.  All other bytes stay as
 * they were: numbers keep their spelling, strings their escapes, so the
 * model server reads the same values the client wrote.  With nothing
 * dropped the output is the input, byte for byte.  A text whose top level
 * is not an object is checked and copied.
 *
 * out may be p itself: the writer never overtakes the reader.  After an
 * error out holds nothing usable (and p, if it was out, neither).
 */

#ifndef CONFER_JSON_H
#define CONFER_JSON_H

#include <stddef.h>
#include <stdint.h>


typedef enum {
    CONFER_JSON_OK = 0,            /* "ok" */
    CONFER_JSON_ERR_SYNTAX,        /* "syntax": not one JSON text */
    CONFER_JSON_ERR_UTF8,          /* "bad_utf8": a string is not UTF-8 */
    CONFER_JSON_ERR_DEPTH,         /* "too_deep": nested too deeply */
    CONFER_JSON_ERR_SPACE,         /* "no_space": cap is below n */
    CONFER_JSON_ERR_ARG,           /* "bad_argument" */
    CONFER_JSON_ERR_LAST
} confer_json_rc_t;

/* arrays and objects nested deeper than this are refused */
#define CONFER_JSON_MAX_DEPTH  256

/* names longer than this never match (nothing to strip is that long) */
#define CONFER_JSON_MAX_NAME   256


typedef struct {
    const uint8_t  *data;
    size_t          len;
} confer_json_name_t;


const char *confer_json_strerror(confer_json_rc_t rc);

/*
 * Checks p[0..n) and writes it to out without the named top-level members.
 * cap must be at least n (the output is never longer than the input).
 * On CONFER_JSON_OK, *len is the output length and *dropped the number of
 * members dropped.  On an error, *len is about where it was found.
 */
confer_json_rc_t confer_json_strip(const uint8_t *p, size_t n,
    const confer_json_name_t *names, size_t nnames, uint8_t *out,
    size_t cap, size_t *len, size_t *dropped);


#endif /* CONFER_JSON_H */
