
/*
 * ngx_confer_module: the gateway's attestation cache, shared by all
 * workers (confer_cache zone=NAME:SIZE), and what the gateway's files
 * share about terminators.
 *
 * One entry per terminator URL, attestation path and policy (by digest),
 * holding the verified state and counters.  One worker fetches and
 * verifies at a time (an "updating" flag with a deadline); requests
 * elsewhere poll the entry by timer.  A verified key serves until it is
 * invalid while a refresh runs ahead of its end; a failure is remembered
 * for retry= so that a terminator that is down is not hammered.
 */


#ifndef _NGX_HTTP_CONFER_CACHE_H_INCLUDED_
#define _NGX_HTTP_CONFER_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "attest.h"
#include "ngx_http_confer_fetch.h"
#include "ngx_http_confer_gateway.h"


/*
 * Reason codes: attest_err_t values as they are, then the fetch errors,
 * then the gateway's own.  ngx_http_confer_reason_name() gives the code
 * that logs, $confer_reason, error bodies and confer_status show.
 */
#define NGX_HTTP_CONFER_REASON_FETCH     ATTEST_ERR_LAST
#define NGX_HTTP_CONFER_REASON_GATEWAY                                        \
    (NGX_HTTP_CONFER_REASON_FETCH + NGX_HTTP_CONFER_FETCH_LAST)

typedef enum {
    NGX_HTTP_CONFER_REASON_KEYS = NGX_HTTP_CONFER_REASON_GATEWAY,
                                          /* "bad_key_config" */
    NGX_HTTP_CONFER_REASON_NO_AEAD,       /* "no_common_aead" */
    NGX_HTTP_CONFER_REASON_ZONE_FULL,     /* "cache_full" */
    NGX_HTTP_CONFER_REASON_WAIT,          /* "attestation_timeout" */
    NGX_HTTP_CONFER_REASON_LAST
} ngx_http_confer_reason_e;

#define NGX_HTTP_CONFER_NREASONS  NGX_HTTP_CONFER_REASON_LAST


/* one terminator of one confer_seal directive */
typedef struct {
    ngx_str_t                        url;          /* as configured */
    ngx_str_t                        attestation;  /* document path */
    ngx_str_t                        endpoint;     /* OHTTP resource */
    ngx_str_t                        policy_file;
    attest_policy_t                 *policy;
    ngx_str_t                        key;          /* of the cache entry */
    uint32_t                         hash;
    ngx_msec_t                       retry;
    ngx_http_confer_fetch_target_t   target;
    ngx_shm_zone_t                  *shm_zone;
    ngx_uint_t                       index;        /* in its directive */
    ngx_uint_t                       first;        /* first with its key */
    u_char                          *file;         /* of the directive */
    ngx_uint_t                       line;
} ngx_http_confer_terminator_t;


typedef struct {
    ngx_shm_zone_t                  *shm_zone;
    ngx_array_t                      terminators;  /* of pointers */
    ngx_event_t                      timer;        /* refreshes, per worker */
} ngx_http_confer_gateway_main_conf_t;


/* the shared state of one terminator, copied out by snapshot() */
typedef struct {
    ngx_str_node_t                   sn;           /* key in data[] */
    ngx_queue_t                      queue;        /* recently used first */

    unsigned                         valid:1;      /* a verified key */
    unsigned                         stale:1;      /* refused by it */
    unsigned                         updating:1;
    unsigned                         failed:1;     /* the last attempt */

    ngx_uint_t                       generation;
    ngx_msec_t                       updating_until;   /* monotonic */
    ngx_msec_t                       retry_at;         /* monotonic */
    ngx_pid_t                        updater;

    /* the last verified document */
    attest_platform_t                platform;
    u_char                           measurement[48];
    char                             product[16];
    attest_snp_tcb_t                 tcb;
    char                             tcb_status[ATTEST_TCB_STATUS_LEN];
    char                             qe_tcb_status[ATTEST_TCB_STATUS_LEN];
    u_char                           fmspc[6];         /* TDX */
    time_t                           tcb_recovery_date;
    time_t                           chain_not_after;
    time_t                           collateral_not_after;
    uint32_t                         vmpl;
    unsigned                         debug:1;
    ngx_uint_t                       ngpu;             /* GPUs and
                                                          NVSwitches */
    attest_gpu_facts_t               gpu[ATTEST_MAX_GPUS];
    u_char                           key_ids[8];
    ngx_uint_t                       nkeys;
    time_t                           verified_at;
    time_t                           not_after;
    time_t                           valid_until;
    uint64_t                         refresh_at;       /* wall ms */
    size_t                           keys_len;
    u_char                           keys[ATTEST_MAX_OHTTP_KEYS];

    /* the last failure */
    ngx_uint_t                       reason;
    time_t                           failed_at;
    u_char                           detail[160];

    time_t                           last_used;

    /* counters */
    ngx_atomic_uint_t                fetches;
    ngx_atomic_uint_t                verified;
    ngx_atomic_uint_t                gated;
    ngx_atomic_uint_t                sealed;
    ngx_atomic_uint_t                prepared;         /* of those sealed */
    ngx_atomic_uint_t                rejected;         /* ohttp-key */
    ngx_atomic_uint_t                failures[NGX_HTTP_CONFER_NREASONS];
    ngx_atomic_uint_t                seal_failures[
                                         NGX_HTTP_CONFER_SEAL_ERR_LAST];

    u_char                           data[1];
} ngx_http_confer_cache_node_t;


/* zone-wide counters */
typedef struct {
    ngx_atomic_uint_t                gated;
    ngx_atomic_uint_t                refused;
    ngx_atomic_uint_t                waiting;          /* requests now */
    ngx_atomic_uint_t                refusals[NGX_HTTP_CONFER_NREASONS];
} ngx_http_confer_cache_stats_t;


typedef enum {
    NGX_HTTP_CONFER_CACHE_HIT = 0,       /* *key is a verified key */
    NGX_HTTP_CONFER_CACHE_WAIT,          /* a fetch is under way */
    NGX_HTTP_CONFER_CACHE_FAILED         /* no key: *reason, *retry_in */
} ngx_http_confer_cache_rc_e;

typedef enum {
    NGX_HTTP_CONFER_COUNT_GATED = 0,
    NGX_HTTP_CONFER_COUNT_SEALED,
    NGX_HTTP_CONFER_COUNT_SEALED_PREPARED,   /* sealed, and prepared */
    NGX_HTTP_CONFER_COUNT_REJECTED
} ngx_http_confer_count_e;


const char *ngx_http_confer_reason_name(ngx_uint_t reason);

char *ngx_http_confer_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * The gate's look-up: a verified key (copied into pool), or wait, or the
 * remembered failure.  Starts a fetch when one is due and none runs
 * anywhere: for a missing or invalid key (the caller then waits) or ahead
 * of the key's end (the key still serves).
 */
ngx_http_confer_cache_rc_e ngx_http_confer_cache_get(
    ngx_http_confer_terminator_t *t, ngx_pool_t *pool,
    ngx_http_confer_key_t **key, ngx_uint_t *reason, ngx_msec_t *retry_in);

/* a timer's look: starts a refresh that is due for an entry in use;
 * returns the milliseconds until this entry next needs a look */
ngx_msec_t ngx_http_confer_cache_tick(ngx_http_confer_terminator_t *t);

void ngx_http_confer_cache_stale(ngx_http_confer_terminator_t *t,
    ngx_uint_t generation);
void ngx_http_confer_cache_count(ngx_http_confer_terminator_t *t,
    ngx_http_confer_count_e what);
void ngx_http_confer_cache_count_seal_failed(
    ngx_http_confer_terminator_t *t, ngx_http_confer_seal_err_e err);
void ngx_http_confer_cache_refused(ngx_shm_zone_t *zone, ngx_uint_t reason);
void ngx_http_confer_cache_waiting(ngx_shm_zone_t *zone, ngx_int_t delta);

/* copies of an entry (NGX_DECLINED: none yet) and of the zone counters */
ngx_int_t ngx_http_confer_cache_snapshot(ngx_http_confer_terminator_t *t,
    ngx_http_confer_cache_node_t *copy);
void ngx_http_confer_cache_stats(ngx_shm_zone_t *zone,
    ngx_http_confer_cache_stats_t *copy);

/* between the gateway's files */
ngx_int_t ngx_http_confer_status_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_confer_gateway_add_variables(ngx_conf_t *cf);
uint64_t ngx_http_confer_wall_msec(void);
void ngx_http_confer_gateway_schedule(ngx_msec_t delay);


#endif /* _NGX_HTTP_CONFER_CACHE_H_INCLUDED_ */
