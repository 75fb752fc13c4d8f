/* Task spec <-> JSON: defaults, round trips, key order, number precision,
 * and every kind of parse error with its exact message. */
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "task_test_util.h"

static void test_defaults_are_the_benchmark(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    assert_string_equal(t.name, "fmnist-mlp");
    assert_string_equal(t.dataset.name, "fashion-mnist");
    assert_string_equal(t.partition.kind, "iid");
    assert_string_equal(t.model, "mlp");
    assert_int_equal(t.rounds, 50);
    assert_int_equal(t.clients, 100);
    assert_int_equal(t.clients_per_round, 10);
    assert_int_equal(t.local.epochs, 1);
    assert_int_equal(t.local.batch, 32);
    assert_true(t.local.lr == 0.0); /* the optimizer's default ... */
    assert_true(fedc_task_local_lr_base(&t) == 0.05); /* ... which for sgd is 0.05 */
    assert_string_equal(t.local.optimizer, "sgd");
    assert_string_equal(t.strategy.name, "fedavg");
    assert_true(t.strategy.server_lr == 1.0);
    assert_string_equal(t.compression.up, "none");
    assert_string_equal(t.scheduling.policy, "random");
    assert_string_equal(t.privacy.mode, "none");
    assert_int_equal(t.deploy.min_updates, 1);
    assert_true(t.deploy.round_timeout_s == 60.0);
    fedc_error err = {{0}};
    if (fedc_task_validate(&t, &err) != 0) fail_msg("defaults invalid: %s", err.msg);
}

static void test_empty_object_is_defaults(void **state) {
    (void)state;
    fedc_task d, t = task_parse_ok("{}");
    fedc_task_defaults(&d);
    assert_true(task_equal(&t, &d));
}

static void check_round_trip(const fedc_task *t, int pretty) {
    char *json = fedc_task_to_json(t, pretty);
    assert_non_null(json);
    fedc_task back = task_parse_ok(json);
    if (!task_equal(t, &back)) fail_msg("round trip changed the task:\n%s", json);
    char *again = fedc_task_to_json(&back, pretty);
    assert_string_equal(json, again); /* stable output */
    free(again);
    free(json);
}

static void test_round_trip_defaults(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    check_round_trip(&t, 0);
    check_round_trip(&t, 1);
}

static void test_round_trip_awkward_values(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    t.local.lr = 0.1 + 0.2; /* needs 17 significant digits */
    t.partition.alpha = 1.0 / 3.0;
    t.strategy.tau = 5e-324 * 1e300; /* tiny, still in range */
    t.seed = INT64_MAX;
    t.local.nesterov = 1;
    t.local.momentum = 0.9;
    strcpy(t.name, "\xc3\xbc \"quoted\" \\ slash/");
    strcpy(t.compression.up, "topk:0.01|q8|zstd");
    strcpy(t.model, "conv:32:5,pool:2,dense:10");
    t.stop.max_wall_s = 3600;
    check_round_trip(&t, 0);
    check_round_trip(&t, 1);
    char *json = fedc_task_to_json(&t, 0);
    assert_contains(json, "\"lr\":0.30000000000000004");
    assert_contains(json, "\"seed\":9223372036854775807");
    assert_contains(json, "\"nesterov\":true");
    free(json);
}

static void test_to_json_key_order_and_format(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    char *json = fedc_task_to_json(&t, 0);
    assert_starts_with(json, "{\"name\":\"fmnist-mlp\",\"dataset\":{\"name\":\"fashion-mnist\","
                             "\"path\":\"\",\"test_path\":\"\",\"label_column\":\"\",\"fetch\":\"auto\","
                             "\"labels\":\"fine\",\"extra\":false},"
                             "\"partition\":{\"kind\":\"iid\",\"alpha\":0.5,"
                             "\"classes_per_client\":2,\"sigma\":1.0,\"feature_skew\":\"none\",\"test_fraction\":0.0},"
                             "\"model\":\"mlp\",\"init\":\"he\",\"rounds\":50,\"clients\":100,"
                             "\"clients_per_round\":10,"
                             "\"local\":{\"epochs\":1,\"batch\":32,\"max_steps\":0,\"lr\":0.0,");
    assert_contains(json, "\"mfac_damp\":1e-5");
    assert_contains(json, "\"tau\":0.001");
    /* Top-level keys in struct order. */
    json_t *root = json_loads(json, 0, NULL);
    assert_non_null(root);
    const char *expected[] = {"name",       "dataset",  "partition",   "model",
                              "init",       "rounds",   "clients",     "clients_per_round",
                              "local",      "strategy", "compression", "scheduling",
                              "attack",     "privacy",  "secagg",      "topology",
                              "state",      "seed",     "stop",        "eval_every",
                              "eval_personal", "validation", "eval",    "deploy"};
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        assert_true(i < sizeof expected / sizeof expected[0]);
        assert_string_equal(key, expected[i]);
        i++;
    }
    assert_int_equal(i, sizeof expected / sizeof expected[0]);
    json_decref(root);
    free(json);

    char *pretty = fedc_task_to_json(&t, 1);
    assert_starts_with(pretty, "{\n  \"name\": \"fmnist-mlp\",\n  \"dataset\": {\n    \"name\"");
    free(pretty);
}

static void test_integral_real_is_an_integer(void **state) {
    (void)state;
    fedc_task t = task_parse_ok("{\"rounds\": 10.0, \"seed\": 1e3}");
    assert_int_equal(t.rounds, 10);
    assert_int_equal(t.seed, 1000);
    t = task_parse_ok("{\"seed\": 9223372036854775807, \"local\": {\"lr\": 1}}");
    assert_true(t.seed == (uint64_t)INT64_MAX);
    assert_true(t.local.lr == 1.0);
}

static void test_type_errors(void **state) {
    (void)state;
    assert_string_equal(task_parse_err("{\"rounds\": \"ten\"}"),
                        "rounds: expected an integer, got \"ten\"");
    assert_string_equal(task_parse_err("{\"rounds\": 2.5}"),
                        "rounds: expected an integer, got 2.5");
    assert_string_equal(task_parse_err("{\"rounds\": null}"),
                        "rounds: expected an integer, got null");
    assert_string_equal(task_parse_err("{\"local\": {\"lr\": \"0.1\"}}"),
                        "local.lr: expected a number, got \"0.1\"");
    assert_string_equal(task_parse_err("{\"local\": {\"nesterov\": 1}}"),
                        "local.nesterov: expected true or false, got 1");
    assert_string_equal(task_parse_err("{\"model\": [\"dense:10\"]}"),
                        "model: expected a string, got [\"dense:10\"]");
    assert_string_equal(task_parse_err("{\"local\": 5}"), "local: expected an object, got 5");
    assert_string_equal(task_parse_err("[1, 2]"), "task: expected a JSON object, got [1,2]");
    assert_string_equal(task_parse_err("5"), "task: expected a JSON object, got 5");
}

static void test_long_values_are_cut_in_messages(void **state) {
    (void)state;
    char json[1200];
    strcpy(json, "{\"rounds\": \"");
    for (int i = 0; i < 1000; i++) strcat(json, "x");
    strcat(json, "\"}");
    const char *msg = task_parse_err(json);
    assert_starts_with(msg, "rounds: expected an integer, got \"xxxx");
    assert_contains(msg, "...");
    assert_true(strlen(msg) < 150);
}

static void test_range_errors(void **state) {
    (void)state;
    assert_string_equal(task_parse_err("{\"local\": {\"lr\": -0.1}}"),
                        "local.lr: -0.1 is out of range; allowed: a number >= 0 and <= 10");
    assert_string_equal(task_parse_err("{\"local\": {\"lr\": 10.5}}"),
                        "local.lr: 10.5 is out of range; allowed: a number >= 0 and <= 10");
    assert_string_equal(task_parse_err("{\"rounds\": 0}"),
                        "rounds: 0 is out of range; allowed: an integer >= 1 and <= 100000");
    assert_string_equal(task_parse_err("{\"rounds\": 1e300}"),
                        "rounds: 1e+300 is out of range; allowed: an integer >= 1 and <= 100000");
    assert_string_equal(task_parse_err("{\"clients\": 99999999999}"),
                        "clients: 99999999999 is out of range; allowed: an integer >= 1 and <= "
                        "1000000");
    assert_string_equal(task_parse_err("{\"local\": {\"momentum\": 1}}"),
                        "local.momentum: 1 is out of range; allowed: a number >= 0 and < 1");
    assert_string_equal(task_parse_err("{\"seed\": -1}"),
                        "seed: -1 is out of range; allowed: an integer >= 0 and <= "
                        "9223372036854775807");
    assert_string_equal(task_parse_err("{\"seed\": 1e19}"),
                        "seed: 1e+19 is out of range; allowed: an integer >= 0 and <= "
                        "9223372036854775807");
    assert_string_equal(task_parse_err("{\"stop\": {\"target_accuracy\": 1.5}}"),
                        "stop.target_accuracy: 1.5 is out of range; allowed: a number >= 0 and "
                        "<= 1");
    assert_string_equal(task_parse_err("{\"deploy\": {\"round_timeout_s\": 0}}"),
                        "deploy.round_timeout_s: 0 is out of range; allowed: a number > 0 and "
                        "<= 604800");
}

static void test_enum_errors(void **state) {
    (void)state;
    assert_string_equal(task_parse_err("{\"strategy\": {\"name\": \"fedavgg\"}}"),
                        "strategy.name: \"fedavgg\" is not allowed (did you mean fedavg?); "
                        "allowed: fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad, scaffold, fedavg-m, scaffold-m, fednova, fedau, "
                    "afa-cd, afa-cs, fedhyper, fedspeed, fedsam, fedamd, fedld, fedopt, fedbuff, fedfix, async-fedavg, "
                        "dpsgd, gossip, gossip-vc, dfedsam, dfedsam-mgs, dadao, finetune, fedper, ditto, clustered, pfedgate");
    assert_string_equal(task_parse_err("{\"local\": {\"optimizer\": \"rmsprop\"}}"),
                        "local.optimizer: \"rmsprop\" is not allowed; allowed: sgd, adam, adamw, lion, "
                        "adan, adamp, sgdp, exadam, adahessian, mfac");
    assert_string_equal(task_parse_err("{\"partition\": {\"kind\": \"\"}}"),
                        "partition.kind: must not be empty; allowed: iid, dirichlet, shards, "
                        "quantity, natural");
    assert_string_equal(task_parse_err("{\"dataset\": {\"name\": \"MNIST\"}}"),
                        "dataset.name: \"MNIST\" is not allowed; allowed: "
                        "mnist, fashion-mnist, emnist-byclass, emnist-balanced, emnist-digits, "
                        "femnist, cifar10, cifar100, svhn, synthetic, csv");
    assert_string_equal(task_parse_err("{\"privacy\": {\"mode\": \"dp\"}}"),
                        "privacy.mode: \"dp\" is not allowed; allowed: none, dp-gaussian, dp-fedavg");
    assert_contains(task_parse_err("{\"scheduling\": {\"policy\": \"fifo\"}}"),
                    "scheduling.policy: \"fifo\" is not allowed; allowed: random, round-robin, "
                    "samples, age, power-of-choice, deadline");
}

static void test_string_errors(void **state) {
    (void)state;
    char json[2200];
    strcpy(json, "{\"name\": \"");
    for (int i = 0; i < 64; i++) strcat(json, "n");
    strcat(json, "\"}");
    assert_string_equal(task_parse_err(json),
                        "name: too long (64 bytes); allowed: at most 63 bytes");
    strcpy(json, "{\"model\": \"");
    for (int i = 0; i < 1024; i++) strcat(json, "d");
    strcat(json, "\"}");
    assert_string_equal(task_parse_err(json),
                        "model: too long (1024 bytes); allowed: at most 1023 bytes");
    assert_string_equal(task_parse_err("{\"name\": \"\"}"), "name: must not be empty");
    assert_string_equal(task_parse_err("{\"name\": \"a\\nb\"}"),
                        "name: \"a\\nb\" contains the control character 0x0a at byte 1; "
                        "allowed: printable text");
    /* jansson refuses NUL inside strings: a syntax error, not a truncation. */
    assert_starts_with(task_parse_err("{\"name\": \"a\\u0000b\"}"), "task: not valid JSON");
    /* 63 bytes is fine, multi-byte UTF-8 counts bytes. */
    strcpy(json, "{\"name\": \"");
    for (int i = 0; i < 21; i++) strcat(json, "\xe2\x82\xac"); /* euro sign, 3 bytes */
    strcat(json, "\"}");
    fedc_task t = task_parse_ok(json);
    assert_int_equal(strlen(t.name), 63);
}

static void test_unknown_fields(void **state) {
    (void)state;
    assert_string_equal(task_parse_err("{\"local\": {\"lrr\": 0.1}}"),
                        "local.lrr: unknown field (did you mean local.lr?); allowed: epochs, "
                        "batch, max_steps, lr, optimizer, momentum, nesterov, weight_decay, "
                        "beta1, beta2, beta3, eps, hessian_power, adamp_delta, adamp_wd_ratio, "
                        "exadam_dynamic_step, mfac_window, mfac_damp, keep_state, min_epochs, "
                        "lr_schedule, lr_warmup_rounds, lr_step_rounds, lr_gamma, lr_min");
    assert_string_equal(task_parse_err("{\"foo\": 1}"),
                        "foo: unknown field; allowed: name, dataset, partition, model, init, rounds, "
                        "clients, clients_per_round, local, strategy, compression, scheduling, "
                        "attack, privacy, secagg, topology, state, seed, stop, eval_every, eval_personal, validation, eval, deploy");
    assert_starts_with(task_parse_err("{\"lr\": 0.1}"),
                       "lr: unknown field (did you mean local.lr?); allowed: name, ");
    assert_starts_with(task_parse_err("{\"round\": 5}"),
                       "round: unknown field (did you mean rounds?); allowed: name, ");
    assert_starts_with(task_parse_err("{\"local.lr\": 0.1}"),
                       "\"local.lr\": unknown field (nest it: {\"local\": {\"lr\": ...}}); ");
    assert_starts_with(task_parse_err("{\"dataset\": {\"name\": \"mnist\", \"dir\": \"/x\"}}"),
                       "dataset.dir: unknown field; allowed: name, path, test_path, label_column");
    /* Keys that are not plain identifiers are quoted and cut. */
    char json[400];
    strcpy(json, "{\"");
    for (int i = 0; i < 300; i++) strcat(json, "k");
    strcat(json, "\": 1}");
    const char *msg = task_parse_err(json);
    assert_starts_with(msg, "\"kkkk");
    assert_contains(msg, "...: unknown field; allowed: name,");
    assert_starts_with(task_parse_err("{\"a b\": 1}"), "\"a b\": unknown field;");
}

static void test_json_syntax_and_size(void **state) {
    (void)state;
    assert_starts_with(task_parse_err("{\"rounds\": }"), "task: not valid JSON at line 1, column");
    assert_starts_with(task_parse_err(""), "task: not valid JSON at line");
    assert_contains(task_parse_err("{\"rounds\": 1, \"rounds\": 2}"), "duplicate");
    assert_starts_with(task_parse_err("{\"seed\": 18446744073709551615}"), "task: not valid JSON");

    size_t n = (size_t)FEDC_TASK_JSON_MAX + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    fedc_task t;
    fedc_error err = {{0}};
    assert_int_equal(fedc_task_from_json(big, n, &t, &err), -1);
    assert_string_equal(err.msg, "task: 1048577 bytes of JSON; allowed: at most 1048576 bytes");
    /* Exactly the maximum is read. */
    assert_int_equal(fedc_task_from_json(big, n - 1, &t, &err), -1); /* "{   ...  " unterminated */
    assert_starts_with(err.msg, "task: not valid JSON");
    big[n - 2] = '}';
    assert_int_equal(fedc_task_from_json(big, n - 1, &t, &err), 0);
    free(big);

    assert_int_equal(fedc_task_from_json(NULL, 0, &t, &err), -1);
    assert_string_equal(err.msg, "task: no JSON text given");
    /* Length bounds the read: no NUL terminator needed. */
    const char text[] = {'{', '}', 'x', 'x'};
    assert_int_equal(fedc_task_from_json(text, 2, &t, &err), 0);
}

static void test_first_error_in_document_order(void **state) {
    (void)state;
    assert_starts_with(task_parse_err("{\"local\": {\"lr\": -1}, \"rounds\": \"x\"}"), "local.lr:");
    assert_starts_with(task_parse_err("{\"rounds\": \"x\", \"local\": {\"lr\": -1}}"), "rounds:");
}

static void test_failed_parse_leaves_task_unchanged(void **state) {
    (void)state;
    fedc_task t = task_parse_ok("{\"rounds\": 7, \"name\": \"keep\"}");
    fedc_task before = t;
    fedc_error err;
    const char *bad = "{\"rounds\": 9, \"local\": {\"lr\": -1}}";
    assert_int_equal(fedc_task_from_json(bad, strlen(bad), &t, &err), -1);
    assert_true(task_equal(&t, &before));
    assert_int_equal(t.rounds, 7);
}

static void test_from_json_all_collects_every_problem(void **state) {
    (void)state;
    const char *json = "{\"rounds\": \"ten\", \"local\": {\"lr\": -1, \"lrr\": 1}, "
                       "\"clients_per_round\": 500, \"bogus\": true}";
    fedc_task t;
    fedc_task_issue *issues = NULL;
    int n = fedc_task_from_json_all(json, strlen(json), &t, &issues);
    assert_int_equal(n, 5);
    assert_non_null(issues);
    assert_string_equal(issues[0].path, "rounds");
    assert_string_equal(issues[0].msg, "rounds: expected an integer, got \"ten\"");
    assert_string_equal(issues[1].path, "local.lr");
    assert_string_equal(issues[2].path, "local.lrr");
    assert_starts_with(issues[2].msg, "local.lrr: unknown field");
    assert_string_equal(issues[3].path, "bogus");
    assert_string_equal(issues[4].path, "clients_per_round");
    assert_string_equal(issues[4].msg, "clients_per_round: 500 is more than clients (100); "
                                       "allowed: an integer >= 1 and <= clients");
    /* The fields that did parse are kept: here none but defaults. */
    assert_int_equal(t.rounds, 50);
    free(issues);

    const char *ok = "{\"rounds\": 3}";
    issues = (fedc_task_issue *)1;
    assert_int_equal(fedc_task_from_json_all(ok, strlen(ok), &t, &issues), 0);
    assert_null(issues);
    assert_int_equal(t.rounds, 3);

    const char *broken = "{";
    assert_int_equal(fedc_task_from_json_all(broken, 1, &t, &issues), 1);
    assert_string_equal(issues[0].path, "");
    assert_starts_with(issues[0].msg, "task: not valid JSON");
    free(issues);
}

static void test_many_unknown_fields_are_capped(void **state) {
    (void)state;
    size_t cap = 64 * 1024;
    char *json = malloc(cap);
    assert_non_null(json);
    size_t used = (size_t)snprintf(json, cap, "{");
    for (int i = 0; i < 1000; i++)
        used +=
            (size_t)snprintf(json + used, cap - used, "%s\"unknown%d\": %d", i ? "," : "", i, i);
    snprintf(json + used, cap - used, "}");
    fedc_task t;
    fedc_task_issue *issues = NULL;
    int n = fedc_task_from_json_all(json, strlen(json), &t, &issues);
    assert_int_equal(n, TASK_MAX_ISSUES);
    free(issues);
    free(json);
}

static void test_load_file(void **state) {
    (void)state;
    char dir[] = "/tmp/fedc_task_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/t.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"rounds\": 4,\n \"local\": {\"lr\": -1}}\n", f);
    fclose(f);
    fedc_task t;
    fedc_error err;
    assert_int_equal(fedc_task_load(path, &t, &err), -1);
    char expected[512];
    snprintf(expected, sizeof expected,
             "%s: local.lr: -1 is out of range; allowed: a number >= 0 and <= 10", path);
    assert_string_equal(err.msg, expected);

    f = fopen(path, "w");
    fputs("{\"rounds\": 4}", f);
    fclose(f);
    assert_int_equal(fedc_task_load(path, &t, &err), 0);
    assert_int_equal(t.rounds, 4);

    /* Over the size limit: refused without reading it all into a task. */
    f = fopen(path, "w");
    for (int i = 0; i < FEDC_TASK_JSON_MAX / 16 + 1; i++) fputs("                ", f);
    fclose(f);
    assert_int_equal(fedc_task_load(path, &t, &err), -1);
    assert_contains(err.msg, "more than 1048576 bytes");

    /* "-" reads standard input. */
    f = fopen(path, "w");
    fputs("{\"rounds\": 6}", f);
    fclose(f);
    assert_non_null(freopen(path, "r", stdin));
    assert_int_equal(fedc_task_load("-", &t, &err), 0);
    assert_int_equal(t.rounds, 6);
    f = fopen(path, "w");
    fputs("{\"rounds\": 0}", f);
    fclose(f);
    assert_non_null(freopen(path, "r", stdin));
    assert_int_equal(fedc_task_load("-", &t, &err), -1);
    assert_string_equal(err.msg, "<stdin>: rounds: 0 is out of range; allowed: an integer >= 1 "
                                 "and <= 100000");
    unlink(path);

    assert_int_equal(fedc_task_load(path, &t, &err), -1);
    assert_contains(err.msg, "cannot open");
    assert_int_equal(fedc_task_load(dir, &t, &err), -1);
    assert_contains(err.msg, "cannot read");
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_benchmark),
        cmocka_unit_test(test_empty_object_is_defaults),
        cmocka_unit_test(test_round_trip_defaults),
        cmocka_unit_test(test_round_trip_awkward_values),
        cmocka_unit_test(test_to_json_key_order_and_format),
        cmocka_unit_test(test_integral_real_is_an_integer),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_long_values_are_cut_in_messages),
        cmocka_unit_test(test_range_errors),
        cmocka_unit_test(test_enum_errors),
        cmocka_unit_test(test_string_errors),
        cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_json_syntax_and_size),
        cmocka_unit_test(test_first_error_in_document_order),
        cmocka_unit_test(test_failed_parse_leaves_task_unchanged),
        cmocka_unit_test(test_from_json_all_collects_every_problem),
        cmocka_unit_test(test_many_unknown_fields_are_capped),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
