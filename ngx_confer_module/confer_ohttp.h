/*
 * Oblivious HTTP message encapsulation, RFC 9458, 4: requests sealed to a
 * key configuration with HPKE, responses sealed with a key exported from
 * the request's HPKE context.  The chunked variant (confer_chunked.h) uses
 * the same context and error codes.  No nginx header.
 *
 * One confer_ohttp_ctx_t serves one request/response exchange on either
 * side: the client encapsulates the request and later decapsulates the
 * response with it, the server the other way round.  It is caller-owned;
 * confer_ohttp_cleanup() wipes it.
 */

#ifndef CONFER_OHTTP_H
#define CONFER_OHTTP_H

#include <stddef.h>
#include <stdint.h>

#include "confer_hpke.h"
#include "confer_keyconfig.h"

/* RFC 9458, 4.1: key id, KEM, KDF, AEAD */
#define CONFER_OHTTP_HDR_SIZE      7
/* header and enc: what precedes the ciphertext of a request */
#define CONFER_OHTTP_REQ_PREFIX    (CONFER_OHTTP_HDR_SIZE + CONFER_HPKE_NENC)
/* max(Nn, Nk) for the AEADs here */
#define CONFER_OHTTP_NONCE_MAX     CONFER_HPKE_NK_MAX


typedef enum {
    CONFER_OHTTP_OK = 0,
    CONFER_OHTTP_AGAIN,                  /* chunked reader: needs more input */
    CONFER_OHTTP_NEED_SPACE,             /* chunked reader: needs a larger
                                            buffer (not an error) */
    CONFER_OHTTP_ERR_UNKNOWN_KEY,        /* key id not known (key problem) */
    CONFER_OHTTP_ERR_UNSUPPORTED_SUITE,  /* KEM/KDF/AEAD not offered by that
                                            key (key problem) */
    CONFER_OHTTP_ERR_TRUNCATED,          /* too short to hold the message */
    CONFER_OHTTP_ERR_MALFORMED,          /* chunk framing is wrong */
    CONFER_OHTTP_ERR_BAD_ENC,            /* encapsulated key is unusable */
    CONFER_OHTTP_ERR_DECRYPT,            /* authentication failed: tampered,
                                            wrong key or reordered */
    CONFER_OHTTP_ERR_CHUNK_TOO_LARGE,    /* above the reader's bound */
    CONFER_OHTTP_ERR_INCOMPLETE,         /* stream ended before the
                                            authenticated final chunk */
    CONFER_OHTTP_ERR_STATE,              /* call out of order, or after the
                                            final chunk */
    CONFER_OHTTP_ERR_NO_COMMON_SUITE,    /* client: config offers nothing */
    CONFER_OHTTP_ERR_BUFFER_TOO_SMALL,
    CONFER_OHTTP_ERR_CRYPTO,             /* a library call failed */
    CONFER_OHTTP_ERR_LAST
} confer_ohttp_err_t;


/* plain RFC 9458 messages or the chunked draft: labels differ */
typedef enum {
    CONFER_OHTTP_MODE_PLAIN = 0,
    CONFER_OHTTP_MODE_CHUNKED
} confer_ohttp_mode_t;


/* a server's key: the configuration it publishes and the private key */
typedef struct {
    confer_keyconfig_t     config;
    confer_hpke_keypair_t  kp;
} confer_ohttp_key_t;

/* finds the key for a key id, NULL if there is none */
typedef const confer_ohttp_key_t *(*confer_ohttp_lookup_pt)(void *data,
    uint8_t key_id);


typedef struct {
    confer_hpke_ctx_t      hpke;
    confer_aead_t          res_aead;
    uint8_t                res_nonce[CONFER_HPKE_NN];   /* aead_nonce */
    uint64_t               res_counter;                 /* next chunk */
    uint8_t                hdr[CONFER_OHTTP_HDR_SIZE];
    uint8_t                enc[CONFER_HPKE_NENC];
    uint8_t                mode;
    unsigned               client:1;
    unsigned               req_ready:1;   /* HPKE context set up */
    unsigned               res_ready:1;   /* response AEAD derived */
    unsigned               req_final:1;   /* final request chunk done */
    unsigned               res_final:1;   /* final response chunk done */

    /*
     * An Encap prepared ahead (confer_hpke_encap_prepare) that the
     * client's setup uses, and wipes, when it was made for the key
     * configuration's public key; otherwise the setup makes a fresh one.
     * Set by the caller after confer_ohttp_init, before the setup.
     */
    confer_hpke_encap_t   *encap;

    /* test hooks (RFC 9458 Appendix A, chunked draft example) */
    unsigned               test_eph_set:1;
    unsigned               test_nonce_set:1;
    confer_hpke_keypair_t  test_eph;
    uint8_t                test_nonce[CONFER_OHTTP_NONCE_MAX];
} confer_ohttp_ctx_t;


const char *confer_ohttp_strerror(confer_ohttp_err_t err);

/*
 * True for the errors that RFC 9458, 5.3 answers with the key
 * configuration problem (unknown key id, suite the key does not offer).
 */
int confer_ohttp_is_key_problem(confer_ohttp_err_t err);

void confer_ohttp_init(confer_ohttp_ctx_t *ctx);
void confer_ohttp_cleanup(confer_ohttp_ctx_t *ctx);

/* test only: fixed ephemeral private key and response nonce */
confer_ohttp_err_t confer_ohttp_test_set_ephemeral(confer_ohttp_ctx_t *ctx,
    const uint8_t *sk, size_t n);
confer_ohttp_err_t confer_ohttp_test_set_response_nonce(
    confer_ohttp_ctx_t *ctx, const uint8_t *nonce, size_t n);

/* sizes of whole messages for a plaintext length */
size_t confer_ohttp_request_size(size_t pt_len);
size_t confer_ohttp_response_size(uint16_t aead_id, size_t pt_len);
/* max(Nn, Nk): the response nonce; 0 for an unknown AEAD */
size_t confer_ohttp_response_nonce_size(uint16_t aead_id);


/* RFC 9458, 4.3: client encapsulation of a request */
confer_ohttp_err_t confer_ohttp_encapsulate_request(confer_ohttp_ctx_t *ctx,
    const confer_keyconfig_t *kc, const confer_hpke_suite_t *suite,
    const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap,
    size_t *out_len);

/*
 * RFC 9458, 4.3: server decapsulation.  out needs n - 55 bytes.  An
 * unknown key id gives CONFER_OHTTP_ERR_UNKNOWN_KEY, a suite the key does
 * not offer CONFER_OHTTP_ERR_UNSUPPORTED_SUITE; anything else that is
 * wrong is TRUNCATED, BAD_ENC or DECRYPT.
 */
confer_ohttp_err_t confer_ohttp_decapsulate_request(confer_ohttp_ctx_t *ctx,
    confer_ohttp_lookup_pt lookup, void *data, const uint8_t *in, size_t n,
    uint8_t *out, size_t cap, size_t *out_len);

/* RFC 9458, 4.4: server encapsulation of the response */
confer_ohttp_err_t confer_ohttp_encapsulate_response(confer_ohttp_ctx_t *ctx,
    const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap,
    size_t *out_len);

/* RFC 9458, 4.4: client decapsulation of the response */
confer_ohttp_err_t confer_ohttp_decapsulate_response(confer_ohttp_ctx_t *ctx,
    const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_len);


/*
 * The steps the functions above are made of, shared with the chunked
 * variant.  client_setup writes the header and enc (CONFER_OHTTP_REQ_PREFIX
 * bytes); server_setup reads them.  response_start makes (server) or takes
 * (client) the response nonce and derives the response AEAD.
 */
confer_ohttp_err_t confer_ohttp_client_setup(confer_ohttp_ctx_t *ctx,
    confer_ohttp_mode_t mode, const confer_keyconfig_t *kc,
    const confer_hpke_suite_t *suite, uint8_t *out, size_t cap);

confer_ohttp_err_t confer_ohttp_server_setup(confer_ohttp_ctx_t *ctx,
    confer_ohttp_mode_t mode, confer_ohttp_lookup_pt lookup, void *data,
    const uint8_t *in, size_t n);

confer_ohttp_err_t confer_ohttp_response_start(confer_ohttp_ctx_t *ctx,
    uint8_t *nonce, size_t nonce_len);

#endif /* CONFER_OHTTP_H */
