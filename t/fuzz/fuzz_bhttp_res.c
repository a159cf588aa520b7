/*
 * libFuzzer harness: the BHTTP response decoder (RFC 9292), split invariance
 * and re-encoding; see bhttp_fuzz.h.
 */

#include "bhttp_fuzz.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_bhttp(1, data, size);
}
