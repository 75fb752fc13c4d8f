/* Every local optimizer learns Fashion-MNIST with its default learning
 * rate: 3 rounds of the default task (MLP, 100 IID clients, 1 epoch, batch
 * 32, FedAvg), 5 clients per round to keep the test short, reach 65 % test
 * accuracy (chance is 10 %). Also with a batch-norm and a
 * weight-standardised CNN layer, FedBN and keep_state on (5 clients, all in
 * every round), so the layers and mechanisms train on real data. Skipped
 * without the Debian package
 * dataset-fashion-mnist. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fedc/engine.h"

#define TARGET 0.65

/* Under ASan (a Debug build) the real-data training would take minutes; the
 * same code runs under the sanitizers in the small synthetic tests. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

typedef struct {
    fedc_dataset train, test;
} fixture;

static int setup(void **state) {
    struct stat st;
    if (UNDER_SANITIZER || stat(FEDC_FASHION_MNIST_DIR, &st) != 0) {
        *state = NULL;
        return 0;
    }
    fixture *f = calloc(1, sizeof *f);
    fedc_error err;
    if (fedc_dataset_open("fashion-mnist", NULL, NULL, NULL, 1, &f->train, &err) != 0 ||
        fedc_dataset_open("fashion-mnist", NULL, NULL, NULL, 0, &f->test, &err) != 0)
        fail_msg("%s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    if (!f) return 0;
    fedc_dataset_free(&f->train);
    fedc_dataset_free(&f->test);
    free(f);
    return 0;
}

static double three_rounds(fixture *f, const fedc_task *t) {
    fedc_error err;
    fedc_run_options ro = {.threads = 2, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r = fedc_run_create(t, &ro, &err);
    if (!r) fail_msg("run create: %s", err.msg);
    fedc_transport *tp = fedc_sim_transport_create(r, &err);
    assert_non_null(tp);
    fedc_round_metrics m;
    while (!fedc_run_done(r))
        if (fedc_run_round(r, tp, &m, &err) != 0) fail_msg("round: %s", err.msg);
    tp->ops->destroy(tp);
    fedc_run_free(r);
    return m.accuracy;
}

static void base(fedc_task *t) {
    fedc_task_defaults(t);
    t->rounds = 3;
    t->clients_per_round = 5;
    t->seed = 1;
}

static void test_every_optimizer_learns(void **state) {
    fixture *f = *state;
    if (!f) skip();
    static const char *const names[] = {"sgd", "adam", "adamw", "lion", "adan", "adamp", "sgdp", "exadam",
                                        "adahessian", "mfac"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        fedc_task t;
        base(&t);
        snprintf(t.local.optimizer, sizeof t.local.optimizer, "%s", names[i]);
        double acc = three_rounds(f, &t);
        printf("%-10s lr %-7g accuracy after 3 rounds %.4f\n", names[i], fedc_task_local_lr_base(&t), acc);
        if (!(acc >= TARGET)) fail_msg("%s: %.4f after 3 rounds; expected >= %.2f", names[i], acc, TARGET);
    }
}

static void test_layers_and_mechanisms_learn(void **state) {
    fixture *f = *state;
    if (!f) skip();
    static const struct {
        const char *model, *local_params, *optimizer;
        int keep_state;
    } cases[] = {
        {"conv:8:5,bn,pool:2,dense:10", "bn", "adam", 0},  /* FedBN */
        {"wsconv:8:5,pool:2,dense:10", "none", "sgd", 0},  /* FedWon's conv */
        {"dense:64,bn,dense:10", "none", "lion", 1},        /* bn averaged, state kept */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fedc_task t;
        base(&t);
        snprintf(t.model, sizeof t.model, "%s", cases[i].model);
        snprintf(t.strategy.local_params, sizeof t.strategy.local_params, "%s", cases[i].local_params);
        snprintf(t.local.optimizer, sizeof t.local.optimizer, "%s", cases[i].optimizer);
        t.local.keep_state = cases[i].keep_state;
        t.eval_personal = 500;
        /* Every client takes part in every round, as in the FedBN paper, so
         * each starts rounds 2 and 3 with batch norms of its own. */
        t.clients = t.clients_per_round;
        t.local.max_steps = 60; /* of the 375 a 12,000-sample client has */
        fedc_error err;
        fedc_run_options ro = {.threads = 2, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
        fedc_run *r = fedc_run_create(&t, &ro, &err);
        if (!r) fail_msg("%s: %s", cases[i].model, err.msg);
        fedc_transport *tp = fedc_sim_transport_create(r, &err);
        fedc_round_metrics m;
        while (!fedc_run_done(r))
            if (fedc_run_round(r, tp, &m, &err) != 0) fail_msg("round: %s", err.msg);
        tp->ops->destroy(tp);
        fedc_run_free(r);
        /* FedBN's global model keeps initial batch norms: its own clients'
         * models (personal accuracy) are the ones to score. */
        double acc = strcmp(cases[i].local_params, "bn") == 0 ? m.personal_accuracy : m.accuracy;
        printf("%-28s %-5s %-5s keep_state %d: accuracy %.4f, personal %.4f\n", cases[i].model,
               cases[i].local_params, cases[i].optimizer, cases[i].keep_state, m.accuracy, m.personal_accuracy);
        if (!(acc >= TARGET)) fail_msg("%s: %.4f after 3 rounds; expected >= %.2f", cases[i].model, acc, TARGET);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_optimizer_learns),
        cmocka_unit_test(test_layers_and_mechanisms_learn),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
