/*
 * attest/: evidence from configfs-tsm (see attest_tsm.h for the steps).
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest_tsm.h"


#define ATTEST_TSM_SNP_REPORT_DATA   0x50
#define ATTEST_TSM_TDX_REPORT_DATA   (48 + 520)   /* quote v4: header, then
                                                     the TD report body */


typedef struct {
    const char  *root;
    long long    deadline;         /* CLOCK_MONOTONIC ms */
    char        *msg;
    size_t       msg_len;
} attest_tsm_t;


static attest_err_t attest_tsm_fail(attest_tsm_t *t, attest_err_t rc,
    const char *fmt, ...);
static long long attest_tsm_now(void);
static attest_err_t attest_tsm_read(attest_tsm_t *t, const char *name,
    int optional, uint8_t **out, size_t *len);
static attest_err_t attest_tsm_write(attest_tsm_t *t, const char *name,
    const uint8_t *p, size_t n);
static attest_err_t attest_tsm_number(attest_tsm_t *t, const char *name,
    uint64_t *v);
static attest_err_t attest_tsm_once(attest_tsm_t *t,
    const uint8_t report_data[64], attest_tsm_report_t *rep);
static attest_err_t attest_tsm_pem(const char *path, uint8_t **der,
    attest_blob_t *certs, size_t max, size_t *ncerts, char *msg,
    size_t msg_len);


/* AMD SEV-SNP firmware ABI: the GUIDs of the certificate table, as bytes */
static const uint8_t  attest_tsm_guid_vcek[16] = {
    0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45,
    0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd
};
static const uint8_t  attest_tsm_guid_vlek[16] = {
    0xc2, 0x4b, 0x07, 0xa8, 0x5a, 0xa2, 0x3e, 0x48,
    0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1
};
static const uint8_t  attest_tsm_guid_ask[16] = {
    0x79, 0xb3, 0xb7, 0x4a, 0xac, 0xbb, 0xe4, 0x4f,
    0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82
};
static const uint8_t  attest_tsm_guid_ark[16] = {
    0xa4, 0x06, 0xb4, 0xc0, 0x03, 0xa8, 0x52, 0x49,
    0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae
};


static attest_err_t
attest_tsm_fail(attest_tsm_t *t, attest_err_t rc, const char *fmt, ...)
{
    va_list  ap;

    if (t->msg != NULL && t->msg_len > 0) {
        va_start(ap, fmt);
        vsnprintf(t->msg, t->msg_len, fmt, ap);
        va_end(ap);
    }

    return rc;
}


static long long
attest_tsm_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static attest_err_t
attest_tsm_read(attest_tsm_t *t, const char *name, int optional,
    uint8_t **out, size_t *len)
{
    int             fd, left;
    char            path[4096];
    size_t          have, cap;
    ssize_t         n;
    uint8_t        *buf, *nbuf;
    struct pollfd   pfd;

    *out = NULL;
    *len = 0;

    snprintf(path, sizeof(path), "%s/%s/%s", t->root, ATTEST_TSM_ENTRY,
             name);

    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd == -1) {
        if (optional && errno == ENOENT) {
            return ATTEST_OK;
        }

        return attest_tsm_fail(t, ATTEST_ERR_INPUT, "%s: %s", path,
                               strerror(errno));
    }

    have = 0;
    cap = 4096;
    buf = malloc(cap);

    if (buf == NULL) {
        close(fd);
        return ATTEST_ERR_NOMEM;
    }

    for ( ;; ) {
        left = (int) (t->deadline - attest_tsm_now());

        if (left <= 0) {
            free(buf);
            close(fd);
            return attest_tsm_fail(t, ATTEST_ERR_INPUT, "%s: no answer "
                                   "in time", path);
        }

        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;

        if (poll(&pfd, 1, left) == -1) {
            if (errno == EINTR) {
                continue;
            }

            break;
        }

        if (pfd.revents == 0) {
            continue;
        }

        if (have == cap) {
            if (cap >= ATTEST_TSM_BLOB_MAX) {
                free(buf);
                close(fd);
                return attest_tsm_fail(t, ATTEST_ERR_INPUT, "%s: larger "
                                       "than %d bytes", path,
                                       ATTEST_TSM_BLOB_MAX);
            }

            nbuf = realloc(buf, cap * 2);
            if (nbuf == NULL) {
                free(buf);
                close(fd);
                return ATTEST_ERR_NOMEM;
            }

            buf = nbuf;
            cap *= 2;
        }

        n = read(fd, buf + have, cap - have);

        if (n > 0) {
            have += n;
            continue;
        }

        if (n == 0) {
            close(fd);
            *out = buf;
            *len = have;
            return ATTEST_OK;
        }

        if (errno == EAGAIN || errno == EINTR) {
            continue;
        }

        break;
    }

    free(buf);
    close(fd);

    return attest_tsm_fail(t, ATTEST_ERR_INPUT, "%s: %s", path,
                           strerror(errno));
}


static attest_err_t
attest_tsm_write(attest_tsm_t *t, const char *name, const uint8_t *p,
    size_t n)
{
    int      fd, err;
    char     path[4096];
    ssize_t  w;

    snprintf(path, sizeof(path), "%s/%s/%s", t->root, ATTEST_TSM_ENTRY,
             name);

    /* a FIFO nobody reads gives ENXIO here instead of blocking */
    fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd == -1) {
        return attest_tsm_fail(t, ATTEST_ERR_INPUT, "%s: %s", path,
                               strerror(errno));
    }

    w = write(fd, p, n);
    err = errno;

    close(fd);

    if (w != (ssize_t) n) {
        return attest_tsm_fail(t, ATTEST_ERR_INPUT, "%s: %s", path,
                               w == -1 ? strerror(err) : "short write");
    }

    return ATTEST_OK;
}


static attest_err_t
attest_tsm_number(attest_tsm_t *t, const char *name, uint64_t *v)
{
    char          s[32];
    size_t        len;
    uint8_t      *p;
    attest_err_t  rc;

    rc = attest_tsm_read(t, name, 0, &p, &len);
    if (rc != ATTEST_OK) {
        return rc;
    }

    if (len == 0 || len >= sizeof(s)) {
        free(p);
        return attest_tsm_fail(t, ATTEST_ERR_INPUT, "%s is not a number",
                               name);
    }

    memcpy(s, p, len);
    s[len] = '\0';
    free(p);

    errno = 0;
    *v = strtoull(s, NULL, 10);

    if (errno != 0 || s[0] < '0' || s[0] > '9') {
        return attest_tsm_fail(t, ATTEST_ERR_INPUT, "%s is not a number",
                               name);
    }

    return ATTEST_OK;
}


static attest_err_t
attest_tsm_once(attest_tsm_t *t, const uint8_t report_data[64],
    attest_tsm_report_t *rep)
{
    size_t        len;
    uint8_t      *p;
    uint64_t      g0, g1;
    attest_err_t  rc;

    rc = attest_tsm_read(t, "provider", 0, &p, &len);
    if (rc != ATTEST_OK) {
        return rc;
    }

    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\0')) {
        len--;
    }

    if (len == 0 || len >= sizeof(rep->provider)) {
        free(p);
        return attest_tsm_fail(t, ATTEST_ERR_INPUT, "provider is empty "
                               "or too long");
    }

    memcpy(rep->provider, p, len);
    rep->provider[len] = '\0';
    free(p);

    rc = attest_tsm_number(t, "generation", &g0);
    if (rc != ATTEST_OK) {
        return rc;
    }

    rc = attest_tsm_write(t, "inblob", report_data, 64);
    if (rc != ATTEST_OK) {
        return rc;
    }

    rc = attest_tsm_read(t, "outblob", 0, &rep->outblob, &rep->outblob_len);
    if (rc != ATTEST_OK) {
        return rc;
    }

    rc = attest_tsm_read(t, "auxblob", 1, &rep->auxblob, &rep->auxblob_len);
    if (rc != ATTEST_OK) {
        return rc;
    }

    rc = attest_tsm_number(t, "generation", &g1);
    if (rc != ATTEST_OK) {
        return rc;
    }

    rep->generation = g1;

    if (g1 != g0 + 1) {
        return attest_tsm_fail(t, ATTEST_ERR_INPUT, "generation went from "
                               "%llu to %llu: another writer",
                               (unsigned long long) g0,
                               (unsigned long long) g1);
    }

    return ATTEST_OK;
}


attest_err_t
attest_tsm_get(const char *root, const uint8_t report_data[64],
    unsigned timeout_ms, attest_tsm_report_t *rep, char *msg,
    size_t msg_len)
{
    int           try;
    char          path[4096];
    attest_err_t  rc;
    attest_tsm_t  t;

    memset(rep, 0, sizeof(attest_tsm_report_t));

    t.root = root;
    t.deadline = attest_tsm_now() + timeout_ms;
    t.msg = msg;
    t.msg_len = msg_len;

    snprintf(path, sizeof(path), "%s/%s", root, ATTEST_TSM_ENTRY);

    if (mkdir(path, 0700) == -1 && errno != EEXIST) {
        return attest_tsm_fail(&t, ATTEST_ERR_INPUT, "mkdir %s: %s", path,
                               strerror(errno));
    }

    rc = ATTEST_ERR_INPUT;

    for (try = 0; try < 2; try++) {
        rc = attest_tsm_once(&t, report_data, rep);

        if (rc == ATTEST_OK || rep->outblob == NULL) {
            break;
        }

        /* a generation conflict: once more */
        attest_tsm_report_free(rep);
    }

    /* the kernel removes the entry; a fake tree may refuse, harmlessly */
    (void) rmdir(path);

    if (rc != ATTEST_OK) {
        attest_tsm_report_free(rep);
    }

    return rc;
}


void
attest_tsm_report_free(attest_tsm_report_t *rep)
{
    free(rep->outblob);
    free(rep->auxblob);
    memset(rep, 0, sizeof(attest_tsm_report_t));
}


attest_err_t
attest_tsm_snp_certs(const uint8_t *aux, size_t n, attest_blob_t *certs,
    size_t max, size_t *ncerts)
{
    int             rank;
    size_t          i, j, k, o;
    uint32_t        off, len;
    const uint8_t  *e;
    attest_blob_t   found[3];
    static const uint8_t  zero[24];

    *ncerts = 0;
    memset(found, 0, sizeof(found));

    /* entries of GUID, offset and length (u32 LE), to an all-zero one */
    for (o = 0; o + 24 <= n; o += 24) {
        e = aux + o;

        if (memcmp(e, zero, 24) == 0) {
            break;
        }

        off = (uint32_t) e[16] | (uint32_t) e[17] << 8
              | (uint32_t) e[18] << 16 | (uint32_t) e[19] << 24;
        len = (uint32_t) e[20] | (uint32_t) e[21] << 8
              | (uint32_t) e[22] << 16 | (uint32_t) e[23] << 24;

        if (off > n || len > n - off || len == 0) {
            return ATTEST_ERR_INPUT;
        }

        if (memcmp(e, attest_tsm_guid_vcek, 16) == 0
            || memcmp(e, attest_tsm_guid_vlek, 16) == 0)
        {
            rank = 0;

        } else if (memcmp(e, attest_tsm_guid_ask, 16) == 0) {
            rank = 1;

        } else if (memcmp(e, attest_tsm_guid_ark, 16) == 0) {
            rank = 2;

        } else {
            continue;
        }

        found[rank].p = aux + off;
        found[rank].n = len;
    }

    if (o + 24 > n && n != 0) {
        return ATTEST_ERR_INPUT;
    }

    k = 0;

    for (i = 0; i < 3; i++) {
        if (found[i].p == NULL) {
            continue;
        }

        if (k == max) {
            return ATTEST_ERR_NOMEM;
        }

        certs[k++] = found[i];
    }

    for (j = 0; j < k; j++) {
        /* trailing zero padding of an entry is not DER: trim to it */
        if (certs[j].n > 4 && certs[j].p[0] == 0x30 && certs[j].p[1] == 0x82)
        {
            len = 4 + ((uint32_t) certs[j].p[2] << 8 | certs[j].p[3]);
            if (len <= certs[j].n) {
                certs[j].n = len;
            }
        }
    }

    *ncerts = k;

    return ATTEST_OK;
}


static attest_err_t
attest_tsm_pem(const char *path, uint8_t **der, attest_blob_t *certs,
    size_t max, size_t *ncerts, char *msg, size_t msg_len)
{
    int      len;
    FILE    *f;
    X509    *x;
    size_t   k;
    uint8_t *p;

    *ncerts = 0;

    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(msg, msg_len, "certs=%s: %s", path, strerror(errno));
        return ATTEST_ERR_NO_CERT;
    }

    k = 0;

    while (k < max && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        p = NULL;
        len = i2d_X509(x, &p);
        X509_free(x);

        if (len <= 0) {
            break;
        }

        der[k] = p;
        certs[k].p = p;
        certs[k].n = (size_t) len;
        k++;
    }

    ERR_clear_error();
    fclose(f);

    if (k == 0) {
        snprintf(msg, msg_len, "certs=%s holds no PEM certificate", path);
        return ATTEST_ERR_CERT;
    }

    *ncerts = k;

    return ATTEST_OK;
}


attest_err_t
attest_tsm_evidence(const char *root, unsigned timeout_ms,
    const char *certs_pem, const uint8_t report_data[64],
    attest_tsm_evidence_t *e, char *msg, size_t msg_len)
{
    char          dummy[1];
    size_t        rd;
    attest_err_t  rc;

    memset(e, 0, sizeof(attest_tsm_evidence_t));

    if (msg == NULL || msg_len == 0) {
        msg = dummy;
        msg_len = sizeof(dummy);
    }

    msg[0] = '\0';

    rc = attest_tsm_get(root, report_data, timeout_ms, &e->rep, msg,
                        msg_len);
    if (rc != ATTEST_OK) {
        return rc;
    }

    if (strcmp(e->rep.provider, "sev_guest") == 0) {
        e->platform = ATTEST_PLATFORM_SEV_SNP;
        rd = ATTEST_TSM_SNP_REPORT_DATA;

    } else if (strcmp(e->rep.provider, "tdx_guest") == 0) {
        e->platform = ATTEST_PLATFORM_TDX;
        rd = ATTEST_TSM_TDX_REPORT_DATA;

    } else {
        snprintf(msg, msg_len, "provider \"%s\" is not supported",
                 e->rep.provider);
        return ATTEST_ERR_UNSUPPORTED;
    }

    /* the evidence must carry what we asked for */
    if (e->rep.outblob_len < rd + 64
        || memcmp(e->rep.outblob + rd, report_data, 64) != 0)
    {
        snprintf(msg, msg_len, "outblob does not carry the report_data "
                 "written to inblob");
        return ATTEST_ERR_BINDING;
    }

    e->evidence.p = e->rep.outblob;
    e->evidence.n = e->rep.outblob_len;

    if (e->platform != ATTEST_PLATFORM_SEV_SNP) {
        return ATTEST_OK;
    }

    if (certs_pem != NULL) {
        return attest_tsm_pem(certs_pem, e->der, e->certs, ATTEST_MAX_CERTS,
                              &e->ncerts, msg, msg_len);
    }

    rc = attest_tsm_snp_certs(e->rep.auxblob, e->rep.auxblob_len, e->certs,
                              ATTEST_MAX_CERTS, &e->ncerts);
    if (rc != ATTEST_OK) {
        snprintf(msg, msg_len, "auxblob is not a certificate table");
        return rc;
    }

    if (e->ncerts == 0) {
        snprintf(msg, msg_len, "the host provides no certificates in "
                 "auxblob: give certs=FILE");
        return ATTEST_ERR_NO_CERT;
    }

    return ATTEST_OK;
}


void
attest_tsm_evidence_free(attest_tsm_evidence_t *e)
{
    size_t  i;

    for (i = 0; i < ATTEST_MAX_CERTS; i++) {
        OPENSSL_free(e->der[i]);
    }

    attest_tsm_report_free(&e->rep);
    memset(e, 0, sizeof(attest_tsm_evidence_t));
}
