/* What a mid-level server (`fedc server --upstream`) relays: the plain
 * averaging strategies, each refusal naming the task field that causes it,
 * and the task it gives its own nodes for an upstream task. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/server_internal.h"

static void top_task(fedc_task *t) {
    fedc_task_defaults(t);
    snprintf(t->dataset.name, sizeof t->dataset.name, "fashion-mnist");
    snprintf(t->model, sizeof t->model, "mlp");
    t->clients = 2;
    t->clients_per_round = 2;
    t->rounds = 3;
    t->deploy.min_nodes = 2;
    t->deploy.round_timeout_s = 100;
    t->seed = 42;
}

static void test_plain_averaging_relayed(void **state) {
    (void)state;
    const char *ok[] = {"fedavg", "fedprox", "fedavgm", "fedadam", "fedyogi", "fedadagrad", "fedopt"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        fedc_task t;
        top_task(&t);
        snprintf(t.strategy.name, sizeof t.strategy.name, "%s", ok[i]);
        fedc_error err;
        if (upstream_check_task(&t, &err) != 0) fail_msg("%s refused: %s", ok[i], err.msg);
    }
}

/* Sets one field of the upstream task and expects a refusal naming field. */
static void refused(const char *assignment, const char *field) {
    fedc_task t;
    top_task(&t);
    fedc_error err;
    /* A strategy name alone (its own required settings do not matter here). */
    if (!strncmp(assignment, "strategy.name=", 14))
        snprintf(t.strategy.name, sizeof t.strategy.name, "%s", assignment + 14);
    else if (fedc_task_set(&t, assignment, &err) != 0)
        fail_msg("%s: %s", assignment, err.msg);
    if (upstream_check_task(&t, &err) == 0) fail_msg("%s was relayed", assignment);
    if (strncmp(err.msg, field, strlen(field)) != 0) fail_msg("%s: the error does not name %s: %s", assignment, field, err.msg);
    fedc_task leaf;
    assert_int_equal(upstream_leaf_task(&t, 4, 2, &leaf, &err), -1);
}

static void test_unsplittable_refused_naming_the_field(void **state) {
    (void)state;
    const char *strategies[] = {"scaffold", "fedbuff", "fedfix", "async-fedavg", "dpsgd", "fednova", "ditto",
                                "clustered", "fedper"};
    char a[64];
    for (size_t i = 0; i < sizeof strategies / sizeof *strategies; i++) {
        snprintf(a, sizeof a, "strategy.name=%s", strategies[i]);
        refused(a, "strategy.name");
    }
    refused("strategy.aggregator=median", "strategy.aggregator");
    refused("strategy.aggregator=krum", "strategy.aggregator");
    refused("strategy.norm_bound=1", "strategy.norm_bound");
    refused("strategy.local_params=last:1", "strategy.local_params");
    refused("privacy.mode=dp-fedavg", "privacy.mode");
    refused("privacy.mode=dp-gaussian", "privacy.mode");
    refused("secagg.mode=secagg+", "secagg.mode");
    refused("eval.federated=true", "eval.federated");
}

static void test_leaf_task(void **state) {
    (void)state;
    fedc_task t, leaf;
    top_task(&t);
    snprintf(t.scheduling.policy, sizeof t.scheduling.policy, "deadline");
    t.scheduling.deadline_s = 30;
    snprintf(t.strategy.name, sizeof t.strategy.name, "fedprox");
    t.strategy.mu = 0.01;
    fedc_error err;
    if (upstream_leaf_task(&t, 4, 2, &leaf, &err) != 0) fail_msg("%s", err.msg);
    /* The slots below, every ready node each round, the nodes' minimum. */
    assert_int_equal(leaf.clients, 4);
    assert_int_equal(leaf.clients_per_round, 4);
    assert_int_equal(leaf.deploy.min_nodes, 2);
    assert_int_equal(leaf.deploy.min_updates, 1);
    /* A node below is given up before the upstream gives up on this server. */
    assert_true(leaf.deploy.round_timeout_s < t.deploy.round_timeout_s);
    assert_true(leaf.deploy.round_timeout_s == 100 * UPSTREAM_LEAF_TIMEOUT_SHARE);
    /* The upstream schedules this server; below, the default. */
    fedc_task d;
    fedc_task_defaults(&d);
    assert_string_equal(leaf.scheduling.policy, d.scheduling.policy);
    /* What the nodes train with is the upstream's. */
    assert_string_equal(leaf.strategy.name, "fedprox");
    assert_true(leaf.strategy.mu == 0.01);
    assert_true(leaf.seed == 42 && leaf.rounds == 3);
    assert_string_equal(leaf.model, "mlp");
    assert_true(leaf.local.lr == t.local.lr && leaf.local.epochs == t.local.epochs);
    assert_string_equal(leaf.compression.down, t.compression.down);
    /* 0 slots: the upstream task's; 0 nodes: one. */
    if (upstream_leaf_task(&t, 0, 0, &leaf, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(leaf.clients, 2);
    assert_int_equal(leaf.deploy.min_nodes, 1);
    /* More nodes to wait for than slots below. */
    assert_int_equal(upstream_leaf_task(&t, 2, 3, &leaf, &err), -1);
    assert_non_null(strstr(err.msg, "--leaf-min-nodes"));
    /* A tiny upstream deadline still leaves the nodes the validator's minimum. */
    t.deploy.round_timeout_s = 1;
    if (upstream_leaf_task(&t, 4, 1, &leaf, &err) != 0) fail_msg("%s", err.msg);
    assert_true(leaf.deploy.round_timeout_s == 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_averaging_relayed),
        cmocka_unit_test(test_unsplittable_refused_naming_the_field),
        cmocka_unit_test(test_leaf_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
