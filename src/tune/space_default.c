/* The space a search uses when none is given, derived from the task: ranges
 * around the task's own settings, so the task itself is (nearly) a point of
 * the space. Built as a space document and read back through the parser, so
 * it meets the same checks as a file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune_internal.h"

static void add(json_t *params, json_t *p) { json_array_append_new(params, p); }

static json_t *num_range(const char *name, const char *type, double lo, double hi) {
    return json_pack("{s:s,s:s,s:f,s:f}", "name", name, "type", type, "min", tune_round_sig(lo, 6), "max",
                     tune_round_sig(hi, 6));
}

static json_t *int_range(const char *name, int lo, int hi) {
    return json_pack("{s:s,s:s,s:i,s:i}", "name", name, "type", "int", "min", lo, "max", hi);
}

static json_t *int_choice(const char *name, const int *v, int n) {
    json_t *vals = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(vals, json_integer(v[i]));
    return json_pack("{s:s,s:s,s:o}", "name", name, "type", "choice", "values", vals);
}

static json_t *when(json_t *p, const char *parent, json_t *in) {
    json_object_set_new(p, "when", json_pack("{s:s,s:o}", "param", parent, "in", in));
    return p;
}

static int is_cnn(const char *model) { return !strcmp(model, "cnn") || strstr(model, "conv:") != NULL; }

fedc_tune_space *fedc_tune_space_default(const fedc_task *t, fedc_error *err) {
    json_t *params = json_array();
    double lr = t->local.lr;
    add(params, num_range("local.lr", "log-float", lr / 10, fmin(lr * 10, 10)));
    static const int batches[] = {16, 32, 64, 128};
    add(params, int_choice("local.batch", batches, 4));
    add(params, int_range("local.epochs", 1, 5));
    if (!strcmp(t->local.optimizer, "sgd")) add(params, num_range("local.momentum", "float", 0, 0.95));
    int cpr = t->clients_per_round, lo = cpr / 2 > 1 ? cpr / 2 : 1, hi = cpr * 2 < t->clients ? cpr * 2 : t->clients;
    if (hi > lo) add(params, int_range("clients_per_round", lo, hi));

    const char *sn = t->strategy.name;
    if (!strcmp(sn, "fedavg") || !strcmp(sn, "fedprox") || !strcmp(sn, "fedavgm")) {
        add(params, json_pack("{s:s,s:s,s:[sss]}", "name", "strategy.name", "type", "choice", "values", "fedavg",
                              "fedprox", "fedavgm"));
        add(params, when(num_range("strategy.mu", "log-float", 1e-3, 1), "strategy.name", json_pack("[s]", "fedprox")));
        add(params,
            when(num_range("strategy.momentum", "float", 0.5, 0.95), "strategy.name", json_pack("[s]", "fedavgm")));
        add(params, num_range("strategy.server_lr", "log-float", 0.3, 3));
    } else if (!strcmp(sn, "fedadam") || !strcmp(sn, "fedyogi") || !strcmp(sn, "fedadagrad")) {
        double slr = t->strategy.server_lr;
        add(params, num_range("strategy.server_lr", "log-float", slr / 10, fmin(slr * 10, 10)));
        add(params, num_range("strategy.tau", "log-float", 1e-4, 1e-1));
    }

    json_t *codecs = json_array();
    json_array_append_new(codecs, json_string(t->compression.up));
    static const char *const more[] = {"none", "fp16", "q8"};
    for (int i = 0; i < 3; i++)
        if (strcmp(more[i], t->compression.up)) json_array_append_new(codecs, json_string(more[i]));
    add(params, json_pack("{s:s,s:s,s:o}", "name", "compression.up", "type", "choice", "values", codecs));

    if (is_cnn(t->model)) {
        static const int c1[] = {16, 32, 64}, c2[] = {32, 64, 128}, k[] = {3, 5}, d[] = {128, 256, 512};
        add(params, int_choice("arch.conv1", c1, 3));
        add(params, int_choice("arch.conv2", c2, 3));
        add(params, int_choice("arch.kernel", k, 2));
        add(params, int_choice("arch.dense", d, 3));
    } else {
        static const int widths[] = {64, 128, 256, 512};
        add(params, int_range("arch.depth", 1, 3));
        add(params, int_choice("arch.width1", widths, 4));
        add(params, when(int_choice("arch.width2", widths, 4), "arch.depth", json_pack("[ii]", 2, 3)));
        add(params, when(int_choice("arch.width3", widths, 4), "arch.depth", json_pack("[i]", 3)));
    }
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
