
/*
 * ngx_confer_module: confer_private, the privacy discipline.
 *
 * - Address: the listening sockets' handler is wrapped, so a connection's
 *   address is replaced by a pseudonym in place (c->sockaddr and
 *   c->addr_text, as realip does) before ngx_http_init_connection() runs
 *   and before anything can log it.  The pseudonym is a keyed BLAKE2b of
 *   the address; the key is random, one per rotation period, and lives in
 *   shared memory.  realip at server level still sees the real peer for
 *   its trust check: the POST_READ phase is bracketed by an unmask and a
 *   mask handler, and whatever realip puts on the connection is masked in
 *   turn.
 * - Error log: every error log a private server can write to (a copy of
 *   the main one: stream{}, mail{} and the master keep theirs) gets a
 *   writer that rebuilds the text nginx appends to a line (client, server,
 *   request, upstream, host, referrer) without query strings or the
 *   referrer, and blanks what the client sent in "client sent ..." lines.
 *   A writer, not the connection's log handler, because nginx resets that
 *   handler for every keepalive request.
 * - Access log: a LOG phase handler that runs before the log module
 *   scrubs the request line, the query, the request headers (all but an
 *   allow-list), the body and every cached variable.
 * - nginx -t: refuses debug logging with confer_private unless allowed,
 *   and a listen port shared by servers that disagree on it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sodium.h>

#include "ngx_http_confer_module.h"


#define NGX_HTTP_CONFER_PRIVACY_KEY_LEN  crypto_generichash_KEYBYTES
#define NGX_HTTP_CONFER_PRIVACY_HASH_LEN  16


/* the key of one rotation period */
typedef struct {
    time_t                              period;    /* 0: unused */
    time_t                              epoch;     /* time / period */
    u_char                              key[NGX_HTTP_CONFER_PRIVACY_KEY_LEN];
} ngx_http_confer_privacy_key_t;


struct ngx_http_confer_privacy_shctx_s {
    ngx_http_confer_privacy_key_t       keys[NGX_HTTP_CONFER_PRIVACY_SLOTS];
};


/* a private connection: the data of a cleanup of c->pool */
typedef struct {
    ngx_connection_t                   *connection;
    ngx_http_confer_privacy_conf_t     *conf;

    /* c->sockaddr, masked in place; NULL for unix sockets */
    struct sockaddr                    *sockaddr;
    socklen_t                           socklen;
    u_char                             *text;      /* c->addr_text.data */

    ngx_sockaddr_t                      real;
    ngx_sockaddr_t                      pseudonym;

    /* the PROXY protocol source address */
    ngx_str_t                           pp_real;
    in_port_t                           pp_real_port;
    ngx_str_t                           pp_pseudonym;

    unsigned                            unmasked:1;
    unsigned                            pp_masked:1;
    unsigned                            pp_unmasked:1;
} ngx_http_confer_privacy_conn_t;


/* the address realip put on a request, masked: data of an r->pool cleanup */
typedef struct {
    struct sockaddr                    *sockaddr;
} ngx_http_confer_privacy_req_t;


/* the log object a writer was installed on, and what it replaced */
typedef struct {
    ngx_log_t                          *log;
    ngx_log_writer_pt                   writer;
    void                               *wdata;
} ngx_http_confer_privacy_wdata_t;


static ngx_int_t ngx_http_confer_privacy_check_ports(ngx_conf_t *cf);
static ngx_int_t ngx_http_confer_privacy_check_logs(ngx_cycle_t *cycle,
    ngx_http_confer_privacy_main_conf_t *pmcf, ngx_uint_t final);
static ngx_uint_t ngx_http_confer_privacy_log_is_debug(ngx_log_t *log);
static ngx_int_t ngx_http_confer_privacy_add_handler(
    ngx_http_core_main_conf_t *cmcf, ngx_uint_t phase,
    ngx_http_handler_pt handler, ngx_uint_t first);
static ngx_int_t ngx_http_confer_privacy_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);

static u_char *ngx_http_confer_privacy_key(
    ngx_http_confer_privacy_main_conf_t *pmcf, time_t period);
static ngx_int_t ngx_http_confer_privacy_pseudonym(
    ngx_http_confer_privacy_conf_t *pcf, struct sockaddr *sa,
    socklen_t socklen, ngx_sockaddr_t *ps);

static ngx_http_confer_privacy_conf_t *ngx_http_confer_privacy_listening_conf(
    ngx_listening_t *ls);
static void ngx_http_confer_privacy_init_connection(ngx_connection_t *c);
static ngx_int_t ngx_http_confer_privacy_mask_connection(ngx_connection_t *c,
    ngx_http_confer_privacy_conf_t *pcf);
static void ngx_http_confer_privacy_conn_cleanup(void *data);
static ngx_http_confer_privacy_conn_t *ngx_http_confer_privacy_conn(
    ngx_connection_t *c, ngx_http_request_t *r);
static ngx_http_confer_privacy_conn_t *ngx_http_confer_privacy_request_conn(
    ngx_http_request_t *r);

static ngx_int_t ngx_http_confer_privacy_unmask_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_confer_privacy_post_read_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_confer_privacy_preaccess_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_confer_privacy_log_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_confer_privacy_realip(ngx_http_request_t *r);
static ngx_int_t ngx_http_confer_privacy_remask(ngx_http_request_t *r,
    ngx_http_confer_privacy_conn_t *pc);
static ngx_int_t ngx_http_confer_privacy_mask_proxy_protocol(
    ngx_connection_t *c, ngx_http_confer_privacy_conn_t *pc);
static void ngx_http_confer_privacy_req_cleanup(void *data);
static ngx_http_confer_privacy_req_t *ngx_http_confer_privacy_req(
    ngx_http_request_t *r, ngx_uint_t create);
static ngx_int_t ngx_http_confer_privacy_filter_headers(ngx_http_request_t *r,
    ngx_str_t *names, ngx_uint_t keep);
static ngx_uint_t ngx_http_confer_privacy_header_is(ngx_table_elt_t *h,
    ngx_str_t *names);
static void ngx_http_confer_privacy_scrub_headers(ngx_http_request_t *r);
static ngx_str_t ngx_http_confer_privacy_raw_request_line(
    ngx_http_request_t *r);
static u_char *ngx_http_confer_privacy_request_line(u_char *dst, u_char *last,
    u_char *src, size_t len);

static ngx_log_t *ngx_http_confer_privacy_copy_log(ngx_pool_t *pool,
    ngx_log_t *log);
static ngx_int_t ngx_http_confer_privacy_hook_log(ngx_pool_t *pool,
    ngx_log_t *log);
static void ngx_http_confer_privacy_log_writer(ngx_log_t *log,
    ngx_uint_t level, u_char *buf, size_t len);
static size_t ngx_http_confer_privacy_redact(ngx_log_t *log,
    ngx_http_confer_privacy_wdata_t *wd, u_char *buf, size_t len, u_char *out);
static u_char *ngx_http_confer_privacy_message(u_char *dst, u_char *last,
    u_char *msg, u_char *end, ngx_uint_t truncated);
static u_char *ngx_http_confer_privacy_suffix(u_char *dst, u_char *last,
    ngx_log_t *log, ngx_http_confer_privacy_conn_t *pc);
static u_char *ngx_http_confer_privacy_client(u_char *dst, u_char *last,
    ngx_connection_t *c, ngx_http_request_t *r,
    ngx_http_confer_privacy_conn_t *pc);
static u_char *ngx_http_confer_privacy_find(u_char *p, u_char *last,
    u_char *s, size_t n);
static void ngx_http_confer_privacy_write(ngx_log_t *log,
    ngx_http_confer_privacy_wdata_t *wd, ngx_uint_t level, u_char *buf,
    size_t len);


#if (NGX_HTTP_REALIP)
extern ngx_module_t  ngx_http_realip_module;
#endif


static ngx_str_t  ngx_http_confer_privacy_zone_name =
    ngx_string("confer_private");


/* request headers the access log may still see */
static ngx_str_t  ngx_http_confer_privacy_log_headers[] = {
    ngx_string("Host"),
    ngx_string("Connection"),
    ngx_string("Content-Length"),
    ngx_string("Content-Type"),
    ngx_string("Transfer-Encoding"),
    ngx_string("Accept"),
    ngx_string("Accept-Encoding"),
    ngx_string("Expect"),
    ngx_string("Incremental"),             /* chunked OHTTP */
    ngx_null_string
};


/* client-supplied addresses: removed after realip had a look */
static ngx_str_t  ngx_http_confer_privacy_forwarding_headers[] = {
    ngx_string("X-Forwarded-For"),
    ngx_string("X-Real-IP"),
    ngx_string("Forwarded"),
    ngx_null_string
};


/*
 * error log messages that quote what a client (or the upstream, echoing
 * it) sent: everything between their first and last quote is blanked
 */
static ngx_str_t  ngx_http_confer_privacy_quoting[] = {
    ngx_string("client "),                 /* client sent invalid header */
    ngx_string("user \""),                 /* auth_basic */
    ngx_string("\""),                      /* rewrite_log: "re" matches "v" */
    ngx_string("rewritten "),              /* rewrite_log */
    ngx_string("upstream sent "),
    ngx_string("broken header"),           /* PROXY protocol */
    ngx_null_string
};


/* this worker's copy of the current keys */
static ngx_http_confer_privacy_key_t
    ngx_http_confer_privacy_keys[NGX_HTTP_CONFER_PRIVACY_SLOTS];


/*
 * The last line the writer redacted.  ngx_log_error_core() hands the same
 * buffer to every log of a chain; only the first one, the connection's
 * copy, knows the request, so the others write what it made.
 */
static struct {
    u_char                             *buf;
    size_t                              len;
    uint32_t                            sum;
    size_t                              out;
    u_char                              line[NGX_MAX_ERROR_STR];
} ngx_http_confer_privacy_last;


char *
ngx_http_confer_privacy_merge_srv(ngx_conf_t *cf,
    ngx_http_confer_privacy_main_conf_t *pmcf,
    ngx_http_confer_privacy_conf_t *prev, ngx_http_confer_privacy_conf_t *conf)
{
    ngx_uint_t       i;
    ngx_shm_zone_t  *shm_zone;

    conf->main = pmcf;

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    if (!conf->debug_log && pmcf->refuse_debug.data == NULL) {
        pmcf->refuse_debug = conf->where;
    }

    for (i = 0; i < pmcf->nperiods; i++) {
        if (pmcf->periods[i] == conf->period) {
            break;
        }
    }

    if (i == pmcf->nperiods) {
        if (i == NGX_HTTP_CONFER_PRIVACY_SLOTS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "too many different \"confer_private\" "
                               "periods, at most %d",
                               NGX_HTTP_CONFER_PRIVACY_SLOTS);
            return NGX_CONF_ERROR;
        }

        pmcf->periods[pmcf->nperiods++] = conf->period;
    }

    if (pmcf->shm_zone == NULL) {
        shm_zone = ngx_shared_memory_add(cf,
                                         &ngx_http_confer_privacy_zone_name,
                                         8 * ngx_pagesize,
                                         &ngx_http_confer_module);
        if (shm_zone == NULL) {
            return NGX_CONF_ERROR;
        }

        shm_zone->init = ngx_http_confer_privacy_init_zone;
        shm_zone->data = pmcf;

        pmcf->shm_zone = shm_zone;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_confer_privacy_merge_loc(ngx_conf_t *cf)
{
    ngx_http_core_srv_conf_t             *cscf;
    ngx_http_core_loc_conf_t             *clcf, **clcfp;
    ngx_http_confer_srv_conf_t           *ccf;
    ngx_http_confer_privacy_main_conf_t  *pmcf;

    ccf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_confer_module);

    if (!ccf->privacy.enable) {
        return NGX_CONF_OK;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->error_log == NULL) {
        return NGX_CONF_OK;
    }

    if (clcf->error_log == &cf->cycle->new_log) {
        /*
         * The main error log is not complete yet, and stream{}, mail{} and
         * the master use it too: init_module gives these locations a
         * redacting copy of it.
         */

        pmcf = ccf->privacy.main;

        if (pmcf->main_log_users == NULL) {
            pmcf->main_log_users =
                ngx_array_create(cf->pool, 16,
                                 sizeof(ngx_http_core_loc_conf_t *));
            if (pmcf->main_log_users == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        clcfp = ngx_array_push(pmcf->main_log_users);
        if (clcfp == NULL) {
            return NGX_CONF_ERROR;
        }

        *clcfp = clcf;

        return NGX_CONF_OK;
    }

    if (!ccf->privacy.debug_log
        && ngx_http_confer_privacy_log_is_debug(clcf->error_log))
    {
        cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);

        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"error_log\" at debug level in server \"%V\"%s%V%s "
                      "conflicts with \"confer_private on\" (%V): debug "
                      "lines carry client addresses and headers; add "
                      "\"debug_log=allow\" to \"confer_private\" to accept "
                      "that", &cscf->server_name,
                      clcf->name.len ? ", location \"" : "", &clcf->name,
                      clcf->name.len ? "\"" : "", &ccf->privacy.where);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_confer_privacy_hook_log(cf->pool, clcf->error_log)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_confer_privacy_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_confer_main_conf_t  *ccmcf;

    ccmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_confer_module);

    if (ccmcf->privacy.nperiods == 0) {
        return NGX_OK;
    }

    if (sodium_init() < 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "confer_private: sodium_init() failed");
        return NGX_ERROR;
    }

    if (ngx_http_confer_privacy_check_ports(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the main log and events{} as far as they are parsed yet */
    if (ngx_http_confer_privacy_check_logs(cf->cycle, &ccmcf->privacy, 0)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * Handlers of a phase run last registered first, except in the LOG
     * phase.  The unmask handler runs first in POST_READ, the mask handler
     * last, so that realip sits between them; the LOG handler runs before
     * the log module.
     */

    if (ngx_http_confer_privacy_add_handler(cmcf, NGX_HTTP_POST_READ_PHASE,
                                ngx_http_confer_privacy_unmask_handler, 0)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_confer_privacy_add_handler(cmcf, NGX_HTTP_POST_READ_PHASE,
                                ngx_http_confer_privacy_post_read_handler, 1)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_confer_privacy_add_handler(cmcf, NGX_HTTP_PREACCESS_PHASE,
                                ngx_http_confer_privacy_preaccess_handler, 1)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_confer_privacy_add_handler(cmcf, NGX_HTTP_LOG_PHASE,
                                ngx_http_confer_privacy_log_handler, 1)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_confer_privacy_init_module(ngx_cycle_t *cycle)
{
    ngx_log_t                       *main_log;
    ngx_uint_t                       i;
    ngx_listening_t                 *ls;
    ngx_http_core_loc_conf_t       **clcfp;
    ngx_http_confer_privacy_conf_t  *pcf;
    ngx_http_confer_main_conf_t     *ccmcf;

    if (cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NGX_OK;
    }

    ccmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_confer_module);

    if (ccmcf == NULL || ccmcf->privacy.nperiods == 0) {
        return NGX_OK;
    }

    /* now the whole configuration is known */
    if (ngx_http_confer_privacy_check_logs(cycle, &ccmcf->privacy, 1)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    main_log = NULL;

    if (ccmcf->privacy.main_log_users) {

        main_log = ngx_http_confer_privacy_copy_log(cycle->pool,
                                                    &cycle->new_log);
        if (main_log == NULL
            || ngx_http_confer_privacy_hook_log(cycle->pool, main_log)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        clcfp = ccmcf->privacy.main_log_users->elts;

        for (i = 0; i < ccmcf->privacy.main_log_users->nelts; i++) {
            clcfp[i]->error_log = main_log;
        }
    }

    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {

        if (ls[i].handler != ngx_http_init_connection) {
            continue;
        }

        pcf = ngx_http_confer_privacy_listening_conf(&ls[i]);

        if (pcf == NULL || !pcf->enable) {
            continue;
        }

        ls[i].handler = ngx_http_confer_privacy_init_connection;

        /* as ngx_configure_listening_sockets(), which has run already */

        if (main_log && ls[i].logp == &cycle->new_log) {
            ls[i].logp = main_log;
        }

        if (ls[i].logp) {
            ls[i].log = *ls[i].logp;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_confer_privacy_init_process(ngx_cycle_t *cycle)
{
    /* keep this worker's copy of the keys out of swap and core dumps */
    (void) sodium_mlock(ngx_http_confer_privacy_keys,
                        sizeof(ngx_http_confer_privacy_keys));

    return NGX_OK;
}


void
ngx_http_confer_privacy_exit_process(ngx_cycle_t *cycle)
{
    ngx_explicit_memzero(ngx_http_confer_privacy_keys,
                         sizeof(ngx_http_confer_privacy_keys));
}


ngx_uint_t
ngx_http_confer_privacy_enabled(ngx_http_request_t *r)
{
    ngx_http_confer_srv_conf_t  *ccf;

    ccf = ngx_http_get_module_srv_conf(r, ngx_http_confer_module);

    return ccf->privacy.enable ? 1 : 0;
}


/*
 * Addresses are replaced when a connection is accepted, before the virtual
 * server is known: all servers of a listen port must agree.
 */

static ngx_int_t
ngx_http_confer_privacy_check_ports(ngx_conf_t *cf)
{
    ngx_uint_t                       p, a, s;
    ngx_http_conf_port_t            *port;
    ngx_http_conf_addr_t            *addr;
    ngx_http_core_srv_conf_t       **cscfp, *first;
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_confer_srv_conf_t      *ccf;
    ngx_http_confer_privacy_conf_t  *pcf, *fpcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    if (cmcf->ports == NULL) {
        return NGX_OK;
    }

    port = cmcf->ports->elts;

    for (p = 0; p < cmcf->ports->nelts; p++) {

        first = NULL;
        fpcf = NULL;

        addr = port[p].addrs.elts;

        for (a = 0; a < port[p].addrs.nelts; a++) {

            cscfp = addr[a].servers.elts;

            for (s = 0; s < addr[a].servers.nelts; s++) {

                ccf = ngx_http_get_module_srv_conf(cscfp[s]->ctx,
                                                   ngx_http_confer_module);
                pcf = &ccf->privacy;

                if (first == NULL) {
                    first = cscfp[s];
                    fpcf = pcf;
                    continue;
                }

                if (pcf->enable == fpcf->enable
                    && (!pcf->enable || pcf->period == fpcf->period))
                {
                    continue;
                }

                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "\"confer_private\" differs between servers "
                              "\"%V\" and \"%V\" that listen on %V (%V): "
                              "client addresses are replaced when a "
                              "connection is accepted, before its server "
                              "is known, so every server on a port needs "
                              "the same \"confer_private\" and \"period\"",
                              &first->server_name, &cscfp[s]->server_name,
                              &addr[a].opt.addr_text,
                              fpcf->enable ? &fpcf->where : &pcf->where);
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/*
 * Debian's nginx is built --with-debug: a debug error log or
 * debug_connection prints the client address, every request header and
 * the proxied header block.
 */

static ngx_int_t
ngx_http_confer_privacy_check_logs(ngx_cycle_t *cycle,
    ngx_http_confer_privacy_main_conf_t *pmcf, ngx_uint_t final)
{
    char              *what;
    ngx_log_t         *log;
    ngx_uint_t         i;
    ngx_listening_t   *ls;
#if (NGX_DEBUG)
    void            ***ctx;
    ngx_event_conf_t  *ecf;
#endif

    if (pmcf->refuse_debug.data == NULL) {
        /* every private server said debug_log=allow */
        return NGX_OK;
    }

    what = NULL;

    if (ngx_http_confer_privacy_log_is_debug(&cycle->new_log)) {
        what = "the main \"error_log\" is at debug level, which conflicts";
    }

#if (NGX_DEBUG)

    ecf = NULL;
    ctx = (void ***) ngx_get_conf(cycle->conf_ctx, ngx_events_module);

    if (ctx && *ctx) {
        ecf = (*ctx)[ngx_event_core_module.ctx_index];
    }

    if (what == NULL && ecf && ecf->debug_connection.nelts) {
        what = "\"debug_connection\" conflicts";
    }

#endif

    if (what == NULL) {
        return NGX_OK;
    }

    if (!final || ngx_test_config || ngx_is_init_cycle(cycle->old_cycle)) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "%s with \"confer_private on\" (%V): debug lines "
                      "carry client addresses and headers; add "
                      "\"debug_log=allow\" to \"confer_private\" to accept "
                      "that", what, &pmcf->refuse_debug);
        return NGX_ERROR;
    }

    /*
     * A reload found it only now (the directive is after http{}): failing
     * here would end the master process, so turn debugging off instead.
     */

    for (log = &cycle->new_log; log; log = log->next) {
        if ((log->log_level & ~NGX_LOG_DEBUG_CONNECTION) >= NGX_LOG_DEBUG) {
            log->log_level = NGX_LOG_INFO;
        }
    }

#if (NGX_DEBUG)
    if (ecf) {
        ecf->debug_connection.nelts = 0;
    }
#endif

    /* the listening sockets' copies of their logs are made already */

    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].logp) {
            ls[i].log.log_level = ls[i].logp->log_level;
        }
    }

    ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                  "%s with \"confer_private on\" (%V): debug logging is "
                  "off; add \"debug_log=allow\" to \"confer_private\" to "
                  "accept it", what, &pmcf->refuse_debug);

    return NGX_OK;
}


static ngx_uint_t
ngx_http_confer_privacy_log_is_debug(ngx_log_t *log)
{
    for ( /* void */ ; log; log = log->next) {

        /* "debug" is NGX_LOG_DEBUG_ALL, "debug_http" and such set a bit */
        if ((log->log_level & ~NGX_LOG_DEBUG_CONNECTION) >= NGX_LOG_DEBUG) {
            return 1;
        }
    }

    return 0;
}


/* first: the handler goes to index 0 (NGINX-MECHANICS.md 2(v)) */

static ngx_int_t
ngx_http_confer_privacy_add_handler(ngx_http_core_main_conf_t *cmcf,
    ngx_uint_t phase, ngx_http_handler_pt handler, ngx_uint_t first)
{
    ngx_array_t          *a;
    ngx_http_handler_pt  *h;

    a = &cmcf->phases[phase].handlers;

    h = ngx_array_push(a);
    if (h == NULL) {
        return NGX_ERROR;
    }

    if (first) {
        h = a->elts;
        ngx_memmove(&h[1], &h[0],
                    (a->nelts - 1) * sizeof(ngx_http_handler_pt));
    }

    *h = handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_confer_privacy_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_confer_privacy_main_conf_t  *opmcf = data;

    ngx_uint_t                            i, j;
    ngx_slab_pool_t                      *shpool;
    ngx_http_confer_privacy_key_t        *k;
    ngx_http_confer_privacy_main_conf_t  *pmcf;

    pmcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (opmcf) {
        /* a reload: keep the keys, forget those of unused periods */

        pmcf->sh = opmcf->sh;

        ngx_shmtx_lock(&shpool->mutex);

        for (i = 0; i < NGX_HTTP_CONFER_PRIVACY_SLOTS; i++) {
            k = &pmcf->sh->keys[i];

            for (j = 0; j < pmcf->nperiods; j++) {
                if (k->period == pmcf->periods[j]) {
                    break;
                }
            }

            if (j == pmcf->nperiods) {
                ngx_explicit_memzero(k, sizeof(ngx_http_confer_privacy_key_t));
            }
        }

        ngx_shmtx_unlock(&shpool->mutex);

        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        pmcf->sh = shpool->data;
        return NGX_OK;
    }

    pmcf->sh = ngx_slab_alloc(shpool, sizeof(ngx_http_confer_privacy_shctx_t));
    if (pmcf->sh == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(pmcf->sh, sizeof(ngx_http_confer_privacy_shctx_t));

    shpool->data = pmcf->sh;

    /* keep the keys out of swap and core dumps */
    if (sodium_mlock(shm_zone->shm.addr, shm_zone->shm.size) != 0) {
        ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, ngx_errno,
                      "confer_private: mlock() of the key zone failed, "
                      "the keys may reach swap");
    }

    return NGX_OK;
}


/*
 * The key of the current period: random, made by the first worker that
 * needs it, the same for every worker, replaced when the period ends.
 */

static u_char *
ngx_http_confer_privacy_key(ngx_http_confer_privacy_main_conf_t *pmcf,
    time_t period)
{
    time_t                          epoch;
    ngx_uint_t                      i;
    ngx_slab_pool_t                *shpool;
    ngx_http_confer_privacy_key_t  *k, *slot, *sk, *free;

    epoch = ngx_time() / period;

    slot = NULL;

    for (i = 0; i < NGX_HTTP_CONFER_PRIVACY_SLOTS; i++) {
        k = &ngx_http_confer_privacy_keys[i];

        if (k->period == period) {

            /* another worker may have moved on a moment earlier */
            if (k->epoch >= epoch) {
                return k->key;
            }

            slot = k;
            break;
        }

        if (slot == NULL && k->period == 0) {
            slot = k;
        }
    }

    if (slot == NULL) {
        slot = &ngx_http_confer_privacy_keys[0];
    }

    if (pmcf->sh == NULL) {
        return NULL;
    }

    shpool = (ngx_slab_pool_t *) pmcf->shm_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    sk = NULL;
    free = NULL;

    for (i = 0; i < NGX_HTTP_CONFER_PRIVACY_SLOTS; i++) {
        k = &pmcf->sh->keys[i];

        if (k->period == period) {
            sk = k;
            break;
        }

        if (free == NULL && k->period == 0) {
            free = k;
        }
    }

    if (sk == NULL) {
        sk = free;
    }

    if (sk == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NULL;
    }

    if (sk->period != period || sk->epoch < epoch) {
        /* the old key is overwritten: past pseudonyms cannot be redone */
        randombytes_buf(sk->key, NGX_HTTP_CONFER_PRIVACY_KEY_LEN);
        sk->period = period;
        sk->epoch = epoch;
    }

    ngx_memcpy(slot, sk, sizeof(ngx_http_confer_privacy_key_t));

    ngx_shmtx_unlock(&shpool->mutex);

    return slot->key;
}


/*
 * The pseudonym keeps the address family, so $binary_remote_addr keeps
 * its size and limit_req zones their capacity:
 *
 * IPv4: 240.0.0.0/4 (reserved, RFC 1112 4; never a real peer) plus 28 bits
 *   of the hash.  Two addresses collide with probability 2^-28 per pair
 *   (about one pair among 16000 clients in one period): they then share
 *   limit_req buckets and look like one client in the logs, which costs
 *   fairness, not privacy.  255.255.255.255 is avoided.
 * IPv6: fd00::/8 (unique local, RFC 4193 3.1) plus 120 bits of the hash:
 *   no collisions in practice.
 * Port 0: a source port and a time can be matched against NAT logs.
 * Unix sockets have no address and are left alone.
 */

static ngx_int_t
ngx_http_confer_privacy_pseudonym(ngx_http_confer_privacy_conf_t *pcf,
    struct sockaddr *sa, socklen_t socklen, ngx_sockaddr_t *ps)
{
    u_char               *key, in[1 + 16], h[NGX_HTTP_CONFER_PRIVACY_HASH_LEN];
    size_t                n;
    uint32_t              v;
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    switch (sa->sa_family) {

    case AF_INET:
        if (socklen < (socklen_t) sizeof(struct sockaddr_in)) {
            return NGX_DECLINED;
        }

        sin = (struct sockaddr_in *) sa;
        in[0] = 4;
        ngx_memcpy(&in[1], &sin->sin_addr, 4);
        n = 1 + 4;
        break;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        if (socklen < (socklen_t) sizeof(struct sockaddr_in6)) {
            return NGX_DECLINED;
        }

        sin6 = (struct sockaddr_in6 *) sa;
        in[0] = 6;
        ngx_memcpy(&in[1], &sin6->sin6_addr, 16);
        n = 1 + 16;
        break;
#endif

    default:
        return NGX_DECLINED;
    }

    key = ngx_http_confer_privacy_key(pcf->main, pcf->period);
    if (key == NULL) {
        return NGX_ERROR;
    }

    /* RFC 7693: BLAKE2b with a key is a PRF */
    if (crypto_generichash(h, sizeof(h), in, n, key,
                           NGX_HTTP_CONFER_PRIVACY_KEY_LEN)
        != 0)
    {
        return NGX_ERROR;
    }

    ngx_explicit_memzero(in, sizeof(in));

    ngx_memzero(ps, sizeof(ngx_sockaddr_t));

    switch (sa->sa_family) {

#if (NGX_HAVE_INET6)
    case AF_INET6:
        ps->sockaddr_in6.sin6_family = AF_INET6;
        ps->sockaddr_in6.sin6_addr.s6_addr[0] = 0xfd;
        ngx_memcpy(&ps->sockaddr_in6.sin6_addr.s6_addr[1], h, 15);
        break;
#endif

    default: /* AF_INET */
        v = ((uint32_t) h[0] << 24 | (uint32_t) h[1] << 16
             | (uint32_t) h[2] << 8 | h[3])
            & 0x0fffffff;
        v |= 0xf0000000;

        if (v == 0xffffffff) {
            v = 0xfffffffe;
        }

        ps->sockaddr_in.sin_family = AF_INET;
        ps->sockaddr_in.sin_addr.s_addr = htonl(v);
        break;
    }

    return NGX_OK;
}


/* the setting of the default server of a listening socket */

static ngx_http_confer_privacy_conf_t *
ngx_http_confer_privacy_listening_conf(ngx_listening_t *ls)
{
    ngx_http_port_t             *port;
    ngx_http_in_addr_t          *addr;
    ngx_http_core_srv_conf_t    *cscf;
    ngx_http_confer_srv_conf_t  *ccf;
#if (NGX_HAVE_INET6)
    ngx_http_in6_addr_t         *addr6;
#endif

    port = ls->servers;

    if (port == NULL || port->naddrs == 0) {
        return NULL;
    }

    switch (ls->sockaddr->sa_family) {

#if (NGX_HAVE_INET6)
    case AF_INET6:
        addr6 = port->addrs;
        cscf = addr6[0].conf.default_server;
        break;
#endif

    default: /* AF_INET, AF_UNIX */
        addr = port->addrs;
        cscf = addr[0].conf.default_server;
        break;
    }

    ccf = cscf->ctx->srv_conf[ngx_http_confer_module.ctx_index];

    return &ccf->privacy;
}


static void
ngx_http_confer_privacy_init_connection(ngx_connection_t *c)
{
    ngx_http_confer_privacy_conf_t  *pcf;

    pcf = ngx_http_confer_privacy_listening_conf(c->listening);

    if (pcf && pcf->enable
        && ngx_http_confer_privacy_mask_connection(c, pcf) != NGX_OK)
    {
        /* fail closed: no pseudonym, no connection */
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "confer_private: no pseudonym for a connection, "
                      "closing it");
        ngx_http_close_connection(c);
        return;
    }

    ngx_http_init_connection(c);
}


static ngx_int_t
ngx_http_confer_privacy_mask_connection(ngx_connection_t *c,
    ngx_http_confer_privacy_conf_t *pcf)
{
    size_t                           max;
    ngx_int_t                        rc;
    ngx_pool_cleanup_t              *cln;
    ngx_http_confer_privacy_conn_t  *pc;

    cln = ngx_pool_cleanup_add(c->pool,
                               sizeof(ngx_http_confer_privacy_conn_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    pc = cln->data;
    ngx_memzero(pc, sizeof(ngx_http_confer_privacy_conn_t));

    cln->handler = ngx_http_confer_privacy_conn_cleanup;

    pc->connection = c;
    pc->conf = pcf;

    if (c->socklen > (socklen_t) sizeof(ngx_sockaddr_t)) {
        return NGX_ERROR;
    }

    rc = ngx_http_confer_privacy_pseudonym(pcf, c->sockaddr, c->socklen,
                                           &pc->pseudonym);

    if (rc == NGX_DECLINED) {
        /* a unix socket: no address, but maybe a PROXY protocol header */
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memcpy(&pc->real, c->sockaddr, c->socklen);

    pc->sockaddr = c->sockaddr;
    pc->socklen = c->socklen;

    ngx_memcpy(c->sockaddr, &pc->pseudonym, c->socklen);

    /* the pseudonym has the family of the address: its text fits */

    if (c->addr_text.data) {
        ngx_explicit_memzero(c->addr_text.data, c->addr_text.len);
        max = c->listening->addr_text_max_len;

    } else {
        max = NGX_SOCKADDR_STRLEN;

        c->addr_text.data = ngx_pnalloc(c->pool, max);
        if (c->addr_text.data == NULL) {
            return NGX_ERROR;
        }
    }

    c->addr_text.len = ngx_sock_ntop(c->sockaddr, c->socklen,
                                     c->addr_text.data, max, 0);
    pc->text = c->addr_text.data;

    return NGX_OK;
}


static void
ngx_http_confer_privacy_conn_cleanup(void *data)
{
    ngx_http_confer_privacy_conn_t  *pc = data;

    ngx_explicit_memzero(&pc->real, sizeof(ngx_sockaddr_t));

    if (pc->pp_real.data) {
        ngx_explicit_memzero(pc->pp_real.data, pc->pp_real.len);
    }
}


/* the private state of a connection, or NULL if it is not private */

static ngx_http_confer_privacy_conn_t *
ngx_http_confer_privacy_conn(ngx_connection_t *c, ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

#if (NGX_HTTP_V2)
    if (r && r->stream) {
        /* a stream's fake connection: the state is on the real one */
        c = r->stream->connection->connection;
    }
#endif

    if (c == NULL || c->pool == NULL) {
        return NULL;
    }

    for (cln = c->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_confer_privacy_conn_cleanup) {
            return cln->data;
        }
    }

    return NULL;
}


static ngx_http_confer_privacy_conn_t *
ngx_http_confer_privacy_request_conn(ngx_http_request_t *r)
{
    ngx_http_confer_srv_conf_t  *ccf;

    ccf = ngx_http_get_module_srv_conf(r, ngx_http_confer_module);

    if (ccf == NULL || !ccf->privacy.enable) {
        return NULL;
    }

    return ngx_http_confer_privacy_conn(r->connection, r);
}


/*
 * POST_READ, first: give realip the real peer (and the real PROXY protocol
 * source) for its set_real_ip_from check.  c->addr_text stays masked.
 */

static ngx_int_t
ngx_http_confer_privacy_unmask_handler(ngx_http_request_t *r)
{
    ngx_connection_t                *c;
    ngx_http_confer_privacy_conn_t  *pc;

    pc = ngx_http_confer_privacy_request_conn(r);

    if (pc == NULL || !ngx_http_confer_privacy_realip(r)) {
        return NGX_DECLINED;
    }

    c = r->connection;

    if (pc->sockaddr && c->sockaddr == pc->sockaddr) {
        ngx_memcpy(pc->sockaddr, &pc->real, pc->socklen);
        pc->unmasked = 1;
    }

    if (c->proxy_protocol && pc->pp_masked) {
        c->proxy_protocol->src_addr = pc->pp_real;
        c->proxy_protocol->src_port = pc->pp_real_port;
        pc->pp_unmasked = 1;
    }

    return NGX_DECLINED;
}


/* POST_READ, last: mask again, and mask what realip found */

static ngx_int_t
ngx_http_confer_privacy_post_read_handler(ngx_http_request_t *r)
{
    ngx_http_confer_srv_conf_t      *ccf;
    ngx_http_confer_privacy_conn_t  *pc;

    ccf = ngx_http_get_module_srv_conf(r, ngx_http_confer_module);

    if (!ccf->privacy.enable) {
        return NGX_DECLINED;
    }

    pc = ngx_http_confer_privacy_conn(r->connection, r);

    if (pc && ngx_http_confer_privacy_remask(r, pc) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the client's own claims about addresses go no further */
    if (ngx_http_confer_privacy_filter_headers(r,
                                    ngx_http_confer_privacy_forwarding_headers,
                                    0)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

#if (NGX_HTTP_X_FORWARDED_FOR)
#if (nginx_version >= 1023000)
    r->headers_in.x_forwarded_for = NULL;
#else
    r->headers_in.x_forwarded_for.nelts = 0;
#endif
#endif

#if (NGX_HTTP_REALIP)
    r->headers_in.x_real_ip = NULL;
#endif

    return NGX_DECLINED;
}


/* PREACCESS, last: realip in a location runs in PREACCESS */

static ngx_int_t
ngx_http_confer_privacy_preaccess_handler(ngx_http_request_t *r)
{
    ngx_http_confer_privacy_conn_t  *pc;

    pc = ngx_http_confer_privacy_request_conn(r);

    if (pc == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_confer_privacy_remask(r, pc) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


/*
 * LOG, before the log module (also for requests that failed before any
 * phase ran, a 400 for instance): only the access log comes after this.
 */

static ngx_int_t
ngx_http_confer_privacy_log_handler(ngx_http_request_t *r)
{
    u_char                          *p, *q, *end;
    ngx_str_t                        line;
    ngx_http_variable_value_t       *vv;
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_confer_srv_conf_t      *ccf;
    ngx_http_confer_privacy_conn_t  *pc;

    ccf = ngx_http_get_module_srv_conf(r, ngx_http_confer_module);

    if (!ccf->privacy.enable) {
        return NGX_OK;
    }

    pc = ngx_http_confer_privacy_conn(r->connection, r);

    if (pc) {
        (void) ngx_http_confer_privacy_remask(r, pc);
    }

    /* $request */

    line = ngx_http_confer_privacy_raw_request_line(r);

    p = ngx_pnalloc(r->pool, line.len + 1);

    if (p) {
        end = ngx_http_confer_privacy_request_line(p, p + line.len,
                                                   line.data, line.len);
        r->request_line.len = end - p;
        r->request_line.data = p;

    } else {
        r->request_line.len = 0;
        r->request_line.data = (u_char *) "";
    }

    /* $request_uri, $args, $query_string, $arg_*, $is_args */

    q = r->unparsed_uri.data;

    if (q) {
        for (end = q + r->unparsed_uri.len; q < end; q++) {
            if (*q == '?' || *q == '#') {
                break;
            }
        }

        r->unparsed_uri.len = q - r->unparsed_uri.data;
    }

    ngx_str_null(&r->args);

    /* $http_*, $cookie_*, $remote_user, $proxy_add_x_forwarded_for */

    ngx_http_confer_privacy_scrub_headers(r);

    /* $request_body: the prompt */

    r->request_body = NULL;

    /*
     * Values computed earlier (for proxy_set_header, a map, ...) are cached
     * in r->variables; forget them so that the log recomputes them from
     * what is left.  Subrequests share the array with their parent.
     */

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    if (r == r->main) {
        ngx_memzero(r->variables, cmcf->variables.nelts
                                  * sizeof(ngx_http_variable_value_t));

    } else {
        vv = ngx_pcalloc(r->pool, cmcf->variables.nelts
                                  * sizeof(ngx_http_variable_value_t));
        if (vv) {
            r->variables = vv;
        }
    }

    return NGX_OK;
}


/*
 * realip's private configuration starts with "from", the
 * set_real_ip_from list: unmasking is pointless without it.
 */

static ngx_uint_t
ngx_http_confer_privacy_realip(ngx_http_request_t *r)
{
#if (NGX_HTTP_REALIP)
    ngx_array_t  **from;

    from = ngx_http_get_module_loc_conf(r, ngx_http_realip_module);

    return from != NULL && *from != NULL;
#else
    return 0;
#endif
}


static ngx_int_t
ngx_http_confer_privacy_remask(ngx_http_request_t *r,
    ngx_http_confer_privacy_conn_t *pc)
{
    u_char                          *text;
    size_t                           len;
    ngx_int_t                        rc;
    ngx_sockaddr_t                   ps;
    ngx_connection_t                *c;
    ngx_http_confer_privacy_req_t   *rq;

    c = r->connection;

    if (pc->unmasked) {
        ngx_memcpy(pc->sockaddr, &pc->pseudonym, pc->socklen);
        pc->unmasked = 0;
    }

    if (pc->pp_unmasked && c->proxy_protocol) {
        c->proxy_protocol->src_addr = pc->pp_pseudonym;
        c->proxy_protocol->src_port = 0;
        pc->pp_unmasked = 0;
    }

    if (c->proxy_protocol && !pc->pp_masked) {
        if (ngx_http_confer_privacy_mask_proxy_protocol(c, pc) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (c->sockaddr == pc->sockaddr
        || (c->sockaddr->sa_family != AF_INET
#if (NGX_HAVE_INET6)
            && c->sockaddr->sa_family != AF_INET6
#endif
           ))
    {
        return NGX_OK;
    }

    /* realip has put another address on the connection */

    rq = ngx_http_confer_privacy_req(r, 1);
    if (rq == NULL) {
        return NGX_ERROR;
    }

    if (rq->sockaddr == c->sockaddr) {
        return NGX_OK;
    }

    rc = ngx_http_confer_privacy_pseudonym(pc->conf, c->sockaddr, c->socklen,
                                           &ps);
    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    text = ngx_pnalloc(r->pool, NGX_SOCKADDR_STRLEN);
    if (text == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(c->sockaddr, &ps, c->socklen);

    len = ngx_sock_ntop(c->sockaddr, c->socklen, text, NGX_SOCKADDR_STRLEN, 0);

    if (c->addr_text.data && c->addr_text.data != pc->text) {
        /* realip's copy of the address text */
        ngx_explicit_memzero(c->addr_text.data, c->addr_text.len);
    }

    c->addr_text.len = len;
    c->addr_text.data = text;

    rq->sockaddr = c->sockaddr;

    return NGX_OK;
}


static ngx_int_t
ngx_http_confer_privacy_mask_proxy_protocol(ngx_connection_t *c,
    ngx_http_confer_privacy_conn_t *pc)
{
    u_char                *text;
    ngx_int_t              rc;
    ngx_addr_t             addr;
    ngx_pool_t            *pool;
    ngx_sockaddr_t         ps;
    ngx_proxy_protocol_t  *pp;

    pp = c->proxy_protocol;
    pool = pc->connection->pool;

    pc->pp_real = pp->src_addr;
    pc->pp_real_port = pp->src_port;

    ngx_str_null(&pc->pp_pseudonym);

    if (ngx_parse_addr(pool, &addr, pp->src_addr.data, pp->src_addr.len)
        == NGX_OK)
    {
        rc = ngx_http_confer_privacy_pseudonym(pc->conf, addr.sockaddr,
                                               addr.socklen, &ps);

        ngx_explicit_memzero(addr.sockaddr, addr.socklen);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_OK) {
            text = ngx_pnalloc(pool, NGX_SOCKADDR_STRLEN);
            if (text == NULL) {
                return NGX_ERROR;
            }

            pc->pp_pseudonym.len = ngx_sock_ntop(&ps.sockaddr, addr.socklen,
                                                 text, NGX_SOCKADDR_STRLEN,
                                                 0);
            pc->pp_pseudonym.data = text;
        }
    }

    if (pc->pp_pseudonym.data == NULL) {
        /* "PROXY UNKNOWN" or garbage: nothing to show */
        pc->pp_pseudonym.data = (u_char *) "";
    }

    pp->src_addr = pc->pp_pseudonym;
    pp->src_port = 0;

    pc->pp_masked = 1;

    return NGX_OK;
}


static void
ngx_http_confer_privacy_req_cleanup(void *data)
{
    ngx_http_confer_privacy_req_t  *rq = data;

    rq->sockaddr = NULL;
}


/* the request's own state, in a cleanup so that it survives redirects */

static ngx_http_confer_privacy_req_t *
ngx_http_confer_privacy_req(ngx_http_request_t *r, ngx_uint_t create)
{
    ngx_pool_cleanup_t             *cln;
    ngx_http_confer_privacy_req_t  *rq;

    if (r->pool == NULL) {
        return NULL;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_confer_privacy_req_cleanup) {
            return cln->data;
        }
    }

    if (!create) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_confer_privacy_req_t));
    if (cln == NULL) {
        return NULL;
    }

    rq = cln->data;
    rq->sockaddr = NULL;

    cln->handler = ngx_http_confer_privacy_req_cleanup;

    return rq;
}


/*
 * Rebuilds r->headers_in.headers with the headers named (keep) or all
 * but those (!keep): nginx 1.22 proxies every element of the list.  The
 * old elements stay where they are, for the pointers in r->headers_in.
 */

static ngx_int_t
ngx_http_confer_privacy_filter_headers(ngx_http_request_t *r,
    ngx_str_t *names, ngx_uint_t keep)
{
    ngx_uint_t        i, n, drop;
    ngx_list_t        list;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *e;

    n = 0;
    drop = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            n++;

            if (ngx_http_confer_privacy_header_is(&h[i], names) != keep) {
                drop++;
            }
        }
    }

    if (drop == 0) {
        return NGX_OK;
    }

    if (ngx_list_init(&list, r->pool, n - drop ? n - drop : 1,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {

            if (ngx_http_confer_privacy_header_is(&h[i], names) != keep) {
                continue;
            }

            e = ngx_list_push(&list);
            if (e == NULL) {
                return NGX_ERROR;
            }

            *e = h[i];
        }
    }

    r->headers_in.headers = list;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_confer_privacy_header_is(ngx_table_elt_t *h, ngx_str_t *names)
{
    for ( /* void */ ; names->len; names++) {
        if (h->key.len == names->len
            && ngx_strncasecmp(h->key.data, names->data, names->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static void
ngx_http_confer_privacy_scrub_headers(ngx_http_request_t *r)
{
    ngx_http_headers_in_t  saved;

    if (ngx_http_confer_privacy_filter_headers(r,
                                        ngx_http_confer_privacy_log_headers, 1)
        != NGX_OK)
    {
        /* no memory for the short list: no headers at all */
        r->headers_in.headers.part.nelts = 0;
        r->headers_in.headers.part.next = NULL;
        r->headers_in.headers.last = &r->headers_in.headers.part;
    }

    /*
     * Forget every pointer, array and derived value (user, cookies,
     * x_forwarded_for, the browser flags), then restore those of the
     * allow-listed headers.
     */

    saved = r->headers_in;

    ngx_memzero(&r->headers_in, sizeof(ngx_http_headers_in_t));

    r->headers_in.headers = saved.headers;

    r->headers_in.host = saved.host;
    r->headers_in.connection = saved.connection;
    r->headers_in.content_length = saved.content_length;
    r->headers_in.content_type = saved.content_type;
    r->headers_in.transfer_encoding = saved.transfer_encoding;
    r->headers_in.expect = saved.expect;
#if (NGX_HTTP_GZIP || NGX_HTTP_HEADERS)
    r->headers_in.accept_encoding = saved.accept_encoding;
#endif
#if (NGX_HTTP_HEADERS)
    r->headers_in.accept = saved.accept;
#endif

    r->headers_in.server = saved.server;
    r->headers_in.content_length_n = saved.content_length_n;
    r->headers_in.keep_alive_n = saved.keep_alive_n;
    r->headers_in.connection_type = saved.connection_type;
    r->headers_in.chunked = saved.chunked;

    /* $remote_user: nothing to decode */
    r->headers_in.user.data = (u_char *) "";
}


/* the request line as nginx would log it, even when it did not parse */

static ngx_str_t
ngx_http_confer_privacy_raw_request_line(ngx_http_request_t *r)
{
    u_char     *p;
    ngx_str_t   line;

    line = r->request_line;

    if (line.data == NULL && r->request_start && r->header_in) {
        for (p = r->request_start; p < r->header_in->last; p++) {
            if (*p == CR || *p == LF) {
                break;
            }
        }

        line.len = p - r->request_start;
        line.data = r->request_start;
    }

    if (line.data == NULL) {
        line.len = 0;
        line.data = (u_char *) "";
    }

    return line;
}


/*
 * "GET /path?query HTTP/1.1" becomes "GET /path HTTP/1.1".  Only what has
 * the shape of a request line is kept: a method token, a target up to its
 * query or fragment (RFC 9112 3.2: origin, absolute without userinfo, or
 * asterisk form), the protocol at the end.  Garbage gives "".  The result
 * is never longer than the source.
 */

static u_char *
ngx_http_confer_privacy_request_line(u_char *dst, u_char *last, u_char *src,
    size_t len)
{
    u_char  *p, *end, *m, *t, *auth, *host, *proto, *q;
    size_t   n;

    end = src + len;

    /* the method: RFC 9110 9.1, uppercase in practice */

    for (p = src; p < end && p - src < 32; p++) {
        if ((*p < 'A' || *p > 'Z') && *p != '-' && *p != '_') {
            break;
        }
    }

    if (p == src || p == end || *p != ' ') {
        return dst;
    }

    m = p++;

    /* the target */

    t = p;
    auth = p;
    host = p;

    if (p < end && *p >= 'a' && *p <= 'z') {

        /* absolute form: scheme "://" [userinfo "@"] authority path */

        for ( /* void */ ; p < end; p++) {
            if ((*p < 'a' || *p > 'z') && (*p < '0' || *p > '9')
                && *p != '+' && *p != '-' && *p != '.')
            {
                break;
            }
        }

        if (end - p < 3 || ngx_strncmp(p, "://", 3) != 0) {
            p = t;
            goto proto;
        }

        p += 3;
        auth = p;
        host = p;

        for (q = p; q < end && *q != '/' && *q != '?' && *q != '#'
                    && *q != ' '; q++)
        {
            if (*q == '@') {
                host = q + 1;
            }
        }

    } else if (p == end || (*p != '/' && *p != '*')) {
        goto proto;
    }

    for ( /* void */ ; p < end; p++) {
        if (*p == '?' || *p == '#' || *p == ' ') {
            break;
        }
    }

proto:

    /* " HTTP/d.d" at the very end */

    proto = NULL;

    if (end - m > 9 && ngx_strncmp(end - 9, " HTTP/", 6) == 0) {
        proto = end - 9;
    }

    n = (m - src) + 1 + (auth - t) + (p - host) + (proto ? 9 : 0);

    if (n > (size_t) (last - dst)) {
        return dst;
    }

    dst = ngx_cpymem(dst, src, m - src + 1);
    dst = ngx_cpymem(dst, t, auth - t);
    dst = ngx_cpymem(dst, host, p - host);

    if (proto) {
        dst = ngx_cpymem(dst, proto, 9);
    }

    return dst;
}


static ngx_log_t *
ngx_http_confer_privacy_copy_log(ngx_pool_t *pool, ngx_log_t *log)
{
    ngx_log_t  *copy, **next;

    copy = NULL;
    next = &copy;

    for ( /* void */ ; log; log = log->next) {
        *next = ngx_palloc(pool, sizeof(ngx_log_t));
        if (*next == NULL) {
            return NULL;
        }

        **next = *log;
        next = &(*next)->next;
    }

    return copy;
}


static ngx_int_t
ngx_http_confer_privacy_hook_log(ngx_pool_t *pool, ngx_log_t *log)
{
    ngx_http_confer_privacy_wdata_t  *wd;

    for ( /* void */ ; log; log = log->next) {

        if (log->writer == ngx_http_confer_privacy_log_writer) {
            continue;
        }

        wd = ngx_palloc(pool, sizeof(ngx_http_confer_privacy_wdata_t));
        if (wd == NULL) {
            return NGX_ERROR;
        }

        wd->log = log;
        wd->writer = log->writer;
        wd->wdata = log->wdata;

        log->writer = ngx_http_confer_privacy_log_writer;
        log->wdata = wd;
    }

    return NGX_OK;
}


static void
ngx_http_confer_privacy_log_writer(ngx_log_t *log, ngx_uint_t level,
    u_char *buf, size_t len)
{
    size_t                            n;
    ngx_http_confer_privacy_wdata_t  *wd;

    wd = log->wdata;

    if (level == NGX_LOG_DEBUG) {
        /* only with debug_log=allow */
        ngx_http_confer_privacy_write(log, wd, level, buf, len);
        return;
    }

    if (ngx_http_confer_privacy_last.buf == buf
        && ngx_http_confer_privacy_last.len == len
        && ngx_http_confer_privacy_last.sum == ngx_murmur_hash2(buf, len))
    {
        /* a later log of the chain: the line is already redacted */
        ngx_http_confer_privacy_write(log, wd, level,
                                      ngx_http_confer_privacy_last.line,
                                      ngx_http_confer_privacy_last.out);
        return;
    }

    n = ngx_http_confer_privacy_redact(log, wd, buf, len,
                                       ngx_http_confer_privacy_last.line);

    if (n == 0) {
        /* nothing to redact */
        ngx_http_confer_privacy_last.buf = NULL;
        ngx_http_confer_privacy_write(log, wd, level, buf, len);
        return;
    }

    /*
     * The logs after this one, and nginx's echo to stderr at startup, get
     * the caller's buffer: overwrite it with the redacted line, padded.
     */

    if (n <= len) {
        ngx_memcpy(buf, ngx_http_confer_privacy_last.line,
                   n - NGX_LINEFEED_SIZE);
        ngx_memset(buf + n - NGX_LINEFEED_SIZE, ' ', len - n);
        buf[len - 1] = LF;

    } else {
        ngx_memcpy(buf, ngx_http_confer_privacy_last.line, len - 1);
        buf[len - 1] = LF;
    }

    ngx_http_confer_privacy_last.buf = buf;
    ngx_http_confer_privacy_last.len = len;
    ngx_http_confer_privacy_last.sum = ngx_murmur_hash2(buf, len);
    ngx_http_confer_privacy_last.out = n;

    ngx_http_confer_privacy_write(log, wd, level,
                                  ngx_http_confer_privacy_last.line, n);
}


/*
 * A line of ngx_log_error_core() is
 *
 *   time " [" level "] " pid "#" tid ": " ["*" connection " "] message
 *   [" (" errno ": " text ")"] [what the log handler appends] LF
 *
 * and for an HTTP connection the handler appends
 *
 *   [" while " action] ", client: " addr [", server: " ...]
 *
 * The appended part is found by what it starts with (its first occurrence:
 * an earlier copy inside the message only cuts more) and rebuilt from the
 * connection.  Returns the length of the redacted line in out, or 0 when
 * the line is not about a private connection.
 */

static size_t
ngx_http_confer_privacy_redact(ngx_log_t *log,
    ngx_http_confer_privacy_wdata_t *wd, u_char *buf, size_t len, u_char *out)
{
    u_char                          *p, *last, *msg, *cut, *o, *olast;
    u_char                           needle[256], *n;
    ngx_uint_t                       truncated;
    ngx_connection_t                *c;
    ngx_http_log_ctx_t              *ctx;
    ngx_http_confer_privacy_conn_t  *pc;

    if (len < NGX_LINEFEED_SIZE || len > NGX_MAX_ERROR_STR
        || log == wd->log
        || log->handler == NULL
        || log->handler == ngx_accept_log_error
        || log->data == NULL)
    {
        return 0;
    }

    ctx = log->data;
    c = ctx->connection;

    if (c == NULL || c->log != log) {
        return 0;
    }

    pc = ngx_http_confer_privacy_conn(c, ctx->request);

    if (pc == NULL) {
        return 0;
    }

    last = buf + len - NGX_LINEFEED_SIZE;
    truncated = (len == NGX_MAX_ERROR_STR);

    /* skip time, level, pid#tid and the connection number */

    msg = buf;
    p = ngx_strlchr(buf, last, ']');

    if (p && last - p > 2 && p[1] == ' ') {
        for (p += 2; p < last && ((*p >= '0' && *p <= '9') || *p == '#'); p++)
        {
            /* void */
        }

        if (last - p >= 2 && p[0] == ':' && p[1] == ' ') {
            p += 2;

            if (log->connection && p < last && *p == '*') {
                for (p++; p < last && *p >= '0' && *p <= '9'; p++) {
                    /* void */
                }

                if (p < last && *p == ' ') {
                    p++;
                }
            }

            msg = p;
        }
    }

    n = needle;

    if (log->action) {
        n = ngx_slprintf(n, needle + sizeof(needle), " while %s",
                         log->action);
    }

    n = ngx_slprintf(n, needle + sizeof(needle), ", client: %V",
                     &c->addr_text);

    cut = ngx_http_confer_privacy_find(msg, last, needle, n - needle);

    o = out;
    olast = out + NGX_MAX_ERROR_STR - NGX_LINEFEED_SIZE;

    o = ngx_cpymem(o, buf, msg - buf);

    if (cut) {
        o = ngx_http_confer_privacy_message(o, olast, msg, cut, 0);
        o = ngx_http_confer_privacy_suffix(o, olast, log, pc);

    } else {
        for (p = last; p > msg && p[-1] == ' '; p--) {
            /* void: padding from an earlier pass */
        }

        o = ngx_http_confer_privacy_message(o, olast, msg, p, truncated);
    }

    ngx_linefeed(o);

    return o - out;
}


static u_char *
ngx_http_confer_privacy_message(u_char *dst, u_char *last, u_char *msg,
    u_char *end, ngx_uint_t truncated)
{
    u_char     *q1, *q2;
    ngx_str_t  *s;

    for (s = ngx_http_confer_privacy_quoting; s->len; s++) {
        if ((size_t) (end - msg) >= s->len
            && ngx_strncmp(msg, s->data, s->len) == 0)
        {
            break;
        }
    }

    q1 = s->len ? ngx_strlchr(msg, end, '"') : NULL;

    if (q1 == NULL) {
        return ngx_cpymem(dst, msg, ngx_min(end - msg, last - dst));
    }

    for (q2 = end - 1; q2 > q1 && *q2 != '"'; q2--) {
        /* void */
    }

    if (q2 == q1 || truncated) {
        /* no closing quote, or it may be the client's */
        q2 = NULL;
    }

    dst = ngx_cpymem(dst, msg, ngx_min(q1 + 1 - msg, last - dst));
    dst = ngx_cpymem(dst, "...", ngx_min(3, last - dst));

    if (q2) {
        dst = ngx_cpymem(dst, q2, ngx_min(end - q2, last - dst));

    } else if (dst < last) {
        *dst++ = '"';
    }

    return dst;
}


/* what ngx_http_log_error() and ngx_http_log_error_handler() append */

static u_char *
ngx_http_confer_privacy_suffix(u_char *dst, u_char *last, ngx_log_t *log,
    ngx_http_confer_privacy_conn_t *pc)
{
    u_char                    *p, *q, *end;
    char                      *uri_separator;
    ngx_str_t                  line;
    ngx_connection_t          *c;
    ngx_http_request_t        *r, *sr;
    ngx_http_upstream_t       *u;
    ngx_http_log_ctx_t        *ctx;
    ngx_http_core_srv_conf_t  *cscf;

    ctx = log->data;
    c = ctx->connection;
    r = ctx->request;

    if (log->action) {
        dst = ngx_slprintf(dst, last, " while %s", log->action);
    }

    dst = ngx_slprintf(dst, last, ", client: ");
    dst = ngx_http_confer_privacy_client(dst, last, c, r, pc);

    if (r == NULL) {
        return ngx_slprintf(dst, last, ", server: %V",
                            &c->listening->addr_text);
    }

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    dst = ngx_slprintf(dst, last, ", server: %V", &cscf->server_name);

    line = ngx_http_confer_privacy_raw_request_line(r);

    if (line.len && last - dst > 13) {
        p = ngx_cpymem(dst, ", request: \"", 12);
        q = ngx_http_confer_privacy_request_line(p, last - 1, line.data,
                                                 line.len);
        if (q > p) {
            *q++ = '"';
            dst = q;
        }
    }

    sr = ctx->current_request;

    if (sr && sr != r) {
        dst = ngx_slprintf(dst, last, ", subrequest: \"%V\"", &sr->uri);
    }

    u = sr ? sr->upstream : NULL;

    if (u && u->peer.name) {

        uri_separator = "";

#if (NGX_HAVE_UNIX_DOMAIN)
        if (u->peer.sockaddr && u->peer.sockaddr->sa_family == AF_UNIX) {
            uri_separator = ":";
        }
#endif

        p = u->uri.data;
        end = p + u->uri.len;

        for (q = p; q < end && *q != '?' && *q != '#'; q++) {
            /* void */
        }

        dst = ngx_slprintf(dst, last, ", upstream: \"%V%V%s%*s\"",
                           &u->schema, u->peer.name, uri_separator,
                           (size_t) (q - p), p);
    }

    if (r->headers_in.host) {
        dst = ngx_slprintf(dst, last, ", host: \"%V\"",
                           &r->headers_in.host->value);
    }

    /* no referrer */

    return dst;
}


/* the connection's pseudonym, even if something unmasked it meanwhile */

static u_char *
ngx_http_confer_privacy_client(u_char *dst, u_char *last, ngx_connection_t *c,
    ngx_http_request_t *r, ngx_http_confer_privacy_conn_t *pc)
{
    u_char                         text[NGX_SOCKADDR_STRLEN];
    size_t                         len;
    ngx_sockaddr_t                 ps;
    ngx_http_confer_privacy_req_t  *rq;

    if (pc->text && c->addr_text.data == pc->text) {
        /* the usual case, also between unmask and mask in POST_READ */
        return ngx_slprintf(dst, last, "%V", &c->addr_text);
    }

    if (pc->sockaddr && c->sockaddr == pc->sockaddr) {
        len = ngx_sock_ntop(&pc->pseudonym.sockaddr, pc->socklen, text,
                            NGX_SOCKADDR_STRLEN, 0);
        return ngx_slprintf(dst, last, "%*s", len, text);
    }

    rq = r ? ngx_http_confer_privacy_req(r, 0) : NULL;

    if (rq && rq->sockaddr == c->sockaddr) {
        /* realip's address, masked */
        return ngx_slprintf(dst, last, "%V", &c->addr_text);
    }

    switch (ngx_http_confer_privacy_pseudonym(pc->conf, c->sockaddr,
                                              c->socklen, &ps))
    {
    case NGX_OK:
        /* realip's address, not masked yet */
        len = ngx_sock_ntop(&ps.sockaddr, c->socklen, text,
                            NGX_SOCKADDR_STRLEN, 0);
        return ngx_slprintf(dst, last, "%*s", len, text);

    case NGX_DECLINED:
        /* "unix:" */
        return ngx_slprintf(dst, last, "%V", &c->addr_text);

    default:
        return ngx_slprintf(dst, last, "-");
    }
}


static u_char *
ngx_http_confer_privacy_find(u_char *p, u_char *last, u_char *s, size_t n)
{
    if (n == 0) {
        return NULL;
    }

    for ( /* void */ ; (size_t) (last - p) >= n; p++) {
        p = ngx_strlchr(p, last - n + 1, s[0]);

        if (p == NULL) {
            return NULL;
        }

        if (ngx_memcmp(p, s, n) == 0) {
            return p;
        }
    }

    return NULL;
}


static void
ngx_http_confer_privacy_write(ngx_log_t *log,
    ngx_http_confer_privacy_wdata_t *wd, ngx_uint_t level, u_char *buf,
    size_t len)
{
    void     *wdata;
    ssize_t   n;

    if (wd->writer) {
        /* syslog: or memory: */
        wdata = log->wdata;
        log->wdata = wd->wdata;
        wd->writer(log, level, buf, len);
        log->wdata = wdata;
        return;
    }

    /* as ngx_log_error_core() */

    if (ngx_time() == log->disk_full_time) {
        return;
    }

    n = ngx_write_fd(log->file->fd, buf, len);

    if (n == -1 && ngx_errno == NGX_ENOSPC) {
        log->disk_full_time = ngx_time();
    }
}
