/* Private structures of the nn layer: the parsed architecture as a list of
 * operations, the per-thread workspace, and the layer kernels that the
 * forward/backward driver (model.c) calls. Activations are NCHW per sample,
 * samples contiguous, exactly as PyTorch lays them out, so flatten is free. */
#ifndef FEDC_NN_INTERNAL_H
#define FEDC_NN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/nn.h"

/* x86-64 builds with GCC or clang carry AVX-512 kernels (compiled with
 * target attributes, chosen at run time by nn_use_avx512). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NN_AVX512_BUILD 1
#endif

#define NN_SPEC_MAX 1024
#define NN_MAX_LAYERS 64
/* Weight, bias and at most two more per layer (ws-conv gain, batch-norm
 * running mean and variance). */
#define NN_MAX_TENSORS (4 * NN_MAX_LAYERS)
/* Per-sample bounds that keep every size_t product far from overflow and
 * every workspace allocation sane. */
#define NN_MAX_ACT_PER_SAMPLE (1L << 24)  /* floats in one layer's output */
#define NN_MAX_COL_PER_SAMPLE (1L << 26)  /* floats in one conv im2col matrix */
#define NN_MAX_BATCH 65536

typedef enum {
    NN_CONV = 0,
    NN_DENSE,
    NN_MAXPOOL,
    NN_AVGPOOL,
    NN_GROUPNORM,
    NN_DROPOUT,
    NN_RELU,
    NN_BATCHNORM,
} nn_kind;

typedef struct nn_op {
    nn_kind kind;
    int spec_index;   /* position of its token in the canonical spec */
    fedc_shape in, out;
    size_t in_size, out_size; /* floats per sample */
    int relu;         /* ReLU fused after this op (conv, dense, group norm) */
    int need_dx;      /* an earlier op has parameters: propagate the gradient */
    int k, stride, pad; /* conv kernel/stride/padding; pool window (stride = k) */
    int ws;           /* conv with scaled weight standardisation (wsconv) */
    int groups;       /* group norm */
    float drop_p;     /* dropout rate */
    size_t w_off, w_count, b_off, b_count; /* parameter views (count 0 = none) */
    size_t gain_off;  /* wsconv: per-output-channel gain (out.c floats) */
    size_t rmean_off, rvar_off; /* batch norm: running statistics (in.c floats each) */
} nn_op;

struct fedc_arch {
    char spec[NN_SPEC_MAX + 1]; /* canonical */
    fedc_shape input;
    int n_classes;
    int n_ops;
    nn_op ops[NN_MAX_LAYERS];
    size_t n_params;
    int n_tensors;
    fedc_tensor_info tensors[NN_MAX_TENSORS];
    double flops;
    int has_bn; /* some op keeps running statistics (fedc_nn_commit_stats has work) */
};

/* GEMM blocking (gemm.c): register tile MR x NR, cache blocks MC x KC of A
 * (L2) and KC x NC of B; KC x NR floats of B stay in L1. */
#define NN_GEMM_MR 8
#define NN_GEMM_NR 32
#define NN_GEMM_KC 256
#define NN_GEMM_MC 128
#define NN_GEMM_NC 1024
/* A C of at least this many floats (4 MB), not accumulated and written in
 * one k block, is stored with non-temporal stores. */
#define NN_GEMM_STREAM_MIN ((size_t)1 << 20)

/* Broadcast tile (gemm.c): up to MR rows read in place x NR columns. */
#define NN_TILE_MR 14
#define NN_TILE_NR 32
/* C = A B^T with up to this many rows of A runs the broadcast tile in slices
 * of NN_TILE_NR rows (B read in place, not packed per call). */
#define NN_GEMM_BCAST_MAX_M 128

/* Per-op scratch inside a workspace. */
typedef struct nn_op_ws {
    float *out;      /* output activations, max_batch * out_size */
    int32_t *argmax; /* max pool: index of the winner in the input plane */
    float *mask;     /* dropout: 0 or 1/(1-p) per element */
    float *stats;    /* group norm: mean and rstd per (sample, group); batch norm:
                        batch mean, rstd and unbiased variance per channel */
    float *w_std;    /* wsconv: the standardised weights of the last forward */
    float *w_stats;  /* wsconv: mean and rstd of each output channel's weights */
    int chunk;       /* conv: samples per im2col/GEMM chunk */
    int mask_live;   /* dropout: the last forward applied mask (else it was the identity) */
} nn_op_ws;

struct fedc_ws {
    const fedc_arch *arch;
    int max_batch;
    nn_op_ws op[NN_MAX_LAYERS];
    const float *act_in[NN_MAX_LAYERS];  /* input of each op in the last forward */
    const float *act_out[NN_MAX_LAYERS]; /* its output (dropout may alias its input) */
    float *grad_buf[2];                 /* ping-pong activation gradients */
    float *col, *dcol, *chunk_buf;      /* conv scratch shared by all convs */
    float *pack_a, *pack_b;             /* GEMM packing buffers */
    /* Fused conv + max-pool backward (conv_pool.c): one sample's padded
     * channels-last input and input gradient, the weights and their gradient
     * in [oc][ky][kx][c] order, and per channel the pool winners' offsets in
     * the padded input, their gradients and counts; win_pos maps a conv
     * output position to the offset of its patch. */
    float *hwc_x, *hwc_dx, *w_t, *dw_t, *win_g;
    float *patch_rows; /* fused backward of a single-channel conv: one sample's patches as rows */
    float *w_pack;    /* conv weights packed for the direct forward kernel */
    float *pool_band; /* fused conv + pool forward: pool-window rows of conv output */
    int32_t *win_off, *win_pos;
    int *win_cnt;
    float *dw_std;    /* wsconv backward: gradient of the standardised weights */
    int bn_train;     /* the last forward normalised batch norms with batch statistics */
    void *block;                        /* one allocation backs everything */
    size_t bytes;                       /* its size */
};

/* Chooses how many samples one conv im2col chunk holds (cache-sized). */
int nn_conv_chunk(const nn_op *op, int max_batch);
/* Floats of conv scratch for a chunk: col (= dcol) and chunk output. */
size_t nn_conv_col_floats(const nn_op *op, int chunk);
size_t nn_conv_chunk_floats(const nn_op *op, int chunk);

/* Set to 1 (before any thread trains) to run the portable code paths (plain
 * C and OpenBLAS) even on AVX-512 CPUs; the tests cover both this way. */
extern int nn_portable_kernels;
/* 1 when the AVX-512 kernels may run: CPU support and not forced portable. */
int nn_use_avx512(void);

/* C (m x n, row stride ldc) = op(A) op(B), or += if accumulate; op(X) is X
 * or its transpose (ta/tb); row-major like cblas with alpha 1. */
void nn_gemm(fedc_ws *ws, int ta, int tb, int m, int n, int k, const float *a, int lda,
             const float *b, int ldb, int accumulate, float *c, int ldc);

#ifdef NN_AVX512_BUILD
/* out[r][0:NR] = sum over u < outer, t < inner of a[u*row + r*step + t] *
 * b[(u*inner + t)*NR + 0:NR], for r < mr (mr in 1, 2, 4, 8, 14); b 64-byte
 * aligned. A direct conv passes outer = K kernel rows of inner = K*C
 * inputs; a GEMM passes outer = 1. AVX-512 only. */
void nn_tile_bcast(int mr, const float *a, size_t row, size_t step, const float *b, int outer, int inner,
                   float *out);
#endif

/* Forward pass over a batch in ws (model.c); returns the logits (in ws).
 * Flags: NN_FWD_TRAIN normalises batch norms with batch statistics and
 * applies dropout (a fresh mask from rng, or with NN_FWD_KEEP_MASKS the
 * masks of the previous forward); NN_FWD_UNFUSED stores every op's output
 * (no fused conv + pool), as the Hessian-vector product needs. */
enum { NN_FWD_TRAIN = 1, NN_FWD_KEEP_MASKS = 2, NN_FWD_UNFUSED = 4 };
const float *nn_forward(const fedc_arch *a, fedc_ws *ws, const float *params, const float *x, int n, int flags,
                        fedc_rng *rng);
/* 1 if ws was made for a (or an identical arch) and n fits it. */
int nn_ws_fits(const fedc_arch *a, const fedc_ws *ws, int n);

/* Layer kernels. x/y/dx/dy hold n samples; w/b point into the parameter
 * vector and dw/db into the gradient vector (overwritten, not accumulated). */
void nn_conv_forward(const nn_op *op, const nn_op_ws *ows, fedc_ws *ws, const float *w,
                     const float *b, const float *x, float *y, int n);
void nn_conv_backward(const nn_op *op, const nn_op_ws *ows, fedc_ws *ws, const float *w,
                      const float *x, const float *y, float *dy, float *dx, float *dw, float *db,
                      int n);

/* Floats of conv weights packed for nn_conv_forward_direct. */
size_t nn_conv_direct_pack_floats(const nn_op *op);
#ifdef NN_AVX512_BUILD
/* Forward conv (bias and ReLU fused) by the direct AVX-512 kernel; call only
 * when nn_use_avx512(). */
void nn_conv_forward_direct(const nn_op *op, fedc_ws *ws, const float *w, const float *b, const float *x,
                            float *y, int n);
/* Forward of a conv (bias, ReLU) and the max pool after it in one pass:
 * writes the pool's output and argmax only (the conv output is not
 * stored; the fused backward does not need it). AVX-512 only. */
void nn_conv_pool_forward_direct(const nn_op *conv, const nn_op *pool, fedc_ws *ws, const float *w,
                                 const float *b, const float *x, float *pooled, int32_t *argmax, int n);
#endif
/* 1 if ops[i] is a conv directly followed by a max pool: their backward
 * passes then run as one (nn_conv_pool_backward). */
int nn_conv_pool_fusable(const fedc_arch *a, int i);
/* Floats of one sample's patch rows (NN_PATCH_LD per output position) that
 * the fused conv + max-pool backward of op uses, or 0 where it does not:
 * a single-channel, stride-1 conv of at most NN_PATCH_LD taps without an
 * input gradient (a network's first conv), with the AVX-512 kernels. */
#define NN_PATCH_LD 32
size_t nn_conv_pool_patch_floats(const nn_op *op);
#ifdef NN_AVX512_BUILD
/* Those rows for one sample from its padded input xh (conv_direct.c). */
void nn_conv_patch_rows_c1_avx512(const nn_op *op, const float *xh, float *rows);
#endif
/* Floats of one sample's zero-padded channels-last conv input. */
size_t nn_conv_hwc_floats(const nn_op *op);
/* One sample's NCHW conv input -> zero-padded HWC ([H+2P][W+2P][C]). */
void nn_conv_to_hwc(const nn_op *op, const float *x, float *xh);
/* The interior of one sample's padded HWC buffer back to NCHW (the input
 * gradient of a conv computed channels-last). */
void nn_conv_from_hwc(const nn_op *op, const float *xh, float *x);
#ifdef NN_AVX512_BUILD
/* Both for C a multiple of 16, by 16x16 in-register transposes (conv_direct.c). */
void nn_conv_to_hwc_avx512(const nn_op *op, const float *x, float *xh);
void nn_conv_from_hwc_avx512(const nn_op *op, const float *xh, float *x);
#endif
/* Backward of conv followed by max pool from the pool's output gradient dp,
 * its output pooled and its argmax: writes dw, db and (if the conv needs
 * it) dx, the gradient of the conv input. */
void nn_conv_pool_backward(const nn_op *conv, const nn_op *pool, fedc_ws *ws, const int32_t *argmax,
                           const float *w, const float *x, const float *pooled, const float *dp, float *dx,
                           float *dw, float *db, int n);

void nn_dense_forward(const nn_op *op, fedc_ws *ws, const float *w, const float *b, const float *x, float *y,
                      int n);
void nn_dense_backward(const nn_op *op, fedc_ws *ws, const float *w, const float *x, const float *y, float *dy,
                       float *dx, float *dw, float *db, int n);

void nn_maxpool_forward(const nn_op *op, const float *x, float *y, int32_t *argmax, int n);
void nn_maxpool_backward(const nn_op *op, const int32_t *argmax, const float *dy, float *dx, int n);
void nn_avgpool_forward(const nn_op *op, const float *x, float *y, int n);
void nn_avgpool_backward(const nn_op *op, const float *dy, float *dx, int n);

void nn_groupnorm_forward(const nn_op *op, const float *gamma, const float *beta, const float *x,
                          float *y, float *stats, int n);
void nn_groupnorm_backward(const nn_op *op, const float *gamma, const float *x, const float *y,
                           const float *stats, float *dy, float *dx, float *dgamma, float *dbeta,
                           int n);

/* Batch norm (batchnorm.c). train: normalise with the batch's statistics
 * (kept in stats for backward and for nn_batchnorm_commit); otherwise with
 * the running statistics rmean/rvar. */
void nn_batchnorm_forward(const nn_op *op, const float *gamma, const float *beta, const float *rmean,
                          const float *rvar, const float *x, float *y, float *stats, int n, int train);
/* Backward of a training-mode forward. */
void nn_batchnorm_backward(const nn_op *op, const float *gamma, const float *x, const float *y,
                           const float *stats, float *dy, float *dx, float *dgamma, float *dbeta, int n);
/* Folds the batch statistics of the last training forward into the running
 * ones (PyTorch: momentum 0.1, unbiased batch variance). */
void nn_batchnorm_commit(const nn_op *op, const float *stats, float *rmean, float *rvar);
#define NN_BN_EPS 1e-5
#define NN_BN_MOMENTUM 0.1

/* Scaled weight standardisation (ws_conv.c): w_std[oc] = gain[oc] *
 * (w[oc] - mean) / sqrt(fan_in * (var + eps)), mean and biased var over the
 * fan-in of output channel oc; stats keeps mean and 1/sqrt(var + eps). */
void nn_ws_standardize(const nn_op *op, const float *w, const float *gain, float *w_std, float *stats);
/* dw and dgain (overwritten) from the gradient dw_std of the standardised
 * weights. */
void nn_ws_backward(const nn_op *op, const float *w, const float *gain, const float *stats,
                    const float *dw_std, float *dw, float *dgain);
#define NN_WS_EPS 1e-6

void nn_relu_forward(const float *x, float *y, size_t count);
/* dx = dy where y > 0, else 0. dx may equal dy. */
void nn_relu_backward(const float *y, const float *dy, float *dx, size_t count);
/* Draws an inverted-dropout mask (keep with probability 1-p, scale 1/(1-p)). */
void nn_dropout_mask(float p, float *mask, size_t count, fedc_rng *rng);
void nn_mul(const float *a, const float *b, float *out, size_t count);

/* Mean softmax cross-entropy of n rows of logits; if dlogits is non-NULL it
 * receives d(mean loss)/d(logits). correct (may be NULL) counts argmax hits.
 * Returns NaN if a label is outside [0, classes). */
double nn_softmax_xent(const float *logits, const int32_t *y, int n, int classes, float *dlogits,
                       int *correct);
/* Adds each row's cross-entropy to *total, one row after another, and its
 * argmax hits to *hits: the sum over a data set is then the same however it
 * is cut into batches. Returns -1 if a label is outside [0, classes). */
int nn_xent_accumulate(const float *logits, const int32_t *y, int n, int classes, double *total, size_t *hits);

#endif
