/* Federated Rank Learning: the vote on small cases by hand, identical
 * rankings give the same global ranking, the vote does not depend on the
 * order of the updates, invalid rankings are left out; rankings, scores
 * and masks agree with each other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "agg_test_util.h"
#include "fedc/frl.h"

/* dense:2 on 3 inputs: a 2x3 weight (6 ranked edges) and 2 biases. */
#define D 8
#define E 6

typedef struct {
    fedc_arch *arch;
    fedc_task task;
    float w0[D];
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->arch = agg_test_arch(3);
    assert_int_equal(fedc_arch_nparams(f->arch), D);
    agg_test_task(&f->task, "frl", 5);
    for (int j = 0; j < D; j++) f->w0[j] = (j % 2 ? 1.0f : -1.0f) * (0.1f + 0.01f * (float)j);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    fedc_arch_free(f->arch);
    free(f);
    return 0;
}

static fedc_combiner *make(fixture *f, int n) {
    fedc_error err;
    fedc_combiner *c = fedc_combiner_create(&f->task, f->arch, fedc_arch_nparams(f->arch), f->w0, n, &err);
    if (!c) fail_msg("%s", err.msg);
    return c;
}

/* The global ranking (positions) the combined update moves x to. */
static void vote(fixture *f, fedc_combiner *c, float **pos, int n, float *ranking) {
    fedc_error err;
    fedc_frl *frl = fedc_frl_create(&f->task, f->arch, f->w0, &err);
    float x[D], out[D], next[D];
    fedc_combiner_initial_model(c, x);
    assert_int_equal(agg_test_combine(c, pos, NULL, n, 1, x, out), 0);
    for (int j = 0; j < D; j++) next[j] = x[j] + out[j];
    fedc_frl_rank_positions(frl, next, ranking);
    fedc_frl_free(frl);
}

static float **positions(int n, const float (*p)[E]) {
    float **v = agg_test_vectors(n, D);
    for (int i = 0; i < n; i++) memcpy(v[i], p[i], sizeof p[i]); /* biases stay 0 */
    return v;
}

static void test_vote_by_hand(void **state) {
    fixture *f = *state;
    /* Summed positions 0+5+0, 1+4+2, 2+3+1, 3+2+3, 4+1+5, 5+0+4 = 5, 7, 6,
     * 8, 10, 9 -> ranks 0, 2, 1, 3, 5, 4. */
    const float p[3][E] = {{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {0, 2, 1, 3, 5, 4}};
    float **v = positions(3, p), ranking[D];
    fedc_combiner *c = make(f, 3);
    vote(f, c, v, 3, ranking);
    const float want[E] = {0, 2, 1, 3, 5, 4};
    for (int j = 0; j < E; j++) assert_true(ranking[j] == want[j]);
    assert_true(ranking[6] == 0 && ranking[7] == 0);
    fedc_combiner_free(c);
    agg_test_free_vectors(v, 3);
}

static void test_identical_rankings_give_that_ranking(void **state) {
    fixture *f = *state;
    const float one[E] = {3, 0, 5, 1, 4, 2};
    const float p[4][E] = {{3, 0, 5, 1, 4, 2}, {3, 0, 5, 1, 4, 2}, {3, 0, 5, 1, 4, 2}, {3, 0, 5, 1, 4, 2}};
    float **v = positions(4, p), ranking[D];
    fedc_combiner *c = make(f, 4);
    vote(f, c, v, 4, ranking);
    for (int j = 0; j < E; j++) assert_true(ranking[j] == one[j]);
    fedc_combiner_free(c);
    agg_test_free_vectors(v, 4);
}

static void test_vote_is_order_invariant(void **state) {
    fixture *f = *state;
    const float p[4][E] = {{0, 1, 2, 3, 4, 5}, {2, 0, 1, 5, 4, 3}, {5, 3, 4, 0, 2, 1}, {1, 2, 0, 4, 3, 5}};
    const int orders[3][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}};
    float first[D];
    for (int o = 0; o < 3; o++) {
        float q[4][E];
        for (int i = 0; i < 4; i++) memcpy(q[i], p[orders[o][i]], sizeof q[i]);
        float **v = positions(4, (const float(*)[E])q), ranking[D];
        fedc_combiner *c = make(f, 4);
        vote(f, c, v, 4, ranking);
        if (o == 0) memcpy(first, ranking, sizeof first);
        else
            for (int j = 0; j < D; j++) assert_true(ranking[j] == first[j]);
        fedc_combiner_free(c);
        agg_test_free_vectors(v, 4);
    }
}

static void test_invalid_rankings_left_out(void **state) {
    fixture *f = *state;
    /* A repeated position, a fraction, a scaled ranking, a bias set: none
     * is a ranking; only the first votes. */
    const float p[5][E] = {{4, 1, 0, 2, 5, 3}, {0, 0, 1, 2, 3, 4}, {0.5f, 1, 2, 3, 4, 5},
                           {0, 100, 200, 300, 400, 500}, {0, 1, 2, 3, 4, 5}};
    float **v = positions(5, p), ranking[D];
    v[4][7] = 1; /* a non-ranked parameter must stay 0 */
    fedc_combiner *c = make(f, 5);
    vote(f, c, v, 5, ranking);
    for (int j = 0; j < E; j++) assert_true(ranking[j] == p[0][j]);
    assert_int_equal(fedc_combiner_verdict(c, 0, NULL), FEDC_VERDICT_KEPT);
    for (int i = 1; i < 5; i++) {
        const char *why;
        assert_int_equal(fedc_combiner_verdict(c, i, &why), FEDC_VERDICT_LEFT_OUT);
        assert_non_null(strstr(why, "ranking"));
    }
    fedc_combiner_free(c);
    agg_test_free_vectors(v, 5);
}

static void test_rankings_scores_and_masks(void **state) {
    fixture *f = *state;
    fedc_error err;
    fedc_frl *frl = fedc_frl_create(&f->task, f->arch, f->w0, &err);
    assert_non_null(frl);
    float s[D], pos[D], s2[D], pos2[D], w[D];
    fedc_frl_initial_scores(frl, s);
    fedc_frl_rank_positions(frl, s, pos);
    assert_true(fedc_frl_is_ranking(frl, pos));
    /* Scores of a ranking rank the same way. */
    fedc_frl_scores_of_positions(frl, pos, s2);
    fedc_frl_rank_positions(frl, s2, pos2);
    for (int j = 0; j < D; j++) assert_true(pos2[j] == pos[j]);
    /* Reversed twice is the same; once, every position p -> 5 - p. */
    memcpy(pos2, pos, sizeof pos);
    fedc_frl_reverse(frl, pos2);
    for (int j = 0; j < E; j++) assert_true(pos2[j] == 5 - pos[j]);
    fedc_frl_reverse(frl, pos2);
    for (int j = 0; j < D; j++) assert_true(pos2[j] == pos[j]);
    /* The mask keeps half the edges, those of largest |score|; the fixed
     * weights are +-sqrt(2 / fan_in) with the sign of w0; biases keep w0. */
    fedc_frl_weights(frl, s, w);
    int kept = 0;
    float wmag = sqrtf(2.0f / 3);
    for (int j = 0; j < E; j++) {
        if (w[j] == 0) continue;
        kept++;
        assert_true(fabsf(fabsf(w[j]) - wmag) < 1e-6f && (w[j] < 0) == (f->w0[j] < 0));
        for (int q = 0; q < E; q++)
            if (w[q] == 0) assert_true(fabsf(s[q]) <= fabsf(s[j]));
    }
    assert_int_equal(kept, 3);
    assert_true(w[6] == f->w0[6] && w[7] == f->w0[7]);
    /* Ties at the threshold: exactly half is still kept. */
    float tied[D] = {0.5f, -0.5f, 0.5f, 0.5f, 0.1f, 0.9f, 0, 0};
    fedc_frl_weights(frl, tied, w);
    kept = 0;
    for (int j = 0; j < E; j++) kept += w[j] != 0;
    assert_int_equal(kept, 3);
    fedc_frl_free(frl);
}

/* The mask on a tensor of 10000 edges, through every selection path: the
 * strided sample (first call), the band around the last threshold (scores
 * moved a little), the full search (scores moved a lot): always exactly
 * the top half by |score|. */
static void test_mask_on_a_large_tensor(void **state) {
    (void)state;
    fedc_arch *a = agg_test_arch(5000);
    size_t d = fedc_arch_nparams(a), e = 10000;
    fedc_task t;
    agg_test_task(&t, "frl", 2);
    float *w0 = malloc(d * sizeof *w0), *s = malloc(d * sizeof *s), *w = malloc(d * sizeof *w);
    for (size_t j = 0; j < d; j++) w0[j] = 1;
    fedc_error err;
    fedc_frl *frl = fedc_frl_create(&t, a, w0, &err);
    fedc_rng rng = fedc_rng_derive(1, 2, 3);
    fedc_frl_initial_scores(frl, s);
    for (int step = 0; step < 4; step++) {
        if (step == 1)
            for (size_t j = 0; j < e; j++) s[j] += 1e-4f * (float)fedc_rng_normal(&rng);
        if (step == 2)
            for (size_t j = 0; j < e; j++) s[j] *= 3;
        if (step == 3)
            for (size_t j = 0; j < e; j++) s[j] = (float)(j % 7); /* heavy ties */
        fedc_frl_weights(frl, s, w);
        size_t kept = 0;
        float min_kept = INFINITY, max_cut = 0;
        for (size_t j = 0; j < e; j++) {
            if (w[j] != 0) {
                kept++;
                if (fabsf(s[j]) < min_kept) min_kept = fabsf(s[j]);
            } else if (fabsf(s[j]) > max_cut) {
                max_cut = fabsf(s[j]);
            }
        }
        assert_int_equal(kept, e / 2);
        assert_true(max_cut <= min_kept);
    }
    fedc_frl_free(frl);
    fedc_arch_free(a);
    free(w0), free(s), free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vote_by_hand),
        cmocka_unit_test(test_identical_rankings_give_that_ranking),
        cmocka_unit_test(test_vote_is_order_invariant),
        cmocka_unit_test(test_invalid_rankings_left_out),
        cmocka_unit_test(test_rankings_scores_and_masks),
        cmocka_unit_test(test_mask_on_a_large_tensor),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
