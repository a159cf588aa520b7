
/*
 * ngx_confer_module: the gateway's attestation cache in shared memory
 * (confer_cache), and the fetch-and-verify that fills it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_confer_module.h"
#include "ngx_http_confer_cache.h"


/* the zone: entries by key, and the same entries by recent use */
typedef struct {
    ngx_rbtree_t                     rbtree;
    ngx_rbtree_node_t                sentinel;
    ngx_queue_t                      queue;
    ngx_http_confer_cache_stats_t    stats;
} ngx_http_confer_cache_sh_t;


typedef struct {
    ngx_http_confer_cache_sh_t      *sh;
    ngx_slab_pool_t                 *shpool;
} ngx_http_confer_cache_t;


static ngx_int_t ngx_http_confer_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_confer_cache_node_t *ngx_http_confer_cache_lookup(
    ngx_http_confer_cache_t *cache, ngx_http_confer_terminator_t *t,
    ngx_uint_t create);
static ngx_http_confer_key_t *ngx_http_confer_cache_copy_key(
    ngx_http_confer_terminator_t *t, ngx_http_confer_cache_node_t *node,
    ngx_pool_t *pool);
static void ngx_http_confer_cache_begin(ngx_http_confer_terminator_t *t,
    ngx_http_confer_cache_node_t *node);
static void ngx_http_confer_cache_fetch(ngx_http_confer_terminator_t *t);
static void ngx_http_confer_cache_fetched(ngx_http_confer_fetch_t *f);
static void ngx_http_confer_cache_verified(ngx_http_confer_terminator_t *t,
    attest_verdict_t *v, confer_keyconfig_t *kcs, size_t nkcs);
static void ngx_http_confer_cache_failed(ngx_http_confer_terminator_t *t,
    ngx_uint_t reason, u_char *detail);
static void ngx_http_confer_cache_abandon(ngx_http_confer_terminator_t *t);


/* the codes after attest_strerror()'s */
static const char  *ngx_http_confer_reason_names[] = {
    /* ngx_http_confer_fetch_err_e */
    "ok",
    "connect_failed",
    "connection_error",
    "timeout",
    "tls_failed",
    "bad_response",
    "http_status",
    "too_large",
    "internal",
    "aborted",

    /* ngx_http_confer_reason_e */
    "bad_key_config",
    "no_common_aead",
    "cache_full",
    "attestation_timeout"
};


const char *
ngx_http_confer_reason_name(ngx_uint_t reason)
{
    if (reason < ATTEST_ERR_LAST) {
        return attest_strerror((attest_err_t) reason);
    }

    reason -= NGX_HTTP_CONFER_REASON_FETCH;

    if (reason < sizeof(ngx_http_confer_reason_names) / sizeof(char *)) {
        return ngx_http_confer_reason_names[reason];
    }

    return "unknown";
}


uint64_t
ngx_http_confer_wall_msec(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (uint64_t) tp->sec * 1000 + tp->msec;
}


/* confer_cache zone=NAME:SIZE, parsed as limit_req_zone does */
char *
ngx_http_confer_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_confer_gateway_main_conf_t  *gmcf = conf;

    u_char                   *p;
    ssize_t                   size;
    ngx_str_t                *value, name, s;
    ngx_uint_t                i;
    ngx_http_confer_cache_t  *cache;

    if (gmcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;
    size = 0;
    name.len = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            name.data = value[i].data + 5;

            p = (u_char *) ngx_strlchr(name.data,
                                       value[i].data + value[i].len, ':');

            if (p == NULL || p == name.data) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"confer_cache\" zone \"%V\": "
                                   "zone=NAME:SIZE expected", &value[i]);
                return NGX_CONF_ERROR;
            }

            name.len = p - name.data;

            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;

            size = ngx_parse_size(&s);

            if (size == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"confer_cache\" zone size "
                                   "\"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            if (size < (ssize_t) (8 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"confer_cache\" zone \"%V\" is too "
                                   "small: at least %uzk",
                                   &value[i], 8 * ngx_pagesize / 1024);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"confer_cache\" parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"zone\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_http_confer_cache_t));
    if (cache == NULL) {
        return NGX_CONF_ERROR;
    }

    gmcf->shm_zone = ngx_shared_memory_add(cf, &name, size,
                                           &ngx_http_confer_gateway_module);
    if (gmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (gmcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    gmcf->shm_zone->init = ngx_http_confer_cache_init_zone;
    gmcf->shm_zone->data = cache;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_confer_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_confer_cache_t  *ocache = data;

    size_t                    len;
    ngx_http_confer_cache_t  *cache;

    cache = shm_zone->data;

    /* a reload keeps what was verified: entries are keyed by policy */
    if (ocache) {
        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        return NGX_OK;
    }

    cache->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        cache->sh = cache->shpool->data;
        return NGX_OK;
    }

    cache->sh = ngx_slab_alloc(cache->shpool,
                               sizeof(ngx_http_confer_cache_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(cache->sh, sizeof(ngx_http_confer_cache_sh_t));

    cache->shpool->data = cache->sh;

    ngx_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&cache->sh->queue);

    len = sizeof(" in confer_cache zone \"\"") + shm_zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in confer_cache zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone evicts the least recently used entry, and says so */
    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


/* with the zone locked */
static ngx_http_confer_cache_node_t *
ngx_http_confer_cache_lookup(ngx_http_confer_cache_t *cache,
    ngx_http_confer_terminator_t *t, ngx_uint_t create)
{
    size_t                         size;
    ngx_uint_t                     tries;
    ngx_queue_t                   *q;
    ngx_str_node_t                *sn;
    ngx_http_confer_cache_node_t  *node, *old;

    sn = ngx_str_rbtree_lookup(&cache->sh->rbtree, &t->key, t->hash);

    if (sn) {
        node = (ngx_http_confer_cache_node_t *) sn;
        ngx_queue_remove(&node->queue);
        ngx_queue_insert_head(&cache->sh->queue, &node->queue);
        return node;
    }

    if (!create) {
        return NULL;
    }

    size = offsetof(ngx_http_confer_cache_node_t, data) + t->key.len;

    for (tries = 0; /* void */; tries++) {

        node = ngx_slab_alloc_locked(cache->shpool, size);
        if (node) {
            break;
        }

        /* the least recently used entry that no fetch is writing to */
        for (q = ngx_queue_last(&cache->sh->queue);
             q != ngx_queue_sentinel(&cache->sh->queue);
             q = ngx_queue_prev(q))
        {
            old = ngx_queue_data(q, ngx_http_confer_cache_node_t, queue);

            if (!old->updating) {
                break;
            }
        }

        if (tries == 8 || q == ngx_queue_sentinel(&cache->sh->queue)) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "confer: no room for \"%V\"%s, make the zone "
                          "larger", &t->url, cache->shpool->log_ctx);
            return NULL;
        }

        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "confer: evicting \"%*s\"%s", old->sn.str.len,
                      old->sn.str.data, cache->shpool->log_ctx);

        ngx_queue_remove(&old->queue);
        ngx_rbtree_delete(&cache->sh->rbtree, &old->sn.node);
        ngx_slab_free_locked(cache->shpool, old);
    }

    ngx_memzero(node, size);

    ngx_memcpy(node->data, t->key.data, t->key.len);
    node->sn.str.data = node->data;
    node->sn.str.len = t->key.len;
    node->sn.node.key = t->hash;

    ngx_rbtree_insert(&cache->sh->rbtree, &node->sn.node);
    ngx_queue_insert_head(&cache->sh->queue, &node->queue);

    return node;
}


ngx_http_confer_cache_rc_e
ngx_http_confer_cache_get(ngx_http_confer_terminator_t *t, ngx_pool_t *pool,
    ngx_http_confer_key_t **key, ngx_uint_t *reason, ngx_msec_t *retry_in)
{
    uint64_t                       now;
    ngx_uint_t                     start, usable, fetching, retry_due;
    ngx_http_confer_cache_t       *cache;
    ngx_http_confer_cache_rc_e     rc;
    ngx_http_confer_cache_node_t  *node;

    cache = t->shm_zone->data;
    now = ngx_http_confer_wall_msec();
    start = 0;
    *key = NULL;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_confer_cache_lookup(cache, t, 1);

    if (node == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        *reason = NGX_HTTP_CONFER_REASON_ZONE_FULL;
        *retry_in = t->retry;
        return NGX_HTTP_CONFER_CACHE_FAILED;
    }

    node->last_used = ngx_time();

    usable = node->valid && !node->stale
             && now < (uint64_t) node->valid_until * 1000;

    /* the updating flag of a worker that died expires */
    fetching = node->updating
               && (ngx_msec_int_t) (node->updating_until - ngx_current_msec)
                  > 0;

    retry_due = !node->failed
                || (ngx_msec_int_t) (node->retry_at - ngx_current_msec) <= 0;

    if (usable) {
        *key = ngx_http_confer_cache_copy_key(t, node, pool);

        if (*key == NULL) {
            ngx_shmtx_unlock(&cache->shpool->mutex);
            *reason = NGX_HTTP_CONFER_REASON_FETCH
                      + NGX_HTTP_CONFER_FETCH_INTERNAL;
            *retry_in = 0;
            return NGX_HTTP_CONFER_CACHE_FAILED;
        }

        /* ahead of the end: refresh while this key keeps serving */
        if (!fetching && retry_due && now >= node->refresh_at) {
            start = 1;
        }

        rc = NGX_HTTP_CONFER_CACHE_HIT;

    } else if (fetching) {
        rc = NGX_HTTP_CONFER_CACHE_WAIT;

    } else if (!retry_due) {
        *reason = node->reason;
        *retry_in = node->retry_at - ngx_current_msec;
        rc = NGX_HTTP_CONFER_CACHE_FAILED;

    } else {
        start = 1;
        rc = NGX_HTTP_CONFER_CACHE_WAIT;
    }

    if (start) {
        ngx_http_confer_cache_begin(t, node);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    if (start) {
        ngx_http_confer_cache_fetch(t);
    }

    return rc;
}


static ngx_http_confer_key_t *
ngx_http_confer_cache_copy_key(ngx_http_confer_terminator_t *t,
    ngx_http_confer_cache_node_t *node, ngx_pool_t *pool)
{
    ngx_http_confer_key_t  *key;

    key = ngx_pcalloc(pool, sizeof(ngx_http_confer_key_t));
    if (key == NULL) {
        return NULL;
    }

    key->ohttp_keys.data = ngx_pnalloc(pool, node->keys_len);
    if (key->ohttp_keys.data == NULL) {
        return NULL;
    }

    ngx_memcpy(key->ohttp_keys.data, node->keys, node->keys_len);
    key->ohttp_keys.len = node->keys_len;

    key->index = t->index;
    key->url = t->url;
    key->host = t->target.host;
    key->endpoint = t->endpoint;
    key->platform = node->platform;
    ngx_memcpy(key->measurement, node->measurement, 48);
    key->verified_at = node->verified_at;
    key->valid_until = node->valid_until;
    key->generation = node->generation;
    key->terminator = t;

    return key;
}


/* with the zone locked: this worker fetches, every other one waits */
static void
ngx_http_confer_cache_begin(ngx_http_confer_terminator_t *t,
    ngx_http_confer_cache_node_t *node)
{
    node->updating = 1;
    node->updating_until = ngx_current_msec + t->target.timeout + 1000;
    node->updater = ngx_pid;
    node->fetches++;
}


ngx_msec_t
ngx_http_confer_cache_tick(ngx_http_confer_terminator_t *t)
{
    uint64_t                       now;
    ngx_msec_t                     next;
    ngx_uint_t                     start;
    ngx_http_confer_cache_t       *cache;
    ngx_http_confer_cache_node_t  *node;

    cache = t->shm_zone->data;
    now = ngx_http_confer_wall_msec();
    start = 0;
    next = 60000;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_confer_cache_lookup(cache, t, 0);

    if (node == NULL) {
        goto done;
    }

    if (node->updating
        && (ngx_msec_int_t) (node->updating_until - ngx_current_msec) > 0)
    {
        next = node->updating_until - ngx_current_msec;
        goto done;
    }

    /* only a key that served a request since it was verified is kept
     * fresh: an idle gateway does not poll terminators forever */
    if (!node->valid || node->stale
        || node->last_used < node->verified_at
        || now >= (uint64_t) node->valid_until * 1000)
    {
        goto done;
    }

    if (node->failed
        && (ngx_msec_int_t) (node->retry_at - ngx_current_msec) > 0)
    {
        next = node->retry_at - ngx_current_msec;
        goto done;
    }

    if (now < node->refresh_at) {
        next = (ngx_msec_t) (node->refresh_at - now);
        goto done;
    }

    ngx_http_confer_cache_begin(t, node);
    start = 1;
    next = t->target.timeout;

done:

    ngx_shmtx_unlock(&cache->shpool->mutex);

    if (start) {
        ngx_http_confer_cache_fetch(t);
    }

    return next;
}


static void
ngx_http_confer_cache_fetch(ngx_http_confer_terminator_t *t)
{
    u_char                    detail[] = "the fetch could not start";
    ngx_http_confer_fetch_t  *f;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "confer fetch \"%V\"", &t->url);

    f = ngx_http_confer_fetch_start(&t->target, ngx_http_confer_cache_fetched,
                                    t);

    if (f == NULL) {
        ngx_http_confer_cache_failed(t, NGX_HTTP_CONFER_REASON_FETCH
                                        + NGX_HTTP_CONFER_FETCH_INTERNAL,
                                     detail);
    }
}


static void
ngx_http_confer_cache_fetched(ngx_http_confer_fetch_t *f)
{
    size_t                         nkcs;
    attest_err_t                   rc;
    attest_verdict_t              *v;
    confer_keyconfig_t            *kcs;
    confer_keyconfig_err_t         krc;
    ngx_http_confer_terminator_t  *t;

    t = f->data;

    if (f->err == NGX_HTTP_CONFER_FETCH_ABORTED) {
        ngx_http_confer_cache_abandon(t);
        return;
    }

    if (f->err != NGX_HTTP_CONFER_FETCH_OK) {
        ngx_http_confer_cache_failed(t, NGX_HTTP_CONFER_REASON_FETCH + f->err,
                                     f->detail);
        return;
    }

    v = ngx_pcalloc(f->pool, sizeof(attest_verdict_t));
    kcs = ngx_palloc(f->pool, 8 * sizeof(confer_keyconfig_t));

    if (v == NULL || kcs == NULL) {
        ngx_http_confer_cache_failed(t, NGX_HTTP_CONFER_REASON_FETCH
                                        + NGX_HTTP_CONFER_FETCH_INTERNAL,
                                     (u_char *) "no memory");
        return;
    }

    /* the document, its evidence and the policy, at this moment */
    rc = attest_verify_document(f->body, f->body_len, t->policy, ngx_time(),
                                v);

    v->detail[sizeof(v->detail) - 1] = '\0';

    if (rc != ATTEST_OK) {
        ngx_http_confer_cache_failed(t, rc, (u_char *) v->detail);
        return;
    }

    /* RFC 9458, 3.2: the verified list must hold a usable configuration */
    krc = confer_keyconfig_decode_list(v->ohttp_keys, v->ohttp_keys_len, kcs,
                                       8, &nkcs);

    if (krc != CONFER_KEYCONFIG_OK) {
        ngx_http_confer_cache_failed(t, NGX_HTTP_CONFER_REASON_KEYS,
                                 (u_char *) confer_keyconfig_strerror(krc));
        return;
    }

    ngx_http_confer_cache_verified(t, v, kcs, nkcs);
}


static void
ngx_http_confer_cache_verified(ngx_http_confer_terminator_t *t,
    attest_verdict_t *v, confer_keyconfig_t *kcs, size_t nkcs)
{
    u_char                         hex[97];
    size_t                         i;
    uint64_t                       now, end, margin, gap, refresh;
    ngx_http_confer_cache_t       *cache;
    ngx_http_confer_cache_node_t  *node;

    cache = t->shm_zone->data;
    now = ngx_http_confer_wall_msec();

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_confer_cache_lookup(cache, t, 1);

    if (node == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return;
    }

    node->valid = 1;
    node->stale = 0;
    node->failed = 0;
    node->updating = 0;
    node->generation++;
    node->verified++;

    node->platform = v->ev.platform;
    ngx_memcpy(node->measurement, v->ev.measurement, 48);
    ngx_memcpy(node->product, v->ev.product, sizeof(node->product));
    node->product[sizeof(node->product) - 1] = '\0';
    node->tcb = v->ev.reported_tcb;
    ngx_memcpy(node->tcb_status, v->ev.tcb_status, sizeof(node->tcb_status));
    node->tcb_status[sizeof(node->tcb_status) - 1] = '\0';
    ngx_memcpy(node->qe_tcb_status, v->ev.qe_tcb_status,
               sizeof(node->qe_tcb_status));
    node->qe_tcb_status[sizeof(node->qe_tcb_status) - 1] = '\0';
    ngx_memcpy(node->fmspc, v->ev.fmspc, sizeof(node->fmspc));
    node->tcb_recovery_date = v->ev.tcb_recovery_date;
    node->chain_not_after = v->ev.chain_not_after;
    node->collateral_not_after = v->ev.collateral_not_after;
    node->vmpl = v->ev.vmpl;
    node->debug = v->ev.debug ? 1 : 0;

    /* the GPUs as verified: what confer_status shows of them */
    node->ngpu = ngx_min(v->ev.ngpu, ATTEST_MAX_GPUS);
    ngx_memcpy(node->gpu, v->ev.gpu, node->ngpu * sizeof(attest_gpu_facts_t));

    node->nkeys = nkcs < sizeof(node->key_ids) ? nkcs : sizeof(node->key_ids);
    for (i = 0; i < node->nkeys; i++) {
        node->key_ids[i] = kcs[i].key_id;
    }

    node->verified_at = ngx_time();
    node->not_after = (time_t) v->not_after;
    node->valid_until = v->valid_until;

    ngx_memcpy(node->keys, v->ohttp_keys, v->ohttp_keys_len);
    node->keys_len = v->ohttp_keys_len;

    /*
     * Refresh in the last fifth of the validity, but not sooner than
     * retry= (or half the validity) from now: a terminator that keeps
     * serving one document does not make the gateway fetch in a loop.
     */
    end = (uint64_t) v->valid_until * 1000;
    margin = end > now ? (end - now) / 5 : 0;
    gap = end > now ? (end - now) / 2 : 0;

    if (gap > t->retry) {
        gap = t->retry;
    }

    node->refresh_at = end - margin;

    if (node->refresh_at < now + gap) {
        node->refresh_at = now + gap;
    }

    refresh = node->refresh_at - now;

    ngx_shmtx_unlock(&cache->shpool->mutex);

    ngx_http_confer_gateway_schedule((ngx_msec_t) refresh);

    for (i = 0; i < 48; i++) {
        ngx_sprintf(hex + 2 * i, "%02xd", v->ev.measurement[i]);
    }
    hex[96] = '\0';

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "confer: attested \"%V\": %s, measurement %s, key id %d, "
                  "%uz bound GPU devices, valid for %T s",
                  &t->url, attest_platform_name(v->ev.platform), hex,
                  kcs[0].key_id, v->ev.ngpu, v->valid_until - ngx_time());

    if (v->ev.platform == ATTEST_PLATFORM_SIMULATED) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "confer: \"%V\" is attested by SIMULATED evidence, "
                      "accepted because policy \"%V\" allows it: no "
                      "hardware protects these requests",
                      &t->url, &t->policy_file);
    }
}


static void
ngx_http_confer_cache_failed(ngx_http_confer_terminator_t *t,
    ngx_uint_t reason, u_char *detail)
{
    ngx_http_confer_cache_t       *cache;
    ngx_http_confer_cache_node_t  *node;

    cache = t->shm_zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_confer_cache_lookup(cache, t, 1);

    if (node) {
        node->failed = 1;
        node->updating = 0;
        node->reason = reason;
        node->failed_at = ngx_time();
        node->retry_at = ngx_current_msec + t->retry;

        if (reason < NGX_HTTP_CONFER_NREASONS) {
            node->failures[reason]++;
        }

        ngx_cpystrn(node->detail, detail, sizeof(node->detail));
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "confer: attestation of \"%V\" failed: %s (%s), "
                  "next attempt in %M ms",
                  &t->url, ngx_http_confer_reason_name(reason), detail,
                  t->retry);
}


/* a worker that exits stops its fetch: the next worker fetches at once */
static void
ngx_http_confer_cache_abandon(ngx_http_confer_terminator_t *t)
{
    ngx_http_confer_cache_t       *cache;
    ngx_http_confer_cache_node_t  *node;

    cache = t->shm_zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_confer_cache_lookup(cache, t, 0);

    if (node && node->updater == ngx_pid) {
        node->updating = 0;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "confer: attestation of \"%V\" left to another worker, "
                  "this one exits", &t->url);
}


void
ngx_http_confer_cache_stale(ngx_http_confer_terminator_t *t,
    ngx_uint_t generation)
{
    ngx_uint_t                     done;
    ngx_http_confer_cache_t       *cache;
    ngx_http_confer_cache_node_t  *node;

    cache = t->shm_zone->data;
    done = 0;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_confer_cache_lookup(cache, t, 0);

    if (node) {
        node->rejected++;

        /* a key verified after this one is not what was refused */
        if (node->generation == generation && !node->stale) {
            node->stale = 1;
            done = 1;
        }
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    if (done) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "confer: \"%V\" refused its attested key, "
                      "attesting it again", &t->url);
    }
}


void
ngx_http_confer_cache_count(ngx_http_confer_terminator_t *t,
    ngx_http_confer_count_e what)
{
    ngx_http_confer_cache_t       *cache;
    ngx_http_confer_cache_node_t  *node;

    cache = t->shm_zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_confer_cache_lookup(cache, t, 0);

    if (node) {
        switch (what) {

        case NGX_HTTP_CONFER_COUNT_GATED:
            node->gated++;
            cache->sh->stats.gated++;
            break;

        case NGX_HTTP_CONFER_COUNT_SEALED:
            node->sealed++;
            break;

        case NGX_HTTP_CONFER_COUNT_SEALED_PREPARED:
            node->sealed++;
            node->prepared++;
            break;

        default: /* NGX_HTTP_CONFER_COUNT_REJECTED */
            node->rejected++;
            break;
        }
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


void
ngx_http_confer_cache_count_seal_failed(ngx_http_confer_terminator_t *t,
    ngx_http_confer_seal_err_e err)
{
    ngx_http_confer_cache_t       *cache;
    ngx_http_confer_cache_node_t  *node;

    if ((ngx_uint_t) err >= NGX_HTTP_CONFER_SEAL_ERR_LAST) {
        return;
    }

    cache = t->shm_zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_confer_cache_lookup(cache, t, 0);

    if (node) {
        node->seal_failures[err]++;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


void
ngx_http_confer_cache_refused(ngx_shm_zone_t *zone, ngx_uint_t reason)
{
    ngx_http_confer_cache_t  *cache;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    cache->sh->stats.refused++;

    if (reason < NGX_HTTP_CONFER_NREASONS) {
        cache->sh->stats.refusals[reason]++;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


void
ngx_http_confer_cache_waiting(ngx_shm_zone_t *zone, ngx_int_t delta)
{
    ngx_http_confer_cache_t  *cache;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    if (delta > 0 || cache->sh->stats.waiting > 0) {
        cache->sh->stats.waiting += delta;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


ngx_int_t
ngx_http_confer_cache_snapshot(ngx_http_confer_terminator_t *t,
    ngx_http_confer_cache_node_t *copy)
{
    ngx_http_confer_cache_t       *cache;
    ngx_http_confer_cache_node_t  *node;

    cache = t->shm_zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_confer_cache_lookup(cache, t, 0);

    if (node) {
        ngx_memcpy(copy, node, offsetof(ngx_http_confer_cache_node_t, data));
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return node ? NGX_OK : NGX_DECLINED;
}


void
ngx_http_confer_cache_stats(ngx_shm_zone_t *zone,
    ngx_http_confer_cache_stats_t *copy)
{
    ngx_http_confer_cache_t  *cache;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);
    *copy = cache->sh->stats;
    ngx_shmtx_unlock(&cache->shpool->mutex);
}
