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
} fedc_web_asset;

/* The asset served for a request path: "/" is "/index.html"; a query
 * string or fragment ("?v=1", "#/runs") is ignored. NULL when there is
 * none (the caller answers 404). */
FEDC_API const fedc_web_asset *fedc_web_asset_find(const char *path);
/* Every asset, in path order (for listings and tests). */
FEDC_API size_t fedc_web_asset_count(void);
FEDC_API const fedc_web_asset *fedc_web_asset_at(size_t i);

#endif
