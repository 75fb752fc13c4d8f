/* Facts of the local optimizers that are counts and errors, not timings,
 * printed as JSON for bench/bench_optimizers.py:
 *  - optimizer state per client (bytes) of each optimizer on the MLP and
 *    the CNN of the Fashion-MNIST tasks (what keep_state stores, what Lion
 *    saves against Adam);
 *  - the error of fedc's exact Hessian-vector product: against the closed
 *    form of a linear softmax model (exact), and against central differences
 *    of the gradient at several steps h along a unit direction on the MLP and
 *    a CNN with batch norm, on a batch of random inputs (small h: float
 *    rounding of the gradients dominates; large h: curvature changes and
 *    ReLU switches within the step).
 * usage: optim_facts */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/nn.h"

static const fedc_shape FMNIST = {1, 28, 28};

static double rel(const float *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

typedef struct net {
    fedc_arch *a;
    fedc_ws *ws;
    fedc_hvp_ws *hw;
    float *p, *v, *hv, *g1, *g2, *q, *x;
    int32_t *y;
    size_t np;
    int n;
} net;

static net make(const char *spec, int n, uint64_t seed) {
    net t;
    fedc_error err;
    t.a = fedc_arch_parse(spec, FMNIST, 10, &err);
    if (!t.a) {
        fprintf(stderr, "%s: %s\n", spec, err.msg);
        exit(1);
    }
    t.np = fedc_arch_nparams(t.a);
    t.n = n;
    t.ws = fedc_ws_create(t.a, n);
    t.hw = fedc_hvp_ws_create(t.a, n);
    float **b[] = {&t.p, &t.v, &t.hv, &t.g1, &t.g2, &t.q};
    for (int i = 0; i < 6; i++) *b[i] = malloc(t.np * sizeof(float));
    t.x = malloc((size_t)n * 784 * sizeof(float));
    t.y = malloc((size_t)n * sizeof(int32_t));
    fedc_rng r;
    fedc_rng_seed(&r, seed);
    fedc_arch_init_kind(t.a, t.p, &r, FEDC_INIT_TORCH);
    /* A unit direction: the steps h below are then distances in parameter space. */
    double norm = 0;
    for (size_t i = 0; i < t.np; i++) {
        t.v[i] = (float)fedc_rng_normal(&r);
        norm += (double)t.v[i] * t.v[i];
    }
    for (size_t i = 0; i < t.np; i++) t.v[i] = (float)(t.v[i] / sqrt(norm));
    for (int i = 0; i < n * 784; i++) t.x[i] = (float)fedc_rng_uniform(&r);
    for (int i = 0; i < n; i++) t.y[i] = (int32_t)fedc_rng_below(&r, 10);
    return t;
}

static void drop(net *t) {
    fedc_hvp_ws_free(t->hw);
    fedc_ws_free(t->ws);
    fedc_arch_free(t->a);
    float *b[] = {t->p, t->v, t->hv, t->g1, t->g2, t->q, t->x};
    for (int i = 0; i < 7; i++) free(b[i]);
    free(t->y);
}

/* |Hv - FD(h)| / |FD(h)| for central differences at step h along v. */
static double fd_error(net *t, double h) {
    double *fd = malloc(t->np * sizeof *fd);
    for (int sgn = 0; sgn < 2; sgn++) {
        for (size_t i = 0; i < t->np; i++) t->q[i] = (float)(t->p[i] + (sgn ? -h : h) * t->v[i]);
        fedc_nn_grad(t->a, t->ws, t->q, sgn ? t->g2 : t->g1, t->x, t->y, t->n, NULL);
    }
    for (size_t i = 0; i < t->np; i++) fd[i] = ((double)t->g1[i] - t->g2[i]) / (2 * h);
    fedc_nn_grad(t->a, t->ws, t->p, t->g1, t->x, t->y, t->n, NULL);
    fedc_nn_hvp(t->a, t->ws, t->hw, t->p, t->v, t->hv, NULL, t->x, t->y, t->n);
    double e = rel(t->hv, fd, t->np);
    free(fd);
    return e;
}

/* Linear softmax z = W x + b: Hv_W = mean_s u x^T, Hv_b = mean_s u with
 * u = p (Rz - p.Rz), Rz = RW x + Rb. */
static double closed_form_error(void) {
    net t = make("dense:10", 32, 3);
    fedc_nn_grad(t.a, t.ws, t.p, t.g1, t.x, t.y, t.n, NULL);
    fedc_nn_hvp(t.a, t.ws, t.hw, t.p, t.v, t.hv, NULL, t.x, t.y, t.n);
    double *want = calloc(t.np, sizeof *want);
    const float *W = t.p, *b = t.p + 7840, *RW = t.v, *Rb = t.v + 7840;
    for (int s = 0; s < t.n; s++) {
        const float *x = t.x + (size_t)s * 784;
        double z[10], rz[10], p[10], zmax = -1e300, sum = 0, dot = 0;
        for (int c = 0; c < 10; c++) {
            z[c] = b[c];
            rz[c] = Rb[c];
            for (int d = 0; d < 784; d++) {
                z[c] += (double)W[c * 784 + d] * x[d];
                rz[c] += (double)RW[c * 784 + d] * x[d];
            }
            if (z[c] > zmax) zmax = z[c];
        }
        for (int c = 0; c < 10; c++) sum += p[c] = exp(z[c] - zmax);
        for (int c = 0; c < 10; c++) dot += (p[c] /= sum) * rz[c];
        for (int c = 0; c < 10; c++) {
            double u = p[c] * (rz[c] - dot) / t.n;
            for (int d = 0; d < 784; d++) want[c * 784 + d] += u * x[d];
            want[7840 + c] += u;
        }
    }
    double e = rel(t.hv, want, t.np);
    free(want);
    drop(&t);
    return e;
}

int main(void) {
    static const char *const models[][2] = {{"mlp", "mlp"}, {"cnn", "cnn"}};
    printf("{\"state_bytes\": {");
    for (int m = 0; m < 2; m++) {
        fedc_error err;
        fedc_arch *a = fedc_arch_parse(models[m][1], FMNIST, 10, &err);
        printf("%s\"%s\": {\"params\": %zu", m ? ", " : "", models[m][0], fedc_arch_nparams(a));
        for (int k = 0; k < FEDC_OPT_COUNT; k++) {
            fedc_optim_config c = fedc_optim_defaults((fedc_opt_kind)k, 0);
            c.momentum = k == FEDC_OPT_SGD || k == FEDC_OPT_SGDP ? 0.9f : 0.0f; /* sgd/sgdp with momentum */
            fedc_optim *o = fedc_optim_create_arch(&c, a);
            /* the blob minus its two-float step counter; scratch buffers count too */
            printf(", \"%s\": %zu", fedc_opt_kind_name((fedc_opt_kind)k), (fedc_optim_state_size(o) - 2) * 4);
            fedc_optim_free(o);
        }
        printf("}");
        fedc_arch_free(a);
    }
    printf("}, \"hvp\": {\"closed_form_linear_softmax_rel_err\": %.3g", closed_form_error());
    /* A smooth net (normalisations, no ReLU) and two ReLU nets. */
    static const char *const specs[][2] = {{"smooth_bn_gn", "bn,avgpool:2,gn:1,dense:10"},
                                           {"mlp", "mlp"},
                                           {"cnn_bn", "conv:8:5,bn,pool:2,conv:16:5,bn,pool:2,dense:10"}};
    static const double steps[] = {1, 1e-1, 1e-2, 1e-3};
    for (int s = 0; s < 3; s++) {
        net t = make(specs[s][1], 16, 11 + (uint64_t)s);
        printf(", \"fd_rel_err_%s\": {", specs[s][0]);
        for (int k = 0; k < 4; k++) printf("%s\"%g\": %.3g", k ? ", " : "", steps[k], fd_error(&t, steps[k]));
        printf("}");
        drop(&t);
    }
    printf("}}\n");
    return 0;
}
