/* Hand-computed cases of every update rule on 2-parameter quadratics
 * f_i(w) = h_i/2 |w - a_i|^2 (gradient h_i (w - a_i), the same on every
 * minibatch), one client or two. The expected values are worked out here
 * from each paper's equations, written as the papers state them; the
 * strategy is driven through its public hooks the way the trainer drives
 * it (client_begin, client_grad before every SGD step at lr x lr_scale,
 * client_end with delta = y - x) and aggregated through
 * fedc_strategy_aggregate. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/rng.h"
#include "fedc/strategy.h"

enum { D = 2 };
#define TOL 1e-5

typedef struct {
    double h, a[D];
} quad;

static double q_grad(void *self, const float *w, float *g) {
    const quad *q = self;
    double l = 0;
    for (int j = 0; j < D; j++) {
        g[j] = (float)(q->h * (w[j] - q->a[j]));
        l += 0.5 * q->h * (w[j] - q->a[j]) * (w[j] - q->a[j]);
    }
    return l;
}

/* One client's round: K SGD steps from x as the trainer runs them. */
typedef struct {
    float delta[D], extra[4 * D];
    int steps;
} client_out;

static client_out run_client(fedc_strategy *s, const quad *q, int client, int round, const float *x,
                             const float *down, float *state, int K, float lr) {
    fedc_strategy_info in = fedc_strategy_info_get(s);
    float scratch[8 * D + 8] = {0}, w[D], g[D];
    fedc_local_oracle o = {.batch_grad = q_grad, .full_grad = q_grad, .self = (void *)q};
    fedc_client_ctx c = {.strategy = s, .client = client, .round = round, .global = x, .down_extra = down,
                         .state = state, .scratch = scratch, .d = D, .n_samples = 1, .lr = lr, .lr_scale = 1,
                         .oracle = &o};
    assert_true(in.scratch_floats <= 8 * D + 8);
    memcpy(w, x, sizeof w);
    fedc_strategy_client_begin(&c);
    int k = 0;
    for (; k < K && !c.no_training; k++) {
        c.step = k;
        double l = q_grad((void *)q, w, g);
        fedc_strategy_client_grad(&c, w, g, l);
        for (int j = 0; j < D; j++) w[j] -= c.lr * c.lr_scale * g[j];
    }
    client_out out = {{0}, {0}, k};
    for (int j = 0; j < D; j++) out.delta[j] = w[j] - x[j];
    c.step = k;
    fedc_strategy_client_end(&c, w, k, out.delta, out.extra);
    return out;
}

static fedc_strategy *make(const char *name, void (*tweak)(fedc_task *), int n_clients) {
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.strategy.name, sizeof t.strategy.name, "%s", name);
    if (tweak) tweak(&t);
    fedc_error err;
    fedc_strategy *s = fedc_strategy_create(&t, D, n_clients, &err);
    if (!s) fail_msg("%s", err.msg);
    return s;
}

static void aggregate(fedc_strategy *s, float *x, client_out *o, const int *clients, int n, int round, double lr,
                      double slr) {
    fedc_update u[8];
    fedc_strategy_info in = fedc_strategy_info_get(s);
    for (int i = 0; i < n; i++)
        u[i] = (fedc_update){clients[i], 1.0, o[i].steps, 0, 0, o[i].delta, in.extra_up ? o[i].extra : NULL};
    fedc_round_ctx rc = {round, 100, 0, NULL, lr, slr};
    fedc_error err;
    rc.n_clients = 0;
    if (fedc_strategy_aggregate(s, x, u, n, &rc, &err) != 0) fail_msg("%s", err.msg);
}

static const quad Q1 = {1.0, {1.0, 0.0}}, Q2 = {3.0, {0.0, 2.0}};

/* K plain SGD steps on f from w (the reference local solver). */
static void sgd(const quad *q, double *w, int K, double lr, const double *corr) {
    for (int k = 0; k < K; k++)
        for (int j = 0; j < D; j++) w[j] -= lr * (q->h * (w[j] - q->a[j]) + (corr ? corr[j] : 0));
}

static void test_scaffold_two_rounds(void **state) {
    (void)state;
    /* Karimireddy et al. Alg. 1, option II, N = 2 clients both sampled. */
    fedc_strategy *s = make("scaffold", NULL, 2);
    float x[D] = {0, 0}, ci[2][D] = {{0}}, cs[D] = {0};
    double X[D] = {0, 0}, C[D] = {0, 0}, Ci[2][D] = {{0}};
    const quad *q[2] = {&Q1, &Q2};
    const int K = 3;
    const double eta = 0.1;
    int ids[2] = {0, 1};
    for (int round = 1; round <= 2; round++) {
        client_out o[2];
        for (int i = 0; i < 2; i++) o[i] = run_client(s, q[i], i, round, x, cs, ci[i], K, (float)eta);
        aggregate(s, x, o, ids, 2, round, eta, 1.0);
        memcpy(cs, fedc_strategy_down_extra(s), sizeof cs);
        /* the paper, by hand */
        double dY[D] = {0, 0}, dC[D] = {0, 0};
        for (int i = 0; i < 2; i++) {
            double y[D] = {X[0], X[1]}, corr[D] = {C[0] - Ci[i][0], C[1] - Ci[i][1]};
            sgd(q[i], y, K, eta, corr);
            for (int j = 0; j < D; j++) {
                double cnew = Ci[i][j] - C[j] + (X[j] - y[j]) / (K * eta);
                dY[j] += (y[j] - X[j]) / 2;
                dC[j] += (cnew - Ci[i][j]) / 2;
                Ci[i][j] = cnew;
            }
        }
        for (int j = 0; j < D; j++) {
            X[j] += dY[j];
            C[j] += (2.0 / 2.0) * dC[j]; /* |S|/N avg */
            assert_float_equal(x[j], X[j], TOL);
            assert_float_equal(cs[j], C[j], TOL);
            assert_float_equal(ci[0][j], Ci[0][j], TOL);
        }
    }
    fedc_strategy_free(s);
}

static void opt1(fedc_task *t) { t->strategy.scaffold_option = 1; }

static void test_scaffold_option1_uses_gradient_at_x(void **state) {
    (void)state;
    fedc_strategy *s = make("scaffold", opt1, 4);
    float x[D] = {0.5f, -1}, ci[D] = {0.3f, 0.1f}, cs[D] = {0, 0};
    client_out o = run_client(s, &Q2, 0, 1, x, cs, ci, 2, 0.1f);
    for (int j = 0; j < D; j++) {
        double want = Q2.h * (x[j] - Q2.a[j]); /* c_i+ = g_i(x) */
        assert_float_equal(ci[j], want, TOL);
        assert_float_equal(o.extra[j], want - (j ? 0.1 : 0.3), TOL);
    }
    /* server: c += (1/N) dc with N = 4 */
    int id = 0;
    aggregate(s, x, &o, &id, 1, 1, 0.1, 1.0);
    const float *c = fedc_strategy_down_extra(s);
    assert_float_equal(c[0], o.extra[0] / 4, TOL);
    fedc_strategy_free(s);
}

static void beta03(fedc_task *t) { t->strategy.client_beta = 0.3; }

static void test_fedavg_m_direction(void **state) {
    (void)state;
    /* Cheng et al.: g_i^k = beta grad + (1 - beta) g^r; g^{r+1} = avg (x - y_i)/(eta K);
     * x -= gamma g^{r+1}, gamma = server_lr eta K here. */
    fedc_strategy *s = make("fedavg-m", beta03, 2);
    float x[D] = {0, 0};
    double X[D] = {0, 0}, G[D] = {0, 0}, beta = 0.3, eta = 0.1, slr = 0.7;
    const int K = 4;
    const quad *q[2] = {&Q1, &Q2};
    int ids[2] = {0, 1};
    for (int round = 1; round <= 3; round++) {
        float down[D];
        memcpy(down, fedc_strategy_down_extra(s), sizeof down);
        for (int j = 0; j < D; j++) assert_float_equal(down[j], G[j], TOL);
        client_out o[2];
        for (int i = 0; i < 2; i++) o[i] = run_client(s, q[i], i, round, x, down, NULL, K, (float)eta);
        aggregate(s, x, o, ids, 2, round, eta, slr);
        double Gn[D] = {0, 0};
        for (int i = 0; i < 2; i++) {
            double y[D] = {X[0], X[1]};
            for (int k = 0; k < K; k++)
                for (int j = 0; j < D; j++)
                    y[j] -= eta * (beta * q[i]->h * (y[j] - q[i]->a[j]) + (1 - beta) * G[j]);
            for (int j = 0; j < D; j++) Gn[j] += (X[j] - y[j]) / (eta * K) / 2;
        }
        for (int j = 0; j < D; j++) {
            G[j] = Gn[j];
            X[j] -= slr * eta * K * G[j];
            assert_float_equal(x[j], X[j], TOL);
        }
    }
    fedc_strategy_free(s);
}

static void test_scaffold_m_control_variate_is_mean_gradient(void **state) {
    (void)state;
    fedc_strategy *s = make("scaffold-m", beta03, 2);
    float x[D] = {1, 1}, ci[D] = {0, 0}, down[2 * D] = {0};
    client_out o = run_client(s, &Q1, 0, 1, x, down, ci, 3, 0.1f);
    /* beta (grad - c_i + c) + (1 - beta) g with everything zero but grad */
    double y[D] = {1, 1}, sum[D] = {0, 0};
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < D; j++) {
            double g = Q1.h * (y[j] - Q1.a[j]);
            sum[j] += g;
            y[j] -= 0.1 * 0.3 * g;
        }
    for (int j = 0; j < D; j++) {
        assert_float_equal(ci[j], sum[j] / 3, TOL);
        assert_float_equal(o.extra[j], sum[j] / 3, TOL);
        assert_float_equal(o.delta[j], y[j] - 1, TOL);
    }
    fedc_strategy_free(s);
}

static void test_fednova_normalises_steps(void **state) {
    (void)state;
    /* Wang et al.: x += tau_eff sum p_i Delta_i / tau_i, tau_eff = sum p_i tau_i (SGD). */
    fedc_strategy *s = make("fednova", NULL, 2);
    float x[D] = {0, 0};
    client_out o[2] = {run_client(s, &Q1, 0, 1, x, NULL, NULL, 1, 0.1f), run_client(s, &Q2, 1, 1, x, NULL, NULL, 5, 0.1f)};
    int ids[2] = {0, 1};
    aggregate(s, x, o, ids, 2, 1, 0.1, 1.0);
    double y1[D] = {0, 0}, y2[D] = {0, 0};
    sgd(&Q1, y1, 1, 0.1, NULL);
    sgd(&Q2, y2, 5, 0.1, NULL);
    for (int j = 0; j < D; j++) {
        double want = 3.0 * (0.5 * y1[j] / 1 + 0.5 * y2[j] / 5);
        assert_float_equal(x[j], want, TOL);
    }
    fedc_strategy_free(s);
}

static void test_fedau_weights_from_intervals(void **state) {
    (void)state;
    /* Wang and Ji (authors' code): omega = mean past interval (1 if none); x += (1/N) sum omega Delta. */
    fedc_strategy *s = make("fedau", NULL, 4);
    float x[D] = {0, 0}, d0[D] = {1, 0}, d1[D] = {0, 1}, zero[D] = {0, 0};
    /* client 0 every 2nd round, client 1 every 4th, client 2 (a zero update) every round; N = 4 */
    double X[D] = {0, 0};
    int last[2] = {0, 0}, seen[2] = {0, 0};
    double isum[2] = {0, 0};
    for (int round = 1; round <= 9; round++) {
        fedc_update u[3];
        int n = 0, who[3];
        if (round % 2 == 1) who[n++] = 0;
        if (round % 4 == 1) who[n++] = 1;
        for (int i = 0; i < n; i++) u[i] = (fedc_update){who[i], 1.0, 1, 0, 0, who[i] ? d1 : d0, NULL};
        u[n] = (fedc_update){2, 1.0, 1, 0, 0, zero, NULL};
        /* all 4 clients hold 1 sample each */
        fedc_client_info info[4];
        memset(info, 0, sizeof info);
        for (int k = 0; k < 4; k++) info[k].n_samples = 1;
        fedc_round_ctx rc = {round, 9, 4, info, 0.1, 1.0};
        fedc_error err;
        assert_int_equal(fedc_strategy_aggregate(s, x, u, n + 1, &rc, &err), 0);
        for (int i = 0; i < n; i++) {
            int k = who[i];
            double omega = seen[k] ? isum[k] / seen[k] : 1.0;
            X[k] += 0.25 * omega; /* d0 moves coordinate 0, d1 coordinate 1 */
            isum[k] += round - last[k];
            seen[k]++;
            last[k] = round;
        }
        assert_float_equal(x[0], X[0], TOL);
        assert_float_equal(x[1], X[1], TOL);
    }
    /* converged weights: 1/p */
    assert_float_equal(isum[0] / seen[0], (1 + 2.0 * 4) / 5, TOL);
    fedc_strategy_free(s);
}

static void cutoff3(fedc_task *t) { t->strategy.fedau_cutoff = 3; }

static void test_fedau_cutoff_records_long_absences(void **state) {
    (void)state;
    /* The authors' code with K = 3: client 0 takes part in round 1 (weight 1, interval 1 recorded),
     * is absent in rounds 2..7 (an interval of 3 recorded after rounds 4 and 7, counting restarts),
     * and takes part in round 8 with weight mean(1, 3, 3) = 7/3; x += (1/N) omega Delta, N = 2. */
    fedc_strategy *s = make("fedau", cutoff3, 2);
    float x[D] = {0, 0}, d0[D] = {1, 0}, zero[D] = {0, 0};
    fedc_client_info info[2];
    memset(info, 0, sizeof info);
    info[0].n_samples = info[1].n_samples = 1;
    double want = 0;
    for (int round = 1; round <= 8; round++) {
        fedc_update u[2];
        int n = 0;
        if (round == 1 || round == 8) u[n++] = (fedc_update){0, 1.0, 1, 0, 0, d0, NULL};
        u[n++] = (fedc_update){1, 1.0, 1, 0, 0, zero, NULL};
        fedc_round_ctx rc = {round, 8, 2, info, 0.1, 1.0};
        fedc_error err;
        assert_int_equal(fedc_strategy_aggregate(s, x, u, n, &rc, &err), 0);
        if (round == 1) want += 0.5 * 1.0;
        if (round == 8) want += 0.5 * 7.0 / 3.0;
        assert_float_equal(x[0], want, TOL);
    }
    fedc_strategy_free(s);
}

static void slr2(fedc_task *t) { t->strategy.server_lr = 2; }

static void test_afa_two_sided_rates(void **state) {
    (void)state;
    /* Yang et al.: G_i = (x - y_i)/(eta_L K_i); CD: x -= eta eta_L avg G_i; CS: avg over all workers' latest. */
    float x[D] = {0, 0}, dA[D] = {2, 0}, dB[D] = {0, 6}, dA2[D] = {4, 4};
    fedc_strategy *cd = make("afa-cd", slr2, 3), *cs = make("afa-cs", slr2, 3);
    fedc_update u[2] = {{0, 1, 2, 0, 0, dA, NULL}, {1, 1, 3, 0, 0, dB, NULL}};
    fedc_round_ctx rc = {1, 2, 3, NULL, 0.1, 2.0};
    fedc_error err;
    assert_int_equal(fedc_strategy_aggregate(cd, x, u, 2, &rc, &err), 0);
    assert_float_equal(x[0], 2 * 0.5 * (2.0 / 2), TOL);
    assert_float_equal(x[1], 2 * 0.5 * (6.0 / 3), TOL);
    float y[D] = {0, 0};
    assert_int_equal(fedc_strategy_aggregate(cs, y, u, 2, &rc, &err), 0);
    assert_float_equal(y[0], x[0], TOL);
    /* round 2: only worker 0 arrives (new update); worker 1's latest is reused */
    fedc_update u2 = {0, 1, 4, 0, 0, dA2, NULL};
    rc.round = 2;
    assert_int_equal(fedc_strategy_aggregate(cs, y, &u2, 1, &rc, &err), 0);
    assert_float_equal(y[0], 1.0 + 2 * 0.5 * (4.0 / 4 + 0.0 / 3), TOL);
    assert_float_equal(y[1], 2.0 + 2 * 0.5 * (4.0 / 4 + 6.0 / 3), TOL);
    fedc_strategy_free(cd), fedc_strategy_free(cs);
}

static void test_fedhyper_global_and_server(void **state) {
    (void)state;
    /* FedHyper-G (authors' code): a += <D_{t-1}, D_t>, clipped [-0.8, 4]; x += (1 + a) D_t. */
    fedc_strategy *s = make("fedhyper", NULL, 1);
    float x[D] = {0, 0}, d1[D] = {1, 2}, d2[D] = {0.5f, 0.25f}, d3[D] = {-1, -3};
    fedc_update u = {0, 1, 1, 0, 0, d1, NULL};
    fedc_round_ctx rc = {1, 3, 1, NULL, 0.1, 1.0};
    fedc_error err;
    fedc_strategy_aggregate(s, x, &u, 1, &rc, &err); /* a = 0 */
    u.delta = d2;
    fedc_strategy_aggregate(s, x, &u, 1, &rc, &err); /* a = 1*0.5 + 2*0.25 = 1 */
    assert_float_equal(x[0], 1 + 2 * 0.5, TOL);
    assert_float_equal(x[1], 2 + 2 * 0.25, TOL);
    u.delta = d3;
    fedc_strategy_aggregate(s, x, &u, 1, &rc, &err); /* a = 1 + (-0.5 - 0.75) = -0.25 */
    assert_float_equal(x[0], 2 - 0.75, TOL);
    fedc_strategy_free(s);
}

static void level_server(fedc_task *t) { snprintf(t->strategy.hyper_level, 8, "server"); }
static void level_local(fedc_task *t) {
    snprintf(t->strategy.hyper_level, 8, "local");
    t->clients_per_round = 2;
}

static void test_fedhyper_server_sets_client_lr(void **state) {
    (void)state;
    fedc_strategy *s = make("fedhyper", level_server, 1);
    float x[D] = {0, 0}, d1[D] = {1, 2}, d2[D] = {3, 1};
    fedc_update u = {0, 1, 1, 0, 0, d1, NULL};
    fedc_round_ctx rc = {1, 3, 1, NULL, 0.1, 1.0};
    fedc_error err;
    fedc_strategy_aggregate(s, x, &u, 1, &rc, &err);
    assert_float_equal(fedc_strategy_down_extra(s)[0], 1.0, TOL);
    u.delta = d2;
    fedc_strategy_aggregate(s, x, &u, 1, &rc, &err); /* a = 3 + 2 = 5 -> factor clip(6) = 6 */
    assert_float_equal(fedc_strategy_down_extra(s)[0], 6.0, TOL);
    assert_float_equal(x[0], 4, TOL); /* plain server step */
    /* the client's steps use lr x 6 */
    float z[D] = {0, 0};
    client_out o = run_client(s, &Q1, 0, 3, z, fedc_strategy_down_extra(s), NULL, 1, 0.01f);
    assert_float_equal(o.delta[0], -0.06 * Q1.h * (0 - Q1.a[0]), TOL);
    fedc_strategy_free(s);
}

static void test_fedhyper_local_steps(void **state) {
    (void)state;
    /* FedHyper-CL (authors' code): after step j >= 1, s_j = change of step j,
     * gamma = min(1.1, 1 + 0.1 <s_j, D>/S + <s_j, s_{j-1}>) with s_0 := D, beta = clip(gamma beta). */
    fedc_strategy *s = make("fedhyper", level_local, 1);
    float x[D] = {0, 0}, D_[D] = {0.2f, -0.1f};
    client_out o = run_client(s, &Q2, 0, 2, x, D_, NULL, 4, 0.05f);
    double w[D] = {0, 0}, prevch[D] = {D_[0], D_[1]}, beta = 1, lr = 0.05;
    for (int k = 0; k < 4; k++) {
        double before[D] = {w[0], w[1]};
        for (int j = 0; j < D; j++) w[j] -= lr * beta * Q2.h * (w[j] - Q2.a[j]);
        if (k >= 1) {
            double ch[D] = {w[0] - before[0], w[1] - before[1]};
            double xx = 0.1 * (ch[0] * D_[0] + ch[1] * D_[1]) / 2, yy = ch[0] * prevch[0] + ch[1] * prevch[1];
            double gamma = fmin(1.1, 1 + xx + yy);
            beta = fmin(10, fmax(0.1, gamma * beta));
            prevch[0] = ch[0], prevch[1] = ch[1];
        }
    }
    assert_float_equal(o.delta[0], w[0], TOL);
    assert_float_equal(o.delta[1], w[1], TOL);
    fedc_strategy_free(s);
}

static void rho(fedc_task *t) { t->strategy.rho = 0.2; }

static void test_fedsam_perturbed_gradient(void **state) {
    (void)state;
    /* g at w + rho g/|g| of the same batch: for a quadratic h (w + rho g/|g| - a). */
    fedc_strategy *s = make("fedsam", rho, 1);
    float x[D] = {0, 0};
    client_out o = run_client(s, &Q2, 0, 1, x, NULL, NULL, 1, 0.1f);
    double g[D] = {Q2.h * (0 - Q2.a[0]), Q2.h * (0 - Q2.a[1])}, n = hypot(g[0], g[1]);
    for (int j = 0; j < D; j++) {
        double gp = Q2.h * (0 + 0.2 * g[j] / n - Q2.a[j]);
        assert_float_equal(o.delta[j], -0.1 * gp, TOL);
    }
    fedc_strategy_free(s);
}

static void speed(fedc_task *t) {
    t->strategy.rho = 0;
    t->strategy.lambda = 4;
}

static void test_fedspeed_correction(void **state) {
    (void)state;
    /* Sun et al. Alg. 1 (rho = 0), server as the authors' simulator: y -= eta (g - ghat + (y - x)/lambda);
     * ghat -= (y_K - x)/lambda; x = avg_S y_K + H with H = -(lambda/N) sum over ALL clients of ghat.
     * N = 4 clients, only client 0 takes part: the correction counts 1/N, not 1/|S| (the paper's box,
     * avg_S (y_K - lambda ghat_i), would add the whole ghat of the one participant). Three rounds. */
    fedc_strategy *s = make("fedspeed", speed, 4);
    float x[D] = {0, 0}, gh[D] = {0, 0};
    double X[D] = {0, 0}, GH[D] = {0, 0}, lam = 4, eta = 0.1;
    int id = 0;
    for (int round = 1; round <= 3; round++) {
        client_out o = run_client(s, &Q1, 0, round, x, NULL, gh, 3, (float)eta);
        aggregate(s, x, &o, &id, 1, round, eta, 1.0);
        double y[D] = {X[0], X[1]};
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < D; j++) y[j] -= eta * (Q1.h * (y[j] - Q1.a[j]) - GH[j] + (y[j] - X[j]) / lam);
        for (int j = 0; j < D; j++) {
            GH[j] -= (y[j] - X[j]) / lam;
            /* clients 1..3 never took part: their ghat is 0 */
            double H = -(lam / 4) * GH[j];
            assert_float_equal(o.delta[j], y[j] - X[j], TOL); /* the upload is y_K - x */
            X[j] = y[j] + H;
            assert_float_equal(gh[j], GH[j], TOL);
            assert_float_equal(x[j], X[j], TOL);
        }
    }
    fedc_strategy_free(s);
    /* one client of one: the paper's and the code's rules agree, x = y_K - lambda ghat */
    s = make("fedspeed", speed, 1);
    float x1[D] = {0, 0}, g1[D] = {0, 0};
    double Y[D] = {0, 0};
    client_out o = run_client(s, &Q2, 0, 1, x1, NULL, g1, 2, (float)eta);
    aggregate(s, x1, &o, &id, 1, 1, eta, 1.0);
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < D; j++) Y[j] -= eta * (Q2.h * (Y[j] - Q2.a[j]) + Y[j] / lam);
    for (int j = 0; j < D; j++) assert_float_equal(x1[j], Y[j] - lam * (-Y[j] / lam), TOL);
    fedc_strategy_free(s);
}

static void all_miners(fedc_task *t) { t->strategy.anchor_prob = 0; }

static void test_fedamd_anchors_then_miners(void **state) {
    (void)state;
    /* Wu et al. (authors' code): anchors send grad F_i(x); miners: v_0 = mean anchor gradient,
     * v_k = v_{k-1} + grad(y_k) - grad(y_{k-1}), y_{k+1} = y_k - eta v_k; x += avg miner delta. */
    fedc_strategy *s = make("fedamd", all_miners, 2);
    float x[D] = {0.5f, 0.5f};
    fedc_round_ctx rc = {1, 2, 2, NULL, 0.1, 1.0};
    fedc_strategy_round_begin(s, &rc);
    const float *down = fedc_strategy_down_extra(s);
    assert_float_equal(down[D], 1.0, TOL); /* no anchor gradient yet: everyone is an anchor */
    client_out o[2] = {run_client(s, &Q1, 0, 1, x, down, NULL, 3, 0.1f), run_client(s, &Q2, 1, 1, x, down, NULL, 3, 0.1f)};
    assert_int_equal(o[0].steps, 0);
    assert_float_equal(o[1].delta[1], Q2.h * (0.5 - Q2.a[1]), TOL);
    int ids[2] = {0, 1};
    aggregate(s, x, o, ids, 2, 1, 0.1, 1.0);
    assert_float_equal(x[0], 0.5, TOL); /* anchors only: x stays */
    rc.round = 2;
    fedc_strategy_round_begin(s, &rc);
    down = fedc_strategy_down_extra(s);
    double v0[D];
    for (int j = 0; j < D; j++) {
        v0[j] = 0.5 * (Q1.h * (0.5 - Q1.a[j]) + Q2.h * (0.5 - Q2.a[j]));
        assert_float_equal(down[j], v0[j], TOL);
    }
    assert_float_equal(down[D], 0.0, TOL);
    client_out m = run_client(s, &Q1, 0, 2, x, down, NULL, 3, 0.1f);
    double y[D] = {0.5, 0.5}, v[D] = {v0[0], v0[1]}, yp[D];
    for (int k = 0; k < 3; k++) {
        if (k > 0)
            for (int j = 0; j < D; j++) v[j] += Q1.h * (y[j] - Q1.a[j]) - Q1.h * (yp[j] - Q1.a[j]);
        for (int j = 0; j < D; j++) {
            yp[j] = y[j];
            y[j] -= 0.1 * v[j];
        }
    }
    for (int j = 0; j < D; j++) assert_float_equal(m.delta[j], y[j] - 0.5, TOL);
    aggregate(s, x, &m, ids, 1, 2, 0.1, 1.0);
    assert_float_equal(x[0], y[0], TOL);
    fedc_strategy_free(s);
}

static void test_fedld_principal_directions(void **state) {
    (void)state;
    /* Round 1 averages. Round 2, updates g1 = (1, 0), g2 = (0, 2): H = diag(1, 4)/2, s = (2, 0.5);
     * k = floor(2 x 0.8) = 1 direction, w = (0, 2); g1 is orthogonal to it (contributes 0),
     * g2 is rebuilt as (s_1 / sum s) |g2| = 0.8 x 2 along (0, 1); the mean of the two is (0, 0.8). */
    fedc_strategy *s = make("fedld", NULL, 2);
    float x[D] = {0, 0}, g1[D] = {1, 0}, g2[D] = {0, 2};
    fedc_update u[2] = {{0, 1, 1, 0, 0, g1, NULL}, {1, 5, 1, 0, 0, g2, NULL}};
    fedc_round_ctx rc = {1, 2, 2, NULL, 0.1, 1.0};
    fedc_error err;
    fedc_strategy_aggregate(s, x, u, 2, &rc, &err);
    assert_float_equal(x[0], 0.5, TOL); /* uniform mean, as the code */
    assert_float_equal(x[1], 1.0, TOL);
    rc.round = 2;
    fedc_strategy_aggregate(s, x, u, 2, &rc, &err);
    assert_float_equal(x[0], 0.5, TOL);
    assert_float_equal(x[1], 1.0 + 0.8, TOL);
    /* identical updates give the plain mean */
    float h[D] = {0.3f, -0.7f};
    fedc_update same[3] = {{0, 1, 1, 0, 0, h, NULL}, {1, 1, 1, 0, 0, h, NULL}, {0, 1, 1, 0, 0, h, NULL}};
    float z[D] = {0, 0};
    fedc_strategy_aggregate(s, z, same, 3, &rc, &err);
    assert_float_equal(z[0], 0.3, TOL);
    assert_float_equal(z[1], -0.7, TOL);
    fedc_strategy_free(s);
}

static void test_scaffold_fixes_drift_fedavg_does_not(void **state) {
    (void)state;
    /* Heterogeneous curvature: FedAvg with many local steps converges to a
     * biased point; SCAFFOLD to the optimum (h1 a1 + h2 a2)/(h1 + h2). */
    double opt[D];
    for (int j = 0; j < D; j++) opt[j] = (Q1.h * Q1.a[j] + Q2.h * Q2.a[j]) / (Q1.h + Q2.h);
    double err_avg = 0, err_sc = 0;
    for (int m = 0; m < 2; m++) {
        fedc_strategy *s = make(m ? "scaffold" : "fedavg", NULL, 2);
        float x[D] = {0, 0}, ci[2][D] = {{0}}, cs[D] = {0};
        int ids[2] = {0, 1};
        for (int round = 1; round <= 300; round++) {
            client_out o[2] = {run_client(s, &Q1, 0, round, x, cs, ci[0], 10, 0.1f),
                               run_client(s, &Q2, 1, round, x, cs, ci[1], 10, 0.1f)};
            aggregate(s, x, o, ids, 2, round, 0.1, 1.0);
            if (m) memcpy(cs, fedc_strategy_down_extra(s), sizeof cs);
        }
        double e = hypot(x[0] - opt[0], x[1] - opt[1]);
        if (m) err_sc = e;
        else err_avg = e;
        fedc_strategy_free(s);
    }
    assert_true(err_sc < 1e-4);
    assert_true(err_avg > 1e-2);
}

static void test_lr_schedules(void **state) {
    (void)state;
    fedc_lr_schedule st = {"step", 1.0, 0, 0.5, 0, 10, 100};
    assert_float_equal(fedc_lr_at(&st, 1), 1.0, 1e-12);
    assert_float_equal(fedc_lr_at(&st, 10), 1.0, 1e-12);
    assert_float_equal(fedc_lr_at(&st, 11), 0.5, 1e-12);
    assert_float_equal(fedc_lr_at(&st, 25), 0.25, 1e-12);
    fedc_lr_schedule co = {"cosine", 1.0, 0.1, 0, 5, 0, 25};
    assert_float_equal(fedc_lr_at(&co, 1), 0.2, 1e-12); /* warm-up 1/5 */
    assert_float_equal(fedc_lr_at(&co, 5), 1.0, 1e-12);
    assert_float_equal(fedc_lr_at(&co, 6), 1.0, 1e-12); /* cosine from the base */
    assert_float_equal(fedc_lr_at(&co, 25), 0.1, 1e-12); /* ... down to the floor */
    assert_float_equal(fedc_lr_at(&co, 15), 0.1 + 0.9 * 0.5 * (1 + cos(M_PI * 9 / 19)), 1e-12);
    fedc_lr_schedule c = {"constant", 0.3, 0, 0, 0, 0, 10};
    assert_float_equal(fedc_lr_at(&c, 7), 0.3, 1e-12);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scaffold_two_rounds),
        cmocka_unit_test(test_scaffold_option1_uses_gradient_at_x),
        cmocka_unit_test(test_fedavg_m_direction),
        cmocka_unit_test(test_scaffold_m_control_variate_is_mean_gradient),
        cmocka_unit_test(test_fednova_normalises_steps),
        cmocka_unit_test(test_fedau_weights_from_intervals),
        cmocka_unit_test(test_fedau_cutoff_records_long_absences),
        cmocka_unit_test(test_afa_two_sided_rates),
        cmocka_unit_test(test_fedhyper_global_and_server),
        cmocka_unit_test(test_fedhyper_server_sets_client_lr),
        cmocka_unit_test(test_fedhyper_local_steps),
        cmocka_unit_test(test_fedsam_perturbed_gradient),
        cmocka_unit_test(test_fedspeed_correction),
        cmocka_unit_test(test_fedamd_anchors_then_miners),
        cmocka_unit_test(test_fedld_principal_directions),
        cmocka_unit_test(test_scaffold_fixes_drift_fedavg_does_not),
        cmocka_unit_test(test_lr_schedules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
