/* GET of anything outside /api: the embedded web application. "/" and
 * unknown paths without a file extension get index.html, so client-side
 * routes of the app reload correctly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"
#include "fedc/web_assets.h"

static const fedc_web_asset *find(const char *path) {
    return fedc_web_asset_find(path); /* the table web/embed generates at build time */
}

int http_accepts_encoding(const char *ae, const char *coding) {
    size_t n = strlen(coding);
    for (const char *p = ae; p && *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *end = p + strcspn(p, ",");
        if ((size_t)(end - p) >= n && !strncmp(p, coding, n) && (p[n] == 0 || p[n] == ',' || p[n] == ';' || p[n] == ' ')) {
            const char *q = strstr(p, "q=");
            return !(q && q < end && strtod(q + 2, NULL) <= 0);
        }
        p = *end ? end + 1 : end;
    }
    return 0;
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
    /* Compressed at build time: brotli, else gzip, when the browser takes it. */
    const char *ae = req->accept_encoding ? req->accept_encoding : "";
    if (a->brotli && http_accepts_encoding(ae, "br")) {
        resp->static_body = a->brotli;
        resp->static_len = a->brotli_len;
        fedc_http_add_header(resp, "content-encoding", "br");
    } else if (a->gzip && http_accepts_encoding(ae, "gzip")) {
        resp->static_body = a->gzip;
        resp->static_len = a->gzip_len;
        fedc_http_add_header(resp, "content-encoding", "gzip");
    } else {
        resp->static_body = a->data;
        resp->static_len = a->len;
    }
    if (a->gzip || a->brotli) fedc_http_add_header(resp, "vary", "Accept-Encoding");
    /* A name with the content hash never changes: cached for a year. The
     * page and the plain names are checked again every time. */
    fedc_http_add_header(resp, "cache-control", a->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    fedc_http_add_header(resp, "x-content-type-options", "nosniff");
    if (strstr(a->content_type, "text/html")) {
        fedc_http_add_header(resp, "content-security-policy", "%s", fedc_web_csp());
        fedc_http_add_header(resp, "x-frame-options", "DENY");
        fedc_http_add_header(resp, "referrer-policy", "no-referrer");
    }
    return 1;
}
