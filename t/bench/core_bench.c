/*
 * The price of privacy in the protocol core, as ratios measured in one
 * process run (make build/bench/core_bench; run it without arguments):
 *
 *   - chunked OHTTP seal and open throughput (AES-256-GCM), one chunk per
 *     call as the terminator and gateway use them, against raw OpenSSL
 *     EVP AES-256-GCM on the same data with a pre-keyed context;
 *   - the per-message HPKE setup (client SetupBaseS + server SetupBaseR)
 *     against one raw X25519 scalar multiplication.
 *
 * Baseline and our code alternate within every repetition; each figure
 * is the median over the repetitions.  Prints one JSON object per line.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "confer_chunked.h"
#include "bench.h"


#define REPS  31


static confer_ohttp_key_t  key;


static const confer_ohttp_key_t *
lookup(void *data, uint8_t key_id)
{
    (void) data;

    return key_id == key.config.key_id ? &key : NULL;
}


/* raw EVP AES-256-GCM, key set once, nonce per message */

static void
raw_seal(EVP_CIPHER_CTX *ctx, const uint8_t *iv, const uint8_t *pt,
    size_t n, uint8_t *out)
{
    int  outl;

    EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv);
    EVP_EncryptUpdate(ctx, out, &outl, pt, (int) n);
    EVP_EncryptFinal_ex(ctx, out + n, &outl);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + n);
}


static int
raw_open(EVP_CIPHER_CTX *ctx, const uint8_t *iv, const uint8_t *ct,
    size_t n, uint8_t *out)
{
    int  outl;

    EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, iv);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *) (ct + n));
    EVP_DecryptUpdate(ctx, out, &outl, ct, (int) n);
    return EVP_DecryptFinal_ex(ctx, out + n, &outl) > 0;
}


static void
bench_chunks(size_t size, const char *label)
{
    int                      r;
    char                     name[64], detail[512];
    size_t                   j, iters, n, used, ptn, off, batch, done,
                             csize;
    double                   t, base_s[REPS], ours_s[REPS], base_o[REPS],
                             ours_o[REPS], rs, ro;
    uint8_t                 *pt, *ct, *out, *stream, *many, *rawct, iv[12],
                             k[32], hdr[64];
    const uint8_t           *p;
    EVP_CIPHER_CTX          *enc, *dec;
    confer_ohttp_ctx_t       c, s, s2;
    confer_hpke_suite_t      suite = { 0x20, 1, CONFER_HPKE_AEAD_AES256GCM };
    confer_chunked_reader_t  rd;

    /* about 16 MiB of plaintext per repetition */
    iters = (16u << 20) / size;

    pt = malloc(size);
    ct = malloc(size + 16);
    out = malloc(size + 16);
    stream = malloc(size + 64);
    csize = confer_chunked_chunk_size(size, 0);
    batch = iters < 16 ? iters : 16;
    many = malloc(batch * csize);
    rawct = malloc(batch * (size + 16));
    randombytes_buf(pt, size);
    randombytes_buf(k, sizeof(k));
    randombytes_buf(iv, sizeof(iv));

    enc = EVP_CIPHER_CTX_new();
    dec = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(enc, EVP_aes_256_gcm(), NULL, k, NULL);
    EVP_DecryptInit_ex(dec, EVP_aes_256_gcm(), NULL, k, NULL);

    for (j = 0; j < batch; j++) {
        iv[11] = (uint8_t) j;
        raw_seal(enc, iv, pt, size, rawct + j * (size + 16));
    }

    /* a real exchange: client request header, server response sealer */
    confer_ohttp_init(&c);
    confer_ohttp_init(&s);
    confer_chunked_request_begin(&c, &key.config, &suite, hdr, sizeof(hdr),
                                 &n);
    confer_ohttp_server_setup(&s, CONFER_OHTTP_MODE_CHUNKED, lookup, NULL,
                              hdr, n);
    confer_chunked_response_begin(&s, stream, 64, &off);

    /* a second server context for the seal loop, so s stays in step */
    confer_ohttp_init(&s2);
    confer_ohttp_server_setup(&s2, CONFER_OHTTP_MODE_CHUNKED, lookup, NULL,
                              hdr, n);
    confer_chunked_response_begin(&s2, many, 64, &n);

    /* the client's reader, given the response nonce */
    confer_chunked_response_reader_init(&rd, &c, out, size + 16);
    /* (out doubles as the reader's memory: the baseline writes there too) */
    confer_chunked_feed(&rd, stream, off, &used, &p, &ptn);

    /*
     * Baseline and ours alternate batch by batch (16 messages), so that
     * both see the same machine; each repetition gives a ratio.  For
     * opening, both read a batch of distinct messages so that neither
     * gets its input from cache alone; our chunks are sealed (untimed)
     * just before, since the reader's counter moves on with each chunk.
     */
    for (r = 0; r < REPS; r++) {
        base_s[r] = ours_s[r] = base_o[r] = ours_o[r] = 0;

        for (done = 0; done < iters; done += batch) {
            t = bench_now();
            for (j = 0; j < batch; j++) {
                iv[11] = (uint8_t) j;
                raw_seal(enc, iv, pt, size, ct);
            }
            base_s[r] += bench_now() - t;

            t = bench_now();
            for (j = 0; j < batch; j++) {
                confer_chunked_response_seal(&s2, pt, size, 0, stream, csize,
                                             &n);
            }
            ours_s[r] += bench_now() - t;

            for (j = 0, off = 0; j < batch; j++) {
                confer_chunked_response_seal(&s, pt, size, 0, many + off,
                                             csize, &n);
                off += n;
            }

            t = bench_now();
            for (j = 0; j < batch; j++) {
                iv[11] = (uint8_t) j;
                if (!raw_open(dec, iv, rawct + j * (size + 16), size, out)) {
                    abort();
                }
            }
            base_o[r] += bench_now() - t;

            t = bench_now();
            for (j = 0, off = 0; j < batch; j++) {
                if (confer_chunked_feed(&rd, many + off, csize, &used, &p,
                                        &ptn) != CONFER_OHTTP_OK
                    || ptn != size || used != csize)
                {
                    abort();
                }
                off += csize;
            }
            ours_o[r] += bench_now() - t;
        }

        /* throughput ratio of this repetition */
        base_s[r] /= ours_s[r];
        base_o[r] /= ours_o[r];
    }

    rs = bench_median(base_s, REPS);
    ro = bench_median(base_o, REPS);

    snprintf(name, sizeof(name), "chunked_seal_aes256gcm_%s", label);
    snprintf(detail, sizeof(detail),
             "throughput of confer_chunked_response_seal (%s chunks: varint "
             "length, nonce XOR counter, AEAD) over raw EVP AES-256-GCM "
             "encrypt+tag with a pre-keyed context on the same data; "
             "median of %d repetition ratios, %zu messages each, baseline "
             "and ours alternating every 16", label, REPS, iters);
    bench_emit("core", name, rs, "ratio",
               size >= 16384 ? ">= 0.9" : "report (goal applies from 16 KiB)",
               size >= 16384 ? rs >= 0.9 : -1, detail);

    snprintf(name, sizeof(name), "chunked_open_aes256gcm_%s", label);
    snprintf(detail, sizeof(detail),
             "throughput of confer_chunked_feed opening %s chunks (framing, "
             "tag check, plaintext only after verification) over raw EVP "
             "AES-256-GCM decrypt+tag check with a pre-keyed context; "
             "median of %d repetition ratios, %zu messages each, baseline "
             "and ours alternating every 16", label, REPS, iters);
    bench_emit("core", name, ro, "ratio",
               size >= 16384 ? ">= 0.9" : "report (goal applies from 16 KiB)",
               size >= 16384 ? ro >= 0.9 : -1, detail);

    confer_chunked_reader_cleanup(&rd);
    confer_ohttp_cleanup(&c);
    confer_ohttp_cleanup(&s);
    confer_ohttp_cleanup(&s2);
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
    free(pt);
    free(ct);
    free(out);
    free(stream);
    free(many);
    free(rawct);
}


static void
bench_setup(void)
{
    int                  r;
    char                 detail[512];
    size_t               i, iters;
    double               t, base[REPS], ours[REPS], full[REPS], ratio,
                         ratio_s[REPS], ratio_f[REPS];
    uint8_t              sk[32], pk[32], dh[32], enc[32],
                         hdr[CONFER_OHTTP_REQ_PREFIX], nonce[32];
    confer_hpke_ctx_t    hs, hr;
    confer_ohttp_ctx_t   c, s;
    confer_hpke_suite_t  suite = { 0x20, 1, CONFER_HPKE_AEAD_AES256GCM };

    iters = 200;
    randombytes_buf(sk, 32);
    crypto_scalarmult_base(pk, sk);

    for (r = 0; r < REPS; r++) {
        t = bench_now();
        for (i = 0; i < iters; i++) {
            pk[0] ^= (uint8_t) i;
            if (crypto_scalarmult(dh, sk, pk) != 0) {
                pk[0] ^= 1;
            }
        }
        base[r] = bench_now() - t;

        t = bench_now();
        for (i = 0; i < iters; i++) {
            confer_hpke_setup_base_s(&hs, &suite, key.kp.pk, 32,
                                     (uint8_t *) "info", 4, enc);
            confer_hpke_setup_base_r(&hr, &suite, enc, 32, &key.kp,
                                     (uint8_t *) "info", 4);
            confer_hpke_cleanup(&hs);
            confer_hpke_cleanup(&hr);
        }
        ours[r] = bench_now() - t;

        /* the whole per-exchange key work of OHTTP, both sides */
        t = bench_now();
        for (i = 0; i < iters; i++) {
            confer_ohttp_init(&c);
            confer_ohttp_init(&s);
            confer_ohttp_client_setup(&c, CONFER_OHTTP_MODE_CHUNKED,
                                      &key.config, &suite, hdr, sizeof(hdr));
            confer_ohttp_server_setup(&s, CONFER_OHTTP_MODE_CHUNKED, lookup,
                                      NULL, hdr, sizeof(hdr));
            confer_ohttp_response_start(&s, nonce, sizeof(nonce));
            confer_ohttp_response_start(&c, nonce, sizeof(nonce));
            confer_ohttp_cleanup(&c);
            confer_ohttp_cleanup(&s);
        }
        full[r] = bench_now() - t;
    }

    for (r = 0; r < REPS; r++) {
        ratio_s[r] = ours[r] / base[r];
        ratio_f[r] = full[r] / base[r];
    }

    ratio = bench_median(ratio_s, REPS);
    snprintf(detail, sizeof(detail),
             "client SetupBaseS + server SetupBaseR (AES-256-GCM; 3 X25519 "
             "scalar multiplications: ephemeral key, sender DH, receiver "
             "DH; plus 8 HMAC-SHA256 and one AES key schedule per side) "
             "over one raw libsodium crypto_scalarmult; %.1f us vs %.1f "
             "us; median of %d repetition ratios, %zu each, alternating",
             bench_median(ours, REPS) / iters * 1e6,
             bench_median(base, REPS) / iters * 1e6, REPS, iters);
    bench_emit("core", "hpke_setup_per_message_vs_x25519", ratio, "ratio",
               "report (3 scalar multiplications is the floor)", -1, detail);

    ratio = bench_median(ratio_f, REPS);
    snprintf(detail, sizeof(detail),
             "all per-exchange key work of chunked OHTTP on both sides "
             "(HPKE setups, response nonce, response key derivation) over "
             "one raw crypto_scalarmult; %.1f us; median of %d repetition "
             "ratios, %zu each",
             bench_median(full, REPS) / iters * 1e6, REPS, iters);
    bench_emit("core", "ohttp_exchange_keys_vs_x25519", ratio, "ratio",
               "report (3 scalar multiplications is the floor)", -1, detail);
}


int
main(void)
{
    size_t  i;

    if (sodium_init() < 0) {
        return 1;
    }

    confer_hpke_generate_keypair(&key.kp);
    key.config.key_id = 1;
    key.config.kem_id = 0x20;
    memcpy(key.config.pk, key.kp.pk, 32);
    key.config.nsuites = 3;
    for (i = 0; i < 3; i++) {
        key.config.suites[i].kdf_id = 1;
        key.config.suites[i].aead_id = (uint16_t) (i + 1);
    }

    bench_chunks(1024, "1KiB");
    bench_chunks(16384, "16KiB");
    bench_chunks(1 << 20, "1MiB");
    bench_setup();

    confer_hpke_keypair_cleanup(&key.kp);

    return 0;
}
