/*
 * The HTTP/1.1 response reader of the attestation fetch: the three ways a
 * body is delimited, input split anywhere, and every refusal.
 */

#include "tap.h"
#include "confer_http1.h"


#define CAP  4096

typedef struct {
    confer_http1_err_t  rc;
    unsigned            status;
    size_t              used;          /* bytes of the input taken in all */
    size_t              body_len;
    uint8_t             body[CAP];
} result_t;


/*
 * Feeds s in pieces of at most `piece` bytes (0: all at once), then
 * signals the end of the connection if the reader still wants more and
 * eof is set.
 */
static void
run(const char *s, size_t n, size_t piece, size_t cap, int eof, result_t *r)
{
    size_t          off, len, used;
    confer_http1_t  h;

    confer_http1_init(&h);
    memset(r, 0, sizeof(result_t));
    r->rc = CONFER_HTTP1_AGAIN;

    for (off = 0; off < n; off += used) {
        len = piece && piece < n - off ? piece : n - off;
        r->rc = confer_http1_parse(&h, (const uint8_t *) s + off, len, &used,
                                   r->body, cap, &r->body_len);
        r->used += used;
        if (r->rc != CONFER_HTTP1_AGAIN) {
            break;
        }
        if (used != len) {
            r->rc = CONFER_HTTP1_ERR_LAST;      /* AGAIN must take it all */
            break;
        }
    }

    if (r->rc == CONFER_HTTP1_AGAIN && eof) {
        r->rc = confer_http1_eof(&h);
    }

    r->status = h.status;
}


/* the whole input, then every split into pieces of 1..n bytes */
static void
check(const char *name, const char *s, confer_http1_err_t want_rc,
    unsigned want_status, const char *want_body, int eof)
{
    int       same;
    size_t    n, piece;
    result_t  whole, cut;

    n = strlen(s);
    run(s, n, 0, CAP, eof, &whole);

    is_int(whole.rc, want_rc, "%s: %s", name,
           confer_http1_strerror(whole.rc));

    if (want_rc == CONFER_HTTP1_DONE) {
        is_int(whole.status, want_status, "%s: status", name);
        is_mem(whole.body, whole.body_len, want_body, strlen(want_body),
               "%s: body", name);
    }

    same = 1;

    for (piece = 1; piece < n; piece++) {
        run(s, n, piece, CAP, eof, &cut);
        if (cut.rc != whole.rc || cut.body_len != whole.body_len
            || memcmp(cut.body, whole.body, whole.body_len) != 0
            || (want_rc == CONFER_HTTP1_DONE && cut.used != whole.used))
        {
            diag("pieces of %zu: %s", piece, confer_http1_strerror(cut.rc));
            same = 0;
            break;
        }
    }

    ok(same, "%s: the same read in pieces of every size", name);
}


int
main(void)
{
    size_t          used, body_len;
    uint8_t         body[CAP];
    result_t        r;
    confer_http1_t  h;
    char            big[CONFER_HTTP1_MAX_HEADER + 100];
    const char     *s;

    /* RFC 9112, 6.3: the three ways a body ends */
    check("content-length",
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          "Content-Length: 11\r\n\r\n{\"a\": true}",
          CONFER_HTTP1_DONE, 200, "{\"a\": true}", 0);

    check("chunked, with extensions and trailers",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "4;name=value\r\n{\"a\"\r\n7 \r\n: true}\r\n"
          "000\r\nX-Trailer: 1\r\n\r\n",
          CONFER_HTTP1_DONE, 200, "{\"a\": true}", 0);

    check("delimited by the end of the connection",
          "HTTP/1.0 200 OK\r\nServer: x\r\n\r\n{\"a\": true}",
          CONFER_HTTP1_DONE, 200, "{\"a\": true}", 1);

    check("bare LF line ends, no reason phrase, odd case",
          "HTTP/1.1 200\nconTENT-length:\t2 \n\nok",
          CONFER_HTTP1_DONE, 200, "ok", 0);

    check("interim responses before the final one",
          "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
          "Link: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
          CONFER_HTTP1_DONE, 200, "ok", 0);

    check("204 has no body whatever it says",
          "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
          CONFER_HTTP1_DONE, 204, "", 0);

    check("a repeated equal Content-Length",
          "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n"
          "Content-Length: 2\r\n\r\nno",
          CONFER_HTTP1_DONE, 404, "no", 0);

    check("an empty chunked body",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
          CONFER_HTTP1_DONE, 200, "", 0);

    /* what comes after the response is not taken */
    s = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
    run(s, strlen(s), 0, CAP, 0, &r);
    is_int(r.rc, CONFER_HTTP1_DONE, "bytes after the response: done");
    is_int(r.used, strlen(s) - 5, "and not taken");

    /* refusals */
    check("HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n",
          CONFER_HTTP1_ERR_STATUS_LINE, 0, "", 1);
    check("two-digit status", "HTTP/1.1 20 OK\r\n\r\n",
          CONFER_HTTP1_ERR_STATUS_LINE, 0, "", 1);
    check("status below 100", "HTTP/1.1 099 x\r\n\r\n",
          CONFER_HTTP1_ERR_STATUS_LINE, 0, "", 1);
    check("not HTTP at all", "<html>hello</html>",
          CONFER_HTTP1_ERR_STATUS_LINE, 0, "", 1);
    check("a control character in the reason",
          "HTTP/1.1 200 O\001K\r\n\r\n", CONFER_HTTP1_ERR_STATUS_LINE, 0,
          "", 1);
    check("obs-fold", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n",
          CONFER_HTTP1_ERR_HEADER, 0, "", 1);
    check("whitespace before the colon",
          "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
          CONFER_HTTP1_ERR_HEADER, 0, "", 1);
    check("an empty field name", "HTTP/1.1 200 OK\r\n: x\r\n\r\n",
          CONFER_HTTP1_ERR_HEADER, 0, "", 1);
    check("CR without LF in a field",
          "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", CONFER_HTTP1_ERR_HEADER, 0,
          "", 1);
    check("DEL in a field value",
          "HTTP/1.1 200 OK\r\nA: b\177c\r\n\r\n", CONFER_HTTP1_ERR_HEADER, 0,
          "", 1);
    run("HTTP/1.1 200 OK\r\nA: b\000c\r\n\r\n", 24, 0, CAP, 1, &r);
    is_int(r.rc, CONFER_HTTP1_ERR_HEADER, "a NUL in a field value");
    check("Content-Length as a list",
          "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
          CONFER_HTTP1_ERR_LENGTH, 0, "", 1);
    check("Content-Length negative",
          "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
          CONFER_HTTP1_ERR_LENGTH, 0, "", 1);
    check("Content-Length empty",
          "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
          CONFER_HTTP1_ERR_LENGTH, 0, "", 1);
    check("two different Content-Lengths",
          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
          CONFER_HTTP1_ERR_LENGTH, 0, "", 1);
    check("Content-Length that overflows",
          "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
          CONFER_HTTP1_ERR_LENGTH, 0, "", 1);
    check("Content-Length and chunked",
          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
          "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
          CONFER_HTTP1_ERR_LENGTH, 0, "", 1);
    check("gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
          CONFER_HTTP1_ERR_ENCODING, 0, "", 1);
    check("chunked twice",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
          "Transfer-Encoding: chunked\r\n\r\n",
          CONFER_HTTP1_ERR_ENCODING, 0, "", 1);
    check("a chunk size that is not hex",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
          CONFER_HTTP1_ERR_CHUNK, 0, "", 1);
    check("a chunk without its CRLF",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "2\r\nokX0\r\n\r\n", CONFER_HTTP1_ERR_CHUNK, 0, "", 1);
    check("a chunk size with 16 digits",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "0000000000000001\r\n", CONFER_HTTP1_ERR_CHUNK, 0, "", 1);
    check("101 upgrade", "HTTP/1.1 101 Switching\r\nUpgrade: x\r\n\r\n",
          CONFER_HTTP1_ERR_UPGRADE, 0, "", 1);

    check("truncated header", "HTTP/1.1 200 OK\r\nContent-Len",
          CONFER_HTTP1_ERR_TRUNCATED, 0, "", 1);
    check("truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok",
          CONFER_HTTP1_ERR_TRUNCATED, 0, "", 1);
    check("truncated chunked body",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n",
          CONFER_HTTP1_ERR_TRUNCATED, 0, "", 1);
    check("nothing at all", "", CONFER_HTTP1_ERR_TRUNCATED, 0, "", 1);

    /* the size cap, whichever way the body is delimited */
    s = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    run(s, strlen(s), 0, 9, 0, &r);
    is_int(r.rc, CONFER_HTTP1_ERR_BODY_TOO_LARGE,
           "a Content-Length over the cap is refused before the body");
    run(s, strlen(s), 0, 10, 0, &r);
    is_int(r.rc, CONFER_HTTP1_DONE, "one exactly at the cap is read");

    s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n";
    run(s, strlen(s), 0, 9, 0, &r);
    is_int(r.rc, CONFER_HTTP1_ERR_BODY_TOO_LARGE, "chunks over the cap");
    run(s, strlen(s), 3, 10, 0, &r);
    is_int(r.rc, CONFER_HTTP1_DONE, "chunks at the cap, in pieces");

    s = "HTTP/1.1 200 OK\r\n\r\n0123456789";
    run(s, strlen(s), 4, 9, 1, &r);
    is_int(r.rc, CONFER_HTTP1_ERR_BODY_TOO_LARGE,
           "a close-delimited body over the cap");

    /* the header section limit */
    memset(big, 'a', sizeof(big));
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    big[sizeof(big) - 1] = '\0';
    run(big, strlen(big), 1000, CAP, 1, &r);
    is_int(r.rc, CONFER_HTTP1_ERR_HEADER_TOO_LARGE,
           "a header section over %d bytes", CONFER_HTTP1_MAX_HEADER);

    /* an error is final */
    confer_http1_init(&h);
    body_len = 0;
    is_int(confer_http1_parse(&h, (const uint8_t *) "XTTP", 4, &used, body,
                              CAP, &body_len),
           CONFER_HTTP1_ERR_STATUS_LINE, "an error");
    is_int(confer_http1_parse(&h, (const uint8_t *) "HTTP/1.1 200 OK\r\n", 17,
                              &used, body, CAP, &body_len),
           CONFER_HTTP1_ERR_STATUS_LINE, "stays an error");
    is_int(confer_http1_eof(&h), CONFER_HTTP1_ERR_STATUS_LINE,
           "also at the end of the connection");

    ok(strcmp(confer_http1_strerror(CONFER_HTTP1_ERR_LAST), "unknown error")
       == 0, "strerror of an unknown code");

    return done_testing();
}
