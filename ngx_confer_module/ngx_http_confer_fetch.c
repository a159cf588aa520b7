
/*
 * ngx_confer_module: the attestation document fetch, an HTTP/1.1 GET on
 * ngx_event_connect_peer that runs without a client request.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_http.h>

#include "ngx_http_confer_module.h"
#include "ngx_http_confer_fetch.h"


static void ngx_http_confer_fetch_connect(ngx_event_t *ev);
static void ngx_http_confer_fetch_connected(ngx_event_t *ev);
static ngx_int_t ngx_http_confer_fetch_test_connect(ngx_connection_t *c,
    ngx_http_confer_fetch_t *f);
#if (NGX_SSL)
static void ngx_http_confer_fetch_ssl_init(ngx_http_confer_fetch_t *f,
    ngx_connection_t *c);
static void ngx_http_confer_fetch_ssl_handshaked(ngx_connection_t *c);
#endif
static void ngx_http_confer_fetch_send(ngx_http_confer_fetch_t *f,
    ngx_connection_t *c);
static void ngx_http_confer_fetch_write(ngx_event_t *wev);
static void ngx_http_confer_fetch_read(ngx_event_t *rev);
static void ngx_http_confer_fetch_dummy(ngx_event_t *ev);
static void ngx_http_confer_fetch_parsed(ngx_http_confer_fetch_t *f,
    confer_http1_err_t rc);
static void ngx_http_confer_fetch_timeout(ngx_event_t *ev);
static void ngx_http_confer_fetch_next(ngx_http_confer_fetch_t *f,
    ngx_http_confer_fetch_err_e err);
static void ngx_http_confer_fetch_close(ngx_http_confer_fetch_t *f);
static void ngx_http_confer_fetch_finish(ngx_http_confer_fetch_t *f,
    ngx_http_confer_fetch_err_e err);
static void ngx_http_confer_fetch_detail(ngx_http_confer_fetch_t *f,
    ngx_err_t err, const char *fmt, ...);
static u_char *ngx_http_confer_fetch_log_error(ngx_log_t *log, u_char *buf,
    size_t len);


static const char  *ngx_http_confer_fetch_errors[] = {
    "ok",
    "connect_failed",
    "connection_error",
    "timeout",
    "tls_failed",
    "bad_response",
    "http_status",
    "too_large",
    "internal",
    "aborted"
};


const char *
ngx_http_confer_fetch_strerror(ngx_http_confer_fetch_err_e err)
{
    if ((ngx_uint_t) err >= NGX_HTTP_CONFER_FETCH_LAST) {
        return "unknown";
    }

    return ngx_http_confer_fetch_errors[err];
}


ngx_int_t
ngx_http_confer_fetch_target(ngx_conf_t *cf, ngx_str_t *url, ngx_str_t *uri,
    ngx_http_confer_fetch_target_t *t)
{
    size_t      add;
    in_port_t   port;
    ngx_url_t   u;
    ngx_uint_t  tls;

    if (url->len > 7 && ngx_strncasecmp(url->data, (u_char *) "http://", 7)
                        == 0)
    {
        add = 7;
        port = 80;
        tls = 0;

    } else if (url->len > 8
               && ngx_strncasecmp(url->data, (u_char *) "https://", 8) == 0)
    {
        add = 8;
        port = 443;
        tls = 1;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"confer_seal\" terminator \"%V\": "
                           "http:// or https:// expected", url);
        return NGX_ERROR;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.len = url->len - add;
    u.url.data = url->data + add;
    u.default_port = port;
    u.uri_part = 1;

    /* resolved now, like a static proxy_pass: no resolver at run time */
    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in \"confer_seal\" terminator \"%V\"",
                               u.err, url);
        }

        return NGX_ERROR;
    }

    if (u.uri.len > 1 || (u.uri.len == 1 && u.uri.data[0] != '/')) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"confer_seal\" terminator \"%V\" must not "
                           "have a path",
                           url);
        return NGX_ERROR;
    }

    if (u.naddrs == 0 || u.family == AF_UNIX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"confer_seal\" terminator \"%V\" has no TCP "
                           "address", url);
        return NGX_ERROR;
    }

    t->addrs = u.addrs;
    t->naddrs = u.naddrs;
    t->uri = *uri;

    t->url.len = url->len - (u.uri.len ? 1 : 0);
    t->url.data = url->data;

    if (u.no_port) {
        t->host = u.host;

    } else {
        t->host.data = ngx_pnalloc(cf->pool, u.host.len + sizeof(":65535"));
        if (t->host.data == NULL) {
            return NGX_ERROR;
        }

        t->host.len = ngx_sprintf(t->host.data, "%V:%d", &u.host, u.port)
                      - t->host.data;
    }

    if (!tls) {
        return NGX_OK;
    }

#if (NGX_SSL)
    {
    ngx_pool_cleanup_t  *cln;

    t->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (t->ssl == NULL) {
        return NGX_ERROR;
    }

    t->ssl->log = cf->log;

    if (ngx_ssl_create(t->ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(t->ssl);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = t->ssl;

    /* the name the certificate must match, if it is checked */
    t->name = u.host;

    if (u.host.data[0] == '[') {
        t->name.data++;
        t->name.len -= 2;
    }

    /* RFC 6066, 3: a host name, never an address literal */
    if (u.host.data[0] != '['
        && ngx_inet_addr(u.host.data, u.host.len) == INADDR_NONE)
    {
        t->sni.data = ngx_pnalloc(cf->pool, u.host.len + 1);
        if (t->sni.data == NULL) {
            return NGX_ERROR;
        }

        (void) ngx_cpystrn(t->sni.data, u.host.data, u.host.len + 1);
        t->sni.len = u.host.len;
    }

    return NGX_OK;
    }
#else
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"confer_seal\" terminator \"%V\" needs nginx "
                       "built with SSL",
                       url);
    return NGX_ERROR;
#endif
}


ngx_int_t
ngx_http_confer_fetch_trust(ngx_conf_t *cf, ngx_http_confer_fetch_target_t *t,
    ngx_str_t *file)
{
#if (NGX_SSL)
    if (t->ssl == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"confer_seal\" terminator \"%V\" is not https, "
                           "it has no certificate to verify", &t->url);
        return NGX_ERROR;
    }

    if (ngx_ssl_trusted_certificate(cf, t->ssl, file, 10) != NGX_OK) {
        /* OpenSSL said why; name the directive */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"confer_seal\" cannot load "
                           "ssl_trusted_certificate=%V", file);
        return NGX_ERROR;
    }

    t->verify = 1;

    return NGX_OK;
#else
    return NGX_ERROR;
#endif
}


ngx_http_confer_fetch_t *
ngx_http_confer_fetch_start(ngx_http_confer_fetch_target_t *t,
    ngx_http_confer_fetch_handler_pt handler, void *data)
{
    size_t                    len;
    ngx_buf_t                *b;
    ngx_pool_t               *pool;
    ngx_http_confer_fetch_t  *f;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    f = ngx_pcalloc(pool, sizeof(ngx_http_confer_fetch_t));
    if (f == NULL) {
        goto failed;
    }

    f->pool = pool;
    f->target = t;
    f->handler = handler;
    f->data = data;

    f->log_copy = *ngx_cycle->log;
    f->log = &f->log_copy;
    f->log->handler = ngx_http_confer_fetch_log_error;
    f->log->data = f;
    f->log->action = "fetching the attestation document";

    f->body = ngx_pnalloc(pool, t->max_size);
    f->buf = ngx_create_temp_buf(pool, 4096);

    /* RFC 9112, 3: no keep-alive, so the end may also end the body */
    len = sizeof("GET  HTTP/1.1" CRLF) - 1 + t->uri.len
          + sizeof("Host: " CRLF) - 1 + t->host.len
          + sizeof("Accept: application/json" CRLF) - 1
          + sizeof("Connection: close" CRLF) - 1
          + sizeof("User-Agent: ngx_confer_module" CRLF) - 1
          + sizeof(CRLF) - 1;

    b = ngx_create_temp_buf(pool, len);

    if (f->body == NULL || f->buf == NULL || b == NULL) {
        goto failed;
    }

    b->last = ngx_sprintf(b->last, "GET %V HTTP/1.1" CRLF "Host: %V" CRLF
                          "Accept: application/json" CRLF
                          "Connection: close" CRLF
                          "User-Agent: ngx_confer_module" CRLF CRLF,
                          &t->uri, &t->host);
    f->request = b;

    confer_http1_init(&f->parser);

    /* one deadline for the whole exchange: a trickle cannot stretch it */
    f->timer.handler = ngx_http_confer_fetch_timeout;
    f->timer.data = f;
    f->timer.log = f->log;
    ngx_add_timer(&f->timer, t->timeout);

    /* the handler never runs inside this call */
    f->start.handler = ngx_http_confer_fetch_connect;
    f->start.data = f;
    f->start.log = f->log;
    ngx_post_event(&f->start, &ngx_posted_events);

    return f;

failed:

    ngx_destroy_pool(pool);

    return NULL;
}


static void
ngx_http_confer_fetch_connect(ngx_event_t *ev)
{
    ngx_int_t                 rc;
    ngx_addr_t               *addr;
    ngx_connection_t         *c;
    ngx_http_confer_fetch_t  *f;

    f = ev->data;
    addr = &f->target->addrs[f->naddr];

    ngx_memzero(&f->peer, sizeof(ngx_peer_connection_t));

    f->peer.sockaddr = addr->sockaddr;
    f->peer.socklen = addr->socklen;
    f->peer.name = &addr->name;
    f->peer.get = ngx_event_get_peer;
    f->peer.log = f->log;
    f->peer.log_error = NGX_ERROR_ERR;

    f->log->action = "connecting to the terminator";

    rc = ngx_event_connect_peer(&f->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_http_confer_fetch_detail(f, 0, "connect() to %V failed",
                                     &addr->name);
        ngx_http_confer_fetch_next(f, NGX_HTTP_CONFER_FETCH_CONNECT);
        return;
    }

    c = f->peer.connection;
    c->data = f;
    c->pool = f->pool;

    /* a worker shutting down closes it, as a keepalive connection */
    c->idle = 1;

    c->write->handler = ngx_http_confer_fetch_connected;
    c->read->handler = ngx_http_confer_fetch_connected;

    if (rc == NGX_AGAIN) {
        return;
    }

    /* rc == NGX_OK */

    ngx_http_confer_fetch_connected(c->write);
}


static void
ngx_http_confer_fetch_connected(ngx_event_t *ev)
{
    ngx_connection_t         *c;
    ngx_http_confer_fetch_t  *f;

    c = ev->data;
    f = c->data;

    if (c->close) {
        ngx_http_confer_fetch_finish(f, NGX_HTTP_CONFER_FETCH_ABORTED);
        return;
    }

    if (ngx_http_confer_fetch_test_connect(c, f) != NGX_OK) {
        ngx_http_confer_fetch_next(f, NGX_HTTP_CONFER_FETCH_CONNECT);
        return;
    }

    c->write->handler = ngx_http_confer_fetch_dummy;
    c->read->handler = ngx_http_confer_fetch_dummy;

#if (NGX_SSL)
    if (f->target->ssl) {
        ngx_http_confer_fetch_ssl_init(f, c);
        return;
    }
#endif

    ngx_http_confer_fetch_send(f, c);
}


/* as the upstream module learns the fate of a non-blocking connect() */
static ngx_int_t
ngx_http_confer_fetch_test_connect(ngx_connection_t *c,
    ngx_http_confer_fetch_t *f)
{
    int        err;
    socklen_t  len;

#if (NGX_HAVE_KQUEUE)

    if (ngx_event_flags & NGX_USE_KQUEUE_EVENT) {
        if (c->write->pending_eof || c->read->pending_eof) {
            err = c->write->pending_eof ? c->write->kq_errno
                                        : c->read->kq_errno;

            (void) ngx_connection_error(c, err,
                                    "kevent() reported that connect() failed");
            ngx_http_confer_fetch_detail(f, err, "connect() to %V failed",
                                         f->peer.name);
            return NGX_ERROR;
        }

    } else
#endif
    {
        err = 0;
        len = sizeof(int);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len)
            == -1)
        {
            err = ngx_socket_errno;
        }

        if (err) {
            (void) ngx_connection_error(c, err, "connect() failed");
            ngx_http_confer_fetch_detail(f, err, "connect() to %V failed",
                                         f->peer.name);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


#if (NGX_SSL)

static void
ngx_http_confer_fetch_ssl_init(ngx_http_confer_fetch_t *f,
    ngx_connection_t *c)
{
    ngx_int_t  rc;

    if (ngx_ssl_create_connection(f->target->ssl, c,
                                  NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_http_confer_fetch_detail(f, 0, "SSL connection not created");
        ngx_http_confer_fetch_finish(f, NGX_HTTP_CONFER_FETCH_INTERNAL);
        return;
    }

    c->sendfile = 0;

    if (f->target->sni.len
        && SSL_set_tlsext_host_name(c->ssl->connection,
                                    (char *) f->target->sni.data)
           == 0)
    {
        ngx_ssl_error(NGX_LOG_ALERT, f->log, 0,
                      "SSL_set_tlsext_host_name(\"%V\") failed",
                      &f->target->sni);
        ngx_http_confer_fetch_detail(f, 0, "SNI not set");
        ngx_http_confer_fetch_finish(f, NGX_HTTP_CONFER_FETCH_INTERNAL);
        return;
    }

    f->log->action = "TLS handshaking with the terminator";

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_confer_fetch_ssl_handshaked;
        return;
    }

    ngx_http_confer_fetch_ssl_handshaked(c);
}


static void
ngx_http_confer_fetch_ssl_handshaked(ngx_connection_t *c)
{
    long                      rc;
    ngx_http_confer_fetch_t  *f;

    f = c->data;

    if (c->close) {
        ngx_http_confer_fetch_finish(f, NGX_HTTP_CONFER_FETCH_ABORTED);
        return;
    }

    if (!c->ssl->handshaked) {
        ngx_http_confer_fetch_detail(f, 0, "TLS handshake with %V failed",
                                     f->peer.name);
        ngx_http_confer_fetch_next(f, NGX_HTTP_CONFER_FETCH_TLS);
        return;
    }

    if (f->target->verify) {
        rc = SSL_get_verify_result(c->ssl->connection);

        if (rc != X509_V_OK) {
            ngx_http_confer_fetch_detail(f, 0, "the certificate of %V does "
                                         "not verify: (%l: %s)",
                                         f->peer.name, rc,
                                         X509_verify_cert_error_string(rc));
            ngx_http_confer_fetch_next(f, NGX_HTTP_CONFER_FETCH_TLS);
            return;
        }

        if (ngx_ssl_check_host(c, &f->target->name) != NGX_OK) {
            ngx_http_confer_fetch_detail(f, 0, "the certificate of %V is "
                                         "not for \"%V\"", f->peer.name,
                                         &f->target->name);
            ngx_http_confer_fetch_next(f, NGX_HTTP_CONFER_FETCH_TLS);
            return;
        }
    }

    ngx_http_confer_fetch_send(f, c);
}

#endif


static void
ngx_http_confer_fetch_send(ngx_http_confer_fetch_t *f, ngx_connection_t *c)
{
    f->log->action = "sending the attestation request";

    c->write->handler = ngx_http_confer_fetch_write;
    c->read->handler = ngx_http_confer_fetch_read;

    ngx_http_confer_fetch_write(c->write);
}


static void
ngx_http_confer_fetch_write(ngx_event_t *wev)
{
    ssize_t                   n;
    ngx_buf_t                *b;
    ngx_connection_t         *c;
    ngx_http_confer_fetch_t  *f;

    c = wev->data;
    f = c->data;
    b = f->request;

    if (c->close) {
        ngx_http_confer_fetch_finish(f, NGX_HTTP_CONFER_FETCH_ABORTED);
        return;
    }

    while (b->pos < b->last) {

        n = c->send(c, b->pos, b->last - b->pos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_confer_fetch_finish(f,
                                             NGX_HTTP_CONFER_FETCH_INTERNAL);
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_confer_fetch_detail(f, 0, "send() to %V failed",
                                         f->peer.name);
            ngx_http_confer_fetch_next(f, NGX_HTTP_CONFER_FETCH_IO);
            return;
        }

        b->pos += n;
    }

    wev->handler = ngx_http_confer_fetch_dummy;
    f->log->action = "reading the attestation document";

    if (c->read->ready) {
        ngx_http_confer_fetch_read(c->read);
    }
}


static void
ngx_http_confer_fetch_read(ngx_event_t *rev)
{
    size_t                    used;
    ssize_t                   n;
    ngx_buf_t                *b;
    ngx_connection_t         *c;
    confer_http1_err_t        rc;
    ngx_http_confer_fetch_t  *f;

    c = rev->data;
    f = c->data;
    b = f->buf;

    if (c->close) {
        ngx_http_confer_fetch_finish(f, NGX_HTTP_CONFER_FETCH_ABORTED);
        return;
    }

    for ( ;; ) {

        n = c->recv(c, b->start, b->end - b->start);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_confer_fetch_finish(f,
                                             NGX_HTTP_CONFER_FETCH_INTERNAL);
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_confer_fetch_detail(f, 0, "recv() from %V failed",
                                         f->peer.name);
            ngx_http_confer_fetch_finish(f, NGX_HTTP_CONFER_FETCH_IO);
            return;
        }

        if (n == 0) {
            ngx_http_confer_fetch_parsed(f, confer_http1_eof(&f->parser));
            return;
        }

        rc = confer_http1_parse(&f->parser, b->start, n, &used, f->body,
                                f->target->max_size, &f->body_len);

        if (rc != CONFER_HTTP1_AGAIN) {
            ngx_http_confer_fetch_parsed(f, rc);
            return;
        }
    }
}


static void
ngx_http_confer_fetch_dummy(ngx_event_t *ev)
{
    ngx_connection_t  *c;

    c = ev->data;

    if (c->close) {
        ngx_http_confer_fetch_finish(c->data, NGX_HTTP_CONFER_FETCH_ABORTED);
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0, "confer fetch dummy");
}


static void
ngx_http_confer_fetch_parsed(ngx_http_confer_fetch_t *f,
    confer_http1_err_t rc)
{
    if (rc == CONFER_HTTP1_ERR_BODY_TOO_LARGE) {
        ngx_http_confer_fetch_detail(f, 0, "the document is larger than "
                                     "max_size=%uz", f->target->max_size);
        ngx_http_confer_fetch_finish(f, NGX_HTTP_CONFER_FETCH_TOO_LARGE);
        return;
    }

    if (rc != CONFER_HTTP1_DONE) {
        ngx_http_confer_fetch_detail(f, 0, "%s", confer_http1_strerror(rc));
        ngx_http_confer_fetch_finish(f, NGX_HTTP_CONFER_FETCH_HTTP);
        return;
    }

    f->status = f->parser.status;

    if (f->status != NGX_HTTP_OK) {
        ngx_http_confer_fetch_detail(f, 0, "status %ui", f->status);
        ngx_http_confer_fetch_finish(f, NGX_HTTP_CONFER_FETCH_STATUS);
        return;
    }

    ngx_http_confer_fetch_finish(f, NGX_HTTP_CONFER_FETCH_OK);
}


static void
ngx_http_confer_fetch_timeout(ngx_event_t *ev)
{
    ngx_http_confer_fetch_t  *f;

    f = ev->data;

    ngx_http_confer_fetch_detail(f, 0, "no answer within %M ms while %s",
                                 f->target->timeout, f->log->action);
    ngx_http_confer_fetch_finish(f, NGX_HTTP_CONFER_FETCH_TIMEOUT);
}


/* a connection that failed: the next address of the name, if any */
static void
ngx_http_confer_fetch_next(ngx_http_confer_fetch_t *f,
    ngx_http_confer_fetch_err_e err)
{
    if (++f->naddr >= f->target->naddrs) {
        ngx_http_confer_fetch_finish(f, err);
        return;
    }

    ngx_http_confer_fetch_close(f);

    f->request->pos = f->request->start;
    f->body_len = 0;
    confer_http1_init(&f->parser);

    ngx_http_confer_fetch_connect(&f->start);
}


static void
ngx_http_confer_fetch_close(ngx_http_confer_fetch_t *f)
{
    ngx_connection_t  *c;

    c = f->peer.connection;

    if (c == NULL) {
        return;
    }

#if (NGX_SSL)
    if (c->ssl) {
        /* close_notify sent, not waited for, as the upstream module does */
        c->ssl->no_wait_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
#endif

    ngx_close_connection(c);
    f->peer.connection = NULL;
}


static void
ngx_http_confer_fetch_finish(ngx_http_confer_fetch_t *f,
    ngx_http_confer_fetch_err_e err)
{
    if (f->timer.timer_set) {
        ngx_del_timer(&f->timer);
    }

    if (f->start.posted) {
        ngx_delete_posted_event(&f->start);
    }

    ngx_http_confer_fetch_close(f);

    f->err = err;

    if (err != NGX_HTTP_CONFER_FETCH_OK && f->detail[0] == '\0') {
        ngx_http_confer_fetch_detail(f, 0, "%s",
                                     ngx_http_confer_fetch_strerror(err));
    }

    f->handler(f);

    ngx_destroy_pool(f->pool);
}


/* the reason in words, for the log and confer_status; never a secret */
static void
ngx_http_confer_fetch_detail(ngx_http_confer_fetch_t *f, ngx_err_t err,
    const char *fmt, ...)
{
    u_char   *p, *last;
    va_list   args;

    last = f->detail + sizeof(f->detail) - 1;

    va_start(args, fmt);
    p = ngx_vslprintf(f->detail, last, fmt, args);
    va_end(args);

    if (err) {
        p = ngx_slprintf(p, last, " (%d: ", err);
        p = ngx_strerror(err, p, last - p);
        p = ngx_slprintf(p, last, ")");
    }

    *p = '\0';
}


static u_char *
ngx_http_confer_fetch_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char                   *p;
    ngx_http_confer_fetch_t  *f;

    p = buf;

    if (log->action) {
        p = ngx_snprintf(buf, len, " while %s", log->action);
        len -= p - buf;
        buf = p;
    }

    f = log->data;

    return ngx_snprintf(buf, len, ", attestation: \"%V%V\"",
                        &f->target->url, &f->target->uri);
}
