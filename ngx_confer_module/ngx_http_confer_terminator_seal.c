/*
 * ngx_confer_module: the terminator seals the model server's answers.
 *
 * Only the main request whose OHTTP request was opened (the terminator's
 * ctx in the OPENED state) is touched; everything else passes by.
 *
 * Header filter: the upstream status and an allow-list of its headers
 * (content-type, retry-after, x-request-id, openai-*, x-ratelimit-*)
 * become the Binary HTTP response head (RFC 9292); the outer response is
 * 200 with the OHTTP media type, no length and no other header but
 * Cache-Control: no-store.
 *
 * Chunked OHTTP (draft-ietf-ohai-chunked-ohttp-08, 6.2): the response
 * nonce and the head go out at once as the first sealed chunk, so the
 * client has the headers before the first token.  Then each upstream read
 * of a text/event-stream is sealed as its own chunk and flushed, padded
 * with an SSE comment line so that every chunk is a multiple of the pad
 * quantum on the wire (confer_pad.h; a read with nowhere to put the line
 * is held and goes with the next one).  The head is padded the same way
 * with a "confer-padding" field of '~'.  Other media types are collected
 * and sent in the final chunk, padded to a size bucket.  The final chunk
 * (BHTTP end and padding) goes out only on last_buf: an upstream that
 * fails mid-stream leaves the stream without it, and the client sees a
 * truncation, never a clean end.
 *
 * confer_coalesce TIME blurs the timing of a stream's chunks: the reads are
 * held instead, and a timer TIME after the first held byte seals all that
 * is held as one padded chunk (as if it had been one read).  last_buf
 * sends what is held, and the final chunk, at once; more than
 * NGX_HTTP_CONFER_COALESCE_MAX_HELD bytes held are sealed at once.  A
 * request that ends otherwise (the client gone, the model server failing)
 * drops what is held, unsent, and its pool cleanup deletes the timer.
 *
 * Plain OHTTP (RFC 9458, 4.4): the whole answer is collected, encoded as a
 * known-length BHTTP response padded to a size bucket, and sealed once.
 *
 * Plaintext copies made here are zeroed when the request ends.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_confer_terminator.h"


#define NGX_HTTP_CONFER_PAD_FIELD  "confer-padding"


static ngx_int_t ngx_http_confer_seal_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_confer_seal_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_confer_seal_fields(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx);
static ngx_uint_t ngx_http_confer_seal_allowed(ngx_str_t *name);
static ngx_int_t ngx_http_confer_seal_head(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_chain_t **out);
static ngx_buf_t *ngx_http_confer_seal_plain_buf(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, size_t size);
static ngx_int_t ngx_http_confer_seal_hold(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, const u_char *p, size_t n);
static ngx_int_t ngx_http_confer_seal_chunk(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, const u_char *pt, size_t n,
    ngx_uint_t final, ngx_chain_t ***ll);
static ngx_int_t ngx_http_confer_seal_sse(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_uint_t last, ngx_chain_t ***ll);
static ngx_int_t ngx_http_confer_seal_final(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_chain_t ***ll);
static ngx_int_t ngx_http_confer_seal_whole(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_chain_t ***ll);
static ngx_int_t ngx_http_confer_seal_coalesce_init(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx);
static void ngx_http_confer_seal_coalesce_handler(ngx_event_t *ev);
static void ngx_http_confer_seal_coalesce_cleanup(void *data);
static ngx_int_t ngx_http_confer_seal_send(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_chain_t *out);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_confer_seal_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_confer_seal_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_confer_seal_body_filter;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_confer_seal_allowed(ngx_str_t *name)
{
    static ngx_str_t  exact[] = {
        ngx_string("retry-after"),
        ngx_string("x-request-id"),
        ngx_null_string
    };

    ngx_uint_t  i;

    for (i = 0; exact[i].len; i++) {
        if (name->len == exact[i].len
            && ngx_strncasecmp(name->data, exact[i].data, name->len) == 0)
        {
            return 1;
        }
    }

    if (name->len > 7 && ngx_strncasecmp(name->data, (u_char *) "openai-", 7)
                         == 0)
    {
        return 1;
    }

    if (name->len > 12
        && ngx_strncasecmp(name->data, (u_char *) "x-ratelimit-", 12) == 0)
    {
        return 1;
    }

    return 0;
}


static ngx_int_t
ngx_http_confer_seal_fields(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx)
{
    u_char                *p;
    size_t                 len;
    ngx_str_t             *ct;
    ngx_uint_t             i, n;
    ngx_list_part_t       *part;
    ngx_table_elt_t       *h;
    confer_bhttp_field_t  *f;

    n = 2;                              /* content-type, padding */
    part = &r->headers_out.headers.part;

    while (part) {
        n += part->nelts;
        part = part->next;
    }

    ctx->res_fields = ngx_pcalloc(r->pool, n * sizeof(confer_bhttp_field_t));
    if (ctx->res_fields == NULL) {
        return NGX_ERROR;
    }

    ctx->res_nfields = 0;
    ct = &r->headers_out.content_type;

    if (ct->len) {
        len = ct->len;

        if (r->headers_out.charset.len
            && ngx_strlcasestrn(ct->data, ct->data + ct->len,
                                (u_char *) "charset", 7 - 1) == NULL)
        {
            len += sizeof("; charset=") - 1 + r->headers_out.charset.len;
        }

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        f = &ctx->res_fields[ctx->res_nfields++];
        f->name.data = (const uint8_t *) "content-type";
        f->name.len = sizeof("content-type") - 1;
        f->value.data = p;
        f->value.len = len;

        p = ngx_cpymem(p, ct->data, ct->len);

        if (len > ct->len) {
            p = ngx_cpymem(p, "; charset=", sizeof("; charset=") - 1);
            ngx_memcpy(p, r->headers_out.charset.data,
                       r->headers_out.charset.len);
        }

        if (ct->len >= sizeof("text/event-stream") - 1
            && ngx_strncasecmp(ct->data, (u_char *) "text/event-stream",
                               sizeof("text/event-stream") - 1) == 0)
        {
            ctx->sse = 1;
        }
    }

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

        if (h[i].hash == 0 || !ngx_http_confer_seal_allowed(&h[i].key)) {
            continue;
        }

        p = ngx_pnalloc(r->pool, h[i].key.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        /* RFC 9292, 3.6: lowercase names */
        ngx_strlow(p, h[i].key.data, h[i].key.len);

        f = &ctx->res_fields[ctx->res_nfields++];
        f->name.data = p;
        f->name.len = h[i].key.len;
        f->value.data = h[i].value.data;
        f->value.len = h[i].value.len;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_confer_seal_header_filter(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_chain_t                 *out;
    ngx_list_part_t             *part;
    ngx_table_elt_t             *h;
    ngx_http_confer_term_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_confer_terminator_module);

    if (ctx == NULL || ctx->state != NGX_HTTP_CONFER_ST_OPENED) {
        return ngx_http_next_header_filter(r);
    }

    ctx->state = NGX_HTTP_CONFER_ST_SEALING;

    ctx->res_status = r->headers_out.status;

    if (ctx->res_status < 200 || ctx->res_status > 599) {
        ctx->res_status = NGX_HTTP_BAD_GATEWAY;
    }

    if (ngx_http_confer_seal_fields(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the outer response says nothing about the inner one */

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

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.status_line.len = 0;
    r->headers_out.charset.len = 0;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_type_hash = 0;

    if (ctx->chunked) {
        ngx_str_set(&r->headers_out.content_type,
                    "message/ohttp-chunked-res");

    } else {
        ngx_str_set(&r->headers_out.content_type, "message/ohttp-res");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    r->headers_out.location = NULL;
    r->headers_out.refresh = NULL;
    r->headers_out.content_encoding = NULL;
    r->headers_out.www_authenticate = NULL;
    r->headers_out.expires = NULL;
    r->headers_out.server = NULL;
    r->headers_out.date = NULL;
    r->allow_ranges = 0;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    r->filter_need_in_memory = 1;

    confer_bhttp_stream_init(&ctx->stream);

    if (ctx->sse) {
        ngx_http_confer_term_loc_conf_t  *tlcf;

        tlcf = ngx_http_get_module_loc_conf(r,
                                            ngx_http_confer_terminator_module);
        confer_pad_sse_init(&ctx->pad, tlcf->pad);

        if (ctx->chunked && tlcf->coalesce
            && ngx_http_confer_seal_coalesce_init(r, ctx) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (!ctx->chunked) {
        return ngx_http_next_header_filter(r);
    }

    if (ngx_http_confer_seal_head(r, ctx, &out) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_next_header_filter(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    if (!ctx->sse) {
        /*
         * A whole answer goes in its final chunk, and the gateway hands
         * the head to its client only with it: both go in one write, not
         * two (the same chunks on the wire)
         */
        ctx->head_out = out;
        return rc;
    }

    /* the head goes out now, before the first token */
    ctx->head_sent = 1;

    rc = ngx_http_next_body_filter(r, out);

    return (rc == NGX_ERROR) ? NGX_ERROR : NGX_OK;
}


/*
 * The plaintext of the chunk being sealed: one buffer per request, reused
 * (sealing copies it out at once), grown when a chunk needs more.
 */
static ngx_buf_t *
ngx_http_confer_seal_plain_buf(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, size_t size)
{
    ngx_buf_t  *b;

    b = ctx->pt;

    if (b && (size_t) (b->end - b->start) >= size) {
        ngx_http_confer_term_reset(b);
        return b;
    }

    b = ngx_create_temp_buf(r->pool, ngx_max(size, 4096));
    if (b == NULL) {
        return NULL;
    }

    ngx_http_confer_term_wipe(ctx, b);
    ctx->pt = b;

    return b;
}


/* nonce and the first chunk: framing indicator, status, header section */
static ngx_int_t
ngx_http_confer_seal_head(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_chain_t **out)
{
    u_char                           *tildes;
    size_t                            need, need0, nlen, v, q;
    ngx_buf_t                        *b, *pt;
    ngx_uint_t                        nf;
    ngx_chain_t                      *cl, **ll;
    confer_bhttp_stream_t             s;
    confer_bhttp_field_t             *pad;
    ngx_http_confer_term_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_confer_terminator_module);

    nf = ctx->res_nfields;
    q = tlcf->pad;

    s = ctx->stream;
    (void) confer_bhttp_stream_begin(&s, ctx->res_status, ctx->res_fields,
                                     nf, NULL, 0, &need);

    if (q > 1 && confer_pad_chunk_wire(need) % q != 0) {

        tildes = ngx_pnalloc(r->pool, q + 16);
        if (tildes == NULL) {
            return NGX_ERROR;
        }

        ngx_memset(tildes, '~', q + 16);

        pad = &ctx->res_fields[nf++];
        pad->name.data = (const uint8_t *) NGX_HTTP_CONFER_PAD_FIELD;
        pad->name.len = sizeof(NGX_HTTP_CONFER_PAD_FIELD) - 1;
        pad->value.data = tildes;
        pad->value.len = 0;

        s = ctx->stream;
        (void) confer_bhttp_stream_begin(&s, ctx->res_status,
                                         ctx->res_fields, nf, NULL, 0,
                                         &need0);

        /*
         * RFC 9292, 3.6 and 3.8: in the indeterminate-length form a field
         * line is varint(name length), name, varint(value length), value,
         * with no section length, so v bytes of value add v and the growth
         * of their length's varint; encoding the head again for every v
         * cost as much as the rest of the request.
         */
        need = need0;

        for (v = 0; v < q + 16; v++) {
            need = need0 + v + confer_varint_size(v) - 1;

            if (confer_pad_chunk_wire(need) % q == 0) {
                break;
            }
        }

        pad->value.len = v;
    }

    pt = ngx_http_confer_seal_plain_buf(r, ctx, need);
    if (pt == NULL) {
        return NGX_ERROR;
    }

    if (confer_bhttp_stream_begin(&ctx->stream, ctx->res_status,
                                  ctx->res_fields, nf, pt->last, need,
                                  &need)
        != CONFER_BHTTP_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "confer: the model server's response head cannot be "
                      "encoded");
        return NGX_ERROR;
    }

    pt->last += need;

    /* chunked draft, 6.2: the response nonce first */
    nlen = confer_ohttp_response_nonce_size(ctx->ohttp.hpke.suite.aead_id);

    b = ngx_create_temp_buf(r->pool, nlen);
    if (b == NULL) {
        return NGX_ERROR;
    }

    if (confer_chunked_response_begin(&ctx->ohttp, b->last, nlen, &nlen)
        != CONFER_OHTTP_OK)
    {
        return NGX_ERROR;
    }

    b->last += nlen;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;
    *out = cl;
    ll = &cl->next;

    return ngx_http_confer_seal_chunk(r, ctx, pt->pos, pt->last - pt->pos, 0,
                                      &ll);
}


/* one sealed chunk at *ll, flushed (the last one also ends the stream) */
static ngx_int_t
ngx_http_confer_seal_chunk(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, const u_char *pt, size_t n,
    ngx_uint_t final, ngx_chain_t ***ll)
{
    size_t        size, len;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    size = confer_chunked_chunk_size(n, final);

    cl = ngx_chain_get_free_buf(r->pool, &ctx->free);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    b = cl->buf;

    if (b->start == NULL || (size_t) (b->end - b->start) < size) {
        b->start = ngx_palloc(r->pool, ngx_max(size, 512));
        if (b->start == NULL) {
            return NGX_ERROR;
        }

        b->end = b->start + ngx_max(size, 512);
    }

    b->pos = b->start;
    b->last = b->start;
    b->temporary = 1;
    b->flush = 0;
    b->last_buf = 0;
    b->last_in_chain = 0;
    b->tag = (ngx_buf_tag_t) &ngx_http_confer_terminator_module;

    if (confer_chunked_response_seal(&ctx->ohttp, pt, n, final, b->last,
                                     size, &len)
        != CONFER_OHTTP_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "confer: sealing a response chunk failed");
        return NGX_ERROR;
    }

    b->last += len;
    b->flush = 1;

    if (final) {
        b->last_buf = 1;
        b->last_in_chain = 1;
    }

    cl->next = NULL;

    **ll = cl;
    *ll = &cl->next;

    return NGX_OK;
}


/* appends to ctx->held, a plaintext buffer that grows */
static ngx_int_t
ngx_http_confer_seal_hold(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, const u_char *p, size_t n)
{
    size_t      have;
    ngx_buf_t  *b;

    b = ctx->held;

    if (b && (size_t) (b->end - b->last) >= n) {
        b->last = ngx_cpymem(b->last, p, n);
        return NGX_OK;
    }

    have = b ? (size_t) (b->last - b->pos) : 0;

    b = ngx_create_temp_buf(r->pool, ngx_max(4096, (have + n) * 2));
    if (b == NULL) {
        return NGX_ERROR;
    }

    ngx_http_confer_term_wipe(ctx, b);

    if (have) {
        b->last = ngx_cpymem(b->last, ctx->held->pos, have);
    }

    b->last = ngx_cpymem(b->last, p, n);
    ctx->held = b;

    return NGX_OK;
}


/* the held SSE bytes as one padded chunk, if they offer a line start */
static ngx_int_t
ngx_http_confer_seal_sse(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_uint_t last, ngx_chain_t ***ll)
{
    size_t            n, at, pad, len;
    ngx_buf_t        *data, *pt;
    confer_pad_rc_t   rc;

    data = ctx->held;
    n = data ? (size_t) (data->last - data->pos) : 0;

    if (n == 0) {
        return NGX_OK;
    }

    rc = confer_pad_sse_plan(&ctx->pad, 0, data->pos, n, &at, &pad);

    if (rc == CONFER_PAD_NO_LINE_START) {
        /* no event can end before this line does: wait for more */
        return NGX_OK;
    }

    if (rc != CONFER_PAD_OK) {
        return NGX_ERROR;
    }

    pt = ngx_http_confer_seal_plain_buf(r, ctx,
                                        confer_bhttp_chunk_size(n + pad));
    if (pt == NULL) {
        return NGX_ERROR;
    }

    /* the BHTTP content chunk: varint length, then the padded bytes */
    pt->last += confer_bhttp_varint_put(pt->last, n + pad);

    if (confer_pad_sse_write(&ctx->pad, data->pos, n, at, pad, pt->last,
                             pt->end - pt->last, &len)
        != CONFER_PAD_OK)
    {
        return NGX_ERROR;
    }

    pt->last += len;
    ngx_http_confer_term_reset(data);

    (void) last;

    return ngx_http_confer_seal_chunk(r, ctx, pt->pos, pt->last - pt->pos, 0,
                                      ll);
}


/* chunked: the final chunk, with what is held, the end, the padding */
static ngx_int_t
ngx_http_confer_seal_final(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_chain_t ***ll)
{
    size_t                            n, c, e, padding, q;
    ngx_buf_t                        *pt;
    confer_bhttp_stream_t             s;
    ngx_http_confer_term_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_confer_terminator_module);
    q = tlcf->pad;

    n = ctx->held ? (size_t) (ctx->held->last - ctx->held->pos) : 0;
    c = confer_bhttp_chunk_size(n);

    s = ctx->stream;
    (void) confer_bhttp_stream_end(&s, NULL, 0, 0, NULL, 0, &e);

    padding = 0;

    if (!ctx->sse) {
        padding = confer_pad_bucket_padding(c + e);
    }

    if (q > 1) {
        padding += confer_pad_final_padding(c + e + padding, q);
    }

    pt = ngx_http_confer_seal_plain_buf(r, ctx, c + e + padding);
    if (pt == NULL) {
        return NGX_ERROR;
    }

    if (n) {
        if (confer_bhttp_stream_content(&ctx->stream, ctx->held->pos, n,
                                        pt->last, c, &c)
            != CONFER_BHTTP_OK)
        {
            return NGX_ERROR;
        }

        pt->last += c;

        if (ctx->sse) {
            confer_pad_sse_sent(&ctx->pad, ctx->held->pos, n);
        }
    }

    if (confer_bhttp_stream_end(&ctx->stream, NULL, 0, padding, pt->last,
                                pt->end - pt->last, &e)
        != CONFER_BHTTP_OK)
    {
        return NGX_ERROR;
    }

    pt->last += e;

    return ngx_http_confer_seal_chunk(r, ctx, pt->pos, pt->last - pt->pos, 1,
                                      ll);
}


/* plain OHTTP: one known-length BHTTP response, bucket-padded, sealed */
static ngx_int_t
ngx_http_confer_seal_whole(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_chain_t ***ll)
{
    size_t                    need, padding, size, len;
    ngx_buf_t                *pt, *b;
    ngx_chain_t              *cl;
    confer_bhttp_response_t   res;

    ngx_memzero(&res, sizeof(confer_bhttp_response_t));

    res.status = ctx->res_status;
    res.headers = ctx->res_fields;
    res.nheaders = ctx->res_nfields;

    if (ctx->held) {
        res.content = ctx->held->pos;
        res.content_len = ctx->held->last - ctx->held->pos;
    }

    (void) confer_bhttp_encode_response(&res, CONFER_BHTTP_KNOWN_RESPONSE, 0,
                                        NULL, 0, &need);

    padding = confer_pad_bucket_padding(need);

    pt = ngx_http_confer_seal_plain_buf(r, ctx, need + padding);
    if (pt == NULL) {
        return NGX_ERROR;
    }

    if (confer_bhttp_encode_response(&res, CONFER_BHTTP_KNOWN_RESPONSE,
                                     padding, pt->last, need + padding, &len)
        != CONFER_BHTTP_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "confer: the model server's response cannot be "
                      "encoded");
        return NGX_ERROR;
    }

    pt->last += len;

    size = confer_ohttp_response_size(ctx->ohttp.hpke.suite.aead_id, len);

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_ERROR;
    }

    if (confer_ohttp_encapsulate_response(&ctx->ohttp, pt->pos, len, b->last,
                                          size, &size)
        != CONFER_OHTTP_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "confer: sealing the response failed");
        return NGX_ERROR;
    }

    b->last += size;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    **ll = cl;
    *ll = &cl->next;

    return NGX_OK;
}


static ngx_int_t
ngx_http_confer_seal_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t                       size;
    ngx_buf_t                   *b;
    ngx_uint_t                   last, flush;
    ngx_chain_t                 *cl, *out, **ll;
    ngx_http_confer_term_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_body_filter(r, in);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_confer_terminator_module);

    if (ctx == NULL || ctx->state != NGX_HTTP_CONFER_ST_SEALING) {
        return ngx_http_next_body_filter(r, in);
    }

    if (in == NULL) {
        return ngx_http_next_body_filter(r, NULL);
    }

    last = 0;
    flush = 0;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (b->last_buf) {
            last = 1;
        }

        if (b->flush) {
            flush = 1;
        }

        size = ngx_buf_size(b);

        if (size == 0) {
            continue;
        }

        if (!ngx_buf_in_memory(b)) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "confer: a response buffer is not in memory");
            return NGX_ERROR;
        }

        if (ngx_http_confer_seal_hold(r, ctx, b->pos, size) != NGX_OK) {
            return NGX_ERROR;
        }

        /* consumed: the upstream may reuse its buffer */
        b->pos = b->last;
    }

    out = NULL;
    ll = &out;

    if (!ctx->chunked) {
        if (!last) {
            return NGX_OK;
        }

        ctx->state = NGX_HTTP_CONFER_ST_DONE;

        if (ngx_http_confer_seal_whole(r, ctx, &ll) != NGX_OK) {
            return NGX_ERROR;
        }

        return ngx_http_next_body_filter(r, out);
    }

    if (ctx->sse) {
        size = ctx->held ? (size_t) (ctx->held->last - ctx->held->pos) : 0;

        if (ctx->coalesce && !last
            && size < NGX_HTTP_CONFER_COALESCE_MAX_HELD)
        {
            /* held for the window its first byte opened */
            if (size && !ctx->coalesce->timer_set) {
                ngx_http_confer_term_loc_conf_t  *tlcf;

                tlcf = ngx_http_get_module_loc_conf(r,
                                            ngx_http_confer_terminator_module);
                ngx_add_timer(ctx->coalesce, tlcf->coalesce);
            }

        } else if (ngx_http_confer_seal_sse(r, ctx, last, &ll) != NGX_OK) {
            return NGX_ERROR;
        }

    } else if (!last) {
        /* held for the final chunk; nothing to flush before it */
        return NGX_OK;

    } else if (ctx->head_out) {
        /* the head (nonce and first chunk), then the final chunk */
        out = ctx->head_out;
        ctx->head_out = NULL;
        ctx->head_sent = 1;

        for (ll = &out; *ll; ll = &(*ll)->next) { /* void */ }
    }

    if (last) {
        ctx->state = NGX_HTTP_CONFER_ST_DONE;

        if (ngx_http_confer_seal_final(r, ctx, &ll) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ctx->coalesce && ctx->coalesce->timer_set
        && (last || ctx->held == NULL || ctx->held->last == ctx->held->pos))
    {
        /* all held was sealed now: the window is over */
        ngx_del_timer(ctx->coalesce);
    }

    if (out == NULL) {
        if (!flush) {
            return NGX_OK;
        }

        out = ngx_http_confer_empty_buf(r->pool);
        if (out == NULL) {
            return NGX_ERROR;
        }

        out->buf->flush = 1;
    }

    return ngx_http_confer_seal_send(r, ctx, out);
}


static ngx_int_t
ngx_http_confer_seal_send(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx, ngx_chain_t *out)
{
    ngx_int_t  rc;

    rc = ngx_http_next_body_filter(r, out);

    /* sent buffers come back to ctx->free (nginx's "buffer reuse") */
    ngx_chain_update_chains(r->pool, &ctx->free, &ctx->busy, &out,
                            (ngx_buf_tag_t) &ngx_http_confer_terminator_module);

    return rc;
}


/* confer_coalesce: the window's timer, deleted with the request */
static ngx_int_t
ngx_http_confer_seal_coalesce_init(ngx_http_request_t *r,
    ngx_http_confer_term_ctx_t *ctx)
{
    ngx_event_t         *ev;
    ngx_pool_cleanup_t  *cln;

    ev = ngx_pcalloc(r->pool, sizeof(ngx_event_t));
    if (ev == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    ev->handler = ngx_http_confer_seal_coalesce_handler;
    ev->data = r;
    ev->log = r->connection->log;

    cln->handler = ngx_http_confer_seal_coalesce_cleanup;
    cln->data = ev;

    ctx->coalesce = ev;

    return NGX_OK;
}


static void
ngx_http_confer_seal_coalesce_cleanup(void *data)
{
    ngx_event_t  *ev = data;

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }
}


/*
 * The window is over: what is held goes out as one sealed chunk, the way
 * the model server's reads go (nginx's upstream, proxy_buffering off): the
 * write filter keeps what the socket does not take, and the request's
 * write handler sends it when the socket is ready again, or finalizes the
 * request after send_timeout.
 */
static void
ngx_http_confer_seal_coalesce_handler(ngx_event_t *ev)
{
    ngx_int_t                    rc;
    ngx_chain_t                 *out, **ll;
    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_confer_term_ctx_t  *ctx;

    r = ev->data;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);
    c->log->action = "sending a coalesced chunk to client";

    ctx = ngx_http_get_module_ctx(r, ngx_http_confer_terminator_module);

    if (ctx == NULL || ctx->state != NGX_HTTP_CONFER_ST_SEALING
        || c->error)
    {
        return;
    }

    out = NULL;
    ll = &out;

    if (ngx_http_confer_seal_sse(r, ctx, 0, &ll) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_ERROR);
        goto done;
    }

    if (out == NULL) {
        /* no line start yet: the next read opens a window again */
        goto done;
    }

    rc = ngx_http_confer_seal_send(r, ctx, out);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);
        goto done;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (ngx_handle_write_event(c->write, clcf->send_lowat) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_ERROR);
        goto done;
    }

    if (c->write->active && !c->write->ready) {
        ngx_add_timer(c->write, clcf->send_timeout);
    }

done:

    ngx_http_run_posted_requests(c);
}
