/*
 * Binary HTTP (RFC 9292): the RFC's own examples decode to what the RFC
 * says and our encoders write them byte for byte; every way of splitting
 * the input gives the same events; invalid and truncated messages fail with
 * their named error; encoders report the space they need.
 */

#include "tap.h"
#include "bhttp_log.h"
#include "confer_bhttp.h"


/* RFC 9292, Figure 8: known-length request */
static const char  *fig8 =
    "0003474554056874747073000a2f68656c6c6f2e747874406c0a757365722d6167656e"
    "74346375726c2f372e31362e33206c69626375726c2f372e31362e33204f70656e5353"
    "4c2f302e392e376c207a6c69622f312e322e3304686f73740f7777772e6578616d706c"
    "652e636f6d0f6163636570742d6c616e677561676506656e2c206d690000";

/* RFC 9292, Figure 9: the same, indeterminate-length, 10 bytes of padding */
static const char  *fig9 =
    "0203474554056874747073000a2f68656c6c6f2e7478740a757365722d6167656e7434"
    "6375726c2f372e31362e33206c69626375726c2f372e31362e33204f70656e53534c2f"
    "302e392e376c207a6c69622f312e322e3304686f73740f7777772e6578616d706c652e"
    "636f6d0f6163636570742d6c616e677561676506656e2c206d69000000000000000000"
    "00000000";

/* RFC 9292, Figure 11: indeterminate-length response, 102 and 103 first */
static const char  *fig11 =
    "0340660772756e6e696e670a22736c65657020313522004067046c696e6b233c2f7374"
    "796c652e6373733e3b2072656c3d7072656c6f61643b2061733d7374796c65046c696e"
    "6b243c2f7363726970742e6a733e3b2072656c3d7072656c6f61643b2061733d736372"
    "6970740040c804646174651d4d6f6e2c203237204a756c20323030392031323a32383a"
    "353320474d5406736572766572064170616368650d6c6173742d6d6f6469666965641d"
    "5765642c203232204a756c20323030392031393a31353a353620474d54046574616714"
    "22333461613338372d642d3135363865623030220d6163636570742d72616e67657305"
    "62797465730e636f6e74656e742d6c656e67746802353104766172790f416363657074"
    "2d456e636f64696e670c636f6e74656e742d747970650a746578742f706c61696e0033"
    "48656c6c6f20576f726c6421204d7920636f6e74656e7420696e636c75646573206120"
    "747261696c696e672043524c462e0d0a0000";

/* RFC 9292, Figure 13: known-length response with a trailer */
static const char  *fig13 =
    "0140c8001d5468697320636f6e74656e7420636f6e7461696e732043524c462e0d0a0d"
    "07747261696c65720474657874";

static const char  *fig8_log =
    "request GET https  /hello.txt\n"
    "field user-agent: curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l "
    "zlib/1.2.3\n"
    "field host: www.example.com\n"
    "field accept-language: en, mi\n"
    "headers-end\n"
    "end\n"
    "= done\n";

static const char  *fig11_log =
    "info 102\n"
    "info-field running: \"sleep 15\"\n"
    "info-end\n"
    "info 103\n"
    "info-field link: </style.css>; rel=preload; as=style\n"
    "info-field link: </script.js>; rel=preload; as=script\n"
    "info-end\n"
    "status 200\n"
    "field date: Mon, 27 Jul 2009 12:28:53 GMT\n"
    "field server: Apache\n"
    "field last-modified: Wed, 22 Jul 2009 19:15:56 GMT\n"
    "field etag: \"34aa387-d-1568eb00\"\n"
    "field accept-ranges: bytes\n"
    "field content-length: 51\n"
    "field vary: Accept-Encoding\n"
    "field content-type: text/plain\n"
    "headers-end\n"
    "content Hello World! My content includes a trailing CRLF.\\x0d\\x0a\n"
    "end\n"
    "= done\n";

static const char  *fig13_log =
    "status 200\n"
    "headers-end\n"
    "content This content contains CRLF.\\x0d\\x0a\n"
    "trailer trailer: text\n"
    "end\n"
    "= done\n";


static uint64_t  rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}


static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
    long  n;

    n = tap_unhex(hex, out, cap);
    if (n < 0) {
        printf("Bail out! bad hex in the test\n");
        exit(1);
    }

    return (size_t) n;
}


/* the log of one decoding, fed whole; the caller frees it */
static char *
decode_log(int response, const uint8_t *p, size_t n,
    const confer_bhttp_limits_t *limits, size_t scratch)
{
    blog_t  l;

    memset(&l, 0, sizeof(l));
    blog_decode(&l, response, p, n, NULL, 0, limits, scratch);
    return l.buf;
}


/*
 * Decodes p whole, byte by byte, cut in two at every offset and cut at
 * random; returns 1 when every log equals the whole one (and want, if
 * given).
 */
static int
split_invariant(int response, const uint8_t *p, size_t n, const char *want,
    const confer_bhttp_limits_t *limits, const char *what)
{
    int      same;
    char    *whole;
    size_t   i, k, nc, *cuts;
    blog_t   l;

    whole = decode_log(response, p, n, limits, CONFER_BHTTP_SCRATCH_DEFAULT);
    same = 1;

    if (want && strcmp(whole, want) != 0) {
        diag("%s: got\n%s# want\n%s", what, whole, want);
        same = 0;
    }

    cuts = malloc((n + 1) * sizeof(size_t));

    /* byte by byte */
    for (i = 0; i < n; i++) {
        cuts[i] = i;
    }

    memset(&l, 0, sizeof(l));
    blog_decode(&l, response, p, n, cuts, n, limits,
                CONFER_BHTTP_SCRATCH_DEFAULT);
    if (strcmp(l.buf, whole) != 0) {
        diag("%s: byte by byte differs:\n%s", what, l.buf);
        same = 0;
    }
    free(l.buf);

    /* in two, at every offset, with an empty piece too */
    for (i = 0; i <= n && same; i++) {
        cuts[0] = i;
        cuts[1] = i;
        memset(&l, 0, sizeof(l));
        blog_decode(&l, response, p, n, cuts, 2, limits,
                    CONFER_BHTTP_SCRATCH_DEFAULT);
        if (strcmp(l.buf, whole) != 0) {
            diag("%s: cut at %zu differs:\n%s", what, i, l.buf);
            same = 0;
        }
        free(l.buf);
    }

    /* at random */
    for (k = 0; k < 50 && same && n > 0; k++) {
        nc = 0;
        for (i = 0; i < n; i++) {
            if (rng() % 4 == 0) {
                cuts[nc++] = i;
            }
        }

        memset(&l, 0, sizeof(l));
        blog_decode(&l, response, p, n, cuts, nc, limits,
                    CONFER_BHTTP_SCRATCH_DEFAULT);
        if (strcmp(l.buf, whole) != 0) {
            diag("%s: random cuts differ:\n%s", what, l.buf);
            same = 0;
        }
        free(l.buf);
    }

    free(cuts);
    free(whole);

    return ok(same, "%s", what);
}


/* the result line of a decoding fed whole */
static int
decodes_to(int response, const uint8_t *p, size_t n,
    const confer_bhttp_limits_t *limits, confer_bhttp_rc_t want,
    const char *what)
{
    char        *log, *res;
    const char  *name;
    int          pass;

    log = decode_log(response, p, n, limits, CONFER_BHTTP_SCRATCH_DEFAULT);
    res = strstr(log, "= ");
    name = confer_bhttp_strerror(want);
    pass = res && strncmp(res + 2, name, strlen(name)) == 0
           && res[2 + strlen(name)] == '\n';

    ok(pass, "%s: %s", what, name);
    if (!pass) {
        diag("log:\n%s", log);
    }

    free(log);
    return pass;
}


static int
decodes_hex(int response, const char *hex, confer_bhttp_rc_t want,
    const char *what)
{
    uint8_t  buf[4096];
    size_t   n;

    n = unhex(hex, buf, sizeof(buf));
    split_invariant(response, buf, n, NULL, NULL, what);
    return decodes_to(response, buf, n, NULL, want, what);
}


#define S(s)  { (const uint8_t *) (s), sizeof(s) - 1 }
#define F(n, v)  { S(n), S(v) }


static void
test_rfc_examples(void)
{
    uint8_t                  m[1024], out[1024];
    size_t                   n, n9, len, i;
    char                     hex[64];
    confer_bhttp_rc_t        rc;
    confer_bhttp_stream_t    s;
    confer_bhttp_request_t   req;
    confer_bhttp_response_t  res;
    confer_bhttp_info_t      info[2];

    static const confer_bhttp_field_t  hello[] = {
        F("user-agent", "curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l "
                        "zlib/1.2.3"),
        F("host", "www.example.com"),
        F("accept-language", "en, mi")
    };
    static const confer_bhttp_field_t  running[] = {
        F("running", "\"sleep 15\"")
    };
    static const confer_bhttp_field_t  links[] = {
        F("link", "</style.css>; rel=preload; as=style"),
        F("link", "</script.js>; rel=preload; as=script")
    };
    static const confer_bhttp_field_t  headers11[] = {
        F("date", "Mon, 27 Jul 2009 12:28:53 GMT"),
        F("server", "Apache"),
        F("last-modified", "Wed, 22 Jul 2009 19:15:56 GMT"),
        F("etag", "\"34aa387-d-1568eb00\""),
        F("accept-ranges", "bytes"),
        F("content-length", "51"),
        F("vary", "Accept-Encoding"),
        F("content-type", "text/plain")
    };
    static const confer_bhttp_field_t  trailer13[] = {
        F("trailer", "text")
    };
    static const char  body11[] =
        "Hello World! My content includes a trailing CRLF.\r\n";
    static const char  body13[] = "This content contains CRLF.\r\n";

    /* Figure 8 */
    n = unhex(fig8, m, sizeof(m));
    split_invariant(0, m, n, fig8_log, NULL,
                    "RFC 9292 Figure 8 decodes, however split");

    memset(&req, 0, sizeof(req));
    req.method = (confer_bhttp_str_t) S("GET");
    req.scheme = (confer_bhttp_str_t) S("https");
    req.path = (confer_bhttp_str_t) S("/hello.txt");
    req.headers = hello;
    req.nheaders = 3;

    rc = confer_bhttp_encode_request(&req, CONFER_BHTTP_KNOWN_REQUEST, 0,
                                     out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_OK, "Figure 8 encodes");
    is_mem(out, len, m, n, "our known-length request is Figure 8 exactly");

    /* truncation of empty content and trailers, RFC 9292, 3.8 */
    split_invariant(0, m, n - 1, fig8_log, NULL,
                    "Figure 8 without its trailer section means the same");
    split_invariant(0, m, n - 2, fig8_log, NULL,
                    "Figure 8 without content and trailers: the same");
    decodes_to(0, m, n - 3, NULL, CONFER_BHTTP_ERR_TRUNCATED,
               "Figure 8 cut inside its header section");
    decodes_to(0, m, 8, NULL, CONFER_BHTTP_ERR_TRUNCATED,
               "Figure 8 cut inside its control data");
    decodes_to(0, m, 0, NULL, CONFER_BHTTP_ERR_TRUNCATED, "empty input");

    /* a framing indicator written in two bytes is still 0 (RFC 9000, 16) */
    out[0] = 0x40;
    out[1] = 0x00;
    memcpy(out + 2, m + 1, n - 1);
    split_invariant(0, out, n + 1, fig8_log, NULL,
                    "a two-byte framing indicator decodes");

    /* Figure 9 */
    n9 = unhex(fig9, m, sizeof(m));
    split_invariant(0, m, n9, fig8_log, NULL,
                    "Figure 9 means the same as Figure 8");
    for (i = 1; i <= 12; i++) {
        snprintf(hex, sizeof(hex), "Figure 9 less %zu bytes is the same", i);
        split_invariant(0, m, n9 - i, fig8_log, NULL, hex);
    }
    decodes_to(0, m, n9 - 13, NULL, CONFER_BHTTP_ERR_TRUNCATED,
               "Figure 9 without its header terminator");

    rc = confer_bhttp_encode_request(&req, CONFER_BHTTP_INDETERMINATE_REQUEST,
                                     10, out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_OK, "Figure 9 encodes");
    is_mem(out, len, m, n9, "our indeterminate request is Figure 9 exactly");

    m[n9 - 1] = 1;
    decodes_to(0, m, n9, NULL, CONFER_BHTTP_ERR_PADDING,
               "Figure 9 with a non-zero padding byte");
    split_invariant(0, m, n9, NULL, NULL,
                    "the padding error is the same however split");

    /* Figure 11 */
    n = unhex(fig11, m, sizeof(m));
    split_invariant(1, m, n, fig11_log, NULL,
                    "RFC 9292 Figure 11 decodes, however split");

    confer_bhttp_stream_init(&s);
    len = 0;
    rc = confer_bhttp_stream_info(&s, 102, running, 1, out, sizeof(out), &i);
    len += i;
    rc |= confer_bhttp_stream_info(&s, 103, links, 2, out + len,
                                   sizeof(out) - len, &i);
    len += i;
    rc |= confer_bhttp_stream_begin(&s, 200, headers11, 8, out + len,
                                    sizeof(out) - len, &i);
    len += i;
    rc |= confer_bhttp_stream_content(&s, (const uint8_t *) body11,
                                      sizeof(body11) - 1, out + len,
                                      sizeof(out) - len, &i);
    len += i;
    rc |= confer_bhttp_stream_end(&s, NULL, 0, 0, out + len,
                                  sizeof(out) - len, &i);
    len += i;
    is_int(rc, CONFER_BHTTP_OK, "Figure 11 streams out");
    is_mem(out, len, m, n, "our streamed response is Figure 11 exactly");

    memset(&res, 0, sizeof(res));
    info[0].status = 102;
    info[0].fields = running;
    info[0].nfields = 1;
    info[1].status = 103;
    info[1].fields = links;
    info[1].nfields = 2;
    res.info = info;
    res.ninfo = 2;
    res.status = 200;
    res.headers = headers11;
    res.nheaders = 8;
    res.content = (const uint8_t *) body11;
    res.content_len = sizeof(body11) - 1;
    rc = confer_bhttp_encode_response(&res,
                                      CONFER_BHTTP_INDETERMINATE_RESPONSE, 0,
                                      out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_OK, "Figure 11 encodes whole");
    is_mem(out, len, m, n, "the whole-message encoder gives Figure 11 too");

    rc = confer_bhttp_encode_response(&res, CONFER_BHTTP_KNOWN_RESPONSE, 0,
                                      out, sizeof(out), &len);
    split_invariant(1, out, len, fig11_log, NULL,
                    "Figure 11 in known-length form decodes the same");

    /* Figure 13 */
    n = unhex(fig13, m, sizeof(m));
    split_invariant(1, m, n, fig13_log, NULL,
                    "RFC 9292 Figure 13 decodes, however split");

    memset(&res, 0, sizeof(res));
    res.status = 200;
    res.content = (const uint8_t *) body13;
    res.content_len = sizeof(body13) - 1;
    res.trailers = trailer13;
    res.ntrailers = 1;
    rc = confer_bhttp_encode_response(&res, CONFER_BHTTP_KNOWN_RESPONSE, 0,
                                      out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_OK, "Figure 13 encodes");
    is_mem(out, len, m, n, "our known-length response is Figure 13 exactly");

    /* RFC 9458, Appendix A: a request and a response truncated at once */
    n = unhex("00034745540568747470730b6578616d706c652e636f6d012f", m,
              sizeof(m));
    split_invariant(0, m, n,
                    "request GET https example.com /\nheaders-end\nend\n"
                    "= done\n", NULL,
                    "RFC 9458 A's request, truncated after control data");

    n = unhex("0140c8", m, sizeof(m));
    split_invariant(1, m, n, "status 200\nheaders-end\nend\n= done\n", NULL,
                    "RFC 9458 A's response, truncated after its status");

    memset(&res, 0, sizeof(res));
    res.status = 200;
    rc = confer_bhttp_encode_response(&res, CONFER_BHTTP_KNOWN_RESPONSE, 0,
                                      out, sizeof(out), &len);
    is_mem(out, len, "\x01\x40\xc8\x00\x00\x00", 6,
           "a bare 200 encodes with its three empty sections");
}


/* the content length at HEADERS_END, fed byte by byte */
static uint64_t
length_at_headers_end(int response, const char *hex)
{
    size_t                  n, i, used;
    uint8_t                 m[1024], scratch[512];
    confer_bhttp_rc_t       rc;
    confer_bhttp_event_t    ev;
    confer_bhttp_decoder_t  d;

    n = unhex(hex, m, sizeof(m));
    confer_bhttp_decoder_init(&d, response, scratch, sizeof(scratch), NULL);

    for (i = 0; i <= n; i++) {
        do {
            rc = confer_bhttp_next(&d, m + i, i < n, i == n, &used, &ev);
            if (rc == CONFER_BHTTP_OK
                && ev.type == CONFER_BHTTP_EV_HEADERS_END)
            {
                return d.content_length;
            }
        } while (rc == CONFER_BHTTP_OK && used == 0);
    }

    return 0;
}


static void
test_content_length(void)
{
    is_int(length_at_headers_end(1, fig13), 29,
           "known-length: the content length is there at HEADERS_END");
    ok(length_at_headers_end(1, fig11) == UINT64_MAX,
       "indeterminate-length: no content length");
    ok(length_at_headers_end(1, "0140c8") == UINT64_MAX,
       "truncated after the status: no content length");
    is_int(length_at_headers_end(0, fig8), 0,
           "Figure 8: a content length of zero");
}


/*
 * The decoder writes its scratch only up to d.dirty (the terminator and
 * the gateway wipe that much): fed byte by byte, everything is copied
 * there, and the bytes after it are untouched.
 */
static void
test_scratch_dirty(void)
{
    int                     good;
    size_t                  n, i, used;
    uint8_t                 m[1024], scratch[512];
    confer_bhttp_rc_t       rc;
    confer_bhttp_event_t    ev;
    confer_bhttp_decoder_t  d;

    n = unhex(fig8, m, sizeof(m));
    memset(scratch, 0xa5, sizeof(scratch));
    confer_bhttp_decoder_init(&d, 0, scratch, sizeof(scratch), NULL);

    for (i = 0; i <= n; i++) {
        do {
            rc = confer_bhttp_next(&d, m + i, i < n, i == n, &used, &ev);
        } while (rc == CONFER_BHTTP_OK && used == 0);
    }

    good = d.dirty > 0 && d.dirty < sizeof(scratch);
    for (i = d.dirty; i < sizeof(scratch); i++) {
        good &= scratch[i] == 0xa5;
    }
    ok(good, "Figure 8 byte by byte: scratch written up to %zu, untouched "
       "after", d.dirty);
}


static void
test_invalid(void)
{
    uint8_t                m[512];
    size_t                 n;
    confer_bhttp_limits_t  lim;

    /* framing, RFC 9292, 3.3 */
    decodes_hex(0, "01", CONFER_BHTTP_ERR_FRAMING,
                "a response framing indicator on the request decoder");
    decodes_hex(1, "00", CONFER_BHTTP_ERR_FRAMING,
                "a request framing indicator on the response decoder");
    decodes_hex(0, "04", CONFER_BHTTP_ERR_FRAMING, "framing indicator 4");
    decodes_hex(1, "c000000000000003", 
                CONFER_BHTTP_ERR_TRUNCATED,
                "an 8-byte framing indicator 3 is read, then truncated");

    /* control data, RFC 9292, 3.4 */
    decodes_hex(0, "0004474520540568747470730001" "2f",
                CONFER_BHTTP_ERR_CONTROL, "a method with a space");
    decodes_hex(0, "0000056874747073000" "12f", CONFER_BHTTP_ERR_CONTROL,
                "an empty method");
    decodes_hex(0, "00034745540568747470730003" "2f2061",
                CONFER_BHTTP_ERR_CONTROL, "a path with a space");
    decodes_hex(0, "00034745540568747470730003" "2f0d0a",
                CONFER_BHTTP_ERR_CONTROL, "a path with CR LF");
    decodes_hex(0, "000347455405687474707302" "610a" "012f",
                CONFER_BHTTP_ERR_CONTROL, "an authority with LF");
    decodes_hex(0, "0003474554000000" "000000",
                CONFER_BHTTP_DONE,
                "empty scheme, authority and path are allowed");

    /* field lines, RFC 9292, 3.6 */
    decodes_hex(0, "00034745540568747470730001" "2f" "04" "0141" "01" "78"
                   "0000", CONFER_BHTTP_ERR_FIELD_NAME,
                "an uppercase field name");
    decodes_hex(0, "00034745540568747470730001" "2f" "09"
                   "073a6d6574686f64" "00" "0000",
                CONFER_BHTTP_ERR_FIELD_NAME, "a pseudo-field :method");
    decodes_hex(0, "00034745540568747470730001" "2f" "05" "03612062" "00"
                   "0000", CONFER_BHTTP_ERR_FIELD_NAME,
                "a field name with a space");
    decodes_hex(0, "00034745540568747470730001" "2f" "03" "00" "0178" "0000",
                CONFER_BHTTP_ERR_FIELD_NAME,
                "an empty field name in a known-length section");
    decodes_hex(0, "00034745540568747470730001" "2f" "06" "0178" "03610d0a"
                   "0000", CONFER_BHTTP_ERR_FIELD_VALUE,
                "a field value with CR LF");
    decodes_hex(0, "00034745540568747470730001" "2f" "05" "0178" "026100"
                   "0000", CONFER_BHTTP_ERR_FIELD_VALUE,
                "a field value with NUL");
    decodes_hex(0, "00034745540568747470730001" "2f" "05" "0178" "02" "0961"
                   "0000", CONFER_BHTTP_DONE,
                "a field value with HTAB is fine");
    decodes_hex(0, "00034745540568747470730001" "2f" "03" "0178" "0261"
                   "62" "0000", CONFER_BHTTP_ERR_SECTION,
                "a field line that overruns its section");
    decodes_hex(0, "02034745540568747470730001" "2f" "0178" "0162",
                CONFER_BHTTP_ERR_TRUNCATED,
                "an indeterminate header section with no terminator");

    /* status, RFC 9292, 3.5 */
    decodes_hex(1, "014063", CONFER_BHTTP_ERR_STATUS, "status 99");
    decodes_hex(1, "024258", CONFER_BHTTP_ERR_FRAMING, "framing 2 on a "
                "response");
    decodes_hex(1, "014258", CONFER_BHTTP_ERR_STATUS, "status 600");
    decodes_hex(1, "01406400", CONFER_BHTTP_ERR_TRUNCATED,
                "an informational response and no final one");
    decodes_hex(1, "0340c80000", CONFER_BHTTP_DONE,
                "a 200 with its trailers truncated");
    decodes_hex(1, "0140c805", CONFER_BHTTP_ERR_TRUNCATED,
                "a known-length header section announced, then nothing");
    decodes_hex(1, "0140c8000003", CONFER_BHTTP_ERR_TRUNCATED,
                "a known-length trailer section announced, then nothing");
    decodes_hex(1, "0140c8000000", CONFER_BHTTP_DONE,
                "three empty known-length sections");

    /* content */
    decodes_hex(1, "0340c80003616263", CONFER_BHTTP_ERR_TRUNCATED,
                "a content chunk with no terminator");
    decodes_hex(1, "0140c80005616263", CONFER_BHTTP_ERR_TRUNCATED,
                "known-length content cut short");
    decodes_hex(0, "00034745540568747470730001" "2f00" "bfffffff",
                CONFER_BHTTP_ERR_TRUNCATED,
                "a content length far past the input is not allocated");
    decodes_hex(1, "0140c8000000000000", CONFER_BHTTP_DONE,
                "zero padding is accepted");
    decodes_hex(1, "0140c80000000000ff", CONFER_BHTTP_ERR_PADDING,
                "non-zero padding is refused");

    /* limits */
    memset(&lim, 0, sizeof(lim));
    lim.max_fields = 2;
    n = unhex(fig8, m, sizeof(m));
    decodes_to(0, m, n, &lim, CONFER_BHTTP_ERR_TOO_LARGE,
               "three fields over a limit of two");
    lim.max_fields = 3;
    decodes_to(0, m, n, &lim, CONFER_BHTTP_DONE, "three within three");

    memset(&lim, 0, sizeof(lim));
    lim.max_section = 60;
    decodes_to(0, m, n, &lim, CONFER_BHTTP_ERR_TOO_LARGE,
               "a section over its byte limit");

    memset(&lim, 0, sizeof(lim));
    lim.max_content = 28;
    n = unhex(fig13, m, sizeof(m));
    decodes_to(1, m, n, &lim, CONFER_BHTTP_ERR_TOO_LARGE,
               "content over its limit");
    lim.max_content = 29;
    decodes_to(1, m, n, &lim, CONFER_BHTTP_DONE, "content at its limit");

    memset(&lim, 0, sizeof(lim));
    lim.max_info = 1;
    n = unhex(fig11, m, sizeof(m));
    decodes_to(1, m, n, &lim, CONFER_BHTTP_ERR_TOO_LARGE,
               "two informational responses over a limit of one");

    {
        char    *log;
        blog_t   l;

        memset(&l, 0, sizeof(l));
        n = unhex(fig8, m, sizeof(m));
        blog_decode(&l, 0, m, n, NULL, 0, NULL, 60);
        log = strstr(l.buf, "= ");
        ok(log && strcmp(log, "= too_large\n") == 0,
           "a field line larger than the scratch buffer is too_large");
        free(l.buf);
    }
}


static void
test_encoders(void)
{
    uint8_t                  out[256];
    size_t                   len, need;
    char                    *log;
    confer_bhttp_rc_t        rc;
    confer_bhttp_stream_t    s;
    confer_bhttp_request_t   req;
    confer_bhttp_response_t  res;

    static const confer_bhttp_field_t  mixed[] = {
        F("Content-Type", "application/json")
    };
    static const confer_bhttp_field_t  badname[] = { F("bad name", "x") };
    static const confer_bhttp_field_t  empty[] = { F("", "x") };
    static const confer_bhttp_field_t  pseudo[] = { F(":path", "/") };
    static const confer_bhttp_field_t  badval[] = { F("x", "a\nb") };

    memset(&req, 0, sizeof(req));
    req.method = (confer_bhttp_str_t) S("POST");
    req.scheme = (confer_bhttp_str_t) S("https");
    req.authority = (confer_bhttp_str_t) S("tee.example");
    req.path = (confer_bhttp_str_t) S("/v1/chat/completions");
    req.headers = mixed;
    req.nheaders = 1;
    req.content = (const uint8_t *) "{}";
    req.content_len = 2;

    rc = confer_bhttp_encode_request(&req, CONFER_BHTTP_KNOWN_REQUEST, 0,
                                     NULL, 0, &need);
    is_int(rc, CONFER_BHTTP_ERR_SPACE, "no buffer: no_space");
    rc = confer_bhttp_encode_request(&req, CONFER_BHTTP_KNOWN_REQUEST, 0,
                                     out, need - 1, &len);
    ok(rc == CONFER_BHTTP_ERR_SPACE && len == need,
       "one byte short: no_space and the same size needed");
    rc = confer_bhttp_encode_request(&req, CONFER_BHTTP_KNOWN_REQUEST, 0,
                                     out, need, &len);
    ok(rc == CONFER_BHTTP_OK && len == need, "the size needed is enough");

    log = decode_log(0, out, len, NULL, CONFER_BHTTP_SCRATCH_DEFAULT);
    ok(strcmp(log, "request POST https tee.example /v1/chat/completions\n"
                   "field content-type: application/json\n"
                   "headers-end\ncontent {}\nend\n= done\n") == 0,
       "field names go out in lowercase");
    free(log);

    rc = confer_bhttp_encode_request(&req, CONFER_BHTTP_KNOWN_REQUEST, 100,
                                     out, sizeof(out), &len);
    ok(rc == CONFER_BHTTP_OK && len == need + 100
       && out[len - 1] == 0 && out[need] == 0,
       "padding adds that many zero bytes");

    rc = confer_bhttp_encode_request(&req, CONFER_BHTTP_KNOWN_RESPONSE, 0,
                                     out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_ERR_ARG, "a request with a response framing");

    req.headers = badname;
    rc = confer_bhttp_encode_request(&req, 0, 0, out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_ERR_FIELD_NAME, "a name with a space refused");
    req.headers = empty;
    rc = confer_bhttp_encode_request(&req, 0, 0, out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_ERR_FIELD_NAME, "an empty name refused");
    req.headers = pseudo;
    rc = confer_bhttp_encode_request(&req, 0, 0, out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_ERR_FIELD_NAME, "a pseudo-field refused");
    req.headers = badval;
    rc = confer_bhttp_encode_request(&req, 0, 0, out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_ERR_FIELD_VALUE, "a value with LF refused");
    req.headers = NULL;
    req.nheaders = 0;
    req.path = (confer_bhttp_str_t) S("/a b");
    rc = confer_bhttp_encode_request(&req, 0, 0, out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_ERR_CONTROL, "a path with a space refused");
    req.path = (confer_bhttp_str_t) S("/");
    req.method = (confer_bhttp_str_t) S("");
    rc = confer_bhttp_encode_request(&req, 0, 0, out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_ERR_CONTROL, "an empty method refused");

    memset(&res, 0, sizeof(res));
    res.status = 199;
    rc = confer_bhttp_encode_response(&res, 1, 0, out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_ERR_STATUS, "a final status of 199 refused");
    res.status = 600;
    rc = confer_bhttp_encode_response(&res, 1, 0, out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_ERR_STATUS, "a final status of 600 refused");

    /* streaming */
    confer_bhttp_stream_init(&s);
    rc = confer_bhttp_stream_content(&s, (const uint8_t *) "x", 1, out,
                                     sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_ERR_STATE, "content before begin");
    rc = confer_bhttp_stream_end(&s, NULL, 0, 0, out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_ERR_STATE, "end before begin");
    rc = confer_bhttp_stream_begin(&s, 200, mixed, 1, out, 3, &len);
    ok(rc == CONFER_BHTTP_ERR_SPACE && len == 1 + 2 + 1 + 12 + 1 + 16 + 1,
       "begin reports the size it needs");
    rc = confer_bhttp_stream_begin(&s, 200, mixed, 1, out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_OK, "begin after a no_space is still possible");
    rc = confer_bhttp_stream_info(&s, 100, NULL, 0, out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_ERR_STATE, "informational after begin");
    rc = confer_bhttp_stream_content(&s, (const uint8_t *) "", 0, out,
                                     sizeof(out), &len);
    ok(rc == CONFER_BHTTP_OK && len == 0,
       "an empty piece writes nothing (a zero would end the content)");
    rc = confer_bhttp_stream_content(&s, out, 100, NULL, 0, &len);
    ok(rc == CONFER_BHTTP_ERR_SPACE && len == 102
       && confer_bhttp_chunk_size(100) == 102,
       "a 100-byte chunk needs 102 bytes");
    rc = confer_bhttp_stream_end(&s, NULL, 0, 5, out, sizeof(out), &len);
    ok(rc == CONFER_BHTTP_OK && len == 7
       && memcmp(out, "\0\0\0\0\0\0\0", 7) == 0,
       "end: terminator, empty trailers, five bytes of padding");
    rc = confer_bhttp_stream_end(&s, NULL, 0, 0, out, sizeof(out), &len);
    is_int(rc, CONFER_BHTTP_ERR_STATE, "end twice");
}


/*
 * The head of a known-length request, the content and the zero tail are
 * the message, byte for byte (the gateway seals them without joining
 * them first).
 */
static void
test_request_head(void)
{
    int                     round, good;
    char                    name[6][12], value[6][40], body[3000];
    uint8_t                 whole[4096], head[512], joined[4096];
    size_t                  i, j, nf, len, hlen, tail, pad;
    confer_bhttp_rc_t       rc;
    confer_bhttp_field_t    f[6];
    confer_bhttp_request_t  req;

    good = 1;

    for (round = 0; round < 300; round++) {
        nf = rng() % 6;

        for (i = 0; i < nf; i++) {
            j = 1 + rng() % 10;
            name[i][j] = '\0';
            while (j--) {
                name[i][j] = "abcxyz-_09!~"[rng() % 12];
            }
            j = rng() % 39;
            value[i][j] = '\0';
            while (j--) {
                value[i][j] = (char) (0x20 + rng() % 95);
            }
            f[i].name.data = (const uint8_t *) name[i];
            f[i].name.len = strlen(name[i]);
            f[i].value.data = (const uint8_t *) value[i];
            f[i].value.len = strlen(value[i]);
        }

        /* content lengths across the varint sizes: 0, < 64, < 16384 */
        j = (round % 3 == 0) ? 0 : rng() % (round % 2 ? 63 : sizeof(body));
        for (i = 0; i < j; i++) {
            body[i] = (char) rng();
        }

        pad = (rng() % 2) ? rng() % 300 : 0;

        memset(&req, 0, sizeof(req));
        req.method = (confer_bhttp_str_t) S("POST");
        req.scheme = (confer_bhttp_str_t) S("https");
        req.authority = (confer_bhttp_str_t) S("a.example");
        req.path = (confer_bhttp_str_t) S("/v1/x?y=1");
        req.headers = f;
        req.nheaders = nf;
        req.content = (const uint8_t *) body;
        req.content_len = j;

        rc = confer_bhttp_encode_request(&req, CONFER_BHTTP_KNOWN_REQUEST,
                                         pad, whole, sizeof(whole), &len);
        good &= rc == CONFER_BHTTP_OK;

        req.content = NULL;
        rc = confer_bhttp_encode_request_head(&req, pad, head, sizeof(head),
                                              &hlen, &tail);
        good &= rc == CONFER_BHTTP_OK && hlen + j + tail == len;

        if (good) {
            memcpy(joined, head, hlen);
            memcpy(joined + hlen, body, j);
            memset(joined + hlen + j, 0, tail);
            good &= memcmp(joined, whole, len) == 0;
        }
    }

    ok(good, "head, content and zero tail are the whole known-length "
       "request (300 random ones)");

    req.trailers = f;
    req.ntrailers = 1;
    is_int(confer_bhttp_encode_request_head(&req, 0, head, sizeof(head),
                                            &hlen, &tail),
           CONFER_BHTTP_ERR_ARG, "a request with trailers has no zero tail");
}


/* random messages: encoded any way, decoded any way, the same */
static void
test_random_roundtrip(void)
{
    int                      round, bad, framing;
    char                     name[16][12], value[16][40], body[600];
    uint8_t                 *out;
    size_t                   i, j, nf, nt, len, cap, pad, nc, cuts[64];
    blog_t                   want, got;
    confer_bhttp_rc_t        rc;
    confer_bhttp_field_t     f[16];
    confer_bhttp_request_t   req;
    confer_bhttp_response_t  res;
    confer_bhttp_event_t     ev;

    cap = 4096;
    out = malloc(cap);
    bad = 0;

    for (round = 0; round < 400 && !bad; round++) {
        nf = rng() % 6;
        nt = rng() % 3;

        for (i = 0; i < nf + nt; i++) {
            j = 1 + rng() % 10;
            name[i][j] = '\0';
            while (j--) {
                name[i][j] = "abcxyz-_09!~"[rng() % 12];
            }
            j = rng() % 39;
            value[i][j] = '\0';
            while (j--) {
                value[i][j] = (char) (0x20 + rng() % 95);
            }
            f[i].name.data = (const uint8_t *) name[i];
            f[i].name.len = strlen(name[i]);
            f[i].value.data = (const uint8_t *) value[i];
            f[i].value.len = strlen(value[i]);
        }

        j = (rng() % 3 == 0) ? 0 : rng() % sizeof(body);
        for (i = 0; i < j; i++) {
            body[i] = (char) rng();
        }

        pad = (rng() % 2) ? rng() % 20 : 0;
        memset(&want, 0, sizeof(want));
        memset(&ev, 0, sizeof(ev));

        if (round % 2 == 0) {
            memset(&req, 0, sizeof(req));
            req.method = (confer_bhttp_str_t) S("POST");
            req.scheme = (confer_bhttp_str_t) S("https");
            req.authority = (confer_bhttp_str_t) S("a.example");
            req.path = (confer_bhttp_str_t) S("/v1/x?y=1");
            req.headers = f;
            req.nheaders = nf;
            req.trailers = f + nf;
            req.ntrailers = nt;
            req.content = (const uint8_t *) body;
            req.content_len = j;
            framing = (rng() % 2) ? 0 : 2;
            rc = confer_bhttp_encode_request(&req, framing, pad, out, cap,
                                             &len);

            ev.type = CONFER_BHTTP_EV_REQUEST;
            ev.method = req.method;
            ev.scheme = req.scheme;
            ev.authority = req.authority;
            ev.path = req.path;

        } else {
            memset(&res, 0, sizeof(res));
            res.status = 200 + rng() % 400;
            res.headers = f;
            res.nheaders = nf;
            res.trailers = f + nf;
            res.ntrailers = nt;
            res.content = (const uint8_t *) body;
            res.content_len = j;
            framing = (rng() % 2) ? 1 : 3;
            rc = confer_bhttp_encode_response(&res, framing, pad, out, cap,
                                              &len);

            ev.type = CONFER_BHTTP_EV_STATUS;
            ev.status = res.status;
        }

        if (rc != CONFER_BHTTP_OK) {
            diag("round %d: encoding failed: %s", round,
                 confer_bhttp_strerror(rc));
            bad = 1;
            break;
        }

        /* the log the message must decode to */
        blog_event(&want, &ev);
        for (i = 0; i < nf; i++) {
            memset(&ev, 0, sizeof(ev));
            ev.type = CONFER_BHTTP_EV_FIELD;
            ev.name = f[i].name;
            ev.value = f[i].value;
            blog_event(&want, &ev);
        }
        memset(&ev, 0, sizeof(ev));
        ev.type = CONFER_BHTTP_EV_HEADERS_END;
        blog_event(&want, &ev);
        if (j) {
            ev.type = CONFER_BHTTP_EV_CONTENT;
            ev.data = (const uint8_t *) body;
            ev.len = j;
            blog_event(&want, &ev);
        }
        for (i = nf; i < nf + nt; i++) {
            memset(&ev, 0, sizeof(ev));
            ev.type = CONFER_BHTTP_EV_TRAILER;
            ev.name = f[i].name;
            ev.value = f[i].value;
            blog_event(&want, &ev);
        }
        memset(&ev, 0, sizeof(ev));
        ev.type = CONFER_BHTTP_EV_END;
        blog_event(&want, &ev);
        blog_result(&want, CONFER_BHTTP_DONE);

        nc = 0;
        for (i = 0; i < 64 && len; i++) {
            cuts[nc] = rng() % len;
            if (nc == 0 || cuts[nc] >= cuts[nc - 1]) {
                nc++;
            }
        }

        memset(&got, 0, sizeof(got));
        blog_decode(&got, round % 2, out, len, cuts, nc, NULL,
                    CONFER_BHTTP_SCRATCH_DEFAULT);

        if (strcmp(got.buf, want.buf) != 0) {
            diag("round %d, framing %d: got\n%s# want\n%s", round, framing,
                 got.buf, want.buf);
            bad = 1;
        }

        free(got.buf);
        free(want.buf);
    }

    ok(!bad, "400 random messages, both framings, padded or not, decode to "
       "what was encoded however split");
    free(out);
}


static void
test_strerror(void)
{
    int  i, j, dup;

    dup = 0;
    for (i = 0; i < CONFER_BHTTP_ERR_LAST; i++) {
        for (j = i + 1; j < CONFER_BHTTP_ERR_LAST; j++) {
            dup += strcmp(confer_bhttp_strerror(i),
                          confer_bhttp_strerror(j)) == 0;
        }
        dup += strcmp(confer_bhttp_strerror(i), "unknown") == 0;
    }
    is_int(dup, 0, "every result code has its own name");
    ok(strcmp(confer_bhttp_strerror(CONFER_BHTTP_ERR_LAST), "unknown") == 0,
       "out of range is unknown");
}


int
main(void)
{
    test_rfc_examples();
    test_content_length();
    test_scratch_dirty();
    test_request_head();
    test_invalid();
    test_encoders();
    test_random_roundtrip();
    test_strerror();

    return done_testing();
}
