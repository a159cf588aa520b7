/*
 * Binary HTTP messages (RFC 9292): encoders and an incremental decoder.
 *
 * This header is the whole interface.  Nothing here allocates: encoders
 * write into caller-owned buffers and report the size they need, the
 * decoder keeps its state in confer_bhttp_decoder_t and copies field lines
 * into a scratch buffer that the caller lends it.
 *
 * Encoders:
 *   confer_bhttp_encode_request()   a whole request, framing 0 or 2
 *   confer_bhttp_encode_response()  a whole response, framing 1 or 3
 *   confer_bhttp_stream_*()         a response in indeterminate-length form
 *                                   (framing 3), written as the model
 *                                   server's output arrives
 *
 * Every encoder returns CONFER_BHTTP_OK and sets *len to the bytes written,
 * or CONFER_BHTTP_ERR_SPACE and sets *len to the bytes it needs when cap is
 * too small (out may then be NULL), or another error for invalid input.
 * Field names are written in lowercase (RFC 9292, 3.6); a name that is not
 * an HTTP token, or a value with a control character, is refused.
 *
 * Decoder: a pull API.  Hand it any piece of the message; each call of
 * confer_bhttp_next() consumes some of it and yields at most one event:
 *
 *   request:   REQUEST  FIELD*  HEADERS_END  CONTENT*  TRAILER*  END
 *   response:  (INFO  INFO_FIELD*  INFO_END)*  STATUS  FIELD*  HEADERS_END
 *              CONTENT*  TRAILER*  END
 *
 * The events, and the concatenation of the CONTENT bytes, are the same
 * however the input is split.  Zero padding after END is checked.  A
 * message truncated where RFC 9292, 3.8 allows (empty trailing sections)
 * gets its remaining HEADERS_END and END when the caller says that the
 * input is over.
 */

#ifndef CONFER_BHTTP_H
#define CONFER_BHTTP_H

#include <stddef.h>
#include <stdint.h>

#include "confer_util.h"


typedef enum {
    CONFER_BHTTP_OK = 0,           /* "ok": done, or an event was produced */
    CONFER_BHTTP_AGAIN,            /* "again": all input used, need more */
    CONFER_BHTTP_DONE,             /* "done": message and padding complete */
    CONFER_BHTTP_ERR_SPACE,        /* "no_space": output buffer too small */
    CONFER_BHTTP_ERR_ARG,          /* "bad_argument": misuse by the caller */
    CONFER_BHTTP_ERR_STATE,        /* "bad_state": call out of order */
    CONFER_BHTTP_ERR_FRAMING,      /* "bad_framing": unknown indicator, or
                                      a request where a response is due */
    CONFER_BHTTP_ERR_CONTROL,      /* "bad_control_data": method, scheme,
                                      authority or path */
    CONFER_BHTTP_ERR_STATUS,       /* "bad_status": not 100..599 */
    CONFER_BHTTP_ERR_FIELD_NAME,   /* "bad_field_name": empty, uppercase,
                                      or not a token */
    CONFER_BHTTP_ERR_FIELD_VALUE,  /* "bad_field_value": CR, LF, NUL, CTL */
    CONFER_BHTTP_ERR_SECTION,      /* "bad_section": a field line overruns
                                      its known-length section */
    CONFER_BHTTP_ERR_TOO_LARGE,    /* "too_large": over a limit */
    CONFER_BHTTP_ERR_TRUNCATED,    /* "truncated": input ended early */
    CONFER_BHTTP_ERR_PADDING,      /* "bad_padding": a non-zero byte after
                                      the end of the message */
    CONFER_BHTTP_ERR_LAST
} confer_bhttp_rc_t;

const char *confer_bhttp_strerror(confer_bhttp_rc_t rc);


/* RFC 9292, 3.3 */
#define CONFER_BHTTP_KNOWN_REQUEST          0
#define CONFER_BHTTP_KNOWN_RESPONSE         1
#define CONFER_BHTTP_INDETERMINATE_REQUEST  2
#define CONFER_BHTTP_INDETERMINATE_RESPONSE 3


typedef struct {
    const uint8_t  *data;
    size_t          len;
} confer_bhttp_str_t;

typedef struct {
    confer_bhttp_str_t  name;
    confer_bhttp_str_t  value;
} confer_bhttp_field_t;


/*
 * RFC 9292's integers are QUIC varints (RFC 9000, 16): confer_util.h.
 * This name stays for the terminator's glue, which writes a content
 * chunk's length itself; out must have room for 8 bytes.
 */
#define confer_bhttp_varint_put(out, v)                                       \
    confer_varint_encode(v, out, 8)


/* --- whole-message encoders --------------------------------------------- */

typedef struct {
    confer_bhttp_str_t           method;
    confer_bhttp_str_t           scheme;
    confer_bhttp_str_t           authority;
    confer_bhttp_str_t           path;       /* path and query */
    const confer_bhttp_field_t  *headers;
    size_t                       nheaders;
    const uint8_t               *content;
    size_t                       content_len;
    const confer_bhttp_field_t  *trailers;
    size_t                       ntrailers;
} confer_bhttp_request_t;

typedef struct {
    unsigned                     status;     /* 100..199 */
    const confer_bhttp_field_t  *fields;
    size_t                       nfields;
} confer_bhttp_info_t;

typedef struct {
    const confer_bhttp_info_t   *info;       /* informational responses */
    size_t                       ninfo;
    unsigned                     status;     /* 200..599 */
    const confer_bhttp_field_t  *headers;
    size_t                       nheaders;
    const uint8_t               *content;
    size_t                       content_len;
    const confer_bhttp_field_t  *trailers;
    size_t                       ntrailers;
} confer_bhttp_response_t;

/*
 * framing: CONFER_BHTTP_KNOWN_REQUEST or CONFER_BHTTP_INDETERMINATE_REQUEST
 * (and the _RESPONSE pair); padding: zero bytes appended (RFC 9292, 3.8).
 * In indeterminate form non-empty content is written as one chunk.
 */
confer_bhttp_rc_t confer_bhttp_encode_request(const confer_bhttp_request_t *r,
    unsigned framing, size_t padding, uint8_t *out, size_t cap, size_t *len);
confer_bhttp_rc_t confer_bhttp_encode_response(
    const confer_bhttp_response_t *r, unsigned framing, size_t padding,
    uint8_t *out, size_t cap, size_t *len);

/*
 * The known-length request r (no trailers) without copying its content:
 * writes what precedes the content (up to and with its length) into out
 * and sets *tail to the bytes that follow it, all zero (the empty trailer
 * section and the padding).  The message of confer_bhttp_encode_request
 * with this padding is out[0..*len), r->content_len bytes of content,
 * *tail zero bytes; r->content is not read.
 */
confer_bhttp_rc_t confer_bhttp_encode_request_head(
    const confer_bhttp_request_t *r, size_t padding, uint8_t *out,
    size_t cap, size_t *len, size_t *tail);


/* --- streaming response encoder (indeterminate length, framing 3) ------- */

typedef struct {
    unsigned  state;
} confer_bhttp_stream_t;

void confer_bhttp_stream_init(confer_bhttp_stream_t *s);

/* an informational response; only before begin (the first one also writes
   the framing indicator) */
confer_bhttp_rc_t confer_bhttp_stream_info(confer_bhttp_stream_t *s,
    unsigned status, const confer_bhttp_field_t *fields, size_t nfields,
    uint8_t *out, size_t cap, size_t *len);

/* framing indicator (unless info wrote it), final status, header section */
confer_bhttp_rc_t confer_bhttp_stream_begin(confer_bhttp_stream_t *s,
    unsigned status, const confer_bhttp_field_t *headers, size_t nheaders,
    uint8_t *out, size_t cap, size_t *len);

/* one content chunk: varint(n) and the n bytes; n == 0 writes nothing,
   since a zero length would end the content */
confer_bhttp_rc_t confer_bhttp_stream_content(confer_bhttp_stream_t *s,
    const uint8_t *p, size_t n, uint8_t *out, size_t cap, size_t *len);

/* content terminator, trailer section, padding zero bytes */
confer_bhttp_rc_t confer_bhttp_stream_end(confer_bhttp_stream_t *s,
    const confer_bhttp_field_t *trailers, size_t ntrailers, size_t padding,
    uint8_t *out, size_t cap, size_t *len);

/* what stream_content writes for n bytes: 0 for 0, else varint(n) + n */
size_t confer_bhttp_chunk_size(size_t n);


/* --- incremental decoder ------------------------------------------------ */

typedef enum {
    CONFER_BHTTP_EV_NONE = 0,
    CONFER_BHTTP_EV_REQUEST,       /* method, scheme, authority, path */
    CONFER_BHTTP_EV_INFO,          /* status: an informational response */
    CONFER_BHTTP_EV_INFO_FIELD,    /* name, value: its field lines */
    CONFER_BHTTP_EV_INFO_END,      /* end of its field section */
    CONFER_BHTTP_EV_STATUS,        /* status: the final response */
    CONFER_BHTTP_EV_FIELD,         /* name, value: a header field line */
    CONFER_BHTTP_EV_HEADERS_END,   /* end of the header section */
    CONFER_BHTTP_EV_CONTENT,       /* data, len: content bytes, len > 0 */
    CONFER_BHTTP_EV_TRAILER,       /* name, value: a trailer field line */
    CONFER_BHTTP_EV_END            /* end of message (padding may follow) */
} confer_bhttp_event_type_t;

/*
 * Pointers point into the caller's input (data) or the decoder's scratch
 * buffer (everything else) and are valid until the next call.
 */
typedef struct {
    confer_bhttp_event_type_t  type;
    unsigned                   status;
    confer_bhttp_str_t         method;
    confer_bhttp_str_t         scheme;
    confer_bhttp_str_t         authority;
    confer_bhttp_str_t         path;
    confer_bhttp_str_t         name;
    confer_bhttp_str_t         value;
    const uint8_t             *data;
    size_t                     len;
} confer_bhttp_event_t;

/* zero in any member means the default */
typedef struct {
    size_t    max_section;       /* name + value bytes of one field section;
                                    default 65536 */
    size_t    max_fields;        /* field lines in one section; default 256 */
    size_t    max_info;          /* informational responses; default 8 */
    uint64_t  max_content;       /* content bytes; default: no limit */
} confer_bhttp_limits_t;

#define CONFER_BHTTP_SCRATCH_DEFAULT  8192

typedef struct {
    /* read-only for the caller */
    int                    framing;         /* -1 until read */
    uint64_t               content_length;  /* known-length framing: set
                                               when HEADERS_END is out (but
                                               UINT64_MAX if truncated);
                                               else UINT64_MAX */
    uint64_t               content_seen;

    /* private */
    confer_bhttp_limits_t  limits;
    uint8_t               *scratch;
    size_t                 scratch_size;
    size_t                 used;            /* bytes of scratch filled */
    size_t                 dirty;           /* bytes of scratch ever
                                               written: what to wipe */
    unsigned               response;        /* decoding a response */
    unsigned               state;
    unsigned               section;         /* info, headers or trailers */
    unsigned               eof;
    unsigned               headers_end_due;
    unsigned               step;            /* part of a field or of the
                                               control data being read */
    confer_bhttp_rc_t      error;           /* sticky */
    uint64_t               v;               /* varint being read */
    unsigned               vneed;
    unsigned               vgot;
    uint64_t               want;            /* bytes of a string to read */
    uint64_t               remaining;       /* of a known-length section,
                                               content or chunk */
    size_t                 section_bytes;
    size_t                 section_fields;
    size_t                 ninfo;
    size_t                 off[5];          /* control data or field offsets
                                               in scratch */
} confer_bhttp_decoder_t;

/*
 * response: 0 to decode a request (framing 0 or 2), 1 for a response
 * (framing 1 or 3).  scratch holds one field line (name and value), or the
 * whole request control data: its size is the limit for those.  Only its
 * first d->dirty bytes are ever written: wiping those is enough.
 */
confer_bhttp_rc_t confer_bhttp_decoder_init(confer_bhttp_decoder_t *d,
    int response, uint8_t *scratch, size_t scratch_size,
    const confer_bhttp_limits_t *limits);

/*
 * Consumes up to n bytes and sets *consumed; returns
 *   CONFER_BHTTP_OK     with an event in *ev (call again with the rest),
 *   CONFER_BHTTP_AGAIN  all n bytes consumed, no event, more input needed,
 *   CONFER_BHTTP_DONE   last was set, the message is complete (END was
 *                       already returned) and the padding was zeros,
 *   an error, which sticks.
 * last: these n bytes are the end of the input; then calls go on yielding
 * the events of a legally truncated message, or CONFER_BHTTP_ERR_TRUNCATED.
 */
confer_bhttp_rc_t confer_bhttp_next(confer_bhttp_decoder_t *d,
    const uint8_t *p, size_t n, int last, size_t *consumed,
    confer_bhttp_event_t *ev);


#endif /* CONFER_BHTTP_H */
