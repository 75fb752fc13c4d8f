/* Federated evaluation in simulation, external models in the engine, and
 * the task fields that go with them:
 *  - the round's fed_accuracy / fed_loss / fed_examples are the
 *    example-weighted means of each evaluator scoring the new global model
 *    on its own test partition (recomputed here with fedc_nn_evaluate);
 *  - eval.clients draws that many evaluators, the same ones for the same seed;
 *  - an external model needs its manifest, trains only after it has initial
 *    parameters, cannot be simulated, and the validator keeps it to the
 *    strategies and modes a node's own model can run;
 *  - "model" in its object form reads and writes back, and model.manifest
 *    can be set with fedc_task_set. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/deploy.h"
#include "fedc/engine.h"
#include "support/engine_fixture.h"

enum { FEATURES = 8, CLASSES = 3, N_TRAIN = 240, N_TEST = 120 };

typedef fedc_test_data_pair fixture;

static int setup(void **state) {
    return fedc_test_data_pair_setup(state, N_TRAIN, N_TEST, FEATURES, CLASSES, 21, 22);
}

static int teardown(void **state) { return fedc_test_data_pair_teardown(state); }

static void base_task(fedc_task *t) {
    fedc_test_memory_task(t, "dense:16,dense:3");
    snprintf(t->partition.kind, sizeof t->partition.kind, "dirichlet");
    t->partition.alpha = 0.5;
    t->clients = 6;
    t->clients_per_round = 3;
    t->rounds = 3;
    t->local.batch = 16;
    t->local.lr = 0.1;
    t->eval.federated = 1;
    t->seed = 9;
}

static fedc_run *make(fixture *f, const fedc_task *t, fedc_transport **tp) {
    fedc_error err;
    fedc_run_options ro = {.threads = 2, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    fedc_run *r = fedc_run_create(t, &ro, &err);
    if (!r) fail_msg("run create: %s", err.msg);
    *tp = fedc_sim_transport_create(r, &err);
    if (!*tp) fail_msg("transport: %s", err.msg);
    return r;
}

static void test_weighted_mean_of_participants(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    fedc_transport *tp;
    fedc_run *r = make(f, &t, &tp);
    fedc_ws *ws = fedc_ws_create(fedc_run_arch(r), 64);
    size_t total_test = 0;
    for (int k = 0; k < t.clients; k++) total_test += fedc_run_test_data(r, k).n;
    assert_int_equal(total_test, N_TEST); /* the test set, cut once across the clients */
    fedc_error err;
    fedc_round_metrics m;
    for (int round = 1; round <= t.rounds; round++) {
        assert_int_equal(fedc_run_round(r, tp, &m, &err), 0);
        assert_true(m.fed_evaluated);
        double ex = 0, acc = 0, loss = 0;
        int reports = 0;
        for (int i = 0; i < m.selected; i++) {
            fedc_participant p;
            assert_int_equal(fedc_run_participant(r, i, &p), 0);
            if (p.status != 1) continue;
            fedc_client_data cd = fedc_run_test_data(r, p.client);
            if (cd.n == 0) continue; /* a client without test samples reports nothing */
            float *x = malloc(cd.n * FEATURES * sizeof(float));
            int32_t *y = malloc(cd.n * sizeof(int32_t));
            fedc_dataset_gather(cd.data, cd.index, cd.n, x, y);
            double a, l;
            fedc_nn_evaluate(fedc_run_arch(r), ws, fedc_run_model(r), x, y, cd.n, &a, &l);
            ex += (double)cd.n;
            acc += a * (double)cd.n;
            loss += l * (double)cd.n;
            reports++;
            free(x);
            free(y);
        }
        assert_int_equal(m.fed_reports, reports);
        assert_true(fabs(m.fed_examples - ex) < 1e-9);
        assert_true(fabs(m.fed_accuracy - acc / ex) < 1e-6);
        assert_true(fabs(m.fed_loss - loss / ex) < 1e-5 * (1 + loss / ex));
        assert_true(m.evaluated); /* a built-in model is still scored by the server */
    }
    fedc_ws_free(ws);
    tp->ops->destroy(tp);
    fedc_run_free(r);
}

static void test_eval_clients_sampled_deterministically(void **state) {
    fixture *f = *state;
    fedc_task t;
    base_task(&t);
    t.eval.clients = 5;
    double seen[2][3];
    for (int rep = 0; rep < 2; rep++) {
        fedc_transport *tp;
        fedc_run *r = make(f, &t, &tp);
        fedc_error err;
        fedc_round_metrics m;
        for (int round = 0; round < 3; round++) {
            assert_int_equal(fedc_run_round(r, tp, &m, &err), 0);
            assert_true(m.fed_reports >= 4 && m.fed_reports <= 5); /* one may hold no test samples */
            seen[rep][round] = m.fed_accuracy + 1000 * m.fed_examples;
        }
        tp->ops->destroy(tp);
        fedc_run_free(r);
    }
    for (int round = 0; round < 3; round++) assert_true(seen[0][round] == seen[1][round]);
}

static void test_external_run(void **state) {
    fixture *f = *state;
    fedc_task t;
    fedc_error err;
    base_task(&t);
    snprintf(t.model, sizeof t.model, "external");
    fedc_run_options ro = {.threads = 1, .quiet = 1, .train_data = &f->train, .test_data = &f->test};
    assert_null(fedc_run_create(&t, &ro, &err));
    assert_non_null(strstr(err.msg, "model.manifest"));
    assert_int_equal(fedc_task_set(&t, "model.manifest=[{\"name\":\"w\",\"shape\":[3,8]},{\"name\":\"b\",\"shape\":[3]}]",
                                   &err),
                     0);
    assert_string_equal(t.model, "external");
    fedc_run *r = fedc_run_create(&t, &ro, &err);
    assert_non_null(r);
    assert_null(fedc_run_arch(r));
    assert_int_equal(fedc_run_nparams(r), 27);
    const fedc_manifest *m = fedc_run_manifest(r);
    assert_int_equal(m->n, 2);
    assert_string_equal(m->t[1].name, "b");
    assert_int_equal(m->t[1].offset, 24);
    assert_true(fedc_run_needs_initial_model(r));
    assert_null(fedc_sim_transport_create(r, &err));
    assert_non_null(strstr(err.msg, "deployment"));
    float x[27];
    for (int i = 0; i < 27; i++) x[i] = (float)i;
    x[5] = NAN;
    assert_int_equal(fedc_run_set_initial_model(r, x, 27, &err), -1);
    x[5] = 5;
    assert_int_equal(fedc_run_set_initial_model(r, x, 26, &err), -1);
    assert_int_equal(fedc_run_set_initial_model(r, x, 27, &err), 0);
    assert_false(fedc_run_needs_initial_model(r));
    assert_true(fedc_run_model(r)[26] == 26.0f);
    fedc_run_free(r);
}

static void expect_invalid(const char *json, const char *path, const char *needle) {
    fedc_task t;
    fedc_error err;
    if (fedc_task_from_json(json, strlen(json), &t, &err) == 0) fail_msg("accepted: %s", json);
    if (strncmp(err.msg, path, strlen(path)) != 0 || !strstr(err.msg, needle))
        fail_msg("%s: got \"%s\", wanted %s ... %s", json, err.msg, path, needle);
}

static void test_task_fields(void **state) {
    (void)state;
    fedc_task t;
    fedc_error err;
    const char *ok = "{\"model\":{\"name\":\"external\",\"manifest\":[{\"name\":\"fc.weight\",\"shape\":[10,784]},"
                     "{\"name\":\"fc.bias\",\"shape\":[10],\"dtype\":\"f32\"}]},\"eval\":{\"clients\":3}}";
    assert_int_equal(fedc_task_from_json(ok, strlen(ok), &t, &err), 0);
    assert_true(fedc_task_external(&t) && fedc_task_federated_eval(&t));
    assert_string_equal(t.model_manifest, "[{\"name\":\"fc.weight\",\"shape\":[10,784],\"dtype\":\"f32\"},"
                                          "{\"name\":\"fc.bias\",\"shape\":[10],\"dtype\":\"f32\"}]");
    char *back = fedc_task_to_json(&t, 0);
    fedc_task t2;
    assert_int_equal(fedc_task_from_json(back, strlen(back), &t2, &err), 0);
    assert_string_equal(t2.model_manifest, t.model_manifest);
    assert_non_null(strstr(back, "\"model\":{\"name\":\"external\",\"manifest\":["));
    free(back);
    /* A built-in model stays a plain string. */
    fedc_task_defaults(&t);
    back = fedc_task_to_json(&t, 0);
    assert_non_null(strstr(back, "\"model\":\"mlp\""));
    free(back);
    assert_false(fedc_task_federated_eval(&t));
    expect_invalid("{\"model\":\"external\",\"strategy\":{\"name\":\"scaffold\"}}", "strategy.name",
                   "fedc's own trainer");
    expect_invalid("{\"model\":\"external\",\"privacy\":{\"mode\":\"dp-gaussian\"}}", "privacy.mode", "none");
    expect_invalid("{\"model\":\"external\",\"clients_per_round\":3,\"secagg\":{\"mode\":\"secagg+\"}}",
                   "secagg.mode", "none");
    expect_invalid("{\"model\":\"external\",\"strategy\":{\"local_params\":\"bn\"}}", "strategy.local_params",
                   "allowed: none");
    expect_invalid("{\"model\":\"external\",\"strategy\":{\"name\":\"fedbuff\"}}", "strategy.name",
                   "fedc's own trainer");
    expect_invalid("{\"model\":{\"name\":\"mlp\",\"manifest\":[{\"name\":\"a\",\"shape\":[1]}]}}", "model.manifest",
                   "only with model");
    expect_invalid("{\"model\":{\"name\":\"external\",\"manifest\":[{\"name\":\"a\",\"shape\":[0]}]}}",
                   "model.manifest", "dimension 0");
    expect_invalid("{\"model\":{\"name\":\"external\",\"manifest\":[{\"name\":\"a\",\"shape\":[1]},"
                   "{\"name\":\"a\",\"shape\":[1]}]}}",
                   "model.manifest", "appears twice");
    expect_invalid("{\"model\":{\"name\":\"external\",\"layers\":3}}", "model", "allowed: name, manifest");
    expect_invalid("{\"model\":{\"manifest\":[]}}", "model", "");
    expect_invalid("{\"eval\":{\"clients\":101}}", "eval.clients", "more than clients");
    expect_invalid("{\"eval\":{\"federated\":1}}", "eval.federated", "true or false");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weighted_mean_of_participants),
        cmocka_unit_test(test_eval_clients_sampled_deterministically),
        cmocka_unit_test(test_external_run),
        cmocka_unit_test(test_task_fields),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
