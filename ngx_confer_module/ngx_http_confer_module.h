
/*
 * ngx_confer_module: declarations shared by the nginx glue files.
 */


#ifndef _NGX_HTTP_CONFER_MODULE_H_INCLUDED_
#define _NGX_HTTP_CONFER_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


extern ngx_module_t  ngx_http_confer_module;
extern ngx_module_t  ngx_http_confer_gateway_module;
extern ngx_module_t  ngx_http_confer_terminator_module;


#endif /* _NGX_HTTP_CONFER_MODULE_H_INCLUDED_ */
