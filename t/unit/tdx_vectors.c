/*
 * Real Intel TDX quotes (shared/vectors/tdx, ATTESTATION-VECTORS.md
 * section 3): every one verifies to the pinned Intel root with the
 * documented MRTD and report_data; go-tdx-guest's negative edits, an SGX
 * quote, expired chains and single flipped bits are refused with the
 * right reason.
 */

#include "tdx_test.h"


typedef struct {
    const char  *file;
    const char  *now;
    int          version;
    const char  *fmspc;
    const char  *tee_tcb_svn;       /* first bytes */
    int          debug;
    const char  *mrtd;              /* NULL: not documented */
    const char  *report_data;       /* prefix; NULL: not documented */
} tdx_vector_t;

static const tdx_vector_t  vectors[] = {
    { "gotdxguest_tdx_prod_quote_SPR_E4.dat", "2023-07-01T00:00:00Z", 4,
      "50806f000000", "03000400", 0,
      "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f"
      "22fc00b8dcd404bc10d5e119d7215cbb",
      "6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545"
      "eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113" },
    { "trustee_tdx_quote_4.dat", "2025-10-28T12:00:00Z", 4,
      "50806f000000", "03000500", 1,
      "705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b6"
      "89cac1599ccea1b7d420483a9ce5f031",
      "7c71fe2c86eff65a7cf8dbc22b3275689fd0464a267baced1bf94fc1324656ae"
      "b755da3d44d098c0c87382f3a5f85b45c8a28fee1d3bdb38342bf96671501429" },
    { "gotdxguest_quote_v5_sample.dat", "2026-02-03T00:00:00Z", 5,
      "90c06f000000", "0b010400", 0,
      "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb0"
      "01a1ced3ee19747dda8f750c3bc8f876",
      "945eaacf5abc1f719d8666a942fda03d1edcb4490277396093dc5a5289ab9f1e"
      "094aed63060cd4a4933a4dd537ed1255c9c79ecb3ed82cd1b486233e31c25c3a" },
    { "trustee_azure_td-quote.bin", "2025-10-28T12:00:00Z", 4,
      "00806f050000", "02010600", 0,
      "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795"
      "d1737b66205949d15469dc8c1ba7ab7b",
      "9734504f161d104c74e3165c15f779b06a9bb40dfa71937817d7eee68e593839" },
    { "gotdxguest_ccel_cos-113-tdx-quote.dat", "2025-10-28T12:00:00Z", 4,
      "00806f050000", "04010700", 0, NULL,
      "0000000000000000000000000000000000000000000000000000000000000000"
      "0000000000000000000000000000000000000000000000000000000000000000" },
    { "teekit_tdx-v4-azure.bin", "2025-10-28T12:00:00Z", 4,
      "00806f050000", "04010700", 0, NULL, NULL },
    { "teekit_tdx-v4-edgeless.dat", "2025-10-28T12:00:00Z", 4,
      "00806f050000", "03000500", 0, NULL,
      "48656c6c6f2066726f6d20456467656c6573732053797374656d7321"
      "0000000000" },
    { "teekit_tdx-v4-moemahhouk.dat", "2025-10-28T12:00:00Z", 4,
      "90c06f000000", "04010200", 0, NULL, NULL },
    { "teekit_tdx-v4-tappd.bin", "2025-10-28T12:00:00Z", 4,
      "b0c06f000000", "05010200", 0, NULL, NULL },
    { "teekit_tdx-v4-gcp-no-nonce.bin", "2025-10-28T12:00:00Z", 4,
      "00806f050000", "08010800", 0, NULL, NULL },
};


/* go-tdx-guest verify_test.go TestNegativeVerification, on SPR_E4 */
typedef struct {
    size_t        off;
    uint8_t       val;
    attest_err_t  want;
    const char   *what;
} tdx_edit_t;

static const tdx_edit_t  edits[] = {
    { 0x000, 3, ATTEST_ERR_VERSION, "version 3: format not supported" },
    { 0x278, 0x10, ATTEST_ERR_INPUT,
      "signature data length: certification data size does not add up" },
    { 0x1343, 0x32, ATTEST_ERR_CERT, "root PEM END line: PCK chain invalid" },
    { 0x1329, 0x32, ATTEST_ERR_CHAIN, "root signature byte: root sig fails" },
    { 0xf5f, 0x32, ATTEST_ERR_CHAIN,
      "PCK CA signature byte: intermediate sig fails" },
    { 0xb77, 0x32, ATTEST_ERR_CHAIN, "PCK leaf byte: PCK sig fails" },
    { 0x01e, 0x32, ATTEST_ERR_SIGNATURE, "header user_data: quote sig fails" },
    { 0x03c, 0x32, ATTEST_ERR_SIGNATURE, "TD body: quote sig fails" },
};


static void
check_vector(const tdx_vector_t *v)
{
    size_t               n;
    uint8_t             *q;
    attest_err_t         rc;
    attest_evidence_t    ev;

    q = tdx_vec(v->file, &n);
    if (q == NULL) {
        ok(0, "%s is readable", v->file);
        return;
    }

    rc = attest_tdx_verify(q, n, NULL, tdx_t(v->now), &ev);
    is_err(rc, ATTEST_OK, "%s verifies at %s", v->file, v->now);
    is_int(ev.platform, ATTEST_PLATFORM_TDX, "%s: platform tdx", v->file);
    is_int(ev.version, v->version, "%s: quote version %d", v->file,
           v->version);
    tdx_is_hex(ev.fmspc, 6, v->fmspc, "fmspc from the PCK");
    tdx_is_hex(ev.tee_tcb_svn, 16, v->tee_tcb_svn, "tee_tcb_svn");
    is_int(ev.debug, v->debug, "%s: debug %d", v->file, v->debug);
    if (v->mrtd != NULL) {
        tdx_is_hex(ev.measurement, 48, v->mrtd, "MRTD");
    }
    if (v->report_data != NULL) {
        tdx_is_hex(ev.report_data, 64, v->report_data, "report_data");
    }
    ok(ev.chain_not_after > tdx_t(v->now), "%s: chain_not_after is later",
       v->file);
    is_int(ev.tcb_status[0], 0, "%s: no TCB status without collateral",
           v->file);

    free(q);
}


/* one bit flipped at every step-th byte of [from, to): never accepted */
static void
flip_range(const char *file, const char *now, size_t from, size_t to,
    size_t step, attest_err_t want, const char *what)
{
    int                all_want, none_ok;
    size_t             n, i;
    uint8_t           *q;
    attest_err_t       rc;
    attest_evidence_t  ev;

    q = tdx_vec(file, &n);
    if (q == NULL) {
        ok(0, "%s is readable", file);
        return;
    }

    all_want = 1;
    none_ok = 1;

    for (i = from; i < to && i < n; i += step) {
        q[i] ^= (uint8_t) (1u << (i % 8));
        rc = attest_tdx_verify(q, n, NULL, tdx_t(now), &ev);
        q[i] ^= (uint8_t) (1u << (i % 8));

        if (rc == ATTEST_OK) {
            diag("%s: a flipped bit at 0x%zx is accepted", file, i);
            none_ok = 0;
        }
        if (want != ATTEST_OK && rc != want && all_want) {
            diag("%s: flip at 0x%zx gives %s", file, i, attest_strerror(rc));
            all_want = 0;
        }
    }

    ok(none_ok, "%s: no flipped bit in %s (0x%zx-0x%zx) is accepted", file,
       what, from, to);
    if (want != ATTEST_OK) {
        ok(all_want, "%s: every flip in %s gives %s", file, what,
           attest_strerror(want));
    }

    free(q);
}


int
main(void)
{
    size_t              i, n, used;
    uint8_t            *q, *c;
    json_t             *j;
    attest_err_t        rc;
    attest_evidence_t   ev;
    attest_tdx_quote_t  pq;

    tdx_need_vectors();

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        check_vector(&vectors[i]);
    }

    /* SPR_E4 facts from the vectors file */
    q = tdx_vec("gotdxguest_tdx_prod_quote_SPR_E4.dat", &n);
    if (q != NULL) {
        rc = attest_tdx_verify(q, n, NULL, tdx_t("2023-07-01T00:00:00Z"),
                               &ev);
        is_err(rc, ATTEST_OK, "SPR_E4 verifies with its 39 trailing bytes");
        tdx_is_hex(ev.mrseam, 48,
                   "2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2"
                   "ced320c9a89b4869a9fab60fbe9d0c5a5363c656", "SPR_E4 mrseam");
        tdx_is_hex(ev.rtmr[0], 4, "2927da70", "SPR_E4 rtmr0");
        is_int(ev.chain_not_after, tdx_t("2029-09-20T13:20:31Z"),
               "chain_not_after is the PCK leaf's notAfter");

        rc = attest_tdx_parse(q, n, &pq);
        is_err(rc, ATTEST_OK, "SPR_E4 parses");
        used = pq.used;
        is_int(n - used, 39, "39 bytes after the signature data are ignored");
        rc = attest_tdx_verify(q, used, NULL, tdx_t("2023-07-01T00:00:00Z"),
                               &ev);
        is_err(rc, ATTEST_OK, "SPR_E4 without its trailing bytes verifies");
        rc = attest_tdx_verify(q, used - 1, NULL,
                               tdx_t("2023-07-01T00:00:00Z"), &ev);
        is_err(rc, ATTEST_ERR_INPUT, "one byte short is malformed");
        rc = attest_tdx_verify(q, 0x277, NULL, tdx_t("2023-07-01T00:00:00Z"),
                               &ev);
        is_err(rc, ATTEST_ERR_INPUT, "cut inside the body is malformed");

        /* TestNegativeVerifyPckChainWithoutRevocation: at 2053 */
        rc = attest_tdx_verify(q, n, NULL, tdx_t("2053-01-01T00:00:00Z"),
                               &ev);
        is_err(rc, ATTEST_ERR_CERT_EXPIRED, "SPR_E4 at 2053: chain expired");
        rc = attest_tdx_verify(q, n, NULL, tdx_t("2022-09-01T00:00:00Z"),
                               &ev);
        is_err(rc, ATTEST_ERR_CERT_EXPIRED,
               "SPR_E4 before its PCK was issued: not yet valid");

        c = malloc(n);
        for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
            memcpy(c, q, n);
            c[edits[i].off] = edits[i].val;
            rc = attest_tdx_verify(c, n, NULL, tdx_t("2023-07-01T00:00:00Z"),
                                   &ev);
            is_err(rc, edits[i].want, "[0x%zx]=0x%02x, %s: %s", edits[i].off,
                   edits[i].val, edits[i].what,
                   attest_strerror(edits[i].want));
        }
        free(c);

        /* a quote chained to another root: the pin refuses it */
        rc = attest_tdx_verify_root(q, n, NULL, tdx_t("2023-07-01T00:00:00Z"),
                                    (const uint8_t *)
                                    "0123456789abcdef0123456789abcdef", &ev);
        is_err(rc, ATTEST_ERR_UNKNOWN_ROOT,
               "the same chain with another pinned root: unknown_root");
        free(q);
    }

    /* the SGX quote (v3, tee_type 0) */
    q = tdx_vec("trustee_occlum_quote.dat", &n);
    if (q != NULL) {
        rc = attest_tdx_verify(q, n, NULL, tdx_t("2025-10-28T12:00:00Z"),
                               &ev);
        is_err(rc, ATTEST_ERR_NOT_TDX, "an SGX quote is not_tdx");
        is_err(attest_tdx_parse(q, n, &pq), ATTEST_ERR_NOT_TDX,
               "and does not parse as TDX");
        free(q);
    }

    /* a TDREPORT is not a quote */
    q = tdx_vec("gotdxguest_report.dat", &n);
    if (q != NULL) {
        rc = attest_tdx_verify(q, n, NULL, tdx_t("2025-10-28T12:00:00Z"),
                               &ev);
        ok(rc != ATTEST_OK, "a raw TDREPORT is refused (%s)",
           attest_strerror(rc));
        free(q);
    }

    /* v5 layout: body type 3 and its extra fields, the JSON view */
    q = tdx_vec("gotdxguest_quote_v5_sample.dat", &n);
    if (q != NULL) {
        rc = attest_tdx_parse(q, n, &pq);
        is_err(rc, ATTEST_OK, "v5 sample parses");
        is_int(pq.body_type, 3, "v5 sample has body type 3 (TDX 1.5)");
        is_int(pq.signed_len, 0x2be, "v5 signed region is 0x000-0x2bd");
        is_int(pq.report_data - q, 0x23e, "v5 report_data at 0x23e");
        tdx_is_hex(pq.tee_tcb_svn2, 16, "0d0104", "tee_tcb_svn2");
        is_int(pq.pck_chain[pq.pck_chain_len - 1], 0,
               "its PEM chain ends with a NUL");

        j = attest_tdx_quote_json(&pq);
        ok(j != NULL, "the quote as JSON");
        ok(j != NULL && strcmp(json_string_value(json_object_get(
               json_object_get(j, "td"), "mrtd")), vectors[2].mrtd) == 0,
           "JSON td.mrtd is the MRTD");
        ok(j != NULL && strcmp(json_string_value(json_object_get(
               json_object_get(j, "pck"), "fmspc")), "90c06f000000") == 0,
           "JSON pck.fmspc from the PCK leaf");
        ok(j != NULL && json_integer_value(json_object_get(
               json_object_get(j, "qe_report"), "isvsvn")) == 7,
           "JSON qe_report.isvsvn 7");
        json_decref(j);
        free(q);
    }

    /*
     * Flipped bits: everything the attestation key signs, and every
     * part of the signature data, in a v4 and the v5 quote.
     */
    flip_range("gotdxguest_tdx_prod_quote_SPR_E4.dat", "2023-07-01T00:00:00Z",
               0x00, 0x1c, 1, ATTEST_OK, "the header's checked fields");
    flip_range("gotdxguest_tdx_prod_quote_SPR_E4.dat", "2023-07-01T00:00:00Z",
               0x1c, 0x278, 1, ATTEST_ERR_SIGNATURE, "user_data and TD body");
    flip_range("gotdxguest_tdx_prod_quote_SPR_E4.dat", "2023-07-01T00:00:00Z",
               0x27c, 0x2bc, 1, ATTEST_ERR_SIGNATURE, "the quote signature");
    flip_range("gotdxguest_tdx_prod_quote_SPR_E4.dat", "2023-07-01T00:00:00Z",
               0x2bc, 0x2fc, 1, ATTEST_ERR_QE_BINDING, "the attestation key");
    flip_range("gotdxguest_tdx_prod_quote_SPR_E4.dat", "2023-07-01T00:00:00Z",
               0x302, 0x4c2, 1, ATTEST_ERR_QE_REPORT,
               "the QE report and its signature");
    flip_range("gotdxguest_tdx_prod_quote_SPR_E4.dat", "2023-07-01T00:00:00Z",
               0x4c4, 0x4e4, 1, ATTEST_ERR_QE_BINDING, "the QE auth data");
    flip_range("gotdxguest_tdx_prod_quote_SPR_E4.dat", "2023-07-01T00:00:00Z",
               0x4ea, 0x1347, 5, ATTEST_OK, "the PCK chain");
    flip_range("gotdxguest_quote_v5_sample.dat", "2026-02-03T00:00:00Z",
               0x00, 0x36, 1, ATTEST_OK, "the v5 header, body type and size");
    flip_range("gotdxguest_quote_v5_sample.dat", "2026-02-03T00:00:00Z",
               0x36, 0x2be, 1, ATTEST_ERR_SIGNATURE, "the v5 TD body");

    return done_testing();
}
