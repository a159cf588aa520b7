/*
 * attest/: the verification policy (attest/POLICY.md), parsed from JSON and
 * evaluated on an attest_evidence_t only.  Unknown keys are errors, so that
 * a typo can never weaken a policy.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "attest_gpu.h"
#include "attest_int.h"
#include "attest_x509.h"


#define ATTEST_POLICY_MAX_LIST    1024
#define ATTEST_POLICY_MAX_STATUS  8
#define ATTEST_POLICY_MAX_FILE    (1024 * 1024)

#define ATTEST_PRODUCTS  4       /* index 0: every product */


typedef struct {
    int         set;
    size_t      n;
    uint8_t   (*v)[48];
} attest_list48_t;

struct attest_policy_s {
    unsigned           platforms;        /* bit per attest_platform_t */
    int                allow_debug;
    int                allow_simulated;
    int                have_sim_root;
    uint8_t            sim_root[32];
    long long          max_age;          /* -1: none */
    int                have_report_data;
    uint8_t            report_data[64];

    /* sev-snp (also applied to simulated evidence, but for products) */
    unsigned           products;         /* bit per product index; 0 any */
    attest_list48_t    measurements;
    int                min_tcb_set[ATTEST_PRODUCTS];
    attest_snp_tcb_t   min_tcb[ATTEST_PRODUCTS];
    long long          vmpl;             /* -1: any */
    long long          max_vmpl;         /* -1: any */

    /* tdx */
    attest_list48_t    mrtd;
    attest_list48_t    rtmr[4];
    int                tcb_status_set;
    size_t             ntcb_status;
    char               tcb_status[ATTEST_POLICY_MAX_STATUS]
                                 [ATTEST_TCB_STATUS_LEN];
    long long          out_of_date_grace;   /* -1: none */

    /* gpu */
    int                gpu_required;
    long long          gpu_count;           /* 0: no minimum */
    int                gpu_allow_switch;
    char               driver_min[32];      /* "": none */
    int                vbios_set;
    size_t             nvbios;
    char             (*vbios)[32];
    attest_list48_t    fwid;
};


static void attest_policy_init(attest_policy_t *pol);
static attest_err_t attest_policy_bad(char *msg, size_t n,
    const char *fmt, ...);
static attest_err_t attest_policy_keys(json_t *obj, const char *where,
    const char *const *known, char *msg, size_t n);
static attest_err_t attest_policy_list48(json_t *arr, const char *where,
    attest_list48_t *l, char *msg, size_t n);
static attest_err_t attest_policy_sim_root(attest_policy_t *pol,
    const char *v, const char *base_dir, char *msg, size_t n);
static attest_err_t attest_policy_tcb(json_t *obj, const char *where,
    attest_snp_tcb_t *tcb, char *msg, size_t n);
static attest_err_t attest_policy_snp(attest_policy_t *pol, json_t *obj,
    char *msg, size_t n);
static attest_err_t attest_policy_tdx(attest_policy_t *pol, json_t *obj,
    char *msg, size_t n);
static attest_err_t attest_policy_gpu(attest_policy_t *pol, json_t *obj,
    char *msg, size_t n);
static int attest_policy_in48(const attest_list48_t *l, const uint8_t *v);
static int attest_policy_status_ok(const attest_policy_t *pol,
    const char *status);


static const char  *attest_product_names[ATTEST_PRODUCTS] = {
    "", "Milan", "Genoa", "Turin"
};

/* Intel TDX DCAP: the TCB status values of TCB Info v3 */
static const char  *attest_tcb_statuses[] = {
    "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded", "OutOfDate",
    "OutOfDateConfigurationNeeded", "Revoked", NULL
};

static const char  *const attest_top_keys[] = {
    "comment", "platforms", "allow_debug", "allow_simulated",
    "simulated_root", "max_age", "report_data", "sev-snp", "tdx", "gpu",
    NULL
};

static const char  *const attest_snp_keys[] = {
    "products", "measurements", "min_tcb", "vmpl", "max_vmpl", NULL
};

static const char  *const attest_tcb_keys[] = {
    "bootloader", "tee", "snp", "microcode", "fmc", NULL
};

static const char  *const attest_tdx_keys[] = {
    "mrtd", "rtmr", "tcb_status", "out_of_date_grace", NULL
};

static const char  *const attest_rtmr_keys[] = {
    "0", "1", "2", "3", NULL
};

static const char  *const attest_gpu_keys[] = {
    "required", "count", "allow_switch", "driver_min", "vbios", "fwid", NULL
};


static void
attest_policy_init(attest_policy_t *pol)
{
    memset(pol, 0, sizeof(*pol));

    /* the built-in default: real platforms only, no debug */
    pol->platforms = 1u << ATTEST_PLATFORM_SEV_SNP | 1u << ATTEST_PLATFORM_TDX;
    pol->max_age = -1;
    pol->vmpl = -1;
    pol->max_vmpl = -1;
    pol->out_of_date_grace = -1;
    pol->gpu_allow_switch = 1;
}


static attest_err_t
attest_policy_bad(char *msg, size_t n, const char *fmt, ...)
{
    va_list  ap;

    if (msg != NULL && n > 0) {
        va_start(ap, fmt);
        vsnprintf(msg, n, fmt, ap);
        va_end(ap);
    }

    return ATTEST_ERR_POLICY;
}


static attest_err_t
attest_policy_keys(json_t *obj, const char *where, const char *const *known,
    char *msg, size_t n)
{
    size_t       i;
    json_t      *v;
    const char  *key;

    if (!json_is_object(obj)) {
        return attest_policy_bad(msg, n, "%s must be an object", where);
    }

    json_object_foreach(obj, key, v) {
        for (i = 0; known[i] != NULL; i++) {
            if (strcmp(key, known[i]) == 0) {
                break;
            }
        }

        if (known[i] == NULL) {
            return attest_policy_bad(msg, n, "unknown key \"%s\" in %s",
                                     key, where);
        }
    }

    return ATTEST_OK;
}


static attest_err_t
attest_policy_list48(json_t *arr, const char *where, attest_list48_t *l,
    char *msg, size_t n)
{
    size_t       i, len;
    json_t      *v;
    const char  *s;

    if (!json_is_array(arr) || json_array_size(arr) > ATTEST_POLICY_MAX_LIST)
    {
        return attest_policy_bad(msg, n, "%s must be an array of hex "
                                 "strings", where);
    }

    l->set = 1;
    l->n = json_array_size(arr);
    l->v = calloc(l->n ? l->n : 1, 48);

    if (l->v == NULL) {
        return ATTEST_ERR_NOMEM;
    }

    json_array_foreach(arr, i, v) {
        s = json_string_value(v);

        if (s == NULL
            || attest_unhex(s, json_string_length(v), l->v[i], 48, &len)
               != ATTEST_OK
            || len != 48)
        {
            return attest_policy_bad(msg, n, "%s[%zu] must be 96 hex digits",
                                     where, i);
        }
    }

    return ATTEST_OK;
}


static attest_err_t
attest_policy_sim_root(attest_policy_t *pol, const char *v,
    const char *base_dir, char *msg, size_t n)
{
    FILE          *f;
    X509          *x[ATTEST_X509_MAX_POOL];
    char           path[4096];
    size_t         len, nx;
    uint8_t       *buf;
    attest_err_t   rc;

    if (strncmp(v, "sha256:", 7) == 0) {
        if (attest_unhex(v + 7, strlen(v + 7), pol->sim_root, 32, &len)
            != ATTEST_OK || len != 32)
        {
            return attest_policy_bad(msg, n, "simulated_root \"sha256:\" "
                                     "needs 64 hex digits");
        }

        pol->have_sim_root = 1;
        return ATTEST_OK;
    }

    if (v[0] == '\0') {
        return attest_policy_bad(msg, n, "simulated_root is empty");
    }

    if (v[0] != '/' && base_dir != NULL) {
        snprintf(path, sizeof(path), "%s/%s", base_dir, v);
    } else {
        snprintf(path, sizeof(path), "%s", v);
    }

    f = fopen(path, "rb");
    if (f == NULL) {
        return attest_policy_bad(msg, n, "simulated_root %s: %s", path,
                                 strerror(errno));
    }

    buf = malloc(65536);
    len = buf ? fread(buf, 1, 65536, f) : 0;
    fclose(f);

    nx = 0;
    rc = ATTEST_ERR_POLICY;

    if (buf != NULL && len > 0 && len < 65536
        && attest_x509_load(buf, len, x, ATTEST_X509_MAX_POOL, &nx)
           == ATTEST_OK)
    {
        attest_x509_sha256(x[0], pol->sim_root);
        pol->have_sim_root = 1;
        rc = ATTEST_OK;
    }

    free(buf);
    attest_x509_free(x, nx);

    if (rc != ATTEST_OK) {
        return attest_policy_bad(msg, n, "simulated_root %s holds no "
                                 "certificate", path);
    }

    return ATTEST_OK;
}


static attest_err_t
attest_policy_tcb(json_t *obj, const char *where, attest_snp_tcb_t *tcb,
    char *msg, size_t n)
{
    size_t        i;
    json_t       *v;
    uint8_t      *field[5];
    json_int_t    x;
    attest_err_t  rc;

    rc = attest_policy_keys(obj, where, attest_tcb_keys, msg, n);
    if (rc != ATTEST_OK) {
        return rc;
    }

    field[0] = &tcb->bootloader;
    field[1] = &tcb->tee;
    field[2] = &tcb->snp;
    field[3] = &tcb->microcode;
    field[4] = &tcb->fmc;

    for (i = 0; i < 5; i++) {
        v = json_object_get(obj, attest_tcb_keys[i]);
        if (v == NULL) {
            continue;
        }

        x = json_is_integer(v) ? json_integer_value(v) : -1;

        if (x < 0 || x > 255) {
            return attest_policy_bad(msg, n, "%s.%s must be 0-255", where,
                                     attest_tcb_keys[i]);
        }

        *field[i] = (uint8_t) x;
    }

    return ATTEST_OK;
}


static attest_err_t
attest_policy_snp(attest_policy_t *pol, json_t *obj, char *msg, size_t n)
{
    int           per_product, per_component;
    char          where[64];
    size_t        i, k;
    json_t       *v, *x;
    json_int_t    vmpl;
    const char   *key, *s;
    attest_err_t  rc;

    rc = attest_policy_keys(obj, "sev-snp", attest_snp_keys, msg, n);
    if (rc != ATTEST_OK) {
        return rc;
    }

    v = json_object_get(obj, "products");
    if (v != NULL) {
        if (!json_is_array(v)) {
            return attest_policy_bad(msg, n, "sev-snp.products must be an "
                                     "array");
        }

        pol->products = 0;

        json_array_foreach(v, i, x) {
            s = json_string_value(x);

            for (k = 1; k < ATTEST_PRODUCTS; k++) {
                if (s != NULL && strcmp(s, attest_product_names[k]) == 0) {
                    break;
                }
            }

            if (k == ATTEST_PRODUCTS) {
                return attest_policy_bad(msg, n, "sev-snp.products[%zu] is "
                                         "not Milan, Genoa or Turin", i);
            }

            pol->products |= 1u << k;
        }

        /* an empty list must not mean "any" */
        if (pol->products == 0) {
            pol->products = 1u;
        }
    }

    v = json_object_get(obj, "measurements");
    if (v != NULL) {
        rc = attest_policy_list48(v, "sev-snp.measurements",
                                  &pol->measurements, msg, n);
        if (rc != ATTEST_OK) {
            return rc;
        }
    }

    v = json_object_get(obj, "min_tcb");
    if (v != NULL) {
        if (!json_is_object(v)) {
            return attest_policy_bad(msg, n, "sev-snp.min_tcb must be an "
                                     "object");
        }

        per_product = 0;
        per_component = 0;

        json_object_foreach(v, key, x) {
            for (k = 1; k < ATTEST_PRODUCTS; k++) {
                if (strcmp(key, attest_product_names[k]) == 0) {
                    break;
                }
            }

            if (k < ATTEST_PRODUCTS) {
                per_product = 1;
                snprintf(where, sizeof(where), "sev-snp.min_tcb.%s", key);

                rc = attest_policy_tcb(x, where, &pol->min_tcb[k], msg, n);
                if (rc != ATTEST_OK) {
                    return rc;
                }

                pol->min_tcb_set[k] = 1;

            } else {
                per_component = 1;
            }
        }

        if (per_product && per_component) {
            return attest_policy_bad(msg, n, "sev-snp.min_tcb mixes "
                                     "products and components");
        }

        if (!per_product) {
            rc = attest_policy_tcb(v, "sev-snp.min_tcb", &pol->min_tcb[0],
                                   msg, n);
            if (rc != ATTEST_OK) {
                return rc;
            }

            pol->min_tcb_set[0] = 1;
        }
    }

    if (json_object_get(obj, "vmpl") && json_object_get(obj, "max_vmpl")) {
        return attest_policy_bad(msg, n, "sev-snp: vmpl and max_vmpl "
                                 "exclude each other");
    }

    for (i = 0; i < 2; i++) {
        v = json_object_get(obj, i ? "max_vmpl" : "vmpl");
        if (v == NULL) {
            continue;
        }

        vmpl = json_is_integer(v) ? json_integer_value(v) : -1;

        if (vmpl < 0 || vmpl > 3) {
            return attest_policy_bad(msg, n, "sev-snp.%s must be 0-3",
                                     i ? "max_vmpl" : "vmpl");
        }

        if (i) {
            pol->max_vmpl = vmpl;
        } else {
            pol->vmpl = vmpl;
        }
    }

    return ATTEST_OK;
}


static attest_err_t
attest_policy_tdx(attest_policy_t *pol, json_t *obj, char *msg, size_t n)
{
    char          where[32];
    size_t        i, k;
    json_t       *v, *x;
    const char   *key, *s;
    attest_err_t  rc;

    rc = attest_policy_keys(obj, "tdx", attest_tdx_keys, msg, n);
    if (rc != ATTEST_OK) {
        return rc;
    }

    v = json_object_get(obj, "mrtd");
    if (v != NULL) {
        rc = attest_policy_list48(v, "tdx.mrtd", &pol->mrtd, msg, n);
        if (rc != ATTEST_OK) {
            return rc;
        }
    }

    v = json_object_get(obj, "rtmr");
    if (v != NULL) {
        rc = attest_policy_keys(v, "tdx.rtmr", attest_rtmr_keys, msg, n);
        if (rc != ATTEST_OK) {
            return rc;
        }

        json_object_foreach(v, key, x) {
            snprintf(where, sizeof(where), "tdx.rtmr.%s", key);

            rc = attest_policy_list48(x, where, &pol->rtmr[key[0] - '0'],
                                      msg, n);
            if (rc != ATTEST_OK) {
                return rc;
            }
        }
    }

    v = json_object_get(obj, "tcb_status");
    if (v != NULL) {
        if (!json_is_array(v)
            || json_array_size(v) > ATTEST_POLICY_MAX_STATUS)
        {
            return attest_policy_bad(msg, n, "tdx.tcb_status must be an "
                                     "array of TCB status names");
        }

        pol->tcb_status_set = 1;

        json_array_foreach(v, i, x) {
            s = json_string_value(x);

            for (k = 0; attest_tcb_statuses[k] != NULL; k++) {
                if (s != NULL && strcmp(s, attest_tcb_statuses[k]) == 0) {
                    break;
                }
            }

            if (attest_tcb_statuses[k] == NULL) {
                return attest_policy_bad(msg, n, "tdx.tcb_status[%zu] is "
                                         "not a TCB status name", i);
            }

            strcpy(pol->tcb_status[pol->ntcb_status++], s);
        }
    }

    v = json_object_get(obj, "out_of_date_grace");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            return attest_policy_bad(msg, n, "tdx.out_of_date_grace must be "
                                     "a number of seconds");
        }

        if (!pol->tcb_status_set) {
            return attest_policy_bad(msg, n, "tdx.out_of_date_grace needs "
                                     "tdx.tcb_status");
        }

        pol->out_of_date_grace = json_integer_value(v);
    }

    return ATTEST_OK;
}


/* the "gpu" object (POLICY.md) */
static attest_err_t
attest_policy_gpu(attest_policy_t *pol, json_t *obj, char *msg, size_t n)
{
    size_t        i;
    json_t       *v, *x;
    const char   *str;
    attest_err_t  rc;

    rc = attest_policy_keys(obj, "gpu", attest_gpu_keys, msg, n);
    if (rc != ATTEST_OK) {
        return rc;
    }

    for (i = 0; i < 2; i++) {
        v = json_object_get(obj, i ? "allow_switch" : "required");
        if (v == NULL) {
            continue;
        }

        if (!json_is_boolean(v)) {
            return attest_policy_bad(msg, n, "gpu.%s must be true or false",
                                     i ? "allow_switch" : "required");
        }

        if (i) {
            pol->gpu_allow_switch = json_is_true(v);
        } else {
            pol->gpu_required = json_is_true(v);
        }
    }

    v = json_object_get(obj, "count");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1
            || json_integer_value(v) > ATTEST_MAX_GPUS)
        {
            return attest_policy_bad(msg, n, "gpu.count must be 1-%d",
                                     ATTEST_MAX_GPUS);
        }

        pol->gpu_count = json_integer_value(v);
    }

    v = json_object_get(obj, "driver_min");
    if (v != NULL) {
        str = json_string_value(v);

        if (str == NULL || strlen(str) >= sizeof(pol->driver_min)
            || attest_gpu_version_cmp(str, str) != 0
            || attest_gpu_version_cmp(str, "x") <= 0)
        {
            return attest_policy_bad(msg, n, "gpu.driver_min must be a "
                                     "dotted version such as \"550.90.07\"");
        }

        strcpy(pol->driver_min, str);
    }

    v = json_object_get(obj, "vbios");
    if (v != NULL) {
        if (!json_is_array(v) || json_array_size(v) > ATTEST_POLICY_MAX_LIST)
        {
            return attest_policy_bad(msg, n, "gpu.vbios must be an array of "
                                     "versions");
        }

        pol->vbios_set = 1;
        pol->vbios = calloc(json_array_size(v) ? json_array_size(v) : 1, 32);

        if (pol->vbios == NULL) {
            return ATTEST_ERR_NOMEM;
        }

        json_array_foreach(v, i, x) {
            str = json_string_value(x);

            if (str == NULL || str[0] == '\0' || strlen(str) >= 32) {
                return attest_policy_bad(msg, n, "gpu.vbios[%zu] must be a "
                                         "version such as "
                                         "\"96.00.9F.00.01\"", i);
            }

            strcpy(pol->vbios[pol->nvbios++], str);
        }
    }

    v = json_object_get(obj, "fwid");
    if (v != NULL) {
        rc = attest_policy_list48(v, "gpu.fwid", &pol->fwid, msg, n);
        if (rc != ATTEST_OK) {
            return rc;
        }
    }

    return ATTEST_OK;
}


attest_err_t
attest_policy_parse(const uint8_t *p, size_t n, const char *base_dir,
    attest_policy_t **out, char *msg, size_t msg_len)
{
    size_t            i, len;
    json_t           *root, *v, *x;
    json_int_t        age;
    const char       *s;
    attest_err_t      rc;
    json_error_t      jerr;
    attest_policy_t  *pol;

    *out = NULL;

    if (msg != NULL && msg_len > 0) {
        msg[0] = '\0';
    }

    root = json_loadb((const char *) p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return attest_policy_bad(msg, msg_len, "JSON: %s (line %d)",
                                 jerr.text, jerr.line);
    }

    pol = malloc(sizeof(*pol));
    if (pol == NULL) {
        json_decref(root);
        return ATTEST_ERR_NOMEM;
    }

    attest_policy_init(pol);

    rc = attest_policy_keys(root, "the policy", attest_top_keys, msg,
                            msg_len);
    if (rc != ATTEST_OK) {
        goto failed;
    }

    v = json_object_get(root, "comment");
    if (v != NULL && !json_is_string(v)) {
        rc = attest_policy_bad(msg, msg_len, "comment must be a string");
        goto failed;
    }

    v = json_object_get(root, "platforms");
    if (v != NULL) {
        if (!json_is_array(v)) {
            rc = attest_policy_bad(msg, msg_len, "platforms must be an "
                                   "array");
            goto failed;
        }

        pol->platforms = 0;

        json_array_foreach(v, i, x) {
            s = json_string_value(x);

            if (s != NULL && strcmp(s, "sev-snp") == 0) {
                pol->platforms |= 1u << ATTEST_PLATFORM_SEV_SNP;

            } else if (s != NULL && strcmp(s, "tdx") == 0) {
                pol->platforms |= 1u << ATTEST_PLATFORM_TDX;

            } else {
                rc = attest_policy_bad(msg, msg_len, "platforms[%zu] is not "
                                       "\"sev-snp\" or \"tdx\" (simulated "
                                       "evidence has allow_simulated)", i);
                goto failed;
            }
        }
    }

    for (i = 0; i < 2; i++) {
        s = i ? "allow_simulated" : "allow_debug";
        v = json_object_get(root, s);

        if (v == NULL) {
            continue;
        }

        if (!json_is_boolean(v)) {
            rc = attest_policy_bad(msg, msg_len, "%s must be true or false",
                                   s);
            goto failed;
        }

        if (i) {
            pol->allow_simulated = json_is_true(v);
        } else {
            pol->allow_debug = json_is_true(v);
        }
    }

    v = json_object_get(root, "simulated_root");
    if (v != NULL) {
        if (!json_is_string(v)) {
            rc = attest_policy_bad(msg, msg_len, "simulated_root must be a "
                                   "path or \"sha256:HEX\"");
            goto failed;
        }

        rc = attest_policy_sim_root(pol, json_string_value(v), base_dir, msg,
                                    msg_len);
        if (rc != ATTEST_OK) {
            goto failed;
        }
    }

    if (pol->allow_simulated && !pol->have_sim_root) {
        rc = attest_policy_bad(msg, msg_len, "allow_simulated needs "
                               "simulated_root");
        goto failed;
    }

    v = json_object_get(root, "max_age");
    if (v != NULL) {
        age = json_is_integer(v) ? json_integer_value(v) : 0;

        if (age <= 0) {
            rc = attest_policy_bad(msg, msg_len, "max_age must be a positive "
                                   "number of seconds");
            goto failed;
        }

        pol->max_age = age;
    }

    v = json_object_get(root, "report_data");
    if (v != NULL) {
        s = json_string_value(v);

        if (s == NULL
            || attest_unhex(s, json_string_length(v), pol->report_data, 64,
                            &len) != ATTEST_OK)
        {
            rc = attest_policy_bad(msg, msg_len, "report_data must be at "
                                   "most 128 hex digits");
            goto failed;
        }

        pol->have_report_data = 1;
    }

    v = json_object_get(root, "sev-snp");
    if (v != NULL) {
        rc = attest_policy_snp(pol, v, msg, msg_len);
        if (rc != ATTEST_OK) {
            goto failed;
        }
    }

    v = json_object_get(root, "tdx");
    if (v != NULL) {
        rc = attest_policy_tdx(pol, v, msg, msg_len);
        if (rc != ATTEST_OK) {
            goto failed;
        }
    }

    v = json_object_get(root, "gpu");
    if (v != NULL) {
        rc = attest_policy_gpu(pol, v, msg, msg_len);
        if (rc != ATTEST_OK) {
            goto failed;
        }
    }

    json_decref(root);
    *out = pol;
    return ATTEST_OK;

failed:

    json_decref(root);
    attest_policy_free(pol);
    return rc;
}


attest_err_t
attest_policy_load(const char *path, attest_policy_t **pol, char *msg,
    size_t msg_len)
{
    FILE          *f;
    char           dir[4096], *slash;
    size_t         n;
    uint8_t       *buf;
    attest_err_t   rc;

    *pol = NULL;

    f = fopen(path, "rb");
    if (f == NULL) {
        return attest_policy_bad(msg, msg_len, "%s: %s", path,
                                 strerror(errno));
    }

    buf = malloc(ATTEST_POLICY_MAX_FILE);
    if (buf == NULL) {
        fclose(f);
        return ATTEST_ERR_NOMEM;
    }

    n = fread(buf, 1, ATTEST_POLICY_MAX_FILE, f);
    fclose(f);

    if (n == ATTEST_POLICY_MAX_FILE) {
        free(buf);
        return attest_policy_bad(msg, msg_len, "%s: too large", path);
    }

    /* a relative simulated_root is relative to the policy file */
    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');

    if (slash != NULL) {
        *slash = '\0';
    } else {
        strcpy(dir, ".");
    }

    rc = attest_policy_parse(buf, n, dir[0] ? dir : "/", pol, msg, msg_len);
    free(buf);

    if (rc == ATTEST_ERR_POLICY && msg != NULL && msg_len > 0) {
        /* name the file in the message */
        n = strlen(msg);
        if (n + strlen(path) + 3 < msg_len) {
            memmove(msg + strlen(path) + 2, msg, n + 1);
            memcpy(msg, path, strlen(path));
            memcpy(msg + strlen(path), ": ", 2);
        }
    }

    return rc;
}


void
attest_policy_free(attest_policy_t *pol)
{
    size_t  i;

    if (pol == NULL) {
        return;
    }

    free(pol->measurements.v);
    free(pol->mrtd.v);
    free(pol->fwid.v);
    free(pol->vbios);

    for (i = 0; i < 4; i++) {
        free(pol->rtmr[i].v);
    }

    free(pol);
}


int
attest_policy_simulated(const attest_policy_t *pol, const uint8_t **sim_root)
{
    if (pol == NULL || !pol->allow_simulated || !pol->have_sim_root) {
        return 0;
    }

    *sim_root = pol->sim_root;
    return 1;
}


long long
attest_policy_max_age(const attest_policy_t *pol)
{
    return pol ? pol->max_age : -1;
}


static int
attest_policy_in48(const attest_list48_t *l, const uint8_t *v)
{
    size_t  i;

    if (!l->set) {
        return 1;
    }

    for (i = 0; i < l->n; i++) {
        if (memcmp(l->v[i], v, 48) == 0) {
            return 1;
        }
    }

    return 0;
}


attest_err_t
attest_policy_check(const attest_policy_t *pol, const attest_evidence_t *ev,
    char *detail, size_t dn)
{
    size_t                   i, k;
    const char              *s;
    attest_policy_t          def;
    const attest_snp_tcb_t  *min, *got;

    if (pol == NULL) {
        attest_policy_init(&def);
        pol = &def;
    }

    switch (ev->platform) {

    case ATTEST_PLATFORM_SIMULATED:
        if (!pol->allow_simulated) {
            attest_policy_bad(detail, dn, "the policy does not allow "
                              "simulated evidence");
            return ATTEST_ERR_POLICY_SIMULATED;
        }
        break;

    case ATTEST_PLATFORM_SEV_SNP:
    case ATTEST_PLATFORM_TDX:
        if (!(pol->platforms & (1u << ev->platform))) {
            attest_policy_bad(detail, dn, "platform %s",
                              attest_platform_name(ev->platform));
            return ATTEST_ERR_POLICY_PLATFORM;
        }
        break;

    default:
        attest_policy_bad(detail, dn, "no platform");
        return ATTEST_ERR_POLICY_PLATFORM;
    }

    if (ev->debug && !pol->allow_debug) {
        attest_policy_bad(detail, dn, "the evidence comes from a debug "
                          "guest");
        return ATTEST_ERR_POLICY_DEBUG;
    }

    if (ev->platform == ATTEST_PLATFORM_SEV_SNP
        || ev->platform == ATTEST_PLATFORM_SIMULATED)
    {
        k = 0;

        for (i = 1; i < ATTEST_PRODUCTS; i++) {
            if (strcmp(ev->product, attest_product_names[i]) == 0) {
                k = i;
            }
        }

        if (ev->platform == ATTEST_PLATFORM_SEV_SNP && pol->products
            && !(pol->products & (1u << k)))
        {
            attest_policy_bad(detail, dn, "product %s", ev->product);
            return ATTEST_ERR_POLICY_PRODUCT;
        }

        if (!attest_policy_in48(&pol->measurements, ev->measurement)) {
            attest_policy_bad(detail, dn, "measurement not in the policy");
            return ATTEST_ERR_POLICY_MEASUREMENT;
        }

        if ((pol->vmpl >= 0 && ev->vmpl != pol->vmpl)
            || (pol->max_vmpl >= 0 && ev->vmpl > pol->max_vmpl))
        {
            attest_policy_bad(detail, dn, "VMPL %u", ev->vmpl);
            return ATTEST_ERR_POLICY_VMPL;
        }

        min = pol->min_tcb_set[k] ? &pol->min_tcb[k]
              : pol->min_tcb_set[0] ? &pol->min_tcb[0] : NULL;
        got = &ev->reported_tcb;

        if (min != NULL
            && (got->bootloader < min->bootloader || got->tee < min->tee
                || got->snp < min->snp || got->microcode < min->microcode
                || got->fmc < min->fmc))
        {
            attest_policy_bad(detail, dn, "TCB bl%u tee%u snp%u ucode%u "
                              "fmc%u is below the minimum", got->bootloader,
                              got->tee, got->snp, got->microcode, got->fmc);
            return ATTEST_ERR_POLICY_TCB;
        }
    }

    if (ev->platform == ATTEST_PLATFORM_TDX) {
        if (!attest_policy_in48(&pol->mrtd, ev->measurement)) {
            attest_policy_bad(detail, dn, "MRTD not in the policy");
            return ATTEST_ERR_POLICY_MEASUREMENT;
        }

        for (i = 0; i < 4; i++) {
            if (!attest_policy_in48(&pol->rtmr[i], ev->rtmr[i])) {
                attest_policy_bad(detail, dn, "RTMR%zu not in the policy", i);
                return ATTEST_ERR_POLICY_MEASUREMENT;
            }
        }

        if (pol->tcb_status_set
            && !attest_policy_status_ok(pol, ev->tcb_status))
        {
            /* within the grace period after the TCB recovery that
             * outdated it, OutOfDate counts as UpToDate and
             * OutOfDateConfigurationNeeded as ConfigurationNeeded */
            s = strcmp(ev->tcb_status, "OutOfDate") == 0 ? "UpToDate"
                : strcmp(ev->tcb_status, "OutOfDateConfigurationNeeded")
                  == 0 ? "ConfigurationNeeded" : NULL;

            if (s == NULL || pol->out_of_date_grace < 0
                || ev->tcb_recovery_date == 0
                || ev->checked_at > ev->tcb_recovery_date
                                    + pol->out_of_date_grace
                || !attest_policy_status_ok(pol, s))
            {
                attest_policy_bad(detail, dn, "TCB status \"%.40s\"%s",
                                  ev->tcb_status,
                                  s != NULL && pol->out_of_date_grace >= 0
                                  ? " past its grace period" : "");
                return ATTEST_ERR_POLICY_TCB_STATUS;
            }
        }
    }

    if (pol->have_report_data
        && memcmp(ev->report_data, pol->report_data, 64) != 0)
    {
        attest_policy_bad(detail, dn, "report_data is not the policy's");
        return ATTEST_ERR_BINDING;
    }

    return attest_policy_check_gpu(pol == &def ? NULL : pol, ev, detail,
                                   dn);
}


static int
attest_policy_status_ok(const attest_policy_t *pol, const char *status)
{
    size_t  i;

    for (i = 0; i < pol->ntcb_status; i++) {
        if (strcmp(status, pol->tcb_status[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


attest_err_t
attest_policy_check_gpu(const attest_policy_t *pol,
    const attest_evidence_t *ev, char *detail, size_t dn)
{
    size_t                     i, k, ngpus, nswitches;
    attest_policy_t            def;
    const attest_gpu_facts_t  *g;

    if (pol == NULL) {
        attest_policy_init(&def);
        pol = &def;
    }

    ngpus = 0;
    nswitches = 0;

    for (i = 0; i < ev->ngpu && i < ATTEST_MAX_GPUS; i++) {
        g = &ev->gpu[i];

        if (g->simulated && !pol->allow_simulated) {
            attest_policy_bad(detail, dn, "GPU %zu is simulated", i + 1);
            return ATTEST_ERR_POLICY_SIMULATED;
        }

        if (g->kind == ATTEST_GPU_GPU) {
            ngpus++;
        } else if (g->kind == ATTEST_GPU_SWITCH) {
            nswitches++;
        }
    }

    if ((pol->gpu_required || pol->gpu_count > 0) && ngpus == 0) {
        attest_policy_bad(detail, dn, "the policy requires GPU evidence");
        return ATTEST_ERR_POLICY_GPU;
    }

    if ((long long) ngpus < pol->gpu_count) {
        attest_policy_bad(detail, dn, "%zu GPUs, the policy wants %lld",
                          ngpus, pol->gpu_count);
        return ATTEST_ERR_POLICY_GPU_COUNT;
    }

    if (nswitches > 0 && !pol->gpu_allow_switch) {
        attest_policy_bad(detail, dn, "NVSwitch evidence");
        return ATTEST_ERR_POLICY_GPU_SWITCH;
    }

    for (i = 0; i < ev->ngpu && i < ATTEST_MAX_GPUS; i++) {
        g = &ev->gpu[i];

        if (g->kind == ATTEST_GPU_GPU && pol->driver_min[0] != '\0'
            && attest_gpu_version_cmp(g->driver, pol->driver_min) < 0)
        {
            attest_policy_bad(detail, dn, "GPU %zu driver \"%s\" is below "
                              "%s", i + 1, g->driver, pol->driver_min);
            return ATTEST_ERR_POLICY_GPU_DRIVER;
        }

        if (pol->vbios_set) {
            for (k = 0; k < pol->nvbios; k++) {
                if (strcasecmp(g->vbios, pol->vbios[k]) == 0) {
                    break;
                }
            }

            if (k == pol->nvbios) {
                attest_policy_bad(detail, dn, "GPU %zu VBIOS \"%s\" is not "
                                  "in the policy", i + 1, g->vbios);
                return ATTEST_ERR_POLICY_GPU_FIRMWARE;
            }
        }

        if (pol->fwid.set
            && (!g->has_fwid || !attest_policy_in48(&pol->fwid, g->fwid)))
        {
            attest_policy_bad(detail, dn, "GPU %zu FWID is not in the "
                              "policy", i + 1);
            return ATTEST_ERR_POLICY_GPU_FIRMWARE;
        }
    }

    return ATTEST_OK;
}
