/* M-FAC (Frantar, Kurtic & Alistarh 2021, "M-FAC: Efficient Matrix-Free
 * Approximations of Second-Order Information"; IST-DASLab/M-FAC optim.py).
 * The step preconditions the gradient with the inverse of the dampened
 * empirical Fisher over a sliding window of the last m gradients:
 *   F = lambda I + (1/m) sum_i g_i g_i^T        (lambda = damp; the window
 *                                                starts as m zero rows)
 *   u = F^{-1} (g + wd p),  buf = mu buf + (1 - mu) u (if mu > 0),  p -= lr buf.
 * F^{-1} is never formed. With G the m x d window and K = G G^T, Woodbury
 * gives
 *   F^{-1} x = (x - G^T (m lambda I + K)^{-1} G x) / lambda,
 * so a step costs two passes over G (G x and G^T c: O(dm)) plus an m x m
 * Cholesky solve; replacing the oldest row updates one row and column of K
 * from the same G x. The paper's dynamic algorithm reaches the same product
 * through a recursive Sherman-Morrison form; both equal the exact inverse.
 * Products and K are accumulated in double: the 1/lambda = 1e5 factor
 * amplifies rounding in x - G^T c. Memory: m x d floats (the window).
 * The paper runs m = 1024 with lr 1e-3; the step along the window's span
 * grows about linearly with m (F^{-1} g ~ m g / |g|^2), so with fedc's
 * default m = 16 the default lr is 0.1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/optim/optim_internal.h"

typedef struct mfac_state {
    int m;        /* window length */
    int next;     /* row the next gradient replaces (oldest) */
    size_t d;     /* stepped coordinates */
    float *G;     /* m x d window */
    double *K;    /* m x m Gram matrix of the window */
    double *L;    /* Cholesky factor of m lambda I + K */
    double *c, *gx;
    double *acc;  /* x - G^T c, accumulated row by row */
    float *x;     /* the gathered (decayed) gradient */
} mfac_state;

static void defaults(fedc_optim_config *c) {
    c->window = 16;
    c->damp = 1e-5f;
}

static int nbufs(const fedc_optim_config *c) { return c->momentum > 0.0f ? 1 : 0; }

static void free_extra(fedc_optim *o) {
    mfac_state *s = o->extra;
    if (!s) return;
    fedc_nn_free(s->G);
    fedc_nn_free(s->x);
    free(s->K);
    free(s->L);
    free(s->c);
    free(s->gx);
    free(s->acc);
    free(s);
    o->extra = NULL;
}

static void reset_extra(fedc_optim *o) {
    mfac_state *s = o->extra;
    s->next = 0;
    memset(s->G, 0, (size_t)s->m * s->d * sizeof *s->G);
    memset(s->K, 0, (size_t)s->m * s->m * sizeof *s->K);
}

static int init(fedc_optim *o) {
    const int m = o->cfg.window;
    if (m < 1 || m > 4096 || !(o->cfg.damp > 0.0f) || o->n_stepped == 0) return -1;
    mfac_state *s = calloc(1, sizeof *s);
    if (!s) return -1;
    o->extra = s;
    s->m = m;
    s->d = o->n_stepped;
    if ((size_t)m > SIZE_MAX / sizeof(float) / s->d) return -1;
    s->G = fedc_nn_alloc((size_t)m * s->d);
    s->x = fedc_nn_alloc(s->d);
    s->K = calloc((size_t)m * m, sizeof *s->K);
    s->L = calloc((size_t)m * m, sizeof *s->L);
    s->c = calloc((size_t)m, sizeof *s->c);
    s->gx = calloc((size_t)m, sizeof *s->gx);
    s->acc = malloc(s->d * sizeof *s->acc);
    if (!s->G || !s->x || !s->K || !s->L || !s->c || !s->gx || !s->acc) return -1;
    reset_extra(o);
    return 0;
}

/* Solves (m lambda I + K) c = b by Cholesky (the matrix is positive
 * definite: K is a Gram matrix and m lambda > 0). */
static void solve(mfac_state *s, double shift, const double *b, double *c) {
    const int m = s->m;
    double *L = s->L;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j <= i; j++) {
            double sum = s->K[i * m + j] + (i == j ? shift : 0.0);
            for (int k = 0; k < j; k++) sum -= L[i * m + k] * L[j * m + k];
            L[i * m + j] = i == j ? sqrt(sum > 0 ? sum : shift) : sum / L[j * m + j];
        }
    }
    for (int i = 0; i < m; i++) { /* L y = b */
        double sum = b[i];
        for (int k = 0; k < i; k++) sum -= L[i * m + k] * c[k];
        c[i] = sum / L[i * m + i];
    }
    for (int i = m - 1; i >= 0; i--) { /* L^T c = y */
        double sum = c[i];
        for (int k = i + 1; k < m; k++) sum -= L[k * m + i] * c[k];
        c[i] = sum / L[i * m + i];
    }
}

static void step(fedc_optim *o, float *params, const float *grad) {
    mfac_state *s = o->extra;
    const int m = s->m;
    const size_t d = s->d;
    const double lambda = o->cfg.damp;
    const float wd = o->cfg.weight_decay, lr = o->cfg.lr, mu = o->cfg.momentum;
    /* x = g + wd p over the stepped coordinates, into the window's oldest row. */
    size_t pos = 0;
    for (int k = 0; k < o->nt; k++) {
        const size_t off = o->t[k].offset, n = o->t[k].count;
        for (size_t i = 0; i < n; i++) s->x[pos + i] = grad[off + i] + wd * params[off + i];
        pos += n;
    }
    float *row = s->G + (size_t)s->next * d;
    memcpy(row, s->x, d * sizeof *row);
    /* G x: also the new row and column of K. */
    for (int i = 0; i < m; i++) {
        const float *gi = s->G + (size_t)i * d;
        double dot = 0;
        for (size_t j = 0; j < d; j++) dot += (double)gi[j] * s->x[j];
        s->gx[i] = dot;
    }
    for (int i = 0; i < m; i++) s->K[s->next * m + i] = s->K[i * m + s->next] = s->gx[i];
    solve(s, m * lambda, s->gx, s->c);
    /* u = (x - G^T c) / lambda, one streaming pass per window row, then
     * momentum and the step. */
    double *acc = s->acc;
    for (size_t j = 0; j < d; j++) acc[j] = s->x[j];
    for (int r = 0; r < m; r++) {
        const float *gr = s->G + (size_t)r * d;
        const double cr = s->c[r];
        for (size_t j = 0; j < d; j++) acc[j] -= (double)gr[j] * cr;
    }
    pos = 0;
    for (int k = 0; k < o->nt; k++) {
        const size_t off = o->t[k].offset, n = o->t[k].count;
        for (size_t i = 0; i < n; i++) {
            float u = (float)(acc[pos + i] / lambda);
            if (mu > 0.0f) {
                float *b = o->buf[0] + off + i;
                *b = mu * *b + (1.0f - mu) * u;
                u = *b;
            }
            params[off + i] -= lr * u;
        }
        pos += n;
    }
    s->next = (s->next + 1) % m;
}

/* Extra state: [next | K (m*m doubles) | G (m*d floats)]. */
static size_t extra_floats(const fedc_optim *o) {
    const mfac_state *s = o->extra;
    return 1 + 2 * (size_t)s->m * s->m + (size_t)s->m * s->d;
}

static void save_extra(const fedc_optim *o, float *out) {
    const mfac_state *s = o->extra;
    out[0] = (float)s->next;
    memcpy(out + 1, s->K, (size_t)s->m * s->m * sizeof *s->K);
    memcpy(out + 1 + 2 * (size_t)s->m * s->m, s->G, (size_t)s->m * s->d * sizeof *s->G);
}

static void load_extra(fedc_optim *o, const float *in) {
    mfac_state *s = o->extra;
    int next = (int)in[0];
    s->next = next >= 0 && next < s->m ? next : 0;
    memcpy(s->K, in + 1, (size_t)s->m * s->m * sizeof *s->K);
    memcpy(s->G, in + 1 + 2 * (size_t)s->m * s->m, (size_t)s->m * s->d * sizeof *s->G);
}

const optim_ops optim_mfac = {FEDC_OPT_MFAC, "mfac",     0.1,        defaults,   nbufs, init, free_extra,
                              reset_extra,   extra_floats, save_extra, load_extra, step};
