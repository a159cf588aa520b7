/*
 * Binary HTTP messages (RFC 9292): encoders and an incremental decoder.
 * See confer_bhttp.h for the interface.
 */

#include <string.h>

#include "confer_bhttp.h"


/* decoder states */
enum {
    ST_FRAMING = 0,
    ST_CONTROL,          /* request control data, RFC 9292, 3.4 */
    ST_STATUS,           /* response control data, RFC 9292, 3.5 */
    ST_SECTION_LEN,      /* known-length field section length */
    ST_FIELD,            /* field lines, RFC 9292, 3.6 */
    ST_CONTENT_LEN,      /* content length or chunk length */
    ST_CONTENT,          /* content bytes */
    ST_EOF_HEADERS_END,  /* truncated: the header section was omitted */
    ST_EOF_END,          /* truncated: content or trailers omitted */
    ST_PADDING           /* after END, RFC 9292, 3.8 */
};

/* field sections */
enum {
    SEC_INFO = 0,
    SEC_HEADERS,
    SEC_TRAILERS
};

/* steps of a field line */
enum {
    FL_NAME_LEN = 0,
    FL_NAME,
    FL_VALUE_LEN,
    FL_VALUE
};

/* streaming encoder states */
enum {
    SS_NEW = 0,
    SS_INFO,             /* framing indicator and informational responses */
    SS_CONTENT,          /* header section written */
    SS_ENDED
};


typedef struct {
    uint8_t  *out;
    size_t    cap;
    size_t    n;
    int       overflow;
} bhttp_writer_t;


static int bhttp_is_tchar(uint8_t c);
static confer_bhttp_rc_t bhttp_check_name(const uint8_t *p, size_t n,
    int wire);
static confer_bhttp_rc_t bhttp_check_value(const uint8_t *p, size_t n);
static confer_bhttp_rc_t bhttp_check_uri_part(const confer_bhttp_str_t *s);
static confer_bhttp_rc_t bhttp_check_fields(const confer_bhttp_field_t *f,
    size_t nf);
static void bhttp_w_grow(bhttp_writer_t *w, size_t n);
static void bhttp_w_varint(bhttp_writer_t *w, uint64_t v);
static void bhttp_w_bytes(bhttp_writer_t *w, const uint8_t *p, size_t n);
static void bhttp_w_zeros(bhttp_writer_t *w, size_t n);
static void bhttp_w_lstr(bhttp_writer_t *w, const confer_bhttp_str_t *s);
static void bhttp_w_name(bhttp_writer_t *w, const confer_bhttp_str_t *s);
static size_t bhttp_fields_size(const confer_bhttp_field_t *f, size_t nf,
    int *overflow);
static void bhttp_w_fields(bhttp_writer_t *w, const confer_bhttp_field_t *f,
    size_t nf, int known);
static void bhttp_w_content(bhttp_writer_t *w, const uint8_t *p, size_t n,
    int known);
static confer_bhttp_rc_t bhttp_w_finish(bhttp_writer_t *w, size_t *len);
static confer_bhttp_rc_t bhttp_stream_head(confer_bhttp_stream_t *s,
    unsigned status, unsigned lo, unsigned hi,
    const confer_bhttp_field_t *fields, size_t nfields, unsigned state,
    uint8_t *out, size_t cap, size_t *len);
static confer_bhttp_rc_t bhttp_check_request(const confer_bhttp_request_t *r);
static void bhttp_w_request_head(bhttp_writer_t *w,
    const confer_bhttp_request_t *r, unsigned framing);
static int bhttp_varint(confer_bhttp_decoder_t *d, const uint8_t *p,
    size_t n, size_t *i);
static size_t bhttp_copy(confer_bhttp_decoder_t *d, const uint8_t *p,
    size_t n);
static confer_bhttp_rc_t bhttp_fail(confer_bhttp_decoder_t *d,
    confer_bhttp_rc_t rc);
static confer_bhttp_rc_t bhttp_section_start(confer_bhttp_decoder_t *d,
    unsigned section);
static confer_bhttp_rc_t bhttp_section_end(confer_bhttp_decoder_t *d,
    confer_bhttp_event_t *ev);
static confer_bhttp_rc_t bhttp_field(confer_bhttp_decoder_t *d,
    const uint8_t *p, size_t n, size_t *i, confer_bhttp_event_t *ev);
static confer_bhttp_rc_t bhttp_eof(confer_bhttp_decoder_t *d);


static const char  *confer_bhttp_names[] = {
    "ok",
    "again",
    "done",
    "no_space",
    "bad_argument",
    "bad_state",
    "bad_framing",
    "bad_control_data",
    "bad_status",
    "bad_field_name",
    "bad_field_value",
    "bad_section",
    "too_large",
    "truncated",
    "bad_padding"
};


const char *
confer_bhttp_strerror(confer_bhttp_rc_t rc)
{
    if ((unsigned) rc >= sizeof(confer_bhttp_names) / sizeof(char *)) {
        return "unknown";
    }

    return confer_bhttp_names[rc];
}


/* --- validation --------------------------------------------------------- */

/* RFC 9110, 5.6.2 */
static int
bhttp_is_tchar(uint8_t c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z'))
    {
        return 1;
    }

    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}


/*
 * RFC 9292, 3.6: a field name is a token, and uppercase is invalid on the
 * wire (wire); the encoders lowercase it instead.  Pseudo-fields are not
 * tokens and are refused.
 */
static confer_bhttp_rc_t
bhttp_check_name(const uint8_t *p, size_t n, int wire)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (!bhttp_is_tchar(p[i]) || (wire && p[i] >= 'A' && p[i] <= 'Z')) {
            return CONFER_BHTTP_ERR_FIELD_NAME;
        }
    }

    return CONFER_BHTTP_OK;
}


/* RFC 9110, 5.5: no CTL but HTAB, no DEL */
static confer_bhttp_rc_t
bhttp_check_value(const uint8_t *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f) {
            return CONFER_BHTTP_ERR_FIELD_VALUE;
        }
    }

    return CONFER_BHTTP_OK;
}


/*
 * Scheme, authority and path: visible ASCII only, stricter than RFC 9292
 * asks, so that a request line built from them cannot be split.
 */
static confer_bhttp_rc_t
bhttp_check_uri_part(const confer_bhttp_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] <= 0x20 || s->data[i] >= 0x7f) {
            return CONFER_BHTTP_ERR_CONTROL;
        }
    }

    return CONFER_BHTTP_OK;
}


static confer_bhttp_rc_t
bhttp_check_fields(const confer_bhttp_field_t *f, size_t nf)
{
    size_t             i;
    confer_bhttp_rc_t  rc;

    if (nf > 0 && f == NULL) {
        return CONFER_BHTTP_ERR_ARG;
    }

    for (i = 0; i < nf; i++) {
        if ((f[i].name.data == NULL && f[i].name.len)
            || (f[i].value.data == NULL && f[i].value.len))
        {
            return CONFER_BHTTP_ERR_ARG;
        }

        if (f[i].name.len == 0) {
            return CONFER_BHTTP_ERR_FIELD_NAME;
        }

        rc = bhttp_check_name(f[i].name.data, f[i].name.len, 0);
        if (rc != CONFER_BHTTP_OK) {
            return rc;
        }

        rc = bhttp_check_value(f[i].value.data, f[i].value.len);
        if (rc != CONFER_BHTTP_OK) {
            return rc;
        }
    }

    return CONFER_BHTTP_OK;
}


/* --- writer: counts what it needs, writes what fits --------------------- */

static void
bhttp_w_grow(bhttp_writer_t *w, size_t n)
{
    if (w->n > SIZE_MAX - n) {
        w->overflow = 1;
        w->n = SIZE_MAX;
        return;
    }

    w->n += n;
}


static void
bhttp_w_varint(bhttp_writer_t *w, uint64_t v)
{
    size_t   vl;
    uint8_t  tmp[8];

    vl = confer_varint_encode(v, tmp, sizeof(tmp));
    if (vl == 0) {
        w->overflow = 1;
        return;
    }

    if (w->out && !w->overflow && w->n <= w->cap && vl <= w->cap - w->n) {
        memcpy(w->out + w->n, tmp, vl);
    }

    bhttp_w_grow(w, vl);
}


static void
bhttp_w_bytes(bhttp_writer_t *w, const uint8_t *p, size_t n)
{
    if (n == 0) {
        return;
    }

    if (w->out && !w->overflow && n <= w->cap && w->n <= w->cap - n) {
        memcpy(w->out + w->n, p, n);
    }

    bhttp_w_grow(w, n);
}


static void
bhttp_w_zeros(bhttp_writer_t *w, size_t n)
{
    if (n == 0) {
        return;
    }

    if (w->out && !w->overflow && n <= w->cap && w->n <= w->cap - n) {
        memset(w->out + w->n, 0, n);
    }

    bhttp_w_grow(w, n);
}


static void
bhttp_w_lstr(bhttp_writer_t *w, const confer_bhttp_str_t *s)
{
    bhttp_w_varint(w, s->len);
    bhttp_w_bytes(w, s->data, s->len);
}


/* RFC 9292, 3.6: names go out in lowercase */
static void
bhttp_w_name(bhttp_writer_t *w, const confer_bhttp_str_t *s)
{
    size_t   i;
    uint8_t  c;

    bhttp_w_varint(w, s->len);

    if (w->out && !w->overflow && s->len <= w->cap
        && w->n <= w->cap - s->len)
    {
        for (i = 0; i < s->len; i++) {
            c = s->data[i];
            w->out[w->n + i] = (c >= 'A' && c <= 'Z') ? c + 0x20 : c;
        }
    }

    bhttp_w_grow(w, s->len);
}


/* bytes of the field lines of a section, without its length or terminator */
static size_t
bhttp_fields_size(const confer_bhttp_field_t *f, size_t nf, int *overflow)
{
    size_t  i, n, add;

    n = 0;

    for (i = 0; i < nf; i++) {
        add = confer_varint_size(f[i].name.len) + f[i].name.len;
        if (add < f[i].name.len || n > SIZE_MAX - add) {
            *overflow = 1;
            return 0;
        }
        n += add;

        add = confer_varint_size(f[i].value.len) + f[i].value.len;
        if (add < f[i].value.len || n > SIZE_MAX - add) {
            *overflow = 1;
            return 0;
        }
        n += add;
    }

    return n;
}


/* RFC 9292, 3.1 (known-length) and 3.2 (indeterminate-length) sections */
static void
bhttp_w_fields(bhttp_writer_t *w, const confer_bhttp_field_t *f, size_t nf,
    int known)
{
    size_t  i;

    if (known) {
        bhttp_w_varint(w, bhttp_fields_size(f, nf, &w->overflow));
    }

    for (i = 0; i < nf; i++) {
        bhttp_w_name(w, &f[i].name);
        bhttp_w_varint(w, f[i].value.len);
        bhttp_w_bytes(w, f[i].value.data, f[i].value.len);
    }

    if (!known) {
        bhttp_w_varint(w, 0);
    }
}


static void
bhttp_w_content(bhttp_writer_t *w, const uint8_t *p, size_t n, int known)
{
    if (known) {
        bhttp_w_varint(w, n);
        bhttp_w_bytes(w, p, n);
        return;
    }

    /* RFC 9292, 3.2: non-empty chunks, then a zero terminator */
    if (n > 0) {
        bhttp_w_varint(w, n);
        bhttp_w_bytes(w, p, n);
    }

    bhttp_w_varint(w, 0);
}


static confer_bhttp_rc_t
bhttp_w_finish(bhttp_writer_t *w, size_t *len)
{
    if (w->overflow) {
        *len = 0;
        return CONFER_BHTTP_ERR_TOO_LARGE;
    }

    *len = w->n;

    if (w->out == NULL || w->n > w->cap) {
        return CONFER_BHTTP_ERR_SPACE;
    }

    return CONFER_BHTTP_OK;
}


/* --- whole-message encoders --------------------------------------------- */

/* RFC 9292, 3.4 and 3.6: what a request must be to be encoded */
static confer_bhttp_rc_t
bhttp_check_request(const confer_bhttp_request_t *r)
{
    size_t             i;
    confer_bhttp_rc_t  rc;

    /* RFC 9292, 3.4: the method is a token */
    if (r->method.len == 0 || r->method.data == NULL) {
        return CONFER_BHTTP_ERR_CONTROL;
    }

    for (i = 0; i < r->method.len; i++) {
        if (!bhttp_is_tchar(r->method.data[i])) {
            return CONFER_BHTTP_ERR_CONTROL;
        }
    }

    if ((r->scheme.data == NULL && r->scheme.len)
        || (r->authority.data == NULL && r->authority.len)
        || (r->path.data == NULL && r->path.len))
    {
        return CONFER_BHTTP_ERR_ARG;
    }

    if (bhttp_check_uri_part(&r->scheme) != CONFER_BHTTP_OK
        || bhttp_check_uri_part(&r->authority) != CONFER_BHTTP_OK
        || bhttp_check_uri_part(&r->path) != CONFER_BHTTP_OK)
    {
        return CONFER_BHTTP_ERR_CONTROL;
    }

    rc = bhttp_check_fields(r->headers, r->nheaders);
    if (rc != CONFER_BHTTP_OK) {
        return rc;
    }

    return bhttp_check_fields(r->trailers, r->ntrailers);
}


/* framing indicator, control data and header section */
static void
bhttp_w_request_head(bhttp_writer_t *w, const confer_bhttp_request_t *r,
    unsigned framing)
{
    bhttp_w_varint(w, framing);
    bhttp_w_lstr(w, &r->method);
    bhttp_w_lstr(w, &r->scheme);
    bhttp_w_lstr(w, &r->authority);
    bhttp_w_lstr(w, &r->path);
    bhttp_w_fields(w, r->headers, r->nheaders,
                   framing == CONFER_BHTTP_KNOWN_REQUEST);
}


confer_bhttp_rc_t
confer_bhttp_encode_request(const confer_bhttp_request_t *r, unsigned framing,
    size_t padding, uint8_t *out, size_t cap, size_t *len)
{
    int                known;
    bhttp_writer_t     w;
    confer_bhttp_rc_t  rc;

    if (r == NULL || len == NULL
        || (framing != CONFER_BHTTP_KNOWN_REQUEST
            && framing != CONFER_BHTTP_INDETERMINATE_REQUEST)
        || (r->content == NULL && r->content_len))
    {
        return CONFER_BHTTP_ERR_ARG;
    }

    rc = bhttp_check_request(r);
    if (rc != CONFER_BHTTP_OK) {
        return rc;
    }

    known = framing == CONFER_BHTTP_KNOWN_REQUEST;

    w.out = out;
    w.cap = out ? cap : 0;
    w.n = 0;
    w.overflow = 0;

    bhttp_w_request_head(&w, r, framing);
    bhttp_w_content(&w, r->content, r->content_len, known);
    bhttp_w_fields(&w, r->trailers, r->ntrailers, known);
    bhttp_w_zeros(&w, padding);

    return bhttp_w_finish(&w, len);
}


confer_bhttp_rc_t
confer_bhttp_encode_request_head(const confer_bhttp_request_t *r,
    size_t padding, uint8_t *out, size_t cap, size_t *len, size_t *tail)
{
    bhttp_writer_t     w;
    confer_bhttp_rc_t  rc;

    if (r == NULL || len == NULL || tail == NULL || r->ntrailers
        || padding > SIZE_MAX - 1)
    {
        return CONFER_BHTTP_ERR_ARG;
    }

    rc = bhttp_check_request(r);
    if (rc != CONFER_BHTTP_OK) {
        return rc;
    }

    w.out = out;
    w.cap = out ? cap : 0;
    w.n = 0;
    w.overflow = 0;

    /* RFC 9292, 3.1: known-length content is its length, then its bytes */
    bhttp_w_request_head(&w, r, CONFER_BHTTP_KNOWN_REQUEST);
    bhttp_w_varint(&w, r->content_len);

    /* an empty known-length trailer section (a zero length), padding */
    *tail = 1 + padding;

    return bhttp_w_finish(&w, len);
}


confer_bhttp_rc_t
confer_bhttp_encode_response(const confer_bhttp_response_t *r,
    unsigned framing, size_t padding, uint8_t *out, size_t cap, size_t *len)
{
    int                known;
    size_t             i;
    bhttp_writer_t     w;
    confer_bhttp_rc_t  rc;

    if (r == NULL || len == NULL
        || (framing != CONFER_BHTTP_KNOWN_RESPONSE
            && framing != CONFER_BHTTP_INDETERMINATE_RESPONSE)
        || (r->content == NULL && r->content_len)
        || (r->info == NULL && r->ninfo))
    {
        return CONFER_BHTTP_ERR_ARG;
    }

    /* RFC 9292, 3.5 and 3.5.1 */
    if (r->status < 200 || r->status > 599) {
        return CONFER_BHTTP_ERR_STATUS;
    }

    for (i = 0; i < r->ninfo; i++) {
        if (r->info[i].status < 100 || r->info[i].status > 199) {
            return CONFER_BHTTP_ERR_STATUS;
        }

        rc = bhttp_check_fields(r->info[i].fields, r->info[i].nfields);
        if (rc != CONFER_BHTTP_OK) {
            return rc;
        }
    }

    rc = bhttp_check_fields(r->headers, r->nheaders);
    if (rc != CONFER_BHTTP_OK) {
        return rc;
    }

    rc = bhttp_check_fields(r->trailers, r->ntrailers);
    if (rc != CONFER_BHTTP_OK) {
        return rc;
    }

    known = framing == CONFER_BHTTP_KNOWN_RESPONSE;

    w.out = out;
    w.cap = out ? cap : 0;
    w.n = 0;
    w.overflow = 0;

    bhttp_w_varint(&w, framing);

    for (i = 0; i < r->ninfo; i++) {
        bhttp_w_varint(&w, r->info[i].status);
        bhttp_w_fields(&w, r->info[i].fields, r->info[i].nfields, known);
    }

    bhttp_w_varint(&w, r->status);
    bhttp_w_fields(&w, r->headers, r->nheaders, known);
    bhttp_w_content(&w, r->content, r->content_len, known);
    bhttp_w_fields(&w, r->trailers, r->ntrailers, known);
    bhttp_w_zeros(&w, padding);

    return bhttp_w_finish(&w, len);
}


/* --- streaming response encoder, RFC 9292, 3.2 -------------------------- */

/*
 * RFC 9292, 3.2 and 3.5: the framing indicator before the first section,
 * then a status in [lo, hi] and its field section; the stream goes on in
 * state.
 */
static confer_bhttp_rc_t
bhttp_stream_head(confer_bhttp_stream_t *s, unsigned status, unsigned lo,
    unsigned hi, const confer_bhttp_field_t *fields, size_t nfields,
    unsigned state, uint8_t *out, size_t cap, size_t *len)
{
    bhttp_writer_t     w;
    confer_bhttp_rc_t  rc;

    if (s == NULL || len == NULL) {
        return CONFER_BHTTP_ERR_ARG;
    }

    if (s->state != SS_NEW && s->state != SS_INFO) {
        return CONFER_BHTTP_ERR_STATE;
    }

    if (status < lo || status > hi) {
        return CONFER_BHTTP_ERR_STATUS;
    }

    rc = bhttp_check_fields(fields, nfields);
    if (rc != CONFER_BHTTP_OK) {
        return rc;
    }

    w.out = out;
    w.cap = out ? cap : 0;
    w.n = 0;
    w.overflow = 0;

    if (s->state == SS_NEW) {
        bhttp_w_varint(&w, CONFER_BHTTP_INDETERMINATE_RESPONSE);
    }

    bhttp_w_varint(&w, status);
    bhttp_w_fields(&w, fields, nfields, 0);

    rc = bhttp_w_finish(&w, len);
    if (rc == CONFER_BHTTP_OK) {
        s->state = state;
    }

    return rc;
}


void
confer_bhttp_stream_init(confer_bhttp_stream_t *s)
{
    s->state = SS_NEW;
}


confer_bhttp_rc_t
confer_bhttp_stream_info(confer_bhttp_stream_t *s, unsigned status,
    const confer_bhttp_field_t *fields, size_t nfields, uint8_t *out,
    size_t cap, size_t *len)
{
    return bhttp_stream_head(s, status, 100, 199, fields, nfields, SS_INFO,
                             out, cap, len);
}


confer_bhttp_rc_t
confer_bhttp_stream_begin(confer_bhttp_stream_t *s, unsigned status,
    const confer_bhttp_field_t *headers, size_t nheaders, uint8_t *out,
    size_t cap, size_t *len)
{
    return bhttp_stream_head(s, status, 200, 599, headers, nheaders,
                             SS_CONTENT, out, cap, len);
}


confer_bhttp_rc_t
confer_bhttp_stream_content(confer_bhttp_stream_t *s, const uint8_t *p,
    size_t n, uint8_t *out, size_t cap, size_t *len)
{
    bhttp_writer_t  w;

    if (s == NULL || len == NULL || (p == NULL && n)) {
        return CONFER_BHTTP_ERR_ARG;
    }

    if (s->state != SS_CONTENT) {
        return CONFER_BHTTP_ERR_STATE;
    }

    if (n == 0) {
        *len = 0;
        return CONFER_BHTTP_OK;
    }

    w.out = out;
    w.cap = out ? cap : 0;
    w.n = 0;
    w.overflow = 0;

    bhttp_w_varint(&w, n);
    bhttp_w_bytes(&w, p, n);

    return bhttp_w_finish(&w, len);
}


confer_bhttp_rc_t
confer_bhttp_stream_end(confer_bhttp_stream_t *s,
    const confer_bhttp_field_t *trailers, size_t ntrailers, size_t padding,
    uint8_t *out, size_t cap, size_t *len)
{
    bhttp_writer_t     w;
    confer_bhttp_rc_t  rc;

    if (s == NULL || len == NULL) {
        return CONFER_BHTTP_ERR_ARG;
    }

    if (s->state != SS_CONTENT) {
        return CONFER_BHTTP_ERR_STATE;
    }

    rc = bhttp_check_fields(trailers, ntrailers);
    if (rc != CONFER_BHTTP_OK) {
        return rc;
    }

    w.out = out;
    w.cap = out ? cap : 0;
    w.n = 0;
    w.overflow = 0;

    bhttp_w_varint(&w, 0);
    bhttp_w_fields(&w, trailers, ntrailers, 0);
    bhttp_w_zeros(&w, padding);

    rc = bhttp_w_finish(&w, len);
    if (rc == CONFER_BHTTP_OK) {
        s->state = SS_ENDED;
    }

    return rc;
}


size_t
confer_bhttp_chunk_size(size_t n)
{
    if (n == 0) {
        return 0;
    }

    return confer_varint_size(n) + n;
}


/* --- decoder ------------------------------------------------------------ */

confer_bhttp_rc_t
confer_bhttp_decoder_init(confer_bhttp_decoder_t *d, int response,
    uint8_t *scratch, size_t scratch_size, const confer_bhttp_limits_t *limits)
{
    if (d == NULL || scratch == NULL || scratch_size < 2) {
        return CONFER_BHTTP_ERR_ARG;
    }

    memset(d, 0, sizeof(confer_bhttp_decoder_t));

    d->framing = -1;
    d->content_length = UINT64_MAX;
    d->scratch = scratch;
    d->scratch_size = scratch_size;
    d->response = response ? 1 : 0;
    d->state = ST_FRAMING;
    d->error = CONFER_BHTTP_OK;

    if (limits) {
        d->limits = *limits;
    }

    if (d->limits.max_section == 0) {
        d->limits.max_section = 65536;
    }

    if (d->limits.max_fields == 0) {
        d->limits.max_fields = 256;
    }

    if (d->limits.max_info == 0) {
        d->limits.max_info = 8;
    }

    if (d->limits.max_content == 0) {
        d->limits.max_content = UINT64_MAX;
    }

    return CONFER_BHTTP_OK;
}


/* reads a varint (RFC 9000, 16) split anywhere; 1 when complete in d->v */
static int
bhttp_varint(confer_bhttp_decoder_t *d, const uint8_t *p, size_t n, size_t *i)
{
    while (*i < n) {
        if (d->vgot == 0) {
            d->vneed = confer_varint_len(p[*i]);
            d->v = p[*i] & 0x3f;

        } else {
            d->v = (d->v << 8) | p[*i];
        }

        (*i)++;

        if (++d->vgot == d->vneed) {
            d->vgot = 0;
            return 1;
        }
    }

    return 0;
}


/* copies up to d->want bytes into scratch; returns the bytes taken */
static size_t
bhttp_copy(confer_bhttp_decoder_t *d, const uint8_t *p, size_t n)
{
    size_t  take;

    take = n < d->want ? n : (size_t) d->want;
    memcpy(d->scratch + d->used, p, take);
    d->used += take;
    d->want -= take;

    if (d->used > d->dirty) {
        d->dirty = d->used;
    }

    return take;
}


static confer_bhttp_rc_t
bhttp_fail(confer_bhttp_decoder_t *d, confer_bhttp_rc_t rc)
{
    d->error = rc;
    return rc;
}


static confer_bhttp_rc_t
bhttp_section_start(confer_bhttp_decoder_t *d, unsigned section)
{
    d->section = section;
    d->section_bytes = 0;
    d->section_fields = 0;
    d->step = FL_NAME_LEN;
    d->vgot = 0;

    /* RFC 9292, 3.3: even framing indicators are requests, odd responses;
       framing 0 and 1 are known-length */
    d->state = (d->framing < 2) ? ST_SECTION_LEN : ST_FIELD;

    return CONFER_BHTTP_OK;
}


static confer_bhttp_rc_t
bhttp_section_end(confer_bhttp_decoder_t *d, confer_bhttp_event_t *ev)
{
    switch (d->section) {

    case SEC_INFO:
        ev->type = CONFER_BHTTP_EV_INFO_END;
        d->state = ST_STATUS;
        d->vgot = 0;
        break;

    case SEC_HEADERS:
        d->state = ST_CONTENT_LEN;
        d->vgot = 0;

        if (d->framing < 2) {
            /* told once the content length is known, see confer_bhttp.h */
            d->headers_end_due = 1;
            ev->type = CONFER_BHTTP_EV_NONE;
            break;
        }

        ev->type = CONFER_BHTTP_EV_HEADERS_END;
        break;

    default: /* SEC_TRAILERS */
        ev->type = CONFER_BHTTP_EV_END;
        d->state = ST_PADDING;
        break;
    }

    return CONFER_BHTTP_OK;
}


/*
 * One field line, RFC 9292, 3.6.  In a known-length section the caller
 * passes no more than the section's remaining bytes.  Returns OK with an
 * event, AGAIN when it used all of n, or an error.
 */
static confer_bhttp_rc_t
bhttp_field(confer_bhttp_decoder_t *d, const uint8_t *p, size_t n,
    size_t *i, confer_bhttp_event_t *ev)
{
    size_t  k;

    for ( ;; ) {

        switch (d->step) {

        case FL_NAME_LEN:
            if (!bhttp_varint(d, p, n, i)) {
                return CONFER_BHTTP_AGAIN;
            }

            if (d->v == 0) {
                if (d->framing < 2) {
                    /* the name length of a field line is 1.. */
                    return CONFER_BHTTP_ERR_FIELD_NAME;
                }

                /* RFC 9292, 3.2: the section terminator */
                return bhttp_section_end(d, ev);
            }

            if (d->section_fields >= d->limits.max_fields
                || d->v > d->limits.max_section - d->section_bytes
                || d->v > d->scratch_size)
            {
                return CONFER_BHTTP_ERR_TOO_LARGE;
            }

            d->section_fields++;
            d->section_bytes += (size_t) d->v;
            d->used = 0;
            d->want = d->v;
            d->off[0] = 0;
            d->step = FL_NAME;
            break;

        case FL_NAME:
            k = bhttp_copy(d, p + *i, n - *i);

            /* checked as it arrives, so that the error is the same
               however the input is split */
            if (bhttp_check_name(d->scratch + d->used - k, k, 1)
                != CONFER_BHTTP_OK)
            {
                return CONFER_BHTTP_ERR_FIELD_NAME;
            }

            *i += k;

            if (d->want) {
                return CONFER_BHTTP_AGAIN;
            }

            d->off[1] = d->used;
            d->step = FL_VALUE_LEN;
            break;

        case FL_VALUE_LEN:
            if (!bhttp_varint(d, p, n, i)) {
                return CONFER_BHTTP_AGAIN;
            }

            if (d->v > d->limits.max_section - d->section_bytes
                || d->v > d->scratch_size - d->used)
            {
                return CONFER_BHTTP_ERR_TOO_LARGE;
            }

            d->section_bytes += (size_t) d->v;
            d->want = d->v;
            d->step = FL_VALUE;
            break;

        default: /* FL_VALUE */
            k = bhttp_copy(d, p + *i, n - *i);

            if (bhttp_check_value(d->scratch + d->used - k, k)
                != CONFER_BHTTP_OK)
            {
                return CONFER_BHTTP_ERR_FIELD_VALUE;
            }

            *i += k;

            if (d->want) {
                return CONFER_BHTTP_AGAIN;
            }

            d->step = FL_NAME_LEN;

            ev->name.data = d->scratch;
            ev->name.len = d->off[1];
            ev->value.data = d->scratch + d->off[1];
            ev->value.len = d->used - d->off[1];

            switch (d->section) {
            case SEC_INFO:
                ev->type = CONFER_BHTTP_EV_INFO_FIELD;
                break;
            case SEC_HEADERS:
                ev->type = CONFER_BHTTP_EV_FIELD;
                break;
            default:
                ev->type = CONFER_BHTTP_EV_TRAILER;
                break;
            }

            return CONFER_BHTTP_OK;
        }
    }
}


/* input is over: RFC 9292, 3.8 allows only empty trailing sections */
static confer_bhttp_rc_t
bhttp_eof(confer_bhttp_decoder_t *d)
{
    d->eof = 1;

    switch (d->state) {

    case ST_SECTION_LEN:
        if (d->vgot != 0 || d->section == SEC_INFO) {
            break;
        }

        d->state = (d->section == SEC_HEADERS) ? ST_EOF_HEADERS_END
                                               : ST_EOF_END;
        return CONFER_BHTTP_OK;

    case ST_FIELD:
        /* an indeterminate-length section that has not begun; a
           known-length one here still has bytes to come */
        if (d->framing < 2 || d->vgot != 0 || d->step != FL_NAME_LEN
            || d->section_fields != 0 || d->section == SEC_INFO)
        {
            break;
        }

        d->state = (d->section == SEC_HEADERS) ? ST_EOF_HEADERS_END
                                               : ST_EOF_END;
        return CONFER_BHTTP_OK;

    case ST_CONTENT_LEN:
        /* nothing of the content was read, not even a chunk */
        if (d->vgot != 0 || d->content_seen != 0
            || d->content_length != UINT64_MAX)
        {
            break;
        }

        d->state = d->headers_end_due ? ST_EOF_HEADERS_END : ST_EOF_END;
        d->headers_end_due = 0;
        return CONFER_BHTTP_OK;

    case ST_EOF_HEADERS_END:
    case ST_EOF_END:
    case ST_PADDING:
        return CONFER_BHTTP_OK;
    }

    return CONFER_BHTTP_ERR_TRUNCATED;
}


/*
 * The zero bytes at the start of p: 32 bytes a step, then one by one.  A
 * message's padding is up to a bucket's width (64 KiB), checked a byte at
 * a time it cost more than decoding the rest of a small message.
 */
static size_t
bhttp_zeros(const uint8_t *p, size_t n)
{
    size_t    i;
    uint64_t  w[4];

    i = 0;

    while (n - i >= sizeof(w)) {
        memcpy(w, p + i, sizeof(w));

        if ((w[0] | w[1] | w[2] | w[3]) != 0) {
            break;
        }

        i += sizeof(w);
    }

    while (i < n && p[i] == 0) {
        i++;
    }

    return i;
}


confer_bhttp_rc_t
confer_bhttp_next(confer_bhttp_decoder_t *d, const uint8_t *p, size_t n,
    int last, size_t *consumed, confer_bhttp_event_t *ev)
{
    size_t             i, avail, k, before;
    uint64_t           take;
    confer_bhttp_rc_t  rc;

    if (d == NULL || consumed == NULL || ev == NULL || (p == NULL && n)) {
        return CONFER_BHTTP_ERR_ARG;
    }

    *consumed = 0;
    memset(ev, 0, sizeof(confer_bhttp_event_t));

    if (d->error != CONFER_BHTTP_OK) {
        return d->error;
    }

    if (d->eof && n) {
        return bhttp_fail(d, CONFER_BHTTP_ERR_STATE);
    }

    i = 0;

    for ( ;; ) {

        switch (d->state) {

        case ST_EOF_HEADERS_END:
            ev->type = CONFER_BHTTP_EV_HEADERS_END;
            d->state = ST_EOF_END;
            *consumed = i;
            return CONFER_BHTTP_OK;

        case ST_EOF_END:
            ev->type = CONFER_BHTTP_EV_END;
            d->state = ST_PADDING;
            *consumed = i;
            return CONFER_BHTTP_OK;

        case ST_PADDING:
            /* RFC 9292, 3.8: padding is zero bytes */
            i += bhttp_zeros(p + i, n - i);

            if (i < n) {
                *consumed = i;
                return bhttp_fail(d, CONFER_BHTTP_ERR_PADDING);
            }

            *consumed = i;
            return (last || d->eof) ? CONFER_BHTTP_DONE : CONFER_BHTTP_AGAIN;

        case ST_FRAMING:
            if (!bhttp_varint(d, p, n, &i)) {
                goto more;
            }

            if (d->v > 3 || (d->v & 1) != d->response) {
                *consumed = i;
                return bhttp_fail(d, CONFER_BHTTP_ERR_FRAMING);
            }

            d->framing = (int) d->v;

            if (d->response) {
                d->state = ST_STATUS;

            } else {
                d->state = ST_CONTROL;
                d->step = 0;
                d->used = 0;
            }

            break;

        case ST_CONTROL:
            /* RFC 9292, 3.4: four length-prefixed strings */
            if ((d->step & 1) == 0) {
                if (!bhttp_varint(d, p, n, &i)) {
                    goto more;
                }

                if (d->v > d->scratch_size - d->used) {
                    *consumed = i;
                    return bhttp_fail(d, CONFER_BHTTP_ERR_TOO_LARGE);
                }

                d->off[d->step / 2] = d->used;
                d->want = d->v;
                d->step++;
                break;
            }

            k = bhttp_copy(d, p + i, n - i);
            i += k;

            if (d->want) {
                goto more;
            }

            d->step++;

            if (d->step < 8) {
                break;
            }

            d->off[4] = d->used;

            ev->method.data = d->scratch + d->off[0];
            ev->method.len = d->off[1] - d->off[0];
            ev->scheme.data = d->scratch + d->off[1];
            ev->scheme.len = d->off[2] - d->off[1];
            ev->authority.data = d->scratch + d->off[2];
            ev->authority.len = d->off[3] - d->off[2];
            ev->path.data = d->scratch + d->off[3];
            ev->path.len = d->off[4] - d->off[3];

            *consumed = i;

            if (ev->method.len == 0) {
                return bhttp_fail(d, CONFER_BHTTP_ERR_CONTROL);
            }

            for (k = 0; k < ev->method.len; k++) {
                if (!bhttp_is_tchar(ev->method.data[k])) {
                    return bhttp_fail(d, CONFER_BHTTP_ERR_CONTROL);
                }
            }

            if (bhttp_check_uri_part(&ev->scheme) != CONFER_BHTTP_OK
                || bhttp_check_uri_part(&ev->authority) != CONFER_BHTTP_OK
                || bhttp_check_uri_part(&ev->path) != CONFER_BHTTP_OK)
            {
                return bhttp_fail(d, CONFER_BHTTP_ERR_CONTROL);
            }

            ev->type = CONFER_BHTTP_EV_REQUEST;
            bhttp_section_start(d, SEC_HEADERS);

            return CONFER_BHTTP_OK;

        case ST_STATUS:
            /* RFC 9292, 3.5 and 3.5.1 */
            if (!bhttp_varint(d, p, n, &i)) {
                goto more;
            }

            *consumed = i;

            if (d->v >= 100 && d->v <= 199) {
                if (d->ninfo >= d->limits.max_info) {
                    return bhttp_fail(d, CONFER_BHTTP_ERR_TOO_LARGE);
                }

                d->ninfo++;
                ev->type = CONFER_BHTTP_EV_INFO;
                ev->status = (unsigned) d->v;
                bhttp_section_start(d, SEC_INFO);
                return CONFER_BHTTP_OK;
            }

            if (d->v >= 200 && d->v <= 599) {
                ev->type = CONFER_BHTTP_EV_STATUS;
                ev->status = (unsigned) d->v;
                bhttp_section_start(d, SEC_HEADERS);
                return CONFER_BHTTP_OK;
            }

            return bhttp_fail(d, CONFER_BHTTP_ERR_STATUS);

        case ST_SECTION_LEN:
            /* RFC 9292, 3.1: a known-length field section */
            if (!bhttp_varint(d, p, n, &i)) {
                goto more;
            }

            d->remaining = d->v;
            d->state = ST_FIELD;
            d->step = FL_NAME_LEN;
            break;

        case ST_FIELD:
            if (d->framing >= 2) {
                rc = bhttp_field(d, p, n, &i, ev);

            } else {
                if (d->remaining == 0) {
                    if (d->step != FL_NAME_LEN || d->vgot != 0) {
                        *consumed = i;
                        return bhttp_fail(d, CONFER_BHTTP_ERR_SECTION);
                    }

                    bhttp_section_end(d, ev);

                    if (ev->type == CONFER_BHTTP_EV_NONE) {
                        break;
                    }

                    *consumed = i;
                    return CONFER_BHTTP_OK;
                }

                avail = n - i;
                if (avail > d->remaining) {
                    avail = (size_t) d->remaining;
                }

                before = i;
                rc = bhttp_field(d, p, i + avail, &i, ev);
                d->remaining -= i - before;

                if (rc == CONFER_BHTTP_AGAIN && i < n) {
                    /* the section ended inside a field line */
                    *consumed = i;
                    return bhttp_fail(d, CONFER_BHTTP_ERR_SECTION);
                }
            }

            if (rc == CONFER_BHTTP_AGAIN) {
                goto more;
            }

            *consumed = i;

            if (rc != CONFER_BHTTP_OK) {
                return bhttp_fail(d, rc);
            }

            return CONFER_BHTTP_OK;

        case ST_CONTENT_LEN:
            /* RFC 9292, 3.1 and 3.2 */
            if (!bhttp_varint(d, p, n, &i)) {
                goto more;
            }

            if (d->framing < 2) {
                if (d->v > d->limits.max_content) {
                    *consumed = i;
                    return bhttp_fail(d, CONFER_BHTTP_ERR_TOO_LARGE);
                }

                d->content_length = d->v;
                d->remaining = d->v;

                if (d->v == 0) {
                    bhttp_section_start(d, SEC_TRAILERS);

                } else {
                    d->state = ST_CONTENT;
                }

                if (d->headers_end_due) {
                    d->headers_end_due = 0;
                    ev->type = CONFER_BHTTP_EV_HEADERS_END;
                    *consumed = i;
                    return CONFER_BHTTP_OK;
                }

                break;
            }

            if (d->v == 0) {
                bhttp_section_start(d, SEC_TRAILERS);
                break;
            }

            if (d->v > d->limits.max_content - d->content_seen) {
                *consumed = i;
                return bhttp_fail(d, CONFER_BHTTP_ERR_TOO_LARGE);
            }

            d->remaining = d->v;
            d->state = ST_CONTENT;
            break;

        case ST_CONTENT:
            if (i == n) {
                goto more;
            }

            take = n - i;
            if (take > d->remaining) {
                take = d->remaining;
            }

            ev->type = CONFER_BHTTP_EV_CONTENT;
            ev->data = p + i;
            ev->len = (size_t) take;

            i += (size_t) take;
            d->remaining -= take;
            d->content_seen += take;

            if (d->remaining == 0) {
                if (d->framing < 2) {
                    bhttp_section_start(d, SEC_TRAILERS);

                } else {
                    d->state = ST_CONTENT_LEN;
                    d->vgot = 0;
                }
            }

            *consumed = i;
            return CONFER_BHTTP_OK;

        default:
            return bhttp_fail(d, CONFER_BHTTP_ERR_STATE);
        }
    }

more:

    /* all of the input is used and no event is complete */

    *consumed = i;

    if (!last && !d->eof) {
        return CONFER_BHTTP_AGAIN;
    }

    rc = bhttp_eof(d);
    if (rc != CONFER_BHTTP_OK) {
        return bhttp_fail(d, rc);
    }

    /* the first event of the truncated message, or done */

    switch (d->state) {

    case ST_EOF_HEADERS_END:
        ev->type = CONFER_BHTTP_EV_HEADERS_END;
        d->state = ST_EOF_END;
        return CONFER_BHTTP_OK;

    case ST_EOF_END:
        ev->type = CONFER_BHTTP_EV_END;
        d->state = ST_PADDING;
        return CONFER_BHTTP_OK;

    default:
        return CONFER_BHTTP_DONE;
    }
}
