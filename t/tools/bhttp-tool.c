/*
 * bhttp-tool: our BHTTP codec on the command line, for the interop test
 * against bhttp-js (t/048-bhttp-interop.t).
 *
 *   bhttp-tool decode req|res            BHTTP on stdin, JSON on stdout
 *   bhttp-tool encode req|res FRAMING PADDING
 *                                        JSON on stdin, BHTTP on stdout
 *
 * The JSON form of a message:
 *   { "method", "scheme", "authority", "path"          (requests)
 *     "informational": [ {"status", "headers"} ],
 *     "status",                                        (responses)
 *     "headers": [[name, value], ...],
 *     "content": "hex",
 *     "content_chunks": ["hex", ...],   encode, framing 3: streamed
 *     "trailers": [[name, value], ...] }
 * A decoding error prints {"error": "name"} and exits 1.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "confer_bhttp.h"


#define TOOL_MAX  (16 * 1024 * 1024)


static uint8_t *
read_all(FILE *f, size_t *n)
{
    size_t    cap, got;
    uint8_t  *p;

    cap = 65536;
    p = malloc(cap);
    *n = 0;

    while (p && (got = fread(p + *n, 1, cap - *n, f)) > 0) {
        *n += got;
        if (*n == cap) {
            if (cap >= TOOL_MAX) {
                free(p);
                return NULL;
            }
            cap *= 2;
            p = realloc(p, cap);
        }
    }

    return p;
}


static json_t *
hex_of(const uint8_t *p, size_t n)
{
    char     *h;
    size_t    i;
    json_t   *j;

    h = malloc(2 * n + 1);
    for (i = 0; i < n; i++) {
        snprintf(h + 2 * i, 3, "%02x", p[i]);
    }
    h[2 * n] = '\0';
    j = json_string(h);
    free(h);

    return j;
}


static json_t *
str_of(const confer_bhttp_str_t *s)
{
    json_t  *j;

    j = json_stringn((const char *) s->data, s->len);

    return j ? j : json_string("<not utf-8>");
}


static int
decode(int response)
{
    size_t                  n, off, used, clen;
    uint8_t                *p, *content, scratch[CONFER_BHTTP_SCRATCH_DEFAULT];
    json_t                 *msg, *list, *info, *pair;
    confer_bhttp_rc_t       rc;
    confer_bhttp_event_t    ev;
    confer_bhttp_decoder_t  d;

    p = read_all(stdin, &n);
    if (p == NULL) {
        return 2;
    }

    content = malloc(n + 1);
    clen = 0;
    msg = json_object();
    list = NULL;
    info = NULL;

    confer_bhttp_decoder_init(&d, response, scratch, sizeof(scratch), NULL);
    off = 0;

    for ( ;; ) {
        rc = confer_bhttp_next(&d, p + off, n - off, 1, &used, &ev);
        off += used;

        if (rc != CONFER_BHTTP_OK) {
            break;
        }

        switch (ev.type) {

        case CONFER_BHTTP_EV_REQUEST:
            json_object_set_new(msg, "method", str_of(&ev.method));
            json_object_set_new(msg, "scheme", str_of(&ev.scheme));
            json_object_set_new(msg, "authority", str_of(&ev.authority));
            json_object_set_new(msg, "path", str_of(&ev.path));
            list = json_array();
            json_object_set_new(msg, "headers", list);
            break;

        case CONFER_BHTTP_EV_INFO:
            if (json_object_get(msg, "informational") == NULL) {
                json_object_set_new(msg, "informational", json_array());
            }
            info = json_object();
            json_object_set_new(info, "status", json_integer(ev.status));
            list = json_array();
            json_object_set_new(info, "headers", list);
            json_array_append_new(json_object_get(msg, "informational"),
                                  info);
            break;

        case CONFER_BHTTP_EV_STATUS:
            json_object_set_new(msg, "status", json_integer(ev.status));
            list = json_array();
            json_object_set_new(msg, "headers", list);
            break;

        case CONFER_BHTTP_EV_INFO_FIELD:
        case CONFER_BHTTP_EV_FIELD:
        case CONFER_BHTTP_EV_TRAILER:
            pair = json_array();
            json_array_append_new(pair, str_of(&ev.name));
            json_array_append_new(pair, str_of(&ev.value));
            json_array_append_new(list, pair);
            break;

        case CONFER_BHTTP_EV_HEADERS_END:
            list = json_array();
            json_object_set_new(msg, "trailers", list);
            break;

        case CONFER_BHTTP_EV_CONTENT:
            memcpy(content + clen, ev.data, ev.len);
            clen += ev.len;
            break;

        default:
            break;
        }
    }

    if (rc != CONFER_BHTTP_DONE) {
        json_decref(msg);
        msg = json_object();
        json_object_set_new(msg, "error",
                            json_string(confer_bhttp_strerror(rc)));
        json_dumpf(msg, stdout, JSON_COMPACT);
        printf("\n");
        json_decref(msg);
        free(content);
        free(p);
        return 1;
    }

    json_object_set_new(msg, "content", hex_of(content, clen));
    json_dumpf(msg, stdout, JSON_COMPACT);
    printf("\n");

    json_decref(msg);
    free(content);
    free(p);

    return 0;
}


/* [[name, value], ...] to fields; strings stay owned by the JSON */
static confer_bhttp_field_t *
fields_of(json_t *a, size_t *nf)
{
    size_t                 i;
    json_t                *pair, *name, *value;
    confer_bhttp_field_t  *f;

    *nf = json_is_array(a) ? json_array_size(a) : 0;
    f = calloc(*nf + 1, sizeof(confer_bhttp_field_t));

    for (i = 0; i < *nf; i++) {
        pair = json_array_get(a, i);
        name = json_array_get(pair, 0);
        value = json_array_get(pair, 1);
        f[i].name.data = (const uint8_t *) json_string_value(name);
        f[i].name.len = json_string_length(name);
        f[i].value.data = (const uint8_t *) json_string_value(value);
        f[i].value.len = json_string_length(value);
    }

    return f;
}


static confer_bhttp_str_t
str_get(json_t *o, const char *key)
{
    json_t              *j;
    confer_bhttp_str_t   s;

    j = json_object_get(o, key);
    s.data = (const uint8_t *) (j ? json_string_value(j) : "");
    s.len = j ? json_string_length(j) : 0;

    return s;
}


static uint8_t *
unhex(json_t *j, size_t *n)
{
    size_t       i;
    unsigned     b;
    uint8_t     *p;
    const char  *h;

    h = j ? json_string_value(j) : "";
    *n = strlen(h) / 2;
    p = malloc(*n + 1);

    for (i = 0; i < *n; i++) {
        sscanf(h + 2 * i, "%2x", &b);
        p[i] = (uint8_t) b;
    }

    return p;
}


static int
put(const uint8_t *p, size_t n)
{
    return fwrite(p, 1, n, stdout) == n ? 0 : 2;
}


static int
encode(int response, unsigned framing, size_t padding)
{
    int                       ret;
    size_t                    n, i, len, nh, nt, ni, cl, pl;
    uint8_t                  *in, *out, *content, *piece;
    json_t                   *msg, *chunks, *infos, *it;
    json_error_t              err;
    confer_bhttp_rc_t         rc;
    confer_bhttp_info_t      *info;
    confer_bhttp_field_t     *headers, *trailers;
    confer_bhttp_stream_t     s;
    confer_bhttp_request_t    req;
    confer_bhttp_response_t   res;

    in = read_all(stdin, &n);
    msg = in ? json_loadb((const char *) in, n, 0, &err) : NULL;
    if (msg == NULL) {
        fprintf(stderr, "bhttp-tool: bad JSON input\n");
        return 2;
    }

    headers = fields_of(json_object_get(msg, "headers"), &nh);
    trailers = fields_of(json_object_get(msg, "trailers"), &nt);
    content = unhex(json_object_get(msg, "content"), &cl);
    out = malloc(TOOL_MAX);
    ret = 0;

    infos = json_object_get(msg, "informational");
    ni = json_is_array(infos) ? json_array_size(infos) : 0;
    info = calloc(ni + 1, sizeof(confer_bhttp_info_t));
    for (i = 0; i < ni; i++) {
        it = json_array_get(infos, i);
        info[i].status = json_integer_value(json_object_get(it, "status"));
        info[i].fields = fields_of(json_object_get(it, "headers"),
                                   &info[i].nfields);
    }

    chunks = json_object_get(msg, "content_chunks");

    if (!response) {
        memset(&req, 0, sizeof(req));
        req.method = str_get(msg, "method");
        req.scheme = str_get(msg, "scheme");
        req.authority = str_get(msg, "authority");
        req.path = str_get(msg, "path");
        req.headers = headers;
        req.nheaders = nh;
        req.content = content;
        req.content_len = cl;
        req.trailers = trailers;
        req.ntrailers = nt;
        rc = confer_bhttp_encode_request(&req, framing, padding, out,
                                         TOOL_MAX, &len);
        ret = rc == CONFER_BHTTP_OK ? put(out, len) : 1;

    } else if (framing == CONFER_BHTTP_INDETERMINATE_RESPONSE
               && json_is_array(chunks))
    {
        /* the streaming encoder, one call per piece */
        confer_bhttp_stream_init(&s);
        rc = CONFER_BHTTP_OK;

        for (i = 0; i < ni && rc == CONFER_BHTTP_OK; i++) {
            rc = confer_bhttp_stream_info(&s, info[i].status, info[i].fields,
                                          info[i].nfields, out, TOOL_MAX,
                                          &len);
            ret |= rc == CONFER_BHTTP_OK ? put(out, len) : 0;
        }

        if (rc == CONFER_BHTTP_OK) {
            rc = confer_bhttp_stream_begin(&s, json_integer_value(
                                               json_object_get(msg, "status")),
                                           headers, nh, out, TOOL_MAX, &len);
            ret |= rc == CONFER_BHTTP_OK ? put(out, len) : 0;
        }

        for (i = 0; i < json_array_size(chunks) && rc == CONFER_BHTTP_OK;
             i++)
        {
            piece = unhex(json_array_get(chunks, i), &pl);
            rc = confer_bhttp_stream_content(&s, piece, pl, out, TOOL_MAX,
                                             &len);
            ret |= rc == CONFER_BHTTP_OK ? put(out, len) : 0;
            free(piece);
        }

        if (rc == CONFER_BHTTP_OK) {
            rc = confer_bhttp_stream_end(&s, trailers, nt, padding, out,
                                         TOOL_MAX, &len);
            ret |= rc == CONFER_BHTTP_OK ? put(out, len) : 0;
        }

        if (rc != CONFER_BHTTP_OK) {
            ret = 1;
        }

    } else {
        memset(&res, 0, sizeof(res));
        res.info = info;
        res.ninfo = ni;
        res.status = json_integer_value(json_object_get(msg, "status"));
        res.headers = headers;
        res.nheaders = nh;
        res.content = content;
        res.content_len = cl;
        res.trailers = trailers;
        res.ntrailers = nt;
        rc = confer_bhttp_encode_response(&res, framing, padding, out,
                                          TOOL_MAX, &len);
        ret = rc == CONFER_BHTTP_OK ? put(out, len) : 1;
    }

    if (ret == 1) {
        fprintf(stderr, "bhttp-tool: %s\n", confer_bhttp_strerror(rc));
    }

    for (i = 0; i < ni; i++) {
        free((void *) info[i].fields);
    }
    free(info);
    free(headers);
    free(trailers);
    free(content);
    free(out);
    free(in);
    json_decref(msg);

    return ret;
}


int
main(int argc, char **argv)
{
    int  response;

    if (argc < 3 || (strcmp(argv[2], "req") && strcmp(argv[2], "res"))) {
        goto usage;
    }

    response = strcmp(argv[2], "res") == 0;

    if (strcmp(argv[1], "decode") == 0 && argc == 3) {
        return decode(response);
    }

    if (strcmp(argv[1], "encode") == 0 && argc == 5) {
        return encode(response, (unsigned) atoi(argv[3]),
                      (size_t) atol(argv[4]));
    }

usage:

    fprintf(stderr, "usage: bhttp-tool decode req|res\n"
                    "       bhttp-tool encode req|res FRAMING PADDING\n");
    return 2;
}
