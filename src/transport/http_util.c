/* Small HTTP helpers shared by the endpoint and the route handlers. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fedc/ws.h"
#include "transport/ws_internal.h"

int fedc_http_query_get(const char *query, const char *name, char *out, size_t cap) {
    /* lws hands over the arguments already URL-decoded, joined with '&'. */
    size_t nl = strlen(name);
    const char *p = query;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            size_t vl = seg - nl - 1;
            if (cap == 0) return (int)vl;
            size_t n = vl < cap - 1 ? vl : cap - 1;
            memcpy(out, p + nl + 1, n);
            out[n] = 0;
            return (int)n;
        }
        if (seg == nl && !strncmp(p, name, nl)) {
            if (cap) out[0] = 0;
            return 0;
        }
        p = amp ? amp + 1 : NULL;
    }
    return -1;
}

void fedc_http_add_header(fedc_http_response *r, const char *name, const char *fmt, ...) {
    if (r->nheaders >= FEDC_HTTP_MAX_HEADERS) return;
    fedc_http_header *h = &r->headers[r->nheaders++];
    h->name = name;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->value, sizeof h->value, fmt, ap);
    va_end(ap);
}

void fedc_ws_json_error(fedc_http_response *r, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *o = json_pack("{s:s}", "error", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    fedc_buf_clear(&r->body);
    if (s) fedc_buf_append(&r->body, s, strlen(s));
    free(s);
    json_decref(o);
    snprintf(r->content_type, sizeof r->content_type, "application/json");
}

int fedc_ws_error_frame(fedc_msg_type type, const char *reason, int fatal, fedc_buf *out) {
    json_t *o = json_pack("{s:s}", "reason", reason);
    if (o && fatal) json_object_set_new(o, "fatal", json_true());
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) return -1;
    fedc_msg m = {.type = type, .json = s, .json_len = strlen(s)};
    int rc = fedc_msg_encode(&m, out, NULL);
    free(s);
    return rc;
}
