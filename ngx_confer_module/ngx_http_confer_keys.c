/*
 * ngx_confer_module: the terminator's keys.
 *
 * An X25519 key pair is made when the configuration is read (start and
 * every reload), before the workers fork, so that every worker holds it.
 * It lives in sodium_malloc() memory (guard pages, locked, not dumped),
 * locked again in each worker (locks are not inherited across fork), and
 * is zeroed and freed by a cleanup of the configuration's pool.  It is
 * never written anywhere.
 *
 * Key ids change at every reload.  The key of the configuration being
 * replaced is copied into the new one as the previous key and honoured
 * for the grace period, so that requests sealed by gateways that still
 * hold the old document keep working.
 *
 * The attestation document is made at the same time: evidence whose
 * report_data binds the application/ohttp-keys and not_after (DESIGN.md,
 * "Attestation document").  Two are made when there is a previous key:
 * one listing both keys, served during the grace period, and one listing
 * the current key only, served after it.
 *
 * Lifetime: not_after = start + lifetime.  A document is never served
 * past its not_after (503); a key is refused once not_after + grace has
 * passed.  With renew=on a worker asks the master to reload itself
 * (SIGHUP to ngx_parent) at 90% of the lifetime; the replay zone records
 * which cycle already asked so that one worker does it, again every
 * tenth of the lifetime (at most a minute) if the reload did not happen.
 * A worker may signal the master only if both run as the same user; when
 * it cannot, a warning at start says that nginx must be reloaded from
 * outside (a systemd timer running `nginx -s reload`) before not_after.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sodium.h>

#include "ngx_http_confer_terminator.h"

#include "attest.h"
#include "attest_provide.h"


static ngx_http_confer_key_t *ngx_http_confer_keys_alloc(ngx_conf_t *cf);
static void ngx_http_confer_keys_free(void *data);
static void ngx_http_confer_keys_forget(void *data);
static ngx_int_t ngx_http_confer_keys_document(ngx_conf_t *cf,
    ngx_http_confer_term_main_conf_t *tmcf, ngx_uint_t with_previous,
    ngx_str_t *doc);
static void ngx_http_confer_keys_failed(ngx_conf_t *cf,
    ngx_http_confer_term_main_conf_t *tmcf, attest_provided_t *info,
    attest_err_t rc, char *msg);
static void ngx_http_confer_keys_renew_handler(ngx_event_t *ev);


/*
 * The keys of the configuration in force in this process (the master, or
 * a single process).  Read when a new configuration is made, to carry the
 * key over as the previous one; set back if that configuration fails.
 */
static ngx_http_confer_keys_t  *ngx_http_confer_live_keys;


static const confer_keyconfig_suite_t  ngx_http_confer_suites[] = {
    { CONFER_HPKE_KDF_HKDF_SHA256, CONFER_HPKE_AEAD_AES128GCM },
    { CONFER_HPKE_KDF_HKDF_SHA256, CONFER_HPKE_AEAD_AES256GCM },
    { CONFER_HPKE_KDF_HKDF_SHA256, CONFER_HPKE_AEAD_CHACHA20POLY1305 }
};


static ngx_http_confer_key_t *
ngx_http_confer_keys_alloc(ngx_conf_t *cf)
{
    ngx_pool_cleanup_t     *cln;
    ngx_http_confer_key_t  *k;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    /* guarded, mlock()ed, MADV_DONTDUMP; sodium_free() zeroes it */
    k = sodium_malloc(sizeof(ngx_http_confer_key_t));
    if (k == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                      "sodium_malloc() for the confer key failed");
        return NULL;
    }

    sodium_memzero(k, sizeof(ngx_http_confer_key_t));

    cln->handler = ngx_http_confer_keys_free;
    cln->data = k;

    return k;
}


static void
ngx_http_confer_keys_free(void *data)
{
    ngx_http_confer_key_t  *k = data;

    confer_hpke_keypair_cleanup(&k->key.kp);
    sodium_free(k);
}


static void
ngx_http_confer_keys_forget(void *data)
{
    ngx_http_confer_keys_t  *keys = data;

    if (ngx_http_confer_live_keys == keys) {
        ngx_http_confer_live_keys = keys->prior;
    }
}


char *
ngx_http_confer_keys_init(ngx_conf_t *cf,
    ngx_http_confer_term_main_conf_t *tmcf)
{
    time_t                   now;
    ngx_pool_cleanup_t      *cln;
    ngx_http_confer_key_t   *cur, *prev, *old;
    ngx_http_confer_keys_t  *keys, *prior;

    /* sodium_malloc() needs it; harmless when called again */
    if (sodium_init() < 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "sodium_init() failed");
        return NGX_CONF_ERROR;
    }

    keys = ngx_pcalloc(cf->pool, sizeof(ngx_http_confer_keys_t));
    if (keys == NULL) {
        return NGX_CONF_ERROR;
    }

    now = ngx_time();
    prior = ngx_test_config ? NULL : ngx_http_confer_live_keys;

    cur = ngx_http_confer_keys_alloc(cf);
    if (cur == NULL) {
        return NGX_CONF_ERROR;
    }

    if (confer_hpke_generate_keypair(&cur->key.kp) != CONFER_HPKE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "confer: making the key pair failed");
        return NGX_CONF_ERROR;
    }

    /* a new key id at every reload, so a stale id is told apart */
    if (prior && prior->current) {
        cur->key.config.key_id = (uint8_t) (prior->current->key.config.key_id
                                            + 1);

    } else {
        cur->key.config.key_id = (uint8_t) randombytes_uniform(256);
    }

    cur->key.config.kem_id = CONFER_HPKE_KEM_X25519_SHA256;
    ngx_memcpy(cur->key.config.pk, cur->key.kp.pk, CONFER_HPKE_NPK);
    cur->key.config.nsuites = sizeof(ngx_http_confer_suites)
                              / sizeof(ngx_http_confer_suites[0]);
    ngx_memcpy(cur->key.config.suites, ngx_http_confer_suites,
               sizeof(ngx_http_confer_suites));

    cur->not_after = now + tmcf->lifetime;
    cur->retire = cur->not_after + tmcf->grace;

    keys->current = cur;
    keys->start = now;
    keys->grace_end = now;

    if (tmcf->renew) {
        keys->renew_at = now + tmcf->lifetime
                         - ngx_max(1, tmcf->lifetime / 10);
    }

    old = prior ? prior->current : NULL;

    if (old && old->retire > now && tmcf->grace > 0) {
        prev = ngx_http_confer_keys_alloc(cf);
        if (prev == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(prev, old, sizeof(ngx_http_confer_key_t));
        prev->retire = ngx_min(old->retire, now + tmcf->grace);

        keys->previous = prev;
        keys->grace_end = prev->retire;
    }

    tmcf->keys = keys;

    if (ngx_http_confer_keys_document(cf, tmcf, 0, &keys->doc) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (keys->previous
        && ngx_http_confer_keys_document(cf, tmcf, 1, &keys->doc_grace)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_test_config) {
        return NGX_CONF_OK;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    keys->prior = ngx_http_confer_live_keys;
    ngx_http_confer_live_keys = keys;

    cln->handler = ngx_http_confer_keys_forget;
    cln->data = keys;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_confer_keys_document(ngx_conf_t *cf,
    ngx_http_confer_term_main_conf_t *tmcf, ngx_uint_t with_previous,
    ngx_str_t *doc)
{
    char                     msg[512];
    u_char                   keys[2 * (2 + 64 + CONFER_HPKE_NPK)];
    u_char                   gpus[80], col[NGX_MAX_PATH + 80];
    size_t                   nkeys, len;
    uint8_t                 *out;
    attest_err_t             rc;
    attest_provided_t        info;
    attest_provider_t        pr;
    confer_keyconfig_t       kcs[2];
    ngx_http_confer_keys_t  *k;

    k = tmcf->keys;

    kcs[0] = k->current->key.config;

    if (with_previous) {
        kcs[1] = k->previous->key.config;
    }

    if (confer_keyconfig_encode_list(kcs, with_previous ? 2 : 1, keys,
                                     sizeof(keys), &nkeys)
        != CONFER_KEYCONFIG_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "confer: encoding the key configuration failed");
        return NGX_ERROR;
    }

    ngx_memzero(&pr, sizeof(attest_provider_t));

    if (tmcf->evidence == NGX_HTTP_CONFER_EVIDENCE_SIMULATED) {
        pr.sim_dir = (char *) tmcf->sim_dir.data;

    } else {
        pr.tsm_root = (char *) tmcf->tsm_root.data;
        pr.tsm_timeout_ms = (unsigned) tmcf->tsm_timeout;
        pr.certs_pem = tmcf->certs.len ? (char *) tmcf->certs.data : NULL;
    }

    pr.gpu = tmcf->gpu;
    pr.gpu_path = tmcf->gpu_path.len ? (char *) tmcf->gpu_path.data : NULL;
    pr.gpu_count = tmcf->gpu_count;
    pr.gpu_timeout_ms = (unsigned) tmcf->gpu_timeout;
    pr.collateral_dir = tmcf->collateral.len ? (char *) tmcf->collateral.data
                                             : NULL;

    msg[0] = '\0';
    out = NULL;

    /* may wait for the TSM, the GPU tool: configuration time only */
    rc = attest_provide_document(&pr, keys, nkeys,
                                 (uint64_t) k->current->not_after, &out,
                                 &len, &info, msg, sizeof(msg));

    if (rc != ATTEST_OK) {
        ngx_http_confer_keys_failed(cf, tmcf, &info, rc, msg);
        return NGX_ERROR;
    }

    doc->data = ngx_pnalloc(cf->pool, len);
    if (doc->data == NULL) {
        free(out);
        return NGX_ERROR;
    }

    ngx_memcpy(doc->data, out, len);
    doc->len = len;
    free(out);

    gpus[0] = '\0';
    col[0] = '\0';

    if (info.ngpu || info.nswitch) {
        *ngx_snprintf(gpus, sizeof(gpus) - 1, ", %uz %sGPU%s and %uz "
                      "NVSwitch%s", info.ngpu,
                      tmcf->gpu == ATTEST_GPU_SOURCE_SIMULATED
                      ? "SIMULATED " : "",
                      info.ngpu == 1 ? "" : "s", info.nswitch,
                      info.nswitch == 1 ? "" : "es") = '\0';
    }

    if (info.ncollateral) {
        *ngx_snprintf(col, sizeof(col) - 1, ", %uz collateral files from "
                      "\"%V\"", info.ncollateral, &tmcf->collateral) = '\0';
    }

    ngx_log_error(NGX_LOG_NOTICE, cf->log, 0,
                  "confer: key id %d made, %s evidence%s%s, not_after %T",
                  (int) k->current->key.config.key_id,
                  info.platform == ATTEST_PLATFORM_SIMULATED
                  ? "SIMULATED" : attest_platform_name(info.platform),
                  gpus, col, k->current->not_after);

    if (info.next_update > ngx_time()) {
        ngx_log_error(NGX_LOG_NOTICE, cf->log, 0,
                      "confer: the collateral in \"%V\" is valid until %T",
                      &tmcf->collateral, info.next_update);

    } else if (info.next_update) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "confer: the collateral in \"%V\" was valid until "
                      "%T: gateways refuse the document until the files "
                      "are refreshed", &tmcf->collateral, info.next_update);
    }

    if (info.tcb_status[0]) {
        ngx_log_error(NGX_LOG_NOTICE, cf->log, 0,
                      "confer: the TDX TCB status is %s",
                      info.tcb_status);
    }

    /* what a gateway would say, told at start rather than at the first
     * request (a debug guest or an unpinned root passes this check) */
    if (info.check != ATTEST_OK) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "confer: the attestation document does not verify "
                      "here: %s (%s)", attest_strerror(info.check),
                      info.check_detail);
    }

    return NGX_OK;
}


static void
ngx_http_confer_keys_failed(ngx_conf_t *cf,
    ngx_http_confer_term_main_conf_t *tmcf, attest_provided_t *info,
    attest_err_t rc, char *msg)
{
    if (msg[0] == '\0') {
        ngx_cpystrn((u_char *) msg, (u_char *) "failed", 7);
    }

    switch (info->stage) {

    case ATTEST_STAGE_CPU:

        if (tmcf->evidence == NGX_HTTP_CONFER_EVIDENCE_SIMULATED) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "%V:%ui: \"confer_key\" simulated=%V: %s (%s)",
                          &tmcf->conf_file, tmcf->conf_line, &tmcf->sim_dir,
                          msg, attest_strerror(rc));

        } else {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "%V:%ui: \"confer_key\" evidence=configfs-tsm "
                          "tsm_root=%V: %s (%s)", &tmcf->conf_file,
                          tmcf->conf_line, &tmcf->tsm_root, msg,
                          attest_strerror(rc));
        }

        return;

    case ATTEST_STAGE_GPU:
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "%V:%ui: \"confer_key\" %V: %s (%s)",
                      &tmcf->conf_file, tmcf->conf_line, &tmcf->gpu_param,
                      msg, attest_strerror(rc));
        return;

    case ATTEST_STAGE_COLLATERAL:
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "%V:%ui: \"confer_key\" collateral=%V: %s (%s)",
                      &tmcf->conf_file, tmcf->conf_line, &tmcf->collateral,
                      msg, attest_strerror(rc));
        return;

    default:
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "%V:%ui: \"confer_key\": the attestation document: "
                      "%s (%s)", &tmcf->conf_file, tmcf->conf_line, msg,
                      attest_strerror(rc));
        return;
    }
}


ngx_int_t
ngx_http_confer_keys_init_process(ngx_cycle_t *cycle,
    ngx_http_confer_term_main_conf_t *tmcf)
{
    ngx_time_t              *tp;
    ngx_msec_t               delay;
    ngx_event_t             *ev;
    ngx_http_confer_keys_t  *keys;

    keys = tmcf->keys;

    /* mlock() is not inherited across fork() */
    if (sodium_mlock(keys->current, sizeof(ngx_http_confer_key_t)) != 0
        || (keys->previous
            && sodium_mlock(keys->previous, sizeof(ngx_http_confer_key_t))
               != 0))
    {
        ngx_log_error(NGX_LOG_WARN, cycle->log, ngx_errno,
                      "confer: mlock() of the key failed "
                      "(RLIMIT_MEMLOCK?), it may be swapped out");
    }

    if (keys->renew_at == 0 || ngx_process != NGX_PROCESS_WORKER) {
        return NGX_OK;
    }

    /* a worker of another user than the master may not signal it */
    if (kill(ngx_parent, 0) == -1) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, ngx_errno,
                      "confer: renew=on, but a worker cannot signal the "
                      "master process %P: reload nginx before %T, when "
                      "the keys expire (or run workers as the master's "
                      "user)", ngx_parent, keys->current->not_after);
        return NGX_OK;
    }

    ev = ngx_pcalloc(cycle->pool, sizeof(ngx_event_t));
    if (ev == NULL) {
        return NGX_ERROR;
    }

    ev->handler = ngx_http_confer_keys_renew_handler;
    ev->data = tmcf;
    ev->log = cycle->log;
    ev->cancelable = 1;

    /*
     * Timers run on the millisecond clock: counting whole seconds from
     * ngx_time() would fire up to a second after renew_at, eating the
     * whole margin before not_after when the lifetime is short.
     */

    tp = ngx_timeofday();

    delay = keys->renew_at > tp->sec
            ? (ngx_msec_t) (keys->renew_at - tp->sec) * 1000 - tp->msec : 1;

    ngx_add_timer(ev, delay);

    return NGX_OK;
}


static void
ngx_http_confer_keys_renew_handler(ngx_event_t *ev)
{
    time_t                             retry;
    ngx_http_confer_term_main_conf_t  *tmcf;

    tmcf = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    retry = ngx_max(1, ngx_min(60, tmcf->lifetime / 10));

    if (ngx_http_confer_replay_renew(tmcf->replay_zone,
                                     tmcf->keys->current->not_after,
                                     ngx_time())
        == NGX_OK)
    {
        ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                      "confer: the key's lifetime ends at %T, asking the "
                      "master process %P to reload",
                      tmcf->keys->current->not_after, ngx_parent);

        if (kill(ngx_parent, SIGHUP) == -1) {
            ngx_log_error(NGX_LOG_ALERT, ev->log, ngx_errno,
                          "kill(%P, SIGHUP) failed", ngx_parent);
        }
    }

    ngx_add_timer(ev, (ngx_msec_t) retry * 1000);
}


const confer_ohttp_key_t *
ngx_http_confer_keys_lookup(void *data, uint8_t key_id)
{
    ngx_http_confer_keys_t  *keys = data;

    time_t  now;

    now = ngx_time();

    if (keys->current->key.config.key_id == key_id
        && now < keys->current->retire)
    {
        return &keys->current->key;
    }

    if (keys->previous
        && keys->previous->key.config.key_id == key_id
        && now < keys->previous->retire)
    {
        return &keys->previous->key;
    }

    return NULL;
}



ngx_int_t
ngx_http_confer_attestation_handler(ngx_http_request_t *r)
{
    time_t                             now;
    ngx_int_t                          rc;
    ngx_str_t                         *doc;
    ngx_table_elt_t                   *h;
    ngx_http_confer_keys_t            *keys;
    ngx_http_confer_term_main_conf_t  *tmcf;

    static u_char  expired[] = "{\"error\":\"keys_expired\"}\n";

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    tmcf = ngx_http_get_module_main_conf(r,
                                         ngx_http_confer_terminator_module);
    keys = tmcf->keys;
    now = ngx_time();

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    /* a document past its not_after is never served */
    if (now >= keys->current->not_after) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "confer: the key's lifetime ended at %T and nginx "
                      "has not been reloaded since",
                      keys->current->not_after);

        return ngx_http_confer_send_memory(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "application/json", expired,
                                           sizeof(expired) - 1);
    }

    doc = (keys->previous && now < keys->grace_end) ? &keys->doc_grace
                                                     : &keys->doc;

    return ngx_http_confer_send_memory(r, NGX_HTTP_OK, "application/json",
                                       doc->data, doc->len);
}


/* RFC 9458, 5.3: the key configuration problem */
ngx_int_t
ngx_http_confer_keys_problem(ngx_http_request_t *r)
{
    static u_char  problem[] =
        "{\"type\":\"https://iana.org/assignments/http-problem-types"
        "#ohttp-key\",\"title\":\"key identifier unknown\"}\n";

    return ngx_http_confer_send_memory(r, NGX_HTTP_BAD_REQUEST,
                                       "application/problem+json", problem,
                                       sizeof(problem) - 1);
}
