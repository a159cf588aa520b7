/*
 * HPKE against every RFC 9180 vector of the X25519/HKDF-SHA256 suites:
 * base mode must reproduce key derivation, the key schedule, every
 * encryption and every export; the other modes must be refused.
 */

#include <jansson.h>
#include <sodium.h>

#include "tap.h"
#include "confer_hpke.h"


static uint8_t *
hex(json_t *o, const char *key, size_t *n)
{
    long         len;
    uint8_t     *p;
    const char  *s;

    s = json_string_value(json_object_get(o, key));
    if (s == NULL) {
        *n = 0;
        return NULL;
    }
    p = malloc(strlen(s) / 2 + 1);
    len = tap_unhex(s, p, strlen(s) / 2 + 1);
    *n = len < 0 ? 0 : (size_t) len;
    return p;
}


static void
vector_base(json_t *v, int idx)
{
    int                    allok;
    size_t                 i, ikmE_n, ikmR_n, info_n, pt_n, aad_n, ct_n,
                           want_n, ctx_n, L, out_n, pkRm_n;
    uint8_t               *ikmE, *ikmR, *info, *pt, *aad, *ct, *want, *xctx,
                           *pkRm, enc[CONFER_HPKE_NENC], buf[1024], buf2[1024];
    json_t                *e;
    confer_hpke_ctx_t      s, r;
    confer_hpke_suite_t    suite;
    confer_hpke_keypair_t  kpE, kpR;

    suite.kem_id = json_integer_value(json_object_get(v, "kem_id"));
    suite.kdf_id = json_integer_value(json_object_get(v, "kdf_id"));
    suite.aead_id = json_integer_value(json_object_get(v, "aead_id"));

    ikmE = hex(v, "ikmE", &ikmE_n);
    ikmR = hex(v, "ikmR", &ikmR_n);
    info = hex(v, "info", &info_n);

    is_int(confer_hpke_derive_keypair(ikmE, ikmE_n, &kpE), CONFER_HPKE_OK,
           "#%d aead %d: DeriveKeyPair(ikmE)", idx, suite.aead_id);
    want = hex(v, "skEm", &want_n);
    is_mem(kpE.sk, 32, want, want_n, "#%d skEm", idx);
    free(want);
    want = hex(v, "pkEm", &want_n);
    is_mem(kpE.pk, 32, want, want_n, "#%d pkEm", idx);
    free(want);

    is_int(confer_hpke_derive_keypair(ikmR, ikmR_n, &kpR), CONFER_HPKE_OK,
           "#%d DeriveKeyPair(ikmR)", idx);
    want = hex(v, "skRm", &want_n);
    is_mem(kpR.sk, 32, want, want_n, "#%d skRm", idx);
    free(want);
    pkRm = hex(v, "pkRm", &pkRm_n);
    is_mem(kpR.pk, 32, pkRm, pkRm_n, "#%d pkRm", idx);

    is_int(confer_hpke_setup_base_s_eph(&s, &suite, pkRm, pkRm_n, info,
                                        info_n, &kpE, enc),
           CONFER_HPKE_OK, "#%d SetupBaseS", idx);
    want = hex(v, "enc", &want_n);
    is_mem(enc, sizeof(enc), want, want_n, "#%d enc", idx);
    free(want);

    is_int(confer_hpke_setup_base_r(&r, &suite, enc, sizeof(enc), &kpR, info,
                                    info_n),
           CONFER_HPKE_OK, "#%d SetupBaseR", idx);

    if (suite.aead_id != CONFER_HPKE_AEAD_EXPORT_ONLY) {
        want = hex(v, "key", &want_n);
        is_mem(s.aead.key, s.aead.nk, want, want_n, "#%d key (sender)", idx);
        is_mem(r.aead.key, r.aead.nk, want, want_n, "#%d key (receiver)",
               idx);
        free(want);
        want = hex(v, "base_nonce", &want_n);
        is_mem(s.base_nonce, 12, want, want_n, "#%d base_nonce (sender)",
               idx);
        is_mem(r.base_nonce, 12, want, want_n, "#%d base_nonce (receiver)",
               idx);
        free(want);
    }

    want = hex(v, "exporter_secret", &want_n);
    is_mem(s.exporter_secret, 32, want, want_n, "#%d exporter_secret (S)",
           idx);
    is_mem(r.exporter_secret, 32, want, want_n, "#%d exporter_secret (R)",
           idx);
    free(want);

    /* every encryption at its own sequence number */
    allok = 1;
    e = json_object_get(v, "encryptions");
    for (i = 0; i < json_array_size(e); i++) {
        pt = hex(json_array_get(e, i), "pt", &pt_n);
        aad = hex(json_array_get(e, i), "aad", &aad_n);
        ct = hex(json_array_get(e, i), "ct", &ct_n);

        /* the file skips sequence numbers (0, 1, 2, 4, 255, 256) */
        s.seq = r.seq = json_integer_value(
                   json_object_get(json_array_get(e, i), "sequence_number"));

        if (suite.aead_id == CONFER_HPKE_AEAD_EXPORT_ONLY) {
            allok &= confer_hpke_seal(&s, aad, aad_n, pt, pt_n, buf,
                                      sizeof(buf), &out_n)
                     == CONFER_HPKE_ERR_EXPORT_ONLY;
        } else {
            allok &= confer_hpke_seal(&s, aad, aad_n, pt, pt_n, buf,
                                      sizeof(buf), &out_n) == CONFER_HPKE_OK
                     && out_n == ct_n && memcmp(buf, ct, ct_n) == 0;
            allok &= confer_hpke_open(&r, aad, aad_n, ct, ct_n, buf2,
                                      sizeof(buf2), &out_n) == CONFER_HPKE_OK
                     && out_n == pt_n && memcmp(buf2, pt, pt_n) == 0;
        }
        free(pt);
        free(aad);
        free(ct);
    }
    ok(allok, "#%d all %zu encryptions seal and open byte-exact", idx,
       json_array_size(e));

    allok = 1;
    e = json_object_get(v, "exports");
    for (i = 0; i < json_array_size(e); i++) {
        xctx = hex(json_array_get(e, i), "exporter_context", &ctx_n);
        want = hex(json_array_get(e, i), "exported_value", &want_n);
        L = json_integer_value(json_object_get(json_array_get(e, i), "L"));
        allok &= confer_hpke_export(&s, xctx, ctx_n, buf, L) == CONFER_HPKE_OK
                 && L == want_n && memcmp(buf, want, L) == 0;
        allok &= confer_hpke_export(&r, xctx, ctx_n, buf2, L)
                 == CONFER_HPKE_OK && memcmp(buf2, want, L) == 0;
        free(xctx);
        free(want);
    }
    ok(allok, "#%d all %zu exports match (sender and receiver)", idx,
       json_array_size(e));

    confer_hpke_cleanup(&s);
    confer_hpke_cleanup(&r);
    confer_hpke_keypair_cleanup(&kpE);
    confer_hpke_keypair_cleanup(&kpR);
    free(ikmE);
    free(ikmR);
    free(info);
    free(pkRm);
}


static void
vector_other_mode(json_t *v, int idx)
{
    int                    mode;
    size_t                 n;
    uint8_t               *ikm, enc[32];
    confer_hpke_ctx_t      s;
    confer_hpke_suite_t    suite;
    confer_hpke_keypair_t  kp;

    mode = json_integer_value(json_object_get(v, "mode"));
    suite.kem_id = json_integer_value(json_object_get(v, "kem_id"));
    suite.kdf_id = json_integer_value(json_object_get(v, "kdf_id"));
    suite.aead_id = json_integer_value(json_object_get(v, "aead_id"));
    ikm = hex(v, "ikmR", &n);
    confer_hpke_derive_keypair(ikm, n, &kp);

    is_int(confer_hpke_setup(&s, mode, &suite, kp.pk, 32, NULL, NULL, 0,
                             NULL, 0, NULL, enc),
           CONFER_HPKE_ERR_UNSUPPORTED_MODE, "#%d mode %d is refused", idx,
           mode);
    is_int(confer_hpke_seal(&s, NULL, 0, (uint8_t *) "x", 1, enc, 32, &n),
           CONFER_HPKE_ERR_NOT_READY, "#%d and leaves no usable context",
           idx);
    free(ikm);
}


/*
 * Public keys are computed by a faster route than libsodium's
 * crypto_scalarmult_base (confer_hpke.c): the same bytes for random
 * private keys, for the RFC 7748 test key, for all-zero and all-one keys.
 */
static void
public_keys(void)
{
    int                    good;
    size_t                 i;
    uint8_t                sk[32], pk[32];
    confer_hpke_keypair_t  kp;

    /* RFC 7748, 6.1: Alice's private and public key */
    static const char  *alice_sk =
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    static const char  *alice_pk =
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

    tap_unhex(alice_sk, sk, sizeof(sk));
    tap_unhex(alice_pk, pk, sizeof(pk));
    ok(confer_hpke_keypair_from_sk(sk, 32, &kp) == CONFER_HPKE_OK
       && memcmp(kp.pk, pk, 32) == 0, "RFC 7748, 6.1: Alice's public key");

    good = 1;
    for (i = 0; i < 20000; i++) {
        randombytes_buf(sk, sizeof(sk));
        if (i < 256) {
            memset(sk, i & 1 ? 0xff : 0, sizeof(sk));
            sk[i / 8] = (uint8_t) i;
        }
        good &= crypto_scalarmult_base(pk, sk) == 0
                && confer_hpke_keypair_from_sk(sk, 32, &kp) == CONFER_HPKE_OK
                && memcmp(kp.pk, pk, 32) == 0;
    }
    ok(good, "20000 private keys: the public key libsodium's ladder gives");

    memset(sk, 0, sizeof(sk));
    good = crypto_scalarmult_base(pk, sk) == 0
           && confer_hpke_keypair_from_sk(sk, 32, &kp) == CONFER_HPKE_OK
           && memcmp(kp.pk, pk, 32) == 0;
    memset(sk, 0xff, sizeof(sk));
    good &= crypto_scalarmult_base(pk, sk) == 0
            && confer_hpke_keypair_from_sk(sk, 32, &kp) == CONFER_HPKE_OK
            && memcmp(kp.pk, pk, 32) == 0;
    ok(good, "and for the all-zero and all-one private keys");

    confer_hpke_keypair_cleanup(&kp);
}


static void
roundtrip_aes256(void)
{
    size_t                 n, m;
    uint8_t                enc[32], ct[64], pt[64], a[32], b[32];
    confer_hpke_ctx_t      s, r;
    confer_hpke_suite_t    suite = { 0x20, 1, CONFER_HPKE_AEAD_AES256GCM };
    confer_hpke_keypair_t  kp;

    /* no AES-256-GCM vector in the file: a round trip and the key size */
    ok(confer_hpke_generate_keypair(&kp) == CONFER_HPKE_OK,
       "random key pair");
    ok(confer_hpke_setup_base_s(&s, &suite, kp.pk, 32, (uint8_t *) "i", 1,
                                enc) == CONFER_HPKE_OK
       && confer_hpke_setup_base_r(&r, &suite, enc, 32, &kp,
                                   (uint8_t *) "i", 1) == CONFER_HPKE_OK,
       "AES-256-GCM suite sets up on both sides");
    is_int(s.aead.nk, 32, "AES-256-GCM has a 32-byte key");
    is_mem(s.aead.key, 32, r.aead.key, 32, "both sides derive one key");
    ok(confer_hpke_seal(&s, (uint8_t *) "ad", 2, (uint8_t *) "hello", 5,
                        ct, sizeof(ct), &n) == CONFER_HPKE_OK && n == 21
       && confer_hpke_open(&r, (uint8_t *) "ad", 2, ct, n, pt, sizeof(pt),
                           &m) == CONFER_HPKE_OK
       && m == 5 && memcmp(pt, "hello", 5) == 0,
       "AES-256-GCM seal then open");

    ct[0] ^= 1;
    ok(confer_hpke_seal(&s, NULL, 0, (uint8_t *) "x", 1, ct + 32, 32, &n)
       == CONFER_HPKE_OK, "second seal");
    is_int(confer_hpke_open(&r, (uint8_t *) "ad", 2, ct, 21, pt, sizeof(pt),
                            &m),
           CONFER_HPKE_ERR_OPEN, "a flipped bit fails to open");
    ok(pt[0] == 0 && pt[4] == 0, "and the output buffer is wiped");
    is_int(r.seq, 1, "a failed open does not advance the sequence");

    ok(confer_hpke_export(&s, (uint8_t *) "c", 1, a, 32) == CONFER_HPKE_OK
       && confer_hpke_export(&r, (uint8_t *) "c", 1, b, 32) == CONFER_HPKE_OK
       && memcmp(a, b, 32) == 0, "both sides export the same secret");
    is_int(confer_hpke_export(&s, NULL, 0, a, 255 * 32 + 1),
           CONFER_HPKE_ERR_EXPORT_TOO_LONG, "export longer than 255*Nh");

    /* in place: out == in */
    memcpy(pt, "in place!", 9);
    ok(confer_hpke_seal(&s, NULL, 0, pt, 9, pt, sizeof(pt), &n)
       == CONFER_HPKE_OK, "seal in place");

    s.seq = UINT64_MAX;
    is_int(confer_hpke_seal(&s, NULL, 0, pt, 1, ct, sizeof(ct), &n),
           CONFER_HPKE_ERR_SEQ_OVERFLOW, "sequence number exhausted");
    is_int(confer_hpke_seal(&s, NULL, 0, pt, 40, ct, 40, &n),
           CONFER_HPKE_ERR_BUFFER_TOO_SMALL, "output too small");

    confer_hpke_cleanup(&s);
    ok(s.ready == 0 && s.aead.evp == NULL && s.exporter_secret[0] == 0
       && s.exporter_secret[31] == 0, "cleanup zeroes the context");
    confer_hpke_cleanup(&s);
    confer_hpke_cleanup(&r);

    suite.aead_id = 4;
    is_int(confer_hpke_setup_base_s(&s, &suite, kp.pk, 32, NULL, 0, enc),
           CONFER_HPKE_ERR_UNSUPPORTED_AEAD, "unknown AEAD refused");
    suite.aead_id = 1;
    suite.kdf_id = 2;
    is_int(confer_hpke_setup_base_s(&s, &suite, kp.pk, 32, NULL, 0, enc),
           CONFER_HPKE_ERR_UNSUPPORTED_KDF, "HKDF-SHA384 refused");
    suite.kdf_id = 1;
    suite.kem_id = 0x10;
    is_int(confer_hpke_setup_base_s(&s, &suite, kp.pk, 32, NULL, 0, enc),
           CONFER_HPKE_ERR_UNSUPPORTED_KEM, "P-256 KEM refused");
    suite.kem_id = 0x20;

    /* a low-order point gives an all-zero DH result: RFC 9180, 7.1.4 */
    memset(a, 0, 32);
    is_int(confer_hpke_setup_base_s(&s, &suite, a, 32, NULL, 0, enc),
           CONFER_HPKE_ERR_BAD_KEY, "all-zero public key refused (sender)");
    is_int(confer_hpke_setup_base_r(&r, &suite, a, 32, &kp, NULL, 0),
           CONFER_HPKE_ERR_BAD_KEY, "all-zero enc refused (receiver)");
    is_int(confer_hpke_setup_base_r(&r, &suite, enc, 31, &kp, NULL, 0),
           CONFER_HPKE_ERR_BAD_LENGTH, "short enc refused");
    is_int(confer_hpke_derive_keypair(a, 31, &kp),
           CONFER_HPKE_ERR_BAD_LENGTH, "ikm shorter than Nsk refused");

    ok(strcmp(confer_hpke_strerror(CONFER_HPKE_ERR_OPEN),
              "decryption failed (authentication)") == 0
       && strcmp(confer_hpke_strerror(CONFER_HPKE_ERR_LAST), "unknown") == 0,
       "strerror names errors");
    confer_hpke_keypair_cleanup(&kp);
}


/*
 * An Encap prepared ahead: the receiver derives the same context from its
 * enc, it serves one setup and is wiped by it, and one made for another
 * key is refused (wiped too) rather than used.
 */
static void
prepared_encap(void)
{
    size_t                 n, m, i;
    uint8_t                enc[32], enc2[32], ct[64], pt[64], zero[32];
    confer_hpke_ctx_t      s, r, s2;
    confer_hpke_suite_t    suite = { 0x20, 1, CONFER_HPKE_AEAD_AES128GCM };
    confer_hpke_encap_t    pre, saved;
    confer_hpke_keypair_t  kp, other;

    memset(zero, 0, sizeof(zero));

    ok(confer_hpke_generate_keypair(&kp) == CONFER_HPKE_OK
       && confer_hpke_generate_keypair(&other) == CONFER_HPKE_OK,
       "prepared: two key pairs");

    is_int(confer_hpke_encap_prepare(&pre, kp.pk, sizeof(kp.pk)),
           CONFER_HPKE_OK, "prepared: an Encap for pkR");
    ok(pre.ready && memcmp(pre.pkR, kp.pk, 32) == 0
       && memcmp(pre.enc, zero, 32) != 0 && memcmp(pre.dh, zero, 32) != 0,
       "prepared: it holds pkR, enc and the DH");

    saved = pre;

    is_int(confer_hpke_setup_base_s_prepared(&s, &suite, kp.pk, 32,
                                             (uint8_t *) "info", 4, &pre,
                                             enc),
           CONFER_HPKE_OK, "prepared: SetupBaseS with it");
    is_mem(enc, 32, saved.enc, 32, "prepared: enc is the prepared one");
    ok(!pre.ready && memcmp(pre.dh, zero, 32) == 0
       && memcmp(pre.enc, zero, 32) == 0, "prepared: wiped once used");

    ok(confer_hpke_setup_base_r(&r, &suite, enc, 32, &kp, (uint8_t *) "info",
                                4) == CONFER_HPKE_OK,
       "prepared: the receiver sets up from enc");
    is_mem(s.aead.key, 16, r.aead.key, 16, "prepared: the same key");
    is_mem(s.base_nonce, 12, r.base_nonce, 12,
           "prepared: the same base nonce");
    is_mem(s.exporter_secret, 32, r.exporter_secret, 32,
           "prepared: the same exporter secret");
    ok(confer_hpke_seal(&s, NULL, 0, (uint8_t *) "prepared", 8, ct,
                        sizeof(ct), &n) == CONFER_HPKE_OK
       && confer_hpke_open(&r, NULL, 0, ct, n, pt, sizeof(pt), &m)
          == CONFER_HPKE_OK
       && m == 8 && memcmp(pt, "prepared", 8) == 0,
       "prepared: sealed by one, opened by the other");

    is_int(confer_hpke_setup_base_s_prepared(&s2, &suite, kp.pk, 32, NULL,
                                             0, &pre, enc2),
           CONFER_HPKE_ERR_NOT_READY, "prepared: not twice");
    ok(!s2.ready, "prepared: and no context from a used one");

    /* made for one key, offered for another */
    ok(confer_hpke_encap_prepare(&pre, other.pk, 32) == CONFER_HPKE_OK,
       "prepared: an Encap for another key");
    is_int(confer_hpke_setup_base_s_prepared(&s2, &suite, kp.pk, 32, NULL,
                                             0, &pre, enc2),
           CONFER_HPKE_ERR_NOT_READY, "prepared: refused for this pkR");
    ok(!pre.ready && memcmp(pre.dh, zero, 32) == 0,
       "prepared: and wiped all the same");

    is_int(confer_hpke_encap_prepare(&pre, zero, 32), CONFER_HPKE_ERR_BAD_KEY,
           "prepared: a low-order pkR refused (RFC 9180, 7.1.4)");
    ok(!pre.ready, "prepared: nothing ready after a refusal");
    is_int(confer_hpke_encap_prepare(&pre, kp.pk, 31),
           CONFER_HPKE_ERR_BAD_LENGTH, "prepared: a short pkR refused");
    is_int(confer_hpke_setup_base_s_prepared(&s2, &suite, kp.pk, 32, NULL,
                                             0, NULL, enc2),
           CONFER_HPKE_ERR_NOT_READY, "prepared: none given");

    /* every prepared Encap is a fresh ephemeral key */
    for (i = 0; i < 4; i++) {
        ok(confer_hpke_encap_prepare(&pre, kp.pk, 32) == CONFER_HPKE_OK
           && memcmp(pre.enc, saved.enc, 32) != 0,
           "prepared: a new ephemeral key each time (%zu)", i);
        saved = pre;
    }

    confer_hpke_encap_cleanup(&pre);
    sodium_memzero(&saved, sizeof(saved));
    confer_hpke_cleanup(&s);
    confer_hpke_cleanup(&r);
    confer_hpke_cleanup(&s2);
    confer_hpke_keypair_cleanup(&kp);
    confer_hpke_keypair_cleanup(&other);
}


/* one AEAD object sealing and opening in turn: only the nonce is reset */
static void
aead_both_ways(void)
{
    int            id, good;
    size_t         i;
    uint8_t        key[32], nonce[12], pt[100], ct[116], back[100];
    confer_aead_t  a;

    for (id = 1; id <= 3; id++) {
        for (i = 0; i < sizeof(key); i++) {
            key[i] = (uint8_t) (i + id);
        }
        good = confer_aead_init(&a, (uint16_t) id, key,
                                confer_hpke_aead_nk((uint16_t) id))
               == CONFER_HPKE_OK;
        for (i = 0; good && i < 4; i++) {
            memset(nonce, (int) i, sizeof(nonce));
            memset(pt, (int) (i * 3), sizeof(pt));
            good = confer_aead_seal(&a, nonce, (uint8_t *) "ad", 2, pt,
                                    sizeof(pt), ct) == CONFER_HPKE_OK
                   && confer_aead_open(&a, nonce, (uint8_t *) "ad", 2, ct,
                                       sizeof(ct), back) == CONFER_HPKE_OK
                   && memcmp(back, pt, sizeof(pt)) == 0;
        }
        ok(good, "aead %d: one context seals and opens in turn", id);
        ok(confer_aead_open(&a, nonce, (uint8_t *) "ae", 2, ct, sizeof(ct),
                            back) == CONFER_HPKE_ERR_OPEN,
           "aead %d: other AAD fails", id);
        confer_aead_cleanup(&a);
        is_int(confer_aead_init(&a, (uint16_t) id, key, 31),
               CONFER_HPKE_ERR_BAD_LENGTH, "aead %d: 31-byte key refused",
               id);
        confer_aead_cleanup(&a);
    }
}


int
main(void)
{
    int            base, other;
    char           path[4096];
    size_t         i;
    json_t        *all, *v;
    json_error_t   err;

    public_keys();
    roundtrip_aes256();
    aead_both_ways();
    prepared_encap();

    /* what the library caches is fetched again after a cleanup */
    confer_hpke_library_cleanup();
    diag("again after confer_hpke_library_cleanup()");
    roundtrip_aes256();
    aead_both_ways();
    confer_hpke_library_cleanup();

    snprintf(path, sizeof(path), "%s/hpke-rfc9180-x25519.json",
             tap_vectors_dir());
    all = json_load_file(path, 0, &err);
    if (all == NULL) {
        diag("no vectors at %s: vector checks skipped", path);
        return done_testing();
    }

    base = other = 0;
    for (i = 0; i < json_array_size(all); i++) {
        v = json_array_get(all, i);
        if (json_integer_value(json_object_get(v, "mode")) == 0) {
            vector_base(v, (int) i);
            base++;
        } else {
            vector_other_mode(v, (int) i);
            other++;
        }
    }
    ok(base >= 3, "%d base-mode vectors checked, %d other-mode refused",
       base, other);
    json_decref(all);

    return done_testing();
}
