/* fedc_task_validate: every field against its table entry, then the rules
 * that tie fields together (counts that bound each other, the model against
 * the dataset's shape, codec and scheduler settings checked by their own
 * layers). Each cross-field rule is skipped when a field it reads already
 * has a problem, so one mistake gives one message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/catalog.h"
#include "fedc/codec.h"
#include "fedc/data.h"
#include "fedc/nn.h"
#include "fedc/privacy.h"
#include "fedc/sched.h"
#include "fedc/topology.h"
#include "fl/task/task_internal.h"

static void check_field(const fedc_task *t, const task_field *f, task_issues *iss) {
    const void *p = task_field_cptr(t, f);
    switch (f->type) {
    case TASK_STRING: {
        const char *nul = memchr(p, '\0', f->size);
        if (!nul) {
            task_issue(iss, f->path, "not NUL-terminated within its %zu bytes", f->size);
            return;
        }
        task_check_string(f, p, (size_t)(nul - (const char *)p), iss);
        return;
    }
    case TASK_INT:
        task_check_integer(f, *(const int *)p, iss);
        return;
    case TASK_U64:
        task_check_u64(f, *(const uint64_t *)p, iss);
        return;
    case TASK_NUMBER:
        task_check_number(f, *(const double *)p, iss);
        return;
    case TASK_BOOL: {
        int v = *(const int *)p;
        if (v != 0 && v != 1)
            task_issue(iss, f->path, "%d is not a boolean; allowed: 0 (false) or 1 (true)", v);
        return;
    }
    }
}

/* Whether any of the (NULL-terminated) paths already has an issue. */
static int any_issue(const task_issues *iss, const char *const *paths) {
    for (; *paths; paths++)
        if (task_has_issue(iss, *paths)) return 1;
    return 0;
}
#define ALL_OK(iss, ...) (!any_issue((iss), (const char *const[]){__VA_ARGS__, NULL}))

/* Input shape and class count of a catalog dataset as the task uses it
 * (cifar100's coarse labels have 20 classes); csv is known only once its
 * file is read. */
typedef struct dataset_shape {
    const char *name;
    fedc_shape shape;
    int n_classes;
    int natural;
} dataset_shape;

static int find_shape(const fedc_task *t, dataset_shape *out) {
    const fedc_catalog_entry *e = fedc_catalog_builtin(t->dataset.name);
    if (!e) return 0;
    out->name = e->name;
    out->shape = e->shape;
    out->n_classes = e->n_classes;
    if (!strcmp(t->dataset.labels, "coarse") && e->n_classes_coarse) out->n_classes = e->n_classes_coarse;
    out->natural = e->natural;
    return 1;
}

static void check_counts(const fedc_task *t, task_issues *iss) {
    if (ALL_OK(iss, "clients", "clients_per_round") && t->clients_per_round > t->clients)
        task_issue(iss, "clients_per_round",
                   "%d is more than clients (%d); allowed: an integer >= 1 and <= clients",
                   t->clients_per_round, t->clients);
    if (ALL_OK(iss, "clients_per_round", "deploy.min_updates") &&
        t->deploy.min_updates > t->clients_per_round)
        task_issue(iss, "deploy.min_updates",
                   "%d is more than clients_per_round (%d), so no round could ever aggregate; "
                   "allowed: an integer >= 1 and <= clients_per_round",
                   t->deploy.min_updates, t->clients_per_round);
    if (ALL_OK(iss, "local.epochs", "local.min_epochs") && t->local.min_epochs > t->local.epochs)
        task_issue(iss, "local.min_epochs",
                   "%d is more than local.epochs (%d); allowed: 0 (off) or an integer >= 1 and <= "
                   "local.epochs",
                   t->local.min_epochs, t->local.epochs);
    if (ALL_OK(iss, "clients", "deploy.min_nodes") && t->deploy.min_nodes > t->clients)
        task_issue(iss, "deploy.min_nodes",
                   "%d is more than clients (%d); allowed: an integer >= 1 and <= clients",
                   t->deploy.min_nodes, t->clients);
    if (ALL_OK(iss, "strategy.gate_sparsity", "strategy.gate_sparsity_min") &&
        t->strategy.gate_sparsity_min > t->strategy.gate_sparsity)
        task_issue(iss, "strategy.gate_sparsity_min",
                   "%g is more than strategy.gate_sparsity (%g); allowed: 0 (every client has "
                   "gate_sparsity) or a number <= gate_sparsity",
                   t->strategy.gate_sparsity_min, t->strategy.gate_sparsity);
}

/* Catalog datasets have a location of their own (fetched when missing);
 * csv needs its files and label column named; the catalog options apply
 * to the datasets that have them. */
static void check_dataset(const fedc_task *t, task_issues *iss) {
    if (!ALL_OK(iss, "dataset.name")) return;
    const fedc_catalog_entry *e = fedc_catalog_builtin(t->dataset.name);
    if (e && ALL_OK(iss, "dataset.labels") && !strcmp(t->dataset.labels, "coarse") && !e->n_classes_coarse)
        task_issue(iss, "dataset.labels", "coarse is not available for %s; allowed: fine (only cifar100 has coarse "
                                          "labels)",
                   e->name);
    if (e && ALL_OK(iss, "dataset.extra") && t->dataset.extra && !e->n_extra)
        task_issue(iss, "dataset.extra", "true is not available for %s; allowed: false (only svhn has an extra "
                                         "split)",
                   e->name);
    if (!strcmp(t->dataset.name, "synthetic")) {
        /* Its clients' data is generated when they train and dropped after:
         * nothing is held out of it beyond each client's own test samples. */
        if (ALL_OK(iss, "partition.test_fraction") && t->partition.test_fraction > 0)
            task_issue(iss, "partition.test_fraction",
                       "%g, but dataset synthetic's clients keep no data between rounds to split; allowed: 0",
                       t->partition.test_fraction);
        if (ALL_OK(iss, "validation") && t->validation > 0)
            task_issue(iss, "validation",
                       "%g, but dataset synthetic's clients keep no data to hold out; allowed: 0 (its test set is "
                       "the clients' own test samples)",
                       t->validation);
        if (ALL_OK(iss, "eval_personal") && t->eval_personal > 0)
            task_issue(iss, "eval_personal", "%d, but dataset synthetic has no per-domain test samples; allowed: 0",
                       t->eval_personal);
    }
    if (strcmp(t->dataset.name, "csv") != 0) return;
    if (ALL_OK(iss, "dataset.path") && t->dataset.path[0] == '\0')
        task_issue(iss, "dataset.path", "required when dataset.name is csv; allowed: the path of the training CSV "
                                        "file");
    if (ALL_OK(iss, "dataset.test_path") && t->dataset.test_path[0] == '\0')
        task_issue(iss, "dataset.test_path",
                   "required when dataset.name is csv; allowed: the path of the test CSV file, "
                   "with the same columns as the training file");
    if (ALL_OK(iss, "dataset.label_column") && t->dataset.label_column[0] == '\0')
        task_issue(iss, "dataset.label_column",
                   "required when dataset.name is csv; allowed: the name of the integer label "
                   "column in the CSV header");
}

/* Strategies whose client side is plain local training (fedprox: the node
 * adds the proximal term itself): the only ones a node's own model can run. */
/* The nodes' own training suffices for these: the server combines updates,
 * or (dpsgd, gossip, gossip-vc) the nodes mix whole models in relayed steps,
 * which any node answers (fedc_relay_answer); dfedsam's SAM steps and
 * dadao's gradient events need fedc's trainer. */
static const char *const external_strategies[] = {"fedavg", "fedprox",   "fedavgm", "fedadam", "fedyogi", "fedadagrad",
                                                  "fedopt", "dpsgd",     "gossip",  "gossip-vc", NULL};

static void check_external(const fedc_task *t, task_issues *iss) {
    if (!ALL_OK(iss, "model", "model.manifest")) return;
    if (!fedc_task_external(t)) {
        if (t->model_manifest[0])
            task_issue(iss, "model.manifest", "only with model \"external\"; a built-in model (\"%.40s\") has "
                                              "its own tensors", t->model);
        return;
    }
    if (t->model_manifest[0]) {
        fedc_manifest m;
        fedc_error e;
        if (fedc_manifest_parse(t->model_manifest, strlen(t->model_manifest), &m, &e) != 0) {
            task_issue(iss, "model.manifest", "%s", e.msg);
            return;
        }
        fedc_manifest_free(&m);
    }
    if (!ALL_OK(iss, "strategy.name")) return;
    int ok = 0;
    for (int i = 0; external_strategies[i]; i++) ok |= !strcmp(t->strategy.name, external_strategies[i]);
    if (!ok)
        task_issue(iss, "strategy.name",
                   "%s needs fedc's own trainer on the nodes; with model external allowed: fedavg, fedprox, "
                   "fedavgm, fedadam, fedyogi, fedadagrad, fedopt, dpsgd, gossip, gossip-vc",
                   t->strategy.name);
    if (ALL_OK(iss, "privacy.mode") && strcmp(t->privacy.mode, "none") != 0)
        task_issue(iss, "privacy.mode", "%s is applied by fedc's trainer; with model external allowed: none",
                   t->privacy.mode);
    if (ALL_OK(iss, "secagg.mode") && strcmp(t->secagg.mode, "none") != 0)
        task_issue(iss, "secagg.mode", "%s needs fedc's trainer to mask the updates; with model external allowed: none",
                   t->secagg.mode);
    if (ALL_OK(iss, "strategy.local_params") && strcmp(t->strategy.local_params, "none") != 0)
        task_issue(iss, "strategy.local_params",
                   "\"%s\" names layers of fedc's built-in models, kept by fedc's trainer; with model external "
                   "allowed: none",
                   t->strategy.local_params);
    if (ALL_OK(iss, "strategy.aggregator") && !strcmp(t->strategy.aggregator, "frl"))
        task_issue(iss, "strategy.aggregator",
                   "frl has fedc's trainer learn a supermask over the fixed weights of a built-in model; with model "
                   "external allowed: mean, median, trimmed-mean, krum, multi-krum, bulyan, geomed, flag, mudhog");
}

static void check_eval(const fedc_task *t, task_issues *iss) {
    if (ALL_OK(iss, "eval.clients", "clients") && t->eval.clients > t->clients)
        task_issue(iss, "eval.clients", "%d is more than clients (%d); allowed: 0 (the round's participants) or an "
                                        "integer >= 1 and <= clients",
                   t->eval.clients, t->clients);
}

static void check_model(const fedc_task *t, task_issues *iss) {
    if (!ALL_OK(iss, "dataset.name", "dataset.labels", "model")) return;
    if (fedc_task_external(t)) return; /* the nodes' own model: check_external */
    dataset_shape shape, *ds = &shape;
    if (!find_shape(t, ds)) return; /* csv: checked by the engine once the file gives the shape */
    fedc_error err = {{0}};
    fedc_arch *a = fedc_arch_parse(t->model, ds->shape, ds->n_classes, &err);
    if (a) {
        fedc_arch_free(a);
        return;
    }
    task_issue(iss, "model", "%s (input %dx%dx%d and %d classes of dataset %s)", err.msg,
               ds->shape.c, ds->shape.h, ds->shape.w, ds->n_classes, ds->name);
}

static void check_partition(const fedc_task *t, task_issues *iss) {
    if (!ALL_OK(iss, "dataset.name", "dataset.labels", "partition.kind", "partition.classes_per_client")) return;
    dataset_shape shape, *ds = find_shape(t, &shape) ? &shape : NULL;
    if (!strcmp(t->partition.kind, "natural") && !(ds && ds->natural)) {
        task_issue(iss, "partition.kind",
                   "natural needs a dataset with a natural split, and %s has none; allowed: iid, dirichlet, shards, "
                   "quantity (natural: with dataset.name femnist, one writer per client)",
                   t->dataset.name);
        return;
    }
    /* Synthetic data exists only per client: there is nothing to re-split. */
    if (ds && !strcmp(ds->name, "synthetic") && strcmp(t->partition.kind, "natural") != 0) {
        task_issue(iss, "partition.kind",
                   "%s does not apply to dataset synthetic, whose clients each generate their own data; allowed: "
                   "natural",
                   t->partition.kind);
        return;
    }
    if (ds && strcmp(t->partition.kind, "shards") == 0 &&
        t->partition.classes_per_client > ds->n_classes)
        task_issue(iss, "partition.classes_per_client",
                   "%d is more than the %d classes of dataset %s; allowed: an integer >= 1 and "
                   "<= %d",
                   t->partition.classes_per_client, ds->n_classes, ds->name, ds->n_classes);
}

/* partition.feature_skew against the data's shape, strategy.local_params
 * against the model (csv: both once the engine has read the file). */
static void check_domains_and_local_params(const fedc_task *t, task_issues *iss) {
    if (!ALL_OK(iss, "dataset.name")) return;
    dataset_shape shape, *ds = find_shape(t, &shape) ? &shape : NULL;
    fedc_error err = {{0}};
    /* csv: the engine checks against the data's shape once it is read (CSV
     * files are tables, so it refuses any domain there). */
    if (ds && ALL_OK(iss, "partition.feature_skew") && strcmp(t->partition.feature_skew, "none") != 0) {
        fedc_feature_skew fs;
        if (fedc_feature_skew_parse(t->partition.feature_skew, ds->shape, &fs, &err) != 0)
            task_issue(iss, "partition.feature_skew", "%s", err.msg);
    }
    if (!ds || !ALL_OK(iss, "model", "strategy.local_params") || strcmp(fedc_task_local_params(t), "none") == 0)
        return;
    fedc_arch *a = fedc_arch_parse(t->model, ds->shape, ds->n_classes, &err);
    if (!a) return; /* reported at model */
    int nt = fedc_arch_ntensors(a);
    unsigned char *mask = calloc((size_t)nt + 1, 1);
    int n = mask ? fedc_arch_select(a, fedc_task_local_params(t), mask, &err) : -1;
    size_t shared = 0;
    for (int i = 0; mask && i < nt; i++)
        if (!mask[i] && !fedc_arch_tensor(a, i).buffer) shared += fedc_arch_tensor(a, i).count;
    if (!mask)
        task_issue(iss, "strategy.local_params", "out of memory");
    else if (n < 0)
        task_issue(iss, "strategy.local_params", "%s", err.msg);
    else if (n > 0 && shared == 0)
        task_issue(iss, "strategy.local_params",
                   "\"%s\" keeps every trained parameter local, so nothing would be aggregated; allowed: a "
                   "selector that leaves some layers shared",
                   fedc_task_local_params(t));
    free(mask);
    fedc_arch_free(a);
}

static void check_compression(const fedc_task *t, task_issues *iss) {
    static const char *const paths[] = {"compression.up", "compression.down"};
    const char *specs[] = {t->compression.up, t->compression.down};
    for (int i = 0; i < 2; i++) {
        if (!ALL_OK(iss, paths[i])) continue;
        fedc_error err = {{0}};
        if (fedc_codec_check(specs[i], &err) != 0) task_issue(iss, paths[i], "%s", err.msg);
    }
}

static void check_scheduling(const fedc_task *t, task_issues *iss) {
    if (!ALL_OK(iss, "scheduling.policy", "scheduling.choice_d", "scheduling.deadline_s")) return;
    if (strcmp(t->scheduling.policy, "deadline") == 0 && !(t->scheduling.deadline_s > 0)) {
        char v[40];
        task_format_number(t->scheduling.deadline_s, v, sizeof v);
        task_issue(iss, "scheduling.deadline_s",
                   "%s is not allowed with policy deadline; allowed: a number of seconds > 0 and "
                   "<= 604800",
                   v);
        return;
    }
    /* The scheduler's own check backs this up for whatever it adds. */
    fedc_sched_config cfg;
    memset(&cfg, 0, sizeof cfg);
    memcpy(cfg.policy, t->scheduling.policy, sizeof cfg.policy);
    cfg.policy[sizeof cfg.policy - 1] = '\0';
    cfg.choice_d = t->scheduling.choice_d;
    cfg.deadline_s = t->scheduling.deadline_s;
    fedc_error err = {{0}};
    if (fedc_sched_check(&cfg, &err) != 0) {
        task_issue(iss, "scheduling", "%s", err.msg);
        return;
    }
    /* Candidates are drawn from the federation and must cover a round. */
    int d = t->scheduling.choice_d;
    if (strcmp(t->scheduling.policy, "power-of-choice") == 0 && d != 0 &&
        ALL_OK(iss, "clients", "clients_per_round") && (d < t->clients_per_round || d > t->clients))
        task_issue(iss, "scheduling.choice_d",
                   "%d candidates cannot yield clients_per_round (%d) clients out of clients "
                   "(%d); allowed: 0 (= 2 x clients_per_round) or an integer >= "
                   "clients_per_round and <= clients",
                   d, t->clients_per_round, t->clients);
}

/* Strategies whose server only averages the updates (and then steps): the
 * ones that can run on a single combined update, as central DP and secure
 * aggregation give them. The others read per-client updates or keep
 * per-client tables, which would see raw updates or none at all. */
static int averaging_strategy(const char *name) {
    static const char *const ok[] = {"fedavg", "fedprox", "fedavgm", "fedadam", "fedyogi", "fedadagrad", NULL};
    for (int i = 0; ok[i]; i++)
        if (!strcmp(name, ok[i])) return 1;
    return 0;
}

/* The privacy budget and the settings that only make sense together. */
static void check_privacy(const fedc_task *t, task_issues *iss) {
    if (!ALL_OK(iss, "privacy.mode", "privacy.noise_multiplier", "privacy.adaptive_clip",
                "privacy.count_noise", "privacy.target_epsilon", "privacy.on_exceed", "privacy.delta",
                "rounds", "clients", "clients_per_round"))
        return;
    int dp = strcmp(t->privacy.mode, "none") != 0, central = strcmp(t->privacy.mode, "dp-fedavg") == 0;
    if (central && ALL_OK(iss, "strategy.name") && !averaging_strategy(t->strategy.name)) {
        task_issue(iss, "strategy.name",
                   "%s is not allowed with privacy.mode dp-fedavg: the server gives the strategy only the noised "
                   "mean; allowed: fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad",
                   t->strategy.name);
        return;
    }
    if (t->privacy.adaptive_clip && !central) {
        task_issue(iss, "privacy.adaptive_clip",
                   "true is not allowed with privacy.mode %s; allowed: false, or privacy.mode dp-fedavg",
                   t->privacy.mode);
        return;
    }
    if (t->privacy.adaptive_clip && t->privacy.noise_multiplier > 0) {
        double sb = t->privacy.count_noise > 0 ? t->privacy.count_noise : t->clients_per_round / 20.0;
        if (!(2 * sb > t->privacy.noise_multiplier)) {
            task_issue(iss, "privacy.count_noise",
                       "%g (%s) leaves no noise for the update: adaptive clipping needs count_noise > "
                       "noise_multiplier / 2 = %g; allowed: a larger count_noise (or clients_per_round), "
                       "or adaptive_clip false",
                       sb, t->privacy.count_noise > 0 ? "as set" : "clients_per_round / 20",
                       t->privacy.noise_multiplier / 2);
            return;
        }
    }
    if (t->privacy.target_epsilon > 0) {
        if (!dp) {
            task_issue(iss, "privacy.target_epsilon",
                       "a budget needs differential privacy; allowed: 0 with privacy.mode none, or "
                       "privacy.mode dp-gaussian or dp-fedavg");
            return;
        }
        double planned = fedc_privacy_planned_epsilon(t);
        if (strcmp(t->privacy.on_exceed, "refuse") == 0 && planned > t->privacy.target_epsilon)
            task_issue(iss, "privacy.target_epsilon",
                       "the %d planned rounds would spend epsilon %.4g (delta %g) > the budget %g; "
                       "allowed: fewer rounds, more noise, a larger budget, or privacy.on_exceed stop",
                       t->rounds, planned, t->privacy.delta, t->privacy.target_epsilon);
    }
}

static void check_secagg(const fedc_task *t, task_issues *iss) {
    if (!ALL_OK(iss, "secagg.mode", "compression.up", "privacy.mode", "clients_per_round", "secagg.degree"))
        return;
    if (strcmp(t->secagg.mode, "none") == 0) return;
    if (strcmp(t->compression.up, "none") != 0)
        task_issue(iss, "compression.up",
                   "\"%s\" is not allowed with secagg.mode %s: masked field elements do not compress; "
                   "allowed: none",
                   t->compression.up, t->secagg.mode);
    else if (strcmp(t->privacy.mode, "dp-fedavg") == 0)
        task_issue(iss, "privacy.mode",
                   "dp-fedavg is not allowed with secagg.mode %s: the server clips each update, which "
                   "it cannot see under secure aggregation; allowed: none or dp-gaussian",
                   t->secagg.mode);
    else if (ALL_OK(iss, "strategy.name") && !averaging_strategy(t->strategy.name))
        task_issue(iss, "strategy.name",
                   "%s is not allowed with secagg.mode %s: the server learns only the sum of the updates; allowed: "
                   "fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad",
                   t->strategy.name, t->secagg.mode);
    else if (t->clients_per_round < 2)
        task_issue(iss, "clients_per_round",
                   "%d is not allowed with secagg.mode %s: a sum of one update is that update; "
                   "allowed: an integer >= 2",
                   t->clients_per_round, t->secagg.mode);
    else if (t->secagg.degree >= t->clients_per_round)
        task_issue(iss, "secagg.degree",
                   "%d is not allowed: a node has at most clients_per_round - 1 = %d neighbours; "
                   "allowed: 0 (automatic) or 1 .. %d",
                   t->secagg.degree, t->clients_per_round - 1, t->clients_per_round - 1);
}

/* Asynchronous strategies: the buffer must be able to fill from the clients
 * training at once, and fedfix needs its window. */
static void check_async(const fedc_task *t, task_issues *iss) {
    if (!ALL_OK(iss, "strategy.name", "strategy.buffer_size", "strategy.window_s", "clients_per_round")) return;
    if (!strcmp(t->strategy.name, "fedbuff") && t->strategy.buffer_size > t->clients_per_round)
        task_issue(iss, "strategy.buffer_size",
                   "%d is more than clients_per_round (%d), the clients training at once, so the buffer "
                   "could never fill; allowed: 0 (= clients_per_round) or an integer >= 1 and <= %d",
                   t->strategy.buffer_size, t->clients_per_round, t->clients_per_round);
    else if (!strcmp(t->strategy.name, "fedfix") && !(t->strategy.window_s > 0))
        task_issue(iss, "strategy.window_s",
                   "required when strategy.name is fedfix; allowed: the seconds between two "
                   "aggregations, a number > 0");
}

/* Decentralised strategies: every node trains and gossips every round, nodes
 * exchange whole models (so only exact codecs), and the graph must be one
 * the topology layer can build for this many clients. */
static const char *const decentral_names[] = {"dpsgd", "gossip", "gossip-vc", "dfedsam", "dfedsam-mgs", "dadao",
                                              NULL};

static void check_decentral(const fedc_task *t, task_issues *iss) {
    if (!ALL_OK(iss, "strategy.name", "clients", "clients_per_round", "compression.up", "compression.down",
                "topology.kind", "topology.mixing", "topology.p", "topology.k", "topology.seed"))
        return;
    int decentral = 0;
    for (int i = 0; decentral_names[i]; i++) decentral |= !strcmp(t->strategy.name, decentral_names[i]);
    if (!decentral) return;
    if (t->clients_per_round != t->clients)
        task_issue(iss, "clients_per_round",
                   "%d, but strategy %s trains every node every round; allowed: %d (= clients)",
                   t->clients_per_round, t->strategy.name, t->clients);
    /* No server combines updates: a node averages its neighbours' models. */
    if (ALL_OK(iss, "strategy.aggregator") && strcmp(t->strategy.aggregator, "mean"))
        task_issue(iss, "strategy.aggregator",
                   "\"%s\" is not allowed with strategy %s: no server combines the updates, every node "
                   "averages its neighbours' models; allowed: mean",
                   t->strategy.aggregator, t->strategy.name);
    if (ALL_OK(iss, "strategy.norm_bound") && t->strategy.norm_bound > 0)
        task_issue(iss, "strategy.norm_bound",
                   "%g is not allowed with strategy %s: no server combines the updates, every node "
                   "averages its neighbours' models; allowed: 0",
                   t->strategy.norm_bound, t->strategy.name);
    if (ALL_OK(iss, "eval.federated") && t->eval.federated)
        task_issue(iss, "eval.federated",
                   "true, but strategy %s has no global model for the nodes to score (each node's own model is "
                   "scored on the test set, see topology.eval_samples); allowed: false",
                   t->strategy.name);
    const char *dir[2] = {"compression.up", "compression.down"};
    const char *codec[2] = {t->compression.up, t->compression.down};
    for (int i = 0; i < 2; i++)
        if (strcmp(codec[i], "none") && strcmp(codec[i], "zstd"))
            task_issue(iss, dir[i],
                       "\"%s\" is lossy, but strategy %s has nodes exchange whole models; allowed: none, zstd",
                       codec[i], t->strategy.name);
    if (!strcmp(t->strategy.name, "dadao") && !strcmp(t->topology.kind, "matching"))
        task_issue(iss, "topology.kind",
                   "matching, but dadao draws its own communication events on a fixed connected graph; "
                   "allowed: ring, torus, complete, erdos-renyi, small-world, exponential");
    if (!strcmp(t->strategy.name, "dadao") && t->strategy.smoothness > 0 &&
        t->strategy.smoothness < t->strategy.strong_convexity)
        task_issue(iss, "strategy.smoothness", "%g is below strategy.strong_convexity (%g); allowed: 0 (from the "
                   "data) or a number >= strong_convexity", t->strategy.smoothness, t->strategy.strong_convexity);
    fedc_topology_config tc = {{0}, {0}, t->topology.p, t->topology.k, t->topology.seed ? t->topology.seed : t->seed};
    snprintf(tc.kind, sizeof tc.kind, "%s", t->topology.kind);
    snprintf(tc.mixing, sizeof tc.mixing, "%s", t->topology.mixing);
    fedc_error err;
    fedc_topology *topo = fedc_topology_create(&tc, t->clients, &err);
    if (topo) {
        fedc_topology_free(topo);
        return;
    }
    /* The message starts with the field at fault ("topology.p: ..."). */
    char path[64] = "topology.kind";
    const char *colon = strchr(err.msg, ':');
    if (!strncmp(err.msg, "topology.", 9) && colon && (size_t)(colon - err.msg) < sizeof path) {
        memcpy(path, err.msg, (size_t)(colon - err.msg));
        path[colon - err.msg] = '\0';
        task_issue(iss, path, "%s", colon + 2);
    } else {
        task_issue(iss, path, "%s", err.msg);
    }
}

void task_validate_into(const fedc_task *t, task_issues *iss) {
    for (int i = 0; i < task_nfields && !task_issues_stopped(iss); i++)
        check_field(t, &task_fields[i], iss);
    void (*const rules[])(const fedc_task *, task_issues *) = {
        check_counts, check_dataset,     check_partition,
        check_model,  check_compression, check_scheduling, check_domains_and_local_params,
        task_check_robust, check_external, check_eval,    check_privacy,
        check_secagg,      check_async,    check_decentral,
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0] && !task_issues_stopped(iss); i++)
        rules[i](t, iss);
}

int fedc_task_validate(const fedc_task *t, fedc_error *err) {
    task_issues iss = {.first_only = 1};
    task_validate_into(t, &iss);
    return task_issues_finish(&iss, err);
}

int fedc_task_validate_all(const fedc_task *t, fedc_task_issue **issues) {
    task_issues iss = {0};
    task_validate_into(t, &iss);
    *issues = NULL;
    if (iss.oom) {
        free(iss.v);
        return -1;
    }
    if (iss.n == 0) {
        free(iss.v);
        return 0;
    }
    *issues = iss.v;
    return iss.n;
}
