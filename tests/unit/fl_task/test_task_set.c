/* fedc_task_set: "path=value" overrides go through the same checks and
 * messages as JSON, and a refused override leaves the task as it was. */
#include "task_test_util.h"

static fedc_task defaults(void) {
    fedc_task t;
    fedc_task_defaults(&t);
    return t;
}

static void set_ok(fedc_task *t, const char *assignment) {
    fedc_error err = {{0}};
    if (fedc_task_set(t, assignment, &err) != 0) fail_msg("set %s: %s", assignment, err.msg);
}

/* Expects the assignment to be refused without touching the task. */
static const char *set_err(fedc_task *t, const char *assignment) {
    static fedc_error err;
    memset(&err, 0, sizeof err);
    fedc_task before = *t;
    if (fedc_task_set(t, assignment, &err) == 0) fail_msg("expected %s to be refused", assignment);
    if (!task_equal(&before, t)) fail_msg("refused %s changed the task", assignment);
    return err.msg;
}

static void test_set_values_of_each_type(void **state) {
    (void)state;
    fedc_task t = defaults();
    set_ok(&t, "model=cnn");
    assert_string_equal(t.model, "cnn");
    set_ok(&t, "partition.kind=dirichlet");
    set_ok(&t, "partition.alpha=0.1");
    assert_string_equal(t.partition.kind, "dirichlet");
    assert_true(t.partition.alpha == 0.1);
    set_ok(&t, "rounds=10");
    assert_int_equal(t.rounds, 10);
    set_ok(&t, "local.lr=1e-2");
    assert_true(t.local.lr == 0.01);
    set_ok(&t, "local.nesterov=true");
    assert_int_equal(t.local.nesterov, 1);
    set_ok(&t, "seed=123456789012");
    assert_true(t.seed == 123456789012ull);
    set_ok(&t, "compression.up=topk:0.01|q8|zstd");
    assert_string_equal(t.compression.up, "topk:0.01|q8|zstd");
    set_ok(&t, "model=conv:32:5,pool:2,conv:64:5,pool:2,dense:512,dense:10");
    assert_string_equal(t.model, "conv:32:5,pool:2,conv:64:5,pool:2,dense:512,dense:10");
}

static void test_string_fields_take_bare_or_json_strings(void **state) {
    (void)state;
    fedc_task t = defaults();
    set_ok(&t, "name=2024"); /* a number, but name is a string */
    assert_string_equal(t.name, "2024");
    set_ok(&t, "name=\"quoted run\"");
    assert_string_equal(t.name, "quoted run");
    set_ok(&t, "name=true");
    assert_string_equal(t.name, "true");
    set_ok(&t, "name=my run=2");
    assert_string_equal(t.name, "my run=2"); /* only the first '=' splits */
    set_ok(&t, "  model =  cnn  ");
    assert_string_equal(t.model, "cnn");
    set_ok(&t, "dataset.path=/data/fmnist dir");
    assert_string_equal(t.dataset.path, "/data/fmnist dir");
}

static void test_set_object_merges(void **state) {
    (void)state;
    fedc_task t = defaults();
    set_ok(&t, "local.epochs=3");
    set_ok(&t, "local={\"lr\": 0.1, \"batch\": 64}");
    assert_int_equal(t.local.epochs, 3); /* kept */
    assert_int_equal(t.local.batch, 64);
    assert_true(t.local.lr == 0.1);
    assert_starts_with(set_err(&t, "local={\"lrr\": 0.1}"), "local.lrr: unknown field");
    assert_string_equal(set_err(&t, "local=5"), "local: expected an object, got 5");
}

static void test_set_errors(void **state) {
    (void)state;
    fedc_task t = defaults();
    assert_string_equal(set_err(&t, "rounds"),
                        "set: \"rounds\" has no '='; expected path=value, e.g. local.lr=0.01 or "
                        "model=cnn");
    assert_string_equal(set_err(&t, "=5"),
                        "set: empty path before '='; expected path=value, e.g. rounds=10");
    assert_string_equal(set_err(&t, "local..lr=1"),
                        "set: \"local..lr\" has an empty path segment; expected e.g. local.lr");
    assert_starts_with(set_err(&t, ".lr=1"), "set: \".lr\" has an empty path segment");
    assert_starts_with(set_err(&t, "local.lrr=1"),
                       "local.lrr: unknown field (did you mean local.lr?); allowed: epochs,");
    assert_starts_with(set_err(&t, "foo.bar=1"), "foo: unknown field; allowed: name,");
    assert_string_equal(set_err(&t, "rounds.x=1"),
                        "rounds.x: unknown field; rounds has no sub-fields");
    assert_string_equal(set_err(&t, "rounds=ten"), "rounds: expected an integer, got \"ten\"");
    assert_string_equal(set_err(&t, "rounds="), "rounds: expected an integer, got \"\"");
    assert_string_equal(set_err(&t, "local.lr=-0.5"),
                        "local.lr: -0.5 is out of range; allowed: a number >= 0 and <= 10");
    assert_string_equal(set_err(&t, "local.nesterov=yes"),
                        "local.nesterov: expected true or false, got \"yes\"");
    assert_string_equal(set_err(&t, "name="), "name: must not be empty");
    assert_starts_with(set_err(&t, "strategy.name=fedprx"),
                       "strategy.name: \"fedprx\" is not allowed (did you mean fedprox?)");
    /* Re-validation covers cross-field rules. */
    assert_string_equal(set_err(&t, "clients=5"),
                        "clients_per_round: 10 is more than clients (5); allowed: an integer >= 1 "
                        "and <= clients");
    assert_string_equal(set_err(&t, "name=bad\xff"), "name: value is not valid UTF-8 text");
    assert_starts_with(set_err(&t, "dataset.name=csv"), "dataset.path: required");
    char path[200];
    memset(path, 'p', 150);
    strcpy(path + 150, "=1");
    assert_string_equal(set_err(&t, path), "set: path of 150 bytes; allowed: at most 127 bytes");
    fedc_error err;
    assert_int_equal(fedc_task_set(&t, NULL, &err), -1);
    assert_contains(err.msg, "expected path=value");
}

static void test_set_sequence_matches_json(void **state) {
    (void)state;
    fedc_task a = defaults();
    set_ok(&a, "clients=20");
    set_ok(&a, "clients_per_round=20");
    set_ok(&a, "strategy.name=fedadam");
    set_ok(&a, "strategy.server_lr=0.03");
    set_ok(&a, "scheduling.policy=round-robin");
    fedc_task b = task_parse_ok("{\"clients\": 20, \"clients_per_round\": 20, \"strategy\": "
                                "{\"name\": \"fedadam\", \"server_lr\": 0.03}, \"scheduling\": "
                                "{\"policy\": \"round-robin\"}}");
    assert_true(task_equal(&a, &b));
}

static void test_set_many_validates_once(void **state) {
    (void)state;
    fedc_task t = defaults();
    /* One at a time, the policy cannot come before its deadline... */
    fedc_error err = {{0}};
    fedc_task one = t;
    assert_int_equal(fedc_task_set(&one, "scheduling.policy=deadline", &err), -1);
    assert_starts_with(err.msg, "scheduling");
    /* ...together, in any order, they can. */
    const char *sets[] = {"scheduling.policy=deadline", "scheduling.deadline_s=12.5", "clients=5",
                          "clients_per_round=5"};
    if (fedc_task_set_many(&t, sets, 4, &err) != 0) fail_msg("%s", err.msg);
    assert_string_equal(t.scheduling.policy, "deadline");
    assert_true(t.scheduling.deadline_s == 12.5);
    assert_int_equal(t.clients, 5);

    /* Any failure leaves the task as it was. */
    fedc_task before = t;
    const char *bad_syntax[] = {"rounds=7", "oops"};
    assert_int_equal(fedc_task_set_many(&t, bad_syntax, 2, &err), -1);
    assert_starts_with(err.msg, "set: \"oops\" has no '='");
    assert_true(task_equal(&t, &before));
    const char *bad_value[] = {"rounds=7", "local.lr=-1"};
    assert_int_equal(fedc_task_set_many(&t, bad_value, 2, &err), -1);
    assert_string_equal(err.msg, "local.lr: -1 is out of range; allowed: a number >= 0 and <= 10");
    assert_true(task_equal(&t, &before));
    /* Later assignments win. */
    const char *twice[] = {"rounds=7", "rounds=9"};
    assert_int_equal(fedc_task_set_many(&t, twice, 2, &err), 0);
    assert_int_equal(t.rounds, 9);
    assert_int_equal(fedc_task_set_many(&t, NULL, 0, &err), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_values_of_each_type),
        cmocka_unit_test(test_string_fields_take_bare_or_json_strings),
        cmocka_unit_test(test_set_object_merges),
        cmocka_unit_test(test_set_errors),
        cmocka_unit_test(test_set_sequence_matches_json),
        cmocka_unit_test(test_set_many_validates_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
