/*
 * fake-tsm: a stand-in for the kernel's configfs-tsm report interface, so
 * that the terminator's evidence=configfs-tsm can be tested on a machine
 * that is no confidential VM.
 *
 *   fake-tsm ROOT SIMDIR [--provider NAME] [--no-aux] [--wrong-data]
 *            [--race]
 *
 * It makes ROOT/confer/ holding FIFOs named like the kernel's attributes
 * (provider, generation, inblob, outblob, auxblob), writes ROOT/ready, and
 * serves them for ever, in the order attest/attest_tsm.c uses them:
 * provider, generation, inblob (64 bytes of report_data), outblob, auxblob,
 * generation.  outblob is an SEV-SNP report (version 3, VMPL 0) carrying
 * the report_data, signed with the simulated VCEK of SIMDIR (confer-attest
 * simulate init); auxblob is the SNP certificate table (GUID table) with
 * that VCEK and the simulated root as ARK.
 *
 *   --provider NAME   what the provider attribute says (sev_guest)
 *   --no-aux          an empty auxblob
 *   --wrong-data      outblob carries other report_data than was written
 *   --race            the second generation read is 2 ahead, as if another
 *                     process had written inblob meanwhile
 *
 * Test tool; no error recovery beyond starting the next round.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "attest.h"
#include "attest_snp.h"


static const uint8_t  guid_vcek[16] = {
    0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45,
    0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd
};
static const uint8_t  guid_ark[16] = {
    0xa4, 0x06, 0xb4, 0xc0, 0x03, 0xa8, 0x52, 0x49,
    0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae
};


static void
die(const char *what)
{
    fprintf(stderr, "fake-tsm: %s: %s\n", what, strerror(errno));
    exit(1);
}


static int
put(const char *dir, const char *name, const void *p, size_t n)
{
    int      fd;
    char     path[8192];
    ssize_t  w;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    fd = open(path, O_WRONLY);          /* blocks until a reader comes */
    if (fd == -1) {
        return -1;
    }

    w = n ? write(fd, p, n) : 0;
    close(fd);

    return w == (ssize_t) n ? 0 : -1;
}


/* reads what one writer writes into an already open (non-blocking) FIFO */
static ssize_t
get(int fd, uint8_t *p, size_t cap)
{
    size_t          have;
    ssize_t         r;
    struct pollfd   pfd;

    have = 0;

    for ( ;; ) {
        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;

        if (poll(&pfd, 1, -1) == -1) {
            if (errno == EINTR) {
                continue;
            }

            return -1;
        }

        r = read(fd, p + have, cap - have);

        if (r > 0) {
            have += r;

            if (have == cap) {
                return (ssize_t) have;
            }

            continue;
        }

        if (r == 0) {
            return (ssize_t) have;
        }

        if (errno != EAGAIN && errno != EINTR) {
            return -1;
        }
    }
}


static X509 *
read_cert(const char *dir, const char *name)
{
    FILE  *f;
    X509  *x;
    char   path[4096];

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "r");
    if (f == NULL) {
        die(path);
    }

    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);

    return x;
}


static int
sign_report(EVP_PKEY *key, uint8_t *report)
{
    int             ok;
    size_t          siglen;
    uint8_t         der[160];
    EVP_MD_CTX     *ctx;
    ECDSA_SIG      *sig;
    const uint8_t  *q;

    siglen = sizeof(der);
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL
         && EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, key) == 1
         && EVP_DigestSign(ctx, der, &siglen, report,
                           ATTEST_SNP_SIGNED_SIZE) == 1;
    EVP_MD_CTX_free(ctx);

    if (!ok) {
        return -1;
    }

    q = der;
    sig = d2i_ECDSA_SIG(NULL, &q, (long) siglen);
    if (sig == NULL) {
        return -1;
    }

    /* R and S little-endian, zero-extended to 72 bytes */
    ok = BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), report + 0x2a0, 72) == 72
         && BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), report + 0x2e8, 72) == 72;
    ECDSA_SIG_free(sig);

    return ok ? 0 : -1;
}


int
main(int argc, char **argv)
{
    int                   i, no_aux, wrong, race, len, infd;
    char                  dir[4096], path[8192], gen[32], prov[64];
    FILE                 *f;
    X509                 *leaf, *root;
    size_t                aux_len;
    ssize_t               n;
    uint8_t               in[64], report[ATTEST_SNP_REPORT_SIZE];
    uint8_t              *leaf_der, *root_der, *aux;
    EVP_PKEY             *key;
    uint64_t              g;
    const char           *provider, *names[5];
    attest_snp_report_t   r;

    if (argc < 3) {
        fprintf(stderr, "usage: fake-tsm ROOT SIMDIR [--provider NAME] "
                "[--no-aux] [--wrong-data] [--race]\n");
        return 2;
    }

    provider = "sev_guest";
    no_aux = 0;
    wrong = 0;
    race = 0;

    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--provider") == 0 && i + 1 < argc) {
            provider = argv[++i];
        } else if (strcmp(argv[i], "--no-aux") == 0) {
            no_aux = 1;
        } else if (strcmp(argv[i], "--wrong-data") == 0) {
            wrong = 1;
        } else if (strcmp(argv[i], "--race") == 0) {
            race = 1;
        } else {
            fprintf(stderr, "fake-tsm: unknown option %s\n", argv[i]);
            return 2;
        }
    }

    signal(SIGPIPE, SIG_IGN);

    snprintf(path, sizeof(path), "%s/sim-vcek.key", argv[2]);
    f = fopen(path, "r");
    if (f == NULL) {
        die(path);
    }

    key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);

    leaf = read_cert(argv[2], "sim-vcek.pem");
    root = read_cert(argv[2], "sim-root.pem");

    if (key == NULL || leaf == NULL || root == NULL) {
        fprintf(stderr, "fake-tsm: %s holds no simulated platform\n",
                argv[2]);
        return 1;
    }

    leaf_der = NULL;
    root_der = NULL;
    len = i2d_X509(leaf, &leaf_der);
    i = i2d_X509(root, &root_der);

    /* the certificate table: two entries, a zero entry, then the DER */
    aux_len = 3 * 24 + (size_t) len + (size_t) i;
    aux = calloc(1, aux_len);
    if (aux == NULL) {
        die("calloc");
    }

    memcpy(aux, guid_vcek, 16);
    aux[16] = 72;
    aux[20] = (uint8_t) len;
    aux[21] = (uint8_t) (len >> 8);
    memcpy(aux + 24, guid_ark, 16);
    aux[40] = (uint8_t) (72 + len);
    aux[41] = (uint8_t) ((72 + len) >> 8);
    aux[44] = (uint8_t) i;
    aux[45] = (uint8_t) (i >> 8);
    memcpy(aux + 72, leaf_der, len);
    memcpy(aux + 72 + len, root_der, i);

    snprintf(dir, sizeof(dir), "%s/confer", argv[1]);

    if (mkdir(argv[1], 0700) == -1 && errno != EEXIST) {
        die(argv[1]);
    }

    if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
        die(dir);
    }

    names[0] = "provider";
    names[1] = "generation";
    names[2] = "inblob";
    names[3] = "outblob";
    names[4] = "auxblob";

    for (i = 0; i < 5; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);

        if (mkfifo(path, 0600) == -1) {
            die(path);
        }
    }

    snprintf(path, sizeof(path), "%s/ready", argv[1]);
    f = fopen(path, "w");
    if (f == NULL) {
        die(path);
    }

    fclose(f);

    g = 0;
    infd = -1;

    for ( ;; ) {
        /*
         * inblob's read end is open before the client can get there, so
         * that its non-blocking open for writing finds a reader, as it
         * finds the kernel's attribute
         */
        if (infd != -1) {
            close(infd);
        }

        snprintf(path, sizeof(path), "%s/inblob", dir);
        infd = open(path, O_RDONLY | O_NONBLOCK);
        if (infd == -1) {
            die(path);
        }

        snprintf(prov, sizeof(prov), "%s\n", provider);
        if (put(dir, "provider", prov, strlen(prov)) != 0) {
            continue;
        }

        snprintf(gen, sizeof(gen), "%llu\n", (unsigned long long) g);
        if (put(dir, "generation", gen, strlen(gen)) != 0) {
            continue;
        }

        n = get(infd, in, sizeof(in));
        if (n != 64) {
            continue;
        }

        g += race ? 2 : 1;

        memset(&r, 0, sizeof(r));
        r.version = 3;
        r.policy = 1ull << 17 | 1ull << 16;
        r.signature_algo = 1;
        memcpy(r.report_data, in, 64);

        if (wrong) {
            r.report_data[0] ^= 0xff;
        }

        memset(r.report_id_ma, 0xff, 32);
        r.current_major = 1;
        r.current_minor = 55;
        r.committed_major = 1;
        r.committed_minor = 55;
        RAND_bytes(r.report_id, 32);

        attest_snp_put(report, &r);

        if (sign_report(key, report) != 0) {
            fprintf(stderr, "fake-tsm: signing failed\n");
            return 1;
        }

        if (put(dir, "outblob", report, sizeof(report)) != 0) {
            continue;
        }

        if (put(dir, "auxblob", aux, no_aux ? 0 : aux_len) != 0) {
            continue;
        }

        snprintf(gen, sizeof(gen), "%llu\n", (unsigned long long) g);
        (void) put(dir, "generation", gen, strlen(gen));

        fprintf(stderr, "fake-tsm: report %llu served\n",
                (unsigned long long) g);
    }

    return 0;
}
