/* Backward pass of a convolution followed by a max pool, taken together.
 * The pool passes its gradient to one input per window (its argmax), so the
 * conv output gradient is zero everywhere else: for a 2x2 pool 3 of every 4
 * terms of both conv gradient GEMMs are products with zero. Here only the
 * window winners are visited. For each winner (sample, channel oc, output
 * position p) with gradient g:
 *   dW[oc] += g * patch(p)      dx[patch(p)] += g * W[oc]
 * With the input stored channels-last and zero-padded (HWC), patch(p) is K
 * runs of K*C contiguous floats, so both updates are plain axpys over the
 * weight layout [oc][ky][kx][c]; the results are transposed back to PyTorch's
 * [oc][c][ky][kx] and to NCHW at the end. This is exact: the skipped terms
 * are products with zero (only the order of the float sums changes). */
#include <string.h>

#include "nn/nn_internal.h"

int nn_conv_pool_fusable(const fedc_arch *a, int i) {
    return i >= 0 && i + 1 < a->n_ops && a->ops[i].kind == NN_CONV && a->ops[i + 1].kind == NN_MAXPOOL;
}

size_t nn_conv_hwc_floats(const nn_op *op) {
    return (size_t)(op->in.h + 2 * op->pad) * (size_t)(op->in.w + 2 * op->pad) * (size_t)op->in.c;
}

void nn_conv_to_hwc(const nn_op *op, const float *x, float *xh) {
    const int C = op->in.c, H = op->in.h, W = op->in.w, P = op->pad, Wp = W + 2 * P;
    memset(xh, 0, nn_conv_hwc_floats(op) * sizeof *xh);
    for (int c = 0; c < C; c++)
        for (int iy = 0; iy < H; iy++) {
            const float *src = x + ((size_t)c * H + iy) * W;
            float *dst = xh + ((size_t)(iy + P) * Wp + P) * C + c;
            for (int ix = 0; ix < W; ix++) dst[(size_t)ix * C] = src[ix];
        }
}

/* w [oc][c][ky][kx] -> wt [oc][ky][kx][c] (and back with to_torch). */
static void weights_to_hwc(const nn_op *op, const float *w, float *wt, int to_torch) {
    const int OC = op->out.c, C = op->in.c, KK = op->k * op->k;
    for (int oc = 0; oc < OC; oc++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < KK; t++) {
                size_t torch = ((size_t)oc * C + c) * KK + t, hwc = ((size_t)oc * KK + t) * C + c;
                if (to_torch)
                    wt[torch] = w[hwc];
                else
                    wt[hwc] = w[torch];
            }
}

/* dW rows: dwt[oc][ky][:] += sum_j g[j] * xh[off[j] + ky*row + :] over the
 * winners j of channel oc, T floats of the row at a time held in registers
 * (T is a constant of each inlined copy). */
static inline __attribute__((always_inline)) void dw_rows(float *restrict dwt, const float *restrict xh,
                                                          const int32_t *restrict off,
                                                          const float *restrict g, int m, int K,
                                                          size_t row, int KC, const int T) {
    for (int ky = 0; ky < K; ky++) {
        float *dst = dwt + (size_t)ky * KC;
        const float *src = xh + (size_t)ky * row;
        int t0 = 0;
        for (; t0 + T <= KC; t0 += T) {
            float acc[T];
            for (int t = 0; t < T; t++) acc[t] = dst[t0 + t];
            for (int j = 0; j < m; j++) {
                const float *s = src + off[j] + t0;
                const float gj = g[j];
                for (int t = 0; t < T; t++) acc[t] += gj * s[t];
            }
            for (int t = 0; t < T; t++) dst[t0 + t] = acc[t];
        }
        for (int j = 0; j < m; j++) {
            const float *s = src + off[j];
            const float gj = g[j];
            for (int t = t0; t < KC; t++) dst[t] += gj * s[t];
        }
    }
}

/* dx: dxh[off[j] + ky*row + :] += g[j] * wt[oc][ky][:]. */
static inline __attribute__((always_inline)) void dx_rows(float *restrict dxh, const float *restrict wt,
                                                          const int32_t *restrict off,
                                                          const float *restrict g, int m, int K,
                                                          size_t row, int KC) {
    for (int j = 0; j < m; j++) {
        const float gj = g[j];
        for (int ky = 0; ky < K; ky++) {
            float *d = dxh + off[j] + (size_t)ky * row;
            const float *s = wt + (size_t)ky * KC;
            for (int t = 0; t < KC; t++) d[t] += gj * s[t];
        }
    }
}

static void sample_grads(float *dwt, float *dxh, const float *xh, const float *wt, const int32_t *off,
                         const float *g, const int *cnt, int OC, int Q, int K, size_t row, int KC) {
    for (int oc = 0; oc < OC; oc++) {
        if (!cnt[oc]) continue;
        const size_t wo = (size_t)oc * K * KC, po = (size_t)oc * Q;
        dw_rows(dwt + wo, xh, off + po, g + po, cnt[oc], K, row, KC, 16);
        if (dxh) dx_rows(dxh, wt + wo, off + po, g + po, cnt[oc], K, row, KC);
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NN_CONV_POOL_AVX512 1
__attribute__((target("avx512f"))) static void sample_grads_avx512(float *dwt, float *dxh, const float *xh,
                                                                   const float *wt, const int32_t *off,
                                                                   const float *g, const int *cnt, int OC,
                                                                   int Q, int K, size_t row, int KC) {
    for (int oc = 0; oc < OC; oc++) {
        if (!cnt[oc]) continue;
        const size_t wo = (size_t)oc * K * KC, po = (size_t)oc * Q;
        dw_rows(dwt + wo, xh, off + po, g + po, cnt[oc], K, row, KC, 160);
        if (dxh) dx_rows(dxh, wt + wo, off + po, g + po, cnt[oc], K, row, KC);
    }
}
#endif

void nn_conv_pool_backward(const nn_op *conv, const nn_op *pool, fedc_ws *ws, const int32_t *argmax,
                           const float *w, const float *x, const float *pooled, const float *dp, float *dx,
                           float *dw, float *db, int n) {
    const int OC = conv->out.c, C = conv->in.c, H = conv->in.h, W = conv->in.w;
    const int K = conv->k, S = conv->stride, P = conv->pad, OW = conv->out.w;
    const int Q = pool->out.h * pool->out.w, Wp = W + 2 * P, KC = K * C;
    const size_t row = (size_t)Wp * C, hwc = nn_conv_hwc_floats(conv);
    float *xh = ws->hwc_x, *dxh = conv->need_dx ? ws->hwc_dx : NULL, *wt = ws->w_t, *dwt = ws->dw_t;
    int32_t *off = ws->win_off;
    float *g = ws->win_g;
    int *cnt = ws->win_cnt;
    memset(db, 0, (size_t)OC * sizeof *db);
    memset(dwt, 0, conv->w_count * sizeof *dwt);
    if (dxh) weights_to_hwc(conv, w, wt, 0);
    for (int s = 0; s < n; s++) {
        /* The winners of each channel with a non-zero (ReLU-passed) gradient. */
        const int32_t *am = argmax + (size_t)s * pool->out_size;
        const float *dps = dp + (size_t)s * pool->out_size, *ys = pooled + (size_t)s * pool->out_size;
        for (int oc = 0; oc < OC; oc++) {
            int m = 0;
            float sum = 0.0f;
            for (int q = 0; q < Q; q++) {
                size_t i = (size_t)oc * Q + q;
                if (conv->relu && !(ys[i] > 0.0f)) continue;
                int p = am[i], oy = p / OW, ox = p % OW;
                off[(size_t)oc * Q + m] = (int32_t)(((size_t)oy * S * Wp + (size_t)ox * S) * C);
                g[(size_t)oc * Q + m] = dps[i];
                sum += dps[i];
                m++;
            }
            cnt[oc] = m;
            db[oc] += sum;
        }
        nn_conv_to_hwc(conv, x + (size_t)s * conv->in_size, xh);
        if (dxh) memset(dxh, 0, hwc * sizeof *dxh);
#ifdef NN_CONV_POOL_AVX512
        if (nn_use_avx512())
            sample_grads_avx512(dwt, dxh, xh, wt, off, g, cnt, OC, Q, K, row, KC);
        else
#endif
            sample_grads(dwt, dxh, xh, wt, off, g, cnt, OC, Q, K, row, KC);
        if (!dxh) continue;
        float *dxs = dx + (size_t)s * conv->in_size;
        for (int c = 0; c < C; c++)
            for (int iy = 0; iy < H; iy++) {
                const float *src = dxh + ((size_t)(iy + P) * Wp + P) * C + c;
                float *dst = dxs + ((size_t)c * H + iy) * W;
                for (int ix = 0; ix < W; ix++) dst[ix] = src[(size_t)ix * C];
            }
    }
    weights_to_hwc(conv, dwt, dw, 1);
}
