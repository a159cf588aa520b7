/*
 * OHTTP (RFC 9458, 4) byte for byte against Appendix A, both roles, and
 * the errors a terminator must tell apart: unknown key id and suite (a
 * key-configuration problem) versus truncated or tampered messages.
 */

#include "ohttp_test.h"


static void
appendix_a(json_t *v)
{
    size_t               n, m;
    uint8_t              want[64], buf[512], out[512];
    keyring_t            kr;
    ohttp_example_t      ex;
    confer_ohttp_ctx_t   c, s;
    confer_hpke_suite_t  suite = { 0x20, 1, 1 };

    ohttp_example_load(v, &ex);

    ok(confer_keyconfig_decode(ex.kc, ex.kc_n, &kr.key.config, &n)
       == CONFER_KEYCONFIG_OK && n == ex.kc_n, "A: key configuration decodes");
    ok(confer_hpke_keypair_from_sk(ex.sk, ex.sk_n, &kr.key.kp)
       == CONFER_HPKE_OK, "A: gateway key pair from its secret");
    is_mem(kr.key.kp.pk, 32, kr.key.config.pk, 32,
           "A: its public key is the configuration's");

    /* client: encapsulate the request with the fixed ephemeral key */
    confer_ohttp_init(&c);
    ok(confer_ohttp_test_set_ephemeral(&c, ex.esk, 32) == CONFER_OHTTP_OK,
       "A: test hook takes the ephemeral key");
    is_int(confer_ohttp_encapsulate_request(&c, &kr.key.config, &suite, ex.req,
                                            ex.req_n, buf, sizeof(buf), &n),
           CONFER_OHTTP_OK, "A: client encapsulates the request");
    is_int(confer_ohttp_request_size(ex.req_n), n, "A: request size predicted");
    is_mem(buf, n, ex.ereq, ex.ereq_n, "A: encapsulated request byte-exact");

    /* server: open it, answer with the vector's response nonce */
    confer_ohttp_init(&s);
    is_int(confer_ohttp_decapsulate_request(&s, lookup, &kr, ex.ereq,
                                            ex.ereq_n, out, sizeof(out), &m),
           CONFER_OHTTP_OK, "A: gateway decapsulates the request");
    is_mem(out, m, ex.req, ex.req_n, "A: to the BHTTP request");

    hexv(v, "exported_secret", want, sizeof(want));
    ok(confer_hpke_export(&s.hpke, (uint8_t *) "message/bhttp response", 22,
                          buf, 16) == CONFER_HPKE_OK, "A: export");
    is_mem(buf, 16, want, 16, "A: exported secret");

    confer_ohttp_test_set_response_nonce(&s, ex.salt + 32, ex.salt_n - 32);
    is_int(confer_ohttp_encapsulate_response(&s, ex.res, ex.res_n, buf,
                                             sizeof(buf), &n),
           CONFER_OHTTP_OK, "A: gateway encapsulates the response");
    n = hexv(v, "response_key", want, sizeof(want));
    is_mem(s.res_aead.key, s.res_aead.nk, want, n, "A: response key");
    n = hexv(v, "response_nonce_aead", want, sizeof(want));
    is_mem(s.res_nonce, 12, want, n, "A: response AEAD nonce");
    confer_ohttp_encapsulate_response(&s, ex.res, ex.res_n, buf, sizeof(buf),
                                      &n);
    is_int(confer_ohttp_encapsulate_response(&s, ex.res, ex.res_n, buf,
                                             sizeof(buf), &n),
           CONFER_OHTTP_ERR_STATE, "A: only one response per request");
    confer_ohttp_cleanup(&s);

    confer_ohttp_init(&s);
    confer_ohttp_decapsulate_request(&s, lookup, &kr, ex.ereq, ex.ereq_n, out,
                                     sizeof(out), &m);
    confer_ohttp_test_set_response_nonce(&s, ex.salt + 32, ex.salt_n - 32);
    confer_ohttp_encapsulate_response(&s, ex.res, ex.res_n, buf, sizeof(buf),
                                      &n);
    is_mem(buf, n, ex.eres, ex.eres_n, "A: encapsulated response byte-exact");
    is_int(confer_ohttp_response_size(1, ex.res_n), n,
           "A: response size predicted");

    is_int(confer_ohttp_decapsulate_response(&c, ex.eres, ex.eres_n, out,
                                             sizeof(out), &m),
           CONFER_OHTTP_OK, "A: client decapsulates the response");
    is_mem(out, m, ex.res, ex.res_n, "A: to the BHTTP response");

    confer_ohttp_cleanup(&c);
    confer_ohttp_cleanup(&s);
    confer_hpke_keypair_cleanup(&kr.key.kp);
}


static void
roundtrip(uint16_t aead)
{
    size_t               n, m, i;
    uint8_t              msg[300], buf[512], out[512], bad[512];
    keyring_t            kr;
    confer_ohttp_ctx_t   c, s;
    confer_ohttp_err_t   rc;
    confer_hpke_suite_t  suite = { 0x20, 1, 0 };

    suite.aead_id = aead;
    for (i = 0; i < sizeof(msg); i++) {
        msg[i] = (uint8_t) (i * 7);
    }

    memset(&kr, 0, sizeof(kr));
    confer_hpke_generate_keypair(&kr.key.kp);
    kr.key.config.key_id = 42;
    kr.key.config.kem_id = 0x20;
    memcpy(kr.key.config.pk, kr.key.kp.pk, 32);
    kr.key.config.nsuites = 3;
    for (i = 0; i < 3; i++) {
        kr.key.config.suites[i].kdf_id = 1;
        kr.key.config.suites[i].aead_id = (uint16_t) (i + 1);
    }

    confer_ohttp_init(&c);
    confer_ohttp_init(&s);
    ok(confer_ohttp_encapsulate_request(&c, &kr.key.config, &suite, msg,
                                        sizeof(msg), buf, sizeof(buf), &n)
       == CONFER_OHTTP_OK
       && confer_ohttp_decapsulate_request(&s, lookup, &kr, buf, n, out,
                                           sizeof(out), &m)
          == CONFER_OHTTP_OK
       && m == sizeof(msg) && memcmp(out, msg, m) == 0,
       "aead %d: request round trip", aead);
    ok(confer_ohttp_encapsulate_response(&s, msg, 5, bad, sizeof(bad), &n)
       == CONFER_OHTTP_OK
       && n == confer_ohttp_response_nonce_size(aead) + 5 + 16,
       "aead %d: response nonce is max(Nn, Nk) = %zu", aead,
       confer_ohttp_response_nonce_size(aead));
    bad[n - 1] ^= 0x80;
    is_int(confer_ohttp_decapsulate_response(&c, bad, n, out, sizeof(out),
                                             &m),
           CONFER_OHTTP_ERR_DECRYPT, "aead %d: tampered response refused",
           aead);
    confer_ohttp_cleanup(&s);

    /* errors on the server side */
    memcpy(bad, buf, sizeof(bad));
    bad[0] = 43;
    confer_ohttp_init(&s);
    rc = confer_ohttp_decapsulate_request(&s, lookup, &kr, bad,
                                          confer_ohttp_request_size(300),
                                          out, sizeof(out), &m);
    ok(rc == CONFER_OHTTP_ERR_UNKNOWN_KEY && confer_ohttp_is_key_problem(rc),
       "aead %d: unknown key id is a key problem", aead);
    confer_ohttp_cleanup(&s);
    rc = confer_ohttp_decapsulate_request(&s, lookup, &kr, bad, 3, out,
                                          sizeof(out), &m);
    is_int(rc, CONFER_OHTTP_ERR_UNKNOWN_KEY,
           "aead %d: even with only 3 bytes", aead);

    bad[0] = 42;
    bad[6] = 4;
    confer_ohttp_cleanup(&s);
    rc = confer_ohttp_decapsulate_request(&s, lookup, &kr, bad,
                                          confer_ohttp_request_size(300),
                                          out, sizeof(out), &m);
    ok(rc == CONFER_OHTTP_ERR_UNSUPPORTED_SUITE
       && confer_ohttp_is_key_problem(rc),
       "aead %d: AEAD the key does not offer is a key problem", aead);
    bad[6] = (uint8_t) aead;

    bad[100] ^= 1;
    confer_ohttp_cleanup(&s);
    rc = confer_ohttp_decapsulate_request(&s, lookup, &kr, bad,
                                          confer_ohttp_request_size(300),
                                          out, sizeof(out), &m);
    ok(rc == CONFER_OHTTP_ERR_DECRYPT && !confer_ohttp_is_key_problem(rc),
       "aead %d: tampered ciphertext fails to decrypt", aead);
    bad[100] ^= 1;

    bad[10] ^= 1;
    confer_ohttp_cleanup(&s);
    rc = confer_ohttp_decapsulate_request(&s, lookup, &kr, bad,
                                          confer_ohttp_request_size(300),
                                          out, sizeof(out), &m);
    is_int(rc, CONFER_OHTTP_ERR_DECRYPT, "aead %d: tampered enc", aead);
    bad[10] ^= 1;

    confer_ohttp_cleanup(&s);
    rc = confer_ohttp_decapsulate_request(&s, lookup, &kr, bad, 54, out,
                                          sizeof(out), &m);
    is_int(rc, CONFER_OHTTP_ERR_TRUNCATED, "aead %d: 54 bytes truncated",
           aead);

    memset(bad + 7, 0, 32);
    confer_ohttp_cleanup(&s);
    rc = confer_ohttp_decapsulate_request(&s, lookup, &kr, bad,
                                          confer_ohttp_request_size(300),
                                          out, sizeof(out), &m);
    is_int(rc, CONFER_OHTTP_ERR_BAD_ENC, "aead %d: all-zero enc", aead);

    confer_ohttp_cleanup(&s);
    rc = confer_ohttp_decapsulate_request(&s, lookup, &kr, buf,
                                          confer_ohttp_request_size(300),
                                          out, 299, &m);
    is_int(rc, CONFER_OHTTP_ERR_BUFFER_TOO_SMALL, "aead %d: small out",
           aead);

    confer_ohttp_cleanup(&s);
    confer_ohttp_cleanup(&c);
    confer_hpke_keypair_cleanup(&kr.key.kp);
}


int
main(void)
{
    json_t  *v;

    roundtrip(CONFER_HPKE_AEAD_AES128GCM);
    roundtrip(CONFER_HPKE_AEAD_AES256GCM);
    roundtrip(CONFER_HPKE_AEAD_CHACHA20POLY1305);

    ok(strcmp(confer_ohttp_strerror(CONFER_OHTTP_ERR_UNKNOWN_KEY),
              "unknown key identifier") == 0
       && strcmp(confer_ohttp_strerror(CONFER_OHTTP_ERR_LAST), "unknown")
          == 0, "errors have names");

    v = ohttp_vector_file("ohttp-rfc9458-appendix-a.json", "Appendix A checks");
    if (v != NULL) {
        appendix_a(v);
        json_decref(v);
    }

    return done_testing();
}
