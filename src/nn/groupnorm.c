/* Group normalisation (Wu & He 2018), PyTorch semantics: per sample, the
 * channels are split into G groups, each normalised over its channels and
 * pixels with the biased variance and eps = 1e-5, then scaled and shifted
 * per channel. Mean and 1/std are kept for the backward pass, which
 * recomputes the normalised input instead of storing it. */
#include <math.h>

#include "nn/nn_internal.h"

#define GN_EPS 1e-5

void nn_groupnorm_forward(const nn_op *op, const float *gamma, const float *beta, const float *x,
                          float *y, float *stats, int n) {
    const int G = op->groups, cpg = op->in.c / G;
    const size_t hw = (size_t)op->in.h * op->in.w, gsize = (size_t)cpg * hw;
    for (int s = 0; s < n; s++) {
        for (int g = 0; g < G; g++) {
            size_t base = (size_t)s * op->in_size + (size_t)g * gsize;
            const float *xg = x + base;
            double sum = 0.0, sq = 0.0;
            for (size_t i = 0; i < gsize; i++) sum += xg[i];
            double mean = sum / (double)gsize;
            for (size_t i = 0; i < gsize; i++) {
                double d = xg[i] - mean;
                sq += d * d;
            }
            double rstd = 1.0 / sqrt(sq / (double)gsize + GN_EPS);
            stats[2 * ((size_t)s * G + g)] = (float)mean;
            stats[2 * ((size_t)s * G + g) + 1] = (float)rstd;
            for (int cc = 0; cc < cpg; cc++) {
                int c = g * cpg + cc;
                float a = (float)rstd * gamma[c], b = beta[c] - (float)mean * a;
                const float *xc = xg + cc * hw;
                float *yc = y + base + cc * hw;
                if (op->relu) {
                    for (size_t i = 0; i < hw; i++) {
                        float v = xc[i] * a + b;
                        yc[i] = v > 0.0f ? v : 0.0f;
                    }
                } else {
                    for (size_t i = 0; i < hw; i++) yc[i] = xc[i] * a + b;
                }
            }
        }
    }
}

void nn_groupnorm_backward(const nn_op *op, const float *gamma, const float *x, const float *y,
                           const float *stats, float *dy, float *dx, float *dgamma, float *dbeta,
                           int n) {
    const int G = op->groups, C = op->in.c, cpg = C / G;
    const size_t hw = (size_t)op->in.h * op->in.w, gsize = (size_t)cpg * hw;
    if (op->relu) nn_relu_backward(y, dy, dy, (size_t)n * op->in_size);
    for (int c = 0; c < C; c++) dgamma[c] = dbeta[c] = 0.0f;
    for (int s = 0; s < n; s++) {
        for (int g = 0; g < G; g++) {
            size_t base = (size_t)s * op->in_size + (size_t)g * gsize;
            float mean = stats[2 * ((size_t)s * G + g)], rstd = stats[2 * ((size_t)s * G + g) + 1];
            /* Sums over the group of dxhat = dy*gamma and of dxhat*xhat. */
            double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
            for (int cc = 0; cc < cpg; cc++) {
                int c = g * cpg + cc;
                const float *xc = x + base + cc * hw, *dyc = dy + base + cc * hw;
                double sdy = 0.0, sdy_xhat = 0.0;
                for (size_t i = 0; i < hw; i++) {
                    float xhat = (xc[i] - mean) * rstd;
                    sdy += dyc[i];
                    sdy_xhat += (double)dyc[i] * xhat;
                }
                dgamma[c] += (float)sdy_xhat;
                dbeta[c] += (float)sdy;
                sum_dxhat += sdy * gamma[c];
                sum_dxhat_xhat += sdy_xhat * gamma[c];
            }
            if (!op->need_dx) continue;
            float m1 = (float)(sum_dxhat / (double)gsize), m2 = (float)(sum_dxhat_xhat / (double)gsize);
            for (int cc = 0; cc < cpg; cc++) {
                int c = g * cpg + cc;
                const float *xc = x + base + cc * hw, *dyc = dy + base + cc * hw;
                float *dxc = dx + base + cc * hw;
                for (size_t i = 0; i < hw; i++) {
                    float xhat = (xc[i] - mean) * rstd;
                    dxc[i] = rstd * (dyc[i] * gamma[c] - m1 - xhat * m2);
                }
            }
        }
    }
}
