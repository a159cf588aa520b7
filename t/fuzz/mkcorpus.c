/*
 * Writes the seed corpora of the OHTTP fuzz harnesses (t/fuzz/corpus/NAME)
 * with this project's own code and the keys of fuzz_common.h:
 *
 *   make build/libconfer.a
 *   cc -Ingx_confer_module t/fuzz/mkcorpus.c -o build/mkcorpus \
 *       build/libconfer.a -lsodium -lcrypto && build/mkcorpus t/fuzz/corpus
 */

#include <stdio.h>

#include "fuzz_common.h"


static const char  *dir;


static void
put(const char *corpus, const char *name, const uint8_t *p, size_t n)
{
    FILE  *f;
    char   path[4096];

    snprintf(path, sizeof(path), "%s/%s/%s", dir, corpus, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}


static uint8_t  buf[65536];


int
main(int argc, char **argv)
{
    char                 name[64];
    size_t               n, m, off, i, cut;
    uint8_t              msg[600], hdr[CONFER_OHTTP_REQ_PREFIX];
    uint16_t             aead;
    confer_keyconfig_t   two[2];
    confer_ohttp_ctx_t   c, s;
    confer_hpke_suite_t  suite;

    if (argc != 2) {
        fprintf(stderr, "usage: mkcorpus DIR\n");
        return 2;
    }
    dir = argv[1];

    fz_init_key();
    for (i = 0; i < sizeof(msg); i++) {
        msg[i] = (uint8_t) ("GET /v1/models HTTP"[i % 19] + i / 19);
    }

    /* key configurations */
    confer_keyconfig_encode(&fz_key.config, buf, sizeof(buf), &n);
    put("keyconfig", "one", buf, n);
    two[0] = fz_key.config;
    two[1] = fz_key.config;
    two[1].key_id = 2;
    two[1].nsuites = 1;
    confer_keyconfig_encode_list(two, 2, buf, sizeof(buf), &n);
    put("keyconfig", "list2", buf, n);
    buf[2] = 0x00;
    buf[3] = 0x10;
    put("keyconfig", "list-p256-first", buf, n);

    for (aead = 1; aead <= 3; aead++) {
        suite.kem_id = 0x20;
        suite.kdf_id = 1;
        suite.aead_id = aead;

        /* plain request */
        confer_ohttp_init(&c);
        confer_ohttp_test_set_ephemeral(&c, fz_client_sk, 32);
        confer_ohttp_encapsulate_request(&c, &fz_key.config, &suite, msg,
                                         40 * aead, buf, sizeof(buf), &n);
        snprintf(name, sizeof(name), "aead%u", aead);
        put("ohttp_req", name, buf, n);
        confer_ohttp_cleanup(&c);
        if (aead == 1) {
            buf[0] = 7;
            put("ohttp_req", "unknown-key", buf, n);
            buf[0] = 1;
            put("ohttp_req", "truncated", buf, 50);
        }

        /* plain response to the fixed client */
        fz_client_hdr(&c, CONFER_OHTTP_MODE_PLAIN, aead, hdr);
        confer_ohttp_init(&s);
        confer_ohttp_server_setup(&s, CONFER_OHTTP_MODE_PLAIN, fz_lookup, NULL,
                                  hdr, sizeof(hdr));
        buf[0] = (uint8_t) (aead - 1);
        confer_ohttp_encapsulate_response(&s, msg, 30, buf + 1,
                                          sizeof(buf) - 1, &n);
        put("ohttp_res", name, buf, n + 1);
        confer_ohttp_cleanup(&s);
        confer_ohttp_cleanup(&c);

        /* chunked request: cuts, then header and 4 chunks */
        confer_ohttp_init(&c);
        confer_ohttp_test_set_ephemeral(&c, fz_client_sk, 32);
        cut = aead;
        buf[0] = (uint8_t) cut;
        for (i = 0; i < cut; i++) {
            buf[1 + i] = (uint8_t) (i * 13 + 2);
        }
        off = 1 + cut;
        confer_chunked_request_begin(&c, &fz_key.config, &suite, buf + off,
                                     sizeof(buf) - off, &m);
        off += m;
        for (i = 0; i < 4; i++) {
            confer_chunked_request_seal(&c, msg + i * 50, i * 30 + 1, i == 3,
                                        buf + off, sizeof(buf) - off, &m);
            off += m;
        }
        put("chunked_req", name, buf, off);
        confer_ohttp_cleanup(&c);

        /* chunked response: aead, cuts, nonce and 4 chunks */
        fz_client_hdr(&c, CONFER_OHTTP_MODE_CHUNKED, aead, hdr);
        confer_ohttp_init(&s);
        confer_ohttp_server_setup(&s, CONFER_OHTTP_MODE_CHUNKED, fz_lookup,
                                  NULL, hdr, sizeof(hdr));
        buf[0] = (uint8_t) (aead - 1);
        buf[1] = (uint8_t) cut;
        for (i = 0; i < cut; i++) {
            buf[2 + i] = (uint8_t) (i * 7 + 1);
        }
        off = 2 + cut;
        confer_chunked_response_begin(&s, buf + off, sizeof(buf) - off, &m);
        off += m;
        for (i = 0; i < 4; i++) {
            confer_chunked_response_seal(&s, msg + i * 40, i == 1 ? 0 : 70,
                                         i == 3, buf + off,
                                         sizeof(buf) - off, &m);
            off += m;
        }
        put("chunked_res", name, buf, off);
        confer_ohttp_cleanup(&s);
        confer_ohttp_cleanup(&c);
    }

    return 0;
}
