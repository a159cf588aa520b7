/*
 * ohttp-tool: the protocol core on the command line, for interop tests
 * against an independent implementation (t/interop/ohttp-interop.js).
 * Everything is hex; output is "name value" lines.
 *
 *   ohttp-tool genkey KEYID
 *       sk HEX / config HEX (X25519, HKDF-SHA256 with all three AEADs)
 *
 *   ohttp-tool server plain|chunked|chunked-plain SK KEYID REQUEST
 *                     RESPONSE_PT [SPLIT]
 *       opens REQUEST (fed to the reader in 7-byte pieces when chunked),
 *       prints "request PT" and "chunks N", then seals RESPONSE_PT (as
 *       non-final chunks of the sizes in SPLIT, e.g. 5,0,100, and the rest
 *       as the final chunk) and prints "response HEX"; chunked-plain
 *       answers a chunked request with one RFC 9458 message
 *
 *   ohttp-tool client plain|chunked CONFIG AEAD REQUEST_PT [SPLIT]
 *       prints "request HEX", then reads the response as one hex line on
 *       stdin and prints "response PT" and "chunks N"
 *
 * Any hex argument may be "@FILE" to read the hex from a file.
 * Errors: "error NAME" on stdout and exit status 1.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confer_chunked.h"


static confer_ohttp_key_t  key;


static const confer_ohttp_key_t *
lookup(void *data, uint8_t key_id)
{
    (void) data;

    return key_id == key.config.key_id ? &key : NULL;
}


static void
fail(const char *what)
{
    printf("error %s\n", what);
    exit(1);
}


static uint8_t *
unhex(const char *s, size_t *n)
{
    long      flen;
    FILE     *f;
    char     *text;
    size_t    i, len;
    uint8_t  *p;
    unsigned  b;

    /* "@FILE": the hex is in a file (arguments have a size limit) */
    if (s[0] == '@') {
        f = fopen(s + 1, "rb");
        if (f == NULL) {
            fail("cannot open hex file");
        }
        fseek(f, 0, SEEK_END);
        flen = ftell(f);
        fseek(f, 0, SEEK_SET);
        text = calloc(1, flen + 1);
        if (fread(text, 1, flen, f) != (size_t) flen) {
            fail("cannot read hex file");
        }
        fclose(f);
        p = unhex(text, n);
        free(text);
        return p;
    }

    len = strlen(s);
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r')) {
        len--;
    }
    if (len % 2) {
        fail("odd hex length");
    }
    p = malloc(len / 2 + 1);
    for (i = 0; i < len / 2; i++) {
        if (sscanf(s + 2 * i, "%2x", &b) != 1) {
            fail("bad hex");
        }
        p[i] = (uint8_t) b;
    }
    *n = len / 2;
    return p;
}


static void
puthex(const char *name, const uint8_t *p, size_t n)
{
    size_t  i;

    printf("%s ", name);
    for (i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
    printf("\n");
    fflush(stdout);
}


/*
 * The next chunk size from a list like "5,0,100": each listed size is a
 * non-final chunk, and what is left after the list is the final chunk.
 */
static size_t
next_split(const char **split, size_t left, int *final)
{
    char    *end;
    size_t   n;

    if (*split == NULL || **split == '\0') {
        *final = 1;
        return left;
    }
    n = strtoul(*split, &end, 10);
    *split = *end == ',' ? end + 1 : end;
    *final = 0;
    return n < left ? n : left;
}


static void
set_key(const char *skhex, const char *keyid)
{
    size_t    n, i;
    uint8_t  *sk;

    sk = unhex(skhex, &n);
    if (confer_hpke_keypair_from_sk(sk, n, &key.kp) != CONFER_HPKE_OK) {
        fail("bad private key");
    }
    free(sk);
    key.config.key_id = (uint8_t) atoi(keyid);
    key.config.kem_id = CONFER_HPKE_KEM_X25519_SHA256;
    memcpy(key.config.pk, key.kp.pk, 32);
    key.config.nsuites = 3;
    for (i = 0; i < 3; i++) {
        key.config.suites[i].kdf_id = CONFER_HPKE_KDF_HKDF_SHA256;
        key.config.suites[i].aead_id = (uint16_t) (i + 1);
    }
}


static int
genkey(const char *keyid)
{
    int                    i;
    char                   hex[65];
    size_t                 n;
    uint8_t                cfg[256];
    confer_hpke_keypair_t  kp;

    if (confer_hpke_generate_keypair(&kp) != CONFER_HPKE_OK) {
        fail("keygen");
    }
    for (i = 0; i < 32; i++) {
        sprintf(hex + 2 * i, "%02x", kp.sk[i]);
    }
    confer_hpke_keypair_cleanup(&kp);
    set_key(hex, keyid);

    confer_keyconfig_encode(&key.config, cfg, sizeof(cfg), &n);
    puthex("sk", key.kp.sk, 32);
    puthex("config", cfg, n);
    return 0;
}


static int
server(int chunked, int plain_answer, int argc, char **argv)
{
    int                      final, nchunks;
    size_t                   reqn, resn, n, off, used, ptn, piece, total, m;
    uint8_t                 *req, *res, *out, *buf;
    const char              *split;
    const uint8_t           *pt;
    confer_ohttp_ctx_t       s;
    confer_ohttp_err_t       rc;
    confer_chunked_reader_t  rd;

    if (argc < 4) {
        fail("usage");
    }

    set_key(argv[0], argv[1]);
    req = unhex(argv[2], &reqn);
    res = unhex(argv[3], &resn);
    split = argc > 4 ? argv[4] : NULL;

    confer_ohttp_init(&s);
    out = malloc(reqn + 1);
    total = 0;
    nchunks = 0;

    if (!chunked) {
        rc = confer_ohttp_decapsulate_request(&s, lookup, NULL, req, reqn,
                                              out, reqn, &total);
        if (rc != CONFER_OHTTP_OK) {
            fail(confer_ohttp_strerror(rc));
        }
        nchunks = 1;

    } else {
        buf = malloc(1 << 20);
        confer_chunked_request_reader_init(&rd, &s, lookup, NULL, buf,
                                           1 << 20);

        for (off = 0; off < reqn; ) {
            piece = reqn - off < 7 ? reqn - off : 7;
            while (piece) {
                rc = confer_chunked_feed(&rd, req + off, piece, &used, &pt,
                                         &ptn);
                off += used;
                piece -= used;
                if (rc == CONFER_OHTTP_AGAIN) {
                    break;
                }
                if (rc != CONFER_OHTTP_OK) {
                    fail(confer_ohttp_strerror(rc));
                }
                memcpy(out + total, pt, ptn);
                total += ptn;
                nchunks++;
            }
        }

        rc = confer_chunked_finish(&rd, &pt, &ptn);
        if (rc != CONFER_OHTTP_OK) {
            fail(confer_ohttp_strerror(rc));
        }
        memcpy(out + total, pt, ptn);
        total += ptn;
        nchunks++;
        confer_chunked_reader_cleanup(&rd);
        free(buf);
    }

    puthex("request", out, total);
    printf("chunks %d\n", nchunks);

    /* the response */
    buf = malloc(confer_ohttp_response_size(s.hpke.suite.aead_id, resn)
                 + 16 * (resn + 2) + 64);
    off = 0;

    if (!chunked || plain_answer) {
        /* a plain answer to a chunked request: RFC 9458's own label */
        s.mode = CONFER_OHTTP_MODE_PLAIN;
        rc = confer_ohttp_encapsulate_response(&s, res, resn, buf,
                                               resn + 64, &off);
        if (rc != CONFER_OHTTP_OK) {
            fail(confer_ohttp_strerror(rc));
        }

    } else {
        rc = confer_chunked_response_begin(&s, buf, 64, &off);
        if (rc != CONFER_OHTTP_OK) {
            fail(confer_ohttp_strerror(rc));
        }
        total = 0;
        do {
            n = next_split(&split, resn - total, &final);
            rc = confer_chunked_response_seal(&s, res + total, n, final,
                                              buf + off,
                                              confer_chunked_chunk_size(n,
                                                                    final),
                                              &m);
            if (rc != CONFER_OHTTP_OK) {
                fail(confer_ohttp_strerror(rc));
            }
            off += m;
            total += n;
        } while (!final);
    }

    puthex("response", buf, off);
    confer_ohttp_cleanup(&s);
    confer_hpke_keypair_cleanup(&key.kp);
    return 0;
}


static int
client(int chunked, int argc, char **argv)
{
    int                      final, nchunks;
    char                    *line;
    size_t                   cfgn, ptn_in, n, m, off, total, used, ptn,
                             cap, piece, resn;
    uint8_t                 *cfg, *ptin, *buf, *res, *out, *rdbuf;
    ssize_t                  got;
    const char              *split;
    const uint8_t           *pt;
    confer_ohttp_ctx_t       c;
    confer_ohttp_err_t       rc;
    confer_keyconfig_t       kc;
    confer_hpke_suite_t      suite;
    confer_chunked_reader_t  rd;

    if (argc < 3) {
        fail("usage");
    }

    cfg = unhex(argv[0], &cfgn);
    if (confer_keyconfig_decode(cfg, cfgn, &kc, &n) != CONFER_KEYCONFIG_OK) {
        fail("bad key configuration");
    }
    suite.kem_id = kc.kem_id;
    suite.kdf_id = CONFER_HPKE_KDF_HKDF_SHA256;
    suite.aead_id = (uint16_t) atoi(argv[1]);
    ptin = unhex(argv[2], &ptn_in);
    split = argc > 3 ? argv[3] : NULL;

    confer_ohttp_init(&c);
    cap = confer_ohttp_request_size(ptn_in) + 16 * (ptn_in + 2) + 64;
    buf = malloc(cap);

    if (!chunked) {
        rc = confer_ohttp_encapsulate_request(&c, &kc, &suite, ptin, ptn_in,
                                              buf, cap, &off);
        if (rc != CONFER_OHTTP_OK) {
            fail(confer_ohttp_strerror(rc));
        }

    } else {
        rc = confer_chunked_request_begin(&c, &kc, &suite, buf, cap, &off);
        if (rc != CONFER_OHTTP_OK) {
            fail(confer_ohttp_strerror(rc));
        }
        total = 0;
        do {
            n = next_split(&split, ptn_in - total, &final);
            rc = confer_chunked_request_seal(&c, ptin + total, n, final,
                                             buf + off, cap - off, &m);
            if (rc != CONFER_OHTTP_OK) {
                fail(confer_ohttp_strerror(rc));
            }
            off += m;
            total += n;
        } while (!final);
    }

    puthex("request", buf, off);

    line = NULL;
    n = 0;
    got = getline(&line, &n, stdin);
    if (got <= 0) {
        fail("no response on stdin");
    }
    res = unhex(line, &resn);
    out = malloc(resn + 1);
    total = 0;
    nchunks = 0;

    if (!chunked) {
        rc = confer_ohttp_decapsulate_response(&c, res, resn, out, resn,
                                               &total);
        if (rc != CONFER_OHTTP_OK) {
            fail(confer_ohttp_strerror(rc));
        }
        nchunks = 1;

    } else {
        rdbuf = malloc(1 << 20);
        confer_chunked_response_reader_init(&rd, &c, rdbuf, 1 << 20);

        for (off = 0; off < resn; ) {
            piece = resn - off < 5 ? resn - off : 5;
            while (piece) {
                rc = confer_chunked_feed(&rd, res + off, piece, &used, &pt,
                                         &ptn);
                off += used;
                piece -= used;
                if (rc == CONFER_OHTTP_AGAIN) {
                    break;
                }
                if (rc != CONFER_OHTTP_OK) {
                    fail(confer_ohttp_strerror(rc));
                }
                memcpy(out + total, pt, ptn);
                total += ptn;
                nchunks++;
            }
        }
        rc = confer_chunked_finish(&rd, &pt, &ptn);
        if (rc != CONFER_OHTTP_OK) {
            fail(confer_ohttp_strerror(rc));
        }
        memcpy(out + total, pt, ptn);
        total += ptn;
        nchunks++;
        confer_chunked_reader_cleanup(&rd);
        free(rdbuf);
    }

    puthex("response", out, total);
    printf("chunks %d\n", nchunks);
    confer_ohttp_cleanup(&c);
    free(line);
    return 0;
}


int
main(int argc, char **argv)
{
    int  chunked;

    if (argc >= 3 && strcmp(argv[1], "genkey") == 0) {
        return genkey(argv[2]);
    }

    if (argc < 3) {
        fprintf(stderr, "usage: ohttp-tool genkey|server|client ...\n");
        return 2;
    }

    chunked = strncmp(argv[2], "chunked", 7) == 0;

    if (strcmp(argv[1], "server") == 0) {
        return server(chunked, strcmp(argv[2], "chunked-plain") == 0,
                      argc - 3, argv + 3);
    }

    if (strcmp(argv[1], "client") == 0) {
        return client(chunked, argc - 3, argv + 3);
    }

    fprintf(stderr, "unknown command %s\n", argv[1]);
    return 2;
}
