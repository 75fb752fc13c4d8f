/* An embedding program with its own model, federated through fedc's node
 * API (include/fedc/node.h): softmax regression (a 10 x 784 weight matrix
 * and 10 biases) written here, trained with plain minibatch SGD on the
 * program's own IDX files. fedc never sees the model's code: the program
 * describes its tensors (the manifest), hands fedc the initial weights,
 * and trains and scores whatever global model fedc gives it.
 *
 *   c_node_example --server wss://HOST:PORT --credential NODE.pem
 *                  --train IMAGES,LABELS [--test IMAGES,LABELS] [--seed S]
 *
 * Serves runs with "model": "external" (any manifest-less task adopts this
 * one). Stops on SIGINT/SIGTERM. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/data.h"
#include "fedc/node.h"
#include "fedc/rng.h"

#define IN 784
#define OUT 10
#define NPARAMS (OUT * IN + OUT)

static const char k_manifest[] = "[{\"name\":\"linear.weight\",\"shape\":[10,784],\"dtype\":\"f32\"},"
                                 "{\"name\":\"linear.bias\",\"shape\":[10],\"dtype\":\"f32\"}]";

typedef struct model {
    fedc_dataset train, test;
    uint64_t seed;
    int batch;
} model;

static volatile sig_atomic_t g_stop;
static void on_signal(int s) {
    (void)s;
    g_stop = 1;
}

/* Logits of one sample and the softmax in place; returns -log p[label]. */
static double forward(const float *w, const float *x, int label, double *p) {
    const float *b = w + OUT * IN;
    double mx = -1e300;
    for (int k = 0; k < OUT; k++) {
        double z = b[k];
        for (int j = 0; j < IN; j++) z += (double)w[k * IN + j] * x[j];
        p[k] = z;
        if (z > mx) mx = z;
    }
    double s = 0;
    for (int k = 0; k < OUT; k++) s += (p[k] = exp(p[k] - mx));
    for (int k = 0; k < OUT; k++) p[k] /= s;
    return -log(p[label] > 1e-300 ? p[label] : 1e-300);
}

static int setup(void *user, fedc_node_run_info *run, fedc_error *err) {
    model *m = user;
    if (run->params != NPARAMS) return fedc_fail(err, "this program's model has %d parameters, the run %zu", NPARAMS, run->params);
    run->n_samples = (double)m->train.n;
    m->batch = run->task->local.batch;
    return 0;
}

static int get_parameters(void *user, float *w, size_t n, fedc_error *err) {
    model *m = user;
    (void)err;
    fedc_rng rng = fedc_rng_derive(m->seed, 0, 0);
    for (size_t i = 0; i < n; i++) w[i] = i < OUT * IN ? (float)(0.01 * fedc_rng_normal(&rng)) : 0.0f;
    return 0;
}

static int fit(void *user, const fedc_node_fit_args *a, float *w, size_t n, fedc_node_fit_result *out,
               fedc_error *err) {
    model *m = user;
    (void)n;
    float *g = calloc(NPARAMS, sizeof *g);
    uint32_t *perm = malloc(m->train.n * sizeof *perm);
    if (!g || !perm) {
        free(g);
        free(perm);
        return fedc_fail(err, "out of memory");
    }
    for (size_t i = 0; i < m->train.n; i++) perm[i] = (uint32_t)i;
    fedc_rng rng = fedc_rng_derive(m->seed, (uint64_t)a->round, 1);
    double loss = 0, p[OUT];
    int steps = 0;
    size_t B = m->batch > 0 ? (size_t)m->batch : 32;
    for (int e = 0; e < a->task->local.epochs; e++) {
        fedc_rng_shuffle_u32(&rng, perm, m->train.n);
        for (size_t s = 0; s < m->train.n; s += B) {
            size_t nb = m->train.n - s < B ? m->train.n - s : B;
            memset(g, 0, NPARAMS * sizeof *g);
            double bl = 0;
            for (size_t i = 0; i < nb; i++) {
                const float *x = m->train.x + (size_t)perm[s + i] * IN;
                int y = m->train.y[perm[s + i]];
                bl += forward(w, x, y, p);
                for (int k = 0; k < OUT; k++) {
                    float d = (float)((p[k] - (k == y)) / (double)nb);
                    for (int j = 0; j < IN; j++) g[k * IN + j] += d * x[j];
                    g[OUT * IN + k] += d;
                }
            }
            for (int i = 0; i < NPARAMS; i++) w[i] -= (float)a->lr * g[i];
            loss += bl / (double)nb;
            steps++;
        }
    }
    free(g);
    free(perm);
    out->n_samples = (double)m->train.n;
    out->steps = steps;
    out->loss = steps ? loss / steps : 0;
    return 0;
}

static int evaluate(void *user, int round, const float *w, size_t n, fedc_node_eval_result *out, fedc_error *err) {
    model *m = user;
    (void)round;
    (void)n;
    if (!m->test.n) return fedc_fail(err, "no local test data (--test)");
    double loss = 0, p[OUT];
    size_t correct = 0;
    for (size_t i = 0; i < m->test.n; i++) {
        loss += forward(w, m->test.x + i * IN, m->test.y[i], p);
        int best = 0;
        for (int k = 1; k < OUT; k++)
            if (p[k] > p[best]) best = k;
        correct += best == m->test.y[i];
    }
    out->loss = loss / (double)m->test.n;
    out->accuracy = (double)correct / (double)m->test.n;
    out->examples = (double)m->test.n;
    return 0;
}

static int load_pair(const char *spec, fedc_dataset *d, fedc_error *err) {
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", spec);
    char *comma = strchr(buf, ',');
    if (!comma) return fedc_fail(err, "%s: expected IMAGES,LABELS", spec);
    *comma = 0;
    if (fedc_load_idx_classes(buf, comma + 1, OUT, d, err) != 0) return -1;
    /* The loader keeps the file's pixel bytes; this model reads floats. */
    if (fedc_dataset_to_float(d, err) != 0) return -1;
    if (d->dim != IN) return fedc_fail(err, "%s: %zu values per sample; this model takes %d", buf, d->dim, IN);
    return 0;
}

int main(int argc, char **argv) {
    fedc_node_config cfg = {0};
    const char *train = NULL, *test = NULL;
    model m;
    memset(&m, 0, sizeof m);
    m.seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--server")) cfg.server_url = argv[i + 1];
        else if (!strcmp(argv[i], "--credential")) cfg.credential_path = argv[i + 1];
        else if (!strcmp(argv[i], "--train")) train = argv[i + 1];
        else if (!strcmp(argv[i], "--test")) test = argv[i + 1];
        else if (!strcmp(argv[i], "--seed")) m.seed = strtoull(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "c_node_example: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!cfg.server_url || !cfg.credential_path || !train) {
        fprintf(stderr, "usage: c_node_example --server URL --credential FILE --train IMAGES,LABELS "
                        "[--test IMAGES,LABELS] [--seed S]\n");
        return 2;
    }
    fedc_error err;
    if (load_pair(train, &m.train, &err) != 0 || (test && load_pair(test, &m.test, &err) != 0)) {
        fprintf(stderr, "c_node_example: %s\n", err.msg);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    cfg.stop = &g_stop;
    cfg.max_backoff_s = 2;
    fedc_node_model model_cb = {
        .user = &m,
        .manifest_json = k_manifest,
        .setup = setup,
        .get_parameters = get_parameters,
        .fit = fit,
        .evaluate = evaluate,
        .data_label = "c-node-example",
    };
    int rc = fedc_node_serve(&cfg, &model_cb, &err);
    if (rc != 0) fprintf(stderr, "c_node_example: %s\n", err.msg);
    fedc_dataset_free(&m.train);
    fedc_dataset_free(&m.test);
    return rc ? 1 : 0;
}
