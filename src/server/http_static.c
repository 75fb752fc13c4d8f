/* GET of anything outside /api: the embedded web application. "/" and
 * unknown paths without a file extension get index.html, so client-side
 * routes of the app reload correctly. */
#include <stdio.h>
#include <string.h>

#include "server/server_internal.h"
#include "fedc/web_assets.h"

static const fedc_web_asset *find(const char *path) {
    return fedc_web_asset_find(path); /* the table web/embed generates at build time */
}

int http_static_route(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    (void)s;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) return 0;
    if (!strcmp(req->path, "/node")) return 0;
    const fedc_web_asset *a = find(req->path);
    const char *last = strrchr(req->path, '/');
    if (!a && (!last || !strchr(last, '.'))) a = find("/index.html");
    if (!a) return 0;
    resp->status = 200;
    snprintf(resp->content_type, sizeof resp->content_type, "%s", a->content_type);
    resp->static_body = a->data;
    resp->static_len = a->len;
    int html = strstr(a->content_type, "text/html") != NULL;
    fedc_http_add_header(resp, "cache-control", html ? "no-cache" : "max-age=3600");
    if (html) {
        fedc_http_add_header(resp, "content-security-policy",
                             "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                             "frame-ancestors 'none'");
        fedc_http_add_header(resp, "x-frame-options", "DENY");
        fedc_http_add_header(resp, "referrer-policy", "no-referrer");
    }
    return 1;
}
