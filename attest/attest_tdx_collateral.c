/*
 * attest/: Intel PCS collateral for TDX, the JSON half: TCB Info V3 and
 * Enclave Identity V2 bodies to structs, and the TCB evaluation of a quote
 * against them.  The signatures are checked in attest_tdx.c.
 *
 * Intel SGX and TDX PCS API v4, "TDX TCB Info" and "TDX QE Identity"; the
 * evaluation follows Intel's Quote Verification Library (TDX): the first
 * tcbLevel whose SGX components, PCESVN and TDX components are all at or
 * below the platform's, then the TDX module identity named by
 * tee_tcb_svn[1], then the QE's isvsvn.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "attest_tdx.h"
#include "attest_x509.h"


static int tdx_json_skip_ws(const uint8_t *p, size_t n, size_t *i);
static int tdx_json_skip_string(const uint8_t *p, size_t n, size_t *i);
static int tdx_json_skip_value(const uint8_t *p, size_t n, size_t *i);
static int tdx_json_member(const uint8_t *p, size_t n, const char *key,
    const uint8_t **vp, size_t *vn);
static int tdx_hexval(char c);
static int tdx_hex(json_t *s, uint8_t *out, size_t n);
static int tdx_uint(json_t *v, uint32_t max, uint32_t *out);
static int tdx_date(json_t *s, time_t *out);
static attest_tdx_tcb_status_t tdx_status(json_t *s);
static int tdx_isv_levels(json_t *a, attest_tdx_isv_level_t *lv,
    size_t *nlv);
static int tdx_components(json_t *a, uint8_t svn[16]);
static attest_err_t tdx_signed_body(const uint8_t *p, size_t n,
    const char *key, json_t **root, json_t **body, const uint8_t **bp,
    size_t *bn, uint8_t sig[64]);
static unsigned tdx_status_flags(attest_tdx_tcb_status_t s);
static attest_tdx_tcb_status_t tdx_converge(attest_tdx_tcb_status_t a,
    attest_tdx_tcb_status_t b);
static attest_err_t tdx_eval_platform(const attest_tdx_quote_t *q,
    const attest_tdx_pck_t *pck, const attest_tdx_tcb_info_t *ti,
    attest_tdx_tcb_result_t *res);
static attest_err_t tdx_eval_qe(const attest_tdx_quote_t *q,
    const attest_tdx_qe_identity_t *qi, attest_tdx_tcb_result_t *res);


static const char  *tdx_status_names[] = {
    "",
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
    "Revoked"
};


/* --- finding the signed text ------------------------------------------- */

/*
 * The signature covers the exact bytes of the inner object as sent, so
 * the span of {"tcbInfo": <value>, ...} is found in the raw text.  The
 * input was already accepted by jansson (duplicate keys rejected), so
 * this scanner only needs to be exact on valid JSON; it stays in bounds
 * on anything.  A key is matched on its raw bytes: an escaped spelling of
 * the key is not found, and the input is refused.
 */
static int
tdx_json_skip_ws(const uint8_t *p, size_t n, size_t *i)
{
    while (*i < n && (p[*i] == ' ' || p[*i] == '\t' || p[*i] == '\n'
                      || p[*i] == '\r'))
    {
        (*i)++;
    }

    return *i < n ? 0 : -1;
}


static int
tdx_json_skip_string(const uint8_t *p, size_t n, size_t *i)
{
    for ((*i)++; *i < n; (*i)++) {
        if (p[*i] == '\\') {
            (*i)++;

        } else if (p[*i] == '"') {
            (*i)++;
            return 0;
        }
    }

    return -1;
}


static int
tdx_json_skip_value(const uint8_t *p, size_t n, size_t *i)
{
    size_t  depth;

    if (p[*i] == '"') {
        return tdx_json_skip_string(p, n, i);
    }

    if (p[*i] != '{' && p[*i] != '[') {
        while (*i < n && p[*i] != ',' && p[*i] != '}' && p[*i] != ']'
               && p[*i] != ' ' && p[*i] != '\t' && p[*i] != '\n'
               && p[*i] != '\r')
        {
            (*i)++;
        }
        return 0;
    }

    depth = 0;

    while (*i < n) {
        switch (p[*i]) {

        case '"':
            if (tdx_json_skip_string(p, n, i) != 0) {
                return -1;
            }
            continue;

        case '{':
        case '[':
            depth++;
            break;

        case '}':
        case ']':
            if (--depth == 0) {
                (*i)++;
                return 0;
            }
            break;
        }

        (*i)++;
    }

    return -1;
}


static int
tdx_json_member(const uint8_t *p, size_t n, const char *key,
    const uint8_t **vp, size_t *vn)
{
    size_t  i, ks, ke, vs, kl;

    i = 0;
    kl = strlen(key);

    if (tdx_json_skip_ws(p, n, &i) != 0 || p[i] != '{') {
        return -1;
    }

    i++;

    for ( ;; ) {
        if (tdx_json_skip_ws(p, n, &i) != 0 || p[i] != '"') {
            return -1;
        }

        ks = i + 1;
        if (tdx_json_skip_string(p, n, &i) != 0) {
            return -1;
        }
        ke = i - 1;

        if (tdx_json_skip_ws(p, n, &i) != 0 || p[i] != ':') {
            return -1;
        }

        i++;

        if (tdx_json_skip_ws(p, n, &i) != 0) {
            return -1;
        }

        vs = i;
        if (tdx_json_skip_value(p, n, &i) != 0) {
            return -1;
        }

        if (ke - ks == kl && memcmp(p + ks, key, kl) == 0) {
            *vp = p + vs;
            *vn = i - vs;
            return 0;
        }

        if (tdx_json_skip_ws(p, n, &i) != 0 || p[i] != ',') {
            return -1;
        }

        i++;
    }
}


/* --- typed members ------------------------------------------------------ */

static int
tdx_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}


/* a hex string of exactly n bytes, either case */
static int
tdx_hex(json_t *s, uint8_t *out, size_t n)
{
    int          hi, lo;
    size_t       i;
    const char  *h;

    if (!json_is_string(s) || json_string_length(s) != 2 * n) {
        return -1;
    }

    h = json_string_value(s);

    for (i = 0; i < n; i++) {
        hi = tdx_hexval(h[2 * i]);
        lo = tdx_hexval(h[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (uint8_t) (hi << 4 | lo);
    }

    return 0;
}


static int
tdx_uint(json_t *v, uint32_t max, uint32_t *out)
{
    json_int_t  x;

    if (!json_is_integer(v)) {
        return -1;
    }

    x = json_integer_value(v);
    if (x < 0 || x > (json_int_t) max) {
        return -1;
    }

    *out = (uint32_t) x;
    return 0;
}


static int
tdx_digits(const char *s, int n)
{
    int  i, x;

    for (i = 0, x = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        x = x * 10 + s[i] - '0';
    }

    return x;
}


/* RFC 3339 UTC as PCS writes it: 2023-06-18T08:42:58Z (fraction allowed) */
static int
tdx_date(json_t *s, time_t *out)
{
    int          y, mon, d, h, mi, sec;
    size_t       i, n;
    const char  *t;

    static const int  mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };

    if (!json_is_string(s)) {
        return -1;
    }

    t = json_string_value(s);
    n = json_string_length(s);

    if (n < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T'
        || t[13] != ':' || t[16] != ':')
    {
        return -1;
    }

    y = tdx_digits(t, 4);
    mon = tdx_digits(t + 5, 2);
    d = tdx_digits(t + 8, 2);
    h = tdx_digits(t + 11, 2);
    mi = tdx_digits(t + 14, 2);
    sec = tdx_digits(t + 17, 2);

    i = 19;
    if (t[i] == '.') {
        for (i++; i < n && t[i] >= '0' && t[i] <= '9'; i++) { /* void */ }
    }

    if (i + 1 != n || t[i] != 'Z'
        || y < 1970 || mon < 1 || mon > 12 || d < 1 || d > mdays[mon - 1]
        || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
    {
        return -1;
    }

    *out = attest_days_to_time(y, mon, d, h, mi, sec);
    return 0;
}


static attest_tdx_tcb_status_t
tdx_status(json_t *s)
{
    size_t  i;

    if (!json_is_string(s)) {
        return ATTEST_TDX_TCB_NONE;
    }

    for (i = 1; i < sizeof(tdx_status_names) / sizeof(char *); i++) {
        if (strcmp(json_string_value(s), tdx_status_names[i]) == 0) {
            return (attest_tdx_tcb_status_t) i;
        }
    }

    return ATTEST_TDX_TCB_NONE;
}


const char *
attest_tdx_tcb_status_name(attest_tdx_tcb_status_t s)
{
    if ((size_t) s >= sizeof(tdx_status_names) / sizeof(char *)) {
        return "";
    }

    return tdx_status_names[s];
}


/* [{"tcb":{"isvsvn":N},"tcbDate":"..","tcbStatus":".."}, ...] */
static int
tdx_isv_levels(json_t *a, attest_tdx_isv_level_t *lv, size_t *nlv)
{
    size_t   i;
    json_t  *l;
    uint32_t  x;

    if (!json_is_array(a) || json_array_size(a) == 0
        || json_array_size(a) > ATTEST_TDX_MAX_ISV_LEVELS)
    {
        return -1;
    }

    json_array_foreach(a, i, l) {
        if (tdx_uint(json_object_get(json_object_get(l, "tcb"), "isvsvn"),
                     65535, &x) != 0
            || tdx_date(json_object_get(l, "tcbDate"), &lv[i].tcb_date) != 0
            || (lv[i].status = tdx_status(json_object_get(l, "tcbStatus")))
               == ATTEST_TDX_TCB_NONE)
        {
            return -1;
        }
        lv[i].isvsvn = (uint16_t) x;
    }

    *nlv = json_array_size(a);
    return 0;
}


/* 16 x {"svn":N, "category":.., "type":..} */
static int
tdx_components(json_t *a, uint8_t svn[16])
{
    size_t    i;
    json_t   *c;
    uint32_t  x;

    if (!json_is_array(a) || json_array_size(a) != 16) {
        return -1;
    }

    json_array_foreach(a, i, c) {
        if (tdx_uint(json_object_get(c, "svn"), 255, &x) != 0) {
            return -1;
        }
        svn[i] = (uint8_t) x;
    }

    return 0;
}


/* {"<key>": {...}, "signature": "<r || s hex>"} */
static attest_err_t
tdx_signed_body(const uint8_t *p, size_t n, const char *key, json_t **root,
    json_t **body, const uint8_t **bp, size_t *bn, uint8_t sig[64])
{
    json_error_t  err;

    if (p == NULL || n == 0) {
        *root = NULL;
        return ATTEST_ERR_COLLATERAL;
    }

    *root = json_loadb((const char *) p, n, JSON_REJECT_DUPLICATES, &err);

    if (*root == NULL || !json_is_object(*root)) {
        return ATTEST_ERR_COLLATERAL;
    }

    *body = json_object_get(*root, key);

    if (!json_is_object(*body)
        || tdx_hex(json_object_get(*root, "signature"), sig, 64) != 0
        || tdx_json_member(p, n, key, bp, bn) != 0
        || *bn == 0 || **bp != '{')
    {
        return ATTEST_ERR_COLLATERAL;
    }

    return ATTEST_OK;
}


/* --- TCB Info V3 -------------------------------------------------------- */

attest_err_t
attest_tdx_tcb_info_parse(const uint8_t *p, size_t n,
    attest_tdx_tcb_info_t *ti)
{
    size_t                   i;
    json_t                  *root, *o, *m, *a, *l, *t;
    uint32_t                 x;
    const char              *id;
    attest_err_t             rc;
    attest_tdx_module_id_t  *md;
    attest_tdx_tcb_level_t  *lv;

    memset(ti, 0, sizeof(*ti));

    rc = tdx_signed_body(p, n, "tcbInfo", &root, &o, &ti->body,
                         &ti->body_len, ti->signature);
    if (rc != ATTEST_OK) {
        goto done;
    }

    rc = ATTEST_ERR_COLLATERAL;

    id = json_string_value(json_object_get(o, "id"));

    if (id == NULL || strcmp(id, "TDX") != 0
        || tdx_uint(json_object_get(o, "version"), 3, &ti->version) != 0
        || ti->version != 3
        || tdx_date(json_object_get(o, "issueDate"), &ti->issue_date) != 0
        || tdx_date(json_object_get(o, "nextUpdate"), &ti->next_update) != 0
        || tdx_hex(json_object_get(o, "fmspc"), ti->fmspc, 6) != 0
        || tdx_hex(json_object_get(o, "pceId"), ti->pceid, 2) != 0
        || tdx_uint(json_object_get(o, "tcbType"), 0, &ti->tcb_type) != 0
        || tdx_uint(json_object_get(o, "tcbEvaluationDataNumber"),
                    UINT32_MAX, &ti->eval_num) != 0)
    {
        goto done;
    }

    m = json_object_get(o, "tdxModule");

    if (tdx_hex(json_object_get(m, "mrsigner"), ti->module_mrsigner, 48)
        != 0
        || tdx_hex(json_object_get(m, "attributes"), ti->module_attributes,
                   8) != 0
        || tdx_hex(json_object_get(m, "attributesMask"),
                   ti->module_attributes_mask, 8) != 0)
    {
        goto done;
    }

    /* TDX module identities: optional (absent before TDX 1.5) */
    a = json_object_get(o, "tdxModuleIdentities");

    if (a != NULL) {
        if (!json_is_array(a) || json_array_size(a) > ATTEST_TDX_MAX_MODULES)
        {
            goto done;
        }

        json_array_foreach(a, i, m) {
            md = &ti->modules[i];
            id = json_string_value(json_object_get(m, "id"));

            if (id == NULL || strlen(id) >= sizeof(md->id)
                || tdx_hex(json_object_get(m, "mrsigner"), md->mrsigner, 48)
                   != 0
                || tdx_hex(json_object_get(m, "attributes"), md->attributes,
                           8) != 0
                || tdx_hex(json_object_get(m, "attributesMask"),
                           md->attributes_mask, 8) != 0
                || tdx_isv_levels(json_object_get(m, "tcbLevels"),
                                  md->levels, &md->nlevels) != 0)
            {
                goto done;
            }

            memcpy(md->id, id, strlen(id) + 1);
        }

        ti->nmodules = json_array_size(a);
    }

    a = json_object_get(o, "tcbLevels");

    if (!json_is_array(a) || json_array_size(a) == 0
        || json_array_size(a) > ATTEST_TDX_MAX_TCB_LEVELS)
    {
        goto done;
    }

    json_array_foreach(a, i, l) {
        lv = &ti->levels[i];
        t = json_object_get(l, "tcb");

        if (tdx_components(json_object_get(t, "sgxtcbcomponents"), lv->sgx)
            != 0
            || tdx_components(json_object_get(t, "tdxtcbcomponents"),
                              lv->tdx) != 0
            || tdx_uint(json_object_get(t, "pcesvn"), 65535, &x) != 0
            || tdx_date(json_object_get(l, "tcbDate"), &lv->tcb_date) != 0
            || (lv->status = tdx_status(json_object_get(l, "tcbStatus")))
               == ATTEST_TDX_TCB_NONE)
        {
            goto done;
        }

        lv->pcesvn = (uint16_t) x;
    }

    ti->nlevels = json_array_size(a);
    rc = ATTEST_OK;

done:

    json_decref(root);
    return rc;
}


/* --- Enclave Identity V2 (the TD quoting enclave) ----------------------- */

attest_err_t
attest_tdx_qe_identity_parse(const uint8_t *p, size_t n,
    attest_tdx_qe_identity_t *qi)
{
    json_t        *root, *o;
    uint8_t        b[4];
    uint32_t       x;
    const char    *id;
    attest_err_t   rc;

    memset(qi, 0, sizeof(*qi));

    rc = tdx_signed_body(p, n, "enclaveIdentity", &root, &o, &qi->body,
                         &qi->body_len, qi->signature);
    if (rc != ATTEST_OK) {
        goto done;
    }

    rc = ATTEST_ERR_COLLATERAL;

    id = json_string_value(json_object_get(o, "id"));

    if (id == NULL || strcmp(id, "TD_QE") != 0
        || tdx_uint(json_object_get(o, "version"), 2, &qi->version) != 0
        || qi->version != 2
        || tdx_date(json_object_get(o, "issueDate"), &qi->issue_date) != 0
        || tdx_date(json_object_get(o, "nextUpdate"), &qi->next_update) != 0
        || tdx_uint(json_object_get(o, "tcbEvaluationDataNumber"),
                    UINT32_MAX, &qi->eval_num) != 0
        || tdx_hex(json_object_get(o, "attributes"), qi->attributes, 16) != 0
        || tdx_hex(json_object_get(o, "attributesMask"), qi->attributes_mask,
                   16) != 0
        || tdx_hex(json_object_get(o, "mrsigner"), qi->mrsigner, 32) != 0
        || tdx_uint(json_object_get(o, "isvprodid"), 65535, &x) != 0
        || tdx_isv_levels(json_object_get(o, "tcbLevels"), qi->levels,
                          &qi->nlevels) != 0)
    {
        goto done;
    }

    qi->isvprodid = (uint16_t) x;

    /* hex bytes in report order: the little-endian MISCSELECT */
    if (tdx_hex(json_object_get(o, "miscselect"), b, 4) != 0) {
        goto done;
    }
    qi->miscselect = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t) b[3] << 24;

    if (tdx_hex(json_object_get(o, "miscselectMask"), b, 4) != 0) {
        goto done;
    }
    qi->miscselect_mask = b[0] | b[1] << 8 | b[2] << 16
                          | (uint32_t) b[3] << 24;

    rc = ATTEST_OK;

done:

    json_decref(root);
    return rc;
}


/* --- TCB evaluation ----------------------------------------------------- */

#define TDX_F_SW    0x01
#define TDX_F_CFG   0x02
#define TDX_F_OOD   0x04
#define TDX_F_REV   0x08

static unsigned
tdx_status_flags(attest_tdx_tcb_status_t s)
{
    switch (s) {
    case ATTEST_TDX_TCB_SW_HARDENING_NEEDED:
        return TDX_F_SW;
    case ATTEST_TDX_TCB_CONFIGURATION_NEEDED:
        return TDX_F_CFG;
    case ATTEST_TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
        return TDX_F_CFG | TDX_F_SW;
    case ATTEST_TDX_TCB_OUT_OF_DATE:
        return TDX_F_OOD;
    case ATTEST_TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED:
        return TDX_F_OOD | TDX_F_CFG;
    case ATTEST_TDX_TCB_REVOKED:
        return TDX_F_REV;
    default:
        return 0;
    }
}


/*
 * QVL's convergence of the platform status with the TDX module's and
 * the QE's: an out-of-date part makes the whole out of date, keeping
 * "configuration needed"; revoked wins.  As a union of flags it is
 * symmetric and can be applied twice.
 */
static attest_tdx_tcb_status_t
tdx_converge(attest_tdx_tcb_status_t a, attest_tdx_tcb_status_t b)
{
    unsigned  f;

    if (a == ATTEST_TDX_TCB_NONE) {
        return b;
    }

    if (b == ATTEST_TDX_TCB_NONE) {
        return a;
    }

    f = tdx_status_flags(a) | tdx_status_flags(b);

    if (f & TDX_F_REV) {
        return ATTEST_TDX_TCB_REVOKED;
    }

    if (f & TDX_F_OOD) {
        return (f & TDX_F_CFG) ? ATTEST_TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED
                               : ATTEST_TDX_TCB_OUT_OF_DATE;
    }

    switch (f) {
    case TDX_F_CFG | TDX_F_SW:
        return ATTEST_TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED;
    case TDX_F_CFG:
        return ATTEST_TDX_TCB_CONFIGURATION_NEEDED;
    case TDX_F_SW:
        return ATTEST_TDX_TCB_SW_HARDENING_NEEDED;
    default:
        return ATTEST_TDX_TCB_UP_TO_DATE;
    }
}


static int
tdx_masked_eq(const uint8_t *v, const uint8_t *mask, const uint8_t *want,
    size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if ((v[i] & mask[i]) != want[i]) {
            return 0;
        }
    }

    return 1;
}


static attest_err_t
tdx_eval_platform(const attest_tdx_quote_t *q, const attest_tdx_pck_t *pck,
    const attest_tdx_tcb_info_t *ti, attest_tdx_tcb_result_t *res)
{
    char                           id[8];
    size_t                         i, j, from;
    const uint8_t                 *svn;
    const attest_tdx_module_id_t  *md;
    const attest_tdx_tcb_level_t  *lv;

    /* the TCB Info must be the one of this platform */
    if (memcmp(pck->fmspc, ti->fmspc, 6) != 0
        || memcmp(pck->pceid, ti->pceid, 2) != 0)
    {
        return ATTEST_ERR_COLLATERAL;
    }

    svn = q->tee_tcb_svn;

    /*
     * TDX 1.0 (tee_tcb_svn[1] == 0): the module is the one of tdxModule
     * and all 16 TEE TCB SVN bytes are compared.  Later modules: bytes 0
     * and 1 (module SVN, major version) are graded by the module identity
     * "TDX_<major>" instead.
     */
    if (svn[1] == 0
        && (memcmp(q->mrsignerseam, ti->module_mrsigner, 48) != 0
            || !tdx_masked_eq(q->seam_attributes, ti->module_attributes_mask,
                              ti->module_attributes, 8)))
    {
        return ATTEST_ERR_TCB_MISMATCH;
    }

    from = svn[1] ? 2 : 0;

    for (i = 0; i < ti->nlevels; i++) {
        lv = &ti->levels[i];

        for (j = 0; j < 16; j++) {
            if (pck->cpusvn_comp[j] < lv->sgx[j]) {
                break;
            }
        }

        if (j < 16 || pck->pcesvn < lv->pcesvn) {
            continue;
        }

        for (j = from; j < 16; j++) {
            if (svn[j] < lv->tdx[j]) {
                break;
            }
        }

        if (j == 16) {
            break;
        }
    }

    if (i == ti->nlevels) {
        return ATTEST_ERR_TCB_NO_MATCH;
    }

    res->platform = ti->levels[i].status;
    res->tcb_date = ti->levels[i].tcb_date;

    if (svn[1] == 0) {
        return ATTEST_OK;
    }

    snprintf(id, sizeof(id), "TDX_%02X", svn[1]);

    for (i = 0; i < ti->nmodules; i++) {
        if (strcasecmp(ti->modules[i].id, id) == 0) {
            break;
        }
    }

    if (i == ti->nmodules) {
        return ATTEST_ERR_TCB_NO_MATCH;
    }

    md = &ti->modules[i];

    if (memcmp(q->mrsignerseam, md->mrsigner, 48) != 0
        || !tdx_masked_eq(q->seam_attributes, md->attributes_mask,
                          md->attributes, 8))
    {
        return ATTEST_ERR_TCB_MISMATCH;
    }

    for (i = 0; i < md->nlevels; i++) {
        if (md->levels[i].isvsvn <= svn[0]) {
            res->module = md->levels[i].status;
            return ATTEST_OK;
        }
    }

    return ATTEST_ERR_TCB_NO_MATCH;
}


static attest_err_t
tdx_eval_qe(const attest_tdx_quote_t *q, const attest_tdx_qe_identity_t *qi,
    attest_tdx_tcb_result_t *res)
{
    size_t          i;
    uint16_t        prodid, isvsvn;
    uint32_t        misc;
    const uint8_t  *r;

    r = q->qe_report;
    misc = r[ATTEST_TDX_QE_MISCSELECT] | r[ATTEST_TDX_QE_MISCSELECT + 1] << 8
           | r[ATTEST_TDX_QE_MISCSELECT + 2] << 16
           | (uint32_t) r[ATTEST_TDX_QE_MISCSELECT + 3] << 24;
    prodid = r[ATTEST_TDX_QE_ISVPRODID] | r[ATTEST_TDX_QE_ISVPRODID + 1] << 8;
    isvsvn = r[ATTEST_TDX_QE_ISVSVN] | r[ATTEST_TDX_QE_ISVSVN + 1] << 8;

    if ((misc & qi->miscselect_mask) != qi->miscselect
        || !tdx_masked_eq(r + ATTEST_TDX_QE_ATTRIBUTES, qi->attributes_mask,
                          qi->attributes, 16)
        || memcmp(r + ATTEST_TDX_QE_MRSIGNER, qi->mrsigner, 32) != 0
        || prodid != qi->isvprodid)
    {
        return ATTEST_ERR_TCB_MISMATCH;
    }

    for (i = 0; i < qi->nlevels; i++) {
        if (qi->levels[i].isvsvn <= isvsvn) {
            res->qe = qi->levels[i].status;
            return ATTEST_OK;
        }
    }

    return ATTEST_ERR_TCB_NO_MATCH;
}


attest_err_t
attest_tdx_evaluate(const attest_tdx_quote_t *q, const attest_tdx_pck_t *pck,
    const attest_tdx_tcb_info_t *ti, const attest_tdx_qe_identity_t *qi,
    attest_tdx_tcb_result_t *res)
{
    attest_err_t  rc, rq;

    memset(res, 0, sizeof(*res));

    rc = ATTEST_OK;
    rq = ATTEST_OK;

    if (ti != NULL) {
        rc = tdx_eval_platform(q, pck, ti, res);
    }

    if (qi != NULL) {
        rq = tdx_eval_qe(q, qi, res);
    }

    if (rc == ATTEST_OK) {
        rc = rq;
    }

    if (ti != NULL && res->platform != ATTEST_TDX_TCB_NONE) {
        res->overall = tdx_converge(tdx_converge(res->platform, res->module),
                                    res->qe);
    }

    if (rc == ATTEST_OK
        && (res->platform == ATTEST_TDX_TCB_REVOKED
            || res->module == ATTEST_TDX_TCB_REVOKED
            || res->qe == ATTEST_TDX_TCB_REVOKED))
    {
        rc = ATTEST_ERR_REVOKED;
    }

    return rc;
}
