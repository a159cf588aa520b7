/*
 * A second BHTTP decoder for the fuzzers to compare with: whole-buffer,
 * recursive descent, written straight from RFC 9292's figures, with the
 * default limits of confer_bhttp.h.  It logs in the form of bhttp_log.h;
 * a message both accept must give the same log, and a message one of them
 * refuses the other must refuse too.  Header-only.
 */

#ifndef CONFER_BHTTP_REF_H
#define CONFER_BHTTP_REF_H

#include <string.h>

#include "../unit/bhttp_log.h"


typedef struct {
    const uint8_t  *p;
    size_t          n;
    size_t          pos;
    blog_t         *log;
    size_t          limit;      /* end of a known-length section */
} ref_t;


static int
ref_varint(ref_t *r, uint64_t *v)
{
    size_t  len, i;

    if (r->pos >= r->limit) {
        return 0;
    }

    len = (size_t) 1 << (r->p[r->pos] >> 6);
    if (r->pos + len > r->limit) {
        return 0;
    }

    *v = r->p[r->pos] & 0x3f;
    for (i = 1; i < len; i++) {
        *v = (*v << 8) | r->p[r->pos + i];
    }
    r->pos += len;

    return 1;
}


static int
ref_bytes(ref_t *r, uint64_t len, confer_bhttp_str_t *s)
{
    if (len > r->limit - r->pos) {
        return 0;
    }

    s->data = r->p + r->pos;
    s->len = (size_t) len;
    r->pos += (size_t) len;

    return 1;
}


static int
ref_token(const confer_bhttp_str_t *s, int lower)
{
    size_t  i;
    uint8_t c;

    for (i = 0; i < s->len; i++) {
        c = s->data[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
              || (!lower && c >= 'A' && c <= 'Z')
              || (c && strchr("!#$%&'*+-.^_`|~", c))))
        {
            return 0;
        }
    }

    return s->len > 0;
}


static int
ref_visible(const confer_bhttp_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] <= 0x20 || s->data[i] >= 0x7f) {
            return 0;
        }
    }

    return 1;
}


/* one section of field lines (RFC 9292, 3.6); 0 on any error */
static int
ref_section(ref_t *r, int known, confer_bhttp_event_type_t type)
{
    size_t                nf, bytes, i, end;
    uint64_t              v;
    confer_bhttp_event_t  ev;

    nf = 0;
    bytes = 0;
    end = r->n;

    if (known) {
        if (!ref_varint(r, &v) || v > r->n - r->pos) {
            return 0;
        }
        end = r->pos + (size_t) v;
    }

    for ( ;; ) {
        if (known && r->pos == end) {
            return 1;
        }

        r->limit = end;

        if (!ref_varint(r, &v)) {
            return 0;
        }

        if (v == 0) {
            r->limit = r->n;
            return !known;
        }

        memset(&ev, 0, sizeof(ev));
        ev.type = type;

        if (!ref_bytes(r, v, &ev.name) || !ref_token(&ev.name, 1)) {
            return 0;
        }

        if (!ref_varint(r, &v) || !ref_bytes(r, v, &ev.value)) {
            return 0;
        }

        for (i = 0; i < ev.value.len; i++) {
            if ((ev.value.data[i] < 0x20 && ev.value.data[i] != '\t')
                || ev.value.data[i] == 0x7f)
            {
                return 0;
            }
        }

        bytes += ev.name.len + ev.value.len;
        if (++nf > 256 || bytes > 65536
            || ev.name.len + ev.value.len > CONFER_BHTTP_SCRATCH_DEFAULT)
        {
            return 0;
        }

        r->limit = r->n;
        blog_event(r->log, &ev);
    }
}


/* 1 when the whole message is valid (its log then ends "= done") */
static int
ref_decode(int response, const uint8_t *p, size_t n, blog_t *log)
{
    int                   known;
    size_t                k, ctl;
    uint64_t              v, status;
    ref_t                 r;
    confer_bhttp_str_t    s[4];
    confer_bhttp_event_t  ev;

    memset(&r, 0, sizeof(r));
    r.p = p;
    r.n = n;
    r.limit = n;
    r.log = log;

    /* RFC 9292, 3.3 */
    if (!ref_varint(&r, &v) || v > 3 || (int) (v & 1) != response) {
        return 0;
    }
    known = v < 2;

    memset(&ev, 0, sizeof(ev));

    if (!response) {
        /* RFC 9292, 3.4 */
        ctl = 0;
        for (k = 0; k < 4; k++) {
            if (!ref_varint(&r, &v) || !ref_bytes(&r, v, &s[k])) {
                return 0;
            }
            ctl += s[k].len;
        }

        if (ctl > CONFER_BHTTP_SCRATCH_DEFAULT || !ref_token(&s[0], 0)
            || !ref_visible(&s[1]) || !ref_visible(&s[2])
            || !ref_visible(&s[3]))
        {
            return 0;
        }

        ev.type = CONFER_BHTTP_EV_REQUEST;
        ev.method = s[0];
        ev.scheme = s[1];
        ev.authority = s[2];
        ev.path = s[3];
        blog_event(log, &ev);

    } else {
        /* RFC 9292, 3.5 and 3.5.1 */
        for (k = 0; ; k++) {
            if (!ref_varint(&r, &status)) {
                return 0;
            }

            if (status < 100 || status > 599) {
                return 0;
            }

            memset(&ev, 0, sizeof(ev));
            ev.status = (unsigned) status;

            if (status >= 200) {
                ev.type = CONFER_BHTTP_EV_STATUS;
                blog_event(log, &ev);
                break;
            }

            if (k == 8) {
                return 0;
            }

            ev.type = CONFER_BHTTP_EV_INFO;
            blog_event(log, &ev);

            if (!ref_section(&r, known, CONFER_BHTTP_EV_INFO_FIELD)) {
                return 0;
            }

            ev.type = CONFER_BHTTP_EV_INFO_END;
            blog_event(log, &ev);
        }
    }

    /* RFC 9292, 3.8: from here on, the end of the input ends the message */

    memset(&ev, 0, sizeof(ev));

    if (r.pos < n
        && !ref_section(&r, known, CONFER_BHTTP_EV_FIELD))
    {
        return 0;
    }

    ev.type = CONFER_BHTTP_EV_HEADERS_END;
    blog_event(log, &ev);

    if (r.pos < n) {
        if (!ref_varint(&r, &v)) {
            return 0;
        }

        if (known) {
            if (v > n - r.pos) {
                return 0;
            }
            if (v) {
                ev.type = CONFER_BHTTP_EV_CONTENT;
                ev.data = p + r.pos;
                ev.len = (size_t) v;
                blog_event(log, &ev);
            }
            r.pos += (size_t) v;

        } else {
            while (v != 0) {
                if (v > n - r.pos) {
                    return 0;
                }
                ev.type = CONFER_BHTTP_EV_CONTENT;
                ev.data = p + r.pos;
                ev.len = (size_t) v;
                blog_event(log, &ev);
                r.pos += (size_t) v;

                if (!ref_varint(&r, &v)) {
                    return 0;
                }
            }
        }

        if (r.pos < n
            && !ref_section(&r, known, CONFER_BHTTP_EV_TRAILER))
        {
            return 0;
        }
    }

    memset(&ev, 0, sizeof(ev));
    ev.type = CONFER_BHTTP_EV_END;
    blog_event(log, &ev);

    for ( /* void */ ; r.pos < n; r.pos++) {
        if (p[r.pos] != 0) {
            return 0;
        }
    }

    blog_result(log, CONFER_BHTTP_DONE);

    return 1;
}

#endif /* CONFER_BHTTP_REF_H */
