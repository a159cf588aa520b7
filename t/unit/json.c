/*
 * The JSON stripper of confer_strip_fields: only valid JSON texts pass;
 * the named top-level members go (however their names are escaped, every
 * duplicate) and nothing else changes, byte for byte; in place works.
 */

#include "tap.h"
#include "confer_json.h"


#define N(s)  { (const uint8_t *) (s), sizeof(s) - 1 }

static const confer_json_name_t  names[] = {
    N("user"), N("metadata"), N("safety_identifier")
};


static confer_json_rc_t
strip(const char *in, char *out, size_t *len, size_t *dropped)
{
    confer_json_rc_t  rc;

    rc = confer_json_strip((const uint8_t *) in, strlen(in), names, 3,
                           (uint8_t *) out, strlen(in) + 1, len, dropped);
    if (rc == CONFER_JSON_OK) {
        out[*len] = '\0';
    }

    return rc;
}


static void
valid(const char *in, const char *what)
{
    char    out[1024];
    size_t  len, dropped;

    ok(strip(in, out, &len, &dropped) == CONFER_JSON_OK
       && dropped == 0 && strcmp(out, in) == 0,
       "valid, copied as it is: %s", what);
}


static void
invalid(const char *in, confer_json_rc_t want, const char *what)
{
    char              out[1024];
    size_t            len, dropped;
    confer_json_rc_t  rc;

    rc = strip(in, out, &len, &dropped);
    ok(rc == want, "refused (%s): %s", confer_json_strerror(want), what);
    if (rc != want) {
        diag("got %s", confer_json_strerror(rc));
    }
}


static void
strips(const char *in, const char *want, size_t ndropped, const char *what)
{
    char              out[1024], inplace[1024];
    size_t            len, len2, dropped, dropped2;
    confer_json_rc_t  rc, rc2;

    rc = strip(in, out, &len, &dropped);
    ok(rc == CONFER_JSON_OK && strcmp(out, want) == 0
       && dropped == ndropped, "strips: %s", what);
    if (rc != CONFER_JSON_OK || strcmp(out, want) != 0) {
        diag("got \"%s\" (%s)", rc == CONFER_JSON_OK ? out : "",
             confer_json_strerror(rc));
    }

    /* the same in place */
    strcpy(inplace, in);
    rc2 = confer_json_strip((uint8_t *) inplace, strlen(in), names, 3,
                            (uint8_t *) inplace, strlen(in), &len2,
                            &dropped2);
    ok(rc2 == CONFER_JSON_OK && len2 == len && dropped2 == dropped
       && memcmp(inplace, out, len) == 0, "in place too: %s", what);

    /* what is left has nothing more to drop */
    rc2 = strip(out, inplace, &len2, &dropped2);
    ok(rc2 == CONFER_JSON_OK && dropped2 == 0 && strcmp(inplace, out) == 0,
       "the result is valid JSON with nothing left to drop: %s", what);
}


static void
test_valid(void)
{
    valid("{}", "empty object");
    valid("[]", "empty array");
    valid(" { } ", "empty object with spaces");
    valid("0", "a number alone");
    valid("\"text\"", "a string alone");
    valid("null", "null");
    valid("true", "true");
    valid("[false, null, true]", "literals");
    valid("-0", "minus zero");
    valid("[0.7, 1e400, -12.5E-3, 10000000000000000000000000000001]",
          "numbers keep their spelling, also beyond double and int64");
    valid("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"}",
          "every escape, a surrogate pair");
    valid("{\"a\":\"\\ud800\"}", "a lone surrogate escape");
    valid("{\"a\":\"\\u0000\"}", "an escaped NUL");
    valid("{\"k\":\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
          "UTF-8 of two, three and four bytes");
    valid("\t{\r\n \"model\" : \"m\" ,\n \"x\":[ {\"user\":1} ] }\n",
          "whitespace everywhere is kept when nothing is dropped");
    valid("{\"User\":1,\"user \":2,\"users\":3}",
          "names that only look alike stay");
    valid("[{\"user\":1}]", "a top-level array: nothing is dropped");
    valid("{\"a\":{\"user\":1,\"metadata\":{}}}",
          "nested members of those names stay");
}


static void
test_invalid(void)
{
    invalid("", CONFER_JSON_ERR_SYNTAX, "empty input");
    invalid("  \n", CONFER_JSON_ERR_SYNTAX, "whitespace only");
    invalid("{", CONFER_JSON_ERR_SYNTAX, "unterminated object");
    invalid("{\"a\":1,}", CONFER_JSON_ERR_SYNTAX, "trailing comma");
    invalid("[1,]", CONFER_JSON_ERR_SYNTAX, "trailing comma in an array");
    invalid("{\"a\" 1}", CONFER_JSON_ERR_SYNTAX, "no colon");
    invalid("{a:1}", CONFER_JSON_ERR_SYNTAX, "unquoted name");
    invalid("{'a':1}", CONFER_JSON_ERR_SYNTAX, "single quotes");
    invalid("{\"a\":1}{}", CONFER_JSON_ERR_SYNTAX, "two texts");
    invalid("1 2", CONFER_JSON_ERR_SYNTAX, "two numbers");
    invalid("01", CONFER_JSON_ERR_SYNTAX, "leading zero");
    invalid("1.", CONFER_JSON_ERR_SYNTAX, "no digit after the point");
    invalid(".5", CONFER_JSON_ERR_SYNTAX, "no digit before the point");
    invalid("1e", CONFER_JSON_ERR_SYNTAX, "no exponent digits");
    invalid("+1", CONFER_JSON_ERR_SYNTAX, "a plus sign");
    invalid("-", CONFER_JSON_ERR_SYNTAX, "a minus alone");
    invalid("NaN", CONFER_JSON_ERR_SYNTAX, "NaN");
    invalid("[Infinity]", CONFER_JSON_ERR_SYNTAX, "Infinity");
    invalid("tru", CONFER_JSON_ERR_SYNTAX, "a cut literal");
    invalid("nulls", CONFER_JSON_ERR_SYNTAX, "a literal with more");
    invalid("{\"a\":1} // c", CONFER_JSON_ERR_SYNTAX, "a comment");
    invalid("\"a\tb\"", CONFER_JSON_ERR_SYNTAX, "a raw tab in a string");
    invalid("\"a\nb\"", CONFER_JSON_ERR_SYNTAX, "a raw newline in a string");
    invalid("\"\\x41\"", CONFER_JSON_ERR_SYNTAX, "an unknown escape");
    invalid("\"\\u12g4\"", CONFER_JSON_ERR_SYNTAX, "a bad \\u escape");
    invalid("\"\\u12\"", CONFER_JSON_ERR_SYNTAX, "a short \\u escape");
    invalid("\"abc", CONFER_JSON_ERR_SYNTAX, "an unterminated string");
    invalid("\xef\xbb\xbf{}", CONFER_JSON_ERR_SYNTAX, "a byte order mark");
    invalid("\"\xc0\x80\"", CONFER_JSON_ERR_UTF8, "overlong NUL");
    invalid("\"\xe0\x80\xaf\"", CONFER_JSON_ERR_UTF8, "overlong slash");
    invalid("\"\xed\xa0\x80\"", CONFER_JSON_ERR_UTF8, "an encoded surrogate");
    invalid("\"\xf4\x90\x80\x80\"", CONFER_JSON_ERR_UTF8, "above U+10FFFF");
    invalid("\"\xf5\x80\x80\x80\"", CONFER_JSON_ERR_UTF8, "byte F5");
    invalid("\"\xc3\"", CONFER_JSON_ERR_UTF8, "a cut sequence");
    invalid("\"\x80\"", CONFER_JSON_ERR_UTF8, "a lone continuation byte");
    invalid("{\"user\":\"\xff\"}", CONFER_JSON_ERR_UTF8,
            "bad UTF-8 in a member that would be dropped");
    invalid("{\"user\":1,\"a\":}", CONFER_JSON_ERR_SYNTAX,
            "an error after a dropped member");
}


/*
 * Strings are scanned 16 bytes at a time while they are plain ASCII: each
 * kind of byte that ends such a run, at every offset from 0 to 40 of a
 * long string, is still seen for what it is.
 */
static void
test_runs(void)
{
    int                 good;
    char                in[128], out[128];
    size_t              at, k, len, dropped, n;
    confer_json_rc_t    rc;
    static const struct {
        const char        *bytes;
        confer_json_rc_t   want;
        const char        *what;
    } kinds[] = {
        { "\\n", CONFER_JSON_OK, "an escape" },
        { "\\\"", CONFER_JSON_OK, "an escaped quote" },
        { "\x7f", CONFER_JSON_OK, "DEL" },
        { "\xc3\xa9", CONFER_JSON_OK, "two-byte UTF-8" },
        { "\xf0\x9f\x98\x80", CONFER_JSON_OK, "four-byte UTF-8" },
        { "\x1f", CONFER_JSON_ERR_SYNTAX, "a raw control byte" },
        { "\t", CONFER_JSON_ERR_SYNTAX, "a raw tab" },
        { "\xff", CONFER_JSON_ERR_UTF8, "byte FF" },
        { "\x80", CONFER_JSON_ERR_UTF8, "a lone continuation byte" },
        { "\\q", CONFER_JSON_ERR_SYNTAX, "an unknown escape" },
        { "\"", CONFER_JSON_ERR_SYNTAX, "a quote (the string ends early)" },
    };

    for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        good = 1;

        for (at = 0; at <= 40; at++) {
            n = 0;
            n += sprintf(in + n, "{\"content\":\"");
            memset(in + n, 'a', at);
            n += at;
            n += sprintf(in + n, "%s", kinds[k].bytes);
            memset(in + n, 'b', 40 - at);
            n += 40 - at;
            n += sprintf(in + n, "\"}");

            rc = strip(in, out, &len, &dropped);
            good &= rc == kinds[k].want
                    && (rc != CONFER_JSON_OK || strcmp(out, in) == 0);
        }

        ok(good, "%s at offsets 0 to 40 of a long string: %s", kinds[k].what,
           confer_json_strerror(kinds[k].want));
    }
}


static void
test_depth(void)
{
    char              deep[2 * CONFER_JSON_MAX_DEPTH + 8];
    char              out[sizeof(deep)];
    size_t            i, len, dropped;
    confer_json_rc_t  rc;

    for (i = 0; i < CONFER_JSON_MAX_DEPTH; i++) {
        deep[i] = '[';
        deep[2 * CONFER_JSON_MAX_DEPTH - 1 - i] = ']';
    }
    deep[2 * CONFER_JSON_MAX_DEPTH] = '\0';

    rc = strip(deep, out, &len, &dropped);
    ok(rc == CONFER_JSON_OK, "nesting of %d is accepted",
       CONFER_JSON_MAX_DEPTH);

    memmove(deep + 1, deep, 2 * CONFER_JSON_MAX_DEPTH + 1);
    deep[0] = '[';
    strcat(deep, "]");

    rc = strip(deep, out, &len, &dropped);
    ok(rc == CONFER_JSON_ERR_DEPTH, "nesting of %d is refused",
       CONFER_JSON_MAX_DEPTH + 1);
}


static void
test_strip(void)
{
    strips("{\"model\":\"m\",\"user\":\"u-1\",\"messages\":[]}",
           "{\"model\":\"m\",\"messages\":[]}", 1, "a member in the middle");
    strips("{\"user\":\"u\",\"model\":\"m\"}", "{\"model\":\"m\"}", 1,
           "the first member");
    strips("{\"model\":\"m\",\"user\":\"u\"}", "{\"model\":\"m\"}", 1,
           "the last member");
    strips("{\"user\":\"u\"}", "{}", 1, "the only member");
    strips("{\"user\":1,\"metadata\":{\"a\":[1,2]},\"safety_identifier\":\"s\"}",
           "{}", 3, "all three, one with a nested value");
    strips("{\"user\":1,\"a\":2,\"user\":3,\"b\":4,\"user\":5}",
           "{\"a\":2,\"b\":4}", 3, "every duplicate");
    strips("{\"us\\u0065r\":\"u\",\"a\":1}", "{\"a\":1}", 1,
           "a name written with an escape");
    strips("{\"meta\\u0064ata\":{},\"\\u0075ser\":0,\"a\":1}", "{\"a\":1}",
           2, "two names with escapes");
    strips("{\"a\":0.7,\"user\":\"x\",\"b\":1e400,\"c\":\"\\u00e9\"}",
           "{\"a\":0.7,\"b\":1e400,\"c\":\"\\u00e9\"}", 1,
           "kept values keep their spelling");
    strips("{\n  \"model\": \"m\",\n  \"user\": \"u\",\n  \"n\": 1\n}\n",
           "{\n  \"model\": \"m\",\n  \"n\": 1\n}\n", 1,
           "pretty-printed: the kept lines stay as they were");
    strips("  {\"user\" : \"u\" , \"n\" : 1 }  ", "  { \"n\" : 1 }  ", 1,
           "spaces before and after the object stay");
    strips("{\"a\":{\"user\":1},\"user\":2}", "{\"a\":{\"user\":1}}", 1,
           "only the top level is stripped");
}


static void
test_args(void)
{
    uint8_t           out[4];
    size_t            len, dropped;
    confer_json_rc_t  rc;

    rc = confer_json_strip((const uint8_t *) "{\"a\":1}", 7, names, 3, out,
                           sizeof(out), &len, &dropped);
    ok(rc == CONFER_JSON_ERR_SPACE && len == 7,
       "an output smaller than the input is refused, with the size needed");

    rc = confer_json_strip(NULL, 0, NULL, 0, NULL, 0, &len, &dropped);
    ok(rc == CONFER_JSON_ERR_SYNTAX, "no input: not a JSON text");

    ok(strcmp(confer_json_strerror(CONFER_JSON_ERR_UTF8), "bad_utf8") == 0
       && strcmp(confer_json_strerror(CONFER_JSON_ERR_LAST), "unknown") == 0,
       "error names");
}


int
main(void)
{
    test_valid();
    test_invalid();
    test_depth();
    test_runs();
    test_strip();
    test_args();

    return done_testing();
}
