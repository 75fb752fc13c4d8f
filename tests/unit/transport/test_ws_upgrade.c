/* The server's side of the opening handshake without sockets: a request
 * head classified as a WebSocket upgrade (the one of RFC 6455 section
 * 1.3), a plain HTTP request, or a refused upgrade (with the status to
 * answer and a message naming the problem); the 101 answer and the
 * refusal it sends; and the round trip with the node's side (its request
 * parsed here, our answer checked by fedc_ws_handshake_check). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "transport/ws_internal.h"

#define PROTO "fedc-node"
#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* RFC 6455 section 1.3, offering our subprotocol. */
#define RFC_HEAD                                                                                                      \
    "GET /chat HTTP/1.1\r\n"                                                                                         \
    "Host: server.example.com\r\n"                                                                                   \
    "Upgrade: websocket\r\n"                                                                                         \
    "Connection: Upgrade\r\n"                                                                                        \
    "Sec-WebSocket-Key: " KEY "\r\n"                                                                                 \
    "Origin: http://example.com\r\n"                                                                                 \
    "Sec-WebSocket-Protocol: fedc-node\r\n"                                                                          \
    "Sec-WebSocket-Version: 13\r\n"                                                                                  \
    "\r\n"

/* Parses exactly len bytes from a heap copy (no terminator after them, so
 * the sanitizer build catches any read beyond). */
static int parse_n(const char *head, size_t len, fedc_ws_upgrade *u, int *status, fedc_error *e) {
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, head, len);
    e->msg[0] = 0;
    *status = -7;
    int r = fedc_ws_upgrade_parse(copy, len, PROTO, u, status, e);
    free(copy);
    return r;
}

static int parse(const char *head, fedc_ws_upgrade *u, int *status, fedc_error *e) {
    return parse_n(head, strlen(head), u, status, e);
}

static void expect_upgrade(const char *head, const char *path) {
    fedc_ws_upgrade u;
    int status;
    fedc_error e;
    int r = parse(head, &u, &status, &e);
    if (r != FEDC_WS_HEAD_UPGRADE) fail_msg("expected an upgrade, got %d (%s) for:\n%s", r, e.msg, head);
    assert_int_equal(status, 101);
    assert_string_equal(u.path, path);
    assert_string_equal(u.key, KEY);
}

static void expect_http(const char *head) {
    fedc_ws_upgrade u;
    int status;
    fedc_error e;
    int r = parse(head, &u, &status, &e);
    if (r != FEDC_WS_HEAD_HTTP) fail_msg("expected plain HTTP, got %d (%s) for:\n%s", r, e.msg, head);
}

static int printable(const char *s) {
    for (; *s; s++)
        if (!isprint((unsigned char)*s)) return 0;
    return 1;
}

static void expect_refused(const char *head, int want_status, const char *what) {
    fedc_ws_upgrade u;
    int status;
    fedc_error e;
    int r = parse(head, &u, &status, &e);
    if (r != FEDC_WS_HEAD_REFUSED || status != want_status || !strstr(e.msg, what))
        fail_msg("expected a %d refusal naming \"%s\", got %d, status %d, \"%s\" for:\n%s", want_status, what, r,
                 status, r == FEDC_WS_HEAD_REFUSED ? e.msg : "", head);
    if (!printable(e.msg)) fail_msg("refusal message has unprintable characters: \"%s\"", e.msg);
}

/* ---- valid upgrades ------------------------------------------------------------ */

static void test_rfc_upgrade(void **state) {
    (void)state;
    expect_upgrade(RFC_HEAD, "/chat");
    /* the query is not part of the path */
    expect_upgrade("GET /node?token=abc&x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                   "/node");
    /* a head parsed within its length: what follows (the node's first
     * frames) is not looked at */
    const char *more = RFC_HEAD "\x82\x85garbage";
    fedc_ws_upgrade u;
    int status;
    fedc_error e;
    assert_int_equal(parse_n(more, strlen(RFC_HEAD), &u, &status, &e), FEDC_WS_HEAD_UPGRADE);
    assert_string_equal(u.path, "/chat");
    /* the RFC's own head offers "chat, superchat", not ours */
    expect_refused("GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nOrigin: http://example.com\r\n"
                   "Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n",
                   400, "does not offer subprotocol fedc-node");
}

static void test_case_and_token_lists(void **state) {
    (void)state;
    /* header names in any case, Upgrade's value too */
    expect_upgrade("GET /node HTTP/1.1\r\nhOST: h\r\nUPGRADE: WebSocket\r\nconnection: upgrade\r\n"
                   "sec-websocket-key: " KEY "\r\nSEC-WEBSOCKET-VERSION: 13\r\nsec-WebSocket-protocol: fedc-node\r\n\r\n",
                   "/node");
    /* token lists, blanks around values and list items */
    expect_upgrade("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                   "Sec-WebSocket-Key:\t" KEY " \t\r\nSec-WebSocket-Version:13\r\n"
                   "Sec-WebSocket-Protocol: chat ,fedc-node , superchat\r\n\r\n",
                   "/node");
    expect_upgrade("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: h2c, websocket\r\nConnection: Upgrade,keep-alive\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                   "/node");
    /* a token is a whole list item, not a substring */
    expect_refused("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgraded, keep-alive\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                   400, "without \"Connection: Upgrade\"");
    expect_refused("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fedc-node2\r\n\r\n",
                   400, "does not offer subprotocol fedc-node");
    /* the key and the version are compared exactly */
    expect_refused("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13, 8\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                   426, "version \"13, 8\"");
}

/* ---- plain HTTP ---------------------------------------------------------------- */

static void test_plain_http(void **state) {
    (void)state;
    expect_http("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    expect_http("GET /api/status HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n");
    expect_http("POST /api/tasks HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                "\r\n{}");
    /* an upgrade to another protocol is the HTTP server's business */
    expect_http("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n");
    /* a WebSocket header alone is no upgrade */
    expect_http("GET /node HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " KEY
                "\r\nSec-WebSocket-Version: 13\r\n\r\n");
    /* "Upgrade:" as a value or inside another name does not count */
    expect_http("GET / HTTP/1.1\r\nX-Upgrade: websocket\r\nReferer: Upgrade: websocket\r\n\r\n");
    /* lines without a colon are the HTTP server's to judge */
    expect_http("GET / HTTP/1.1\r\nno colon\r\n: no name\r\n\r\n");
}

static void test_no_request_line(void **state) {
    (void)state;
    fedc_ws_upgrade u;
    int status;
    fedc_error e;
    /* no CRLF at all */
    assert_int_equal(parse_n("", 0, &u, &status, &e), FEDC_WS_HEAD_HTTP);
    assert_int_equal(parse_n("G", 1, &u, &status, &e), FEDC_WS_HEAD_HTTP);
    assert_int_equal(parse_n("\r", 1, &u, &status, &e), FEDC_WS_HEAD_HTTP);
    expect_http("GET /node HTTP/1.1");
    expect_http("GET /node HTTP/1.1\nUpgrade: websocket\nConnection: Upgrade\n\n");
    expect_http("GET /node HTTP/1.1\rUpgrade: websocket\r\r");
    /* a request line without two spaces */
    expect_http("GET\r\nUpgrade: websocket\r\n\r\n");
    expect_http("GET /node\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " KEY
                "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n");
    /* the Upgrade header beyond the length given is not seen */
    const char *h = "GET /node HTTP/1.1\r\nHost: h\r\n\r\nUpgrade: websocket\r\n\r\n";
    assert_int_equal(parse_n(h, strlen("GET /node HTTP/1.1\r\nHost: h\r\n\r\n"), &u, &status, &e), FEDC_WS_HEAD_HTTP);
    /* a head cut inside its Upgrade line */
    assert_int_equal(parse_n(RFC_HEAD, strlen("GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: webs"), &u,
                             &status, &e),
                     FEDC_WS_HEAD_HTTP);
}

/* ---- refused upgrades ------------------------------------------------------------ */

#define HDRS_AFTER_LINE                                                                                               \
    "Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " KEY                                 \
    "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n"

static void test_refusals(void **state) {
    (void)state;
    expect_refused("POST /node HTTP/1.1\r\n" HDRS_AFTER_LINE, 400, "request other than GET to \"/node\"");
    expect_refused("get /node HTTP/1.1\r\n" HDRS_AFTER_LINE, 400, "other than GET");
    expect_refused("GETS /node HTTP/1.1\r\n" HDRS_AFTER_LINE, 400, "other than GET");
    expect_refused("GET  HTTP/1.1\r\n" HDRS_AFTER_LINE, 400, "unusable path \"\"");
    expect_refused("GET ?a=b HTTP/1.1\r\n" HDRS_AFTER_LINE, 400, "unusable path");
    expect_refused("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: " KEY
                   "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                   400, "upgrade to /node without \"Connection: Upgrade\"");
    expect_refused("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                   400, "without \"Connection: Upgrade\"");
    expect_refused("GET /node HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " KEY
                   "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                   400, "upgrade to /node without a Host header");
    /* versions: 426 Upgrade Required */
    expect_refused("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                   426, "WebSocket version \"8\" is not spoken (only 13)");
    expect_refused("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                   426, "no Sec-WebSocket-Version (13 is required)");
    expect_refused("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 7\r\n"
                   "Sec-WebSocket-Protocol: fedc-node\r\n\r\n",
                   426, "version \"7\"");
    /* keys */
    expect_refused("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                   400, "/node: no Sec-WebSocket-Key");
    expect_refused("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Key: " KEY "\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                   400, "more than one Sec-WebSocket-Key");
    static const char *bad_keys[] = {
        "",                               /* empty */
        "dGhlIHNhbXBsZSBub25jZQ=",        /* 23 characters */
        "dGhlIHNhbXBsZSBub25jZQ===",      /* 25 */
        "dGhlIHNhbXBsZSBub25jZQAA",       /* no padding */
        "dGhlIHNhbX*sZSBub25jZQ==",       /* not base64 */
        "dGhlIHNhbXBs ZSBub25jZQ==",      /* a blank inside */
        "dGhlIHNhbXBsZSBub25jZQ=\x01",    /* a control character */
    };
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        char head[512], what[128];
        snprintf(head, sizeof head,
                 "GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                 bad_keys[i]);
        snprintf(what, sizeof what, "\" is not base64 of 16 bytes");
        expect_refused(head, 400, what);
        if (!strchr(bad_keys[i], '\x01')) {
            snprintf(what, sizeof what, "Sec-WebSocket-Key \"%s\"", bad_keys[i]);
            expect_refused(head, 400, what);
        } else {
            expect_refused(head, 400, "Sec-WebSocket-Key \"dGhlIHNhbXBsZSBub25jZQ=?\"");
        }
    }
    /* subprotocols */
    expect_refused("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                   400, "upgrade to /node does not offer subprotocol fedc-node");
    expect_refused("GET /node HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
                   400, "does not offer subprotocol fedc-node");
}

/* Paths: up to 255 bytes; longer ones, and whatever a peer puts in them,
 * never reach a refusal message as they are. */
static void test_paths(void **state) {
    (void)state;
    char path[400], head[1024];
    path[0] = '/';
    memset(path + 1, 'p', 254);
    path[255] = 0;
    snprintf(head, sizeof head, "GET %s HTTP/1.1\r\n" HDRS_AFTER_LINE, path);
    expect_upgrade(head, path);
    snprintf(head, sizeof head, "GET %s?q=%s HTTP/1.1\r\n" HDRS_AFTER_LINE, path, "long-query-is-fine");
    expect_upgrade(head, path);
    path[255] = 'p';
    path[256] = 0;
    snprintf(head, sizeof head, "GET %s HTTP/1.1\r\n" HDRS_AFTER_LINE, path);
    expect_refused(head, 400, "unusable path \"/ppp");
    /* control characters in the path are quoted as '?' in every refusal */
    expect_refused("POST /a\x1b[31mred HTTP/1.1\r\n" HDRS_AFTER_LINE, 400, "\"/a?[31mred\"");
    expect_refused("GET /a\x1b[31mred\nx HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", 400,
                   "/a?[31mred?x without \"Connection: Upgrade\"");
    expect_refused("GET /a\x7f\r HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 400,
                   "/a?? without a Host header");
    expect_refused("GET /a\x01 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 9\r\n\r\n",
                   426, "/a?: WebSocket version \"9\"");
    expect_refused("GET /a\x01 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: x\x02y\r\nSec-WebSocket-Version: 13\r\n\r\n",
                   400, "/a?: Sec-WebSocket-Key \"x?y\" is not base64");
    expect_refused("GET /a\x01 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                   400, "/a? does not offer subprotocol");
}

/* A refusal message stays bounded whatever the path and the key. */
static void test_refusal_message_bounded(void **state) {
    (void)state;
    char *head = malloc(FEDC_WS_REQUEST_HEAD_MAX);
    assert_non_null(head);
    char path[256];
    path[0] = '/';
    memset(path + 1, '\x1b', 254);
    path[255] = 0;
    char key[4000];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = 0;
    snprintf(head, FEDC_WS_REQUEST_HEAD_MAX,
             "GET %s HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
             path, key);
    fedc_ws_upgrade u;
    int status;
    fedc_error e;
    assert_int_equal(parse(head, &u, &status, &e), FEDC_WS_HEAD_REFUSED);
    assert_int_equal(status, 400);
    assert_true(printable(e.msg));
    assert_true(strlen(e.msg) < 600);
    assert_non_null(strstr(e.msg, "is not base64 of 16 bytes"));
    /* the server answers it in a 1 KiB buffer */
    char out[1024];
    assert_true(fedc_ws_upgrade_refusal(out, sizeof out, status, e.msg) > 0);
    free(head);
}

/* ---- the answers ---------------------------------------------------------------- */

static void test_answer(void **state) {
    (void)state;
    char out[512];
    int n = fedc_ws_upgrade_answer(out, sizeof out, KEY, PROTO);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(out));
    assert_memory_equal(out, "HTTP/1.1 101 Switching Protocols\r\n", 34);
    assert_non_null(strstr(out, "\r\nUpgrade: websocket\r\n"));
    assert_non_null(strstr(out, "\r\nConnection: Upgrade\r\n"));
    assert_non_null(strstr(out, "\r\nSec-WebSocket-Accept: " ACCEPT "\r\n"));
    assert_non_null(strstr(out, "\r\nSec-WebSocket-Protocol: fedc-node\r\n"));
    assert_null(strstr(out, "Extensions"));
    /* exactly one head, ending in the blank line */
    assert_int_equal(fedc_ws_handshake_end((const uint8_t *)out, (size_t)n), (size_t)n);
    /* it is what the node's check accepts for the RFC key */
    fedc_error e;
    assert_int_equal(fedc_ws_handshake_check((const uint8_t *)out, (size_t)n, KEY, PROTO, &e), 0);
    /* too small a buffer */
    assert_int_equal(fedc_ws_upgrade_answer(out, (size_t)n, KEY, PROTO), -1);
    assert_int_equal(fedc_ws_upgrade_answer(out, (size_t)n + 1, KEY, PROTO), n);
}

/* Content-Length of a refusal matches its body, a JSON object whose
 * "error" is why (escaped). */
static void check_refusal(int status, const char *reason, const char *why) {
    char out[1024];
    int n = fedc_ws_upgrade_refusal(out, sizeof out, status, why);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(out));
    char line[64];
    snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", status, reason);
    assert_memory_equal(out, line, strlen(line));
    assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
    assert_non_null(strstr(out, "\r\nContent-Type: application/json\r\n"));
    size_t end = fedc_ws_handshake_end((const uint8_t *)out, (size_t)n);
    assert_true(end > 0);
    const char *cl = strstr(out, "\r\nContent-Length: ");
    assert_non_null(cl);
    assert_true(cl < out + end);
    size_t body_len = strtoul(cl + 18, NULL, 10);
    assert_int_equal(body_len, (size_t)n - end);
    json_error_t je;
    json_t *o = json_loadb(out + end, body_len, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "error")), why);
    json_decref(o);
    assert_int_equal(out[n - 1], '\n');
    const char *version = strstr(out, "\r\nSec-WebSocket-Version: 13\r\n"); /* 426 says which version to use */
    assert_int_equal(version != NULL && version < out + end, status == 426);
}

static void test_refusal_answer(void **state) {
    (void)state;
    check_refusal(400, "Bad Request", "WebSocket upgrade to /node without a Host header");
    check_refusal(404, "Not Found", "refused a WebSocket upgrade on /x; nodes connect to /node");
    check_refusal(426, "Upgrade Required", "WebSocket upgrade to /node: no Sec-WebSocket-Version (13 is required)");
    check_refusal(503, "Service Unavailable", "the server cannot take more connections now");
    check_refusal(414, "URI Too Long", "request line (URL) longer than 8192 bytes");
    check_refusal(408, "Request Timeout", "request head not complete within 10 s");
    check_refusal(400, "Bad Request", "a \"quoted\" reason\\ with a\ttab");
    check_refusal(400, "Bad Request", "");
    char out[64];
    assert_int_equal(fedc_ws_upgrade_refusal(out, sizeof out, 400, "a reason that does not fit in 64 bytes at all"),
                     -1);
}

/* ---- round trip with the node's side ------------------------------------------------ */

static void round_trip(const char *host, int port, const char *target, const char *want_path) {
    char key[FEDC_WS_KEY_LEN + 1];
    assert_int_equal(fedc_ws_handshake_key(key), 0);
    char req[1024];
    int n = fedc_ws_handshake_request(req, sizeof req, host, port, target, key, PROTO);
    assert_true(n > 0);
    assert_int_equal(fedc_ws_handshake_end((const uint8_t *)req, (size_t)n), (size_t)n);
    fedc_ws_upgrade u;
    int status;
    fedc_error e;
    int r = parse_n(req, (size_t)n, &u, &status, &e);
    if (r != FEDC_WS_HEAD_UPGRADE) fail_msg("the node's request was not an upgrade (%d): %s\n%s", r, e.msg, req);
    assert_string_equal(u.path, want_path);
    assert_string_equal(u.key, key);
    char ans[512];
    int m = fedc_ws_upgrade_answer(ans, sizeof ans, u.key, PROTO);
    assert_true(m > 0);
    if (fedc_ws_handshake_check((const uint8_t *)ans, (size_t)m, key, PROTO, &e) != 0)
        fail_msg("the node refused our answer: %s", e.msg);
    /* and the node notices an answer to another key */
    char other[FEDC_WS_KEY_LEN + 1];
    assert_int_equal(fedc_ws_handshake_key(other), 0);
    m = fedc_ws_upgrade_answer(ans, sizeof ans, other, PROTO);
    assert_int_equal(fedc_ws_handshake_check((const uint8_t *)ans, (size_t)m, key, PROTO, &e), -1);
    assert_non_null(strstr(e.msg, "does not answer our key"));
    /* or to another subprotocol */
    m = fedc_ws_upgrade_answer(ans, sizeof ans, key, "chat");
    assert_int_equal(fedc_ws_handshake_check((const uint8_t *)ans, (size_t)m, key, PROTO, &e), -1);
    assert_non_null(strstr(e.msg, "subprotocol \"chat\""));
}

static void test_round_trip(void **state) {
    (void)state;
    for (int i = 0; i < 20; i++) round_trip("127.0.0.1", 8443, "/node", "/node");
    round_trip("::1", 80, "/node?v=2", "/node");
    round_trip("fedc.example.org", 443, "/", "/");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_upgrade),
        cmocka_unit_test(test_case_and_token_lists),
        cmocka_unit_test(test_plain_http),
        cmocka_unit_test(test_no_request_line),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_refusal_message_bounded),
        cmocka_unit_test(test_answer),
        cmocka_unit_test(test_refusal_answer),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
