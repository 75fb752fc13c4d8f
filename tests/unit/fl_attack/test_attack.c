/* Attacks produce what they claim: who attacks, what each kind does to a
 * batch or an update, ALIE's z, and the ranking forms under FRL. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/attack.h"

static fedc_attack *make(const char *kind, double scale, void (*tweak)(fedc_task *)) {
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.attack.kind, sizeof t.attack.kind, "%s", kind);
    t.attack.scale = scale;
    if (tweak) tweak(&t);
    fedc_error err;
    fedc_attack *a = fedc_attack_create(&t, NULL, &err);
    if (!a) fail_msg("%s", err.msg);
    return a;
}

static void unreliable_10(fedc_task *t) { t->attack.unreliable = 0.1; }

static void test_roles_drawn_from_the_seed(void **state) {
    (void)state;
    fedc_attack *a = make("sign-flip", 0, unreliable_10), *b = make("sign-flip", 0, unreliable_10);
    int att = 0, unr = 0, same = 1;
    for (int k = 0; k < 100; k++) {
        fedc_role r = fedc_attack_role(a, k);
        att += r == FEDC_ROLE_ATTACKER;
        unr += r == FEDC_ROLE_UNRELIABLE;
        same &= r == fedc_attack_role(b, k);
    }
    assert_int_equal(att, 20); /* the default fraction 0.2 of 100 */
    assert_int_equal(unr, 10);
    assert_true(same);
    /* No attacker for kind none; unreliable ones stay where they were. */
    fedc_attack *none = make("none", 0, unreliable_10);
    for (int k = 0; k < 100; k++) {
        fedc_role r = fedc_attack_role(none, k);
        assert_true(r != FEDC_ROLE_ATTACKER);
        assert_true((r == FEDC_ROLE_UNRELIABLE) == (fedc_attack_role(a, k) == FEDC_ROLE_UNRELIABLE));
    }
    assert_int_equal(fedc_attack_role(a, -1), FEDC_ROLE_HONEST);
    assert_int_equal(fedc_attack_role(a, 100), FEDC_ROLE_HONEST);
    fedc_attack_free(a), fedc_attack_free(b), fedc_attack_free(none);
}

static void test_update_attacks(void **state) {
    (void)state;
    enum { D = 20000 };
    float *u = malloc(D * sizeof *u), *h = malloc(D * sizeof *h);
    for (int j = 0; j < D; j++) h[j] = (float)(j % 13) - 6;
    fedc_rng rng = fedc_rng_derive(1, 1, 1);
    struct {
        const char *kind;
        double scale, factor;
    } linear[] = {{"sign-flip", 0, -1}, {"sign-flip", 3, -3}, {"scaling", 0, 100}, {"scaling", 2.5, 2.5}};
    for (int c = 0; c < 4; c++) {
        fedc_attack *a = make(linear[c].kind, linear[c].scale, NULL);
        memcpy(u, h, D * sizeof *u);
        fedc_attack_update(a, u, D, NULL, &rng);
        for (int j = 0; j < D; j++) assert_true(u[j] == (float)linear[c].factor * h[j]);
        fedc_attack_free(a);
    }
    /* noise: N(0, 0.01^2) added to every coordinate */
    fedc_attack *a = make("noise", 0, NULL);
    memcpy(u, h, D * sizeof *u);
    fedc_attack_update(a, u, D, NULL, &rng);
    double m = 0, v = 0;
    for (int j = 0; j < D; j++) m += u[j] - h[j];
    m /= D;
    for (int j = 0; j < D; j++) v += (u[j] - h[j] - m) * (u[j] - h[j] - m);
    v /= D - 1;
    assert_true(fabs(m) < 5 * 0.01 / sqrt(D));
    assert_true(fabs(sqrt(v) - 0.01) < 0.0005);
    fedc_attack_free(a);
    free(u), free(h);
}

static void test_colluding_attacks(void **state) {
    (void)state;
    enum { D = 3, M = 4 };
    const float b[M][D] = {{1, 2, 0}, {3, 2, 0}, {1, 6, 0}, {3, 6, 0}};
    const float *benign[M] = {b[0], b[1], b[2], b[3]};
    float mean[D], sd[D];
    fedc_attack_peers_compute(benign, M, D, mean, sd);
    assert_true(mean[0] == 2 && mean[1] == 4 && mean[2] == 0);
    /* unbiased: sqrt(4 * 1 / 3), sqrt(4 * 4 / 3) */
    assert_true(fabsf(sd[0] - sqrtf(4.0f / 3)) < 1e-6f && fabsf(sd[1] - sqrtf(16.0f / 3)) < 1e-6f && sd[2] == 0);
    fedc_attack_peers p = {mean, sd, M};
    float u[D] = {9, 9, 9};
    fedc_rng rng = fedc_rng_derive(1, 1, 1);
    fedc_attack *a = make("alie", 1.5, NULL);
    fedc_attack_update(a, u, D, &p, &rng);
    for (int j = 0; j < D; j++) assert_true(fabsf(u[j] - (mean[j] - 1.5f * sd[j])) < 1e-6f);
    fedc_attack_free(a);
    a = make("ipm", 0, NULL); /* epsilon 0.1 */
    fedc_attack_update(a, u, D, &p, &rng);
    for (int j = 0; j < D; j++) assert_true(fabsf(u[j] + 0.1f * mean[j]) < 1e-6f);
    fedc_attack_free(a);
    /* ALIE's z (Baruch et al.): n = 50, f = 24 -> s = 2, z = Phi^-1(48/50)
     * = 1.7507; n = 10, f = 2 -> Phi^-1(0.6) = 0.2533; f = 1 -> 0. */
    assert_true(fabs(fedc_attack_alie_z(50, 24) - 1.7507) < 1e-3);
    assert_true(fabs(fedc_attack_alie_z(10, 2) - 0.2533) < 1e-3);
    assert_true(fedc_attack_alie_z(10, 1) == 0);
    /* The default scale of alie is that z for clients_per_round and the
     * expected attackers per round (0.2 x 10 = 2). */
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.attack.kind, sizeof t.attack.kind, "alie");
    assert_true(fabs(fedc_attack_scale(&t) - 0.2533) < 1e-3);
}

static void source_3(fedc_task *t) {
    t->attack.source = 3;
    t->attack.target = 8;
}

static void test_data_attacks(void **state) {
    (void)state;
    fedc_shape shape = {1, 28, 28};
    enum { N = 10, DIM = 28 * 28 };
    float *x = calloc(N * DIM, sizeof *x);
    int32_t y[N];
    fedc_rng rng = fedc_rng_derive(2, 2, 2);
    fedc_attack *a = make("label-flip", 0, NULL);
    for (int i = 0; i < N; i++) y[i] = i;
    assert_int_equal(fedc_attack_batch(a, FEDC_ROLE_ATTACKER, shape, x, y, N, 10, &rng), 1);
    for (int i = 0; i < N; i++) assert_int_equal(y[i], 9 - i);
    /* Honest clients are untouched. */
    for (int i = 0; i < N; i++) y[i] = i;
    fedc_attack_batch(a, FEDC_ROLE_HONEST, shape, x, y, N, 10, &rng);
    for (int i = 0; i < N; i++) assert_int_equal(y[i], i);
    fedc_attack_free(a);
    a = make("label-flip", 0, source_3);
    fedc_attack_batch(a, FEDC_ROLE_ATTACKER, shape, x, y, N, 10, &rng);
    for (int i = 0; i < N; i++) assert_int_equal(y[i], i == 3 ? 8 : i);
    fedc_attack_free(a);
    /* backdoor: the first half of the batch carries the trigger and the
     * target label 2; the rest is untouched. */
    a = make("backdoor", 0, NULL);
    for (int i = 0; i < N; i++) y[i] = 7;
    fedc_attack_batch(a, FEDC_ROLE_ATTACKER, shape, x, y, N, 10, &rng);
    for (int i = 0; i < N; i++) {
        const float *img = x + i * DIM;
        float sum = 0;
        for (int p = 0; p < DIM; p++) sum += img[p];
        if (i < N / 2) {
            assert_int_equal(y[i], 2);
            assert_true(sum == 12 && img[0] == 1 && img[2 * 28 + 6] == 1 && img[3] == 0 && img[28] == 0);
        } else {
            assert_int_equal(y[i], 7);
            assert_true(sum == 0);
        }
    }
    fedc_attack_free(a);
    free(x);
}

static void test_unreliable_clients(void **state) {
    (void)state;
    fedc_shape shape = {1, 8, 8};
    enum { N = 4, DIM = 64 };
    float x[N * DIM], orig[N * DIM];
    int32_t y[N] = {0, 1, 2, 3};
    for (int p = 0; p < N * DIM; p++) orig[p] = (p % 3 == 0) ? 1.0f : 0.0f;
    fedc_attack *a = make("none", 0, unreliable_10);
    fedc_rng rng = fedc_rng_derive(3, 3, 3);
    int trained = 0, blurred = 0, batches = 2000;
    for (int b = 0; b < batches; b++) {
        memcpy(x, orig, sizeof x);
        if (!fedc_attack_batch(a, FEDC_ROLE_UNRELIABLE, shape, x, y, N, 10, &rng)) continue;
        trained++;
        if (memcmp(x, orig, sizeof x) != 0) {
            blurred++;
            /* A blur keeps pixels in range and spreads the strokes. */
            for (int p = 0; p < N * DIM; p++) assert_true(x[p] >= 0 && x[p] <= 1 && x[p] > 0.1f && x[p] < 0.9f);
        }
        assert_true(y[0] == 0 && y[3] == 3);
    }
    /* 30% of batches trained, half of those blurred. */
    assert_true(abs(trained - batches * 3 / 10) < 100);
    assert_true(abs(blurred - trained / 2) < 60);
    fedc_attack_free(a);
}

/* Under FRL the update is a ranking, and so is every attack's. */
static void test_attacks_on_rankings(void **state) {
    (void)state;
    fedc_error err;
    fedc_shape in = {1, 1, 3};
    fedc_arch *arch = fedc_arch_parse("dense:2", in, 2, &err); /* 6 ranked edges, 2 biases */
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.strategy.aggregator, sizeof t.strategy.aggregator, "frl");
    float w0[8] = {1, -1, 1, -1, 1, -1, 0, 0}, pos[8] = {0, 1, 2, 3, 4, 5, 0, 0}, u[8];
    fedc_frl *frl = fedc_frl_create(&t, arch, w0, &err);
    fedc_rng rng = fedc_rng_derive(4, 4, 4);
    static const char *const kinds[] = {"sign-flip", "scaling"};
    for (int k = 0; k < 2; k++) {
        snprintf(t.attack.kind, sizeof t.attack.kind, "%s", kinds[k]);
        fedc_attack *a = fedc_attack_create(&t, frl, &err);
        memcpy(u, pos, sizeof u);
        fedc_attack_update(a, u, 8, NULL, &rng);
        for (int j = 0; j < 6; j++) assert_true(u[j] == 5 - pos[j]);
        fedc_attack_free(a);
    }
    snprintf(t.attack.kind, sizeof t.attack.kind, "noise");
    fedc_attack *a = fedc_attack_create(&t, frl, &err);
    int differs = 0;
    for (int r = 0; r < 5; r++) {
        memcpy(u, pos, sizeof u);
        fedc_attack_update(a, u, 8, NULL, &rng);
        assert_true(fedc_frl_is_ranking(frl, u));
        differs |= memcmp(u, pos, sizeof u) != 0;
    }
    assert_true(differs);
    fedc_attack_free(a);
    /* alie / ipm: the reverse of the colluders' vote. Colluders' mean
     * positions 1, 0.5, 4, 2, 5, 2.5 vote 1, 0, 4, 2, 5, 3; reversed. */
    float mean[8] = {1, 0.5f, 4, 2, 5, 2.5f, 0, 0}, sd[8] = {0};
    fedc_attack_peers p = {mean, sd, 2};
    const float want[6] = {4, 5, 1, 3, 0, 2};
    static const char *const colluding[] = {"alie", "ipm"};
    for (int k = 0; k < 2; k++) {
        snprintf(t.attack.kind, sizeof t.attack.kind, "%s", colluding[k]);
        a = fedc_attack_create(&t, frl, &err);
        memcpy(u, pos, sizeof u);
        fedc_attack_update(a, u, 8, &p, &rng);
        for (int j = 0; j < 6; j++) assert_true(u[j] == want[j]);
        assert_true(u[6] == 0 && u[7] == 0);
        fedc_attack_free(a);
    }
    fedc_frl_free(frl);
    fedc_arch_free(arch);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles_drawn_from_the_seed), cmocka_unit_test(test_update_attacks),
        cmocka_unit_test(test_colluding_attacks),         cmocka_unit_test(test_data_attacks),
        cmocka_unit_test(test_unreliable_clients),        cmocka_unit_test(test_attacks_on_rankings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
