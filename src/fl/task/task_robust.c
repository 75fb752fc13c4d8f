/* Cross-field rules of robust aggregation and simulated attacks: the counts
 * each rule needs per round, what FRL's rankings rule out (server steps,
 * lossy codecs, noise), and attack settings against the dataset. */
#include <math.h>
#include <string.h>

#include "fedc/codec.h"
#include "fl/task/task_internal.h"

static int is(const char *a, const char *b) { return strcmp(a, b) == 0; }

/* Class count of the built-in datasets; 0 when only the data knows (csv). */
static int known_classes(const char *dataset) {
    if (is(dataset, "fashion-mnist") || is(dataset, "mnist") || is(dataset, "cifar10")) return 10;
    return 0;
}

/* 1 if every stage of the pipeline reproduces its input exactly. */
static int codec_exact(const char *spec) {
    fedc_codec *c = fedc_codec_parse(spec, NULL);
    if (!c) return 0;
    const char *p = fedc_codec_name(c);
    int exact = 1;
    while (*p && exact) {
        size_t n = strcspn(p, "|");
        exact = n == 4 && (!strncmp(p, "none", 4) || !strncmp(p, "zstd", 4));
        p += n;
        if (*p == '|') p++;
    }
    fedc_codec_free(c);
    return exact;
}

/* The selection rules need enough honest updates around each Byzantine one
 * (Blanchard et al.: n >= 2f + 3; El Mhamdi et al.: n >= 4f + 3). n is what
 * one aggregation combines: clients_per_round, or for fedbuff its buffer. */
static void check_byzantine_counts(const fedc_task *t, task_issues *iss) {
    if (!task_paths_ok(iss, "strategy.aggregator", "strategy.byzantine_fraction", "clients_per_round",
                       "strategy.name", "strategy.buffer_size", NULL))
        return;
    const char *agg = t->strategy.aggregator;
    int n = t->clients_per_round;
    const char *path = "clients_per_round";
    if (is(t->strategy.name, "fedbuff") && t->strategy.buffer_size > 0 && t->strategy.buffer_size < n) {
        n = t->strategy.buffer_size;
        path = "strategy.buffer_size";
    }
    int f = (int)floor(t->strategy.byzantine_fraction * n);
    /* With f = 0 the rules assume nobody attacks and need no margin. */
    int need = f == 0 ? 0 : is(agg, "bulyan") ? 4 * f + 3 : (is(agg, "krum") || is(agg, "multi-krum")) ? 2 * f + 3 : 0;
    if (need > n)
        task_issue(iss, path,
                   "%d updates per %s are too few for %s with byzantine_fraction %g (f = %d): it "
                   "needs at least %d; allowed: an integer >= %d, or a smaller "
                   "strategy.byzantine_fraction",
                   n, is(path, "clients_per_round") ? "round" : "fedbuff aggregation", agg,
                   t->strategy.byzantine_fraction, f, need, need);
    if (is(agg, "multi-krum") && task_paths_ok(iss, "strategy.krum_m", NULL) && t->strategy.krum_m > n)
        task_issue(iss, "strategy.krum_m",
                   "%d is more than clients_per_round (%d); allowed: 0 (= n - f) or an integer >= 1 "
                   "and <= clients_per_round",
                   t->strategy.krum_m, n);
}

/* FRL replaces the model update by a vote over rankings (Mozaffari et al.):
 * the vote is the next model, so no server optimizer, no lossy codec and no
 * noise may touch the ranks, and norms mean nothing. */
static void check_frl(const fedc_task *t, task_issues *iss) {
    if (!task_paths_ok(iss, "strategy.aggregator", NULL) || !is(t->strategy.aggregator, "frl")) return;
    if (task_paths_ok(iss, "strategy.name", NULL) && !is(t->strategy.name, "fedavg"))
        task_issue(iss, "strategy.name",
                   "\"%s\" cannot step on an FRL vote (the vote is the next model); allowed: fedavg "
                   "with aggregator frl",
                   t->strategy.name);
    if (task_paths_ok(iss, "strategy.server_lr", NULL) && t->strategy.server_lr != 1.0)
        task_issue(iss, "strategy.server_lr",
                   "%g would blend rankings; allowed: 1 with aggregator frl", t->strategy.server_lr);
    if (task_paths_ok(iss, "strategy.norm_bound", NULL) && t->strategy.norm_bound != 0.0)
        task_issue(iss, "strategy.norm_bound",
                   "%g has no meaning for rankings; allowed: 0 with aggregator frl", t->strategy.norm_bound);
    static const char *const paths[] = {"compression.up", "compression.down"};
    const char *specs[] = {t->compression.up, t->compression.down};
    for (int i = 0; i < 2; i++)
        if (task_paths_ok(iss, paths[i], NULL) && !codec_exact(specs[i]))
            task_issue(iss, paths[i],
                       "\"%s\" is lossy and would scramble rankings; allowed: none or zstd with "
                       "aggregator frl",
                       specs[i]);
    if (task_paths_ok(iss, "privacy.mode", NULL) && !is(t->privacy.mode, "none"))
        task_issue(iss, "privacy.mode",
                   "\"%s\" adds noise to the update, which under frl is a ranking; allowed: none with "
                   "aggregator frl",
                   t->privacy.mode);
}

/* A robust rule judges each update on its own; central DP (dp-fedavg) hands
 * the aggregator only the clipped, noised mean of the updates (and its
 * epsilon is accounted for that mean's sensitivity, not a median's or a
 * selection's), and secure aggregation lets the server learn only their sum.
 * None of the rules here is defined on one combined update, so they are
 * refused rather than silently run on it. */
static void check_private_aggregation(const fedc_task *t, task_issues *iss) {
    if (!task_paths_ok(iss, "strategy.aggregator", "strategy.norm_bound", "privacy.mode", "secagg.mode", NULL))
        return;
    const char *why = NULL, *path = NULL, *mode = NULL, *other = NULL;
    if (is(t->privacy.mode, "dp-fedavg")) {
        path = "privacy.mode";
        mode = t->privacy.mode;
        why = "the server hands the aggregator only the clipped, noised mean of the updates";
        other = "none or dp-gaussian (local noise, each update still seen)";
    } else if (!is(t->secagg.mode, "none")) {
        path = "secagg.mode";
        mode = t->secagg.mode;
        why = "the server learns only the sum of the updates";
        other = "none";
    }
    if (!why) return;
    if (!is(t->strategy.aggregator, "mean"))
        task_issue(iss, "strategy.aggregator",
                   "\"%s\" is not allowed with %s %s: it judges each update on its own, and %s; "
                   "allowed: mean, or %s %s",
                   t->strategy.aggregator, path, mode, why, path, other);
    else if (t->strategy.norm_bound > 0)
        task_issue(iss, "strategy.norm_bound",
                   "%g is not allowed with %s %s: norm bounding clips each update, and %s; allowed: 0, "
                   "with %s bounding each update's norm",
                   t->strategy.norm_bound, path, mode, why,
                   is(path, "privacy.mode") ? "privacy.clip" : "secagg.clip");
}

static void check_attack(const fedc_task *t, task_issues *iss) {
    if (!task_paths_ok(iss, "attack.kind", "attack.fraction", "attack.unreliable", "clients", NULL)) return;
    int attackers = (int)floor(t->attack.fraction * t->clients + 0.5);
    int unreliable = (int)floor(t->attack.unreliable * t->clients + 0.5);
    if (!is(t->attack.kind, "none") && attackers < 1)
        task_issue(iss, "attack.fraction",
                   "%g of %d clients is no attacker; allowed: a fraction that rounds to at least one "
                   "client (>= %g), or attack.kind none",
                   t->attack.fraction, t->clients, 0.5 / t->clients);
    if (!is(t->attack.kind, "none") && attackers + unreliable > t->clients)
        task_issue(iss, "attack.unreliable",
                   "%d unreliable clients and %d attackers are more than the %d clients; allowed: "
                   "fraction + unreliable <= 1",
                   unreliable, attackers, t->clients);
    int classes = task_paths_ok(iss, "dataset.name", NULL) ? known_classes(t->dataset.name) : 0;
    int uses_target = is(t->attack.kind, "backdoor") || (is(t->attack.kind, "label-flip") && t->attack.source >= 0);
    if (classes && uses_target && task_paths_ok(iss, "attack.target", NULL) && t->attack.target >= classes)
        task_issue(iss, "attack.target", "%d is not a class of %s; allowed: an integer >= 0 and < %d",
                   t->attack.target, t->dataset.name, classes);
    if (classes && is(t->attack.kind, "label-flip") && task_paths_ok(iss, "attack.source", NULL) &&
        t->attack.source >= classes)
        task_issue(iss, "attack.source",
                   "%d is not a class of %s; allowed: -1 (every class) or an integer >= 0 and < %d",
                   t->attack.source, t->dataset.name, classes);
    if (is(t->attack.kind, "backdoor") && task_paths_ok(iss, "dataset.name", NULL) && is(t->dataset.name, "csv"))
        task_issue(iss, "attack.kind",
                   "backdoor stamps a pixel pattern and needs image data, not csv; allowed: the other "
                   "kinds with dataset csv");
}

/* Asynchronous strategies combine what has arrived: fedbuff its buffer,
 * fedfix a window's worth, both through the robust rule (over the
 * staleness-weighted updates). async-fedavg steps on every update alone,
 * with nothing to judge it against. */
static void check_async_robust(const fedc_task *t, task_issues *iss) {
    if (!task_paths_ok(iss, "strategy.aggregator", "strategy.name", NULL)) return;
    if (is(t->strategy.name, "async-fedavg") && !is(t->strategy.aggregator, "mean"))
        task_issue(iss, "strategy.aggregator",
                   "\"%s\" is not allowed with strategy.name async-fedavg: it aggregates each update alone as "
                   "it arrives, so there is no other update to judge it against; allowed: mean (with "
                   "strategy.norm_bound to bound each update), or strategy.name fedbuff or fedfix",
                   t->strategy.aggregator);
}

/* FRL's model holds supermask scores, not weights: nothing a client keeps
 * for itself or scores alone is a model. */
static void check_frl_local(const fedc_task *t, task_issues *iss) {
    if (!task_paths_ok(iss, "strategy.aggregator", NULL) || !is(t->strategy.aggregator, "frl")) return;
    if (task_paths_ok(iss, "strategy.local_params", NULL) && !is(t->strategy.local_params, "none"))
        task_issue(iss, "strategy.local_params",
                   "\"%s\" would keep supermask scores on the clients, whose ranks the server votes on; "
                   "allowed: none with aggregator frl",
                   t->strategy.local_params);
    if (task_paths_ok(iss, "eval_personal", NULL) && t->eval_personal > 0)
        task_issue(iss, "eval_personal",
                   "%d: under frl the clients start from supermask scores, not a model to score; allowed: 0 "
                   "with aggregator frl",
                   t->eval_personal);
}

void task_check_robust(const fedc_task *t, task_issues *iss) {
    check_byzantine_counts(t, iss);
    check_async_robust(t, iss);
    check_frl_local(t, iss);
    check_frl(t, iss);
    check_private_aggregation(t, iss);
    check_attack(t, iss);
}
