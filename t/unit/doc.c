/*
 * The confer attestation document: the binding, strict base64, parse and
 * build, and what verification of a document says about real SNP evidence
 * (which binds other data than ours) and TDX (not built in yet).
 */

#include "tap.h"
#include "attest.h"
#include "attest_int.h"


static void
b64(const char *in, const char *want)
{
    char     out[64];
    uint8_t  back[64];
    size_t   n;

    attest_b64_encode((const uint8_t *) in, strlen(in), out);
    ok(strcmp(out, want) == 0, "base64(\"%s\") = \"%s\"", in, want);
    ok(attest_b64_decode(want, strlen(want), back, sizeof(back), &n)
       == ATTEST_OK && n == strlen(in) && memcmp(back, in, n) == 0,
       "and back");
}


static void
b64_bad(const char *in)
{
    char     name[64];
    uint8_t  out[64];
    size_t   n, i;

    for (i = 0; in[i] != '\0' && i < sizeof(name) - 1; i++) {
        name[i] = in[i] == '\n' ? '~' : in[i];
    }
    name[i] = '\0';

    ok(attest_b64_decode(in, strlen(in), out, sizeof(out), &n)
       == ATTEST_ERR_INPUT, "base64 refuses \"%s\"", name);
}


static void
doc_bad(const char *json, attest_err_t want, const char *what)
{
    attest_err_t      rc;
    attest_verdict_t  v;

    rc = attest_verify_document((const uint8_t *) json, strlen(json), NULL,
                                1700000000, &v);
    ok(rc == want, "%s: %s (got %s: %s)", what, attest_strerror(want),
       attest_strerror(rc), v.detail);
}


static size_t
build(attest_platform_t platform, const attest_blob_t *ev,
    const attest_blob_t *certs, size_t ncerts, uint64_t not_after,
    uint8_t *out, size_t cap)
{
    size_t        len;
    attest_doc_t  d;
    static const uint8_t  keys[] = { 1, 0, 0x20, 9, 9, 9 };

    memset(&d, 0, sizeof(d));
    d.platform = platform;
    d.not_after = not_after;
    d.ohttp_keys.p = keys;
    d.ohttp_keys.n = sizeof(keys);
    d.evidence = *ev;
    d.certs = certs;
    d.ncerts = ncerts;

    if (attest_doc_build(&d, out, cap, &len) != ATTEST_OK) {
        return 0;
    }

    return len;
}


static void
real_snp(void)
{
    char                path[1024];
    size_t              i, n;
    uint8_t            *files[4], *out;
    attest_blob_t       ev, certs[3];
    attest_err_t        rc;
    attest_verdict_t    v;
    static const char  *names[4] = {
        "mstav_milan_report_v3.bin", "mstav_milan_vcek.pem",
        "amd_ask_ark_milan.pem", NULL
    };

    for (i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/sev-snp/%s", tap_vectors_dir(),
                 names[i]);
        files[i] = tap_slurp(path, &n);

        if (files[i] == NULL) {
            diag("SKIP real SNP documents: no %s", path);
            while (i-- > 0) {
                free(files[i]);
            }
            return;
        }

        if (i == 0) {
            ev.p = files[0];
            ev.n = n;
        } else {
            certs[i - 1].p = files[i];
            certs[i - 1].n = n;
        }
    }

    out = malloc(65536);

    /* PEM in "certs" is not DER, but the loader takes both */
    n = build(ATTEST_PLATFORM_SEV_SNP, &ev, certs, 2, 1790000000, out,
              65536);
    rc = attest_verify_document(out, n, NULL, 1780272000, &v);
    ok(rc == ATTEST_ERR_BINDING, "a real report in a document: verified, "
       "then %s (got %s: %s)", attest_strerror(ATTEST_ERR_BINDING),
       attest_strerror(rc), v.detail);
    ok(v.ohttp_keys_len == 0, "no keys in a rejected verdict");

    n = build(ATTEST_PLATFORM_SEV_SNP, &ev, certs, 0, 1790000000, out,
              65536);
    rc = attest_verify_document(out, n, NULL, 1780272000, &v);
    ok(rc == ATTEST_ERR_NO_CERT, "without certs: %s (got %s)",
       attest_strerror(ATTEST_ERR_NO_CERT), attest_strerror(rc));

    n = build(ATTEST_PLATFORM_SEV_SNP, &ev, certs, 2, 1780272000, out,
              65536);
    rc = attest_verify_document(out, n, NULL, 1780272001, &v);
    ok(rc == ATTEST_ERR_DOC_EXPIRED, "one second past not_after: %s",
       attest_strerror(rc));

    /* until attest/attest_tdx.h is merged; then the quote parser
     * refuses an SNP report */
    n = build(ATTEST_PLATFORM_TDX, &ev, NULL, 0, 1790000000, out, 65536);
    rc = attest_verify_document(out, n, NULL, 1780272000, &v);
#if defined(__has_include) && __has_include("attest_tdx.h")
    ok(rc != ATTEST_OK && rc != ATTEST_ERR_UNSUPPORTED,
       "an SNP report as a TDX document: %s", attest_strerror(rc));
#else
    ok(rc == ATTEST_ERR_UNSUPPORTED, "a TDX document: %s (%s)",
       attest_strerror(rc), v.detail);
#endif

    free(out);
    for (i = 0; i < 3; i++) {
        free(files[i]);
    }
}


int
main(void)
{
    char                 json[2048];
    size_t               len;
    uint8_t              rd[64], want[64], keys[41], out[4096], ev[16];
    attest_err_t         rc;
    attest_blob_t        e, certs[2];
    attest_doc_parsed_t  d;

    /* DESIGN.md: SHA-512("confer-attestation/v1" || 0 || u64be || keys),
     * the expected values computed independently (Python hashlib) */
    tap_unhex("010020000102030405060708090a0b0c0d0e0f101112131415161718191a"
              "1b1c1d1e1f000400010001", keys, sizeof(keys));
    tap_unhex("f00b5d07dd930295b636b56f06047991334f653a0a6c82b4c7181df50091"
              "acaa8e901228b3d7aa7fc2df26d8623ad00ab3c6e5cc8004386a8a0621aa"
              "d2ee3884", want, sizeof(want));
    attest_binding(keys, sizeof(keys), 1700000000, rd);
    is_mem(rd, 64, want, 64, "binding, not_after 1700000000");

    tap_unhex("e984a87c7dadee92458ff93dc3051325bdce4a485be1bbd5bac3e0f84faf"
              "cb4640ed06b9b04e5ef7326afb1077f3e5c4a6fb6bd96317325a2759dc1a"
              "58072c87", want, sizeof(want));
    keys[0] = 0;
    attest_binding(keys, 1, 0, rd);
    is_mem(rd, 64, want, 64, "binding, not_after 0, one zero byte");

    /* RFC 4648, 10 */
    b64("", "");
    b64("f", "Zg==");
    b64("fo", "Zm8=");
    b64("foo", "Zm9v");
    b64("foob", "Zm9vYg==");
    b64("fooba", "Zm9vYmE=");
    b64("foobar", "Zm9vYmFy");
    b64_bad("Zg");
    b64_bad("Zg=");
    b64_bad("Zh==");
    b64_bad("Zm9=");
    b64_bad("Zm9v\n");
    b64_bad("Zm 9");
    b64_bad("Z===");
    b64_bad("====");
    b64_bad("Zm9vYg-_");

    /* build and parse */
    memset(ev, 0xab, sizeof(ev));
    e.p = ev;
    e.n = sizeof(ev);
    certs[0].p = (const uint8_t *) "leaf";
    certs[0].n = 4;
    certs[1].p = (const uint8_t *) "root!";
    certs[1].n = 5;

    len = build(ATTEST_PLATFORM_SEV_SNP, &e, certs, 2, 1700000600, out,
                sizeof(out));
    ok(len > 0, "build: %.*s", (int) len, out);
    rc = attest_doc_parse(out, len, &d, NULL, 0);
    ok(rc == ATTEST_OK && d.platform == ATTEST_PLATFORM_SEV_SNP
       && d.not_after == 1700000600 && d.ncerts == 2
       && d.evidence.n == 16 && memcmp(d.evidence.p, ev, 16) == 0
       && d.certs[1].n == 5 && memcmp(d.certs[1].p, "root!", 5) == 0
       && d.ohttp_keys.n == 6 && !d.has_collateral,
       "parse gives back what was built");
    attest_doc_parsed_free(&d);

    snprintf(json, sizeof(json), "{\"version\":1,\"platform\":\"tdx\","
             "\"ohttp_keys\":\"AQ==\",\"not_after\":1,\"evidence\":\"AQ==\","
             "\"collateral\":{\"tcb_info\":\"e30=\",\"root_crl\":\"AA==\"},"
             "\"gpu\":[]}");
    rc = attest_doc_parse((uint8_t *) json, strlen(json), &d, NULL, 0);
    ok(rc == ATTEST_OK && d.has_collateral && d.tcb_info.n == 2
       && memcmp(d.tcb_info.p, "{}", 2) == 0 && d.root_crl.n == 1
       && d.qe_identity.n == 0, "TDX collateral parses");
    attest_doc_parsed_free(&d);

    /* refusals */
    doc_bad("", ATTEST_ERR_DOCUMENT, "empty");
    doc_bad("[]", ATTEST_ERR_DOCUMENT, "not an object");
    doc_bad("{\"version\":2,\"platform\":\"sev-snp\",\"ohttp_keys\":\"AQ==\","
            "\"not_after\":1800000000,\"evidence\":\"AQ==\"}",
            ATTEST_ERR_DOCUMENT, "version 2");
    doc_bad("{\"version\":1,\"platform\":\"sgx\",\"ohttp_keys\":\"AQ==\","
            "\"not_after\":1800000000,\"evidence\":\"AQ==\"}",
            ATTEST_ERR_DOCUMENT, "platform sgx");
    doc_bad("{\"version\":1,\"platform\":\"sev-snp\",\"ohttp_keys\":\"AQ=\","
            "\"not_after\":1800000000,\"evidence\":\"AQ==\"}",
            ATTEST_ERR_DOCUMENT, "bad base64 in ohttp_keys");
    doc_bad("{\"version\":1,\"platform\":\"sev-snp\",\"ohttp_keys\":\"\","
            "\"not_after\":1800000000,\"evidence\":\"AQ==\"}",
            ATTEST_ERR_DOCUMENT, "empty ohttp_keys");
    doc_bad("{\"version\":1,\"platform\":\"sev-snp\",\"ohttp_keys\":\"AQ==\","
            "\"not_after\":-1,\"evidence\":\"AQ==\"}",
            ATTEST_ERR_DOCUMENT, "negative not_after");
    doc_bad("{\"version\":1,\"platform\":\"sev-snp\",\"ohttp_keys\":\"AQ==\","
            "\"not_after\":\"1800000000\",\"evidence\":\"AQ==\"}",
            ATTEST_ERR_DOCUMENT, "not_after as a string");
    doc_bad("{\"version\":1,\"platform\":\"sev-snp\",\"ohttp_keys\":\"AQ==\","
            "\"not_after\":1800000000,\"evidence\":\"AQ==\",\"x\":1}",
            ATTEST_ERR_DOCUMENT, "an unknown key");
    doc_bad("{\"version\":1,\"platform\":\"sev-snp\",\"ohttp_keys\":\"AQ==\","
            "\"not_after\":1800000000,\"evidence\":\"AQ==\","
            "\"certs\":[\"AQ==\",1]}",
            ATTEST_ERR_DOCUMENT, "a number among certs");
    doc_bad("{\"version\":1,\"platform\":\"sev-snp\",\"ohttp_keys\":\"AQ==\","
            "\"not_after\":1800000000,\"evidence\":\"AQ==\","
            "\"certs\":[\"AQ==\",\"AQ==\",\"AQ==\",\"AQ==\",\"AQ==\","
            "\"AQ==\",\"AQ==\",\"AQ==\",\"AQ==\"]}",
            ATTEST_ERR_DOCUMENT, "nine certs");
    doc_bad("{\"version\":1,\"platform\":\"sev-snp\",\"ohttp_keys\":\"AQ==\","
            "\"not_after\":1800000000,\"evidence\":\"AQ==\","
            "\"collateral\":{\"tcbinfo\":\"AQ==\"}}",
            ATTEST_ERR_DOCUMENT, "an unknown collateral key");
    doc_bad("{\"version\":1,\"version\":1,\"platform\":\"sev-snp\","
            "\"ohttp_keys\":\"AQ==\",\"not_after\":1800000000,"
            "\"evidence\":\"AQ==\"}", ATTEST_ERR_DOCUMENT, "a duplicate key");
    doc_bad("{\"version\":1,\"platform\":\"sev-snp\",\"ohttp_keys\":\"AQ==\","
            "\"not_after\":1600000000,\"evidence\":\"AQ==\"}",
            ATTEST_ERR_DOC_EXPIRED, "past not_after");
    doc_bad("{\"version\":1,\"platform\":\"sev-snp\",\"ohttp_keys\":\"AQ==\","
            "\"not_after\":1800000000,\"evidence\":\"AQ==\"}",
            ATTEST_ERR_INPUT, "a one-byte report");

    real_snp();

    return done_testing();
}
