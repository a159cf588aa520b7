/*
 * ngx_confer_module: the terminator's replay cache.
 *
 * A shared-memory set of the encapsulated keys (enc, RFC 9458 4.3) of the
 * requests this terminator opened, shared by all workers and kept across
 * reloads (same zone name and size).  An enc seen again while its key is
 * honoured is a replay and refused (RFC 9458, 6.5).  An entry lives until
 * its key retires (not_after + grace): after that the key itself is
 * refused, so the entry has nothing left to guard.
 *
 * The set (confer_replay.h) is one open-addressing table of 8-byte slots
 * that fills the zone, with no allocation per request: a keyed hash of
 * enc and the generation of its key's retire time.  A full table first
 * drops the entries whose generation ended; if it is still full, the
 * request is refused with 503 (fail closed; nothing live is evicted, since
 * an evicted enc could be replayed).
 *
 * Size: 1m holds about 110,000 entries, the default 8m about 900,000,
 * i.e. 210 requests per second for the 70 minutes an entry lives with the
 * default lifetime (1h) and grace (10m).  Size it for the peak request
 * rate times lifetime + grace.  The pages of the table are touched as it
 * fills: each worker's RSS grows towards the zone's size and stays there.
 *
 * The zone also records which configuration already asked the master to
 * reload itself before its keys expire, so that only one worker does.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sodium.h>

#include "ngx_http_confer_terminator.h"
#include "confer_replay.h"


typedef struct {
    confer_replay_t               set;
    time_t                        renew_for;    /* not_after that asked */
    time_t                        renew_time;
} ngx_http_confer_replay_shctx_t;


typedef struct {
    ngx_http_confer_replay_shctx_t  *sh;
    ngx_slab_pool_t                 *shpool;
} ngx_http_confer_replay_ctx_t;


static ngx_int_t ngx_http_confer_replay_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);


ngx_shm_zone_t *
ngx_http_confer_replay_zone(ngx_conf_t *cf, ngx_str_t *name, size_t size)
{
    ngx_shm_zone_t                *shm_zone;
    ngx_http_confer_replay_ctx_t  *ctx;

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_confer_replay_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    shm_zone = ngx_shared_memory_add(cf, name, size,
                                     &ngx_http_confer_terminator_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "confer replay zone \"%V\" is already used",
                           name);
        return NULL;
    }

    shm_zone->init = ngx_http_confer_replay_init_zone;
    shm_zone->data = ctx;

    return shm_zone;
}


static ngx_int_t
ngx_http_confer_replay_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_confer_replay_ctx_t  *octx = data;

    size_t                           len, nslots;
    u_char                           key[CONFER_REPLAY_KEY];
    uint64_t                        *slots;
    ngx_uint_t                       pages;
    ngx_http_confer_replay_ctx_t    *ctx;
    ngx_http_confer_replay_shctx_t  *sh;

    ctx = shm_zone->data;

    if (octx) {
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(ctx->shpool, sizeof(ngx_http_confer_replay_shctx_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    ctx->sh = sh;
    ctx->shpool->data = sh;

    len = sizeof(" in confer replay zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in confer replay zone \"%V\"%Z",
                &shm_zone->shm.name);

    ctx->shpool->log_nomem = 0;

    /* the table takes every page left, in one piece */
    slots = NULL;

    for (pages = ctx->shpool->pfree; pages > 0; pages--) {
        slots = ngx_slab_alloc(ctx->shpool, pages * ngx_pagesize);
        if (slots) {
            break;
        }
    }

    nslots = confer_replay_slots(pages * ngx_pagesize);

    if (slots == NULL || nslots < 8) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "confer replay zone \"%V\" is too small",
                      &shm_zone->shm.name);
        return NGX_ERROR;
    }

    randombytes_buf(key, sizeof(key));

    confer_replay_init(&sh->set, slots, nslots, key);

    sodium_memzero(key, sizeof(key));

    return NGX_OK;
}


/*
 * NGX_OK: first time, recorded; NGX_DECLINED: a replay; NGX_BUSY: the zone
 * is full.
 */
ngx_int_t
ngx_http_confer_replay_check(ngx_http_request_t *r, ngx_shm_zone_t *zone,
    const u_char *enc, time_t expires)
{
    size_t                           used;
    confer_replay_rc_t               rc;
    ngx_http_confer_replay_ctx_t    *ctx;
    ngx_http_confer_replay_shctx_t  *sh;

    ctx = zone->data;
    sh = ctx->sh;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    rc = confer_replay_check(&sh->set, enc, CONFER_HPKE_NENC,
                             (int64_t) expires, (int64_t) ngx_time());
    used = sh->set.used;

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    switch (rc) {

    case CONFER_REPLAY_NEW:
        return NGX_OK;

    case CONFER_REPLAY_SEEN:
        return NGX_DECLINED;

    default:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "confer: replay zone \"%V\" is full (%uz requests "
                      "within their keys' lifetime), request refused",
                      &zone->shm.name, used);
        return NGX_BUSY;
    }
}


/*
 * NGX_OK if the caller is the one to ask for a reload of the configuration
 * whose keys end at not_after: nobody asked yet, or the last request is a
 * tenth of a lifetime old (at most a minute) and the reload has not come.
 */
ngx_int_t
ngx_http_confer_replay_renew(ngx_shm_zone_t *zone, time_t not_after,
    time_t now)
{
    ngx_int_t                      rc;
    ngx_http_confer_replay_ctx_t  *ctx;

    ctx = zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    if (ctx->sh->renew_for == not_after && now < ctx->sh->renew_time + 1) {
        rc = NGX_DECLINED;

    } else {
        ctx->sh->renew_for = not_after;
        ctx->sh->renew_time = now;
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return rc;
}
