/* The WebSocket endpoints over real loopback sockets, plain and TLS (with a
 * CA made by the built-in authority): messages of every size class cross
 * intact in both directions, each side counts the wire bytes the other
 * sent exactly as fedc_ws_overhead predicts, and a message above the
 * receiver's limit closes the connection with the reason.
 *
 * The client runs in a child process, as a node does: one process holding
 * both a TLS server and a TLS client libwebsockets context leaks the
 * server's SSL_CTX inside libwebsockets 4.1 (never the case in fedc, where
 * server and nodes are separate processes). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fedc/certs.h"
#include "fedc/proto.h"
#include "fedc/ws.h"

static const size_t k_sizes[] = {1, 125, 126, 65535, 65536, 65537, 1000000, 4u << 20};
#define NSIZES (sizeof k_sizes / sizeof k_sizes[0])
#define LIMIT (4u << 20)

typedef struct echo {
    pthread_mutex_t mu;
    uint64_t wire_in[NSIZES + 1], wire_out[NSIZES + 1], len_in[NSIZES + 1];
    int nin, nout, opened, closed, bad_tags; /* service thread: no asserts there */
    char close_reason[256];
} echo;

static void on_open(void *ctx, fedc_ws_conn *c) {
    echo *e = ctx;
    fedc_ws_conn_set_max_message(c, LIMIT);
    pthread_mutex_lock(&e->mu);
    e->opened++;
    pthread_mutex_unlock(&e->mu);
}

static void on_message(void *ctx, fedc_ws_conn *c, fedc_buf *msg, uint64_t wire) {
    echo *e = ctx;
    pthread_mutex_lock(&e->mu);
    if (e->nin < (int)NSIZES) {
        e->len_in[e->nin] = msg->len;
        e->wire_in[e->nin] = wire;
    }
    e->nin++;
    pthread_mutex_unlock(&e->mu);
    fedc_ws_payload *p = fedc_ws_payload_take(msg);
    fedc_ws_conn_send(c, p, 7);
    fedc_ws_payload_unref(p);
}

static void on_sent(void *ctx, fedc_ws_conn *c, uint64_t tag, uint64_t wire) {
    (void)c;
    echo *e = ctx;
    pthread_mutex_lock(&e->mu);
    if (tag != 7) e->bad_tags++;
    if (e->nout < (int)NSIZES) e->wire_out[e->nout] = wire;
    e->nout++;
    pthread_mutex_unlock(&e->mu);
}

static void on_closed(void *ctx, fedc_ws_conn *c, const char *reason) {
    (void)c;
    echo *e = ctx;
    pthread_mutex_lock(&e->mu);
    e->closed++;
    snprintf(e->close_reason, sizeof e->close_reason, "%s", reason);
    pthread_mutex_unlock(&e->mu);
}

static void on_http(void *ctx, const fedc_http_request *req, fedc_http_response *resp) {
    (void)ctx;
    (void)req;
    resp->status = 404;
}

static const fedc_ws_server_ops k_ops = {
    .http = on_http, .node_open = on_open, .node_message = on_message, .node_sent = on_sent, .node_closed = on_closed,
};

#define CHECK(cond, ...)                                                                                          \
    do {                                                                                                          \
        if (!(cond)) {                                                                                            \
            fprintf(stderr, "client: " __VA_ARGS__);                                                              \
            fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__);                                                    \
            exit(1);                                                                                              \
        }                                                                                                         \
    } while (0)

/* The node side, in the child: echo every size, then overflow the limit. */
static void client_main(int port_fd, int tls, const char *ca_path) {
    int port = 0;
    CHECK(read(port_fd, &port, sizeof port) == (ssize_t)sizeof port && port > 0, "no port from the parent");
    char *ca = NULL;
    size_t ca_len = 0;
    if (tls) {
        FILE *f = fopen(ca_path, "rb");
        CHECK(f, "cannot read %s", ca_path);
        ca = malloc(16384);
        ca_len = fread(ca, 1, 16384, f);
        fclose(f);
    }
    char url[128];
    snprintf(url, sizeof url, "%s://127.0.0.1:%d/node", tls ? "wss" : "ws", port);
    fedc_ws_client_config cc = {url, ca, ca_len, 8u << 20, 5};
    fedc_error err;
    fedc_ws_client *c = fedc_ws_client_connect(&cc, &err);
    CHECK(c, "connect: %s", err.msg);
    uint8_t *msg = malloc(LIMIT + 1);
    fedc_buf back = {0};
    for (size_t k = 0; k < NSIZES; k++) {
        size_t len = k_sizes[k];
        for (size_t i = 0; i < len; i++) msg[i] = (uint8_t)(i * 13 + k);
        uint64_t sent_wire = 0, got_wire = 0;
        CHECK(fedc_ws_client_send(c, msg, len, &sent_wire, &err) == 0, "send: %s", err.msg);
        CHECK(sent_wire == len + fedc_ws_overhead(len, 1, FEDC_WS_FRAGMENT_SIZE), "sent wire %llu for %zu",
              (unsigned long long)sent_wire, len);
        CHECK(fedc_ws_client_recv(c, &back, &got_wire, NULL, 20, &err) == 1, "recv: %s", err.msg);
        CHECK(back.len == len && memcmp(back.data, msg, len) == 0, "echo of %zu bytes differs", len);
        CHECK(got_wire == len + fedc_ws_overhead(len, 0, FEDC_WS_FRAGMENT_SIZE), "received wire %llu for %zu",
              (unsigned long long)got_wire, len);
    }
    /* Above the server's limit: an ERROR frame with the reason, then closed. */
    memset(msg, 0, LIMIT + 1);
    CHECK(fedc_ws_client_send(c, msg, LIMIT + 1, NULL, &err) == 0, "send: %s", err.msg);
    int r, saw_error = 0;
    while ((r = fedc_ws_client_recv(c, &back, NULL, NULL, 20, &err)) == 1) {
        fedc_msg m;
        CHECK(fedc_msg_decode(back.data, back.len, &m, NULL) == 0, "undecodable frame from the server");
        saw_error = m.type == FEDC_MSG_ERROR && strstr(m.json, "exceeds the limit") != NULL;
        fedc_msg_free(&m);
    }
    CHECK(r == -1 && saw_error, "the oversized message did not close the connection with the reason");
    fedc_ws_client_free(c);
    fedc_buf_free(&back);
    free(msg);
    free(ca);
    exit(0);
}

static void roundtrip(int tls) {
    char dir[] = "/tmp/fedc-ws-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char certs[128], cert[160], key[160], ca[160];
    snprintf(certs, sizeof certs, "%s/certs", dir);
    fedc_error err;
    assert_int_equal(fedc_certs_init(certs, NULL, 0, &err), 0);
    snprintf(cert, sizeof cert, "%s/server.crt", certs);
    snprintf(key, sizeof key, "%s/server.key", certs);
    snprintf(ca, sizeof ca, "%s/ca.crt", certs);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[1]);
        client_main(fds[0], tls, ca);
    }
    close(fds[0]);
    echo e;
    memset(&e, 0, sizeof e);
    pthread_mutex_init(&e.mu, NULL);
    fedc_ws_server_config sc = {"127.0.0.1", 0, tls, cert, key, "/node", 65536};
    fedc_ws_server *srv = fedc_ws_server_start(&sc, &k_ops, &e, &err);
    assert_non_null(srv);
    int port = fedc_ws_server_port(srv);
    assert_true(port > 0);
    assert_int_equal(write(fds[1], &port, sizeof port), (ssize_t)sizeof port);
    close(fds[1]);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&e.mu);
        int closed = e.closed;
        pthread_mutex_unlock(&e.mu);
        if (closed) break;
        usleep(10000);
    }
    fedc_ws_server_stop(srv);
    /* What the server received (masked frames) and wrote (unmasked). */
    assert_int_equal(e.bad_tags, 0);
    assert_int_equal(e.opened, 1);
    assert_int_equal(e.closed, 1);
    assert_non_null(strstr(e.close_reason, "exceeds the limit"));
    assert_int_equal(e.nin, NSIZES);
    assert_int_equal(e.nout, NSIZES);
    for (size_t k = 0; k < NSIZES; k++) {
        size_t len = k_sizes[k];
        assert_int_equal(e.len_in[k], len);
        assert_int_equal(e.wire_in[k], len + fedc_ws_overhead(len, 1, FEDC_WS_FRAGMENT_SIZE));
        assert_int_equal(e.wire_out[k], len + fedc_ws_overhead(len, 0, FEDC_WS_FRAGMENT_SIZE));
    }
    pthread_mutex_destroy(&e.mu);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_plain_roundtrip(void **state) {
    (void)state;
    roundtrip(0);
}

static void test_tls_roundtrip(void **state) {
    (void)state;
    roundtrip(1);
}

static void test_connect_failures_are_bounded(void **state) {
    (void)state;
    fedc_error err;
    /* Nothing listens on this port: refused quickly, with the URL named. */
    fedc_ws_client_config cc = {"ws://127.0.0.1:1/node", NULL, 0, 1024, 2};
    fedc_ws_client *c = fedc_ws_client_connect(&cc, &err);
    assert_null(c);
    assert_non_null(strstr(err.msg, "127.0.0.1:1"));
    fedc_ws_client_config bad = {"ftp://x/node", NULL, 0, 1024, 2};
    assert_null(fedc_ws_client_connect(&bad, &err));
    assert_non_null(strstr(err.msg, "scheme"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_roundtrip),
        cmocka_unit_test(test_tls_roundtrip),
        cmocka_unit_test(test_connect_failures_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
