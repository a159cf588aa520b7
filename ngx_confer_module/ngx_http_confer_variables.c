
/*
 * ngx_confer_module: the gateway's variables, for logs and routing.
 *
 *   $confer_terminator   scheme://host[:port] of the terminator chosen
 *                        for this request, as written in confer_seal
 *   $confer_terminator_host
 *                        its host[:port], for a Host header or SNI
 *   $confer_platform     sev-snp, tdx or simulated
 *   $confer_measurement  its launch measurement (SNP MEASUREMENT, TDX
 *                        MRTD), hex
 *   $confer_key_id       the OHTTP key id used
 *   $confer_aead         the AEAD picked: aes-256-gcm, ...
 *   $confer_valid_until  when the verified key expires, unix time
 *   $confer_status       pending, attested, sealed, attest_failed,
 *                        seal_failed, key_rejected
 *   $confer_reason       why the gate refused (a reason code)
 *
 * All describe the terminator and the gate; none carries anything of the
 * request or the client.  They are empty (not found) where not set.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_confer_module.h"
#include "ngx_http_confer_cache.h"


typedef enum {
    NGX_HTTP_CONFER_VAR_TERMINATOR = 0,
    NGX_HTTP_CONFER_VAR_HOST,
    NGX_HTTP_CONFER_VAR_PLATFORM,
    NGX_HTTP_CONFER_VAR_MEASUREMENT,
    NGX_HTTP_CONFER_VAR_KEY_ID,
    NGX_HTTP_CONFER_VAR_AEAD,
    NGX_HTTP_CONFER_VAR_VALID_UNTIL
} ngx_http_confer_var_e;


static ngx_int_t ngx_http_confer_variable_key(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_confer_variable_status(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_confer_variable_reason(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void ngx_http_confer_variable_string(ngx_http_variable_value_t *v,
    const char *s);


/* they change while the request runs (pending, then attested, sealed) */
static ngx_http_variable_t  ngx_http_confer_gateway_vars[] = {

    { ngx_string("confer_terminator"), NULL,
      ngx_http_confer_variable_key, NGX_HTTP_CONFER_VAR_TERMINATOR,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("confer_terminator_host"), NULL,
      ngx_http_confer_variable_key, NGX_HTTP_CONFER_VAR_HOST,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("confer_platform"), NULL,
      ngx_http_confer_variable_key, NGX_HTTP_CONFER_VAR_PLATFORM,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("confer_measurement"), NULL,
      ngx_http_confer_variable_key, NGX_HTTP_CONFER_VAR_MEASUREMENT,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("confer_key_id"), NULL,
      ngx_http_confer_variable_key, NGX_HTTP_CONFER_VAR_KEY_ID,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("confer_aead"), NULL,
      ngx_http_confer_variable_key, NGX_HTTP_CONFER_VAR_AEAD,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("confer_valid_until"), NULL,
      ngx_http_confer_variable_key, NGX_HTTP_CONFER_VAR_VALID_UNTIL,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("confer_status"), NULL,
      ngx_http_confer_variable_status, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("confer_reason"), NULL,
      ngx_http_confer_variable_reason, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_confer_gateway_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_confer_gateway_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_confer_variable_key(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                 *p;
    ngx_uint_t              i;
    ngx_http_confer_key_t  *key;

    key = ngx_http_confer_gateway_key(r);

    if (key == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_CONFER_VAR_TERMINATOR:
        v->len = key->url.len;
        v->data = key->url.data;
        break;

    case NGX_HTTP_CONFER_VAR_HOST:
        v->len = key->host.len;
        v->data = key->host.data;
        break;

    case NGX_HTTP_CONFER_VAR_PLATFORM:
        ngx_http_confer_variable_string(v,
                                        attest_platform_name(key->platform));
        break;

    case NGX_HTTP_CONFER_VAR_MEASUREMENT:
        p = ngx_pnalloc(r->pool, 2 * sizeof(key->measurement));
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->data = p;
        v->len = ngx_hex_dump(p, key->measurement, sizeof(key->measurement))
                 - p;
        break;

    case NGX_HTTP_CONFER_VAR_KEY_ID:
        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->data = p;
        v->len = ngx_sprintf(p, "%ui", (ngx_uint_t) key->config.key_id) - p;
        break;

    case NGX_HTTP_CONFER_VAR_AEAD:
        /* RFC 9180, 7.3 */
        i = key->suite.aead_id;
        ngx_http_confer_variable_string(v,
                  i == CONFER_HPKE_AEAD_AES128GCM ? "aes-128-gcm"
                  : i == CONFER_HPKE_AEAD_AES256GCM ? "aes-256-gcm"
                  : i == CONFER_HPKE_AEAD_CHACHA20POLY1305
                    ? "chacha20-poly1305" : "unknown");
        break;

    default: /* NGX_HTTP_CONFER_VAR_VALID_UNTIL */
        p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->data = p;
        v->len = ngx_sprintf(p, "%T", key->valid_until) - p;
        break;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_confer_variable_status(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_confer_gateway_ctx_t  *ctx;

    ctx = ngx_http_confer_gateway_ctx(r);

    if (ctx == NULL || ctx->status == NGX_HTTP_CONFER_STATUS_NONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_confer_variable_string(v,
                                    ngx_http_confer_status_name(ctx->status));

    return NGX_OK;
}


static ngx_int_t
ngx_http_confer_variable_reason(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_confer_gateway_ctx_t  *ctx;

    ctx = ngx_http_confer_gateway_ctx(r);

    if (ctx == NULL || ctx->status != NGX_HTTP_CONFER_STATUS_ATTEST_FAILED) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_confer_variable_string(v,
                                    ngx_http_confer_reason_name(ctx->reason));

    return NGX_OK;
}


static void
ngx_http_confer_variable_string(ngx_http_variable_value_t *v, const char *s)
{
    v->data = (u_char *) s;
    v->len = ngx_strlen(s);
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
}
