/*
 * confer-attest: verify, inspect and simulate TEE attestation evidence.
 *
 *   confer-attest verify sev-snp REPORT [--cert FILE]... [--crl FILE]
 *                                [--policy FILE] [--now TIME]
 *                                [--report-data HEX]
 *   confer-attest verify tdx QUOTE [--collateral FILE]... [--policy FILE]
 *                                [--now TIME] [--report-data HEX]
 *   confer-attest verify gpu REPORT|EVIDENCE.json [--certs CHAIN]
 *                                --nonce HEX [--policy FILE] [--now TIME]
 *   confer-attest verify doc DOCUMENT.json [--policy FILE] [--now TIME]
 *   confer-attest inspect sev-snp|tdx|gpu|doc FILE
 *   confer-attest simulate init DIR
 *   confer-attest simulate doc DIR --keys OHTTP_KEYS_FILE
 *                                [--gpu EVIDENCE.json | --gpus N]
 *                                [--lifetime SECONDS] [--now TIME]
 *   confer-attest simulate gpu DIR --nonce HEX [--gpus N]
 *
 * A GPU REPORT is NVIDIA's report (request and response) as hex text or
 * binary, CHAIN its PEM chain; an NVIDIA evidence JSON file (a list of
 * {arch, certificate, evidence, nonce}) carries both for every device.
 *
 * inspect doc prints an attestation document as parsed, its evidence,
 * certificates, collateral and GPU reports, with nothing verified (the
 * output says "verified": false); verify doc is what proves them.
 *
 * verify prints one JSON object on a line; exit 0 accepted, 1 rejected,
 * 2 usage or input error (unreadable file, bad policy, not built in).
 * Without --policy the built-in default applies: real platforms only,
 * no debug.  TIME is unix seconds or RFC 3339 ("2025-06-01",
 * "2025-06-01T12:00:00Z", "...+02:00").
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "confer_keyconfig.h"

#include "attest.h"
#include "attest_gpu.h"
#include "attest_int.h"
#include "attest_snp.h"
#include "attest_x509.h"

#if defined(__has_include)
#if __has_include("attest_tdx.h")
#include "attest_tdx.h"
#define ATTEST_HAVE_TDX  1
#endif
#endif


#define CLI_MAX_FILES  16
#define CLI_MAX_FILE   (4 * 1024 * 1024)

#define CLI_OK        0
#define CLI_REJECTED  1
#define CLI_USAGE     2


typedef struct {
    const char   *files[CLI_MAX_FILES];
    size_t        nfiles;
    const char   *policy;
    const char   *report_data;
    const char   *keys;
    const char   *certs;                 /* verify gpu: the PEM chain */
    const char   *crl;                   /* verify sev-snp: the ARK's */
    const char   *gpu;                   /* simulate doc: evidence JSON */
    uint8_t       nonce[32];
    int           have_nonce;
    long          gpus;
    time_t        now;
    long long     lifetime;
} cli_opts_t;


static int usage(const char *why);
static int input_error(const char *fmt, const char *arg);
static uint8_t *slurp(const char *path, size_t *n);
static int parse_time(const char *s, time_t *t);
static int parse_opts(int argc, char **argv, int first, cli_opts_t *o,
    const char *allowed);
static json_t *hex_json(const uint8_t *p, size_t n);
static char *time_text(time_t t, char *buf, size_t n);
static json_t *evidence_json(const attest_evidence_t *ev, int proven);
static int print_result(json_t *obj, attest_err_t rc, const char *detail);
static int cmd_verify_snp(const char *path, cli_opts_t *o);
static int cmd_verify_tdx(const char *path, cli_opts_t *o);
static int cmd_verify_doc(const char *path, cli_opts_t *o);
static int cmd_inspect_snp(const char *path);
static json_t *snp_report_json(const attest_snp_report_t *r);
static int cmd_inspect_doc(const char *path);
static json_t *doc_certs_json(const attest_blob_t *certs, size_t n);
static json_t *doc_crl_json(const attest_blob_t *b);
static json_t *doc_collateral_json(const attest_doc_parsed_t *d);
static json_t *doc_gpu_json(const attest_doc_parsed_t *d,
    const uint8_t nonce[32]);
static int cmd_inspect_tdx(const char *path);
static int cmd_verify_gpu(const char *path, cli_opts_t *o);
static int cmd_inspect_gpu(const char *path);
static int cmd_simulate_gpu(const char *dir, cli_opts_t *o);
static uint8_t *gpu_report_bytes(uint8_t *p, size_t *n);
static int is_json_list(const uint8_t *p, size_t n);
static json_t *gpu_facts_json(const attest_gpu_facts_t *f,
    const uint8_t *report, size_t n);
static json_t *gpu_rejected_json(void);
static int cmd_simulate_doc(const char *dir, cli_opts_t *o);
static int load_policy(cli_opts_t *o, attest_policy_t **pol);
static int run(int argc, char **argv);


static const char  *usage_text =
    "usage: confer-attest verify sev-snp REPORT [--cert FILE]... "
    "[--crl FILE] [--policy FILE] [--now TIME] [--report-data HEX]\n"
    "       confer-attest verify tdx QUOTE [--collateral FILE]... "
    "[--policy FILE] [--now TIME] [--report-data HEX]\n"
    "       confer-attest verify gpu REPORT|EVIDENCE.json [--certs CHAIN] "
    "--nonce HEX [--policy FILE] [--now TIME]\n"
    "       confer-attest verify doc DOCUMENT.json [--policy FILE] "
    "[--now TIME]\n"
    "       confer-attest inspect sev-snp|tdx|gpu|doc FILE\n"
    "       confer-attest simulate init DIR\n"
    "       confer-attest simulate doc DIR --keys OHTTP_KEYS_FILE "
    "[--gpu EVIDENCE.json | --gpus N] [--lifetime SECONDS] [--now TIME]\n"
    "       confer-attest simulate gpu DIR --nonce HEX [--gpus N]\n";


static int
usage(const char *why)
{
    if (why != NULL) {
        fprintf(stderr, "confer-attest: %s\n", why);
    }

    fputs(usage_text, stderr);
    return CLI_USAGE;
}


static int
input_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "confer-attest: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return CLI_USAGE;
}


static uint8_t *
slurp(const char *path, size_t *n)
{
    FILE     *f;
    size_t    len;
    uint8_t  *p;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    p = malloc(CLI_MAX_FILE);
    len = p ? fread(p, 1, CLI_MAX_FILE, f) : 0;
    fclose(f);

    if (p == NULL || len == CLI_MAX_FILE) {
        free(p);
        errno = EFBIG;
        return NULL;
    }

    *n = len;
    return p;
}


/* unix seconds, or RFC 3339 section 5.6 (date alone means midnight UTC) */
static int
parse_time(const char *s, time_t *t)
{
    int         n, off, oh, om;
    char       *end;
    char        sign;
    struct tm   tm;
    long long   v;

    if (s[0] >= '0' && s[0] <= '9' && strchr(s, '-') == NULL) {
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < 0) {
            return -1;
        }
        *t = (time_t) v;
        return 0;
    }

    memset(&tm, 0, sizeof(tm));
    n = 0;

    if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n)
        != 3 || n != 10)
    {
        return -1;
    }

    s += n;
    off = 0;

    if (*s == 'T' || *s == 't' || *s == ' ') {
        n = 0;
        if (sscanf(s + 1, "%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min,
                   &tm.tm_sec, &n) != 3 || n != 8)
        {
            return -1;
        }

        s += 1 + n;

        if (*s == '.') {
            s++;
            while (*s >= '0' && *s <= '9') {
                s++;
            }
        }

        if (*s == 'Z' || *s == 'z') {
            s++;

        } else if (*s == '+' || *s == '-') {
            sign = *s;
            n = 0;
            if (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5) {
                return -1;
            }
            off = (oh * 60 + om) * 60 * (sign == '-' ? -1 : 1);
            s += 1 + n;

        } else {
            return -1;
        }
    }

    if (*s != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1
        || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59
        || tm.tm_sec > 60)
    {
        return -1;
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    *t = timegm(&tm) - off;
    return 0;
}


/* allowed: the options this command takes, as "cpnrkl" letters */
static int
parse_opts(int argc, char **argv, int first, cli_opts_t *o,
    const char *allowed)
{
    int          i;
    char        *end;
    size_t       len;
    uint8_t      buf[64];
    const char  *a, *v;

    memset(o, 0, sizeof(*o));
    o->now = time(NULL);
    o->lifetime = 3600;

    for (i = first; i < argc; i++) {
        a = argv[i];

        if (i + 1 >= argc) {
            return usage("an option lacks its value");
        }

        v = argv[++i];

        if ((strcmp(a, "--cert") == 0 && strchr(allowed, 'c'))
            || (strcmp(a, "--collateral") == 0 && strchr(allowed, 'C')))
        {
            if (o->nfiles == CLI_MAX_FILES) {
                return usage("too many files");
            }
            o->files[o->nfiles++] = v;

        } else if (strcmp(a, "--policy") == 0 && strchr(allowed, 'p')) {
            o->policy = v;

        } else if (strcmp(a, "--now") == 0 && strchr(allowed, 'n')) {
            if (parse_time(v, &o->now) != 0) {
                return usage("--now takes unix seconds or RFC 3339");
            }

        } else if (strcmp(a, "--report-data") == 0 && strchr(allowed, 'r')) {
            if (attest_unhex(v, strlen(v), buf, sizeof(buf), &len)
                != ATTEST_OK)
            {
                return usage("--report-data takes at most 128 hex digits");
            }
            o->report_data = v;

        } else if (strcmp(a, "--keys") == 0 && strchr(allowed, 'k')) {
            o->keys = v;

        } else if (strcmp(a, "--certs") == 0 && strchr(allowed, 'g')) {
            o->certs = v;

        } else if (strcmp(a, "--crl") == 0 && strchr(allowed, 'x')) {
            o->crl = v;

        } else if (strcmp(a, "--gpu") == 0 && strchr(allowed, 'G')) {
            o->gpu = v;

        } else if (strcmp(a, "--nonce") == 0 && strchr(allowed, 'N')) {
            if (attest_unhex(v, strlen(v), o->nonce, sizeof(o->nonce), &len)
                != ATTEST_OK || len != 32)
            {
                return usage("--nonce takes 64 hex digits");
            }
            o->have_nonce = 1;

        } else if (strcmp(a, "--gpus") == 0 && strchr(allowed, 'u')) {
            o->gpus = strtol(v, &end, 10);
            if (*end != '\0' || o->gpus < 1 || o->gpus > ATTEST_MAX_GPUS) {
                return usage("--gpus takes 1 to 16");
            }

        } else if (strcmp(a, "--lifetime") == 0 && strchr(allowed, 'l')) {
            o->lifetime = strtoll(v, &end, 10);
            if (*end != '\0' || o->lifetime <= 0) {
                return usage("--lifetime takes a positive number of "
                             "seconds");
            }

        } else {
            fprintf(stderr, "confer-attest: unknown option %s\n", a);
            return usage(NULL);
        }
    }

    return CLI_OK;
}


static json_t *
hex_json(const uint8_t *p, size_t n)
{
    char    *buf;
    json_t  *j;

    buf = malloc(2 * n + 1);
    if (buf == NULL) {
        return json_null();
    }

    attest_hex(p, n, buf);
    j = json_string(buf);
    free(buf);
    return j;
}


static char *
time_text(time_t t, char *buf, size_t n)
{
    struct tm  tm;

    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}


static json_t *
tcb_json(const attest_snp_tcb_t *t)
{
    return json_pack("{s:i,s:i,s:i,s:i,s:i}", "bootloader", t->bootloader,
                     "tee", t->tee, "snp", t->snp, "microcode", t->microcode,
                     "fmc", t->fmc);
}


/* the facts; null where nothing was proven */
static json_t *
evidence_json(const attest_evidence_t *ev, int proven)
{
    int      i, snp;
    char     buf[64];
    json_t  *o, *r;

    o = json_object();

    json_object_set_new(o, "ok", json_false());
    json_object_set_new(o, "platform",
                        proven ? json_string(attest_platform_name(ev->platform))
                               : json_null());

    if (!proven) {
        json_object_set_new(o, "version", json_null());
        json_object_set_new(o, "product", json_null());
        json_object_set_new(o, "measurement", json_null());
        json_object_set_new(o, "report_data", json_null());
        json_object_set_new(o, "debug", json_null());
        json_object_set_new(o, "tcb", json_null());
        return o;
    }

    snp = ev->platform != ATTEST_PLATFORM_TDX;

    json_object_set_new(o, "version", json_integer(ev->version));
    json_object_set_new(o, "product", json_string(ev->product));
    json_object_set_new(o, "measurement", hex_json(ev->measurement, 48));
    json_object_set_new(o, "report_data", hex_json(ev->report_data, 64));
    json_object_set_new(o, "debug", json_boolean(ev->debug));

    if (snp) {
        json_object_set_new(o, "tcb", tcb_json(&ev->reported_tcb));
        json_object_set_new(o, "vmpl", json_integer(ev->vmpl));
        snprintf(buf, sizeof(buf), "0x%llx",
                 (unsigned long long) ev->guest_policy);
        json_object_set_new(o, "guest_policy", json_string(buf));
        json_object_set_new(o, "signing_key",
                            json_string(ev->signing_key ? "vlek" : "vcek"));
        json_object_set_new(o, "chip_id", hex_json(ev->chip_id, 64));

    } else {
        json_object_set_new(o, "tcb",
                            json_pack("{s:s,s:s,s:o}",
                                      "tcb_status", ev->tcb_status,
                                      "qe_tcb_status", ev->qe_tcb_status,
                                      "tee_tcb_svn",
                                      hex_json(ev->tee_tcb_svn, 16)));
        json_object_set_new(o, "mrseam", hex_json(ev->mrseam, 48));
        r = json_array();
        for (i = 0; i < 4; i++) {
            json_array_append_new(r, hex_json(ev->rtmr[i], 48));
        }
        json_object_set_new(o, "rtmr", r);
        json_object_set_new(o, "fmspc", hex_json(ev->fmspc, 6));
    }

    if (ev->chain_not_after > 0) {
        json_object_set_new(o, "chain_not_after",
                            json_string(time_text(ev->chain_not_after, buf,
                                                  sizeof(buf))));
    }

    if (ev->collateral_not_after > 0) {
        json_object_set_new(o, "collateral_not_after",
                            json_string(time_text(ev->collateral_not_after,
                                                  buf, sizeof(buf))));
    }

    /* when an OutOfDate platform's grace period starts */
    if (ev->tcb_recovery_date > 0) {
        json_object_set_new(o, "tcb_recovery_date",
                            json_string(time_text(ev->tcb_recovery_date,
                                                  buf, sizeof(buf))));
    }

    if (ev->ngpu > 0) {
        r = json_array();
        for (i = 0; i < (int) ev->ngpu; i++) {
            json_array_append_new(r, gpu_facts_json(&ev->gpu[i], NULL, 0));
        }
        json_object_set_new(o, "gpus", r);
    }

    return o;
}


static int
print_result(json_t *obj, attest_err_t rc, const char *detail)
{
    json_object_set_new(obj, "ok", json_boolean(rc == ATTEST_OK));

    if (rc != ATTEST_OK) {
        json_object_set_new(obj, "error", json_string(attest_strerror(rc)));
    }

    if (detail != NULL && detail[0] != '\0') {
        json_object_set_new(obj, "detail", json_string(detail));
    }

    json_dumpf(obj, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(obj);

    if (rc == ATTEST_OK) {
        return CLI_OK;
    }

    return rc == ATTEST_ERR_UNSUPPORTED ? CLI_USAGE : CLI_REJECTED;
}


static int
load_policy(cli_opts_t *o, attest_policy_t **pol)
{
    char          msg[512];
    attest_err_t  rc;

    *pol = NULL;

    if (o->policy == NULL) {
        return CLI_OK;
    }

    rc = attest_policy_load(o->policy, pol, msg, sizeof(msg));
    if (rc != ATTEST_OK) {
        fprintf(stderr, "confer-attest: %s: %s\n", attest_strerror(rc), msg);
        printf("{\"ok\":false,\"error\":\"%s\"}\n", attest_strerror(rc));
        return CLI_USAGE;
    }

    return CLI_OK;
}


/* the expected report_data, checked before the policy */
static attest_err_t
check_report_data(cli_opts_t *o, const attest_evidence_t *ev, char *detail,
    size_t dn)
{
    size_t   len;
    uint8_t  want[64];

    if (o->report_data == NULL) {
        return ATTEST_OK;
    }

    if (attest_unhex(o->report_data, strlen(o->report_data), want, 64,
                        &len) == ATTEST_OK
        && memcmp(want, ev->report_data, 64) == 0)
    {
        return ATTEST_OK;
    }

    snprintf(detail, dn, "report_data is not --report-data");
    return ATTEST_ERR_BINDING;
}


static int
cmd_verify_snp(const char *path, cli_opts_t *o)
{
    int                 ret;
    char                detail[256];
    size_t              i, n;
    uint8_t            *report, *files[CLI_MAX_FILES];
    attest_err_t        rc;
    attest_blob_t       certs[CLI_MAX_FILES], crl;
    attest_policy_t    *pol;
    attest_evidence_t   ev;

    ret = load_policy(o, &pol);
    if (ret != CLI_OK) {
        return ret;
    }

    report = slurp(path, &n);
    if (report == NULL) {
        attest_policy_free(pol);
        return input_error("%s: cannot read", path);
    }

    for (i = 0; i < o->nfiles; i++) {
        files[i] = slurp(o->files[i], &certs[i].n);
        certs[i].p = files[i];

        if (files[i] == NULL) {
            input_error("%s: cannot read", o->files[i]);
            while (i-- > 0) {
                free(files[i]);
            }
            free(report);
            attest_policy_free(pol);
            return CLI_USAGE;
        }
    }

    crl.p = NULL;
    crl.n = 0;

    if (o->crl != NULL) {
        crl.p = slurp(o->crl, &crl.n);

        if (crl.p == NULL) {
            input_error("%s: cannot read", o->crl);
            for (i = 0; i < o->nfiles; i++) {
                free(files[i]);
            }
            free(report);
            attest_policy_free(pol);
            return CLI_USAGE;
        }
    }

    detail[0] = '\0';

    rc = attest_snp_verify_crl(report, n, certs, o->nfiles, &crl, NULL,
                               o->now, &ev, detail, sizeof(detail));

    if (rc == ATTEST_OK) {
        rc = check_report_data(o, &ev, detail, sizeof(detail));
    }

    if (rc == ATTEST_OK) {
        rc = attest_policy_check(pol, &ev, detail, sizeof(detail));
    }

    ret = print_result(evidence_json(&ev, ev.platform != ATTEST_PLATFORM_NONE),
                       rc, detail);

    for (i = 0; i < o->nfiles; i++) {
        free(files[i]);
    }

    free((uint8_t *) crl.p);
    free(report);
    attest_policy_free(pol);
    return ret;
}


static int
cmd_verify_tdx(const char *path, cli_opts_t *o)
{
#ifdef ATTEST_HAVE_TDX
    /* --collateral files in the order of attest_tdx_collateral_t */
    int                       ret;
    char                      detail[256];
    size_t                    i, n, len[5];
    uint8_t                  *quote, *files[5];
    attest_err_t              rc;
    attest_policy_t          *pol;
    attest_evidence_t         ev;
    attest_tdx_collateral_t   col;

    if (o->nfiles > 5) {
        return usage("at most five --collateral files");
    }

    ret = load_policy(o, &pol);
    if (ret != CLI_OK) {
        return ret;
    }

    quote = slurp(path, &n);
    if (quote == NULL) {
        attest_policy_free(pol);
        return input_error("%s: cannot read", path);
    }

    memset(files, 0, sizeof(files));
    memset(len, 0, sizeof(len));

    for (i = 0; i < o->nfiles; i++) {
        files[i] = slurp(o->files[i], &len[i]);
        if (files[i] == NULL) {
            return input_error("%s: cannot read", o->files[i]);
        }
    }

    col.tcb_info = files[0];
    col.tcb_info_len = len[0];
    col.qe_identity = files[1];
    col.qe_identity_len = len[1];
    col.tcb_signing_chain = files[2];
    col.tcb_signing_chain_len = len[2];
    col.pck_crl = files[3];
    col.pck_crl_len = len[3];
    col.root_crl = files[4];
    col.root_crl_len = len[4];

    detail[0] = '\0';

    rc = attest_tdx_verify(quote, n, o->nfiles ? &col : NULL, o->now, &ev);

    if (rc == ATTEST_OK) {
        rc = check_report_data(o, &ev, detail, sizeof(detail));
    }

    if (rc == ATTEST_OK) {
        rc = attest_policy_check(pol, &ev, detail, sizeof(detail));
    }

    ret = print_result(evidence_json(&ev, ev.platform != ATTEST_PLATFORM_NONE),
                       rc, detail);

    for (i = 0; i < 5; i++) {
        free(files[i]);
    }

    free(quote);
    attest_policy_free(pol);
    return ret;
#else
    attest_evidence_t  ev;

    memset(&ev, 0, sizeof(ev));
    return print_result(evidence_json(&ev, 0), ATTEST_ERR_UNSUPPORTED,
                        "TDX verification is not built in yet");
#endif
}


static int
cmd_verify_doc(const char *path, cli_opts_t *o)
{
    int                ret;
    char               buf[64], *b64;
    size_t             n;
    json_t            *obj;
    uint8_t           *doc, nonce[32];
    attest_err_t       rc;
    attest_policy_t   *pol;
    attest_verdict_t  *v;

    ret = load_policy(o, &pol);
    if (ret != CLI_OK) {
        return ret;
    }

    doc = slurp(path, &n);
    if (doc == NULL) {
        attest_policy_free(pol);
        return input_error("%s: cannot read", path);
    }

    v = malloc(sizeof(attest_verdict_t));
    if (v == NULL) {
        free(doc);
        attest_policy_free(pol);
        return input_error("%s", "out of memory");
    }

    rc = attest_verify_document(doc, n, pol, o->now, v);

    obj = evidence_json(&v->ev, v->ev.platform != ATTEST_PLATFORM_NONE);

    if (v->ev.platform != ATTEST_PLATFORM_NONE) {
        attest_gpu_nonce(v->ev.report_data, nonce);
        json_object_set_new(obj, "gpu_nonce", hex_json(nonce, 32));
    }

    if (rc == ATTEST_OK) {
        json_object_set_new(obj, "not_after", json_integer(v->not_after));
        json_object_set_new(obj, "valid_until",
                            json_string(time_text(v->valid_until, buf,
                                                  sizeof(buf))));

        b64 = malloc(attest_b64_len(v->ohttp_keys_len) + 1);
        if (b64 != NULL) {
            attest_b64_encode(v->ohttp_keys, v->ohttp_keys_len, b64);
            json_object_set_new(obj, "ohttp_keys", json_string(b64));
            free(b64);
        }
    }

    ret = print_result(obj, rc, v->detail);

    free(v);
    free(doc);
    attest_policy_free(pol);
    return ret;
}


static int
cmd_inspect_snp(const char *path)
{
    size_t                n;
    json_t               *o;
    uint8_t              *p;
    attest_err_t          rc;
    attest_snp_report_t   r;

    p = slurp(path, &n);
    if (p == NULL) {
        return input_error("%s: cannot read", path);
    }

    rc = attest_snp_parse(p, n, &r, NULL, 0);
    free(p);

    if (rc == ATTEST_ERR_INPUT || rc == ATTEST_ERR_VERSION) {
        printf("{\"error\":\"%s\"}\n", attest_strerror(rc));
        return CLI_REJECTED;
    }

    o = snp_report_json(&r);

    if (rc != ATTEST_OK) {
        json_object_set_new(o, "error", json_string(attest_strerror(rc)));
    }

    json_dumpf(o, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(o);

    return rc == ATTEST_OK ? CLI_OK : CLI_REJECTED;
}


/* a parsed report's fields, unverified */
static json_t *
snp_report_json(const attest_snp_report_t *r)
{
    char                  buf[64];
    json_t               *o, *t;
    attest_snp_tcb_t      tcb;
    attest_snp_product_t  prod;

    prod = attest_snp_product(r);

    o = json_object();
    json_object_set_new(o, "platform", json_string("sev-snp"));
    json_object_set_new(o, "version", json_integer(r->version));
    json_object_set_new(o, "guest_svn", json_integer(r->guest_svn));
    snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long) r->policy);
    json_object_set_new(o, "policy", json_string(buf));
    json_object_set_new(o, "debug",
                        json_boolean(r->policy & ATTEST_SNP_POLICY_DEBUG));
    json_object_set_new(o, "family_id", hex_json(r->family_id, 16));
    json_object_set_new(o, "image_id", hex_json(r->image_id, 16));
    json_object_set_new(o, "vmpl", json_integer(r->vmpl));
    json_object_set_new(o, "signature_algo",
                        json_integer(r->signature_algo));
    snprintf(buf, sizeof(buf), "0x%llx",
             (unsigned long long) r->platform_info);
    json_object_set_new(o, "platform_info", json_string(buf));
    json_object_set_new(o, "signer_info", json_integer(r->signer_info));
    json_object_set_new(o, "signing_key",
                        json_string(attest_snp_signing_key(r) == 0 ? "vcek"
                                    : attest_snp_signing_key(r) == 1 ? "vlek"
                                    : "none"));
    json_object_set_new(o, "report_data", hex_json(r->report_data, 64));
    json_object_set_new(o, "measurement", hex_json(r->measurement, 48));
    json_object_set_new(o, "host_data", hex_json(r->host_data, 32));
    json_object_set_new(o, "id_key_digest", hex_json(r->id_key_digest, 48));
    json_object_set_new(o, "author_key_digest",
                        hex_json(r->author_key_digest, 48));
    json_object_set_new(o, "report_id", hex_json(r->report_id, 32));
    json_object_set_new(o, "report_id_ma", hex_json(r->report_id_ma, 32));
    json_object_set_new(o, "cpuid",
                        json_pack("{s:i,s:i,s:i}", "family", r->cpuid_fam_id,
                                  "model", r->cpuid_mod_id,
                                  "stepping", r->cpuid_step));
    json_object_set_new(o, "product",
                        json_string(attest_snp_product_name(prod)));
    json_object_set_new(o, "chip_id", hex_json(r->chip_id, 64));

    t = json_object();
    attest_snp_tcb_decode(r->current_tcb, prod, &tcb);
    json_object_set_new(t, "current", tcb_json(&tcb));
    attest_snp_tcb_decode(r->reported_tcb, prod, &tcb);
    json_object_set_new(t, "reported", tcb_json(&tcb));
    attest_snp_tcb_decode(r->committed_tcb, prod, &tcb);
    json_object_set_new(t, "committed", tcb_json(&tcb));
    attest_snp_tcb_decode(r->launch_tcb, prod, &tcb);
    json_object_set_new(t, "launch", tcb_json(&tcb));
    json_object_set_new(o, "tcb", t);

    snprintf(buf, sizeof(buf), "%u.%u.%u", r->current_major,
             r->current_minor, r->current_build);
    json_object_set_new(o, "current_firmware", json_string(buf));
    snprintf(buf, sizeof(buf), "%u.%u.%u", r->committed_major,
             r->committed_minor, r->committed_build);
    json_object_set_new(o, "committed_firmware", json_string(buf));

    if (r->version >= 5) {
        snprintf(buf, sizeof(buf), "0x%llx",
                 (unsigned long long) r->launch_mit_vector);
        json_object_set_new(o, "launch_mit_vector", json_string(buf));
        snprintf(buf, sizeof(buf), "0x%llx",
                 (unsigned long long) r->current_mit_vector);
        json_object_set_new(o, "current_mit_vector", json_string(buf));
    }

    json_object_set_new(o, "signature_r", hex_json(r->signature_r, 48));
    json_object_set_new(o, "signature_s", hex_json(r->signature_s, 48));

    return o;
}


/* the quote's fields, unverified; a quote that does not parse is an
 * input error (exit 2) with its reason code */
static int
cmd_inspect_tdx(const char *path)
{
#ifdef ATTEST_HAVE_TDX
    size_t              n;
    json_t             *o;
    uint8_t            *p;
    attest_err_t        rc;
    attest_tdx_quote_t  q;

    p = slurp(path, &n);
    if (p == NULL) {
        return input_error("%s: cannot read", path);
    }

    rc = attest_tdx_parse(p, n, &q);

    if (rc != ATTEST_OK) {
        free(p);
        printf("{\"error\":\"%s\"}\n", attest_strerror(rc));
        fprintf(stderr, "confer-attest: %s: not a TDX quote: %s\n", path,
                attest_strerror(rc));
        return CLI_USAGE;
    }

    /* q points into p until the JSON is made */
    o = attest_tdx_quote_json(&q);
    free(p);

    if (o == NULL) {
        return input_error("%s", "out of memory");
    }

    json_dumpf(o, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(o);

    return CLI_OK;
#else
    printf("{\"error\":\"%s\"}\n", attest_strerror(ATTEST_ERR_UNSUPPORTED));
    fprintf(stderr, "confer-attest: inspect tdx is not built in\n");
    return CLI_USAGE;
#endif
}


static int
cmd_simulate_doc(const char *dir, cli_opts_t *o)
{
    char           msg[512];
    size_t         n, len, glen;
    uint8_t       *keys, *out, *gpu, nonce[32];
    uint64_t       not_after;
    attest_err_t   rc;
    attest_sim_t  *sim;

    if (o->keys == NULL) {
        return usage("simulate doc needs --keys OHTTP_KEYS_FILE");
    }

    if (o->gpu != NULL && o->gpus > 0) {
        return usage("--gpu FILE or --gpus N, not both");
    }

    keys = slurp(o->keys, &n);
    if (keys == NULL) {
        return input_error("%s: cannot read", o->keys);
    }

    gpu = NULL;
    glen = 0;

    if (o->gpu != NULL) {
        gpu = slurp(o->gpu, &glen);
        if (gpu == NULL) {
            free(keys);
            return input_error("%s: cannot read", o->gpu);
        }
    }

    rc = attest_sim_load(dir, &sim, msg, sizeof(msg));
    if (rc != ATTEST_OK) {
        free(keys);
        free(gpu);
        return input_error("%s", msg);
    }

    not_after = (uint64_t) (o->now + o->lifetime);

    /* simulated GPUs answering the nonce this document binds */
    if (o->gpus > 0) {
        attest_sim_gpu_nonce(keys, n, not_after, nonce);

        glen = 0;
        attest_sim_gpu_evidence(sim, nonce, (size_t) o->gpus, NULL, 0,
                                &glen);
        gpu = glen ? malloc(glen) : NULL;
        rc = gpu ? attest_sim_gpu_evidence(sim, nonce, (size_t) o->gpus, gpu,
                                           glen, &glen)
                 : ATTEST_ERR_UNSUPPORTED;

        if (rc != ATTEST_OK) {
            free(keys);
            free(gpu);
            attest_sim_free(sim);
            return input_error("no simulated GPU evidence: %s (a directory "
                               "made by an older simulate init has no GPU "
                               "chain)", attest_strerror(rc));
        }
    }

    /* the size first; the document is the same length every time */
    len = 0;

    if (gpu != NULL) {
        attest_sim_document_gpu(sim, keys, n, not_after, gpu, glen, NULL, 0,
                                &len);
    } else {
        attest_sim_document(sim, keys, n, not_after, NULL, 0, &len);
    }

    out = len ? malloc(len + 1) : NULL;
    rc = out == NULL ? ATTEST_ERR_INPUT
         : gpu != NULL ? attest_sim_document_gpu(sim, keys, n, not_after,
                                                 gpu, glen, out, len, &len)
         : attest_sim_document(sim, keys, n, not_after, out, len, &len);

    if (rc == ATTEST_OK) {
        fwrite(out, 1, len, stdout);
        fputc('\n', stdout);
    }

    free(out);
    free(keys);
    free(gpu);
    attest_sim_free(sim);

    if (rc != ATTEST_OK) {
        return input_error("cannot make a document: %s",
                           attest_strerror(rc));
    }

    return CLI_OK;
}


/* simulated NVIDIA evidence JSON answering --nonce, like a GPU would */
static int
cmd_simulate_gpu(const char *dir, cli_opts_t *o)
{
    char           msg[512];
    size_t         len;
    uint8_t       *out;
    attest_err_t   rc;
    attest_sim_t  *sim;

    if (!o->have_nonce) {
        return usage("simulate gpu needs --nonce HEX");
    }

    rc = attest_sim_load(dir, &sim, msg, sizeof(msg));
    if (rc != ATTEST_OK) {
        return input_error("%s", msg);
    }

    len = 0;
    attest_sim_gpu_evidence(sim, o->nonce, o->gpus ? (size_t) o->gpus : 1,
                            NULL, 0, &len);
    out = len ? malloc(len) : NULL;
    rc = out ? attest_sim_gpu_evidence(sim, o->nonce,
                                       o->gpus ? (size_t) o->gpus : 1, out,
                                       len, &len)
             : ATTEST_ERR_UNSUPPORTED;

    if (rc == ATTEST_OK) {
        fwrite(out, 1, len, stdout);
        fputc('\n', stdout);
    }

    free(out);
    attest_sim_free(sim);

    if (rc != ATTEST_OK) {
        return input_error("no simulated GPU evidence: %s (a directory "
                           "made by an older simulate init has no GPU "
                           "chain)", attest_strerror(rc));
    }

    return CLI_OK;
}


/* NVIDIA's text files hold the report in hex; binary is taken as is */
static uint8_t *
gpu_report_bytes(uint8_t *p, size_t *n)
{
    size_t  i, k, len;

    k = *n;
    while (k > 0 && (p[k - 1] == '\n' || p[k - 1] == '\r' || p[k - 1] == ' '
                     || p[k - 1] == '\t'))
    {
        k--;
    }

    for (i = 0; i < k; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')
              || (p[i] >= 'A' && p[i] <= 'F')))
        {
            return p;
        }
    }

    if (k == 0 || k % 2 != 0
        || attest_unhex((char *) p, k, p, k, &len) != ATTEST_OK)
    {
        return p;
    }

    *n = len;
    return p;
}


static int
is_json_list(const uint8_t *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t') {
            return p[i] == '[';
        }
    }

    return 0;
}


/* the proven facts of one device; measurements (from the report, which
 * verified) when given */
static json_t *
gpu_facts_json(const attest_gpu_facts_t *f, const uint8_t *report, size_t n)
{
    char                  buf[64], idx[8];
    size_t                i;
    json_t               *o, *m;
    attest_gpu_report_t  *r;

    o = json_object();

    json_object_set_new(o, "ok", json_false());
    json_object_set_new(o, "platform", json_string(f->simulated
                                                   ? "simulated-gpu"
                                                   : "nvidia-gpu"));
    json_object_set_new(o, "device",
                        json_string(attest_gpu_kind_name(f->kind)));
    json_object_set_new(o, "model", json_string(f->model));
    json_object_set_new(o, "arch", json_string(f->arch));
    json_object_set_new(o, "driver", f->driver[0] ? json_string(f->driver)
                                                  : json_null());
    json_object_set_new(o, "vbios", f->vbios[0] ? json_string(f->vbios)
                                                : json_null());
    json_object_set_new(o, "fwid", f->has_fwid ? hex_json(f->fwid, 48)
                                               : json_null());
    json_object_set_new(o, "nonce", hex_json(f->nonce, 32));
    json_object_set_new(o, "certificate_sha256",
                        hex_json(f->leaf_sha256, 32));
    json_object_set_new(o, "chain_not_after",
                        json_string(time_text(f->chain_not_after, buf,
                                              sizeof(buf))));

    r = report != NULL ? malloc(sizeof(attest_gpu_report_t)) : NULL;

    if (r != NULL && attest_gpu_parse(report, n, r) == ATTEST_OK) {
        m = json_object();
        for (i = 0; i < r->nblocks; i++) {
            snprintf(idx, sizeof(idx), "%u", r->blocks[i].index);
            json_object_set_new(m, idx, hex_json(r->blocks[i].value,
                                                 r->blocks[i].size));
        }
        json_object_set_new(o, "measurements", m);
    }

    free(r);
    return o;
}


static json_t *
gpu_rejected_json(void)
{
    json_t  *o;

    o = json_object();
    json_object_set_new(o, "ok", json_false());
    json_object_set_new(o, "platform", json_null());
    json_object_set_new(o, "device", json_null());
    json_object_set_new(o, "driver", json_null());
    json_object_set_new(o, "vbios", json_null());
    json_object_set_new(o, "fwid", json_null());
    json_object_set_new(o, "measurements", json_null());
    return o;
}


static int
cmd_verify_gpu(const char *path, cli_opts_t *o)
{
    int                  ret, list;
    char                 detail[256];
    size_t               i, n, cn, count, ngpus, nsw;
    json_t              *obj, *devs, *d;
    uint8_t             *file, *chain, *mem;
    attest_err_t         rc, first;
    const uint8_t       *sim_root;
    attest_policy_t     *pol;
    attest_evidence_t   *ev;
    attest_gpu_entry_t   e[ATTEST_MAX_GPUS];

    if (!o->have_nonce) {
        return usage("verify gpu needs --nonce HEX, the nonce the GPU was "
                     "asked to sign");
    }

    file = slurp(path, &n);
    if (file == NULL) {
        return input_error("%s: cannot read", path);
    }

    list = is_json_list(file, n);

    if (!list && o->certs == NULL) {
        free(file);
        return usage("verify gpu REPORT needs --certs CHAIN");
    }

    ret = load_policy(o, &pol);
    if (ret != CLI_OK) {
        free(file);
        return ret;
    }

    if (!attest_policy_simulated(pol, &sim_root)) {
        sim_root = NULL;
    }

    chain = NULL;
    mem = NULL;
    detail[0] = '\0';

    if (list) {
        rc = attest_gpu_evidence_parse(file, n, e, ATTEST_MAX_GPUS, &count,
                                       &mem, detail, sizeof(detail));
        if (rc != ATTEST_OK) {
            free(file);
            attest_policy_free(pol);
            fprintf(stderr, "confer-attest: %s: %s\n", path, detail);
            printf("{\"ok\":false,\"error\":\"%s\"}\n", attest_strerror(rc));
            return CLI_USAGE;
        }

    } else {
        chain = slurp(o->certs, &cn);
        if (chain == NULL) {
            free(file);
            attest_policy_free(pol);
            return input_error("%s: cannot read", o->certs);
        }

        gpu_report_bytes(file, &n);
        memset(e, 0, sizeof(e));
        e[0].evidence.p = file;
        e[0].evidence.n = n;
        e[0].certs.p = chain;
        e[0].certs.n = cn;
        count = 1;
    }

    ev = calloc(1, sizeof(attest_evidence_t));
    if (ev == NULL) {
        free(file);
        free(chain);
        free(mem);
        attest_policy_free(pol);
        return input_error("%s", "out of memory");
    }

    /* each device on its own, so that every one gets its verdict */
    first = ATTEST_OK;
    devs = json_array();
    ngpus = 0;
    nsw = 0;

    for (i = 0; i < count; i++) {
        rc = attest_gpu_verify(e[i].evidence.p, e[i].evidence.n, e[i].certs.p,
                               e[i].certs.n, o->nonce, sim_root, o->now,
                               &ev->gpu[i], detail, sizeof(detail));

        if (rc == ATTEST_OK) {
            d = gpu_facts_json(&ev->gpu[i], e[i].evidence.p, e[i].evidence.n);
            ngpus += ev->gpu[i].kind == ATTEST_GPU_GPU;
            nsw += ev->gpu[i].kind == ATTEST_GPU_SWITCH;

        } else {
            d = gpu_rejected_json();
            json_object_set_new(d, "error", json_string(attest_strerror(rc)));
            if (first == ATTEST_OK) {
                first = rc;
            }
        }

        json_object_set_new(d, "ok", json_boolean(rc == ATTEST_OK));
        json_object_set_new(d, "detail", json_string(detail));
        json_array_append_new(devs, d);
    }

    /* the whole set: the same device twice, then the policy's rules */
    if (first == ATTEST_OK) {
        rc = attest_gpu_verify_list(e, count, o->nonce, sim_root, o->now, ev,
                                    detail, sizeof(detail));
        if (rc == ATTEST_OK) {
            rc = attest_policy_check_gpu(pol, ev, detail, sizeof(detail));
        }

        if (rc == ATTEST_OK && list) {
            snprintf(detail, sizeof(detail), "%zu GPU%s and %zu NVSwitch%s "
                     "verified", ngpus, ngpus == 1 ? "" : "s", nsw,
                     nsw == 1 ? "" : "es");
        }

        first = rc;
    }

    if (list) {
        obj = json_object();
        json_object_set_new(obj, "ok", json_false());
        json_object_set_new(obj, "platform", json_string("nvidia-gpu"));
        json_object_set_new(obj, "gpus", json_integer((json_int_t) ngpus));
        json_object_set_new(obj, "switches", json_integer((json_int_t) nsw));
        json_object_set_new(obj, "devices", devs);

    } else {
        obj = json_incref(json_array_get(devs, 0));
        json_decref(devs);
    }

    if (first != ATTEST_OK && detail[0] == '\0') {
        snprintf(detail, sizeof(detail), "%s", attest_strerror(first));
    }

    json_object_del(obj, "detail");
    ret = print_result(obj, first, detail);

    free(ev);
    free(file);
    free(chain);
    free(mem);
    attest_policy_free(pol);
    return ret;
}


static int
cmd_inspect_gpu(const char *path)
{
    char                 detail[256];
    size_t               i, n, count;
    json_t              *o, *arr, *j;
    uint8_t             *p, *mem;
    attest_err_t         rc;
    attest_gpu_report_t *r;
    attest_gpu_entry_t   e[ATTEST_MAX_GPUS];

    p = slurp(path, &n);
    if (p == NULL) {
        return input_error("%s: cannot read", path);
    }

    r = malloc(sizeof(attest_gpu_report_t));
    if (r == NULL) {
        free(p);
        return input_error("%s", "out of memory");
    }

    mem = NULL;
    o = NULL;

    if (is_json_list(p, n)) {
        rc = attest_gpu_evidence_parse(p, n, e, ATTEST_MAX_GPUS, &count, &mem,
                                       detail, sizeof(detail));
        arr = json_array();

        for (i = 0; rc == ATTEST_OK && i < count; i++) {
            rc = attest_gpu_parse(e[i].evidence.p, e[i].evidence.n, r);
            if (rc == ATTEST_OK) {
                j = attest_gpu_report_json(r);
                json_object_set_new(j, "arch", json_string(e[i].arch));
                json_array_append_new(arr, j);
            }
        }

        if (rc == ATTEST_OK) {
            o = json_object();
            json_object_set_new(o, "platform", json_string("nvidia-gpu"));
            json_object_set_new(o, "devices", arr);
        } else {
            json_decref(arr);
        }

    } else {
        gpu_report_bytes(p, &n);
        rc = attest_gpu_parse(p, n, r);
        if (rc == ATTEST_OK) {
            o = attest_gpu_report_json(r);
        }
    }

    free(r);
    free(mem);
    free(p);

    if (rc != ATTEST_OK) {
        printf("{\"error\":\"%s\"}\n", attest_strerror(rc));
        fprintf(stderr, "confer-attest: %s: not an NVIDIA attestation "
                "report: %s\n", path, attest_strerror(rc));
        return CLI_USAGE;
    }

    if (o == NULL) {
        return input_error("%s", "out of memory");
    }

    json_dumpf(o, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(o);

    return CLI_OK;
}


/*
 * A document as it is, parsed and nothing verified: for an operator to see
 * what a terminator publishes (its evidence fields, certificates,
 * collateral and GPU reports) and whether the pieces even match the
 * binding.  "verified": false says it all; verify doc proves.
 */
static int
cmd_inspect_doc(const char *path)
{
    char                  buf[64], detail[256];
    size_t                i, n, nkcs;
    json_t               *o, *ev, *keys, *ids;
    uint8_t              *p, binding[64], nonce[32];
    attest_err_t          rc;
    const uint8_t        *rd;
    confer_keyconfig_t    kcs[8];
    attest_doc_parsed_t   d;
    attest_snp_report_t   r;
#ifdef ATTEST_HAVE_TDX
    attest_tdx_quote_t    q;
#endif

    p = slurp(path, &n);
    if (p == NULL) {
        return input_error("%s: cannot read", path);
    }

    detail[0] = '\0';
    rc = attest_doc_parse(p, n, &d, detail, sizeof(detail));
    free(p);

    if (rc != ATTEST_OK) {
        printf("{\"error\":\"%s\"}\n", attest_strerror(rc));
        fprintf(stderr, "confer-attest: %s: not an attestation document: "
                "%s\n", path, detail);
        return CLI_USAGE;
    }

    o = json_object();
    json_object_set_new(o, "verified", json_false());
    json_object_set_new(o, "note", json_string("parsed only: nothing here "
                                               "is verified (verify doc "
                                               "does that)"));
    json_object_set_new(o, "platform",
                        json_string(attest_platform_name(d.platform)));
    json_object_set_new(o, "not_after", json_integer((json_int_t)
                                                     d.not_after));
    json_object_set_new(o, "not_after_text",
                        json_string(time_text((time_t) d.not_after, buf,
                                              sizeof(buf))));

    keys = json_object();
    json_object_set_new(keys, "bytes", json_integer((json_int_t)
                                                    d.ohttp_keys.n));
    if (confer_keyconfig_decode_list(d.ohttp_keys.p, d.ohttp_keys.n, kcs, 8,
                                     &nkcs)
        == CONFER_KEYCONFIG_OK)
    {
        ids = json_array();
        for (i = 0; i < nkcs; i++) {
            json_array_append_new(ids, json_integer(kcs[i].key_id));
        }
        json_object_set_new(keys, "key_ids", ids);

    } else {
        json_object_set_new(keys, "key_ids", json_null());
    }
    json_object_set_new(o, "ohttp_keys", keys);

    /* what report_data and the GPU nonce must be for these keys */
    attest_binding(d.ohttp_keys.p, d.ohttp_keys.n, d.not_after, binding);
    attest_gpu_nonce(binding, nonce);
    json_object_set_new(o, "binding", hex_json(binding, 64));
    json_object_set_new(o, "gpu_nonce", hex_json(nonce, 32));

    rd = NULL;
    ev = NULL;

    if (d.platform != ATTEST_PLATFORM_TDX) {
        rc = attest_snp_parse(d.evidence.p, d.evidence.n, &r, NULL, 0);
        if (rc != ATTEST_ERR_INPUT && rc != ATTEST_ERR_VERSION) {
            ev = snp_report_json(&r);
            rd = r.report_data;
        }

    } else {
#ifdef ATTEST_HAVE_TDX
        rc = attest_tdx_parse(d.evidence.p, d.evidence.n, &q);
        if (rc == ATTEST_OK) {
            ev = attest_tdx_quote_json(&q);
            rd = q.report_data;
        }
#else
        rc = ATTEST_ERR_UNSUPPORTED;
#endif
    }

    if (ev == NULL) {
        ev = json_pack("{s:s}", "error", attest_strerror(rc));
    }

    json_object_set_new(o, "evidence", ev);
    json_object_set_new(o, "report_data_matches",
                        rd ? json_boolean(memcmp(rd, binding, 64) == 0)
                           : json_null());

    json_object_set_new(o, "certs", doc_certs_json(d.certs, d.ncerts));

    if (d.has_collateral) {
        json_object_set_new(o, "collateral", doc_collateral_json(&d));
    }

    if (d.ngpu > 0) {
        json_object_set_new(o, "gpus", doc_gpu_json(&d, nonce));
    }

    attest_doc_parsed_free(&d);

    json_dumpf(o, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(o);

    return CLI_OK;
}


/* subject, issuer, validity and fingerprint of each certificate */
static json_t *
doc_certs_json(const attest_blob_t *certs, size_t n)
{
    char      buf[64], cn[128];
    size_t    i;
    X509     *x;
    json_t   *arr, *c;
    uint8_t   fp[32];
    time_t    t;

    arr = json_array();

    for (i = 0; i < n; i++) {
        x = attest_x509_parse(certs[i].p, certs[i].n);
        c = json_object();

        if (x == NULL) {
            json_object_set_new(c, "error", json_string("bad_certificate"));
            json_array_append_new(arr, c);
            continue;
        }

        attest_x509_cn(x, cn, sizeof(cn));
        json_object_set_new(c, "subject", json_string(cn));
        X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName,
                                  cn, sizeof(cn));
        json_object_set_new(c, "issuer", json_string(cn));
        t = attest_x509_not_after(x);
        json_object_set_new(c, "not_after",
                            json_string(time_text(t, buf, sizeof(buf))));
        attest_x509_sha256(x, fp);
        json_object_set_new(c, "sha256", hex_json(fp, 32));
        json_array_append_new(arr, c);

        X509_free(x);
    }

    ERR_clear_error();
    return arr;
}


static json_t *
doc_crl_json(const attest_blob_t *b)
{
    char                       buf[64], cn[128];
    time_t                     t;
    json_t                    *c;
    X509_CRL                  *crl;
    const ASN1_TIME           *next;
    STACK_OF(X509_REVOKED)    *revoked;

    c = json_object();
    json_object_set_new(c, "bytes", json_integer((json_int_t) b->n));

    if (attest_x509_crl_load(b->p, b->n, &crl) != ATTEST_OK) {
        json_object_set_new(c, "error", json_string("bad_crl"));
        ERR_clear_error();
        return c;
    }

    cn[0] = '\0';
    X509_NAME_get_text_by_NID(X509_CRL_get_issuer(crl), NID_commonName, cn,
                              sizeof(cn));
    json_object_set_new(c, "issuer", json_string(cn));

    next = X509_CRL_get0_nextUpdate(crl);
    if (next != NULL && attest_asn1_time(next, &t) == 0) {
        json_object_set_new(c, "next_update",
                            json_string(time_text(t, buf, sizeof(buf))));
    }

    revoked = X509_CRL_get_REVOKED(crl);
    json_object_set_new(c, "revoked",
                        json_integer(revoked != NULL
                                     ? sk_X509_REVOKED_num(revoked) : 0));

    X509_CRL_free(crl);
    ERR_clear_error();

    return c;
}


/* each item the document carries, and what it says about itself */
static json_t *
doc_collateral_json(const attest_doc_parsed_t *d)
{
    json_t                     *o;
#ifdef ATTEST_HAVE_TDX
    char                        buf[64];
    size_t                      i;
    json_t                     *c;
    time_t                      recovery;
    attest_tdx_tcb_info_t      *ti;
    attest_tdx_qe_identity_t   *qi;
#endif

    o = json_object();

#ifdef ATTEST_HAVE_TDX
    ti = malloc(sizeof(attest_tdx_tcb_info_t));
    qi = malloc(sizeof(attest_tdx_qe_identity_t));

    if (d->tcb_info.n > 0 && ti != NULL) {
        c = json_object();
        json_object_set_new(c, "bytes",
                            json_integer((json_int_t) d->tcb_info.n));

        if (attest_tdx_tcb_info_parse(d->tcb_info.p, d->tcb_info.n, ti)
            == ATTEST_OK)
        {
            json_object_set_new(c, "fmspc", hex_json(ti->fmspc, 6));
            json_object_set_new(c, "tcb_evaluation_data_number",
                                json_integer(ti->eval_num));
            json_object_set_new(c, "issue_date",
                                json_string(time_text(ti->issue_date, buf,
                                                      sizeof(buf))));
            json_object_set_new(c, "next_update",
                                json_string(time_text(ti->next_update, buf,
                                                      sizeof(buf))));
            json_object_set_new(c, "levels",
                                json_integer((json_int_t) ti->nlevels));

            /* the TCB recovery a grace period runs from */
            recovery = 0;
            for (i = 0; i < ti->nlevels; i++) {
                if (ti->levels[i].status == ATTEST_TDX_TCB_UP_TO_DATE
                    && ti->levels[i].tcb_date > recovery)
                {
                    recovery = ti->levels[i].tcb_date;
                }
            }

            if (recovery > 0) {
                json_object_set_new(c, "tcb_recovery_date",
                                    json_string(time_text(recovery, buf,
                                                          sizeof(buf))));
            }

        } else {
            json_object_set_new(c, "error", json_string("bad_collateral"));
        }

        json_object_set_new(o, "tcb_info", c);
    }

    if (d->qe_identity.n > 0 && qi != NULL) {
        c = json_object();
        json_object_set_new(c, "bytes",
                            json_integer((json_int_t) d->qe_identity.n));

        if (attest_tdx_qe_identity_parse(d->qe_identity.p, d->qe_identity.n,
                                         qi)
            == ATTEST_OK)
        {
            json_object_set_new(c, "tcb_evaluation_data_number",
                                json_integer(qi->eval_num));
            json_object_set_new(c, "next_update",
                                json_string(time_text(qi->next_update, buf,
                                                      sizeof(buf))));

        } else {
            json_object_set_new(c, "error", json_string("bad_collateral"));
        }

        json_object_set_new(o, "qe_identity", c);
    }

    free(ti);
    free(qi);
#endif

    if (d->tcb_signing_chain.n > 0) {
        json_object_set_new(o, "tcb_signing_chain",
                            json_pack("{s:I}", "bytes",
                                      (json_int_t) d->tcb_signing_chain.n));
    }

    if (d->pck_crl.n > 0) {
        json_object_set_new(o, "pck_crl", doc_crl_json(&d->pck_crl));
    }

    if (d->root_crl.n > 0) {
        json_object_set_new(o, "root_crl", doc_crl_json(&d->root_crl));
    }

    return o;
}


/* each device's report as it reads, its leaf, and whether it answered the
 * nonce these keys call for */
static json_t *
doc_gpu_json(const attest_doc_parsed_t *d, const uint8_t nonce[32])
{
    char                  cn[128];
    X509                 *certs[ATTEST_X509_MAX_CHAIN];
    size_t                i, k;
    json_t               *o, *arr, *dev;
    attest_gpu_report_t  *r;

    o = json_object();
    arr = json_array();
    r = malloc(sizeof(attest_gpu_report_t));

    for (i = 0; r != NULL && i < d->ngpu; i++) {
        dev = NULL;

        if (attest_gpu_parse(d->gpu[i].evidence.p, d->gpu[i].evidence.n, r)
            == ATTEST_OK)
        {
            dev = attest_gpu_report_json(r);
        }

        if (dev == NULL) {
            dev = json_pack("{s:s}", "error", "malformed");

        } else {
            json_object_set_new(dev, "nonce_matches",
                                json_boolean(memcmp(r->nonce, nonce, 32)
                                             == 0));
        }

        json_object_set_new(dev, "arch", json_string(d->gpu[i].arch));

        k = 0;
        if (attest_x509_load(d->gpu[i].certs.p, d->gpu[i].certs.n, certs,
                             ATTEST_X509_MAX_CHAIN, &k)
            == ATTEST_OK && k > 0)
        {
            attest_x509_cn(certs[0], cn, sizeof(cn));
            json_object_set_new(dev, "certificate", json_string(cn));
            json_object_set_new(dev, "chain_length",
                                json_integer((json_int_t) k));
            attest_x509_free(certs, k);
        }

        ERR_clear_error();
        json_array_append_new(arr, dev);
    }

    free(r);

    json_object_set_new(o, "devices_listed",
                        json_integer((json_int_t) d->ngpu));
    json_object_set_new(o, "devices", arr);

    return o;
}


static int
run(int argc, char **argv)
{
    int          ret;
    char         msg[512];
    cli_opts_t   o;
    const char  *cmd, *kind;

    if (argc < 4) {
        return usage(NULL);
    }

    cmd = argv[1];
    kind = argv[2];

    if (strcmp(cmd, "verify") == 0) {
        if (strcmp(kind, "sev-snp") == 0) {
            ret = parse_opts(argc, argv, 4, &o, "cxpnr");
            return ret != CLI_OK ? ret : cmd_verify_snp(argv[3], &o);
        }

        if (strcmp(kind, "tdx") == 0) {
            ret = parse_opts(argc, argv, 4, &o, "Cpnr");
            return ret != CLI_OK ? ret : cmd_verify_tdx(argv[3], &o);
        }

        if (strcmp(kind, "gpu") == 0) {
            ret = parse_opts(argc, argv, 4, &o, "gNpn");
            return ret != CLI_OK ? ret : cmd_verify_gpu(argv[3], &o);
        }

        if (strcmp(kind, "doc") == 0) {
            ret = parse_opts(argc, argv, 4, &o, "pn");
            return ret != CLI_OK ? ret : cmd_verify_doc(argv[3], &o);
        }

        return usage("verify sev-snp, tdx, gpu or doc");
    }

    if (strcmp(cmd, "inspect") == 0) {
        if (argc != 4) {
            return usage(NULL);
        }

        if (strcmp(kind, "sev-snp") == 0) {
            return cmd_inspect_snp(argv[3]);
        }

        if (strcmp(kind, "tdx") == 0) {
            return cmd_inspect_tdx(argv[3]);
        }

        if (strcmp(kind, "gpu") == 0) {
            return cmd_inspect_gpu(argv[3]);
        }

        if (strcmp(kind, "doc") == 0) {
            return cmd_inspect_doc(argv[3]);
        }

        return usage("inspect sev-snp, tdx, gpu or doc");
    }

    if (strcmp(cmd, "simulate") == 0) {
        if (strcmp(kind, "init") == 0) {
            if (argc != 4) {
                return usage(NULL);
            }

            if (attest_sim_init(argv[3], msg, sizeof(msg)) != ATTEST_OK) {
                return input_error("%s", msg);
            }

            printf("simulated platform in %s: sim-root.pem is the root a "
                   "policy pins (simulated_root)\n", argv[3]);
            return CLI_OK;
        }

        if (strcmp(kind, "doc") == 0) {
            ret = parse_opts(argc, argv, 4, &o, "klnGu");
            return ret != CLI_OK ? ret : cmd_simulate_doc(argv[3], &o);
        }

        if (strcmp(kind, "gpu") == 0) {
            ret = parse_opts(argc, argv, 4, &o, "Nu");
            return ret != CLI_OK ? ret : cmd_simulate_gpu(argv[3], &o);
        }

        return usage("simulate init, doc or gpu");
    }

    return usage(NULL);
}


int
main(int argc, char **argv)
{
    int  ret;

    ret = run(argc, argv);

    /* the certificate cache, so that valgrind sees nothing left */
    attest_cleanup();

    return ret;
}
