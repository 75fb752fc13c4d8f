/* Single-precision GEMM for the layer kernels: C = op(A) op(B) (+ C), all
 * row-major. On CPUs with AVX-512 it runs a packed, cache-blocked GEMM
 * (BLIS loop order) around an 8x32 register-tile micro-kernel; elsewhere it
 * calls OpenBLAS. Own kernel because OpenBLAS 0.3.21 may be pinned to (or
 * fall back to) its AVX2 kernels, which reach only about half of an AVX-512
 * core's throughput on these shapes; the packing buffers live in the
 * per-thread workspace, so nothing is allocated per call. */
#include <cblas.h>
#include <string.h>

#include "nn/nn_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NN_HAVE_AVX512_PATH 1
#include <immintrin.h>
#endif

#define MR NN_GEMM_MR
#define NR NN_GEMM_NR
#define KC NN_GEMM_KC
#define MC NN_GEMM_MC
#define NC NN_GEMM_NC

static int use_own_kernel(void) {
#ifdef NN_HAVE_AVX512_PATH
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return cached;
#else
    return 0;
#endif
}

#ifdef NN_HAVE_AVX512_PATH

/* A(i, k) of op(A) for row-major storage. */
#define A_AT(i, k) (ta ? a[(size_t)(k) * lda + (i)] : a[(size_t)(i) * lda + (k)])
#define B_AT(k, j) (tb ? b[(size_t)(j) * ldb + (k)] : b[(size_t)(k) * ldb + (j)])

/* Packs op(A)[i0:i0+mc, k0:k0+kc] as MR-row panels, k-major, zero-padded. */
static void pack_a(int ta, const float *a, int lda, int i0, int mc, int k0, int kc, float *dst) {
    for (int p = 0; p < mc; p += MR) {
        int rows = mc - p < MR ? mc - p : MR;
        float *d = dst + (size_t)p * kc;
        if (ta) {
            for (int k = 0; k < kc; k++) {
                const float *src = a + (size_t)(k0 + k) * lda + i0 + p;
                int r = 0;
                for (; r < rows; r++) d[k * MR + r] = src[r];
                for (; r < MR; r++) d[k * MR + r] = 0.0f;
            }
        } else {
            for (int r = 0; r < rows; r++) {
                const float *src = a + (size_t)(i0 + p + r) * lda + k0;
                for (int k = 0; k < kc; k++) d[k * MR + r] = src[k];
            }
            for (int r = rows; r < MR; r++)
                for (int k = 0; k < kc; k++) d[k * MR + r] = 0.0f;
        }
    }
}

/* Packs op(B)[k0:k0+kc, j0:j0+nc] as NR-column panels, k-major, zero-padded. */
static void pack_b(int tb, const float *b, int ldb, int k0, int kc, int j0, int nc, float *dst) {
    for (int p = 0; p < nc; p += NR) {
        int cols = nc - p < NR ? nc - p : NR;
        float *d = dst + (size_t)p * kc;
        if (!tb) {
            for (int k = 0; k < kc; k++) {
                const float *src = b + (size_t)(k0 + k) * ldb + j0 + p;
                int c = 0;
                for (; c < cols; c++) d[k * NR + c] = src[c];
                for (; c < NR; c++) d[k * NR + c] = 0.0f;
            }
        } else {
            for (int c = 0; c < cols; c++) {
                const float *src = b + (size_t)(j0 + p + c) * ldb + k0;
                for (int k = 0; k < kc; k++) d[k * NR + c] = src[k];
            }
            for (int c = cols; c < NR; c++)
                for (int k = 0; k < kc; k++) d[k * NR + c] = 0.0f;
        }
    }
}

/* c[MR x NR] (row stride ldc) = or += a-panel x b-panel over kc. */
__attribute__((target("avx512f"))) static void kernel_8x32(int kc, const float *restrict a,
                                                          const float *restrict b, float *restrict c,
                                                          size_t ldc, int accumulate) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00;
    __m512 c70 = c00, c71 = c00;
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), x;
#define ROW(r, lo, hi)                       \
    x = _mm512_set1_ps(a[r]);                \
    lo = _mm512_fmadd_ps(x, b0, lo);         \
    hi = _mm512_fmadd_ps(x, b1, hi);
        ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31)
        ROW(4, c40, c41) ROW(5, c50, c51) ROW(6, c60, c61) ROW(7, c70, c71)
#undef ROW
        a += MR;
        b += NR;
    }
#define OUT(r, lo, hi)                                                                          \
    if (accumulate) {                                                                           \
        lo = _mm512_add_ps(lo, _mm512_loadu_ps(c + (r) * ldc));                                \
        hi = _mm512_add_ps(hi, _mm512_loadu_ps(c + (r) * ldc + 16));                           \
    }                                                                                           \
    _mm512_storeu_ps(c + (r) * ldc, lo);                                                        \
    _mm512_storeu_ps(c + (r) * ldc + 16, hi);
    OUT(0, c00, c01) OUT(1, c10, c11) OUT(2, c20, c21) OUT(3, c30, c31)
    OUT(4, c40, c41) OUT(5, c50, c51) OUT(6, c60, c61) OUT(7, c70, c71)
#undef OUT
}

static void own_gemm(fedc_ws *ws, int ta, int tb, int m, int n, int k, const float *a, int lda,
                     const float *b, int ldb, int accumulate, float *c, int ldc) {
    float *ap = ws->pack_a, *bp = ws->pack_b;
    float edge[MR * NR];
    for (int j0 = 0; j0 < n; j0 += NC) {
        int nc = n - j0 < NC ? n - j0 : NC;
        for (int k0 = 0; k0 < k; k0 += KC) {
            int kc = k - k0 < KC ? k - k0 : KC;
            int acc = accumulate || k0 > 0;
            pack_b(tb, b, ldb, k0, kc, j0, nc, bp);
            for (int i0 = 0; i0 < m; i0 += MC) {
                int mc = m - i0 < MC ? m - i0 : MC;
                pack_a(ta, a, lda, i0, mc, k0, kc, ap);
                for (int jr = 0; jr < nc; jr += NR) {
                    int cols = nc - jr < NR ? nc - jr : NR;
                    const float *bpanel = bp + (size_t)jr * kc;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int rows = mc - ir < MR ? mc - ir : MR;
                        const float *apanel = ap + (size_t)ir * kc;
                        float *ct = c + (size_t)(i0 + ir) * ldc + j0 + jr;
                        if (rows == MR && cols == NR) {
                            kernel_8x32(kc, apanel, bpanel, ct, (size_t)ldc, acc);
                            continue;
                        }
                        /* Partial tile: full kernel into a scratch tile, copy the valid part. */
                        kernel_8x32(kc, apanel, bpanel, edge, NR, 0);
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
}

#endif /* NN_HAVE_AVX512_PATH */

void nn_gemm(fedc_ws *ws, int ta, int tb, int m, int n, int k, const float *a, int lda,
             const float *b, int ldb, int accumulate, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* empty sum: C = 0 (or unchanged) */
        if (!accumulate)
            for (int i = 0; i < m; i++) memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof *c);
        return;
    }
#ifdef NN_HAVE_AVX512_PATH
    if (use_own_kernel()) {
        own_gemm(ws, ta, tb, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
        return;
    }
#endif
    (void)ws;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k,
                1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
}
