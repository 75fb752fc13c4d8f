/* DADAO's relay frames (dadao_relay.c) and a node's share of the events
 * (dadao_node_play): a step survives encoding bit for bit; every field a
 * node reads from the server is checked, the refusal naming it; a node's
 * step computes, on hand-computable numbers, what the simulation computes
 * for the same events; the server refuses replies for another step, of the
 * wrong size or not finite. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fl/engine/dadao_relay.h"

enum { D = 3 };

static fedc_dadao_step sample_step(void) {
    fedc_dadao_step s;
    memset(&s, 0, sizeof s);
    s.round = 2;
    s.step = 3;
    s.from = 0.125;
    s.until = 0.7;
    s.mu = 0.1;
    dadao_constants(0.1, 4.0, 1.5, &s.k);
    s.n_grads = 2;
    s.grads[0] = 0.25;
    s.grads[1] = 0.5;
    return s;
}

/* Encodes s, decodes the frame; 0 and out filled, or -1 and err. */
static int round_trip(const fedc_dadao_step *s, fedc_dadao_step *out, fedc_error *err) {
    fedc_buf frame = {0};
    fedc_msg m;
    int rc = -1;
    if (fedc_dadao_step_encode(s, D, &frame, err) == 0 && fedc_msg_decode(frame.data, frame.len, &m, err) == 0) {
        assert_true(fedc_dadao_is_step(&m));
        rc = fedc_dadao_step_decode(&m, D, out, err);
        fedc_msg_free(&m);
    }
    fedc_buf_free(&frame);
    return rc;
}

static void test_step_round_trip(void **state) {
    (void)state;
    fedc_dadao_step s = sample_step(), t;
    float peer[2 * D] = {1, 2, 3, 4, 5, 6};
    s.peer = peer;
    fedc_error err;
    assert_int_equal(round_trip(&s, &t, &err), 0);
    assert_int_equal(t.round, 2);
    assert_int_equal(t.step, 3);
    assert_false(t.first || t.send_x || t.init);
    assert_true(t.from == s.from && t.until == s.until && t.mu == s.mu);
    assert_memory_equal(&t.k, &s.k, sizeof s.k); /* the constants exactly */
    assert_int_equal(t.n_grads, 2);
    assert_true(t.grads[0] == 0.25 && t.grads[1] == 0.5);
    assert_memory_equal(t.peer, peer, sizeof peer);
    fedc_dadao_step_free(&t);
    /* Round 1's first step carries the starting model; the last, send x. */
    float x0[D] = {0.5f, -1, 2};
    s = sample_step();
    s.round = 1, s.first = 1, s.from = 0, s.init = x0, s.send_x = 1, s.until = 1;
    assert_int_equal(round_trip(&s, &t, &err), 0);
    assert_true(t.first && t.send_x && t.until == 1 && !t.peer);
    assert_memory_equal(t.init, x0, sizeof x0);
    fedc_dadao_step_free(&t);
}

/* A hand-made frame (json, blobs) decoded: -1 with the message in err. */
static int decode_json(const char *json, int nblobs, const float *blob, size_t blob_floats, fedc_error *err) {
    fedc_msg m = {.type = FEDC_MSG_STEP, .json = json, .json_len = strlen(json), .nblobs = nblobs};
    for (int b = 0; b < nblobs; b++) m.blobs[b] = (fedc_blob){(const uint8_t *)blob, blob_floats * sizeof(float)};
    fedc_dadao_step s;
    int rc = fedc_dadao_step_decode(&m, D, &s, err);
    fedc_dadao_step_free(&s);
    return rc;
}

#define K11 "\"k\":[0.05,0.03,0.01,0.01,10,0.5,12,0.03,1,0.06,0.1]"

static void test_step_refusals(void **state) {
    (void)state;
    static const struct {
        const char *json, *says;
        int nblobs;
        size_t floats;
    } cases[] = {
        {"[1]", "not a JSON object", 0, 0},
        {"{\"round\":0,\"dadao_step\":1,\"first\":0,\"init\":0,\"peer\":0,\"from\":0,\"until\":1,\"send\":\"x\","
         "\"grads\":[],\"mu\":0.1," K11 "}",
         "\"round\"", 0, 0},
        {"{\"round\":2,\"dadao_step\":1,\"first\":0,\"init\":0,\"peer\":0,\"from\":0.5,\"until\":0.25,\"send\":\"yz\","
         "\"grads\":[],\"mu\":0.1," K11 "}",
         "\"from\" and \"until\"", 0, 0},
        {"{\"round\":2,\"dadao_step\":1,\"first\":0,\"init\":0,\"peer\":0,\"from\":0.1,\"until\":0.6,\"send\":\"yz\","
         "\"grads\":[0.5,0.3],\"mu\":0.1," K11 "}",
         "\"grads\"[1]", 0, 0},
        {"{\"round\":2,\"dadao_step\":1,\"first\":0,\"init\":0,\"peer\":0,\"from\":0.1,\"until\":0.6,\"send\":\"z\","
         "\"grads\":[],\"mu\":0.1," K11 "}",
         "\"send\"", 0, 0},
        {"{\"round\":2,\"dadao_step\":1,\"first\":0,\"init\":0,\"peer\":0,\"from\":0.1,\"until\":0.6,\"send\":\"x\","
         "\"grads\":[],\"mu\":0.1," K11 "}",
         "\"until\" must be 1", 0, 0},
        {"{\"round\":2,\"dadao_step\":1,\"first\":1,\"init\":1,\"peer\":0,\"from\":0,\"until\":1,\"send\":\"x\","
         "\"grads\":[],\"mu\":0.1," K11 "}",
         "\"init\"", 1, D},
        {"{\"round\":2,\"dadao_step\":1,\"first\":1,\"init\":0,\"peer\":1,\"from\":0,\"until\":1,\"send\":\"x\","
         "\"grads\":[],\"mu\":0.1," K11 "}",
         "first step", 1, 2 * D},
        {"{\"round\":2,\"dadao_step\":1,\"first\":0,\"init\":0,\"peer\":0,\"from\":0,\"until\":1,\"send\":\"x\","
         "\"grads\":[],\"mu\":-1," K11 "}",
         "\"mu\"", 0, 0},
        {"{\"round\":2,\"dadao_step\":1,\"first\":0,\"init\":0,\"peer\":0,\"from\":0,\"until\":1,\"send\":\"x\","
         "\"grads\":[],\"mu\":0.1,\"k\":[1,2]}",
         "\"k\"", 0, 0},
        {"{\"round\":2,\"dadao_step\":1,\"first\":0,\"init\":0,\"peer\":0,\"from\":0,\"until\":1,\"send\":\"x\","
         "\"grads\":[],\"mu\":0.1,\"k\":[0.05,0.03,0.01,0.01,10,0.5,-12,0.03,1,0.06,0.1]}",
         "(beta~)", 0, 0},
        {"{\"round\":2,\"dadao_step\":1,\"first\":0,\"init\":0,\"peer\":1,\"from\":0,\"until\":1,\"send\":\"x\","
         "\"grads\":[],\"mu\":0.1," K11 "}",
         "0 blobs; expected 1", 0, 0}, /* no blob where the peer's should be */
        {"{\"round\":2,\"dadao_step\":1,\"first\":0,\"init\":0,\"peer\":1,\"from\":0,\"until\":1,\"send\":\"x\","
         "\"grads\":[],\"mu\":0.1," K11 "}",
         "the peer's y and z is", 1, D}, /* half of it */
    };
    static const float values[2 * D] = {1, 2, 3, 4, 5, 6};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fedc_error err;
        err.msg[0] = 0;
        if (decode_json(cases[c].json, cases[c].nblobs, values, cases[c].floats, &err) == 0)
            fail_msg("case %zu accepted: %s", c, cases[c].json);
        if (!strstr(err.msg, cases[c].says)) fail_msg("case %zu: \"%s\" does not say %s", c, err.msg, cases[c].says);
    }
    /* A peer's value that is not finite. */
    float bad[2 * D] = {1, 2, 3, 4, NAN, 6};
    fedc_error err;
    assert_int_equal(decode_json("{\"round\":2,\"dadao_step\":1,\"first\":0,\"init\":0,\"peer\":1,\"from\":0,"
                                 "\"until\":1,\"send\":\"x\",\"grads\":[],\"mu\":0.1," K11 "}",
                                 1, bad, 2 * D, &err),
                     -1);
    assert_non_null(strstr(err.msg, "value 4 is not finite"));
}

static void test_reply(void **state) {
    (void)state;
    float yz[2 * D] = {1, 2, 3, 4, 5, 6}, out[2 * D];
    fedc_buf frame = {0};
    fedc_error err;
    int g = -1;
    double cpu = -1;
    assert_int_equal(fedc_dadao_reply_encode(4, 2, 3, 0.25, yz, 2 * D, &frame, &err), 0);
    assert_int_equal(fedc_dadao_reply_decode(frame.data, frame.len, 4, 2, 2 * D, out, &g, &cpu, &err), 0);
    assert_memory_equal(out, yz, sizeof yz);
    assert_int_equal(g, 3);
    assert_true(cpu == 0.25);
    assert_int_equal(fedc_dadao_reply_decode(frame.data, frame.len, 4, 3, 2 * D, out, &g, &cpu, &err), -1);
    assert_non_null(strstr(err.msg, "\"dadao_step\" must be 3"));
    assert_int_equal(fedc_dadao_reply_decode(frame.data, frame.len, 5, 2, 2 * D, out, &g, &cpu, &err), -1);
    assert_non_null(strstr(err.msg, "\"round\" must be 5"));
    assert_int_equal(fedc_dadao_reply_decode(frame.data, frame.len, 4, 2, D, out, &g, &cpu, &err), -1);
    assert_non_null(strstr(err.msg, "bytes; expected"));
    /* A reply without its CPU time. */
    const char *js = "{\"round\":4,\"dadao_step\":2,\"grads\":3}";
    fedc_msg bare = {.type = FEDC_MSG_STEP_REPLY, .json = js, .json_len = strlen(js), .nblobs = 1};
    bare.blobs[0] = (fedc_blob){(const uint8_t *)yz, sizeof yz};
    fedc_buf_clear(&frame);
    assert_int_equal(fedc_msg_encode(&bare, &frame, &err), 0);
    assert_int_equal(fedc_dadao_reply_decode(frame.data, frame.len, 4, 2, 2 * D, out, &g, &cpu, &err), -1);
    assert_non_null(strstr(err.msg, "\"cpu_s\""));
    yz[1] = INFINITY;
    assert_int_equal(fedc_dadao_reply_encode(4, 2, 3, 0.25, yz, 2 * D, &frame, &err), 0);
    assert_int_equal(fedc_dadao_reply_decode(frame.data, frame.len, 4, 2, 2 * D, out, &g, &cpu, &err), -1);
    assert_non_null(strstr(err.msg, "value 1 is not finite"));
    fedc_buf_free(&frame);
}

/* grad f_i(x) = x - b (the loss 1/2 |x - b|^2), for dadao_node_play. */
static const float k_b[D] = {1, -2, 0.5f};
static int quad_grad(void *ctx, const float *x, float *g, fedc_error *err) {
    (void)err;
    int *calls = ctx;
    for (int j = 0; j < D; j++) g[j] = x[j] - k_b[j];
    (*calls)++;
    return 0;
}

/* A node's step = the simulation's events on the same vectors: a
 * communication's jump seen from each end, then gradient events, then the
 * flow; the two ends' z and z~ moves cancel (what one loses the other gains). */
static void test_node_play_is_the_simulation(void **state) {
    (void)state;
    dadao_consts k;
    dadao_constants(0.5, 3.0, 0.75, &k);
    static float vi[6][D], vj[6][D], ni[6][D], nj[6][D];
    for (int b = 0; b < 6; b++)
        for (int j = 0; j < D; j++) {
            vi[b][j] = ni[b][j] = (float)(0.1 * (b + 1) + 0.01 * j);
            vj[b][j] = nj[b][j] = (float)(-0.2 * (b + 1) + 0.03 * j);
        }
    float *pi[6], *pj[6], *qi[6], *qj[6];
    for (int b = 0; b < 6; b++) pi[b] = vi[b], pj[b] = vj[b], qi[b] = ni[b], qj[b] = nj[b];
    /* The simulation: a communication on (i, j) at t = 0.3, then a gradient
     * event of i at 0.4 and one at 0.55, the flow to 0.9. */
    dadao_comm_jump(&k, pi, pj, D);
    float g[D];
    dadao_flow(&k, 0.4 - 0.3, pi, D);
    for (int j = 0; j < D; j++) g[j] = (pi[0][j] - k_b[j]) + (float)(0.5 * pi[0][j]);
    dadao_grad_jump(&k, pi, g, D);
    dadao_flow(&k, 0.55 - 0.4, pi, D);
    for (int j = 0; j < D; j++) g[j] = (pi[0][j] - k_b[j]) + (float)(0.5 * pi[0][j]);
    dadao_grad_jump(&k, pi, g, D);
    dadao_flow(&k, 0.9 - 0.55, pi, D);
    dadao_flow(&k, 0.9 - 0.3, pj, D);
    /* The nodes: each gets the other's y and z as they were at 0.3. */
    float yz_i[2 * D], yz_j[2 * D];
    memcpy(yz_i, ni[2], sizeof ni[2]), memcpy(yz_i + D, ni[4], sizeof ni[4]);
    memcpy(yz_j, nj[2], sizeof nj[2]), memcpy(yz_j + D, nj[4], sizeof nj[4]);
    double grads[2] = {0.4, 0.55};
    int calls = 0;
    fedc_error err;
    assert_int_equal(dadao_node_play(&k, 0.5, qi, D, yz_j, yz_j + D, 0.3, grads, 2, 0.9, g, quad_grad, &calls, &err), 0);
    assert_int_equal(dadao_node_play(&k, 0.5, qj, D, yz_i, yz_i + D, 0.3, NULL, 0, 0.9, g, quad_grad, &calls, &err), 0);
    assert_int_equal(calls, 2);
    assert_memory_equal(vi, ni, sizeof vi);
    assert_memory_equal(vj, nj, sizeof vj);
    /* By hand: the jump moved z_i by -beta m and z_j by +beta m. */
    double m0 = (0.3 + 0.5) - (-0.6 - 1.0); /* j = 0: (y_i + z_i) - (y_j + z_j) */
    float zi[6][D], zj[6][D];
    for (int b = 0; b < 6; b++)
        for (int j = 0; j < D; j++) {
            zi[b][j] = (float)(0.1 * (b + 1) + 0.01 * j);
            zj[b][j] = (float)(-0.2 * (b + 1) + 0.03 * j);
        }
    float *ri[6], *rj[6];
    for (int b = 0; b < 6; b++) ri[b] = zi[b], rj[b] = zj[b];
    dadao_node_play(&k, 0.5, ri, D, yz_j, yz_j + D, 0.3, NULL, 0, 0.3, g, quad_grad, &calls, &err);
    dadao_node_play(&k, 0.5, rj, D, yz_i, yz_i + D, 0.3, NULL, 0, 0.3, g, quad_grad, &calls, &err);
    assert_true(fabs(zi[4][0] - (0.5 - 0.5 * m0)) < 1e-6 && fabs(zj[4][0] - (-1.0 + 0.5 * m0)) < 1e-6);
    assert_true(fabs((zi[4][0] + zj[4][0]) - (0.5 - 1.0)) < 1e-6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_round_trip),
        cmocka_unit_test(test_step_refusals),
        cmocka_unit_test(test_reply),
        cmocka_unit_test(test_node_play_is_the_simulation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
