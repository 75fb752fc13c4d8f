/* The WebSocket endpoints over real loopback sockets, plain and TLS (with a
 * CA made by the built-in authority): messages of every size class cross
 * intact in both directions, each side counts the wire bytes the other
 * sent exactly as fedc_ws_overhead predicts, and a message above the
 * receiver's limit closes the connection with the reason. The node checks
 * the server's certificate (its CA, the address dialled), and one payload
 * queued to several connections reaches each intact.
 *
 * The round trip runs its client in a child process, as a node is one. */
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

static const size_t k_sizes[] = {1, 125, 126, 65527, 65528, 65529, 65535, 65536, 65537, 1000000, 4u << 20};
/* How long any step may take before the test gives up: a deadline for a
 * machine under load (sanitizers, other processes), never a measurement;
 * each wait ends as soon as its event happens. */
#define WAIT_S 120

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
    fedc_ws_client_config cc = {url, ca, ca_len, 8u << 20, WAIT_S};
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
        CHECK(fedc_ws_client_recv(c, &back, &got_wire, NULL, WAIT_S, &err) == 1, "recv: %s", err.msg);
        CHECK(back.len == len && memcmp(back.data, msg, len) == 0, "echo of %zu bytes differs", len);
        CHECK(got_wire == len + fedc_ws_overhead(len, 0, FEDC_WS_FRAGMENT_SIZE), "received wire %llu for %zu",
              (unsigned long long)got_wire, len);
    }
    /* Above the server's limit: an ERROR frame with the reason, then closed. */
    memset(msg, 0, LIMIT + 1);
    CHECK(fedc_ws_client_send(c, msg, LIMIT + 1, NULL, &err) == 0, "send: %s", err.msg);
    int r, saw_error = 0;
    while ((r = fedc_ws_client_recv(c, &back, NULL, NULL, WAIT_S, &err)) == 1) {
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
    fedc_ws_server_config sc = {.bind = "127.0.0.1", .tls = tls, .cert_path = cert, .key_path = key, .node_path = "/node",
                                .max_message = 65536, .threads = 2};
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
    for (int i = 0; i < WAIT_S * 100; i++) {
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

/* The node checks the server's certificate: signed by the CA it was given,
 * and naming the address it dialled. */
static void tls_refusal(const char *bind, const char *dial, int other_ca, const char *what) {
    char dir[] = "/tmp/fedc-ws-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char certs[128], certs2[128], cert[160], key[160], ca[160];
    snprintf(certs, sizeof certs, "%s/certs", dir);
    snprintf(certs2, sizeof certs2, "%s/other", dir);
    fedc_error err;
    assert_int_equal(fedc_certs_init(certs, NULL, 0, &err), 0);
    assert_int_equal(fedc_certs_init(certs2, NULL, 0, &err), 0);
    snprintf(cert, sizeof cert, "%s/server.crt", certs);
    snprintf(key, sizeof key, "%s/server.key", certs);
    snprintf(ca, sizeof ca, "%s/ca.crt", other_ca ? certs2 : certs);
    echo e;
    memset(&e, 0, sizeof e);
    pthread_mutex_init(&e.mu, NULL);
    fedc_ws_server_config sc = {.bind = bind, .tls = 1, .cert_path = cert, .key_path = key, .node_path = "/node",
                                .max_message = 65536};
    fedc_ws_server *srv = fedc_ws_server_start(&sc, &k_ops, &e, &err);
    assert_non_null(srv);
    char pem[16384];
    FILE *f = fopen(ca, "rb");
    assert_non_null(f);
    size_t pem_len = fread(pem, 1, sizeof pem, f);
    fclose(f);
    char url[128];
    snprintf(url, sizeof url, "wss://%s:%d/node", dial, fedc_ws_server_port(srv));
    fedc_ws_client_config cc = {url, pem, pem_len, 1024, WAIT_S};
    fedc_ws_client *c = fedc_ws_client_connect(&cc, &err);
    if (c) fedc_ws_client_free(c);
    fedc_ws_server_stop(srv);
    pthread_mutex_destroy(&e.mu);
    assert_null(c);
    if (!strstr(err.msg, what)) fail_msg("error \"%s\" does not name \"%s\"", err.msg, what);
    assert_int_equal(e.opened, 0);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_tls_refuses_unknown_ca(void **state) {
    (void)state;
    tls_refusal("127.0.0.1", "127.0.0.1", 1, "certificate is not trusted");
}

static void test_tls_refuses_wrong_address(void **state) {
    (void)state;
    /* 127.0.0.2 reaches the same host, but the certificate names 127.0.0.1. */
    tls_refusal("0.0.0.0", "127.0.0.2", 0, "mismatch");
}

/* One payload queued to several connections at once, as a TRAIN frame is
 * to every participant: each node receives it whole and intact while the
 * fragments of the connections interleave, and the shared payload is
 * unchanged once all are sent. */
#define FANOUT 3
#define FANOUT_LEN (3 * FEDC_WS_FRAGMENT_SIZE + 777)

typedef struct fanout {
    pthread_mutex_t mu;
    fedc_ws_conn *conns[FANOUT];
    int nconn, nsent, intact;
    fedc_ws_payload *p;
    uint8_t *expect;
} fanout;

static void fan_open(void *ctx, fedc_ws_conn *c) {
    fanout *f = ctx;
    fedc_ws_conn_set_max_message(c, LIMIT);
    pthread_mutex_lock(&f->mu);
    f->conns[f->nconn++] = c;
    if (f->nconn == FANOUT)
        for (int i = 0; i < FANOUT; i++) fedc_ws_conn_send(f->conns[i], f->p, 1);
    pthread_mutex_unlock(&f->mu);
}

static void fan_sent(void *ctx, fedc_ws_conn *c, uint64_t tag, uint64_t wire) {
    (void)c;
    (void)tag;
    (void)wire;
    fanout *f = ctx;
    pthread_mutex_lock(&f->mu);
    if (++f->nsent == FANOUT) f->intact = !memcmp(fedc_ws_payload_data(f->p), f->expect, FANOUT_LEN);
    pthread_mutex_unlock(&f->mu);
}

static const fedc_ws_server_ops k_fan_ops = {.http = on_http, .node_open = fan_open, .node_sent = fan_sent};

typedef struct fan_client {
    int port;
    const uint8_t *expect;
    int ok;
    char err[FEDC_ERROR_MAX];
} fan_client;

static void *fan_client_main(void *arg) {
    fan_client *fc = arg;
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/node", fc->port);
    fedc_ws_client_config cc = {url, NULL, 0, LIMIT, WAIT_S};
    fedc_error err;
    fedc_ws_client *c = fedc_ws_client_connect(&cc, &err);
    if (!c) {
        snprintf(fc->err, sizeof fc->err, "connect: %.900s", err.msg);
        return NULL;
    }
    fedc_buf msg = {0};
    if (fedc_ws_client_recv(c, &msg, NULL, NULL, WAIT_S, &err) != 1)
        snprintf(fc->err, sizeof fc->err, "recv: %.900s", err.msg);
    else
        fc->ok = msg.len == FANOUT_LEN && !memcmp(msg.data, fc->expect, FANOUT_LEN);
    fedc_buf_free(&msg);
    fedc_ws_client_free(c);
    return NULL;
}

static void test_shared_payload_to_many(void **state) {
    (void)state;
    fanout f;
    memset(&f, 0, sizeof f);
    pthread_mutex_init(&f.mu, NULL);
    f.expect = malloc(FANOUT_LEN);
    for (size_t i = 0; i < FANOUT_LEN; i++) f.expect[i] = (uint8_t)(i * 7 + i / 1000);
    f.p = fedc_ws_payload_copy(f.expect, FANOUT_LEN);
    assert_non_null(f.p);
    fedc_error err;
    fedc_ws_server_config sc = {.bind = "127.0.0.1", .node_path = "/node", .max_message = 65536, .threads = 1};
    fedc_ws_server *srv = fedc_ws_server_start(&sc, &k_fan_ops, &f, &err);
    assert_non_null(srv);
    pthread_t th[FANOUT];
    fan_client fc[FANOUT];
    for (int i = 0; i < FANOUT; i++) {
        fc[i] = (fan_client){fedc_ws_server_port(srv), f.expect, 0, ""};
        assert_int_equal(pthread_create(&th[i], NULL, fan_client_main, &fc[i]), 0);
    }
    for (int i = 0; i < FANOUT; i++) pthread_join(th[i], NULL);
    fedc_ws_server_stop(srv);
    for (int i = 0; i < FANOUT; i++) {
        if (fc[i].err[0]) fail_msg("client %d: %s", i, fc[i].err);
        assert_true(fc[i].ok);
    }
    assert_int_equal(f.nsent, FANOUT);
    assert_true(f.intact);
    fedc_ws_payload_unref(f.p);
    free(f.expect);
    pthread_mutex_destroy(&f.mu);
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
        cmocka_unit_test(test_tls_refuses_unknown_ca),
        cmocka_unit_test(test_tls_refuses_wrong_address),
        cmocka_unit_test(test_shared_payload_to_many),
        cmocka_unit_test(test_connect_failures_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
