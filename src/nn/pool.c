/* Max and average pooling with a KxK window and stride K (floor mode, as
 * PyTorch's default): rows/columns past the last full window are dropped
 * and get zero gradient. */
#include <float.h>
#include <string.h>

#include "nn/nn_internal.h"

/* The common 2x2 window, branch-light; ties keep the first element, as the
 * general loop does. */
static void maxpool2_plane(const float *xp, float *yp, int32_t *ap, int W, int OH, int OW) {
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = xp + 2 * oy * W, *r1 = r0 + W;
        for (int ox = 0; ox < OW; ox++) {
            int i0 = 2 * oy * W + 2 * ox;
            float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
            float m = a;
            int idx = i0;
            if (b > m) { m = b; idx = i0 + 1; }
            if (c > m) { m = c; idx = i0 + W; }
            if (d > m) { m = d; idx = i0 + W + 1; }
            yp[oy * OW + ox] = m;
            ap[oy * OW + ox] = idx;
        }
    }
}

void nn_maxpool_forward(const nn_op *op, const float *x, float *y, int32_t *argmax, int n) {
    const int K = op->k, H = op->in.h, W = op->in.w, OH = op->out.h, OW = op->out.w;
    const size_t planes = (size_t)n * op->in.c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * H * W;
        float *yp = y + pl * OH * OW;
        int32_t *ap = argmax + pl * OH * OW;
        if (K == 2) {
            maxpool2_plane(xp, yp, ap, W, OH, OW);
            continue;
        }
        for (int oy = 0; oy < OH; oy++) {
            for (int ox = 0; ox < OW; ox++) {
                int best = oy * K * W + ox * K;
                float m = xp[best];
                for (int ky = 0; ky < K; ky++) {
                    const float *r = xp + (oy * K + ky) * W + ox * K;
                    for (int kx = 0; kx < K; kx++) {
                        if (r[kx] > m) {
                            m = r[kx];
                            best = (oy * K + ky) * W + ox * K + kx;
                        }
                    }
                }
                yp[oy * OW + ox] = m;
                ap[oy * OW + ox] = best;
            }
        }
    }
}

void nn_maxpool_backward(const nn_op *op, const int32_t *argmax, const float *dy, float *dx, int n) {
    const size_t in_plane = (size_t)op->in.h * op->in.w, out_plane = (size_t)op->out.h * op->out.w;
    const size_t planes = (size_t)n * op->in.c;
    /* Zero then scatter: a contiguous memset beats per-window branching. */
    memset(dx, 0, planes * in_plane * sizeof *dx);
    for (size_t pl = 0; pl < planes; pl++) {
        const float *dyp = dy + pl * out_plane;
        const int32_t *ap = argmax + pl * out_plane;
        float *dxp = dx + pl * in_plane;
        for (size_t i = 0; i < out_plane; i++) dxp[ap[i]] = dyp[i];
    }
}

void nn_avgpool_forward(const nn_op *op, const float *x, float *y, int n) {
    const int K = op->k, H = op->in.h, W = op->in.w, OH = op->out.h, OW = op->out.w;
    const float scale = 1.0f / (float)(K * K);
    const size_t planes = (size_t)n * op->in.c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * H * W;
        float *yp = y + pl * OH * OW;
        for (int oy = 0; oy < OH; oy++) {
            for (int ox = 0; ox < OW; ox++) {
                float s = 0.0f;
                for (int ky = 0; ky < K; ky++) {
                    const float *r = xp + (oy * K + ky) * W + ox * K;
                    for (int kx = 0; kx < K; kx++) s += r[kx];
                }
                yp[oy * OW + ox] = s * scale;
            }
        }
    }
}

void nn_avgpool_backward(const nn_op *op, const float *dy, float *dx, int n) {
    const int K = op->k, H = op->in.h, W = op->in.w, OH = op->out.h, OW = op->out.w;
    const float scale = 1.0f / (float)(K * K);
    const size_t planes = (size_t)n * op->in.c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *dyp = dy + pl * OH * OW;
        float *dxp = dx + pl * H * W;
        for (int oy = 0; oy < OH; oy++) {
            for (int ky = 0; ky < K; ky++) {
                float *r = dxp + (oy * K + ky) * W;
                for (int ox = 0; ox < OW; ox++) {
                    float g = dyp[oy * OW + ox] * scale;
                    for (int kx = 0; kx < K; kx++) r[ox * K + kx] = g;
                }
                for (int ix = OW * K; ix < W; ix++) r[ix] = 0.0f;
            }
        }
        if (OH * K < H) memset(dxp + OH * K * W, 0, (size_t)(H - OH * K) * W * sizeof *dxp);
    }
}
