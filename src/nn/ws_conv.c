/* Scaled weight standardisation of a convolution's weights (Qiao et al.
 * 2019; the scaled form of Brock et al.'s NF-Nets, which FedWon uses in
 * place of every normalisation layer). Each output channel's weights are
 * standardised over their fan-in N = C*K*K with the biased variance:
 *   w_std = gain * (w - mean) / sqrt(N * (var + eps))
 * so every output channel has unit-norm weights times its gain, whatever the
 * raw weights' scale. The conv itself then runs on w_std with the ordinary
 * kernels; backward maps the gradient of w_std back to w and gain. The
 * transform depends only on the weights, never on the batch, so it behaves
 * the same in training and inference and with any batch size. */
#include <math.h>

#include "nn/nn_internal.h"

void nn_ws_standardize(const nn_op *op, const float *w, const float *gain, float *w_std, float *stats) {
    const int OC = op->out.c;
    const size_t N = op->w_count / (size_t)OC;
    const double inv_sqrt_n = 1.0 / sqrt((double)N);
    for (int oc = 0; oc < OC; oc++) {
        const float *wo = w + (size_t)oc * N;
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < N; i++) sum += wo[i];
        double mean = sum / (double)N;
        for (size_t i = 0; i < N; i++) {
            double d = wo[i] - mean;
            sq += d * d;
        }
        double rstd = 1.0 / sqrt(sq / (double)N + NN_WS_EPS);
        stats[2 * oc] = (float)mean;
        stats[2 * oc + 1] = (float)rstd;
        float a = (float)(rstd * inv_sqrt_n) * gain[oc];
        float *so = w_std + (size_t)oc * N;
        for (size_t i = 0; i < N; i++) so[i] = (wo[i] - (float)mean) * a;
    }
}

void nn_ws_backward(const nn_op *op, const float *w, const float *gain, const float *stats,
                    const float *dw_std, float *dw, float *dgain) {
    const int OC = op->out.c;
    const size_t N = op->w_count / (size_t)OC;
    const float inv_sqrt_n = (float)(1.0 / sqrt((double)N));
    for (int oc = 0; oc < OC; oc++) {
        const float *wo = w + (size_t)oc * N, *go = dw_std + (size_t)oc * N;
        const float mean = stats[2 * oc], rstd = stats[2 * oc + 1];
        /* w_std = s * what with s = gain / sqrt(N): dwhat = s * dw_std. */
        double sg = 0.0, sg_what = 0.0;
        for (size_t i = 0; i < N; i++) {
            float what = (wo[i] - mean) * rstd;
            sg += go[i];
            sg_what += (double)go[i] * what;
        }
        dgain[oc] = (float)(sg_what * inv_sqrt_n);
        const float s = gain[oc] * inv_sqrt_n;
        const float m1 = (float)(sg / (double)N), m2 = (float)(sg_what / (double)N);
        float *dwo = dw + (size_t)oc * N;
        for (size_t i = 0; i < N; i++) {
            float what = (wo[i] - mean) * rstd;
            dwo[i] = s * rstd * (go[i] - m1 - what * m2);
        }
    }
}
