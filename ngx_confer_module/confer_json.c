/*
 * JSON texts (RFC 8259): validation and dropping of top-level members.
 * See confer_json.h.  A recursive descent over the whole text, nesting
 * bounded by CONFER_JSON_MAX_DEPTH.
 */

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "confer_json.h"


typedef struct {
    const uint8_t  *p;
    size_t          n;
    size_t          i;          /* read position */
    unsigned        depth;
} confer_json_in_t;


static confer_json_rc_t confer_json_value(confer_json_in_t *in);
static confer_json_rc_t confer_json_string(confer_json_in_t *in,
    uint8_t *name, size_t *name_len);
static confer_json_rc_t confer_json_number(confer_json_in_t *in);
static confer_json_rc_t confer_json_literal(confer_json_in_t *in,
    const char *lit, size_t len);
static confer_json_rc_t confer_json_container(confer_json_in_t *in);
static void confer_json_ws(confer_json_in_t *in);
static int confer_json_hex4(const uint8_t *p, unsigned *v);
static size_t confer_json_utf8(const uint8_t *p, size_t n);
static size_t confer_json_plain(const uint8_t *p, size_t n);
static void confer_json_put(uint8_t *name, size_t *len, const uint8_t *p,
    size_t n);


static const char  *confer_json_errors[] = {
    "ok",
    "syntax",
    "bad_utf8",
    "too_deep",
    "no_space",
    "bad_argument"
};


const char *
confer_json_strerror(confer_json_rc_t rc)
{
    if ((unsigned) rc >= CONFER_JSON_ERR_LAST) {
        return "unknown";
    }

    return confer_json_errors[rc];
}


/* RFC 8259, 2: insignificant whitespace */
static void
confer_json_ws(confer_json_in_t *in)
{
    uint8_t  c;

    while (in->i < in->n) {
        c = in->p[in->i];

        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }

        in->i++;
    }
}


/* RFC 8259, 3 */
static confer_json_rc_t
confer_json_value(confer_json_in_t *in)
{
    uint8_t  c;

    confer_json_ws(in);

    if (in->i >= in->n) {
        return CONFER_JSON_ERR_SYNTAX;
    }

    c = in->p[in->i];

    switch (c) {

    case '{':
    case '[':
        return confer_json_container(in);

    case '"':
        return confer_json_string(in, NULL, NULL);

    case 't':
        return confer_json_literal(in, "true", 4);

    case 'f':
        return confer_json_literal(in, "false", 5);

    case 'n':
        return confer_json_literal(in, "null", 4);

    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            return confer_json_number(in);
        }

        return CONFER_JSON_ERR_SYNTAX;
    }
}


static confer_json_rc_t
confer_json_literal(confer_json_in_t *in, const char *lit, size_t len)
{
    if (in->n - in->i < len || memcmp(in->p + in->i, lit, len) != 0) {
        return CONFER_JSON_ERR_SYNTAX;
    }

    in->i += len;

    return CONFER_JSON_OK;
}


/* RFC 8259, 6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static confer_json_rc_t
confer_json_number(confer_json_in_t *in)
{
    size_t          i, n;
    const uint8_t  *p;

    p = in->p;
    n = in->n;
    i = in->i;

    if (p[i] == '-') {
        i++;
    }

    if (i < n && p[i] == '0') {
        i++;

    } else if (i < n && p[i] >= '1' && p[i] <= '9') {
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            i++;
        }

    } else {
        return CONFER_JSON_ERR_SYNTAX;
    }

    if (i < n && p[i] == '.') {
        i++;

        if (i >= n || p[i] < '0' || p[i] > '9') {
            return CONFER_JSON_ERR_SYNTAX;
        }

        while (i < n && p[i] >= '0' && p[i] <= '9') {
            i++;
        }
    }

    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;

        if (i < n && (p[i] == '+' || p[i] == '-')) {
            i++;
        }

        if (i >= n || p[i] < '0' || p[i] > '9') {
            return CONFER_JSON_ERR_SYNTAX;
        }

        while (i < n && p[i] >= '0' && p[i] <= '9') {
            i++;
        }
    }

    in->i = i;

    return CONFER_JSON_OK;
}


static int
confer_json_hex4(const uint8_t *p, unsigned *v)
{
    unsigned  i, c, d;

    d = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if (c >= 'a' && c <= 'f') {
            c -= 'a' - 10;

        } else if (c >= 'A' && c <= 'F') {
            c -= 'A' - 10;

        } else {
            return 0;
        }

        d = d << 4 | c;
    }

    *v = d;

    return 1;
}


/*
 * RFC 3629, 4: the length of the well-formed UTF-8 sequence at p (no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t
confer_json_utf8(const uint8_t *p, size_t n)
{
    size_t   len, k;
    uint8_t  c, lo, hi;

    c = p[0];
    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;

        if (c == 0xe0) {
            lo = 0xa0;

        } else if (c == 0xed) {
            hi = 0x9f;
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;

        if (c == 0xf0) {
            lo = 0x90;

        } else if (c == 0xf4) {
            hi = 0x8f;
        }

    } else {
        return 0;
    }

    if (n < len || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (k = 2; k < len; k++) {
        if (p[k] < 0x80 || p[k] > 0xbf) {
            return 0;
        }
    }

    return len;
}


/*
 * The length of the run at p that is printable ASCII other than '"' and
 * '\\' (RFC 8259, 7: unescaped, needing no further look), found 16 bytes
 * at a time (SSE2 where the compiler has it, else two 8-byte words); the
 * byte that ends it is left to the caller.  A prompt is such runs almost
 * entirely, and a byte at a time they were most of the gateway's work on
 * large bodies.
 */

#define CONFER_JSON_ONES   0x0101010101010101ULL
#define CONFER_JSON_HIGHS  0x8080808080808080ULL

/*
 * High bits of the bytes of w that are >= 0x80, < 0x20, '"' or '\\', and
 * maybe of bytes after the first such one.  Once w has no byte >= 0x80,
 * subtracting from each byte borrows first at the lowest byte below the
 * subtrahend, so "some bit set" is exact.
 */
#define confer_json_special(w)                                              \
    (((w) | ((w) - CONFER_JSON_ONES * 0x20)                                 \
      | (((w) ^ (CONFER_JSON_ONES * '"')) - CONFER_JSON_ONES)               \
      | (((w) ^ (CONFER_JSON_ONES * '\\')) - CONFER_JSON_ONES))             \
     & CONFER_JSON_HIGHS)

static size_t
confer_json_plain(const uint8_t *p, size_t n)
{
    size_t    i;
    uint64_t  a, b;

    i = 0;

#if defined(__SSE2__)
    {
        int      m;
        __m128i  v, ctl, quote, bslash;

        /* signed: bytes >= 0x80 are below 0x20 as well */
        ctl = _mm_set1_epi8(0x20);
        quote = _mm_set1_epi8('"');
        bslash = _mm_set1_epi8('\\');

        while (n - i >= 16) {
            v = _mm_loadu_si128((const __m128i *) (p + i));

            m = _mm_movemask_epi8(_mm_or_si128(_mm_cmplt_epi8(v, ctl),
                                  _mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                               _mm_cmpeq_epi8(v, bslash))));
            if (m != 0) {
                return i + (size_t) __builtin_ctz((unsigned) m);
            }

            i += 16;
        }
    }
#endif

    while (n - i >= 16) {
        memcpy(&a, p + i, 8);
        memcpy(&b, p + i + 8, 8);

        if ((confer_json_special(a) | confer_json_special(b)) != 0) {
            break;
        }

        i += 16;
    }

    while (i < n && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"'
           && p[i] != '\\')
    {
        i++;
    }

    return i;
}


/* appends to a decoded name; a name too long to match gets length -1 */
static void
confer_json_put(uint8_t *name, size_t *len, const uint8_t *p, size_t n)
{
    if (*len == (size_t) -1) {
        return;
    }

    if (CONFER_JSON_MAX_NAME - *len < n) {
        *len = (size_t) -1;
        return;
    }

    memcpy(name + *len, p, n);
    *len += n;
}


/*
 * RFC 8259, 7.  With name set, the string is also decoded into it (at
 * most CONFER_JSON_MAX_NAME bytes; *name_len is -1 beyond that).  Lone
 * surrogate escapes are accepted, as most parsers do, and decode to their
 * three-byte form, which matches no configured name.
 */
static confer_json_rc_t
confer_json_string(confer_json_in_t *in, uint8_t *name, size_t *name_len)
{
    size_t          i, n, len;
    uint8_t         c, u[4];
    unsigned        cp, lo;
    const uint8_t  *p;

    p = in->p;
    n = in->n;
    i = in->i + 1;

    if (name) {
        *name_len = 0;
    }

    for ( ;; ) {

        if (name == NULL) {
            i += confer_json_plain(p + i, n - i);
        }

        if (i >= n) {
            return CONFER_JSON_ERR_SYNTAX;
        }

        c = p[i];

        if (c == '"') {
            in->i = i + 1;
            return CONFER_JSON_OK;
        }

        if (c < 0x20) {
            return CONFER_JSON_ERR_SYNTAX;
        }

        if (c >= 0x80) {
            len = confer_json_utf8(p + i, n - i);

            if (len == 0) {
                in->i = i;
                return CONFER_JSON_ERR_UTF8;
            }

            if (name) {
                confer_json_put(name, name_len, p + i, len);
            }

            i += len;
            continue;
        }

        if (c != '\\') {
            if (name) {
                confer_json_put(name, name_len, p + i, 1);
            }

            i++;
            continue;
        }

        if (i + 1 >= n) {
            return CONFER_JSON_ERR_SYNTAX;
        }

        c = p[i + 1];

        switch (c) {

        case '"':
        case '\\':
        case '/':
            break;

        case 'b':
            c = '\b';
            break;

        case 'f':
            c = '\f';
            break;

        case 'n':
            c = '\n';
            break;

        case 'r':
            c = '\r';
            break;

        case 't':
            c = '\t';
            break;

        case 'u':
            if (n - i < 6 || !confer_json_hex4(p + i + 2, &cp)) {
                in->i = i;
                return CONFER_JSON_ERR_SYNTAX;
            }

            i += 6;

            /* a surrogate pair: \uD8xx\uDCxx */
            if (cp >= 0xd800 && cp <= 0xdbff && n - i >= 6
                && p[i] == '\\' && p[i + 1] == 'u'
                && confer_json_hex4(p + i + 2, &lo)
                && lo >= 0xdc00 && lo <= 0xdfff)
            {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }

            if (name == NULL) {
                continue;
            }

            if (cp < 0x80) {
                u[0] = (uint8_t) cp;
                len = 1;

            } else if (cp < 0x800) {
                u[0] = (uint8_t) (0xc0 | cp >> 6);
                u[1] = (uint8_t) (0x80 | (cp & 0x3f));
                len = 2;

            } else if (cp < 0x10000) {
                u[0] = (uint8_t) (0xe0 | cp >> 12);
                u[1] = (uint8_t) (0x80 | (cp >> 6 & 0x3f));
                u[2] = (uint8_t) (0x80 | (cp & 0x3f));
                len = 3;

            } else {
                u[0] = (uint8_t) (0xf0 | cp >> 18);
                u[1] = (uint8_t) (0x80 | (cp >> 12 & 0x3f));
                u[2] = (uint8_t) (0x80 | (cp >> 6 & 0x3f));
                u[3] = (uint8_t) (0x80 | (cp & 0x3f));
                len = 4;
            }

            confer_json_put(name, name_len, u, len);
            continue;

        default:
            in->i = i;
            return CONFER_JSON_ERR_SYNTAX;
        }

        if (name) {
            confer_json_put(name, name_len, &c, 1);
        }

        i += 2;
    }
}


/* RFC 8259, 4 and 5: an object or an array, at in->p[in->i] */
static confer_json_rc_t
confer_json_container(confer_json_in_t *in)
{
    uint8_t           close;
    confer_json_rc_t  rc;

    if (++in->depth > CONFER_JSON_MAX_DEPTH) {
        return CONFER_JSON_ERR_DEPTH;
    }

    close = (in->p[in->i] == '{') ? '}' : ']';
    in->i++;

    confer_json_ws(in);

    if (in->i < in->n && in->p[in->i] == close) {
        in->i++;
        in->depth--;
        return CONFER_JSON_OK;
    }

    for ( ;; ) {

        if (close == '}') {
            confer_json_ws(in);

            if (in->i >= in->n || in->p[in->i] != '"') {
                return CONFER_JSON_ERR_SYNTAX;
            }

            rc = confer_json_string(in, NULL, NULL);
            if (rc != CONFER_JSON_OK) {
                return rc;
            }

            confer_json_ws(in);

            if (in->i >= in->n || in->p[in->i] != ':') {
                return CONFER_JSON_ERR_SYNTAX;
            }

            in->i++;
        }

        rc = confer_json_value(in);
        if (rc != CONFER_JSON_OK) {
            return rc;
        }

        confer_json_ws(in);

        if (in->i >= in->n) {
            return CONFER_JSON_ERR_SYNTAX;
        }

        if (in->p[in->i] == ',') {
            in->i++;
            continue;
        }

        if (in->p[in->i] == close) {
            in->i++;
            in->depth--;
            return CONFER_JSON_OK;
        }

        return CONFER_JSON_ERR_SYNTAX;
    }
}


/*
 * The top-level object, writing the members that stay.  A member that
 * stays is copied from the separator before it (the ',', or just after
 * the '{' for the first one that stays) up to the separator after it, so
 * that whitespace around it stays too and nothing is written beyond what
 * has been read.
 */
static confer_json_rc_t
confer_json_object(confer_json_in_t *in, const confer_json_name_t *names,
    size_t nnames, uint8_t *out, size_t *w, size_t *dropped)
{
    size_t            sep, from, name_len, k, kept;
    uint8_t           name[CONFER_JSON_MAX_NAME];
    confer_json_rc_t  rc;

    in->depth = 1;
    sep = in->i;
    in->i++;

    if (out != in->p) {
        memmove(out, in->p, sep + 1);
    }

    *w = sep + 1;

    confer_json_ws(in);

    if (in->i < in->n && in->p[in->i] == '}') {
        return CONFER_JSON_OK;
    }

    kept = 0;

    for ( ;; ) {
        confer_json_ws(in);

        if (in->i >= in->n || in->p[in->i] != '"') {
            return CONFER_JSON_ERR_SYNTAX;
        }

        rc = confer_json_string(in, name, &name_len);
        if (rc != CONFER_JSON_OK) {
            return rc;
        }

        confer_json_ws(in);

        if (in->i >= in->n || in->p[in->i] != ':') {
            return CONFER_JSON_ERR_SYNTAX;
        }

        in->i++;

        rc = confer_json_value(in);
        if (rc != CONFER_JSON_OK) {
            return rc;
        }

        confer_json_ws(in);

        if (in->i >= in->n
            || (in->p[in->i] != ',' && in->p[in->i] != '}'))
        {
            return CONFER_JSON_ERR_SYNTAX;
        }

        for (k = 0; k < nnames; k++) {
            if (names[k].len == name_len
                && memcmp(names[k].data, name, name_len) == 0)
            {
                break;
            }
        }

        if (k < nnames) {
            (*dropped)++;

        } else {
            from = kept++ ? sep : sep + 1;

            /* in place and nothing dropped yet: it is where it goes */
            if (out + *w != in->p + from) {
                memmove(out + *w, in->p + from, in->i - from);
            }

            *w += in->i - from;
        }

        sep = in->i;

        if (in->p[in->i] == '}') {
            return CONFER_JSON_OK;
        }

        in->i++;
    }
}


confer_json_rc_t
confer_json_strip(const uint8_t *p, size_t n,
    const confer_json_name_t *names, size_t nnames, uint8_t *out,
    size_t cap, size_t *len, size_t *dropped)
{
    size_t            w, close;
    confer_json_rc_t  rc;
    confer_json_in_t  in;

    if (len == NULL || dropped == NULL || (n && (p == NULL || out == NULL))
        || (nnames && names == NULL))
    {
        return CONFER_JSON_ERR_ARG;
    }

    *dropped = 0;
    *len = 0;

    if (cap < n) {
        *len = n;
        return CONFER_JSON_ERR_SPACE;
    }

    in.p = p;
    in.n = n;
    in.i = 0;
    in.depth = 0;

    confer_json_ws(&in);

    w = 0;
    close = 0;

    if (in.i < n && p[in.i] == '{') {
        rc = confer_json_object(&in, names, nnames, out, &w, dropped);

        if (rc == CONFER_JSON_OK) {
            close = in.i++;
        }

    } else {
        rc = confer_json_value(&in);
    }

    if (rc == CONFER_JSON_OK) {
        confer_json_ws(&in);

        if (in.i != n) {
            rc = CONFER_JSON_ERR_SYNTAX;
        }
    }

    if (rc != CONFER_JSON_OK) {
        *dropped = 0;
        *len = in.i;
        return rc;
    }

    if (*dropped == 0) {
        /* every move so far was in place, or out gets the input now */
        if (out != p) {
            memcpy(out, p, n);
        }

        *len = n;
        return CONFER_JSON_OK;
    }

    /* the closing brace and what follows it */
    memmove(out + w, p + close, n - close);
    *len = w + n - close;

    return CONFER_JSON_OK;
}
