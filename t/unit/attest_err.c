/* Reason codes are an interface (the CLI prints them): one name each. */

#include "tap.h"
#include "attest.h"

int
main(void)
{
    int  i, j, dup;

    is_int(ATTEST_ERR_LAST, 44, "the number of reason codes is known");
    ok(strcmp(attest_strerror(ATTEST_OK), "ok") == 0, "ok is ok");
    ok(strcmp(attest_strerror(ATTEST_ERR_UNSUPPORTED), "not_supported") == 0,
       "a code keeps its name when others are appended");
    ok(strcmp(attest_strerror(ATTEST_ERR_GPU_NONCE), "gpu_nonce_mismatch")
       == 0, "the first GPU code");
    ok(strcmp(attest_strerror(ATTEST_ERR_POLICY_GPU_FIRMWARE),
              "gpu_firmware_not_allowed") == 0,
       "the last code has the last name");
    ok(strcmp(attest_strerror(ATTEST_ERR_LAST), "unknown") == 0,
       "out of range is unknown");

    dup = 0;
    for (i = 0; i < ATTEST_ERR_LAST; i++) {
        for (j = i + 1; j < ATTEST_ERR_LAST; j++) {
            dup += strcmp(attest_strerror(i), attest_strerror(j)) == 0;
        }
    }
    is_int(dup, 0, "every reason code has its own name");
    ok(strcmp(attest_platform_name(ATTEST_PLATFORM_SIMULATED), "simulated")
       == 0, "platform names match the document's");

    return done_testing();
}
