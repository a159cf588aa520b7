/*
 * An incremental HTTP/1.1 response reader, RFC 9112.  No nginx header.
 */

#include <string.h>

#include "confer_http1.h"


enum {
    st_version = 0,
    st_minor,
    st_sp_before_status,
    st_status,
    st_after_status,
    st_reason,
    st_status_lf,
    st_field_start,
    st_name,
    st_ows,
    st_value,
    st_field_lf,
    st_header_end_lf,
    st_body_length,
    st_body_close,
    st_chunk_size,
    st_chunk_ext,
    st_chunk_size_lf,
    st_chunk_data,
    st_chunk_data_cr,
    st_chunk_data_lf,
    st_trailer_start,
    st_trailer_line,
    st_trailer_lf,
    st_trailer_end_lf,
    st_done,
    st_error
};


/* the header fields this reader acts on, as bits of h->field */
#define CONFER_HTTP1_CONTENT_LENGTH     0x01
#define CONFER_HTTP1_TRANSFER_ENCODING  0x02

static const char  *confer_http1_fields[] = {
    "content-length",
    "transfer-encoding"
};

#define CONFER_HTTP1_NFIELDS                                                  \
    (sizeof(confer_http1_fields) / sizeof(confer_http1_fields[0]))


static const char  *confer_http1_errors[] = {
    "need more input",
    "complete",
    "bad status line",
    "bad header field",
    "header section too large",
    "bad or conflicting content length",
    "unsupported transfer coding",
    "bad chunked framing",
    "body too large",
    "connection closed before the end of the response",
    "unexpected protocol upgrade"
};


static confer_http1_err_t confer_http1_fail(confer_http1_t *h,
    confer_http1_err_t err);
static confer_http1_err_t confer_http1_end_field(confer_http1_t *h);
static confer_http1_err_t confer_http1_end_header(confer_http1_t *h,
    size_t room);
static void confer_http1_name_char(confer_http1_t *h, uint8_t ch);
static int confer_http1_tchar(uint8_t ch);
static int confer_http1_ctl(uint8_t ch);
static int confer_http1_hex(uint8_t ch);


const char *
confer_http1_strerror(confer_http1_err_t err)
{
    if ((unsigned) err >= CONFER_HTTP1_ERR_LAST) {
        return "unknown error";
    }

    return confer_http1_errors[err];
}


void
confer_http1_init(confer_http1_t *h)
{
    memset(h, 0, sizeof(confer_http1_t));
    h->content_length = -1;
    h->state = st_version;
}


confer_http1_err_t
confer_http1_parse(confer_http1_t *h, const uint8_t *p, size_t n,
    size_t *used, uint8_t *body, size_t cap, size_t *body_len)
{
    size_t              i, m, room;
    uint8_t             ch, lc;
    unsigned            k;
    confer_http1_err_t  rc;

    *used = 0;

    if (h->state == st_error) {
        return h->err;
    }

    if (h->state == st_done) {
        return CONFER_HTTP1_DONE;
    }

    room = *body_len < cap ? cap - *body_len : 0;
    i = 0;

    while (i < n) {

        ch = p[i];

        /* RFC 9112, 2-5: the status line, field lines and trailers */
        if (!h->header_done || h->state >= st_trailer_start) {
            if (++h->header_bytes > CONFER_HTTP1_MAX_HEADER) {
                return confer_http1_fail(h,
                                         CONFER_HTTP1_ERR_HEADER_TOO_LARGE);
            }
        }

        switch (h->state) {

        /* RFC 9112, 4: status-line = HTTP-version SP status-code SP
         * [ reason-phrase ] */
        case st_version:
            if (ch != (uint8_t) "HTTP/1."[h->digits]) {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_STATUS_LINE);
            }

            if (++h->digits == sizeof("HTTP/1.") - 1) {
                h->state = st_minor;
            }

            i++;
            break;

        case st_minor:
            if (ch < '0' || ch > '9') {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_STATUS_LINE);
            }

            h->minor = ch - '0';
            h->state = st_sp_before_status;
            i++;
            break;

        case st_sp_before_status:
            if (ch != ' ') {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_STATUS_LINE);
            }

            h->status = 0;
            h->digits = 0;
            h->state = st_status;
            i++;
            break;

        case st_status:
            if (ch < '0' || ch > '9') {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_STATUS_LINE);
            }

            h->status = h->status * 10 + (ch - '0');

            if (++h->digits == 3) {
                if (h->status < 100) {
                    return confer_http1_fail(h,
                                             CONFER_HTTP1_ERR_STATUS_LINE);
                }

                h->state = st_after_status;
            }

            i++;
            break;

        case st_after_status:
            if (ch == ' ') {
                h->state = st_reason;

            } else if (ch == '\r') {
                h->state = st_status_lf;

            } else if (ch == '\n') {
                h->state = st_field_start;

            } else {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_STATUS_LINE);
            }

            i++;
            break;

        case st_reason:
            if (ch == '\r') {
                h->state = st_status_lf;

            } else if (ch == '\n') {
                h->state = st_field_start;

            } else if (confer_http1_ctl(ch)) {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_STATUS_LINE);
            }

            i++;
            break;

        case st_status_lf:
            if (ch != '\n') {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_STATUS_LINE);
            }

            h->state = st_field_start;
            i++;
            break;

        /* RFC 9112, 5: field-line = field-name ":" OWS field-value OWS */
        case st_field_start:
            i++;

            if (ch == '\r') {
                h->state = st_header_end_lf;
                break;
            }

            if (ch == '\n') {
                rc = confer_http1_end_header(h, room);
                if (rc != CONFER_HTTP1_AGAIN) {
                    *used = i;
                    return rc;
                }
                break;
            }

            /* a line starting with whitespace is obs-fold: refused, 5.2 */
            if (!confer_http1_tchar(ch)) {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_HEADER);
            }

            h->field = (1u << CONFER_HTTP1_NFIELDS) - 1;
            h->name_len = 0;
            confer_http1_name_char(h, ch);
            h->state = st_name;
            break;

        case st_name:
            i++;

            if (ch == ':') {

                for (k = 0; k < CONFER_HTTP1_NFIELDS; k++) {
                    if (strlen(confer_http1_fields[k]) != h->name_len) {
                        h->field &= ~(1u << k);
                    }
                }

                h->value = 0;
                h->digits = 0;
                h->ows = 0;
                h->te_len = 0;
                h->state = st_ows;
                break;
            }

            /* no whitespace before the colon, 5.1 */
            if (!confer_http1_tchar(ch)) {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_HEADER);
            }

            confer_http1_name_char(h, ch);
            break;

        case st_ows:
            if (ch == ' ' || ch == '\t') {
                i++;
                break;
            }

            h->state = st_value;

            /* fall through */

        case st_value:
            i++;

            if (ch == '\r') {
                h->state = st_field_lf;
                break;
            }

            if (ch == '\n') {
                rc = confer_http1_end_field(h);
                if (rc != CONFER_HTTP1_AGAIN) {
                    return rc;
                }
                break;
            }

            if (confer_http1_ctl(ch)) {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_HEADER);
            }

            /* RFC 9110, 8.6: Content-Length = 1*DIGIT */
            if (h->field & CONFER_HTTP1_CONTENT_LENGTH) {

                if (ch >= '0' && ch <= '9' && !h->ows) {
                    if (h->value > (INT64_MAX - 9) / 10) {
                        return confer_http1_fail(h, CONFER_HTTP1_ERR_LENGTH);
                    }

                    h->value = h->value * 10 + (ch - '0');
                    h->digits++;

                } else if ((ch == ' ' || ch == '\t') && h->digits > 0) {
                    h->ows = 1;

                } else {
                    return confer_http1_fail(h, CONFER_HTTP1_ERR_LENGTH);
                }
            }

            if (h->field & CONFER_HTTP1_TRANSFER_ENCODING) {

                if (h->te_len == sizeof(h->te)) {
                    return confer_http1_fail(h, CONFER_HTTP1_ERR_ENCODING);
                }

                lc = (ch >= 'A' && ch <= 'Z') ? ch | 0x20 : ch;
                h->te[h->te_len++] = (char) lc;
            }

            break;

        case st_field_lf:
            if (ch != '\n') {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_HEADER);
            }

            i++;

            rc = confer_http1_end_field(h);
            if (rc != CONFER_HTTP1_AGAIN) {
                return rc;
            }

            break;

        case st_header_end_lf:
            if (ch != '\n') {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_HEADER);
            }

            i++;

            rc = confer_http1_end_header(h, room);
            if (rc != CONFER_HTTP1_AGAIN) {
                *used = i;
                return rc;
            }

            break;

        /* RFC 9112, 6.3: the message body length */
        case st_body_length:
            m = n - i;
            if (m > h->left) {
                m = (size_t) h->left;
            }

            if (m > room) {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_BODY_TOO_LARGE);
            }

            memcpy(body + *body_len, p + i, m);
            *body_len += m;
            room -= m;
            h->left -= m;
            i += m;

            if (h->left == 0) {
                h->state = st_done;
                *used = i;
                return CONFER_HTTP1_DONE;
            }

            break;

        case st_body_close:
            m = n - i;

            /* up to the cap first, so that the outcome is split-invariant */
            if (m > room) {
                memcpy(body + *body_len, p + i, room);
                *body_len += room;
                return confer_http1_fail(h, CONFER_HTTP1_ERR_BODY_TOO_LARGE);
            }

            memcpy(body + *body_len, p + i, m);
            *body_len += m;
            room -= m;
            i += m;
            break;

        /* RFC 9112, 7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data
         * CRLF; last-chunk = 1*"0" [ chunk-ext ] CRLF */
        case st_chunk_size:
            i++;

            if (confer_http1_hex(ch) >= 0) {
                /* 16 hex digits would not fit; no cap is that large */
                if (++h->digits > 15) {
                    return confer_http1_fail(h, CONFER_HTTP1_ERR_CHUNK);
                }

                h->left = h->left * 16 + (uint64_t) confer_http1_hex(ch);
                break;
            }

            if (h->digits == 0) {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_CHUNK);
            }

            if (ch == ';' || ch == ' ' || ch == '\t') {
                h->state = st_chunk_ext;
                break;
            }

            if (ch == '\r') {
                h->state = st_chunk_size_lf;
                break;
            }

            if (ch != '\n') {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_CHUNK);
            }

            goto chunk_size_done;

        case st_chunk_ext:
            i++;

            if (ch == '\r') {
                h->state = st_chunk_size_lf;
                break;
            }

            if (ch == '\n') {
                goto chunk_size_done;
            }

            if (confer_http1_ctl(ch)) {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_CHUNK);
            }

            break;

        case st_chunk_size_lf:
            i++;

            if (ch != '\n') {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_CHUNK);
            }

        chunk_size_done:

            if (h->left == 0) {
                h->state = st_trailer_start;
                break;
            }

            if (h->left > room) {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_BODY_TOO_LARGE);
            }

            h->state = st_chunk_data;
            break;

        case st_chunk_data:
            m = n - i;
            if (m > h->left) {
                m = (size_t) h->left;
            }

            memcpy(body + *body_len, p + i, m);
            *body_len += m;
            room -= m;
            h->left -= m;
            i += m;

            if (h->left == 0) {
                h->state = st_chunk_data_cr;
            }

            break;

        case st_chunk_data_cr:
            i++;

            if (ch == '\r') {
                h->state = st_chunk_data_lf;
                break;
            }

            if (ch != '\n') {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_CHUNK);
            }

            h->digits = 0;
            h->state = st_chunk_size;
            break;

        case st_chunk_data_lf:
            i++;

            if (ch != '\n') {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_CHUNK);
            }

            h->digits = 0;
            h->state = st_chunk_size;
            break;

        /* RFC 9112, 7.1.2: trailer-section, read and dropped */
        case st_trailer_start:
            i++;

            if (ch == '\r') {
                h->state = st_trailer_end_lf;
                break;
            }

            if (ch == '\n') {
                h->state = st_done;
                *used = i;
                return CONFER_HTTP1_DONE;
            }

            if (!confer_http1_tchar(ch)) {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_CHUNK);
            }

            h->state = st_trailer_line;
            break;

        case st_trailer_line:
            i++;

            if (ch == '\r') {
                h->state = st_trailer_lf;

            } else if (ch == '\n') {
                h->state = st_trailer_start;

            } else if (confer_http1_ctl(ch)) {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_CHUNK);
            }

            break;

        case st_trailer_lf:
            i++;

            if (ch != '\n') {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_CHUNK);
            }

            h->state = st_trailer_start;
            break;

        case st_trailer_end_lf:
            i++;

            if (ch != '\n') {
                return confer_http1_fail(h, CONFER_HTTP1_ERR_CHUNK);
            }

            h->state = st_done;
            *used = i;
            return CONFER_HTTP1_DONE;

        default:
            return confer_http1_fail(h, CONFER_HTTP1_ERR_LAST);
        }
    }

    *used = n;

    return CONFER_HTTP1_AGAIN;
}


confer_http1_err_t
confer_http1_eof(confer_http1_t *h)
{
    if (h->state == st_error) {
        return h->err;
    }

    if (h->state == st_done || h->state == st_body_close) {
        h->state = st_done;
        return CONFER_HTTP1_DONE;
    }

    return confer_http1_fail(h, CONFER_HTTP1_ERR_TRUNCATED);
}


static confer_http1_err_t
confer_http1_fail(confer_http1_t *h, confer_http1_err_t err)
{
    h->state = st_error;
    h->err = err;

    return err;
}


static confer_http1_err_t
confer_http1_end_field(confer_http1_t *h)
{
    if (h->field & CONFER_HTTP1_CONTENT_LENGTH) {

        /* RFC 9112, 6.3, 5: a list or several different values */
        if (h->digits == 0
            || (h->content_length >= 0 && h->content_length != h->value))
        {
            return confer_http1_fail(h, CONFER_HTTP1_ERR_LENGTH);
        }

        h->content_length = h->value;
    }

    if (h->field & CONFER_HTTP1_TRANSFER_ENCODING) {

        while (h->te_len > 0
               && (h->te[h->te_len - 1] == ' ' || h->te[h->te_len - 1] == '\t'))
        {
            h->te_len--;
        }

        /* chunked once, and nothing else: we ask for no other coding */
        if (h->te_seen
            || h->te_len != sizeof("chunked") - 1
            || memcmp(h->te, "chunked", sizeof("chunked") - 1) != 0)
        {
            return confer_http1_fail(h, CONFER_HTTP1_ERR_ENCODING);
        }

        h->te_seen = 1;
    }

    h->field = 0;
    h->state = st_field_start;

    return CONFER_HTTP1_AGAIN;
}


static confer_http1_err_t
confer_http1_end_header(confer_http1_t *h, size_t room)
{
    /* RFC 9110, 15.2: interim responses precede the final one */
    if (h->status < 200) {

        if (h->status == 101) {
            return confer_http1_fail(h, CONFER_HTTP1_ERR_UPGRADE);
        }

        h->content_length = -1;
        h->te_seen = 0;
        h->digits = 0;
        h->state = st_version;

        return CONFER_HTTP1_AGAIN;
    }

    h->header_done = 1;

    /* RFC 9112, 6.3, 3: both is a smuggling attempt, an error here */
    if (h->te_seen) {

        if (h->content_length >= 0) {
            return confer_http1_fail(h, CONFER_HTTP1_ERR_LENGTH);
        }

        h->body = CONFER_HTTP1_BODY_CHUNKED;
        h->digits = 0;
        h->left = 0;
        h->state = st_chunk_size;

        return CONFER_HTTP1_AGAIN;
    }

    /* RFC 9112, 6.3, 1 */
    if (h->status == 204 || h->status == 304) {
        h->body = CONFER_HTTP1_BODY_NONE;
        h->state = st_done;

        return CONFER_HTTP1_DONE;
    }

    if (h->content_length >= 0) {

        if ((uint64_t) h->content_length > room) {
            return confer_http1_fail(h, CONFER_HTTP1_ERR_BODY_TOO_LARGE);
        }

        h->body = CONFER_HTTP1_BODY_LENGTH;
        h->left = (uint64_t) h->content_length;

        if (h->left == 0) {
            h->state = st_done;
            return CONFER_HTTP1_DONE;
        }

        h->state = st_body_length;

        return CONFER_HTTP1_AGAIN;
    }

    /* RFC 9112, 6.3, 8 */
    h->body = CONFER_HTTP1_BODY_CLOSE;
    h->state = st_body_close;

    return CONFER_HTTP1_AGAIN;
}


/* narrows the known fields the name being read may still be */
static void
confer_http1_name_char(confer_http1_t *h, uint8_t ch)
{
    unsigned  k;

    if (ch >= 'A' && ch <= 'Z') {
        ch |= 0x20;
    }

    for (k = 0; k < CONFER_HTTP1_NFIELDS; k++) {
        if (h->name_len >= strlen(confer_http1_fields[k])
            || (uint8_t) confer_http1_fields[k][h->name_len] != ch)
        {
            h->field &= ~(1u << k);
        }
    }

    h->name_len++;
}


/* RFC 9110, 5.6.2 */
static int
confer_http1_tchar(uint8_t ch)
{
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')
        || (ch >= 'A' && ch <= 'Z'))
    {
        return 1;
    }

    return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}


/* a control character other than HTAB: never inside a field value */
static int
confer_http1_ctl(uint8_t ch)
{
    return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}


static int
confer_http1_hex(uint8_t ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }

    ch |= 0x20;

    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }

    return -1;
}
