/*
 * Writes the seed corpora of fuzz_gpu_report and fuzz_gpu_evidence from
 * the simulated platform (no vendor data):
 *
 *   make build/tools/gpu-fuzz-seeds && build/tools/gpu-fuzz-seeds t/fuzz/corpus
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest.h"
#include "attest_gpu.h"
#include "attest_int.h"


static void
put(const char *dir, const char *sub, const char *name, const void *p,
    size_t n)
{
    FILE  *f;
    char   path[1024];

    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}


/* u16be(chain length) || chain || report */
static void
framed(const char *dir, const char *name, const attest_gpu_entry_t *e,
    size_t report_n)
{
    uint8_t  *b;

    b = malloc(2 + e->certs.n + report_n);
    b[0] = (uint8_t) (e->certs.n >> 8);
    b[1] = (uint8_t) e->certs.n;
    memcpy(b + 2, e->certs.p, e->certs.n);
    memcpy(b + 2 + e->certs.n, e->evidence.p, report_n);
    put(dir, "gpu_report", name, b, 2 + e->certs.n + report_n);
    free(b);
}


int
main(int argc, char **argv)
{
    char                 tmp[] = "/tmp/confer-gpu-seeds-XXXXXX", msg[256];
    char                 cmd[512];
    size_t               len, count;
    uint8_t             *out, *mem, nonce[32];
    attest_sim_t        *sim;
    attest_gpu_entry_t   e[ATTEST_MAX_GPUS];
    static const char    tiny[] =
        "[{\"arch\":\"HOPPER\",\"certificate\":\"QQ==\",\"evidence\":\"QQ==\","
        "\"nonce\":\"00\",\"version\":\"1.0\"}]";

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }

    if (mkdtemp(tmp) == NULL
        || attest_sim_init(tmp, msg, sizeof(msg)) != ATTEST_OK
        || attest_sim_load(tmp, &sim, msg, sizeof(msg)) != ATTEST_OK)
    {
        fprintf(stderr, "simulated platform: %s\n", msg);
        return 1;
    }

    memset(nonce, 0x5a, sizeof(nonce));
    out = malloc(1 << 20);

    attest_sim_gpu_evidence(sim, nonce, 1, out, 1 << 20, &len);
    put(argv[1], "gpu_evidence", "sim1.json", out, len);

    /* one entry, framed for the report harness: whole, and cut inside
     * the opaque data */
    attest_gpu_evidence_parse(out, len, e, ATTEST_MAX_GPUS, &count, &mem,
                              NULL, 0);
    framed(argv[1], "sim.bin", &e[0], e[0].evidence.n);
    framed(argv[1], "sim-cut.bin", &e[0], e[0].evidence.n - 120);
    put(argv[1], "gpu_report", "report-only.bin", "\0\0", 2);
    free(mem);

    attest_sim_gpu_evidence(sim, nonce, 2, out, 1 << 20, &len);
    put(argv[1], "gpu_evidence", "sim2.json", out, len);
    put(argv[1], "gpu_evidence", "tiny.json", tiny, sizeof(tiny) - 1);

    free(out);
    attest_sim_free(sim);

    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    if (system(cmd) != 0) {
        return 1;
    }

    attest_cleanup();
    return 0;
}
