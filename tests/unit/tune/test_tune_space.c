/* Search spaces and configurations: parsing and its errors, the canonical
 * form, the default space of a task, sampling with conditions, the JSON
 * form of configurations, applying them to tasks (fields and the model
 * builder), and ASHA's rungs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fedc/tune.h"
#include "tune/tune_internal.h"

static const char *k_space =
    "{\"params\": ["
    "{\"name\": \"local.lr\", \"type\": \"log-float\", \"min\": 0.001, \"max\": 0.5},"
    "{\"name\": \"local.batch\", \"type\": \"choice\", \"values\": [16, 32, 64]},"
    "{\"name\": \"local.epochs\", \"type\": \"int\", \"min\": 1, \"max\": 4},"
    "{\"name\": \"strategy.name\", \"type\": \"choice\", \"values\": [\"fedavg\", \"fedprox\"]},"
    "{\"name\": \"strategy.mu\", \"type\": \"log-float\", \"min\": 0.001, \"max\": 1,"
    " \"when\": {\"param\": \"strategy.name\", \"in\": [\"fedprox\"]}},"
    "{\"name\": \"local.momentum\", \"type\": \"float\", \"min\": 0, \"max\": 0.9},"
    "{\"name\": \"arch.depth\", \"type\": \"int\", \"min\": 1, \"max\": 3},"
    "{\"name\": \"arch.width1\", \"type\": \"choice\", \"values\": [64, 128]},"
    "{\"name\": \"arch.width2\", \"type\": \"choice\", \"values\": [64, 128],"
    " \"when\": {\"param\": \"arch.depth\", \"in\": [2, 3]}}"
    "]}";

static fedc_tune_space *parse(const char *json, fedc_error *err) {
    return fedc_tune_space_from_json(json, strlen(json), "space.json", err);
}

static void test_parse_and_canonical_form(void **state) {
    (void)state;
    fedc_error err;
    fedc_tune_space *s = parse(k_space, &err);
    assert_non_null(s);
    assert_int_equal(fedc_tune_space_nparams(s), 9);
    const fedc_tune_param *mu = fedc_tune_space_param(s, 4);
    assert_string_equal(mu->name, "strategy.mu");
    assert_int_equal(mu->type, FEDC_PARAM_LOG_FLOAT);
    assert_int_equal(mu->parent, 3);
    assert_int_equal(mu->nwhen, 1);
    assert_true(mu->when[0] == 1); /* index of "fedprox" */
    assert_null(fedc_tune_space_param(s, 9));

    char *a = fedc_tune_space_to_json(s);
    fedc_tune_space *s2 = parse(a, &err);
    assert_non_null(s2);
    char *b = fedc_tune_space_to_json(s2);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "\"min\": 0.001")); /* bounds print as written */
    free(a);
    free(b);
    fedc_tune_space_free(s);
    fedc_tune_space_free(s2);
}

typedef struct bad_case {
    const char *json;
    const char *want1, *want2;
} bad_case;

static void test_bad_spaces_are_explained(void **state) {
    (void)state;
    static const bad_case cases[] = {
        {"{\"params\": [", "line", "space.json"},
        {"[]", "expected an object", NULL},
        {"{\"parms\": []}", "parms: unknown field", "allowed: params"},
        {"{\"params\": []}", "1 to 64", NULL},
        {"{\"params\": [{\"name\": \"local.lr\", \"type\": \"logfloat\", \"min\": 1, \"max\": 2}]}", "logfloat",
         "allowed: float, log-float, int, choice"},
        {"{\"params\": [{\"name\": \"local.lr\", \"type\": \"log-float\", \"min\": 0, \"max\": 2}]}", "local.lr",
         "> 0"},
        {"{\"params\": [{\"name\": \"local.lr\", \"type\": \"float\", \"min\": 2, \"max\": 1}]}", "min 2",
         "below max 1"},
        {"{\"params\": [{\"name\": \"local.lr\", \"type\": \"float\", \"max\": 1}]}", "\"min\" is missing", NULL},
        {"{\"params\": [{\"name\": \"local.epochs\", \"type\": \"int\", \"min\": 1.5, \"max\": 3}]}", "whole bounds",
         NULL},
        {"{\"params\": [{\"name\": \"local.batch\", \"type\": \"choice\", \"values\": [16, 16]}]}", "values[1]",
         "appears twice"},
        {"{\"params\": [{\"name\": \"local.batch\", \"type\": \"choice\", \"values\": [[1]]}]}",
         "neither a number nor a string", NULL},
        {"{\"params\": [{\"name\": \"local.batch\", \"type\": \"choice\", \"values\": []}]}", "1 to 32", NULL},
        {"{\"params\": [{\"name\": \"Local.LR\", \"type\": \"float\", \"min\": 0, \"max\": 1}]}", "not a field path",
         NULL},
        {"{\"params\": [{\"name\": \"arch.depht\", \"type\": \"int\", \"min\": 1, \"max\": 3}]}",
         "not an architecture knob", "arch.depth"},
        {"{\"params\": [{\"name\": \"a.b\", \"type\": \"int\", \"min\": 1, \"max\": 3, \"step\": 1}]}",
         "step: unknown field", NULL},
        {"{\"params\": [{\"name\": \"a.b\", \"type\": \"int\", \"min\": 1, \"max\": 3},"
         "{\"name\": \"a.b\", \"type\": \"int\", \"min\": 1, \"max\": 3}]}",
         "listed twice", NULL},
        {"{\"params\": [{\"name\": \"strategy.mu\", \"type\": \"float\", \"min\": 0, \"max\": 1,"
         " \"when\": {\"param\": \"strategy.name\", \"in\": [\"fedprox\"]}}]}",
         "not an earlier parameter", NULL},
        {"{\"params\": [{\"name\": \"strategy.name\", \"type\": \"choice\", \"values\": [\"fedavg\"]},"
         "{\"name\": \"strategy.mu\", \"type\": \"float\", \"min\": 0, \"max\": 1,"
         " \"when\": {\"param\": \"strategy.name\", \"in\": [\"fedprox\"]}}]}",
         "when.in[0]", "not a value of strategy.name"},
        {"{\"params\": [{\"name\": \"local.lr\", \"type\": \"float\", \"min\": 0, \"max\": 1},"
         "{\"name\": \"strategy.mu\", \"type\": \"float\", \"min\": 0, \"max\": 1,"
         " \"when\": {\"param\": \"local.lr\", \"in\": [0.5]}}]}",
         "allowed: a choice or int parameter", NULL},
        {"{\"params\": [{\"name\": \"local.lr\", \"type\": \"float\", \"min\": 0, \"max\": 1e300}]}",
         "|value| <= 1e12", NULL},
        {"{\"params\": [{\"name\": \"a.b\", \"type\": \"int\", \"min\": 1, \"max\": 3},"
         "{\"name\": \"c.d\", \"type\": \"int\", \"min\": 1, \"max\": 3, \"when\": [\"a.b\"]}]}",
         "when: expected", "not an object"},
        {"{\"params\": [{\"name\": \"a.b\", \"type\": \"int\", \"min\": 1, \"max\": 3},"
         "{\"name\": \"c.d\", \"type\": \"int\", \"min\": 1, \"max\": 3, \"when\": {\"param\": \"a.b\", "
         "\"in\": [2], \"not\": 1}}]}",
         "when: expected", NULL},
        {"{\"params\": [{\"name\": \"a.b\", \"type\": \"int\", \"min\": 1, \"max\": 3},"
         "{\"name\": \"c.d\", \"type\": \"int\", \"min\": 1, \"max\": 3, \"when\": {\"param\": \"a.b\", "
         "\"in\": [7]}}]}",
         "when.in[0]", "integers 1..3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fedc_error err = {{0}};
        fedc_tune_space *s = parse(cases[i].json, &err);
        if (s || !strstr(err.msg, cases[i].want1) || (cases[i].want2 && !strstr(err.msg, cases[i].want2)))
            fail_msg("case %zu: got %s: \"%s\"", i, s ? "a space" : "error", err.msg);
        assert_non_null(strstr(err.msg, "space.json"));
    }
    /* More than 64 parameters, and an oversized document. */
    char *big = malloc(8192);
    strcpy(big, "{\"params\": [");
    for (int i = 0; i < 65; i++)
        sprintf(big + strlen(big), "%s{\"name\": \"p%d\", \"type\": \"int\", \"min\": 0, \"max\": 1}", i ? "," : "", i);
    strcat(big, "]}");
    fedc_error err;
    assert_null(parse(big, &err));
    assert_non_null(strstr(err.msg, "1 to 64"));
    free(big);
    assert_null(fedc_tune_space_from_json("{}", (size_t)FEDC_TUNE_SPACE_JSON_MAX + 1, "x", &err));
    assert_non_null(strstr(err.msg, "at most"));
    assert_null(fedc_tune_space_load("/nonexistent/space.json", &err));
    assert_non_null(strstr(err.msg, "/nonexistent/space.json"));
}

static void test_space_check_against_task(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    fedc_error err;
    fedc_tune_space *s = parse(k_space, &err);
    assert_int_equal(fedc_tune_space_check(s, &t, 10, &err), 0);
    fedc_tune_space_free(s);

    s = parse("{\"params\": [{\"name\": \"local.lrr\", \"type\": \"float\", \"min\": 0.1, \"max\": 1}]}", &err);
    assert_non_null(s);
    assert_int_equal(fedc_tune_space_check(s, &t, 10, &err), -1);
    assert_non_null(strstr(err.msg, "local.lrr"));
    fedc_tune_space_free(s);

    s = parse("{\"params\": [{\"name\": \"local.lr\", \"type\": \"float\", \"min\": 0.1, \"max\": 100}]}", &err);
    assert_int_equal(fedc_tune_space_check(s, &t, 10, &err), -1);
    assert_non_null(strstr(err.msg, "local.lr = 100"));
    fedc_tune_space_free(s);

    /* A float for an integer field is caught before any trial runs. */
    s = parse("{\"params\": [{\"name\": \"local.batch\", \"type\": \"float\", \"min\": 8, \"max\": 64}]}", &err);
    assert_int_equal(fedc_tune_space_check(s, &t, 10, &err), -1);
    assert_non_null(strstr(err.msg, "local.batch"));
    fedc_tune_space_free(s);

    /* Without a class count, a preset model cannot be rebuilt. */
    s = parse("{\"params\": [{\"name\": \"arch.depth\", \"type\": \"int\", \"min\": 1, \"max\": 2}]}", &err);
    assert_int_equal(fedc_tune_space_check(s, &t, 0, &err), -1);
    assert_non_null(strstr(err.msg, "number of classes"));
    fedc_tune_space_free(s);
}

static void test_default_space(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    fedc_error err;
    fedc_tune_space *s = fedc_tune_space_default(&t, &err);
    assert_non_null(s);
    assert_int_equal(fedc_tune_space_check(s, &t, 10, &err), 0);
    /* The default task leaves lr to its optimizer (sgd, 0.05): the optimizer
     * is searched, and the lr range around 0.05 applies to sgd. */
    const fedc_tune_param *opt = fedc_tune_space_param(s, 0), *lr = fedc_tune_space_param(s, 1);
    assert_string_equal(opt->name, "local.optimizer");
    assert_int_equal(opt->nchoices, 10);
    assert_string_equal(opt->choices[0], "\"sgd\"");
    assert_string_equal(lr->name, "local.lr");
    assert_int_equal(lr->parent, 0);
    assert_true(lr->nwhen == 1 && lr->when[0] == 0);
    assert_true(fabs(lr->min - 0.005) < 1e-12 && fabs(lr->max - 0.5) < 1e-12);
    /* A task that names its lr keeps optimizer and lr fixed as given. */
    fedc_task named = t;
    named.local.lr = 0.1;
    fedc_tune_space *sn = fedc_tune_space_default(&named, &err);
    assert_non_null(sn);
    assert_string_equal(fedc_tune_space_param(sn, 0)->name, "local.lr");
    assert_int_equal(fedc_tune_space_param(sn, 0)->parent, -1);
    for (int i = 0; i < fedc_tune_space_nparams(sn); i++)
        assert_string_not_equal(fedc_tune_space_param(sn, i)->name, "local.optimizer");
    fedc_tune_space_free(sn);
    int has_depth = 0, has_mu = 0, has_codec = 0, has_conv = 0, has_down = 0, has_sched = 0, has_cap = 0, has_plateau = 0;
    for (int i = 0; i < fedc_tune_space_nparams(s); i++) {
        const fedc_tune_param *p = fedc_tune_space_param(s, i);
        const char *n = p->name;
        has_depth |= !strcmp(n, "arch.depth");
        has_mu |= !strcmp(n, "strategy.mu") && p->parent >= 0;
        has_codec |= !strcmp(n, "compression.up") && p->nchoices == 5;
        has_down |= !strcmp(n, "compression.down") && p->nchoices == 3;
        has_sched |= !strcmp(n, "scheduling.policy") && p->nchoices == 4 && !strcmp(p->choices[0], "\"random\"");
        has_cap |= !strcmp(n, "local.max_steps") && p->nchoices == 5;
        has_plateau |= !strcmp(n, "stop.plateau_rounds") && p->nchoices >= 2 && !strcmp(p->choices[0], "0");
        has_conv |= !strncmp(n, "arch.conv", 9);
    }
    /* Codecs both ways, scheduling and both early stops (local steps, plateau) are searched by default. */
    assert_true(has_depth && has_mu && has_codec && has_down && has_sched && has_cap && has_plateau && !has_conv);
    /* The task itself is a point of its default space (widths 200 included). */
    fedc_tune_config c;
    if (fedc_tune_config_from_task(s, &t, &c, &err) != 0) fail_msg("%s", err.msg);
    fedc_task back;
    assert_int_equal(fedc_tune_config_apply(s, &c, &t, 10, &back, &err), 0);
    assert_string_equal(back.model, "dense:200,dense:200,dense:10");
    fedc_tune_space_free(s);

    assert_int_equal(fedc_task_set(&t, "model=cnn", &err), 0);
    s = fedc_tune_space_default(&t, &err);
    assert_non_null(s);
    assert_int_equal(fedc_tune_space_check(s, &t, 10, &err), 0);
    has_conv = has_depth = 0;
    for (int i = 0; i < fedc_tune_space_nparams(s); i++) {
        has_conv |= !strncmp(fedc_tune_space_param(s, i)->name, "arch.conv", 9);
        has_depth |= !strcmp(fedc_tune_space_param(s, i)->name, "arch.depth");
    }
    assert_true(has_conv && !has_depth);
    if (fedc_tune_config_from_task(s, &t, &c, &err) != 0) fail_msg("%s", err.msg);
    fedc_tune_space_free(s);
    /* Settings outside the usual ranges stretch them. */
    assert_int_equal(fedc_task_set(&t, "local={\"epochs\": 8, \"batch\": 50, \"momentum\": 0.99}", &err), 0);
    assert_int_equal(fedc_task_set(&t, "model=\"conv:8:7,pool:2,conv:64:7,pool:2,dense:100,dense:10\"", &err), 0);
    s = fedc_tune_space_default(&t, &err);
    assert_non_null(s);
    if (fedc_tune_config_from_task(s, &t, &c, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(fedc_tune_space_check(s, &t, 10, &err), 0);
    fedc_tune_space_free(s);
}

/* An asynchronous task's space tunes its buffer, window and staleness, and
 * every sampled point is a valid task (the buffer never exceeds the
 * clients training at once that the same point picks). */
static void test_default_space_async(void **state) {
    (void)state;
    /* the window first: fedfix is not valid without one */
    static const char *const sets[][2] = {{"strategy.buffer_size=10", "strategy.name=fedbuff"},
                                          {"strategy.window_s=2", "strategy.name=fedfix"}};
    for (int k = 0; k < 2; k++) {
        fedc_task t;
        fedc_task_defaults(&t);
        fedc_error err;
        assert_int_equal(fedc_task_set(&t, sets[k][0], &err), 0);
        assert_int_equal(fedc_task_set(&t, sets[k][1], &err), 0);
        fedc_tune_space *s = fedc_tune_space_default(&t, &err);
        if (!s) fail_msg("%s", err.msg);
        if (fedc_tune_space_check(s, &t, 10, &err) != 0) fail_msg("%s", err.msg);
        int found = 0;
        for (int i = 0; i < fedc_tune_space_nparams(s); i++)
            found |= !strcmp(fedc_tune_space_param(s, i)->name, k == 0 ? "strategy.buffer_size" : "strategy.window_s");
        assert_true(found);
        fedc_rng rng = fedc_rng_derive(9, 9, (uint64_t)k);
        for (int n = 0; n < 200; n++) {
            fedc_tune_config c;
            tune_sample_random(s, &rng, &c);
            fedc_task out;
            if (fedc_tune_config_apply(s, &c, &t, 10, &out, &err) != 0) fail_msg("%s", err.msg);
            if (fedc_task_validate(&out, &err) != 0) fail_msg("%s", err.msg);
        }
        fedc_tune_space_free(s);
    }
}

/* A decentralised task's space keeps full participation and exact codecs
 * (the strategy needs both), tunes the gossip steps, SAM radius and mixing,
 * and every sampled point is a valid task. */
static void test_default_space_decentral(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    fedc_error err;
    const char *sets[] = {"clients=16", "clients_per_round=16", "strategy.name=dfedsam-mgs"};
    assert_int_equal(fedc_task_set_many(&t, sets, 3, &err), 0);
    fedc_tune_space *s = fedc_tune_space_default(&t, &err);
    if (!s) fail_msg("%s", err.msg);
    if (fedc_tune_space_check(s, &t, 10, &err) != 0) fail_msg("%s", err.msg);
    int steps = 0, rho = 0, mixing = 0;
    for (int i = 0; i < fedc_tune_space_nparams(s); i++) {
        const char *name = fedc_tune_space_param(s, i)->name;
        steps |= !strcmp(name, "strategy.gossip_steps");
        rho |= !strcmp(name, "strategy.rho");
        mixing |= !strcmp(name, "topology.mixing");
        assert_true(strcmp(name, "clients_per_round") != 0);
        assert_true(strcmp(name, "compression.up") != 0);
    }
    assert_true(steps && rho && mixing);
    fedc_rng rng = fedc_rng_derive(9, 9, 3);
    for (int n = 0; n < 100; n++) {
        fedc_tune_config c;
        tune_sample_random(s, &rng, &c);
        fedc_task out;
        if (fedc_tune_config_apply(s, &c, &t, 10, &out, &err) != 0) fail_msg("%s", err.msg);
        if (fedc_task_validate(&out, &err) != 0) fail_msg("%s", err.msg);
    }
    fedc_tune_space_free(s);
}

static void test_sampling_respects_bounds_and_conditions(void **state) {
    (void)state;
    fedc_error err;
    fedc_tune_space *s = parse(k_space, &err);
    fedc_rng rng = fedc_rng_derive(5, 6, 7);
    int fedprox = 0, fedavg = 0, deep = 0;
    double lr_lo = 1, lr_hi = 0;
    for (int k = 0; k < 2000; k++) {
        fedc_tune_config c;
        tune_sample_random(s, &rng, &c);
        for (int i = 0; i < s->n; i++) {
            if (isnan(c.v[i])) continue;
            const fedc_tune_param *p = &s->p[i];
            if (p->type == FEDC_PARAM_CHOICE) assert_true(c.v[i] >= 0 && c.v[i] < p->nchoices);
            else assert_true(c.v[i] >= p->min && c.v[i] <= p->max);
            if (p->type != FEDC_PARAM_FLOAT && p->type != FEDC_PARAM_LOG_FLOAT) assert_true(c.v[i] == floor(c.v[i]));
        }
        assert_false(isnan(c.v[0]));
        lr_lo = fmin(lr_lo, c.v[0]);
        lr_hi = fmax(lr_hi, c.v[0]);
        /* mu is active exactly when the strategy is fedprox (index 1). */
        assert_int_equal(!isnan(c.v[4]), c.v[3] == 1);
        assert_int_equal(!isnan(c.v[8]), c.v[6] >= 2);
        fedprox += c.v[3] == 1;
        fedavg += c.v[3] == 0;
        deep += c.v[6] == 3;
    }
    assert_true(fedprox > 800 && fedavg > 800 && deep > 500);
    /* Log-uniform: about a quarter of the draws below 0.0047 (a quarter of
     * the log-range from 0.001 to 0.5). */
    assert_true(lr_lo < 0.0015 && lr_hi > 0.4);
    fedc_tune_space_free(s);
}

static void test_config_json_round_trip_and_errors(void **state) {
    (void)state;
    fedc_error err;
    fedc_tune_space *s = parse(k_space, &err);
    fedc_rng rng = fedc_rng_derive(1, 2, 3);
    for (int k = 0; k < 50; k++) {
        fedc_tune_config c, c2;
        tune_sample_random(s, &rng, &c);
        char *j = fedc_tune_config_to_json(s, &c);
        assert_int_equal(fedc_tune_config_from_json(s, j, strlen(j), &c2, &err), 0);
        char *j2 = fedc_tune_config_to_json(s, &c2);
        assert_string_equal(j, j2);
        for (int i = 0; i < s->n; i++) assert_true((isnan(c.v[i]) && isnan(c2.v[i])) || c.v[i] == c2.v[i]);
        free(j);
        free(j2);
    }
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"{\"local.lr\": 0.01}", "local.batch is missing"},
        {"{\"local.lr\": 5, \"local.batch\": 16, \"local.epochs\": 1, \"strategy.name\": \"fedavg\", "
         "\"local.momentum\": 0, \"arch.depth\": 1, \"arch.width1\": 64}",
         "local.lr: 5 is out of range"},
        {"{\"local.lr\": 0.01, \"local.batch\": 17, \"local.epochs\": 1, \"strategy.name\": \"fedavg\", "
         "\"local.momentum\": 0, \"arch.depth\": 1, \"arch.width1\": 64}",
         "allowed: 16, 32, 64"},
        {"{\"local.lr\": 0.01, \"local.batch\": 16, \"local.epochs\": 1.5, \"strategy.name\": \"fedavg\", "
         "\"local.momentum\": 0, \"arch.depth\": 1, \"arch.width1\": 64}",
         "not a whole number"},
        {"{\"local.lr\": 0.01, \"local.batch\": 16, \"local.epochs\": 1, \"strategy.name\": \"fedavg\", "
         "\"strategy.mu\": 0.1, \"local.momentum\": 0, \"arch.depth\": 1, \"arch.width1\": 64}",
         "strategy.mu is inactive"},
        {"{\"local.lr\": 0.01, \"local.batch\": 16, \"local.epochs\": 1, \"strategy.name\": \"fedavg\", "
         "\"local.momentum\": 0, \"arch.depth\": 1, \"arch.width1\": 64, \"rounds\": 3}",
         "rounds is not a parameter"},
        {"[1]", "expected an object"},
        {"{", "line 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fedc_tune_config c;
        err.msg[0] = 0;
        if (fedc_tune_config_from_json(s, bad[i].json, strlen(bad[i].json), &c, &err) == 0 ||
            !strstr(err.msg, bad[i].want))
            fail_msg("case %zu: \"%s\"", i, err.msg);
    }
    fedc_tune_space_free(s);
}

static void test_apply_fields_and_model(void **state) {
    (void)state;
    fedc_error err;
    fedc_tune_space *s = parse(k_space, &err);
    const char *cj = "{\"local.lr\": 0.02, \"local.batch\": 64, \"local.epochs\": 3, \"strategy.name\": "
                     "\"fedprox\", \"strategy.mu\": 0.1, \"local.momentum\": 0.5, \"arch.depth\": 3, "
                     "\"arch.width1\": 128, \"arch.width2\": 64}";
    fedc_tune_config c;
    assert_int_equal(fedc_tune_config_from_json(s, cj, strlen(cj), &c, &err), 0);
    fedc_task base, t;
    fedc_task_defaults(&base);
    assert_int_equal(fedc_tune_config_apply(s, &c, &base, 10, &t, &err), 0);
    assert_true(t.local.lr == 0.02 && t.local.batch == 64 && t.local.epochs == 3 && t.local.momentum == 0.5);
    assert_string_equal(t.strategy.name, "fedprox");
    assert_true(t.strategy.mu == 0.1);
    /* depth 3: width1, width2 given, width3 keeps the last base width. */
    assert_string_equal(t.model, "dense:128,dense:64,dense:200,dense:10");
    assert_int_equal(t.rounds, base.rounds);

    char desc[256];
    fedc_tune_config_describe(s, &c, desc, sizeof desc);
    assert_non_null(strstr(desc, "lr=0.02 batch=64 epochs=3 strategy=fedprox mu=0.1 momentum=0.5 depth=3"));
    char small[24];
    fedc_tune_config_describe(s, &c, small, sizeof small);
    assert_string_equal(small, "lr=0.02 batch=64 epo...");

    /* CNN knobs over the preset; an explicit model gives its class count. */
    fedc_tune_space *cs = parse("{\"params\": [{\"name\": \"arch.conv1\", \"type\": \"choice\", \"values\": [16]},"
                                "{\"name\": \"arch.kernel\", \"type\": \"int\", \"min\": 3, \"max\": 3},"
                                "{\"name\": \"arch.convs\", \"type\": \"int\", \"min\": 3, \"max\": 3}]}",
                                &err);
    assert_non_null(cs);
    fedc_tune_config cc = {3, {0, 3, 3}};
    for (int i = 3; i < FEDC_TUNE_MAX_PARAMS; i++) cc.v[i] = NAN;
    assert_int_equal(fedc_task_set(&base, "model=cnn", &err), 0);
    if (fedc_tune_config_apply(cs, &cc, &base, 10, &t, &err) != 0) fail_msg("%s", err.msg);
    assert_string_equal(t.model, "conv:16:3,pool:2,conv:64:3,pool:2,conv:128:3,pool:2,dense:512,dense:10");
    assert_int_equal(fedc_task_set(&base, "model=\"dense:32,dense:10\"", &err), 0);
    fedc_tune_space *ms = parse("{\"params\": [{\"name\": \"arch.family\", \"type\": \"choice\", \"values\": "
                                "[\"cnn\"]}]}",
                                &err);
    fedc_tune_config mc = {1, {0}};
    for (int i = 1; i < FEDC_TUNE_MAX_PARAMS; i++) mc.v[i] = NAN;
    assert_int_equal(fedc_tune_config_apply(ms, &mc, &base, 0, &t, &err), 0);
    assert_string_equal(t.model, "conv:32:5,pool:2,conv:64:5,pool:2,dense:512,dense:10");

    /* An applied configuration that breaks a cross-field rule fails as a whole. */
    fedc_tune_space *xs = parse("{\"params\": [{\"name\": \"clients_per_round\", \"type\": \"int\", \"min\": 5, "
                                "\"max\": 500}]}",
                                &err);
    fedc_tune_config xc = {1, {400}};
    for (int i = 1; i < FEDC_TUNE_MAX_PARAMS; i++) xc.v[i] = NAN;
    assert_int_equal(fedc_tune_config_apply(xs, &xc, &base, 10, &t, &err), -1);
    assert_non_null(strstr(err.msg, "clients_per_round"));

    fedc_tune_space_free(s);
    fedc_tune_space_free(cs);
    fedc_tune_space_free(ms);
    fedc_tune_space_free(xs);
}

static void test_asha_rungs(void **state) {
    (void)state;
    int r[FEDC_TUNE_MAX_RUNGS];
    assert_int_equal(tune_asha_rungs(30, 1, 3, r), 4);
    assert_true(r[0] == 1 && r[1] == 3 && r[2] == 10 && r[3] == 30);
    assert_int_equal(tune_asha_rungs(27, 1, 3, r), 4);
    assert_true(r[0] == 1 && r[1] == 3 && r[2] == 9 && r[3] == 27);
    assert_int_equal(tune_asha_rungs(9, 3, 3, r), 2);
    assert_true(r[0] == 3 && r[1] == 9);
    assert_int_equal(tune_asha_rungs(1, 1, 3, r), 1);
    assert_int_equal(r[0], 1);
    assert_int_equal(tune_asha_rungs(1000000, 1, 2, r), FEDC_TUNE_MAX_RUNGS);
    assert_int_equal(r[FEDC_TUNE_MAX_RUNGS - 1], 1000000);
}

/* The example spaces parse and apply to the example tasks they are for. */
static void test_example_spaces(void **state) {
    (void)state;
    const char *root = getenv("FEDC_SOURCE_DIR");
    if (!root) root = ".";
    static const char *const pairs[][2] = {{"spaces/mlp.json", "fmnist-mlp.json"},
                                           {"spaces/cnn.json", "fmnist-cnn.json"},
                                           {"spaces/comm.json", "fmnist-mlp.json"}};
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        char sp[1024], tp[1024];
        snprintf(sp, sizeof sp, "%s/examples/%s", root, pairs[i][0]);
        snprintf(tp, sizeof tp, "%s/examples/%s", root, pairs[i][1]);
        fedc_error err;
        fedc_tune_space *s = fedc_tune_space_load(sp, &err);
        if (!s) fail_msg("%s", err.msg);
        fedc_task t;
        if (fedc_task_load(tp, &t, &err) != 0) fail_msg("%s", err.msg);
        if (fedc_tune_space_check(s, &t, 10, &err) != 0) fail_msg("%s with %s: %s", pairs[i][0], pairs[i][1], err.msg);
        fedc_rng rng = fedc_rng_derive(1, 2, i);
        for (int k = 0; k < 20; k++) {
            fedc_tune_config c;
            fedc_task out;
            tune_sample_random(s, &rng, &c);
            if (fedc_tune_config_apply(s, &c, &t, 10, &out, &err) != 0) fail_msg("%s: %s", pairs[i][0], err.msg);
        }
        fedc_tune_space_free(s);
    }
}

static void test_method_names(void **state) {
    (void)state;
    fedc_tune_method m;
    assert_int_equal(fedc_tune_method_parse("asha-tpe", &m), 0);
    assert_int_equal(m, FEDC_TUNE_ASHA_TPE);
    assert_string_equal(fedc_tune_method_name(FEDC_TUNE_TPE), "tpe");
    assert_int_equal(fedc_tune_method_parse("bayes", &m), -1);
    assert_string_equal(fedc_trial_status_name(FEDC_TRIAL_STOPPED), "stopped");
}

/* A name listed twice as conditional ranges of one field: a server
 * learning rate near 1 for FedAvg-like strategies and near the local step
 * count for AFA-CS. At most one listing is active; it is the field's value
 * everywhere a configuration goes (JSON, the task, back from a task). */
static const char *k_ranges =
    "{\"params\": ["
    "{\"name\": \"strategy.name\", \"type\": \"choice\", \"values\": [\"fedavg\", \"fedavg-m\", \"afa-cs\"]},"
    "{\"name\": \"strategy.server_lr\", \"type\": \"log-float\", \"min\": 0.5, \"max\": 2,"
    " \"when\": {\"param\": \"strategy.name\", \"in\": [\"fedavg\", \"fedavg-m\"]}},"
    "{\"name\": \"strategy.client_beta\", \"type\": \"float\", \"min\": 0.1, \"max\": 0.9,"
    " \"when\": {\"param\": \"strategy.name\", \"in\": [\"fedavg-m\"]}},"
    "{\"name\": \"strategy.server_lr\", \"type\": \"log-float\", \"min\": 5, \"max\": 50,"
    " \"when\": {\"param\": \"strategy.name\", \"in\": [\"afa-cs\"]}}"
    "]}";

static void test_conditional_ranges_share_a_name(void **state) {
    (void)state;
    fedc_error err = {{0}};
    fedc_tune_space *s = parse(k_ranges, &err);
    if (!s) fail_msg("%s", err.msg);
    assert_int_equal(fedc_tune_space_nparams(s), 4);
    fedc_rng rng = fedc_rng_derive(9, 8, 7);
    int seen_low = 0, seen_high = 0;
    for (int k = 0; k < 600; k++) {
        fedc_tune_config c, c2;
        tune_sample_random(s, &rng, &c);
        int afa = c.v[0] == 2;
        /* exactly one listing of strategy.server_lr, the strategy's own range */
        assert_int_equal(isnan(c.v[1]), afa);
        assert_int_equal(isnan(c.v[3]), !afa);
        double lr = afa ? c.v[3] : c.v[1];
        if (afa) assert_true(lr >= 5 && lr <= 50);
        else assert_true(lr >= 0.5 && lr <= 2);
        seen_low += !afa;
        seen_high += afa;
        char *j = fedc_tune_config_to_json(s, &c);
        if (fedc_tune_config_from_json(s, j, strlen(j), &c2, &err) != 0) fail_msg("%s: %s", j, err.msg);
        for (int i = 0; i < s->n; i++) assert_true((isnan(c.v[i]) && isnan(c2.v[i])) || c.v[i] == c2.v[i]);
        free(j);
        fedc_task base, t;
        fedc_task_defaults(&base);
        if (fedc_tune_config_apply(s, &c, &base, 10, &t, &err) != 0) fail_msg("%s", err.msg);
        assert_true(fabs(t.strategy.server_lr - lr) <= 1e-9 * lr);
        fedc_tune_config back;
        if (fedc_tune_config_from_task(s, &t, &back, &err) != 0) fail_msg("%s", err.msg);
        assert_int_equal(isnan(back.v[3]), !afa);
        assert_true(fabs((afa ? back.v[3] : back.v[1]) - t.strategy.server_lr) <= 1e-12);
    }
    assert_true(seen_low > 300 && seen_high > 120);
    /* The JSON of an AFA-CS point holds one server_lr, read by the active listing. */
    const char *cj = "{\"strategy.name\": \"afa-cs\", \"strategy.server_lr\": 20}";
    fedc_tune_config c;
    assert_int_equal(fedc_tune_config_from_json(s, cj, strlen(cj), &c, &err), 0);
    assert_true(isnan(c.v[1]) && c.v[3] == 20);
    const char *out_of_range = "{\"strategy.name\": \"fedavg\", \"strategy.server_lr\": 20}";
    assert_int_equal(fedc_tune_config_from_json(s, out_of_range, strlen(out_of_range), &c, &err), -1);
    assert_non_null(strstr(err.msg, "strategy.server_lr: 20 is out of range"));
    char desc[128];
    assert_int_equal(fedc_tune_config_from_json(s, cj, strlen(cj), &c, &err), 0);
    fedc_tune_config_describe(s, &c, desc, sizeof desc);
    assert_string_equal(desc, "strategy=afa-cs server_lr=20");
    fedc_tune_space_free(s);

    /* Repeats that could both apply, or that a condition would not know apart, are refused. */
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"{\"params\": [{\"name\": \"strategy.name\", \"type\": \"choice\", \"values\": [\"fedavg\", \"afa-cs\"]},"
         "{\"name\": \"strategy.server_lr\", \"type\": \"float\", \"min\": 0.5, \"max\": 2},"
         "{\"name\": \"strategy.server_lr\", \"type\": \"float\", \"min\": 5, \"max\": 50,"
         " \"when\": {\"param\": \"strategy.name\", \"in\": [\"afa-cs\"]}}]}",
         "listed twice; a name may repeat only as conditional ranges"},
        {"{\"params\": [{\"name\": \"strategy.name\", \"type\": \"choice\", \"values\": [\"fedavg\", \"afa-cs\"]},"
         "{\"name\": \"strategy.server_lr\", \"type\": \"float\", \"min\": 0.5, \"max\": 2,"
         " \"when\": {\"param\": \"strategy.name\", \"in\": [\"fedavg\", \"afa-cs\"]}},"
         "{\"name\": \"strategy.server_lr\", \"type\": \"float\", \"min\": 5, \"max\": 50,"
         " \"when\": {\"param\": \"strategy.name\", \"in\": [\"afa-cs\"]}}]}",
         "when.in overlaps params[1]'s"},
        {"{\"params\": [{\"name\": \"strategy.name\", \"type\": \"choice\", \"values\": [\"fedavg\", \"afa-cs\"]},"
         "{\"name\": \"local.epochs\", \"type\": \"int\", \"min\": 1, \"max\": 2},"
         "{\"name\": \"strategy.server_lr\", \"type\": \"float\", \"min\": 0.5, \"max\": 2,"
         " \"when\": {\"param\": \"strategy.name\", \"in\": [\"fedavg\"]}},"
         "{\"name\": \"strategy.server_lr\", \"type\": \"float\", \"min\": 5, \"max\": 50,"
         " \"when\": {\"param\": \"local.epochs\", \"in\": [2]}}]}",
         "listed twice; a name may repeat only as conditional ranges"},
        {"{\"params\": [{\"name\": \"local.epochs\", \"type\": \"int\", \"min\": 1, \"max\": 2},"
         "{\"name\": \"local.batch\", \"type\": \"choice\", \"values\": [16, 32],"
         " \"when\": {\"param\": \"local.epochs\", \"in\": [1]}},"
         "{\"name\": \"local.batch\", \"type\": \"choice\", \"values\": [64, 128],"
         " \"when\": {\"param\": \"local.epochs\", \"in\": [2]}},"
         "{\"name\": \"local.lr\", \"type\": \"float\", \"min\": 0.01, \"max\": 0.1,"
         " \"when\": {\"param\": \"local.batch\", \"in\": [16]}}]}",
         "when.param: local.batch is listed more than once"},
        {"{\"params\": [{\"name\": \"local.epochs\", \"type\": \"int\", \"min\": 1, \"max\": 2},"
         "{\"name\": \"local.batch\", \"type\": \"choice\", \"values\": [16, 32],"
         " \"when\": {\"param\": \"local.epochs\", \"in\": [1]}},"
         "{\"name\": \"local.lr\", \"type\": \"float\", \"min\": 0.01, \"max\": 0.1,"
         " \"when\": {\"param\": \"local.batch\", \"in\": [16]}},"
         "{\"name\": \"local.batch\", \"type\": \"choice\", \"values\": [64, 128],"
         " \"when\": {\"param\": \"local.epochs\", \"in\": [2]}}]}",
         "is a condition of params[2]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err.msg[0] = 0;
        fedc_tune_space *b = parse(bad[i].json, &err);
        if (b || !strstr(err.msg, bad[i].want)) fail_msg("case %zu: got %s: \"%s\"", i, b ? "a space" : "error", err.msg);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_canonical_form),
        cmocka_unit_test(test_bad_spaces_are_explained),
        cmocka_unit_test(test_space_check_against_task),
        cmocka_unit_test(test_default_space),
        cmocka_unit_test(test_default_space_async),
        cmocka_unit_test(test_default_space_decentral),
        cmocka_unit_test(test_sampling_respects_bounds_and_conditions),
        cmocka_unit_test(test_config_json_round_trip_and_errors),
        cmocka_unit_test(test_conditional_ranges_share_a_name),
        cmocka_unit_test(test_apply_fields_and_model),
        cmocka_unit_test(test_asha_rungs),
        cmocka_unit_test(test_example_spaces),
        cmocka_unit_test(test_method_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
