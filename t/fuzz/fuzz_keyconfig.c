/*
 * Key configurations (RFC 9458, 3): decode one and a list; whatever
 * decodes must encode back to the same bytes.
 */

#include <stdlib.h>
#include <string.h>

#include "confer_keyconfig.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                used, n, count, i;
    uint8_t               out[2 + 3 + 32 + 2 + 4 * 64];
    uint16_t              pref[3] = { 2, 3, 1 };
    confer_keyconfig_t    kc, list[4];
    confer_hpke_suite_t   suite;

    if (confer_keyconfig_decode(data, size, &kc, &used)
        == CONFER_KEYCONFIG_OK)
    {
        if (used > size
            || confer_keyconfig_encode(&kc, out, sizeof(out), &n)
               != CONFER_KEYCONFIG_OK
            || n != used || memcmp(out, data, n) != 0)
        {
            abort();
        }
        (void) confer_keyconfig_pick(&kc, pref, 3, &suite);
    }

    if (confer_keyconfig_decode_list(data, size, list, 4, &count)
        == CONFER_KEYCONFIG_OK)
    {
        if (count == 0 || count > 4) {
            abort();
        }
        for (i = 0; i < count; i++) {
            if (confer_keyconfig_encode(&list[i], out, sizeof(out), &n)
                != CONFER_KEYCONFIG_OK)
            {
                abort();
            }
            (void) confer_keyconfig_pick(&list[i], pref, 3, &suite);
        }
    }

    return 0;
}
