/*
 * The policy's "gpu" rules and the TDX out_of_date_grace: what parses,
 * what is refused, what each rule does to evidence, and the grace period
 * on a real OutOfDate TDX platform.
 */

#include <time.h>

#include "policy_test.h"
#include "attest_tdx.h"


static void
parsing(void)
{
    char              msg[256];
    attest_policy_t  *pol;

    ok(parse("{\"gpu\": {\"required\": true, \"count\": 8, "
             "\"allow_switch\": true, \"driver_min\": \"550.90.07\", "
             "\"vbios\": [\"96.00.9F.00.01\"], \"fwid\": [\"f5c384aebb57921"
             "7a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfd"
             "b3055ee051762b1f75d\"]}}", &pol, msg, sizeof(msg)) == ATTEST_OK,
       "every gpu rule parses (%s)", msg);
    attest_policy_free(pol);

    refused("{\"gpu\": {\"count\": 0}}", "gpu.count");
    refused("{\"gpu\": {\"count\": 17}}", "gpu.count");
    refused("{\"gpu\": {\"count\": \"8\"}}", "gpu.count");
    refused("{\"gpu\": {\"allow_switch\": 1}}", "allow_switch");
    refused("{\"gpu\": {\"driver_min\": 550}}", "driver_min");
    refused("{\"gpu\": {\"driver_min\": \"550.x\"}}", "driver_min");
    refused("{\"gpu\": {\"driver_min\": \"\"}}", "driver_min");
    refused("{\"gpu\": {\"vbios\": \"96.00.9F.00.01\"}}", "gpu.vbios");
    refused("{\"gpu\": {\"vbios\": [\"\"]}}", "gpu.vbios[0]");
    refused("{\"gpu\": {\"fwid\": [\"f5c3\"]}}", "gpu.fwid[0]");
    refused("{\"gpu\": {\"measurements\": []}}", "unknown key");
    refused("{\"gpu\": []}", "gpu must be an object");

    ok(parse("{\"tdx\": {\"tcb_status\": [\"UpToDate\"], "
             "\"out_of_date_grace\": 2592000}}", &pol, msg, sizeof(msg))
       == ATTEST_OK, "tdx.out_of_date_grace parses (%s)", msg);
    attest_policy_free(pol);
    refused("{\"tdx\": {\"out_of_date_grace\": 86400}}", "needs "
            "tdx.tcb_status");
    refused("{\"tdx\": {\"tcb_status\": [\"UpToDate\"], "
            "\"out_of_date_grace\": -1}}", "out_of_date_grace");
    refused("{\"tdx\": {\"tcb_status\": [\"UpToDate\"], "
            "\"out_of_date_grace\": \"30d\"}}", "out_of_date_grace");
}


static void
gpu_rules(void)
{
    attest_evidence_t  *ev;

    ev = calloc(1, sizeof(*ev));
    ev->platform = ATTEST_PLATFORM_SEV_SNP;
    strcpy(ev->product, "Genoa");

    verdict("{}", ev, ATTEST_OK, "no GPU evidence, no gpu rules");
    verdict("{\"gpu\": {\"required\": false}}", ev, ATTEST_OK,
            "required false");
    verdict("{\"gpu\": {\"required\": true}}", ev, ATTEST_ERR_POLICY_GPU,
            "required, none");

    /* an NVSwitch alone is not a GPU */
    ev->ngpu = 1;
    ev->gpu[0].kind = ATTEST_GPU_SWITCH;
    strcpy(ev->gpu[0].vbios, "96.10.55.00.01");
    verdict("{\"gpu\": {\"required\": true}}", ev, ATTEST_ERR_POLICY_GPU,
            "required, an NVSwitch only");
    verdict("{\"gpu\": {\"allow_switch\": false}}", ev,
            ATTEST_ERR_POLICY_GPU_SWITCH, "allow_switch false, an NVSwitch");
    verdict("{\"gpu\": {\"driver_min\": \"999\"}}", ev, ATTEST_OK,
            "driver_min does not apply to NVSwitches (they send none)");
    verdict("{\"gpu\": {\"vbios\": [\"96.10.55.00.01\"]}}", ev, ATTEST_OK,
            "vbios lists NVSwitch firmware too");

    /* two GPUs and the switch */
    ev->ngpu = 3;
    ev->gpu[1].kind = ATTEST_GPU_GPU;
    strcpy(ev->gpu[1].driver, "550.90.07");
    strcpy(ev->gpu[1].vbios, "96.00.9F.00.01");
    ev->gpu[2].kind = ATTEST_GPU_GPU;
    strcpy(ev->gpu[2].driver, "535.86.09");
    strcpy(ev->gpu[2].vbios, "96.00.5E.00.01");
    memset(ev->gpu[2].fwid, 0xab, 48);
    ev->gpu[2].has_fwid = 1;

    verdict("{\"gpu\": {\"count\": 2}}", ev, ATTEST_OK, "count 2 of 2 GPUs "
            "(the NVSwitch not counted)");
    verdict("{\"gpu\": {\"count\": 3}}", ev, ATTEST_ERR_POLICY_GPU_COUNT,
            "count 3 of 2 GPUs");
    verdict("{\"gpu\": {\"driver_min\": \"535.86.09\"}}", ev, ATTEST_OK,
            "driver_min at the oldest GPU's");
    verdict("{\"gpu\": {\"driver_min\": \"535.86.10\"}}", ev,
            ATTEST_ERR_POLICY_GPU_DRIVER, "driver_min above one GPU's");
    verdict("{\"gpu\": {\"driver_min\": \"550\"}}", ev,
            ATTEST_ERR_POLICY_GPU_DRIVER, "driver_min 550: 535 is below");
    verdict("{\"gpu\": {\"vbios\": [\"96.00.9F.00.01\", \"96.00.5E.00.01\"]}}",
            ev, ATTEST_ERR_POLICY_GPU_FIRMWARE, "vbios: the NVSwitch's is "
            "missing from the list");
    verdict("{\"gpu\": {\"vbios\": [\"96.00.9F.00.01\", \"96.00.5E.00.01\", "
            "\"96.10.55.00.01\"]}}", ev, ATTEST_OK, "vbios: all three");
    verdict("{\"gpu\": {\"fwid\": [\"abababababababababababababababababababab"
            "abababababababababababababababababababababababababababab\"]}}", ev,
            ATTEST_ERR_POLICY_GPU_FIRMWARE, "fwid: two devices without one");
    verdict("{\"gpu\": {\"vbios\": []}}", ev,
            ATTEST_ERR_POLICY_GPU_FIRMWARE, "an empty vbios list accepts "
            "none");

    /* a GPU without a driver version fails a minimum */
    ev->gpu[1].driver[0] = '\0';
    verdict("{\"gpu\": {\"driver_min\": \"1\"}}", ev,
            ATTEST_ERR_POLICY_GPU_DRIVER, "a GPU that sent no driver version");

    /* the CPU rules come first */
    ev->debug = 1;
    verdict("{\"gpu\": {\"count\": 3}}", ev, ATTEST_ERR_POLICY_DEBUG,
            "a debug guest before the GPU rules");

    free(ev);
}


static void
grace_synthetic(void)
{
    attest_evidence_t  *ev;
    const char         *g30;

    ev = calloc(1, sizeof(*ev));
    ev->platform = ATTEST_PLATFORM_TDX;
    ev->tcb_recovery_date = 1700000000;
    ev->checked_at = 1700000000 + 29 * 86400;
    strcpy(ev->tcb_status, "OutOfDate");

    g30 = "{\"tdx\": {\"tcb_status\": [\"UpToDate\"], "
          "\"out_of_date_grace\": 2592000}}";

    verdict("{\"tdx\": {\"tcb_status\": [\"UpToDate\"]}}", ev,
            ATTEST_ERR_POLICY_TCB_STATUS, "OutOfDate without a grace period");
    verdict(g30, ev, ATTEST_OK, "OutOfDate 29 days after the recovery, 30 "
            "days of grace");
    ev->checked_at = 1700000000 + 2592000;
    verdict(g30, ev, ATTEST_OK, "on the last second of the grace period");
    ev->checked_at++;
    verdict(g30, ev, ATTEST_ERR_POLICY_TCB_STATUS, "one second after it");

    ev->checked_at = 1700000000 + 86400;
    ev->tcb_recovery_date = 0;
    verdict(g30, ev, ATTEST_ERR_POLICY_TCB_STATUS, "no known recovery date: "
            "no grace");
    ev->tcb_recovery_date = 1700000000;

    strcpy(ev->tcb_status, "OutOfDateConfigurationNeeded");
    verdict(g30, ev, ATTEST_ERR_POLICY_TCB_STATUS,
            "OutOfDateConfigurationNeeded when the list has no "
            "ConfigurationNeeded");
    verdict("{\"tdx\": {\"tcb_status\": [\"UpToDate\", "
            "\"ConfigurationNeeded\"], \"out_of_date_grace\": 2592000}}", ev,
            ATTEST_OK, "and when it has");

    strcpy(ev->tcb_status, "Revoked");
    verdict(g30, ev, ATTEST_ERR_POLICY_TCB_STATUS, "Revoked: no grace");
    strcpy(ev->tcb_status, "SWHardeningNeeded");
    verdict(g30, ev, ATTEST_ERR_POLICY_TCB_STATUS, "SWHardeningNeeded: not "
            "an OutOfDate status");
    ev->tcb_status[0] = '\0';
    verdict(g30, ev, ATTEST_ERR_POLICY_TCB_STATUS, "no status (no "
            "collateral)");

    free(ev);
}


static uint8_t *
tdx_vec(const char *name, size_t *n)
{
    char  path[1024];

    snprintf(path, sizeof(path), "%s/tdx/%s", tap_vectors_dir(), name);
    return tap_slurp(path, n);
}


/* the Azure TD quote is OutOfDate under teekit's TCB Info of 2025-09-29,
 * whose newest UpToDate level is dated 2024-03-13 */
static void
grace_real(void)
{
    char                      detail[256];
    size_t                    qn, tn, en, cn;
    uint8_t                  *q, *ti, *qe, *chain;
    struct tm                 tm;
    attest_err_t              rc;
    attest_evidence_t         ev;
    attest_tdx_collateral_t   col;

    q = tdx_vec("trustee_azure_td-quote.bin", &qn);
    ti = tdx_vec("teekit_tcbInfo-tdx-00806f050000.json", &tn);
    qe = tdx_vec("trustee_enclaveIdentity.json", &en);
    chain = tdx_vec("intel_tcb_signing_chain_2025-2032.pem", &cn);

    if (q == NULL || ti == NULL || qe == NULL || chain == NULL) {
        diag("SKIP the real TDX grace period: TDX vectors absent");
        free(q);
        free(ti);
        free(qe);
        free(chain);
        return;
    }

    memset(&col, 0, sizeof(col));
    col.tcb_info = ti;
    col.tcb_info_len = tn;
    col.qe_identity = qe;
    col.qe_identity_len = en;
    col.tcb_signing_chain = chain;
    col.tcb_signing_chain_len = cn;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = 2025 - 1900;
    tm.tm_mon = 9;
    tm.tm_mday = 28;

    rc = attest_tdx_verify(q, qn, &col, timegm(&tm), &ev);
    ok(rc == ATTEST_OK && strcmp(ev.tcb_status, "OutOfDate") == 0,
       "the Azure TD quote is OutOfDate on 2025-10-28 (%s, %s)",
       attest_strerror(rc), ev.tcb_status);

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = 2024 - 1900;
    tm.tm_mon = 2;
    tm.tm_mday = 13;
    is_int(ev.tcb_recovery_date, timegm(&tm), "  since the TCB recovery of "
           "2024-03-13");

    /* 594 days later */
    rc = check("{\"tdx\": {\"tcb_status\": [\"UpToDate\"], "
               "\"out_of_date_grace\": 51840000}}", &ev, detail);
    ok(rc == ATTEST_OK, "  accepted with 600 days of grace (%s)", detail);
    rc = check("{\"tdx\": {\"tcb_status\": [\"UpToDate\"], "
               "\"out_of_date_grace\": 51235200}}", &ev, detail);
    ok(rc == ATTEST_ERR_POLICY_TCB_STATUS, "  refused with 593 days: %s",
       detail);

    free(q);
    free(ti);
    free(qe);
    free(chain);
}


int
main(void)
{
    parsing();
    gpu_rules();
    grace_synthetic();
    grace_real();

    attest_cleanup();
    return done_testing();
}
