
/*
 * ngx_confer_module: the common module.
 *
 * Holds what both roles share: the privacy discipline (client address
 * pseudonyms, redacted error log) and the $confer_* variables.  This file
 * is the directives and their configuration; the mechanics of
 * confer_private are in ngx_http_confer_privacy.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_confer_module.h"

#include "confer_hpke.h"
#include "attest.h"

#if (NGX_LINUX) && defined(__GLIBC__)
#include <malloc.h>
#define NGX_HTTP_CONFER_HEAP_TUNING  1
#endif


#define NGX_HTTP_CONFER_PRIVACY_PERIOD  86400

/* glibc takes at most this as M_MMAP_THRESHOLD on 64-bit systems */
#define NGX_HTTP_CONFER_HEAP_MMAP_MAX   (32 * 1024 * 1024)

/* confer_heap_keep auto, written out (unset is auto too) */
#define NGX_HTTP_CONFER_HEAP_AUTO       (NGX_CONF_UNSET_SIZE - 1)

/* below this, auto leaves glibc's thresholds alone */
#define NGX_HTTP_CONFER_HEAP_AUTO_MIN   (1024 * 1024)


static char *ngx_http_confer_private(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_confer_heap_keep(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_confer_heap_init_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_confer_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_confer_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_confer_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_confer_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_confer_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_confer_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_confer_init_process(ngx_cycle_t *cycle);
static void ngx_http_confer_exit_process(ngx_cycle_t *cycle);
static void ngx_http_confer_exit_master(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_confer_commands[] = {

    /*
     * confer_private on | off [period=time] [debug_log=refuse|allow];
     *
     * on: the client address is replaced by a pseudonym when the
     * connection is accepted, before anything can log it: a keyed BLAKE2b
     * hash of the address, mapped into 240.0.0.0/4 for IPv4 clients and
     * into fd00::/8 for IPv6 clients, port 0.  $remote_addr,
     * $binary_remote_addr, the error log's "client:", X-Forwarded-For and
     * X-Real-IP built from them, limit_req and limit_conn all see the
     * pseudonym.  X-Forwarded-For, X-Real-IP and Forwarded sent by the
     * client are removed once realip (server level) has read them.
     * The error log loses query strings, the referrer and header values;
     * the access log sees the request line without its query string and
     * only a short allow-list of request headers.
     *
     * period=: the key rotates every period (default 1d, at least 1s):
     * the pseudonym of an address is stable within a period, across
     * workers and reloads, and unlinkable across periods.  The keys are
     * random, kept in shared memory and never written to disk.
     *
     * debug_log=allow: accept a debug level error log or debug_connection
     * (they print client addresses and every header); refused by default.
     *
     * Allowed at http and server level.  Addresses are replaced when a
     * connection is accepted, before its server is known, so all servers
     * sharing a listen port must agree on "on" and "period"; nginx -t
     * refuses a mixture.
     */
    { ngx_string("confer_private"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_1MORE,
      ngx_http_confer_private,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    /*
     * confer_heap_keep auto | off | size;
     *
     * A large request body is held whole by both roles, two or three
     * times over in the gateway (nginx's read buffer, the module's copy,
     * the sealed message).  With glibc's defaults those blocks are fresh
     * mappings, or the top of the heap given back to the kernel when they
     * are freed, so every large request faults its pages in again: that,
     * not the AEAD, was most of the cost of a 4 MiB body.  This keeps up
     * to size of freed heap per worker for the next request (glibc's
     * M_TRIM_THRESHOLD), and takes blocks of up to size, at most 32m,
     * from the heap (M_MMAP_THRESHOLD).  Everything the module frees is
     * wiped first.
     *
     * auto (the default): four times the largest body a location of
     * either role accepts (confer_max_body, confer_open max_body), set
     * only in a configuration where some location seals or opens, and
     * only from 1m up (below, glibc's thresholds serve as they are).
     * off: glibc's own behaviour.  Main level only: it is the worker's
     * allocator.  Without glibc it does nothing.
     */
    { ngx_string("confer_heap_keep"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_confer_heap_keep,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_confer_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_confer_postconfiguration,     /* postconfiguration */

    ngx_http_confer_create_main_conf,      /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_http_confer_create_srv_conf,       /* create server configuration */
    ngx_http_confer_merge_srv_conf,        /* merge server configuration */

    NULL,                                  /* create location configuration */
    ngx_http_confer_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_confer_module = {
    NGX_MODULE_V1,
    &ngx_http_confer_module_ctx,           /* module context */
    ngx_http_confer_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_confer_init_module,           /* init module */
    ngx_http_confer_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_confer_exit_process,          /* exit process */
    ngx_http_confer_exit_master,           /* exit master */
    NGX_MODULE_V1_PADDING
};


static char *
ngx_http_confer_private(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_confer_srv_conf_t *cscf = conf;

    u_char                          *p;
    time_t                           period;
    ngx_str_t                       *value, s;
    ngx_uint_t                       i;
    ngx_flag_t                       enable, debug_log;
    ngx_http_confer_privacy_conf_t  *pcf;

    pcf = &cscf->privacy;

    if (pcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "on") == 0) {
        enable = 1;

    } else if (ngx_strcmp(value[1].data, "off") == 0) {
        enable = 0;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be \"on\" or \"off\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    period = NGX_CONF_UNSET;
    debug_log = NGX_CONF_UNSET;

    for (i = 2; i < cf->args->nelts; i++) {

        if (!enable) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "parameter \"%V\" needs \"%V on\"",
                               &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        if (ngx_strncmp(value[i].data, "period=", 7) == 0) {

            s.len = value[i].len - 7;
            s.data = value[i].data + 7;

            period = ngx_parse_time(&s, 1);
            if (period == (time_t) NGX_ERROR || period < 1) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid period \"%V\" in \"%V\", "
                                   "it must be at least 1s", &value[i],
                                   &cmd->name);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "debug_log=", 10) == 0) {

            if (ngx_strcmp(&value[i].data[10], "allow") == 0) {
                debug_log = 1;

            } else if (ngx_strcmp(&value[i].data[10], "refuse") == 0) {
                debug_log = 0;

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in \"%V\", it must "
                                   "be \"debug_log=refuse\" or "
                                   "\"debug_log=allow\"", &value[i],
                                   &cmd->name);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"%V\"",
                           &value[i], &cmd->name);
        return NGX_CONF_ERROR;
    }

    pcf->enable = enable;
    pcf->period = period;
    pcf->debug_log = debug_log;

    p = ngx_pnalloc(cf->pool, cf->conf_file->file.name.len + NGX_INT_T_LEN
                              + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    pcf->where.data = p;
    pcf->where.len = ngx_sprintf(p, "%V:%ui", &cf->conf_file->file.name,
                                 cf->conf_file->line)
                     - p;

    return NGX_CONF_OK;
}


static char *
ngx_http_confer_heap_keep(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_confer_main_conf_t *cmcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (cmcf->heap_keep != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "auto") == 0) {
        cmcf->heap_keep = NGX_HTTP_CONFER_HEAP_AUTO;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[1].data, "off") == 0) {
        cmcf->heap_keep = 0;
        return NGX_CONF_OK;
    }

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR || size < 128 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, it "
                           "must be \"auto\", \"off\" or a size of at least "
                           "128k", &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    cmcf->heap_keep = size;

    return NGX_CONF_OK;
}


void
ngx_http_confer_ignore_x_accel(ngx_conf_t *cf)
{
    ngx_uint_t                 i, k;
    ngx_module_t              *m;
    ngx_http_conf_ctx_t       *ctx;
    ngx_http_upstream_conf_t  *ucf;

    /*
     * The modules are found by name: a dynamic module cannot name those
     * the binary may have been built without.  The location configuration
     * of each of these begins with its ngx_http_upstream_conf_t.
     */
    static const char  *names[] = {
        "ngx_http_proxy_module",
        "ngx_http_fastcgi_module",
        "ngx_http_uwsgi_module",
        "ngx_http_scgi_module",
        "ngx_http_grpc_module",
        "ngx_http_memcached_module"
    };

    ctx = cf->ctx;

    for (i = 0; cf->cycle->modules[i]; i++) {
        m = cf->cycle->modules[i];

        if (m->type != NGX_HTTP_MODULE) {
            continue;
        }

        for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            if (ngx_strcmp(m->name, names[k]) == 0) {
                break;
            }
        }

        if (k == sizeof(names) / sizeof(names[0])) {
            continue;
        }

        ucf = ctx->loc_conf[m->ctx_index];

        if (ucf) {
            ucf->ignore_headers |= NGX_HTTP_CONFER_IGN_XA;
        }
    }
}


void
ngx_http_confer_heap_note(ngx_conf_t *cf, size_t body)
{
    ngx_http_confer_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_confer_module);

    cmcf->heap_body = ngx_max(cmcf->heap_body, body);
}


static ngx_int_t
ngx_http_confer_postconfiguration(ngx_conf_t *cf)
{
    return ngx_http_confer_privacy_postconfiguration(cf);
}


static void *
ngx_http_confer_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_confer_main_conf_t  *cmcf;

    cmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_confer_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     cmcf->privacy.shm_zone = NULL;
     *     cmcf->privacy.sh = NULL;
     *     cmcf->privacy.periods = { 0 };
     *     cmcf->privacy.nperiods = 0;
     *     cmcf->privacy.refuse_debug = { 0, NULL };
     *     cmcf->privacy.main_log_users = NULL;
     *     cmcf->heap_body = 0;
     */

    cmcf->heap_keep = NGX_CONF_UNSET_SIZE;

    return cmcf;
}


static void *
ngx_http_confer_create_srv_conf(ngx_conf_t *cf)
{
    ngx_http_confer_srv_conf_t  *cscf;

    cscf = ngx_pcalloc(cf->pool, sizeof(ngx_http_confer_srv_conf_t));
    if (cscf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     cscf->privacy.where = { 0, NULL };
     *     cscf->privacy.main = NULL;
     */

    cscf->privacy.enable = NGX_CONF_UNSET;
    cscf->privacy.period = NGX_CONF_UNSET;
    cscf->privacy.debug_log = NGX_CONF_UNSET;

    return cscf;
}


static char *
ngx_http_confer_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_confer_srv_conf_t *prev = parent;
    ngx_http_confer_srv_conf_t *conf = child;

    ngx_http_confer_main_conf_t  *cmcf;

    ngx_conf_merge_value(conf->privacy.enable, prev->privacy.enable, 0);
    ngx_conf_merge_sec_value(conf->privacy.period, prev->privacy.period,
                             NGX_HTTP_CONFER_PRIVACY_PERIOD);
    ngx_conf_merge_value(conf->privacy.debug_log, prev->privacy.debug_log,
                         0);

    if (conf->privacy.where.data == NULL) {
        conf->privacy.where = prev->privacy.where;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_confer_module);

    return ngx_http_confer_privacy_merge_srv(cf, &cmcf->privacy,
                                             &prev->privacy, &conf->privacy);
}


/*
 * There is no location configuration: this only gives confer_private a
 * look at the error_log of every location (core's merge has run already).
 */

static char *
ngx_http_confer_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    return ngx_http_confer_privacy_merge_loc(cf);
}


static ngx_int_t
ngx_http_confer_init_module(ngx_cycle_t *cycle)
{
    return ngx_http_confer_privacy_init_module(cycle);
}


static ngx_int_t
ngx_http_confer_init_process(ngx_cycle_t *cycle)
{
    ngx_http_confer_heap_init_process(cycle);

    return ngx_http_confer_privacy_init_process(cycle);
}


/* confer_heap_keep in a worker: glibc's thresholds, nothing else */
static void
ngx_http_confer_heap_init_process(ngx_cycle_t *cycle)
{
#if (NGX_HTTP_CONFER_HEAP_TUNING)

    size_t                        keep, direct;
    ngx_http_confer_main_conf_t  *cmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return;
    }

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_confer_module);

    if (cmcf == NULL || cmcf->heap_keep == 0) {
        return;
    }

    if (cmcf->heap_keep < NGX_HTTP_CONFER_HEAP_AUTO) {
        keep = cmcf->heap_keep;

    } else if (cmcf->heap_body) {
        /* auto: no more than a worker's address space can mean */
        keep = ngx_min(cmcf->heap_body, (size_t) 1 << 40) * 4;

        if (keep < NGX_HTTP_CONFER_HEAP_AUTO_MIN) {
            /*
             * small bodies: glibc's own thresholds (128k and up, adjusted
             * to what is freed) serve them; lower ones would send every
             * block above them to mmap()
             */
            return;
        }

    } else {
        /* auto, and no location holds a body: glibc's defaults stay */
        return;
    }

    direct = ngx_min(keep, NGX_HTTP_CONFER_HEAP_MMAP_MAX);

    /* each disables glibc's own adjustment of both thresholds */
    if (mallopt(M_MMAP_THRESHOLD, (int) direct) != 1
        || mallopt(M_TRIM_THRESHOLD, (int) ngx_min(keep, NGX_MAX_INT32_VALUE))
           != 1)
    {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "confer_heap_keep: glibc refused the thresholds "
                      "(%uz, %uz), its defaults apply", direct, keep);
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                   "confer heap: keep %uz, from the heap up to %uz",
                   keep, direct);

#endif
}


static void
ngx_http_confer_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_confer_privacy_exit_process(cycle);

    /*
     * The module is unloaded with the cycle's pool: what the libraries
     * cache in its globals would be lost memory, so it is freed here.
     */

    confer_hpke_library_cleanup();
    attest_cleanup();
}


static void
ngx_http_confer_exit_master(ngx_cycle_t *cycle)
{
    confer_hpke_library_cleanup();
    attest_cleanup();
}


/*
 * A whole response of the module's own (an error, a document, a status):
 * the status, the type and the length of "out", then the header and the
 * body.  A HEAD request or an empty body gets the header only.
 */

ngx_int_t
ngx_http_confer_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_chain_t *out)
{
    off_t         len;
    ngx_int_t     rc;
    ngx_chain_t  *cl;

    len = 0;

    for (cl = out; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    if (len == 0 || r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/* the same for n bytes at p that live as long as the request */

ngx_int_t
ngx_http_confer_send_memory(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, u_char *p, size_t n)
{
    ngx_buf_t    *b;
    ngx_chain_t   out;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = p;
    b->last = p + n;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_confer_send(r, status, type, &out);
}


/* a chain link with a buffer that holds nothing, for its flags */

ngx_chain_t *
ngx_http_confer_empty_buf(ngx_pool_t *pool)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_calloc_buf(pool);
    if (b == NULL) {
        return NULL;
    }

    cl = ngx_alloc_chain_link(pool);
    if (cl == NULL) {
        return NULL;
    }

    cl->buf = b;
    cl->next = NULL;

    return cl;
}
