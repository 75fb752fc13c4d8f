/* 2-D convolution (stride, zero padding) as im2col + single-precision GEMM.
 * Samples are processed in chunks whose im2col matrix fits in L2 cache: one
 * GEMM per chunk (the chunk's samples side by side as GEMM columns), so small
 * layers still get wide GEMMs and big layers do not stream through memory.
 * The backward pass rebuilds the chunk's patches (as im2row, the transpose,
 * so both backward GEMMs read untransposed operands) instead of keeping the
 * whole batch's (cheaper than reading them back from DRAM).
 * On AVX-512 CPUs the forward pass runs the direct kernel (conv_direct.c)
 * instead, and a conv followed by a max pool goes through conv_pool.c. */
#include <string.h>

#include "nn/nn_internal.h"

/* Floats of im2col per chunk that keep col + dcol + weights within L2. */
#define COL_BUDGET_FLOATS (96 * 1024)

static size_t col_per_sample(const nn_op *op) {
    return (size_t)op->in.c * op->k * op->k * op->out.h * op->out.w;
}

int nn_conv_chunk(const nn_op *op, int max_batch) {
    size_t per = col_per_sample(op);
    size_t c = per ? COL_BUDGET_FLOATS / per : 1;
    if (c < 1) c = 1;
    if (c > (size_t)max_batch) c = (size_t)max_batch;
    return (int)c;
}

size_t nn_conv_col_floats(const nn_op *op, int chunk) {
    return col_per_sample(op) * (size_t)chunk;
}

size_t nn_conv_chunk_floats(const nn_op *op, int chunk) {
    return chunk > 1 ? op->out_size * (size_t)chunk : 0;
}

/* Range of output columns ox whose input column ox*s - p + kx lies in [0, w). */
static void valid_range(int w, int ow, int s, int p, int kx, int *lo, int *hi) {
    int a = p - kx > 0 ? (p - kx + s - 1) / s : 0;
    int last = w - 1 + p - kx; /* largest ox*s that is still inside */
    int b = last < 0 ? 0 : last / s + 1;
    if (b > ow) b = ow;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define NN_IM2COL_AVX512 1
/* Stride-1 im2col with AVX-512 masked loads/stores: each output row is one
 * or two 16-lane copies whose out-of-image lanes load as zero. */
__attribute__((target("avx512f"))) static void im2col_s1_avx512(const nn_op *op, const float *x,
                                                                 float *col, size_t ld) {
    const int C = op->in.c, H = op->in.h, W = op->in.w, K = op->k, P = op->pad;
    const int OH = op->out.h, OW = op->out.w;
    const __m512 zero = _mm512_setzero_ps();
    for (int c = 0; c < C; c++) {
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                float *row = col + ((size_t)(c * K + ky) * K + kx) * ld;
                int lo, hi;
                valid_range(W, OW, 1, P, kx, &lo, &hi);
                for (int oy = 0; oy < OH; oy++) {
                    float *dst = row + (size_t)oy * OW;
                    int iy = oy - P + ky;
                    for (int o0 = 0; o0 < OW; o0 += 16) {
                        int n = OW - o0 < 16 ? OW - o0 : 16;
                        __mmask16 store = (__mmask16)((1u << n) - 1u);
                        int a = lo > o0 ? lo : o0, b = hi < o0 + n ? hi : o0 + n;
                        if (iy < 0 || iy >= H || a >= b) {
                            _mm512_mask_storeu_ps(dst + o0, store, zero);
                            continue;
                        }
                        __mmask16 valid = (__mmask16)(((1u << (b - o0)) - 1u) & ~((1u << (a - o0)) - 1u));
                        /* Lane l reads input column o0 + l + kx - P; only valid lanes
                         * touch memory, so the base may lie before the row. */
                        const float *first = x + ((size_t)c * H + iy) * W + (a + kx - P);
                        const float *src = (const float *)((uintptr_t)first - (uintptr_t)(a - o0) * sizeof(float));
                        _mm512_mask_storeu_ps(dst + o0, store, _mm512_maskz_loadu_ps(valid, src));
                    }
                }
            }
        }
    }
}
#endif

/* One sample's im2col: row (c, ky, kx), column (oy, ox); rows are ld apart. */
static void im2col(const nn_op *op, const float *x, float *col, size_t ld) {
#ifdef NN_IM2COL_AVX512
    if (op->stride == 1 && nn_use_avx512()) {
        im2col_s1_avx512(op, x, col, ld);
        return;
    }
#endif
    const int C = op->in.c, H = op->in.h, W = op->in.w, K = op->k, S = op->stride, P = op->pad;
    const int OH = op->out.h, OW = op->out.w;
    for (int c = 0; c < C; c++) {
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                float *row = col + ((size_t)(c * K + ky) * K + kx) * ld;
                int lo, hi;
                valid_range(W, OW, S, P, kx, &lo, &hi);
                for (int oy = 0; oy < OH; oy++) {
                    float *dst = row + (size_t)oy * OW;
                    int iy = oy * S - P + ky;
                    if (iy < 0 || iy >= H) {
                        memset(dst, 0, (size_t)OW * sizeof *dst);
                        continue;
                    }
                    for (int ox = 0; ox < lo; ox++) dst[ox] = 0.0f;
                    if (hi > lo) {
                        const float *src = x + ((size_t)c * H + iy) * W + (lo * S - P + kx);
                        if (S == 1) /* rows are short: a loop beats a memcpy call */
                            for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox - lo];
                        else
                            for (int ox = lo; ox < hi; ox++) dst[ox] = src[(size_t)(ox - lo) * S];
                    }
                    for (int ox = hi; ox < OW; ox++) dst[ox] = 0.0f;
                }
            }
        }
    }
}

/* Valid kernel columns [lo, hi) for output column ox: input ox*s - p + kx in [0, w). */
static inline void kernel_range(int w, int k, int s, int p, int ox, int *lo, int *hi) {
    int base = ox * s - p;
    *lo = base < 0 ? -base : 0;
    *hi = w - base < k ? w - base : k;
    if (*hi < *lo) *hi = *lo;
}

/* One sample's im2row (the transpose of im2col): row (oy, ox), column
 * (c, ky, kx). The backward pass uses it so that both of its GEMMs read
 * their operands without a transposed pack. K is a parameter of an
 * always-inlined body so the common 3x3 and 5x5 kernels get copies with
 * constant trip counts (fully unrolled, vectorised). */
static inline __attribute__((always_inline)) void im2row_body(const nn_op *op, const float *x,
                                                             float *rows, const int K) {
    const int C = op->in.c, H = op->in.h, W = op->in.w, S = op->stride, P = op->pad;
    const int OH = op->out.h, OW = op->out.w;
    const size_t ckk = (size_t)C * K * K;
    for (int oy = 0; oy < OH; oy++) {
        for (int ox = 0; ox < OW; ox++) {
            float *row = rows + ((size_t)oy * OW + ox) * ckk;
            int lo, hi;
            kernel_range(W, K, S, P, ox, &lo, &hi);
            for (int c = 0; c < C; c++) {
                for (int ky = 0; ky < K; ky++) {
                    float *dst = row + (size_t)(c * K + ky) * K;
                    int iy = oy * S - P + ky;
                    if (iy < 0 || iy >= H) {
                        for (int kx = 0; kx < K; kx++) dst[kx] = 0.0f;
                        continue;
                    }
                    const float *src = x + ((size_t)c * H + iy) * W + (ox * S - P);
                    if (lo == 0 && hi == K) {
                        for (int kx = 0; kx < K; kx++) dst[kx] = src[kx];
                    } else {
                        for (int kx = 0; kx < K; kx++) dst[kx] = kx >= lo && kx < hi ? src[kx] : 0.0f;
                    }
                }
            }
        }
    }
}

static void im2row(const nn_op *op, const float *x, float *rows) {
    switch (op->k) {
    case 3: im2row_body(op, x, rows, 3); break;
    case 5: im2row_body(op, x, rows, 5); break;
    default: im2row_body(op, x, rows, op->k); break;
    }
}

/* Adjoint of im2row: scatter-adds one sample's row gradient into dx (zeroed
 * by the caller). */
static inline __attribute__((always_inline)) void row2im_body(const nn_op *op, const float *rows,
                                                             float *dx, const int K) {
    const int C = op->in.c, H = op->in.h, W = op->in.w, S = op->stride, P = op->pad;
    const int OH = op->out.h, OW = op->out.w;
    const size_t ckk = (size_t)C * K * K;
    for (int oy = 0; oy < OH; oy++) {
        for (int ox = 0; ox < OW; ox++) {
            const float *row = rows + ((size_t)oy * OW + ox) * ckk;
            int lo, hi;
            kernel_range(W, K, S, P, ox, &lo, &hi);
            for (int c = 0; c < C; c++) {
                for (int ky = 0; ky < K; ky++) {
                    int iy = oy * S - P + ky;
                    if (iy < 0 || iy >= H) continue;
                    const float *src = row + (size_t)(c * K + ky) * K;
                    float *dst = dx + ((size_t)c * H + iy) * W + (ox * S - P);
                    if (lo == 0 && hi == K) {
                        for (int kx = 0; kx < K; kx++) dst[kx] += src[kx];
                    } else {
                        for (int kx = lo; kx < hi; kx++) dst[kx] += src[kx];
                    }
                }
            }
        }
    }
}

static void row2im(const nn_op *op, const float *rows, float *dx) {
    switch (op->k) {
    case 3: row2im_body(op, rows, dx, 3); break;
    case 5: row2im_body(op, rows, dx, 5); break;
    default: row2im_body(op, rows, dx, op->k); break;
    }
}

static inline void bias_act(float *dst, const float *src, size_t n, float b, int relu) {
    if (relu) {
        for (size_t i = 0; i < n; i++) {
            float v = src[i] + b;
            dst[i] = v > 0.0f ? v : 0.0f;
        }
    } else {
        for (size_t i = 0; i < n; i++) dst[i] = src[i] + b;
    }
}

void nn_conv_forward(const nn_op *op, const nn_op_ws *ows, fedc_ws *ws, const float *w,
                     const float *b, const float *x, float *y, int n) {
    const int OC = op->out.c;
    const size_t P = (size_t)op->out.h * op->out.w;
    const int CKK = op->in.c * op->k * op->k;
#ifdef NN_AVX512_BUILD
    if (nn_use_avx512()) {
        nn_conv_forward_direct(op, ws, w, b, x, y, n);
        return;
    }
#endif
    for (int n0 = 0; n0 < n; n0 += ows->chunk) {
        int cn = n - n0 < ows->chunk ? n - n0 : ows->chunk;
        size_t ld = (size_t)cn * P;
        for (int j = 0; j < cn; j++) im2col(op, x + (size_t)(n0 + j) * op->in_size, ws->col + j * P, ld);
        float *yn = y + (size_t)n0 * op->out_size;
        if (cn == 1) { /* output already in NCHW order: finish in place */
            nn_gemm(ws, 0, 0, OC, (int)P, CKK, w, CKK, ws->col, (int)ld, 0, yn, (int)P);
            for (int oc = 0; oc < OC; oc++) bias_act(yn + oc * P, yn + oc * P, P, b[oc], op->relu);
        } else { /* [OC, cn*P] -> cn samples of [OC, P], fused with bias and ReLU */
            nn_gemm(ws, 0, 0, OC, (int)ld, CKK, w, CKK, ws->col, (int)ld, 0, ws->chunk_buf, (int)ld);
            for (int oc = 0; oc < OC; oc++)
                for (int j = 0; j < cn; j++)
                    bias_act(yn + j * op->out_size + oc * P, ws->chunk_buf + oc * ld + j * P, P, b[oc],
                             op->relu);
        }
    }
}

/* dy (masked by the fused ReLU) for a chunk as an [OC, cn*P] matrix, and its
 * row sums added to db. Masks in place when the chunk is one sample. */
static const float *chunk_dy(const nn_op *op, fedc_ws *ws, const float *y, float *dy, int cn,
                             float *db) {
    const int OC = op->out.c;
    const size_t P = (size_t)op->out.h * op->out.w, ld = (size_t)cn * P;
    float *dst = cn == 1 ? dy : ws->chunk_buf;
    for (int oc = 0; oc < OC; oc++) {
        float sum = 0.0f;
        for (int j = 0; j < cn; j++) {
            const float *src = dy + j * op->out_size + oc * P;
            const float *yy = y + j * op->out_size + oc * P;
            float *d = dst + oc * ld + j * P;
            if (op->relu) {
                for (size_t i = 0; i < P; i++) {
                    float v = yy[i] > 0.0f ? src[i] : 0.0f;
                    d[i] = v;
                    sum += v;
                }
            } else {
                for (size_t i = 0; i < P; i++) {
                    d[i] = src[i];
                    sum += src[i];
                }
            }
        }
        db[oc] += sum;
    }
    return dst;
}

void nn_conv_backward(const nn_op *op, const nn_op_ws *ows, fedc_ws *ws, const float *w,
                      const float *x, const float *y, float *dy, float *dx, float *dw, float *db,
                      int n) {
    const int OC = op->out.c;
    const size_t P = (size_t)op->out.h * op->out.w;
    const int CKK = op->in.c * op->k * op->k;
    memset(db, 0, (size_t)OC * sizeof *db);
    for (int n0 = 0; n0 < n; n0 += ows->chunk) {
        int cn = n - n0 < ows->chunk ? n - n0 : ows->chunk;
        size_t ld = (size_t)cn * P;
        const float *g = chunk_dy(op, ws, y + (size_t)n0 * op->out_size,
                                  dy + (size_t)n0 * op->out_size, cn, db);
        /* dW += g x rows, with rows = im2row of the chunk ([cn*P, CKK]). */
        for (int j = 0; j < cn; j++)
            im2row(op, x + (size_t)(n0 + j) * op->in_size, ws->col + (size_t)j * P * CKK);
        nn_gemm(ws, 0, 0, OC, CKK, (int)ld, g, (int)ld, ws->col, CKK, n0 > 0, dw, CKK);
        if (!op->need_dx) continue;
        /* d(rows) = g^T W, scattered back onto the input. */
        nn_gemm(ws, 1, 0, (int)ld, CKK, OC, g, (int)ld, w, CKK, 0, ws->dcol, CKK);
        for (int j = 0; j < cn; j++) {
            float *dxn = dx + (size_t)(n0 + j) * op->in_size;
            memset(dxn, 0, op->in_size * sizeof *dxn);
            row2im(op, ws->dcol + (size_t)j * P * CKK, dxn);
        }
    }
}
