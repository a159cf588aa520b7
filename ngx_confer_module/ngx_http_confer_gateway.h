
/*
 * ngx_confer_module: the gateway's request-facing interface.
 *
 * The attestation gate runs in the PRECONTENT phase of every location
 * with confer_seal.  When it returns NGX_DECLINED to the next handler, the
 * request has a verified key for one terminator, chosen per request among
 * the attested ones:
 *
 *     key = ngx_http_confer_gateway_key(r);
 *
 * key->config and key->suite are what HPKE needs (RFC 9458, 3: the key
 * configuration and the AEAD picked by the location's aead= order), and
 * key->url is where the sealed request goes ($confer_terminator).  Without
 * a key the gate has already answered 503 and nothing was sent.
 *
 * Handlers of one phase run in the reverse order of their registration:
 * a PRECONTENT handler that seals must be pushed before the gate's (in
 * ngx_http_confer_gateway_postconfiguration, where the place is marked)
 * so that it runs after it, and it must refuse, never pass on, a request
 * of a confer_seal location without a key.
 *
 * The sealing code reports back through the calls at the end: the status
 * ($confer_status), its counters (shown by confer_status), and a key the
 * terminator refused (RFC 9458, 5.3: the ohttp-key problem), which makes the
 * next request attest that terminator again.
 */


#ifndef _NGX_HTTP_CONFER_GATEWAY_H_INCLUDED_
#define _NGX_HTTP_CONFER_GATEWAY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_confer_module.h"
#include "attest.h"
#include "confer_keyconfig.h"


/* $confer_status */
typedef enum {
    NGX_HTTP_CONFER_STATUS_NONE = 0,       /* no confer_seal here */
    NGX_HTTP_CONFER_STATUS_PENDING,        /* waiting for an attestation */
    NGX_HTTP_CONFER_STATUS_ATTESTED,       /* gate passed, not sealed yet */
    NGX_HTTP_CONFER_STATUS_SEALED,         /* sent sealed (sealing code) */
    NGX_HTTP_CONFER_STATUS_ATTEST_FAILED,  /* 503, nothing sent */
    NGX_HTTP_CONFER_STATUS_SEAL_FAILED,    /* sealing code */
    NGX_HTTP_CONFER_STATUS_KEY_REJECTED,   /* terminator refused the key */
    NGX_HTTP_CONFER_STATUS_LAST
} ngx_http_confer_status_e;


/* why sealing failed, counted per terminator (confer_status) */
typedef enum {
    NGX_HTTP_CONFER_SEAL_ERR_KEY_REJECTED = 0, /* ohttp-key problem */
    NGX_HTTP_CONFER_SEAL_ERR_REQUEST,          /* client body unusable */
    NGX_HTTP_CONFER_SEAL_ERR_UPSTREAM,         /* terminator error status */
    NGX_HTTP_CONFER_SEAL_ERR_OPEN,             /* response did not open */
    NGX_HTTP_CONFER_SEAL_ERR_TRUNCATED,        /* no final chunk */
    NGX_HTTP_CONFER_SEAL_ERR_INTERNAL,
    NGX_HTTP_CONFER_SEAL_ERR_LAST
} ngx_http_confer_seal_err_e;


/* the verified key of the terminator chosen for this request */
typedef struct {
    ngx_uint_t                 index;       /* in the location's confer_seal */
    ngx_str_t                  url;         /* scheme://host[:port] as
                                               configured */
    ngx_str_t                  host;        /* host[:port], as for Host */
    ngx_str_t                  endpoint;    /* OHTTP gateway resource path */

    attest_platform_t          platform;
    u_char                     measurement[48];
    time_t                     verified_at;
    time_t                     valid_until;

    ngx_str_t                  ohttp_keys;  /* the verified list (r->pool) */
    confer_keyconfig_t         config;      /* the configuration chosen */
    confer_hpke_suite_t        suite;       /* and the suite in it */

    ngx_uint_t                 generation;  /* of the cache entry */
    void                      *terminator;  /* opaque, for the calls below */
} ngx_http_confer_key_t;


/* the per-request context of ngx_http_confer_gateway_module */
typedef struct {
    ngx_http_confer_status_e   status;
    ngx_uint_t                 reason;      /* why refused (0: none) */
    ngx_http_confer_key_t     *key;         /* NULL until the gate passed */
    void                      *seal;        /* the sealing code's state */

    /* the gate's own */
    ngx_event_t                wait;        /* polls the shared cache */
    ngx_msec_t                 poll;
    ngx_msec_t                 deadline;
    ngx_shm_zone_t            *zone;
    unsigned                   waiting:1;
} ngx_http_confer_gateway_ctx_t;


/* the request's context, NULL outside confer_seal locations */
ngx_http_confer_gateway_ctx_t *ngx_http_confer_gateway_ctx(
    ngx_http_request_t *r);

/* the verified key, NULL unless the gate passed */
ngx_http_confer_key_t *ngx_http_confer_gateway_key(ngx_http_request_t *r);

void ngx_http_confer_gateway_set_status(ngx_http_request_t *r,
    ngx_http_confer_status_e status);

/* counters of the key's terminator */
void ngx_http_confer_gateway_count_sealed(ngx_http_request_t *r,
    ngx_uint_t prepared);
void ngx_http_confer_gateway_count_seal_failed(ngx_http_request_t *r,
    ngx_http_confer_seal_err_e err);

/*
 * The terminator answered RFC 9458, 5.3, ohttp-key problem: its cached key is
 * dropped (unless a newer one replaced it meanwhile), the next request
 * attests it again, the refusal is counted and $confer_status becomes
 * "key_rejected".
 */
void ngx_http_confer_gateway_key_rejected(ngx_http_request_t *r);

/*
 * Sends an OpenAI-style error, {"error": {"message", "type", "code"}},
 * with Retry-After when retry_after > 0; returns what a content handler
 * returns.  The request body, if unread, is discarded.
 */
ngx_int_t ngx_http_confer_gateway_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *code,
    const char *message, time_t retry_after);

const char *ngx_http_confer_status_name(ngx_http_confer_status_e status);
const char *ngx_http_confer_seal_err_name(ngx_http_confer_seal_err_e err);


#endif /* _NGX_HTTP_CONFER_GATEWAY_H_INCLUDED_ */
