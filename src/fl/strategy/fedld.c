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

#include "core/sym_eigen.h"
#include "strategy_impl.h"

static int init(fedc_strategy *s, fedc_error *err) {
    return fedc_strategy_alloc_state(s, 1, err); /* aggregated before */
}

static void client_begin(fedc_client_ctx *c) { c->margin_lambda = c->strategy->task.strategy.margin_lambda; }

/* The coefficients a (m) of one tensor's aggregate G^T a. */
static void principal_coeffs(const fedc_strategy *s, const fedc_update *u, int m, size_t off, size_t cnt, double *a,
                             double *H, double *V, double *ev) {
    for (int i = 0; i < m; i++)
        for (int j = i; j < m; j++) {
            double d = 0;
            const float *gi = u[i].delta + off, *gj = u[j].delta + off;
            for (size_t l = 0; l < cnt; l++) d += (double)gi[l] * gj[l];
            H[i * m + j] = H[j * m + i] = d / m;
        }
    double norms[m > 0 ? m : 1];
    for (int i = 0; i < m; i++) norms[i] = sqrt(H[i * m + i] * m);
    sym_eigen_jacobi(H, m, ev, V); /* largest eigenvalue first */
    int k = (int)(m * s->task.strategy.top_fraction);
    if (k < 1) k = 1;
    double ssum = 0, smax = ev[0] > 0 ? ev[0] : 0;
    for (int i = 0; i < m; i++) ssum += ev[i] > 0 ? ev[i] : 0;
    memset(a, 0, (size_t)m * sizeof *a);
    if (smax <= 0) return; /* all updates zero on this tensor */
    for (int r = 0; r < k; r++) {
        int j = r;
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
    if (!H || !V || !ev || !a) {
        free(H), free(V), free(ev), free(a);
        return fedc_fail(err, "out of memory for FedLD's %d x %d Gram matrix", n, n);
    }
    memset(s->mean, 0, d * sizeof(float));
    for (int t = 0; t < s->n_tensors; t++) {
        size_t off = s->t_offset[t], cnt = s->t_count[t];
        if (first || cnt <= 1) {
            for (int i = 0; i < n; i++) a[i] = 1.0 / n;
        } else {
            principal_coeffs(s, u, n, off, cnt, a, H, V, ev);
        }
        for (int i = 0; i < n; i++) {
            float f = (float)a[i];
            const float *g = u[i].delta + off;
            for (size_t l = 0; l < cnt; l++) s->mean[off + l] += f * g[l];
        }
    }
    free(H), free(V), free(ev), free(a);
    fedc_step_sgd(s, x, s->mean, rc);
    s->state[0] = 1;
    return 0;
}

const fedc_strategy_ops fedc_ops_fedld = {
    .name = "fedld", .init = init, .client_begin = client_begin, .aggregate = aggregate};
