/*
 * The policy parser, and each parsed policy applied to SNP, simulated and
 * TDX evidence.
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "attest.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                msg[256];
    attest_policy_t    *pol;
    attest_evidence_t   ev;

    if (attest_policy_parse(data, size, "/nonexistent", &pol, msg,
                            sizeof(msg)) != ATTEST_OK)
    {
        return 0;
    }

    memset(&ev, 0, sizeof(ev));
    ev.platform = ATTEST_PLATFORM_SEV_SNP;
    strcpy(ev.product, "Genoa");
    ev.vmpl = 1;
    ev.reported_tcb.snp = 8;
    attest_policy_check(pol, &ev, msg, sizeof(msg));

    ev.platform = ATTEST_PLATFORM_SIMULATED;
    ev.debug = 1;
    attest_policy_check(pol, &ev, msg, sizeof(msg));

    ev.platform = ATTEST_PLATFORM_TDX;
    strcpy(ev.tcb_status, "UpToDate");
    attest_policy_check(pol, &ev, NULL, 0);

    attest_policy_free(pol);
    return 0;
}
