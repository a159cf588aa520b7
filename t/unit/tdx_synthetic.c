/*
 * TDX verification against a private PKI made here (t/unit/tdx_synth.h):
 * what real vectors cannot show.  Revoked PCKs and CAs, every branch of
 * the TCB evaluation and status convergence, collateral text quirks, and
 * malformed layouts.  Needs no vector files.
 */

#include "tdx_test.h"
#include "tdx_synth.h"


static synth_pki_t  pki;
static uint8_t      qbuf[16384];


static size_t
quote(const synth_quote_opts_t *o)
{
    return synth_quote(&pki, o, qbuf, sizeof(qbuf));
}


static attest_err_t
verify(size_t n, const attest_tdx_collateral_t *c, attest_evidence_t *ev)
{
    return attest_tdx_verify_root(qbuf, n, c, SYNTH_NOW, pki.root_sha256,
                                  ev);
}


/* a TCB Info with one module identity TDX_01 and these levels, signed */
static char *
tcb_info(const char *levels, const char *module_levels)
{
    char  *body, *doc, mods[2048];

    snprintf(mods, sizeof(mods),
             "[{\"id\":\"TDX_01\",\"mrsigner\":\"%096d\",\"attributes\":"
             "\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\","
             "\"tcbLevels\":%s}]", 0, module_levels);
    body = synth_tcb_info_body(&pki, module_levels ? mods : NULL, levels);
    doc = synth_signed_json(pki.tcb_key, "tcbInfo", body);
    free(body);
    return doc;
}


static char *
qe_identity(int prodid, const char *levels)
{
    char  *body, *doc;

    body = synth_qe_identity_body(prodid, levels);
    doc = synth_signed_json(pki.tcb_key, "enclaveIdentity", body);
    free(body);
    return doc;
}


/* isv levels: {"tcb":{"isvsvn":N},"tcbDate":"..","tcbStatus":".."} */
#define ISV(svn, status)                                                     \
    "{\"tcb\":{\"isvsvn\":" #svn "},\"tcbDate\":"                          \
    "\"2025-01-01T00:00:00Z\",\"tcbStatus\":\"" status "\"}"

#define MOD_UTD  "[" ISV(5, "UpToDate") "," ISV(2, "OutOfDate") "]"
#define MOD_OOD  "[" ISV(9, "UpToDate") "," ISV(2, "OutOfDate") "]"
#define QE_UTD   "[" ISV(8, "UpToDate") "]"
#define QE_OOD   "[" ISV(9, "UpToDate") "," ISV(1, "OutOfDate") "]"


typedef struct {
    const char    *what;
    int            sgx, pcesvn, t0, t1, t2;   /* the one platform level */
    const char    *status;
    const char    *module;                     /* module identity levels */
    const char    *qe;
    int            qe_prodid;
    attest_err_t   want;
    const char    *overall;
    const char    *qe_status;
} tcb_case_t;

static const tcb_case_t  cases[] = {
    { "all up to date", 2, 11, 0, 0, 3, "UpToDate", MOD_UTD, QE_UTD, 2,
      ATTEST_OK, "UpToDate", "UpToDate" },
    { "TDX components 0-1 skipped for a 1.x module", 2, 11, 99, 99, 3,
      "UpToDate", MOD_UTD, QE_UTD, 2, ATTEST_OK, "UpToDate", "UpToDate" },
    { "TDX component 2 above the quote's", 2, 11, 0, 0, 4, "UpToDate",
      MOD_UTD, QE_UTD, 2, ATTEST_ERR_TCB_NO_MATCH, "", "UpToDate" },
    { "SGX components above the PCK's", 3, 11, 0, 0, 3, "UpToDate", MOD_UTD,
      QE_UTD, 2, ATTEST_ERR_TCB_NO_MATCH, "", "UpToDate" },
    { "PCESVN above the PCK's", 2, 12, 0, 0, 3, "UpToDate", MOD_UTD, QE_UTD,
      2, ATTEST_ERR_TCB_NO_MATCH, "", "UpToDate" },
    { "SWHardeningNeeded platform, QE out of date", 2, 11, 0, 0, 3,
      "SWHardeningNeeded", MOD_UTD, QE_OOD, 2, ATTEST_OK, "OutOfDate",
      "OutOfDate" },
    { "ConfigurationNeeded platform, module out of date", 2, 11, 0, 0, 3,
      "ConfigurationNeeded", MOD_OOD, QE_UTD, 2, ATTEST_OK,
      "OutOfDateConfigurationNeeded", "UpToDate" },
    { "ConfigurationAndSWHardeningNeeded stays", 2, 11, 0, 0, 3,
      "ConfigurationAndSWHardeningNeeded", MOD_UTD, QE_UTD, 2, ATTEST_OK,
      "ConfigurationAndSWHardeningNeeded", "UpToDate" },
    { "a revoked platform level", 2, 11, 0, 0, 3, "Revoked", MOD_UTD, QE_UTD,
      2, ATTEST_ERR_REVOKED, "Revoked", "UpToDate" },
    { "no module identity for TDX_01", 2, 11, 0, 0, 3, "UpToDate", NULL,
      QE_UTD, 2, ATTEST_ERR_TCB_NO_MATCH, "UpToDate", "UpToDate" },
    { "a QE of another product", 2, 11, 0, 0, 3, "UpToDate", MOD_UTD, QE_UTD,
      1, ATTEST_ERR_TCB_MISMATCH, "UpToDate", "" },
    { "a QE below every QE level", 2, 11, 0, 0, 3, "UpToDate", MOD_UTD,
      "[" ISV(9, "UpToDate") "]", 2, ATTEST_ERR_TCB_NO_MATCH, "UpToDate",
      "" },
    { "an unknown status word", 2, 11, 0, 0, 3, "Fine", MOD_UTD, QE_UTD, 2,
      ATTEST_ERR_COLLATERAL, "", "" },
};


static void
check_case(const tcb_case_t *t, size_t qn, const char *chain, size_t chain_n)
{
    char                     *ti, *qi, level[4096];
    attest_err_t              rc;
    attest_evidence_t         ev;
    attest_tdx_collateral_t   c;

    synth_level(level + 1, sizeof(level) - 2, t->sgx, t->pcesvn, t->t0,
                t->t1, t->t2, t->status);
    level[0] = '[';
    strcat(level, "]");

    ti = tcb_info(level, t->module);
    qi = qe_identity(t->qe_prodid, t->qe);

    memset(&c, 0, sizeof(c));
    c.tcb_info = (const uint8_t *) ti;
    c.tcb_info_len = strlen(ti);
    c.qe_identity = (const uint8_t *) qi;
    c.qe_identity_len = strlen(qi);
    c.tcb_signing_chain = (const uint8_t *) chain;
    c.tcb_signing_chain_len = chain_n;

    rc = verify(qn, &c, &ev);
    is_err(rc, t->want, "%s: %s", t->what, attest_strerror(t->want));
    ok(strcmp(ev.tcb_status, t->overall) == 0, "  tcb_status \"%s\" "
       "(got \"%s\")", t->overall, ev.tcb_status);
    ok(strcmp(ev.qe_tcb_status, t->qe_status) == 0, "  qe_tcb_status \"%s\" "
       "(got \"%s\")", t->qe_status, ev.qe_tcb_status);

    free(ti);
    free(qi);
}


/* the same quote with one 16-bit little-endian field changed */
static attest_err_t
with_u16(size_t n, size_t off, uint16_t v)
{
    uint8_t            save[2];
    attest_err_t       rc;
    attest_evidence_t  ev;

    memcpy(save, qbuf + off, 2);
    synth_le(qbuf + off, v, 2);
    rc = verify(n, NULL, &ev);
    memcpy(qbuf + off, save, 2);
    return rc;
}


int
main(void)
{
    int                       crash;
    long                      serials[3];
    char                     *chain, *ti, *qi, *doc, level[4096];
    size_t                    n, i, chain_n, crl_n, used;
    uint8_t                   crl[4096], der[2048];
    X509                     *keep;
    attest_err_t              rc;
    attest_evidence_t         ev;
    attest_tdx_pck_t          pck;
    attest_tdx_quote_t        pq;
    synth_quote_opts_t        o;
    attest_tdx_collateral_t   c;
    attest_tdx_tcb_info_t     tinfo;

    synth_pki_init(&pki);
    chain = synth_tcb_chain(&pki, &chain_n);

    /* layouts: v4, v5 types 2 and 3, NUL after the PEM, trailing bytes */
    synth_quote_defaults(&o);
    n = quote(&o);
    rc = verify(n, NULL, &ev);
    is_err(rc, ATTEST_OK, "a synthetic v4 quote verifies against its root");
    is_mem(ev.measurement, 48, o.mrtd, 48, "  MRTD");
    is_mem(ev.report_data, 64, o.report_data, 64, "  report_data");
    is_int(ev.chain_not_after, SYNTH_T2031, "  chain_not_after is the leaf's");
    tdx_is_hex(ev.fmspc, 6, "90c06f000000", "  fmspc");
    rc = attest_tdx_verify(qbuf, n, NULL, SYNTH_NOW, &ev);
    is_err(rc, ATTEST_ERR_UNKNOWN_ROOT, "attest_tdx_verify (Intel pin) "
           "refuses it: unknown_root");

    o.td_attributes[0] = 0x01;
    n = quote(&o);
    rc = verify(n, NULL, &ev);
    is_err(rc, ATTEST_OK, "a debug TD's quote verifies");
    is_int(ev.debug, 1, "  and says debug (td_attributes bit 0)");
    o.td_attributes[0] = 0;

    o.version = 5;
    n = quote(&o);
    is_err(verify(n, NULL, &ev), ATTEST_OK, "v5, body type 2 verifies");
    is_int(ev.version, 5, "  version 5");
    o.body_type = 3;
    o.pem_nul = 1;
    o.trailing = 3000;
    n = quote(&o);
    is_err(verify(n, NULL, &ev), ATTEST_OK, "v5, body type 3, PEM ending in "
           "NUL, 3000 trailing zeros verifies");
    is_err(attest_tdx_parse(qbuf, n, &pq), ATTEST_OK, "  and parses");
    is_int(pq.body_len, 648, "  body of 648 bytes");
    is_int(n - pq.used, 3000, "  3000 bytes ignored");
    is_mem(pq.report_data, 64, o.report_data, 64, "  report_data at 0x23e");
    is_int(pq.report_data - qbuf, 0x23e, "  which is 0x23e");

    /* layout errors on a v5 type 3 quote */
    used = pq.used;
    is_err(with_u16(n, 0x30, 4), ATTEST_ERR_VERSION, "body type 4: "
           "unsupported_version");
    is_err(with_u16(n, 0x30, 1), ATTEST_ERR_VERSION, "body type 1 (SGX): "
           "unsupported_version");
    is_err(with_u16(n, 0x32, 584), ATTEST_ERR_INPUT, "type 3 with the size "
           "of type 2: malformed");
    is_err(with_u16(n, 0x02, 3), ATTEST_ERR_SIG_ALGO, "attestation key type "
           "3: unsupported_signature_algorithm");
    is_err(with_u16(n, 0x04, 0), ATTEST_ERR_NOT_TDX, "tee_type 0: not_tdx");
    is_err(with_u16(n, 0x0c, 0), ATTEST_ERR_NOT_TDX, "another QE vendor: "
           "not_tdx");
    is_err(with_u16(n, 0x2be + 4 + 128, 5), ATTEST_ERR_NO_CERT, "outer "
           "certification data type 5: missing_certificate");
    is_err(with_u16(n, used - pq.pck_chain_len - 6, 3), ATTEST_ERR_NO_CERT,
           "inner type 3 (encrypted PPID): missing_certificate");

    crash = 0;
    for (i = 0; i < used; i++) {
        if (attest_tdx_verify_root(qbuf, i, NULL, SYNTH_NOW, pki.root_sha256,
                                   &ev) == ATTEST_OK)
        {
            crash++;
        }
    }
    is_int(crash, 0, "no prefix of the quote verifies");

    /* PCK chains that are not three certificates, or lack SGX data */
    synth_quote_defaults(&o);
    keep = pki.root;
    pki.root = pki.ca;              /* leaf, CA, CA */
    n = quote(&o);
    pki.root = keep;
    is_err(verify(n, NULL, &ev), ATTEST_ERR_CHAIN, "a chain ending in a "
           "non-self-signed CA: bad_chain");
    keep = pki.pck;
    pki.pck = synth_cert("Test SGX PCK Certificate", pki.pck_key, pki.ca,
                         pki.ca_key, 3, SYNTH_T2024, SYNTH_T2031, 0, NULL);
    n = quote(&o);
    X509_free(pki.pck);
    pki.pck = keep;
    is_err(verify(n, NULL, &ev), ATTEST_ERR_CERT, "a PCK leaf without SGX "
           "extensions: bad_certificate");

    keep = pki.ca;
    pki.ca = synth_cert("Test SGX PCK Platform CA", pki.ca_key, pki.root,
                        pki.ca_key, 2, SYNTH_T2020, SYNTH_T2049, 1, NULL);
    n = quote(&o);
    X509_free(pki.ca);
    pki.ca = keep;
    is_err(verify(n, NULL, &ev), ATTEST_ERR_CHAIN, "a CA that signed itself "
           "instead of the root: bad_chain");

    synth_pki_repck(&pki, 3, SYNTH_T2024, SYNTH_NOW - 1);
    n = quote(&o);
    is_err(verify(n, NULL, &ev), ATTEST_ERR_CERT_EXPIRED, "a PCK that "
           "expired a second ago: certificate_expired");
    synth_pki_repck(&pki, 3, SYNTH_T2024, SYNTH_T2031);

    /* the SGX extension parser */
    n = synth_sgx_ext(&pki, der);
    is_err(attest_tdx_pck_ext_parse(der, n, &pck), ATTEST_OK,
           "SGX extensions parse");
    is_mem(pck.cpusvn_comp, 16, pki.comp, 16, "  the 16 TCB components");
    is_int(pck.pcesvn, 11, "  PCESVN");
    pki.pcesvn = 300;
    n = synth_sgx_ext(&pki, der);
    attest_tdx_pck_ext_parse(der, n, &pck);
    is_int(pck.pcesvn, 300, "  a two-byte PCESVN");
    pki.pcesvn = 11;
    n = synth_sgx_ext(&pki, der);
    crash = 0;
    for (i = 0; i < n; i++) {
        crash += attest_tdx_pck_ext_parse(der, i, &pck) == ATTEST_OK;
    }
    is_int(crash, 0, "no truncation of the SGX extensions parses");

    /* revocation */
    synth_quote_defaults(&o);
    n = quote(&o);
    memset(&c, 0, sizeof(c));
    serials[0] = 77;
    serials[1] = 3;                 /* the PCK */
    crl_n = synth_crl(pki.ca, pki.ca_key, serials, 2, SYNTH_NOW - 86400,
                      SYNTH_NOW + 86400, crl, sizeof(crl));
    c.pck_crl = crl;
    c.pck_crl_len = crl_n;
    is_err(verify(n, &c, &ev), ATTEST_ERR_REVOKED, "a PCK on the PCK CRL: "
           "revoked");
    crl_n = synth_crl(pki.ca, pki.ca_key, serials, 1, SYNTH_NOW - 86400,
                      SYNTH_NOW + 86400, crl, sizeof(crl));
    c.pck_crl_len = crl_n;
    is_err(verify(n, &c, &ev), ATTEST_OK, "a PCK CRL listing others: ok");
    is_int(ev.collateral_not_after, SYNTH_NOW + 86400, "  collateral_not_after "
           "is the CRL's nextUpdate");
    crl_n = synth_crl(pki.ca, pki.tcb_key, serials, 1, SYNTH_NOW - 86400,
                      SYNTH_NOW + 86400, crl, sizeof(crl));
    c.pck_crl_len = crl_n;
    is_err(verify(n, &c, &ev), ATTEST_ERR_CRL, "a PCK CRL in the CA's name "
           "signed by another key: bad_crl");
    crl_n = synth_crl(pki.ca, pki.ca_key, serials, 1, SYNTH_NOW - 86400 * 2,
                      SYNTH_NOW - 86400, crl, sizeof(crl));
    c.pck_crl_len = crl_n;
    is_err(verify(n, &c, &ev), ATTEST_ERR_COLLATERAL_EXPIRED, "a PCK CRL "
           "past nextUpdate: collateral_expired");
    memset(&c, 0, sizeof(c));
    serials[0] = 2;                 /* the CA */
    crl_n = synth_crl(pki.root, pki.root_key, serials, 1, SYNTH_NOW - 86400,
                      SYNTH_NOW + 86400, crl, sizeof(crl));
    c.root_crl = crl;
    c.root_crl_len = crl_n;
    is_err(verify(n, &c, &ev), ATTEST_ERR_REVOKED, "the PCK CA on the root "
           "CRL: revoked");

    /* the TCB evaluation and its convergence */
    synth_quote_defaults(&o);                /* tee_tcb_svn 05 01 03 */
    n = quote(&o);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_case(&cases[i], n, chain, chain_n);
    }

    /* TDX 1.0 (tee_tcb_svn[1] = 0): tdxModule's MRSIGNER must match */
    o.tee_tcb_svn[1] = 0;
    n = quote(&o);
    synth_level(level + 1, sizeof(level) - 2, 2, 11, 5, 0, 3, "UpToDate");
    level[0] = '[';
    strcat(level, "]");
    ti = tcb_info(level, NULL);
    memset(&c, 0, sizeof(c));
    c.tcb_info = (const uint8_t *) ti;
    c.tcb_info_len = strlen(ti);
    c.tcb_signing_chain = (const uint8_t *) chain;
    c.tcb_signing_chain_len = chain_n;
    is_err(verify(n, &c, &ev), ATTEST_OK, "TDX 1.0 quote, all 16 TDX "
           "components compared: ok");
    o.tee_tcb_svn[0] = 4;
    n = quote(&o);
    is_err(verify(n, &c, &ev), ATTEST_ERR_TCB_NO_MATCH, "TDX 1.0, component "
           "0 below the level: no_matching_tcb_level");
    o.tee_tcb_svn[0] = 5;
    o.mrsignerseam[0] = 1;
    n = quote(&o);
    is_err(verify(n, &c, &ev), ATTEST_ERR_TCB_MISMATCH, "TDX 1.0 with "
           "another MRSIGNERSEAM than tdxModule's: tcb_mismatch");
    o.mrsignerseam[0] = 0;
    n = quote(&o);

    /* the TCB signing chain */
    c.tcb_signing_chain = (const uint8_t *) chain;
    c.tcb_signing_chain_len = chain_n / 2;
    rc = verify(n, &c, &ev);
    ok(rc == ATTEST_ERR_CERT || rc == ATTEST_ERR_NO_CERT, "half a signing "
       "chain is refused (%s)", attest_strerror(rc));
    c.tcb_signing_chain_len = chain_n;
    rc = attest_tdx_verify_root(qbuf, n, &c, SYNTH_T2031 + 86400,
                                pki.root_sha256, &ev);
    is_err(rc, ATTEST_ERR_CERT_EXPIRED, "a signing chain (and PCK) past "
           "notAfter: certificate_expired");
    {
        synth_pki_t  other;

        synth_pki_init(&other);
        doc = synth_tcb_chain(&other, &crl_n);
        c.tcb_signing_chain = (const uint8_t *) doc;
        c.tcb_signing_chain_len = crl_n;
        is_err(verify(n, &c, &ev), ATTEST_ERR_UNKNOWN_ROOT, "a signing chain "
               "to another root: unknown_root");
        free(doc);
        synth_pki_free(&other);
        c.tcb_signing_chain = (const uint8_t *) chain;
        c.tcb_signing_chain_len = chain_n;
    }
    free(ti);

    /* the signed text is taken byte for byte, whitespace and all */
    synth_quote_defaults(&o);
    n = quote(&o);
    synth_level(level + 1, sizeof(level) - 2, 2, 11, 0, 0, 3, "UpToDate");
    level[0] = '[';
    strcat(level, "]");
    {
        char  *body, *spaced, *p;

        body = synth_tcb_info_body(&pki, NULL, level);
        spaced = malloc(strlen(body) * 2 + 1);
        crash = 0;                  /* inside a string */
        for (p = spaced, i = 0; body[i]; i++) {
            *p++ = body[i];
            crash ^= body[i] == '"';
            if (!crash && (body[i] == ',' || body[i] == ':')) {
                *p++ = ' ';
            }
        }
        *p = '\0';
        doc = synth_signed_json(pki.tcb_key, "tcbInfo", spaced);
        c.tcb_info = (const uint8_t *) doc;
        c.tcb_info_len = strlen(doc);
        rc = verify(n, &c, &ev);
        ok(rc == ATTEST_ERR_TCB_NO_MATCH, "a pretty-printed TCB Info "
           "verifies over its own text (then: %s)", attest_strerror(rc));
        free(doc);

        /* the same text, with the key spelled with an escape */
        doc = synth_signed_json(pki.tcb_key, "tcb\\u0049nfo", body);
        c.tcb_info = (const uint8_t *) doc;
        c.tcb_info_len = strlen(doc);
        is_err(verify(n, &c, &ev), ATTEST_ERR_COLLATERAL, "\"tcb\\u0049nfo\" "
               "is not found as the signed member: bad_collateral");
        free(doc);

        /* two tcbInfo members */
        doc = synth_signed_json(pki.tcb_key, "tcbInfo", body);
        ti = malloc(strlen(doc) * 2 + 32);
        sprintf(ti, "{\"tcbInfo\":%s,%s", body, doc + 1);
        c.tcb_info = (const uint8_t *) ti;
        c.tcb_info_len = strlen(ti);
        is_err(verify(n, &c, &ev), ATTEST_ERR_COLLATERAL, "a duplicated "
               "tcbInfo member: bad_collateral");
        is_err(attest_tdx_tcb_info_parse((const uint8_t *) doc, strlen(doc),
                                         &tinfo), ATTEST_OK,
               "the single one parses");
        free(ti);
        free(doc);
        free(spaced);
        free(body);
    }

    /* QE Identity alone */
    qi = qe_identity(2, QE_OOD);
    memset(&c, 0, sizeof(c));
    c.qe_identity = (const uint8_t *) qi;
    c.qe_identity_len = strlen(qi);
    c.tcb_signing_chain = (const uint8_t *) chain;
    c.tcb_signing_chain_len = chain_n;
    is_err(verify(n, &c, &ev), ATTEST_OK, "QE Identity without TCB Info");
    ok(strcmp(ev.qe_tcb_status, "OutOfDate") == 0, "  qe_tcb_status "
       "OutOfDate");
    is_int(ev.tcb_status[0], 0, "  tcb_status empty");
    free(qi);

    /* empty members are absent ones (a CLI passing /dev/null) */
    memset(&c, 0, sizeof(c));
    c.tcb_info = (const uint8_t *) "";
    c.pck_crl = (const uint8_t *) "";
    c.root_crl = (const uint8_t *) "";
    is_err(verify(n, &c, &ev), ATTEST_OK, "empty collateral members are "
           "taken as absent");
    is_int(ev.tcb_status[0], 0, "  and grade nothing");

    free(chain);
    synth_pki_free(&pki);

    return done_testing();
}
