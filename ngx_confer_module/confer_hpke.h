/*
 * HPKE (RFC 9180), base mode only, for one KEM and KDF and three AEADs:
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, and AES-128-GCM, AES-256-GCM,
 * ChaCha20-Poly1305 (or export-only).  X25519, ChaCha20-Poly1305 and
 * randomness come from libsodium; HKDF/HMAC-SHA256 and AES-GCM from
 * OpenSSL 3 EVP.  No nginx header.
 *
 * Every context is a caller-allocated struct (it may live in an nginx
 * pool); each has a *_cleanup() that zeroes its secrets and frees the
 * OpenSSL cipher context it holds.  Calling cleanup twice, or on a zeroed
 * struct, is harmless.
 */

#ifndef CONFER_HPKE_H
#define CONFER_HPKE_H

#include <stddef.h>
#include <stdint.h>

/* RFC 9180, 7.1 - 7.3: the identifiers this code knows */
#define CONFER_HPKE_MODE_BASE             0x00
#define CONFER_HPKE_KEM_X25519_SHA256     0x0020
#define CONFER_HPKE_KDF_HKDF_SHA256       0x0001
#define CONFER_HPKE_AEAD_AES128GCM        0x0001
#define CONFER_HPKE_AEAD_AES256GCM        0x0002
#define CONFER_HPKE_AEAD_CHACHA20POLY1305 0x0003
#define CONFER_HPKE_AEAD_EXPORT_ONLY      0xffff

/* sizes for DHKEM(X25519, HKDF-SHA256) and the AEADs above */
#define CONFER_HPKE_NSK       32          /* private key */
#define CONFER_HPKE_NPK       32          /* public key */
#define CONFER_HPKE_NENC      32          /* encapsulated key */
#define CONFER_HPKE_NSECRET   32          /* KEM shared secret */
#define CONFER_HPKE_NH        32          /* HKDF-SHA256 output */
#define CONFER_HPKE_NK_MAX    32          /* largest AEAD key */
#define CONFER_HPKE_NN        12          /* AEAD nonce, all three */
#define CONFER_HPKE_NT        16          /* AEAD tag, all three */


typedef enum {
    CONFER_HPKE_OK = 0,
    CONFER_HPKE_ERR_UNSUPPORTED_MODE,   /* psk, auth, auth_psk */
    CONFER_HPKE_ERR_UNSUPPORTED_KEM,
    CONFER_HPKE_ERR_UNSUPPORTED_KDF,
    CONFER_HPKE_ERR_UNSUPPORTED_AEAD,
    CONFER_HPKE_ERR_BAD_LENGTH,         /* key, enc or ikm of wrong size */
    CONFER_HPKE_ERR_BAD_KEY,            /* DH result all zeros (9180, 7.1.4) */
    CONFER_HPKE_ERR_OPEN,               /* authentication failed */
    CONFER_HPKE_ERR_EXPORT_ONLY,        /* seal/open on an export-only suite */
    CONFER_HPKE_ERR_SEQ_OVERFLOW,       /* RFC 9180, 5.2 MessageLimitReached */
    CONFER_HPKE_ERR_EXPORT_TOO_LONG,    /* L > 255 * Nh */
    CONFER_HPKE_ERR_BUFFER_TOO_SMALL,
    CONFER_HPKE_ERR_NOT_READY,          /* context not set up */
    CONFER_HPKE_ERR_CRYPTO,             /* a library call failed */
    CONFER_HPKE_ERR_LAST
} confer_hpke_err_t;


typedef struct {
    uint16_t  kem_id;
    uint16_t  kdf_id;
    uint16_t  aead_id;
} confer_hpke_suite_t;


/* an X25519 key pair; pk is kept so that a receiver needs no extra DH */
typedef struct {
    uint8_t   sk[CONFER_HPKE_NSK];
    uint8_t   pk[CONFER_HPKE_NPK];
} confer_hpke_keypair_t;


/*
 * A bare AEAD with its key set once: AES-GCM keeps one EVP_CIPHER_CTX
 * whose key schedule is computed at init, so a message costs one nonce
 * setting.  Used by HPKE contexts and by the OHTTP response encryption.
 */
typedef struct {
    uint16_t                   aead_id;
    uint8_t                    nk;
    uint8_t                    key[CONFER_HPKE_NK_MAX];
    struct evp_cipher_ctx_st  *evp;
} confer_aead_t;


/* RFC 9180, 5.1: the context of one sender or one receiver */
typedef struct {
    confer_hpke_suite_t  suite;
    confer_aead_t        aead;
    uint8_t              base_nonce[CONFER_HPKE_NN];
    uint8_t              exporter_secret[CONFER_HPKE_NH];
    uint64_t             seq;
    unsigned             ready:1;
} confer_hpke_ctx_t;


const char *confer_hpke_strerror(confer_hpke_err_t err);

/* OK if this code implements the suite (base mode assumed) */
confer_hpke_err_t confer_hpke_suite_check(const confer_hpke_suite_t *suite);

/* key and nonce length of an AEAD id; 0 if unknown (or export-only) */
size_t confer_hpke_aead_nk(uint16_t aead_id);
size_t confer_hpke_aead_nn(uint16_t aead_id);


/* RFC 9180, 7.1.3: DeriveKeyPair(ikm); ikm must have at least Nsk bytes */
confer_hpke_err_t confer_hpke_derive_keypair(const uint8_t *ikm, size_t n,
    confer_hpke_keypair_t *kp);

/* a fresh random key pair from libsodium's generator */
confer_hpke_err_t confer_hpke_generate_keypair(confer_hpke_keypair_t *kp);

/* a key pair from a stored private key (computes the public key) */
confer_hpke_err_t confer_hpke_keypair_from_sk(const uint8_t *sk, size_t n,
    confer_hpke_keypair_t *kp);

void confer_hpke_keypair_cleanup(confer_hpke_keypair_t *kp);


/*
 * RFC 9180, 5.1.1 SetupBaseS: encapsulates to pkR, writes enc
 * (CONFER_HPKE_NENC bytes) and sets up ctx for Seal and Export.
 * Mode is always base: the other modes have no entry point here.
 */
confer_hpke_err_t confer_hpke_setup_base_s(confer_hpke_ctx_t *ctx,
    const confer_hpke_suite_t *suite, const uint8_t *pkR, size_t pkR_len,
    const uint8_t *info, size_t info_len, uint8_t *enc);

/*
 * The same with a given ephemeral key pair instead of a random one: for
 * test vectors only (RFC 9180, Appendix A; RFC 9458, Appendix A).
 */
confer_hpke_err_t confer_hpke_setup_base_s_eph(confer_hpke_ctx_t *ctx,
    const confer_hpke_suite_t *suite, const uint8_t *pkR, size_t pkR_len,
    const uint8_t *info, size_t info_len,
    const confer_hpke_keypair_t *eph, uint8_t *enc);

/*
 * RFC 9180, 4.1 Encap done ahead of the request that needs it: a fresh
 * ephemeral key pair's public key (enc) and its DH with pkR.  Secret: it
 * serves exactly one confer_hpke_setup_base_s_prepared(), which wipes it,
 * so that the costly scalar multiplications can run while nothing else
 * waits for them.
 */
typedef struct {
    uint8_t   pkR[CONFER_HPKE_NPK];
    uint8_t   enc[CONFER_HPKE_NENC];
    uint8_t   dh[CONFER_HPKE_NSECRET];
    unsigned  ready:1;
} confer_hpke_encap_t;

confer_hpke_err_t confer_hpke_encap_prepare(confer_hpke_encap_t *pre,
    const uint8_t *pkR, size_t pkR_len);

/* zeroes it: not ready any more */
void confer_hpke_encap_cleanup(confer_hpke_encap_t *pre);

/*
 * SetupBaseS with a prepared Encap: the same as confer_hpke_setup_base_s
 * with pre's ephemeral key.  pre is wiped whatever the outcome;
 * CONFER_HPKE_ERR_NOT_READY (and ctx untouched but zeroed) when pre is not
 * ready or was prepared for another pkR.
 */
confer_hpke_err_t confer_hpke_setup_base_s_prepared(confer_hpke_ctx_t *ctx,
    const confer_hpke_suite_t *suite, const uint8_t *pkR, size_t pkR_len,
    const uint8_t *info, size_t info_len, confer_hpke_encap_t *pre,
    uint8_t *enc);

/* RFC 9180, 5.1.1 SetupBaseR: decapsulates enc with the key pair kpR */
confer_hpke_err_t confer_hpke_setup_base_r(confer_hpke_ctx_t *ctx,
    const confer_hpke_suite_t *suite, const uint8_t *enc, size_t enc_len,
    const confer_hpke_keypair_t *kpR, const uint8_t *info, size_t info_len);

/*
 * The generic setup behind the two above, taking a mode: every mode other
 * than base answers CONFER_HPKE_ERR_UNSUPPORTED_MODE (useful to walk a
 * vector file).  eph may be NULL (random) on the sender; kpR is NULL on
 * the sender and pkR NULL on the receiver.
 */
confer_hpke_err_t confer_hpke_setup(confer_hpke_ctx_t *ctx, uint8_t mode,
    const confer_hpke_suite_t *suite, const uint8_t *pkR, size_t pkR_len,
    const confer_hpke_keypair_t *kpR, const uint8_t *enc_in,
    size_t enc_in_len, const uint8_t *info, size_t info_len,
    const confer_hpke_keypair_t *eph, uint8_t *enc_out);

/*
 * RFC 9180, 5.2: Seal writes pt_len + CONFER_HPKE_NT bytes into out and
 * advances the sequence number; Open writes ct_len - CONFER_HPKE_NT bytes
 * and advances it only on success.  out may equal pt (ct) for in-place
 * operation.
 */
confer_hpke_err_t confer_hpke_seal(confer_hpke_ctx_t *ctx,
    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
    uint8_t *out, size_t out_cap, size_t *out_len);

confer_hpke_err_t confer_hpke_open(confer_hpke_ctx_t *ctx,
    const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
    uint8_t *out, size_t out_cap, size_t *out_len);

/* RFC 9180, 5.3: Export(exporter_context, L) into out[0..L) */
confer_hpke_err_t confer_hpke_export(const confer_hpke_ctx_t *ctx,
    const uint8_t *exporter_context, size_t context_len,
    uint8_t *out, size_t L);

void confer_hpke_cleanup(confer_hpke_ctx_t *ctx);


/* the AEAD alone */

confer_hpke_err_t confer_aead_init(confer_aead_t *aead, uint16_t aead_id,
    const uint8_t *key, size_t key_len);

/* out gets pt_len + CONFER_HPKE_NT bytes; nonce is CONFER_HPKE_NN bytes */
confer_hpke_err_t confer_aead_seal(confer_aead_t *aead, const uint8_t *nonce,
    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
    uint8_t *out);

/*
 * out gets ct_len - CONFER_HPKE_NT bytes; if the tag does not verify, out
 * is wiped and CONFER_HPKE_ERR_OPEN returned
 */
confer_hpke_err_t confer_aead_open(confer_aead_t *aead, const uint8_t *nonce,
    const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
    uint8_t *out);

void confer_aead_cleanup(confer_aead_t *aead);


/* HKDF-SHA256 (RFC 5869) and the RFC 9180, 4 labeled forms */

confer_hpke_err_t confer_hkdf_extract(const uint8_t *salt, size_t salt_len,
    const uint8_t *ikm, size_t ikm_len, uint8_t prk[CONFER_HPKE_NH]);

confer_hpke_err_t confer_hkdf_expand(const uint8_t *prk, size_t prk_len,
    const uint8_t *info, size_t info_len, uint8_t *out, size_t L);

/*
 * Frees what the library keeps between calls: the HMAC-SHA256 template and
 * the fetched AES-GCM ciphers.  For a clean exit (an nginx module is
 * unloaded at exit, and what its globals held would be lost memory); a
 * later call fetches them again.
 */
void confer_hpke_library_cleanup(void);


#endif /* CONFER_HPKE_H */
