/* GET /api/datasets: the data catalog with what this server holds (the web
 * form's dataset list shows each name as present or absent; an absent one
 * is fetched by the server before its run starts). */
#include <stdlib.h>
#include <string.h>

#include "fedc/catalog.h"
#include "server/server_internal.h"

int http_datasets_route(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp, const char *rest) {
    (void)s;
    if (*rest) return 0;
    if (strcmp(req->method, "GET") != 0) {
        http_error(resp, 405, "%s /api/datasets: use GET", req->method);
        return 1;
    }
    fedc_error err;
    fedc_catalog *c = fedc_catalog_load(NULL, &err);
    char *text = c ? fedc_catalog_json(c, 1, &err) : NULL;
    fedc_catalog_free(c);
    json_t *list = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!list) {
        http_error(resp, 500, "data catalog: %s", err.msg);
        return 1;
    }
    char cache[1024] = "";
    fedc_data_cache_dir(cache, sizeof cache, NULL);
    http_json(resp, 200, json_pack("{s:o,s:s}", "datasets", list, "cache", cache));
    return 1;
}
