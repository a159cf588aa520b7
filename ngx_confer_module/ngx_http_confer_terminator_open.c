/*
 * ngx_confer_module: the terminator opens OHTTP requests.
 *
 * A PRECONTENT handler checks the media type (415), the length (413) and
 * starts reading the body itself, mirror style.  A request body filter,
 * armed only for such a request, consumes every ciphertext buffer (so
 * nginx's buffers are free again at once), opens chunks as they arrive
 * (chunked OHTTP; a plain OHTTP message is collected and opened at its
 * end) and decodes the Binary HTTP request (RFC 9292) from the released
 * plaintext.  Plaintext lives only in memory of the request's pool, is
 * handed to the next filter in one piece at the very end (so nginx's save
 * filter never writes it to a temporary file) and is zeroed when the
 * request ends.  It is never logged.
 *
 * When the body is complete, the inner request replaces the outer one:
 * method, URI and arguments, the header list rebuilt from an allow-list,
 * Content-Length; the phases resume and the location's proxy_pass sends
 * it to the model server.  An inner path outside the allow-list gets a
 * sealed 403 and never reaches the model server.
 *
 * Refusals, in plaintext since nothing can be sealed to an unknown
 * client: 415 wrong media type; 413 too large; 400 with RFC 9458 5.3's
 * key-configuration problem for an unknown or retired key id; 400 with a
 * reason code for anything malformed, tampered or truncated, and for a
 * replayed encapsulated key; 503 if the replay cache is full.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sodium.h>

#include "ngx_http_confer_terminator.h"


#define NGX_HTTP_CONFER_SCRATCH   16384
#define NGX_HTTP_CONFER_BODY_BUF  16384


static void ngx_http_confer_open_cleanup(void *data);
static void ngx_http_confer_open_body_done(ngx_http_request_t *r);
static void ngx_http_confer_open_fail(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_uint_t status, const char *reason);
static ngx_int_t ngx_http_confer_open_feed(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, u_char *p, size_t n);
static ngx_int_t ngx_http_confer_open_grow(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx);
static ngx_int_t ngx_http_confer_open_detach(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx);
static ngx_int_t ngx_http_confer_open_finish(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx);
static ngx_int_t ngx_http_confer_open_bhttp(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, const u_char *p, size_t n,
    ngx_uint_t last);
static ngx_int_t ngx_http_confer_open_event(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, confer_bhttp_event_t *ev);
static ngx_int_t ngx_http_confer_open_content(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, const u_char *p, size_t n);
static ngx_int_t ngx_http_confer_open_field(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, confer_bhttp_event_t *ev);
static ngx_uint_t ngx_http_confer_open_path_ok(ngx_str_t *path,
    ngx_str_t *uri, ngx_str_t *args);
static ngx_uint_t ngx_http_confer_open_allowed(
    ngx_http_confer_term_loc_conf_t *tlcf, ngx_str_t *uri);
static ngx_int_t ngx_http_confer_open_rewrite(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_str_t *uri, ngx_str_t *args);
static ngx_int_t ngx_http_confer_open_inner_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code);
static const char *ngx_http_confer_open_reason(confer_ohttp_err_t rc);


static ngx_http_request_body_filter_pt  ngx_http_next_request_body_filter;


/* inner request headers that reach the model server (and tlcf->headers) */
static ngx_str_t  ngx_http_confer_inner_headers[] = {
    ngx_string("content-type"),
    ngx_string("accept"),
    ngx_string("authorization"),
    ngx_string("openai-organization"),
    ngx_string("openai-project"),
    ngx_string("openai-beta"),
    ngx_null_string
};


ngx_int_t
ngx_http_confer_open_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_confer_open_handler;

    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_confer_open_body_filter;

    return NGX_OK;
}


/* the reason codes a refused client gets, and nothing more */
static const char *
ngx_http_confer_open_reason(confer_ohttp_err_t rc)
{
    switch (rc) {

    case CONFER_OHTTP_ERR_UNKNOWN_KEY:
    case CONFER_OHTTP_ERR_UNSUPPORTED_SUITE:
        return "key";

    case CONFER_OHTTP_ERR_TRUNCATED:
    case CONFER_OHTTP_ERR_INCOMPLETE:
        return "truncated";

    case CONFER_OHTTP_ERR_BAD_ENC:
        return "bad_enc";

    case CONFER_OHTTP_ERR_DECRYPT:
        return "decrypt";

    case CONFER_OHTTP_ERR_CHUNK_TOO_LARGE:
        return "chunk_too_large";

    default:
        return "malformed";
    }
}


/* a buffer of plaintext used again: what it held goes first */
void
ngx_http_confer_term_reset(ngx_buf_t *b)
{
    sodium_memzero(b->start, b->last - b->start);

    b->pos = b->start;
    b->last = b->start;
}


void
ngx_http_confer_term_wipe(ngx_http_confer_term_ctx_t *ctx, ngx_buf_t *b)
{
    ngx_buf_t  **w;

    w = ngx_array_push(&ctx->wipe);
    if (w != NULL) {
        *w = b;
    }
}


static void
ngx_http_confer_open_cleanup(void *data)
{
    ngx_http_confer_term_ctx_t  *ctx = data;

    ngx_buf_t  **w;
    ngx_uint_t   i;

    /*
     * Only what was written: a buffer is written from its start up to its
     * last, and one that is reused is wiped before (term_reset).  Wiping
     * whole buffers cost more than the rest of a small request's cleanup.
     */

    w = ctx->wipe.elts;

    for (i = 0; i < ctx->wipe.nelts; i++) {
        if (w[i]->start) {
            sodium_memzero(w[i]->start, w[i]->last - w[i]->start);
        }
    }

    if (ctx->scratch) {
        sodium_memzero(ctx->scratch, ctx->bhttp.dirty);
    }

    if (ctx->chunked) {
        confer_chunked_reader_cleanup(&ctx->reader);
    }

    confer_ohttp_cleanup(&ctx->ohttp);
    sodium_memzero(&ctx->bhttp, sizeof(confer_bhttp_decoder_t));
}


ngx_int_t
ngx_http_confer_open_handler(ngx_http_request_t *r)
{
    size_t                             size;
    u_char                            *chunk;
    ngx_int_t                          rc;
    ngx_str_t                         *ct;
    ngx_uint_t                         chunked;
    ngx_pool_cleanup_t                *cln;
    ngx_http_confer_term_ctx_t        *ctx;
    confer_bhttp_limits_t              limits;
    ngx_http_confer_term_loc_conf_t   *tlcf;
    ngx_http_confer_term_main_conf_t  *tmcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_confer_terminator_module);

    if (!tlcf->open) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_confer_terminator_module);

    if (ctx) {
        /* back from reading the body: the inner request goes on */
        return NGX_DECLINED;
    }

    if (r->method != NGX_HTTP_POST) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    /* RFC 9458, 9.1 and the chunked draft, 9: the media types */
    ct = r->headers_in.content_type ? &r->headers_in.content_type->value
                                    : NULL;

    if (ct && ct->len == sizeof("message/ohttp-req") - 1
        && ngx_strncasecmp(ct->data, (u_char *) "message/ohttp-req",
                           ct->len) == 0)
    {
        chunked = 0;

    } else if (ct && ct->len == sizeof("message/ohttp-chunked-req") - 1
               && ngx_strncasecmp(ct->data,
                                  (u_char *) "message/ohttp-chunked-req",
                                  ct->len) == 0)
    {
        chunked = 1;

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "confer: request refused: wrong media type");
        ngx_http_finalize_request(r, ngx_http_confer_term_refuse(r,
                                        NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                        "unsupported_media_type"));
        return NGX_DONE;
    }

    if (r->headers_in.content_length_n > tlcf->max_body) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "confer: request refused: body of %O bytes is above "
                      "max_body", r->headers_in.content_length_n);
        ngx_http_finalize_request(r, ngx_http_confer_term_refuse(r,
                                       NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                       "too_large"));
        return NGX_DONE;
    }

    if (r->request_body) {
        /* read before our filter was armed: fail closed */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "confer: the request body was read before "
                      "confer_open could open it");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    tmcf = ngx_http_get_module_main_conf(r,
                                         ngx_http_confer_terminator_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_confer_term_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_array_init(&ctx->wipe, r->pool, 8, sizeof(ngx_buf_t *))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_list_init(&ctx->fields, r->pool, 8, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->chunked = chunked;
    ctx->body_last = &ctx->body;
    confer_ohttp_init(&ctx->ohttp);

    ctx->scratch = ngx_pnalloc(r->pool, NGX_HTTP_CONFER_SCRATCH);
    if (ctx->scratch == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (chunked) {
        /*
         * Memory for the chunks that come, not for the largest allowed:
         * a small body needs no more than its length, a gateway's chunks
         * fit the first buffer, and larger chunks grow it up to the bound.
         */
        ctx->chunk_max = (size_t) ngx_min(tlcf->max_body,
                                          NGX_HTTP_CONFER_MAX_CHUNK);

        size = ngx_min(ctx->chunk_max, NGX_HTTP_CONFER_FIRST_CHUNK);

        if (r->headers_in.content_length_n > 0
            && r->headers_in.content_length_n < (off_t) size)
        {
            size = (size_t) r->headers_in.content_length_n;
        }

        chunk = ngx_pnalloc(r->pool, size);
        if (chunk == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        confer_chunked_request_reader_init(&ctx->reader, &ctx->ohttp,
                                           ngx_http_confer_keys_lookup,
                                           tmcf->keys, chunk, size);
        confer_chunked_reader_set_max(&ctx->reader, ctx->chunk_max);
    }

    ngx_memzero(&limits, sizeof(confer_bhttp_limits_t));
    limits.max_content = (uint64_t) tlcf->max_body;

    if (confer_bhttp_decoder_init(&ctx->bhttp, 0, ctx->scratch,
                                  NGX_HTTP_CONFER_SCRATCH, &limits)
        != CONFER_BHTTP_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_confer_open_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_confer_terminator_module);

    ctx->filter_armed = 1;
    ctx->waiting_body = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_confer_open_body_done);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}


ngx_int_t
ngx_http_confer_open_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t                            size;
    ngx_int_t                         rc;
    ngx_buf_t                        *b;
    ngx_uint_t                        last;
    ngx_chain_t                      *cl, *out;
    ngx_http_confer_term_ctx_t       *ctx;
    ngx_http_confer_term_loc_conf_t  *tlcf;

    ctx = (r == r->main)
          ? ngx_http_get_module_ctx(r, ngx_http_confer_terminator_module)
          : NULL;

    if (ctx == NULL || !ctx->filter_armed) {
        return ngx_http_next_request_body_filter(r, in);
    }

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_confer_terminator_module);

    last = 0;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;
        size = b->last - b->pos;

        if (b->last_buf) {
            last = 1;
        }

        if (size == 0) {
            continue;
        }

        ctx->received += size;

        if (ctx->received > tlcf->max_body) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "confer: request refused: body is above "
                          "max_body");
            ctx->filter_armed = 0;
            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }

        if (ctx->state == NGX_HTTP_CONFER_ST_READING) {
            rc = ngx_http_confer_open_feed(r, ctx, b->pos, size);
            if (rc == NGX_ERROR) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        /* consumed: nginx may reuse the buffer at once */
        b->pos = b->last;
    }

    if (!last) {
        return NGX_OK;
    }

    ctx->filter_armed = 0;

    if (ctx->state == NGX_HTTP_CONFER_ST_READING) {
        rc = ngx_http_confer_open_finish(r, ctx);
        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    /*
     * The plaintext body goes to the save filter in one piece with the
     * last buffer: nothing is left in rb->bufs while more is read, so
     * nothing is written to a temporary file.
     */

    if (ctx->state == NGX_HTTP_CONFER_ST_READING && ctx->body) {
        for (cl = ctx->body; cl->next; cl = cl->next) { /* void */ }

        cl->buf->last_buf = 1;
        out = ctx->body;

    } else {
        out = ngx_http_confer_empty_buf(r->pool);
        if (out == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        out->buf->last_buf = 1;
    }

    return ngx_http_next_request_body_filter(r, out);
}


static void
ngx_http_confer_open_fail(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_uint_t status, const char *reason)
{
    if (ctx->state != NGX_HTTP_CONFER_ST_READING) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "confer: request refused: %s", reason);

    ctx->state = NGX_HTTP_CONFER_ST_FAILED;
    ctx->status = status;
    ctx->reason = reason;
}


static ngx_int_t
ngx_http_confer_open_feed(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, u_char *p, size_t n)
{
    size_t                            used, pt_len, cap;
    ngx_buf_t                        *b;
    const uint8_t                    *pt;
    confer_ohttp_err_t                rc;
    ngx_http_confer_term_loc_conf_t  *tlcf;

    if (!ctx->chunked) {
        /* RFC 9458, 4.3: the whole message is one AEAD record */
        b = ctx->cipher;

        if (b == NULL || (size_t) (b->end - b->last) < n) {
            tlcf = ngx_http_get_module_loc_conf(r,
                                            ngx_http_confer_terminator_module);

            cap = r->headers_in.content_length_n > 0
                  ? (size_t) r->headers_in.content_length_n : 4096;

            if (b) {
                cap = ngx_max(cap, (size_t) (b->last - b->pos + n) * 2);
            }

            cap = ngx_min(cap, (size_t) tlcf->max_body);
            cap = ngx_max(cap, (size_t) (b ? b->last - b->pos : 0) + n);

            b = ngx_create_temp_buf(r->pool, cap);
            if (b == NULL) {
                return NGX_ERROR;
            }

            if (ctx->cipher) {
                b->last = ngx_cpymem(b->last, ctx->cipher->pos,
                                     ctx->cipher->last - ctx->cipher->pos);
            }

            ctx->cipher = b;
        }

        b->last = ngx_cpymem(b->last, p, n);

        return NGX_OK;
    }

    /* chunked draft, 6.1: chunks are opened as they complete */
    while (n > 0 && ctx->state == NGX_HTTP_CONFER_ST_READING) {

        rc = confer_chunked_feed(&ctx->reader, p, n, &used, &pt, &pt_len);

        p += used;
        n -= used;

        if (rc == CONFER_OHTTP_AGAIN) {
            break;
        }

        if (rc == CONFER_OHTTP_NEED_SPACE) {
            if (ngx_http_confer_open_grow(r, ctx) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (rc != CONFER_OHTTP_OK) {
            ngx_http_confer_open_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                      ngx_http_confer_open_reason(rc));

            break;
        }

        if (ngx_http_confer_open_bhttp(r, ctx, pt, pt_len, 0) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ctx->adopt && ngx_http_confer_open_detach(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Content of the chunk just opened stays in the reader's buffer: the
 * reader goes on in a new one of the same size, and the old one is wiped
 * with the request.
 */
static ngx_int_t
ngx_http_confer_open_detach(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx)
{
    u_char     *buf, *old;
    size_t      written;
    ngx_buf_t  *w;

    buf = ngx_pnalloc(r->pool, ctx->reader.cap);
    w = ngx_calloc_buf(r->pool);

    if (buf == NULL || w == NULL) {
        return NGX_ERROR;
    }

    old = confer_chunked_reader_detach(&ctx->reader, buf, ctx->reader.cap,
                                       &written);
    if (old == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "confer: the chunk reader kept its buffer");
        return NGX_ERROR;
    }

    w->start = old;
    w->last = old + written;
    ngx_http_confer_term_wipe(ctx, w);

    ctx->adopt = 0;

    return NGX_OK;
}


/*
 * A larger chunk than the buffer holds (within chunk_max, which the reader
 * checked): at least twice the buffer, so that a final chunk arriving in
 * many reads is copied a bounded number of times.
 */
static ngx_int_t
ngx_http_confer_open_grow(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx)
{
    u_char                   *buf, *old;
    size_t                    cap;
    confer_chunked_reader_t  *rd;

    rd = &ctx->reader;

    cap = ngx_min(ngx_max(rd->want, rd->cap * 2), ctx->chunk_max);
    cap = ngx_max(cap, rd->want);

    buf = ngx_pnalloc(r->pool, cap);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    old = rd->buf;

    confer_chunked_reader_move(rd, buf, cap);
    ngx_pfree(r->pool, old);

    return NGX_OK;
}


static ngx_int_t
ngx_http_confer_open_finish(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx)
{
    size_t                             n, len;
    ngx_buf_t                         *b;
    const uint8_t                     *pt;
    confer_ohttp_err_t                 rc;
    ngx_http_confer_term_main_conf_t  *tmcf;

    if (ctx->chunked) {
        rc = confer_chunked_finish(&ctx->reader, &pt, &len);

        if (rc != CONFER_OHTTP_OK) {
            ngx_http_confer_open_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                      ngx_http_confer_open_reason(rc));
            return NGX_OK;
        }

        return ngx_http_confer_open_bhttp(r, ctx, pt, len, 1);
    }

    tmcf = ngx_http_get_module_main_conf(r,
                                         ngx_http_confer_terminator_module);

    n = ctx->cipher ? (size_t) (ctx->cipher->last - ctx->cipher->pos) : 0;

    if (n < CONFER_OHTTP_REQ_PREFIX + CONFER_HPKE_NT) {
        ngx_http_confer_open_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                  "truncated");
        return NGX_OK;
    }

    b = ngx_create_temp_buf(r->pool, n);
    if (b == NULL) {
        return NGX_ERROR;
    }

    /* all of it may hold plaintext */
    b->last = b->end;
    ngx_http_confer_term_wipe(ctx, b);
    ctx->opened = b;

    rc = confer_ohttp_decapsulate_request(&ctx->ohttp,
                                          ngx_http_confer_keys_lookup,
                                          tmcf->keys, ctx->cipher->pos, n,
                                          b->pos, n, &len);

    if (rc != CONFER_OHTTP_OK) {
        ngx_http_confer_open_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                  ngx_http_confer_open_reason(rc));
        return NGX_OK;
    }

    return ngx_http_confer_open_bhttp(r, ctx, b->pos, len, 1);
}


static ngx_int_t
ngx_http_confer_open_bhttp(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, const u_char *p, size_t n,
    ngx_uint_t last)
{
    size_t                consumed;
    confer_bhttp_rc_t     rc;
    confer_bhttp_event_t  ev;

    for ( ;; ) {

        if (ctx->state != NGX_HTTP_CONFER_ST_READING) {
            return NGX_OK;
        }

        if (n == 0 && !last) {
            return NGX_OK;
        }

        rc = confer_bhttp_next(&ctx->bhttp, p, n, last, &consumed, &ev);

        p += consumed;
        n -= consumed;

        switch (rc) {

        case CONFER_BHTTP_OK:
            if (ngx_http_confer_open_event(r, ctx, &ev) != NGX_OK) {
                return NGX_ERROR;
            }

            break;

        case CONFER_BHTTP_AGAIN:
            if (last) {
                ngx_http_confer_open_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                          "bhttp_truncated");
            }

            return NGX_OK;

        case CONFER_BHTTP_DONE:
            if (!ctx->got_end) {
                ngx_http_confer_open_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                          "bhttp_truncated");
            }

            return NGX_OK;

        default:
            ngx_http_confer_open_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                      rc == CONFER_BHTTP_ERR_TOO_LARGE
                                      ? "bhttp_too_large" : "bhttp_malformed");
            return NGX_OK;
        }
    }
}


static ngx_int_t
ngx_http_confer_open_event(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, confer_bhttp_event_t *ev)
{
    switch (ev->type) {

    case CONFER_BHTTP_EV_REQUEST:
        ctx->got_request = 1;

        ctx->method.len = ev->method.len;
        ctx->method.data = ngx_pnalloc(r->pool, ev->method.len + 1);
        ctx->path.len = ev->path.len;
        ctx->path.data = ngx_pnalloc(r->pool, ev->path.len + 1);

        if (ctx->method.data == NULL || ctx->path.data == NULL) {
            return NGX_ERROR;
        }

        ngx_cpystrn(ctx->method.data, (u_char *) ev->method.data,
                    ev->method.len + 1);
        ngx_memcpy(ctx->path.data, ev->path.data, ev->path.len);
        ctx->path.data[ev->path.len] = '\0';

        return NGX_OK;

    case CONFER_BHTTP_EV_FIELD:
        return ngx_http_confer_open_field(r, ctx, ev);

    case CONFER_BHTTP_EV_HEADERS_END:
        ctx->got_headers = 1;
        return NGX_OK;

    case CONFER_BHTTP_EV_CONTENT:
        return ngx_http_confer_open_content(r, ctx, ev->data, ev->len);

    case CONFER_BHTTP_EV_END:
        ctx->got_end = 1;
        return NGX_OK;

    default:
        /* trailers are not forwarded */
        return NGX_OK;
    }
}


static ngx_int_t
ngx_http_confer_open_field(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, confer_bhttp_event_t *ev)
{
    ngx_str_t                        *s;
    ngx_uint_t                        i, ok;
    ngx_table_elt_t                  *h;
    ngx_http_confer_term_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_confer_terminator_module);

    ok = 0;

    /* RFC 9292, 3.6: names arrive in lowercase (the decoder checks) */
    for (i = 0; ngx_http_confer_inner_headers[i].len; i++) {
        s = &ngx_http_confer_inner_headers[i];

        if (s->len == ev->name.len
            && ngx_memcmp(s->data, ev->name.data, s->len) == 0)
        {
            ok = 1;
            break;
        }
    }

    if (!ok && tlcf->headers) {
        s = tlcf->headers->elts;

        for (i = 0; i < tlcf->headers->nelts; i++) {
            if (s[i].len == ev->name.len
                && ngx_memcmp(s[i].data, ev->name.data, s[i].len) == 0)
            {
                ok = 1;
                break;
            }
        }
    }

    if (!ok) {
        return NGX_OK;
    }

    h = ngx_list_push(&ctx->fields);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->key.len = ev->name.len;
    h->key.data = ngx_pnalloc(r->pool, ev->name.len + 1);
    h->value.len = ev->value.len;
    h->value.data = ngx_pnalloc(r->pool, ev->value.len + 1);

    if (h->key.data == NULL || h->value.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(h->key.data, ev->name.data, ev->name.len);
    h->key.data[h->key.len] = '\0';
    ngx_memcpy(h->value.data, ev->value.data, ev->value.len);
    h->value.data[h->value.len] = '\0';

    h->lowcase_key = h->key.data;
    h->hash = ngx_hash_key(h->key.data, h->key.len);

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


/*
 * The content goes to the model server from where it was opened: a chunk's
 * plaintext stays in the reader's buffer, which the reader then gives up
 * (ngx_http_confer_open_detach), and a plain request's in its buffer; both
 * are wiped when the request ends.  Only content found elsewhere is copied.
 */
static ngx_int_t
ngx_http_confer_open_content(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, const u_char *p, size_t n)
{
    size_t        room;
    ngx_buf_t    *b;
    ngx_uint_t    reader;
    ngx_chain_t  *cl;

    ctx->body_len += n;

    reader = ctx->chunked && ctx->reader.buf
             && p >= ctx->reader.buf
             && p + n <= ctx->reader.buf + ctx->reader.cap;

    if (reader
        || (ctx->opened && p >= ctx->opened->start
            && p + n <= ctx->opened->last))
    {
        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_ERROR;
        }

        /* no room: the copying path below never appends to it */
        b->start = (u_char *) p;
        b->pos = (u_char *) p;
        b->last = (u_char *) p + n;
        b->end = b->last;
        b->memory = 1;

        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        cl->buf = b;
        cl->next = NULL;
        *ctx->body_last = cl;
        ctx->body_last = &cl->next;

        if (reader) {
            ctx->adopt = 1;
        }

        return NGX_OK;
    }

    while (n > 0) {
        cl = (ctx->body_last != &ctx->body)
             ? (ngx_chain_t *) ((u_char *) ctx->body_last
                                - offsetof(ngx_chain_t, next))
             : NULL;

        b = cl ? cl->buf : NULL;
        room = b ? (size_t) (b->end - b->last) : 0;

        if (room == 0) {
            b = ngx_create_temp_buf(r->pool,
                                    ngx_max(n, NGX_HTTP_CONFER_BODY_BUF));
            if (b == NULL) {
                return NGX_ERROR;
            }

            ngx_http_confer_term_wipe(ctx, b);

            cl = ngx_alloc_chain_link(r->pool);
            if (cl == NULL) {
                return NGX_ERROR;
            }

            cl->buf = b;
            cl->next = NULL;
            *ctx->body_last = cl;
            ctx->body_last = &cl->next;

            room = b->end - b->last;
        }

        room = ngx_min(room, n);
        b->last = ngx_cpymem(b->last, p, room);
        p += room;
        n -= room;
    }

    return NGX_OK;
}


static void
ngx_http_confer_open_body_done(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_str_t                          uri, args;
    ngx_http_confer_term_ctx_t        *ctx;
    ngx_http_confer_term_loc_conf_t   *tlcf;
    ngx_http_confer_term_main_conf_t  *tmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_confer_terminator_module);
    ctx->waiting_body = 0;

    if (ctx->state == NGX_HTTP_CONFER_ST_READING && ctx->filter_armed) {
        /* no body at all: Content-Length 0 */
        ctx->filter_armed = 0;
        ngx_http_confer_open_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                  "truncated");
    }

    if (ctx->state == NGX_HTTP_CONFER_ST_READING
        && !(ctx->got_request && ctx->got_end))
    {
        ngx_http_confer_open_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                  "bhttp_truncated");
    }

    if (ctx->state == NGX_HTTP_CONFER_ST_FAILED) {
        ngx_http_finalize_request(r,
                                  ngx_http_confer_term_refuse(r, ctx->status,
                                                              ctx->reason));
        return;
    }

    tmcf = ngx_http_get_module_main_conf(r,
                                         ngx_http_confer_terminator_module);

    /* RFC 9458, 6.5: an encapsulated key is used once */
    rc = ngx_http_confer_replay_check(r, tmcf->replay_zone, ctx->ohttp.enc,
                                      tmcf->keys->current->retire);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "confer: request refused: replayed");
        ngx_http_finalize_request(r,
                                  ngx_http_confer_term_refuse(r,
                                                  NGX_HTTP_BAD_REQUEST,
                                                  "replay"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r,
                                  ngx_http_confer_term_refuse(r,
                                          NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "busy"));
        return;
    }

    /* from here on every answer is sealed */
    ctx->state = NGX_HTTP_CONFER_ST_OPENED;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_confer_terminator_module);

    if (!ngx_http_confer_open_path_ok(&ctx->path, &uri, &args)
        || !ngx_http_confer_open_allowed(tlcf, &uri))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "confer: inner path not allowed");
        ngx_http_finalize_request(r,
                                  ngx_http_confer_open_inner_error(r,
                                                  NGX_HTTP_FORBIDDEN,
                                                  "path_not_allowed"));
        return;
    }

    if (ngx_http_confer_open_rewrite(r, ctx, &uri, &args) != NGX_OK) {
        ngx_http_finalize_request(r,
                                  ngx_http_confer_open_inner_error(r,
                                                  NGX_HTTP_NOT_ALLOWED,
                                                  "method_not_allowed"));
        return;
    }

    r->preserve_body = 1;
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/* a path the model server gets verbatim: no escapes, no dot segments */
static ngx_uint_t
ngx_http_confer_open_path_ok(ngx_str_t *path, ngx_str_t *uri,
    ngx_str_t *args)
{
    u_char  *p, *last, c;

    p = path->data;
    last = path->data + path->len;

    if (path->len == 0 || p[0] != '/') {
        return 0;
    }

    uri->data = p;

    for ( /* void */ ; p < last; p++) {
        c = *p;

        if (c == '?') {
            break;
        }

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '~'
            || c == ':' || c == '@' || c == '+' || c == ',' || c == '=')
        {
            continue;
        }

        if (c == '.') {
            if (p[-1] == '/') {
                return 0;
            }

            continue;
        }

        if (c == '/') {
            if (p != path->data && p[-1] == '/') {
                return 0;
            }

            continue;
        }

        return 0;
    }

    uri->len = p - uri->data;

    args->len = 0;
    args->data = NULL;

    if (p < last) {
        args->data = ++p;

        for ( /* void */ ; p < last; p++) {
            if (*p <= 0x20 || *p >= 0x7f || *p == '#') {
                return 0;
            }
        }

        args->len = last - args->data;
    }

    return 1;
}


static ngx_uint_t
ngx_http_confer_open_allowed(ngx_http_confer_term_loc_conf_t *tlcf,
    ngx_str_t *uri)
{
    ngx_str_t   *a;
    ngx_uint_t   i;

    a = tlcf->allow->elts;

    for (i = 0; i < tlcf->allow->nelts; i++) {

        if (a[i].data[a[i].len - 1] == '*') {
            if (uri->len >= a[i].len - 1
                && ngx_strncmp(uri->data, a[i].data, a[i].len - 1) == 0)
            {
                return 1;
            }

            continue;
        }

        if (uri->len == a[i].len
            && ngx_strncmp(uri->data, a[i].data, a[i].len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_http_confer_open_rewrite(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_str_t *uri, ngx_str_t *args)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (ctx->method.len == 4
        && ngx_strncmp(ctx->method.data, "POST", 4) == 0)
    {
        r->method = NGX_HTTP_POST;

    } else if (ctx->method.len == 3
               && ngx_strncmp(ctx->method.data, "GET", 3) == 0)
    {
        r->method = NGX_HTTP_GET;

    } else {
        return NGX_DECLINED;
    }

    r->method_name = ctx->method;

    /* the proxy builds the request line from these (proxy_pass, no URI) */
    r->uri = *uri;
    r->args = *args;
    r->unparsed_uri = ctx->path;
    r->valid_unparsed_uri = 0;
    r->quoted_uri = 0;
    r->plus_in_uri = 0;
    r->exten.len = 0;
    r->exten.data = NULL;

    /* the outer header list is gone; only allowed inner fields remain */
    r->headers_in.headers = ctx->fields;

    r->headers_in.content_length = NULL;
    r->headers_in.content_type = NULL;
    r->headers_in.transfer_encoding = NULL;
    r->headers_in.te = NULL;
    r->headers_in.expect = NULL;
    r->headers_in.upgrade = NULL;
    r->headers_in.accept_encoding = NULL;
    r->headers_in.via = NULL;
    r->headers_in.authorization = NULL;
    r->headers_in.keep_alive = NULL;
    r->headers_in.user_agent = NULL;
    r->headers_in.referer = NULL;
    r->headers_in.range = NULL;
    r->headers_in.if_range = NULL;
    r->headers_in.if_modified_since = NULL;
    r->headers_in.if_unmodified_since = NULL;
    r->headers_in.if_match = NULL;
    r->headers_in.if_none_match = NULL;
    r->headers_in.content_range = NULL;
    r->headers_in.accept = NULL;
    r->headers_in.accept_language = NULL;
    r->headers_in.date = NULL;
    r->headers_in.x_real_ip = NULL;

#if (nginx_version < 1023000)
    r->headers_in.x_forwarded_for.nelts = 0;
    r->headers_in.cookies.nelts = 0;
#else
    r->headers_in.x_forwarded_for = NULL;
    r->headers_in.cookie = NULL;
#endif

    part = &r->headers_in.headers.part;
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

        if (h[i].key.len == 12
            && ngx_strncmp(h[i].lowcase_key, "content-type", 12) == 0)
        {
            r->headers_in.content_type = &h[i];

        } else if (h[i].key.len == 13
                   && ngx_strncmp(h[i].lowcase_key, "authorization", 13)
                      == 0)
        {
            r->headers_in.authorization = &h[i];

        } else if (h[i].key.len == 6
                   && ngx_strncmp(h[i].lowcase_key, "accept", 6) == 0)
        {
            r->headers_in.accept = &h[i];
        }
    }

    r->headers_in.chunked = 0;
    r->headers_in.content_length_n = ctx->body_len;

    if (ctx->body_len == 0) {
        if (r->request_body) {
            r->request_body->bufs = NULL;
        }

        if (r->method == NGX_HTTP_GET) {
            r->headers_in.content_length_n = -1;
        }
    }

    return NGX_OK;
}



/* an answer to the inner request, sealed like the model server's */
static ngx_int_t
ngx_http_confer_open_inner_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code)
{
    u_char  *p, *last;
    size_t   n;

    n = sizeof("{\"error\":{\"message\":\"refused by the terminator\","
               "\"type\":\"invalid_request_error\",\"code\":\"\"}}\n")
        + ngx_strlen(code);

    p = ngx_pnalloc(r->pool, n);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = ngx_snprintf(p, n, "{\"error\":{\"message\":\"refused by the "
                        "terminator\",\"type\":\"invalid_request_error\","
                        "\"code\":\"%s\"}}\n", code);

    return ngx_http_confer_send_memory(r, status, "application/json", p,
                                       last - p);
}


/* a refusal in plaintext: reason code only */
ngx_int_t
ngx_http_confer_term_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason)
{
    u_char  *p, *last;
    size_t   n;

    if (ngx_strcmp(reason, "key") == 0) {
        return ngx_http_confer_keys_problem(r);
    }

    if (r->request_body == NULL && ngx_http_discard_request_body(r)
                                   != NGX_OK)
    {
        r->keepalive = 0;
    }

    n = sizeof("{\"error\":\"\"}\n") + ngx_strlen(reason);

    p = ngx_pnalloc(r->pool, n);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = ngx_snprintf(p, n, "{\"error\":\"%s\"}\n", reason);

    return ngx_http_confer_send_memory(r, status, "application/json", p,
                                       last - p);
}
