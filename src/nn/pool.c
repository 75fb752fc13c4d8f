/* Max and average pooling with a KxK window and stride K (floor mode, as
 * PyTorch's default): rows/columns past the last full window are dropped
 * and get zero gradient. */
#include <float.h>
#include <string.h>

#include "nn/nn_internal.h"

/* The common 2x2 window, branch-free so it vectorises; ties keep the first
 * element in scan order, as the general loop does. */
static void maxpool2_plane(const float *restrict xp, float *restrict yp, int32_t *restrict ap, int W,
                           int OH, int OW) {
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = xp + 2 * oy * W, *r1 = r0 + W;
        const int base = 2 * oy * W;
        for (int ox = 0; ox < OW; ox++) {
            float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
            float top = b > a ? b : a, bottom = d > c ? d : c;
            int itop = b > a ? 1 : 0, ibottom = d > c ? W + 1 : W;
            int lower = bottom > top;
            yp[oy * OW + ox] = lower ? bottom : top;
            ap[oy * OW + ox] = base + 2 * ox + (lower ? ibottom : itop);
        }
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define NN_POOL_AVX512 1
/* The 2x2 window, 16 outputs at a time: de-interleave even/odd columns of
 * the two input rows, then compare-and-blend values and winner indices
 * (scalar-equivalent: strict >, first element wins ties and NaNs). */
__attribute__((target("avx512f"))) static void maxpool2_plane_avx512(const float *xp, float *yp,
                                                                      int32_t *ap, int W, int OH, int OW) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    const __m512i below = _mm512_set1_epi32(W), below_right = _mm512_set1_epi32(W + 1);
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = xp + 2 * oy * W, *r1 = r0 + W;
        for (int o0 = 0; o0 < OW; o0 += 16) {
            int n = OW - o0 < 16 ? OW - o0 : 16, m = 2 * n;
            __mmask16 lo = (__mmask16)(m >= 16 ? 0xffffu : (1u << m) - 1u);
            __mmask16 hi = (__mmask16)(m > 16 ? (1u << (m - 16)) - 1u : 0u);
            __m512 t0 = _mm512_maskz_loadu_ps(lo, r0 + 2 * o0), t1 = _mm512_maskz_loadu_ps(hi, r0 + 2 * o0 + 16);
            __m512 b0 = _mm512_maskz_loadu_ps(lo, r1 + 2 * o0), b1 = _mm512_maskz_loadu_ps(hi, r1 + 2 * o0 + 16);
            __m512 a = _mm512_permutex2var_ps(t0, even, t1), b = _mm512_permutex2var_ps(t0, odd, t1);
            __m512 c = _mm512_permutex2var_ps(b0, even, b1), d = _mm512_permutex2var_ps(b0, odd, b1);
            __mmask16 tb = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ), bd = _mm512_cmp_ps_mask(d, c, _CMP_GT_OQ);
            __m512 top = _mm512_mask_blend_ps(tb, a, b), bottom = _mm512_mask_blend_ps(bd, c, d);
            __m512i itop = _mm512_mask_blend_epi32(tb, zero, one);
            __m512i ibottom = _mm512_mask_blend_epi32(bd, below, below_right);
            __mmask16 lower = _mm512_cmp_ps_mask(bottom, top, _CMP_GT_OQ);
            __m512i col = _mm512_set1_epi32(2 * oy * W + 2 * o0);
            col = _mm512_add_epi32(col, _mm512_add_epi32(even, _mm512_mask_blend_epi32(lower, itop, ibottom)));
            __mmask16 store = (__mmask16)((1u << n) - 1u);
            _mm512_mask_storeu_ps(yp + oy * OW + o0, store, _mm512_mask_blend_ps(lower, top, bottom));
            _mm512_mask_storeu_epi32(ap + oy * OW + o0, store, col);
        }
    }
}
#endif

void nn_maxpool_forward(const nn_op *op, const float *x, float *y, int32_t *argmax, int n) {
    const int K = op->k, H = op->in.h, W = op->in.w, OH = op->out.h, OW = op->out.w;
    const size_t planes = (size_t)n * op->in.c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * H * W;
        float *yp = y + pl * OH * OW;
        int32_t *ap = argmax + pl * OH * OW;
        if (K == 2) {
#ifdef NN_POOL_AVX512
            if (nn_use_avx512()) {
                maxpool2_plane_avx512(xp, yp, ap, W, OH, OW);
                continue;
            }
#endif
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
