/* The node's WebSocket client against a scripted server on a loopback
 * socket (plain TCP, frames written by hand): pings answered with the same
 * payload between the fragments of a message, the server's CLOSE answered
 * and its reason reported, the closing handshake when the node leaves, and
 * refusals of a bad handshake or a frame a server must not send, each
 * bounded in time and named in the error. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fedc/proto.h"
#include "fedc/ws.h"
#include "transport/ws_internal.h"

typedef struct fake fake;
typedef void (*script_fn)(fake *f, int fd);

struct fake {
    int lfd, port;
    script_fn script;
    pthread_t thread;
    char err[512]; /* the script's first failure ("" = all went as expected) */
};

#define FAKE_CHECK(f, cond, ...)                                                                             \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            if (!(f)->err[0]) snprintf((f)->err, sizeof (f)->err, __VA_ARGS__);                              \
            return;                                                                                          \
        }                                                                                                    \
    } while (0)

static int read_exact(int fd, void *buf, size_t n) {
    uint8_t *p = buf;
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void write_all(int fd, const void *buf, size_t n) {
    const uint8_t *p = buf;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

/* Reads the upgrade request; the key it carries goes to key. */
static int read_request(int fd, char *key, size_t cap) {
    char req[4096];
    size_t n = 0;
    while (n + 1 < sizeof req) {
        if (recv(fd, req + n, 1, 0) != 1) return -1;
        n++;
        if (n >= 4 && !memcmp(req + n - 4, "\r\n\r\n", 4)) break;
    }
    req[n] = 0;
    const char *k = strstr(req, "Sec-WebSocket-Key: ");
    if (!k || !strstr(req, "GET /node HTTP/1.1\r\n") || !strstr(req, "Sec-WebSocket-Protocol: fedc-node\r\n")) return -1;
    k += strlen("Sec-WebSocket-Key: ");
    size_t kl = strcspn(k, "\r");
    if (kl >= cap) return -1;
    memcpy(key, k, kl);
    key[kl] = 0;
    return 0;
}

static int handshake(int fd) {
    char key[64], accept[29], resp[512];
    if (read_request(fd, key, sizeof key) != 0) return -1;
    fedc_ws_handshake_accept(key, accept);
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n",
                     accept);
    write_all(fd, resp, (size_t)n);
    return 0;
}

static void send_frame(int fd, int op, int fin, const void *payload, size_t n) {
    uint8_t h[FEDC_WS_MAX_HEADER];
    write_all(fd, h, fedc_ws_frame_header(h, op, fin, n, NULL));
    write_all(fd, payload, n);
}

/* Reads one frame from the client, which must mask it; unmasked into buf. */
static int read_frame(int fd, int *op, int *fin, uint8_t *buf, size_t cap, size_t *n) {
    uint8_t h[14];
    if (read_exact(fd, h, 2) != 0 || !(h[1] & 0x80)) return -1;
    *op = h[0] & 0x0f;
    *fin = (h[0] & 0x80) != 0;
    uint64_t len = h[1] & 0x7f;
    if (len == 126) {
        if (read_exact(fd, h, 2) != 0) return -1;
        len = (uint64_t)h[0] << 8 | h[1];
    } else if (len == 127) {
        if (read_exact(fd, h, 8) != 0) return -1;
        len = 0;
        for (int i = 0; i < 8; i++) len = len << 8 | h[i];
    }
    uint8_t key[4];
    if (len > cap || read_exact(fd, key, 4) != 0 || read_exact(fd, buf, (size_t)len) != 0) return -1;
    fedc_ws_mask_copy(buf, buf, (size_t)len, key);
    *n = (size_t)len;
    return 0;
}

static void *fake_main(void *arg) {
    fake *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0) {
        snprintf(f->err, sizeof f->err, "accept failed");
        return NULL;
    }
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    f->script(f, fd);
    close(fd);
    return NULL;
}

static void fake_start(fake *f, script_fn script) {
    memset(f, 0, sizeof *f);
    f->script = script;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->lfd, 1), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_finish(fake *f) {
    pthread_join(f->thread, NULL);
    close(f->lfd);
    if (f->err[0]) fail_msg("scripted server: %s", f->err);
}

static fedc_ws_client *connect_to(fake *f, double timeout_s, fedc_error *err) {
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/node", f->port);
    fedc_ws_client_config cc = {url, NULL, 0, 1 << 20, timeout_s};
    return fedc_ws_client_connect(&cc, err);
}

/* ---- pings, a fragmented message, the server's CLOSE ------------------------------ */

#define MSG_LEN 100000

static void script_conversation(fake *f, int fd) {
    FAKE_CHECK(f, handshake(fd) == 0, "no valid upgrade request");
    uint8_t buf[256];
    size_t n;
    int op, fin;
    send_frame(fd, FEDC_WS_OP_PING, 1, "abc", 3);
    FAKE_CHECK(f, read_frame(fd, &op, &fin, buf, sizeof buf, &n) == 0, "no answer to a ping");
    FAKE_CHECK(f, op == FEDC_WS_OP_PONG && fin && n == 3 && !memcmp(buf, "abc", 3), "ping answered with op %d", op);
    /* A message in two fragments with a ping between them. */
    uint8_t *msg = malloc(MSG_LEN);
    for (size_t i = 0; i < MSG_LEN; i++) msg[i] = (uint8_t)(i * 13);
    send_frame(fd, FEDC_WS_OP_BINARY, 0, msg, 60000);
    send_frame(fd, FEDC_WS_OP_PING, 1, "p2", 2);
    send_frame(fd, FEDC_WS_OP_CONT, 1, msg + 60000, MSG_LEN - 60000);
    free(msg);
    FAKE_CHECK(f, read_frame(fd, &op, &fin, buf, sizeof buf, &n) == 0, "no answer to the second ping");
    FAKE_CHECK(f, op == FEDC_WS_OP_PONG && n == 2 && !memcmp(buf, "p2", 2), "second ping answered wrongly");
    /* The node's message back. */
    FAKE_CHECK(f, read_frame(fd, &op, &fin, buf, sizeof buf, &n) == 0, "no message from the node");
    FAKE_CHECK(f, op == FEDC_WS_OP_BINARY && fin && n == 5 && !memcmp(buf, "hello", 5), "node sent op %d, %zu bytes",
               op, n);
    /* We close; the node must answer with our status code. */
    send_frame(fd, FEDC_WS_OP_CLOSE, 1, "\x03\xe9going away", 12);
    FAKE_CHECK(f, read_frame(fd, &op, &fin, buf, sizeof buf, &n) == 0, "the node did not answer our close");
    FAKE_CHECK(f, op == FEDC_WS_OP_CLOSE && n == 2 && buf[0] == 0x03 && buf[1] == 0xe9,
               "close answered with op %d and %zu bytes", op, n);
}

static void test_conversation(void **state) {
    (void)state;
    fake f;
    fake_start(&f, script_conversation);
    fedc_error err;
    fedc_ws_client *c = connect_to(&f, 5, &err);
    if (!c) fail_msg("connect: %s", err.msg);
    fedc_buf msg = {0};
    uint64_t wire = 0;
    assert_int_equal(fedc_ws_client_recv(c, &msg, &wire, NULL, 10, &err), 1);
    assert_int_equal(msg.len, MSG_LEN);
    for (size_t i = 0; i < MSG_LEN; i++)
        if (msg.data[i] != (uint8_t)(i * 13)) fail_msg("byte %zu differs", i);
    assert_int_equal(wire, MSG_LEN + 4 + 4); /* two frames with 16-bit lengths */
    uint64_t sent = 0;
    assert_int_equal(fedc_ws_client_send(c, "hello", 5, &sent, &err), 0);
    assert_int_equal(sent, 5 + fedc_ws_overhead(5, 1, 0));
    assert_int_equal(fedc_ws_client_recv(c, &msg, NULL, NULL, 10, &err), -1);
    assert_non_null(strstr(err.msg, "closed by the server: going away"));
    assert_int_equal(fedc_ws_client_send(c, "x", 1, NULL, &err), -1);
    fedc_ws_client_free(c);
    fedc_buf_free(&msg);
    fake_finish(&f);
}

/* ---- the node leaves ---------------------------------------------------------------- */

static void script_node_leaves(fake *f, int fd) {
    FAKE_CHECK(f, handshake(fd) == 0, "no valid upgrade request");
    uint8_t buf[256];
    size_t n;
    int op, fin;
    FAKE_CHECK(f, read_frame(fd, &op, &fin, buf, sizeof buf, &n) == 0, "no close from the leaving node");
    FAKE_CHECK(f, op == FEDC_WS_OP_CLOSE && n >= 2 && (buf[0] << 8 | buf[1]) == 1000,
               "leaving node sent op %d (expected close 1000)", op);
    FAKE_CHECK(f, n - 2 == strlen("node leaving") && !memcmp(buf + 2, "node leaving", n - 2), "close reason %.*s",
               (int)(n - 2), buf + 2);
    send_frame(fd, FEDC_WS_OP_CLOSE, 1, buf, 2);
}

static void test_node_leaves_with_close(void **state) {
    (void)state;
    fake f;
    fake_start(&f, script_node_leaves);
    fedc_error err;
    fedc_ws_client *c = connect_to(&f, 5, &err);
    if (!c) fail_msg("connect: %s", err.msg);
    fedc_ws_client_free(c);
    fake_finish(&f);
}

/* ---- refusals ---------------------------------------------------------------------- */

static void script_403(fake *f, int fd) {
    char key[64];
    FAKE_CHECK(f, read_request(fd, key, sizeof key) == 0, "no valid upgrade request");
    const char *r = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    write_all(fd, r, strlen(r));
}

static void script_bad_accept(fake *f, int fd) {
    char key[64];
    FAKE_CHECK(f, read_request(fd, key, sizeof key) == 0, "no valid upgrade request");
    const char *r = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: fedc-node\r\n\r\n";
    write_all(fd, r, strlen(r));
}

static void script_silent(fake *f, int fd) {
    char key[64];
    FAKE_CHECK(f, read_request(fd, key, sizeof key) == 0, "no valid upgrade request");
    uint8_t b;
    (void)recv(fd, &b, 1, 0); /* until the node gives up and closes */
}

static void script_masked_frame(fake *f, int fd) {
    FAKE_CHECK(f, handshake(fd) == 0, "no valid upgrade request");
    uint8_t buf[16];
    size_t n;
    int op, fin;
    FAKE_CHECK(f, read_frame(fd, &op, &fin, buf, sizeof buf, &n) == 0, "no message from the node");
    write_all(fd, "\x82\x81\x01\x02\x03\x04\x00", 7);
    uint8_t b;
    (void)recv(fd, &b, 1, 0);
}

static void expect_connect_fails(script_fn script, double timeout_s, const char *what) {
    fake f;
    fake_start(&f, script);
    fedc_error err;
    fedc_ws_client *c = connect_to(&f, timeout_s, &err);
    if (c) {
        fedc_ws_client_free(c);
        fail_msg("connected, expected a refusal naming \"%s\"", what);
    }
    if (!strstr(err.msg, what)) fail_msg("error \"%s\" does not name \"%s\"", err.msg, what);
    fake_finish(&f);
}

static void test_handshake_refusals(void **state) {
    (void)state;
    expect_connect_fails(script_403, 5, "\"HTTP/1.1 403 Forbidden\" instead of switching to WebSocket");
    expect_connect_fails(script_bad_accept, 5, "does not answer our key");
    expect_connect_fails(script_silent, 1, "no answer");
}

static void test_masked_frame_from_server_closes(void **state) {
    (void)state;
    fake f;
    fake_start(&f, script_masked_frame);
    fedc_error err;
    fedc_ws_client *c = connect_to(&f, 5, &err);
    if (!c) fail_msg("connect: %s", err.msg);
    assert_int_equal(fedc_ws_client_send(c, "go", 2, NULL, &err), 0);
    fedc_buf msg = {0};
    assert_int_equal(fedc_ws_client_recv(c, &msg, NULL, NULL, 10, &err), -1);
    assert_non_null(strstr(err.msg, "from the server: masked WebSocket frame"));
    fedc_ws_client_free(c);
    fake_finish(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conversation),
        cmocka_unit_test(test_node_leaves_with_close),
        cmocka_unit_test(test_handshake_refusals),
        cmocka_unit_test(test_masked_frame_from_server_closes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
