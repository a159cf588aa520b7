
/*
 * ngx_confer_module: a small asynchronous HTTP/1.1 client for the
 * attestation document.  It needs no client request (a timer may start
 * it), connects with ngx_event_connect_peer to addresses resolved at
 * configuration time, speaks http or https, bounds the whole exchange by
 * one timeout and the body by a size cap, and reads bodies delimited by
 * Content-Length, chunked coding or the end of the connection
 * (confer_http1.h).
 *
 * TLS certificates are verified only when asked (ssl_trusted_certificate=
 * of confer_seal): the document authenticates itself (hardware evidence
 * binding the keys), so TLS adds privacy of the document, not trust.
 */


#ifndef _NGX_HTTP_CONFER_FETCH_H_INCLUDED_
#define _NGX_HTTP_CONFER_FETCH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_http.h>

#include "confer_http1.h"


/* why a fetch failed; the reason codes add these to attest_err_t */
typedef enum {
    NGX_HTTP_CONFER_FETCH_OK = 0,
    NGX_HTTP_CONFER_FETCH_CONNECT,       /* "connect_failed" */
    NGX_HTTP_CONFER_FETCH_IO,            /* "connection_error" */
    NGX_HTTP_CONFER_FETCH_TIMEOUT,       /* "timeout" */
    NGX_HTTP_CONFER_FETCH_TLS,           /* "tls_failed" */
    NGX_HTTP_CONFER_FETCH_HTTP,          /* "bad_response" */
    NGX_HTTP_CONFER_FETCH_STATUS,        /* "http_status": not 200 */
    NGX_HTTP_CONFER_FETCH_TOO_LARGE,     /* "too_large" */
    NGX_HTTP_CONFER_FETCH_INTERNAL,      /* "internal" */
    NGX_HTTP_CONFER_FETCH_ABORTED,       /* "aborted": worker exiting */
    NGX_HTTP_CONFER_FETCH_LAST
} ngx_http_confer_fetch_err_e;


/* where to fetch from, made at configuration time */
typedef struct {
    ngx_str_t                        url;       /* for logs: scheme://h:p */
    ngx_str_t                        host;      /* Host: header */
    ngx_str_t                        uri;       /* path to GET */
    ngx_addr_t                      *addrs;
    ngx_uint_t                       naddrs;
    ngx_msec_t                       timeout;   /* the whole exchange */
    size_t                           max_size;  /* of the body */
#if (NGX_SSL)
    ngx_ssl_t                       *ssl;       /* NULL: plain http */
    ngx_str_t                        sni;       /* "" for an address */
    ngx_str_t                        name;      /* to check the cert for */
    ngx_flag_t                       verify;
#endif
} ngx_http_confer_fetch_target_t;


typedef struct ngx_http_confer_fetch_s  ngx_http_confer_fetch_t;

typedef void (*ngx_http_confer_fetch_handler_pt)(ngx_http_confer_fetch_t *f);

struct ngx_http_confer_fetch_s {
    ngx_pool_t                          *pool;
    ngx_log_t                           *log;

    ngx_http_confer_fetch_handler_pt     handler;
    void                                *data;

    /* the outcome, for the handler */
    ngx_http_confer_fetch_err_e          err;
    ngx_uint_t                           status;
    u_char                              *body;
    size_t                               body_len;
    u_char                               detail[128];  /* NUL-terminated */

    /* private */
    ngx_http_confer_fetch_target_t      *target;
    ngx_peer_connection_t                peer;
    ngx_uint_t                           naddr;
    ngx_buf_t                           *request;
    ngx_buf_t                           *buf;
    confer_http1_t                       parser;
    ngx_event_t                          start;
    ngx_event_t                          timer;
    ngx_log_t                            log_copy;
};


/*
 * Parses "http://host[:port]" or "https://...", resolves the host now
 * (like a static proxy_pass) and fills t; an error is logged at EMERG.
 */
ngx_int_t ngx_http_confer_fetch_target(ngx_conf_t *cf, ngx_str_t *url,
    ngx_str_t *uri, ngx_http_confer_fetch_target_t *t);

/* https only: verify the certificate chain to these roots and the name */
ngx_int_t ngx_http_confer_fetch_trust(ngx_conf_t *cf,
    ngx_http_confer_fetch_target_t *t, ngx_str_t *file);

/*
 * Starts a GET of t->uri; handler(f) runs once, later, from the event
 * loop, and f is freed when it returns.  NULL: not started (no memory).
 */
ngx_http_confer_fetch_t *ngx_http_confer_fetch_start(
    ngx_http_confer_fetch_target_t *t, ngx_http_confer_fetch_handler_pt h,
    void *data);

const char *ngx_http_confer_fetch_strerror(ngx_http_confer_fetch_err_e err);


#endif /* _NGX_HTTP_CONFER_FETCH_H_INCLUDED_ */
