/* The embedded parser reads numbers by structure: what a number counts
 * ("3 of them each round", "8 out of 64"), keys as FL code writes them
 * ("n_clients=50 frac=0.2", "rounds: 12 / per round: 6"), and the words
 * a person uses to change their mind ("instead of", "actually"). Where
 * two readings are plausible it asks, naming the field and the readings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "fedc/intent.h"

static fedc_intent_result *R;
static fedc_error E;

static int parse(const char *req) {
    memset(&E, 0, sizeof E);
    return fedc_intent_parse(req, R, &E);
}

/* req must give a task with these counts (-1: not checked). */
static void expect_counts(const char *req, int clients, int per_round, int rounds) {
    if (parse(req) != 0) {
        fprintf(stderr, "request: %s\nrefused (%d): %s\n", req, R->status, E.msg);
        fail();
    }
    if ((clients >= 0 && R->task.clients != clients) || (per_round >= 0 && R->task.clients_per_round != per_round) ||
        (rounds >= 0 && R->task.rounds != rounds)) {
        fprintf(stderr, "request: %s\ngot clients %d, per round %d, rounds %d; want %d, %d, %d\n", req, R->task.clients,
                R->task.clients_per_round, R->task.rounds, clients, per_round, rounds);
        fail();
    }
}

static void expect_question(const char *req, const char *field) {
    if (parse(req) != -1 || (R->status != FEDC_INTENT_QUESTION && R->status != FEDC_INTENT_CONFLICT) ||
        strcmp(R->question.field, field) != 0) {
        fprintf(stderr, "request: %s\nstatus %d, field \"%s\", message: %s\nwanted a question about %s\n", req,
                R->status, R->question.field, E.msg, field);
        fail();
    }
}

static const fedc_intent_choice *choice(const char *field) {
    for (int k = 0; k < R->n_choices; k++)
        if (!strcmp(R->choices[k].field, field)) return &R->choices[k];
    return NULL;
}

static void test_noun_phrases(void **state) {
    (void)state;
    expect_counts("Use every one of the 12 participants in each of 15 rounds", 12, 12, 15);
    expect_counts("We are 25 hospitals and want to train across all 25 of us every round", 25, 25, -1);
    expect_counts("Twelve clients, three of them chosen at random each round", 12, 3, -1);
    expect_counts("18 clients. In each round, 6 clients are selected", 18, 6, -1);
    expect_counts("200 clients; 7 clients/round", 200, 7, -1);
    expect_counts("8 selected clients out of 64", 64, 8, -1);
    expect_counts("sample 12 clients from the 300 every round", 300, 12, -1);
    expect_counts("3 of the 40 devices take part in each round", 40, 3, -1);
    expect_counts("60 silos, a third of them per round", 60, 20, -1);
    expect_counts("60 silos, two thirds of them per round", 60, 40, -1);
    expect_counts("1/4 of the 80 clients per round", 80, 20, -1);
    expect_counts("one in five of 50 phones per round", 50, 10, -1);
    expect_counts("30% of them each round, 90 clients in total", 90, 27, -1);
    expect_counts("all 40 clients take part in every round", 40, 40, -1);
    /* a per-round tail belongs to its own clause */
    expect_counts("10% participation per round, with 50 devices", 50, 5, -1);
    expect_counts("3 epochs per round and 30 nodes", 30, 10, -1);
}

static void test_keys(void **state) {
    (void)state;
    expect_counts("clients=20; clients_per_round=5", 20, 5, -1);
    expect_counts("dataset=fashion-mnist model=mlp clients=8 per_round=2 rounds=9", 8, 2, 9);
    expect_counts("rounds: 12 / clients: 24 / per round: 6", 24, 6, 12);
    expect_counts("n_clients=50 frac=0.3", 50, 15, -1);
    expect_counts("num_clients = 40, C = 0.25, num_rounds = 7", 40, 10, 7);
    expect_counts("--rounds 12 --clients 24 --clients-per-round 6", 24, 6, 12);
    expect_counts("clients 24, per round 6, rounds 12", 24, 6, 12);
    expect_counts("Set the number of clients to 44, the clients per round to 11, the rounds to 33", 44, 11, 33);
    assert_int_equal(parse("rounds: 12\nclients: 24\nlocal_epochs: 3\nbs: 64\nlr: 0.02\nseed: 9\nstrategy: fedprox\nmu: 0.1"),
                     0);
    assert_int_equal(R->task.local.epochs, 3);
    assert_int_equal(R->task.local.batch, 64);
    assert_true(R->task.local.lr == 0.02);
    assert_int_equal((int)R->task.seed, 9);
    assert_string_equal(R->task.strategy.name, "fedprox");
    assert_true(R->task.strategy.mu == 0.1);
    /* every task path is a key */
    assert_int_equal(parse("local.momentum=0.9 partition.kind=dirichlet partition.alpha=0.3 eval_every=5"), 0);
    assert_true(R->task.local.momentum == 0.9);
    assert_string_equal(R->task.partition.kind, "dirichlet");
    assert_true(R->task.partition.alpha == 0.3);
    assert_int_equal(R->task.eval_every, 5);
    /* evidence: the words read for each field */
    assert_int_equal(parse("n_clients=50 frac=0.2 lr=0.01"), 0);
    assert_string_equal(choice("local.lr")->evidence, "lr=0.01");
    assert_string_equal(choice("clients")->evidence, "n_clients=50");
    /* a value the field does not allow and no rule reads: asked */
    expect_question("strategy: blorpavg", "strategy.name");
}

static void test_overrides(void **state) {
    (void)state;
    assert_int_equal(parse("FedAvg on fashion mnist ... use FedProx with mu 0.01 instead of plain averaging"), 0);
    assert_string_equal(R->task.strategy.name, "fedprox");
    assert_true(R->task.strategy.mu == 0.01);
    expect_counts("run 30 rounds, no wait, 40 rounds", -1, -1, 40);
    expect_counts("30 rounds. Actually, make it 45", -1, -1, 45);
    expect_counts("use 70 rounds rather than 30", -1, -1, 70);
    expect_counts("instead of 30 rounds go for 60", -1, -1, 60);
    assert_int_equal(parse("use sgd, not adam, lr 0.1"), 0);
    assert_string_equal(R->task.local.optimizer, "sgd");
    /* the value turned down is the default and nothing replaces it */
    expect_question("instead of fedavg", "strategy.name");
    /* without an override two values are still a question, with both readings */
    expect_question("30 rounds or 40 rounds", "rounds");
    assert_int_equal(R->question.n_readings, 2);
    assert_string_equal(R->question.readings[0].value, "30");
    assert_string_equal(R->question.readings[1].value, "40");
    assert_string_equal(R->question.readings[1].answer, "actually rounds=40");
    /* the answer settles it */
    expect_counts("30 rounds or 40 rounds. actually rounds=40", -1, -1, 40);
}

static void test_two_readings_asked(void **state) {
    (void)state;
    /* "all 40 clients" and nothing about rounds: the federation, or all per round */
    expect_question("all 40 clients for 20 rounds", "clients_per_round");
    assert_int_equal(R->status, FEDC_INTENT_QUESTION);
    assert_int_equal(R->question.n_readings, 2);
    char *js = fedc_intent_result_to_json(R, E.msg, 0);
    json_t *v = json_loads(js, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(v, "status")), "question");
    json_t *q = json_object_get(v, "question");
    assert_string_equal(json_string_value(json_object_get(q, "field")), "clients_per_round");
    assert_int_equal(json_array_size(json_object_get(q, "readings")), 2);
    json_decref(v);
    free(js);
    /* small federations have one reading: everyone trains anyway */
    expect_counts("all 8 clients for 20 rounds", 8, 8, 20);
    /* a number no rule reads */
    assert_int_equal(parse("fashion mnist with 50 clients and 7"), -1);
    assert_int_equal(R->status, FEDC_INTENT_QUESTION);
    assert_non_null(strstr(E.msg, "\"7\""));
}

static void test_vague_words_asked(void **state) {
    (void)state;
    expect_question("train with a few clients", "clients");
    expect_question("several rounds with 20 clients", "rounds");
    expect_question("as many rounds as needed", "rounds");
    expect_question("train until convergence", "stop.target_accuracy");
    expect_question("SGD with momentum", "local.momentum");
    expect_question("nesterov, lr 0.1", "local.momentum");
    expect_question("add weight decay", "local.weight_decay");
    expect_question("DP with epsilon 1", "privacy.noise_multiplier");
    /* secure aggregation is a method fedc has (secagg.mode) */
    assert_int_equal(parse("use secure aggregation"), 0);
    assert_string_equal(R->task.secagg.mode, "secagg+");
    /* the same words with their values are tasks */
    expect_counts("until convergence or 80 rounds", -1, -1, 80);
    assert_int_equal(parse("SGD with momentum 0.9"), 0);
    assert_true(R->task.local.momentum == 0.9);
    assert_int_equal(parse("adam with epsilon 1e-7 and DP noise 1.0"), 0);
    assert_true(R->task.local.eps == 1e-7);
}

static void test_datasets_are_tasks(void **state) {
    (void)state;
    /* a named data set is never asked "where is the data?": where it lives
     * (or whether it is fetched) is the run's business */
    const char *reqs[] = {"train on mnist", "cifar-10 with 20 clients", "MNIST, 30 rounds", NULL};
    for (int k = 0; reqs[k]; k++) {
        int rc = parse(reqs[k]);
        if (rc != 0 && (R->status != FEDC_INTENT_INVALID || !strstr(E.msg, "invalid task"))) {
            fprintf(stderr, "request: %s\nstatus %d: %s\n", reqs[k], R->status, E.msg);
            fail();
        }
        assert_true(R->status != FEDC_INTENT_QUESTION && R->status != FEDC_INTENT_CONFLICT);
    }
    /* a data set fedc does not know is still a question */
    assert_int_equal(parse("train on imagenet"), -1);
    assert_string_equal(R->question.field, "dataset.name");
}

static void test_key_groups(void **state) {
    (void)state;
    /* a header groups the keys below it: "lr" under "server:" is the server's */
    assert_int_equal(parse("server:\n  strategy: fedadam\n  lr: 0.02\n  warmup_rounds: 10\nclient:\n  lr: 0.03"), 0);
    assert_string_equal(R->task.strategy.name, "fedadam");
    assert_true(R->task.strategy.server_lr == 0.02);
    assert_int_equal(R->task.strategy.server_lr_warmup_rounds, 10);
    assert_true(R->task.local.lr == 0.03);
    /* JSON objects group their keys too, keys quoted */
    assert_int_equal(parse("{\"strategy\": {\"name\": \"fedprox\", \"mu\": 0.1}, \"rounds\": 12}"), 0);
    assert_string_equal(R->task.strategy.name, "fedprox");
    assert_true(R->task.strategy.mu == 0.1);
    assert_int_equal(R->task.rounds, 12);
    /* a key whose field depends on the method named */
    assert_int_equal(parse("fedau K=40"), 0);
    assert_int_equal(R->task.strategy.fedau_cutoff, 40);
    assert_int_equal(R->task.clients, 100);
    assert_int_equal(parse("strategy=fedavgm beta=0.7"), 0);
    assert_true(R->task.strategy.momentum == 0.7);
    expect_question("beta=0.7", "");
    /* a split's parameter names its split */
    assert_int_equal(parse("dirichlet_alpha=1.0 num_clients=30 fraction=0.5"), 0);
    assert_string_equal(R->task.partition.kind, "dirichlet");
    assert_true(R->task.partition.alpha == 1.0);
    assert_int_equal(R->task.clients_per_round, 15);
}

static void test_fields_in_prose(void **state) {
    (void)state;
    /* rounds that are the unit of another setting are not the run's rounds */
    assert_int_equal(parse("I'd like to analyse FedAU with a cut-off of 25 rounds."), 0);
    assert_int_equal(R->task.strategy.fedau_cutoff, 25);
    assert_int_equal(R->task.rounds, 50);
    assert_int_equal(parse("warm up the local learning rate over the first four rounds"), 0);
    assert_int_equal(R->task.local.lr_warmup_rounds, 4);
    assert_int_equal(R->task.rounds, 50);
    assert_int_equal(parse("3-round server lr warmup, 80 rounds"), 0);
    assert_int_equal(R->task.strategy.server_lr_warmup_rounds, 3);
    assert_int_equal(R->task.rounds, 80);
    assert_int_equal(parse("Warm the client learning rate up over 2 rounds, then a cosine decay to nought."), 0);
    assert_int_equal(R->task.local.lr_warmup_rounds, 2);
    assert_string_equal(R->task.local.lr_schedule, "cosine");
    assert_true(R->task.local.weight_decay == 0.0);
    /* "top fraction" is FedLD's, not the share of clients per round */
    assert_int_equal(parse("fedld, top fraction .85"), 0);
    assert_true(R->task.strategy.top_fraction == 0.85);
    assert_int_equal(R->task.clients_per_round, 10);
}

static void test_time_limits(void **state) {
    (void)state;
    /* a limit per round is the round's deadline (the deployment's timeout) */
    assert_int_equal(parse("drop anyone who takes longer than 30 seconds in a round"), 0);
    assert_true(R->task.scheduling.deadline_s == 30);
    assert_true(R->task.stop.max_wall_s == 0);
    assert_int_equal(parse("deployment rounds can take up to 20 mins each"), 0);
    assert_true(R->task.deploy.round_timeout_s == 1200);
    assert_true(R->task.stop.max_wall_s == 0);
    /* the whole run when the words say so */
    assert_int_equal(parse("run for at most 1.5 hours"), 0);
    assert_true(R->task.stop.max_wall_s == 5400);
    /* about a deployment and nothing about the run: asked */
    expect_question("Our deployment keeps hanging. Make it give up after 5 minutes.", "");
    assert_int_equal(R->question.n_readings, 2);
}

static void test_server_optimizer_asks(void **state) {
    (void)state;
    /* beside FedAdam / FedYogi, "the learning rate" has two owners */
    expect_question("fedyogi with a learning rate of 1e-2", "");
    assert_int_equal(R->question.n_readings, 2);
    expect_question("FedAdam, 5 warm-up rounds", "");
    expect_question("strategy: fedyogi\nschedule: cosine\nrounds: 200", "");
    /* a side said, or the server's given elsewhere: a task */
    assert_int_equal(parse("fedadam server lr 0.01, lr 0.1"), 0);
    assert_true(R->task.local.lr == 0.1);
    assert_true(R->task.strategy.server_lr == 0.01);
    assert_int_equal(parse("fedadam with a cosine schedule on the client learning rate"), 0);
    assert_string_equal(R->task.local.lr_schedule, "cosine");
    assert_string_equal(R->task.strategy.server_lr_schedule, "constant");
}

static int setup(void **state) {
    (void)state;
    R = malloc(sizeof *R);
    return R ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(R);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noun_phrases),     cmocka_unit_test(test_keys),
        cmocka_unit_test(test_overrides),        cmocka_unit_test(test_two_readings_asked),
        cmocka_unit_test(test_vague_words_asked), cmocka_unit_test(test_datasets_are_tasks),
        cmocka_unit_test(test_key_groups),       cmocka_unit_test(test_fields_in_prose),
        cmocka_unit_test(test_time_limits),      cmocka_unit_test(test_server_optimizer_asks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
