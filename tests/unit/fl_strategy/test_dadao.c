/* DADAO (dadao.c), checked piece by piece against values computed by hand,
 * and as a whole on a quadratic problem whose optimum is known:
 *  - the paper's constants for mu = 2, L = 4;
 *  - the ODE: no time is the identity; x + x~ and alpha~ z + alpha z~ are
 *    conserved; x follows its closed form (x0 + x~0)/2 + (x0 - x~0)/2
 *    e^(-2 eta t) when the rest is zero; flowing s then t is flowing s + t;
 *  - a gradient jump and a communication jump on hand-picked numbers, and a
 *    communication conserves the sum of z and of z~;
 *  - chi1 and chi2 of the complete graph and of the ring (closed forms);
 *  - a run: the z and z~ of all nodes sum to zero (they start at zero and
 *    every event and the flow keep the sum), gradient events come at rate 1
 *    per node and communications at the chosen rate, the run is
 *    reproducible from its seed, and every node reaches the optimum of
 *    sum_i 1/2 |x - b_i|^2 + mu/2 |x|^2. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/strategy.h"
#include "fedc/task.h"
#include "fedc/topology.h"
#include "fl/strategy/dadao_internal.h"
#include "fl/strategy/strategy_impl.h"

static void test_constants(void **state) {
    (void)state;
    dadao_consts k;
    dadao_constants(2, 4, 0.5, &k); /* nu = 1, sqrt(nu / L) = 1/2 */
    assert_true(k.nu == 1 && k.alpha == 0.125 && k.alpha_t == 0.0625 && k.eta == 0.0625 && k.theta == 1);
    assert_true(k.beta == 0.5 && k.beta_t == 2 && k.delta == 0.125 && k.delta_t == 1);
    assert_true(k.gamma == 0.0625 && k.gamma_t == 0.125);
}

static void vecs(float *buf, float *v[6], size_t d) {
    for (int b = 0; b < 6; b++) v[b] = buf + (size_t)b * d;
}

static void test_flow(void **state) {
    (void)state;
    dadao_consts k;
    dadao_constants(2, 4, 0.5, &k);
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6], *v[6];
    memcpy(b, a, sizeof a);
    vecs(b, v, 1);
    dadao_flow(&k, 0, v, 1);
    assert_memory_equal(a, b, sizeof a);
    dadao_flow(&k, 3.0, v, 1);
    assert_true(fabs((b[0] + b[1]) - 3.0) < 1e-5);                                 /* x + x~ */
    assert_true(fabs((k.alpha_t * b[4] + k.alpha * b[5]) - (k.alpha_t * 5 + k.alpha * 6)) < 1e-5);
    /* x alone: its closed form. */
    float c[6] = {1, -1, 0, 0, 0, 0};
    vecs(c, v, 1);
    dadao_flow(&k, 2.0, v, 1);
    double want = 0 + 1.0 * exp(-2 * k.eta * 2.0);
    assert_true(fabs(c[0] - want) < 1e-6 && fabs(c[1] + want) < 1e-6);
    /* Flowing 1.25 then 0.75 is flowing 2. */
    float p[6] = {1, 2, 3, 4, 5, 6}, q[6] = {1, 2, 3, 4, 5, 6}, *vp[6], *vq[6];
    vecs(p, vp, 1);
    vecs(q, vq, 1);
    dadao_flow(&k, 1.25, vp, 1);
    dadao_flow(&k, 0.75, vp, 1);
    dadao_flow(&k, 2.0, vq, 1);
    for (int i = 0; i < 6; i++) assert_true(fabs(p[i] - q[i]) < 1e-5);
}

static void test_jumps(void **state) {
    (void)state;
    dadao_consts k;
    dadao_constants(2, 4, 0.5, &k);
    /* G = 10 - nu x - y~ = 10 - 1 - 4 = 5: x = 1 - 5/16, x~ = 2 - 5/8, y~ = 4 + 9/8 5. */
    float a[6] = {1, 2, 3, 4, 5, 6}, g = 10, *v[6];
    vecs(a, v, 1);
    dadao_grad_jump(&k, v, &g, 1);
    assert_true(a[0] == 0.6875f && a[1] == 1.375f && a[2] == 3 && a[3] == 9.625f && a[4] == 5 && a[5] == 6);
    /* m = (y_i + z_i) - (y_j + z_j) = 8 - 3 = 5: z_i -= 5/2, z~_i -= 2 5, z_j += 5/2, z~_j += 2 5. */
    float bi[6] = {0, 0, 3, 0, 5, 6}, bj[6] = {0, 0, 1, 0, 2, 7}, *vi[6], *vj[6];
    vecs(bi, vi, 1);
    vecs(bj, vj, 1);
    dadao_comm_jump(&k, vi, vj, 1);
    assert_true(bi[4] == 2.5f && bi[5] == -4 && bj[4] == 4.5f && bj[5] == 17);
    assert_true(bi[4] + bj[4] == 7 && bi[5] + bj[5] == 13);
}

static void test_laplacian_chi(void **state) {
    (void)state;
    for (int n = 3; n <= 12; n++) {
        fedc_topology_config c = {"complete", "uniform", 0, 0, 1};
        fedc_error err;
        fedc_topology *t = fedc_topology_create(&c, n, &err);
        assert_non_null(t);
        double chi1, chi2;
        assert_int_equal(fedc_topology_laplacian_chi(t, &chi1, &chi2, &err), 0);
        /* K_n: Laplacian eigenvalue n, |E| = n(n-1)/2; edge resistance 2/n. */
        assert_true(fabs(chi1 - (n - 1) / 2.0) < 1e-9 && fabs(chi2 - (n - 1) / 2.0) < 1e-9);
        fedc_topology_free(t);
        fedc_topology_config r = {"ring", "uniform", 0, 0, 1};
        t = fedc_topology_create(&r, n, &err);
        assert_int_equal(fedc_topology_laplacian_chi(t, &chi1, &chi2, &err), 0);
        /* Ring: smallest positive eigenvalue 2 - 2 cos(2 pi / n), |E| = n;
         * adjacent nodes are 1 and n - 1 edges apart in parallel: (n-1)/n. */
        assert_true(fabs(chi1 - n / (2 - 2 * cos(2 * M_PI / n))) < 1e-9 * n * n);
        assert_true(fabs(chi2 - (n - 1) / 2.0) < 1e-9 * n);
        fedc_topology_free(t);
    }
}

/* ---- A run on f_i(x) = 1/2 |x - b_i|^2 (+ mu/2 |x|^2 from dadao) ---------- */

enum { N = 6, D = 3 };

typedef struct {
    float b[N][D];
    long calls[N];
} quad;

static int quad_grad(void *ctx, int node, const float *x, float *g, fedc_error *err) {
    (void)err;
    quad *q = ctx;
    for (int j = 0; j < D; j++) g[j] = x[j] - q->b[node][j];
    q->calls[node]++;
    return 0;
}

static fedc_strategy *make(quad *q, double mu, double rate, uint64_t seed) {
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.strategy.name, sizeof t.strategy.name, "dadao");
    snprintf(t.topology.kind, sizeof t.topology.kind, "ring");
    t.clients = t.clients_per_round = N;
    t.strategy.strong_convexity = mu;
    t.strategy.smoothness = 1 + mu;
    t.strategy.comm_rate = rate;
    t.seed = seed;
    fedc_error err;
    fedc_strategy *s = fedc_strategy_create(&t, D, N, &err);
    if (!s) fail_msg("create: %s", err.msg);
    assert_true(fedc_strategy_info_get(s).decentral && fedc_strategy_info_get(s).event_driven);
    fedc_strategy_set_node_grad(s, quad_grad, q, 0);
    return s;
}

static void play(fedc_strategy *s, int from, int rounds, long *sent_total) {
    int sent[N];
    float *delta[N] = {0};
    fedc_error err;
    for (int r = from; r < from + rounds; r++) {
        fedc_round_ctx rc = {r, 1000, N, NULL, 0, 0};
        if (fedc_strategy_gossip(s, delta, &rc, sent, &err) != 0) fail_msg("round %d: %s", r, err.msg);
        for (int i = 0; i < N; i++) *sent_total += sent[i];
    }
}

static void test_run(void **state) {
    (void)state;
    quad q;
    memset(&q, 0, sizeof q);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) q.b[i][j] = (float)((i * 7 + j * 3) % 5) - 2.0f + 0.5f * (float)i;
    const double mu = 0.5, rate = 12;
    double star[D] = {0};
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) star[j] += q.b[i][j] / (N * (1 + mu));
    fedc_strategy *s = make(&q, mu, rate, 5);
    long sent = 0;
    const int R = 400;
    play(s, 1, R, &sent);
    /* Rates: N gradients and `rate` communications (2 messages each) per round. */
    long calls = 0;
    for (int i = 0; i < N; i++) calls += q.calls[i];
    assert_true(fabs((double)calls / R - N) < 0.1 * N);
    assert_true(fabs((double)sent / R - 2 * rate) < 0.1 * 2 * rate);
    /* z and z~ sum to zero over the nodes. */
    size_t nd = (size_t)N * D;
    for (int b = 4; b < 6; b++)
        for (int j = 0; j < D; j++) {
            double sum = 0, mag = 0;
            for (int i = 0; i < N; i++) {
                sum += s->state[b * nd + (size_t)i * D + j];
                mag += fabs(s->state[b * nd + (size_t)i * D + j]);
            }
            assert_true(fabs(sum) <= 1e-5 * (1 + mag));
        }
    /* Every node at the optimum. */
    for (int i = 0; i < N; i++) {
        const float *x = fedc_strategy_node_model(s, i);
        for (int j = 0; j < D; j++)
            if (fabs(x[j] - star[j]) > 1e-3) fail_msg("node %d, coordinate %d: %g, optimum %g", i, j, x[j], star[j]);
    }
    /* The same seed plays the same events; another does not. */
    quad q2 = q, q3 = q;
    memset(q2.calls, 0, sizeof q2.calls);
    memset(q3.calls, 0, sizeof q3.calls);
    fedc_strategy *s2 = make(&q2, mu, rate, 5), *s3 = make(&q3, mu, rate, 6);
    long sent2 = 0, sent3 = 0;
    play(s2, 1, 20, &sent2);
    play(s3, 1, 20, &sent3);
    fedc_strategy *s4 = make(&q, mu, rate, 5);
    long sent4 = 0;
    memset(q.calls, 0, sizeof q.calls);
    play(s4, 1, 20, &sent4);
    assert_memory_equal(s2->state, s4->state, 6 * nd * sizeof(float));
    assert_true(sent2 == sent4 && memcmp(s2->state, s3->state, 6 * nd * sizeof(float)) != 0);
    fedc_strategy_free(s), fedc_strategy_free(s2), fedc_strategy_free(s3), fedc_strategy_free(s4);
}

static void test_validator(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.strategy.name, sizeof t.strategy.name, "dadao");
    t.clients = t.clients_per_round = 8;
    fedc_error err;
    assert_int_equal(fedc_task_validate(&t, &err), 0);
    snprintf(t.topology.kind, sizeof t.topology.kind, "matching");
    assert_int_not_equal(fedc_task_validate(&t, &err), 0);
    assert_non_null(strstr(err.msg, "topology.kind"));
    snprintf(t.topology.kind, sizeof t.topology.kind, "ring");
    t.strategy.smoothness = 0.01; /* below strong_convexity 0.1 */
    assert_int_not_equal(fedc_task_validate(&t, &err), 0);
    assert_non_null(strstr(err.msg, "strategy.smoothness"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constants), cmocka_unit_test(test_flow),  cmocka_unit_test(test_jumps),
        cmocka_unit_test(test_laplacian_chi), cmocka_unit_test(test_run), cmocka_unit_test(test_validator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
