
/*
 * ngx_confer_module: the gateway opens the terminator's answer.
 *
 * Only the main request of a confer_seal location whose request went out
 * sealed is touched; everything else passes by.
 *
 * Header filter: the outer response comes through untrusted hops and is
 * never passed on as it is.  A sealed answer (200, message/ohttp-chunked-res
 * or message/ohttp-res) is opened; a 400 application/problem+json may be
 * the terminator's key problem (RFC 9458, 5.3); anything else (a hop's 502
 * or 413, garbage, nginx's own error when the terminator cannot be
 * reached) becomes an OpenAI-style 502.  The client's headers wait, as with
 * image_filter: this filter does not call the next one, the body filter
 * does once it knows what to send.
 *
 * Body filter, sealed answers (draft-ietf-ohai-chunked-ohttp-08, 6.2):
 * each chunk is opened once it is complete and its tag verified
 * (confer_chunked.h), and its plaintext decoded as Binary HTTP (RFC 9292).
 * The first chunk holds the inner status and header section, which become
 * the response's own (content-type and the headers OpenAI clients read),
 * and the next header filter runs: at once for an event stream, with the
 * content for a whole answer (which the terminator sends in the final
 * chunk).  Then each chunk's content goes to the
 * client at once, flushed, so that postpone_output holds no event back,
 * with the SSE padding lines of a text/event-stream removed
 * (confer_pad_strip).  Errors of the model server (400, 429, 500) are inner
 * responses like any other and arrive as the model server sent them.
 *
 * A stream that ends without its authenticated final chunk, a chunk that
 * does not verify, a message that does not decode: before the client has
 * headers it gets a 502; after, its connection is closed with the response
 * unterminated.  Never a clean-looking truncation.  A key problem drops the
 * terminator's key (the next request attests it again) and the client gets
 * a 503 with Retry-After, which the OpenAI SDKs retry.
 *
 * Plaintext copies made here are zeroed when the request ends.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_confer_module.h"
#include "ngx_http_confer_gateway_seal.h"

#include "confer_util.h"


#define NGX_HTTP_CONFER_OPEN_BUF      8192    /* plaintext to the client */
#define NGX_HTTP_CONFER_OPEN_CHUNK    16384   /* first reader buffer */
#define NGX_HTTP_CONFER_OPEN_SCRATCH  16384   /* one BHTTP field line */
#define NGX_HTTP_CONFER_OPEN_PROBLEM  4096    /* a problem document */

#define NGX_HTTP_CONFER_KEY_PROBLEM                                           \
    "https://iana.org/assignments/http-problem-types#ohttp-key"


static ngx_int_t ngx_http_confer_gateway_open_header_filter(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_confer_gateway_open_body_filter(
    ngx_http_request_t *r, ngx_chain_t *in);
static ngx_uint_t ngx_http_confer_gateway_open_type(ngx_str_t *ct,
    const char *type);
static ngx_int_t ngx_http_confer_gateway_open_start(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx);
static ngx_int_t ngx_http_confer_gateway_open_chunked(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, u_char *p, size_t n);
static ngx_int_t ngx_http_confer_gateway_open_room(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, u_char *p, size_t n);
static ngx_int_t ngx_http_confer_gateway_open_collect(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, u_char *p, size_t n, size_t max);
static ngx_int_t ngx_http_confer_gateway_open_end(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, ngx_uint_t last);
static ngx_int_t ngx_http_confer_gateway_open_plain(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx);
static ngx_int_t ngx_http_confer_gateway_open_problem(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx);
static ngx_int_t ngx_http_confer_gateway_open_bhttp(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, const u_char *p, size_t n,
    ngx_uint_t last);
static ngx_int_t ngx_http_confer_gateway_open_event(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, confer_bhttp_event_t *ev);
static ngx_int_t ngx_http_confer_gateway_open_field(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, confer_bhttp_event_t *ev);
static ngx_uint_t ngx_http_confer_gateway_open_allowed(const u_char *name,
    size_t len);
static ngx_int_t ngx_http_confer_gateway_open_head(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx);
static ngx_int_t ngx_http_confer_gateway_open_write(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, const u_char *p, size_t n);
static ngx_int_t ngx_http_confer_gateway_open_strip_end(
    ngx_http_request_t *r, ngx_http_confer_seal_ctx_t *sctx);
static ngx_buf_t *ngx_http_confer_gateway_open_buf(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, size_t size);
static ngx_int_t ngx_http_confer_gateway_open_send(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, ngx_uint_t end);
static ngx_int_t ngx_http_confer_gateway_open_bad(
    ngx_http_confer_seal_ctx_t *sctx, ngx_http_confer_seal_err_e err,
    const char *code);
static ngx_int_t ngx_http_confer_gateway_open_fail(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx);
static void ngx_http_confer_gateway_open_clear(ngx_http_request_t *r);
static void ngx_http_confer_gateway_open_cleanup(void *data);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


/* inner response headers the client gets besides content-type */
static ngx_str_t  ngx_http_confer_open_headers[] = {
    ngx_string("retry-after"),
    ngx_string("retry-after-ms"),
    ngx_string("x-request-id"),
    ngx_string("x-should-retry"),
    ngx_null_string
};

static ngx_str_t  ngx_http_confer_open_prefixes[] = {
    ngx_string("openai-"),
    ngx_string("x-ratelimit-"),
    ngx_null_string
};


ngx_int_t
ngx_http_confer_gateway_open_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_confer_gateway_open_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_confer_gateway_open_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_confer_gateway_open_header_filter(ngx_http_request_t *r)
{
    ngx_str_t                   *ct;
    ngx_uint_t                   status;
    ngx_http_confer_seal_ctx_t  *sctx;

    sctx = ngx_http_confer_gateway_seal_ctx(r);

    if (sctx == NULL || sctx->replying
        || sctx->state != NGX_HTTP_CONFER_SEAL_SENT)
    {
        return ngx_http_next_header_filter(r);
    }

    sctx->state = NGX_HTTP_CONFER_SEAL_OPENING;

    /*
     * An outer response without a valid status line makes proxy take it
     * for HTTP/0.9 and mark the client's request so, which would send the
     * client a body without a head; the client keeps its own version.
     */
    r->http_version = sctx->http_version;

    status = r->headers_out.status;
    ct = &r->headers_out.content_type;

    sctx->upstream_status = status;

    if (r->err_status) {
        /* nginx's own: the terminator could not be reached, or timed out */
        sctx->answer = NGX_HTTP_CONFER_ANSWER_BAD;

    } else if (status == NGX_HTTP_OK
               && ngx_http_confer_gateway_open_type(ct,
                                                "message/ohttp-chunked-res"))
    {
        sctx->answer = NGX_HTTP_CONFER_ANSWER_CHUNKED;

    } else if (status == NGX_HTTP_OK
               && ngx_http_confer_gateway_open_type(ct, "message/ohttp-res"))
    {
        sctx->answer = NGX_HTTP_CONFER_ANSWER_PLAIN;

    } else if (status == NGX_HTTP_BAD_REQUEST
               && ngx_http_confer_gateway_open_type(ct,
                                                 "application/problem+json"))
    {
        sctx->answer = NGX_HTTP_CONFER_ANSWER_PROBLEM;

    } else {
        sctx->answer = NGX_HTTP_CONFER_ANSWER_BAD;
    }

    if (ngx_http_confer_gateway_open_start(r, sctx) != NGX_OK) {
        return NGX_ERROR;
    }

    r->filter_need_in_memory = 1;

    /* the client's headers wait for the inner ones */
    return NGX_OK;
}


/* the media type of ct, parameters aside, is type */
static ngx_uint_t
ngx_http_confer_gateway_open_type(ngx_str_t *ct, const char *type)
{
    u_char  *p, *last, *semi;
    size_t   len;

    p = ct->data;
    last = p + ct->len;

    semi = ngx_strlchr(p, last, ';');

    if (semi) {
        last = semi;
    }

    while (last > p && (last[-1] == ' ' || last[-1] == '\t')) {
        last--;
    }

    len = ngx_strlen(type);

    return (size_t) (last - p) == len
           && ngx_strncasecmp(p, (u_char *) type, len) == 0;
}


static ngx_int_t
ngx_http_confer_gateway_open_start(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx)
{
    u_char                       *buf;
    ngx_pool_cleanup_t           *cln;
    confer_bhttp_limits_t         limits;
    ngx_http_confer_seal_conf_t  *scf;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_confer_gateway_open_cleanup;
    cln->data = sctx;

    if (ngx_array_init(&sctx->wipe, r->pool, 4, sizeof(ngx_buf_t *))
        != NGX_OK
        || ngx_array_init(&sctx->fields, r->pool, 4, sizeof(ngx_table_elt_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    sctx->last_out = &sctx->out;

    if (sctx->answer != NGX_HTTP_CONFER_ANSWER_CHUNKED
        && sctx->answer != NGX_HTTP_CONFER_ANSWER_PLAIN)
    {
        return NGX_OK;
    }

    scf = ngx_http_confer_gateway_seal_conf(r);

    sctx->scratch = ngx_alloc(NGX_HTTP_CONFER_OPEN_SCRATCH,
                              r->connection->log);
    if (sctx->scratch == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&limits, sizeof(confer_bhttp_limits_t));
    limits.max_content = scf->max_response;

    if (confer_bhttp_decoder_init(&sctx->bhttp, 1, sctx->scratch,
                                  NGX_HTTP_CONFER_OPEN_SCRATCH, &limits)
        != CONFER_BHTTP_OK)
    {
        return NGX_ERROR;
    }

    if (sctx->answer == NGX_HTTP_CONFER_ANSWER_PLAIN) {
        return NGX_OK;
    }

    buf = ngx_alloc(NGX_HTTP_CONFER_OPEN_CHUNK, r->connection->log);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    confer_chunked_response_reader_init(&sctx->reader, &sctx->ohttp, buf,
                                        NGX_HTTP_CONFER_OPEN_CHUNK);

    sctx->nonce_left = confer_ohttp_response_nonce_size(
                                             sctx->ohttp.hpke.suite.aead_id);

    return NGX_OK;
}


static ngx_int_t
ngx_http_confer_gateway_open_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in)
{
    size_t                        size;
    ngx_int_t                     rc;
    ngx_buf_t                    *b;
    ngx_uint_t                    last;
    ngx_chain_t                  *cl;
    ngx_http_confer_seal_ctx_t   *sctx;
    ngx_http_confer_seal_conf_t  *scf;

    sctx = ngx_http_confer_gateway_seal_ctx(r);

    if (sctx == NULL || sctx->replying
        || sctx->state < NGX_HTTP_CONFER_SEAL_OPENING)
    {
        return ngx_http_next_body_filter(r, in);
    }

    scf = ngx_http_confer_gateway_seal_conf(r);

    last = 0;
    rc = NGX_OK;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (b->last_buf) {
            last = 1;
        }

        if (ngx_buf_special(b)) {
            continue;
        }

        if (!ngx_buf_in_memory(b)) {
            if (rc == NGX_OK && sctx->state == NGX_HTTP_CONFER_SEAL_OPENING) {
                ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                              "confer: an answer buffer is not in memory");
                rc = ngx_http_confer_gateway_open_bad(sctx,
                                            NGX_HTTP_CONFER_SEAL_ERR_INTERNAL,
                                            "internal");
            }

            b->file_pos = b->file_last;
            continue;
        }

        size = b->last - b->pos;

        if (rc == NGX_OK && sctx->state == NGX_HTTP_CONFER_SEAL_OPENING) {

            switch (sctx->answer) {

            case NGX_HTTP_CONFER_ANSWER_CHUNKED:
                rc = ngx_http_confer_gateway_open_chunked(r, sctx, b->pos,
                                                          size);
                break;

            case NGX_HTTP_CONFER_ANSWER_PLAIN:
                rc = ngx_http_confer_gateway_open_collect(r, sctx, b->pos,
                                                          size,
                                                          scf->max_response
                                                          + 1024);
                break;

            case NGX_HTTP_CONFER_ANSWER_PROBLEM:
                rc = ngx_http_confer_gateway_open_collect(r, sctx, b->pos,
                                                 size,
                                                 NGX_HTTP_CONFER_OPEN_PROBLEM);
                break;

            default: /* NGX_HTTP_CONFER_ANSWER_BAD */
                break;
            }
        }

        /* consumed: the upstream may reuse its buffer at once */
        b->pos = b->last;
    }

    if (sctx->state == NGX_HTTP_CONFER_SEAL_DONE) {
        /* answered already: the rest of the outer response is dropped */
        return sctx->head_sent ? ngx_http_next_body_filter(r, NULL) : NGX_OK;
    }

    if (rc == NGX_OK) {

        if (sctx->answer == NGX_HTTP_CONFER_ANSWER_BAD) {
            rc = ngx_http_confer_gateway_open_bad(sctx,
                                            NGX_HTTP_CONFER_SEAL_ERR_UPSTREAM,
                                            r->err_status ? "unreachable"
                                                          : "upstream_error");

        } else if (last) {
            rc = ngx_http_confer_gateway_open_end(r, sctx, 1);

        } else if (r->upstream && r->upstream->cleanup == NULL) {
            /*
             * The upstream is being finalized, and this is its flush, not
             * its last buffer: the terminator's stream was cut or timed out.
             */
            rc = ngx_http_confer_gateway_open_end(r, sctx, 0);
        }
    }

    if (rc != NGX_OK) {
        return ngx_http_confer_gateway_open_fail(r, sctx);
    }

    return ngx_http_confer_gateway_open_send(r, sctx,
                                  sctx->state == NGX_HTTP_CONFER_SEAL_DONE);
}


/* chunked draft, 6.2: the response nonce, then chunks */
static ngx_int_t
ngx_http_confer_gateway_open_chunked(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, u_char *p, size_t n)
{
    size_t               used, pt_len, take;
    ngx_int_t            rc;
    const uint8_t       *pt;
    confer_ohttp_err_t   orc;

    while (n) {

        if (sctx->nonce_left) {
            take = ngx_min(n, sctx->nonce_left);

            orc = confer_chunked_feed(&sctx->reader, p, take, &used, &pt,
                                      &pt_len);

            if (orc != CONFER_OHTTP_AGAIN || used != take) {
                return ngx_http_confer_gateway_open_bad(sctx,
                                                NGX_HTTP_CONFER_SEAL_ERR_OPEN,
                                                "open_failed");
            }

            p += take;
            n -= take;
            sctx->nonce_left -= take;

            if (sctx->nonce_left == 0) {
                sctx->boundary = 1;
            }

            continue;
        }

        rc = ngx_http_confer_gateway_open_room(r, sctx, p, n);
        if (rc != NGX_OK) {
            return rc;
        }

        orc = confer_chunked_feed(&sctx->reader, p, n, &used, &pt, &pt_len);

        p += used;
        n -= used;

        if (orc == CONFER_OHTTP_AGAIN) {
            /* all taken: the rest of the chunk comes later */
            break;
        }

        if (orc != CONFER_OHTTP_OK) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "confer: a chunk of the answer did not open: %s",
                          confer_ohttp_strerror(orc));

            return ngx_http_confer_gateway_open_bad(sctx,
                                                NGX_HTTP_CONFER_SEAL_ERR_OPEN,
                                                "open_failed");
        }

        /* a verified chunk: its plaintext goes on at once */
        sctx->boundary = 1;

        rc = ngx_http_confer_gateway_open_bhttp(r, sctx, pt, pt_len, 0);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return NGX_OK;
}


/*
 * The reader opens a chunk in the buffer it was given and refuses a chunk
 * larger than that, so before input goes in, the buffer is made as large
 * as the chunk the input starts (the varint at a chunk boundary says how
 * large) or, in the final chunk, which runs to the end of the stream, as
 * what it holds plus the input; up to confer_max_response.
 */
static ngx_int_t
ngx_http_confer_gateway_open_room(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, u_char *p, size_t n)
{
    u_char                       *buf, *old;
    size_t                        need, vlen, have, cap, max;
    uint64_t                      len;
    u_char                        v[8];
    confer_chunked_reader_t      *rd;
    ngx_http_confer_seal_conf_t  *scf;

    rd = &sctx->reader;

    if (sctx->final) {
        need = rd->have + n;

    } else if (sctx->boundary) {
        have = rd->small_have;
        vlen = confer_varint_len(have ? rd->small[0] : p[0]);

        if (have + n < vlen) {
            /* the reader keeps these bytes of the length */
            return NGX_OK;
        }

        ngx_memcpy(v, rd->small, have);
        ngx_memcpy(v + have, p, vlen - have);

        (void) confer_varint_decode(v, vlen, &len);

        sctx->boundary = 0;

        if (len == 0) {
            sctx->final = 1;
            need = n;

        } else {
            need = (len > SIZE_MAX) ? SIZE_MAX : (size_t) len;
        }

    } else {
        return NGX_OK;
    }

    if (need <= rd->cap) {
        return NGX_OK;
    }

    scf = ngx_http_confer_gateway_seal_conf(r);

    /*
     * the content (the decoder holds it to confer_max_response), its head,
     * and the padding up to a size bucket around them
     */
    max = confer_pad_bucket(scf->max_response
                            + NGX_HTTP_CONFER_OPEN_SCRATCH)
          + 64;

    if (need > max) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "confer: a chunk of the answer is above "
                      "confer_max_response");

        return ngx_http_confer_gateway_open_bad(sctx,
                                                NGX_HTTP_CONFER_SEAL_ERR_OPEN,
                                                "answer_too_large");
    }

    cap = ngx_min(ngx_max(need, rd->cap * 2), max);

    buf = ngx_alloc(cap, r->connection->log);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    old = rd->buf;

    /* what it holds moves, what it wrote in the old buffer is wiped */
    confer_chunked_reader_move(rd, buf, cap);
    ngx_free(old);

    return NGX_OK;
}


/* a whole answer (plain OHTTP, a problem document), up to max bytes */
static ngx_int_t
ngx_http_confer_gateway_open_collect(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, u_char *p, size_t n, size_t max)
{
    size_t      have, cap;
    ngx_buf_t  *b;

    b = sctx->collected;
    have = b ? (size_t) (b->last - b->pos) : 0;

    if (n > max - have) {
        return ngx_http_confer_gateway_open_bad(sctx,
                          sctx->answer == NGX_HTTP_CONFER_ANSWER_PLAIN
                          ? NGX_HTTP_CONFER_SEAL_ERR_OPEN
                          : NGX_HTTP_CONFER_SEAL_ERR_UPSTREAM,
                          sctx->answer == NGX_HTTP_CONFER_ANSWER_PLAIN
                          ? "answer_too_large" : "upstream_error");
    }

    if (b == NULL || (size_t) (b->end - b->last) < n) {
        cap = ngx_min(ngx_max(4096, (have + n) * 2), max);

        b = ngx_create_temp_buf(r->pool, cap);
        if (b == NULL) {
            return NGX_ERROR;
        }

        if (have) {
            b->last = ngx_cpymem(b->last, sctx->collected->pos, have);
        }

        sctx->collected = b;
    }

    b->last = ngx_cpymem(b->last, p, n);

    return NGX_OK;
}


/* the outer response ended: with its last buffer, or cut (last == 0) */
static ngx_int_t
ngx_http_confer_gateway_open_end(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, ngx_uint_t last)
{
    size_t               pt_len;
    ngx_int_t            rc;
    const uint8_t       *pt;
    confer_ohttp_err_t   orc;

    if (!last) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "confer: the answer was cut before its end");

        return ngx_http_confer_gateway_open_bad(sctx,
                                  sctx->answer == NGX_HTTP_CONFER_ANSWER_PROBLEM
                                  ? NGX_HTTP_CONFER_SEAL_ERR_UPSTREAM
                                  : NGX_HTTP_CONFER_SEAL_ERR_TRUNCATED,
                                  sctx->answer == NGX_HTTP_CONFER_ANSWER_PROBLEM
                                  ? "upstream_error" : "truncated");
    }

    switch (sctx->answer) {

    case NGX_HTTP_CONFER_ANSWER_PLAIN:
        return ngx_http_confer_gateway_open_plain(r, sctx);

    case NGX_HTTP_CONFER_ANSWER_PROBLEM:
        return ngx_http_confer_gateway_open_problem(r, sctx);

    default: /* NGX_HTTP_CONFER_ANSWER_CHUNKED */
        break;
    }

    if (sctx->nonce_left) {
        orc = CONFER_OHTTP_ERR_INCOMPLETE;

    } else {
        /* chunked draft, 6.2: the final chunk authenticates the end */
        orc = confer_chunked_finish(&sctx->reader, &pt, &pt_len);
    }

    if (orc != CONFER_OHTTP_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "confer: the answer ended without its authenticated "
                      "end: %s", confer_ohttp_strerror(orc));

        if (orc == CONFER_OHTTP_ERR_INCOMPLETE
            || orc == CONFER_OHTTP_ERR_TRUNCATED)
        {
            return ngx_http_confer_gateway_open_bad(sctx,
                                           NGX_HTTP_CONFER_SEAL_ERR_TRUNCATED,
                                           "truncated");
        }

        return ngx_http_confer_gateway_open_bad(sctx,
                                                NGX_HTTP_CONFER_SEAL_ERR_OPEN,
                                                "open_failed");
    }

    rc = ngx_http_confer_gateway_open_bhttp(r, sctx, pt, pt_len, 1);
    if (rc != NGX_OK) {
        return rc;
    }

    sctx->state = NGX_HTTP_CONFER_SEAL_DONE;

    return NGX_OK;
}


/*
 * RFC 9458, 4.4: a whole sealed answer.  The request went out chunked,
 * so the context is in chunked mode; a gateway that answers it with one
 * message uses the same HPKE context under RFC 9458's own label.
 */
static ngx_int_t
ngx_http_confer_gateway_open_plain(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx)
{
    u_char              *pt;
    size_t               n, len;
    ngx_int_t            rc;
    confer_ohttp_err_t   orc;

    n = sctx->collected ? (size_t) (sctx->collected->last
                                    - sctx->collected->pos)
                        : 0;

    pt = ngx_alloc(n + 1, r->connection->log);
    if (pt == NULL) {
        return NGX_ERROR;
    }

    sctx->ohttp.mode = CONFER_OHTTP_MODE_PLAIN;

    orc = confer_ohttp_decapsulate_response(&sctx->ohttp,
                                            n ? sctx->collected->pos : pt, n,
                                            pt, n, &len);

    if (orc != CONFER_OHTTP_OK) {
        ngx_free(pt);

        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "confer: the answer did not open: %s",
                      confer_ohttp_strerror(orc));

        return ngx_http_confer_gateway_open_bad(sctx,
                                        orc == CONFER_OHTTP_ERR_TRUNCATED
                                        ? NGX_HTTP_CONFER_SEAL_ERR_TRUNCATED
                                        : NGX_HTTP_CONFER_SEAL_ERR_OPEN,
                                        orc == CONFER_OHTTP_ERR_TRUNCATED
                                        ? "truncated" : "open_failed");
    }

    rc = ngx_http_confer_gateway_open_bhttp(r, sctx, pt, len, 1);

    ngx_explicit_memzero(pt, n);
    ngx_free(pt);

    if (rc != NGX_OK) {
        return rc;
    }

    sctx->state = NGX_HTTP_CONFER_SEAL_DONE;

    return NGX_OK;
}


/* RFC 9458, 5.3: is it the key configuration problem? */
static ngx_int_t
ngx_http_confer_gateway_open_problem(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx)
{
    json_t        *doc, *type;
    ngx_uint_t     key;
    json_error_t   err;

    key = 0;

    if (sctx->collected) {
        doc = json_loadb((char *) sctx->collected->pos,
                         sctx->collected->last - sctx->collected->pos, 0,
                         &err);

        if (doc) {
            type = json_object_get(doc, "type");

            key = json_is_string(type)
                  && ngx_strcmp(json_string_value(type),
                                NGX_HTTP_CONFER_KEY_PROBLEM) == 0;

            json_decref(doc);
        }
    }

    if (key) {
        return ngx_http_confer_gateway_open_bad(sctx,
                                        NGX_HTTP_CONFER_SEAL_ERR_KEY_REJECTED,
                                        "key_rejected");
    }

    return ngx_http_confer_gateway_open_bad(sctx,
                                            NGX_HTTP_CONFER_SEAL_ERR_UPSTREAM,
                                            "upstream_error");
}


/* RFC 9292: the decrypted answer, in pieces of any size */
static ngx_int_t
ngx_http_confer_gateway_open_bhttp(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, const u_char *p, size_t n,
    ngx_uint_t last)
{
    size_t                consumed;
    ngx_int_t             rc;
    confer_bhttp_rc_t     brc;
    confer_bhttp_event_t  ev;

    for ( ;; ) {

        brc = confer_bhttp_next(&sctx->bhttp, p, n, last, &consumed, &ev);

        p += consumed;
        n -= consumed;

        switch (brc) {

        case CONFER_BHTTP_OK:
            rc = ngx_http_confer_gateway_open_event(r, sctx, &ev);
            if (rc != NGX_OK) {
                return rc;
            }

            break;

        case CONFER_BHTTP_AGAIN:
            if (!last) {
                return NGX_OK;
            }

            brc = CONFER_BHTTP_ERR_TRUNCATED;

            /* fall through */

        default:
            if (brc == CONFER_BHTTP_ERR_TOO_LARGE) {
                ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                              "confer: the answer is above "
                              "confer_max_response");

                return ngx_http_confer_gateway_open_bad(sctx,
                                                NGX_HTTP_CONFER_SEAL_ERR_OPEN,
                                                "answer_too_large");
            }

            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "confer: the opened answer is not a Binary HTTP "
                          "response: %s", confer_bhttp_strerror(brc));

            return ngx_http_confer_gateway_open_bad(sctx,
                                        brc == CONFER_BHTTP_ERR_TRUNCATED
                                        ? NGX_HTTP_CONFER_SEAL_ERR_TRUNCATED
                                        : NGX_HTTP_CONFER_SEAL_ERR_OPEN,
                                        brc == CONFER_BHTTP_ERR_TRUNCATED
                                        ? "truncated" : "open_failed");

        case CONFER_BHTTP_DONE:

            if (!sctx->got_end) {
                return ngx_http_confer_gateway_open_bad(sctx,
                                           NGX_HTTP_CONFER_SEAL_ERR_TRUNCATED,
                                           "truncated");
            }

            return NGX_OK;
        }
    }
}


static ngx_int_t
ngx_http_confer_gateway_open_event(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, confer_bhttp_event_t *ev)
{
    switch (ev->type) {

    case CONFER_BHTTP_EV_STATUS:
        sctx->status = ev->status;
        sctx->got_status = 1;
        return NGX_OK;

    case CONFER_BHTTP_EV_FIELD:
        return ngx_http_confer_gateway_open_field(r, sctx, ev);

    case CONFER_BHTTP_EV_HEADERS_END:
        return ngx_http_confer_gateway_open_head(r, sctx);

    case CONFER_BHTTP_EV_CONTENT:
        return ngx_http_confer_gateway_open_write(r, sctx, ev->data, ev->len);

    case CONFER_BHTTP_EV_END:
        sctx->got_end = 1;
        return ngx_http_confer_gateway_open_strip_end(r, sctx);

    default:
        /* informational responses and trailers stay inside */
        return NGX_OK;
    }
}


static ngx_int_t
ngx_http_confer_gateway_open_field(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, confer_bhttp_event_t *ev)
{
    ngx_table_elt_t  *h;

    if (ev->name.len == sizeof("content-type") - 1
        && ngx_strncmp(ev->name.data, "content-type", ev->name.len) == 0)
    {
        sctx->content_type.len = ev->value.len;
        sctx->content_type.data = ngx_pnalloc(r->pool, ev->value.len + 1);
        if (sctx->content_type.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(sctx->content_type.data, ev->value.data, ev->value.len);
        return NGX_OK;
    }

    /* RFC 9292, 3.6: names are lowercase (the decoder checks) */
    if (!ngx_http_confer_gateway_open_allowed(ev->name.data, ev->name.len)) {
        return NGX_OK;
    }

    h = ngx_array_push(&sctx->fields);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->key.len = ev->name.len;
    h->key.data = ngx_pnalloc(r->pool, ev->name.len);
    h->value.len = ev->value.len;
    h->value.data = ngx_pnalloc(r->pool, ev->value.len + 1);

    if (h->key.data == NULL || h->value.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(h->key.data, ev->name.data, ev->name.len);
    ngx_memcpy(h->value.data, ev->value.data, ev->value.len);
    h->value.data[h->value.len] = '\0';

    h->lowcase_key = h->key.data;
    h->hash = 1;

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


static ngx_uint_t
ngx_http_confer_gateway_open_allowed(const u_char *name, size_t len)
{
    ngx_str_t  *s;

    for (s = ngx_http_confer_open_headers; s->len; s++) {
        if (s->len == len && ngx_strncmp(s->data, name, len) == 0) {
            return 1;
        }
    }

    for (s = ngx_http_confer_open_prefixes; s->len; s++) {
        if (len > s->len && ngx_strncmp(s->data, name, s->len) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * The inner status and headers become the response's own.  They go to
 * the next header filter with the first content (open_send()), once all
 * of the input at hand verified: until then a bad chunk still gets a 502.
 */
static ngx_int_t
ngx_http_confer_gateway_open_head(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx)
{
    ngx_uint_t        i;
    ngx_table_elt_t  *h, *f;

    if (!sctx->got_status) {
        return ngx_http_confer_gateway_open_bad(sctx,
                                                NGX_HTTP_CONFER_SEAL_ERR_OPEN,
                                                "open_failed");
    }

    ngx_http_confer_gateway_open_clear(r);

    r->headers_out.status = sctx->status;

    if (sctx->content_type.len) {
        r->headers_out.content_type = sctx->content_type;
        r->headers_out.content_type_len = sctx->content_type.len;

        sctx->sse = ngx_http_confer_gateway_open_type(&sctx->content_type,
                                                      "text/event-stream");
    }

    f = sctx->fields.elts;

    for (i = 0; i < sctx->fields.nelts; i++) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = f[i];
    }

    if (sctx->sse) {
        confer_pad_strip_init(&sctx->strip);
    }

    sctx->head_ready = 1;

    return NGX_OK;
}


/* content of the inner response: to the client, SSE padding removed */
static ngx_int_t
ngx_http_confer_gateway_open_write(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, const u_char *p, size_t n)
{
    size_t      used, len;
    ngx_buf_t  *b;

    if (!sctx->head_ready) {
        return ngx_http_confer_gateway_open_bad(sctx,
                                                NGX_HTTP_CONFER_SEAL_ERR_OPEN,
                                                "open_failed");
    }

    while (n) {
        b = sctx->cur;

        if (b == NULL || b->last == b->end) {
            b = ngx_http_confer_gateway_open_buf(r, sctx, 0);
            if (b == NULL) {
                return NGX_ERROR;
            }
        }

        if (sctx->sse) {
            if (confer_pad_strip(&sctx->strip, p, n, &used, b->last,
                                 b->end - b->last, &len)
                != CONFER_PAD_OK
                || (used == 0 && len == 0))
            {
                return NGX_ERROR;
            }

        } else {
            used = ngx_min(n, (size_t) (b->end - b->last));
            ngx_memcpy(b->last, p, used);
            len = used;
        }

        b->last += len;
        p += used;
        n -= used;
    }

    return NGX_OK;
}


/* what the SSE stripper holds back (a ":~~" that never ended) */
static ngx_int_t
ngx_http_confer_gateway_open_strip_end(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx)
{
    size_t      len;
    ngx_buf_t  *b;

    if (!sctx->sse || confer_pad_strip_held(&sctx->strip) == 0) {
        return NGX_OK;
    }

    len = confer_pad_strip_held(&sctx->strip);

    b = sctx->cur;

    if (b == NULL || (size_t) (b->end - b->last) < len) {
        b = ngx_http_confer_gateway_open_buf(r, sctx, len);
        if (b == NULL) {
            return NGX_ERROR;
        }
    }

    if (confer_pad_strip_finish(&sctx->strip, b->last, b->end - b->last,
                                &len)
        != CONFER_PAD_OK)
    {
        return NGX_ERROR;
    }

    b->last += len;

    return NGX_OK;
}


/*
 * The next output buffer, at the end of sctx->out: a recycled one of
 * NGX_HTTP_CONFER_OPEN_BUF bytes, or one of size bytes when that is more.
 */
static ngx_buf_t *
ngx_http_confer_gateway_open_buf(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, size_t size)
{
    ngx_buf_t     *b, **w;
    ngx_uint_t     fresh;
    ngx_chain_t   *cl;

    fresh = 0;

    if (size > NGX_HTTP_CONFER_OPEN_BUF) {
        b = ngx_create_temp_buf(r->pool, size);
        if (b == NULL) {
            return NULL;
        }

        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NULL;
        }

        cl->buf = b;
        fresh = 1;

    } else {
        cl = ngx_chain_get_free_buf(r->pool, &sctx->free);
        if (cl == NULL) {
            return NULL;
        }

        b = cl->buf;

        if (b->start == NULL) {
            b->start = ngx_palloc(r->pool, NGX_HTTP_CONFER_OPEN_BUF);
            if (b->start == NULL) {
                return NULL;
            }

            b->end = b->start + NGX_HTTP_CONFER_OPEN_BUF;
            b->temporary = 1;
            b->tag = (ngx_buf_tag_t) &ngx_http_confer_gateway_module;
            fresh = 1;
        }

        b->pos = b->start;
        b->last = b->start;
        b->flush = 0;
        b->last_buf = 0;
        b->last_in_chain = 0;
    }

    if (fresh) {
        /* every buffer is wiped when the request ends */
        w = ngx_array_push(&sctx->wipe);
        if (w == NULL) {
            return NULL;
        }

        *w = b;
    }

    cl->next = NULL;
    *sctx->last_out = cl;
    sctx->last_out = &cl->next;
    sctx->cur = b;

    return b;
}


/* what was opened goes to the client now, flushed */
static ngx_int_t
ngx_http_confer_gateway_open_send(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, ngx_uint_t end)
{
    ngx_int_t     rc;
    ngx_uint_t    head;
    ngx_chain_t  *cl;

    if (!sctx->head_ready) {
        /* nothing may go out before the inner head */
        return NGX_OK;
    }

    if (!sctx->head_sent && !sctx->sse && sctx->out == NULL && !end) {
        /*
         * A whole answer comes in the final chunk: its head waits for it,
         * so that a chunk that does not open still gets the client a 502.
         * An event stream's head goes at once, before the first token.
         */
        return NGX_OK;
    }

    head = 0;

    if (!sctx->head_sent) {
        sctx->head_sent = 1;
        head = 1;

        rc = ngx_http_next_header_filter(r);

        if (rc == NGX_ERROR || rc > NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (r->header_only) {
        sctx->out = NULL;
        sctx->last_out = &sctx->out;
        sctx->cur = NULL;
        return NGX_OK;
    }

    if (sctx->out == NULL && !end && !head) {
        /* lets what waits downstream go */
        return ngx_http_next_body_filter(r, NULL);
    }

    if (sctx->out == NULL || end) {
        /* the end, or a flush that takes the head out before any token */
        cl = ngx_http_confer_empty_buf(r->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        cl->buf->last_buf = end;
        *sctx->last_out = cl;
        sctx->last_out = &cl->next;
    }

    for (cl = sctx->out; cl->next; cl = cl->next) { /* void */ }

    /* each event to the client at once */
    cl->buf->flush = 1;

    rc = ngx_http_next_body_filter(r, sctx->out);

    ngx_chain_update_chains(r->pool, &sctx->free, &sctx->busy, &sctx->out,
                            (ngx_buf_tag_t) &ngx_http_confer_gateway_module);

    sctx->last_out = &sctx->out;
    sctx->cur = NULL;

    return rc;
}


static ngx_int_t
ngx_http_confer_gateway_open_bad(ngx_http_confer_seal_ctx_t *sctx,
    ngx_http_confer_seal_err_e err, const char *code)
{
    sctx->err = err;
    sctx->err_code = code;

    return NGX_DECLINED;
}


/*
 * The answer cannot be given: the client gets an OpenAI-style error, or,
 * when it has the inner head already, a connection closed in the middle
 * of the response.
 */
static ngx_int_t
ngx_http_confer_gateway_open_fail(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx)
{
    ngx_int_t               rc;
    ngx_uint_t              status;
    const char             *type, *message;
    ngx_http_confer_key_t  *key;

    if (sctx->err_code == NULL) {
        /* NGX_ERROR: out of memory or a failed library call */
        sctx->err = NGX_HTTP_CONFER_SEAL_ERR_INTERNAL;
        sctx->err_code = "internal";
    }

    key = ngx_http_confer_gateway_key(r);

    sctx->state = NGX_HTTP_CONFER_SEAL_DONE;
    sctx->out = NULL;
    sctx->last_out = &sctx->out;
    sctx->cur = NULL;

    if (sctx->err == NGX_HTTP_CONFER_SEAL_ERR_KEY_REJECTED) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "confer: \"%V\" refused its key: it is attested again",
                      &key->url);

        ngx_http_confer_gateway_key_rejected(r);

        status = NGX_HTTP_SERVICE_UNAVAILABLE;
        type = "attestation_error";
        message = "The inference service changed its key; it is attested "
                  "again. The request was not processed; retry it.";

    } else {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "confer: the answer of \"%V\" was dropped (%s, outer "
                      "status %ui)", &key->url, sctx->err_code,
                      sctx->upstream_status);

        ngx_http_confer_gateway_count_seal_failed(r, sctx->err);
        ngx_http_confer_gateway_set_status(r,
                                       NGX_HTTP_CONFER_STATUS_SEAL_FAILED);

        status = NGX_HTTP_BAD_GATEWAY;
        type = "sealing_error";

        switch (sctx->err) {

        case NGX_HTTP_CONFER_SEAL_ERR_UPSTREAM:
            message = r->err_status
                      ? "The attested inference service could not be "
                        "reached."
                      : "The answer did not come back sealed by the attested "
                        "inference service; it was dropped.";
            break;

        case NGX_HTTP_CONFER_SEAL_ERR_TRUNCATED:
            message = "The sealed answer ended before its authenticated "
                      "end; it was dropped.";
            break;

        case NGX_HTTP_CONFER_SEAL_ERR_OPEN:
            message = (ngx_strcmp(sctx->err_code, "answer_too_large") == 0)
                      ? "The answer is larger than this gateway takes; it "
                        "was dropped."
                      : "The sealed answer did not verify; it was dropped.";
            break;

        default:
            message = "The answer could not be opened.";
            break;
        }
    }

    if (sctx->head_sent) {
        /* the response stays unterminated: never a clean end */
        return NGX_ERROR;
    }

    if (r->err_status) {
        /* ngx_http_send_header() would restore it anyway: 502 or 504 */
        status = r->err_status;
    }

    ngx_http_confer_gateway_open_clear(r);

    sctx->replying = 1;

    rc = ngx_http_confer_gateway_send_error(r, status, type, sctx->err_code,
                                            message,
                                            status
                                            == NGX_HTTP_SERVICE_UNAVAILABLE
                                            ? 1 : 0);
    sctx->replying = 0;
    sctx->head_sent = 1;

    return rc;
}


/* nothing of the outer response's head reaches the client */
static void
ngx_http_confer_gateway_open_clear(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        h[i].hash = 0;
    }

    r->headers_out.status_line.len = 0;
    r->headers_out.charset.len = 0;
    r->headers_out.content_type.len = 0;
    r->headers_out.content_type_len = 0;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_type_hash = 0;

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    r->headers_out.server = NULL;
    r->headers_out.date = NULL;
    r->headers_out.location = NULL;
    r->headers_out.refresh = NULL;
    r->headers_out.content_encoding = NULL;
    r->headers_out.www_authenticate = NULL;
    r->headers_out.expires = NULL;
    r->allow_ranges = 0;
}


static void
ngx_http_confer_gateway_open_cleanup(void *data)
{
    ngx_http_confer_seal_ctx_t  *sctx = data;

    ngx_buf_t   **w;
    ngx_uint_t    i;

    w = sctx->wipe.elts;

    for (i = 0; i < sctx->wipe.nelts; i++) {
        ngx_explicit_memzero(w[i]->start, w[i]->end - w[i]->start);
    }

    if (sctx->reader.buf) {
        confer_chunked_reader_cleanup(&sctx->reader);
        ngx_free(sctx->reader.buf);
        sctx->reader.buf = NULL;
    }

    if (sctx->scratch) {
        /* the decoder wrote no further than this */
        ngx_explicit_memzero(sctx->scratch, sctx->bhttp.dirty);
        ngx_free(sctx->scratch);
        sctx->scratch = NULL;
    }

    ngx_explicit_memzero(&sctx->bhttp, sizeof(confer_bhttp_decoder_t));
    ngx_explicit_memzero(&sctx->strip, sizeof(confer_pad_strip_t));
}
