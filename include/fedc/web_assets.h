/* The web application's static files (web/app plus Chart.js from Debian's
 * libjs-chart.js), embedded in the binary at build time by web/embed so that
 * `fedc server` serves them with nothing read from disk or fetched at run
 * time. The server's HTTP layer answers a GET outside /api and /node with
 * the asset found here (or 404). */
#ifndef FEDC_WEB_ASSETS_H
#define FEDC_WEB_ASSETS_H

#include <stddef.h>

#include "fedc/export.h"

typedef struct fedc_web_asset {
    const char *path;          /* URL path, e.g. "/index.html", "/js/app.js" */
    const char *content_type;  /* e.g. "text/javascript; charset=utf-8" */
    const unsigned char *data; /* the file's bytes; valid for the life of the process */
    size_t len;
    /* Compressed at build time (NULL when compressing did not make it smaller). */
    const unsigned char *gzip;
    size_t gzip_len;
    const unsigned char *brotli;
    size_t brotli_len;
    /* 1 for the copy under a name with its content hash ("/js/dom.3f9a0c1b2d4e.js"):
     * it never changes, so browsers may keep it for good. */
    int immutable;
} fedc_web_asset;

/* The asset served for a request path: "/" is "/index.html"; a query
 * string or fragment ("?v=1", "#/runs") is ignored. NULL when there is
 * none (the caller answers 404). */
FEDC_API const fedc_web_asset *fedc_web_asset_find(const char *path);
/* The Content-Security-Policy to send with the page: the policy of
 * index.html's meta element (with the hash of its import map) plus
 * frame-ancestors 'none'. */
FEDC_API const char *fedc_web_csp(void);
/* Every asset, in path order (for listings and tests). */
FEDC_API size_t fedc_web_asset_count(void);
FEDC_API const fedc_web_asset *fedc_web_asset_at(size_t i);

#endif
