/*
 * ngx_confer_module: what the terminator's files share.  Private to
 * ngx_http_confer_terminator*.c, ngx_http_confer_keys.c and
 * ngx_http_confer_replay.c.
 *
 *   ngx_http_confer_terminator.c        directives, configuration, hooks
 *   ngx_http_confer_keys.c              key pairs, their lifetime, evidence
 *                                       and the attestation document
 *   ngx_http_confer_terminator_open.c   reads and opens OHTTP requests,
 *                                       rewrites the inner request
 *   ngx_http_confer_terminator_seal.c   seals the model server's answer
 *   ngx_http_confer_replay.c            shared-memory cache of enc values
 */


#ifndef _NGX_HTTP_CONFER_TERMINATOR_H_INCLUDED_
#define _NGX_HTTP_CONFER_TERMINATOR_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_confer_module.h"

#include "confer_hpke.h"
#include "confer_keyconfig.h"
#include "confer_ohttp.h"
#include "confer_chunked.h"
#include "confer_bhttp.h"
#include "confer_pad.h"


#define NGX_HTTP_CONFER_EVIDENCE_SIMULATED     1
#define NGX_HTTP_CONFER_EVIDENCE_CONFIGFS_TSM  2

#define NGX_HTTP_CONFER_TSM_ROOT  "/sys/kernel/config/tsm/report"

/* a chunk of a chunked request larger than this is refused */
#define NGX_HTTP_CONFER_MAX_CHUNK  (1024 * 1024)

/*
 * the reader's first buffer: a gateway's request chunk (16 KiB of
 * plaintext and its tag); it grows only for a client that sends larger ones
 */
#define NGX_HTTP_CONFER_FIRST_CHUNK  (16384 + CONFER_HPKE_NT)

/*
 * confer_coalesce: the longest window, and the most streamed plaintext held
 * in one; past it the held bytes are sealed at once (the gateway's first
 * buffer takes a chunk of this size without growing)
 */
#define NGX_HTTP_CONFER_COALESCE_MAX_WINDOW  60000
#define NGX_HTTP_CONFER_COALESCE_MAX_HELD    16384


/* one key pair in sodium_malloc()ed (locked, guarded) memory */
typedef struct {
    confer_ohttp_key_t            key;
    time_t                        not_after;
    time_t                        retire;       /* honoured before this */
} ngx_http_confer_key_t;


/* the keys of one configuration cycle, and what they are published as */
typedef struct ngx_http_confer_keys_s  ngx_http_confer_keys_t;

struct ngx_http_confer_keys_s {
    ngx_http_confer_key_t        *current;
    ngx_http_confer_key_t        *previous;     /* NULL: none or retired */

    time_t                        start;
    time_t                        grace_end;    /* previous honoured until */
    time_t                        renew_at;     /* 0: no self-renewal */

    ngx_str_t                     doc;          /* current key only */
    ngx_str_t                     doc_grace;    /* current and previous */

    ngx_http_confer_keys_t       *prior;        /* to restore on failure */
};


typedef struct {
    ngx_uint_t                    evidence;     /* 0: no confer_key */
    ngx_str_t                     sim_dir;
    ngx_str_t                     tsm_root;
    ngx_str_t                     certs;
    time_t                        lifetime;
    time_t                        grace;
    ngx_flag_t                    renew;
    ngx_msec_t                    tsm_timeout;

    ngx_uint_t                    gpu;          /* attest_gpu_source_t */
    ngx_str_t                     gpu_param;    /* "gpu=...", for logs */
    ngx_str_t                     gpu_path;     /* command or socket */
    ngx_uint_t                    gpu_count;    /* simulated GPUs */
    ngx_msec_t                    gpu_timeout;
    ngx_str_t                     collateral;   /* directory */

    ngx_shm_zone_t               *replay_zone;

    ngx_http_confer_keys_t       *keys;
    ngx_str_t                     conf_file;    /* where confer_key was */
    ngx_uint_t                    conf_line;
} ngx_http_confer_term_main_conf_t;


typedef struct {
    ngx_flag_t                    open;
    ngx_flag_t                    attestation;
    ngx_array_t                  *allow;        /* of ngx_str_t; "*" ends a
                                                   prefix */
    ngx_array_t                  *headers;      /* extra inner headers */
    off_t                         max_body;
    size_t                        pad;          /* SSE quantum */
    ngx_msec_t                    coalesce;     /* window; 0: every read
                                                   is its own chunk */
} ngx_http_confer_term_loc_conf_t;


typedef enum {
    NGX_HTTP_CONFER_ST_READING = 0,   /* body being read and opened */
    NGX_HTTP_CONFER_ST_FAILED,        /* refused; answer in plaintext */
    NGX_HTTP_CONFER_ST_OPENED,        /* inner request forwarded: seal */
    NGX_HTTP_CONFER_ST_SEALING,       /* header sealed, body going out */
    NGX_HTTP_CONFER_ST_DONE
} ngx_http_confer_term_state_e;


typedef struct {
    ngx_http_confer_term_state_e  state;
    ngx_uint_t                    chunked;      /* chunked OHTTP */
    ngx_uint_t                    status;       /* refusal status */
    const char                   *reason;       /* refusal reason code */

    confer_ohttp_ctx_t            ohttp;
    confer_chunked_reader_t       reader;       /* chunked requests */
    size_t                        chunk_max;    /* reader memory bound */

    ngx_buf_t                    *cipher;       /* whole plain request */
    ngx_buf_t                    *opened;       /* its plaintext */
    off_t                         received;     /* ciphertext bytes */

    confer_bhttp_decoder_t        bhttp;
    u_char                       *scratch;
    ngx_uint_t                    got_request:1;
    ngx_uint_t                    got_headers:1;
    ngx_uint_t                    got_end:1;
    ngx_uint_t                    body_done:1;
    ngx_uint_t                    filter_armed:1;
    ngx_uint_t                    waiting_body:1;
    ngx_uint_t                    sse:1;
    ngx_uint_t                    head_sent:1;
    ngx_uint_t                    adopt:1;      /* content in the reader's
                                                   buffer: detach it */

    /* the inner request as decoded (r->pool; wiped in the cleanup) */
    ngx_str_t                     method;
    ngx_str_t                     path;
    ngx_list_t                    fields;       /* of ngx_table_elt_t */
    ngx_chain_t                  *body;
    ngx_chain_t                 **body_last;
    off_t                         body_len;

    /* response */
    ngx_uint_t                    res_status;
    confer_bhttp_field_t         *res_fields;
    ngx_uint_t                    res_nfields;
    confer_bhttp_stream_t         stream;
    confer_pad_sse_t              pad;
    ngx_buf_t                    *held;         /* SSE bytes with no line
                                                   start yet; whole body of
                                                   a non-SSE answer */
    ngx_buf_t                    *pt;           /* plaintext of the chunk
                                                   being sealed, reused */
    ngx_chain_t                  *head_out;     /* sealed head of a whole
                                                   answer, sent with its end */
    ngx_chain_t                  *free;         /* sealed output buffers */
    ngx_chain_t                  *busy;
    ngx_event_t                  *coalesce;     /* confer_coalesce's timer,
                                                   armed while SSE bytes are
                                                   held for the window */

    ngx_array_t                   wipe;         /* of ngx_buf_t *: zeroed
                                                   when the request ends */
} ngx_http_confer_term_ctx_t;


extern ngx_module_t  ngx_http_confer_terminator_module;


/* ngx_http_confer_keys.c */
char *ngx_http_confer_keys_init(ngx_conf_t *cf,
    ngx_http_confer_term_main_conf_t *tmcf);
ngx_int_t ngx_http_confer_keys_init_process(ngx_cycle_t *cycle,
    ngx_http_confer_term_main_conf_t *tmcf);
const confer_ohttp_key_t *ngx_http_confer_keys_lookup(void *data,
    uint8_t key_id);
ngx_int_t ngx_http_confer_attestation_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_confer_keys_problem(ngx_http_request_t *r);

/* ngx_http_confer_replay.c */
ngx_shm_zone_t *ngx_http_confer_replay_zone(ngx_conf_t *cf, ngx_str_t *name,
    size_t size);
ngx_int_t ngx_http_confer_replay_check(ngx_http_request_t *r,
    ngx_shm_zone_t *zone, const u_char *enc, time_t expires);
ngx_int_t ngx_http_confer_replay_renew(ngx_shm_zone_t *zone,
    time_t not_after, time_t now);

/* ngx_http_confer_terminator_open.c */
ngx_int_t ngx_http_confer_open_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_confer_open_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
ngx_int_t ngx_http_confer_open_init(ngx_conf_t *cf);

/* ngx_http_confer_terminator_seal.c */
ngx_int_t ngx_http_confer_seal_init(ngx_conf_t *cf);

/* helpers shared by the files above */
ngx_int_t ngx_http_confer_term_refuse(ngx_http_request_t *r,
    ngx_uint_t status, const char *reason);
void ngx_http_confer_term_reset(ngx_buf_t *b);
void ngx_http_confer_term_wipe(ngx_http_confer_term_ctx_t *ctx,
    ngx_buf_t *b);


#endif /* _NGX_HTTP_CONFER_TERMINATOR_H_INCLUDED_ */
