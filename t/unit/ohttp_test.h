/*
 * Helpers shared by the OHTTP unit tests (ohttp.c, chunked.c): a one-key
 * keyring for the gateway side, and the fields that RFC 9458 Appendix A
 * and the chunked draft's example have in common.
 */

#ifndef CONFER_OHTTP_TEST_H
#define CONFER_OHTTP_TEST_H

#include <jansson.h>

#include "tap.h"
#include "confer_ohttp.h"


typedef struct {
    confer_ohttp_key_t  key;
} keyring_t;


/* the lookup callback of the decapsulating side */
static inline const confer_ohttp_key_t *
lookup(void *data, uint8_t key_id)
{
    keyring_t  *kr = data;

    return key_id == kr->key.config.key_id ? &kr->key : NULL;
}


/* a fresh X25519 key with one suite: HKDF-SHA256 and aead */
static inline void
keyring_generate(keyring_t *kr, uint8_t key_id, uint16_t aead)
{
    memset(kr, 0, sizeof(*kr));
    confer_hpke_generate_keypair(&kr->key.kp);
    kr->key.config.key_id = key_id;
    kr->key.config.kem_id = 0x20;
    memcpy(kr->key.config.pk, kr->key.kp.pk, 32);
    kr->key.config.nsuites = 1;
    kr->key.config.suites[0].kdf_id = 1;
    kr->key.config.suites[0].aead_id = aead;
}


/* a hex field of a vector object; 0 (and a diag) if missing or bad */
static inline size_t
hexv(json_t *o, const char *k, uint8_t *out, size_t cap)
{
    long         n;
    const char  *s;

    s = json_string_value(json_object_get(o, k));
    n = s ? tap_unhex(s, out, cap) : -1;
    if (n < 0) {
        diag("vector field %s missing or bad", k);
        return 0;
    }
    return (size_t) n;
}


/* an example exchange: key, ephemeral key, both messages, the salt */
typedef struct {
    uint8_t  kc[256], sk[32], esk[32], req[256], ereq[512], res[64],
             eres[256], salt[64];
    size_t   kc_n, sk_n, req_n, ereq_n, res_n, eres_n, salt_n;
} ohttp_example_t;


static inline void
ohttp_example_load(json_t *v, ohttp_example_t *ex)
{
    ex->kc_n = hexv(v, "key_config", ex->kc, sizeof(ex->kc));
    ex->sk_n = hexv(v, "gateway_secret_key", ex->sk, sizeof(ex->sk));
    hexv(v, "client_ephemeral_secret_key", ex->esk, sizeof(ex->esk));
    ex->req_n = hexv(v, "bhttp_request", ex->req, sizeof(ex->req));
    ex->ereq_n = hexv(v, "encapsulated_request", ex->ereq,
                      sizeof(ex->ereq));
    ex->res_n = hexv(v, "bhttp_response", ex->res, sizeof(ex->res));
    ex->eres_n = hexv(v, "encapsulated_response", ex->eres,
                      sizeof(ex->eres));
    ex->salt_n = hexv(v, "response_salt", ex->salt, sizeof(ex->salt));
}

/* a JSON file of the vectors; NULL, saying what is skipped, if absent */
static inline json_t *
ohttp_vector_file(const char *name, const char *skipped)
{
    char          path[4096];
    json_t       *v;
    json_error_t  err;

    snprintf(path, sizeof(path), "%s/%s", tap_vectors_dir(), name);
    v = json_load_file(path, 0, &err);
    if (v == NULL) {
        diag("no vectors at %s: %s skipped", path, skipped);
    }
    return v;
}

#endif /* CONFER_OHTTP_TEST_H */
