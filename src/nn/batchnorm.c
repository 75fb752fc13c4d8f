/* Batch normalisation (Ioffe & Szegedy 2015), PyTorch semantics
 * (BatchNorm2d after a conv, BatchNorm1d after a dense layer): in training
 * each channel is normalised over the batch and its pixels with the biased
 * variance and eps 1e-5, then scaled and shifted; the running mean and
 * variance follow the batch's mean and unbiased variance with momentum 0.1.
 * In inference the running statistics normalise. stats keeps, per channel,
 * the batch mean, 1/std and unbiased variance: backward recomputes the
 * normalised input from them instead of storing it. */
#include <math.h>

#include "nn/nn_internal.h"

void nn_batchnorm_forward(const nn_op *op, const float *gamma, const float *beta, const float *rmean,
                          const float *rvar, const float *x, float *y, float *stats, int n, int train) {
    const int C = op->in.c;
    const size_t hw = (size_t)op->in.h * op->in.w, count = (size_t)n * hw;
    for (int c = 0; c < C; c++) {
        double mean, rstd;
        if (train) {
            double sum = 0.0, sq = 0.0;
            for (int s = 0; s < n; s++) {
                const float *xc = x + (size_t)s * op->in_size + (size_t)c * hw;
                for (size_t i = 0; i < hw; i++) sum += xc[i];
            }
            mean = sum / (double)count;
            for (int s = 0; s < n; s++) {
                const float *xc = x + (size_t)s * op->in_size + (size_t)c * hw;
                for (size_t i = 0; i < hw; i++) {
                    double d = xc[i] - mean;
                    sq += d * d;
                }
            }
            double var = sq / (double)count;
            rstd = 1.0 / sqrt(var + NN_BN_EPS);
            stats[3 * c] = (float)mean;
            stats[3 * c + 1] = (float)rstd;
            /* A single value per channel has no spread to estimate: PyTorch
             * refuses such a batch; here the running variance takes the
             * biased value (0). */
            stats[3 * c + 2] = (float)(count > 1 ? sq / (double)(count - 1) : var);
        } else {
            mean = rmean[c];
            rstd = 1.0 / sqrt((double)rvar[c] + NN_BN_EPS);
        }
        float a = (float)rstd * gamma[c], b = beta[c] - (float)mean * a;
        for (int s = 0; s < n; s++) {
            const float *xc = x + (size_t)s * op->in_size + (size_t)c * hw;
            float *yc = y + (size_t)s * op->in_size + (size_t)c * hw;
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

void nn_batchnorm_backward(const nn_op *op, const float *gamma, const float *x, const float *y,
                           const float *stats, float *dy, float *dx, float *dgamma, float *dbeta, int n) {
    const int C = op->in.c;
    const size_t hw = (size_t)op->in.h * op->in.w, count = (size_t)n * hw;
    if (op->relu) nn_relu_backward(y, dy, dy, (size_t)n * op->in_size);
    for (int c = 0; c < C; c++) {
        const float mean = stats[3 * c], rstd = stats[3 * c + 1];
        double sdy = 0.0, sdy_xhat = 0.0;
        for (int s = 0; s < n; s++) {
            const float *xc = x + (size_t)s * op->in_size + (size_t)c * hw;
            const float *dyc = dy + (size_t)s * op->in_size + (size_t)c * hw;
            for (size_t i = 0; i < hw; i++) {
                float xhat = (xc[i] - mean) * rstd;
                sdy += dyc[i];
                sdy_xhat += (double)dyc[i] * xhat;
            }
        }
        dgamma[c] = (float)sdy_xhat;
        dbeta[c] = (float)sdy;
        if (!op->need_dx) continue;
        /* dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma */
        const float g = gamma[c];
        const float m1 = (float)(sdy * g / (double)count), m2 = (float)(sdy_xhat * g / (double)count);
        for (int s = 0; s < n; s++) {
            const float *xc = x + (size_t)s * op->in_size + (size_t)c * hw;
            const float *dyc = dy + (size_t)s * op->in_size + (size_t)c * hw;
            float *dxc = dx + (size_t)s * op->in_size + (size_t)c * hw;
            for (size_t i = 0; i < hw; i++) {
                float xhat = (xc[i] - mean) * rstd;
                dxc[i] = rstd * (dyc[i] * g - m1 - xhat * m2);
            }
        }
    }
}

void nn_batchnorm_commit(const nn_op *op, const float *stats, float *rmean, float *rvar) {
    const float m = (float)NN_BN_MOMENTUM;
    for (int c = 0; c < op->in.c; c++) {
        rmean[c] = (1.0f - m) * rmean[c] + m * stats[3 * c];
        rvar[c] = (1.0f - m) * rvar[c] + m * stats[3 * c + 2];
    }
}
