/* MUD-HoG on synthetic rounds of 10 clients that all take part every round
 * (the authors' setting): 2 sign-flippers are judged malicious by round 5
 * (3 rounds of history, then 2 consecutive suspicions); additive-noise
 * attackers too; honest runs are checked for false positives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "agg_test_util.h"

enum { K = 300, N = 10 };
#define D (2 * K + 2)

typedef enum { HONEST, FLIP, NOISE, UNRELIABLE } behaviour;

typedef struct {
    fedc_arch *arch;
    float *bias[N];  /* each client's own data skew, fixed over the rounds */
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->arch = agg_test_arch(K);
    fedc_rng rng = fedc_rng_derive(3, 3, 3);
    for (int i = 0; i < N; i++) {
        f->bias[i] = malloc(D * sizeof(float));
        for (int j = 0; j < D; j++) f->bias[i][j] = 0.3f * (float)fedc_rng_normal(&rng);
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    fedc_arch_free(f->arch);
    for (int i = 0; i < N; i++) free(f->bias[i]);
    free(f);
    return 0;
}

/* Runs `rounds` rounds; behaviour of each client; counts, per client, the
 * rounds it ended judged malicious; returns the first round (1-based) by
 * which every attacker was judged malicious, or 0. */
static int run(fixture *f, const behaviour *who, int rounds, float skew, int *malicious_rounds, int *left_out_rounds) {
    fedc_task t;
    agg_test_task(&t, "mudhog", N);
    fedc_error err;
    fedc_combiner *c = fedc_combiner_create(&t, f->arch, fedc_arch_nparams(f->arch), NULL, N, &err);
    float **v = agg_test_vectors(N, D), *out = malloc(D * sizeof *out), *mu = malloc(D * sizeof *mu);
    fedc_rng rng = fedc_rng_derive(4, 4, 4);
    for (int j = 0; j < D; j++) mu[j] = (float)fedc_rng_normal(&rng);
    int all_by = 0;
    memset(malicious_rounds, 0, N * sizeof(int));
    memset(left_out_rounds, 0, N * sizeof(int));
    for (int r = 1; r <= rounds; r++) {
        /* The common descent direction drifts slowly from round to round. */
        for (int j = 0; j < D; j++) mu[j] = 0.9f * mu[j] + 0.436f * (float)fedc_rng_normal(&rng);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < D; j++) {
                float h = mu[j] + skew * f->bias[i][j] + 0.2f * (float)fedc_rng_normal(&rng);
                v[i][j] = who[i] == FLIP         ? -h
                          : who[i] == NOISE      ? h + 5 * (float)fedc_rng_normal(&rng)
                          : who[i] == UNRELIABLE ? h + 0.5f * (float)fedc_rng_normal(&rng)
                                                 : h;
            }
        assert_int_equal(agg_test_combine(c, v, NULL, N, r, NULL, out), 0);
        int caught = 0, attackers = 0;
        for (int i = 0; i < N; i++) {
            const char *why;
            fedc_verdict vd = fedc_combiner_verdict(c, i, &why);
            if (getenv("MUDHOG_TRACE") && vd) fprintf(stderr, "round %d client %d: %s\n", r, i, why);
            malicious_rounds[i] += vd == FEDC_VERDICT_MALICIOUS;
            left_out_rounds[i] += vd == FEDC_VERDICT_LEFT_OUT;
            if (who[i] == FLIP || who[i] == NOISE) {
                attackers++;
                caught += vd == FEDC_VERDICT_MALICIOUS;
            }
        }
        if (attackers && caught == attackers && !all_by) all_by = r;
    }
    fedc_combiner_free(c);
    agg_test_free_vectors(v, N);
    free(out);
    free(mu);
    return all_by;
}

static void test_sign_flippers_judged_malicious_by_round_5(void **state) {
    fixture *f = *state;
    behaviour who[N] = {HONEST};
    who[2] = who[7] = FLIP;
    int mal[N], left[N];
    int by = run(f, who, 5, 0.3f, mal, left);
    print_message("both sign-flippers judged malicious from round %d\n", by);
    assert_true(by >= 4 && by <= 5); /* no judgement before 3 rounds of history */
    for (int i = 0; i < N; i++)
        if (who[i] == HONEST && mal[i] > 0) fail_msg("honest client %d judged malicious", i);
}

/* The authors' setting for additive noise has unreliable clients too: the
 * largest gap in the distances of the DBSCAN outliers to the normal
 * cluster separates the (near) unreliable from the (far) noise. */
static void test_noise_attackers_judged_malicious(void **state) {
    fixture *f = *state;
    behaviour who[N] = {HONEST};
    who[4] = who[5] = NOISE;
    who[8] = UNRELIABLE;
    int mal[N], left[N];
    int by = run(f, who, 6, 0.3f, mal, left);
    print_message("both additive-noise attackers judged malicious from round %d\n", by);
    assert_true(by >= 4 && by <= 5);
    for (int i = 0; i < N; i++)
        if ((who[i] == HONEST || who[i] == UNRELIABLE) && mal[i] > 0) fail_msg("client %d judged malicious", i);
}

/* Honest runs. With clients drawn alike (no skew), nobody is judged
 * malicious. With skewed clients, the 2-means split of the long
 * histories, which always has a minority, keeps the same skewed clients
 * in it round after round and confirms them as targeted attackers after 4
 * (the authors' rule): a false positive the authors' code has too, which
 * the benchmark measures on real non-IID data. Sign-flip and noise
 * judgements stay clean either way. */
static void test_honest_runs(void **state) {
    fixture *f = *state;
    behaviour who[N] = {HONEST};
    int mal[N], left[N], rounds = 12;
    run(f, who, rounds, 0.0f, mal, left);
    for (int i = 0; i < N; i++)
        if (mal[i] > 0) fail_msg("alike honest client %d judged malicious in %d of %d rounds", i, mal[i], rounds);
    int fp = 0;
    run(f, who, rounds, 0.3f, mal, left);
    for (int i = 0; i < N; i++) fp += mal[i] > 0;
    print_message("skewed honest clients judged malicious (targeted) at some round: %d of %d\n", fp, N);
    /* Confirmation needs 4 consecutive suspicions from round 4: never before round 7. */
    run(f, who, 6, 0.3f, mal, left);
    for (int i = 0; i < N; i++) assert_int_equal(mal[i], 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_flippers_judged_malicious_by_round_5),
        cmocka_unit_test(test_noise_attackers_judged_malicious),
        cmocka_unit_test(test_honest_runs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
