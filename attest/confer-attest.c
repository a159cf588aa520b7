/*
 * confer-attest: verify, inspect and simulate TEE attestation evidence.
 */

#include <stdio.h>

int
main(int argc, char **argv)
{
    fprintf(stderr, "usage: confer-attest verify|inspect|simulate ...\n");
    return 2;
}
