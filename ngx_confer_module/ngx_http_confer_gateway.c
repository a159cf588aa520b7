
/*
 * ngx_confer_module: the gateway role.
 *
 * This file holds the gateway's directives and its attestation gate: in
 * PRECONTENT, a request in a confer_seal location gets the verified key
 * of one attested terminator (ngx_http_confer_gateway.h) or a 503 with
 * nothing sent.  The cache, the fetch, the status handler and the
 * variables are in ngx_http_confer_{cache,fetch,status,variables}.c; the
 * sealing of the request and the opening of the answer in
 * ngx_http_confer_gateway_{seal,open}.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/evp.h>

#include "ngx_http_confer_module.h"
#include "ngx_http_confer_cache.h"
#include "ngx_http_confer_gateway_seal.h"


extern ngx_module_t  ngx_http_proxy_module;


/* one confer_seal directive */
typedef struct {
    ngx_array_t                      terminators;  /* of pointers */
    uint16_t                         aead[3];
    ngx_uint_t                       naead;
    ngx_msec_t                       timeout;
    ngx_uint_t                       next;         /* round robin, per
                                                      worker */
} ngx_http_confer_seal_t;


typedef struct {
    ngx_http_confer_seal_t          *seal;
    ngx_http_confer_seal_conf_t      sealing;
    ngx_flag_t                       status;
    u_char                          *status_file;
    ngx_uint_t                       status_line;
} ngx_http_confer_gateway_loc_conf_t;


typedef struct {
    ngx_str_t                        name;
    uint16_t                         id;
} ngx_http_confer_aead_t;


static ngx_int_t ngx_http_confer_gateway_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_confer_gateway_choose(ngx_http_request_t *r,
    ngx_http_confer_seal_t *seal, ngx_http_confer_gateway_ctx_t *ctx,
    ngx_uint_t *reason, ngx_msec_t *retry_in);
static ngx_int_t ngx_http_confer_gateway_pick(ngx_http_request_t *r,
    ngx_http_confer_seal_t *seal, ngx_http_confer_key_t *key);
static ngx_int_t ngx_http_confer_gateway_refuse(ngx_http_request_t *r,
    ngx_http_confer_gateway_ctx_t *ctx, ngx_uint_t reason,
    ngx_msec_t retry_in);
static void ngx_http_confer_gateway_wake(ngx_event_t *ev);
static void ngx_http_confer_gateway_done_waiting(
    ngx_http_confer_gateway_ctx_t *ctx);
static void ngx_http_confer_gateway_cleanup(void *data);
static void ngx_http_confer_gateway_timer(ngx_event_t *ev);

static char *ngx_http_confer_seal(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_confer_seal_aead(ngx_conf_t *cf,
    ngx_http_confer_seal_t *seal, ngx_str_t *value);
static ngx_int_t ngx_http_confer_seal_policy(ngx_conf_t *cf,
    ngx_str_t *file, attest_policy_t **policy, u_char digest[32]);
static void ngx_http_confer_seal_policy_free(void *data);
static char *ngx_http_confer_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

static ngx_int_t ngx_http_confer_gateway_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_confer_gateway_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_confer_gateway_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_confer_gateway_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_confer_gateway_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_confer_gateway_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_confer_gateway_init_process(ngx_cycle_t *cycle);
static void ngx_http_confer_gateway_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_confer_gateway_commands[] = {

    { ngx_string("confer_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_confer_cache_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("confer_seal"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_confer_seal,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("confer_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_confer_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("confer_strip_fields"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_confer_strip_fields,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_confer_gateway_loc_conf_t, sealing),
      NULL },

    { ngx_string("confer_inner_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_confer_inner_header,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_confer_gateway_loc_conf_t, sealing),
      NULL },

    { ngx_string("confer_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_confer_gateway_loc_conf_t, sealing.max_body),
      NULL },

    { ngx_string("confer_max_response"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_confer_gateway_loc_conf_t, sealing.max_response),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_confer_gateway_module_ctx = {
    ngx_http_confer_gateway_preconfiguration, /* preconfiguration */
    ngx_http_confer_gateway_postconfiguration, /* postconfiguration */

    ngx_http_confer_gateway_create_main_conf, /* create main configuration */
    ngx_http_confer_gateway_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_confer_gateway_create_loc_conf, /* create location
                                                configuration */
    ngx_http_confer_gateway_merge_loc_conf /* merge location configuration */
};


ngx_module_t  ngx_http_confer_gateway_module = {
    NGX_MODULE_V1,
    &ngx_http_confer_gateway_module_ctx,   /* module context */
    ngx_http_confer_gateway_commands,      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_confer_gateway_init_process,  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_confer_gateway_exit_process,  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* RFC 9180, 7.3 */
static ngx_http_confer_aead_t  ngx_http_confer_aeads[] = {
    { ngx_string("aes-128-gcm"), CONFER_HPKE_AEAD_AES128GCM },
    { ngx_string("aes-256-gcm"), CONFER_HPKE_AEAD_AES256GCM },
    { ngx_string("chacha20-poly1305"), CONFER_HPKE_AEAD_CHACHA20POLY1305 },
    { ngx_null_string, 0 }
};


static const char  *ngx_http_confer_status_names[] = {
    "",
    "pending",
    "attested",
    "sealed",
    "attest_failed",
    "seal_failed",
    "key_rejected"
};


static const char  *ngx_http_confer_seal_err_names[] = {
    "key_rejected",
    "bad_request",
    "upstream_error",
    "open_failed",
    "truncated",
    "internal"
};


/* --- the gate ------------------------------------------------------------ */


static ngx_int_t
ngx_http_confer_gateway_handler(ngx_http_request_t *r)
{
    ngx_int_t                             rc;
    ngx_msec_t                            retry_in;
    ngx_uint_t                            reason;
    ngx_pool_cleanup_t                   *cln;
    ngx_http_confer_gateway_ctx_t        *ctx;
    ngx_http_confer_gateway_loc_conf_t   *glcf;
    ngx_http_confer_gateway_main_conf_t  *gmcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_confer_gateway_module);

    if (glcf->seal == NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_confer_gateway_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_confer_gateway_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cln->handler = ngx_http_confer_gateway_cleanup;
        cln->data = ctx;

        gmcf = ngx_http_get_module_main_conf(r,
                                             ngx_http_confer_gateway_module);

        ctx->status = NGX_HTTP_CONFER_STATUS_PENDING;
        ctx->zone = gmcf->shm_zone;
        ctx->poll = 5;

        /* long enough for one fetch, and one more if its worker died */
        ctx->deadline = ngx_current_msec + 2 * glcf->seal->timeout + 1000;

        ngx_http_set_ctx(r, ctx, ngx_http_confer_gateway_module);
    }

    if (ctx->key) {
        return NGX_DECLINED;
    }

    if (ctx->status != NGX_HTTP_CONFER_STATUS_PENDING) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    reason = NGX_HTTP_CONFER_REASON_WAIT;
    retry_in = 0;

    rc = ngx_http_confer_gateway_choose(r, glcf->seal, ctx, &reason,
                                        &retry_in);

    if (rc == NGX_OK) {
        ngx_http_confer_gateway_done_waiting(ctx);
        ctx->status = NGX_HTTP_CONFER_STATUS_ATTESTED;
        return NGX_DECLINED;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_AGAIN) {

        if ((ngx_msec_int_t) (ngx_current_msec - ctx->deadline) >= 0) {
            return ngx_http_confer_gateway_refuse(r, ctx,
                                                  NGX_HTTP_CONFER_REASON_WAIT,
                                                  0);
        }

        if (!ctx->waiting) {
            ctx->waiting = 1;
            ngx_http_confer_cache_waiting(ctx->zone, 1);
        }

        /* another worker may be fetching: look again shortly */
        ctx->wait.handler = ngx_http_confer_gateway_wake;
        ctx->wait.data = r;
        ctx->wait.log = r->connection->log;

        ngx_add_timer(&ctx->wait, ctx->poll);

        if (ctx->poll < 100) {
            ctx->poll *= 2;
        }

        r->read_event_handler = ngx_http_test_reading;
        r->write_event_handler = ngx_http_request_empty_handler;

        return NGX_AGAIN;
    }

    return ngx_http_confer_gateway_refuse(r, ctx, reason, retry_in);
}


/*
 * The next terminator in round-robin order that has a verified key with
 * a suite this location accepts.  Terminators that fail are skipped;
 * NGX_AGAIN while none is verified but some are being attested.
 */
static ngx_int_t
ngx_http_confer_gateway_choose(ngx_http_request_t *r,
    ngx_http_confer_seal_t *seal, ngx_http_confer_gateway_ctx_t *ctx,
    ngx_uint_t *reason, ngx_msec_t *retry_in)
{
    ngx_uint_t                      i, n, first, pending, failed, rsn;
    ngx_msec_t                      rin;
    ngx_http_confer_key_t          *key;
    ngx_http_confer_cache_rc_e      rc;
    ngx_http_confer_terminator_t  **ts, *t;

    ts = seal->terminators.elts;
    n = seal->terminators.nelts;
    first = seal->next++ % n;
    pending = 0;
    failed = 0;

    for (i = 0; i < n; i++) {
        t = ts[(first + i) % n];

        rsn = NGX_HTTP_CONFER_REASON_WAIT;
        rin = 0;

        rc = ngx_http_confer_cache_get(t, r->pool, &key, &rsn, &rin);

        switch (rc) {

        case NGX_HTTP_CONFER_CACHE_HIT:

            if (ngx_http_confer_gateway_pick(r, seal, key) == NGX_OK) {
                ctx->key = key;
                ngx_http_confer_cache_count(t, NGX_HTTP_CONFER_COUNT_GATED);
                return NGX_OK;
            }

            rsn = NGX_HTTP_CONFER_REASON_NO_AEAD;
            rin = t->retry;

            break;

        case NGX_HTTP_CONFER_CACHE_WAIT:
            pending = 1;
            continue;

        default: /* NGX_HTTP_CONFER_CACHE_FAILED */
            break;
        }

        if (!failed++) {
            *reason = rsn;
            *retry_in = rin;

        } else if (rin < *retry_in) {
            *retry_in = rin;
        }
    }

    return pending ? NGX_AGAIN : NGX_DECLINED;
}


/* RFC 9458, 3.2: the first configuration that offers a suite we accept */
static ngx_int_t
ngx_http_confer_gateway_pick(ngx_http_request_t *r,
    ngx_http_confer_seal_t *seal, ngx_http_confer_key_t *key)
{
    u_char               *p;
    size_t                n, len, used;
    confer_keyconfig_t   *kc;
    confer_hpke_suite_t   suite;

    kc = &key->config;
    p = key->ohttp_keys.data;
    n = key->ohttp_keys.len;

    while (n >= 2) {
        len = (size_t) p[0] << 8 | p[1];
        p += 2;
        n -= 2;

        if (len > n) {
            break;
        }

        if (confer_keyconfig_decode(p, len, kc, &used) == CONFER_KEYCONFIG_OK
            && used == len
            && confer_keyconfig_pick(kc, seal->aead, seal->naead, &suite)
               == CONFER_KEYCONFIG_OK)
        {
            key->suite = suite;
            return NGX_OK;
        }

        p += len;
        n -= len;
    }

    /* the cycle's log: this line is about the terminator, not the client */
    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "confer: \"%V\" offers none of the AEADs of \"aead=\"",
                  &key->url);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_confer_gateway_refuse(ngx_http_request_t *r,
    ngx_http_confer_gateway_ctx_t *ctx, ngx_uint_t reason,
    ngx_msec_t retry_in)
{
    u_char      *p;
    ngx_int_t    rc;
    const char  *code;
    u_char       message[160];

    ngx_http_confer_gateway_done_waiting(ctx);

    ctx->status = NGX_HTTP_CONFER_STATUS_ATTEST_FAILED;
    ctx->reason = reason;

    ngx_http_confer_cache_refused(ctx->zone, reason);

    code = ngx_http_confer_reason_name(reason);

    p = ngx_snprintf(message, sizeof(message) - 1,
                     "No attested inference service is available (%s); "
                     "the request was not sent.", code);
    *p = '\0';

    rc = ngx_http_confer_gateway_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "attestation_error", code,
                                            (char *) message,
                                            (retry_in + 999) / 1000);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


static void
ngx_http_confer_gateway_wake(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ev->data;
    c = r->connection;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0, "confer gate wakes");

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_confer_gateway_done_waiting(ngx_http_confer_gateway_ctx_t *ctx)
{
    if (ctx->waiting) {
        ctx->waiting = 0;
        ngx_http_confer_cache_waiting(ctx->zone, -1);
    }
}


static void
ngx_http_confer_gateway_cleanup(void *data)
{
    ngx_http_confer_gateway_ctx_t  *ctx = data;

    if (ctx->wait.timer_set) {
        ngx_del_timer(&ctx->wait);
    }

    if (ctx->wait.posted) {
        ngx_delete_posted_event(&ctx->wait);
    }

    ngx_http_confer_gateway_done_waiting(ctx);
}


/* each worker keeps the keys in use fresh, also without traffic */
static void
ngx_http_confer_gateway_timer(ngx_event_t *ev)
{
    ngx_uint_t                             i;
    ngx_msec_t                             next, n;
    ngx_http_confer_terminator_t         **ts;
    ngx_http_confer_gateway_main_conf_t   *gmcf;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    gmcf = ev->data;
    ts = gmcf->terminators.elts;
    next = 60000;

    for (i = 0; i < gmcf->terminators.nelts; i++) {
        if (!ts[i]->first) {
            continue;
        }

        n = ngx_http_confer_cache_tick(ts[i]);

        if (n < next) {
            next = n;
        }
    }

    ngx_add_timer(ev, next > 10 ? next : 10);
}


/* a key just verified may need its refresh before the timer's next look */
void
ngx_http_confer_gateway_schedule(ngx_msec_t delay)
{
    ngx_event_t                          *ev;
    ngx_http_confer_gateway_main_conf_t  *gmcf;

    gmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_confer_gateway_module);

    if (gmcf == NULL || gmcf->timer.handler == NULL
        || ngx_exiting || ngx_quit || ngx_terminate)
    {
        return;
    }

    ev = &gmcf->timer;

    if (delay < 10) {
        delay = 10;
    }

    if (ev->timer_set) {
        if ((ngx_msec_int_t) (ev->timer.key - (ngx_current_msec + delay))
            <= 0)
        {
            return;
        }

        ngx_del_timer(ev);
    }

    ngx_add_timer(ev, delay);
}


/* --- the API of ngx_http_confer_gateway.h -------------------------------- */


ngx_http_confer_gateway_ctx_t *
ngx_http_confer_gateway_ctx(ngx_http_request_t *r)
{
    return ngx_http_get_module_ctx(r, ngx_http_confer_gateway_module);
}


ngx_http_confer_seal_conf_t *
ngx_http_confer_gateway_seal_conf(ngx_http_request_t *r)
{
    ngx_http_confer_gateway_loc_conf_t  *glcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_confer_gateway_module);

    return &glcf->sealing;
}


ngx_http_confer_key_t *
ngx_http_confer_gateway_key(ngx_http_request_t *r)
{
    ngx_http_confer_gateway_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_confer_gateway_module);

    return ctx ? ctx->key : NULL;
}


void
ngx_http_confer_gateway_set_status(ngx_http_request_t *r,
    ngx_http_confer_status_e status)
{
    ngx_http_confer_gateway_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_confer_gateway_module);

    if (ctx && (ngx_uint_t) status < NGX_HTTP_CONFER_STATUS_LAST) {
        ctx->status = status;
    }
}


void
ngx_http_confer_gateway_count_sealed(ngx_http_request_t *r,
    ngx_uint_t prepared)
{
    ngx_http_confer_key_t  *key;

    key = ngx_http_confer_gateway_key(r);

    if (key) {
        ngx_http_confer_cache_count(key->terminator,
                                    prepared
                                    ? NGX_HTTP_CONFER_COUNT_SEALED_PREPARED
                                    : NGX_HTTP_CONFER_COUNT_SEALED);
    }
}


void
ngx_http_confer_gateway_count_seal_failed(ngx_http_request_t *r,
    ngx_http_confer_seal_err_e err)
{
    ngx_http_confer_key_t  *key;

    key = ngx_http_confer_gateway_key(r);

    if (key) {
        ngx_http_confer_cache_count_seal_failed(key->terminator, err);
    }
}


void
ngx_http_confer_gateway_key_rejected(ngx_http_request_t *r)
{
    ngx_http_confer_key_t  *key;

    key = ngx_http_confer_gateway_key(r);

    if (key == NULL) {
        return;
    }

    ngx_http_confer_cache_stale(key->terminator, key->generation);
    ngx_http_confer_cache_count_seal_failed(key->terminator,
                                         NGX_HTTP_CONFER_SEAL_ERR_KEY_REJECTED);
    ngx_http_confer_gateway_set_status(r, NGX_HTTP_CONFER_STATUS_KEY_REJECTED);
}


ngx_int_t
ngx_http_confer_gateway_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *code, const char *message,
    time_t retry_after)
{
    size_t            len, mlen, tlen, clen;
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    if (r->header_sent) {
        return NGX_ERROR;
    }

    /* read and dropped: nothing of it leaves the gateway */
    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    mlen = ngx_strlen(message);
    tlen = ngx_strlen(type);
    clen = ngx_strlen(code);

    len = sizeof("{\"error\":{\"message\":\"\",\"type\":\"\",\"code\":\"\"}}"
                 "\n") - 1
          + mlen + ngx_escape_json(NULL, (u_char *) message, mlen)
          + tlen + ngx_escape_json(NULL, (u_char *) type, tlen)
          + clen + ngx_escape_json(NULL, (u_char *) code, clen);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, "{\"error\":{\"message\":\"",
                         sizeof("{\"error\":{\"message\":\"") - 1);
    b->last = (u_char *) ngx_escape_json(b->last, (u_char *) message, mlen);
    b->last = ngx_cpymem(b->last, "\",\"type\":\"",
                         sizeof("\",\"type\":\"") - 1);
    b->last = (u_char *) ngx_escape_json(b->last, (u_char *) type, tlen);
    b->last = ngx_cpymem(b->last, "\",\"code\":\"",
                         sizeof("\",\"code\":\"") - 1);
    b->last = (u_char *) ngx_escape_json(b->last, (u_char *) code, clen);
    b->last = ngx_cpymem(b->last, "\"}}\n", sizeof("\"}}\n") - 1);

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    if (retry_after > 0) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (h->value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif
        ngx_str_set(&h->key, "Retry-After");
        h->value.len = ngx_sprintf(h->value.data, "%T", retry_after)
                       - h->value.data;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_confer_send(r, status, "application/json", &out);
}


const char *
ngx_http_confer_status_name(ngx_http_confer_status_e status)
{
    if ((ngx_uint_t) status >= NGX_HTTP_CONFER_STATUS_LAST) {
        return "";
    }

    return ngx_http_confer_status_names[status];
}


const char *
ngx_http_confer_seal_err_name(ngx_http_confer_seal_err_e err)
{
    if ((ngx_uint_t) err >= NGX_HTTP_CONFER_SEAL_ERR_LAST) {
        return "unknown";
    }

    return ngx_http_confer_seal_err_names[err];
}


/* --- configuration ------------------------------------------------------- */


/*
 * confer_seal URL [URL ...] policy=FILE [attestation=PATH] [endpoint=PATH]
 *     [timeout=TIME] [retry=TIME] [max_size=SIZE] [aead=NAME,...]
 *     [ssl_trusted_certificate=FILE];
 */
static char *
ngx_http_confer_seal(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_confer_gateway_loc_conf_t *glcf = conf;

    u_char                                *p;
    size_t                                 max_size;
    ssize_t                                size;
    ngx_str_t                             *value, *url, s, policy_file;
    ngx_str_t                              attestation, endpoint, trusted;
    ngx_msec_t                             timeout, retry;
    ngx_uint_t                             i, j, k, nurls;
    ngx_array_t                            urls;
    attest_policy_t                       *policy;
    ngx_http_confer_seal_t                *seal;
    ngx_http_confer_terminator_t          *t, **tp, **all;
    ngx_http_confer_gateway_main_conf_t   *gmcf;
    u_char                                 digest[32];

    if (glcf->seal != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    seal = ngx_pcalloc(cf->pool, sizeof(ngx_http_confer_seal_t));
    if (seal == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_array_init(&seal->terminators, cf->pool, 2,
                       sizeof(ngx_http_confer_terminator_t *))
        != NGX_OK
        || ngx_array_init(&urls, cf->temp_pool, 2, sizeof(ngx_str_t))
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&attestation, "/.well-known/confer-attestation");
    ngx_str_set(&endpoint, "/.well-known/ohttp-gateway");
    ngx_str_null(&policy_file);
    ngx_str_null(&trusted);
    timeout = 5000;
    retry = 5000;
    max_size = 128 * 1024;

    /* DESIGN.md: the strongest first */
    seal->aead[0] = CONFER_HPKE_AEAD_AES256GCM;
    seal->aead[1] = CONFER_HPKE_AEAD_AES128GCM;
    seal->aead[2] = CONFER_HPKE_AEAD_CHACHA20POLY1305;
    seal->naead = 3;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncasecmp(value[i].data, (u_char *) "http://", 7) == 0
            || ngx_strncasecmp(value[i].data, (u_char *) "https://", 8) == 0)
        {
            url = ngx_array_push(&urls);
            if (url == NULL) {
                return NGX_CONF_ERROR;
            }

            *url = value[i];
            continue;
        }

        if (ngx_strncmp(value[i].data, "policy=", 7) == 0) {
            policy_file.data = value[i].data + 7;
            policy_file.len = value[i].len - 7;

            if (policy_file.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "attestation=", 12) == 0) {
            attestation.data = value[i].data + 12;
            attestation.len = value[i].len - 12;

            if (attestation.len == 0 || attestation.data[0] != '/') {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "endpoint=", 9) == 0) {
            endpoint.data = value[i].data + 9;
            endpoint.len = value[i].len - 9;

            if (endpoint.len == 0 || endpoint.data[0] != '/') {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            timeout = ngx_parse_time(&s, 0);

            if (timeout == (ngx_msec_t) NGX_ERROR || timeout == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "retry=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            retry = ngx_parse_time(&s, 0);

            if (retry == (ngx_msec_t) NGX_ERROR || retry == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "max_size=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            size = ngx_parse_size(&s);

            if (size == NGX_ERROR || size < 1024 || size > 16 * 1024 * 1024)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"confer_seal\" value \"%V\": "
                                   "from 1k to 16m",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            max_size = size;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ssl_trusted_certificate=", 24)
            == 0)
        {
            trusted.data = value[i].data + 24;
            trusted.len = value[i].len - 24;

            if (trusted.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "aead=", 5) == 0) {
            if (ngx_http_confer_seal_aead(cf, seal, &value[i])
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        goto invalid;
    }

    nurls = urls.nelts;

    if (nurls == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"confer_seal\" needs at least one terminator "
                           "URL (http://... or https://...)");
        return NGX_CONF_ERROR;
    }

    if (policy_file.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"confer_seal\" needs \"policy=FILE\": no key is "
                           "trusted without an attestation policy");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_confer_seal_policy(cf, &policy_file, &policy, digest)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    gmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_confer_gateway_module);

    url = urls.elts;

    for (i = 0; i < nurls; i++) {
        s = url[i];

        for (j = 0; j < i; j++) {
            if (url[j].len == s.len
                && ngx_strncasecmp(url[j].data, s.data, s.len) == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate \"confer_seal\" terminator "
                                   "\"%V\"", &s);
                return NGX_CONF_ERROR;
            }
        }

        t = ngx_pcalloc(cf->pool, sizeof(ngx_http_confer_terminator_t));
        if (t == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_http_confer_fetch_target(cf, &s, &attestation, &t->target)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        if (trusted.len
            && ngx_http_confer_fetch_trust(cf, &t->target, &trusted)
               != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        t->target.timeout = timeout;
        t->target.max_size = max_size;

        t->url = t->target.url;
        t->attestation = attestation;
        t->endpoint = endpoint;
        t->policy_file = policy_file;
        t->policy = policy;
        t->retry = retry;
        t->index = i;
        t->file = cf->conf_file->file.name.data;
        t->line = cf->conf_file->line;

        /* the cache entry: what is fetched, and what judges it */
        t->key.len = t->url.len + 1 + attestation.len + 1 + trusted.len + 1
                     + 64;
        t->key.data = ngx_pnalloc(cf->pool, t->key.len);
        if (t->key.data == NULL) {
            return NGX_CONF_ERROR;
        }

        p = ngx_sprintf(t->key.data, "%V %V %V ", &t->url, &attestation,
                        &trusted);
        ngx_hex_dump(p, digest, 32);

        t->hash = ngx_crc32_long(t->key.data, t->key.len);

        all = gmcf->terminators.elts;
        t->first = 1;

        for (k = 0; k < gmcf->terminators.nelts; k++) {
            if (all[k]->key.len == t->key.len
                && ngx_memcmp(all[k]->key.data, t->key.data, t->key.len) == 0)
            {
                t->first = 0;
                break;
            }
        }

        tp = ngx_array_push(&seal->terminators);
        if (tp == NULL) {
            return NGX_CONF_ERROR;
        }

        *tp = t;

        tp = ngx_array_push(&gmcf->terminators);
        if (tp == NULL) {
            return NGX_CONF_ERROR;
        }

        *tp = t;
    }

    seal->timeout = timeout;
    glcf->seal = seal;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid \"confer_seal\" parameter \"%V\"",
                       &value[i]);

    return NGX_CONF_ERROR;
}


/* aead=NAME[,NAME...]: the order to pick a suite in (RFC 9180, 7.3) */
static char *
ngx_http_confer_seal_aead(ngx_conf_t *cf, ngx_http_confer_seal_t *seal,
    ngx_str_t *value)
{
    u_char                  *p, *last, *comma;
    ngx_str_t                name;
    ngx_uint_t               i, k;
    ngx_http_confer_aead_t  *a;

    p = value->data + 5;
    last = value->data + value->len;
    seal->naead = 0;

    while (p <= last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        name.data = p;
        name.len = comma - p;

        for (a = ngx_http_confer_aeads; a->name.len; a++) {
            if (a->name.len == name.len
                && ngx_strncasecmp(a->name.data, name.data, name.len) == 0)
            {
                break;
            }
        }

        if (a->name.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown AEAD \"%V\" in \"confer_seal\" "
                               "parameter \"%V\": aes-128-gcm, aes-256-gcm "
                               "or chacha20-poly1305", &name,
                               value);
            return NGX_CONF_ERROR;
        }

        for (i = 0; i < seal->naead; i++) {
            if (seal->aead[i] == a->id) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "AEAD \"%V\" twice in \"confer_seal\" "
                                   "parameter \"%V\"", &name,
                                   value);
                return NGX_CONF_ERROR;
            }
        }

        k = seal->naead++;
        seal->aead[k] = a->id;

        p = comma + 1;
    }

    return NGX_CONF_OK;
}


/* loaded now, so that nginx -t refuses a bad policy */
static ngx_int_t
ngx_http_confer_seal_policy(ngx_conf_t *cf, ngx_str_t *file,
    attest_policy_t **policy, u_char digest[32])
{
    int                  ok;
    FILE                *fp;
    size_t               n;
    EVP_MD_CTX          *md;
    attest_err_t         rc;
    ngx_pool_cleanup_t  *cln;
    u_char               buf[4096];
    char                 msg[256];

    if (ngx_conf_full_name(cf->cycle, file, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    msg[0] = '\0';

    rc = attest_policy_load((char *) file->data, policy, msg, sizeof(msg));

    if (rc != ATTEST_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"confer_seal\" policy \"%V\": "
                           "%s: %s", file,
                           attest_strerror(rc), msg);
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        attest_policy_free(*policy);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_confer_seal_policy_free;
    cln->data = *policy;

    /* the digest names the cache entry: a changed policy judges anew */
    fp = fopen((char *) file->data, "rb");
    if (fp == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "fopen(\"%V\") failed", file);
        return NGX_ERROR;
    }

    md = EVP_MD_CTX_new();
    ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;

    while (ok && (n = fread(buf, 1, sizeof(buf), fp)) > 0) {
        ok = EVP_DigestUpdate(md, buf, n) == 1;
    }

    ok = ok && !ferror(fp) && EVP_DigestFinal_ex(md, digest, NULL) == 1;

    EVP_MD_CTX_free(md);
    fclose(fp);

    if (!ok) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"confer_seal\" policy \"%V\" could not be "
                           "hashed", file);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_confer_seal_policy_free(void *data)
{
    attest_policy_free(data);
}


static char *
ngx_http_confer_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_confer_gateway_loc_conf_t *glcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (glcf->status != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_confer_status_handler;

    glcf->status = 1;
    glcf->status_file = cf->conf_file->file.name.data;
    glcf->status_line = cf->conf_file->line;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_confer_gateway_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_confer_gateway_add_variables(cf);
}


static ngx_int_t
ngx_http_confer_gateway_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * The sealing handler goes here, before the gate: handlers of a phase
     * run in reverse order, so it runs after the gate passed.
     */

    if (ngx_http_confer_gateway_seal_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * PRECONTENT, not ACCESS: it also runs for subrequests and is not
     * skipped by "satisfy any" (NGINX-MECHANICS.md, 2(iii)).
     */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_confer_gateway_handler;

    return ngx_http_confer_gateway_open_init(cf);
}


static void *
ngx_http_confer_gateway_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_confer_gateway_main_conf_t  *gmcf;

    gmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_confer_gateway_main_conf_t));
    if (gmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     gmcf->shm_zone = NULL;
     *     gmcf->timer = { 0 };
     */

    if (ngx_array_init(&gmcf->terminators, cf->pool, 4,
                       sizeof(ngx_http_confer_terminator_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return gmcf;
}


static char *
ngx_http_confer_gateway_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_confer_gateway_main_conf_t *gmcf = conf;

    ngx_uint_t                      i;
    ngx_http_confer_terminator_t  **ts;

    ts = gmcf->terminators.elts;

    for (i = 0; i < gmcf->terminators.nelts; i++) {

        if (gmcf->shm_zone == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"confer_seal\" in %s:%ui needs "
                          "\"confer_cache zone=NAME:SIZE\" in the http "
                          "block: the verified keys live there",
                          ts[i]->file, ts[i]->line);
            return NGX_CONF_ERROR;
        }

        ts[i]->shm_zone = gmcf->shm_zone;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_confer_gateway_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_confer_gateway_loc_conf_t  *glcf;

    glcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_confer_gateway_loc_conf_t));
    if (glcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     glcf->status_file = NULL;
     *     glcf->status_line = 0;
     */

    glcf->seal = NGX_CONF_UNSET_PTR;
    glcf->status = NGX_CONF_UNSET;

    ngx_http_confer_gateway_seal_create_conf(&glcf->sealing);

    return glcf;
}


static char *
ngx_http_confer_gateway_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_confer_gateway_loc_conf_t *prev = parent;
    ngx_http_confer_gateway_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t             *clcf;
    ngx_http_confer_gateway_main_conf_t  *gmcf;

    ngx_conf_merge_ptr_value(conf->seal, prev->seal, NULL);

    if (ngx_http_confer_gateway_seal_merge_conf(cf, &prev->sealing,
                                                &conf->sealing)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->seal) {
        /*
         * The outer response comes from untrusted hops: none of its
         * X-Accel-* headers may steer nginx, above all X-Accel-Redirect,
         * which the upstream module follows before any filter sees the
         * response, losing the request's context and giving the client
         * what the named location makes.  Whichever module passes the
         * request on (proxy_pass, or fastcgi_pass and the like, which
         * cannot be told from a proxy_pass with variables here).
         */
        ngx_http_confer_ignore_x_accel(cf);

        ngx_http_confer_heap_note(cf, conf->sealing.max_body);
    }

    /* the handler is per location: confer_status is not inherited */
    if (conf->status == NGX_CONF_UNSET) {
        conf->status = 0;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    /*
     * The sealed request goes on through the location's content handler:
     * without one (or a nested location that inherits confer_seal but not
     * proxy_pass) nginx would serve files.  The blocks of "if" use their
     * location's handler.
     */
    if (conf->seal && !conf->status && clcf->handler == NULL
        && !clcf->noname)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"confer_seal\" needs "
                           "\"proxy_pass\" to the terminator in its "
                           "location \"%V\"", &clcf->name);
        return NGX_CONF_ERROR;
    }

    if (!conf->status) {
        return NGX_CONF_OK;
    }

    if (conf->seal) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"confer_status\" in %s:%ui is in a location where "
                      "\"confer_seal\" applies", conf->status_file,
                      conf->status_line);
        return NGX_CONF_ERROR;
    }

    gmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_confer_gateway_module);

    if (gmcf->shm_zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"confer_status\" in %s:%ui needs "
                      "\"confer_cache zone=NAME:SIZE\" in the http block",
                      conf->status_file, conf->status_line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_confer_gateway_seals(ngx_conf_t *cf)
{
    ngx_http_confer_gateway_loc_conf_t  *glcf;

    glcf = ngx_http_conf_get_module_loc_conf(cf,
                                             ngx_http_confer_gateway_module);

    return glcf->seal != NULL && glcf->seal != NGX_CONF_UNSET_PTR;
}


static ngx_int_t
ngx_http_confer_gateway_init_process(ngx_cycle_t *cycle)
{
    ngx_http_confer_gateway_main_conf_t  *gmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    gmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_confer_gateway_module);

    if (gmcf == NULL || gmcf->terminators.nelts == 0) {
        return NGX_OK;
    }

    gmcf->timer.handler = ngx_http_confer_gateway_timer;
    gmcf->timer.data = gmcf;
    gmcf->timer.log = cycle->log;
    gmcf->timer.cancelable = 1;

    ngx_add_timer(&gmcf->timer, 1000);

    return NGX_OK;
}


static void
ngx_http_confer_gateway_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_confer_gateway_encap_exit();
}
