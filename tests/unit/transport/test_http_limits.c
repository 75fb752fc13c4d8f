/* HTTP on the server endpoint against clients that hold connections or
 * send what libwebsockets cannot read: a chunked body arrives whole, HEAD
 * gets GET's head without its body, a long URL or head gets 414/431 (not a
 * dropped connection), slow heads and bodies are closed with 408 at their
 * deadline however steadily they trickle, and one address can hold only so
 * many connections that have not completed a request. Plain sockets on
 * loopback; every wait is bounded. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fedc/ws.h"

/* The handler: GET /echo and POST /echo answer with what they got. */
static void on_http(void *ctx, const fedc_http_request *req, fedc_http_response *resp) {
    (void)ctx;
    char head[200];
    int n = snprintf(head, sizeof head, "{\"method\":\"%s\",\"len\":%zu,\"body\":\"", req->method, req->body_len);
    fedc_buf_append(&resp->body, head, (size_t)n);
    if (req->body_len) fedc_buf_append(&resp->body, req->body, req->body_len);
    fedc_buf_append(&resp->body, "\"}", 2);
    resp->status = strcmp(req->path, "/echo") == 0 ? 200 : 404;
    snprintf(resp->content_type, sizeof resp->content_type, "application/json");
}

static const fedc_ws_server_ops k_ops = {.http = on_http};

static fedc_ws_server *start(int max_pending, double timeout_s) {
    fedc_ws_server_config sc = {.bind = "127.0.0.1", .node_path = "/node", .max_message = 65536, .threads = 1,
                                .head_timeout_s = timeout_s, .body_timeout_s = timeout_s,
                                .max_pending_per_address = max_pending};
    fedc_error err;
    fedc_ws_server *s = fedc_ws_server_start(&sc, &k_ops, NULL, &err);
    if (!s) fail_msg("%s", err.msg);
    return s;
}

static int dial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) return; /* the server may close first: what it said is read after */
        c += w;
        n -= (size_t)w;
    }
}

/* Everything the server sends until it closes or stays quiet for quiet_ms. */
static size_t read_until(int fd, char *out, size_t cap, int quiet_ms, int *closed) {
    size_t len = 0;
    *closed = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, quiet_ms) <= 0) break;
        ssize_t n = recv(fd, out + len, cap - 1 - len, 0);
        if (n <= 0) {
            *closed = 1;
            break;
        }
        len += (size_t)n;
        if (len + 1 >= cap) break;
    }
    out[len] = 0;
    return len;
}

static void test_chunked_body_arrives_whole(void **state) {
    (void)state;
    fedc_ws_server *s = start(0, 1);
    int fd = dial(fedc_ws_server_port(s));
    const char *req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";
    send_all(fd, req, strlen(req));
    char out[4096];
    int closed;
    read_until(fd, out, sizeof out, 3000, &closed);
    assert_non_null(strstr(out, "HTTP/1.1 200"));
    assert_non_null(strstr(out, "\"len\":12"));
    assert_non_null(strstr(out, "hello, world"));
    /* The connection stays usable: the next request on it is answered. */
    const char *next = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(fd, next, strlen(next));
    read_until(fd, out, sizeof out, 3000, &closed);
    assert_non_null(strstr(out, "\"method\":\"GET\""));
    close(fd);
    /* Both Content-Length and chunked: refused, not guessed. */
    fd = dial(fedc_ws_server_port(s));
    const char *both = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "0\r\n\r\n";
    send_all(fd, both, strlen(both));
    read_until(fd, out, sizeof out, 3000, &closed);
    assert_non_null(strstr(out, "HTTP/1.1 400"));
    assert_non_null(strstr(out, "Content-Type: application/json"));
    close(fd);
    fedc_ws_server_stop(s);
}

static void test_head_is_get_without_body(void **state) {
    (void)state;
    fedc_ws_server *s = start(0, 1);
    int fd = dial(fedc_ws_server_port(s));
    const char *req = "HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(fd, req, strlen(req));
    char out[4096];
    int closed;
    read_until(fd, out, sizeof out, 1500, &closed);
    assert_non_null(strstr(out, "HTTP/1.1 200"));
    /* GET's length, no body after the head. */
    const char *cl = NULL;
    for (char *q = out; *q && !cl; q++)
        if (!strncasecmp(q, "content-length: ", 16)) cl = q;
    assert_non_null(cl);
    assert_int_equal(strtol(cl + 16, NULL, 10), (long)strlen("{\"method\":\"GET\",\"len\":0,\"body\":\"\"}"));
    const char *end = strstr(out, "\r\n\r\n");
    assert_non_null(end);
    assert_int_equal(end[4], 0);
    close(fd);
    fedc_ws_server_stop(s);
}

static void expect_status_json(int port, const char *req, size_t len, const char *status) {
    int fd = dial(port);
    send_all(fd, req, len);
    char out[4096];
    int closed;
    read_until(fd, out, sizeof out, 3000, &closed);
    assert_non_null(strstr(out, status));
    assert_non_null(strstr(out, "Content-Type: application/json"));
    assert_non_null(strstr(out, "{\"error\":"));
    assert_true(closed);
    close(fd);
}

static void test_long_url_and_head_get_a_status(void **state) {
    (void)state;
    fedc_ws_server *s = start(0, 1);
    int port = fedc_ws_server_port(s);
    size_t n = 12000;
    char *req = malloc(n + 64);
    /* A 12 KB URL, as the first request of a connection. */
    int k = snprintf(req, n + 64, "GET /echo?x=");
    memset(req + k, 'a', n - (size_t)k);
    memcpy(req + n, " HTTP/1.1\r\nHost: x\r\n\r\n", 23);
    expect_status_json(port, req, n + 22, "HTTP/1.1 414");
    /* A 9 KB header. */
    k = snprintf(req, n + 64, "GET /echo HTTP/1.1\r\nX-Big: ");
    memset(req + k, 'b', 9000);
    memcpy(req + k + 9000, "\r\n\r\n", 4);
    expect_status_json(port, req, (size_t)k + 9004, "HTTP/1.1 431");
    /* The same long URL as the second request on a connection. */
    int fd = dial(port);
    const char *first = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(fd, first, strlen(first));
    k = snprintf(req, n + 64, "GET /echo?x=");
    memset(req + k, 'a', n - (size_t)k);
    memcpy(req + n, " HTTP/1.1\r\nHost: x\r\n\r\n", 23);
    send_all(fd, req, n + 22);
    char out[8192];
    int closed;
    read_until(fd, out, sizeof out, 3000, &closed);
    assert_non_null(strstr(out, "HTTP/1.1 200"));
    assert_non_null(strstr(out, "HTTP/1.1 414"));
    assert_true(closed);
    close(fd);
    free(req);
    fedc_ws_server_stop(s);
}

/* One byte at a time, each well inside any per-read timeout: the overall
 * deadline (1 s here) closes the connection with 408. */
static void trickle_until_closed(int port, const char *prefix, size_t prefix_len, char *out, size_t cap) {
    int fd = dial(port);
    send_all(fd, prefix, prefix_len);
    int closed = 0;
    size_t len = 0;
    for (int i = 0; i < 100 && !closed; i++) { /* at most 10 s */
        send_all(fd, "a", 1);
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) > 0) {
            ssize_t n = recv(fd, out + len, cap - 1 - len, 0);
            if (n <= 0) closed = 1;
            else len += (size_t)n;
        }
    }
    out[len] = 0;
    assert_true(closed);
    close(fd);
}

static void test_slow_head_and_body_get_408(void **state) {
    (void)state;
    fedc_ws_server *s = start(0, 1);
    int port = fedc_ws_server_port(s);
    char out[4096];
    const char *head = "GET /echo HTTP/1.1\r\nX-Slow: ";
    trickle_until_closed(port, head, strlen(head), out, sizeof out);
    assert_non_null(strstr(out, "HTTP/1.1 408"));
    const char *body = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
    trickle_until_closed(port, body, strlen(body), out, sizeof out);
    assert_non_null(strstr(out, "HTTP/1.1 408"));
    assert_non_null(strstr(out, "body"));
    /* A slow head on a connection that already completed a request. */
    char prefix[200];
    int n = snprintf(prefix, sizeof prefix, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nX-Slow: ");
    trickle_until_closed(port, prefix, (size_t)n, out, sizeof out);
    assert_non_null(strstr(out, "HTTP/1.1 200"));
    assert_non_null(strstr(out, "HTTP/1.1 408"));
    fedc_ws_server_stop(s);
}

/* With a limit of 3, a fourth connection from the same address that has
 * not completed a request is closed at once; one that completes a request
 * makes room. */
static void test_pending_connections_per_address(void **state) {
    (void)state;
    fedc_ws_server *s = start(3, 30);
    int port = fedc_ws_server_port(s);
    int idle[3];
    for (int i = 0; i < 3; i++) idle[i] = dial(port);
    usleep(200000);
    int extra = dial(port);
    char out[4096];
    int closed;
    read_until(extra, out, sizeof out, 2000, &closed);
    assert_true(closed);
    assert_int_equal(out[0], 0);
    close(extra);
    /* The idle ones are still open (not yet at their deadline). */
    for (int i = 0; i < 3; i++) {
        struct pollfd p = {idle[i], POLLIN, 0};
        assert_int_equal(poll(&p, 1, 0), 0);
    }
    /* One completes a request: it no longer counts. */
    const char *req = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(idle[0], req, strlen(req));
    read_until(idle[0], out, sizeof out, 2000, &closed);
    assert_non_null(strstr(out, "HTTP/1.1 200"));
    int again = dial(port);
    send_all(again, req, strlen(req));
    read_until(again, out, sizeof out, 2000, &closed);
    assert_non_null(strstr(out, "HTTP/1.1 200"));
    close(again);
    for (int i = 0; i < 3; i++) close(idle[i]);
    fedc_ws_server_stop(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunked_body_arrives_whole),
        cmocka_unit_test(test_head_is_get_without_body),
        cmocka_unit_test(test_long_url_and_head_get_a_status),
        cmocka_unit_test(test_slow_head_and_body_get_408),
        cmocka_unit_test(test_pending_connections_per_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
