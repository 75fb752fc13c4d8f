/* The tailored dataset: (request, task spec) pairs for fine-tuning a
 * language model, in the chat format ({"messages": [system, user,
 * assistant]}). Each example draws a handful of facts (dataset, model,
 * clients, skew, rates, compression, scheduling, privacy, stopping rule,
 * deployment, name, goals...), renders each from one of several phrasings
 * with varied numbers (digits or words), units (%, fractions, minutes,
 * hours) and order, sometimes with a typo, and computes the task the
 * request means by the same policy the embedded parser documents (goal
 * table, share rounding, stopping-rule cap). Every field of the task spec is
 * covered across the dataset.
 *
 * The held-out split uses phrasing templates reserved for it: the last
 * template of every list never appears in the training part. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/rng.h"
#include "intent/intent_internal.h"

#define MAX_PARTS 24
#define PART_LEN 320
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct gen {
    fedc_rng rng;
    int holdout;
    json_t *truth;
    char part[MAX_PARTS][PART_LEN];
    int nparts;
    int clients; /* federation size the request implies */
    int cpr;     /* clients per round it implies (0 = default) */
    int rounds_said, stop_rule;
    int dataset_csv, dataset_conv_ok;
    int classes;  /* of the dataset the request names (the model's last layer) */
    int natural;  /* the request chose FEMNIST's writers as the partition */
    int goal[5];
    int index;   /* the example's position: rare methods come at fixed positions */
} gen;

static int below(gen *g, int n) { return n <= 1 ? 0 : (int)fedc_rng_below(&g->rng, (uint32_t)n); }

static int chance(gen *g, double p) { return fedc_rng_uniform(&g->rng) < p; }

/* A template: training examples use all but the last, held-out ones only
 * the last. */
static const char *pick_template(gen *g, const char *const *t, int n) {
    if (n == 1) return t[0];
    return g->holdout ? t[n - 1] : t[below(g, n - 1)];
}
#define TEMPLATE(g, arr) pick_template((g), (arr), COUNT(arr))

static const char *pick(gen *g, const char *const *v, int n) { return v[below(g, n)]; }
#define PICK(g, arr) pick((g), (arr), COUNT(arr))

static int pick_int(gen *g, const int *v, int n) { return v[below(g, n)]; }
#define PICK_INT(g, arr) pick_int((g), (arr), COUNT(arr))

static double pick_real(gen *g, const double *v, int n) { return v[below(g, n)]; }
#define PICK_REAL(g, arr) pick_real((g), (arr), COUNT(arr))

static void add_part(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_part(gen *g, const char *fmt, ...) {
    if (g->nparts >= MAX_PARTS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->part[g->nparts++], PART_LEN, fmt, ap);
    va_end(ap);
}

/* Numbers in words for some small counts ("fifty", "two hundred"). */
static void int_words(int v, char *out, size_t cap) {
    static const char *const ones[] = {"zero",     "one",     "two",     "three",     "four",     "five",    "six",
                                       "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",  "thirteen",
                                       "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
    static const char *const tens[] = {"",      "",      "twenty",  "thirty", "forty",
                                       "fifty", "sixty", "seventy", "eighty", "ninety"};
    char buf[96] = "";
    if (v >= 1000) {
        char t[48];
        int_words(v / 1000, t, sizeof t);
        snprintf(buf, sizeof buf, "%s thousand", t);
        v %= 1000;
        if (v)
            strncat(buf, " ", sizeof buf - strlen(buf) - 1);
        else {
            snprintf(out, cap, "%s", buf);
            return;
        }
    }
    if (v >= 100) {
        size_t o = strlen(buf);
        snprintf(buf + o, sizeof buf - o, "%s hundred", ones[v / 100]);
        v %= 100;
        if (!v) {
            snprintf(out, cap, "%s", buf);
            return;
        }
        strncat(buf, " and ", sizeof buf - strlen(buf) - 1);
    }
    size_t o = strlen(buf);
    if (v < 20)
        snprintf(buf + o, sizeof buf - o, "%s", ones[v]);
    else if (v % 10 == 0)
        snprintf(buf + o, sizeof buf - o, "%s", tens[v / 10]);
    else
        snprintf(buf + o, sizeof buf - o, "%s-%s", tens[v / 10], ones[v % 10]);
    snprintf(out, cap, "%s", buf);
}

/* A count as digits, or (sometimes) as words. */
static const char *count_text(gen *g, int v, char *buf, size_t cap) {
    if (v <= 2000 && chance(g, 0.2))
        int_words(v, buf, cap);
    else
        snprintf(buf, cap, "%d", v);
    return buf;
}

/* ---- truth ---- */

static void set_json(gen *g, const char *path, json_t *v) {
    const char *dot = strchr(path, '.');
    if (!dot) {
        json_object_set_new(g->truth, path, v);
        return;
    }
    char group[32];
    snprintf(group, sizeof group, "%.*s", (int)(dot - path), path);
    json_t *o = json_object_get(g->truth, group);
    if (!o) {
        o = json_object();
        json_object_set_new(g->truth, group, o);
    }
    json_object_set_new(o, dot + 1, v);
}

static int has(gen *g, const char *path) {
    const char *dot = strchr(path, '.');
    if (!dot) return json_object_get(g->truth, path) != NULL;
    char group[32];
    snprintf(group, sizeof group, "%.*s", (int)(dot - path), path);
    return json_object_get(json_object_get(g->truth, group), dot + 1) != NULL;
}

static void set_str(gen *g, const char *p, const char *v) { set_json(g, p, json_string(v)); }
static void set_int(gen *g, const char *p, long long v) { set_json(g, p, json_integer(v)); }
static void set_real(gen *g, const char *p, double v) { set_json(g, p, json_real(v)); }

/* ---- facts ---- */

/* Catalog datasets named without a path (fetched when missing), with
 * their own options: cifar100's coarse labels, svhn's extra split, and the
 * offline policy. */
static void f_dataset_catalog(gen *g, int kind) {
    static const struct {
        const char *said, *name;
        int classes;
    } named[] = {
        {"EMNIST-ByClass", "emnist-byclass", 62}, {"emnist byclass", "emnist-byclass", 62},
        {"EMNIST balanced", "emnist-balanced", 47}, {"emnist-digits", "emnist-digits", 10},
        {"FEMNIST", "femnist", 62},        {"CIFAR-100", "cifar100", 100},
        {"SVHN", "svhn", 10},              {"cifar10", "cifar10", 10},
        {"MNIST", "mnist", 10},
    };
    static const char *const t[] = {"on %s", "using %s", "with the %s dataset", "on %s data"};
    int k = below(g, COUNT(named));
    if (kind == 1) k = 5; /* cifar100 */
    if (kind == 2) k = 6; /* svhn */
    add_part(g, TEMPLATE(g, t), named[k].said);
    set_str(g, "dataset.name", named[k].name);
    g->classes = named[k].classes;
    if (!strcmp(named[k].name, "femnist") && below(g, 2)) {
        static const char *const w[] = {"split by writer", "partitioned per writer", "with its natural partition"};
        add_part(g, "%s", TEMPLATE(g, w));
        set_str(g, "partition.kind", "natural");
        g->natural = 1;
    }
    if (kind == 1) {
        static const char *const c[] = {"coarse labels", "the 20 superclasses", "its coarse classes"};
        add_part(g, "%s", TEMPLATE(g, c));
        set_str(g, "dataset.labels", "coarse");
        g->classes = 20;
    } else if (kind == 2) {
        static const char *const c[] = {"plus the extra split", "with the extra images", "including the extra set"};
        add_part(g, "%s", TEMPLATE(g, c));
        set_json(g, "dataset.extra", json_true());
    } else if (kind == 3) {
        static const char *const c[] = {"offline", "do not download anything", "no downloads"};
        add_part(g, "%s", TEMPLATE(g, c));
        set_str(g, "dataset.fetch", "never");
    }
}

static void f_dataset(gen *g) {
    static const char *const fm_names[] = {"fashion-mnist", "Fashion-MNIST", "fmnist", "FashionMNIST", "fashion mnist"};
    static const char *const fm_t[] = {"on %s", "using %s", "with the %s dataset", "on %s data", "over %s images"};
    static const char *const paths_m[] = {"/data/mnist", "/srv/datasets/mnist", "~/mnist", "./data/mnist"};
    static const char *const paths_c[] = {"/data/cifar-10-batches-bin", "/srv/cifar10", "~/cifar", "./cifar10"};
    static const char *const img_t[] = {"on %s from %s", "using %s stored in %s", "with %s (files in %s)",
                                        "on %s located at %s"};
    static const char *const csv_train[] = {"/data/train.csv", "./sensors/train.csv", "/srv/tab/records.csv"};
    static const char *const csv_test[] = {"/data/test.csv", "./sensors/test.csv", "/srv/tab/holdout.csv"};
    static const char *const csv_label[] = {"label", "y", "activity", "target"};
    static const char *const csv_t[] = {"on the CSV %s with label column %s and test file %s",
                                        "tabular data from %s, label column %s, test set %s",
                                        "using %s (label column %s; test data %s)"};
    int r = below(g, 14);
    if (r >= 10) {
        f_dataset_catalog(g, r - 10);
        return;
    }
    if (r < 5) {
        add_part(g, TEMPLATE(g, fm_t), PICK(g, fm_names));
        set_str(g, "dataset.name", "fashion-mnist");
    } else if (r < 7) {
        const char *p = PICK(g, paths_m);
        add_part(g, TEMPLATE(g, img_t), chance(g, 0.5) ? "MNIST" : "mnist", p);
        set_str(g, "dataset.name", "mnist");
        set_str(g, "dataset.path", p);
    } else if (r < 9) {
        static const char *const names[] = {"CIFAR-10", "cifar10", "cifar 10"};
        const char *p = PICK(g, paths_c);
        add_part(g, TEMPLATE(g, img_t), PICK(g, names), p);
        set_str(g, "dataset.name", "cifar10");
        set_str(g, "dataset.path", p);
    } else {
        int k = below(g, COUNT(csv_train));
        const char *lab = PICK(g, csv_label);
        add_part(g, TEMPLATE(g, csv_t), csv_train[k], lab, csv_test[k]);
        set_str(g, "dataset.name", "csv");
        set_str(g, "dataset.path", csv_train[k]);
        set_str(g, "dataset.test_path", csv_test[k]);
        set_str(g, "dataset.label_column", lab);
        g->dataset_csv = 1;
        g->dataset_conv_ok = 0;
    }
}

static void f_model(gen *g) {
    static const char *const mlp[] = {"an MLP", "a multilayer perceptron", "a fully connected network", "an mlp model"};
    static const char *const cnn[] = {"a CNN", "a convnet", "a convolutional network", "a cnn model"};
    static const char *const small[] = {"small", "tiny", "lightweight", "compact"};
    static const char *const large[] = {"large", "bigger", "deep", "big"};
    static const char *const sized_t[] = {"a %s %s", "a %s %s model", "the %s %s"};
    static const char *const linear[] = {"logistic regression", "a linear model", "softmax regression",
                                         "a linear classifier"};
    static const char *const hidden_t[] = {"an MLP with %d hidden layers of %d units",
                                           "a fully connected net with %d hidden layers of %d neurons",
                                           "an MLP with %d hidden layers, %d units each"};
    static const char *const raw[] = {"conv:8:3,pool:2,dense:64,dense:10", "conv:16:3,pool:2,conv:32:3,pool:2,dense:10",
                                      "dense:256,dense:10", "conv:32:5,pool:2,dense:128,dense:10"};
    static const char *const raw_t[] = {"the model %s", "model spec %s", "architecture %s"};
    int r = below(g, 9);
    if (!g->dataset_conv_ok && (r == 1 || r == 3 || r == 5 || r == 8)) r = 0;
    switch (r) {
    case 0:
        add_part(g, "%s", PICK(g, mlp));
        set_str(g, "model", "mlp");
        break;
    case 1:
        add_part(g, "%s", PICK(g, cnn));
        set_str(g, "model", "cnn");
        break;
    case 2:
        add_part(g, TEMPLATE(g, sized_t), PICK(g, small), chance(g, 0.5) ? "MLP" : "fully connected network");
        set_str(g, "model", "dense:100,dense:10");
        break;
    case 3:
        add_part(g, TEMPLATE(g, sized_t), PICK(g, small), chance(g, 0.5) ? "CNN" : "convnet");
        set_str(g, "model", "conv:16:5,pool:2,conv:32:5,pool:2,dense:128,dense:10");
        break;
    case 4:
        add_part(g, TEMPLATE(g, sized_t), PICK(g, large), "MLP");
        set_str(g, "model", "dense:512,dense:512,dense:10");
        break;
    case 5:
        add_part(g, TEMPLATE(g, sized_t), PICK(g, large), "CNN");
        set_str(g, "model", "conv:32:3,conv:32:3,pool:2,conv:64:3,conv:64:3,pool:2,dense:512,dense:10");
        break;
    case 6:
        add_part(g, "%s", PICK(g, linear));
        set_str(g, "model", "dense:10");
        break;
    case 7: {
        static const int layers[] = {1, 2, 3}, widths[] = {64, 128, 256, 300, 512};
        int l = PICK_INT(g, layers), w = PICK_INT(g, widths);
        add_part(g, TEMPLATE(g, hidden_t), l, w);
        char spec[128] = "";
        for (int k = 0; k < l; k++)
            snprintf(spec + strlen(spec), sizeof spec - strlen(spec), "dense:%d,", w);
        strncat(spec, "dense:10", sizeof spec - strlen(spec) - 1);
        set_str(g, "model", spec);
        break;
    }
    default: {
        const char *s = PICK(g, raw);
        add_part(g, TEMPLATE(g, raw_t), s);
        set_str(g, "model", s);
        break;
    }
    }
}

static const char *const client_nouns[] = {"clients", "devices", "nodes", "participants", "workers",
                                           "silos",   "phones",  "users", "edge devices", "hospitals"};

static void f_clients(gen *g) {
    static const int counts[] = {5,  8,   10,  12,  20,  25,  30,  40,  50,   60,  64,
                                 80, 100, 120, 150, 200, 250, 300, 500, 1000, 2000};
    static const char *const t[] = {"across %s %s", "with %s %s", "%s %s", "over %s %s", "spread over %s %s"};
    char b[64];
    g->clients = PICK_INT(g, counts);
    add_part(g, TEMPLATE(g, t), count_text(g, g->clients, b, sizeof b), PICK(g, client_nouns));
    set_int(g, "clients", g->clients);
}

static void f_cpr(gen *g) {
    char b[64];
    int r = below(g, 10);
    if (r < 5) {
        int k = 1 + below(g, g->clients < 50 ? g->clients : 50);
        static const char *const t[] = {"%s per round", "%s clients per round", "sample %s of them each round",
                                        "%s participants in each round", "%s at a time"};
        add_part(g, TEMPLATE(g, t), count_text(g, k, b, sizeof b));
        g->cpr = k;
    } else if (r < 9) {
        /* only shares that are whole clients: "15% of 30" is a question */
        static const int pct[] = {5, 10, 20, 25, 50};
        int whole[5], nw = 0;
        for (int q = 0; q < 5; q++)
            if ((pct[q] * g->clients) % 100 == 0) whole[nw++] = pct[q];
        int p = whole[nw ? below(g, nw) : 0];
        if (!nw) {
            /* no share of this federation is a whole count: say the count */
            int k = 1 + below(g, g->clients < 50 ? g->clients : 50);
            add_part(g, "%s per round", count_text(g, k, b, sizeof b));
            g->cpr = k;
            set_int(g, "clients_per_round", g->cpr);
            return;
        }
        long k = lround(p / 100.0 * g->clients);
        static const char *const t[] = {"%d%% of them per round", "%d%% participation per round",
                                        "%d percent of the clients each round", "a participation rate of %d%%"};
        add_part(g, TEMPLATE(g, t), p);
        g->cpr = (int)k;
    } else {
        static const char *const t[] = {"all clients every round", "full participation", "every client in every round"};
        add_part(g, "%s", TEMPLATE(g, t));
        g->cpr = g->clients;
    }
    set_int(g, "clients_per_round", g->cpr);
}

static void f_rounds(gen *g) {
    static const int counts[] = {5, 10, 20, 25, 30, 40, 50, 60, 75, 80, 100, 150, 200, 300};
    static const char *const t[] = {"for %s rounds", "%s communication rounds", "run %s rounds", "%s global rounds",
                                    "lasting %s rounds"};
    char b[64];
    int r = PICK_INT(g, counts);
    add_part(g, TEMPLATE(g, t), count_text(g, r, b, sizeof b));
    set_int(g, "rounds", r);
    g->rounds_said = 1;
}

static void f_stop(gen *g) {
    if (chance(g, 0.5)) {
        static const int pct[] = {70, 75, 80, 85, 88, 90};
        int a = PICK_INT(g, pct);
        static const char *const t[] = {"until %d%% accuracy", "until the test accuracy reaches %d%%",
                                        "stop at %d percent accuracy", "with a target accuracy of %d%%"};
        add_part(g, TEMPLATE(g, t), a);
        set_real(g, "stop.target_accuracy", a / 100.0);
    } else {
        static const int mins[] = {5, 10, 15, 30, 45, 60, 90, 120};
        int m = PICK_INT(g, mins);
        int r = below(g, 3);
        if (r == 0) {
            static const char *const t[] = {"for at most %d minutes", "within %d minutes", "a time budget of %d min",
                                            "no longer than %d minutes"};
            add_part(g, TEMPLATE(g, t), m);
        } else if (r == 1 && m % 60 == 0) {
            static const char *const t[] = {"for at most %d hours", "within %d hours", "a %d hour budget"};
            add_part(g, TEMPLATE(g, t), m / 60);
        } else {
            static const char *const t[] = {"a wall-clock budget of %d seconds", "within %d s", "at most %d seconds"};
            add_part(g, TEMPLATE(g, t), m * 60);
        }
        set_real(g, "stop.max_wall_s", m * 60.0);
    }
    /* Some examples also stop on a plateau; chosen by the example's index,
     * not the random stream, so the other examples stay as they were. */
    if (g->index % 4 == 1) {
        int patience = 3 + 2 * (g->index / 4 % 3);
        add_part(g, "stop.plateau_rounds=%d", patience);
        set_int(g, "stop.plateau_rounds", patience);
        if (g->index % 8 == 5) {
            add_part(g, "stop.plateau_delta=%g", 0.005);
            set_real(g, "stop.plateau_delta", 0.005);
        }
    }
    g->stop_rule = 1;
}

static void f_partition(gen *g) {
    if (g->natural) return; /* femnist: its writers are the partition */
    int r = below(g, 8);
    char b[64];
    if (r == 0) {
        static const char *const t[] = {"IID data", "an IID split", "i.i.d. partitions", "data split IID"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "partition.kind", "iid");
    } else if (r == 1) {
        static const double alphas[] = {0.05, 0.1, 0.3, 0.5, 1.0};
        double a = PICK_REAL(g, alphas);
        static const char *const t[] = {"dirichlet alpha %g", "a Dirichlet(%g) partition", "label skew with alpha=%g",
                                        "dirichlet split with concentration %g"};
        add_part(g, TEMPLATE(g, t), a);
        set_str(g, "partition.kind", "dirichlet");
        set_real(g, "partition.alpha", a);
    } else if (r == 2) {
        static const char *const strong[] = {"highly non-IID data", "strongly skewed data",
                                             "extremely non-iid partitions"};
        static const char *const plain[] = {"non-IID data", "skewed labels", "label-skewed data"};
        static const char *const mild[] = {"mildly non-IID data", "slightly skewed labels", "mildly skewed partitions"};
        int lv = below(g, 3);
        add_part(g, "%s", lv == 0 ? TEMPLATE(g, strong) : lv == 1 ? TEMPLATE(g, plain) : TEMPLATE(g, mild));
        set_str(g, "partition.kind", "dirichlet");
        set_real(g, "partition.alpha", lv == 0 ? 0.1 : lv == 1 ? 0.5 : 1.0);
    } else if (r <= 4) {
        int k = 1 + below(g, 5);
        static const char *const t[] = {"each client holds only %s %s", "%s %s per client", "%s %s per device",
                                        "every node sees just %s %s"};
        add_part(g, TEMPLATE(g, t), count_text(g, k, b, sizeof b),
                 k == 1           ? "class"
                 : chance(g, 0.5) ? "classes"
                                  : "labels");
        set_str(g, "partition.kind", "shards");
        set_int(g, "partition.classes_per_client", k);
    } else if (r == 5) {
        static const char *const t[] = {"the pathological non-IID split", "a pathological shard partition"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "partition.kind", "shards");
    } else {
        if (chance(g, 0.5)) {
            static const double sig[] = {0.5, 1.5, 2.0, 3.0};
            double s = PICK_REAL(g, sig);
            static const char *const t[] = {"quantity skew with sigma %g", "unbalanced client sizes (sigma %g)",
                                            "quantity-skewed data, sigma=%g"};
            add_part(g, TEMPLATE(g, t), s);
            set_real(g, "partition.sigma", s);
        } else {
            static const char *const t[] = {"quantity skew", "unequal amounts of data per client",
                                            "clients with different amounts of data"};
            add_part(g, "%s", TEMPLATE(g, t));
        }
        set_str(g, "partition.kind", "quantity");
    }
}

static void f_epochs(gen *g) {
    static const int v[] = {1, 2, 3, 5, 10};
    static const char *const t[] = {"%s local epochs", "%s epochs per round", "each client trains %s epochs",
                                    "local epochs: %s"};
    char b[64];
    int e = PICK_INT(g, v);
    if (chance(g, 0.15))
        add_part(g, "E=%d", e);
    else
        add_part(g, TEMPLATE(g, t), count_text(g, e, b, sizeof b));
    set_int(g, "local.epochs", e);
}

static void f_batch(gen *g) {
    static const int v[] = {8, 10, 16, 20, 32, 50, 64, 128, 256};
    static const char *const t[] = {"batch size %d", "batches of %d", "minibatch size %d", "B=%d", "a batch of %d"};
    int b = PICK_INT(g, v);
    add_part(g, TEMPLATE(g, t), b);
    set_int(g, "local.batch", b);
}

static void f_lr(gen *g) {
    static const double v[] = {0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2};
    static const char *const sci[] = {"1e-3", "5e-3", "1e-2", "2e-2", "3e-2", "5e-2", "1e-1", "2e-1"};
    static const char *const t[] = {"learning rate %s", "lr=%s", "a learning rate of %s", "lr %s", "step size %s"};
    int k = below(g, COUNT(v));
    char num[32];
    if (chance(g, 0.3))
        snprintf(num, sizeof num, "%s", sci[k]);
    else
        snprintf(num, sizeof num, "%g", v[k]);
    add_part(g, TEMPLATE(g, t), num);
    set_real(g, "local.lr", v[k]);
}

static void f_optimizer(gen *g) {
    static const double mom[] = {0.5, 0.9, 0.95, 0.99};
    int r = below(g, 6);
    if (r == 0) {
        static const char *const t[] = {"plain SGD", "the SGD optimizer", "sgd locally"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "local.optimizer", "sgd");
    } else if (r == 1) {
        double m = PICK_REAL(g, mom);
        static const char *const t[] = {"SGD with momentum %g", "sgd, momentum %g", "local SGD with momentum of %g"};
        add_part(g, TEMPLATE(g, t), m);
        set_str(g, "local.optimizer", "sgd");
        set_real(g, "local.momentum", m);
    } else if (r == 2) {
        double m = PICK_REAL(g, mom);
        static const char *const t[] = {"Nesterov momentum %g", "sgd with nesterov and momentum %g"};
        add_part(g, TEMPLATE(g, t), m);
        set_real(g, "local.momentum", m);
        set_json(g, "local.nesterov", json_true());
    } else if (r == 3) {
        static const char *const t[] = {"Adam", "the adam optimizer", "adam locally"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "local.optimizer", "adam");
    } else if (r == 4) {
        static const double b1[] = {0.8, 0.85, 0.9}, b2[] = {0.98, 0.99, 0.995}, eps[] = {1e-7, 1e-6};
        double x = PICK_REAL(g, b1), y = PICK_REAL(g, b2), e = PICK_REAL(g, eps);
        static const char *const t[] = {"adam with beta1 %g, beta2 %g and epsilon %g",
                                        "Adam (beta1=%g, beta2=%g, eps=%g)"};
        add_part(g, TEMPLATE(g, t), x, y, e);
        set_str(g, "local.optimizer", "adam");
        set_real(g, "local.beta1", x);
        set_real(g, "local.beta2", y);
        set_real(g, "local.eps", e);
    } else {
        static const double wd[] = {1e-4, 5e-4, 0.001, 0.01};
        double w = PICK_REAL(g, wd);
        static const char *const t[] = {"AdamW with weight decay %g", "adamw, wd=%g", "AdamW and a weight decay of %g"};
        add_part(g, TEMPLATE(g, t), w);
        set_str(g, "local.optimizer", "adamw");
        set_real(g, "local.weight_decay", w);
    }
}

/* How the initial model is drawn; "he" is the default, so only its parser
 * reading is exercised (the diff leaves it out). */
static void f_init(gen *g) {
    if (below(g, 4) == 0) {
        static const char *const t[] = {"He initialization", "kaiming normal init", "He normal init"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "init", "he");
    } else {
        static const char *const t[] = {"PyTorch default init", "initialise the weights like PyTorch",
                                        "the same init as PyTorch", "PyTorch's default initialization",
                                        "weights initialized like pytorch"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "init", "torch");
    }
}

static void f_weight_decay(gen *g) {
    if (has(g, "local.weight_decay")) return;
    static const double wd[] = {1e-4, 5e-4, 0.001};
    static const char *const t[] = {"weight decay %g", "L2 penalty %g", "wd %g"};
    double w = PICK_REAL(g, wd);
    add_part(g, TEMPLATE(g, t), w);
    set_real(g, "local.weight_decay", w);
}

/* Decentralised: a strategy without a server model on a named graph. Every
 * node trains every round, so the example says so and sets the count; it is
 * left out where the request already chose a strategy, a participation
 * count, a lossy codec, privacy, secure aggregation, a robust aggregator or
 * norm bound, or federated evaluation (none combine: no server combines
 * updates or holds a model for the nodes to score). */
static int f_decentral(gen *g, int r) {
    if (has(g, "strategy.name") || has(g, "clients_per_round") || has(g, "compression.up") ||
        has(g, "compression.down") || has(g, "privacy.mode") || has(g, "strategy.aggregator") ||
        has(g, "strategy.norm_bound") || has(g, "eval.federated") || g->clients < 8 || g->clients > 1000)
        return 0;
    static const char *const names[] = {"dpsgd", "gossip", "gossip-vc", "dfedsam", "dfedsam-mgs"};
    static const char *const said[] = {"D-PSGD", "gossip learning", "variance-corrected gossip", "DFedSAM",
                                       "DFedSAM-MGS"};
    static const int steps[] = {2, 3, 4}, ks[] = {2, 6}, evals[] = {1000, 2000};
    static const double ps[] = {0.3, 0.5};
    int q = PICK_INT(g, steps), k = PICK_INT(g, ks), e = PICK_INT(g, evals), seed = 1 + below(g, 9);
    double p = PICK_REAL(g, ps);
    if (r % 2 == 0) {
        static const char *const t[] = {
            "%s on a small-world graph with topology.k=%d, topology.p=%g, topology.seed=%d, "
            "topology.mixing=uniform, strategy.gossip_steps=%d and topology.eval_samples=%d",
            "%s over a watts strogatz topology, topology.k=%d, topology.p=%g, topology.seed=%d, "
            "topology.mixing=uniform, strategy.gossip_steps=%d, topology.eval_samples=%d"};
        add_part(g, TEMPLATE(g, t), said[r], k, p, seed, q, e);
        set_str(g, "topology.kind", "small-world");
        set_int(g, "topology.k", k);
    } else {
        static const char *const t[] = {
            "%s on an erdos renyi graph with topology.p=%g, topology.seed=%d, topology.mixing=uniform, "
            "strategy.gossip_steps=%d and topology.eval_samples=%d",
            "%s over a random graph, topology.p=%g, topology.seed=%d, topology.mixing=uniform, "
            "strategy.gossip_steps=%d, topology.eval_samples=%d"};
        add_part(g, TEMPLATE(g, t), said[r], p, seed, q, e);
        set_str(g, "topology.kind", "erdos-renyi");
    }
    add_part(g, "%s", "every client in every round");
    set_str(g, "strategy.name", names[r]);
    set_real(g, "topology.p", p);
    set_int(g, "topology.seed", seed);
    set_str(g, "topology.mixing", "uniform");
    set_int(g, "strategy.gossip_steps", q);
    set_int(g, "topology.eval_samples", e);
    set_int(g, "clients_per_round", g->clients);
    return 1;
}

/* DADAO: decentralised, asynchronous, for strongly convex losses; its
 * constants spelled as fields. Left out where f_decentral's are. */
static int f_dadao(gen *g) {
    if (has(g, "strategy.name") || has(g, "strategy.aggregator") || has(g, "strategy.norm_bound") ||
        has(g, "clients_per_round") || has(g, "compression.up") ||
        has(g, "compression.down") || has(g, "privacy.mode") || g->clients < 8 || g->clients > 1000)
        return 0;
    static const double mus[] = {0.05, 0.2, 0.5}, ls[] = {2, 5, 20}, rates[] = {4, 8, 16};
    double mu = PICK_REAL(g, mus), L = PICK_REAL(g, ls), rate = PICK_REAL(g, rates);
    static const char *const t[] = {
        "DADAO on a ring with strategy.strong_convexity=%g, strategy.smoothness=%g and strategy.comm_rate=%g",
        "dadao, strategy.strong_convexity=%g, strategy.smoothness=%g, strategy.comm_rate=%g, over a ring"};
    add_part(g, TEMPLATE(g, t), mu, L, rate);
    add_part(g, "%s", "every client in every round");
    set_str(g, "strategy.name", "dadao");
    set_str(g, "topology.kind", "ring");
    set_real(g, "strategy.strong_convexity", mu);
    set_real(g, "strategy.smoothness", L);
    set_real(g, "strategy.comm_rate", rate);
    set_int(g, "clients_per_round", g->clients);
    return 1;
}

static void f_strategy(gen *g) {
    int r = below(g, 8);
    if (r == 0) {
        static const char *const t[] = {"FedAvg", "federated averaging", "plain fedavg"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "strategy.name", "fedavg");
    } else if (r == 1) {
        static const double mu[] = {0.001, 0.01, 0.1, 1.0};
        double m = PICK_REAL(g, mu);
        static const char *const t[] = {"FedProx with mu %g", "FedProx (mu=%g)", "a proximal term of %g",
                                        "fedprox, proximal mu %g"};
        add_part(g, TEMPLATE(g, t), m);
        set_str(g, "strategy.name", "fedprox");
        set_real(g, "strategy.mu", m);
    } else if (r == 2) {
        static const double mo[] = {0.5, 0.7, 0.9};
        double m = PICK_REAL(g, mo);
        static const char *const t[] = {"FedAvgM with server momentum %g", "server momentum %g",
                                        "fedavgm (server momentum %g)"};
        add_part(g, TEMPLATE(g, t), m);
        set_str(g, "strategy.name", "fedavgm");
        set_real(g, "strategy.momentum", m);
    } else if (r == 3) {
        static const double slr[] = {0.01, 0.03, 0.1, 0.3};
        double s = PICK_REAL(g, slr);
        static const char *const t[] = {"FedAdam with server learning rate %g", "fedadam, server lr %g",
                                        "FedAdam and a global learning rate of %g"};
        add_part(g, TEMPLATE(g, t), s);
        set_str(g, "strategy.name", "fedadam");
        set_real(g, "strategy.server_lr", s);
    } else if (r == 4) {
        static const double b1[] = {0.8, 0.9}, b2[] = {0.99, 0.999};
        double x = PICK_REAL(g, b1), y = PICK_REAL(g, b2);
        static const char *const t[] = {"FedAdam with server beta1 %g and server beta2 %g",
                                        "fedyogi, beta1 %g and beta2 %g on the server"};
        int yogi = g->holdout; /* the held-out template names fedyogi */
        add_part(g, TEMPLATE(g, t), x, y);
        set_str(g, "strategy.name", yogi ? "fedyogi" : "fedadam");
        set_real(g, "strategy.beta1", x);
        set_real(g, "strategy.beta2", y);
    } else if (r == 5) {
        static const char *const t[] = {"FedYogi", "fedyogi aggregation", "the FedYogi strategy"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "strategy.name", "fedyogi");
    } else if (r == 6) {
        static const double tau[] = {1e-4, 1e-3, 0.01};
        double x = PICK_REAL(g, tau);
        static const char *const t[] = {"FedAdagrad with tau %g", "fedadagrad, tau=%g", "FedAdagrad (adaptivity %g)"};
        add_part(g, TEMPLATE(g, t), x);
        set_str(g, "strategy.name", "fedadagrad");
        set_real(g, "strategy.tau", x);
    } else {
        static const double slr[] = {0.5, 1.0, 2.0};
        double s = PICK_REAL(g, slr);
        static const char *const t[] = {"FedAvg with server lr %g",
                                        "federated averaging with a server learning rate of %g"};
        add_part(g, TEMPLATE(g, t), s);
        set_str(g, "strategy.name", "fedavg");
        set_real(g, "strategy.server_lr", s);
    }
}

/* The FL methods beyond the FedAvg family, with their parameters. */
static void f_fl_method(gen *g, int r) {
    if (r == 0) {
        static const char *const t[] = {"SCAFFOLD option %d", "scaffold with control variates, option %d"};
        int opt = 1 + below(g, 2);
        add_part(g, TEMPLATE(g, t), opt);
        set_str(g, "strategy.name", "scaffold");
        set_int(g, "strategy.scaffold_option", opt);
    } else if (r == 1 || r == 2) {
        static const double b[] = {0.1, 0.2, 0.5};
        double x = PICK_REAL(g, b);
        static const char *const t[] = {"%s with client beta %g", "%s, momentum weight beta %g on the clients"};
        const char *name = r == 1 ? "fedavg-m" : "scaffold-m";
        add_part(g, TEMPLATE(g, t), r == 1 ? "FedAvg-M" : "SCAFFOLD-M", x);
        set_str(g, "strategy.name", name);
        set_real(g, "strategy.client_beta", x);
    } else if (r == 3) {
        static const char *const t[] = {"FedNova with %d to %d local epochs per client",
                                        "fednova, clients run between %d and %d epochs"};
        int lo = 1 + below(g, 2), hi = lo + 1 + below(g, 4);
        add_part(g, TEMPLATE(g, t), lo, hi);
        set_str(g, "strategy.name", "fednova");
        set_int(g, "local.min_epochs", lo);
        set_int(g, "local.epochs", hi);
    } else if (r == 4) {
        static const int k[] = {20, 50, 100};
        int x = PICK_INT(g, k);
        static const char *const t[] = {"FedAU with an interval cutoff of %d", "fedau, cutoff %d rounds"};
        add_part(g, TEMPLATE(g, t), x);
        set_str(g, "strategy.name", "fedau");
        set_int(g, "strategy.fedau_cutoff", x);
    } else if (r == 5) {
        static const char *const t[] = {"anarchic FL (AFA-CD)", "AFA-CS"};
        int cs = below(g, 2);
        add_part(g, "%s", t[cs]);
        set_str(g, "strategy.name", cs ? "afa-cs" : "afa-cd");
    } else if (r == 6) {
        static const char *const lv[] = {"global", "server", "local"};
        const char *l = PICK(g, lv);
        static const double h[] = {0.5, 1.0};
        double x = PICK_REAL(g, h);
        static const char *const t[] = {"FedHyper at the %s level with hypergradient step %g",
                                        "fedhyper (%s learning rate, hyper lr %g)"};
        add_part(g, TEMPLATE(g, t), l, x);
        set_str(g, "strategy.name", "fedhyper");
        set_str(g, "strategy.hyper_level", l);
        set_real(g, "strategy.hyper_lr", x);
    } else if (r == 7 || r == 8) {
        static const double rho[] = {0.01, 0.05, 0.1};
        double x = PICK_REAL(g, rho);
        if (r == 7) {
            static const char *const t[] = {"FedSAM with rho %g", "sharpness aware local training, radius %g"};
            add_part(g, TEMPLATE(g, t), x);
            set_str(g, "strategy.name", "fedsam");
        } else {
            static const double lam[] = {5, 10, 20};
            double l = PICK_REAL(g, lam);
            static const char *const t[] = {"FedSpeed with rho %g and lambda %g", "fedspeed (radius %g, lambda %g)"};
            add_part(g, TEMPLATE(g, t), x, l);
            set_str(g, "strategy.name", "fedspeed");
            set_real(g, "strategy.lambda", l);
        }
        set_real(g, "strategy.rho", x);
    } else if (r == 9) {
        static const double p[] = {0.1, 0.2, 0.5};
        double x = PICK_REAL(g, p);
        static const char *const t[] = {"FedAMD with anchor probability %g", "anchor sampling, %g of clients anchors"};
        add_part(g, TEMPLATE(g, t), x);
        set_str(g, "strategy.name", "fedamd");
        set_real(g, "strategy.anchor_prob", x);
    } else if (r == 10) {
        static const double m[] = {0.01, 0.03, 0.1}, f[] = {0.6, 0.8};
        double x = PICK_REAL(g, m), y = PICK_REAL(g, f);
        static const char *const t[] = {"FedLD with margin %g keeping %g of the principal directions",
                                        "fedld, margin lambda %g, top fraction %g"};
        add_part(g, TEMPLATE(g, t), x, y);
        set_str(g, "strategy.name", "fedld");
        set_real(g, "strategy.margin_lambda", x);
        set_real(g, "strategy.top_fraction", y);
    } else if (r == 11) {
        static const int k[] = {3, 5, 8};
        static const double a[] = {1, 2};
        int x = PICK_INT(g, k);
        double y = PICK_REAL(g, a);
        static const char *const t[] = {"FedBuff with buffer size %d and staleness_a %g",
                                        "fedbuff, buffer_size %d, staleness_a %g"};
        add_part(g, TEMPLATE(g, t), x, y);
        set_str(g, "strategy.name", "fedbuff");
        set_int(g, "strategy.buffer_size", x);
        set_real(g, "strategy.staleness_a", y);
    } else if (r == 12) {
        static const double w[] = {2, 5, 10}, h[] = {2, 3, 8};
        static const char *const wt[] = {"identical", "sample", "unbiased"};
        double x = PICK_REAL(g, w), y = PICK_REAL(g, h);
        const char *z = PICK(g, wt);
        static const char *const t[] = {"FedFix with window_s %g, hinge staleness, strategy.staleness_hinge=%g and "
                                        "strategy.async_weights=%s",
                                        "fedfix, window_s %g, staleness hinge, strategy.staleness_hinge=%g, "
                                        "strategy.async_weights=%s"};
        add_part(g, TEMPLATE(g, t), x, y, z);
        set_str(g, "strategy.name", "fedfix");
        set_real(g, "strategy.window_s", x);
        set_str(g, "strategy.staleness", "hinge");
        set_real(g, "strategy.staleness_hinge", y);
        set_str(g, "strategy.async_weights", z);
    } else {
        static const char *const t[] = {"per-client state limited to %d MB in memory, spilling to %s",
                                        "keep at most %d MB of client state in RAM (spill dir %s)"};
        static const int mb[] = {64, 256, 512}; /* not the default 1024: the example must set it */
        static const char *const dirs[] = {"/var/tmp", "/scratch"};
        int x = PICK_INT(g, mb);
        const char *dd = PICK(g, dirs);
        add_part(g, TEMPLATE(g, t), x, dd);
        set_str(g, "strategy.name", "scaffold");
        set_real(g, "state.memory_mb", x);
        set_str(g, "state.spill_dir", dd);
    }
}

/* The optimizers and layers of the seed papers, with their settings:
 * optimizers by name (local or, with fedopt, on the server), optimizer
 * state kept across rounds, FedBN on a multi-domain split. */
static void f_optim_family(gen *g, int r) {
    if (r == 0) {
        static const double lr[] = {1e-4, 3e-4};
        double x = PICK_REAL(g, lr);
        static const char *const t[] = {"the Lion optimizer with lr %g", "lion locally, learning rate %g"};
        add_part(g, TEMPLATE(g, t), x);
        set_str(g, "local.optimizer", "lion");
        set_real(g, "local.lr", x);
    } else if (r == 1) {
        static const double b3[] = {0.99, 0.995};
        double x = PICK_REAL(g, b3);
        static const char *const t[] = {"Adan with beta3 %g", "the adan optimizer, beta3 %g"};
        add_part(g, TEMPLATE(g, t), x);
        set_str(g, "local.optimizer", "adan");
        set_real(g, "local.beta3", x);
    } else if (r == 2) {
        static const double dl[] = {0.05, 0.2}, wr[] = {0.2, 0.5}; /* never the defaults (0.1), so each draw sets them */
        double x = PICK_REAL(g, dl), y = PICK_REAL(g, wr);
        static const char *const t[] = {"AdamP with projection delta %g and wd ratio %g",
                                        "adamp (projection delta %g, weight decay ratio %g)"};
        add_part(g, TEMPLATE(g, t), x, y);
        set_str(g, "local.optimizer", "adamp");
        set_real(g, "local.adamp_delta", x);
        set_real(g, "local.adamp_wd_ratio", y);
    } else if (r == 3) {
        static const double mom[] = {0.5, 0.9};
        double m = PICK_REAL(g, mom);
        static const char *const t[] = {"SGDP with momentum %g", "sgdp locally, momentum %g"};
        add_part(g, TEMPLATE(g, t), m);
        set_str(g, "local.optimizer", "sgdp");
        set_real(g, "local.momentum", m);
    } else if (r == 4) {
        static const char *const t[] = {"EXAdam with a constant step size", "exadam, fixed step size"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "local.optimizer", "exadam");
        set_json(g, "local.exadam_dynamic_step", json_false());
    } else if (r == 5) {
        static const double hp[] = {0.5, 1.0};
        double x = PICK_REAL(g, hp);
        static const char *const t[] = {"AdaHessian with hessian power %g", "adahessian, hessian power %g"};
        add_part(g, TEMPLATE(g, t), x);
        set_str(g, "local.optimizer", "adahessian");
        set_real(g, "local.hessian_power", x);
    } else if (r == 6) {
        static const int w[] = {8, 32};
        static const double dp[] = {1e-4, 1e-5};
        int x = PICK_INT(g, w);
        double y = PICK_REAL(g, dp);
        static const char *const t[] = {"M-FAC with a gradient window of %d and dampening %g",
                                        "mfac, window size %d, damping %g"};
        add_part(g, TEMPLATE(g, t), x, y);
        set_str(g, "local.optimizer", "mfac");
        set_int(g, "local.mfac_window", x);
        set_real(g, "local.mfac_damp", y);
    } else if (r == 7) {
        static const char *const t[] = {"adam, keeping the optimizer state across rounds",
                                        "adam with persistent optimizer state"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "local.optimizer", "adam");
        set_json(g, "local.keep_state", json_true());
    } else if (r == 8) {
        static const char *const opt[] = {"lion", "adan", "adam"};
        const char *o = PICK(g, opt);
        static const double slr[] = {0.001, 0.01};
        double x = PICK_REAL(g, slr);
        static const char *const t[] = {"FedOpt with %s on the server, server lr %g", "fedopt using %s, server learning rate %g"};
        add_part(g, TEMPLATE(g, t), o, x);
        set_str(g, "strategy.name", "fedopt");
        set_str(g, "strategy.server_optimizer", o);
        set_real(g, "strategy.server_lr", x);
    } else {
        static const int ev[] = {200, 500};
        int x = PICK_INT(g, ev);
        static const char *const t[] = {"FedBN with the model conv:16:5,bn,pool:2,dense:10 on a multi-domain split, "
                                        "personal evaluation of %d samples",
                                        "fedbn, model spec conv:16:5,bn,pool:2,dense:10, feature skew, personal "
                                        "evaluation %d"};
        add_part(g, TEMPLATE(g, t), x);
        set_str(g, "strategy.local_params", "bn");
        set_str(g, "model", "conv:16:5,bn,pool:2,dense:10");
        set_str(g, "partition.feature_skew", "mixed");
        set_int(g, "eval_personal", x);
    }
}

/* Personalised FL with per-client evaluation (chosen by the example's index). */
static void f_personal(gen *g, int r) {
    static const double tf[] = {0.1, 0.2};
    double f = PICK_REAL(g, tf);
    if (r == 0) {
        static const int k[] = {5, 20};
        int x = PICK_INT(g, k);
        static const char *const t[] = {"local fine-tuning of %d steps as the personalisation baseline, %g of each "
                                        "client's data held out for testing",
                                        "finetune %d steps, local test split %g"};
        add_part(g, TEMPLATE(g, t), x, f);
        set_str(g, "strategy.name", "finetune");
        set_int(g, "strategy.finetune_steps", x);
    } else if (r == 1) {
        static const char *const t[] = {"FedPer on the MLP, local heads, per-client test split of %g",
                                        "fedper with an mlp, hold out %g of every client's samples"};
        add_part(g, TEMPLATE(g, t), f);
        set_str(g, "strategy.name", "fedper");
        set_str(g, "model", "mlp");
    } else if (r == 2) {
        static const double lam[] = {0.1, 1.0};
        double x = PICK_REAL(g, lam);
        static const char *const t[] = {"Ditto personal models with lambda %g, local test split %g",
                                        "ditto, lambda %g, %g of each client's data for its own test"};
        add_part(g, TEMPLATE(g, t), x, f);
        set_str(g, "strategy.name", "ditto");
        set_real(g, "strategy.ditto_lambda", x);
    } else if (r == 4) {
        static const double sp[] = {0.3, 0.7};
        static const int nb[] = {2, 10};
        double x = PICK_REAL(g, sp);
        int y = PICK_INT(g, nb);
        static const char *const t[] = {"pFedGate sparse personalised models keeping %g of the parameters, "
                                        "%d blocks per layer, budgets from %g, gate lr %g starting at %g, "
                                        "local test split %g",
                                        "pfedgate, sparsity %g, gate blocks %d, sparsity min %g, gate lr %g, gate "
                                        "init %g, test fraction %g"};
        add_part(g, TEMPLATE(g, t), x, y, x / 2, 0.1, 0.9, f);
        set_str(g, "strategy.name", "pfedgate");
        set_real(g, "strategy.gate_sparsity", x);
        set_int(g, "strategy.gate_blocks", y);
        set_real(g, "strategy.gate_sparsity_min", x / 2);
        set_real(g, "strategy.gate_lr", 0.1);
        set_real(g, "strategy.gate_init", 0.9);
    } else {
        static const int c[] = {2, 4};
        static const int cr[] = {5, 10};
        int x = PICK_INT(g, c), y = PICK_INT(g, cr);
        static const char *const t[] = {"clustered federated learning with %d clusters formed after round %d, local "
                                        "test split %g",
                                        "clustered fl, %d clusters, cluster after %d rounds, test fraction %g"};
        add_part(g, TEMPLATE(g, t), x, y, f);
        set_str(g, "strategy.name", "clustered");
        set_int(g, "strategy.clusters", x);
        set_int(g, "strategy.cluster_round", y);
    }
    set_real(g, "partition.test_fraction", f);
}

/* Learning-rate schedules over rounds, client or server side. */
static void f_schedule(gen *g, int r) {
    int server = (g->index / 300) % 2;
    const char *who = server ? "server" : "local";
    char kind[48], warm[48];
    snprintf(kind, sizeof kind, server ? "strategy.server_lr_schedule" : "local.lr_schedule");
    snprintf(warm, sizeof warm, server ? "strategy.server_lr_warmup_rounds" : "local.lr_warmup_rounds");
    if (r == 0) {
        static const int e[] = {10, 20, 50};
        /* never the default (0.5): an example must show the field */
        static const double gm[] = {0.1, 0.25};
        int x = PICK_INT(g, e);
        double y = PICK_REAL(g, gm);
        add_part(g, "step decay of the local and server learning rates every %d rounds by %g", x, y);
        set_str(g, "local.lr_schedule", "step");
        set_int(g, "local.lr_step_rounds", x);
        set_real(g, "local.lr_gamma", y);
        set_str(g, "strategy.server_lr_schedule", "step");
        set_int(g, "strategy.server_lr_step_rounds", x);
        set_real(g, "strategy.server_lr_gamma", y);
    } else if (r == 1) {
        static const double m[] = {0.0, 0.001};
        double x = PICK_REAL(g, m);
        add_part(g, "cosine local and server learning rates down to %g", x);
        set_str(g, "local.lr_schedule", "cosine");
        set_real(g, "local.lr_min", x);
        set_str(g, "strategy.server_lr_schedule", "cosine");
        set_real(g, "strategy.server_lr_min", x);
    } else {
        static const int w[] = {3, 5, 10};
        int x = PICK_INT(g, w);
        add_part(g, "%d warm-up rounds for the %s learning rate", x, who);
        set_str(g, kind, "constant");
        set_int(g, warm, x);
    }
}

/* One direction's codec in words; returns the pipeline. */
static const char *codec_words(gen *g, const char *dir_word, char *text, size_t cap) {
    static char pipe[64];
    int r = below(g, 8);
    switch (r) {
    case 0: {
        static const int bits[] = {8, 4, 2};
        int b = PICK_INT(g, bits);
        static const char *const t[] = {"compress %s to %d bits", "%s quantized to %d bits", "%s in %d-bit"};
        snprintf(text, cap, TEMPLATE(g, t), dir_word, b);
        snprintf(pipe, sizeof pipe, "q%d", b);
        break;
    }
    case 1: {
        static const char *const t[] = {"fp16 for the %s", "half precision %s", "%s in float16"};
        snprintf(text, cap, TEMPLATE(g, t), dir_word);
        snprintf(pipe, sizeof pipe, "fp16");
        break;
    }
    case 2: {
        static const char *const t[] = {"bf16 for the %s", "bfloat16 %s"};
        snprintf(text, cap, TEMPLATE(g, t), dir_word);
        snprintf(pipe, sizeof pipe, "bf16");
        break;
    }
    case 3: {
        static const int pct[] = {1, 5, 10};
        int p = PICK_INT(g, pct);
        static const char *const t[] = {"top-%d%% sparsification of the %s", "keep the top %d%% of the %s",
                                        "top-k %d%% for the %s"};
        snprintf(text, cap, TEMPLATE(g, t), p, dir_word);
        snprintf(pipe, sizeof pipe, "topk:%g", p / 100.0);
        break;
    }
    case 4: {
        static const int pct[] = {1, 5, 10};
        int p = PICK_INT(g, pct);
        static const char *const t[] = {"random-k sparsification at %d%% for the %s", "randk %d%% on the %s"};
        snprintf(text, cap, TEMPLATE(g, t), p, dir_word);
        snprintf(pipe, sizeof pipe, "randk:%g", p / 100.0);
        break;
    }
    case 5: {
        static const char *const t[] = {"sign compression of the %s", "1-bit sign %s"};
        snprintf(text, cap, TEMPLATE(g, t), dir_word);
        snprintf(pipe, sizeof pipe, "sign");
        break;
    }
    case 6: {
        static const int pct[] = {1, 10};
        int p = PICK_INT(g, pct);
        static const char *const t[] = {"top-%d%% sparsification then 8-bit quantization for the %s",
                                        "%s sparsified to the top %d%% and quantized to 8 bits"};
        if (g->holdout)
            snprintf(text, cap, t[1], dir_word, p);
        else
            snprintf(text, cap, t[0], p, dir_word);
        snprintf(pipe, sizeof pipe, "topk:%g|q8", p / 100.0);
        break;
    }
    default: {
        static const char *const t[] = {"q8 with zstd for the %s", "8-bit %s plus lossless zstd"};
        snprintf(text, cap, TEMPLATE(g, t), dir_word);
        snprintf(pipe, sizeof pipe, "q8|zstd");
        break;
    }
    }
    return pipe;
}

static void f_compression(gen *g) {
    static const char *const up[] = {"updates", "uploads", "uplink", "client updates"};
    static const char *const down[] = {"downlink", "model broadcast", "downloads"};
    char text[200];
    int r = below(g, 4);
    if (r <= 1) {
        const char *p = codec_words(g, PICK(g, up), text, sizeof text);
        add_part(g, "%s", text);
        set_str(g, "compression.up", p);
    }
    if (r == 1 || r == 2) {
        const char *p = codec_words(g, PICK(g, down), text, sizeof text);
        add_part(g, "%s", text);
        set_str(g, "compression.down", p);
    }
    if (r == 3) {
        static const char *const t[] = {"bf16 in both directions", "fp16 for both uplink and downlink"};
        const char *s = TEMPLATE(g, t);
        add_part(g, "%s", s);
        const char *p = strstr(s, "bf16") ? "bf16" : "fp16";
        set_str(g, "compression.up", p);
        set_str(g, "compression.down", p);
    }
}

static void f_scheduling(gen *g) {
    int k = g->cpr ? g->cpr : (g->clients < 10 ? g->clients : 10);
    int r = below(g, 6);
    if (r == 0) {
        static const char *const t[] = {"round-robin client selection", "pick clients round robin",
                                        "clients take turns"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "scheduling.policy", "round-robin");
    } else if (r == 1) {
        static const char *const t[] = {"selection weighted by sample count",
                                        "clients sampled in proportion to their data",
                                        "sample-weighted client selection"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "scheduling.policy", "samples");
    } else if (r == 2) {
        static const char *const t[] = {"age-based selection", "pick the least recently selected clients",
                                        "longest-unselected clients first"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "scheduling.policy", "age");
    } else if (r == 3 && g->clients > k) {
        int d = k + 1 + below(g, g->clients - k);
        static const char *const t[] = {"power-of-choice selection with d=%d", "power of choice over %d candidates",
                                        "highest-loss selection among %d candidates"};
        add_part(g, TEMPLATE(g, t), d);
        set_str(g, "scheduling.policy", "power-of-choice");
        set_int(g, "scheduling.choice_d", d);
    } else if (r == 4) {
        static const int s[] = {10, 20, 30, 45, 60, 120};
        int dl = PICK_INT(g, s);
        static const char *const t[] = {"deadline-aware selection with a %d second deadline",
                                        "deadline-based selection, a round deadline of %d s", "resource-aware scheduling, deadline %d seconds"};
        add_part(g, TEMPLATE(g, t), dl);
        set_str(g, "scheduling.policy", "deadline");
        set_real(g, "scheduling.deadline_s", dl);
    } else {
        static const char *const t[] = {"random client selection", "uniform random sampling of clients"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "scheduling.policy", "random");
    }
    if (chance(g, 0.4)) {
        if (chance(g, 0.7)) {
            static const char *const t[] = {"a lognormal device profile", "simulated stragglers",
                                            "heterogeneous hardware"};
            add_part(g, "%s", TEMPLATE(g, t));
            set_str(g, "scheduling.profile", "lognormal");
        } else {
            static const char *const paths[] = {"/data/traces/phones.csv", "./trace.csv"};
            const char *p = PICK(g, paths);
            static const char *const t[] = {"device trace %s", "replay the device speeds in %s"};
            add_part(g, TEMPLATE(g, t), p);
            set_str(g, "scheduling.profile", p);
        }
    }
}

/* The strategies whose server only averages: those central DP and secure
 * aggregation allow. */
static int averaging_strategy(gen *g) {
    json_t *strat = json_object_get(json_object_get(g->truth, "strategy"), "name");
    static const char *const averaging[] = {"fedavg", "fedprox", "fedavgm", "fedadam", "fedyogi", "fedadagrad"};
    for (size_t i = 0; strat && i < sizeof averaging / sizeof averaging[0]; i++)
        if (!strcmp(json_string_value(strat), averaging[i])) return 1;
    return !strat;
}

static void f_privacy(gen *g) {
    static const double clip[] = {0.5, 1.0, 2.0}, noise[] = {0.5, 0.8, 1.1, 2.0};
    int r = below(g, 4);
    if (r == 3 && !averaging_strategy(g)) r = 2;
    double z = 1.0;
    if (r == 0) {
        static const char *const t[] = {"differential privacy", "with DP", "differentially private updates"};
        add_part(g, "%s", TEMPLATE(g, t));
        set_str(g, "privacy.mode", "dp-gaussian");
    } else if (r == 3) {
        /* central DP-FedAvg, optionally with adaptive clipping */
        z = PICK_REAL(g, noise);
        static const char *const t[] = {"DP-FedAvg with noise multiplier %g", "central DP with noise multiplier %g",
                                        "central differential privacy, noise %g"};
        add_part(g, TEMPLATE(g, t), z);
        set_str(g, "privacy.mode", "dp-fedavg");
        set_real(g, "privacy.noise_multiplier", z);
        if (chance(g, 0.5)) {
            static const double q[] = {0.5, 0.6, 0.8}, lr[] = {0.1, 0.2, 0.5};
            /* the count's noise must leave some for the update: count noise > z / 2 */
            add_part(g, "adaptive clipping with count noise %g", z);
            set_json(g, "privacy.adaptive_clip", json_true());
            set_real(g, "privacy.count_noise", z);
            if (chance(g, 0.5)) {
                double v = PICK_REAL(g, q);
                add_part(g, "target quantile %g", v);
                set_real(g, "privacy.target_quantile", v);
            }
            if (chance(g, 0.5)) {
                double v = PICK_REAL(g, lr);
                add_part(g, "clip learning rate %g", v);
                set_real(g, "privacy.clip_lr", v);
            }
        }
    } else {
        double c = PICK_REAL(g, clip);
        z = PICK_REAL(g, noise);
        static const char *const t[] = {"DP with clip norm %g and noise multiplier %g",
                                        "clip updates at %g and add noise multiplier %g",
                                        "differential privacy (clipping %g, noise %g)"};
        add_part(g, TEMPLATE(g, t), c, z);
        set_real(g, "privacy.clip", c);
        set_real(g, "privacy.noise_multiplier", z);
        set_str(g, "privacy.mode", "dp-gaussian");
    }
    if (chance(g, 0.3)) {
        static const double d[] = {0.001, 0.0001, 0.00001};
        double v = PICK_REAL(g, d);
        add_part(g, "privacy delta %g", v);
        set_real(g, "privacy.delta", v);
    }
    if (r != 0 && chance(g, 0.3)) {
        /* with noise only (no noise = no finite epsilon); refuse only with a
         * budget no plan here can exceed */
        int refuse = chance(g, 0.5);
        static const double b[] = {4, 8, 50};
        double v = refuse ? 100000 : PICK_REAL(g, b);
        static const char *const t[] = {"privacy budget %g", "target epsilon %g", "epsilon budget %g"};
        add_part(g, TEMPLATE(g, t), v);
        set_real(g, "privacy.target_epsilon", v);
        if (refuse || chance(g, 0.3)) {
            static const char *const tr[] = {"refuse if over budget", "refuse tasks over budget"};
            static const char *const ts[] = {"stop when the budget is spent", "stop before exceeding the budget"};
            add_part(g, "%s", refuse ? TEMPLATE(g, tr) : TEMPLATE(g, ts));
            set_str(g, "privacy.on_exceed", refuse ? "refuse" : "stop");
        }
    }
}

/* Secure aggregation; only where the task allows it (no uplink codec, an
 * averaging strategy, no central DP, at least 2 clients a round). */
static void f_secagg(gen *g) {
    json_t *mode = json_object_get(json_object_get(g->truth, "privacy"), "mode");
    json_t *cpr = json_object_get(g->truth, "clients_per_round");
    json_t *agg = json_object_get(json_object_get(g->truth, "strategy"), "aggregator");
    int per_round = cpr ? (int)json_integer_value(cpr) : 10;
    if (per_round > g->clients) per_round = g->clients;
    if (has(g, "compression.up") || !averaging_strategy(g) || per_round < 2 ||
        (mode && !strcmp(json_string_value(mode), "dp-fedavg")))
        return;
    /* A robust rule judges single updates; the server would see only the sum. */
    if ((agg && strcmp(json_string_value(agg), "mean") != 0) || has(g, "strategy.norm_bound")) return;
    static const char *const t[] = {"with secure aggregation", "use SecAgg+", "secure aggregation of the updates"};
    add_part(g, "%s", TEMPLATE(g, t));
    set_str(g, "secagg.mode", "secagg+");
    if (per_round >= 4 && chance(g, 0.3)) {
        add_part(g, "secagg degree %d", 2);
        set_int(g, "secagg.degree", 2);
    }
    if (chance(g, 0.3)) {
        static const double th[] = {0.5, 0.6, 0.75};
        double v = PICK_REAL(g, th);
        add_part(g, "secagg threshold %g", v);
        set_real(g, "secagg.threshold", v);
    }
    if (chance(g, 0.3)) {
        static const double cl[] = {5, 10, 20};
        double v = PICK_REAL(g, cl);
        add_part(g, "secagg clip %g", v);
        set_real(g, "secagg.clip", v);
    }
}

/* Clients per round the task will have, when the request fixes it. */
static int round_size(gen *g) {
    if (g->cpr) return g->cpr;
    return g->clients < 10 ? g->clients : 10;
}

static int any_goal(gen *g) {
    for (int k = 0; k < 5; k++)
        if (g->goal[k]) return 1;
    return 0;
}

/* Robust aggregation: one aggregator, sometimes with its setting. */
static void f_robust(gen *g) {
    static const char *const names[][4] = {
        {"mean", "plain mean aggregation", "non-robust aggregation", "mean aggregation"},
        {"median", "coordinate-wise median", "the median aggregator", "median aggregation"},
        {"trimmed-mean", "trimmed-mean aggregation", "a coordinate-wise trimmed mean", "trimmed mean"},
        {"krum", "Krum", "krum aggregation", "the Krum rule"},
        {"multi-krum", "Multi-Krum", "multikrum", "multi-krum aggregation"},
        {"bulyan", "Bulyan", "bulyan aggregation", "the Bulyan rule"},
        {"geomed", "the geometric median", "RFA", "geometric median aggregation"},
        {"flag", "the Flag Aggregator", "flag aggregation", "the flag median"},
        {"mudhog", "MUD-HoG", "mudhog", "mud-hog aggregation"},
        {"frl", "FRL", "federated rank learning", "rank learning"},
    };
    int r = below(g, 10);
    /* Central DP hands the aggregator only the noised mean: mean it is. */
    json_t *mode = json_object_get(json_object_get(g->truth, "privacy"), "mode");
    int central = mode && !strcmp(json_string_value(mode), "dp-fedavg");
    if (central) r = 0;
    /* FRL's vote is the next model: no other strategy, server step, codec
     * or noise may touch it (and goals may bring codecs). */
    if (r == 9 && (has(g, "strategy.name") || has(g, "strategy.server_lr") || has(g, "compression.up") ||
                   has(g, "compression.down") || has(g, "privacy.mode") || any_goal(g) ||
                   has(g, "strategy.local_params") || has(g, "eval_personal")))
        r = 6;
    const char *const *n = names[r];
    const char *t[] = {n[1], n[2], n[3]};
    add_part(g, "%s", TEMPLATE(g, t));
    set_str(g, "strategy.aggregator", n[0]);
    int size = round_size(g);
    /* FedBuff combines its buffer at a time: the Byzantine margins hold there. */
    json_t *buf = json_object_get(json_object_get(g->truth, "strategy"), "buffer_size");
    if (buf && json_integer_value(buf) > 0 && json_integer_value(buf) < size) size = (int)json_integer_value(buf);
    if ((r >= 2 && r <= 5) && chance(g, 0.5) && !any_goal(g)) {
        static const double fr[] = {0.1, 0.2, 0.3};
        double f = PICK_REAL(g, fr);
        int k = (int)floor(f * size), need = r == 5 ? 4 * k + 3 : r == 2 ? 0 : 2 * k + 3;
        if (k == 0 || need <= size) {
            static const char *const tf[] = {"a byzantine fraction of %g", "byzantine fraction %g",
                                             "assumed byzantine fraction %g", "byzantine share of %g"};
            add_part(g, TEMPLATE(g, tf), f);
            set_real(g, "strategy.byzantine_fraction", f);
        }
    }
    if (r == 4 && chance(g, 0.4) && size >= 3 && !any_goal(g)) {
        int m = size >= 5 && chance(g, 0.5) ? 5 : 3;
        static const char *const tm[] = {"krum m of %d", "multi-krum m = %d", "krum m %d"};
        add_part(g, TEMPLATE(g, tm), m);
        set_int(g, "strategy.krum_m", m);
    }
    if (r != 9 && !central && chance(g, 0.2)) {
        static const double nb[] = {1, 2, 5, 10};
        double b = PICK_REAL(g, nb);
        static const char *const tb[] = {"norm bounding at %g", "an update norm bound of %g", "bound update norms at %g"};
        add_part(g, TEMPLATE(g, tb), b);
        set_real(g, "strategy.norm_bound", b);
    }
    if (r == 6 && chance(g, 0.4)) {
        static const int it[] = {3, 5, 20};
        int k = PICK_INT(g, it);
        static const char *const ti[] = {"%d Weiszfeld iterations", "weiszfeld iterations: %d",
                                         "%d geometric median iterations"};
        add_part(g, TEMPLATE(g, ti), k);
        set_int(g, "strategy.geomed_iters", k);
    }
    if (r == 7 && chance(g, 0.5)) {
        int rank = 2 + below(g, 6);
        static const char *const tr[] = {"flag rank %d", "a subspace dimension of %d", "subspace rank %d"};
        add_part(g, TEMPLATE(g, tr), rank);
        set_int(g, "strategy.flag_rank", rank);
    }
    if (r == 7 && chance(g, 0.4)) {
        int k = 2 + below(g, 8);
        static const char *const ti[] = {"%d IRLS iterations", "irls iterations %d", "%d flag iterations"};
        add_part(g, TEMPLATE(g, ti), k);
        set_int(g, "strategy.flag_iters", k);
    }
    if (r == 8 && chance(g, 0.4)) {
        static const double ep[] = {0.5, 1.3, 2, 5};
        double e = PICK_REAL(g, ep);
        static const char *const te[] = {"dbscan eps %g", "a DBSCAN radius of %g", "mudhog eps %g"};
        add_part(g, TEMPLATE(g, te), e);
        set_real(g, "strategy.mudhog_eps", e);
    }
    if (r == 8 && chance(g, 0.4)) {
        static const double uw[] = {0, 0.25, 0.5};
        double w = PICK_REAL(g, uw);
        static const char *const tw[] = {"unreliable weight %g", "an unreliable weight of %g",
                                         "a weight of unreliable clients of %g"};
        add_part(g, TEMPLATE(g, tw), w);
        set_real(g, "strategy.mudhog_unreliable_weight", w);
    }
    if (r == 9 && chance(g, 0.5)) {
        static const double sp[] = {0.3, 0.4, 0.6};
        double x = PICK_REAL(g, sp);
        static const char *const ts[] = {"supermask sparsity %g", "a mask sparsity of %g", "frl sparsity %g"};
        add_part(g, TEMPLATE(g, ts), x);
        set_real(g, "strategy.frl_sparsity", x);
    }
}

/* A simulated attack: kind and share of attackers, sometimes its strength
 * or classes, sometimes unreliable clients. */
static void f_attack(gen *g) {
    static const char *const kinds[][3] = {
        {"sign-flip", "sign-flip", "sign-flipping"},  {"scaling", "scaling", "boosting"},
        {"noise", "additive-noise", "additive noise"}, {"label-flip", "label-flip", "label flipping"},
        {"backdoor", "backdoor", "backdoor"},          {"alie", "ALIE", "a little is enough"},
        {"ipm", "IPM", "inner product manipulation"},
    };
    int k = below(g, 7);
    if (k == 4 && g->dataset_csv) k = 0; /* a pixel trigger needs images */
    static const double fr[] = {0.1, 0.2, 0.3, 0.4};
    double f = PICK_REAL(g, fr);
    while (f * g->clients < 0.5 && f < 1) f = f * 2 > 1 ? 1 : f * 2;
    if (chance(g, 0.6)) {
        static const char *const t[] = {"%g%% %s attackers", "%g%% %s malicious clients", "%g%% %s adversaries"};
        add_part(g, TEMPLATE(g, t), f * 100, kinds[k][1]);
    } else {
        static const char *const t[] = {"a %s attack with an attacker fraction of %g",
                                        "%s attack, malicious fraction %g", "a %s attack by a share of attackers of %g"};
        add_part(g, TEMPLATE(g, t), kinds[k][2], f);
    }
    set_str(g, "attack.kind", kinds[k][0]);
    set_real(g, "attack.fraction", f);
    if ((k <= 2 || k >= 5) && chance(g, 0.3)) {
        static const double sc[] = {2, 10, 50, 0.5};
        double x = PICK_REAL(g, sc);
        static const char *const ts[] = {"attack scale %g", "an attack strength of %g", "boost factor %g"};
        add_part(g, TEMPLATE(g, ts), x);
        set_real(g, "attack.scale", x);
    }
    if ((k == 3 || k == 4) && !g->dataset_csv && chance(g, 0.5)) {
        int target = below(g, 10);
        static const char *const tt[] = {"target class %d", "a target label of %d", "backdoor target %d"};
        add_part(g, TEMPLATE(g, tt), target);
        set_int(g, "attack.target", target);
        if (k == 3) {
            int src = (target + 1 + below(g, 9)) % 10;
            static const char *const tsrc[] = {"source class %d", "a source label of %d", "source label %d"};
            add_part(g, TEMPLATE(g, tsrc), src);
            set_int(g, "attack.source", src);
        }
    }
    if (k == 4 && chance(g, 0.4)) {
        static const double pf[] = {0.1, 0.25, 0.5};
        double x = PICK_REAL(g, pf);
        static const char *const tp[] = {"poison fraction %g", "a poisoned fraction of %g", "poisoning fraction %g"};
        add_part(g, TEMPLATE(g, tp), x);
        set_real(g, "attack.poison_fraction", x);
    }
    if (chance(g, 0.25) && (f + 0.1) * g->clients <= g->clients && 0.1 * g->clients >= 0.5) {
        static const char *const tu[] = {"10%% unreliable clients", "an unreliable fraction of 0.1",
                                         "a share of unreliable clients of 0.1"};
        add_part(g, "%s", TEMPLATE(g, tu));
        set_real(g, "attack.unreliable", 0.1);
    }
}

static void f_seed(gen *g) {
    static const char *const t[] = {"seed %d", "random seed %d", "seeded with %d", "seed=%d"};
    int s = below(g, 100000);
    add_part(g, TEMPLATE(g, t), s);
    set_int(g, "seed", s);
}

static void f_eval(gen *g) {
    static const int v[] = {2, 5, 10, 20};
    static const char *const t[] = {"evaluate every %d rounds", "eval every %d rounds", "test every %d rounds",
                                    "evaluation every %d rounds"};
    int e = PICK_INT(g, v);
    add_part(g, TEMPLATE(g, t), e);
    set_int(g, "eval_every", e);
    /* Some examples also hold a validation split out; chosen by the example's
     * index, not the random stream, so the other examples stay as they were. */
    if (g->index % 5 == 2) {
        double share = g->index % 2 ? 0.1 : 0.2;
        add_part(g, "validation=%g", share);
        set_real(g, "validation", share);
    }
    /* Federated evaluation is named by its keys (the parser reads any
     * task-spec field by its name). Chosen by the example's index, not
     * from its random stream, so the other fields of these examples stay
     * what they were without it. */
    if (g->index % 2 == 0) {
        static const char *const tf[] = {"eval.federated=true", "eval.federated: true", "eval.federated true"};
        add_part(g, "%s", tf[(g->index / 2) % 3]);
        set_json(g, "eval.federated", json_true());
        if ((g->index / 6) % 2 == 0) {
            int most = g->clients < 5 ? g->clients : 5;
            int k = 1 + (g->index / 12) % most;
            static const char *const tc[] = {"eval.clients=%d", "eval.clients %d"};
            add_part(g, tc[(g->index / 24) % 2], k);
            set_int(g, "eval.clients", k);
        }
    }
}

static void f_steps(gen *g) {
    static const int v[] = {5, 10, 20, 25, 50, 100};
    static const char *const t[] = {"at most %d local steps", "max steps %d", "%d local steps per round",
                                    "cap local training at %d steps"};
    int s = PICK_INT(g, v);
    add_part(g, TEMPLATE(g, t), s);
    set_int(g, "local.max_steps", s);
}

static void f_deploy(gen *g) {
    int k = g->cpr ? g->cpr : (g->clients < 10 ? g->clients : 10);
    int r = below(g, 4);
    if (r == 0) {
        int m = 1 + below(g, g->clients);
        static const char *const t[] = {"wait for %d nodes before starting", "start once %d nodes are connected",
                                        "wait until %d devices are online"};
        add_part(g, TEMPLATE(g, t), m);
        set_int(g, "deploy.min_nodes", m);
    } else if (r == 1) {
        int m = 1 + below(g, k);
        static const char *const t[] = {"aggregate with at least %d updates", "min updates %d",
                                        "at least %d updates per round"};
        add_part(g, TEMPLATE(g, t), m);
        set_int(g, "deploy.min_updates", m);
    } else if (r == 2) {
        static const int s[] = {30, 60, 90, 120, 300};
        int x = PICK_INT(g, s);
        static const char *const t[] = {"round timeout %d s", "a %d second round timeout",
                                        "timeout per round of %d seconds"};
        add_part(g, TEMPLATE(g, t), x);
        set_real(g, "deploy.round_timeout_s", x);
    } else {
        static const int s[] = {10, 30, 120, 600};
        int x = PICK_INT(g, s);
        static const char *const t[] = {"connect timeout %d s", "connection timeout of %d seconds",
                                        "a %d s connect timeout"};
        add_part(g, TEMPLATE(g, t), x);
        set_real(g, "deploy.connect_timeout_s", x);
    }
}

static void f_name(gen *g) {
    static const char *const t[] = {"call it %s", "name the run %s", "task name %s", "named %s"};
    static const char *const stems[] = {"exp", "run", "baseline", "trial", "sweep"};
    char name[48];
    snprintf(name, sizeof name, "%s-%d", PICK(g, stems), below(g, 1000));
    add_part(g, TEMPLATE(g, t), name);
    set_str(g, "name", name);
}

/* Goal statements; their settings come from the goal table (goals.c) and
 * apply where no other fact set the field. */
static void f_goal(gen *g) {
    static const char *const bw[] = {"keep bandwidth low", "we have a metered connection", "save bandwidth",
                                     "communication must stay cheap"};
    static const char *const cpu[] = {"use little CPU", "the devices are battery powered", "keep compute low",
                                      "low CPU usage please"};
    static const char *const acc[] = {"as accurate as possible", "I want the best accuracy", "maximize accuracy",
                                      "aim for the highest accuracy"};
    static const char *const fast[] = {"make it quick", "a quick smoke test", "as fast as possible", "in a hurry"};
    static const char *const fair[] = {"give every client a fair turn", "fairness matters", "treat the clients fairly"};
    int k = below(g, 5);
    if (k == 2 && (g->goal[3] || g->dataset_csv)) k = 0;
    if (k == 3 && g->goal[2]) k = 1;
    if (g->goal[k]) return;
    g->goal[k] = 1;
    const char *s = k == 0   ? TEMPLATE(g, bw)
                    : k == 1 ? TEMPLATE(g, cpu)
                    : k == 2 ? TEMPLATE(g, acc)
                    : k == 3 ? TEMPLATE(g, fast)
                             : TEMPLATE(g, fair);
    add_part(g, "%s", s);
}

static void apply_goals(gen *g) {
    static const char *const names[] = {"bandwidth", "cpu", "accuracy", "fast", "fair"};
    for (int k = 0; k < 5; k++) {
        if (!g->goal[k]) continue;
        for (int i = 0; i < intent_ngoals; i++) {
            if (strcmp(intent_goals[i].name, names[k])) continue;
            for (int s = 0; s < intent_goals[i].nsettings; s++) {
                const intent_goal_setting *st = &intent_goals[i].settings[s];
                if (has(g, st->field)) continue;
                set_json(g, st->field, json_loads(st->value, JSON_DECODE_ANY, NULL));
            }
        }
    }
}

/* Swaps two neighbouring letters inside one keyword: the parser is meant to
 * read through such typos. */
static void typo(gen *g, char *text) {
    static const char *const words[] = {"clients", "rounds",   "epochs",   "learning",
                                        "devices", "momentum", "accuracy", "participants"};
    int start = below(g, COUNT(words));
    for (int k = 0; k < COUNT(words); k++) {
        const char *w = words[(start + k) % COUNT(words)];
        char *p = strstr(text, w);
        if (!p) continue;
        size_t n = strlen(w);
        size_t i = 1 + (size_t)below(g, (int)n - 3);
        char t = p[i];
        p[i] = p[i + 1];
        p[i + 1] = t;
        return;
    }
}

static void shuffle_parts(gen *g, int from) {
    for (int i = g->nparts - 1; i > from; i--) {
        int j = from + below(g, i - from + 1);
        char tmp[PART_LEN];
        memcpy(tmp, g->part[i], PART_LEN);
        memcpy(g->part[i], g->part[j], PART_LEN);
        memcpy(g->part[j], tmp, PART_LEN);
    }
}

/* One example: the request text and its task (NULL on a generator bug,
 * with err set). */
static int example(gen *g, char *request, size_t cap, fedc_task *task, fedc_error *err) {
    json_decref(g->truth);
    g->truth = json_object();
    g->nparts = 0;
    g->clients = 100;
    g->cpr = 0;
    g->rounds_said = g->stop_rule = 0;
    g->dataset_csv = 0;
    g->dataset_conv_ok = 1;
    g->classes = 10;
    g->natural = 0;
    memset(g->goal, 0, sizeof g->goal);

    /* One request in a hundred names an optimizer or layer of the seed
     * papers (it then says the optimizer, model and strategy itself). */
    int family = g->index % 100 == 42;
    /* the spine of most requests: model and data first */
    int lead = 0;
    if (chance(g, 0.7)) f_dataset(g);
    if (!family && g->index % 100 != 91 && chance(g, 0.6)) f_model(g);
    lead = g->nparts;
    if (chance(g, 0.6)) f_clients(g);
    if (chance(g, 0.45)) f_cpr(g);
    int stop = chance(g, 0.15);
    if (chance(g, 0.55) || !stop) {
        if (chance(g, 0.75)) f_rounds(g);
    }
    if (stop) f_stop(g);
    if (chance(g, 0.35)) f_partition(g);
    if (chance(g, 0.25)) f_epochs(g);
    if (chance(g, 0.25)) f_batch(g);
    if (!family && chance(g, 0.3)) f_lr(g);
    if (!family && chance(g, 0.15)) f_optimizer(g);
    if (chance(g, 0.05)) f_weight_decay(g);
    /* One request in a hundred names one of the newer methods, one in a
     * hundred a learning-rate schedule, cycling through them. */
    if (g->index % 100 == 17) f_fl_method(g, (g->index / 100) % 14);
    else if (!family && g->index % 100 != 91 && chance(g, 0.2)) f_strategy(g);
    if (g->index % 100 == 67) f_schedule(g, (g->index / 100) % 3);
    if (g->index % 100 == 91) f_personal(g, (g->index / 100) % 5);
    if (family) {
        int r = (g->index / 100) % 10;
        if (r == 9 && !g->dataset_conv_ok) r = 0; /* FedBN's example needs image data for its CNN */
        f_optim_family(g, r);
    }
    if (chance(g, 0.15)) f_compression(g);
    if (chance(g, 0.12)) f_scheduling(g);
    if (chance(g, 0.09)) f_privacy(g);
    if (chance(g, 0.15)) f_seed(g);
    if (chance(g, 0.07)) f_eval(g);
    if (chance(g, 0.05)) f_steps(g);
    if (chance(g, 0.07)) f_deploy(g);
    if (chance(g, 0.06)) f_name(g);
    if (chance(g, 0.05)) f_init(g);
    if (chance(g, 0.25)) f_goal(g);
    if (chance(g, 0.05)) f_goal(g);
    if (chance(g, 0.1)) f_robust(g);
    if (chance(g, 0.08)) f_attack(g);
    if (g->nparts == 0) f_goal(g);

    /* consequences, as the parser documents them: goals fill open fields
     * (a goal's per-round count never exceeds the federation), then a small
     * federation lets all its clients train when nothing set the count */
    apply_goals(g);
    /* the parser's policy: a model ending in dense:10 gets one output per
     * class of the named dataset */
    json_t *model = json_object_get(g->truth, "model");
    const char *spec = model ? json_string_value(model) : NULL;
    size_t slen = spec ? strlen(spec) : 0;
    if (g->classes != 10 && slen >= 8 && !strcmp(spec + slen - 8, "dense:10") && (slen == 8 || spec[slen - 9] == ',')) {
        char fixed[1100];
        snprintf(fixed, sizeof fixed, "%.*sdense:%d", (int)(slen - 8), spec, g->classes);
        set_str(g, "model", fixed);
    }
    json_t *cpr = json_object_get(g->truth, "clients_per_round");
    if (!g->cpr && cpr && json_integer_value(cpr) > g->clients) set_int(g, "clients_per_round", g->clients);
    if (!g->cpr && !cpr && g->clients < 10 && has(g, "clients")) set_int(g, "clients_per_round", g->clients);
    int decentral = g->index % 100 == 43 && f_decentral(g, (g->index / 100) % 5);
    if (!decentral && g->index % 100 == 47) decentral = f_dadao(g);
    if (!decentral && chance(g, 0.06)) f_secagg(g);

    /* text: the lead parts keep their order ("a small CNN on mnist"), the rest shuffle */
    shuffle_parts(g, lead);
    static const char *const openers[] = {"", "Train ", "Please train ", "I want to train ", "Run ", "Set up "};
    static const char *const joins[] = {", ", ", ", "; ", " and ", ", with "};
    size_t o = (size_t)snprintf(request, cap, "%s", lead > 0 ? PICK(g, openers) : "");
    for (int k = 0; k < g->nparts && o < cap; k++) {
        const char *j = k == 0 ? "" : (k < lead ? " " : PICK(g, joins));
        o += (size_t)snprintf(request + o, cap - o, "%s%s", j, g->part[k]);
    }
    if (chance(g, 0.3) && o + 1 < cap) strncat(request, ".", cap - strlen(request) - 1);
    if (chance(g, 0.1)) typo(g, request);

    char *json = json_dumps(g->truth, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!json) return fedc_fail(err, "out of memory");
    int rc = fedc_task_from_json(json, strlen(json), task, err);
    free(json);
    if (rc < 0) return fedc_fail_prefix(err, "intent dataset: generated an invalid task for \"%s\"", request);
    return 0;
}

static int write_example(FILE *f, const char *request, const fedc_task *t, fedc_error *err) {
    json_t *diff = intent_task_diff(t);
    char *answer = diff ? json_dumps(diff, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(diff);
    if (!answer) return fedc_fail(err, "out of memory");
    json_t *line = json_pack("{s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}", "messages", "role", "system", "content",
                             fedc_intent_system_prompt(), "role", "user", "content", request, "role", "assistant",
                             "content", answer);
    free(answer);
    char *s = line ? json_dumps(line, JSON_COMPACT) : NULL;
    json_decref(line);
    if (!s) return fedc_fail(err, "out of memory");
    int ok = fprintf(f, "%s\n", s) > 0;
    free(s);
    return ok ? 0 : fedc_fail(err, "intent dataset: write failed");
}

int fedc_intent_dataset_write(FILE *train_out, FILE *holdout_out, int n, uint64_t seed, double holdout,
                              fedc_error *err) {
    if (n < 1 || n > 10000000)
        return fedc_fail(err, "intent dataset: --n %d is out of range; allowed: 1 to 10000000", n);
    if (!(holdout >= 0 && holdout <= 0.9))
        return fedc_fail(err, "intent dataset: --holdout %g is out of range; allowed: 0 to 0.9", holdout);
    if (holdout > 0 && !holdout_out) return fedc_fail(err, "intent dataset: a held-out share needs a held-out file");
    gen *g = calloc(1, sizeof *g);
    if (!g) return fedc_fail(err, "out of memory");
    fedc_rng split = fedc_rng_derive(seed, 1, 0);
    int rc = 0;
    char request[2048];
    for (int i = 0; i < n && rc == 0; i++) {
        g->holdout = holdout > 0 && fedc_rng_uniform(&split) < holdout;
        g->rng = fedc_rng_derive(seed, 2, (uint64_t)i);
        g->index = i;
        fedc_task t;
        rc = example(g, request, sizeof request, &t, err);
        if (rc == 0) rc = write_example(g->holdout ? holdout_out : train_out, request, &t, err);
    }
    json_decref(g->truth);
    free(g);
    return rc;
}
