/* Personalisation and per-client evaluation through the whole round engine
 * on a small synthetic task:
 *  - local test splits: every client's samples are cut into disjoint train
 *    and test parts that together are its partition, the same for the same
 *    seed, about test_fraction of each client;
 *  - the per-client summary (mean, 10th percentile by interpolation, min);
 *  - fedavg with test_fraction: client_acc_* (the model each client uses)
 *    is the global model's, and the JSONL carries the keys;
 *  - finetune with 0 steps scores exactly the global model on every client;
 *    with steps it differs;
 *  - fedper: the head (last:1) is never aggregated: the global model's head
 *    is its initial value while the other layers train;
 *  - ditto with lambda -> infinity is FedAvg: the same global model bit for
 *    bit, and each client's personal model scores as the global model it
 *    last trained from;
 *  - clustered with one cluster is FedAvg bit for bit (past the clustering
 *    round); with three, clients train from different cluster models and
 *    the global model is their sample-weighted mean. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/engine.h"
#include "fl/engine/engine_internal.h"
#include "support/engine_fixture.h"
#include "support/synthetic_data.h"

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 480, N_TEST = 60, CLIENTS = 6, CAP = 4096 };

typedef fedc_test_data_pair fixture;

static int setup(void **state) {
    return fedc_test_data_pair_setup(state, N_TRAIN, N_TEST, FEATURES, CLASSES, 31, 32);
}

static void base_task(fedc_task *t) {
    fedc_test_memory_task(t, "dense:16,dense:3"); /* data passed in memory */
    snprintf(t->partition.kind, sizeof t->partition.kind, "shards");
    t->partition.classes_per_client = 2;
    t->partition.test_fraction = 0.25;
    t->clients = CLIENTS;
    t->clients_per_round = CLIENTS;
    t->rounds = 3;
    t->local.batch = 16;
    t->local.lr = 0.1;
    t->seed = 9;
}

typedef fedc_test_sim sim;

static sim start(fixture *f, const fedc_task *t) { return fedc_test_sim_run(&f->train, &f->test, t); }

static void stop(sim *s) { fedc_test_sim_free(s); }

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void test_hold_out_splits_each_client(void **state) {
    fixture *f = *state;
    fedc_partition_config pc = {.kind = FEDC_PART_DIRICHLET, .alpha = 0.3};
    fedc_partition p, q, test, test2;
    fedc_error err;
    assert_int_equal(fedc_partition_make(&f->train, &pc, CLIENTS, 4, &p, &err), 0);
    assert_int_equal(fedc_partition_make(&f->train, &pc, CLIENTS, 4, &q, &err), 0);
    size_t before[CLIENTS];
    uint32_t *orig = malloc(N_TRAIN * sizeof *orig);
    memcpy(orig, p.index, p.offsets[CLIENTS] * sizeof *orig);
    size_t off[CLIENTS + 1];
    memcpy(off, p.offsets, sizeof off);
    for (int k = 0; k < CLIENTS; k++) before[k] = fedc_partition_size(&p, k);
    assert_int_equal(fedc_partition_hold_out(&p, 0.2, 77, &test, &err), 0);
    assert_int_equal(fedc_partition_hold_out(&q, 0.2, 77, &test2, &err), 0);
    for (int k = 0; k < CLIENTS; k++) {
        size_t nt = fedc_partition_size(&test, k), nr = fedc_partition_size(&p, k);
        assert_int_equal(nt + nr, before[k]);
        assert_int_equal(nt, fedc_holdout_count(before[k], 0.2));
        assert_true(before[k] < 2 || (nt >= 1 && nr >= 1));
        /* train + test = the client's samples, each once */
        uint32_t *u = malloc((before[k] + 1) * sizeof *u);
        memcpy(u, fedc_partition_client(&p, k), nr * sizeof *u);
        memcpy(u + nr, fedc_partition_client(&test, k), nt * sizeof *u);
        qsort(u, before[k], sizeof *u, cmp_u32);
        assert_memory_equal(u, orig + off[k], before[k] * sizeof *u);
        free(u);
        /* the same seed, the same split */
        assert_memory_equal(fedc_partition_client(&test, k), fedc_partition_client(&test2, k), nt * sizeof(uint32_t));
    }
    assert_int_equal(fedc_holdout_count(1, 0.5), 0);
    assert_int_equal(fedc_holdout_count(2, 0.9), 1);
    assert_int_equal(fedc_holdout_count(100, 0.2), 20);
    assert_int_equal(fedc_holdout_count(100, 0), 0);
    fedc_partition_free(&test2);
    assert_int_not_equal(fedc_partition_hold_out(&p, 1.0, 77, &test2, &err), 0);
    assert_non_null(strstr(err.msg, "test_fraction"));
    free(orig);
    fedc_partition_free(&p);
    fedc_partition_free(&q);
    fedc_partition_free(&test);
    fedc_partition_free(&test2);
}

static void test_summary(void **state) {
    (void)state;
    double acc[12] = {0.5, NAN, 0.9, 0.1, 0.3, 0.7, 0.2, 0.4, 0.6, 0.8, 1.0, 0.0};
    double mean = -1, p10 = -1, mn = -1;
    /* finite: 0.0 .. 1.0 in steps of 0.1 (11 values): p10 at position 1 = 0.1 */
    assert_int_equal(fedc_engine_client_summary(acc, 12, &mean, &p10, &mn), 11);
    assert_true(fabs(mean - 0.5) < 1e-12);
    assert_true(fabs(p10 - 0.1) < 1e-12);
    assert_true(mn == 0.0);
    double two[2] = {0.2, 0.6};
    assert_int_equal(fedc_engine_client_summary(two, 2, &mean, &p10, &mn), 2);
    assert_true(fabs(p10 - 0.24) < 1e-12); /* 0.2 + 0.1 * (0.6 - 0.2) */
    double none[1] = {NAN};
    mean = -1;
    assert_int_equal(fedc_engine_client_summary(none, 1, &mean, &p10, &mn), 0);
    assert_true(mean == -1);
}

static void test_fedavg_reports_per_client_accuracy(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    sim s = start(f, &t);
    const fedc_round_metrics *m = &s.last;
    assert_true(m->evaluated);
    assert_int_equal(m->clients_evaluated, CLIENTS);
    assert_true(m->client_evaluated);
    assert_true(m->client_acc_mean == m->global_client_acc_mean);
    assert_true(m->client_acc_p10 == m->global_client_acc_p10);
    assert_true(m->client_acc_min <= m->client_acc_p10 && m->client_acc_p10 <= m->client_acc_mean);
    assert_true(m->client_acc_mean > 0 && m->client_acc_mean <= 1);
    char *text = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&text, &len);
    fedc_metrics_write_jsonl(mf, m);
    fclose(mf);
    assert_non_null(strstr(text, "\"client_acc_mean\":"));
    assert_non_null(strstr(text, "\"client_acc_p10\":"));
    assert_non_null(strstr(text, "\"client_acc_min\":"));
    assert_non_null(strstr(text, "\"global_client_acc_mean\":"));
    free(text);
    stop(&s);
    /* Without local test splits, no per-client keys. */
    t.partition.test_fraction = 0;
    s = start(f, &t);
    assert_int_equal(s.last.clients_evaluated, 0);
    stop(&s);
}

static void test_finetune_zero_steps_is_the_global_model(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    snprintf(t.strategy.name, sizeof t.strategy.name, "finetune");
    t.strategy.finetune_steps = 0;
    sim s = start(f, &t);
    for (int k = 0; k < CLIENTS; k++) {
        double g, own;
        assert_int_equal(fedc_run_client_scores(s.run, k, &g, &own), 0);
        assert_true(isfinite(g));
        assert_true(g == own);
    }
    assert_true(s.last.client_acc_mean == s.last.global_client_acc_mean);
    assert_true(s.last.client_acc_min == s.last.global_client_acc_min);
    stop(&s);
    /* With steps, the personalised models are others (and on 2-class shards, better on average). */
    t.strategy.finetune_steps = 20;
    s = start(f, &t);
    int differ = 0;
    for (int k = 0; k < CLIENTS; k++) {
        double g, own;
        assert_int_equal(fedc_run_client_scores(s.run, k, &g, &own), 0);
        differ += g != own;
    }
    assert_true(differ > 0);
    assert_true(s.last.client_acc_mean > s.last.global_client_acc_mean);
    stop(&s);
}

static void test_fedper_head_never_aggregated(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    snprintf(t.strategy.name, sizeof t.strategy.name, "fedper");
    t.rounds = 4;
    sim s0 = start(f, &t); /* the initial model: a run's model before its first round */
    fedc_error err;
    fedc_run_options ro = {.threads = 1, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r0 = fedc_run_create(&t, &ro, &err);
    assert_non_null(r0);
    const float *x0 = fedc_run_model(r0);
    const fedc_arch *a = fedc_run_arch(s0.run);
    const float *x = fedc_run_model(s0.run);
    int nt = fedc_arch_ntensors(a), head = 0, body_moved = 0;
    for (int i = 0; i < nt; i++) {
        fedc_tensor_info ti = fedc_arch_tensor(a, i);
        int is_head = strcmp(ti.layer, fedc_arch_tensor(a, nt - 1).layer) == 0 &&
                      ti.offset >= fedc_arch_tensor(a, nt - 2).offset; /* the last layer's weight and bias */
        for (size_t j = 0; j < ti.count; j++) {
            if (is_head) assert_true(x[ti.offset + j] == x0[ti.offset + j]);
            else body_moved |= x[ti.offset + j] != x0[ti.offset + j];
        }
        head += is_head;
    }
    assert_int_equal(head, 2);
    assert_true(body_moved);
    /* Each client trained its own head; its model is scored as its own. */
    float own_head[CAP];
    long n = fedc_sim_transport_local_params(s0.tp, 0, own_head, CAP);
    assert_true(n == (long)(16 * 3 + 3));
    assert_true(s0.last.client_evaluated);
    assert_true(s0.last.client_acc_mean != s0.last.global_client_acc_mean);
    fedc_run_free(r0);
    stop(&s0);
}

static void test_ditto_infinite_lambda_is_fedavg(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    sim avg = start(f, &t);
    base_task(&t);
    t.rounds = 2;
    sim avg_before = start(f, &t); /* the global model the clients last trained from */
    base_task(&t);
    snprintf(t.strategy.name, sizeof t.strategy.name, "ditto");
    t.strategy.ditto_lambda = 1e12;
    sim dit = start(f, &t);
    size_t d = fedc_run_nparams(avg.run);
    assert_memory_equal(fedc_run_model(avg.run), fedc_run_model(dit.run), d * sizeof(float));
    for (int k = 0; k < CLIENTS; k++) {
        double g_avg, own_avg, g_dit, own_dit, g_before, own_before;
        assert_int_equal(fedc_run_client_scores(avg.run, k, &g_avg, &own_avg), 0);
        assert_int_equal(fedc_run_client_scores(dit.run, k, &g_dit, &own_dit), 0);
        assert_int_equal(fedc_run_client_scores(avg_before.run, k, &g_before, &own_before), 0);
        assert_true(g_avg == g_dit);
        assert_true(own_dit == g_before);
    }
    stop(&dit);
    /* A finite lambda: the personal models are the clients' own. */
    t.strategy.ditto_lambda = 0.01;
    t.rounds = 6;
    dit = start(f, &t);
    assert_true(dit.last.client_evaluated);
    assert_true(dit.last.client_acc_mean != dit.last.global_client_acc_mean);
    stop(&dit);
    stop(&avg);
    stop(&avg_before);
}

static void test_clustered_one_cluster_is_fedavg(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    t.rounds = 5;
    t.clients_per_round = 3;
    sim avg = start(f, &t);
    snprintf(t.strategy.name, sizeof t.strategy.name, "clustered");
    t.strategy.clusters = 1;
    t.strategy.cluster_round = 2;
    t.strategy.finetune_steps = 0;
    sim one = start(f, &t);
    size_t d = fedc_run_nparams(avg.run);
    assert_memory_equal(fedc_run_model(avg.run), fedc_run_model(one.run), d * sizeof(float));
    for (int k = 0; k < CLIENTS; k++) {
        assert_memory_equal(fedc_run_client_model(one.run, k), fedc_run_model(one.run), d * sizeof(float));
        double g, own;
        assert_int_equal(fedc_run_client_scores(one.run, k, &g, &own), 0);
        assert_true(g == own);
    }
    stop(&one);
    stop(&avg);
}

static void test_clustered_trains_cluster_models(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    snprintf(t.strategy.name, sizeof t.strategy.name, "clustered");
    t.strategy.clusters = 3;
    t.strategy.cluster_round = 1;
    t.rounds = 4;
    sim s = start(f, &t);
    size_t d = fedc_run_nparams(s.run);
    const float *x = fedc_run_model(s.run);
    int distinct = 0;
    for (int k = 1; k < CLIENTS; k++)
        distinct += memcmp(fedc_run_client_model(s.run, 0), fedc_run_client_model(s.run, k), d * sizeof(float)) != 0;
    assert_true(distinct > 0);
    for (int k = 0; k < CLIENTS; k++)
        assert_true(memcmp(fedc_run_client_model(s.run, k), x, d * sizeof(float)) != 0);
    assert_true(s.last.client_evaluated);
    assert_true(s.last.client_acc_mean != s.last.global_client_acc_mean);
    stop(&s);
    /* A lossy downlink cannot carry per-client models. */
    snprintf(t.compression.down, sizeof t.compression.down, "q8");
    fedc_error err;
    fedc_run_options ro = {.threads = 1, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    assert_null(fedc_run_create(&t, &ro, &err));
    assert_non_null(strstr(err.msg, "compression.down"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hold_out_splits_each_client),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_fedavg_reports_per_client_accuracy),
        cmocka_unit_test(test_finetune_zero_steps_is_the_global_model),
        cmocka_unit_test(test_fedper_head_never_aggregated),
        cmocka_unit_test(test_ditto_infinite_lambda_is_fedavg),
        cmocka_unit_test(test_clustered_one_cluster_is_fedavg),
        cmocka_unit_test(test_clustered_trains_cluster_models),
    };
    return cmocka_run_group_tests(tests, setup, fedc_test_data_pair_teardown);
}
