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
 * are products with zero (only the order of the float sums changes).
 * A single-channel conv (C = 1, a network's first) would make those runs K
 * floats each, a few lanes of a vector: there each sample's patches are
 * first laid out as 32-float rows, and a winner is two aligned vectors. */
#include <stdint.h>
#include <string.h>

#include "nn/nn_internal.h"

int nn_conv_pool_fusable(const fedc_arch *a, int i) {
    /* Patch offsets into one sample's padded input are int32. */
    return i >= 0 && i + 1 < a->n_ops && a->ops[i].kind == NN_CONV && a->ops[i + 1].kind == NN_MAXPOOL &&
           nn_conv_hwc_floats(&a->ops[i]) <= (size_t)INT32_MAX;
}

size_t nn_conv_pool_patch_floats(const nn_op *op) {
    const int eligible = op->in.c == 1 && op->stride == 1 && op->k * op->k <= NN_PATCH_LD && !op->need_dx;
    return eligible ? (size_t)op->out.h * op->out.w * NN_PATCH_LD : 0;
}

size_t nn_conv_hwc_floats(const nn_op *op) {
    return (size_t)(op->in.h + 2 * op->pad) * (size_t)(op->in.w + 2 * op->pad) * (size_t)op->in.c;
}

void nn_conv_to_hwc(const nn_op *op, const float *x, float *xh) {
    const int C = op->in.c, H = op->in.h, W = op->in.w, P = op->pad, Wp = W + 2 * P;
#ifdef NN_AVX512_BUILD
    if (C % 16 == 0 && nn_use_avx512()) {
        nn_conv_to_hwc_avx512(op, x, xh);
        return;
    }
#endif
    memset(xh, 0, nn_conv_hwc_floats(op) * sizeof *xh);
    for (int c = 0; c < C; c++)
        for (int iy = 0; iy < H; iy++) {
            const float *src = x + ((size_t)c * H + iy) * W;
            float *dst = xh + ((size_t)(iy + P) * Wp + P) * C + c;
            for (int ix = 0; ix < W; ix++) dst[(size_t)ix * C] = src[ix];
        }
}

void nn_conv_from_hwc(const nn_op *op, const float *xh, float *x) {
    const int C = op->in.c, H = op->in.h, W = op->in.w, P = op->pad, Wp = W + 2 * P;
#ifdef NN_AVX512_BUILD
    if (C % 16 == 0 && nn_use_avx512()) {
        nn_conv_from_hwc_avx512(op, xh, x);
        return;
    }
#endif
    for (int c = 0; c < C; c++)
        for (int iy = 0; iy < H; iy++) {
            const float *src = xh + ((size_t)(iy + P) * Wp + P) * C + c;
            float *dst = x + ((size_t)c * H + iy) * W;
            for (int ix = 0; ix < W; ix++) dst[ix] = src[(size_t)ix * C];
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

/* Portable kernels. dW rows: dwt[oc][ky][t] += sum_j g[j] * xh[off[j] +
 * ky*row + t] over the winners j of channel oc, for t in blocks of T <= 64
 * floats held in registers (T is a constant of each inlined copy); *t0
 * advances past the blocks done. */
static inline __attribute__((always_inline)) void dw_span(float *restrict dst, const float *restrict src,
                                                          const int32_t *restrict off,
                                                          const float *restrict g, int m, int KC, int *t0,
                                                          const int T) {
    for (; *t0 + T <= KC; *t0 += T) {
        float acc[64]; /* T <= 64; fixed size so that it can live in registers */
        for (int t = 0; t < T; t++) acc[t] = dst[*t0 + t];
        for (int j = 0; j < m; j++) {
            const float *s = src + off[j] + *t0;
            const float gj = g[j];
            for (int t = 0; t < T; t++) acc[t] += gj * s[t];
        }
        for (int t = 0; t < T; t++) dst[*t0 + t] = acc[t];
    }
}

static inline __attribute__((always_inline)) void dw_rows(float *restrict dwt, const float *restrict xh,
                                                          const int32_t *restrict off,
                                                          const float *restrict g, int m, int K,
                                                          size_t row, int KC) {
    for (int ky = 0; ky < K; ky++) {
        float *dst = dwt + (size_t)ky * KC;
        const float *src = xh + (size_t)ky * row;
        int t0 = 0;
        dw_span(dst, src, off, g, m, KC, &t0, 64);
        dw_span(dst, src, off, g, m, KC, &t0, 16);
        dw_span(dst, src, off, g, m, KC, &t0, 1);
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

/* The pool winners of one sample with a non-zero (ReLU-passed) gradient,
 * per channel: patch offset, gradient and count; their sum goes into db.
 * Compacted without branches: every entry is written, kept or not. */
static void winners(const int32_t *am, const float *dp, const float *pooled, const int32_t *pos, int relu,
                    int OC, int Q, int32_t *off, float *g, int *cnt, float *db) {
    for (int oc = 0; oc < OC; oc++) {
        const size_t base = (size_t)oc * Q;
        int32_t *o = off + base;
        float *gg = g + base, sum = 0.0f;
        int m = 0;
        for (int q = 0; q < Q; q++) {
            const int keep = !relu || pooled[base + q] > 0.0f;
            const float v = keep ? dp[base + q] : 0.0f;
            o[m] = pos[am[base + q]];
            gg[m] = v;
            sum += v;
            m += keep;
        }
        cnt[oc] = m;
        db[oc] += sum;
    }
}

static void sample_grads(float *dwt, float *dxh, const float *xh, const float *wt, const int32_t *off,
                         const float *g, const int *cnt, int OC, int Q, int K, size_t row, int KC) {
    for (int oc = 0; oc < OC; oc++) {
        if (!cnt[oc]) continue;
        const size_t wo = (size_t)oc * K * KC, po = (size_t)oc * Q;
        dw_rows(dwt + wo, xh, off + po, g + po, cnt[oc], K, row, KC);
        if (dxh) dx_rows(dxh, wt + wo, off + po, g + po, cnt[oc], K, row, KC);
    }
}

#ifdef NN_AVX512_BUILD
#include <immintrin.h>

/* R rows (ky) x V vectors of 16 floats of dW held in registers while the
 * winners stream by; the last vector of each row is masked to the row's
 * length. Winners alternate between two accumulator sets (summed at the
 * end) so that FMA latency does not serialise them when R * V is small. R
 * and V are constants of each inlined copy; R * V <= 10. */
static inline __attribute__((always_inline, target("avx512f"))) void dw_tile(
    float *dst, size_t dst_row, const float *src, size_t src_row, const int32_t *off, const float *g, int m,
    __mmask16 tail, const int R, const int V) {
    __m512 acc0[10], acc1[10]; /* small fixed sizes keep them in registers */
#pragma GCC unroll 10
    for (int i = 0; i < R * V; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
    int j = 0;
    for (; j + 2 <= m; j += 2) {
        const __m512 g0 = _mm512_set1_ps(g[j]), g1 = _mm512_set1_ps(g[j + 1]);
        const float *s0 = src + off[j], *s1 = src + off[j + 1];
#pragma GCC unroll 10
        for (int r = 0; r < R; r++)
#pragma GCC unroll 10
            for (int v = 0; v < V; v++) {
                const __mmask16 k = v == V - 1 ? tail : 0xffff;
                const size_t o = r * src_row + 16 * v;
                acc0[r * V + v] = _mm512_fmadd_ps(g0, _mm512_maskz_loadu_ps(k, s0 + o), acc0[r * V + v]);
                acc1[r * V + v] = _mm512_fmadd_ps(g1, _mm512_maskz_loadu_ps(k, s1 + o), acc1[r * V + v]);
            }
    }
    if (j < m) {
        const __m512 g0 = _mm512_set1_ps(g[j]);
        const float *s0 = src + off[j];
#pragma GCC unroll 10
        for (int r = 0; r < R; r++)
#pragma GCC unroll 10
            for (int v = 0; v < V; v++) {
                const __mmask16 k = v == V - 1 ? tail : 0xffff;
                acc0[r * V + v] =
                    _mm512_fmadd_ps(g0, _mm512_maskz_loadu_ps(k, s0 + r * src_row + 16 * v), acc0[r * V + v]);
            }
    }
#pragma GCC unroll 10
    for (int r = 0; r < R; r++)
#pragma GCC unroll 10
        for (int v = 0; v < V; v++) {
            const __mmask16 k = v == V - 1 ? tail : 0xffff;
            float *d = dst + r * dst_row + 16 * v;
            _mm512_mask_storeu_ps(
                d, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, d), _mm512_add_ps(acc0[r * V + v], acc1[r * V + v])));
        }
}

/* dW of one channel: all K rows at once when a row fits one vector (small
 * C, e.g. the first layer's C = 1), else row by row, 10 vectors at a time. */
__attribute__((target("avx512f"))) static void dw_channel_avx512(float *dwt, const float *xh, const int32_t *off,
                                                                 const float *g, int m, int K, size_t row,
                                                                 int KC) {
    if (KC <= 16 && (K == 5 || K == 3)) {
        const __mmask16 tail = (__mmask16)((1u << KC) - 1u);
        if (K == 5)
            dw_tile(dwt, (size_t)KC, xh, row, off, g, m, tail, 5, 1);
        else
            dw_tile(dwt, (size_t)KC, xh, row, off, g, m, tail, 3, 1);
        return;
    }
    /* Per row: blocks of 10 vectors, then of 4, then single (masked) ones;
     * few block shapes keep the code (and its compile time) small. */
    for (int ky = 0; ky < K; ky++) {
        float *dst = dwt + (size_t)ky * KC;
        const float *src = xh + (size_t)ky * row;
        int t0 = 0;
        for (; KC - t0 >= 160; t0 += 160) dw_tile(dst + t0, 0, src + t0, 0, off, g, m, 0xffff, 1, 10);
        for (; KC - t0 >= 64; t0 += 64) dw_tile(dst + t0, 0, src + t0, 0, off, g, m, 0xffff, 1, 4);
        for (; t0 < KC; t0 += 16) {
            const int len = KC - t0 < 16 ? KC - t0 : 16;
            dw_tile(dst + t0, 0, src + t0, 0, off, g, m, (__mmask16)((1u << len) - 1u), 1, 1);
        }
    }
}

/* dx of one channel: axpy of each weight row (V vectors, the last one
 * masked) onto each winner's patch; V is a constant of each inlined copy.
 * (Bound by the load-add-store of dx: about one FMA per cycle.) */
static inline __attribute__((always_inline, target("avx512f"))) void dx_rows_avx512(
    float *dxh, const float *wt, const int32_t *off, const float *g, int m, int K, size_t row, int KC,
    __mmask16 tail, const int V) {
    for (int j = 0; j < m; j++) {
        const __m512 gj = _mm512_set1_ps(g[j]);
        for (int ky = 0; ky < K; ky++) {
            float *d = dxh + off[j] + (size_t)ky * row;
            const float *s = wt + (size_t)ky * KC;
            for (int v = 0; v < V; v++) {
                const __mmask16 k = v == V - 1 ? tail : 0xffff;
                _mm512_mask_storeu_ps(d + 16 * v, k,
                                      _mm512_fmadd_ps(gj, _mm512_maskz_loadu_ps(k, s + 16 * v),
                                                      _mm512_maskz_loadu_ps(k, d + 16 * v)));
            }
        }
    }
}

/* dx of one channel, with a fully unrolled copy for rows of 10 vectors. */
__attribute__((target("avx512f"))) static void dx_channel_avx512(float *dxh, const float *wt, const int32_t *off,
                                                                 const float *g, int m, int K, size_t row,
                                                                 int KC) {
    const int nv = (KC + 15) / 16;
    const __mmask16 tail = (__mmask16)(KC % 16 ? (1u << (KC % 16)) - 1u : 0xffffu);
    if (nv == 10) { /* K*C = 160, e.g. 5x5 over 32 channels */
        dx_rows_avx512(dxh, wt, off, g, m, K, row, KC, tail, 10);
        return;
    }
    const int full = KC / 16;
    for (int j = 0; j < m; j++) {
        const __m512 gj = _mm512_set1_ps(g[j]);
        for (int ky = 0; ky < K; ky++) {
            float *d = dxh + off[j] + (size_t)ky * row;
            const float *s = wt + (size_t)ky * KC;
            int v = 0;
            for (; v < full; v++)
                _mm512_storeu_ps(d + 16 * v,
                                 _mm512_fmadd_ps(gj, _mm512_loadu_ps(s + 16 * v), _mm512_loadu_ps(d + 16 * v)));
            if (KC % 16)
                _mm512_mask_storeu_ps(d + 16 * v, tail,
                                      _mm512_fmadd_ps(gj, _mm512_maskz_loadu_ps(tail, s + 16 * v),
                                                      _mm512_maskz_loadu_ps(tail, d + 16 * v)));
        }
    }
}

/* winners() 16 pool outputs at a time: compress the kept lanes (register
 * form; the store may write up to 15 entries past the count, which the
 * buffers have room for). */
__attribute__((target("avx512f"))) static void winners_avx512(const int32_t *am, const float *dp,
                                                              const float *pooled, int OW, int32_t row_step,
                                                              int32_t col_step, int relu, int OC, int Q,
                                                              int32_t *off, float *g, int *cnt, float *db) {
    /* Offset of the patch of output position p = oy*OW + ox: oy*row_step +
     * ox*col_step; oy = floor(p / OW) in float is exact while p + OW <= 2^24
     * (the caller checks), and much faster than a table gather. */
    const __m512 wf = _mm512_set1_ps((float)OW);
    const __m512i w = _mm512_set1_epi32(OW), rs = _mm512_set1_epi32(row_step), cs = _mm512_set1_epi32(col_step);
    for (int oc = 0; oc < OC; oc++) {
        const size_t base = (size_t)oc * Q;
        __m512 sum = _mm512_setzero_ps();
        int m = 0;
        for (int q0 = 0; q0 < Q; q0 += 16) {
            const int left = Q - q0;
            const __mmask16 lanes = (__mmask16)(left >= 16 ? 0xffffu : (1u << left) - 1u);
            __mmask16 keep = lanes;
            if (relu)
                keep = _mm512_mask_cmp_ps_mask(lanes, _mm512_maskz_loadu_ps(lanes, pooled + base + q0),
                                               _mm512_setzero_ps(), _CMP_GT_OQ);
            const __m512i idx = _mm512_maskz_loadu_epi32(lanes, am + base + q0);
            const __m512i oy = _mm512_cvttps_epi32(_mm512_roundscale_ps(
                _mm512_div_ps(_mm512_cvtepi32_ps(idx), wf), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
            const __m512i ox = _mm512_sub_epi32(idx, _mm512_mullo_epi32(oy, w));
            const __m512i o = _mm512_add_epi32(_mm512_mullo_epi32(oy, rs), _mm512_mullo_epi32(ox, cs));
            const __m512 v = _mm512_maskz_loadu_ps(keep, dp + base + q0);
            sum = _mm512_add_ps(sum, v);
            _mm512_storeu_si512(off + base + m, _mm512_maskz_compress_epi32(keep, o));
            _mm512_storeu_ps(g + base + m, _mm512_maskz_compress_ps(keep, v));
            m += __builtin_popcount(keep);
        }
        cnt[oc] = m;
        db[oc] += _mm512_reduce_add_ps(sum);
    }
}

/* dW of one channel of a single-channel conv from the patch rows: each
 * winner's patch is two aligned vectors (off[j] is its row's offset).
 * Four winners in flight keep eight independent FMA chains. */
__attribute__((target("avx512f"))) static void dw_channel_rows(float *dwt, const float *rows, const int32_t *off,
                                                               const float *g, int m, int KK) {
    __m512 lo[4], hi[4];
    for (int i = 0; i < 4; i++) lo[i] = hi[i] = _mm512_setzero_ps();
    int j = 0;
    for (; j + 4 <= m; j += 4)
        for (int i = 0; i < 4; i++) {
            const __m512 gi = _mm512_set1_ps(g[j + i]);
            const float *s = rows + off[j + i];
            lo[i] = _mm512_fmadd_ps(gi, _mm512_load_ps(s), lo[i]);
            hi[i] = _mm512_fmadd_ps(gi, _mm512_load_ps(s + 16), hi[i]);
        }
    for (int i = 0; j < m; j++, i++) {
        const __m512 gi = _mm512_set1_ps(g[j]);
        lo[i] = _mm512_fmadd_ps(gi, _mm512_load_ps(rows + off[j]), lo[i]);
        hi[i] = _mm512_fmadd_ps(gi, _mm512_load_ps(rows + off[j] + 16), hi[i]);
    }
    const __m512 l = _mm512_add_ps(_mm512_add_ps(lo[0], lo[1]), _mm512_add_ps(lo[2], lo[3]));
    const __m512 h = _mm512_add_ps(_mm512_add_ps(hi[0], hi[1]), _mm512_add_ps(hi[2], hi[3]));
    const __mmask16 ml = (__mmask16)(KK >= 16 ? 0xffffu : (1u << KK) - 1u);
    const __mmask16 mh = (__mmask16)(KK > 16 ? (1u << (KK - 16)) - 1u : 0u);
    _mm512_mask_storeu_ps(dwt, ml, _mm512_add_ps(_mm512_maskz_loadu_ps(ml, dwt), l));
    _mm512_mask_storeu_ps(dwt + 16, mh, _mm512_add_ps(_mm512_maskz_loadu_ps(mh, dwt + 16), h));
}

__attribute__((target("avx512f"))) static void sample_grads_avx512(float *dwt, float *dxh, const float *xh,
                                                                   const float *wt, const int32_t *off,
                                                                   const float *g, const int *cnt, int OC,
                                                                   int Q, int K, size_t row, int KC) {
    for (int oc = 0; oc < OC; oc++) {
        if (!cnt[oc]) continue;
        const size_t wo = (size_t)oc * K * KC, po = (size_t)oc * Q;
        dw_channel_avx512(dwt + wo, xh, off + po, g + po, cnt[oc], K, row, KC);
        if (dxh) dx_channel_avx512(dxh, wt + wo, off + po, g + po, cnt[oc], K, row, KC);
    }
}
#endif

void nn_conv_pool_backward(const nn_op *conv, const nn_op *pool, fedc_ws *ws, const int32_t *argmax,
                           const float *w, const float *x, const float *pooled, const float *dp, float *dx,
                           float *dw, float *db, int n) {
    const int OC = conv->out.c, C = conv->in.c;
    const int K = conv->k, S = conv->stride, P = conv->pad, OW = conv->out.w;
    const int Q = pool->out.h * pool->out.w, Wp = conv->in.w + 2 * P, KC = K * C, relu = conv->relu;
    const size_t row = (size_t)Wp * C, hwc = nn_conv_hwc_floats(conv);
    float *xh = ws->hwc_x, *dxh = conv->need_dx ? ws->hwc_dx : NULL, *wt = ws->w_t, *dwt = ws->dw_t;
    int32_t *off = ws->win_off, *pos = ws->win_pos;
    float *g = ws->win_g;
    int *cnt = ws->win_cnt;
    memset(db, 0, (size_t)OC * sizeof *db);
    memset(dwt, 0, conv->w_count * sizeof *dwt);
    if (dxh) weights_to_hwc(conv, w, wt, 0);
    /* Conv output position -> offset of its patch in the padded input. */
    for (int oy = 0; oy < conv->out.h; oy++)
        for (int ox = 0; ox < OW; ox++)
            pos[oy * OW + ox] = (int32_t)(((size_t)oy * S * Wp + (size_t)ox * S) * C);
#ifdef NN_AVX512_BUILD
    /* A single-channel conv (a network's first): each winner's patch is one
     * row of the sample's patch rows, two aligned vectors, instead of K
     * short runs of the padded input. */
    if (nn_use_avx512() && nn_conv_pool_patch_floats(conv) && (size_t)conv->out.h * OW + OW <= (1u << 24) &&
        (size_t)conv->out.h * OW * NN_PATCH_LD <= (size_t)INT32_MAX) {
        for (int s = 0; s < n; s++) {
            const size_t o = (size_t)s * pool->out_size;
            winners_avx512(argmax + o, dp + o, pooled + o, OW, OW * NN_PATCH_LD, NN_PATCH_LD, relu, OC, Q, off, g,
                           cnt, db);
            nn_conv_to_hwc(conv, x + (size_t)s * conv->in_size, xh);
            nn_conv_patch_rows_c1_avx512(conv, xh, ws->patch_rows);
            for (int oc = 0; oc < OC; oc++)
                if (cnt[oc])
                    dw_channel_rows(dwt + (size_t)oc * K * K, ws->patch_rows, off + (size_t)oc * Q,
                                    g + (size_t)oc * Q, cnt[oc], K * K);
        }
        weights_to_hwc(conv, dwt, dw, 1);
        return;
    }
#endif
    for (int s = 0; s < n; s++) {
        const int32_t *am = argmax + (size_t)s * pool->out_size;
        const float *dps = dp + (size_t)s * pool->out_size, *ys = pooled + (size_t)s * pool->out_size;
#ifdef NN_AVX512_BUILD
        if (nn_use_avx512() && (size_t)conv->out.h * OW + OW <= (1u << 24))
            winners_avx512(am, dps, ys, OW, S * Wp * C, S * C, relu, OC, Q, off, g, cnt, db);
        else
#endif
            winners(am, dps, ys, pos, relu, OC, Q, off, g, cnt, db);
        nn_conv_to_hwc(conv, x + (size_t)s * conv->in_size, xh);
        if (dxh) memset(dxh, 0, hwc * sizeof *dxh);
#ifdef NN_AVX512_BUILD
        if (nn_use_avx512())
            sample_grads_avx512(dwt, dxh, xh, wt, off, g, cnt, OC, Q, K, row, KC);
        else
#endif
            sample_grads(dwt, dxh, xh, wt, off, g, cnt, OC, Q, K, row, KC);
        if (dxh) nn_conv_from_hwc(conv, dxh, dx + (size_t)s * conv->in_size);
    }
    weights_to_hwc(conv, dwt, dw, 1);
}
