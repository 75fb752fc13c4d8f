/* The projection AdamP and SGDP share (Heo et al. 2021, "AdamP: Slowing Down
 * the Slowdown for Momentum Optimizers on Scale-invariant Weights", Alg. 1
 * and 2, as clovaai/AdamP implements it). Weights followed by a
 * normalisation are scale-invariant: the loss does not change along w, so
 * the gradient is orthogonal to w, while momentum keeps adding radial
 * components that only grow ||w|| and shrink the effective step. The test:
 * if the cosine similarity between gradient and weights is below
 * delta / sqrt(dim) for every output channel (rows of the tensor viewed as
 * [dims[0], rest]), or else for the tensor as a whole, the update loses its
 * component along the weights of that view, and weight decay is scaled by
 * wd_ratio. Cosine similarity as torch.nn.functional.cosine_similarity:
 * x.y / (max(|x|, eps) max(|y|, eps)). */
#include <math.h>

#include "nn/optim/optim_internal.h"

/* Largest |cos(g, p)| over the rows (rows x len) of the view. */
static double max_abs_cosine(const float *p, const float *g, size_t rows, size_t len, double eps) {
    double best = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *pr = p + r * len, *gr = g + r * len;
        double dot = 0, pp = 0, gg = 0;
        for (size_t i = 0; i < len; i++) {
            dot += (double)pr[i] * gr[i];
            pp += (double)pr[i] * pr[i];
            gg += (double)gr[i] * gr[i];
        }
        double c = fabs(dot) / (fmax(sqrt(pp), eps) * fmax(sqrt(gg), eps));
        if (c > best) best = c;
    }
    return best;
}

/* u -= p_n (p_n . u) per row, with p_n = p / (|p| + eps). */
static void remove_radial(const float *p, float *u, size_t rows, size_t len, double eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *pr = p + r * len;
        float *ur = u + r * len;
        double pp = 0;
        for (size_t i = 0; i < len; i++) pp += (double)pr[i] * pr[i];
        const float inv = (float)(1.0 / (sqrt(pp) + eps));
        double dot = 0;
        for (size_t i = 0; i < len; i++) dot += (double)(pr[i] * inv) * ur[i];
        const float d = (float)dot;
        for (size_t i = 0; i < len; i++) ur[i] -= pr[i] * inv * d;
    }
}

float optim_project(const optim_tensor *t, const float *p, const float *g, float *u, float delta,
                    float wd_ratio, float eps) {
    if (t->ndim < 2 || t->dims[0] < 1) return 1.0f; /* biases and norm scales: plain update */
    const size_t rows = (size_t)t->dims[0], len = t->count / rows;
    /* Channel view first, then the whole tensor as one row. */
    const size_t views[2][2] = {{rows, len}, {1, t->count}};
    for (int v = 0; v < 2; v++) {
        const size_t vr = views[v][0], vl = views[v][1];
        if (max_abs_cosine(p, g, vr, vl, eps) < delta / sqrt((double)vl)) {
            remove_radial(p, u, vr, vl, eps);
            return wd_ratio;
        }
    }
    return 1.0f;
}
