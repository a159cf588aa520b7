/*
 * libFuzzer harness: Intel PCS collateral text (TCB Info, QE Identity)
 * through the parsers and, when one parses, the TCB evaluation against a
 * quote whose fields come from the input's first bytes.
 */

#include <string.h>

#include "attest_tdx.h"


static attest_tdx_tcb_info_t     ti;
static attest_tdx_qe_identity_t  qi;
static uint8_t                   buf[1024];


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                       have_ti, have_qi;
    attest_tdx_pck_t          pck;
    attest_tdx_quote_t        q;
    attest_tdx_tcb_result_t   res;

    have_ti = attest_tdx_tcb_info_parse(data, size, &ti) == ATTEST_OK;
    have_qi = attest_tdx_qe_identity_parse(data, size, &qi) == ATTEST_OK;

    if (!have_ti && !have_qi) {
        return 0;
    }

    /* a quote and PCK made of the input's bytes, of the TCB Info's FMSPC */
    memset(buf, 0, sizeof(buf));
    memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
    memset(&q, 0, sizeof(q));
    q.tee_tcb_svn = buf;
    q.mrsignerseam = buf + 16;
    q.seam_attributes = buf + 64;
    q.qe_report = buf + 128;

    memset(&pck, 0, sizeof(pck));
    memcpy(pck.cpusvn_comp, buf + 600, 16);
    pck.pcesvn = (uint16_t) (buf[616] | buf[617] << 8);
    if (have_ti) {
        memcpy(pck.fmspc, ti.fmspc, 6);
        memcpy(pck.pceid, ti.pceid, 2);
    }

    attest_tdx_evaluate(&q, &pck, have_ti ? &ti : NULL,
                        have_qi ? &qi : NULL, &res);
    attest_tdx_tcb_status_name(res.overall);

    return 0;
}
