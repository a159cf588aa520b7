/*
 * An HTTP/1.1 response reader (RFC 9112) for the gateway's attestation
 * fetch: status line, header fields, and a body delimited by
 * Content-Length, chunked transfer coding or the end of the connection.
 * Incremental: input may be split anywhere.  Strict where leniency would
 * let a response be read two ways.  No nginx header.
 */

#ifndef CONFER_HTTP1_H
#define CONFER_HTTP1_H

#include <stddef.h>
#include <stdint.h>

/* a status line and header section larger than this is refused */
#define CONFER_HTTP1_MAX_HEADER  16384


typedef enum {
    CONFER_HTTP1_AGAIN = 0,              /* all input taken, need more */
    CONFER_HTTP1_DONE,                   /* the response is complete */
    CONFER_HTTP1_ERR_STATUS_LINE,        /* not "HTTP/1.x NNN ..." */
    CONFER_HTTP1_ERR_HEADER,             /* a malformed field line */
    CONFER_HTTP1_ERR_HEADER_TOO_LARGE,
    CONFER_HTTP1_ERR_LENGTH,             /* bad or conflicting length */
    CONFER_HTTP1_ERR_ENCODING,           /* a coding other than chunked */
    CONFER_HTTP1_ERR_CHUNK,              /* bad chunked framing */
    CONFER_HTTP1_ERR_BODY_TOO_LARGE,     /* more body than the caller's cap */
    CONFER_HTTP1_ERR_TRUNCATED,          /* the connection ended early */
    CONFER_HTTP1_ERR_UPGRADE,            /* 101: not a response we read */
    CONFER_HTTP1_ERR_LAST
} confer_http1_err_t;


typedef enum {
    CONFER_HTTP1_BODY_NONE = 0,          /* 204, 304, or not known yet */
    CONFER_HTTP1_BODY_LENGTH,
    CONFER_HTTP1_BODY_CHUNKED,
    CONFER_HTTP1_BODY_CLOSE              /* until the connection ends */
} confer_http1_body_t;


typedef struct {
    /* results, valid once the header section was read */
    unsigned              status;        /* 200..999 (interim ones skipped) */
    unsigned              minor;         /* HTTP/1.minor */
    int64_t               content_length;/* -1: none */
    confer_http1_body_t   body;
    int                   header_done;

    /* private state */
    int                   state;
    confer_http1_err_t    err;           /* sticky once set */
    size_t                header_bytes;
    unsigned              digits;
    unsigned              field;         /* which known field, bit mask */
    size_t                name_len;
    int64_t               value;         /* Content-Length being read */
    int                   ows;           /* after its digits */
    unsigned              te_len;
    char                  te[16];        /* Transfer-Encoding, lower case */
    int                   te_seen;
    uint64_t              left;          /* body or chunk bytes to go */
} confer_http1_t;


const char *confer_http1_strerror(confer_http1_err_t err);

void confer_http1_init(confer_http1_t *h);

/*
 * Reads (p, n).  Body bytes are appended to body + *body_len, at most cap
 * in all (*body_len is the caller's running total; start it at 0).
 * *used gets the bytes taken: all of them on AGAIN; on DONE, what the
 * response took (anything after it is not part of it).
 */
confer_http1_err_t confer_http1_parse(confer_http1_t *h, const uint8_t *p,
    size_t n, size_t *used, uint8_t *body, size_t cap, size_t *body_len);

/*
 * The connection ended: DONE when the body was delimited by the end of the
 * connection, otherwise ERR_TRUNCATED (or DONE if already complete).
 */
confer_http1_err_t confer_http1_eof(confer_http1_t *h);

#endif /* CONFER_HTTP1_H */
