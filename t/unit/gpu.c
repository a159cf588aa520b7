/*
 * NVIDIA GPU and NVSwitch evidence against the real vectors
 * (ATTESTATION-VECTORS.md 4): every positive verifies with its nonce and
 * yields the facts the file says; the invalid signatures, the broken
 * chains and a wrong nonce are refused with their own reason; no bit of
 * the signed region can change unnoticed; NVIDIA's evidence JSON with
 * eight GPUs or four NVSwitches verifies entry by entry.
 */

#include <time.h>

#include "tap.h"
#include "attest_gpu.h"
#include "attest_x509.h"


#define NOW  1780272000                 /* 2026-06-01 */


typedef struct {
    uint8_t   *report;
    size_t     n;
    uint8_t   *chain;
    size_t     chain_n;
} gpu_vec_t;


static const char  *vdir;


static uint8_t *
vec(const char *name, size_t *n)
{
    char  path[1024];

    snprintf(path, sizeof(path), "%s/nvidia/%s", vdir, name);
    return tap_slurp(path, n);
}


/* the .txt reports are hex */
static int
load(gpu_vec_t *g, const char *report, const char *chain)
{
    size_t    n, len;
    uint8_t  *hex;

    memset(g, 0, sizeof(*g));

    hex = vec(report, &n);
    g->chain = vec(chain, &g->chain_n);

    if (hex == NULL || g->chain == NULL) {
        free(hex);
        free(g->chain);
        return ok(0, "vectors %s and %s are there", report, chain);
    }

    while (n > 0 && (hex[n - 1] == '\n' || hex[n - 1] == ' ')) {
        n--;
    }

    g->report = malloc(n / 2 + 1);
    if (attest_unhex((char *) hex, n, g->report, n / 2, &len) != ATTEST_OK) {
        free(hex);
        return ok(0, "%s is hex", report);
    }

    free(hex);
    g->n = len;
    return 1;
}


static void
unload(gpu_vec_t *g)
{
    free(g->report);
    free(g->chain);
}


static int
is_err(attest_err_t got, attest_err_t want, const char *what,
    const char *detail)
{
    if (!ok(got == want, "%s: %s", what, attest_strerror(want))) {
        diag("got %s: %s", attest_strerror(got), detail);
        return 0;
    }
    return 1;
}


static void
nonce_of(const char *hex, uint8_t nonce[32])
{
    tap_unhex(hex, nonce, 32);
}


static const char  *n931 =
    "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";


static void
positives(void)
{
    char                 detail[256], fw[97];
    size_t               i;
    uint8_t              nonce[32];
    gpu_vec_t            g;
    attest_err_t         rc;
    attest_gpu_facts_t   f;
    attest_gpu_report_t *r;

    static const struct {
        const char  *report, *chain, *nonce, *model, *driver, *vbios;
        const char  *fwid;
        attest_gpu_kind_t  kind;
        size_t       blocks;
    } pos[] = {
        { "nvtrust_hopperAttestationReport.txt", "nvtrust_hopperCertChain.txt",
          "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
          "GH100 A01", "550.90.07", "96.00.9F.00.01",
          "f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f72754"
          "94ba94bb5cdfdb3055ee051762b1f75d", ATTEST_GPU_GPU, 64 },
        { "trustee_hopper_coco_report1.txt", "trustee_hopper_coco_certs1.txt",
          "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec",
          "GH100 A01", "580.95.05", NULL, NULL, ATTEST_GPU_GPU, 64 },
        { "nvatsdk_hopperAttestationReport.txt", "nvatsdk_hopperCertChain.txt",
          "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66",
          "GH100 A01", "535.86.09", NULL, NULL, ATTEST_GPU_GPU, 64 },
        { "nvatsdk_hopperAttestationReportExpired.txt",
          "nvatsdk_hopperCertChainExpired.txt",
          "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
          "GH100 A01", "570.124.03", NULL, NULL, ATTEST_GPU_GPU, 64 },
        { "nvatsdk_switchAttestationReport.txt", "nvatsdk_switchCertChain.txt",
          "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
          "LS_10 A01", "", "96.10.55.00.01", NULL, ATTEST_GPU_SWITCH, 31 },
    };

    r = malloc(sizeof(*r));

    for (i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
        if (!load(&g, pos[i].report, pos[i].chain)) {
            continue;
        }

        nonce_of(pos[i].nonce, nonce);
        rc = attest_gpu_verify(g.report, g.n, g.chain, g.chain_n, nonce,
                               NULL, NOW, &f, detail, sizeof(detail));
        is_err(rc, ATTEST_OK, pos[i].report, detail);
        is_int(f.kind, pos[i].kind, "  a %s", attest_gpu_kind_name(f.kind));
        ok(strcmp(f.model, pos[i].model) == 0, "  model %s", f.model);
        ok(strcmp(f.driver, pos[i].driver) == 0, "  driver \"%s\"",
           f.driver);
        if (pos[i].vbios != NULL) {
            ok(strcmp(f.vbios, pos[i].vbios) == 0, "  VBIOS %s", f.vbios);
        }
        ok(f.has_fwid, "  a FWID (from the leaf, and the report when it "
           "sends one)");
        if (pos[i].fwid != NULL) {
            attest_hex(f.fwid, 48, fw);
            ok(strcmp(fw, pos[i].fwid) == 0, "  FWID %.16s...", fw);
        }
        is_int(f.nmeas, pos[i].blocks, "  %zu measurement blocks",
               pos[i].blocks);
        is_mem(f.nonce, 32, nonce, 32, "  the nonce it answered");
        ok(!f.simulated, "  not simulated");
        is_int(f.chain_not_after, 253402300799LL,
               "  the chain is valid until 9999-12-31");

        /* the layout, for the record */
        rc = attest_gpu_parse(g.report, g.n, r);
        is_int(rc, ATTEST_OK, "  parses");
        is_int(r->blocks[0].size, 48, "  SHA-384 measurements");

        if (i == 1) {
            is_int(g.n - r->used, 1, "  one byte after the signature, "
                   "tolerated");
        } else {
            is_int(g.n, r->used, "  nothing after the signature");
        }

        unload(&g);
    }

    free(r);
}


static void
negatives(void)
{
    char                detail[256];
    size_t              i, bad, tried;
    uint8_t             nonce[32];
    gpu_vec_t           g, h;
    attest_err_t        rc;
    attest_gpu_facts_t  f;
    attest_gpu_report_t r;

    nonce_of(n931, nonce);

    /* NVIDIA's own negatives: GpuEvidenceInvalidSignature */
    if (load(&g, "nvatsdk_hopperAttestationReportInvalidSignature.txt",
             "nvatsdk_hopperCertChain.txt"))
    {
        rc = attest_gpu_verify(g.report, g.n, g.chain, g.chain_n, nonce, NULL,
                               NOW, &f, detail, sizeof(detail));
        is_err(rc, ATTEST_ERR_SIGNATURE, "the SDK's invalid-signature "
               "Hopper report", detail);
        is_int(f.kind, ATTEST_GPU_NONE, "  no facts from a rejection");
        unload(&g);
    }

    if (load(&g, "nvatsdk_switchAttestationReportInvalidSignature.txt",
             "nvatsdk_switchCertChain.txt"))
    {
        nonce_of("ea038ed5" "00000000000000000000000000000000000000000000"
                 "0000000000000000", nonce);
        rc = attest_gpu_verify(g.report, g.n, g.chain, g.chain_n, g.report + 4,
                               NULL, NOW, &f, detail, sizeof(detail));
        is_err(rc, ATTEST_ERR_SIGNATURE, "the SDK's invalid-signature "
               "NVSwitch report", detail);
        unload(&g);
    }

    nonce_of(n931, nonce);

    if (!load(&g, "nvtrust_hopperAttestationReport.txt",
              "nvtrust_hopperCertChain.txt"))
    {
        return;
    }

    /* trustee cert_chain.rs cases 2 (root only), 3 (Provisioner ICA
     * missing), 4 (leaf missing) */
    h.chain = vec("trustee_hopper_cert_chain_case2.txt", &h.chain_n);
    rc = attest_gpu_verify(g.report, g.n, h.chain, h.chain_n, nonce, NULL,
                           NOW, &f, detail, sizeof(detail));
    is_err(rc, ATTEST_ERR_NO_CERT, "chain case 2, the root alone", detail);
    free(h.chain);

    h.chain = vec("trustee_hopper_cert_chain_case3.txt", &h.chain_n);
    rc = attest_gpu_verify(g.report, g.n, h.chain, h.chain_n, nonce, NULL,
                           NOW, &f, detail, sizeof(detail));
    is_err(rc, ATTEST_ERR_CHAIN, "chain case 3, no Provisioner ICA", detail);
    free(h.chain);

    h.chain = vec("trustee_hopper_cert_chain_case4.txt", &h.chain_n);
    rc = attest_gpu_verify(g.report, g.n, h.chain, h.chain_n, nonce, NULL,
                           NOW, &f, detail, sizeof(detail));
    is_err(rc, ATTEST_ERR_NO_CERT, "chain case 4, no leaf", detail);
    free(h.chain);

    /* another device's chain (the SDK's Hopper): its leaf did not sign */
    h.chain = vec("nvatsdk_hopperCertChain.txt", &h.chain_n);
    rc = attest_gpu_verify(g.report, g.n, h.chain, h.chain_n, nonce, NULL,
                           NOW, &f, detail, sizeof(detail));
    is_err(rc, ATTEST_ERR_SIGNATURE, "another GPU's chain", detail);
    free(h.chain);

    /* the leaf alone, and no chain */
    h.chain = vec("trustee_hopper_signing_cert.pem", &h.chain_n);
    rc = attest_gpu_verify(g.report, g.n, h.chain, h.chain_n, nonce, NULL,
                           NOW, &f, detail, sizeof(detail));
    is_err(rc, ATTEST_ERR_NO_CERT, "the leaf without its CAs", detail);
    free(h.chain);
    rc = attest_gpu_verify(g.report, g.n, NULL, 0, nonce, NULL, NOW, &f,
                           detail, sizeof(detail));
    is_err(rc, ATTEST_ERR_NO_CERT, "no chain at all", detail);

    /* the root dropped from the end: the chain stops at "GH100 Identity" */
    for (i = g.chain_n; i > 30; i--) {
        if (memcmp(g.chain + i - 27, "-----BEGIN CERTIFICATE-----", 27)
            == 0)
        {
            break;
        }
    }
    rc = attest_gpu_verify(g.report, g.n, g.chain, i - 27, nonce, NULL, NOW,
                           &f, detail, sizeof(detail));
    is_err(rc, ATTEST_ERR_CHAIN, "the chain without its root", detail);

    /* a chain to another root: ours pinned only as the simulated one */
    rc = attest_gpu_verify(g.report, g.n, g.chain, g.chain_n, nonce,
                           attest_gpu_nvidia_root_sha256, NOW, &f, detail,
                           sizeof(detail));
    is_err(rc, ATTEST_OK, "the NVIDIA root stays pinned beside a "
           "simulated one", detail);
    ok(!f.simulated, "  and a real chain is not taken for simulated");

    /* freshness: another nonce */
    nonce[31] ^= 1;
    rc = attest_gpu_verify(g.report, g.n, g.chain, g.chain_n, nonce, NULL,
                           NOW, &f, detail, sizeof(detail));
    is_err(rc, ATTEST_ERR_GPU_NONCE, "a nonce one bit off", detail);
    nonce[31] ^= 1;

    /* 160 bits spread over the signed region (the request, the header,
     * blocks, the opaque data), flipped one at a time: never accepted;
     * the step is odd so that every bit position in a byte is hit */
    attest_gpu_parse(g.report, g.n, &r);
    bad = 0;
    tried = 0;

    for (i = 0; i < r.signed_len * 8; i += (r.signed_len * 8 / 160) | 1) {
        g.report[i / 8] ^= 1 << (i % 8);
        rc = attest_gpu_verify(g.report, g.n, g.chain, g.chain_n, nonce, NULL,
                               NOW, &f, detail, sizeof(detail));
        g.report[i / 8] ^= 1 << (i % 8);

        tried++;
        bad += rc == ATTEST_OK;
    }

    is_int(bad, 0, "no flipped bit of the signed %zu bytes is accepted "
           "(%zu tried)", r.signed_len, tried);
    ok(tried >= 150, "  at many positions");

    /* and the signature itself */
    bad = 0;
    for (i = r.signed_len; i < r.used; i += 5) {
        g.report[i] ^= 0x40;
        rc = attest_gpu_verify(g.report, g.n, g.chain, g.chain_n, nonce, NULL,
                               NOW, &f, detail, sizeof(detail));
        g.report[i] ^= 0x40;
        bad += rc != ATTEST_ERR_SIGNATURE;
    }
    is_int(bad, 0, "a changed signature byte is bad_signature");

    /* every truncation is malformed, never a crash */
    bad = 0;
    for (i = 0; i < r.used; i++) {
        rc = attest_gpu_verify(g.report, i, g.chain, g.chain_n, nonce, NULL,
                               NOW, &f, detail, sizeof(detail));
        bad += rc != ATTEST_ERR_INPUT && rc != ATTEST_ERR_VERSION;
    }
    is_int(bad, 0, "every truncation of the report is malformed");

    /* SPDM 1.2 is another signing scheme: refused, not misread */
    g.report[0] = 0x12;
    g.report[37] = 0x12;
    rc = attest_gpu_verify(g.report, g.n, g.chain, g.chain_n, nonce, NULL,
                           NOW, &f, detail, sizeof(detail));
    is_err(rc, ATTEST_ERR_VERSION, "an SPDM 1.2 exchange", detail);
    g.report[0] = 0x11;
    g.report[37] = 0x11;

    /* before the chain was valid (2020-10-17 for the leaf) */
    rc = attest_gpu_verify(g.report, g.n, g.chain, g.chain_n, nonce, NULL,
                           1600000000, &f, detail, sizeof(detail));
    is_err(rc, ATTEST_ERR_CERT_EXPIRED, "in 2020, before the certificates",
           detail);

    unload(&g);
}


static void
evidence_json(void)
{
    char                 detail[256];
    size_t               i, n, count;
    uint8_t             *json, *mem, nonce[32];
    attest_err_t         rc;
    attest_evidence_t   *ev;
    attest_gpu_entry_t   e[ATTEST_MAX_GPUS + 1];

    static const struct {
        const char  *file, *nonce;
        size_t       gpus, switches;
    } lists[] = {
        { "nvtrust_ppcie_gpu_evidence.json",
          "4760e30534a0621357d458b1a7936551b5dc4cd1e69718adf7ed9fb0252a537e",
          8, 0 },
        { "nvtrust_ppcie_switch_evidence.json",
          "4760e30534a0621357d458b1a7936551b5dc4cd1e69718adf7ed9fb0252a537e",
          0, 4 },
        { "nvatsdk_hopper_evidence.json",
          "e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576",
          1, 0 },
        { "nvatsdk_evidence_hopper_590_12.json",
          "e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576",
          1, 0 },
        { "nvatsdk_hopper_evidence_cert_hold.json",
          "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
          1, 0 },
    };

    ev = calloc(1, sizeof(*ev));

    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        json = vec(lists[i].file, &n);
        if (json == NULL) {
            ok(0, "vector %s is there", lists[i].file);
            continue;
        }

        rc = attest_gpu_evidence_parse(json, n, e, ATTEST_MAX_GPUS, &count,
                                       &mem, detail, sizeof(detail));
        is_err(rc, ATTEST_OK, lists[i].file, detail);
        is_int(count, lists[i].gpus + lists[i].switches, "  %zu entries",
               lists[i].gpus + lists[i].switches);

        nonce_of(lists[i].nonce, nonce);
        rc = attest_gpu_verify_list(e, count, nonce, NULL, NOW, ev, detail,
                                    sizeof(detail));
        is_err(rc, ATTEST_OK, "  every entry verifies with its nonce",
               detail);
        is_int(ev->ngpu, count, "  all of them in the evidence");

        if (i == 0) {
            ok(strcmp(ev->gpu[7].vbios, "96.00.A5.00.01") == 0
               && strcmp(ev->gpu[7].driver, "590.12") == 0,
               "  the eighth GPU: VBIOS %s, driver %s (as the JSON says)",
               ev->gpu[7].vbios, ev->gpu[7].driver);
            ok(memcmp(ev->gpu[0].leaf_sha256, ev->gpu[1].leaf_sha256, 32)
               != 0, "  each GPU has its own device certificate");

            /* one device twice counts once: refused */
            e[1] = e[0];
            rc = attest_gpu_verify_list(e, count, nonce, NULL, NOW, ev,
                                        detail, sizeof(detail));
            is_err(rc, ATTEST_ERR_INPUT, "  the same GPU twice", detail);
            is_int(ev->ngpu, 0, "  and nothing counted");

            /* another nonce: every entry answers the wrong one */
            nonce[0] ^= 0x80;
            rc = attest_gpu_verify_list(e, count, nonce, NULL, NOW, ev,
                                        detail, sizeof(detail));
            is_err(rc, ATTEST_ERR_GPU_NONCE, "  a nonce one bit off",
                   detail);
        }

        free(mem);
        free(json);
    }

    free(ev);

    /* the JSON itself */
    {
        static const struct {
            const char  *json;
            const char  *what;
        } bad[] = {
            { "{}", "an object, not a list" },
            { "[]", "an empty list" },
            { "[1]", "a number" },
            { "[{\"certificate\":\"QQ==\"}]", "no evidence" },
            { "[{\"evidence\":\"QQ==\"}]", "no certificate" },
            { "[{\"certificate\":\"QQ==\",\"evidence\":\"QQ\"}]",
              "unpadded base64" },
            { "[{\"certificate\":\"QQ==\",\"evidence\":\"QQ==\",\"x\":\"\"}]",
              "an unknown key" },
            { "[{\"certificate\":\"QQ==\",\"evidence\":\"QQ==\",\"nonce\":1}]",
              "a nonce that is not a string" },
            { "[{\"certificate\":\"\",\"evidence\":\"QQ==\"}]",
              "an empty certificate" },
            { "[{\"certificate\":\"QQ==\",\"evidence\":\"QQ==\","
              "\"evidence\":\"QQ==\"}]", "a duplicate key" },
        };

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            rc = attest_gpu_evidence_parse((const uint8_t *) bad[i].json,
                                           strlen(bad[i].json), e,
                                           ATTEST_MAX_GPUS, &count, &mem,
                                           detail, sizeof(detail));
            is_err(rc, ATTEST_ERR_INPUT, bad[i].what, detail);
            ok(mem == NULL && count == 0, "  nothing kept");
        }
    }
}


static void
pieces(void)
{
    int       i;
    char      out[32];
    uint8_t   fwid[48], rd[64], nonce[32], want[32];
    uint8_t   vb[8] = { 0x00, 0x9f, 0x00, 0x96, 0x01, 0x00, 0x00, 0x00 };

    /* nvtrust format_vbios_version: b3.b2.b1.b0.b4 */
    attest_gpu_vbios_text(vb, 8, out, sizeof(out));
    ok(strcmp(out, "96.00.9F.00.01") == 0, "VBIOS 009f009601000000 is %s",
       out);
    attest_gpu_vbios_text((const uint8_t *) "96.10.55.00.01", 14, out,
                          sizeof(out));
    ok(strcmp(out, "96.10.55.00.01") == 0, "an NVSwitch sends it as text");

    /* versions */
    ok(attest_gpu_version_cmp("550.90.07", "550.90.7") == 0, "550.90.07 "
       "is 550.90.7");
    ok(attest_gpu_version_cmp("550.90.07", "550.100.1") < 0,
       "components compare as numbers");
    ok(attest_gpu_version_cmp("590.12", "590.12.0") == 0
       && attest_gpu_version_cmp("590.12", "590.12.1") < 0,
       "missing components are zero");
    ok(attest_gpu_version_cmp("", "1") < 0
       && attest_gpu_version_cmp("550.x", "1") < 0
       && attest_gpu_version_cmp("550..1", "1") < 0,
       "an empty or malformed version is below any");

    is_int(attest_gpu_leaf_fwid((const uint8_t *) "\x30\x00", 2, fwid),
           ATTEST_ERR_NO_CERT, "an extension without a FWID");

    /* the binding, computed independently (Python hashlib):
     * SHA-256("confer-gpu/v1" || 0x00 || report_data) */
    for (i = 0; i < 64; i++) {
        rd[i] = (uint8_t) i;
    }
    attest_gpu_nonce(rd, nonce);
    tap_unhex("3c894ff8bb49e8c71097508061d0e3f69c906cf09e3e6df623c902450894"
              "3b03", want, sizeof(want));
    is_mem(nonce, 32, want, 32, "the GPU nonce of report_data 00..3f");
    memset(rd, 0, 64);
    attest_gpu_nonce(rd, nonce);
    tap_unhex("8e7d5375694f4bc63fb686a30754545e2c797f021f90bf06c0bbde4c6af6"
              "a653", want, sizeof(want));
    is_mem(nonce, 32, want, 32, "the GPU nonce of a zero report_data");
}


/* trustee cert_chain.rs, test_parse_fwid_from_certificate */
static void
fwid_leaf(void)
{
    int                       j;
    char                      oid[32];
    X509                     *x[2];
    size_t                    n, k;
    uint8_t                  *pem, fwid[48], want[48];
    attest_err_t              rc;
    const ASN1_OCTET_STRING  *val;

    pem = vec("trustee_hopper_signing_cert.pem", &n);
    k = 0;

    if (pem == NULL || attest_x509_load(pem, n, x, 2, &k) != ATTEST_OK
        || k != 1)
    {
        ok(0, "the trustee signing certificate loads");
        free(pem);
        return;
    }

    rc = ATTEST_ERR_NO_CERT;

    for (j = 0; j < X509_get_ext_count(x[0]); j++) {
        OBJ_obj2txt(oid, sizeof(oid),
                    X509_EXTENSION_get_object(X509_get_ext(x[0], j)), 1);

        if (strcmp(oid, "2.23.133.5.4.1") == 0) {
            val = X509_EXTENSION_get_data(X509_get_ext(x[0], j));
            rc = attest_gpu_leaf_fwid(ASN1_STRING_get0_data(val),
                                      (size_t) ASN1_STRING_length(val),
                                      fwid);
        }
    }

    is_int(rc, ATTEST_OK, "the leaf's DICE extension holds a FWID");
    tap_unhex("f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004"
              "f7275494ba94bb5cdfdb3055ee051762b1f75d", want, sizeof(want));
    is_mem(fwid, 48, want, 48, "  trustee's expected value");

    attest_x509_free(x, k);
    free(pem);
}


int
main(void)
{
    char      path[1024];
    size_t    n;
    uint8_t  *p;

    vdir = tap_vectors_dir();
    snprintf(path, sizeof(path), "%s/nvidia/nvidia_device_identity_root.pem",
             vdir);
    p = tap_slurp(path, &n);

    pieces();

    if (p == NULL) {
        diag("SKIP the NVIDIA vectors: not found in %s/nvidia (set "
             "CONFER_VECTORS)", vdir);
        attest_cleanup();
        return done_testing();
    }

    {
        /* the built-in pin is this file's certificate */
        X509     *x[1];
        size_t    k = 0;
        uint8_t   md[32];

        attest_x509_load(p, n, x, 1, &k);
        attest_x509_sha256(x[0], md);
        is_mem(md, 32, attest_gpu_nvidia_root_sha256, 32, "the pinned root "
               "is the NVIDIA Device Identity CA of the vectors");
        attest_x509_free(x, k);
    }
    free(p);

    fwid_leaf();
    positives();
    negatives();
    evidence_json();

    attest_cleanup();
    return done_testing();
}
