/* The space a search uses when none is given, derived from the task: ranges
 * around the task's own settings, always stretched to hold them, so the
 * task itself is a point of the space (the search's "base" trial). Built as
 * a space document and read back through the parser, so it meets the same
 * checks as a file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune_internal.h"

static void add(json_t *params, json_t *p) { json_array_append_new(params, p); }

/* A float range [lo, hi] stretched to hold v. */
static json_t *num_range(const char *name, const char *type, double lo, double hi, double v) {
    lo = fmin(lo, v);
    hi = fmax(hi, v);
    return json_pack("{s:s,s:s,s:f,s:f}", "name", name, "type", type, "min", tune_round_sig(lo, 6), "max",
                     tune_round_sig(hi, 6));
}

static json_t *int_range(const char *name, int lo, int hi, int v) {
    return json_pack("{s:s,s:s,s:i,s:i}", "name", name, "type", "int", "min", v < lo ? v : lo, "max", v > hi ? v : hi);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* A choice of the values v[0..n) and `extra` (if > 0 and not among them), sorted. */
static json_t *int_choice(const char *name, const int *v, int n, int extra) {
    int all[FEDC_TUNE_MAX_CHOICES], m = 0, seen = 0;
    for (int i = 0; i < n && m < FEDC_TUNE_MAX_CHOICES - 1; i++) {
        all[m++] = v[i];
        seen |= v[i] == extra;
    }
    if (extra > 0 && !seen) all[m++] = extra;
    qsort(all, (size_t)m, sizeof *all, cmp_int);
    json_t *vals = json_array();
    for (int i = 0; i < m; i++) json_array_append_new(vals, json_integer(all[i]));
    return json_pack("{s:s,s:s,s:o}", "name", name, "type", "choice", "values", vals);
}

/* A choice of strings: `own` first, then the others not equal to it. */
static json_t *string_choice(const char *name, const char *own, const char *const *v, int n) {
    json_t *vals = json_array();
    json_array_append_new(vals, json_string(own));
    for (int i = 0; i < n; i++)
        if (strcmp(v[i], own)) json_array_append_new(vals, json_string(v[i]));
    return json_pack("{s:s,s:s,s:o}", "name", name, "type", "choice", "values", vals);
}

static json_t *when(json_t *p, const char *parent, json_t *in) {
    json_object_set_new(p, "when", json_pack("{s:s,s:o}", "param", parent, "in", in));
    return p;
}

/* The base model's value of an architecture knob, or 0. */
static int knob(const char *model, const char *name) {
    json_t *v = NULL;
    fedc_error e;
    int out = tune_arch_knob_from_model(model, name, &v, &e) == 0 && json_is_integer(v)
                  ? (int)json_integer_value(v)
                  : 0;
    json_decref(v);
    return out;
}

static int is_cnn(const char *model) { return !strcmp(model, "cnn") || strstr(model, "conv:") != NULL; }

static void add_architecture(json_t *params, const char *model) {
    if (is_cnn(model)) {
        static const int c1[] = {16, 32, 64}, c2[] = {32, 64, 128}, k[] = {3, 5}, d[] = {128, 256, 512};
        add(params, int_choice("arch.conv1", c1, 3, knob(model, "arch.conv1")));
        if (knob(model, "arch.convs") >= 2) add(params, int_choice("arch.conv2", c2, 3, knob(model, "arch.conv2")));
        add(params, int_choice("arch.kernel", k, 2, knob(model, "arch.kernel")));
        add(params, int_choice("arch.dense", d, 3, knob(model, "arch.dense")));
        return;
    }
    static const int widths[] = {64, 128, 256, 512};
    int depth = knob(model, "arch.depth"), max_depth = depth > 3 ? 4 : 3;
    add(params, int_range("arch.depth", 1, max_depth, depth >= 1 && depth <= 4 ? depth : 1));
    static const char *const names[] = {"arch.width1", "arch.width2", "arch.width3", "arch.width4"};
    for (int k = 0; k < max_depth; k++) {
        json_t *p = int_choice(names[k], widths, 4, knob(model, names[k]));
        if (k > 0) {
            json_t *in = json_array();
            for (int dd = k + 1; dd <= max_depth; dd++) json_array_append_new(in, json_integer(dd));
            p = when(p, "arch.depth", in);
        }
        add(params, p);
    }
}

fedc_tune_space *fedc_tune_space_default(const fedc_task *t, fedc_error *err) {
    json_t *params = json_array();
    double lr = fedc_task_local_lr_base(t);
    json_t *lr_range = num_range("local.lr", "log-float", lr / 10, fmin(lr * 10, 10), lr);
    if (t->local.lr > 0) {
        add(params, lr_range);
    } else {
        /* The task leaves lr to its optimizer: the optimizer is searched too,
         * each at its own default lr, and the lr range (around the task's
         * optimizer's default) applies to the task's optimizer only. */
        static const char *const opts[] = {"sgd", "adam", "adamw", "lion", "adan", "adamp", "sgdp", "exadam",
                                           "adahessian", "mfac"};
        json_t *vals = json_array();
        json_array_append_new(vals, json_string(t->local.optimizer));
        for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
            if (strcmp(opts[i], t->local.optimizer)) json_array_append_new(vals, json_string(opts[i]));
        add(params, json_pack("{s:s,s:s,s:o}", "name", "local.optimizer", "type", "choice", "values", vals));
        add(params, when(lr_range, "local.optimizer", json_pack("[s]", t->local.optimizer)));
    }
    static const int batches[] = {16, 32, 64, 128};
    add(params, int_choice("local.batch", batches, 4, t->local.batch));
    add(params, int_range("local.epochs", 1, 5, t->local.epochs));
    if (!strcmp(t->local.optimizer, "sgd"))
        add(params, num_range("local.momentum", "float", 0, 0.95, t->local.momentum));
    const char *sn = t->strategy.name;
    /* Decentralised strategies train every node every round and exchange whole models: their
     * participation and codec are fixed; their gossip steps and graph are what to search. */
    int decentral = !strcmp(sn, "dpsgd") || !strcmp(sn, "gossip") || !strcmp(sn, "gossip-vc") ||
                    !strcmp(sn, "dfedsam") || !strcmp(sn, "dfedsam-mgs");
    int cpr = t->clients_per_round, lo = cpr / 2 > 1 ? cpr / 2 : 1, hi = cpr * 2 < t->clients ? cpr * 2 : t->clients;
    if (hi > lo && !decentral) add(params, int_range("clients_per_round", lo, hi, cpr));

    if (!strcmp(sn, "fedavg") || !strcmp(sn, "fedprox") || !strcmp(sn, "fedavgm")) {
        add(params, json_pack("{s:s,s:s,s:[sss]}", "name", "strategy.name", "type", "choice", "values", "fedavg",
                              "fedprox", "fedavgm"));
        add(params, when(num_range("strategy.mu", "log-float", 1e-3, 1, t->strategy.mu > 0 ? t->strategy.mu : 1e-3),
                         "strategy.name", json_pack("[s]", "fedprox")));
        add(params, when(num_range("strategy.momentum", "float", 0.5, 0.95, t->strategy.momentum), "strategy.name",
                         json_pack("[s]", "fedavgm")));
        add(params, num_range("strategy.server_lr", "log-float", 0.3, 3, t->strategy.server_lr));
    } else if (!strcmp(sn, "fedadam") || !strcmp(sn, "fedyogi") || !strcmp(sn, "fedadagrad")) {
        double slr = t->strategy.server_lr;
        add(params, num_range("strategy.server_lr", "log-float", slr / 10, fmin(slr * 10, 10), slr));
        add(params, num_range("strategy.tau", "log-float", 1e-4, 1e-1, t->strategy.tau));
    } else if (!strcmp(sn, "fedbuff") || !strcmp(sn, "fedfix") || !strcmp(sn, "async-fedavg")) {
        /* The buffer stays within the smallest clients_per_round tried, so every trial is valid. */
        if (!strcmp(sn, "fedbuff")) {
            int k = t->strategy.buffer_size > 0 && t->strategy.buffer_size <= lo ? t->strategy.buffer_size : lo;
            add(params, int_range("strategy.buffer_size", 1, lo, k));
        }
        if (!strcmp(sn, "fedfix"))
            add(params, num_range("strategy.window_s", "log-float", t->strategy.window_s / 4, t->strategy.window_s * 4,
                                  t->strategy.window_s));
        add(params, num_range("strategy.server_lr", "log-float", 0.3, 3, t->strategy.server_lr));
        add(params, num_range("strategy.staleness_a", "float", 0, 1, t->strategy.staleness_a));
    } else if (decentral) {
        if (!strcmp(sn, "dpsgd") || !strcmp(sn, "dfedsam-mgs"))
            add(params, int_range("strategy.gossip_steps", 1, 8, t->strategy.gossip_steps));
        if (!strcmp(sn, "dfedsam") || !strcmp(sn, "dfedsam-mgs"))
            add(params, num_range("strategy.rho", "log-float", 0.01, 0.5, t->strategy.rho > 0 ? t->strategy.rho : 0.05));
        const char *other = strcmp(t->topology.mixing, "uniform") ? "uniform" : "metropolis-hastings";
        add(params, json_pack("{s:s,s:s,s:[ss]}", "name", "topology.mixing", "type", "choice", "values",
                              t->topology.mixing, other));
    }

    /* Codecs both ways and client scheduling: the cheapest levers on bytes
     * per point of accuracy; the task's own value first. Decentralised
     * strategies exchange whole models with their neighbours: neither applies. */
    if (!decentral) {
        static const char *const up[] = {"none", "fp16", "q8", "q4", "topk:0.1|q8"};
        add(params, string_choice("compression.up", t->compression.up, up, 5));
        static const char *const down[] = {"none", "fp16", "q8"};
        add(params, string_choice("compression.down", t->compression.down, down, 3));
        int async = !strcmp(sn, "fedbuff") || !strcmp(sn, "fedfix") || !strcmp(sn, "async-fedavg");
        if (!async && strcmp(t->scheduling.policy, "deadline")) {
            static const char *const pol[] = {"random", "round-robin", "age", "power-of-choice"};
            add(params, string_choice("scheduling.policy", t->scheduling.policy, pol, 4));
        }
    }
    /* Early stopping of local training: a cap on local steps per round ends
     * a large client's epoch early, the rule that saves client compute
     * (0 = no cap). */
    static const int caps[] = {0, 5, 10, 25, 50};
    add(params, int_choice("local.max_steps", caps, 5, t->local.max_steps));

    add_architecture(params, t->model);
    json_t *root = json_pack("{s:s,s:o}", "description", "default space derived from the task", "params", params);
    char *text = root ? json_dumps(root, TUNE_JSON_FLAGS) : NULL;
    json_decref(root);
    if (!text) {
        fedc_fail(err, "tune: out of memory");
        return NULL;
    }
    fedc_tune_space *s = fedc_tune_space_from_json(text, strlen(text), "default space", err);
    free(text);
    return s;
}
