/*
 * OHTTP key configurations (RFC 9458, 3): the Appendix A configuration
 * decodes and encodes byte for byte; the list form; the suite picker;
 * malformed input is refused by name.
 */

#include "tap.h"
#include "confer_keyconfig.h"

/* RFC 9458, Appendix A: key id 1, X25519, HKDF-SHA256 with AES-128-GCM and
 * ChaCha20-Poly1305 */
static const char  *rfc_config =
    "01002031e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e79815500"
    "080001000100010003";


int
main(void)
{
    long                    len;
    size_t                  used, n, count;
    uint8_t                 cfg[128], buf[512], list[512];
    uint16_t                pref[3];
    confer_keyconfig_t      kc, two[2], out[4];
    confer_hpke_suite_t     s;
    confer_keyconfig_err_t  rc;

    len = tap_unhex(rfc_config, cfg, sizeof(cfg));

    rc = confer_keyconfig_decode(cfg, (size_t) len, &kc, &used);
    is_int(rc, CONFER_KEYCONFIG_OK, "RFC 9458 A configuration decodes");
    is_int(used, len, "and takes all of its %ld bytes", len);
    is_int(kc.key_id, 1, "key id 1");
    is_int(kc.kem_id, 0x20, "KEM X25519");
    is_int(kc.nsuites, 2, "two suites");
    ok(kc.suites[0].kdf_id == 1 && kc.suites[0].aead_id == 1
       && kc.suites[1].kdf_id == 1 && kc.suites[1].aead_id == 3,
       "(HKDF-SHA256, AES-128-GCM), (HKDF-SHA256, ChaCha20-Poly1305)");

    ok(confer_keyconfig_encode(&kc, buf, sizeof(buf), &n)
       == CONFER_KEYCONFIG_OK, "encodes");
    is_mem(buf, n, cfg, (size_t) len, "byte for byte");
    is_int(confer_keyconfig_size(&kc), len, "size is known beforehand");
    is_int(confer_keyconfig_encode(&kc, buf, (size_t) len - 1, &n),
           CONFER_KEYCONFIG_ERR_BUFFER_TOO_SMALL, "short buffer refused");

    /* preference order picks the first AEAD offered */
    pref[0] = CONFER_HPKE_AEAD_AES256GCM;
    pref[1] = CONFER_HPKE_AEAD_CHACHA20POLY1305;
    pref[2] = CONFER_HPKE_AEAD_AES128GCM;
    ok(confer_keyconfig_pick(&kc, pref, 3, &s) == CONFER_KEYCONFIG_OK
       && s.aead_id == 3 && s.kdf_id == 1 && s.kem_id == 0x20,
       "AES-256 not offered: ChaCha20-Poly1305 picked before AES-128");
    is_int(confer_keyconfig_pick(&kc, pref, 1, &s),
           CONFER_KEYCONFIG_ERR_NO_COMMON_SUITE,
           "only AES-256 wanted: no common suite");

    /* list form, with a second configuration after an unknown KEM */
    two[0] = kc;
    two[1] = kc;
    two[1].key_id = 7;
    two[1].nsuites = 1;
    two[1].suites[0].aead_id = CONFER_HPKE_AEAD_AES256GCM;
    ok(confer_keyconfig_encode_list(two, 2, list, sizeof(list), &n)
       == CONFER_KEYCONFIG_OK && n == 2 + (size_t) len + 2 + (size_t) len - 4,
       "list of two encodes (%zu bytes)", n);
    is_int(list[0] << 8 | list[1], len, "each entry has a 2-byte length");
    ok(confer_keyconfig_decode_list(list, n, out, 4, &count)
       == CONFER_KEYCONFIG_OK && count == 2 && out[1].key_id == 7
       && out[1].suites[0].aead_id == 2, "list decodes back");

    /* P-256 configuration (65-byte key) in front: skipped */
    memset(buf, 0, sizeof(buf));
    buf[0] = 0;
    buf[1] = 1 + 2 + 65 + 2 + 4;
    buf[2] = 9;
    buf[3] = 0x00;
    buf[4] = 0x10;
    buf[2 + 3 + 65] = 0;
    buf[2 + 3 + 65 + 1] = 4;
    buf[2 + 3 + 65 + 3] = 1;
    buf[2 + 3 + 65 + 5] = 1;
    memcpy(buf + 2 + buf[1], list, n);
    ok(confer_keyconfig_decode_list(buf, 2 + buf[1] + n, out, 4, &count)
       == CONFER_KEYCONFIG_OK && count == 2 && out[0].key_id == 1,
       "a P-256 configuration is stepped over");
    is_int(confer_keyconfig_decode_list(buf, 2 + buf[1], out, 4, &count),
           CONFER_KEYCONFIG_ERR_NO_CONFIG, "only P-256: nothing usable");
    is_int(confer_keyconfig_decode_list(list, 0, out, 4, &count),
           CONFER_KEYCONFIG_ERR_NO_CONFIG, "empty list: nothing usable");

    /* malformed */
    is_int(confer_keyconfig_decode(cfg, (size_t) len - 1, &kc, &used),
           CONFER_KEYCONFIG_ERR_TRUNCATED, "one byte short: truncated");
    is_int(confer_keyconfig_decode(cfg, 20, &kc, &used),
           CONFER_KEYCONFIG_ERR_TRUNCATED, "cut in the key: truncated");
    memcpy(buf, cfg, (size_t) len);
    buf[36] = 7;
    is_int(confer_keyconfig_decode(buf, (size_t) len, &kc, &used),
           CONFER_KEYCONFIG_ERR_BAD_SUITES, "suites length 7");
    buf[36] = 0;
    is_int(confer_keyconfig_decode(buf, (size_t) len, &kc, &used),
           CONFER_KEYCONFIG_ERR_BAD_SUITES, "suites length 0");
    buf[35] = 0x00;
    buf[36] = 0x08;
    is_int(confer_keyconfig_decode(buf, 37 + 4, &kc, &used),
           CONFER_KEYCONFIG_ERR_TRUNCATED, "suites longer than the input");
    buf[2] = 0x21;
    is_int(confer_keyconfig_decode(buf, (size_t) len, &kc, &used),
           CONFER_KEYCONFIG_ERR_UNSUPPORTED_KEM, "KEM 0x0021 unknown");

    list[1] += 1;
    is_int(confer_keyconfig_decode_list(list, n, out, 4, &count),
           CONFER_KEYCONFIG_ERR_BAD_LENGTH,
           "entry length one more than its configuration");
    list[1] -= 1;
    is_int(confer_keyconfig_decode_list(list, n - 1, out, 4, &count),
           CONFER_KEYCONFIG_ERR_TRUNCATED, "list cut short");

    {
        static uint8_t  big[3 + 32 + 2 + 4 * 65];

        memcpy(big, cfg, 35);
        big[35] = 0x01;
        big[36] = 0x04;
        is_int(confer_keyconfig_decode(big, sizeof(big), &kc, &used),
               CONFER_KEYCONFIG_ERR_TOO_MANY_SUITES, "65 suites refused");
    }

    ok(strcmp(confer_keyconfig_strerror(CONFER_KEYCONFIG_ERR_NO_COMMON_SUITE),
              "no common HPKE suite") == 0
       && strcmp(confer_keyconfig_strerror(CONFER_KEYCONFIG_ERR_LAST),
                 "unknown") == 0, "errors have names");

    return done_testing();
}
