#!/usr/bin/env python3
#
# ngx_confer_module: a gpu=command: tool for the terminator, wrapping
# NVIDIA's attestation SDK (pip install nv-attestation-sdk, in the
# confidential VM, with the GPU driver in CC mode).
#
#   confer_key evidence=configfs-tsm
#              gpu=command:/etc/nginx/confer/nvidia-gpu-evidence.py ...;
#
# The contract (attest/attest_provide.h): nginx runs this with one
# argument, the nonce as 64 hex digits, and reads NVIDIA's evidence JSON
# from stdout: a list of {"arch", "certificate", "evidence", "nonce"} per
# device, which is what get_evidence() returns.  Exit 0 on success; on
# failure, exit non-zero with the reason as the last line on stderr (nginx
# puts it in its error message).  Nothing else may be printed on stdout,
# so the SDK's own output is sent to stderr while it runs.
#
# nginx gives the tool no environment but a standard PATH: with the SDK in
# a virtual environment, point the first line at that environment's
# python.  An example, not tested here (no GPU in CI): check it against
# the SDK version you install.  NVSwitches (PPCIe mode) are added the same way with
# attestation.Devices.SWITCH.

import contextlib
import json
import re
import sys


def main():
    if len(sys.argv) != 2 or not re.fullmatch(r"[0-9a-f]{64}", sys.argv[1]):
        print("usage: nvidia-gpu-evidence.py NONCE (64 hex digits)",
              file=sys.stderr)
        return 2

    nonce = sys.argv[1]

    with contextlib.redirect_stdout(sys.stderr):
        from nv_attestation_sdk import attestation

        client = attestation.Attestation()
        client.set_nonce(nonce)
        client.add_verifier(attestation.Devices.GPU,
                            attestation.Environment.LOCAL, "", "")

        try:
            evidence = client.get_evidence(options={"ppcie_mode": False})
        except TypeError:
            # SDK versions before get_evidence() took options
            evidence = client.get_evidence()

    if not evidence:
        print("the SDK returned no GPU evidence", file=sys.stderr)
        return 1

    json.dump(evidence, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:              # the reason, on one line
        print("%s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
