/*
 * attest/: reason codes and platform names as stable strings.
 */

#include "attest.h"


static const char  *attest_err_names[] = {
    "ok",
    "nomem",
    "malformed",
    "unsupported_version",
    "not_tdx",
    "unsupported_signature_algorithm",
    "reserved_nonzero",
    "bad_signature",
    "missing_certificate",
    "bad_certificate",
    "bad_chain",
    "unknown_root",
    "certificate_expired",
    "revoked",
    "bad_crl",
    "product_mismatch",
    "tcb_mismatch",
    "chip_id_mismatch",
    "bad_qe_report",
    "qe_binding",
    "bad_collateral",
    "collateral_expired",
    "no_matching_tcb_level",
    "bad_document",
    "document_expired",
    "report_data_mismatch",
    "bad_policy",
    "platform_not_allowed",
    "simulated_not_allowed",
    "product_not_allowed",
    "measurement_not_allowed",
    "debug_not_allowed",
    "vmpl_not_allowed",
    "tcb_too_low",
    "tcb_status_not_allowed",
    "too_old",
    "gpu_required",
    "internal",
    "not_supported",
    "gpu_nonce_mismatch",
    "gpu_count_too_low",
    "gpu_switch_not_allowed",
    "gpu_driver_too_old",
    "gpu_firmware_not_allowed"
};


const char *
attest_strerror(attest_err_t err)
{
    if ((unsigned) err >= sizeof(attest_err_names) / sizeof(char *)) {
        return "unknown";
    }

    return attest_err_names[err];
}


const char *
attest_platform_name(attest_platform_t p)
{
    switch (p) {
    case ATTEST_PLATFORM_SEV_SNP:
        return "sev-snp";
    case ATTEST_PLATFORM_TDX:
        return "tdx";
    case ATTEST_PLATFORM_SIMULATED:
        return "simulated";
    default:
        return "none";
    }
}
