/* fedc_task_validate / fedc_task_validate_all: cross-field rules, checks of
 * structs filled in by code (not from JSON), and agreement of the task's
 * tables with the layers that implement each choice. */
#include <math.h>
#include <stdint.h>

#include "fedc/catalog.h"
#include "fedc/codec.h"
#include "fedc/data.h"
#include "fedc/nn.h"
#include "fedc/sched.h"
#include "task_test_util.h"

static const char *validate_err(const fedc_task *t) {
    static fedc_error err;
    memset(&err, 0, sizeof err);
    if (fedc_task_validate(t, &err) == 0) fail_msg("expected the task to be refused");
    return err.msg;
}

static void test_clients_per_round_at_most_clients(void **state) {
    (void)state;
    assert_string_equal(task_parse_err("{\"clients\": 5}"),
                        "clients_per_round: 10 is more than clients (5); allowed: an integer >= 1 "
                        "and <= clients");
    fedc_task t = task_parse_ok("{\"clients\": 10, \"clients_per_round\": 10}");
    assert_int_equal(t.clients_per_round, 10);
}

static void test_deploy_counts(void **state) {
    (void)state;
    assert_string_equal(task_parse_err("{\"deploy\": {\"min_updates\": 20}}"),
                        "deploy.min_updates: 20 is more than clients_per_round (10), so no round "
                        "could ever aggregate; allowed: an integer >= 1 and <= clients_per_round");
    assert_string_equal(task_parse_err("{\"deploy\": {\"min_nodes\": 101}}"),
                        "deploy.min_nodes: 101 is more than clients (100); allowed: an integer >= "
                        "1 and <= clients");
    task_parse_ok("{\"deploy\": {\"min_updates\": 10, \"min_nodes\": 100}}");
}

static void test_dataset_paths_required(void **state) {
    (void)state;
    assert_string_equal(task_parse_err("{\"dataset\": {\"name\": \"csv\"}}"),
                        "dataset.path: required when dataset.name is csv; allowed: the path of "
                        "the training CSV file");
    assert_starts_with(task_parse_err("{\"dataset\": {\"name\": \"csv\", \"path\": \"a.csv\"}}"),
                       "dataset.test_path: required when dataset.name is csv");
    assert_starts_with(task_parse_err("{\"dataset\": {\"name\": \"csv\", \"path\": \"a.csv\", "
                                      "\"test_path\": \"b.csv\"}}"),
                       "dataset.label_column: required when dataset.name is csv");
    /* Every catalog dataset has a location of its own (fetched when
     * missing): a name alone is a task. */
    const char *names[] = {"mnist", "fashion-mnist", "emnist-byclass", "emnist-balanced",
                           "emnist-digits", "femnist", "cifar10", "cifar100", "svhn"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char json[160];
        snprintf(json, sizeof json, "{\"dataset\": {\"name\": \"%s\"}, \"model\": \"cnn\"}", names[i]);
        task_parse_ok(json);
    }
    task_parse_ok("{\"dataset\": {\"name\": \"mnist\", \"path\": \"/data/mnist\"}}");
    assert_starts_with(task_parse_err("{\"dataset\": {\"name\": \"cifar10\", \"fetch\": \"maybe\"}}"),
                       "dataset.fetch: \"maybe\" is not allowed; allowed: auto, never");
    /* The model cannot be checked before the CSV gives the input shape. */
    fedc_task t = task_parse_ok("{\"dataset\": {\"name\": \"csv\", \"path\": \"a.csv\", "
                                "\"test_path\": \"b.csv\", \"label_column\": \"y\"}, "
                                "\"model\": \"dense:16,dense:3\"}");
    assert_string_equal(t.dataset.label_column, "y");
    /* In the all-errors form each missing piece is listed. */
    fedc_task_issue *issues = NULL;
    const char *json = "{\"dataset\": {\"name\": \"csv\"}}";
    assert_int_equal(fedc_task_from_json_all(json, strlen(json), &t, &issues), 3);
    assert_string_equal(issues[0].path, "dataset.path");
    assert_string_equal(issues[1].path, "dataset.test_path");
    assert_string_equal(issues[2].path, "dataset.label_column");
    free(issues);
}

static void test_feature_skew_and_local_params_checked(void **state) {
    (void)state;
    assert_string_equal(task_parse_err("{\"partition\": {\"feature_skew\": \"sepia\"}}"),
                        "partition.feature_skew: feature skew: domain \"sepia\" is not known; allowed: id, "
                        "rotate:DEG, noise:SIGMA, blur:R, contrast:F, invert, grey");
    assert_starts_with(task_parse_err("{\"partition\": {\"feature_skew\": \"grey\"}}"),
                       "partition.feature_skew: feature skew: domain \"grey\": needs colour");
    assert_starts_with(task_parse_err("{\"strategy\": {\"local_params\": \"bn\"}}"),
                       "strategy.local_params: tensor selector \"bn\": \"bn\" matches no layer");
    assert_starts_with(task_parse_err("{\"strategy\": {\"local_params\": \"dense\"}}"),
                       "strategy.local_params: \"dense\" keeps every trained parameter local");
    assert_starts_with(task_parse_err("{\"strategy\": {\"local_params\": \"last:4\"}}"),
                       "strategy.local_params: tensor selector \"last:4\": \"last:4\": K must be 1 to 3");
    task_parse_ok("{\"model\": \"conv:8:5,bn,pool:2,dense:10\", \"strategy\": {\"local_params\": \"bn\"}, "
                  "\"partition\": {\"feature_skew\": \"mixed\"}}");
    task_parse_ok("{\"strategy\": {\"local_params\": \"last:1\"}}");
}

/* cifar100's coarse labels, svhn's extra split and femnist's natural split
 * belong to those datasets; the model and shards follow the class count. */
static void test_catalog_options(void **state) {
    (void)state;
    assert_string_equal(task_parse_err("{\"dataset\": {\"name\": \"cifar10\", \"labels\": \"coarse\"}}"),
                        "dataset.labels: coarse is not available for cifar10; allowed: fine (only "
                        "cifar100 has coarse labels)");
    task_parse_ok("{\"dataset\": {\"name\": \"cifar100\", \"labels\": \"coarse\"}}");
    assert_string_equal(task_parse_err("{\"dataset\": {\"name\": \"mnist\", \"extra\": true}}"),
                        "dataset.extra: true is not available for mnist; allowed: false (only svhn "
                        "has an extra split)");
    task_parse_ok("{\"dataset\": {\"name\": \"svhn\", \"extra\": true}}");
    assert_starts_with(task_parse_err("{\"partition\": {\"kind\": \"natural\"}}"),
                       "partition.kind: natural needs a dataset with a natural split, and "
                       "fashion-mnist has none");
    task_parse_ok("{\"dataset\": {\"name\": \"femnist\"}, \"partition\": {\"kind\": \"natural\"}}");
    /* 20 coarse classes: shards and the model's last layer follow. */
    assert_starts_with(task_parse_err("{\"dataset\": {\"name\": \"cifar100\", \"labels\": \"coarse\"}, "
                                      "\"partition\": {\"kind\": \"shards\", \"classes_per_client\": 21}}"),
                       "partition.classes_per_client: 21 is more than the 20 classes of dataset cifar100");
    assert_starts_with(task_parse_err("{\"dataset\": {\"name\": \"cifar100\"}, \"model\": \"dense:64,dense:10\"}"),
                       "model:");
    task_parse_ok("{\"dataset\": {\"name\": \"cifar100\"}, \"model\": \"dense:64,dense:100\"}");
    task_parse_ok("{\"dataset\": {\"name\": \"emnist-balanced\"}, \"model\": \"dense:64,dense:47\"}");
}

/* The task's dataset names are the data catalog's, plus csv. */
static void test_dataset_names_are_the_catalog(void **state) {
    (void)state;
    int n = 0;
    for (const char *const *s = task_datasets; *s; s++, n++) {
        if (!strcmp(*s, "csv")) continue;
        const fedc_catalog_entry *e = fedc_catalog_builtin(*s);
        if (!e || strcmp(e->name, *s) != 0) fail_msg("dataset.name %s is not a catalog entry", *s);
    }
    fedc_error err;
    fedc_catalog *c = fedc_catalog_load_json(NULL, 0, NULL, &err);
    assert_non_null(c);
    assert_int_equal(n, fedc_catalog_count(c) + 1);
    for (int i = 0; i < fedc_catalog_count(c); i++) {
        int found = 0;
        for (const char *const *s = task_datasets; *s; s++) found |= !strcmp(*s, fedc_catalog_at(c, i)->name);
        if (!found) fail_msg("catalog entry %s is not a dataset.name choice", fedc_catalog_at(c, i)->name);
    }
    fedc_catalog_free(c);
}

static void test_shards_classes_bounded_by_dataset(void **state) {
    (void)state;
    assert_string_equal(
        task_parse_err("{\"partition\": {\"kind\": \"shards\", \"classes_per_client\": 11}}"),
        "partition.classes_per_client: 11 is more than the 10 classes of dataset fashion-mnist; "
        "allowed: an integer >= 1 and <= 10");
    task_parse_ok("{\"partition\": {\"kind\": \"shards\", \"classes_per_client\": 10}}");
    /* Unused unless kind is shards. */
    task_parse_ok("{\"partition\": {\"kind\": \"iid\", \"classes_per_client\": 11}}");
}

static void test_model_checked_against_dataset(void **state) {
    (void)state;
    task_parse_ok("{\"model\": \"cnn\"}");
    task_parse_ok("{\"model\": \"cnn\", \"dataset\": {\"name\": \"cifar10\", \"path\": \"/c\"}}");
    task_parse_ok("{\"model\": \"conv:8:3,pool:2,dense:10\"}");
    const char *msg = task_parse_err("{\"model\": \"dense:200,dense:7\"}");
    assert_starts_with(msg, "model: ");
    assert_contains(msg, "(input 1x28x28 and 10 classes of dataset fashion-mnist)");
    msg = task_parse_err("{\"model\": \"conv:8:3,bogus:1,dense:10\", \"dataset\": {\"name\": "
                         "\"cifar10\", \"path\": \"/c\"}}");
    assert_starts_with(msg, "model: ");
    assert_contains(msg, "bogus");
    assert_contains(msg, "(input 3x32x32 and 10 classes of dataset cifar10)");
}

static void test_compression_checked_by_codec(void **state) {
    (void)state;
    fedc_task t = task_parse_ok("{\"compression\": {\"up\": \"topk:0.01|q8|zstd\", \"down\": "
                                "\"fp16\"}}");
    assert_string_equal(t.compression.up, "topk:0.01|q8|zstd");
    const char *msg = task_parse_err("{\"compression\": {\"up\": \"q7\"}}");
    assert_starts_with(msg, "compression.up: ");
    assert_contains(msg, "q7");
    fedc_error codec_err = {{0}};
    assert_int_equal(fedc_codec_check("q7", &codec_err), -1);
    assert_contains(msg, codec_err.msg); /* the codec's own words, after the path */
    assert_starts_with(task_parse_err("{\"compression\": {\"down\": \"zstd|\"}}"),
                       "compression.down: ");
}

static void test_scheduling_checked(void **state) {
    (void)state;
    task_parse_ok("{\"scheduling\": {\"policy\": \"power-of-choice\", \"choice_d\": 30}}");
    task_parse_ok("{\"scheduling\": {\"policy\": \"power-of-choice\"}}");
    assert_string_equal(
        task_parse_err("{\"scheduling\": {\"policy\": \"power-of-choice\", \"choice_d\": 5}}"),
        "scheduling.choice_d: 5 candidates cannot yield clients_per_round (10) clients out of "
        "clients (100); allowed: 0 (= 2 x clients_per_round) or an integer >= clients_per_round "
        "and <= clients");
    assert_starts_with(
        task_parse_err("{\"scheduling\": {\"policy\": \"power-of-choice\", \"choice_d\": 101}}"),
        "scheduling.choice_d: 101 candidates");
    /* choice_d is ignored by the other policies. */
    task_parse_ok("{\"scheduling\": {\"policy\": \"random\", \"choice_d\": 5}}");
    task_parse_ok("{\"scheduling\": {\"policy\": \"deadline\", \"deadline_s\": 30}}");
    assert_string_equal(task_parse_err("{\"scheduling\": {\"policy\": \"deadline\"}}"),
                        "scheduling.deadline_s: 0 is not allowed with policy deadline; allowed: a "
                        "number of seconds > 0 and <= 604800");
    /* The scheduler agrees with the rule the task states for it. */
    fedc_sched_config cfg = {.policy = "deadline", .choice_d = 0, .deadline_s = 0};
    fedc_error sched_err = {{0}};
    assert_int_equal(fedc_sched_check(&cfg, &sched_err), -1);
    cfg.deadline_s = 1;
    assert_int_equal(fedc_sched_check(&cfg, &sched_err), 0);
}

/* Robust aggregation and simulated attacks: the round sizes the selection
 * rules need, what FRL's rankings rule out, attack settings against the
 * data, and robust rules refused where the server never sees one update. */
static void test_robust_rules_checked(void **state) {
    (void)state;
    assert_string_equal(task_parse_err("{\"strategy\": {\"aggregator\": \"bulyan\", \"byzantine_fraction\": 0.2}}"),
                        "clients_per_round: 10 updates per round are too few for bulyan with byzantine_fraction "
                        "0.2 (f = 2): it needs at least 11; allowed: an integer >= 11, or a smaller "
                        "strategy.byzantine_fraction");
    task_parse_ok("{\"strategy\": {\"aggregator\": \"krum\", \"byzantine_fraction\": 0.3}}");
    assert_starts_with(task_parse_err("{\"strategy\": {\"aggregator\": \"krum\", \"byzantine_fraction\": 0.4}}"),
                       "clients_per_round: 10 updates per round are too few for krum");
    assert_starts_with(task_parse_err("{\"strategy\": {\"aggregator\": \"multi-krum\", \"krum_m\": 11}}"),
                       "strategy.krum_m: 11 is more than clients_per_round (10)");
    assert_starts_with(task_parse_err("{\"strategy\": {\"aggregator\": \"frl\", \"name\": \"fedadam\"}}"),
                       "strategy.name: \"fedadam\" cannot step on an FRL vote");
    assert_starts_with(task_parse_err("{\"strategy\": {\"aggregator\": \"frl\"}, \"compression\": {\"up\": \"q8\"}}"),
                       "compression.up: \"q8\" is lossy and would scramble rankings");
    task_parse_ok("{\"strategy\": {\"aggregator\": \"frl\"}, \"compression\": {\"up\": \"zstd\"}}");
    assert_starts_with(task_parse_err("{\"attack\": {\"kind\": \"sign-flip\", \"fraction\": 0.001}}"),
                       "attack.fraction: 0.001 of 100 clients is no attacker");
    assert_string_equal(task_parse_err("{\"attack\": {\"kind\": \"backdoor\", \"target\": 10}}"),
                        "attack.target: 10 is not a class of fashion-mnist; allowed: an integer >= 0 and < 10");
    assert_starts_with(task_parse_err("{\"attack\": {\"kind\": \"noise\", \"fraction\": 0.6, \"unreliable\": 0.5}}"),
                       "attack.unreliable: 50 unreliable clients and 60 attackers are more than the 100 clients");

    /* Central DP and secure aggregation give the server one combined update. */
    const char *dp = "\"privacy\": {\"mode\": \"dp-fedavg\", \"clip\": 1, \"noise_multiplier\": 1}";
    char json[512];
    snprintf(json, sizeof json, "{\"strategy\": {\"aggregator\": \"median\"}, %s}", dp);
    assert_string_equal(task_parse_err(json),
                        "strategy.aggregator: \"median\" is not allowed with privacy.mode dp-fedavg: it judges each "
                        "update on its own, and the server hands the aggregator only the clipped, noised mean of "
                        "the updates; allowed: mean, or privacy.mode none or dp-gaussian (local noise, each update "
                        "still seen)");
    snprintf(json, sizeof json, "{\"strategy\": {\"norm_bound\": 5}, %s}", dp);
    assert_starts_with(task_parse_err(json), "strategy.norm_bound: 5 is not allowed with privacy.mode dp-fedavg");
    assert_contains(task_parse_err(json), "allowed: 0, with privacy.clip bounding each update's norm");
    snprintf(json, sizeof json, "{\"strategy\": {\"aggregator\": \"mean\"}, %s}", dp);
    task_parse_ok(json);
    const char *robust[] = {"median", "trimmed-mean", "krum", "multi-krum", "bulyan", "geomed", "flag", "mudhog"};
    for (size_t i = 0; i < sizeof robust / sizeof robust[0]; i++) {
        snprintf(json, sizeof json, "{\"strategy\": {\"aggregator\": \"%s\"}, \"secagg\": {\"mode\": \"secagg+\"}}",
                 robust[i]);
        const char *msg = task_parse_err(json);
        assert_starts_with(msg, "strategy.aggregator: ");
        assert_contains(msg, "is not allowed with secagg.mode secagg+: it judges each update on its own, and the "
                             "server learns only the sum of the updates; allowed: mean, or secagg.mode none");
    }
    assert_starts_with(task_parse_err("{\"strategy\": {\"norm_bound\": 2}, \"secagg\": {\"mode\": \"secagg+\"}}"),
                       "strategy.norm_bound: 2 is not allowed with secagg.mode secagg+");
    /* FRL's vote sums rankings unweighted; SecAgg+ clips and weights by
     * samples, so it is refused too. */
    assert_starts_with(task_parse_err("{\"strategy\": {\"aggregator\": \"frl\"}, \"secagg\": {\"mode\": \"secagg+\"}}"),
                       "strategy.aggregator: \"frl\" is not allowed with secagg.mode secagg+");
    task_parse_ok("{\"strategy\": {\"aggregator\": \"mean\"}, \"secagg\": {\"mode\": \"secagg+\"}}");
    /* Local DP leaves every update in sight: robust rules still run. */
    task_parse_ok("{\"strategy\": {\"aggregator\": \"median\"}, \"privacy\": {\"mode\": \"dp-gaussian\", \"clip\": 1, "
                  "\"noise_multiplier\": 0.1}}");
    /* Asynchronous strategies: fedbuff and fedfix combine their arrivals
     * through the rule (fedbuff's margins hold for its buffer); async-fedavg
     * steps on every update alone. */
    task_parse_ok("{\"strategy\": {\"name\": \"fedbuff\", \"aggregator\": \"median\", \"buffer_size\": 5}}");
    task_parse_ok("{\"strategy\": {\"name\": \"fedfix\", \"aggregator\": \"mudhog\", \"window_s\": 2}}");
    /* Decentralised strategies: no server combines updates, so no rule can. */
    assert_string_equal(task_parse_err("{\"clients_per_round\": 100, \"strategy\": {\"name\": \"dpsgd\", "
                                       "\"aggregator\": \"median\"}}"),
                        "strategy.aggregator: \"median\" is not allowed with strategy dpsgd: no server combines the "
                        "updates, every node averages its neighbours' models; allowed: mean");
    assert_starts_with(task_parse_err("{\"clients_per_round\": 100, \"strategy\": {\"name\": \"gossip\", "
                                      "\"norm_bound\": 3}}"),
                       "strategy.norm_bound: 3 is not allowed with strategy gossip");
    task_parse_ok("{\"clients_per_round\": 100, \"strategy\": {\"name\": \"dpsgd\", \"aggregator\": \"mean\"}}");
    /* ... nor a global model for the nodes to score. */
    assert_starts_with(task_parse_err("{\"clients_per_round\": 100, \"strategy\": {\"name\": \"dpsgd\"}, "
                                      "\"eval\": {\"federated\": true}}"),
                       "eval.federated: true, but strategy dpsgd has no global model for the nodes to score");
    /* frl trains a supermask of a built-in model in fedc's trainer. */
    assert_starts_with(task_parse_err("{\"model\": \"external\", \"strategy\": {\"aggregator\": \"frl\"}}"),
                       "strategy.aggregator: frl has fedc's trainer learn a supermask");
    task_parse_ok("{\"model\": \"external\", \"strategy\": {\"aggregator\": \"median\"}}");
    assert_string_equal(task_parse_err("{\"strategy\": {\"name\": \"fedbuff\", \"aggregator\": \"krum\", "
                                       "\"buffer_size\": 4, \"byzantine_fraction\": 0.3}}"),
                        "strategy.buffer_size: 4 updates per fedbuff aggregation are too few for krum with "
                        "byzantine_fraction 0.3 (f = 1): it needs at least 5; allowed: an integer >= 5, or a "
                        "smaller strategy.byzantine_fraction");
    assert_string_equal(task_parse_err("{\"strategy\": {\"name\": \"async-fedavg\", \"aggregator\": \"geomed\"}}"),
                        "strategy.aggregator: \"geomed\" is not allowed with strategy.name async-fedavg: it "
                        "aggregates each update alone as it arrives, so there is no other update to judge it "
                        "against; allowed: mean (with strategy.norm_bound to bound each update), or "
                        "strategy.name fedbuff or fedfix");
    task_parse_ok("{\"strategy\": {\"name\": \"async-fedavg\", \"norm_bound\": 5}}");
    /* FRL's clients hold supermask scores, not a model of their own. */
    assert_starts_with(task_parse_err("{\"strategy\": {\"aggregator\": \"frl\", \"local_params\": \"last:1\"}}"),
                       "strategy.local_params: \"last:1\" would keep supermask scores on the clients");
    assert_starts_with(task_parse_err("{\"strategy\": {\"aggregator\": \"frl\"}, \"eval_personal\": 100}"),
                       "eval_personal: 100: under frl the clients start from supermask scores");
}

static void test_struct_checks(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    t.local.lr = NAN;
    assert_string_equal(validate_err(&t),
                        "local.lr: nan is out of range; allowed: a number >= 0 and <= 10");
    fedc_task_defaults(&t);
    t.stop.max_wall_s = INFINITY;
    assert_starts_with(validate_err(&t), "stop.max_wall_s: inf is out of range");
    fedc_task_defaults(&t);
    t.local.nesterov = 2;
    assert_string_equal(validate_err(&t),
                        "local.nesterov: 2 is not a boolean; allowed: 0 (false) or 1 (true)");
    fedc_task_defaults(&t);
    t.seed = UINT64_MAX;
    assert_string_equal(validate_err(&t), "seed: 18446744073709551615 is out of range; allowed: "
                                          "an integer >= 0 and <= 9223372036854775807");
    fedc_task_defaults(&t);
    memset(t.name, 'a', sizeof t.name);
    assert_string_equal(validate_err(&t), "name: not NUL-terminated within its 64 bytes");
    fedc_task_defaults(&t);
    strcpy(t.model, "dense:10\xff");
    assert_string_equal(validate_err(&t), "model: not valid UTF-8 text");
    fedc_task_defaults(&t);
    t.rounds = -3;
    assert_string_equal(validate_err(&t),
                        "rounds: -3 is out of range; allowed: an integer >= 1 and <= 100000");
    fedc_task_defaults(&t);
    strcpy(t.strategy.name, "scafold");
    assert_starts_with(validate_err(&t), "strategy.name: \"scafold\" is not allowed");
}

static void test_invalid_struct_to_json_does_not_crash(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    t.local.lr = NAN;
    strcpy(t.name, "bad\xff");
    t.seed = UINT64_MAX;
    char *json = fedc_task_to_json(&t, 0);
    assert_non_null(json);
    assert_contains(json, "\"name\":null");
    assert_contains(json, "\"lr\":null");
    fedc_task_issue *issues = NULL;
    int n = fedc_task_from_json_all(json, strlen(json), &t, &issues);
    assert_int_equal(n, 3);
    assert_string_equal(issues[0].msg, "name: expected a string, got null");
    assert_string_equal(issues[1].msg, "local.lr: expected a number, got null");
    assert_starts_with(issues[2].msg, "seed: 1.844674407370");
    assert_contains(issues[2].msg, "is out of range; allowed: an integer >= 0");
    free(issues);
    free(json);
}

static void test_validate_all(void **state) {
    (void)state;
    fedc_task t;
    fedc_task_defaults(&t);
    fedc_task_issue *issues = (fedc_task_issue *)1;
    assert_int_equal(fedc_task_validate_all(&t, &issues), 0);
    assert_null(issues);

    t.rounds = 0;
    t.local.lr = -1;
    strcpy(t.privacy.mode, "dp");
    t.clients = 4;
    t.clients_per_round = 4;
    t.deploy.min_updates = 5; /* > clients_per_round */
    strcpy(t.partition.kind, "shards");
    t.partition.classes_per_client = 11; /* > 10 classes */
    int n = fedc_task_validate_all(&t, &issues);
    assert_int_equal(n, 5);
    /* Field checks in table order, then the cross-field rules. */
    assert_string_equal(issues[0].path, "rounds");
    assert_string_equal(issues[1].path, "local.lr");
    assert_string_equal(issues[2].path, "privacy.mode");
    assert_string_equal(issues[3].path, "deploy.min_updates");
    assert_string_equal(issues[4].path, "partition.classes_per_client");
    for (int i = 0; i < n; i++) assert_starts_with(issues[i].msg, issues[i].path);
    fedc_error err;
    assert_int_equal(fedc_task_validate(&t, &err), -1);
    assert_string_equal(err.msg, issues[0].msg); /* validate reports the first */
    free(issues);

    /* A bad count is not reported again through the rules that read it. */
    fedc_task_defaults(&t);
    t.clients = 0;
    n = fedc_task_validate_all(&t, &issues);
    assert_int_equal(n, 1);
    assert_string_equal(issues[0].path, "clients");
    free(issues);
    fedc_task_defaults(&t);
    t.clients_per_round = 200; /* > clients: min_updates is then not judged against it */
    t.deploy.min_updates = 150;
    n = fedc_task_validate_all(&t, &issues);
    assert_int_equal(n, 1);
    assert_string_equal(issues[0].path, "clients_per_round");
    free(issues);
}

static void test_tables_match_the_layers(void **state) {
    (void)state;
    for (const char *const *s = task_optimizers; *s; s++) {
        fedc_opt_kind k;
        if (fedc_opt_kind_parse(*s, &k) != 0) fail_msg("nn does not know optimizer %s", *s);
    }
    for (const char *const *s = task_partition_kinds; *s; s++) {
        fedc_part_kind k;
        if (fedc_part_kind_parse(*s, &k) != 0) fail_msg("data does not know partition %s", *s);
    }
    for (const char *const *s = task_sched_policies; *s; s++) {
        fedc_sched_config cfg = {.choice_d = 0, .deadline_s = 10};
        snprintf(cfg.policy, sizeof cfg.policy, "%s", *s);
        fedc_error err = {{0}};
        if (fedc_sched_check(&cfg, &err) != 0) fail_msg("sched refuses policy %s: %s", *s, err.msg);
    }
    /* Every choice of every enum field validates (with what it needs). */
    for (int i = 0; i < task_nfields; i++) {
        const task_field *f = &task_fields[i];
        if (!f->choices) continue;
        for (const char *const *c = f->choices; *c; c++) {
            char set[128];
            fedc_task t;
            fedc_task_defaults(&t);
            fedc_error err = {{0}};
            assert_int_equal(fedc_task_set(&t, "scheduling.deadline_s=10", &err), 0);
            assert_int_equal(fedc_task_set(&t, "dataset.path=/tmp/x.csv", &err), 0);
            assert_int_equal(fedc_task_set(&t, "dataset.label_column=label", &err), 0);
            assert_int_equal(fedc_task_set(&t, "dataset.test_path=/tmp/y.csv", &err), 0);
            assert_int_equal(fedc_task_set(&t, "strategy.window_s=10", &err), 0); /* fedfix needs it */
            /* the decentralised strategies train every client every round */
            assert_int_equal(fedc_task_set(&t, "clients_per_round=100", &err), 0);
            /* choices that belong to one dataset come with it */
            if (!strcmp(*c, "coarse")) assert_int_equal(fedc_task_set(&t, "dataset.name=cifar100", &err), 0);
            if (!strcmp(*c, "natural")) assert_int_equal(fedc_task_set(&t, "dataset.name=femnist", &err), 0);
            if (!strcmp(*c, "synthetic")) { /* by way of femnist, the other dataset with a natural split */
                assert_int_equal(fedc_task_set(&t, "dataset.name=femnist", &err), 0);
                assert_int_equal(fedc_task_set(&t, "partition.kind=natural", &err), 0);
            }
            snprintf(set, sizeof set, "%s=%s", f->path, *c);
            if (fedc_task_set(&t, set, &err) != 0) fail_msg("%s refused: %s", set, err.msg);
        }
    }
}

static void test_table_is_consistent(void **state) {
    (void)state;
    for (int i = 0; i < task_nfields; i++) {
        const task_field *f = &task_fields[i];
        assert_ptr_equal(task_field_find(f->path), f);
        const char *dot = strchr(f->path, '.');
        if (dot) {
            char group[32];
            snprintf(group, sizeof group, "%.*s", (int)(dot - f->path), f->path);
            if (!task_group_find(group) && strcmp(f->path, "model.manifest") != 0) /* inside the model object */
                fail_msg("%s: group %s not in task_groups", f->path, group);
            assert_null(strchr(dot + 1, '.'));
        }
        assert_true(strlen(f->description) > 20);
        if (f->type == TASK_INT || f->type == TASK_BOOL) assert_int_equal(f->size, sizeof(int));
        if (f->type == TASK_NUMBER) assert_int_equal(f->size, sizeof(double));
        if (f->type == TASK_U64) assert_int_equal(f->size, sizeof(uint64_t));
        if (f->type == TASK_STRING) assert_true(f->size > f->min_len);
    }
    /* Struct order: offsets grow, so JSON key order is struct order. */
    for (int i = 1; i < task_nfields; i++)
        assert_true(task_fields[i].offset > task_fields[i - 1].offset);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clients_per_round_at_most_clients),
        cmocka_unit_test(test_deploy_counts),
        cmocka_unit_test(test_dataset_paths_required),
        cmocka_unit_test(test_catalog_options),
        cmocka_unit_test(test_dataset_names_are_the_catalog),
        cmocka_unit_test(test_shards_classes_bounded_by_dataset),
        cmocka_unit_test(test_feature_skew_and_local_params_checked),
        cmocka_unit_test(test_model_checked_against_dataset),
        cmocka_unit_test(test_compression_checked_by_codec),
        cmocka_unit_test(test_scheduling_checked),
        cmocka_unit_test(test_robust_rules_checked),
        cmocka_unit_test(test_struct_checks),
        cmocka_unit_test(test_invalid_struct_to_json_does_not_crash),
        cmocka_unit_test(test_validate_all),
        cmocka_unit_test(test_tables_match_the_layers),
        cmocka_unit_test(test_table_is_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
