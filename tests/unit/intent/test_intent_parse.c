/* The embedded parser: what it understands, what it explains, and what it
 * refuses to guess. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "fedc/intent.h"
#include "intent/intent_llm.h"

static fedc_intent_result *R;
static fedc_error E;

static int parse(const char *req) {
    memset(&E, 0, sizeof E);
    return fedc_intent_parse(req, R, &E);
}

static const fedc_intent_choice *choice(const char *field) {
    for (int k = 0; k < R->n_choices; k++)
        if (!strcmp(R->choices[k].field, field)) return &R->choices[k];
    return NULL;
}

static int unknown(const char *w) {
    for (int k = 0; k < R->n_unknown; k++)
        if (!strcmp(R->unknown[k], w)) return 1;
    return 0;
}

static void expect_refusal(const char *req, fedc_intent_status st, const char *words) {
    if (parse(req) != -1 || R->status != st || !strstr(E.msg, words)) {
        fprintf(stderr, "request: %s\nstatus %d, message: %s\nwanted: %s\n", req, R->status, E.msg, words);
        fail();
    }
}

static void test_issue_example(void **state) {
    (void)state;
    assert_int_equal(parse("train a small CNN on fashion-mnist across 50 clients with strongly non-IID data for 40 "
                           "rounds, keep bandwidth low"),
                     0);
    assert_string_equal(R->task.model, "conv:16:5,pool:2,conv:32:5,pool:2,dense:128,dense:10");
    assert_int_equal(R->task.clients, 50);
    assert_int_equal(R->task.rounds, 40);
    assert_string_equal(R->task.partition.kind, "dirichlet");
    assert_true(R->task.partition.alpha == 0.1);
    assert_string_equal(R->task.compression.up, "topk:0.1|q4|zstd");
    assert_string_equal(R->task.compression.down, "q2|zstd");
    assert_int_equal(choice("model")->source, FEDC_INTENT_FROM_WORDS);
    assert_non_null(strstr(choice("model")->reason, "small CNN"));
    assert_int_equal(choice("compression.up")->source, FEDC_INTENT_FROM_GOAL);
    assert_non_null(strstr(choice("compression.up")->reason, "keep bandwidth low"));
    assert_non_null(strstr(choice("compression.up")->reason, "bench/bench_comm.py"));
    assert_int_equal(choice("local.lr")->source, FEDC_INTENT_FROM_DEFAULT);
    assert_int_equal(R->n_goals, 1);
    assert_string_equal(R->goals[0], "bandwidth");
    assert_int_equal(R->n_unknown, 0);
}

static void test_numbers_in_words_and_synonyms(void **state) {
    (void)state;
    assert_int_equal(parse("two hundred and fifty devices, a dozen sampled each round, fifty rounds"), 0);
    assert_int_equal(R->task.clients, 250);
    assert_int_equal(R->task.clients_per_round, 12);
    assert_int_equal(R->task.rounds, 50);
    assert_int_equal(parse("thirty silos, half of them per round, twenty-five rounds"), 0);
    assert_int_equal(R->task.clients, 30);
    assert_int_equal(R->task.clients_per_round, 15);
    assert_int_equal(R->task.rounds, 25);
    assert_int_equal(parse("80 hospitals with 10% of them each round"), 0);
    assert_int_equal(R->task.clients_per_round, 8);
    assert_non_null(strstr(choice("clients_per_round")->reason, "10% of 80 clients = 8"));
}

static void test_rates_and_methods(void **state) {
    (void)state;
    assert_int_equal(parse("adamw with a learning rate of 1e-3, weight decay 5e-4, batches of 64, 3 local epochs, "
                           "fedadam with server lr 0.03, seed 99"),
                     0);
    assert_string_equal(R->task.local.optimizer, "adamw");
    assert_true(R->task.local.lr == 0.001);
    assert_true(R->task.local.weight_decay == 0.0005);
    assert_int_equal(R->task.local.batch, 64);
    assert_int_equal(R->task.local.epochs, 3);
    assert_string_equal(R->task.strategy.name, "fedadam");
    assert_true(R->task.strategy.server_lr == 0.03);
    assert_int_equal((int)R->task.seed, 99);
}

static void test_implied_methods(void **state) {
    (void)state;
    assert_int_equal(parse("mu 0.1"), 0);
    assert_string_equal(R->task.strategy.name, "fedprox");
    assert_non_null(strstr(choice("strategy.name")->reason, "implied"));
    assert_int_equal(parse("clip at 0.5"), 0);
    assert_string_equal(R->task.privacy.mode, "dp-gaussian");
    /* DP without a noise level keeps the default, and a note says what that means */
    assert_true(R->task.privacy.noise_multiplier == 0.0);
    int noted = 0;
    for (int k = 0; k < R->n_notes; k++) noted |= strstr(R->notes[k], "guarantees no privacy") != NULL;
    assert_true(noted);
    assert_int_equal(parse("power of choice with 30 candidates"), 0);
    assert_string_equal(R->task.scheduling.policy, "power-of-choice");
    assert_int_equal(R->task.scheduling.choice_d, 30);
}

static void test_stopping_rules(void **state) {
    (void)state;
    assert_int_equal(parse("until 85% accuracy"), 0);
    assert_true(R->task.stop.target_accuracy == 0.85);
    /* a stopping rule adds no rounds nobody asked for; a note says when the run ends */
    assert_int_equal(R->task.rounds, 50);
    assert_int_equal(choice("rounds")->source, FEDC_INTENT_FROM_DEFAULT);
    int noted = 0;
    for (int k = 0; k < R->n_notes; k++) noted |= strstr(R->notes[k], "up to N rounds") != NULL;
    assert_true(noted);
    assert_int_equal(parse("for at most 2 hours, 80 rounds"), 0);
    assert_true(R->task.stop.max_wall_s == 7200);
    assert_int_equal(R->task.rounds, 80);
    /* a round deadline drops late clients under any policy; the deadline
     * policy is asked for by name */
    assert_int_equal(parse("a 45 second round deadline"), 0);
    assert_true(R->task.scheduling.deadline_s == 45);
    assert_string_equal(R->task.scheduling.policy, "random");
    assert_true(R->task.stop.max_wall_s == 0);
    assert_int_equal(parse("deadline-aware selection with a 45 second deadline"), 0);
    assert_true(R->task.scheduling.deadline_s == 45);
    assert_string_equal(R->task.scheduling.policy, "deadline");
}

static void test_compression_directions(void **state) {
    (void)state;
    assert_int_equal(parse("compress the uploads to 4 bits and keep the downlink in half precision"), 0);
    assert_string_equal(R->task.compression.up, "q4");
    assert_string_equal(R->task.compression.down, "fp16");
    assert_int_equal(parse("top 1% sparsification then 8-bit quantization, plus zstd"), 0);
    assert_string_equal(R->task.compression.up, "topk:0.01|q8|zstd");
    assert_string_equal(R->task.compression.down, "none");
    int noted = 0;
    for (int k = 0; k < R->n_notes; k++) noted |= strstr(R->notes[k], "uplink") != NULL;
    assert_true(noted);
    assert_int_equal(parse("bf16 in both directions"), 0);
    assert_string_equal(R->task.compression.up, "bf16");
    assert_string_equal(R->task.compression.down, "bf16");
}

static void test_model_sizes(void **state) {
    (void)state;
    assert_int_equal(parse("a bigger cnn"), 0);
    assert_string_equal(R->task.model, "conv:32:3,conv:32:3,pool:2,conv:64:3,conv:64:3,pool:2,dense:512,dense:10");
    assert_int_equal(parse("an mlp with 2 hidden layers of 64 units"), 0);
    assert_string_equal(R->task.model, "dense:64,dense:64,dense:10");
    assert_int_equal(parse("logistic regression"), 0);
    assert_string_equal(R->task.model, "dense:10");
    assert_int_equal(parse("model conv:8:3,pool:2,dense:10"), 0);
    assert_string_equal(R->task.model, "conv:8:3,pool:2,dense:10");
}

static void test_goals_yield_to_words(void **state) {
    (void)state;
    assert_int_equal(parse("keep bandwidth low, fp16 updates"), 0);
    assert_string_equal(R->task.compression.up, "fp16");
    assert_string_equal(R->task.compression.down, "q2|zstd"); /* the goal fills the open direction */
    assert_int_equal(choice("compression.up")->source, FEDC_INTENT_FROM_WORDS);
    assert_int_equal(choice("compression.down")->source, FEDC_INTENT_FROM_GOAL);
    int noted = 0;
    for (int k = 0; k < R->n_notes; k++) noted |= strstr(R->notes[k], "would set compression.up") != NULL;
    assert_true(noted);
}

static void test_typos_repaired(void **state) {
    (void)state;
    assert_int_equal(parse("40 clinets for 30 ruonds"), 0);
    assert_int_equal(R->task.clients, 40);
    assert_int_equal(R->task.rounds, 30);
    int noted = 0;
    for (int k = 0; k < R->n_notes; k++) noted |= strstr(R->notes[k], "\"clinets\"") != NULL;
    assert_true(noted);
    /* short English words are not turned into keywords */
    assert_int_equal(parse("run it tonight"), 0);
    assert_true(unknown("tonight"));
    /* A repair never creates a meaning: "ubyte" (the IDX file type) is not
     * "byte", whose bandwidth goal would turn on lossy compression. */
    assert_int_equal(parse("the ubyte files are in /data/mnist"), 0);
    assert_string_equal(R->task.compression.up, "none");
    assert_string_equal(R->task.compression.down, "none");
    assert_true(!choice("compression.up") || choice("compression.up")->source == FEDC_INTENT_FROM_DEFAULT);
    assert_int_equal(R->n_goals, 0);
    assert_true(unknown("ubyte"));
    for (int k = 0; k < R->n_notes; k++) assert_null(strstr(R->notes[k], "\"ubyte\""));
}

static void test_unknown_words_reported(void **state) {
    (void)state;
    assert_int_equal(parse("train a transformer on mnist in /data/m with blorps"), 0);
    assert_true(unknown("transformer"));
    assert_true(unknown("blorps"));
    /* a number no rule reads is not dropped: the person is asked, and the
     * words not understood are still listed */
    assert_int_equal(parse("train a transformer on mnist in /data/m with 42 blorps"), -1);
    assert_int_equal(R->status, FEDC_INTENT_QUESTION);
    assert_non_null(strstr(E.msg, "\"42\""));
    assert_true(unknown("42"));
    assert_true(unknown("blorps"));
}

static void test_conflicts_are_questions(void **state) {
    (void)state;
    expect_refusal("IID data where each client sees 2 classes", FEDC_INTENT_CONFLICT, "partition.kind");
    expect_refusal("10 clients, 20 per round", FEDC_INTENT_CONFLICT, "more than the 10 clients");
    expect_refusal("mnist or cifar10, both in /data", FEDC_INTENT_CONFLICT, "dataset.name");
    expect_refusal("mnist in /a and cifar10 in /b", FEDC_INTENT_CONFLICT, "Which one");
    expect_refusal("30 rounds or 40 rounds", FEDC_INTENT_CONFLICT, "Which one");
    expect_refusal("fast and as accurate as possible", FEDC_INTENT_CONFLICT, "Which matters more");
    expect_refusal("strongly non-iid with dirichlet 2", FEDC_INTENT_CONFLICT, "partition.alpha");
    expect_refusal("fedavg, mu 0.1", FEDC_INTENT_CONFLICT, "fedprox");
    expect_refusal("quantize to 3 bits", FEDC_INTENT_CONFLICT, "3-bit");
    expect_refusal("top 10 sparsification", FEDC_INTENT_CONFLICT, "top 10");
    expect_refusal("120% of clients per round", FEDC_INTENT_CONFLICT, "120%");
    expect_refusal("2.5 epochs", FEDC_INTENT_CONFLICT, "whole number");
    expect_refusal("don't use adam", FEDC_INTENT_CONFLICT, "negation");
    expect_refusal("train on imagenet", FEDC_INTENT_CONFLICT, "cifar100, svhn, synthetic, csv");
    expect_refusal("a cnn on EMNIST", FEDC_INTENT_QUESTION, "several variants");
    expect_refusal("deadline-aware scheduling", FEDC_INTENT_CONFLICT, "deadline_s");
    expect_refusal("seed 99999999999999999999", FEDC_INTENT_CONFLICT, "too large");
    /* understood, but the task itself is invalid: the validator's message */
    expect_refusal("learning rate 20", FEDC_INTENT_INVALID, "local.lr");
    /* 0 is the task spec's "optimizer default"; in words, a question */
    expect_refusal("learning rate 0", FEDC_INTENT_CONFLICT, "local.lr");
    expect_refusal("batch size 0", FEDC_INTENT_INVALID, "local.batch");
}

/* Every data catalog name gives a task, without asking where the data is:
 * the catalog knows (and fetches what is missing). */
static void test_every_catalog_name_is_a_task(void **state) {
    (void)state;
    static const struct {
        const char *request, *name;
    } cases[] = {
        {"train on mnist", "mnist"},
        {"fashion mnist, 20 rounds", "fashion-mnist"},
        {"emnist byclass across 30 clients", "emnist-byclass"},
        {"EMNIST-ByClass", "emnist-byclass"},
        {"use emnist balanced", "emnist-balanced"},
        {"emnist-digits with fedprox", "emnist-digits"},
        {"femnist, 100 clients", "femnist"},
        {"train on CIFAR-10", "cifar10"},
        {"train on cifar100", "cifar100"},
        {"svhn for 10 rounds", "svhn"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (parse(cases[i].request) != 0) fail_msg("\"%s\": %s", cases[i].request, E.msg);
        assert_string_equal(R->task.dataset.name, cases[i].name);
        assert_string_equal(R->task.dataset.path, "");
    }
    /* a sized model gets one output per class; the catalog's options */
    assert_int_equal(parse("a small CNN on femnist"), 0);
    assert_string_equal(R->task.model, "conv:16:5,pool:2,conv:32:5,pool:2,dense:128,dense:62");
    assert_int_equal(parse("cifar100 with coarse labels, a small cnn"), 0);
    assert_string_equal(R->task.dataset.labels, "coarse");
    assert_string_equal(R->task.model, "conv:16:5,pool:2,conv:32:5,pool:2,dense:128,dense:20");
    /* FEMNIST's writers are chosen in words; named alone it keeps the default split, with a note */
    assert_int_equal(parse("femnist split by writer, 50 clients"), 0);
    assert_string_equal(R->task.partition.kind, "natural");
    assert_int_equal(R->task.clients, 50);
    assert_int_equal(parse("femnist, 100 clients"), 0);
    assert_string_equal(R->task.partition.kind, "iid");
    int noted = 0;
    for (int k = 0; k < R->n_notes; k++) noted |= strstr(R->notes[k], "split by writer") != NULL;
    assert_true(noted);
    expect_refusal("mnist split by writer", FEDC_INTENT_INVALID, "natural");
    /* the label set's own class count is read with it; another count is asked about */
    assert_int_equal(parse("cifar100, the 20 superclasses, 30 rounds"), 0);
    assert_string_equal(R->task.dataset.labels, "coarse");
    assert_int_equal(R->task.rounds, 30);
    assert_int_equal(parse("cifar100 with its 100 fine classes"), 0);
    assert_string_equal(R->task.dataset.labels, "fine");
    expect_refusal("cifar100, the 5 superclasses", FEDC_INTENT_QUESTION, "\"5\"");
    assert_int_equal(parse("svhn plus the extra split"), 0);
    assert_int_equal(R->task.dataset.extra, 1);
    assert_int_equal(parse("mnist, do not download anything"), 0);
    assert_string_equal(R->task.dataset.fetch, "never");
}

static void test_bad_input(void **state) {
    (void)state;
    expect_refusal("", FEDC_INTENT_INPUT, "empty");
    expect_refusal("   \n\t ", FEDC_INTENT_INPUT, "empty");
    char *big = malloc(FEDC_INTENT_REQUEST_MAX + 10);
    memset(big, 'a', FEDC_INTENT_REQUEST_MAX + 9);
    big[FEDC_INTENT_REQUEST_MAX + 9] = '\0';
    expect_refusal(big, FEDC_INTENT_INPUT, "longer than");
    /* bytes that are not text: no crash, valid UTF-8 in the JSON */
    memcpy(big, "50 clients \xff\xfe\x80 \xc3(", 18);
    big[18] = '\0';
    assert_int_equal(parse(big), 0);
    char *js = fedc_intent_result_to_json(R, NULL, 0);
    assert_non_null(js);
    json_t *v = json_loads(js, 0, NULL);
    assert_non_null(v);
    json_decref(v);
    free(js);
    free(big);
}

static void test_deterministic(void **state) {
    (void)state;
    const char *req = "FedProx mu 0.01, 300 participants, 30 per round, highly skewed, keep bandwidth low, seed 5";
    assert_int_equal(parse(req), 0);
    char *a = fedc_intent_result_to_json(R, NULL, 0);
    assert_int_equal(parse(req), 0);
    char *b = fedc_intent_result_to_json(R, NULL, 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_result_json(void **state) {
    (void)state;
    assert_int_equal(parse("20 rounds, keep bandwidth low, blorp"), 0);
    char *js = fedc_intent_result_to_json(R, NULL, 1);
    json_t *v = json_loads(js, 0, NULL);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "status")), "ok");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "task"), "rounds")), 20);
    assert_true(json_array_size(json_object_get(v, "explanation")) >= 16);
    assert_string_equal(json_string_value(json_array_get(json_object_get(v, "not_understood"), 0)), "blorp");
    json_decref(v);
    free(js);
    assert_int_equal(parse("10 clients, 20 per round"), -1);
    js = fedc_intent_result_to_json(R, E.msg, 0);
    v = json_loads(js, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(v, "status")), "conflict");
    assert_null(json_object_get(v, "task"));
    assert_non_null(strstr(json_string_value(json_object_get(v, "error")), "per round"));
    json_decref(v);
    free(js);
}

/* The LLM's few-shot examples must be valid and mean what the embedded
 * parser reads from their requests. */
static void test_few_shot_examples_agree(void **state) {
    (void)state;
    for (const intent_example *e = intent_examples; e->request; e++) {
        fedc_task want;
        fedc_error err;
        if (fedc_task_from_json(e->answer, strlen(e->answer), &want, &err) != 0) {
            fprintf(stderr, "%s: %s\n", e->answer, err.msg);
            fail();
        }
        assert_int_equal(parse(e->request), 0);
        char *a = fedc_task_to_json(&want, 0), *b = fedc_task_to_json(&R->task, 0);
        if (strcmp(a, b) != 0) {
            fprintf(stderr, "example \"%s\":\n want %s\n  got %s\n", e->request, a, b);
            fail();
        }
        free(a);
        free(b);
    }
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

/* Schedules, quorums and method parameters said in prose: each field keeps
 * the words it came from, and what has two readings is asked. */
static void test_prose_schedules_quorums_descriptions(void **state) {
    (void)state;
    assert_int_equal(parse("Start the client lr at 0.1 and halve it every 25 rounds"), 0);
    assert_string_equal(R->task.local.lr_schedule, "step");
    assert_true(R->task.local.lr_gamma == 0.5);
    assert_int_equal(R->task.local.lr_step_rounds, 25);
    assert_true(R->task.local.lr == 0.1);
    assert_non_null(strstr(choice("local.lr_step_rounds")->evidence, "every 25 rounds"));
    assert_int_equal(parse("FedAdam, server lr 0.1, cosine-annealed down to 10% of that"), 0);
    assert_true(R->task.strategy.server_lr_min > 0.01 - 1e-12 && R->task.strategy.server_lr_min < 0.01 + 1e-12);
    assert_int_equal(choice("strategy.server_lr_min")->source, FEDC_INTENT_FROM_WORDS);
    /* a factor or an amount taken off: asked, with both readings */
    expect_refusal("lower the learning rate by 0.01 every 10 rounds", FEDC_INTENT_QUESTION, "lr_gamma");
    assert_int_equal(R->question.n_readings, 2);

    assert_int_equal(parse("16 edge nodes; start the first round once 75% of them are connected; 8 per round"), 0);
    assert_int_equal(R->task.deploy.min_nodes, 12);
    assert_int_equal(parse("5 selected per round, at least 3 of the 5 must report"), 0);
    assert_int_equal(R->task.deploy.min_updates, 3);
    assert_int_equal(R->task.clients_per_round, 5);
    /* a statement is no quorum */
    assert_int_equal(parse("in each round 10 clients report back"), 0);
    assert_int_equal(R->task.deploy.min_updates, 1);
    /* a share of a group the request does not size */
    expect_refusal("start once half of them are connected", FEDC_INTENT_CONFLICT, "min_nodes");

    assert_int_equal(parse("FedLD, keep seventy percent of the principal directions"), 0);
    assert_true(R->task.strategy.top_fraction > 0.7 - 1e-12 && R->task.strategy.top_fraction < 0.7 + 1e-12);
    assert_non_null(strstr(choice("strategy.top_fraction")->reason, "described"));
    assert_int_equal(parse("FedHyper with a hypergradient step size of 0.5"), 0);
    assert_true(R->task.strategy.hyper_lr == 0.5);
    assert_string_equal(R->task.strategy.name, "fedhyper");
    /* the words of a method the request did not choose */
    expect_refusal("keep 30% of the principal directions", FEDC_INTENT_QUESTION, "top_fraction");

    assert_int_equal(parse("keep just 1% of the coordinates on upload"), 0);
    assert_string_equal(R->task.compression.up, "topk:0.01");
    expect_refusal("quantise both directions", FEDC_INTENT_QUESTION, "bit width");
    expect_refusal("compress the uploads", FEDC_INTENT_QUESTION, "names no codec");
    expect_refusal("train the baseline for one hundred epochs", FEDC_INTENT_QUESTION, "rounds");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_example),
        cmocka_unit_test(test_numbers_in_words_and_synonyms),
        cmocka_unit_test(test_rates_and_methods),
        cmocka_unit_test(test_implied_methods),
        cmocka_unit_test(test_stopping_rules),
        cmocka_unit_test(test_compression_directions),
        cmocka_unit_test(test_model_sizes),
        cmocka_unit_test(test_goals_yield_to_words),
        cmocka_unit_test(test_typos_repaired),
        cmocka_unit_test(test_unknown_words_reported),
        cmocka_unit_test(test_conflicts_are_questions),
        cmocka_unit_test(test_every_catalog_name_is_a_task),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_result_json),
        cmocka_unit_test(test_few_shot_examples_agree),
        cmocka_unit_test(test_prose_schedules_quorums_descriptions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
