/*
 * Shared body of the BHTTP decoder fuzzers.  Input: one option byte, then
 * the message.  Checks, aborting on failure:
 *   - the events and the result are the same fed whole, byte by byte, and
 *     cut at places chosen from the option byte and the length;
 *   - a message that decodes, encoded again by our encoders in both
 *     framings with some padding, decodes to the same events;
 *   - a second, whole-buffer decoder (bhttp_ref.h) accepts exactly what
 *     ours accepts, with the same events.
 */

#ifndef CONFER_BHTTP_FUZZ_H
#define CONFER_BHTTP_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/bhttp_log.h"
#include "bhttp_ref.h"
#include "confer_bhttp.h"


typedef struct {
    uint8_t                *arena;
    size_t                  used;
    confer_bhttp_field_t   *fields;
    size_t                  nfields;
    size_t                  info_start[16];
    unsigned                info_status[16];
    size_t                  ninfo;
    size_t                  headers_start;
    size_t                  trailers_start;
    uint8_t                *content;
    size_t                  content_len;
    confer_bhttp_str_t      ctl[4];
    unsigned                status;
} fuzz_msg_t;


static void
fuzz_fail(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "%s\n--- first\n%s--- second\n%s", what, a, b);
    abort();
}


static confer_bhttp_str_t
fuzz_keep(fuzz_msg_t *m, const confer_bhttp_str_t *s)
{
    confer_bhttp_str_t  r;

    r.data = m->arena + m->used;
    r.len = s->len;
    if (s->len) {
        memcpy(m->arena + m->used, s->data, s->len);
    }
    m->used += s->len;

    return r;
}


/* decodes whole into m; returns the result */
static confer_bhttp_rc_t
fuzz_collect(int response, const uint8_t *p, size_t n, size_t scratch_size,
    fuzz_msg_t *m)
{
    size_t                  off, used, k;
    uint8_t                *scratch;
    confer_bhttp_rc_t       rc;
    confer_bhttp_event_t    ev;
    confer_bhttp_decoder_t  d;

    memset(m, 0, sizeof(fuzz_msg_t));
    m->arena = malloc(n + 1);
    m->fields = malloc((n / 2 + 1) * sizeof(confer_bhttp_field_t));
    m->content = malloc(n + 1);
    scratch = malloc(scratch_size);

    confer_bhttp_decoder_init(&d, response, scratch, scratch_size, NULL);
    off = 0;

    for ( ;; ) {
        rc = confer_bhttp_next(&d, p + off, n - off, 1, &used, &ev);
        off += used;

        if (rc != CONFER_BHTTP_OK) {
            break;
        }

        switch (ev.type) {
        case CONFER_BHTTP_EV_REQUEST:
            m->ctl[0] = fuzz_keep(m, &ev.method);
            m->ctl[1] = fuzz_keep(m, &ev.scheme);
            m->ctl[2] = fuzz_keep(m, &ev.authority);
            m->ctl[3] = fuzz_keep(m, &ev.path);
            m->headers_start = m->nfields;
            break;
        case CONFER_BHTTP_EV_INFO:
            k = m->ninfo++;
            m->info_status[k] = ev.status;
            m->info_start[k] = m->nfields;
            break;
        case CONFER_BHTTP_EV_STATUS:
            m->status = ev.status;
            m->headers_start = m->nfields;
            break;
        case CONFER_BHTTP_EV_INFO_FIELD:
        case CONFER_BHTTP_EV_FIELD:
        case CONFER_BHTTP_EV_TRAILER:
            m->fields[m->nfields].name = fuzz_keep(m, &ev.name);
            m->fields[m->nfields].value = fuzz_keep(m, &ev.value);
            m->nfields++;
            break;
        case CONFER_BHTTP_EV_HEADERS_END:
            m->trailers_start = m->nfields;
            break;
        case CONFER_BHTTP_EV_CONTENT:
            memcpy(m->content + m->content_len, ev.data, ev.len);
            m->content_len += ev.len;
            break;
        default:
            break;
        }
    }

    free(scratch);
    return rc;
}


static void
fuzz_free(fuzz_msg_t *m)
{
    free(m->arena);
    free(m->fields);
    free(m->content);
}


static char *
fuzz_log(int response, const uint8_t *p, size_t n, const size_t *cuts,
    size_t ncuts, size_t scratch)
{
    blog_t  l;

    memset(&l, 0, sizeof(l));
    blog_decode(&l, response, p, n, cuts, ncuts, NULL, scratch);
    return l.buf;
}


static int
fuzz_bhttp(int response, const uint8_t *data, size_t size)
{
    int                      framing, f, done;
    char                    *whole, *other;
    blog_t                   rl;
    size_t                   n, i, nc, scratch, *cuts, len, pad;
    uint8_t                 *out;
    uint32_t                 x;
    const uint8_t           *p;
    fuzz_msg_t               m;
    confer_bhttp_rc_t        rc;
    confer_bhttp_info_t      info[16];
    confer_bhttp_request_t   req;
    confer_bhttp_response_t  res;

    if (size < 1 || size > 65536) {
        return 0;
    }

    x = data[0] * 2654435761u + (uint32_t) size;
    scratch = (data[0] & 1) ? CONFER_BHTTP_SCRATCH_DEFAULT : 40;
    pad = data[0] >> 4;
    p = data + 1;
    n = size - 1;

    whole = fuzz_log(response, p, n, NULL, 0, scratch);

    /* byte by byte */
    cuts = calloc(n + 1, sizeof(size_t));
    for (i = 0; i < n; i++) {
        cuts[i] = i;
    }
    other = fuzz_log(response, p, n, cuts, n, scratch);
    if (strcmp(whole, other) != 0) {
        fuzz_fail("byte by byte differs", whole, other);
    }
    free(other);

    /* cut where the option byte says */
    nc = 0;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if (x % 5 == 0) {
            cuts[nc++] = i;
        }
    }
    other = fuzz_log(response, p, n, cuts, nc, scratch);
    if (strcmp(whole, other) != 0) {
        fuzz_fail("cut input differs", whole, other);
    }
    free(other);
    free(cuts);

    /* the result is the last line (values cannot hold a raw LF) */
    len = strlen(whole);
    done = len >= 8 && strcmp(whole + len - 8, "\n= done\n") == 0;

    if (scratch == CONFER_BHTTP_SCRATCH_DEFAULT) {
        memset(&rl, 0, sizeof(rl));
        blog_puts(&rl, "");
        if (ref_decode(response, p, n, &rl) != done) {
            fuzz_fail("the reference decoder disagrees", whole, rl.buf);
        }
        if (done && strcmp(whole, rl.buf) != 0) {
            fuzz_fail("the reference decoder logs otherwise", whole, rl.buf);
        }
        free(rl.buf);
    }

    if (!done) {
        free(whole);
        return 0;
    }

    /* encode it again, both framings, and decode that */
    rc = fuzz_collect(response, p, n, scratch, &m);
    if (rc != CONFER_BHTTP_DONE) {
        fuzz_fail("collecting differs", whole, confer_bhttp_strerror(rc));
    }

    for (f = 0; f < 2; f++) {
        framing = response + 2 * f;

        if (response) {
            memset(&res, 0, sizeof(res));
            for (i = 0; i < m.ninfo; i++) {
                info[i].status = m.info_status[i];
                info[i].fields = m.fields + m.info_start[i];
                info[i].nfields = (i + 1 < m.ninfo ? m.info_start[i + 1]
                                                   : m.headers_start)
                                  - m.info_start[i];
            }
            res.info = info;
            res.ninfo = m.ninfo;
            res.status = m.status;
            res.headers = m.fields + m.headers_start;
            res.nheaders = m.trailers_start - m.headers_start;
            res.content = m.content;
            res.content_len = m.content_len;
            res.trailers = m.fields + m.trailers_start;
            res.ntrailers = m.nfields - m.trailers_start;

            rc = confer_bhttp_encode_response(&res, framing, pad, NULL, 0,
                                              &len);
            out = malloc(len);
            rc = confer_bhttp_encode_response(&res, framing, pad, out, len,
                                              &len);

        } else {
            memset(&req, 0, sizeof(req));
            req.method = m.ctl[0];
            req.scheme = m.ctl[1];
            req.authority = m.ctl[2];
            req.path = m.ctl[3];
            req.headers = m.fields;
            req.nheaders = m.trailers_start;
            req.content = m.content;
            req.content_len = m.content_len;
            req.trailers = m.fields + m.trailers_start;
            req.ntrailers = m.nfields - m.trailers_start;

            rc = confer_bhttp_encode_request(&req, framing, pad, NULL, 0,
                                             &len);
            out = malloc(len);
            rc = confer_bhttp_encode_request(&req, framing, pad, out, len,
                                             &len);
        }

        if (rc != CONFER_BHTTP_OK) {
            fuzz_fail("a decoded message does not encode", whole,
                      confer_bhttp_strerror(rc));
        }

        other = fuzz_log(response, out, len, NULL, 0, scratch);
        if (strcmp(whole, other) != 0) {
            fuzz_fail("re-encoded message decodes differently", whole, other);
        }

        free(other);
        free(out);
    }

    fuzz_free(&m);
    free(whole);

    return 0;
}

#endif /* CONFER_BHTTP_FUZZ_H */
