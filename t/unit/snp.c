/*
 * SEV-SNP verification over the real vectors (ATTESTATION-VECTORS.md 2):
 * every positive vector verifies with its measurement and report_data,
 * every listed negative fails with its reason, and a flipped bit anywhere
 * in the signed part of a report is rejected.
 */

#include "tap.h"
#include "attest.h"
#include "attest_snp.h"


#define T_2026_06_01  1780272000   /* inside every VCEK's validity */
#define T_2025_06_01  1748736000   /* inside the VLEK's */
#define T_2025_01_01  1735689600

typedef struct {
    const char  *report;
    const char  *cert1;
    const char  *cert2;
    time_t       now;
    unsigned     version;
    const char  *product;
    const char  *measurement;
    const char  *report_data;          /* a prefix, the rest is zero */
    unsigned     bl, tee, snp, ucode, fmc;
    int          debug;
    unsigned     vmpl;
    int          vlek;
} vector_t;


static const vector_t  positives[] = {
    { "gosevguest_milan_report_v2.bin", "gosevguest_milan_vcek.der",
      "amd_ask_ark_milan.pem", T_2026_06_01, 2, "Milan",
      "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b"
      "6bdf8a9ece31a5a608eb0cf2e4872b01",
      "0102030405", 2, 0, 5, 68, 0, 1, 0, 0 },
    { "virteesev_milan_report_v2.bin", "virteesev_milan_vcek.der",
      "amd_ask_ark_milan.pem", T_2026_06_01, 2, "Milan",
      "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d"
      "3e1a0dc39b2c60bd95b9c480cd81841f",
      "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c64581"
      "0b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd",
      3, 0, 8, 115, 0, 0, 0, 0 },
    { "trustee_test-report.bin", "trustee_test-vcek.der",
      "amd_ask_ark_milan.pem", T_2026_06_01, 2, "Milan",
      "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c"
      "23500644e0e692e6be917f9050d3d38c",
      "ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2",
      3, 0, 8, 115, 0, 0, 0, 0 },
    { "trustee_azure_milan_report_v2_from_hcl.bin",
      "../azure/trustee_azsnp_vcek.pem", NULL, T_2026_06_01, 2, "Milan",
      "9ac48fcac8a2d88aeeff8d427ad4f2be0e3917c748a18bdf52cc317e7fe20308"
      "b459d5ef1a12e0c22944eb386d17c315",
      "b3fbad6514c83caeb0380882145e49f794229ef37c421b91fc47ff93556bafac",
      3, 0, 8, 115, 0, 0, 0, 0 },
    { "mstav_milan_report_v3.bin", "mstav_milan_vcek.pem",
      "amd_ask_ark_milan.pem", T_2026_06_01, 3, "Milan",
      "5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f"
      "98189887920ab2fa0096903a0c23fca1",
      "", 4, 0, 24, 219, 0, 0, 0, 0 },
    { "trustee_test-vlek-report.bin", "trustee_test-vlek.der",
      "amd_ask_ark_milan_vlek.pem", T_2025_06_01, 3, "Milan",
      "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4"
      "e8c9af857f5ceeb5a493df2a570d7bf0",
      "819770b7e6ea6df8dd8fd4dd146b073c0bf4f3ce5b0977ecac486e3a05ed1bd5"
      "4e2a7ac1f5d1ca02e7d7d5ef9f73b8574fd9359e3a480d741a4478e8a7bc27ca",
      4, 0, 24, 217, 0, 0, 1, 1 },
    { "trustee_azure_genoa_report_v3_from_hcl.bin",
      "../azure/trustee_azsnp_vcek-genoa.pem", "amd_ask_ark_genoa.pem",
      T_2026_06_01, 3, "Genoa",
      "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3"
      "706faf814c9e61065768a6ff917c89ae",
      "b581f12e29a2d7d64e5e0b738d563879a78b51c644d0fa0cce02b48699f6bf5f",
      10, 0, 23, 84, 0, 0, 0, 0 },
    { "mstav_genoa_report_v3.bin", "mstav_genoa_vcek.pem",
      "amd_ask_ark_genoa.pem", T_2026_06_01, 3, "Genoa",
      "5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f"
      "98189887920ab2fa0096903a0c23fca1",
      "", 10, 0, 23, 84, 0, 0, 0, 0 },
    { "teekit_sev-gcp.bin", "teekit_sev-gcp-vcek.pem",
      "amd_ask_ark_milan.pem", T_2026_06_01, 5, "Milan",
      "b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1"
      "b6d19251b8ee600fd16a3708f58406f3",
      "", 4, 0, 27, 222, 0, 0, 0, 0 },
    { "teekit_sev-gcp-reportdata.bin", "teekit_sev-gcp-vcek.pem",
      "amd_ask_ark_milan.pem", T_2026_06_01, 5, "Milan",
      "b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1"
      "b6d19251b8ee600fd16a3708f58406f3",
      "32fc4f6c1971cbf91566231f8d6153eeb9d093aa94306cb48d39bcc4861a3d39"
      "5f149876a37bc91332fe493f46294fd135d5b95d363ae96352b8c45f906079f5",
      4, 0, 27, 222, 0, 0, 1, 0 },
    { "mstav_turin_report_v5.bin", "mstav_turin_vcek.pem",
      "amd_ask_ark_turin_vcek.pem", T_2026_06_01, 5, "Turin",
      "6d6c354511d6f7c6d7504668903dc5bdc066a048b651840d8d03fb85299ebfa1"
      "42fccf1d1b0baca496841bdf243619d4",
      "", 1, 1, 4, 81, 1, 0, 0, 0 },
};


static char  vdir[1024];


typedef struct {
    uint8_t        *report;
    size_t          n;
    uint8_t        *certs[3];
    attest_blob_t   blobs[3];
    size_t          ncerts;
} loaded_t;


static uint8_t *
load(const char *name, size_t *n)
{
    char  path[2048];

    snprintf(path, sizeof(path), "%s/sev-snp/%s", vdir, name);
    return tap_slurp(path, n);
}


static int
load_set(loaded_t *l, const char *report, const char *c1, const char *c2,
    const char *c3)
{
    size_t       i;
    const char  *names[3];

    memset(l, 0, sizeof(*l));
    names[0] = c1;
    names[1] = c2;
    names[2] = c3;

    l->report = load(report, &l->n);
    if (l->report == NULL) {
        return 0;
    }

    for (i = 0; i < 3 && names[i] != NULL; i++) {
        l->certs[i] = load(names[i], &l->blobs[i].n);
        if (l->certs[i] == NULL) {
            return 0;
        }
        l->blobs[i].p = l->certs[i];
        l->ncerts++;
    }

    return 1;
}


static void
free_set(loaded_t *l)
{
    size_t  i;

    free(l->report);
    for (i = 0; i < 3; i++) {
        free(l->certs[i]);
    }
}


static attest_err_t
verify(loaded_t *l, time_t now, attest_evidence_t *ev)
{
    char  detail[256];

    return attest_snp_verify(l->report, l->n, l->blobs, l->ncerts, NULL, now,
                             ev, detail, sizeof(detail));
}


static void
check_err(attest_err_t got, attest_err_t want, const char *what)
{
    ok(got == want, "%s: %s (got %s)", what, attest_strerror(want),
       attest_strerror(got));
}


static void
positive(const vector_t *v)
{
    long               len;
    uint8_t            want[64];
    loaded_t           l;
    attest_err_t       rc;
    attest_evidence_t  ev;

    if (!load_set(&l, v->report, v->cert1, v->cert2, NULL)) {
        ok(0, "%s: vector files readable", v->report);
        free_set(&l);
        return;
    }

    rc = verify(&l, v->now, &ev);
    check_err(rc, ATTEST_OK, v->report);

    is_int(ev.platform, ATTEST_PLATFORM_SEV_SNP, "%s: platform", v->report);
    is_int(ev.version, v->version, "%s: version %u", v->report, v->version);
    ok(strcmp(ev.product, v->product) == 0, "%s: product %s", v->report,
       v->product);

    len = tap_unhex(v->measurement, want, 48);
    is_mem(ev.measurement, 48, want, len, "%s: measurement", v->report);

    memset(want, 0, sizeof(want));
    tap_unhex(v->report_data, want, 64);
    is_mem(ev.report_data, 64, want, 64, "%s: report_data", v->report);

    ok(ev.reported_tcb.bootloader == v->bl && ev.reported_tcb.tee == v->tee
       && ev.reported_tcb.snp == v->snp
       && ev.reported_tcb.microcode == v->ucode
       && ev.reported_tcb.fmc == v->fmc,
       "%s: TCB bl%u tee%u snp%u ucode%u fmc%u", v->report, v->bl, v->tee,
       v->snp, v->ucode, v->fmc);
    is_int(ev.debug, v->debug, "%s: debug %d", v->report, v->debug);
    is_int(ev.vmpl, v->vmpl, "%s: VMPL %u", v->report, v->vmpl);
    is_int(ev.signing_key, v->vlek, "%s: signed by the %s", v->report,
           v->vlek ? "VLEK" : "VCEK");
    ok(ev.chain_not_after > v->now, "%s: chain_not_after is set", v->report);

    free_set(&l);
}


/* a bit flipped at many places of the signed part must never pass */
static void
bit_flips(const vector_t *v, size_t step)
{
    size_t             i, bad;
    uint8_t            saved;
    loaded_t           l;
    attest_evidence_t  ev;

    if (!load_set(&l, v->report, v->cert1, v->cert2, NULL)) {
        ok(0, "%s: vector files readable", v->report);
        return;
    }

    bad = 0;

    for (i = 0; i < ATTEST_SNP_SIGNED_SIZE * 8; i += step) {
        saved = l.report[i / 8];
        l.report[i / 8] ^= (uint8_t) (1u << (i % 8));

        if (verify(&l, v->now, &ev) == ATTEST_OK) {
            diag("accepted with bit %zu of byte 0x%zx flipped", i % 8, i / 8);
            bad++;
        }

        l.report[i / 8] = saved;
    }

    is_int(bad, 0, "%s: no flipped bit in the signed part (every %zu-th) "
           "is accepted", v->report, step);

    /* and in the signature itself */
    l.report[0x2a0 + 5] ^= 0x10;
    check_err(verify(&l, v->now, &ev), ATTEST_ERR_SIGNATURE,
              "flipped bit in R");
    l.report[0x2a0 + 5] ^= 0x10;
    l.report[0x2e8 + 47] ^= 0x01;
    check_err(verify(&l, v->now, &ev), ATTEST_ERR_SIGNATURE,
              "flipped bit in S");

    free_set(&l);
}


static void
negatives(void)
{
    uint8_t            *der;
    size_t              n;
    loaded_t            l;
    attest_blob_t       vcek;
    attest_err_t        rc;
    attest_evidence_t   ev;

    /* the VLEK has expired (2025-12-10) */
    load_set(&l, "trustee_test-vlek-report.bin", "trustee_test-vlek.der",
             "amd_ask_ark_milan_vlek.pem", NULL);
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_CERT_EXPIRED,
              "VLEK report now");
    is_int(ev.platform, ATTEST_PLATFORM_NONE, "no facts from a rejection");

    /* a VLEK under the VCEK's ASK */
    free(l.certs[1]);
    l.certs[1] = load("amd_ask_ark_milan.pem", &l.blobs[1].n);
    l.blobs[1].p = l.certs[1];
    check_err(verify(&l, T_2025_06_01, &ev), ATTEST_ERR_CHAIN,
              "VLEK with the VCEK ASK/ARK bundle");
    free_set(&l);

    /* ATTESTATION-VECTORS.md 2.2: synthetic VCEKs, signature fails */
    load_set(&l, "trustee_test-report.bin",
             "trustee_test-vcek-invalid-legacy.der", "amd_ask_ark_milan.pem",
             NULL);
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_CHAIN,
              "trustee invalid-legacy VCEK");
    free_set(&l);

    load_set(&l, "trustee_test-report.bin",
             "trustee_test-vcek-invalid-new.der", "amd_ask_ark_milan.pem",
             NULL);
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_CHAIN,
              "trustee invalid-new VCEK");
    free_set(&l);

    /* virtee: report[21] ^= 0x80; vcek_der[40] ^= 0xff */
    load_set(&l, "virteesev_milan_report_v2.bin", "virteesev_milan_vcek.der",
             "amd_ask_ark_milan.pem", NULL);
    l.report[21] ^= 0x80;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_SIGNATURE,
              "virtee milan_report_invalid");
    l.report[21] ^= 0x80;
    l.certs[0][40] ^= 0xff;
    rc = verify(&l, T_2026_06_01, &ev);
    ok(rc == ATTEST_ERR_CERT || rc == ATTEST_ERR_CHAIN
       || rc == ATTEST_ERR_NO_CERT || rc == ATTEST_ERR_SIGNATURE,
       "virtee milan_chain_invalid: rejected (%s)", attest_strerror(rc));
    free_set(&l);

    /* trustee: bytes[42] += 1; bytes[384] += 1 (reported TCB, signed) */
    load_set(&l, "trustee_test-report.bin", "trustee_test-vcek.der",
             "amd_ask_ark_milan.pem", NULL);
    l.report[42]++;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_SIGNATURE,
              "trustee report byte 42 changed");
    l.report[42]--;
    l.report[384]++;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_SIGNATURE,
              "trustee reported_tcb changed");
    l.report[384]--;

    /* a VCEK for another chip */
    free(l.certs[0]);
    l.certs[0] = load("virteesev_milan_vcek.der", &l.blobs[0].n);
    l.blobs[0].p = l.certs[0];
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_SIGNATURE,
              "another chip's VCEK");
    free_set(&l);

    /* mstav: the wrong ASK, the ASK as root, a tampered byte */
    load_set(&l, "mstav_milan_report_v3.bin", "mstav_milan_vcek.pem",
             "amd_ask_ark_genoa.pem", NULL);
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_CHAIN,
              "Milan VCEK with the Genoa ASK/ARK");
    free_set(&l);

    load_set(&l, "mstav_milan_report_v3.bin", "mstav_milan_vcek.pem",
             NULL, NULL);
    der = load("amd_ask_ark_milan.pem", &n);
    l.blobs[1].p = der;        /* the first PEM block only: the ASK */
    l.blobs[1].n = (size_t) (strstr((char *) der, "-----END") - (char *) der)
                   + 26;
    l.ncerts = 2;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_CHAIN,
              "chain ending at the ASK");
    free(der);

    l.ncerts = 1;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_CHAIN,
              "the VCEK alone");
    l.ncerts = 0;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_NO_CERT,
              "no certificates");

    l.report[100] ^= 0xff;
    l.certs[1] = load("amd_ask_ark_milan.pem", &l.blobs[1].n);
    l.blobs[1].p = l.certs[1];
    l.ncerts = 2;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_SIGNATURE,
              "mstav tampered[100]");
    l.report[100] ^= 0xff;

    check_err(verify(&l, T_2025_01_01, &ev), ATTEST_ERR_CERT_EXPIRED,
              "before the VCEK's notBefore");
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_OK, "restored");

    /* only the ASK/ARK bundle: no VCEK */
    vcek = l.blobs[0];
    l.blobs[0] = l.blobs[1];
    l.ncerts = 1;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_NO_CERT,
              "ASK and ARK without a VCEK");
    l.blobs[0] = vcek;
    l.ncerts = 2;

    /* garbage as a certificate */
    l.blobs[1].n = 10;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_CERT,
              "a truncated certificate");
    l.blobs[1].n = 4602;

    /* structure */
    l.report[0] = 4;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_VERSION,
              "version 4");
    l.report[0] = 3;
    l.report[0x34] = 2;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_SIG_ALGO,
              "signature algorithm 2");
    l.report[0x34] = 1;
    l.report[0x4c] = 1;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_RESERVED,
              "reserved 0x4C");
    l.report[0x4c] = 0;
    l.report[0x250] = 0x80;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_RESERVED,
              "reserved 0x250");
    l.report[0x250] = 0;
    l.report[0x2a0 + 60] = 1;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_RESERVED,
              "signature padding");
    l.report[0x2a0 + 60] = 0;
    l.report[0x400] = 1;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_RESERVED,
              "reserved tail");
    l.report[0x400] = 0;
    l.report[0x0a] &= ~0x02;     /* policy bit 17 */
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_RESERVED,
              "guest policy bit 17 clear");
    l.report[0x0a] |= 0x02;
    l.report[0x48] = 7 << 2;
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_SIGNATURE,
              "signing key 'none'");
    l.report[0x48] = 0;
    check_err(attest_snp_verify(l.report, l.n - 1, l.blobs, 2, NULL,
                                T_2026_06_01, &ev, NULL, 0),
              ATTEST_ERR_INPUT, "a short report");
    free_set(&l);

    /* the Turin VCEK of another chip under its own chain */
    load_set(&l, "mstav_turin_report_v5.bin", "virteesev_turin_vcek.der",
             "amd_ask_ark_turin_vcek.pem", NULL);
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_SIGNATURE,
              "Turin report, another Turin VCEK");
    free_set(&l);

    /* Turin report with the Milan chain */
    load_set(&l, "mstav_turin_report_v5.bin", "mstav_turin_vcek.pem",
             "amd_ask_ark_milan.pem", NULL);
    check_err(verify(&l, T_2026_06_01, &ev), ATTEST_ERR_CHAIN,
              "Turin VCEK with the Milan ASK/ARK");
    free_set(&l);
}


static void
turin_layout(void)
{
    attest_snp_tcb_t  t;

    /* ATTESTATION-VECTORS.md 1.1: 01 01 01 04 00 00 00 51 */
    attest_snp_tcb_decode(0x5100000004010101ull, ATTEST_SNP_PRODUCT_TURIN, &t);
    ok(t.fmc == 1 && t.bootloader == 1 && t.tee == 1 && t.snp == 4
       && t.microcode == 0x51, "Turin TCB_VERSION layout");
    is_int((long long) attest_snp_tcb_encode(&t, ATTEST_SNP_PRODUCT_TURIN),
           0x5100000004010101ll, "Turin TCB_VERSION round trip");

    /* 02 00 00 00 00 00 05 44 */
    attest_snp_tcb_decode(0x4405000000000002ull, ATTEST_SNP_PRODUCT_MILAN, &t);
    ok(t.bootloader == 2 && t.tee == 0 && t.snp == 5 && t.microcode == 0x44
       && t.fmc == 0, "Milan TCB_VERSION layout");
}


int
main(void)
{
    size_t  i;
    char    path[2048];
    FILE   *f;

    turin_layout();

    snprintf(vdir, sizeof(vdir), "%s", tap_vectors_dir());
    snprintf(path, sizeof(path), "%s/sev-snp/amd_ask_ark_milan.pem", vdir);

    f = fopen(path, "rb");
    if (f == NULL) {
        diag("SKIP the vector tests: no %s (set CONFER_VECTORS)", path);
        return done_testing();
    }
    fclose(f);

    for (i = 0; i < sizeof(positives) / sizeof(positives[0]); i++) {
        positive(&positives[i]);
    }

    bit_flips(&positives[4], 5);       /* every byte of a Milan v3 */
    bit_flips(&positives[10], 13);     /* Turin v5 */
    bit_flips(&positives[5], 29);      /* the VLEK */
    bit_flips(&positives[0], 31);      /* v2 */

    negatives();

    return done_testing();
}
