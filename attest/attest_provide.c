/*
 * attest/: the terminator's document from its providers (attest_provide.h
 * has the contracts): GPU evidence from a command, a unix socket or the
 * simulated platform, collateral files, and the document around the CPU
 * evidence.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "attest_gpu.h"
#include "attest_int.h"
#include "attest_provide.h"
#include "attest_tdx.h"
#include "attest_tsm.h"
#include "attest_x509.h"


#define ATTEST_PROVIDE_FILE_MAX    (1024 * 1024)
#define ATTEST_PROVIDE_ERR_KEEP    1024      /* the tail of stderr kept */
#define ATTEST_PROVIDE_KILL_WAIT   1000      /* ms to reap a killed tool */


/* what the tool gets of an environment: it runs as nginx's master, often
 * root, and inherits nothing by chance (a wrapper sets what it needs) */
#define ATTEST_PROVIDE_PATH \
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


/* what one descriptor brings in */
typedef struct {
    int         fd;
    uint8_t    *p;
    size_t      n;
    size_t      cap;
    size_t      max;            /* more is an error ... */
    int         tail;           /* ... or, set, only the tail is kept */
    int         eof;
} attest_sink_t;


static attest_err_t attest_provide_fail(char *msg, size_t msg_len,
    attest_err_t rc, const char *fmt, ...);
static long long attest_provide_ms(void);
static int attest_sink_read(attest_sink_t *s);
static void attest_gpu_child(const char *path, char *const argv[],
    char *const envp[], int in, int out, int err, int status);
static void attest_gpu_kill(pid_t pid);
static void attest_gpu_stderr(attest_sink_t *s, char *line, size_t n);
static attest_err_t attest_provide_read(const char *dir, const char *name,
    int optional, uint8_t **p, size_t *n, char *msg, size_t msg_len);
static attest_err_t attest_provide_either(const char *dir, const char *base,
    int optional, uint8_t **p, size_t *n, char *path, size_t path_len,
    char *msg, size_t msg_len);
static attest_err_t attest_collateral_crl(attest_collateral_t *c,
    const char *dir, const char *base, attest_blob_t *b, int slot,
    char *msg, size_t msg_len);
static attest_err_t attest_collateral_tdx(attest_collateral_t *c,
    const char *dir, char *msg, size_t msg_len);
static attest_err_t attest_collateral_chain(attest_collateral_t *c,
    const char *dir, char *msg, size_t msg_len);
static size_t attest_url_decode(const uint8_t *p, size_t n, uint8_t *out);
static attest_err_t attest_provide_policy(const attest_provider_t *pr,
    attest_policy_t **pol, char *msg, size_t msg_len);
static attest_err_t attest_provide_gpu(const attest_provider_t *pr,
    const attest_sim_t *sim, const uint8_t *sim_root,
    const uint8_t nonce[32], uint8_t **json, size_t *len,
    attest_provided_t *info, char *msg, size_t msg_len);
static attest_err_t attest_provide_sim(const attest_sim_t *sim,
    const uint8_t *ohttp_keys, size_t n, uint64_t not_after,
    attest_doc_parsed_t *d, char *msg, size_t msg_len);
static void attest_provide_check(const attest_policy_t *pol,
    const uint8_t *doc, size_t len, attest_provided_t *info);


static attest_err_t
attest_provide_fail(char *msg, size_t msg_len, attest_err_t rc,
    const char *fmt, ...)
{
    va_list  ap;

    if (msg != NULL && msg_len > 0) {
        va_start(ap, fmt);
        vsnprintf(msg, msg_len, fmt, ap);
        va_end(ap);
    }

    return rc;
}


static long long
attest_provide_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* 1: something read, 0: EOF or nothing now, -1: error (errno), -2: over
 * the limit */
static int
attest_sink_read(attest_sink_t *s)
{
    size_t    ncap;
    ssize_t   r;
    uint8_t  *np;

    if (s->n == s->cap) {
        if (s->tail && s->cap >= s->max) {
            /* keep the second half: the last lines say what went wrong */
            memmove(s->p, s->p + s->cap / 2, s->cap - s->cap / 2);
            s->n = s->cap - s->cap / 2;

        } else {
            if (s->cap >= s->max) {
                return -2;
            }

            ncap = s->cap ? s->cap * 2 : 4096;
            if (ncap > s->max) {
                ncap = s->max;
            }

            np = realloc(s->p, ncap);
            if (np == NULL) {
                errno = ENOMEM;
                return -1;
            }

            s->p = np;
            s->cap = ncap;
        }
    }

    r = read(s->fd, s->p + s->n, s->cap - s->n);

    if (r > 0) {
        s->n += (size_t) r;
        return 1;
    }

    if (r == 0) {
        s->eof = 1;
        return 0;
    }

    if (errno == EAGAIN || errno == EINTR) {
        return 0;
    }

    return -1;
}


/*
 * Between fork() and execve(): async-signal-safe calls only.  Every
 * descriptor but the three standard ones is closed by the exec (nginx's
 * listening sockets and logs stay with nginx), signals are as a fresh
 * process has them (nginx's master blocks and ignores some), and the tool
 * leads its own process group, so that a timeout kills what it started.
 */
static void
attest_gpu_child(const char *path, char *const argv[], char *const envp[],
    int in, int out, int err, int status)
{
    int               i, e;
    ssize_t           w;
    sigset_t          set;
    struct sigaction  sa;

    (void) setpgid(0, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;

    for (i = 1; i < NSIG; i++) {
        (void) sigaction(i, &sa, NULL);      /* KILL, STOP: EINVAL */
    }

    sigemptyset(&set);
    (void) sigprocmask(SIG_SETMASK, &set, NULL);

    if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1) {
        goto failed;
    }

    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1) {
        for (i = 3; i < 65536; i++) {
            (void) fcntl(i, F_SETFD, FD_CLOEXEC);
        }
    }

    execve(path, argv, envp);

failed:

    e = errno;
    w = write(status, &e, sizeof(e));
    _exit(w == (ssize_t) sizeof(e) ? 127 : 126);
}


static void
attest_gpu_kill(pid_t pid)
{
    long long  until;

    (void) kill(-pid, SIGKILL);
    (void) kill(pid, SIGKILL);

    /* a process in an uninterruptible sleep (a driver call) may take a
     * moment; one that never comes back is left to the master's reaping */
    until = attest_provide_ms() + ATTEST_PROVIDE_KILL_WAIT;

    while (waitpid(pid, NULL, WNOHANG) == 0
           && attest_provide_ms() < until)
    {
        (void) poll(NULL, 0, 10);
    }
}


/* the last non-empty line of what the tool said on stderr, printable */
static void
attest_gpu_stderr(attest_sink_t *s, char *line, size_t n)
{
    size_t  end, start, i, k;

    line[0] = '\0';

    end = s->n;

    while (end > 0 && (s->p[end - 1] == '\n' || s->p[end - 1] == '\r'
                       || s->p[end - 1] == ' '))
    {
        end--;
    }

    start = end;

    while (start > 0 && s->p[start - 1] != '\n') {
        start--;
    }

    for (i = start, k = 0; i < end && k + 1 < n; i++) {
        line[k++] = (s->p[i] >= 0x20 && s->p[i] < 0x7f) ? (char) s->p[i]
                                                         : '?';
    }

    line[k] = '\0';
}


attest_err_t
attest_gpu_command(const char *path, const uint8_t nonce[32],
    unsigned timeout_ms, uint8_t **out, size_t *len, char *msg,
    size_t msg_len)
{
    int              o[2], e[2], x[2], in, st, err, r, i, nfds;
    char             hex[65], line[200], tz[256], *argv[3], *envp[3];
    const char      *z;
    pid_t            pid, w;
    ssize_t          got;
    long long        deadline, left;
    attest_err_t     rc;
    attest_sink_t    sink[2];
    struct pollfd    pfd[2];

    *out = NULL;
    *len = 0;

    attest_hex(nonce, 32, hex);

    argv[0] = (char *) path;
    argv[1] = hex;
    argv[2] = NULL;

    /* nginx keeps TZ for its workers too */
    envp[0] = ATTEST_PROVIDE_PATH;
    envp[1] = NULL;
    envp[2] = NULL;

    z = getenv("TZ");

    if (z != NULL && strlen(z) < sizeof(tz) - 3) {
        snprintf(tz, sizeof(tz), "TZ=%s", z);
        envp[1] = tz;
    }

    o[0] = o[1] = e[0] = e[1] = x[0] = x[1] = -1;

    in = open("/dev/null", O_RDONLY | O_CLOEXEC);

    if (in == -1 || pipe2(o, O_CLOEXEC) == -1 || pipe2(e, O_CLOEXEC) == -1
        || pipe2(x, O_CLOEXEC) == -1)
    {
        rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INTERNAL,
                                 "pipe: %s", strerror(errno));
        goto close;
    }

    deadline = attest_provide_ms() + timeout_ms;

    pid = fork();

    if (pid == -1) {
        rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INTERNAL,
                                 "fork: %s", strerror(errno));
        goto close;
    }

    if (pid == 0) {
        attest_gpu_child(path, argv, envp, in, o[1], e[1], x[1]);
    }

    close(o[1]);
    close(e[1]);
    close(x[1]);
    o[1] = e[1] = x[1] = -1;

    /* EOF once the exec closed it; an errno when the exec failed */
    do {
        got = read(x[0], &err, sizeof(err));
    } while (got == -1 && errno == EINTR);

    if (got == (ssize_t) sizeof(err)) {
        (void) waitpid(pid, NULL, 0);
        rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                 "cannot run it: %s", strerror(err));
        goto close;
    }

    memset(sink, 0, sizeof(sink));
    sink[0].fd = o[0];
    sink[0].max = ATTEST_PROVIDE_GPU_MAX;
    sink[1].fd = e[0];
    sink[1].max = ATTEST_PROVIDE_ERR_KEEP;
    sink[1].tail = 1;

    (void) fcntl(o[0], F_SETFL, O_NONBLOCK);
    (void) fcntl(e[0], F_SETFL, O_NONBLOCK);

    rc = ATTEST_OK;

    /* both outputs to their end, then the exit status, by the deadline */
    while (!sink[0].eof || !sink[1].eof) {
        left = deadline - attest_provide_ms();

        if (left <= 0) {
            attest_gpu_kill(pid);
            rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                     "no answer within %u ms: killed",
                                     timeout_ms);
            goto done;
        }

        nfds = 0;

        for (i = 0; i < 2; i++) {
            if (!sink[i].eof) {
                pfd[nfds].fd = sink[i].fd;
                pfd[nfds].events = POLLIN;
                pfd[nfds].revents = 0;
                nfds++;
            }
        }

        if (poll(pfd, nfds, (int) left) == -1 && errno != EINTR) {
            attest_gpu_kill(pid);
            rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INTERNAL,
                                     "poll: %s", strerror(errno));
            goto done;
        }

        for (i = 0; i < 2; i++) {
            if (sink[i].eof) {
                continue;
            }

            r = attest_sink_read(&sink[i]);

            if (r == -2) {
                attest_gpu_kill(pid);
                rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                         "it printed more than %d bytes",
                                         ATTEST_PROVIDE_GPU_MAX);
                goto done;
            }

            if (r == -1) {
                attest_gpu_kill(pid);
                rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INTERNAL,
                                         "read: %s", strerror(errno));
                goto done;
            }
        }
    }

    for ( ;; ) {
        w = waitpid(pid, &st, WNOHANG);

        if (w == pid) {
            break;
        }

        if (w == -1 && errno != EINTR) {
            rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INTERNAL,
                                     "waitpid: %s", strerror(errno));
            goto done;
        }

        left = deadline - attest_provide_ms();

        if (left <= 0) {
            attest_gpu_kill(pid);
            rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                     "it did not exit within %u ms: killed",
                                     timeout_ms);
            goto done;
        }

        (void) poll(NULL, 0, left < 10 ? (int) left : 10);
    }

    attest_gpu_stderr(&sink[1], line, sizeof(line));

    if (WIFSIGNALED(st)) {
        rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                 "killed by signal %d%s%s", WTERMSIG(st),
                                 line[0] ? ": " : "", line);
        goto done;
    }

    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                 "exit status %d%s%s", WEXITSTATUS(st),
                                 line[0] ? ": " : "", line);
        goto done;
    }

    if (sink[0].n == 0) {
        rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                 "it printed nothing%s%s",
                                 line[0] ? ": " : "", line);
        goto done;
    }

    *out = sink[0].p;
    *len = sink[0].n;
    sink[0].p = NULL;

done:

    free(sink[0].p);
    free(sink[1].p);

close:

    for (i = 0; i < 2; i++) {
        if (o[i] != -1) {
            close(o[i]);
        }
        if (e[i] != -1) {
            close(e[i]);
        }
        if (x[i] != -1) {
            close(x[i]);
        }
    }

    if (in != -1) {
        close(in);
    }

    return rc;
}


attest_err_t
attest_gpu_unix(const char *path, const uint8_t nonce[32],
    unsigned timeout_ms, uint8_t **out, size_t *len, char *msg,
    size_t msg_len)
{
    int                  fd, r;
    char                 req[66];
    ssize_t              w;
    long long            deadline, left;
    attest_err_t         rc;
    attest_sink_t        sink;
    struct pollfd        pfd;
    struct sockaddr_un   sa;

    *out = NULL;
    *len = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        return attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                   "the socket path is too long");
    }

    strcpy(sa.sun_path, path);

    attest_hex(nonce, 32, req);
    req[64] = '\n';
    req[65] = '\0';

    deadline = attest_provide_ms() + timeout_ms;

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        return attest_provide_fail(msg, msg_len, ATTEST_ERR_INTERNAL,
                                   "socket: %s", strerror(errno));
    }

    /* a unix socket connects at once or not at all (EAGAIN: backlog) */
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == -1) {
        rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                 "connect: %s", strerror(errno));
        close(fd);
        return rc;
    }

    w = send(fd, req, 65, MSG_NOSIGNAL);

    if (w != 65) {
        rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                 "sending the nonce: %s",
                                 w == -1 ? strerror(errno) : "short write");
        close(fd);
        return rc;
    }

    (void) shutdown(fd, SHUT_WR);

    memset(&sink, 0, sizeof(sink));
    sink.fd = fd;
    sink.max = ATTEST_PROVIDE_GPU_MAX;

    rc = ATTEST_OK;

    while (!sink.eof) {
        left = deadline - attest_provide_ms();

        if (left <= 0) {
            rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                     "no answer within %u ms", timeout_ms);
            break;
        }

        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;

        if (poll(&pfd, 1, (int) left) == -1 && errno != EINTR) {
            rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INTERNAL,
                                     "poll: %s", strerror(errno));
            break;
        }

        r = attest_sink_read(&sink);

        if (r == -2) {
            rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                     "it sent more than %d bytes",
                                     ATTEST_PROVIDE_GPU_MAX);
            break;
        }

        if (r == -1) {
            rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                     "read: %s", strerror(errno));
            break;
        }
    }

    close(fd);

    if (rc == ATTEST_OK && sink.n == 0) {
        rc = attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                 "it sent nothing");
    }

    if (rc != ATTEST_OK) {
        free(sink.p);
        return rc;
    }

    *out = sink.p;
    *len = sink.n;

    return ATTEST_OK;
}


/* DIR/NAME into *p (malloc()ed); an optional file may be absent.  Opened
 * non-blocking: a FIFO in its place is refused, not waited on. */
static attest_err_t
attest_provide_read(const char *dir, const char *name, int optional,
    uint8_t **p, size_t *n, char *msg, size_t msg_len)
{
    int           fd;
    char          path[4096];
    size_t        got;
    ssize_t       r;
    uint8_t      *buf;
    struct stat   sb;

    *p = NULL;
    *n = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd == -1) {
        if (optional && errno == ENOENT) {
            return ATTEST_OK;
        }

        return attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT, "%s: %s",
                                   path, strerror(errno));
    }

    if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)
        || sb.st_size == 0 || sb.st_size > ATTEST_PROVIDE_FILE_MAX)
    {
        close(fd);
        return attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT, "%s: %s",
                                   path, "not a file of 1 byte to 1 MiB");
    }

    buf = malloc((size_t) sb.st_size);
    if (buf == NULL) {
        close(fd);
        return ATTEST_ERR_NOMEM;
    }

    for (got = 0; got < (size_t) sb.st_size; got += (size_t) r) {
        r = read(fd, buf + got, (size_t) sb.st_size - got);

        if (r == -1 && errno == EINTR) {
            r = 0;
            continue;
        }

        if (r <= 0) {
            break;
        }
    }

    close(fd);

    if (got != (size_t) sb.st_size) {
        free(buf);
        return attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                   "%s: short read", path);
    }

    *p = buf;
    *n = got;

    return ATTEST_OK;
}


/* BASE.der or BASE.pem, whichever exists (both: an error, which one
 * would be meant is unclear) */
static attest_err_t
attest_provide_either(const char *dir, const char *base, int optional,
    uint8_t **p, size_t *n, char *path, size_t path_len, char *msg,
    size_t msg_len)
{
    int           der, pem;
    char          name[64];
    struct stat   sb;

    *p = NULL;
    *n = 0;

    snprintf(path, path_len, "%s/%s.der", dir, base);
    der = stat(path, &sb) == 0;
    snprintf(path, path_len, "%s/%s.pem", dir, base);
    pem = stat(path, &sb) == 0;

    if (der && pem) {
        return attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                   "%s/%s.der and %s.pem both exist: keep "
                                   "one", dir, base, base);
    }

    if (!der && !pem) {
        if (optional) {
            return ATTEST_OK;
        }

        snprintf(path, path_len, "%s/%s.der", dir, base);
        return attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                   "%s: %s (or %s.pem)", path,
                                   strerror(ENOENT), base);
    }

    snprintf(name, sizeof(name), "%s.%s", base, der ? "der" : "pem");
    snprintf(path, path_len, "%s/%s", dir, name);

    return attest_provide_read(dir, name, 0, p, n, msg, msg_len);
}


/* a CRL file: parsed, its nextUpdate noted */
static attest_err_t
attest_collateral_crl(attest_collateral_t *c, const char *dir,
    const char *base, attest_blob_t *b, int slot, char *msg,
    size_t msg_len)
{
    char                path[4096];
    time_t              t;
    X509_CRL           *crl;
    attest_err_t        rc;
    const ASN1_TIME    *next;

    rc = attest_provide_either(dir, base, 0, &c->mem[slot], &b->n, path,
                               sizeof(path), msg, msg_len);
    if (rc != ATTEST_OK) {
        return rc;
    }

    b->p = c->mem[slot];

    if (attest_x509_crl_load(b->p, b->n, &crl) != ATTEST_OK) {
        return attest_provide_fail(msg, msg_len, ATTEST_ERR_CRL,
                                   "%s: not a CRL (DER or PEM)", path);
    }

    next = X509_CRL_get0_nextUpdate(crl);

    if (next != NULL && attest_asn1_time(next, &t) == 0) {
        attest_min_time(&c->next_update, t);
    }

    X509_CRL_free(crl);
    ERR_clear_error();

    c->nfiles++;

    return ATTEST_OK;
}


static size_t
attest_url_decode(const uint8_t *p, size_t n, uint8_t *out)
{
    int     hi, lo;
    size_t  i, k;

    for (i = 0, k = 0; i < n; i++) {
        if (p[i] == '%' && i + 2 < n) {
            hi = p[i + 1] <= '9' ? p[i + 1] - '0' : (p[i + 1] | 0x20) - 'a'
                                                    + 10;
            lo = p[i + 2] <= '9' ? p[i + 2] - '0' : (p[i + 2] | 0x20) - 'a'
                                                    + 10;

            if (hi >= 0 && hi < 16 && lo >= 0 && lo < 16) {
                out[k++] = (uint8_t) (hi << 4 | lo);
                i += 2;
                continue;
            }
        }

        out[k++] = p[i];
    }

    return k;
}


/* Intel PCS collateral (Intel SGX/TDX PCS API v4) */
static attest_err_t
attest_collateral_tdx(attest_collateral_t *c, const char *dir, char *msg,
    size_t msg_len)
{
    X509                       *certs[ATTEST_X509_MAX_CHAIN];
    size_t                      ncerts, dn;
    uint8_t                    *dec;
    attest_err_t                rc;
    attest_tdx_tcb_info_t      *ti;
    attest_tdx_qe_identity_t   *qi;

    rc = attest_provide_read(dir, "tcb_info.json", 0, &c->mem[0],
                             &c->tcb_info.n, msg, msg_len);
    if (rc != ATTEST_OK) {
        return rc;
    }

    c->tcb_info.p = c->mem[0];
    c->nfiles++;

    ti = malloc(sizeof(attest_tdx_tcb_info_t));
    if (ti == NULL) {
        return ATTEST_ERR_NOMEM;
    }

    rc = attest_tdx_tcb_info_parse(c->tcb_info.p, c->tcb_info.n, ti);

    if (rc == ATTEST_OK) {
        attest_min_time(&c->next_update, ti->next_update);
    }

    free(ti);

    if (rc != ATTEST_OK) {
        return attest_provide_fail(msg, msg_len, rc, "%s/tcb_info.json: not "
                                   "Intel's TDX TCB Info (%s)", dir,
                                   attest_strerror(rc));
    }

    rc = attest_provide_read(dir, "qe_identity.json", 0, &c->mem[1],
                             &c->qe_identity.n, msg, msg_len);
    if (rc != ATTEST_OK) {
        return rc;
    }

    c->qe_identity.p = c->mem[1];
    c->nfiles++;

    qi = malloc(sizeof(attest_tdx_qe_identity_t));
    if (qi == NULL) {
        return ATTEST_ERR_NOMEM;
    }

    rc = attest_tdx_qe_identity_parse(c->qe_identity.p, c->qe_identity.n,
                                      qi);
    if (rc == ATTEST_OK) {
        attest_min_time(&c->next_update, qi->next_update);
    }

    free(qi);

    if (rc != ATTEST_OK) {
        return attest_provide_fail(msg, msg_len, rc, "%s/qe_identity.json: "
                                   "not Intel's QE Identity (%s)", dir,
                                   attest_strerror(rc));
    }

    rc = attest_provide_read(dir, "tcb_signing_chain.pem", 0, &c->mem[2],
                             &c->tcb_signing_chain.n, msg, msg_len);
    if (rc != ATTEST_OK) {
        return rc;
    }

    c->tcb_signing_chain.p = c->mem[2];
    c->nfiles++;

    /* as the TCB-Info-Issuer-Chain header comes, URL-encoded, or not */
    dec = malloc(c->tcb_signing_chain.n);
    if (dec == NULL) {
        return ATTEST_ERR_NOMEM;
    }

    dn = attest_url_decode(c->tcb_signing_chain.p, c->tcb_signing_chain.n,
                           dec);
    ncerts = 0;
    rc = attest_x509_load(dec, dn, certs, ATTEST_X509_MAX_CHAIN, &ncerts);
    free(dec);

    if (rc == ATTEST_OK) {
        attest_x509_free(certs, ncerts);
    }

    ERR_clear_error();

    if (rc != ATTEST_OK || ncerts < 2) {
        return attest_provide_fail(msg, msg_len, ATTEST_ERR_CERT,
                                   "%s/tcb_signing_chain.pem: not the TCB "
                                   "signing certificate and the root (PEM)",
                                   dir);
    }

    rc = attest_collateral_crl(c, dir, "pck_crl", &c->pck_crl, 3, msg,
                               msg_len);
    if (rc != ATTEST_OK) {
        return rc;
    }

    return attest_collateral_crl(c, dir, "root_crl", &c->root_crl, 4, msg,
                                 msg_len);
}


/* ask_ark.pem: the chain above the VCEK, as AMD KDS serves it */
static attest_err_t
attest_collateral_chain(attest_collateral_t *c, const char *dir, char *msg,
    size_t msg_len)
{
    int            len;
    X509          *certs[ATTEST_MAX_CERTS];
    size_t         i, n, total, off;
    uint8_t       *p, *der;
    attest_err_t   rc;

    rc = attest_provide_read(dir, "ask_ark.pem", 1, &p, &n, msg, msg_len);
    if (rc != ATTEST_OK || p == NULL) {
        return rc;
    }

    c->nfiles++;

    /* the leaf goes in front: one place less */
    rc = attest_x509_load(p, n, certs, ATTEST_MAX_CERTS - 1, &c->nchain);
    free(p);
    ERR_clear_error();

    if (rc != ATTEST_OK) {
        c->nchain = 0;
        return attest_provide_fail(msg, msg_len, ATTEST_ERR_CERT,
                                   "%s/ask_ark.pem: not PEM certificates "
                                   "(ASK or ASVK, then ARK; at most %d)", dir,
                                   ATTEST_MAX_CERTS - 1);
    }

    total = 0;

    for (i = 0; i < c->nchain; i++) {
        len = i2d_X509(certs[i], NULL);
        total += len > 0 ? (size_t) len : 0;
    }

    c->mem[5] = malloc(total ? total : 1);
    if (c->mem[5] == NULL) {
        attest_x509_free(certs, c->nchain);
        c->nchain = 0;
        return ATTEST_ERR_NOMEM;
    }

    off = 0;

    for (i = 0; i < c->nchain; i++) {
        der = c->mem[5] + off;
        len = i2d_X509(certs[i], &der);

        c->chain[i].p = c->mem[5] + off;
        c->chain[i].n = len > 0 ? (size_t) len : 0;
        off += c->chain[i].n;
    }

    attest_x509_free(certs, c->nchain);

    return ATTEST_OK;
}


attest_err_t
attest_collateral_load(const char *dir, attest_platform_t platform,
    attest_collateral_t *c, char *msg, size_t msg_len)
{
    attest_err_t  rc;

    memset(c, 0, sizeof(attest_collateral_t));

    switch (platform) {

    case ATTEST_PLATFORM_TDX:
        return attest_collateral_tdx(c, dir, msg, msg_len);

    case ATTEST_PLATFORM_SEV_SNP:
        rc = attest_collateral_crl(c, dir, "ark_crl", &c->root_crl, 4, msg,
                                   msg_len);
        if (rc != ATTEST_OK) {
            return rc;
        }

        return attest_collateral_chain(c, dir, msg, msg_len);

    case ATTEST_PLATFORM_SIMULATED:
        return attest_collateral_crl(c, dir, "ark_crl", &c->root_crl, 4, msg,
                                     msg_len);

    default:
        return attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                   "no collateral for this platform");
    }
}


void
attest_collateral_free(attest_collateral_t *c)
{
    size_t  i;

    for (i = 0; i < sizeof(c->mem) / sizeof(c->mem[0]); i++) {
        free(c->mem[i]);
    }

    memset(c, 0, sizeof(attest_collateral_t));
}


/*
 * The policy the document is checked with here: what a gateway's would
 * have to accept at least.  Its simulated root is also the one simulated
 * GPUs are verified against.
 */
static attest_err_t
attest_provide_policy(const attest_provider_t *pr, attest_policy_t **pol,
    char *msg, size_t msg_len)
{
    char          path[4096], *s;
    json_t       *o;
    attest_err_t  rc;

    o = json_object();
    if (o == NULL) {
        return ATTEST_ERR_NOMEM;
    }

    json_object_set_new(o, "allow_debug", json_true());

    if (pr->sim_dir != NULL) {
        snprintf(path, sizeof(path), "%s/sim-root.pem", pr->sim_dir);
        json_object_set_new(o, "allow_simulated", json_true());
        json_object_set_new(o, "simulated_root", json_string(path));
    }

    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);

    if (s == NULL) {
        return ATTEST_ERR_NOMEM;
    }

    rc = attest_policy_parse((uint8_t *) s, strlen(s), NULL, pol, msg,
                             msg_len);
    free(s);

    return rc;
}


static attest_err_t
attest_provide_gpu(const attest_provider_t *pr, const attest_sim_t *sim,
    const uint8_t *sim_root, const uint8_t nonce[32], uint8_t **json,
    size_t *len, attest_provided_t *info, char *msg, size_t msg_len)
{
    char                  detail[200];
    size_t                i, count, need;
    uint8_t              *p, *mem;
    attest_err_t          rc;
    attest_evidence_t    *ev;
    attest_gpu_entry_t   *e;

    *json = NULL;
    *len = 0;
    p = NULL;

    switch (pr->gpu) {

    case ATTEST_GPU_SOURCE_SIMULATED:
        if (sim == NULL) {
            return attest_provide_fail(msg, msg_len, ATTEST_ERR_INPUT,
                                       "simulated GPUs need the simulated "
                                       "platform (simulated=DIR)");
        }

        need = 0;
        rc = attest_sim_gpu_evidence(sim, nonce, pr->gpu_count, NULL, 0,
                                     &need);

        if (rc == ATTEST_ERR_UNSUPPORTED) {
            return attest_provide_fail(msg, msg_len, rc, "%s has no "
                                       "simulated GPUs: it was made by an "
                                       "older confer-attest simulate init",
                                       pr->sim_dir);
        }

        if (rc != ATTEST_ERR_NOMEM || need == 0) {
            return attest_provide_fail(msg, msg_len, rc, "simulated GPU "
                                       "evidence failed");
        }

        p = malloc(need);
        if (p == NULL) {
            return ATTEST_ERR_NOMEM;
        }

        rc = attest_sim_gpu_evidence(sim, nonce, pr->gpu_count, p, need,
                                     len);
        if (rc != ATTEST_OK) {
            free(p);
            return attest_provide_fail(msg, msg_len, rc, "simulated GPU "
                                       "evidence failed");
        }

        break;

    case ATTEST_GPU_SOURCE_COMMAND:
        rc = attest_gpu_command(pr->gpu_path, nonce, pr->gpu_timeout_ms, &p,
                                len, msg, msg_len);
        if (rc != ATTEST_OK) {
            return rc;
        }

        break;

    case ATTEST_GPU_SOURCE_UNIX:
        rc = attest_gpu_unix(pr->gpu_path, nonce, pr->gpu_timeout_ms, &p,
                             len, msg, msg_len);
        if (rc != ATTEST_OK) {
            return rc;
        }

        break;

    default:
        return ATTEST_OK;
    }

    /* verified here: what would fail every gateway fails now */
    e = malloc(ATTEST_MAX_GPUS * sizeof(attest_gpu_entry_t));
    ev = calloc(1, sizeof(attest_evidence_t));
    mem = NULL;

    if (e == NULL || ev == NULL) {
        rc = ATTEST_ERR_NOMEM;
        goto done;
    }

    detail[0] = '\0';

    rc = attest_gpu_evidence_parse(p, *len, e, ATTEST_MAX_GPUS, &count,
                                   &mem, detail, sizeof(detail));
    if (rc != ATTEST_OK) {
        attest_provide_fail(msg, msg_len, rc, "not NVIDIA evidence JSON: %s",
                            detail[0] ? detail : attest_strerror(rc));
        goto done;
    }

    rc = attest_gpu_verify_list(e, count, nonce, sim_root, time(NULL), ev,
                                detail, sizeof(detail));
    if (rc != ATTEST_OK) {
        attest_provide_fail(msg, msg_len, rc, "the evidence does not "
                            "verify: %s", detail);
        goto done;
    }

    for (i = 0; i < ev->ngpu; i++) {
        if (ev->gpu[i].kind == ATTEST_GPU_SWITCH) {
            info->nswitch++;

        } else {
            info->ngpu++;
        }
    }

done:

    free(mem);
    free(ev);
    free(e);

    if (rc != ATTEST_OK) {
        free(p);
        *len = 0;
        return rc;
    }

    *json = p;

    return ATTEST_OK;
}


/* the simulated report and certificates, parsed back out of the document
 * attest_sim makes, so that they are put together like real ones */
static attest_err_t
attest_provide_sim(const attest_sim_t *sim, const uint8_t *ohttp_keys,
    size_t n, uint64_t not_after, attest_doc_parsed_t *d, char *msg,
    size_t msg_len)
{
    char          detail[128];
    size_t        cap, len;
    uint8_t      *out;
    attest_err_t  rc;

    cap = 16384;

    for ( ;; ) {
        out = malloc(cap);
        if (out == NULL) {
            return ATTEST_ERR_NOMEM;
        }

        rc = attest_sim_document(sim, ohttp_keys, n, not_after, out, cap,
                                 &len);

        if (rc != ATTEST_ERR_NOMEM || len <= cap) {
            break;
        }

        free(out);
        cap = len;
    }

    if (rc == ATTEST_OK) {
        rc = attest_doc_parse(out, len, d, detail, sizeof(detail));
    }

    free(out);

    if (rc != ATTEST_OK) {
        return attest_provide_fail(msg, msg_len, rc, "the simulated report "
                                   "failed");
    }

    return ATTEST_OK;
}


static void
attest_provide_check(const attest_policy_t *pol, const uint8_t *doc,
    size_t len, attest_provided_t *info)
{
    attest_verdict_t  *v;

    v = malloc(sizeof(attest_verdict_t));
    if (v == NULL) {
        info->check = ATTEST_ERR_NOMEM;
        return;
    }

    info->check = attest_verify_document(doc, len, pol, time(NULL), v);

    memcpy(info->check_detail, v->detail, sizeof(info->check_detail));
    info->check_detail[sizeof(info->check_detail) - 1] = '\0';
    memcpy(info->tcb_status, v->ev.tcb_status, sizeof(info->tcb_status));
    info->tcb_status[sizeof(info->tcb_status) - 1] = '\0';

    free(v);
}


attest_err_t
attest_provide_document(const attest_provider_t *pr,
    const uint8_t *ohttp_keys, size_t n, uint64_t not_after, uint8_t **doc,
    size_t *len, attest_provided_t *info, char *msg, size_t msg_len)
{
    char                    dummy[1];
    size_t                  i, need, gpu_len;
    uint8_t                 rd[64], nonce[32], *gpu, *out;
    attest_err_t            rc;
    attest_sim_t           *sim;
    attest_doc_t            d;
    attest_blob_t           certs[ATTEST_MAX_CERTS];
    const uint8_t          *sim_root;
    attest_policy_t        *pol;
    attest_collateral_t     col;
    attest_doc_parsed_t     sd;
    attest_tsm_evidence_t   tsm;

    *doc = NULL;
    *len = 0;

    if (msg == NULL || msg_len == 0) {
        msg = dummy;
        msg_len = sizeof(dummy);
    }

    msg[0] = '\0';

    memset(info, 0, sizeof(attest_provided_t));
    memset(&col, 0, sizeof(attest_collateral_t));
    memset(&sd, 0, sizeof(attest_doc_parsed_t));
    memset(&tsm, 0, sizeof(attest_tsm_evidence_t));

    sim = NULL;
    pol = NULL;
    gpu = NULL;
    gpu_len = 0;

    /* one binding for the CPU's report_data and the GPUs' nonce */
    attest_binding(ohttp_keys, n, not_after, rd);
    attest_gpu_nonce(rd, nonce);

    info->stage = ATTEST_STAGE_CPU;

    if (pr->sim_dir != NULL) {
        rc = attest_sim_load(pr->sim_dir, &sim, msg, msg_len);
        if (rc != ATTEST_OK) {
            if (msg[0] == '\0') {
                attest_provide_fail(msg, msg_len, rc, "cannot load");
            }
            goto done;
        }

        rc = attest_provide_sim(sim, ohttp_keys, n, not_after, &sd, msg,
                                msg_len);
        if (rc != ATTEST_OK) {
            goto done;
        }

        info->platform = ATTEST_PLATFORM_SIMULATED;

    } else {
        rc = attest_tsm_evidence(pr->tsm_root, pr->tsm_timeout_ms,
                                 pr->certs_pem, rd, &tsm, msg, msg_len);
        if (rc != ATTEST_OK) {
            goto done;
        }

        info->platform = tsm.platform;
    }

    rc = attest_provide_policy(pr, &pol, msg, msg_len);
    if (rc != ATTEST_OK) {
        goto done;
    }

    if (!attest_policy_simulated(pol, &sim_root)) {
        sim_root = NULL;
    }

    if (pr->gpu != ATTEST_GPU_SOURCE_NONE) {
        info->stage = ATTEST_STAGE_GPU;

        rc = attest_provide_gpu(pr, sim, sim_root, nonce, &gpu, &gpu_len,
                                info, msg, msg_len);
        if (rc != ATTEST_OK) {
            goto done;
        }
    }

    if (pr->collateral_dir != NULL) {
        info->stage = ATTEST_STAGE_COLLATERAL;

        rc = attest_collateral_load(pr->collateral_dir, info->platform, &col,
                                    msg, msg_len);
        if (rc != ATTEST_OK) {
            goto done;
        }

        info->ncollateral = col.nfiles;
        info->next_update = col.next_update;
    }

    info->stage = ATTEST_STAGE_DOCUMENT;

    memset(&d, 0, sizeof(attest_doc_t));
    d.platform = info->platform;
    d.not_after = not_after;
    d.ohttp_keys.p = ohttp_keys;
    d.ohttp_keys.n = n;

    if (sim != NULL) {
        d.evidence = sd.evidence;
        memcpy(certs, sd.certs, sizeof(certs));
        d.ncerts = sd.ncerts;

    } else {
        d.evidence = tsm.evidence;
        memcpy(certs, tsm.certs, sizeof(certs));
        d.ncerts = tsm.ncerts;
    }

    /* AMD KDS's chain above the VCEK (or VLEK), in place of the host's */
    if (col.nchain > 0 && d.ncerts > 0) {
        for (i = 0; i < col.nchain; i++) {
            certs[1 + i] = col.chain[i];
        }

        d.ncerts = 1 + col.nchain;
    }

    d.certs = certs;

    if (info->platform == ATTEST_PLATFORM_TDX) {
        d.tcb_info = col.tcb_info;
        d.qe_identity = col.qe_identity;
        d.tcb_signing_chain = col.tcb_signing_chain;
        d.pck_crl = col.pck_crl;
    }

    d.root_crl = col.root_crl;
    d.gpu.p = gpu;
    d.gpu.n = gpu_len;

    need = 0;
    (void) attest_doc_build(&d, NULL, 0, &need);

    out = need ? malloc(need) : NULL;
    if (out == NULL) {
        rc = need ? ATTEST_ERR_NOMEM : ATTEST_ERR_INPUT;
        attest_provide_fail(msg, msg_len, rc, "building the document "
                            "failed");
        goto done;
    }

    rc = attest_doc_build(&d, out, need, len);
    if (rc != ATTEST_OK) {
        free(out);
        *len = 0;
        attest_provide_fail(msg, msg_len, rc, "building the document "
                            "failed");
        goto done;
    }

    *doc = out;

    attest_provide_check(pol, out, *len, info);

    snprintf(msg, msg_len, "%s", attest_platform_name(info->platform));

done:

    free(gpu);
    attest_policy_free(pol);
    attest_collateral_free(&col);
    attest_doc_parsed_free(&sd);
    attest_tsm_evidence_free(&tsm);
    attest_sim_free(sim);

    return rc;
}
