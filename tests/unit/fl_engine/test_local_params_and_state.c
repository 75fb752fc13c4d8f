/* Local parameters (FedBN), kept optimizer state, the fedopt strategy and
 * personal evaluation, through the whole round engine on small synthetic
 * tasks:
 *  - FedBN (strategy.local_params = bn): after any number of rounds the
 *    aggregated model's batch-norm weights, biases and running statistics
 *    are exactly their initial values, while every client's differ (from
 *    them and from each other's), and the shared layers did train;
 *  - local.keep_state: two rounds of one client with adam equal adam run
 *    by hand across both rounds' batches with one state; off, the second
 *    round starts from a fresh state;
 *  - fedopt with sgd and server_lr 1 is fedavg bit for bit; with adam its
 *    first server step is the hand-computed one;
 *  - eval_personal reports a personal accuracy in [0, 1]. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/engine.h"
#include "support/engine_fixture.h"

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 240, N_TEST = 60, CAP = 4096 };

typedef fedc_test_data_pair fixture;

static int setup(void **state) {
    return fedc_test_data_pair_setup(state, N_TRAIN, N_TEST, FEATURES, CLASSES, 21, 22);
}

static int teardown(void **state) { return fedc_test_data_pair_teardown(state); }

static void base_task(fedc_task *t) {
    fedc_test_memory_task(t, "dense:16,dense:3");
    t->clients = 4;
    t->clients_per_round = 4;
    t->rounds = 3;
    t->local.batch = 16;
    t->local.lr = 0.1;
    t->seed = 5;
}

typedef fedc_test_sim sim;

static sim start(fixture *f, const fedc_task *t) { return fedc_test_sim_run(&f->train, &f->test, t); }

static void stop(sim *s) { fedc_test_sim_free(s); }

static void initial_model(fixture *f, const fedc_task *t, float *out) {
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(t->model, f->train.shape, CLASSES, &err);
    assert_non_null(a);
    fedc_rng init_rng = fedc_rng_derive(t->seed, 0x1417, 0);
    fedc_arch_init(a, out, &init_rng);
    fedc_arch_free(a);
}

static void test_fedbn_keeps_batch_norms_local(void **state) {
    fixture *f = *state;
    for (int rounds = 1; rounds <= 4; rounds += 3) {
        fedc_task t;
        base_task(&t);
        snprintf(t.model, sizeof t.model, "dense:12,bn,dense:8,bn,dense:3");
        snprintf(t.strategy.local_params, sizeof t.strategy.local_params, "bn");
        t.rounds = rounds;
        float x0[CAP];
        initial_model(f, &t, x0);
        sim s = start(f, &t);
        const fedc_arch *a = fedc_run_arch(s.run);
        const float *x = fedc_run_model(s.run);
        int bn_tensors = 0, shared_moved = 0;
        size_t local_floats = 0;
        for (int i = 0; i < fedc_arch_ntensors(a); i++) {
            fedc_tensor_info ti = fedc_arch_tensor(a, i);
            int is_bn = strcmp(ti.layer, "bn") == 0;
            for (size_t j = 0; j < ti.count; j++) {
                if (is_bn) {
                    if (x[ti.offset + j] != x0[ti.offset + j])
                        fail_msg("%d rounds: aggregated %s[%zu] moved: %g -> %g", rounds, ti.name, j,
                                 (double)x0[ti.offset + j], (double)x[ti.offset + j]);
                } else {
                    shared_moved |= x[ti.offset + j] != x0[ti.offset + j];
                }
            }
            if (is_bn) {
                bn_tensors++;
                local_floats += ti.count;
            }
        }
        assert_int_equal(bn_tensors, 8); /* weight, bias, running mean and variance of two bns */
        assert_true(shared_moved);
        /* Every client holds its own values, not the initial ones, and not another's. */
        float m0[CAP], mk[CAP];
        assert_int_equal(fedc_sim_transport_local_params(s.tp, 0, m0, CAP), local_floats);
        for (int k = 0; k < t.clients; k++) {
            assert_int_equal(fedc_sim_transport_local_params(s.tp, k, mk, CAP), local_floats);
            size_t differ_init = 0, pos = 0;
            for (int i = 0; i < fedc_arch_ntensors(a); i++) {
                fedc_tensor_info ti = fedc_arch_tensor(a, i);
                if (strcmp(ti.layer, "bn") != 0) continue;
                for (size_t j = 0; j < ti.count; j++, pos++) differ_init += mk[pos] != x0[ti.offset + j];
            }
            assert_int_equal(pos, local_floats);
            assert_true(differ_init > local_floats / 2);
            if (k > 0) assert_memory_not_equal(mk, m0, local_floats * sizeof(float));
        }
        assert_int_equal(fedc_sim_transport_local_params(s.tp, t.clients, mk, CAP), -1);
        stop(&s);
    }
}

/* With one client, FedBN over two rounds is local training that carries the
 * batch norms over: the client's kept values are those of continuous
 * training, and the global model's shared layers too. */
static void test_fedbn_client_continues_its_batch_norms(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    snprintf(t.model, sizeof t.model, "dense:12,bn,dense:3");
    snprintf(t.strategy.local_params, sizeof t.strategy.local_params, "bn");
    t.clients = t.clients_per_round = 1;
    t.rounds = 2;
    sim s = start(f, &t);
    const fedc_arch *a = fedc_run_arch(s.run);
    size_t d = fedc_run_nparams(s.run);
    float w[CAP], g[CAP], xb[16 * FEATURES];
    int32_t yb[16];
    uint32_t perm[N_TRAIN];
    initial_model(f, &t, w);
    fedc_ws *ws = fedc_ws_create(a, 16);
    fedc_optim_config oc = fedc_optim_defaults(FEDC_OPT_SGD, 0.1f);
    fedc_optim *o = fedc_optim_create_arch(&oc, a);
    for (int round = 1; round <= 2; round++) {
        fedc_rng rng = fedc_rng_derive(t.seed, (uint64_t)round, 0);
        memcpy(perm, fedc_partition_client(fedc_run_partition(s.run), 0), sizeof perm);
        fedc_rng_shuffle_u32(&rng, perm, N_TRAIN);
        for (int b = 0; b < N_TRAIN; b += 16) {
            fedc_dataset_gather(&f->train, perm + b, 16, xb, yb);
            fedc_nn_grad(a, ws, w, g, xb, yb, 16, &rng);
            fedc_nn_commit_stats(a, ws, w);
            fedc_optim_step(o, w, g);
        }
    }
    float mine[CAP];
    assert_true(fedc_sim_transport_local_params(s.tp, 0, mine, CAP) > 0);
    const float *x = fedc_run_model(s.run);
    size_t pos = 0;
    for (int i = 0; i < fedc_arch_ntensors(a); i++) {
        fedc_tensor_info ti = fedc_arch_tensor(a, i);
        const float *have = strcmp(ti.layer, "bn") == 0 ? mine + (pos += ti.count) - ti.count : x + ti.offset;
        for (size_t j = 0; j < ti.count; j++)
            if (fabsf(have[j] - w[ti.offset + j]) > 1e-5f * (1.0f + fabsf(w[ti.offset + j])))
                fail_msg("%s[%zu]: %g, continuous training gives %g", ti.name, j, (double)have[j],
                         (double)w[ti.offset + j]);
    }
    assert_true(pos > 0 && pos < d);
    fedc_optim_free(o);
    fedc_ws_free(ws);
    stop(&s);
}

/* A selector that keeps everything local, or names nothing, is refused. */
static void test_local_params_refusals(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    fedc_error err;
    fedc_run_options ro = {.threads = 1, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    snprintf(t.strategy.local_params, sizeof t.strategy.local_params, "dense");
    assert_null(fedc_run_create(&t, &ro, &err));
    assert_non_null(strstr(err.msg, "nothing would be aggregated"));
    snprintf(t.strategy.local_params, sizeof t.strategy.local_params, "bn");
    assert_null(fedc_run_create(&t, &ro, &err));
    assert_non_null(strstr(err.msg, "matches no layer"));
    snprintf(t.strategy.local_params, sizeof t.strategy.local_params, "last:1");
    fedc_run *r = fedc_run_create(&t, &ro, &err);
    assert_non_null(r);
    fedc_run_free(r);
}

/* keep_state: one client, two rounds of adam = adam by hand over both
 * rounds' batches with a single state (the trainer's streams: round r
 * shuffles with derive(seed, r, client)). */
static void test_keep_state_continues_adam(void **state) {
    fixture *f = *state;
    for (int keep = 0; keep <= 1; keep++) {
        fedc_task t;
        base_task(&t);
        t.clients = t.clients_per_round = 1;
        t.rounds = 2;
        snprintf(t.local.optimizer, sizeof t.local.optimizer, "adam");
        t.local.lr = 0.01;
        t.local.keep_state = keep;
        sim s = start(f, &t);
        size_t d = fedc_run_nparams(s.run);
        float got[CAP], w[CAP], g[CAP];
        memcpy(got, fedc_run_model(s.run), d * sizeof(float));
        long long kept = fedc_sim_transport_optim_steps(s.tp, 0);
        const fedc_partition *p = fedc_run_partition(s.run);
        uint32_t ids[N_TRAIN], perm[N_TRAIN];
        memcpy(ids, fedc_partition_client(p, 0), N_TRAIN * sizeof(uint32_t));
        assert_int_equal(kept, keep ? 2 * N_TRAIN / 16 : -1);
        stop(&s);

        fedc_error err;
        fedc_arch *a = fedc_arch_parse(t.model, f->train.shape, CLASSES, &err);
        initial_model(f, &t, w);
        fedc_ws *ws = fedc_ws_create(a, t.local.batch);
        fedc_optim_config oc = fedc_optim_defaults(FEDC_OPT_ADAM, 0.01f);
        fedc_optim *o = fedc_optim_create_arch(&oc, a);
        float xb[16 * FEATURES];
        int32_t yb[16];
        for (int round = 1; round <= 2; round++) {
            if (!keep) fedc_optim_reset(o);
            fedc_rng rng = fedc_rng_derive(t.seed, (uint64_t)round, 0);
            memcpy(perm, ids, sizeof ids);
            fedc_rng_shuffle_u32(&rng, perm, N_TRAIN);
            for (int b = 0; b < N_TRAIN; b += 16) {
                fedc_dataset_gather(&f->train, perm + b, 16, xb, yb);
                fedc_nn_grad(a, ws, w, g, xb, yb, 16, &rng);
                fedc_optim_step(o, w, g);
            }
        }
        for (size_t j = 0; j < d; j++) assert_float_equal(got[j], w[j], 1e-5f * (1.0f + fabsf(w[j])));
        fedc_optim_free(o);
        fedc_ws_free(ws);
        fedc_arch_free(a);
    }
}

static void test_fedopt(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    float avg[CAP], opt[CAP];
    sim s = start(f, &t);
    size_t d = fedc_run_nparams(s.run);
    memcpy(avg, fedc_run_model(s.run), d * sizeof(float));
    stop(&s);
    snprintf(t.strategy.name, sizeof t.strategy.name, "fedopt");
    snprintf(t.strategy.server_optimizer, sizeof t.strategy.server_optimizer, "sgd");
    s = start(f, &t);
    memcpy(opt, fedc_run_model(s.run), d * sizeof(float));
    stop(&s);
    assert_memory_equal(avg, opt, d * sizeof(float)); /* sgd, server_lr 1: fedavg */

    /* adam, one round: x1 = x0 - lr m^ / (sqrt(v^) + eps) with g = -mean, so
     * on the first step x1 = x0 + lr mean / (|mean| + eps). Recover mean from
     * one fedavg round. */
    float x0[CAP], fedavg1[CAP];
    t.rounds = 1;
    snprintf(t.strategy.name, sizeof t.strategy.name, "fedavg");
    s = start(f, &t);
    memcpy(fedavg1, fedc_run_model(s.run), d * sizeof(float));
    stop(&s);
    initial_model(f, &t, x0);
    snprintf(t.strategy.name, sizeof t.strategy.name, "fedopt");
    snprintf(t.strategy.server_optimizer, sizeof t.strategy.server_optimizer, "adam");
    t.strategy.server_lr = 0.01;
    s = start(f, &t);
    const float *x1 = fedc_run_model(s.run);
    for (size_t j = 0; j < d; j++) {
        double mean = (double)fedavg1[j] - x0[j];
        double want = x0[j] + 0.01 * mean / (fabs(mean) + 1e-8);
        assert_true(fabs(x1[j] - want) < 2e-6);
    }
    stop(&s);
}

static void test_personal_accuracy_reported(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    t.eval_personal = 20;
    sim s = start(f, &t);
    assert_int_equal(s.last.personal_evaluated, 1);
    assert_true(s.last.personal_accuracy >= 0 && s.last.personal_accuracy <= 1);
    fedc_client_data cd = fedc_run_client_data(s.run, 2);
    assert_int_equal(cd.eval_n, 20);
    assert_null(cd.domain);
    for (size_t i = 0; i < cd.eval_n; i++) assert_int_equal(cd.eval_index[i], i); /* one domain: the first 20 */
    stop(&s);
    t.eval_personal = 0;
    s = start(f, &t);
    assert_int_equal(s.last.personal_evaluated, 0);
    stop(&s);
}

/* Feature skew through the engine: client k and test sample i get domain
 * (k or i) mod n; the engine's evaluation sees the transformed test set. */
static void test_feature_skew_domains(void **state) {
    fixture *f = *state;
    fedc_dataset train = f->train, test = f->test;
    train.shape = test.shape = (fedc_shape){1, 2, 4}; /* the 8 features as a tiny image */
    fixture img = {train, test};
    fedc_task t;
    base_task(&t);
    snprintf(t.partition.feature_skew, sizeof t.partition.feature_skew, "id,invert,contrast:0.5");
    t.eval_personal = 10;
    t.rounds = 1;
    sim s = start(&img, &t);
    for (int k = 0; k < t.clients; k++) {
        fedc_client_data cd = fedc_run_client_data(s.run, k);
        fedc_domain_kind want[] = {FEDC_DOMAIN_ID, FEDC_DOMAIN_INVERT, FEDC_DOMAIN_CONTRAST};
        assert_non_null(cd.domain);
        assert_int_equal(cd.domain->kind, want[k % 3]);
        assert_int_equal(cd.eval_n, 10);
        for (size_t j = 0; j < cd.eval_n; j++) assert_int_equal(cd.eval_index[j] % 3, (uint32_t)(k % 3));
    }
    /* The engine's test accuracy is that of the test set with sample i in domain i mod 3. */
    double acc, loss;
    fedc_run_evaluate(s.run, &acc, &loss);
    fedc_dataset ts;
    fedc_error err;
    assert_int_equal(fedc_dataset_copy(&test, &ts, &err), 0);
    assert_int_equal(fedc_dataset_to_float(&ts, &err), 0);
    fedc_feature_skew fs;
    assert_int_equal(fedc_feature_skew_parse(t.partition.feature_skew, ts.shape, &fs, &err), 0);
    for (size_t i = 0; i < ts.n; i++) {
        uint32_t id = (uint32_t)i;
        fedc_domain_apply(fedc_feature_skew_domain(&fs, i), ts.shape, t.seed, &id, ts.x + i * ts.dim, 1);
    }
    fedc_ws *ws = fedc_ws_create(fedc_run_arch(s.run), 64);
    double want_acc, want_loss;
    fedc_nn_evaluate(fedc_run_arch(s.run), ws, fedc_run_model(s.run), ts.x, ts.y, ts.n, &want_acc, &want_loss);
    assert_true(fabs(acc - want_acc) < 1e-12 && fabs(loss - want_loss) < 1e-6);
    fedc_ws_free(ws);
    fedc_dataset_free(&ts);
    stop(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fedbn_keeps_batch_norms_local),
        cmocka_unit_test(test_fedbn_client_continues_its_batch_norms),
        cmocka_unit_test(test_local_params_refusals),
        cmocka_unit_test(test_keep_state_continues_adam),
        cmocka_unit_test(test_fedopt),
        cmocka_unit_test(test_personal_accuracy_reported),
        cmocka_unit_test(test_feature_skew_domains),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
