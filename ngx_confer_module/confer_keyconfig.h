/*
 * OHTTP key configurations, RFC 9458, 3: one configuration (3.1) and the
 * application/ohttp-keys list (3.2).  No nginx header.
 */

#ifndef CONFER_KEYCONFIG_H
#define CONFER_KEYCONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "confer_hpke.h"

/* more (kdf, aead) pairs than this in one configuration is refused */
#define CONFER_KEYCONFIG_MAX_SUITES  64


typedef enum {
    CONFER_KEYCONFIG_OK = 0,
    CONFER_KEYCONFIG_ERR_TRUNCATED,        /* input ends inside a field */
    CONFER_KEYCONFIG_ERR_UNSUPPORTED_KEM,  /* public key size unknown */
    CONFER_KEYCONFIG_ERR_BAD_SUITES,       /* algorithms length not 4..65532,
                                              a multiple of 4 */
    CONFER_KEYCONFIG_ERR_TOO_MANY_SUITES,
    CONFER_KEYCONFIG_ERR_BAD_LENGTH,       /* list entry length wrong */
    CONFER_KEYCONFIG_ERR_NO_CONFIG,        /* no usable configuration */
    CONFER_KEYCONFIG_ERR_NO_COMMON_SUITE,  /* nothing in the preference */
    CONFER_KEYCONFIG_ERR_BUFFER_TOO_SMALL,
    CONFER_KEYCONFIG_ERR_LAST
} confer_keyconfig_err_t;


typedef struct {
    uint16_t  kdf_id;
    uint16_t  aead_id;
} confer_keyconfig_suite_t;


typedef struct {
    uint8_t                   key_id;
    uint16_t                  kem_id;
    uint8_t                   pk[CONFER_HPKE_NPK];
    size_t                    nsuites;
    confer_keyconfig_suite_t  suites[CONFER_KEYCONFIG_MAX_SUITES];
} confer_keyconfig_t;


const char *confer_keyconfig_strerror(confer_keyconfig_err_t err);

/* bytes one configuration takes when encoded */
size_t confer_keyconfig_size(const confer_keyconfig_t *kc);

/* RFC 9458, 3.1: writes one configuration */
confer_keyconfig_err_t confer_keyconfig_encode(const confer_keyconfig_t *kc,
    uint8_t *out, size_t cap, size_t *out_len);

/*
 * RFC 9458, 3.1: reads the configuration at the start of (p, n) and sets
 * *used to its size.  Anything after it is left to the caller.
 */
confer_keyconfig_err_t confer_keyconfig_decode(const uint8_t *p, size_t n,
    confer_keyconfig_t *kc, size_t *used);

/*
 * RFC 9458, 3.2, application/ohttp-keys: each configuration preceded by a
 * 2-byte length.  encode_list writes n configurations.
 */
confer_keyconfig_err_t confer_keyconfig_encode_list(
    const confer_keyconfig_t *kcs, size_t n, uint8_t *out, size_t cap,
    size_t *out_len);

/*
 * decode_list reads up to max configurations into out and sets *count.
 * Configurations whose KEM this code does not know are skipped (a client
 * ignores what it cannot use); a malformed list is an error, and so is a
 * list with no configuration this code can use.
 */
confer_keyconfig_err_t confer_keyconfig_decode_list(const uint8_t *p,
    size_t n, confer_keyconfig_t *out, size_t max, size_t *count);

/*
 * The first AEAD of the caller's preference order that kc offers with
 * HKDF-SHA256, for a KEM this code implements.  On success sets *suite.
 */
confer_keyconfig_err_t confer_keyconfig_pick(const confer_keyconfig_t *kc,
    const uint16_t *aead_pref, size_t npref, confer_hpke_suite_t *suite);

/* does kc offer this (kdf, aead) pair? */
int confer_keyconfig_offers(const confer_keyconfig_t *kc, uint16_t kdf_id,
    uint16_t aead_id);

#endif /* CONFER_KEYCONFIG_H */
