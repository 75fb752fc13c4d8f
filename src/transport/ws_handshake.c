/* The opening handshake of RFC 6455 (section 4), both sides: the node's
 * upgrade request and a strict check of the server's answer; the server's
 * classification of a request head and its answers. Both are outside
 * input: read only within the bounds given, and a refusal quotes the
 * offending line or header (printable characters only, cut short). */
#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transport/ws_internal.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int fedc_ws_handshake_key(char key[FEDC_WS_KEY_LEN + 1]) {
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1) return -1;
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
    return 0;
}

void fedc_ws_handshake_accept(const char *key, char out[29]) {
    char cat[128];
    int n = snprintf(cat, sizeof cat, "%s%s", key, WS_GUID);
    if (n < 0 || (size_t)n >= sizeof cat) n = (int)sizeof cat - 1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = 0;
    if (EVP_Digest(cat, (size_t)n, md, &mdlen, EVP_sha1(), NULL) == 1 && mdlen == 20)
        EVP_EncodeBlock((unsigned char *)out, md, 20);
}

int fedc_ws_handshake_request(char *out, size_t cap, const char *host, int port, const char *path,
                              const char *key, const char *protocol) {
    /* An IPv6 literal goes in brackets in the Host header. */
    const char *lb = strchr(host, ':') ? "[" : "", *rb = strchr(host, ':') ? "]" : "";
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s%s%s:%d\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: %s\r\n"
                     "\r\n",
                     path, lb, host, rb, port, key, protocol);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

size_t fedc_ws_handshake_end(const uint8_t *buf, size_t len) {
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') return i + 1;
    return 0;
}

/* A printable, bounded copy of untrusted text for an error message. */
static void quote(char *dst, size_t cap, const uint8_t *src, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < cap; i++) dst[n++] = isprint(src[i]) ? (char)src[i] : '?';
    dst[n] = 0;
}

/* Does the comma-separated list [v, v+len) contain token (case-insensitive)? */
static int has_token(const uint8_t *v, size_t len, const char *token) {
    size_t tl = strlen(token), i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
        size_t s = i;
        while (i < len && v[i] != ',') i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
        if (e - s == tl && !strncasecmp((const char *)v + s, token, tl)) return 1;
    }
    return 0;
}

static int value_is(const uint8_t *v, size_t len, const char *want, int nocase) {
    size_t wl = strlen(want);
    if (len != wl) return 0;
    return nocase ? !strncasecmp((const char *)v, want, wl) : !memcmp(v, want, wl);
}

int fedc_http_header_next(const uint8_t *buf, size_t len, size_t *pos, fedc_http_header_line *h) {
    size_t i = *pos, e = i;
    if (i + 1 >= len) return 0;
    while (e + 1 < len && !(buf[e] == '\r' && buf[e + 1] == '\n')) e++;
    if (e + 1 >= len || e == i) return 0;
    h->line = buf + i;
    h->len = e - i;
    size_t colon = 0;
    while (colon < h->len && h->line[colon] != ':') colon++;
    h->name_len = colon < h->len ? colon : 0;
    size_t vs = colon + 1, ve = h->len;
    if (vs > ve) vs = ve;
    while (vs < ve && (h->line[vs] == ' ' || h->line[vs] == '\t')) vs++;
    while (ve > vs && (h->line[ve - 1] == ' ' || h->line[ve - 1] == '\t')) ve--;
    h->value = h->line + vs;
    h->value_len = ve - vs;
    *pos = e + 2;
    return 1;
}

#define NAME_IS(h, s) ((h).name_len == sizeof(s) - 1 && !strncasecmp((const char *)(h).line, s, (h).name_len))

int fedc_ws_handshake_check(const uint8_t *resp, size_t len, const char *key, const char *protocol,
                            fedc_error *err) {
    char q[120];
    size_t eol = 0;
    while (eol + 1 < len && !(resp[eol] == '\r' && resp[eol + 1] == '\n')) eol++;
    if (eol + 1 >= len) return fedc_fail(err, "the server's handshake answer has no complete status line");
    /* "HTTP/1.1 101 Switching Protocols" */
    if (eol < 12 || memcmp(resp, "HTTP/1.", 7) != 0 || resp[8] != ' ' || memcmp(resp + 9, "101", 3) != 0 ||
        (eol > 12 && resp[12] != ' ')) {
        quote(q, sizeof q, resp, eol);
        return fedc_fail(err, "the server answered \"%s\" instead of switching to WebSocket (101)", q);
    }
    int upgrade = 0, connection = 0, accept_ok = 0, proto_ok = 0;
    char want[29];
    fedc_ws_handshake_accept(key, want);
    size_t i = eol + 2;
    fedc_http_header_line h;
    while (fedc_http_header_next(resp, len, &i, &h)) {
        if (h.name_len == 0) {
            quote(q, sizeof q, h.line, h.len);
            return fedc_fail(err, "the server's handshake answer has a malformed header line \"%s\"", q);
        }
        const uint8_t *v = h.value;
        size_t vl = h.value_len;
        if (NAME_IS(h, "upgrade")) {
            upgrade = value_is(v, vl, "websocket", 1);
        } else if (NAME_IS(h, "connection")) {
            connection = has_token(v, vl, "upgrade");
        } else if (NAME_IS(h, "sec-websocket-accept")) {
            accept_ok = value_is(v, vl, want, 0);
            if (!accept_ok) {
                quote(q, sizeof q, v, vl);
                return fedc_fail(err, "the server's Sec-WebSocket-Accept \"%s\" does not answer our key (expected %s)",
                                 q, want);
            }
        } else if (NAME_IS(h, "sec-websocket-protocol")) {
            proto_ok = value_is(v, vl, protocol, 0);
            if (!proto_ok) {
                quote(q, sizeof q, v, vl);
                return fedc_fail(err, "the server chose WebSocket subprotocol \"%s\"; only %s is spoken", q, protocol);
            }
        } else if (NAME_IS(h, "sec-websocket-extensions")) {
            quote(q, sizeof q, v, vl);
            return fedc_fail(err, "the server enabled WebSocket extension \"%s\" that was not offered", q);
        }
    }
    if (!upgrade) return fedc_fail(err, "the server's handshake answer lacks \"Upgrade: websocket\"");
    if (!connection) return fedc_fail(err, "the server's handshake answer lacks \"Connection: Upgrade\"");
    if (!accept_ok) return fedc_fail(err, "the server's handshake answer lacks Sec-WebSocket-Accept");
    if (!proto_ok) return fedc_fail(err, "the server's handshake answer does not confirm subprotocol %s", protocol);
    return 0;
}

/* ---- server side ---- */

int fedc_ws_upgrade_answer(char *out, size_t cap, const char *key, const char *protocol) {
    char accept[29];
    fedc_ws_handshake_accept(key, accept);
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "Sec-WebSocket-Protocol: %s\r\n"
                     "\r\n",
                     accept, protocol);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

static const char *status_text(int status) {
    switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

int fedc_ws_upgrade_refusal(char *out, size_t cap, int status, const char *why) {
    json_t *o = json_pack("{s:s}", "error", why);
    char *body = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(o);
    if (!body) return -1;
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "Connection: close\r\n"
                     "\r\n%s\n",
                     status, status_text(status), strlen(body) + 1,
                     status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "", body);
    free(body);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* A key is base64 of 16 bytes: 22 base64 characters and "==". */
static int key_ok(const uint8_t *v, size_t len) {
    if (len != FEDC_WS_KEY_LEN || v[22] != '=' || v[23] != '=') return 0;
    for (size_t i = 0; i < 22; i++)
        if (!isalnum(v[i]) && v[i] != '+' && v[i] != '/') return 0;
    return 1;
}

int fedc_ws_upgrade_parse(const uint8_t *head, size_t len, const char *protocol, fedc_ws_upgrade *u, int *status,
                          fedc_error *err) {
    char q[120];
    memset(u, 0, sizeof *u);
    *status = 400;
    size_t eol = 0;
    while (eol + 1 < len && !(head[eol] == '\r' && head[eol + 1] == '\n')) eol++;
    if (eol + 1 >= len) return FEDC_WS_HEAD_HTTP; /* not even a request line: the HTTP server answers */
    /* "METHOD SP target SP HTTP/1.x" */
    size_t sp1 = 0;
    while (sp1 < eol && head[sp1] != ' ') sp1++;
    size_t sp2 = sp1 + 1;
    while (sp2 < eol && head[sp2] != ' ') sp2++;
    if (sp1 >= eol || sp2 >= eol) return FEDC_WS_HEAD_HTTP;
    int get = sp1 == 3 && !memcmp(head, "GET", 3);
    size_t tlen = sp2 - sp1 - 1;
    const uint8_t *target = head + sp1 + 1;
    size_t plen = 0;
    while (plen < tlen && target[plen] != '?') plen++;

    int upgrade = 0, connection = 0, version = -1, has_key = 0, proto = 0, host = 0;
    const uint8_t *key = NULL;
    size_t key_len = 0;
    char bad[200] = "";
    size_t i = eol + 2;
    fedc_http_header_line h;
    while (fedc_http_header_next(head, len, &i, &h)) {
        if (h.name_len == 0) continue; /* the HTTP server judges plain requests */
        const uint8_t *v = h.value;
        size_t vl = h.value_len;
        if (NAME_IS(h, "upgrade")) {
            upgrade = has_token(v, vl, "websocket");
        } else if (NAME_IS(h, "connection")) {
            connection = has_token(v, vl, "upgrade");
        } else if (NAME_IS(h, "host")) {
            host = 1;
        } else if (NAME_IS(h, "sec-websocket-version")) {
            version = value_is(v, vl, "13", 0) ? 13 : 0;
            if (!version) {
                quote(q, sizeof q, v, vl);
                snprintf(bad, sizeof bad, "WebSocket version \"%s\" is not spoken (only 13)", q);
            }
        } else if (NAME_IS(h, "sec-websocket-key")) {
            has_key++;
            key = v;
            key_len = vl;
        } else if (NAME_IS(h, "sec-websocket-protocol")) {
            proto = proto || has_token(v, vl, protocol);
        }
    }
    if (!upgrade) return FEDC_WS_HEAD_HTTP;
    /* The path as refusals quote it (u->path keeps the peer's bytes). */
    char qpath[120];
    quote(qpath, sizeof qpath, target, plen < 100 ? plen : 100);
    if (!get) return fedc_fail(err, "WebSocket upgrade by a request other than GET to \"%s\"", qpath);
    if (plen == 0 || plen >= sizeof u->path)
        return fedc_fail(err, "WebSocket upgrade to an unusable path \"%s\"", qpath);
    memcpy(u->path, target, plen);
    u->path[plen] = 0;
    if (!connection) return fedc_fail(err, "WebSocket upgrade to %s without \"Connection: Upgrade\"", qpath);
    if (!host) return fedc_fail(err, "WebSocket upgrade to %s without a Host header", qpath);
    if (version != 13) {
        *status = 426;
        return fedc_fail(err, "WebSocket upgrade to %s: %s", qpath,
                         bad[0] ? bad : "no Sec-WebSocket-Version (13 is required)");
    }
    if (has_key != 1 || !key_ok(key, key_len)) {
        if (has_key == 1) quote(q, sizeof q, key, key_len);
        return fedc_fail(err, "WebSocket upgrade to %s: %s%s%s", qpath,
                         has_key == 0 ? "no Sec-WebSocket-Key" : has_key > 1 ? "more than one Sec-WebSocket-Key"
                                                                             : "Sec-WebSocket-Key \"",
                         has_key == 1 ? q : "", has_key == 1 ? "\" is not base64 of 16 bytes" : "");
    }
    memcpy(u->key, key, FEDC_WS_KEY_LEN);
    u->key[FEDC_WS_KEY_LEN] = 0;
    if (!proto)
        return fedc_fail(err, "WebSocket upgrade to %s does not offer subprotocol %s", qpath, protocol);
    *status = 101;
    return FEDC_WS_HEAD_UPGRADE;
}
