/* FedLD, federated learning via loss decomposition (Zeng et al.), as in the
 * authors' released code:
 *   - local training adds a margin term to the cross-entropy,
 *     lambda log(1 + |softmax(z)|_F^2) over the batch (margin_lambda);
 *   - aggregation, tensor by tensor (weights and biases of each layer
 *     apart): the first round averages; afterwards, with the m client
 *     updates G (m x n_l), H = G G^T / m = E diag(s) E^T, the principal
 *     directions are w_j = G^T e_j, the k = floor(m top_fraction) largest
 *     kept (at least one), each turned to agree in sign with the majority
 *     of the updates; every update is rebuilt as
 *       sum_j sign<g_i, w_j> (s_j / sum s) |g_i| w_j / |w_j|
 *     and the rebuilt updates are averaged (one-float tensors are averaged).
 * Since <g_i, w_j> = m s_j e_j[i] and |w_j|^2 = m s_j, the result is the
 * combination G^T a with a = sum_j c_j e_j / sqrt(m s_j), computed without
 * forming the w_j. Updates are weighted equally, as in the code. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strategy_impl.h"

static int init(fedc_strategy *s, fedc_error *err) {
    return fedc_strategy_alloc_state(s, 1, err); /* aggregated before */
}

static void client_begin(fedc_client_ctx *c) { c->margin_lambda = c->strategy->task.strategy.margin_lambda; }

/* Eigen-decomposition of the symmetric m x m matrix A (destroyed) by
 * cyclic Jacobi rotations: eigenvalues in s, eigenvectors in the columns
 * of V (row-major). */
static void jacobi_eigen(double *A, int m, double *s, double *V) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) V[i * m + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) {
                if (i != j) off += A[i * m + j] * A[i * m + j];
                else diag += A[i * m + i] * A[i * m + i];
            }
        if (off <= 1e-24 * (diag + 1e-300)) break;
        for (int p = 0; p < m; p++)
            for (int q = p + 1; q < m; q++) {
                double apq = A[p * m + q];
                if (fabs(apq) < 1e-300) continue;
                double theta = (A[q * m + q] - A[p * m + p]) / (2 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), sn = t * c;
                for (int k = 0; k < m; k++) {
                    double akp = A[k * m + p], akq = A[k * m + q];
                    A[k * m + p] = c * akp - sn * akq;
                    A[k * m + q] = sn * akp + c * akq;
                }
                for (int k = 0; k < m; k++) {
                    double apk = A[p * m + k], aqk = A[q * m + k];
                    A[p * m + k] = c * apk - sn * aqk;
                    A[q * m + k] = sn * apk + c * aqk;
                }
                for (int k = 0; k < m; k++) {
                    double vkp = V[k * m + p], vkq = V[k * m + q];
                    V[k * m + p] = c * vkp - sn * vkq;
                    V[k * m + q] = sn * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < m; i++) s[i] = A[i * m + i];
}

/* The coefficients a (m) of one tensor's aggregate G^T a. */
static void principal_coeffs(const fedc_strategy *s, const fedc_update *u, int m, size_t off, size_t cnt, double *a,
                             double *H, double *V, double *ev, int *order) {
    for (int i = 0; i < m; i++)
        for (int j = i; j < m; j++) {
            double d = 0;
            const float *gi = u[i].delta + off, *gj = u[j].delta + off;
            for (size_t l = 0; l < cnt; l++) d += (double)gi[l] * gj[l];
            H[i * m + j] = H[j * m + i] = d / m;
        }
    double norms[m > 0 ? m : 1];
    for (int i = 0; i < m; i++) norms[i] = sqrt(H[i * m + i] * m);
    jacobi_eigen(H, m, ev, V);
    for (int i = 0; i < m; i++) order[i] = i;
    for (int i = 1; i < m; i++) /* by eigenvalue, largest first */
        for (int j = i; j > 0 && ev[order[j]] > ev[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    int k = (int)(m * s->task.strategy.top_fraction);
    if (k < 1) k = 1;
    double ssum = 0, smax = ev[order[0]] > 0 ? ev[order[0]] : 0;
    for (int i = 0; i < m; i++) ssum += ev[i] > 0 ? ev[i] : 0;
    memset(a, 0, (size_t)m * sizeof *a);
    if (smax <= 0) return; /* all updates zero on this tensor */
    for (int r = 0; r < k; r++) {
        int j = order[r];
        double sj = ev[j];
        if (sj <= 1e-12 * smax) continue; /* no such direction: w_j = 0 */
        int pos = 0, neg = 0;
        for (int i = 0; i < m; i++) {
            if (V[i * m + j] >= 0) pos++;
            else neg++;
        }
        double flip = pos < neg ? -1.0 : 1.0, cj = 0;
        for (int i = 0; i < m; i++) {
            double e = flip * V[i * m + j]; /* sign of <g_i, w_j> */
            cj += (e > 0 ? 1.0 : e < 0 ? -1.0 : 0.0) * (sj / ssum) * norms[i];
        }
        cj /= m;
        double scale = cj / sqrt(m * sj);
        for (int i = 0; i < m; i++) a[i] += scale * flip * V[i * m + j];
    }
}

static int aggregate(fedc_strategy *s, float *x, const fedc_update *u, int n, const fedc_round_ctx *rc,
                     fedc_error *err) {
    size_t d = s->d;
    int first = s->state[0] == 0;
    double *H = malloc((size_t)n * n * sizeof *H), *V = malloc((size_t)n * n * sizeof *V);
    double *ev = malloc((size_t)n * sizeof *ev), *a = malloc((size_t)n * sizeof *a);
    int *order = malloc((size_t)n * sizeof *order);
    if (!H || !V || !ev || !a || !order) {
        free(H), free(V), free(ev), free(a), free(order);
        return fedc_fail(err, "out of memory for FedLD's %d x %d Gram matrix", n, n);
    }
    memset(s->mean, 0, d * sizeof(float));
    for (int t = 0; t < s->n_tensors; t++) {
        size_t off = s->t_offset[t], cnt = s->t_count[t];
        if (first || cnt <= 1) {
            for (int i = 0; i < n; i++) a[i] = 1.0 / n;
        } else {
            principal_coeffs(s, u, n, off, cnt, a, H, V, ev, order);
        }
        for (int i = 0; i < n; i++) {
            float f = (float)a[i];
            const float *g = u[i].delta + off;
            for (size_t l = 0; l < cnt; l++) s->mean[off + l] += f * g[l];
        }
    }
    free(H), free(V), free(ev), free(a), free(order);
    fedc_step_sgd(s, x, s->mean, rc);
    s->state[0] = 1;
    return 0;
}

const fedc_strategy_ops fedc_ops_fedld = {
    .name = "fedld", .init = init, .client_begin = client_begin, .aggregate = aggregate};
