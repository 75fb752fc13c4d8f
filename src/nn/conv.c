/* 2-D convolution (stride, zero padding) as im2col + single-precision GEMM.
 * Samples are processed in chunks whose im2col matrix fits in L2 cache: one
 * GEMM per chunk (the chunk's samples side by side as GEMM columns), so small
 * layers still get wide GEMMs and big layers do not stream through memory.
 * The backward pass rebuilds the chunk's im2col instead of keeping the whole
 * batch's (cheaper than reading it back from DRAM). */
#include <cblas.h>
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

/* One sample's im2col: row (c, ky, kx), column (oy, ox); rows are ld apart. */
static void im2col(const nn_op *op, const float *x, float *col, size_t ld) {
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

/* Adjoint of im2col: scatters-adds one sample's column gradient into dx
 * (which the caller has zeroed). */
static void col2im(const nn_op *op, const float *col, size_t ld, float *dx) {
    const int C = op->in.c, H = op->in.h, W = op->in.w, K = op->k, S = op->stride, P = op->pad;
    const int OH = op->out.h, OW = op->out.w;
    for (int c = 0; c < C; c++) {
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                const float *row = col + ((size_t)(c * K + ky) * K + kx) * ld;
                int lo, hi;
                valid_range(W, OW, S, P, kx, &lo, &hi);
                for (int oy = 0; oy < OH; oy++) {
                    int iy = oy * S - P + ky;
                    if (iy < 0 || iy >= H || hi <= lo) continue;
                    const float *src = row + (size_t)oy * OW;
                    float *dst = dx + ((size_t)c * H + iy) * W + (lo * S - P + kx);
                    if (S == 1) {
                        for (int ox = lo; ox < hi; ox++) dst[ox - lo] += src[ox];
                    } else {
                        for (int ox = lo; ox < hi; ox++) dst[(size_t)(ox - lo) * S] += src[ox];
                    }
                }
            }
        }
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
    for (int n0 = 0; n0 < n; n0 += ows->chunk) {
        int cn = n - n0 < ows->chunk ? n - n0 : ows->chunk;
        size_t ld = (size_t)cn * P;
        for (int j = 0; j < cn; j++) im2col(op, x + (size_t)(n0 + j) * op->in_size, ws->col + j * P, ld);
        float *yn = y + (size_t)n0 * op->out_size;
        if (cn == 1) { /* output already in NCHW order: finish in place */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, (int)P, CKK, 1.0f, w, CKK,
                        ws->col, (int)ld, 0.0f, yn, (int)P);
            for (int oc = 0; oc < OC; oc++) bias_act(yn + oc * P, yn + oc * P, P, b[oc], op->relu);
        } else { /* [OC, cn*P] -> cn samples of [OC, P], fused with bias and ReLU */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, (int)ld, CKK, 1.0f, w, CKK,
                        ws->col, (int)ld, 0.0f, ws->chunk_buf, (int)ld);
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
        for (int j = 0; j < cn; j++) im2col(op, x + (size_t)(n0 + j) * op->in_size, ws->col + j * P, ld);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, CKK, (int)ld, 1.0f, g, (int)ld,
                    ws->col, (int)ld, n0 == 0 ? 0.0f : 1.0f, dw, CKK);
        if (!op->need_dx) continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, (int)ld, OC, 1.0f, w, CKK, g, (int)ld,
                    0.0f, ws->dcol, (int)ld);
        for (int j = 0; j < cn; j++) {
            float *dxn = dx + (size_t)(n0 + j) * op->in_size;
            memset(dxn, 0, op->in_size * sizeof *dxn);
            col2im(op, ws->dcol + j * P, ld, dxn);
        }
    }
}
