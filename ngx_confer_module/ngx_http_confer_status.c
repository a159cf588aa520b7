
/*
 * ngx_confer_module: confer_status, the gateway's attestation state as
 * JSON: per terminator what was verified (the platform, its TCB and the
 * collateral that graded it, the GPUs bound to the document), until when,
 * the last error and the counters; and the requests gated and refused.
 * Nothing of any request is in it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_confer_module.h"
#include "ngx_http_confer_cache.h"


/* the fixed text of one terminator, and of one GPU, generously */
#define NGX_HTTP_CONFER_STATUS_ENTRY  2048
#define NGX_HTTP_CONFER_STATUS_GPU    1024


static ngx_chain_t *ngx_http_confer_status_zone(ngx_http_request_t *r,
    ngx_shm_zone_t *zone);
static ngx_chain_t *ngx_http_confer_status_terminator(ngx_http_request_t *r,
    ngx_http_confer_terminator_t *t, ngx_uint_t comma);
static const char *ngx_http_confer_status_state(
    ngx_http_confer_cache_node_t *node, ngx_int_t found);
static u_char *ngx_http_confer_status_string(u_char *p, u_char *s,
    size_t len);
static size_t ngx_http_confer_status_string_len(u_char *s, size_t len);
static u_char *ngx_http_confer_status_reasons(u_char *p,
    ngx_atomic_uint_t *counts);
static u_char *ngx_http_confer_status_tcb(u_char *p,
    ngx_http_confer_cache_node_t *node);
static u_char *ngx_http_confer_status_gpus(u_char *p,
    ngx_http_confer_cache_node_t *node);
static u_char *ngx_http_confer_status_cstr(u_char *p, const char *s,
    size_t max);


ngx_int_t
ngx_http_confer_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                              rc;
    ngx_uint_t                             i, n;
    ngx_buf_t                             *b;
    ngx_chain_t                           *out, **ll, *cl;
    ngx_http_confer_terminator_t         **ts;
    ngx_http_confer_gateway_main_conf_t   *gmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_confer_gateway_module);

    out = ngx_http_confer_status_zone(r, gmcf->shm_zone);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ll = &out->next;
    ts = gmcf->terminators.elts;
    n = 0;

    /* one object per cache entry: a terminator under one policy */
    for (i = 0; i < gmcf->terminators.nelts; i++) {
        if (!ts[i]->first) {
            continue;
        }

        cl = ngx_http_confer_status_terminator(r, ts[i], n++ > 0);
        if (cl == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *ll = cl;
        ll = &cl->next;
    }

    b = ngx_create_temp_buf(r->pool, sizeof("]}\n"));
    cl = ngx_alloc_chain_link(r->pool);
    if (b == NULL || cl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, "]}\n", sizeof("]}\n") - 1);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;
    *ll = cl;

    return ngx_http_confer_send(r, NGX_HTTP_OK, "application/json", out);
}


static ngx_chain_t *
ngx_http_confer_status_zone(ngx_http_request_t *r, ngx_shm_zone_t *zone)
{
    size_t                          len;
    ngx_buf_t                      *b;
    ngx_chain_t                    *cl;
    ngx_http_confer_cache_stats_t   stats;

    ngx_http_confer_cache_stats(zone, &stats);

    len = sizeof("{\"zone\":,\"time\":,\"requests\":{\"gated\":,"
                 "\"refused\":,\"waiting\":,\"refusals\":{}},"
                 "\"terminators\":[")
          + ngx_http_confer_status_string_len(zone->shm.name.data,
                                              zone->shm.name.len)
          + 4 * NGX_ATOMIC_T_LEN + NGX_TIME_T_LEN
          + NGX_HTTP_CONFER_NREASONS * (32 + NGX_ATOMIC_T_LEN);

    b = ngx_create_temp_buf(r->pool, len);
    cl = ngx_alloc_chain_link(r->pool);
    if (b == NULL || cl == NULL) {
        return NULL;
    }

    b->last = ngx_cpymem(b->last, "{\"zone\":", sizeof("{\"zone\":") - 1);
    b->last = ngx_http_confer_status_string(b->last, zone->shm.name.data,
                                            zone->shm.name.len);
    b->last = ngx_sprintf(b->last, ",\"time\":%T,\"requests\":{\"gated\":%uA,"
                          "\"refused\":%uA,\"waiting\":%uA,\"refusals\":",
                          ngx_time(), stats.gated, stats.refused,
                          stats.waiting);
    b->last = ngx_http_confer_status_reasons(b->last, stats.refusals);
    b->last = ngx_cpymem(b->last, "},\"terminators\":[",
                         sizeof("},\"terminators\":[") - 1);

    cl->buf = b;
    cl->next = NULL;

    return cl;
}


static ngx_chain_t *
ngx_http_confer_status_terminator(ngx_http_request_t *r,
    ngx_http_confer_terminator_t *t, ngx_uint_t comma)
{
    u_char                        *p;
    size_t                         len, dlen;
    ngx_int_t                      found;
    ngx_buf_t                     *b;
    ngx_uint_t                     i, n;
    ngx_chain_t                   *cl;
    ngx_http_confer_cache_node_t  *node;

    node = ngx_pcalloc(r->pool, sizeof(ngx_http_confer_cache_node_t));
    if (node == NULL) {
        return NULL;
    }

    found = ngx_http_confer_cache_snapshot(t, node);

    dlen = ngx_strlen(node->detail);

    len = NGX_HTTP_CONFER_STATUS_ENTRY
          + ngx_http_confer_status_string_len(t->url.data, t->url.len)
          + ngx_http_confer_status_string_len(t->attestation.data,
                                              t->attestation.len)
          + ngx_http_confer_status_string_len(t->endpoint.data,
                                              t->endpoint.len)
          + ngx_http_confer_status_string_len(t->policy_file.data,
                                              t->policy_file.len)
          + ngx_http_confer_status_string_len(node->detail, dlen)
          + node->ngpu * NGX_HTTP_CONFER_STATUS_GPU
          + NGX_HTTP_CONFER_NREASONS * (32 + NGX_ATOMIC_T_LEN)
          + NGX_HTTP_CONFER_SEAL_ERR_LAST * (32 + NGX_ATOMIC_T_LEN);

    b = ngx_create_temp_buf(r->pool, len);
    cl = ngx_alloc_chain_link(r->pool);
    if (b == NULL || cl == NULL) {
        return NULL;
    }

    p = b->last;

    if (comma) {
        *p++ = ',';
    }

    p = ngx_cpymem(p, "{\"url\":", sizeof("{\"url\":") - 1);

    p = ngx_http_confer_status_string(p, t->url.data, t->url.len);
    p = ngx_cpymem(p, ",\"attestation\":", sizeof(",\"attestation\":") - 1);
    p = ngx_http_confer_status_string(p, t->attestation.data,
                                      t->attestation.len);
    p = ngx_cpymem(p, ",\"endpoint\":", sizeof(",\"endpoint\":") - 1);
    p = ngx_http_confer_status_string(p, t->endpoint.data, t->endpoint.len);
    p = ngx_cpymem(p, ",\"policy\":", sizeof(",\"policy\":") - 1);
    p = ngx_http_confer_status_string(p, t->policy_file.data,
                                      t->policy_file.len);

    /* the flag of a worker that died mid-fetch expires */
    if (found == NGX_OK && node->updating
        && (ngx_msec_int_t) (node->updating_until - ngx_current_msec) <= 0)
    {
        node->updating = 0;
    }

    p = ngx_sprintf(p, ",\"state\":\"%s\",\"updating\":%s",
                    ngx_http_confer_status_state(node, found),
                    found == NGX_OK && node->updating ? "true" : "false");

    if (found == NGX_OK && node->updating) {
        p = ngx_sprintf(p, ",\"updater\":%P", node->updater);
    }

    if (found == NGX_OK && node->valid) {

        p = ngx_sprintf(p, ",\"platform\":\"%s\",\"measurement\":\"",
                        attest_platform_name(node->platform));
        p = ngx_hex_dump(p, node->measurement, sizeof(node->measurement));

        p = ngx_sprintf(p, "\",\"debug\":%s",
                        node->debug ? "true" : "false");

        p = ngx_http_confer_status_tcb(p, node);
        p = ngx_http_confer_status_gpus(p, node);

        p = ngx_cpymem(p, ",\"key_ids\":[", sizeof(",\"key_ids\":[") - 1);

        for (i = 0; i < node->nkeys; i++) {
            p = ngx_sprintf(p, "%s%ud", i ? "," : "",
                            (unsigned) node->key_ids[i]);
        }

        p = ngx_sprintf(p, "],\"verified_at\":%T,\"not_after\":%T,"
                        "\"valid_until\":%T,\"refresh_at\":%T",
                        node->verified_at, node->not_after,
                        node->valid_until,
                        (time_t) (node->refresh_at / 1000));
    }

    if (found == NGX_OK && node->failed_at) {
        p = ngx_sprintf(p, ",\"last_error\":{\"reason\":\"%s\",\"at\":%T,"
                        "\"detail\":",
                        ngx_http_confer_reason_name(node->reason),
                        node->failed_at);
        p = ngx_http_confer_status_string(p, node->detail, dlen);
        *p++ = '}';
    }

    p = ngx_sprintf(p, ",\"counters\":{\"fetches\":%uA,\"verified\":%uA,"
                    "\"failed\":",
                    node->fetches, node->verified);
    p = ngx_http_confer_status_reasons(p, node->failures);

    p = ngx_sprintf(p, ",\"gated\":%uA,\"sealed\":%uA,\"prepared\":%uA,"
                    "\"key_rejected\":%uA,\"seal_failed\":{",
                    node->gated, node->sealed, node->prepared,
                    node->rejected);

    for (i = 0, n = 0; i < NGX_HTTP_CONFER_SEAL_ERR_LAST; i++) {
        if (node->seal_failures[i] == 0) {
            continue;
        }

        p = ngx_sprintf(p, "%s\"%s\":%uA", n++ ? "," : "",
                        ngx_http_confer_seal_err_name(i),
                        node->seal_failures[i]);
    }

    p = ngx_cpymem(p, "}}}", 3);

    b->last = p;

    cl->buf = b;
    cl->next = NULL;

    return cl;
}


static const char *
ngx_http_confer_status_state(ngx_http_confer_cache_node_t *node,
    ngx_int_t found)
{
    if (found != NGX_OK) {
        return "cold";
    }

    if (node->valid && !node->stale
        && ngx_http_confer_wall_msec() < (uint64_t) node->valid_until * 1000)
    {
        return "verified";
    }

    if (node->updating) {
        return "attesting";
    }

    if (node->failed) {
        return "failed";
    }

    if (node->stale) {
        return "key_rejected";
    }

    if (node->valid) {
        return "expired";
    }

    return "cold";
}


static u_char *
ngx_http_confer_status_string(u_char *p, u_char *s, size_t len)
{
    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, s, len);
    *p++ = '"';

    return p;
}


static size_t
ngx_http_confer_status_string_len(u_char *s, size_t len)
{
    return 2 + len + ngx_escape_json(NULL, s, len);
}


/* {"reason": count, ...}, the non-zero ones */
static u_char *
ngx_http_confer_status_reasons(u_char *p, ngx_atomic_uint_t *counts)
{
    ngx_uint_t  i, n;

    *p++ = '{';
    n = 0;

    for (i = 0; i < NGX_HTTP_CONFER_NREASONS; i++) {
        if (counts[i] == 0) {
            continue;
        }

        p = ngx_sprintf(p, "%s\"%s\":%uA", n++ ? "," : "",
                        ngx_http_confer_reason_name(i), counts[i]);
    }

    *p++ = '}';

    return p;
}


/*
 * What graded the platform: SEV-SNP's reported TCB (the certificate's TCB
 * matched it); TDX's statuses from the collateral the document carried,
 * and the TCB recovery a grace period runs from; when the collateral and
 * the certificate chains run out.
 */
static u_char *
ngx_http_confer_status_tcb(u_char *p, ngx_http_confer_cache_node_t *node)
{
    if (node->platform == ATTEST_PLATFORM_TDX) {
        p = ngx_cpymem(p, ",\"tcb\":{\"status\":",
                       sizeof(",\"tcb\":{\"status\":") - 1);
        p = ngx_http_confer_status_cstr(p, node->tcb_status,
                                        sizeof(node->tcb_status));
        p = ngx_cpymem(p, ",\"qe_status\":",
                       sizeof(",\"qe_status\":") - 1);
        p = ngx_http_confer_status_cstr(p, node->qe_tcb_status,
                                        sizeof(node->qe_tcb_status));
        p = ngx_cpymem(p, ",\"fmspc\":\"", sizeof(",\"fmspc\":\"") - 1);
        p = ngx_hex_dump(p, node->fmspc, sizeof(node->fmspc));
        *p++ = '"';

        if (node->tcb_recovery_date) {
            p = ngx_sprintf(p, ",\"recovery_date\":%T",
                            node->tcb_recovery_date);
        }

        *p++ = '}';

    } else {
        p = ngx_sprintf(p, ",\"product\":\"%s\",\"vmpl\":%uD,"
                        "\"tcb\":{\"bootloader\":%ud,\"tee\":%ud,"
                        "\"snp\":%ud,\"microcode\":%ud,\"fmc\":%ud}",
                        node->product, node->vmpl,
                        (unsigned) node->tcb.bootloader,
                        (unsigned) node->tcb.tee,
                        (unsigned) node->tcb.snp,
                        (unsigned) node->tcb.microcode,
                        (unsigned) node->tcb.fmc);
    }

    if (node->collateral_not_after) {
        p = ngx_sprintf(p, ",\"collateral_not_after\":%T",
                        node->collateral_not_after);
    }

    if (node->chain_not_after) {
        p = ngx_sprintf(p, ",\"chain_not_after\":%T",
                        node->chain_not_after);
    }

    return p;
}


/* the GPUs and NVSwitches whose evidence was verified and bound */
static u_char *
ngx_http_confer_status_gpus(u_char *p, ngx_http_confer_cache_node_t *node)
{
    ngx_uint_t           i, ngpu, nsw;
    attest_gpu_facts_t  *g;

    ngpu = 0;
    nsw = 0;

    for (i = 0; i < node->ngpu; i++) {
        if (node->gpu[i].kind == ATTEST_GPU_SWITCH) {
            nsw++;

        } else {
            ngpu++;
        }
    }

    p = ngx_sprintf(p, ",\"gpus\":{\"count\":%ui,\"switches\":%ui,"
                    "\"devices\":[", ngpu, nsw);

    for (i = 0; i < node->ngpu; i++) {
        g = &node->gpu[i];

        p = ngx_sprintf(p, "%s{\"kind\":\"%s\",\"simulated\":%s,"
                        "\"model\":", i ? "," : "",
                        g->kind == ATTEST_GPU_SWITCH ? "nvswitch" : "gpu",
                        g->simulated ? "true" : "false");
        p = ngx_http_confer_status_cstr(p, g->model, sizeof(g->model));
        p = ngx_cpymem(p, ",\"arch\":", sizeof(",\"arch\":") - 1);
        p = ngx_http_confer_status_cstr(p, g->arch, sizeof(g->arch));
        p = ngx_cpymem(p, ",\"driver\":", sizeof(",\"driver\":") - 1);
        p = ngx_http_confer_status_cstr(p, g->driver, sizeof(g->driver));
        p = ngx_cpymem(p, ",\"vbios\":", sizeof(",\"vbios\":") - 1);
        p = ngx_http_confer_status_cstr(p, g->vbios, sizeof(g->vbios));

        if (g->has_fwid) {
            p = ngx_cpymem(p, ",\"fwid\":\"", sizeof(",\"fwid\":\"") - 1);
            p = ngx_hex_dump(p, g->fwid, sizeof(g->fwid));
            *p++ = '"';
        }

        p = ngx_sprintf(p, ",\"chain_not_after\":%T}", g->chain_not_after);
    }

    return ngx_cpymem(p, "]}", 2);
}


/* a NUL-terminated field of at most max bytes, as a JSON string */
static u_char *
ngx_http_confer_status_cstr(u_char *p, const char *s, size_t max)
{
    return ngx_http_confer_status_string(p, (u_char *) s,
                                         ngx_strnlen((u_char *) s, max));
}
