
/*
 * ngx_confer_module: what the gateway's sealing files share.  Private to
 * ngx_http_confer_gateway.c and these two:
 *
 *   ngx_http_confer_gateway_seal.c   after the gate: reads the client's
 *                                    body into module memory, strips it,
 *                                    seals it as a chunked OHTTP request
 *                                    (RFC 9458, RFC 9292, chunked draft)
 *                                    and makes the outer request carry
 *                                    nothing of the client
 *   ngx_http_confer_gateway_open.c   response filters: open the sealed
 *                                    answer chunk by chunk, restore the
 *                                    inner status and headers, strip the
 *                                    SSE padding, refuse anything else
 */


#ifndef _NGX_HTTP_CONFER_GATEWAY_SEAL_H_INCLUDED_
#define _NGX_HTTP_CONFER_GATEWAY_SEAL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_confer_gateway.h"

#include "confer_ohttp.h"
#include "confer_chunked.h"
#include "confer_bhttp.h"
#include "confer_pad.h"


/* confer_inner_header NAME VALUE; */
typedef struct {
    ngx_str_t                      name;        /* lowercase */
    ngx_http_complex_value_t       value;
} ngx_http_confer_inner_header_t;


/* the sealing directives of a location */
typedef struct {
    ngx_array_t                   *strip;       /* of confer_json_name_t;
                                                   empty: "off" */
    ngx_array_t                   *inner;       /* confer_inner_header */
    size_t                         max_body;
    size_t                         max_response;
} ngx_http_confer_seal_conf_t;


typedef enum {
    NGX_HTTP_CONFER_SEAL_READING = 0,   /* the client's body comes in */
    NGX_HTTP_CONFER_SEAL_REFUSED,       /* the client gets an error */
    NGX_HTTP_CONFER_SEAL_SENT,          /* sealed, handed to proxy_pass */
    NGX_HTTP_CONFER_SEAL_OPENING,       /* the terminator's answer */
    NGX_HTTP_CONFER_SEAL_DONE           /* answered; later input dropped */
} ngx_http_confer_seal_state_e;


/* what the terminator (or a hop) answered */
typedef enum {
    NGX_HTTP_CONFER_ANSWER_CHUNKED = 0, /* message/ohttp-chunked-res */
    NGX_HTTP_CONFER_ANSWER_PLAIN,       /* message/ohttp-res */
    NGX_HTTP_CONFER_ANSWER_PROBLEM,     /* 400 application/problem+json */
    NGX_HTTP_CONFER_ANSWER_BAD          /* anything else */
} ngx_http_confer_answer_e;


/* the sealing state of one request: ngx_http_confer_gateway_ctx_t.seal */
typedef struct {
    ngx_http_confer_seal_state_e   state;
    ngx_uint_t                     http_version;  /* the client's */
    ngx_uint_t                     refuse_status;
    const char                    *refuse_code;
    const char                    *refuse_message;

    /* one HPKE context seals the request and opens the answer */
    confer_ohttp_ctx_t             ohttp;

    /* the client's body, in ngx_alloc()ed memory, wiped when freed */
    u_char                        *body;
    size_t                         body_len;
    size_t                         body_cap;
    off_t                          sealed_len;

    /* the answer */
    ngx_http_confer_answer_e       answer;
    ngx_uint_t                     upstream_status;
    ngx_http_confer_seal_err_e     err;         /* why it was dropped */
    const char                    *err_code;
    confer_chunked_reader_t        reader;      /* buffer ngx_alloc()ed */
    size_t                         nonce_left;
    confer_bhttp_decoder_t         bhttp;
    u_char                        *scratch;
    ngx_buf_t                     *collected;   /* plain and problem
                                                   answers, whole */
    ngx_uint_t                     status;      /* the inner one */
    ngx_array_t                    fields;      /* of ngx_table_elt_t */
    ngx_str_t                      content_type;
    confer_pad_strip_t             strip;

    ngx_chain_t                   *out;         /* plaintext to send */
    ngx_chain_t                  **last_out;
    ngx_buf_t                     *cur;         /* being filled */
    ngx_chain_t                   *free;
    ngx_chain_t                   *busy;
    ngx_array_t                    wipe;        /* of ngx_buf_t *: output
                                                   buffers to zero */

    unsigned                       armed:1;     /* the body filter takes
                                                   the client's body */
    unsigned                       too_large:1;
    unsigned                       prepared:1;  /* sealed with an
                                                   encapsulation made
                                                   ahead */
    unsigned                       boundary:1;  /* the reader is at a
                                                   chunk's length */
    unsigned                       final:1;     /* in the final chunk */
    unsigned                       got_status:1;
    unsigned                       head_ready:1;  /* the inner head is
                                                     in headers_out */
    unsigned                       head_sent:1;   /* and passed on */
    unsigned                       got_end:1;
    unsigned                       sse:1;
    unsigned                       replying:1;  /* our own answer goes
                                                   through the filters */
} ngx_http_confer_seal_ctx_t;


/* ngx_http_confer_gateway.c */
ngx_http_confer_seal_conf_t *ngx_http_confer_gateway_seal_conf(
    ngx_http_request_t *r);

/* ngx_http_confer_gateway_seal.c */
ngx_int_t ngx_http_confer_gateway_seal_init(ngx_conf_t *cf);
void ngx_http_confer_gateway_seal_create_conf(
    ngx_http_confer_seal_conf_t *scf);
char *ngx_http_confer_gateway_seal_merge_conf(ngx_conf_t *cf,
    ngx_http_confer_seal_conf_t *prev, ngx_http_confer_seal_conf_t *conf);
char *ngx_http_confer_strip_fields(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_confer_inner_header(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_http_confer_seal_ctx_t *ngx_http_confer_gateway_seal_ctx(
    ngx_http_request_t *r);

/* ngx_http_confer_gateway_open.c */
ngx_int_t ngx_http_confer_gateway_open_init(ngx_conf_t *cf);

/* wipes the worker's prepared encapsulations (exit process) */
void ngx_http_confer_gateway_encap_exit(void);


#endif /* _NGX_HTTP_CONFER_GATEWAY_SEAL_H_INCLUDED_ */
