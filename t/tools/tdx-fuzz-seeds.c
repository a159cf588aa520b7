/*
 * Writes the seed corpora of fuzz_tdx_quote and fuzz_tdx_collateral from
 * the synthetic PKI of t/unit/tdx_synth.h (no vendor data):
 *
 *   make build/tools/tdx-fuzz-seeds (or: cc -Iattest t/tools/tdx-fuzz-seeds.c \
 *       build/libconfer.a -ljansson -lcrypto), then run it with t/fuzz/corpus
 */

#include "../unit/tdx_synth.h"


static void
put(const char *dir, const char *name, const void *p, size_t n)
{
    FILE  *f;
    char   path[1024];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}


int
main(int argc, char **argv)
{
    char                 qd[1024], cd[1024], level[4096], mods[2048];
    char                *body, *doc;
    size_t               n;
    uint8_t              q[16384], der[2048];
    synth_pki_t          k;
    synth_quote_opts_t   o;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    snprintf(qd, sizeof(qd), "%s/tdx_quote", argv[1]);
    snprintf(cd, sizeof(cd), "%s/tdx_collateral", argv[1]);

    synth_pki_init(&k);

    synth_quote_defaults(&o);
    n = synth_quote(&k, &o, q, sizeof(q));
    put(qd, "v4", q, n);

    o.version = 5;
    n = synth_quote(&k, &o, q, sizeof(q));
    put(qd, "v5-td10", q, n);

    o.body_type = 3;
    o.pem_nul = 1;
    o.trailing = 70;
    o.td_attributes[0] = 1;
    n = synth_quote(&k, &o, q, sizeof(q));
    put(qd, "v5-td15-nul-trailing", q, n);

    put(qd, "v4-truncated", q, 700);

    n = synth_sgx_ext(&k, der);
    put(qd, "sgx-extension", der, n);

    synth_level(level + 1, sizeof(level) - 2, 2, 11, 0, 0, 3, "UpToDate");
    level[0] = '[';
    n = strlen(level);
    level[n] = ',';
    synth_level(level + n + 1, sizeof(level) - n - 2, 1, 5, 0, 0, 1,
                "OutOfDate");
    strcat(level, "]");
    snprintf(mods, sizeof(mods),
             "[{\"id\":\"TDX_01\",\"mrsigner\":\"%096d\",\"attributes\":"
             "\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\","
             "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":5},\"tcbDate\":"
             "\"2025-01-01T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]}]", 0);

    body = synth_tcb_info_body(&k, mods, level);
    doc = synth_signed_json(k.tcb_key, "tcbInfo", body);
    put(cd, "tcb-info", doc, strlen(doc));
    free(doc);
    free(body);

    body = synth_tcb_info_body(&k, NULL, level);
    doc = synth_signed_json(k.tcb_key, "tcbInfo", body);
    put(cd, "tcb-info-tdx10", doc, strlen(doc));
    free(doc);
    free(body);

    body = synth_qe_identity_body(2, "[{\"tcb\":{\"isvsvn\":8},\"tcbDate\":"
                                  "\"2025-01-01T00:00:00Z\",\"tcbStatus\":"
                                  "\"UpToDate\"},{\"tcb\":{\"isvsvn\":1},"
                                  "\"tcbDate\":\"2024-01-01T00:00:00Z\","
                                  "\"tcbStatus\":\"Revoked\"}]");
    doc = synth_signed_json(k.tcb_key, "enclaveIdentity", body);
    put(cd, "qe-identity", doc, strlen(doc));
    free(doc);
    free(body);

    synth_pki_free(&k);
    return 0;
}
