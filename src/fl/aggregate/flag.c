/* Flag Aggregator (Almasi, Mishra, Sankaran, Harchaoui, Ravi, "Flag
 * Aggregator: Scalable Distributed Training under Failures and Augmented
 * Losses using Convex Optimization", 2023), as in the authors' code
 * (aggregators/flag.py, center_algorithms_torch.py):
 *
 *   x_i = v_i / |v_i|; Y0 = an orthonormal random d x r basis; then
 *   iterations of reweighted least squares (the flag median):
 *       w_i = (|1 - |Y^T x_i|^2| + 1e-7)^(-1/4)
 *       Y   = the top r left singular vectors of [w_1 x_1, ..., w_n x_n]
 *   keeping the last Y only if it lowered sum_i sqrt(1 - |Y^T x_i|^2);
 *   the aggregate is proportional to sum_i Y Y^T x_i.
 *
 * Everything after Y0 lives in the span of the x_i, so it is computed on
 * the n x n cosine Gram matrix C: Y = X A with A = W V L^(-1/2) from the
 * eigenpairs (V, L) of W C W, and Y^T x_i = A^T C e_i.
 *
 * Scale: the authors divide the sum by r and let the optimizer's learning
 * rate absorb the unit-length inputs. A federated update needs the scale
 * of a client update, so fedc returns (1/n) sum_i Y Y^T x_i times the
 * median of the update norms: identical updates come back unchanged, and
 * a minority of huge updates cannot inflate the step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate_internal.h"
#include "core/sym_eigen.h"

#define W_EPS 1e-7

typedef struct flag_work {
    int n, r;   /* updates, subspace dimension (columns of A, n x r) */
    size_t d;
    double *C;  /* n x n cosines of the updates */
} flag_work;

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* |Y^T x_i|^2 for Y = X A (rank r columns). */
static void proj_from_coeffs(const flag_work *w, const double *A, int r, double *proj) {
    for (int i = 0; i < w->n; i++) {
        double s = 0;
        for (int k = 0; k < r; k++) {
            double t = 0;
            for (int j = 0; j < w->n; j++) t += A[j * w->r + k] * w->C[j * w->n + i];
            s += t * t;
        }
        proj[i] = s;
    }
}

static double objective(const double *proj, int n, const double *norm) {
    double e = 0;
    for (int i = 0; i < n; i++) {
        double s = norm[i] > 0 ? 1 - proj[i] : 1;
        e += s > 0 ? sqrt(s) : 0;
    }
    return e;
}

/* One flag-mean step: A <- W V L^(-1/2) of the weighted Gram; returns the
 * number of usable columns (eigenvalues above round-off). */
static int flag_step(flag_work *w, const double *proj, const double *norm, double *A, double *G, double *V,
                     double *L) {
    int n = w->n;
    double *wt = malloc((size_t)n * sizeof *wt);
    if (!wt) return -1;
    for (int i = 0; i < n; i++) wt[i] = norm[i] > 0 ? pow(fabs(1 - proj[i]) + W_EPS, -0.25) : 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) G[i * n + j] = wt[i] * wt[j] * w->C[i * n + j];
    sym_eigen_jacobi(G, n, L, V);
    int r = 0;
    double top = L[0] > 0 ? L[0] : 0;
    for (int k = 0; k < w->r && k < n; k++) {
        if (!(L[k] > 1e-12 * top) || top <= 0) break;
        double s = 1 / sqrt(L[k]);
        for (int i = 0; i < n; i++) A[i * w->r + k] = wt[i] * V[i * n + k] * s;
        r++;
    }
    for (int k = r; k < w->r; k++)
        for (int i = 0; i < n; i++) A[i * w->r + k] = 0;
    free(wt);
    return r;
}

/* Random orthonormal d x r basis (uniform entries, Gram-Schmidt: the span
 * of the authors' QR of torch.rand - 0.5), and |Y0^T x_i|^2. */
static int random_basis(const agg_input *in, int r, const double *norm, float **Y0_out, double *proj) {
    size_t d = in->d;
    float *Y = malloc(d * (size_t)r * sizeof *Y);
    if (!Y) return -1;
    for (int k = 0; k < r; k++) {
        float *y = Y + (size_t)k * d;
        for (size_t j = 0; j < d; j++) y[j] = fedc_rng_uniform_f(in->rng) - 0.5f;
        for (int pass = 0; pass < 2; pass++) /* twice: re-orthogonalisation keeps it orthonormal in float */
            for (int q = 0; q < k; q++) {
                const float *b = Y + (size_t)q * d;
                double dot = agg_dot(y, b, d);
                for (size_t j = 0; j < d; j++) y[j] -= (float)dot * b[j];
            }
        double nn = sqrt(agg_dot(y, y, d));
        for (size_t j = 0; j < d; j++) y[j] = (float)(y[j] / nn);
    }
    for (int i = 0; i < in->n; i++) {
        double s = 0;
        for (int k = 0; k < r && norm[i] > 0; k++) {
            double t = agg_dot(Y + (size_t)k * d, in->v[i], d) / norm[i];
            s += t * t;
        }
        proj[i] = s;
    }
    *Y0_out = Y;
    return 0;
}

int agg_flag(const agg_input *in, int rank, int iters, float *out, agg_output *o, fedc_error *err) {
    (void)o;
    int n = in->n;
    size_t d = in->d;
    int r = rank < n ? rank : n;
    flag_work w = {n, r, d, NULL};
    double *norm = malloc((size_t)n * sizeof *norm), *sorted = malloc((size_t)n * sizeof *sorted);
    w.C = malloc((size_t)n * n * sizeof *w.C);
    double *A = calloc((size_t)n * r, sizeof *A), *Aprev = calloc((size_t)n * r, sizeof *Aprev);
    double *G = malloc((size_t)n * n * sizeof *G), *V = malloc((size_t)n * n * sizeof *V),
           *L = malloc((size_t)n * sizeof *L);
    double *proj = malloc((size_t)n * sizeof *proj), *proj_prev = malloc((size_t)n * sizeof *proj_prev);
    double *acc = malloc(d * sizeof *acc);
    float *Y0 = NULL;
    int rc = -1;
    if (!norm || !sorted || !w.C || !A || !Aprev || !G || !V || !L || !proj || !proj_prev || !acc) {
        fedc_fail(err, "aggregation: out of memory for flag");
        goto out;
    }
    for (int i = 0; i < n; i++) norm[i] = sqrt(agg_dot(in->v[i], in->v[i], d));
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            double c = norm[i] > 0 && norm[j] > 0 ? agg_dot(in->v[i], in->v[j], d) / (norm[i] * norm[j]) : 0;
            w.C[i * n + j] = w.C[j * n + i] = c;
        }
    if (random_basis(in, r, norm, &Y0, proj) != 0) {
        fedc_fail(err, "aggregation: out of memory for flag");
        goto out;
    }
    /* IRLS as irls_flag: "cur" starts as the random Y0 (explicit); each
     * step moves cur to prev. Stops when a step no longer lowers the
     * objective, which is then answered with the iterate before it. */
    int cur_explicit = 1, prev_explicit = 1, r_cur = r, r_prev = r, ran = 0;
    double err_cur = objective(proj, n, norm), err_prev = err_cur, diff = 1;
    for (int it = 1; it <= iters && diff > 1e-10 && err_cur > 1e-10; it++) {
        prev_explicit = cur_explicit;
        if (!cur_explicit) memcpy(Aprev, A, (size_t)n * r * sizeof *A);
        r_prev = r_cur;
        err_prev = err_cur;
        memcpy(proj_prev, proj, (size_t)n * sizeof *proj);
        int r_new = flag_step(&w, proj_prev, norm, A, G, V, L);
        if (r_new < 0) {
            fedc_fail(err, "aggregation: out of memory for flag");
            goto out;
        }
        if (r_new == 0) break; /* every update is zero: nothing to span */
        cur_explicit = 0;
        r_cur = r_new;
        proj_from_coeffs(&w, A, r_cur, proj);
        err_cur = objective(proj, n, norm);
        diff = err_prev - err_cur;
        ran = 1;
    }
    int use_cur = !ran || diff > 0;
    int use_explicit = use_cur ? cur_explicit : prev_explicit;
    memset(acc, 0, d * sizeof *acc);
    if (use_explicit) {
        /* sum_i Y0 Y0^T x_i = Y0 (Y0^T sum_i x_i) */
        for (int k = 0; k < r; k++) {
            const float *y = Y0 + (size_t)k * d;
            double t = 0;
            for (int i = 0; i < n; i++)
                if (norm[i] > 0) t += agg_dot(y, in->v[i], d) / norm[i];
            for (size_t j = 0; j < d; j++) acc[j] += t * y[j];
        }
    } else {
        const double *Au = use_cur ? A : Aprev;
        int ru = use_cur ? r_cur : r_prev;
        /* beta = A A^T (C 1); the sum is X beta. */
        double *c1 = G, *beta = L; /* scratch reuse: n doubles each */
        for (int i = 0; i < n; i++) {
            c1[i] = 0;
            for (int j = 0; j < n; j++) c1[i] += w.C[i * n + j];
        }
        for (int i = 0; i < n; i++) beta[i] = 0;
        for (int k = 0; k < ru; k++) {
            double t = 0;
            for (int j = 0; j < n; j++) t += Au[j * r + k] * c1[j];
            for (int i = 0; i < n; i++) beta[i] += Au[i * r + k] * t;
        }
        for (int i = 0; i < n; i++) {
            if (!(norm[i] > 0)) continue;
            double b = beta[i] / norm[i];
            for (size_t j = 0; j < d; j++) acc[j] += b * in->v[i][j];
        }
    }
    memcpy(sorted, norm, (size_t)n * sizeof *norm);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    double med = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    for (size_t j = 0; j < d; j++) out[j] = (float)(acc[j] * med / n);
    rc = 0;
out:
    free(norm), free(sorted), free(w.C), free(A), free(Aprev), free(G), free(V), free(L), free(proj),
        free(proj_prev), free(acc), free(Y0);
    return rc;
}
