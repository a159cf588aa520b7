/*
 * A canonical text log of BHTTP decoder events, shared by the unit test,
 * the fuzzers and the interop tool: two decodings are the same when their
 * logs are equal.  Adjacent CONTENT events are merged, so that the log does
 * not depend on how the input was split.  Header-only.
 */

#ifndef CONFER_BHTTP_LOG_H
#define CONFER_BHTTP_LOG_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confer_bhttp.h"


typedef struct {
    char    *buf;
    size_t   len;
    size_t   cap;
    int      in_content;
} blog_t;


static inline void
blog_putn(blog_t *l, const char *s, size_t n)
{
    char  *nb;

    if (l->len + n + 1 > l->cap) {
        l->cap = (l->len + n + 1) * 2;
        nb = realloc(l->buf, l->cap);
        if (nb == NULL) {
            abort();
        }
        l->buf = nb;
    }

    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len] = '\0';
}


static inline void
blog_puts(blog_t *l, const char *s)
{
    blog_putn(l, s, strlen(s));
}


/* bytes as printable ASCII, anything else as \xNN */
static inline void
blog_bytes(blog_t *l, const uint8_t *p, size_t n)
{
    size_t  i;
    char    tmp[8];

    for (i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
            blog_putn(l, (const char *) &p[i], 1);

        } else {
            snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
            blog_puts(l, tmp);
        }
    }
}


static inline void
blog_str(blog_t *l, const confer_bhttp_str_t *s)
{
    blog_bytes(l, s->data, s->len);
}


static inline void
blog_end_content(blog_t *l)
{
    if (l->in_content) {
        blog_puts(l, "\n");
        l->in_content = 0;
    }
}


static inline void
blog_event(blog_t *l, const confer_bhttp_event_t *ev)
{
    char  tmp[32];

    if (ev->type == CONFER_BHTTP_EV_CONTENT) {
        if (!l->in_content) {
            blog_puts(l, "content ");
            l->in_content = 1;
        }
        blog_bytes(l, ev->data, ev->len);
        return;
    }

    blog_end_content(l);

    switch (ev->type) {
    case CONFER_BHTTP_EV_REQUEST:
        blog_puts(l, "request ");
        blog_str(l, &ev->method);
        blog_puts(l, " ");
        blog_str(l, &ev->scheme);
        blog_puts(l, " ");
        blog_str(l, &ev->authority);
        blog_puts(l, " ");
        blog_str(l, &ev->path);
        break;
    case CONFER_BHTTP_EV_INFO:
        snprintf(tmp, sizeof(tmp), "info %u", ev->status);
        blog_puts(l, tmp);
        break;
    case CONFER_BHTTP_EV_STATUS:
        snprintf(tmp, sizeof(tmp), "status %u", ev->status);
        blog_puts(l, tmp);
        break;
    case CONFER_BHTTP_EV_INFO_FIELD:
    case CONFER_BHTTP_EV_FIELD:
    case CONFER_BHTTP_EV_TRAILER:
        blog_puts(l, ev->type == CONFER_BHTTP_EV_INFO_FIELD ? "info-field "
                     : ev->type == CONFER_BHTTP_EV_FIELD ? "field "
                     : "trailer ");
        blog_str(l, &ev->name);
        blog_puts(l, ": ");
        blog_str(l, &ev->value);
        break;
    case CONFER_BHTTP_EV_INFO_END:
        blog_puts(l, "info-end");
        break;
    case CONFER_BHTTP_EV_HEADERS_END:
        blog_puts(l, "headers-end");
        break;
    case CONFER_BHTTP_EV_END:
        blog_puts(l, "end");
        break;
    default:
        blog_puts(l, "?");
        break;
    }

    blog_puts(l, "\n");
}


static inline void
blog_result(blog_t *l, confer_bhttp_rc_t rc)
{
    blog_end_content(l);
    blog_puts(l, "= ");
    blog_puts(l, confer_bhttp_strerror(rc));
    blog_puts(l, "\n");
}


/*
 * Decodes p[0..n) fed in pieces that end at cuts[0..ncuts) (ascending, each
 * <= n) and then at n; logs every event and the final result.
 */
static inline confer_bhttp_rc_t
blog_decode(blog_t *l, int response, const uint8_t *p, size_t n,
    const size_t *cuts, size_t ncuts, const confer_bhttp_limits_t *limits,
    size_t scratch_size)
{
    int                     last;
    size_t                  k, from, to, used;
    uint8_t                *scratch;
    confer_bhttp_rc_t       rc;
    confer_bhttp_event_t    ev;
    confer_bhttp_decoder_t  d;

    scratch = malloc(scratch_size);
    if (scratch == NULL) {
        abort();
    }

    rc = confer_bhttp_decoder_init(&d, response, scratch, scratch_size,
                                   limits);
    if (rc != CONFER_BHTTP_OK) {
        free(scratch);
        blog_result(l, rc);
        return rc;
    }

    from = 0;

    for (k = 0; k <= ncuts; k++) {
        to = (k < ncuts) ? cuts[k] : n;
        if (to < from) {
            to = from;
        }
        last = (k == ncuts);

        for ( ;; ) {
            rc = confer_bhttp_next(&d, p + from, to - from, last, &used, &ev);
            from += used;

            if (rc == CONFER_BHTTP_OK) {
                blog_event(l, &ev);
                continue;
            }

            if (rc == CONFER_BHTTP_AGAIN && !last) {
                break;
            }

            goto done;
        }
    }

    rc = CONFER_BHTTP_ERR_STATE;

done:

    free(scratch);
    blog_result(l, rc);
    return rc;
}

#endif /* CONFER_BHTTP_LOG_H */
