/*
 * ngx_confer_module: the terminator's replay cache.
 *
 * A shared-memory set of the encapsulated keys (enc, RFC 9458 4.3) of the
 * requests this terminator opened, shared by all workers and kept across
 * reloads (same zone name and size).  An enc seen again while its key is
 * honoured is a replay and refused.  An entry lives until its key retires
 * (not_after + grace): after that the key itself is refused, so the entry
 * has nothing left to guard.
 *
 * When the zone is full even after dropping retired entries, a new
 * request is refused with 503 (fail closed; nothing is evicted early,
 * since an evicted enc could be replayed).  Size the zone for the peak
 * request rate times the key lifetime: an entry takes 128 bytes of slab,
 * so 1m holds about 7,000 requests.
 *
 * The zone also records which configuration already asked the master to
 * reload itself before its keys expire, so that only one worker does.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_confer_terminator.h"


typedef struct {
    u_char                        color;
    u_char                        pad[7];
    time_t                        expires;
    ngx_queue_t                   queue;
    u_char                        enc[CONFER_HPKE_NENC];
} ngx_http_confer_replay_node_t;


typedef struct {
    ngx_rbtree_t                  rbtree;
    ngx_rbtree_node_t             sentinel;
    ngx_queue_t                   queue;        /* oldest first */
    time_t                        renew_for;    /* not_after that asked */
    time_t                        renew_time;
} ngx_http_confer_replay_shctx_t;


typedef struct {
    ngx_http_confer_replay_shctx_t  *sh;
    ngx_slab_pool_t                 *shpool;
} ngx_http_confer_replay_ctx_t;


static ngx_int_t ngx_http_confer_replay_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_confer_replay_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_confer_replay_expire(ngx_http_confer_replay_ctx_t *ctx,
    time_t now);


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

    size_t                         len;
    ngx_http_confer_replay_ctx_t  *ctx;

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

    ctx->sh = ngx_slab_alloc(ctx->shpool,
                             sizeof(ngx_http_confer_replay_shctx_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    ngx_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel,
                    ngx_http_confer_replay_insert);
    ngx_queue_init(&ctx->sh->queue);

    len = sizeof(" in confer replay zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in confer replay zone \"%V\"%Z",
                &shm_zone->shm.name);

    ctx->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_confer_replay_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t              **p;
    ngx_http_confer_replay_node_t   *n, *t;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            n = (ngx_http_confer_replay_node_t *) &node->color;
            t = (ngx_http_confer_replay_node_t *) &temp->color;

            p = (ngx_memcmp(n->enc, t->enc, CONFER_HPKE_NENC) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static void
ngx_http_confer_replay_expire(ngx_http_confer_replay_ctx_t *ctx, time_t now)
{
    ngx_queue_t                    *q, *next;
    ngx_rbtree_node_t              *node;
    ngx_http_confer_replay_node_t  *rn;

    /* entries of different keys interleave: walk them all, oldest first,
     * but only as long as something is due (the common case stops early) */
    for (q = ngx_queue_head(&ctx->sh->queue);
         q != ngx_queue_sentinel(&ctx->sh->queue);
         q = next)
    {
        next = ngx_queue_next(q);

        rn = ngx_queue_data(q, ngx_http_confer_replay_node_t, queue);

        if (rn->expires >= now) {
            continue;
        }

        node = (ngx_rbtree_node_t *)
                   ((u_char *) rn - offsetof(ngx_rbtree_node_t, color));

        ngx_queue_remove(q);
        ngx_rbtree_delete(&ctx->sh->rbtree, node);
        ngx_slab_free_locked(ctx->shpool, node);
    }
}


/*
 * NGX_OK: first time, recorded; NGX_DECLINED: a replay; NGX_BUSY: the zone
 * is full.
 */
ngx_int_t
ngx_http_confer_replay_check(ngx_http_request_t *r, ngx_shm_zone_t *zone,
    const u_char *enc, time_t expires)
{
    size_t                          n;
    time_t                          now;
    ngx_int_t                       rc;
    ngx_rbtree_key_t                key;
    ngx_rbtree_node_t              *node, *sentinel;
    ngx_http_confer_replay_ctx_t   *ctx;
    ngx_http_confer_replay_node_t  *rn;

    ctx = zone->data;
    now = ngx_time();

    key = 0;
    ngx_memcpy(&key, enc, sizeof(ngx_rbtree_key_t));

    ngx_shmtx_lock(&ctx->shpool->mutex);

    node = ctx->sh->rbtree.root;
    sentinel = ctx->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key < node->key) {
            node = node->left;
            continue;
        }

        if (key > node->key) {
            node = node->right;
            continue;
        }

        rn = (ngx_http_confer_replay_node_t *) &node->color;

        rc = ngx_memcmp(enc, rn->enc, CONFER_HPKE_NENC);

        if (rc == 0) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return NGX_DECLINED;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    n = offsetof(ngx_rbtree_node_t, color)
        + sizeof(ngx_http_confer_replay_node_t);

    node = ngx_slab_alloc_locked(ctx->shpool, n);

    if (node == NULL) {
        ngx_http_confer_replay_expire(ctx, now);
        node = ngx_slab_alloc_locked(ctx->shpool, n);
    }

    if (node == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "confer: replay zone \"%V\" is full, request refused",
                      &zone->shm.name);
        return NGX_BUSY;
    }

    node->key = key;

    rn = (ngx_http_confer_replay_node_t *) &node->color;
    rn->expires = expires;
    ngx_memcpy(rn->enc, enc, CONFER_HPKE_NENC);

    ngx_rbtree_insert(&ctx->sh->rbtree, node);
    ngx_queue_insert_tail(&ctx->sh->queue, &rn->queue);

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
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
