/*
 * Policies: what parses, what is refused (unknown keys above all), and
 * what each rule does to evidence.
 */

#include <unistd.h>

#include "policy_test.h"


static const char  *m1 =
    "\"111111111111111111111111111111111111111111111111"
    "111111111111111111111111111111111111111111111111\"";
static const char  *m2 =
    "\"222222222222222222222222222222222222222222222222"
    "222222222222222222222222222222222222222222222222\"";


static void
snp_evidence(attest_evidence_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->platform = ATTEST_PLATFORM_SEV_SNP;
    ev->version = 3;
    strcpy(ev->product, "Milan");
    memset(ev->measurement, 0x11, 48);
    ev->reported_tcb.bootloader = 3;
    ev->reported_tcb.tee = 0;
    ev->reported_tcb.snp = 8;
    ev->reported_tcb.microcode = 115;
    ev->vmpl = 1;
}


int
main(void)
{
    char               buf[1024], msg[256], path[64];
    FILE              *f;
    attest_policy_t   *pol;
    attest_evidence_t  ev;

    /* parsing */
    pol = accepted("{}");
    attest_policy_free(pol);
    pol = accepted("{\"comment\": \"prod\", \"platforms\": [\"sev-snp\"], "
                   "\"allow_debug\": false, \"max_age\": 3600, "
                   "\"report_data\": \"0102\", "
                   "\"sev-snp\": {\"products\": [\"Milan\", \"Turin\"], "
                   "\"min_tcb\": {\"Milan\": {\"snp\": 8}, "
                   "\"Turin\": {\"fmc\": 1}}, \"vmpl\": 0}, "
                   "\"tdx\": {\"tcb_status\": [\"UpToDate\"], "
                   "\"rtmr\": {\"3\": []}}, \"gpu\": {\"required\": false}}");
    attest_policy_free(pol);

    refused("{\"platfroms\": [\"sev-snp\"]}", "unknown key \"platfroms\"");
    refused("{\"sev-snp\": {\"measurement\": []}}",
            "unknown key \"measurement\" in sev-snp");
    refused("{\"sev-snp\": {\"min_tcb\": {\"microcde\": 1}}}",
            "unknown key \"microcde\"");
    refused("{\"tdx\": {\"rtmr\": {\"4\": []}}}", "unknown key \"4\"");
    refused("{\"gpu\": {\"requried\": true}}", "unknown key \"requried\"");
    refused("{\"allow_debug\": false, \"allow_debug\": true}", "JSON");
    refused("[]", "the policy must be an object");
    refused("{", "JSON");
    refused("{\"allow_debug\": \"yes\"}", "allow_debug must be");
    refused("{\"platforms\": [\"simulated\"]}", "allow_simulated");
    refused("{\"platforms\": \"sev-snp\"}", "platforms must be");
    refused("{\"allow_simulated\": true}", "needs simulated_root");
    refused("{\"simulated_root\": \"sha256:00\"}", "64 hex digits");
    refused("{\"simulated_root\": \"/nonexistent/root.pem\"}",
            "/nonexistent/root.pem");
    refused("{\"max_age\": 0}", "max_age");
    refused("{\"max_age\": \"1h\"}", "max_age");
    refused("{\"report_data\": \"xyz\"}", "report_data");
    refused("{\"sev-snp\": {\"measurements\": [\"00\"]}}", "96 hex digits");
    refused("{\"sev-snp\": {\"products\": [\"Naples\"]}}", "products[0]");
    refused("{\"sev-snp\": {\"min_tcb\": {\"snp\": 300}}}", "0-255");
    refused("{\"sev-snp\": {\"min_tcb\": {\"snp\": 1, \"Milan\": {}}}}",
            "mixes");
    refused("{\"sev-snp\": {\"vmpl\": 0, \"max_vmpl\": 1}}", "exclude");
    refused("{\"sev-snp\": {\"vmpl\": 4}}", "0-3");
    refused("{\"tdx\": {\"tcb_status\": [\"UpTodate\"]}}", "tcb_status[0]");

    /* loading from files */
    ok(attest_policy_load("/nonexistent/policy.json", &pol, msg, sizeof(msg))
       == ATTEST_ERR_POLICY && strstr(msg, "/nonexistent/policy.json"),
       "a missing file: %s", msg);

    snprintf(path, sizeof(path), "/tmp/confer-policy-XXXXXX");
    if (mkdtemp(path) != NULL) {
        snprintf(buf, sizeof(buf), "%s/p.json", path);
        f = fopen(buf, "w");
        fputs("{\"allow_debug\": tru}", f);
        fclose(f);
        ok(attest_policy_load(buf, &pol, msg, sizeof(msg))
           == ATTEST_ERR_POLICY && strstr(msg, "p.json") != NULL,
           "an unparsable file names itself: %s", msg);

        /* a relative simulated_root is found beside the policy */
        f = fopen(buf, "w");
        fputs("{\"allow_simulated\": true, \"simulated_root\": \"r.pem\"}",
              f);
        fclose(f);
        ok(attest_policy_load(buf, &pol, msg, sizeof(msg))
           == ATTEST_ERR_POLICY && strstr(msg, path) != NULL,
           "simulated_root is looked up beside the policy: %s", msg);

        unlink(buf);
        rmdir(path);
    }

    /* evaluation */
    snp_evidence(&ev);
    verdict(NULL, &ev, ATTEST_OK, "default policy, SNP");
    verdict("{\"platforms\": [\"tdx\"]}", &ev, ATTEST_ERR_POLICY_PLATFORM,
            "TDX only");
    verdict("{\"platforms\": []}", &ev, ATTEST_ERR_POLICY_PLATFORM,
            "no platform");
    verdict("{\"sev-snp\": {\"products\": [\"Genoa\"]}}", &ev,
            ATTEST_ERR_POLICY_PRODUCT, "Genoa only");
    verdict("{\"sev-snp\": {\"products\": []}}", &ev,
            ATTEST_ERR_POLICY_PRODUCT, "no product");
    verdict("{\"sev-snp\": {\"products\": [\"Milan\"]}}", &ev, ATTEST_OK,
            "Milan");

    snprintf(buf, sizeof(buf), "{\"sev-snp\": {\"measurements\": [%s, %s]}}",
             m2, m1);
    verdict(buf, &ev, ATTEST_OK, "measurement listed");
    snprintf(buf, sizeof(buf), "{\"sev-snp\": {\"measurements\": [%s]}}",
             m2);
    verdict(buf, &ev, ATTEST_ERR_POLICY_MEASUREMENT, "measurement not listed");
    verdict("{\"sev-snp\": {\"measurements\": []}}", &ev,
            ATTEST_ERR_POLICY_MEASUREMENT, "an empty allow-list");

    verdict("{\"sev-snp\": {\"vmpl\": 0}}", &ev, ATTEST_ERR_POLICY_VMPL,
            "exact VMPL 0");
    verdict("{\"sev-snp\": {\"vmpl\": 1}}", &ev, ATTEST_OK, "exact VMPL 1");
    verdict("{\"sev-snp\": {\"max_vmpl\": 0}}", &ev, ATTEST_ERR_POLICY_VMPL,
            "max VMPL 0");
    verdict("{\"sev-snp\": {\"max_vmpl\": 2}}", &ev, ATTEST_OK, "max VMPL 2");

    verdict("{\"sev-snp\": {\"min_tcb\": {\"bootloader\": 3, \"snp\": 8, "
            "\"microcode\": 115}}}", &ev, ATTEST_OK, "TCB at the minimum");
    verdict("{\"sev-snp\": {\"min_tcb\": {\"microcode\": 116}}}", &ev,
            ATTEST_ERR_POLICY_TCB, "microcode below");
    verdict("{\"sev-snp\": {\"min_tcb\": {\"fmc\": 1}}}", &ev,
            ATTEST_ERR_POLICY_TCB, "fmc below");
    verdict("{\"sev-snp\": {\"min_tcb\": {\"Genoa\": {\"snp\": 99}}}}", &ev,
            ATTEST_OK, "another product's minimum");
    verdict("{\"sev-snp\": {\"min_tcb\": {\"Milan\": {\"snp\": 9}}}}", &ev,
            ATTEST_ERR_POLICY_TCB, "this product's minimum");

    verdict("{\"report_data\": \"00\"}", &ev, ATTEST_OK,
            "report_data zero-padded");
    verdict("{\"report_data\": \"01\"}", &ev, ATTEST_ERR_BINDING,
            "report_data differs");
    verdict("{\"gpu\": {\"required\": true}}", &ev, ATTEST_ERR_POLICY_GPU,
            "GPU evidence required");
    verdict("{\"gpu\": {\"required\": false}}", &ev, ATTEST_OK,
            "GPU evidence not required");

    ev.debug = 1;
    verdict(NULL, &ev, ATTEST_ERR_POLICY_DEBUG, "debug, default policy");
    verdict("{}", &ev, ATTEST_ERR_POLICY_DEBUG, "debug, empty policy");
    verdict("{\"allow_debug\": true}", &ev, ATTEST_OK, "debug allowed");
    ev.debug = 0;

    ev.platform = ATTEST_PLATFORM_SIMULATED;
    strcpy(ev.product, "SIMULATED");
    verdict(NULL, &ev, ATTEST_ERR_POLICY_SIMULATED, "simulated, default");
    verdict("{\"allow_simulated\": true, \"simulated_root\": \"sha256:"
            "0000000000000000000000000000000000000000000000000000000000000000"
            "\", \"sev-snp\": {\"products\": [\"Genoa\"], \"max_vmpl\": 0}}",
            &ev, ATTEST_ERR_POLICY_VMPL,
            "simulated: products ignored, VMPL applies");

    memset(&ev, 0, sizeof(ev));
    ev.platform = ATTEST_PLATFORM_TDX;
    ev.version = 4;
    memset(ev.measurement, 0x11, 48);
    memset(ev.rtmr[2], 0x22, 48);
    strcpy(ev.tcb_status, "OutOfDate");
    verdict(NULL, &ev, ATTEST_OK, "TDX, default policy");
    snprintf(buf, sizeof(buf), "{\"tdx\": {\"mrtd\": [%s]}}", m1);
    verdict(buf, &ev, ATTEST_OK, "MRTD listed");
    snprintf(buf, sizeof(buf), "{\"tdx\": {\"mrtd\": [%s]}}", m2);
    verdict(buf, &ev, ATTEST_ERR_POLICY_MEASUREMENT, "MRTD not listed");
    snprintf(buf, sizeof(buf), "{\"tdx\": {\"rtmr\": {\"2\": [%s]}}}", m2);
    verdict(buf, &ev, ATTEST_OK, "RTMR2 listed");
    snprintf(buf, sizeof(buf), "{\"tdx\": {\"rtmr\": {\"1\": [%s]}}}", m2);
    verdict(buf, &ev, ATTEST_ERR_POLICY_MEASUREMENT, "RTMR1 not listed");
    verdict("{\"tdx\": {\"tcb_status\": [\"UpToDate\"]}}", &ev,
            ATTEST_ERR_POLICY_TCB_STATUS, "OutOfDate not allowed");
    verdict("{\"tdx\": {\"tcb_status\": [\"UpToDate\", \"OutOfDate\"]}}",
            &ev, ATTEST_OK, "OutOfDate allowed");
    ev.tcb_status[0] = '\0';
    verdict("{\"tdx\": {\"tcb_status\": [\"UpToDate\"]}}", &ev,
            ATTEST_ERR_POLICY_TCB_STATUS, "no collateral, no TCB status");
    snprintf(buf, sizeof(buf), "{\"sev-snp\": {\"measurements\": [%s]}}",
             m2);
    verdict(buf, &ev, ATTEST_OK, "SNP rules do not apply to TDX");

    ev.platform = ATTEST_PLATFORM_NONE;
    verdict("{}", &ev, ATTEST_ERR_POLICY_PLATFORM, "unverified evidence");

    return done_testing();
}
