/* Client selection policies: config validation, the guarantees of each
 * policy (round-robin coverage, deadline feasibility, loss and size
 * preferences, age order), availability, and determinism by rng. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/sched.h"

static const char *const ALL_POLICIES[] = {"random", "round-robin",     "samples",
                                           "age",    "power-of-choice", "deadline"};

static fedc_sched_config config(const char *policy, int d, double deadline) {
    fedc_sched_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.policy, sizeof c.policy, "%s", policy);
    c.choice_d = d;
    c.deadline_s = deadline;
    return c;
}

static fedc_sched *make(const char *policy, int d, double deadline, int n) {
    fedc_sched_config c = config(policy, d, deadline);
    fedc_error err = {{0}};
    fedc_sched *s = fedc_sched_create(&c, n, &err);
    if (!s) fail_msg("%s: %s", policy, err.msg);
    return s;
}

static fedc_client_info *clients_new(int n) {
    fedc_client_info *c = calloc((size_t)n, sizeof *c);
    for (int i = 0; i < n; i++) {
        c[i].n_samples = 100;
        c[i].last_loss = -1;
        c[i].last_round = -1;
        c[i].samples_per_s = 1000;
        c[i].up_bps = c[i].down_bps = 1e7;
        c[i].available = 1;
    }
    return c;
}

static void expect_check_error(fedc_sched_config c, const char *fragment) {
    fedc_error err = {{0}};
    assert_int_equal(fedc_sched_check(&c, &err), -1);
    if (!strstr(err.msg, fragment)) fail_msg("error '%s' lacks '%s'", err.msg, fragment);
    assert_null(fedc_sched_create(&c, 10, &err));
}

static void test_config_validation(void **state) {
    (void)state;
    fedc_error err = {{0}};
    for (size_t i = 0; i < 6; i++) {
        fedc_sched_config c = config(ALL_POLICIES[i], 0, 30.0);
        assert_int_equal(fedc_sched_check(&c, &err), 0);
    }
    fedc_sched_config ok = config("random", 0, 0.0); /* deadline unused */
    assert_int_equal(fedc_sched_check(&ok, &err), 0);
    expect_check_error(config("fastest", 0, 1),
                       "policy 'fastest' is unknown; allowed: random, round-robin");
    expect_check_error(config("Random", 0, 1), "unknown");
    expect_check_error(config("", 0, 1), "policy '' is unknown");
    expect_check_error(config("power-of-choice", -1, 1), "choice_d is -1; allowed: 0");
    expect_check_error(config("deadline", 0, 0.0), "deadline_s is 0; the deadline policy needs");
    expect_check_error(config("deadline", 0, -5), "deadline_s is -5");
    expect_check_error(config("deadline", 0, NAN), "deadline_s is nan");
    expect_check_error(config("deadline", 0, INFINITY), "deadline_s is inf");
    fedc_sched_config unterminated;
    memset(&unterminated, 'x', sizeof unterminated);
    unterminated.choice_d = 0;
    expect_check_error(unterminated, "longer than 23 characters");
    assert_int_equal(fedc_sched_check(NULL, &err), -1);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Out holds m distinct ids of available clients. */
static void assert_valid_pick(const fedc_client_info *c, int n, const int *out, int m) {
    int *s = malloc((size_t)(m ? m : 1) * sizeof *s);
    memcpy(s, out, (size_t)m * sizeof *s);
    qsort(s, (size_t)m, sizeof *s, cmp_int);
    for (int i = 0; i < m; i++) {
        assert_true(s[i] >= 0 && s[i] < n);
        assert_true(c[s[i]].available);
        if (i) assert_true(s[i] != s[i - 1]);
    }
    free(s);
}

static void test_round_robin_visits_everyone_in_ceil_n_over_s_rounds(void **state) {
    (void)state;
    const int Ns[] = {1, 7, 10, 100, 101}, Ss[] = {1, 3, 10, 33};
    for (int a = 0; a < 5; a++) {
        for (int b = 0; b < 4; b++) {
            int N = Ns[a], S = Ss[b], rounds = (N + S - 1) / S;
            fedc_sched *s = make("round-robin", 0, 0, N);
            fedc_client_info *c = clients_new(N);
            int *seen = calloc((size_t)N, sizeof *seen), *count = calloc((size_t)N, sizeof *count);
            int *out = malloc((size_t)S * sizeof *out);
            for (int r = 0; r < 5 * rounds; r++) {
                int m = fedc_sched_select(s, r, c, N, S, NULL, NULL, out);
                assert_int_equal(m, S < N ? S : N);
                assert_valid_pick(c, N, out, m);
                for (int i = 0; i < m; i++) seen[out[i]] = 1, count[out[i]]++;
                if (r == rounds - 1)
                    for (int i = 0; i < N; i++)
                        if (!seen[i])
                            fail_msg("N=%d S=%d: client %d not visited in %d rounds", N, S, i,
                                     rounds);
            }
            /* Over several cycles nobody gets ahead by more than one turn. */
            int lo = count[0], hi = count[0];
            for (int i = 1; i < N; i++)
                lo = count[i] < lo ? count[i] : lo, hi = count[i] > hi ? count[i] : hi;
            assert_true(hi - lo <= 1);
            free(seen);
            free(count);
            free(out);
            free(c);
            fedc_sched_free(s);
        }
    }
}

static void test_round_robin_skips_unavailable_clients(void **state) {
    (void)state;
    int N = 20, S = 4;
    fedc_sched *s = make("round-robin", 0, 0, N);
    fedc_client_info *c = clients_new(N);
    for (int i = 0; i < N; i += 3) c[i].available = 0; /* 7 offline, 13 online */
    int seen[20] = {0}, out[4];
    for (int r = 0; r < (13 + S - 1) / S; r++) {
        int m = fedc_sched_select(s, r, c, N, S, NULL, NULL, out);
        assert_int_equal(m, S);
        assert_valid_pick(c, N, out, m);
        for (int i = 0; i < m; i++) seen[out[i]] = 1;
    }
    for (int i = 0; i < N; i++) assert_int_equal(seen[i], c[i].available);
    free(c);
    fedc_sched_free(s);
}

static void test_unavailable_clients_are_never_picked(void **state) {
    (void)state;
    int N = 50;
    fedc_client_info *c = clients_new(N);
    fedc_round_cost cost = {1.0, 0, 1e5, 1e5};
    fedc_rng avail_rng;
    fedc_rng_seed(&avail_rng, 3);
    int out[50];
    for (size_t p = 0; p < 6; p++) {
        fedc_sched *s = make(ALL_POLICIES[p], 0, 1e9, N);
        fedc_rng rng;
        fedc_rng_seed(&rng, 10 + p);
        for (int r = 0; r < 200; r++) {
            int n_avail = 0;
            for (int i = 0; i < N; i++) {
                c[i].available = fedc_rng_uniform(&avail_rng) < 0.3;
                c[i].last_loss = fedc_rng_uniform(&avail_rng);
                n_avail += c[i].available;
            }
            int k = 1 + (int)fedc_rng_below(&avail_rng, 20);
            int m = fedc_sched_select(s, r, c, N, k, &cost, &rng, out);
            assert_int_equal(m, k < n_avail ? k : n_avail);
            assert_valid_pick(c, N, out, m);
            for (int i = 0; i < m; i++) c[out[i]].last_round = r;
        }
        /* Nobody available: nothing picked. */
        for (int i = 0; i < N; i++) c[i].available = 0;
        assert_int_equal(fedc_sched_select(s, 999, c, N, 5, &cost, &rng, out), 0);
        for (int i = 0; i < N; i++) c[i].available = 1, c[i].last_round = -1;
        fedc_sched_free(s);
    }
    free(c);
}

static void test_selection_is_deterministic_given_the_rng(void **state) {
    (void)state;
    int N = 40, k = 6;
    fedc_client_info *c = clients_new(N);
    for (int i = 0; i < N; i++) {
        c[i].n_samples = 10 + (size_t)i * 7;
        c[i].last_loss = (i % 5) * 0.3;
        c[i].samples_per_s = 100 + 50 * (i % 9);
    }
    fedc_round_cost cost = {1.0, 0, 1e6, 1e6};
    for (size_t p = 0; p < 6; p++) {
        /* Three fresh schedulers over 20 rounds: two with the same seed, one
         * with another. */
        int picks[3][20][6];
        uint64_t seeds[3] = {5, 5, 6};
        for (int run = 0; run < 3; run++) {
            fedc_sched *s = make(ALL_POLICIES[p], 0, 3.0, N);
            fedc_rng rng = fedc_rng_derive(seeds[run], 1, 2);
            for (int round = 0; round < 20; round++)
                assert_int_equal(
                    fedc_sched_select(s, round, c, N, k, &cost, &rng, picks[run][round]), k);
            fedc_sched_free(s);
        }
        assert_memory_equal(picks[0], picks[1], sizeof picks[0]);
        /* Policies that draw give other picks for another seed. */
        int differs = memcmp(picks[0], picks[2], sizeof picks[0]) != 0;
        assert_int_equal(differs, strcmp(ALL_POLICIES[p], "round-robin") != 0);
    }
    free(c);
}

static void test_random_is_uniform(void **state) {
    (void)state;
    int N = 20, k = 5, T = 20000;
    fedc_sched *s = make("random", 0, 0, N);
    fedc_client_info *c = clients_new(N);
    for (int i = 0; i < N; i++) c[i].n_samples = (size_t)(1 + i * 100); /* ignored */
    fedc_rng rng;
    fedc_rng_seed(&rng, 1);
    double count[20] = {0};
    int out[5];
    for (int t = 0; t < T; t++) {
        assert_int_equal(fedc_sched_select(s, t, c, N, k, NULL, &rng, out), k);
        for (int i = 0; i < k; i++) count[out[i]]++;
    }
    double p = (double)k / N, sd = sqrt(T * p * (1 - p));
    for (int i = 0; i < N; i++) assert_true(fabs(count[i] - T * p) < 5 * sd);
    free(c);
    fedc_sched_free(s);
}

static void test_samples_weighted_frequencies_follow_sizes(void **state) {
    (void)state;
    int N = 10, T = 40000;
    fedc_sched *s = make("samples", 0, 0, N);
    fedc_client_info *c = clients_new(N);
    double total = 0;
    for (int i = 0; i < N; i++)
        c[i].n_samples = (size_t)(i + 1) * 50, total += (double)c[i].n_samples;
    fedc_rng rng;
    fedc_rng_seed(&rng, 2);
    double count[10] = {0};
    int out[3];
    for (int t = 0; t < T; t++) {
        assert_int_equal(fedc_sched_select(s, t, c, N, 1, NULL, &rng, out), 1);
        count[out[0]]++;
    }
    /* With one pick a round the frequency is exactly n_i / sum n. */
    for (int i = 0; i < N; i++) {
        double p = (double)c[i].n_samples / total, sd = sqrt(T * p * (1 - p));
        if (fabs(count[i] - T * p) > 5 * sd)
            fail_msg("client %d picked %.0f times; expected %.0f", i, count[i], T * p);
    }
    /* Several picks a round: bigger clients still come more often, and a
     * client without data only when nothing else is left. */
    memset(count, 0, sizeof count);
    c[0].n_samples = 0;
    for (int t = 0; t < 5000; t++) {
        assert_int_equal(fedc_sched_select(s, t, c, N, 3, NULL, &rng, out), 3);
        for (int i = 0; i < 3; i++) count[out[i]]++;
    }
    assert_true(count[0] == 0);
    for (int i = 2; i < N; i++) assert_true(count[i] > count[i - 1] * 0.95);
    assert_true(count[N - 1] > 3 * count[1]);
    int all[10];
    assert_int_equal(fedc_sched_select(s, 0, c, N, 10, NULL, &rng, all), 10);
    assert_int_equal(all[9], 0); /* the empty client is picked last */
    free(c);
    fedc_sched_free(s);
}

static void test_age_picks_never_selected_then_oldest(void **state) {
    (void)state;
    int N = 12, k = 4;
    fedc_sched *s = make("age", 0, 0, N);
    fedc_client_info *c = clients_new(N);
    for (int i = 0; i < N; i++) c[i].last_round = i % 2 ? -1 : 10 + i; /* odd ids never picked */
    c[4].last_round = 3;
    fedc_rng rng;
    fedc_rng_seed(&rng, 4);
    int out[12];
    for (int t = 0; t < 50; t++) {
        assert_int_equal(fedc_sched_select(s, 30, c, N, k, NULL, &rng, out), k);
        for (int i = 0; i < k; i++) assert_true(c[out[i]].last_round == -1);
    }
    /* 6 never selected, then the oldest (client 4, round 3), then 0 (10). */
    assert_int_equal(fedc_sched_select(s, 30, c, N, 8, NULL, &rng, out), 8);
    for (int i = 0; i < 6; i++) assert_int_equal(c[out[i]].last_round, -1);
    assert_int_equal(out[6], 4);
    assert_int_equal(out[7], 0);
    /* Ties are random: every never-selected client leads sometimes. */
    int lead[12] = {0};
    for (int t = 0; t < 600; t++) {
        fedc_sched_select(s, 30, c, N, 1, NULL, &rng, out);
        lead[out[0]]++;
    }
    for (int i = 1; i < N; i += 2) assert_true(lead[i] > 50);
    /* Updating last_round as an engine would visits everyone in
     * ceil(N/k) rounds. */
    for (int i = 0; i < N; i++) c[i].last_round = -1;
    int seen[12] = {0};
    for (int r = 0; r < (N + k - 1) / k; r++) {
        fedc_sched_select(s, r, c, N, k, NULL, &rng, out);
        for (int i = 0; i < k; i++) seen[out[i]] = 1, c[out[i]].last_round = r;
    }
    for (int i = 0; i < N; i++) assert_int_equal(seen[i], 1);
    free(c);
    fedc_sched_free(s);
}

static double mean_loss_of_picks(const char *policy, int d, int T) {
    int N = 100, k = 5;
    fedc_sched *s = make(policy, d, 0, N);
    fedc_client_info *c = clients_new(N);
    for (int i = 0; i < N; i++) c[i].last_loss = (double)i / N;
    fedc_rng rng;
    fedc_rng_seed(&rng, 9);
    double sum = 0;
    int out[5];
    for (int t = 0; t < T; t++) {
        assert_int_equal(fedc_sched_select(s, t, c, N, k, NULL, &rng, out), k);
        for (int i = 0; i < k; i++) sum += c[out[i]].last_loss;
    }
    free(c);
    fedc_sched_free(s);
    return sum / (T * k);
}

static void test_power_of_choice_prefers_high_loss(void **state) {
    (void)state;
    double random = mean_loss_of_picks("random", 0, 2000);
    double poc_default = mean_loss_of_picks("power-of-choice", 0, 2000); /* d = 2k */
    double poc_wide = mean_loss_of_picks("power-of-choice", 40, 2000);
    double poc_d_eq_k = mean_loss_of_picks("power-of-choice", 5, 2000); /* no choice left */
    /* Losses are uniform on [0, 1): random picks average ~0.5; the top k of
     * 2k candidates ~0.67; of 40 candidates ~0.89. */
    assert_true(fabs(random - 0.495) < 0.02);
    assert_true(poc_default > 0.62);
    assert_true(poc_wide > 0.85);
    assert_true(fabs(poc_d_eq_k - 0.495) < 0.02);

    /* Unknown loss counts as +inf: a new client among the candidates wins. */
    int N = 10;
    fedc_sched *s = make("power-of-choice", 10, 0, N);
    fedc_client_info *c = clients_new(N);
    for (int i = 0; i < N; i++) c[i].last_loss = 5.0 + i;
    c[3].last_loss = -1;
    c[6].last_loss = NAN;
    fedc_rng rng;
    fedc_rng_seed(&rng, 1);
    int out[3];
    assert_int_equal(fedc_sched_select(s, 0, c, N, 3, NULL, &rng, out), 3);
    qsort(out, 3, sizeof *out, cmp_int);
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 6);
    assert_int_equal(out[2], 9);
    free(c);
    fedc_sched_free(s);
}

static void test_predicted_round_time(void **state) {
    (void)state;
    fedc_client_info c = {1000, -1, -1, 0, 500.0, 4e6, 8e6, 1};
    fedc_round_cost cost = {2.0, 0, 1e6, 5e5};
    /* 1 MB down at 8 Mbit/s = 1 s, 2000 samples at 500/s = 4 s, 0.5 MB up
     * at 4 Mbit/s = 1 s. */
    assert_true(fabs(fedc_sched_predict_s(&c, &cost) - 6.0) < 1e-12);
    cost.max_samples = 500;
    assert_true(fabs(fedc_sched_predict_s(&c, &cost) - 3.0) < 1e-12);
    c.samples_per_s = 0;
    assert_true(isinf(fedc_sched_predict_s(&c, &cost)));
    c.samples_per_s = 500, c.up_bps = -1;
    assert_true(isinf(fedc_sched_predict_s(&c, &cost)));
    cost.up_bytes = 0;
    assert_true(fabs(fedc_sched_predict_s(&c, &cost) - 2.0) < 1e-12);
    assert_true(fedc_sched_predict_s(&c, NULL) == 0.0);
}

static void test_deadline_never_picks_late_clients_while_enough_fit(void **state) {
    (void)state;
    int N = 60, k = 8;
    double deadline = 10.0;
    fedc_sched *s = make("deadline", 0, deadline, N);
    fedc_client_info *c = clients_new(N);
    fedc_round_cost cost = {1.0, 0, 1e6, 1e6};
    fedc_rng rng;
    fedc_rng_seed(&rng, 12);
    int out[60], rounds_enough = 0, rounds_short = 0;
    for (int r = 0; r < 300; r++) {
        /* New random speeds each round, slow overall every third round so
         * that sometimes fewer than k fit; some clients of unknown speed. */
        int fitting = 0;
        double scale = r % 3 ? 1.0 : 0.03;
        for (int i = 0; i < N; i++) {
            c[i].n_samples = 50 + fedc_rng_below(&rng, 2000);
            c[i].samples_per_s = scale * (20 + 400 * fedc_rng_uniform(&rng));
            if (fedc_rng_below(&rng, 10) == 0) c[i].samples_per_s = 0;
            c[i].available = fedc_rng_below(&rng, 8) != 0;
            c[i].last_loss = fedc_rng_below(&rng, 3) ? fedc_rng_uniform(&rng) : -1;
            double t = fedc_sched_predict_s(&c[i], &cost);
            fitting += c[i].available && t <= deadline;
        }
        int m = fedc_sched_select(s, r, c, N, k, &cost, &rng, out);
        int n_avail = 0;
        for (int i = 0; i < N; i++) n_avail += c[i].available;
        assert_int_equal(m, k < n_avail ? k : n_avail);
        assert_valid_pick(c, N, out, m);
        int late = 0;
        double slowest_late_pick = 0, fastest_left_late = INFINITY;
        for (int i = 0; i < m; i++) {
            double t = fedc_sched_predict_s(&c[out[i]], &cost);
            if (t > deadline) late++, slowest_late_pick = fmax(slowest_late_pick, t);
        }
        if (fitting >= k) {
            rounds_enough++;
            if (late) fail_msg("round %d: %d late picks while %d clients fit", r, late, fitting);
        } else {
            /* All fitting clients taken, and the rest are the fastest. */
            rounds_short++;
            assert_int_equal(m - late, fitting);
            for (int i = 0; i < N; i++) {
                int picked = 0;
                for (int j = 0; j < m; j++) picked |= out[j] == i;
                double t = fedc_sched_predict_s(&c[i], &cost);
                if (!picked && c[i].available && t > deadline)
                    fastest_left_late = fmin(fastest_left_late, t);
            }
            assert_true(slowest_late_pick <= fastest_left_late);
        }
        for (int i = 0; i < m; i++) c[out[i]].last_round = r;
    }
    assert_true(rounds_enough > 100 && rounds_short > 50); /* both cases exercised */
    free(c);
    fedc_sched_free(s);
}

static void test_deadline_favours_clients_with_more_useful_data(void **state) {
    (void)state;
    int N = 20, k = 2;
    fedc_sched *s = make("deadline", 0, 100.0, N);
    fedc_client_info *c = clients_new(N);
    fedc_round_cost cost = {1.0, 0, 0, 0};
    for (int i = 0; i < N; i++) c[i].n_samples = i < 10 ? 100 : 1000; /* all fit */
    fedc_rng rng;
    fedc_rng_seed(&rng, 3);
    int out[5];
    double small = 0, big = 0;
    for (int t = 0; t < 4000; t++) {
        fedc_sched_select(s, 0, c, N, k, &cost, &rng, out);
        for (int i = 0; i < k; i++) *(out[i] < 10 ? &small : &big) += 1;
    }
    assert_true(big > 4 * small);
    /* Higher loss counts too: with equal sizes, the high-loss half wins. */
    for (int i = 0; i < N; i++) c[i].n_samples = 500, c[i].last_loss = i < 10 ? 0.1 : 2.0;
    small = big = 0;
    for (int t = 0; t < 4000; t++) {
        fedc_sched_select(s, 0, c, N, k, &cost, &rng, out);
        for (int i = 0; i < k; i++) *(out[i] < 10 ? &small : &big) += 1;
    }
    assert_true(big > 4 * small);
    /* And a client long left out gains weight with age. */
    for (int i = 0; i < N; i++) c[i].last_loss = 1.0, c[i].last_round = 99;
    c[7].last_round = 0;
    double picked7 = 0;
    for (int t = 0; t < 4000; t++) {
        fedc_sched_select(s, 100, c, N, 1, &cost, &rng, out);
        picked7 += out[0] == 7;
    }
    /* weight sqrt(101) vs sqrt(2) for the others: ~ 7.1 / (7.1 + 19 * 1.41) */
    assert_true(picked7 / 4000 > 0.15);
    /* Without a cost model, deadline falls back to random picks. */
    assert_int_equal(fedc_sched_select(s, 0, c, N, 5, NULL, &rng, out), 5);
    free(c);
    fedc_sched_free(s);
}

static void test_invalid_arguments(void **state) {
    (void)state;
    fedc_sched *s = make("random", 0, 0, 5);
    fedc_client_info *c = clients_new(5);
    fedc_rng rng;
    fedc_rng_seed(&rng, 1);
    int out[5];
    assert_int_equal(fedc_sched_select(s, 0, c, 5, 3, NULL, NULL, out), -1); /* needs rng */
    assert_int_equal(fedc_sched_select(s, 0, NULL, 5, 3, NULL, &rng, out), -1);
    assert_int_equal(fedc_sched_select(s, 0, c, 5, 3, NULL, &rng, NULL), -1);
    assert_int_equal(fedc_sched_select(NULL, 0, c, 5, 3, NULL, &rng, out), -1);
    assert_int_equal(fedc_sched_select(s, 0, c, -1, 3, NULL, &rng, out), -1);
    assert_int_equal(fedc_sched_select(s, 0, c, 5, 0, NULL, &rng, out), 0);
    assert_int_equal(fedc_sched_select(s, 0, c, 0, 3, NULL, &rng, out), 0);
    assert_int_equal(fedc_sched_select(s, 0, c, 5, 50, NULL, &rng, out), 5);
    fedc_error err = {{0}};
    fedc_sched_config cfg = config("random", 0, 0);
    assert_null(fedc_sched_create(&cfg, -3, &err));
    assert_non_null(strstr(err.msg, "-3 clients"));
    free(c);
    fedc_sched_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test(test_round_robin_visits_everyone_in_ceil_n_over_s_rounds),
        cmocka_unit_test(test_round_robin_skips_unavailable_clients),
        cmocka_unit_test(test_unavailable_clients_are_never_picked),
        cmocka_unit_test(test_selection_is_deterministic_given_the_rng),
        cmocka_unit_test(test_random_is_uniform),
        cmocka_unit_test(test_samples_weighted_frequencies_follow_sizes),
        cmocka_unit_test(test_age_picks_never_selected_then_oldest),
        cmocka_unit_test(test_power_of_choice_prefers_high_loss),
        cmocka_unit_test(test_predicted_round_time),
        cmocka_unit_test(test_deadline_never_picks_late_clients_while_enough_fit),
        cmocka_unit_test(test_deadline_favours_clients_with_more_useful_data),
        cmocka_unit_test(test_invalid_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
