
/*
 * ngx_confer_module: the gateway seals the client's request.
 *
 * A PRECONTENT handler, run after the attestation gate gave the request
 * the verified key of one terminator, reads the body itself, mirror style,
 * through a request body filter armed for this request only.  The filter
 * takes every plaintext buffer into memory the module owns (ngx_alloc(),
 * wiped when freed), wipes and consumes nginx's copy at once, and passes
 * nothing on until the end: no plaintext reaches the save filter,
 * client_body_temp or $request_body.  More than confer_max_body is
 * refused (413).
 *
 * At the end of the body, a JSON body loses the confer_strip_fields
 * members of its top-level object (confer_json.h; a body that the media
 * type calls JSON but is not is refused, 400), and the inner request is
 * encoded as a known-length Binary HTTP message (RFC 9292): the client's
 * method, scheme https, the terminator's authority, the client's path and
 * query, its Content-Type and Accept and the confer_inner_header fields,
 * the body, and zero padding up to a size bucket (RFC 9292, 3.8;
 * confer_pad.h).  It is sealed to the terminator's key as a chunked OHTTP
 * request (draft-ietf-ohai-chunked-ohttp-08, 6.1) in chunks of 16 KiB,
 * and that ciphertext is all the save filter gets.
 *
 * Then the outer request is rewritten for proxy_pass: POST to the
 * terminator's OHTTP resource, no query, and r->headers_in cleared but for
 * Content-Type: message/ohttp-chunked-req, Incremental: ?1 and the
 * ciphertext's length, so that no proxy variable can carry the client's
 * User-Agent, Cookie, Authorization, Referer, X-Forwarded-For, Host or
 * anything else of it.  proxy_pass adds Host (the terminator's) and
 * Content-Length.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_confer_gateway_seal.h"

#include "confer_json.h"


/* plaintext per chunk of the sealed request */
#define NGX_HTTP_CONFER_SEAL_CHUNK  16384

/* encapsulations a worker keeps prepared */
#define NGX_HTTP_CONFER_ENCAP_SLOTS  2


static ngx_int_t ngx_http_confer_gateway_seal_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_confer_gateway_seal_body_filter(
    ngx_http_request_t *r, ngx_chain_t *in);
static void ngx_http_confer_gateway_seal_body_done(ngx_http_request_t *r);
static ngx_int_t ngx_http_confer_gateway_seal_take(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, u_char *p, size_t n);
static ngx_int_t ngx_http_confer_gateway_seal_message(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, ngx_chain_t **out);
static void ngx_http_confer_gateway_seal_gather(const u_char *head,
    size_t hlen, const u_char *body, size_t blen, size_t off, size_t piece,
    u_char *out);
static ngx_int_t ngx_http_confer_gateway_seal_fields(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, ngx_array_t *fields);
static ngx_uint_t ngx_http_confer_gateway_seal_value_ok(ngx_str_t *value);
static ngx_int_t ngx_http_confer_gateway_seal_path(ngx_http_request_t *r,
    ngx_str_t *path);
static ngx_uint_t ngx_http_confer_gateway_seal_is_json(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_confer_gateway_seal_outer(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, ngx_http_confer_key_t *key);
static ngx_table_elt_t *ngx_http_confer_gateway_seal_header(
    ngx_http_request_t *r, char *name, char *value);
static void ngx_http_confer_gateway_seal_refuse(
    ngx_http_confer_seal_ctx_t *sctx, ngx_uint_t status, const char *code,
    const char *message);
static ngx_int_t ngx_http_confer_gateway_seal_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message);
static void ngx_http_confer_gateway_seal_free_body(
    ngx_http_confer_seal_ctx_t *sctx);
static void ngx_http_confer_gateway_seal_cleanup(void *data);
static confer_hpke_encap_t *ngx_http_confer_gateway_encap_take(
    const u_char *pk);
static void ngx_http_confer_gateway_encap_want(const u_char *pk);
static void ngx_http_confer_gateway_encap_refill(ngx_event_t *ev);


static ngx_http_request_body_filter_pt  ngx_http_next_request_body_filter;


/*
 * HPKE encapsulations prepared ahead, this worker's own (never in shared
 * memory: each is used once).  The two X25519 operations of a request's
 * encapsulation, a new ephemeral key and its DH with the terminator's
 * public key, run after a request was sealed, once nginx has looked for
 * I/O, rather than while the next request waits for them.  A slot is
 * wiped by the setup that uses it (confer_hpke_setup_base_s_prepared);
 * one for a key no request asks for any more is written over.
 */
static confer_hpke_encap_t  ngx_http_confer_encaps[NGX_HTTP_CONFER_ENCAP_SLOTS];
static u_char               ngx_http_confer_encap_pk[CONFER_HPKE_NPK];
static ngx_event_t          ngx_http_confer_encap_event;


/* the default of confer_strip_fields: OpenAI's end-user identifiers */
static confer_json_name_t  ngx_http_confer_strip_default[] = {
    { (const uint8_t *) "user", sizeof("user") - 1 },
    { (const uint8_t *) "metadata", sizeof("metadata") - 1 },
    { (const uint8_t *) "safety_identifier",
      sizeof("safety_identifier") - 1 }
};


/* fields the gateway or the hop sets, never a confer_inner_header */
static ngx_str_t  ngx_http_confer_inner_reserved[] = {
    ngx_string("host"),
    ngx_string("content-length"),
    ngx_string("transfer-encoding"),
    ngx_string("connection"),
    ngx_string("keep-alive"),
    ngx_string("te"),
    ngx_string("trailer"),
    ngx_string("upgrade"),
    ngx_string("proxy-connection"),
    ngx_null_string
};


ngx_int_t
ngx_http_confer_gateway_seal_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_confer_gateway_seal_handler;

    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_confer_gateway_seal_body_filter;

    return NGX_OK;
}


ngx_http_confer_seal_ctx_t *
ngx_http_confer_gateway_seal_ctx(ngx_http_request_t *r)
{
    ngx_http_confer_gateway_ctx_t  *ctx;

    if (r != r->main) {
        return NULL;
    }

    ctx = ngx_http_confer_gateway_ctx(r);

    return ctx ? ctx->seal : NULL;
}


/* --- the request ------------------------------------------------------- */


static ngx_int_t
ngx_http_confer_gateway_seal_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_pool_cleanup_t             *cln;
    ngx_http_confer_seal_ctx_t     *sctx;
    ngx_http_confer_seal_conf_t    *scf;
    ngx_http_confer_gateway_ctx_t  *ctx;

    ctx = ngx_http_confer_gateway_ctx(r);

    if (ctx == NULL) {
        /* no confer_seal here */
        return NGX_DECLINED;
    }

    if (r != r->main) {
        /* it would share the client's body and headers: never sealed */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "confer: a subrequest to a confer_seal location is "
                      "refused");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->key == NULL) {
        /* the gate answers every request it lets through no key for */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "confer: no verified key after the attestation gate");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sctx = ctx->seal;

    if (sctx) {
        if (sctx->state >= NGX_HTTP_CONFER_SEAL_SENT) {
            /* sealed: on to proxy_pass */
            return NGX_DECLINED;
        }

        /* the phases resume only once the body is sealed or refused */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "confer: the request came back before it was sealed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_HEAD) {
        /* the outer request is a POST: its answer would have a body */
        rc = ngx_http_confer_gateway_seal_error(r, NGX_HTTP_NOT_ALLOWED,
                                                "method_not_allowed",
                                                "HEAD requests are not "
                                                "sealed; the request was "
                                                "not sent.");
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    if (r->request_body) {
        /* read before the filter was armed: it may be anywhere now */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "confer: the request body was read before confer_seal "
                      "could seal it");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    scf = ngx_http_confer_gateway_seal_conf(r);

    if (r->headers_in.content_length_n > (off_t) scf->max_body) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "confer: request refused: a body of %O bytes is above "
                      "confer_max_body", r->headers_in.content_length_n);

        rc = ngx_http_confer_gateway_seal_error(r,
                                        NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "request_too_large",
                                        "The request body is larger than "
                                        "this gateway seals; the request "
                                        "was not sent.");
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    sctx = ngx_pcalloc(r->pool, sizeof(ngx_http_confer_seal_ctx_t));
    if (sctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    confer_ohttp_init(&sctx->ohttp);

    cln->handler = ngx_http_confer_gateway_seal_cleanup;
    cln->data = sctx;

    sctx->state = NGX_HTTP_CONFER_SEAL_READING;
    sctx->http_version = r->http_version;
    sctx->armed = 1;
    ctx->seal = sctx;

    rc = ngx_http_read_client_request_body(r,
                                        ngx_http_confer_gateway_seal_body_done);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}


static ngx_int_t
ngx_http_confer_gateway_seal_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in)
{
    size_t                       size;
    ngx_buf_t                   *b;
    ngx_uint_t                   last;
    ngx_chain_t                 *cl, *out;
    ngx_http_confer_seal_ctx_t  *sctx;

    sctx = ngx_http_confer_gateway_seal_ctx(r);

    if (sctx == NULL || !sctx->armed) {
        return ngx_http_next_request_body_filter(r, in);
    }

    last = 0;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (b->last_buf) {
            last = 1;
        }

        size = b->last - b->pos;

        if (size == 0) {
            continue;
        }

        if (ngx_http_confer_gateway_seal_take(r, sctx, b->pos, size)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* nginx's copy goes at once, and its buffer is free again */
        if (b->temporary) {
            ngx_explicit_memzero(b->pos, size);
        }

        b->pos = b->last;
    }

    if (!last) {
        return NGX_OK;
    }

    sctx->armed = 0;
    out = NULL;

    if (ngx_http_confer_gateway_seal_message(r, sctx, &out) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (out == NULL) {
        /* refused: the body ends empty, the client gets the error */
        out = ngx_http_confer_empty_buf(r->pool);
        if (out == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        out->buf->last_buf = 1;
    }

    return ngx_http_next_request_body_filter(r, out);
}


/* appends to the module's copy of the body, up to confer_max_body */
static ngx_int_t
ngx_http_confer_gateway_seal_take(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, u_char *p, size_t n)
{
    u_char                       *body;
    size_t                        cap;
    ngx_http_confer_seal_conf_t  *scf;

    if (sctx->too_large) {
        return NGX_OK;
    }

    scf = ngx_http_confer_gateway_seal_conf(r);

    if (n > scf->max_body - sctx->body_len) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "confer: request refused: the body is above "
                      "confer_max_body");

        sctx->too_large = 1;
        ngx_http_confer_gateway_seal_free_body(sctx);

        return NGX_OK;
    }

    if (n > sctx->body_cap - sctx->body_len) {

        if (sctx->body_cap) {
            cap = sctx->body_cap;

        } else if (r->headers_in.content_length_n > 0) {
            cap = (size_t) r->headers_in.content_length_n;

        } else {
            cap = NGX_HTTP_CONFER_SEAL_CHUNK;
        }

        while (cap < sctx->body_len + n) {
            cap *= 2;
        }

        cap = ngx_min(cap, scf->max_body);

        body = ngx_alloc(cap, r->connection->log);
        if (body == NULL) {
            return NGX_ERROR;
        }

        if (sctx->body_len) {
            ngx_memcpy(body, sctx->body, sctx->body_len);
        }

        /* the old copy is wiped before it goes */
        if (sctx->body) {
            ngx_explicit_memzero(sctx->body, sctx->body_len);
            ngx_free(sctx->body);
        }

        sctx->body = body;
        sctx->body_cap = cap;
    }

    ngx_memcpy(sctx->body + sctx->body_len, p, n);
    sctx->body_len += n;

    return NGX_OK;
}


/*
 * The body is complete: strip, encode, pad, seal.  *out gets the sealed
 * request, or stays NULL when the request is refused (sctx->state).
 */
static ngx_int_t
ngx_http_confer_gateway_seal_message(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, ngx_chain_t **out)
{
    u_char                       *head, *scratch;
    const u_char                 *pt;
    size_t                        clen, len, dropped, need, total, size;
    size_t                        off, piece, nchunks, n, hlen, tail;
    size_t                        hroom, room, gathered;
    ngx_buf_t                    *b;
    ngx_str_t                     path;
    ngx_uint_t                    final;
    ngx_array_t                   fields;
    ngx_chain_t                  *cl;
    confer_json_rc_t              jrc;
    confer_bhttp_rc_t             brc;
    confer_ohttp_err_t            orc;
    ngx_http_confer_key_t        *key;
    confer_bhttp_request_t        req;
    ngx_http_confer_seal_conf_t  *scf;

    if (sctx->too_large) {
        ngx_http_confer_gateway_seal_refuse(sctx,
                                        NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "request_too_large",
                                        "The request body is larger than "
                                        "this gateway seals; the request "
                                        "was not sent.");
        return NGX_OK;
    }

    scf = ngx_http_confer_gateway_seal_conf(r);
    key = ngx_http_confer_gateway_key(r);

    clen = sctx->body_len;

    if (clen && scf->strip->nelts && ngx_http_confer_gateway_seal_is_json(r))
    {

        jrc = confer_json_strip(sctx->body, clen, scf->strip->elts,
                                scf->strip->nelts, sctx->body, clen, &len,
                                &dropped);

        if (jrc != CONFER_JSON_OK) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "confer: request refused: the body is not valid "
                          "JSON (%s)", confer_json_strerror(jrc));

            ngx_http_confer_gateway_seal_free_body(sctx);
            ngx_http_confer_gateway_seal_refuse(sctx, NGX_HTTP_BAD_REQUEST,
                                                "invalid_json",
                                                "The request body is not "
                                                "valid JSON; the request "
                                                "was not sent.");
            return NGX_OK;
        }

        clen = len;
    }

    if (ngx_array_init(&fields, r->pool, 4, sizeof(confer_bhttp_field_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    switch (ngx_http_confer_gateway_seal_fields(r, sctx, &fields)) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        ngx_http_confer_gateway_seal_free_body(sctx);
        return NGX_OK;

    default:
        return NGX_ERROR;
    }

    if (ngx_http_confer_gateway_seal_path(r, &path) != NGX_OK) {
        return NGX_ERROR;
    }

    /* RFC 9292, 3.4 and 3.5: the request's control data and fields */
    ngx_memzero(&req, sizeof(confer_bhttp_request_t));

    req.method.data = r->method_name.data;
    req.method.len = r->method_name.len;
    req.scheme.data = (const uint8_t *) "https";
    req.scheme.len = sizeof("https") - 1;
    req.authority.data = key->host.data;
    req.authority.len = key->host.len;
    req.path.data = path.data;
    req.path.len = path.len;
    req.headers = fields.elts;
    req.nheaders = fields.nelts;
    req.content = sctx->body;
    req.content_len = clen;

    brc = confer_bhttp_encode_request_head(&req, 0, NULL, 0, &hlen, &tail);

    if (brc != CONFER_BHTTP_ERR_SPACE && brc != CONFER_BHTTP_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "confer: request refused: its head cannot be encoded "
                      "(%s)", confer_bhttp_strerror(brc));

        ngx_http_confer_gateway_seal_free_body(sctx);
        ngx_http_confer_gateway_seal_refuse(sctx, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request",
                                            "The request cannot be sealed "
                                            "as it is; it was not sent.");
        return NGX_OK;
    }

    /*
     * RFC 9292, 3.8: zero bytes up to the bucket, inside the message.  The
     * message is the head, the body where it lies and the zero tail: it
     * is sealed from there, not joined into one more copy of the body.
     */
    need = hlen + clen + tail;
    total = need + confer_pad_bucket_padding(need);

    /*
     * The head, then room for one chunk's plaintext where the head or the
     * tail is gathered: no more than the message for a small one.  Only
     * what was gathered is wiped (gathered).
     */
    room = ngx_min(total, NGX_HTTP_CONFER_SEAL_CHUNK);
    gathered = 0;
    hroom = hlen;

    head = ngx_alloc(hroom + room, r->connection->log);
    if (head == NULL) {
        return NGX_ERROR;
    }

    scratch = head + hroom;

    brc = confer_bhttp_encode_request_head(&req, total - need, head, hlen,
                                           &hlen, &tail);

    if (brc != CONFER_BHTTP_OK || hlen + clen + tail != total) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "confer: encoding the request failed: %s",
                      confer_bhttp_strerror(brc));
        goto failed;
    }

    /* chunked draft, 6.1: header and enc, chunks, the final chunk */
    nchunks = (total + NGX_HTTP_CONFER_SEAL_CHUNK - 1)
              / NGX_HTTP_CONFER_SEAL_CHUNK;

    size = CONFER_OHTTP_REQ_PREFIX
           + (nchunks - 1)
             * confer_chunked_chunk_size(NGX_HTTP_CONFER_SEAL_CHUNK, 0)
           + confer_chunked_chunk_size(total - (nchunks - 1)
                                              * NGX_HTTP_CONFER_SEAL_CHUNK,
                                       1);

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        goto failed;
    }

    /* a prepared encapsulation for this key if there is one (wiped) */
    sctx->ohttp.encap = ngx_http_confer_gateway_encap_take(key->config.pk);
    sctx->prepared = (sctx->ohttp.encap != NULL);

    orc = confer_chunked_request_begin(&sctx->ohttp, &key->config,
                                       &key->suite, b->last,
                                       b->end - b->last, &n);

    ngx_http_confer_gateway_encap_want(key->config.pk);

    if (orc != CONFER_OHTTP_OK) {
        goto seal_failed;
    }

    b->last += n;

    for (off = 0; off < total; off += piece) {
        piece = ngx_min(total - off, NGX_HTTP_CONFER_SEAL_CHUNK);
        final = (off + piece == total);

        if (off >= hlen && off + piece <= hlen + clen) {
            /* all body: sealed where it is */
            pt = sctx->body + (off - hlen);

        } else {
            pt = scratch;
            ngx_http_confer_gateway_seal_gather(head, hlen, sctx->body,
                                                clen, off, piece, scratch);
            gathered = ngx_max(gathered, piece);
        }

        orc = confer_chunked_request_seal(&sctx->ohttp, pt, piece, final,
                                          b->last, b->end - b->last, &n);
        if (orc != CONFER_OHTTP_OK) {
            goto seal_failed;
        }

        b->last += n;
    }

    ngx_explicit_memzero(head, hroom + gathered);
    ngx_free(head);
    ngx_http_confer_gateway_seal_free_body(sctx);

    b->last_buf = 1;
    b->last_in_chain = 1;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    *out = cl;
    sctx->sealed_len = b->last - b->pos;

    return NGX_OK;

seal_failed:

    ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                  "confer: sealing the request failed: %s",
                  confer_ohttp_strerror(orc));

failed:

    ngx_explicit_memzero(head, hroom + gathered);
    ngx_free(head);
    ngx_http_confer_gateway_seal_free_body(sctx);

    return NGX_ERROR;
}


/*
 * The plaintext of the message at [off, off + piece) into out: the part
 * of the head, of the body and of the zero tail that it spans.
 */
static void
ngx_http_confer_gateway_seal_gather(const u_char *head, size_t hlen,
    const u_char *body, size_t blen, size_t off, size_t piece, u_char *out)
{
    size_t  k, from, to;

    k = 0;

    if (off < hlen) {
        k = ngx_min(hlen - off, piece);
        ngx_memcpy(out, head + off, k);
    }

    from = ngx_max(off, hlen);
    to = ngx_min(off + piece, hlen + blen);

    if (from < to) {
        ngx_memcpy(out + k, body + (from - hlen), to - from);
        k += to - from;
    }

    ngx_memzero(out + k, piece - k);
}


/*
 * The inner request's fields: the client's Content-Type and Accept, then
 * the confer_inner_header ones (which replace a client field of the same
 * name; an empty value adds nothing).  NGX_DECLINED: refused.
 */
static ngx_int_t
ngx_http_confer_gateway_seal_fields(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, ngx_array_t *fields)
{
    ngx_str_t                        value;
    ngx_uint_t                       i, k, ninner;
    ngx_list_part_t                 *part;
    ngx_table_elt_t                 *h;
    confer_bhttp_field_t            *f;
    ngx_http_confer_seal_conf_t     *scf;
    ngx_http_confer_inner_header_t  *ih;

    scf = ngx_http_confer_gateway_seal_conf(r);

    ih = scf->inner ? scf->inner->elts : NULL;
    ninner = scf->inner ? scf->inner->nelts : 0;

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

        if (!((h[i].key.len == sizeof("content-type") - 1
               && ngx_strncasecmp(h[i].key.data, (u_char *) "content-type",
                                  h[i].key.len) == 0)
              || (h[i].key.len == sizeof("accept") - 1
                  && ngx_strncasecmp(h[i].key.data, (u_char *) "accept",
                                     h[i].key.len) == 0)))
        {
            continue;
        }

        for (k = 0; k < ninner; k++) {
            if (ih[k].name.len == h[i].key.len
                && ngx_strncasecmp(ih[k].name.data, h[i].key.data,
                                   h[i].key.len) == 0)
            {
                break;
            }
        }

        if (k < ninner) {
            continue;
        }

        if (!ngx_http_confer_gateway_seal_value_ok(&h[i].value)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "confer: request refused: a control character in "
                          "the \"%V\" header", &h[i].key);

            ngx_http_confer_gateway_seal_refuse(sctx, NGX_HTTP_BAD_REQUEST,
                                                "invalid_header",
                                                "A request header cannot be "
                                                "sealed; the request was "
                                                "not sent.");
            return NGX_DECLINED;
        }

        f = ngx_array_push(fields);
        if (f == NULL) {
            return NGX_ERROR;
        }

        f->name.data = h[i].key.data;
        f->name.len = h[i].key.len;
        f->value.data = h[i].value.data;
        f->value.len = h[i].value.len;
    }

    for (k = 0; k < ninner; k++) {

        if (ngx_http_complex_value(r, &ih[k].value, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        if (value.len == 0) {
            continue;
        }

        if (!ngx_http_confer_gateway_seal_value_ok(&value)) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "confer: the value of confer_inner_header \"%V\" "
                          "has a control character", &ih[k].name);
            return NGX_ERROR;
        }

        f = ngx_array_push(fields);
        if (f == NULL) {
            return NGX_ERROR;
        }

        f->name.data = ih[k].name.data;
        f->name.len = ih[k].name.len;
        f->value.data = value.data;
        f->value.len = value.len;
    }

    return NGX_OK;
}


/* RFC 9110, 5.5: no CTL but HTAB in a field value */
static ngx_uint_t
ngx_http_confer_gateway_seal_value_ok(ngx_str_t *value)
{
    u_char  *p, *last;

    last = value->data + value->len;

    for (p = value->data; p < last; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            return 0;
        }
    }

    return 1;
}


/* the client's path and query, as proxy_pass would send them */
static ngx_int_t
ngx_http_confer_gateway_seal_path(ngx_http_request_t *r, ngx_str_t *path)
{
    u_char     *p;
    size_t      len;
    uintptr_t   escape;

    if (r->valid_unparsed_uri) {
        *path = r->unparsed_uri;
        return NGX_OK;
    }

    escape = 2 * ngx_escape_uri(NULL, r->uri.data, r->uri.len,
                                NGX_ESCAPE_URI);

    len = r->uri.len + escape + (r->args.len ? 1 + r->args.len : 0);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    path->data = p;
    path->len = len;

    if (escape) {
        p = (u_char *) ngx_escape_uri(p, r->uri.data, r->uri.len,
                                      NGX_ESCAPE_URI);

    } else {
        p = ngx_cpymem(p, r->uri.data, r->uri.len);
    }

    if (r->args.len) {
        *p++ = '?';
        ngx_memcpy(p, r->args.data, r->args.len);
    }

    return NGX_OK;
}


/*
 * application/json, any +json type, or no media type at all (model
 * servers read such a body as JSON too)
 */
static ngx_uint_t
ngx_http_confer_gateway_seal_is_json(ngx_http_request_t *r)
{
    u_char  *p, *last, *semi;
    size_t   len;

    if (r->headers_in.content_type == NULL) {
        return 1;
    }

    p = r->headers_in.content_type->value.data;
    last = p + r->headers_in.content_type->value.len;

    semi = ngx_strlchr(p, last, ';');

    if (semi) {
        last = semi;
    }

    while (last > p && (last[-1] == ' ' || last[-1] == '\t')) {
        last--;
    }

    len = last - p;

    if (len == sizeof("application/json") - 1
        && ngx_strncasecmp(p, (u_char *) "application/json", len) == 0)
    {
        return 1;
    }

    if (len > sizeof("+json") - 1
        && ngx_strncasecmp(last - (sizeof("+json") - 1), (u_char *) "+json",
                           sizeof("+json") - 1) == 0)
    {
        return 1;
    }

    return 0;
}


static void
ngx_http_confer_gateway_seal_body_done(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_chain_t                 *out;
    ngx_http_confer_key_t       *key;
    ngx_http_confer_seal_ctx_t  *sctx;

    sctx = ngx_http_confer_gateway_seal_ctx(r);
    key = ngx_http_confer_gateway_key(r);

    if (sctx->armed) {
        /* no body at all (no length, not chunked): the filter never ran */
        sctx->armed = 0;
        out = NULL;

        if (ngx_http_confer_gateway_seal_message(r, sctx, &out) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        r->request_body->bufs = out;
    }

    if (sctx->state == NGX_HTTP_CONFER_SEAL_REFUSED) {
        rc = ngx_http_confer_gateway_seal_error(r, sctx->refuse_status,
                                                sctx->refuse_code,
                                                sctx->refuse_message);
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ngx_http_confer_gateway_seal_outer(r, sctx, key) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    sctx->state = NGX_HTTP_CONFER_SEAL_SENT;

    ngx_http_confer_gateway_set_status(r, NGX_HTTP_CONFER_STATUS_SEALED);
    ngx_http_confer_gateway_count_sealed(r, sctx->prepared);

    r->preserve_body = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/* RFC 9458, 9.1 and chunked draft: the outer request says nothing more */
static ngx_int_t
ngx_http_confer_gateway_seal_outer(ngx_http_request_t *r,
    ngx_http_confer_seal_ctx_t *sctx, ngx_http_confer_key_t *key)
{
    ngx_table_elt_t  *ct;

    ngx_memzero(&r->headers_in, sizeof(ngx_http_headers_in_t));

    if (ngx_list_init(&r->headers_in.headers, r->pool, 2,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ct = ngx_http_confer_gateway_seal_header(r, "Content-Type",
                                             "message/ohttp-chunked-req");
    if (ct == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_confer_gateway_seal_header(r, "Incremental", "?1") == NULL)
    {
        return NGX_ERROR;
    }

    r->headers_in.content_type = ct;
    r->headers_in.content_length_n = sctx->sealed_len;
    r->headers_in.keep_alive_n = -1;

    r->method = NGX_HTTP_POST;
    ngx_str_set(&r->method_name, "POST");

    r->uri = key->endpoint;
    ngx_str_null(&r->args);
    ngx_str_null(&r->exten);

    r->valid_unparsed_uri = 0;
    r->valid_location = 0;
    r->quoted_uri = 0;
    r->plus_in_uri = 0;
    r->empty_path_in_uri = 0;

    return NGX_OK;
}


static ngx_table_elt_t *
ngx_http_confer_gateway_seal_header(ngx_http_request_t *r, char *name,
    char *value)
{
    size_t            len;
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NULL;
    }

    len = ngx_strlen(name);

    h->key.data = (u_char *) name;
    h->key.len = len;
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);

    h->lowcase_key = ngx_pnalloc(r->pool, len);
    if (h->lowcase_key == NULL) {
        return NULL;
    }

    h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, len);

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return h;
}


static void
ngx_http_confer_gateway_seal_refuse(ngx_http_confer_seal_ctx_t *sctx,
    ngx_uint_t status, const char *code, const char *message)
{
    sctx->state = NGX_HTTP_CONFER_SEAL_REFUSED;
    sctx->refuse_status = status;
    sctx->refuse_code = code;
    sctx->refuse_message = message;
}


/* an error before anything was sent; returns what a handler returns */
static ngx_int_t
ngx_http_confer_gateway_seal_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    ngx_http_confer_gateway_count_seal_failed(r,
                                             NGX_HTTP_CONFER_SEAL_ERR_REQUEST);
    ngx_http_confer_gateway_set_status(r,
                                       NGX_HTTP_CONFER_STATUS_SEAL_FAILED);

    return ngx_http_confer_gateway_send_error(r, status,
                                              "invalid_request_error", code,
                                              message, 0);
}


static void
ngx_http_confer_gateway_seal_free_body(ngx_http_confer_seal_ctx_t *sctx)
{
    /* written from its start up to body_len, never beyond */
    if (sctx->body) {
        ngx_explicit_memzero(sctx->body, sctx->body_len);
        ngx_free(sctx->body);
    }

    sctx->body = NULL;
    sctx->body_len = 0;
    sctx->body_cap = 0;
}


static void
ngx_http_confer_gateway_seal_cleanup(void *data)
{
    ngx_http_confer_seal_ctx_t  *sctx = data;

    ngx_http_confer_gateway_seal_free_body(sctx);
    confer_ohttp_cleanup(&sctx->ohttp);
}


/* --- configuration ------------------------------------------------------ */


void
ngx_http_confer_gateway_seal_create_conf(ngx_http_confer_seal_conf_t *scf)
{
    scf->strip = NGX_CONF_UNSET_PTR;
    scf->inner = NGX_CONF_UNSET_PTR;
    scf->max_body = NGX_CONF_UNSET_SIZE;
    scf->max_response = NGX_CONF_UNSET_SIZE;
}


char *
ngx_http_confer_gateway_seal_merge_conf(ngx_conf_t *cf,
    ngx_http_confer_seal_conf_t *prev, ngx_http_confer_seal_conf_t *conf)
{
    ngx_uint_t           i;
    confer_json_name_t  *name;

    if (conf->strip == NGX_CONF_UNSET_PTR) {

        if (prev->strip == NGX_CONF_UNSET_PTR) {
            /* the default, made once and shared by what inherits it */
            prev->strip = ngx_array_create(cf->pool, 3,
                                           sizeof(confer_json_name_t));
            if (prev->strip == NULL) {
                return NGX_CONF_ERROR;
            }

            for (i = 0; i < 3; i++) {
                name = ngx_array_push(prev->strip);
                *name = ngx_http_confer_strip_default[i];
            }
        }

        conf->strip = prev->strip;
    }

    ngx_conf_merge_ptr_value(conf->inner, prev->inner, NULL);
    ngx_conf_merge_size_value(conf->max_body, prev->max_body, 1024 * 1024);
    ngx_conf_merge_size_value(conf->max_response, prev->max_response,
                              16 * 1024 * 1024);

    if (conf->max_body == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"confer_max_body\" must be above 0");
        return NGX_CONF_ERROR;
    }

    if (conf->max_response < 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"confer_max_response\" must be at least 1k");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* confer_strip_fields NAME ... | off; */
char *
ngx_http_confer_strip_fields(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_confer_seal_conf_t  *scf;

    ngx_str_t           *value;
    ngx_uint_t           i;
    confer_json_name_t  *name;

    scf = (ngx_http_confer_seal_conf_t *) ((char *) conf + cmd->offset);

    if (scf->strip != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    scf->strip = ngx_array_create(cf->pool, cf->args->nelts,
                                  sizeof(confer_json_name_t));
    if (scf->strip == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        return NGX_CONF_OK;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "off") == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"confer_strip_fields\" takes \"off\" "
                               "alone, or names");
            return NGX_CONF_ERROR;
        }

        if (value[i].len == 0 || value[i].len > CONFER_JSON_MAX_NAME) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"confer_strip_fields\" name \"%V\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        name = ngx_array_push(scf->strip);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        name->data = value[i].data;
        name->len = value[i].len;
    }

    return NGX_CONF_OK;
}


/* confer_inner_header NAME VALUE; */
char *
ngx_http_confer_inner_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_confer_seal_conf_t  *scf;

    u_char                            *p, c;
    ngx_str_t                         *value, *s;
    ngx_http_confer_inner_header_t    *ih;
    ngx_http_compile_complex_value_t   ccv;

    scf = (ngx_http_confer_seal_conf_t *) ((char *) conf + cmd->offset);

    if (scf->inner == NGX_CONF_UNSET_PTR) {
        scf->inner = ngx_array_create(cf->pool, 2,
                                      sizeof(ngx_http_confer_inner_header_t));
        if (scf->inner == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        goto invalid;
    }

    /* RFC 9110, 5.6.2: a token */
    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        c = *p;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || ngx_strlchr((u_char *) "!#$%&'*+-.^_`|~",
                           (u_char *) "!#$%&'*+-.^_`|~" + 15, c))
        {
            continue;
        }

        goto invalid;
    }

    ih = ngx_array_push(scf->inner);
    if (ih == NULL) {
        return NGX_CONF_ERROR;
    }

    ih->name.len = value[1].len;
    ih->name.data = ngx_pnalloc(cf->pool, value[1].len);
    if (ih->name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_strlow(ih->name.data, value[1].data, value[1].len);

    for (s = ngx_http_confer_inner_reserved; s->len; s++) {
        if (s->len == ih->name.len
            && ngx_strncmp(s->data, ih->name.data, s->len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"confer_inner_header\" cannot set \"%V\": "
                               "the gateway or the terminator does",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = &ih->value;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        /* nginx said what is wrong; say where */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"confer_inner_header\" value \"%V\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid \"confer_inner_header\" name \"%V\"",
                       &value[1]);

    return NGX_CONF_ERROR;
}


static confer_hpke_encap_t *
ngx_http_confer_gateway_encap_take(const u_char *pk)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_CONFER_ENCAP_SLOTS; i++) {
        if (ngx_http_confer_encaps[i].ready
            && ngx_memcmp(ngx_http_confer_encaps[i].pkR, pk, CONFER_HPKE_NPK)
               == 0)
        {
            return &ngx_http_confer_encaps[i];
        }
    }

    return NULL;
}


/* a request for pk was sealed: prepare the next one once nginx is idle */
static void
ngx_http_confer_gateway_encap_want(const u_char *pk)
{
    ngx_event_t  *ev;

    ngx_memcpy(ngx_http_confer_encap_pk, pk, CONFER_HPKE_NPK);

    ev = &ngx_http_confer_encap_event;

    if (ev->posted) {
        return;
    }

    ev->handler = ngx_http_confer_gateway_encap_refill;
    ev->log = ngx_cycle->log;

    /* after the next look for I/O: what is ready goes first */
    ngx_post_event(ev, &ngx_posted_next_events);
}


/*
 * One encapsulation for the key last asked for, into a free slot, or over
 * one for another key if none is for this one; again later if a slot is
 * still free.  One a run: each costs two scalar multiplications.
 */
static void
ngx_http_confer_gateway_encap_refill(ngx_event_t *ev)
{
    ngx_uint_t            i, mine;
    confer_hpke_err_t     rc;
    confer_hpke_encap_t  *slot, *e;

    slot = NULL;
    mine = 0;

    for (i = 0; i < NGX_HTTP_CONFER_ENCAP_SLOTS; i++) {
        e = &ngx_http_confer_encaps[i];

        if (!e->ready) {
            if (slot == NULL || slot->ready) {
                slot = e;
            }

            continue;
        }

        if (ngx_memcmp(e->pkR, ngx_http_confer_encap_pk, CONFER_HPKE_NPK)
            == 0)
        {
            mine++;

        } else if (slot == NULL) {
            slot = e;
        }
    }

    if (slot == NULL || (slot->ready && mine)) {
        /* full, with one for this key at least */
        return;
    }

    rc = confer_hpke_encap_prepare(slot, ngx_http_confer_encap_pk,
                                   CONFER_HPKE_NPK);

    if (rc != CONFER_HPKE_OK) {
        /* the request's own setup says what is wrong with the key */
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                       "confer: no encapsulation prepared: %s",
                       confer_hpke_strerror(rc));
        return;
    }

    for (i = 0; i < NGX_HTTP_CONFER_ENCAP_SLOTS; i++) {
        if (!ngx_http_confer_encaps[i].ready) {
            ngx_post_event(ev, &ngx_posted_next_events);
            break;
        }
    }
}


void
ngx_http_confer_gateway_encap_exit(void)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_CONFER_ENCAP_SLOTS; i++) {
        confer_hpke_encap_cleanup(&ngx_http_confer_encaps[i]);
    }

    ngx_explicit_memzero(ngx_http_confer_encap_pk, CONFER_HPKE_NPK);

    if (ngx_http_confer_encap_event.posted) {
        ngx_delete_posted_event(&ngx_http_confer_encap_event);
    }
}
