/*
 * Documents with GPU evidence, on the simulated platform: the GPUs answer
 * the nonce derived from the document's report_data, so their evidence
 * is bound to the same keys; attest_verify_document() verifies every
 * entry and applies the policy's "gpu" rules, failing closed when GPU
 * evidence is required and absent.
 */

#include <time.h>

#include "tap.h"
#include "attest.h"
#include "attest_gpu.h"
#include "attest_int.h"


static const uint8_t  keys[] = {
    0x01, 0x00, 0x20, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
    0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11,
    0x00, 0x04, 0x00, 0x01, 0x00, 0x01
};

static char          dir[64], dir2[64];
static time_t        now;
static attest_sim_t *sim, *sim2;

#define BIG  (1 << 20)


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


static attest_policy_t *
policy(const char *gpu_rules)
{
    char              buf[1024], msg[256];
    attest_policy_t  *pol;

    snprintf(buf, sizeof(buf), "{\"platforms\":[],\"allow_simulated\":true,"
             "\"simulated_root\":\"%s/sim-root.pem\"%s%s}", dir,
             gpu_rules ? ",\"gpu\":" : "", gpu_rules ? gpu_rules : "");

    if (attest_policy_parse((uint8_t *) buf, strlen(buf), "/", &pol, msg,
                            sizeof(msg)) != ATTEST_OK)
    {
        diag("policy %s: %s", buf, msg);
        return NULL;
    }

    return pol;
}


/* GPU evidence from s answering nonce */
static uint8_t *
evidence(attest_sim_t *s, const uint8_t nonce[32], size_t ngpus,
    size_t *len)
{
    uint8_t  *out;

    out = malloc(BIG);
    if (attest_sim_gpu_evidence(s, nonce, ngpus, out, BIG, len)
        != ATTEST_OK)
    {
        free(out);
        return NULL;
    }

    return out;
}


static size_t
document(const uint8_t *gpu, size_t glen, uint64_t not_after, uint8_t *out)
{
    size_t  len;

    len = 0;

    if (gpu == NULL) {
        attest_sim_document(sim, keys, sizeof(keys), not_after, out, BIG,
                            &len);
    } else {
        attest_sim_document_gpu(sim, keys, sizeof(keys), not_after, gpu,
                                glen, out, BIG, &len);
    }

    return len;
}


static attest_err_t
verify(const uint8_t *doc, size_t n, const char *gpu_rules,
    attest_verdict_t *v)
{
    attest_err_t      rc;
    attest_policy_t  *pol;

    pol = policy(gpu_rules);
    rc = attest_verify_document(doc, n, pol, now, v);
    attest_policy_free(pol);

    return rc;
}


int
main(void)
{
    char               msg[256], hex[97], rules[512];
    size_t             n, glen, g2len, i;
    uint8_t           *doc, *gpu, *gpu2, nonce[32], rd[64], fw[48];
    uint64_t           na;
    attest_err_t       rc;
    attest_verdict_t  *v;

    snprintf(dir, sizeof(dir), "/tmp/confer-gpudoc-XXXXXX");
    snprintf(dir2, sizeof(dir2), "/tmp/confer-gpudoc2-XXXXXX");

    if (mkdtemp(dir) == NULL || mkdtemp(dir2) == NULL
        || attest_sim_init(dir, msg, sizeof(msg)) != ATTEST_OK
        || attest_sim_init(dir2, msg, sizeof(msg)) != ATTEST_OK
        || attest_sim_load(dir, &sim, msg, sizeof(msg)) != ATTEST_OK
        || attest_sim_load(dir2, &sim2, msg, sizeof(msg)) != ATTEST_OK)
    {
        skip_all("no simulated platform");
    }

    now = time(NULL);
    na = (uint64_t) now + 3600;
    doc = malloc(BIG);
    v = malloc(sizeof(*v));

    /* the nonce a terminator asks for is derived from report_data */
    attest_sim_gpu_nonce(keys, sizeof(keys), na, nonce);
    attest_binding(keys, sizeof(keys), na, rd);
    attest_gpu_nonce(rd, fw);
    is_mem(nonce, 32, fw, 32, "attest_sim_gpu_nonce is attest_gpu_nonce of "
           "the binding");

    gpu = evidence(sim, nonce, 2, &glen);
    ok(gpu != NULL && glen > 0 && gpu[0] == '[', "two simulated GPUs "
       "answer it (%zu bytes of NVIDIA-style JSON)", glen);

    n = document(gpu, glen, na, doc);
    ok(n > 0, "a simulated document with GPU evidence");

    rc = verify(doc, n, NULL, v);
    is_err(rc, ATTEST_OK, "it verifies under a policy allowing simulated "
           "evidence", v->detail);
    is_int(v->ev.ngpu, 2, "  two GPUs verified");
    ok(v->ev.gpu[0].simulated && v->ev.gpu[0].kind == ATTEST_GPU_GPU
       && strcmp(v->ev.gpu[0].model, "GH100 A01") == 0
       && strcmp(v->ev.gpu[0].arch, "HOPPER") == 0,
       "  simulated GH100 A01 (Hopper)");
    ok(strcmp(v->ev.gpu[1].driver, "570.86.15") == 0
       && strcmp(v->ev.gpu[1].vbios, "96.00.5A.00.01") == 0
       && v->ev.gpu[1].has_fwid, "  driver %s, VBIOS %s, a FWID",
       v->ev.gpu[1].driver, v->ev.gpu[1].vbios);
    is_mem(v->ev.gpu[0].nonce, 32, nonce, 32, "  they answered the bound "
           "nonce");
    ok(strstr(v->detail, "GPU") != NULL, "  detail: %s", v->detail);
    is_int(v->valid_until, (long long) na, "  valid until not_after");

    /* the rules */
    attest_hex(v->ev.gpu[0].fwid, 48, hex);
    memcpy(fw, v->ev.gpu[0].fwid, 48);

    rc = verify(doc, n, "{\"required\":true,\"count\":2}", v);
    is_err(rc, ATTEST_OK, "required, count 2", v->detail);
    rc = verify(doc, n, "{\"count\":3}", v);
    is_err(rc, ATTEST_ERR_POLICY_GPU_COUNT, "count 3", v->detail);
    rc = verify(doc, n, "{\"driver_min\":\"570.86.15\"}", v);
    is_err(rc, ATTEST_OK, "driver_min the same version", v->detail);
    rc = verify(doc, n, "{\"driver_min\":\"570.86.16\"}", v);
    is_err(rc, ATTEST_ERR_POLICY_GPU_DRIVER, "driver_min one above",
           v->detail);
    rc = verify(doc, n, "{\"vbios\":[\"96.00.9f.00.01\",\"96.00.5a.00.01\"]}",
                v);
    is_err(rc, ATTEST_OK, "vbios in the list (any case)", v->detail);
    rc = verify(doc, n, "{\"vbios\":[\"96.00.9F.00.01\"]}", v);
    is_err(rc, ATTEST_ERR_POLICY_GPU_FIRMWARE, "vbios not in the list",
           v->detail);
    snprintf(rules, sizeof(rules), "{\"fwid\":[\"%s\"]}", hex);
    rc = verify(doc, n, rules, v);
    is_err(rc, ATTEST_OK, "fwid in the list", v->detail);
    hex[0] = hex[0] == '0' ? '1' : '0';
    snprintf(rules, sizeof(rules), "{\"fwid\":[\"%s\"]}", hex);
    rc = verify(doc, n, rules, v);
    is_err(rc, ATTEST_ERR_POLICY_GPU_FIRMWARE, "fwid not in the list",
           v->detail);
    rc = verify(doc, n, "{\"allow_switch\":false}", v);
    is_err(rc, ATTEST_OK, "allow_switch false without NVSwitches",
           v->detail);

    /* fail closed: required, and no GPU evidence in the document */
    n = document(NULL, 0, na, doc);
    rc = verify(doc, n, "{\"required\":true}", v);
    is_err(rc, ATTEST_ERR_POLICY_GPU, "GPU evidence required and absent",
           v->detail);
    is_int(v->ohttp_keys_len, 0, "  no keys from it");
    rc = verify(doc, n, "{\"count\":1}", v);
    is_err(rc, ATTEST_ERR_POLICY_GPU, "a count implies required", v->detail);
    rc = verify(doc, n, "{\"driver_min\":\"1\"}", v);
    is_err(rc, ATTEST_OK, "other rules alone do not require GPUs",
           v->detail);

    /* binding: evidence answering another document's nonce */
    attest_sim_gpu_nonce(keys, sizeof(keys), na + 1, nonce);
    gpu2 = evidence(sim, nonce, 1, &g2len);
    n = document(gpu2, g2len, na, doc);
    rc = verify(doc, n, NULL, v);
    is_err(rc, ATTEST_ERR_GPU_NONCE, "GPU evidence made for another "
           "not_after", v->detail);
    free(gpu2);

    /* a GPU chain under another simulated root */
    attest_sim_gpu_nonce(keys, sizeof(keys), na, nonce);
    gpu2 = evidence(sim2, nonce, 1, &g2len);
    n = document(gpu2, g2len, na, doc);
    rc = verify(doc, n, NULL, v);
    is_err(rc, ATTEST_ERR_UNKNOWN_ROOT, "a GPU of another simulated root",
           v->detail);
    free(gpu2);

    /* a damaged entry fails the whole document */
    n = document(gpu, glen, na, doc);
    for (i = n / 2; i < n; i++) {
        if (doc[i] == 'A') {
            doc[i] = 'B';
            break;
        }
    }
    rc = verify(doc, n, NULL, v);
    ok(rc != ATTEST_OK, "a changed base64 digit inside the GPU evidence: "
       "refused (%s)", attest_strerror(rc));

    /* the same GPU twice */
    for (i = 1; i < glen && gpu[i] != '}'; i++) {
        /* the end of the first entry */
    }
    gpu2 = malloc(2 * glen);
    n = (size_t) snprintf((char *) gpu2, 2 * glen, "[%.*s,%.*s]",
                          (int) i, gpu + 1, (int) i, gpu + 1);
    n = document(gpu2, n, na, doc);
    rc = verify(doc, n, NULL, v);
    is_err(rc, ATTEST_ERR_INPUT, "one GPU listed twice", v->detail);
    free(gpu2);

    /* not NVIDIA's JSON */
    is_int(attest_sim_document_gpu(sim, keys, sizeof(keys), na,
                                   (const uint8_t *) "{}", 2, doc, BIG, &n),
           ATTEST_ERR_INPUT, "attest_sim_document_gpu refuses what is not "
           "evidence JSON");
    {
        static const char  bad[] = "{\"version\":1,\"platform\":\"simulated\","
            "\"ohttp_keys\":\"AQ==\",\"not_after\":1,\"evidence\":\"AQ==\","
            "\"gpu\":[{\"arch\":\"HOPPER\"}]}";

        rc = attest_verify_document((const uint8_t *) bad, sizeof(bad) - 1,
                                    NULL, 0, v);
        is_err(rc, ATTEST_ERR_DOCUMENT, "a gpu entry without evidence",
               v->detail);
    }

    /* the default policy: simulated evidence, CPU or GPU, is refused */
    n = document(gpu, glen, na, doc);
    rc = attest_verify_document(doc, n, NULL, now, v);
    is_err(rc, ATTEST_ERR_POLICY_SIMULATED, "the default policy", v->detail);
    {
        attest_evidence_t  *ev;

        ev = calloc(1, sizeof(*ev));
        ev->ngpu = 1;
        ev->gpu[0].kind = ATTEST_GPU_GPU;
        ev->gpu[0].simulated = 1;
        rc = attest_policy_check_gpu(NULL, ev, msg, sizeof(msg));
        is_err(rc, ATTEST_ERR_POLICY_SIMULATED, "a simulated GPU next to "
               "real CPU evidence, default policy", msg);
        free(ev);
    }

    /* valid_until: the GPU leaf (a year) before a two-year not_after */
    na = (uint64_t) now + 2 * 365 * 86400;
    attest_sim_gpu_nonce(keys, sizeof(keys), na, nonce);
    gpu2 = evidence(sim, nonce, 1, &g2len);
    n = document(gpu2, g2len, na, doc);
    rc = verify(doc, n, NULL, v);
    is_err(rc, ATTEST_OK, "a document for two years", v->detail);
    ok(v->valid_until < (time_t) na
       && v->valid_until == v->ev.gpu[0].chain_not_after
       && v->valid_until > now + 360 * 86400,
       "  valid_until is the GPU chain's notAfter");
    free(gpu2);

    free(gpu);
    free(doc);
    free(v);
    attest_sim_free(sim);
    attest_sim_free(sim2);

    snprintf(msg, sizeof(msg), "rm -rf %s %s", dir, dir2);
    if (system(msg) != 0) {
        diag("could not remove %s", dir);
    }

    attest_cleanup();
    return done_testing();
}
