
/*
 * ngx_confer_module: declarations shared by the nginx glue files.
 */


#ifndef _NGX_HTTP_CONFER_MODULE_H_INCLUDED_
#define _NGX_HTTP_CONFER_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


extern ngx_module_t  ngx_http_confer_module;
extern ngx_module_t  ngx_http_confer_gateway_module;
extern ngx_module_t  ngx_http_confer_terminator_module;


/*
 * Whether confer_seal applies in the location being merged (the gateway's
 * locations are merged before the terminator's): a location is the
 * gateway's or the terminator's, never both.
 */
ngx_int_t ngx_http_confer_gateway_seals(ngx_conf_t *cf);

/*
 * A location that seals or opens bodies of up to body bytes: what
 * confer_heap_keep auto keeps ready in each worker follows the largest.
 */
void ngx_http_confer_heap_note(ngx_conf_t *cf, size_t body);


/*
 * confer_private (ngx_http_confer_privacy.c): client address pseudonyms
 * and redacted logs.  The keys of the pseudonyms live in shared memory,
 * one per distinct rotation period.
 */

#define NGX_HTTP_CONFER_PRIVACY_SLOTS  8


typedef struct ngx_http_confer_privacy_shctx_s
    ngx_http_confer_privacy_shctx_t;


typedef struct {
    ngx_shm_zone_t                    *shm_zone;
    ngx_http_confer_privacy_shctx_t   *sh;

    /* the distinct periods of the servers with confer_private on */
    time_t                             periods[NGX_HTTP_CONFER_PRIVACY_SLOTS];
    ngx_uint_t                         nperiods;

    /* a server with confer_private on that refuses debug logging */
    ngx_str_t                          refuse_debug;

    /* locations of private servers that log to the main error log */
    ngx_array_t                       *main_log_users;
} ngx_http_confer_privacy_main_conf_t;


typedef struct {
    ngx_flag_t                         enable;
    time_t                             period;
    ngx_flag_t                         debug_log;

    /* "file:line" of the directive, for messages */
    ngx_str_t                          where;

    ngx_http_confer_privacy_main_conf_t  *main;
} ngx_http_confer_privacy_conf_t;


typedef struct {
    ngx_http_confer_privacy_main_conf_t   privacy;

    /* confer_heap_keep: a size, 0 (off), or unset or auto (see .c) */
    size_t                                heap_keep;

    /* the largest body a location of either role holds, for auto */
    size_t                                heap_body;
} ngx_http_confer_main_conf_t;


typedef struct {
    ngx_http_confer_privacy_conf_t        privacy;
} ngx_http_confer_srv_conf_t;


char *ngx_http_confer_privacy_merge_srv(ngx_conf_t *cf,
    ngx_http_confer_privacy_main_conf_t *pmcf,
    ngx_http_confer_privacy_conf_t *prev,
    ngx_http_confer_privacy_conf_t *conf);
char *ngx_http_confer_privacy_merge_loc(ngx_conf_t *cf);
ngx_int_t ngx_http_confer_privacy_postconfiguration(ngx_conf_t *cf);
ngx_int_t ngx_http_confer_privacy_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_http_confer_privacy_init_process(ngx_cycle_t *cycle);
void ngx_http_confer_privacy_exit_process(ngx_cycle_t *cycle);

/* confer_private is on for the request's server */
ngx_uint_t ngx_http_confer_privacy_enabled(ngx_http_request_t *r);

/*
 * The X-Accel-* headers of a proxied answer that nginx would obey: both
 * roles ignore them all, since an answer from an untrusted hop (gateway)
 * or the model server (terminator) must not steer nginx, above all not
 * with X-Accel-Redirect, which would answer from another location,
 * unsealed.
 */
#define NGX_HTTP_CONFER_IGN_XA                                                \
    (NGX_HTTP_UPSTREAM_IGN_XA_REDIRECT                                        \
     | NGX_HTTP_UPSTREAM_IGN_XA_EXPIRES                                       \
     | NGX_HTTP_UPSTREAM_IGN_XA_LIMIT_RATE                                    \
     | NGX_HTTP_UPSTREAM_IGN_XA_BUFFERING                                     \
     | NGX_HTTP_UPSTREAM_IGN_XA_CHARSET)

/*
 * NGX_HTTP_CONFER_IGN_XA for every upstream module of the location being
 * merged (proxy, fastcgi, uwsgi, scgi, grpc, memcached: whichever its
 * content handler is).  Call from a merge_loc_conf: theirs have run.
 */
void ngx_http_confer_ignore_x_accel(ngx_conf_t *cf);

/* a whole response of the module's own: status, type, length and body */
ngx_int_t ngx_http_confer_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_chain_t *out);
ngx_int_t ngx_http_confer_send_memory(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, u_char *p, size_t n);

/* a chain link with an empty buffer, for last_buf or flush */
ngx_chain_t *ngx_http_confer_empty_buf(ngx_pool_t *pool);


#endif /* _NGX_HTTP_CONFER_MODULE_H_INCLUDED_ */
