/* Single-precision GEMM for the layer kernels: C = op(A) op(B) (+ C), all
 * row-major. On CPUs with AVX-512 it runs a packed, cache-blocked GEMM
 * (BLIS loop order) around an 8x32 register-tile micro-kernel; elsewhere it
 * calls OpenBLAS. Own kernel because OpenBLAS 0.3.21 may be pinned to (or
 * fall back to) its AVX2 kernels, which reach only about half of an AVX-512
 * core's throughput on these shapes; the packing buffers live in the
 * per-thread workspace, so nothing is allocated per call. A B^T with few
 * rows of A (a dense layer's forward at batch <= 32) instead runs the
 * broadcast tile over B in place, and the direct conv kernels share it. */
#include <cblas.h>
#include <stdint.h>
#include <string.h>

#include "nn/nn_internal.h"

#ifdef NN_AVX512_BUILD
#include <immintrin.h>
#endif

#define MR NN_GEMM_MR
#define NR NN_GEMM_NR
#define KC NN_GEMM_KC
#define MC NN_GEMM_MC
#define NC NN_GEMM_NC

int nn_portable_kernels = 0;

/* CPU feature test; libgcc/compiler-rt initialise the data it reads before
 * main, so this is a plain load (no caching, no data race). */
int nn_use_avx512(void) {
#ifdef NN_AVX512_BUILD
    return !nn_portable_kernels && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

#ifdef NN_AVX512_BUILD

/* out[i] (8 floats) = column i of the 8x8 block whose row r starts at
 * in + r * ld: the transposing step of both packs. */
__attribute__((target("avx2"))) static inline void transpose8x8(const float *in, size_t ld,
                                                                float *out, size_t out_ld) {
    __m256 r0 = _mm256_loadu_ps(in), r1 = _mm256_loadu_ps(in + ld), r2 = _mm256_loadu_ps(in + 2 * ld);
    __m256 r3 = _mm256_loadu_ps(in + 3 * ld), r4 = _mm256_loadu_ps(in + 4 * ld);
    __m256 r5 = _mm256_loadu_ps(in + 5 * ld), r6 = _mm256_loadu_ps(in + 6 * ld);
    __m256 r7 = _mm256_loadu_ps(in + 7 * ld);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    _mm256_storeu_ps(out + 0 * out_ld, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(out + 1 * out_ld, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(out + 2 * out_ld, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(out + 3 * out_ld, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(out + 4 * out_ld, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(out + 5 * out_ld, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(out + 6 * out_ld, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(out + 7 * out_ld, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* Packs op(A)[i0:i0+mc, k0:k0+kc] as MR-row panels, k-major, zero-padded. */
__attribute__((target("avx2"))) static void pack_a(int ta, const float *a, int lda, int i0, int mc,
                                                   int k0, int kc, float *dst) {
    for (int p = 0; p < mc; p += MR) {
        int rows = mc - p < MR ? mc - p : MR;
        float *d = dst + (size_t)p * kc;
        if (ta && rows == MR) {
            for (int k = 0; k < kc; k++) memcpy(d + k * MR, a + (size_t)(k0 + k) * lda + i0 + p, MR * sizeof *d);
        } else if (ta) {
            for (int k = 0; k < kc; k++) {
                const float *src = a + (size_t)(k0 + k) * lda + i0 + p;
                int r = 0;
                for (; r < rows; r++) d[k * MR + r] = src[r];
                for (; r < MR; r++) d[k * MR + r] = 0.0f;
            }
        } else {
            const float *src = a + (size_t)(i0 + p) * lda + k0;
            int k = 0;
            if (rows == MR) /* 8 rows x 8 k at a time through registers */
                for (; k + 8 <= kc; k += 8) transpose8x8(src + k, (size_t)lda, d + k * MR, MR);
            for (int r = 0; r < rows; r++)
                for (int kk = k; kk < kc; kk++) d[kk * MR + r] = src[(size_t)r * lda + kk];
            for (int r = rows; r < MR; r++)
                for (int kk = k; kk < kc; kk++) d[kk * MR + r] = 0.0f;
        }
    }
}

/* Packs op(B)[k0:k0+kc, j0:j0+nc] as NR-column panels, k-major, zero-padded. */
__attribute__((target("avx2"))) static void pack_b(int tb, const float *b, int ldb, int k0, int kc,
                                                   int j0, int nc, float *dst) {
    for (int p = 0; p < nc; p += NR) {
        int cols = nc - p < NR ? nc - p : NR;
        float *d = dst + (size_t)p * kc;
        if (!tb && cols == NR) { /* the common case: whole rows of the panel */
            for (int k = 0; k < kc; k++) memcpy(d + k * NR, b + (size_t)(k0 + k) * ldb + j0 + p, NR * sizeof *d);
        } else if (!tb) {
            for (int k = 0; k < kc; k++) {
                const float *src = b + (size_t)(k0 + k) * ldb + j0 + p;
                int c = 0;
                for (; c < cols; c++) d[k * NR + c] = src[c];
                for (; c < NR; c++) d[k * NR + c] = 0.0f;
            }
        } else {
            const float *src = b + (size_t)(j0 + p) * ldb + k0;
            int full = cols / 8 * 8, k = 0;
            for (; k + 8 <= kc; k += 8) /* 8 columns x 8 k at a time */
                for (int c = 0; c < full; c += 8)
                    transpose8x8(src + (size_t)c * ldb + k, (size_t)ldb, d + k * NR + c, NR);
            for (int c = 0; c < full; c++)
                for (int kk = k; kk < kc; kk++) d[kk * NR + c] = src[(size_t)c * ldb + kk];
            for (int c = full; c < cols; c++)
                for (int kk = 0; kk < kc; kk++) d[kk * NR + c] = src[(size_t)c * ldb + kk];
            for (int c = cols; c < NR; c++)
                for (int kk = 0; kk < kc; kk++) d[kk * NR + c] = 0.0f;
        }
    }
}

/* How the micro-kernel writes its tile: C = tile, C += tile, or C = tile
 * with non-temporal stores (C 64-byte aligned, ldc a multiple of 16). */
enum { TILE_STORE = 0, TILE_ADD = 1, TILE_STREAM = 2 };

/* c[MR x NR] (row stride ldc) = or += a-panel x b-panel over kc; the b
 * panel's k rows are bs floats apart (NR when packed, ldb when read in place).
 * pf (or NULL): a panel laid out like b to fetch into L2 meanwhile, the next
 * one read in place, whose rows are far apart (no hardware prefetcher
 * follows 256 rows at once). */
__attribute__((target("avx512f"))) static void kernel_8x32(int kc, const float *restrict a,
                                                          const float *restrict b, size_t bs,
                                                          float *restrict c, size_t ldc, int accumulate,
                                                          const float *pf) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00;
    __m512 c70 = c00, c71 = c00;
    for (int k = 0; k < kc; k++) {
        if (pf) {
            _mm_prefetch((const char *)pf, _MM_HINT_T1);
            _mm_prefetch((const char *)(pf + 16), _MM_HINT_T1);
            pf += bs;
        }
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), x;
#define ROW(r, lo, hi)                       \
    x = _mm512_set1_ps(a[r]);                \
    lo = _mm512_fmadd_ps(x, b0, lo);         \
    hi = _mm512_fmadd_ps(x, b1, hi);
        ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31)
        ROW(4, c40, c41) ROW(5, c50, c51) ROW(6, c60, c61) ROW(7, c70, c71)
#undef ROW
        a += MR;
        b += bs;
    }
#define OUT(r, lo, hi)                                                                          \
    if (accumulate == TILE_STREAM) {                                                            \
        _mm512_stream_ps(c + (r) * ldc, lo);                                                    \
        _mm512_stream_ps(c + (r) * ldc + 16, hi);                                               \
    } else {                                                                                    \
        if (accumulate == TILE_ADD) {                                                           \
            lo = _mm512_add_ps(lo, _mm512_loadu_ps(c + (r) * ldc));                            \
            hi = _mm512_add_ps(hi, _mm512_loadu_ps(c + (r) * ldc + 16));                       \
        }                                                                                       \
        _mm512_storeu_ps(c + (r) * ldc, lo);                                                    \
        _mm512_storeu_ps(c + (r) * ldc + 16, hi);                                               \
    }
    OUT(0, c00, c01) OUT(1, c10, c11) OUT(2, c20, c21) OUT(3, c30, c31)
    OUT(4, c40, c41) OUT(5, c50, c51) OUT(6, c60, c61) OUT(7, c70, c71)
#undef OUT
}

/* The broadcast tile: out[r][0:32] = sum over ky < outer, t < inner of
 * a[ky*row + r*step + t] * b[(ky*inner + t)*32 + 0:32] for r < TM. A is read in
 * place (one broadcast per row per step: rows may be far apart, e.g. weight
 * rows of a dense layer or neighbouring output positions of a conv over a
 * channels-last input); b is 64-byte aligned, 32 floats per step. TM (and
 * STEP, when non-zero) are constants of each inlined copy so that the 2*TM
 * accumulators stay in registers and A's addresses are immediate offsets. */
static inline __attribute__((always_inline, target("avx512f"))) void bcast_tile(
    const float *a, size_t row, size_t step, const float *b, int outer, int inner, float *out, const int TM,
    const int STEP) {
    if (STEP) step = (size_t)STEP;
    __m512 acc[NN_TILE_MR][2];
    for (int r = 0; r < TM; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int ky = 0; ky < outer; ky++) {
        const float *p = a + (size_t)ky * row;
        for (int t = 0; t < inner; t++, p++, b += NN_TILE_NR) {
            const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
            for (int r = 0; r < TM; r++) {
                const __m512 x = _mm512_set1_ps(p[r * step]);
                acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
            }
        }
    }
    for (int r = 0; r < TM; r++) {
        _mm512_storeu_ps(out + r * NN_TILE_NR, acc[r][0]);
        _mm512_storeu_ps(out + r * NN_TILE_NR + 16, acc[r][1]);
    }
}

__attribute__((target("avx512f"))) void nn_tile_bcast(int mr, const float *a, size_t row, size_t step,
                                                      const float *b, int outer, int inner, float *out) {
    if (mr == 14 && step == 32) /* a 32-channel stride-1 conv, e.g. the CNN's second */
        bcast_tile(a, row, step, b, outer, inner, out, 14, 32);
    else if (mr == 14 && step == 1) /* a single-channel stride-1 conv */
        bcast_tile(a, row, step, b, outer, inner, out, 14, 1);
    else if (mr == 14)
        bcast_tile(a, row, step, b, outer, inner, out, 14, 0);
    else if (mr == 8)
        bcast_tile(a, row, step, b, outer, inner, out, 8, 0);
    else if (mr == 4)
        bcast_tile(a, row, step, b, outer, inner, out, 4, 0);
    else if (mr == 2)
        bcast_tile(a, row, step, b, outer, inner, out, 2, 0);
    else
        bcast_tile(a, row, step, b, outer, inner, out, 1, 0);
}

/* C = A B^T (+ C) for m <= 32 rows of A, as C^T = B A^T with the broadcast
 * tile: B (e.g. a dense layer's [out, in] weights) is read in place, once,
 * and only A^T (k x 32, zero-padded) is packed; the transposed tiles are
 * added into C. The usual path would transpose-pack all of B per call.
 * The tile sums k in blocks of kb_max, each block from zero and then added
 * into C: with kb_max = KC that is exactly own_gemm's order of operations
 * (a block's products one after another in k order, then C + block), so
 * the result is the same bit for bit. */
static void gemm_abt_small_m(fedc_ws *ws, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                             int accumulate, float *c, int ldc, const int kb_max) {
    float *at = ws->pack_b;
    float out[NN_TILE_MR * NN_TILE_NR] __attribute__((aligned(64)));
    for (int k0 = 0; k0 < k; k0 += kb_max) {
        const int kb = k - k0 < kb_max ? k - k0 : kb_max, acc = accumulate || k0 > 0;
        /* A^T: 8 rows x 8 k at a time through registers, then the edges. */
        const int m8 = m / 8 * 8, kb8 = kb / 8 * 8;
        for (int i = 0; i < m8; i += 8)
            for (int kk = 0; kk < kb8; kk += 8)
                transpose8x8(a + (size_t)i * lda + k0 + kk, (size_t)lda, at + (size_t)kk * NN_TILE_NR + i,
                             NN_TILE_NR);
        for (int kk = 0; kk < kb; kk++) {
            float *d = at + (size_t)kk * NN_TILE_NR;
            for (int i = kk < kb8 ? m8 : 0; i < m; i++) d[i] = a[(size_t)i * lda + k0 + kk];
            for (int i = m; i < NN_TILE_NR; i++) d[i] = 0.0f;
        }
        for (int j0 = 0; j0 < n;) {
            const int left = n - j0;
            const int mr = left >= NN_TILE_MR ? NN_TILE_MR : left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
            nn_tile_bcast(mr, b + (size_t)j0 * ldb + k0, 0, (size_t)ldb, at, 1, kb, out);
            for (int i = 0; i < m; i++) {
                float *dst = c + (size_t)i * ldc + j0;
                if (acc)
                    for (int r = 0; r < mr; r++) dst[r] += out[r * NN_TILE_NR + i];
                else
                    for (int r = 0; r < mr; r++) dst[r] = out[r * NN_TILE_NR + i];
            }
            j0 += mr;
        }
    }
}

static void own_gemm(fedc_ws *ws, int ta, int tb, int m, int n, int k, const float *a, int lda,
                     const float *b, int ldb, int accumulate, float *c, int ldc) {
    float *ap = ws->pack_a, *bp = ws->pack_b;
    float edge[MR * NR];
    /* A C far larger than the caches written in one k block (a dense
     * layer's weight gradient over a small batch): whole tiles go straight
     * to memory, without first reading the lines they overwrite. */
    const int stream = !accumulate && k <= KC && (size_t)m * (size_t)n >= NN_GEMM_STREAM_MIN &&
                       ((uintptr_t)c & 63) == 0 && ldc % 16 == 0;
    for (int j0 = 0; j0 < n; j0 += NC) {
        int nc = n - j0 < NC ? n - j0 : NC;
        for (int k0 = 0; k0 < k; k0 += KC) {
            int kc = k - k0 < KC ? k - k0 : KC;
            int acc = accumulate || k0 > 0;
            /* An untransposed B is read in place, 32 columns per k row; only
             * a transposed B, or a last panel narrower than NR, is packed. */
            int in_place = !tb ? nc / NR * NR : 0;
            if (in_place < nc)
                pack_b(tb, b, ldb, k0, kc, j0 + in_place, nc - in_place, bp + (size_t)in_place * kc);
            for (int i0 = 0; i0 < m; i0 += MC) {
                int mc = m - i0 < MC ? m - i0 : MC;
                pack_a(ta, a, lda, i0, mc, k0, kc, ap);
                for (int jr = 0; jr < nc; jr += NR) {
                    int cols = nc - jr < NR ? nc - jr : NR;
                    const float *bpanel = jr < in_place ? b + (size_t)k0 * ldb + j0 + jr : bp + (size_t)jr * kc;
                    size_t bs = jr < in_place ? (size_t)ldb : NR;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int rows = mc - ir < MR ? mc - ir : MR;
                        const float *apanel = ap + (size_t)ir * kc;
                        float *ct = c + (size_t)(i0 + ir) * ldc + j0 + jr;
                        /* The first row tile of an in-place panel fetches the next one. */
                        const float *pf = ir == 0 && jr + NR < in_place ? bpanel + NR : NULL;
                        if (rows == MR && cols == NR) {
                            kernel_8x32(kc, apanel, bpanel, bs, ct, (size_t)ldc, stream ? TILE_STREAM : acc, pf);
                            continue;
                        }
                        /* Partial tile: full kernel into a scratch tile, copy the valid part. */
                        kernel_8x32(kc, apanel, bpanel, bs, edge, NR, 0, pf);
                        for (int r = 0; r < rows; r++) {
                            float *dst = ct + (size_t)r * ldc;
                            const float *src = edge + r * NR;
                            if (acc)
                                for (int q = 0; q < cols; q++) dst[q] += src[q];
                            else
                                for (int q = 0; q < cols; q++) dst[q] = src[q];
                        }
                    }
                }
            }
        }
    }
    if (stream) _mm_sfence(); /* the streamed tiles are visible before C is read */
}

#endif /* NN_AVX512_BUILD */

void nn_gemm(fedc_ws *ws, int ta, int tb, int m, int n, int k, const float *a, int lda,
             const float *b, int ldb, int accumulate, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* empty sum: C = 0 (or unchanged) */
        if (!accumulate)
            for (int i = 0; i < m; i++) memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof *c);
        return;
    }
#ifdef NN_AVX512_BUILD
    if (nn_use_avx512()) {
        if (!ta && tb && m <= NN_TILE_NR) {
            gemm_abt_small_m(ws, m, n, k, a, lda, b, ldb, accumulate, c, ldc, NN_GEMM_KC * NN_GEMM_NC / NN_TILE_NR);
        } else if (!ta && tb && m <= NN_GEMM_BCAST_MAX_M) {
            /* A few slices of 32 rows (e.g. a dense layer's forward over an
             * evaluation batch of 64): B read in place per slice instead of
             * transpose-packed per call, in own_gemm's k blocks, so the
             * result does not depend on which of the two ran. */
            for (int i0 = 0; i0 < m; i0 += NN_TILE_NR)
                gemm_abt_small_m(ws, m - i0 < NN_TILE_NR ? m - i0 : NN_TILE_NR, n, k, a + (size_t)i0 * lda, lda, b,
                                 ldb, accumulate, c + (size_t)i0 * ldc, ldc, KC);
        } else
            own_gemm(ws, ta, tb, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
        return;
    }
#endif
    (void)ws;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k,
                1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
}
