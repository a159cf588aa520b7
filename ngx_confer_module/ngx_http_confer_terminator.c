/*
 * ngx_confer_module: the terminator role, inside the confidential VM: holds
 * the key, serves the attestation document, opens OHTTP requests and seals
 * the model server's answers.
 *
 * This file holds the directives, the configuration and the hooks; the
 * work is done in ngx_http_confer_keys.c, ngx_http_confer_terminator_open.c,
 * ngx_http_confer_terminator_seal.c and ngx_http_confer_replay.c.
 *
 *   confer_key evidence=configfs-tsm [tsm_root=PATH] [certs=FILE]
 *              | simulated=DIR
 *              [gpu=command:PATH | gpu=unix:PATH | gpu=simulated[:N]]
 *              [gpu_timeout=30s] [collateral=DIR]
 *              [lifetime=1h] [grace=10m] [renew=on|off]
 *              [replay=NAME:SIZE] [tsm_timeout=10s];
 *
 *       http level, once.  Makes an X25519 key pair in memory at every
 *       start and reload (never written anywhere, locked, zeroed when the
 *       configuration is released) and the attestation document binding it.
 *       evidence: where the hardware evidence comes from; configfs-tsm is
 *       the kernel's TSM report interface (Linux 6.7+, SEV-SNP and TDX),
 *       tsm_root overrides its directory, certs gives the SNP chain (VCEK
 *       first) as a PEM file when the host's auxblob has none; simulated=DIR
 *       is the development platform of `confer-attest simulate init DIR`.
 *       lifetime: the document's not_after is start + lifetime (default
 *       1h).  grace: how long the previous key is still honoured after a
 *       reload (default 10m, at most lifetime).  renew: on (default) makes
 *       the workers ask the master to reload itself (SIGHUP) at 90% of the
 *       lifetime, one worker per cycle (coordinated in the replay zone), so
 *       keys and evidence are fresh before not_after; off leaves it to the
 *       operator (a document past not_after is answered with 503, and the
 *       key with the key-configuration problem).  replay: the shared
 *       memory zone of seen encapsulated keys (default confer_replay:8m):
 *       8 bytes per request that its key still honours, 1m holding about
 *       110,000 of them, 8m about 900,000 (210 requests per second for the
 *       70 minutes an entry lives with lifetime=1h grace=10m); size it for
 *       the peak rate times lifetime + grace, since a full zone refuses
 *       requests (503) rather than forget a live entry.
 *       tsm_timeout: how long one TSM report may take.
 *       gpu: NVIDIA GPU evidence bound to the document (its "gpu" member):
 *       command:PATH runs PATH with the GPU nonce (attest_gpu_nonce() of
 *       the document's report_data) as 64 hex digits and reads NVIDIA's
 *       evidence JSON from its stdout; unix:PATH sends the nonce and a
 *       newline to a stream socket and reads the JSON back; simulated[:N]
 *       makes N (default 1) SIMULATED GPUs under the simulated=DIR root.
 *       The evidence is verified against the nonce before it is used; the
 *       exact contract is in attest/attest_provide.h.  gpu_timeout: how
 *       long the command or socket may take (the process group is killed
 *       past it).  collateral: a directory of vendor collateral files
 *       (TDX: tcb_info.json, qe_identity.json, tcb_signing_chain.pem,
 *       pck_crl.der|pem, root_crl.der|pem; SEV-SNP: ark_crl.der|pem and
 *       optionally ask_ark.pem; simulated: ark_crl.der|pem) that go into
 *       the document so that gateways verify it offline; re-read at every
 *       reload.  Any of them failing fails nginx -t and the (re)load.
 *       All of this runs while the configuration is read, in the master,
 *       never in a worker; during a grace period after a reload there are
 *       two documents (two key sets, two nonces), so the GPUs are asked
 *       twice.
 *
 *   confer_attestation;
 *
 *       location: serves the attestation document (application/json).
 *
 *   confer_open [allow=PATH,...] [headers=NAME,...] [max_body=SIZE]
 *               [pad=N];
 *
 *       location, with proxy_pass (no URI part) to the model server and
 *       proxy_buffering off: accepts message/ohttp-req and
 *       message/ohttp-chunked-req, forwards the inner request and seals the
 *       answer as message/ohttp-res or message/ohttp-chunked-res.
 *       allow: inner paths that may reach the model server (exact, or a
 *       prefix ending in "*"; default /v1/chat/completions,/v1/completions,
 *       /v1/embeddings,/v1/models); others get a sealed 403.  headers: inner
 *       request headers forwarded besides content-type, accept,
 *       authorization, openai-organization, openai-project and openai-beta.
 *       max_body: the largest outer body (default 8m; 413 above).  pad: the
 *       size quantum of sealed streamed chunks (default 256, 0 off).
 *       The model server's answer never goes to a temporary file
 *       (proxy_max_temp_file_size is forced to 0) and its X-Accel-*
 *       headers are ignored; proxy_store, proxy_cache,
 *       client_body_in_file_only, and error_page and try_files (internal
 *       redirects, which would take the opened request elsewhere) are
 *       refused.
 *
 *   confer_coalesce off | TIME;
 *
 *       http, server, location (default off): blurs the timing of
 *       streamed answers (text/event-stream over chunked OHTTP).  Off,
 *       every read from the model server is sealed and sent as its own
 *       chunk at once.  With a TIME (1ms to 60s), what the model server
 *       sends is held, and everything held goes out as one sealed, padded
 *       chunk TIME after the first byte of it arrived; the end of the
 *       answer sends what is held with the final chunk at once, and more
 *       than 16k held is sealed at once.  The head (status and headers)
 *       still goes before the first token.  Plain OHTTP and non-SSE
 *       answers, sealed whole, are not affected.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sodium.h>

#include "ngx_http_confer_terminator.h"

#include "attest_provide.h"


static ngx_int_t ngx_http_confer_term_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_confer_term_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_confer_term_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_confer_term_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_confer_term_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_confer_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_confer_key_gpu(ngx_conf_t *cf,
    ngx_http_confer_term_main_conf_t *tmcf, ngx_str_t *v);
static char *ngx_http_confer_attestation(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_confer_open(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_confer_coalesce(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_array_t *ngx_http_confer_term_list(ngx_conf_t *cf, ngx_str_t *v);
static ngx_int_t ngx_http_confer_term_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_confer_terminator_commands[] = {

    { ngx_string("confer_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_confer_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("confer_attestation"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_confer_attestation,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("confer_open"),
      NGX_HTTP_LOC_CONF|NGX_CONF_ANY,
      ngx_http_confer_open,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("confer_coalesce"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_confer_coalesce,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_confer_terminator_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_confer_term_postconfiguration, /* postconfiguration */

    ngx_http_confer_term_create_main_conf, /* create main configuration */
    ngx_http_confer_term_init_main_conf,   /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_confer_term_create_loc_conf,  /* create location configuration */
    ngx_http_confer_term_merge_loc_conf    /* merge location configuration */
};


ngx_module_t  ngx_http_confer_terminator_module = {
    NGX_MODULE_V1,
    &ngx_http_confer_terminator_module_ctx, /* module context */
    ngx_http_confer_terminator_commands,   /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_confer_term_init_process,     /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


extern ngx_module_t  ngx_http_proxy_module;
extern ngx_module_t  ngx_http_try_files_module;


static ngx_str_t  ngx_http_confer_default_allow[] = {
    ngx_string("/v1/chat/completions"),
    ngx_string("/v1/completions"),
    ngx_string("/v1/embeddings"),
    ngx_string("/v1/models"),
    ngx_null_string
};


static ngx_int_t
ngx_http_confer_term_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_confer_term_main_conf_t  *tmcf;

    tmcf = ngx_http_conf_get_module_main_conf(cf,
                                            ngx_http_confer_terminator_module);

    if (ngx_http_confer_open_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_confer_seal_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    (void) tmcf;

    return NGX_OK;
}


static void *
ngx_http_confer_term_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_confer_term_main_conf_t  *tmcf;

    tmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_confer_term_main_conf_t));
    if (tmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     tmcf->evidence = 0;
     *     tmcf->sim_dir = { 0, NULL };
     *     tmcf->tsm_root = { 0, NULL };
     *     tmcf->certs = { 0, NULL };
     *     tmcf->gpu = ATTEST_GPU_SOURCE_NONE;
     *     tmcf->gpu_param = { 0, NULL };
     *     tmcf->gpu_path = { 0, NULL };
     *     tmcf->gpu_count = 0;
     *     tmcf->collateral = { 0, NULL };
     *     tmcf->replay_zone = NULL;
     *     tmcf->keys = NULL;
     */

    tmcf->lifetime = NGX_CONF_UNSET;
    tmcf->grace = NGX_CONF_UNSET;
    tmcf->renew = NGX_CONF_UNSET;
    tmcf->tsm_timeout = NGX_CONF_UNSET_MSEC;
    tmcf->gpu_timeout = NGX_CONF_UNSET_MSEC;

    return tmcf;
}


static char *
ngx_http_confer_term_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_confer_term_main_conf_t  *tmcf = conf;

    ngx_str_t  name = ngx_string("confer_replay");

    if (tmcf->evidence == 0) {
        return NGX_CONF_OK;
    }

    ngx_conf_init_value(tmcf->lifetime, 3600);
    ngx_conf_init_value(tmcf->grace, 600);
    ngx_conf_init_value(tmcf->renew, 1);
    ngx_conf_init_msec_value(tmcf->tsm_timeout, 10000);
    ngx_conf_init_msec_value(tmcf->gpu_timeout, 30000);

    if (tmcf->grace > tmcf->lifetime) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "%V:%ui: \"confer_key\" grace=%T is longer than "
                      "lifetime=%T", &tmcf->conf_file, tmcf->conf_line,
                      tmcf->grace, tmcf->lifetime);
        return NGX_CONF_ERROR;
    }

    if (tmcf->replay_zone == NULL) {
        tmcf->replay_zone = ngx_http_confer_replay_zone(cf, &name,
                                                        8 * 1024 * 1024);
        if (tmcf->replay_zone == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return ngx_http_confer_keys_init(cf, tmcf);
}


static void *
ngx_http_confer_term_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_confer_term_loc_conf_t  *tlcf;

    tlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_confer_term_loc_conf_t));
    if (tlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     tlcf->attestation = 0;
     */

    tlcf->open = NGX_CONF_UNSET;
    tlcf->allow = NGX_CONF_UNSET_PTR;
    tlcf->headers = NGX_CONF_UNSET_PTR;
    tlcf->max_body = NGX_CONF_UNSET;
    tlcf->pad = NGX_CONF_UNSET_SIZE;
    tlcf->coalesce = NGX_CONF_UNSET_MSEC;

    return tlcf;
}


static char *
ngx_http_confer_term_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_confer_term_loc_conf_t *prev = parent;
    ngx_http_confer_term_loc_conf_t *conf = child;

    void                             **try_files;
    ngx_str_t                         *s;
    ngx_uint_t                         i;
    ngx_http_upstream_conf_t          *ucf;
    ngx_http_core_loc_conf_t          *clcf;
    ngx_http_confer_term_main_conf_t  *tmcf;

    ngx_conf_merge_value(conf->open, prev->open, 0);
    ngx_conf_merge_ptr_value(conf->allow, prev->allow, NULL);
    ngx_conf_merge_ptr_value(conf->headers, prev->headers, NULL);
    ngx_conf_merge_off_value(conf->max_body, prev->max_body,
                             8 * 1024 * 1024);
    ngx_conf_merge_size_value(conf->pad, prev->pad,
                              CONFER_PAD_QUANTUM_DEFAULT);
    ngx_conf_merge_msec_value(conf->coalesce, prev->coalesce, 0);

    if (conf->allow == NULL) {
        conf->allow = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (conf->allow == NULL) {
            return NGX_CONF_ERROR;
        }

        for (i = 0; ngx_http_confer_default_allow[i].len; i++) {
            s = ngx_array_push(conf->allow);
            if (s == NULL) {
                return NGX_CONF_ERROR;
            }

            *s = ngx_http_confer_default_allow[i];
        }
    }

    if (!conf->open && !conf->attestation) {
        return NGX_CONF_OK;
    }

    tmcf = ngx_http_conf_get_module_main_conf(cf,
                                            ngx_http_confer_terminator_module);

    if (tmcf->evidence == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%s\" needs a "
                           "\"confer_key\" at the http level",
                           conf->open ? "confer_open" : "confer_attestation");
        return NGX_CONF_ERROR;
    }

    /* one role a location: each sets the handling of the whole request */
    if (conf->open && conf->attestation) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"confer_open\" and "
                           "\"confer_attestation\" cannot apply in one "
                           "location");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_confer_gateway_seals(cf)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%s\" cannot apply in "
                           "a location where \"confer_seal\" does: a "
                           "location is the gateway's or the terminator's",
                           conf->open ? "confer_open" : "confer_attestation");
        return NGX_CONF_ERROR;
    }

    if (conf->open) {
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

        /* plaintext must never be written to a temporary file */
        if (clcf->client_body_in_file_only) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"confer_open\" "
                               "cannot be used with "
                               "\"client_body_in_file_only\"");
            return NGX_CONF_ERROR;
        }

        /*
         * nor taken elsewhere: an internal redirect drops the request's
         * context, and the answer of the location it goes to would leave
         * unsealed, made from the opened request
         */
        try_files = ngx_http_conf_get_module_loc_conf(cf,
                                                    ngx_http_try_files_module);

        /* try_files' configuration is one pointer, its list */
        if (clcf->error_pages || *try_files) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"confer_open\" "
                               "cannot be used with \"%s\": its internal "
                               "redirect would send an answer unsealed",
                               clcf->error_pages ? "error_page"
                                                 : "try_files");
            return NGX_CONF_ERROR;
        }

        /*
         * nor the answer: the proxy's configuration starts with its
         * ngx_http_upstream_conf_t, merged before ours (the proxy module
         * comes first); buffered answers stay in memory
         */
        ucf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_proxy_module);

        /*
         * and only the proxy's: with fastcgi_pass, grpc_pass and the like
         * none of what follows would apply.  A fixed proxy_pass in the
         * location itself is what sets the proxy's upstream (nginx gives
         * one to no other named location), and it refuses a second
         * content handler in the same location.
         */
        if (ucf->upstream == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"confer_open\" "
                               "needs \"proxy_pass\" to the model server, "
                               "at a fixed address, in its location");
            return NGX_CONF_ERROR;
        }

        if (ucf->store > 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"confer_open\" "
                               "cannot be used with \"proxy_store\"");
            return NGX_CONF_ERROR;
        }

#if (NGX_HTTP_CACHE)
        if (ucf->cache_zone || ucf->cache_value) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"confer_open\" "
                               "cannot be used with \"proxy_cache\"");
            return NGX_CONF_ERROR;
        }
#endif

        ucf->max_temp_file_size_conf = 0;
        ucf->max_temp_file_size = 0;

        ngx_http_confer_heap_note(cf, (size_t) conf->max_body);

        /*
         * and no X-Accel-* header of the model server steers nginx:
         * X-Accel-Redirect is followed before any filter sees the answer,
         * and what the named location makes would leave unsealed
         */
        ucf->ignore_headers |= NGX_HTTP_CONFER_IGN_XA;
    }

    return NGX_CONF_OK;
}


/* "a,b,c" into an array of ngx_str_t pointing into v */
static ngx_array_t *
ngx_http_confer_term_list(ngx_conf_t *cf, ngx_str_t *v)
{
    u_char       *p, *last, *comma;
    ngx_str_t    *s;
    ngx_array_t  *a;

    a = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
    if (a == NULL) {
        return NULL;
    }

    p = v->data;
    last = v->data + v->len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        if (comma == p) {
            return NULL;
        }

        s = ngx_array_push(a);
        if (s == NULL) {
            return NULL;
        }

        s->data = p;
        s->len = comma - p;

        p = comma + 1;
    }

    return a->nelts ? a : NULL;
}


static char *
ngx_http_confer_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_confer_term_main_conf_t  *tmcf = conf;

    u_char     *colon;
    time_t      t;
    ssize_t     size;
    ngx_str_t  *value, s, name;
    ngx_msec_t  ms;
    ngx_uint_t  i;

    if (tmcf->evidence) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "evidence=configfs-tsm") == 0) {
            if (tmcf->evidence) {
                goto twice;
            }

            tmcf->evidence = NGX_HTTP_CONFER_EVIDENCE_CONFIGFS_TSM;
            continue;
        }

        if (ngx_strncmp(value[i].data, "evidence=", 9) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid evidence \"%V\" in \"confer_key\" "
                               "(configfs-tsm, or simulated=DIR)",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        if (ngx_strncmp(value[i].data, "simulated=", 10) == 0) {
            if (tmcf->evidence) {
                goto twice;
            }

            tmcf->sim_dir.data = value[i].data + 10;
            tmcf->sim_dir.len = value[i].len - 10;

            if (tmcf->sim_dir.len == 0) {
                goto invalid;
            }

            tmcf->evidence = NGX_HTTP_CONFER_EVIDENCE_SIMULATED;
            continue;
        }

        if (ngx_strncmp(value[i].data, "tsm_root=", 9) == 0) {
            tmcf->tsm_root.data = value[i].data + 9;
            tmcf->tsm_root.len = value[i].len - 9;

            if (tmcf->tsm_root.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "certs=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            if (s.len == 0) {
                goto invalid;
            }

            if (ngx_conf_full_name(cf->cycle, &s, 1) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            tmcf->certs = s;
            continue;
        }

        if (ngx_strncmp(value[i].data, "gpu=", 4) == 0) {
            if (tmcf->gpu != ATTEST_GPU_SOURCE_NONE) {
                goto invalid;
            }

            if (ngx_http_confer_key_gpu(cf, tmcf, &value[i]) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "gpu_timeout=", 12) == 0) {
            s.data = value[i].data + 12;
            s.len = value[i].len - 12;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
                goto invalid;
            }

            tmcf->gpu_timeout = ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "collateral=", 11) == 0) {
            s.data = value[i].data + 11;
            s.len = value[i].len - 11;

            if (s.len == 0) {
                goto invalid;
            }

            if (ngx_conf_full_name(cf->cycle, &s, 1) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            tmcf->collateral = s;
            continue;
        }

        if (ngx_strncmp(value[i].data, "lifetime=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            t = ngx_parse_time(&s, 1);
            if (t == (time_t) NGX_ERROR || t < 1) {
                goto invalid;
            }

            tmcf->lifetime = t;
            continue;
        }

        if (ngx_strncmp(value[i].data, "grace=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            t = ngx_parse_time(&s, 1);
            if (t == (time_t) NGX_ERROR) {
                goto invalid;
            }

            tmcf->grace = t;
            continue;
        }

        if (ngx_strcmp(value[i].data, "renew=on") == 0) {
            tmcf->renew = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "renew=off") == 0) {
            tmcf->renew = 0;
            continue;
        }

        if (ngx_strncmp(value[i].data, "tsm_timeout=", 12) == 0) {
            s.data = value[i].data + 12;
            s.len = value[i].len - 12;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
                goto invalid;
            }

            tmcf->tsm_timeout = ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "replay=", 7) == 0) {
            name.data = value[i].data + 7;

            colon = (u_char *) ngx_strchr(name.data, ':');
            if (colon == NULL || colon == name.data) {
                goto invalid;
            }

            name.len = colon - name.data;

            s.data = colon + 1;
            s.len = value[i].data + value[i].len - s.data;

            size = ngx_parse_size(&s);
            if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid replay zone size \"%V\" in "
                                   "\"confer_key\" (at least %uzk)",
                                   &value[i], 8 * ngx_pagesize / 1024);
                return NGX_CONF_ERROR;
            }

            tmcf->replay_zone = ngx_http_confer_replay_zone(cf, &name, size);
            if (tmcf->replay_zone == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        goto invalid;
    }

    if (tmcf->evidence == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"confer_key\" needs evidence=configfs-tsm "
                           "or simulated=DIR");
        return NGX_CONF_ERROR;
    }

    if (tmcf->evidence != NGX_HTTP_CONFER_EVIDENCE_CONFIGFS_TSM
        && (tmcf->tsm_root.len || tmcf->certs.len))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"confer_key\": tsm_root= and certs= go with "
                           "evidence=configfs-tsm only");
        return NGX_CONF_ERROR;
    }

    if (tmcf->gpu == ATTEST_GPU_SOURCE_SIMULATED
        && tmcf->evidence != NGX_HTTP_CONFER_EVIDENCE_SIMULATED)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"confer_key\": %V goes with simulated=DIR "
                           "only", &tmcf->gpu_param);
        return NGX_CONF_ERROR;
    }

    if (tmcf->tsm_root.len == 0) {
        ngx_str_set(&tmcf->tsm_root, NGX_HTTP_CONFER_TSM_ROOT);
    }

    tmcf->conf_file = cf->conf_file->file.name;
    tmcf->conf_line = cf->conf_file->line;

    return NGX_CONF_OK;

twice:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"confer_key\" takes one evidence source, "
                       "\"%V\" is a second", &value[i]);
    return NGX_CONF_ERROR;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"confer_key\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


/* gpu=command:PATH, gpu=unix:PATH, gpu=simulated[:N] */
static ngx_int_t
ngx_http_confer_key_gpu(ngx_conf_t *cf,
    ngx_http_confer_term_main_conf_t *tmcf, ngx_str_t *v)
{
    ngx_int_t  n;
    ngx_str_t  s;

    tmcf->gpu_param = *v;

    s.data = v->data + 4;
    s.len = v->len - 4;

    if (s.len > 8 && ngx_strncmp(s.data, "command:", 8) == 0) {
        tmcf->gpu = ATTEST_GPU_SOURCE_COMMAND;
        tmcf->gpu_path.data = s.data + 8;
        tmcf->gpu_path.len = s.len - 8;

    } else if (s.len > 5 && ngx_strncmp(s.data, "unix:", 5) == 0) {
        tmcf->gpu = ATTEST_GPU_SOURCE_UNIX;
        tmcf->gpu_path.data = s.data + 5;
        tmcf->gpu_path.len = s.len - 5;

    } else if (s.len == 9 && ngx_strncmp(s.data, "simulated", 9) == 0) {
        tmcf->gpu = ATTEST_GPU_SOURCE_SIMULATED;
        tmcf->gpu_count = 1;
        return NGX_OK;

    } else if (s.len > 10 && ngx_strncmp(s.data, "simulated:", 10) == 0) {
        n = ngx_atoi(s.data + 10, s.len - 10);

        if (n == NGX_ERROR || n < 1 || n > ATTEST_MAX_GPUS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid GPU count in \"%V\" of "
                               "\"confer_key\" (1 to %d)", v,
                               ATTEST_MAX_GPUS);
            return NGX_ERROR;
        }

        tmcf->gpu = ATTEST_GPU_SOURCE_SIMULATED;
        tmcf->gpu_count = n;
        return NGX_OK;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"confer_key\" "
                           "(gpu=command:PATH, gpu=unix:PATH or "
                           "gpu=simulated[:N])", v);
        return NGX_ERROR;
    }

    /* run while the configuration is read: no search path, no surprise */
    if (tmcf->gpu_path.data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" in \"confer_key\" needs an absolute "
                           "path", v);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static char *
ngx_http_confer_attestation(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_confer_term_loc_conf_t  *tlcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (tlcf->attestation) {
        return "is duplicate";
    }

    tlcf->attestation = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_confer_attestation_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_confer_open(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_confer_term_loc_conf_t  *tlcf = conf;

    ssize_t       n;
    ngx_str_t    *value, s, *e;
    ngx_uint_t    i, j, k;
    ngx_array_t  *a;

    if (tlcf->open != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    tlcf->open = 1;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "allow=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            a = ngx_http_confer_term_list(cf, &s);
            if (a == NULL) {
                goto invalid;
            }

            e = a->elts;

            for (j = 0; j < a->nelts; j++) {
                if (e[j].data[0] != '/') {
                    goto invalid;
                }

                for (k = 0; k < e[j].len; k++) {
                    if (e[j].data[k] == '*' && k != e[j].len - 1) {
                        goto invalid;
                    }

                    if (e[j].data[k] == '%' || e[j].data[k] == '?') {
                        goto invalid;
                    }
                }
            }

            tlcf->allow = a;
            continue;
        }

        if (ngx_strncmp(value[i].data, "headers=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            a = ngx_http_confer_term_list(cf, &s);
            if (a == NULL) {
                goto invalid;
            }

            e = a->elts;

            for (j = 0; j < a->nelts; j++) {
                ngx_strlow(e[j].data, e[j].data, e[j].len);

                for (k = 0; k < e[j].len; k++) {
                    if (!(e[j].data[k] == '-'
                          || (e[j].data[k] >= 'a' && e[j].data[k] <= 'z')
                          || (e[j].data[k] >= '0' && e[j].data[k] <= '9')))
                    {
                        goto invalid;
                    }
                }

                /* hop-by-hop and framing fields are nginx's own */
                if (ngx_strcmp(e[j].data, "host") == 0
                    || ngx_strncmp(e[j].data, "content-length", 14) == 0
                    || ngx_strncmp(e[j].data, "transfer-encoding", 17) == 0
                    || ngx_strncmp(e[j].data, "connection", 10) == 0)
                {
                    goto invalid;
                }
            }

            tlcf->headers = a;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_body=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            tlcf->max_body = ngx_parse_offset(&s);
            if (tlcf->max_body == NGX_ERROR || tlcf->max_body < 64) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "pad=", 4) == 0) {
            n = ngx_atosz(value[i].data + 4, value[i].len - 4);
            if (n == NGX_ERROR || n > 65536) {
                goto invalid;
            }

            tlcf->pad = n;
            continue;
        }

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"confer_open\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_confer_coalesce(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_confer_term_loc_conf_t  *tlcf = conf;

    ngx_str_t   *value;
    ngx_msec_t   ms;

    if (tlcf->coalesce != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        tlcf->coalesce = 0;
        return NGX_CONF_OK;
    }

    ms = ngx_parse_time(&value[1], 0);

    if (ms == (ngx_msec_t) NGX_ERROR
        || ms > NGX_HTTP_CONFER_COALESCE_MAX_WINDOW)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" (off, or a "
                           "time up to %Mms)", &value[1], &cmd->name,
                           (ngx_msec_t) NGX_HTTP_CONFER_COALESCE_MAX_WINDOW);
        return NGX_CONF_ERROR;
    }

    tlcf->coalesce = ms;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_confer_term_init_process(ngx_cycle_t *cycle)
{
    ngx_http_confer_term_main_conf_t  *tmcf;

    tmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                            ngx_http_confer_terminator_module);

    if (tmcf == NULL || tmcf->evidence == 0 || tmcf->keys == NULL) {
        return NGX_OK;
    }

    return ngx_http_confer_keys_init_process(cycle, tmcf);
}
