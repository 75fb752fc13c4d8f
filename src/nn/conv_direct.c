/* Forward convolution without im2col, for CPUs with AVX-512. The input of a
 * sample is copied once to a zero-padded channels-last (HWC) buffer; there
 * the K*C inputs that output position (oy, ox) multiplies with kernel row ky
 * are one contiguous run, and the runs of neighbouring positions in an
 * output row are S*C floats apart. A register tile of MR positions x 32
 * output channels then reads its A operand straight from that buffer
 * (broadcasting one input per position per step) and its B operand from the
 * weights repacked as [oc/32][ky][kx][c][32], so no patch matrix is written
 * or packed. The tile finishes with bias and ReLU and is stored to NCHW.
 * When a max pool follows, the conv output never goes to memory: each band
 * of pool-window rows is computed into a small channels-last buffer and
 * pooled from there, 16 channels per vector. */
#include <string.h>

#include "nn/nn_internal.h"

#define OC_BLOCK NN_TILE_NR

size_t nn_conv_direct_pack_floats(const nn_op *op) {
    size_t blocks = ((size_t)op->out.c + OC_BLOCK - 1) / OC_BLOCK;
    return blocks * OC_BLOCK * (size_t)op->in.c * op->k * op->k;
}

#ifdef NN_AVX512_BUILD
#include <immintrin.h>

/* w [oc][c][ky][kx] -> [oc/32][ky][kx][c][32], zero-padded past OC. Written
 * in the packed order (one 32-float run per (tap, channel)): scattering the
 * writes instead, 4 KB apart for 32 channels, made this copy a visible part
 * of a forward pass. */
static void pack_weights(const nn_op *op, const float *w, float *wp) {
    const int OC = op->out.c, C = op->in.c, K = op->k, KK = K * K;
    const int blocks = (OC + OC_BLOCK - 1) / OC_BLOCK;
    const size_t per_oc = (size_t)C * KK;
    float *dst = wp;
    for (int ob = 0; ob < blocks; ob++) {
        const int oc0 = ob * OC_BLOCK, ocn = OC - oc0 < OC_BLOCK ? OC - oc0 : OC_BLOCK;
        const float *src = w + (size_t)oc0 * per_oc;
        for (int t = 0; t < KK; t++)
            for (int c = 0; c < C; c++, dst += OC_BLOCK) {
                const float *s = src + (size_t)c * KK + t;
                int j = 0;
                for (; j < ocn; j++) dst[j] = s[(size_t)j * per_oc];
                for (; j < OC_BLOCK; j++) dst[j] = 0.0f;
            }
    }
}

void nn_conv_forward_direct(const nn_op *op, fedc_ws *ws, const float *w, const float *b, const float *x,
                            float *y, int n) {
    const int OC = op->out.c, C = op->in.c, K = op->k, S = op->stride, OH = op->out.h, OW = op->out.w;
    const int Wp = op->in.w + 2 * op->pad, KC = K * C, blocks = (OC + OC_BLOCK - 1) / OC_BLOCK;
    const size_t row = (size_t)Wp * C, step = (size_t)S * C, P = (size_t)OH * OW;
    const size_t per_block = (size_t)K * KC * OC_BLOCK;
    /* Widest tile that fits the row; narrower rows or the last tile of a row
     * overlap the previous tile (recomputing identical values). */
    const int mr = OW >= NN_TILE_MR ? NN_TILE_MR : OW >= 8 ? 8 : OW >= 4 ? 4 : OW >= 2 ? 2 : 1;
    float bias[OC_BLOCK] __attribute__((aligned(64)));
    float out[NN_TILE_MR * OC_BLOCK] __attribute__((aligned(64)));
    pack_weights(op, w, ws->w_pack);
    for (int s = 0; s < n; s++) {
        nn_conv_to_hwc(op, x + (size_t)s * op->in_size, ws->hwc_x);
        float *ys = y + (size_t)s * op->out_size;
        for (int ob = 0; ob < blocks; ob++) {
            const int oc0 = ob * OC_BLOCK, ocn = OC - oc0 < OC_BLOCK ? OC - oc0 : OC_BLOCK;
            memset(bias, 0, sizeof bias);
            memcpy(bias, b + oc0, (size_t)ocn * sizeof *bias);
            const float *wp = ws->w_pack + (size_t)ob * per_block;
            for (int oy = 0; oy < OH; oy++) {
                for (int ox0 = 0; ox0 < OW; ox0 += mr) {
                    const int ox = ox0 + mr <= OW ? ox0 : OW - mr;
                    const float *xp = ws->hwc_x + (size_t)oy * S * row + (size_t)ox * step;
                    nn_tile_bcast(mr, xp, row, step, wp, K, KC, out);
                    float *yo = ys + (size_t)oc0 * P + (size_t)oy * OW + ox;
                    for (int c = 0; c < ocn; c++)
                        for (int r = 0; r < mr; r++) {
                            float v = out[r * OC_BLOCK + c] + bias[c];
                            yo[(size_t)c * P + r] = op->relu && !(v > 0.0f) ? 0.0f : v;
                        }
                }
            }
        }
    }
}

/* In-register transpose of a 16x16 block: r[i] holds row i on entry and
 * column i on return. */
static inline __attribute__((always_inline, target("avx512f"))) void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    /* Rows 4g..4g+3: r[4g + j] = columns j, j+4, j+8, j+12 (one per 128-bit lane). */
    for (int g = 0; g < 16; g += 4) {
        r[g] = _mm512_shuffle_ps(t[g], t[g + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int j = 0; j < 4; j++) {
        t[j] = _mm512_shuffle_f32x4(r[j], r[j + 4], 0x88);      /* columns j, j+8 of rows 0..7 */
        t[j + 4] = _mm512_shuffle_f32x4(r[j], r[j + 4], 0xdd);  /* columns j+4, j+12 */
        t[j + 8] = _mm512_shuffle_f32x4(r[j + 8], r[j + 12], 0x88);
        t[j + 12] = _mm512_shuffle_f32x4(r[j + 8], r[j + 12], 0xdd);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
        r[j + 4] = _mm512_shuffle_f32x4(t[j + 4], t[j + 12], 0x88);
        r[j + 12] = _mm512_shuffle_f32x4(t[j + 4], t[j + 12], 0xdd);
    }
}

/* Writes up to 16 pooled positions x 32 channels, held channels-last in
 * rows[p][0:32] (row bits as floats), to NCHW: channel c's run starts at
 * out + c*Q. */
static inline __attribute__((always_inline, target("avx512f"))) void store_channels_first(
    const float *rows, int count, int channels, size_t Q, float *out) {
    const __mmask16 lanes = (__mmask16)((1u << count) - 1u);
    for (int h = 0; h < OC_BLOCK && h < channels; h += 16) {
        __m512 r[16];
        for (int i = 0; i < 16; i++) r[i] = _mm512_load_ps(rows + i * OC_BLOCK + h);
        transpose16(r);
        for (int c = 0; c < 16 && h + c < channels; c++) _mm512_mask_storeu_ps(out + (size_t)(h + c) * Q, lanes, r[c]);
    }
}

/* nn_conv_to_hwc for C a multiple of 16: 16 channels x 16 columns at a time
 * through the in-register transpose; only the padding border is zeroed.
 * The same floats as the scalar copy, moved faster. */
__attribute__((target("avx512f"))) void nn_conv_to_hwc_avx512(const nn_op *op, const float *x, float *xh) {
    const int C = op->in.c, H = op->in.h, W = op->in.w, P = op->pad;
    const size_t rowf = (size_t)(W + 2 * P) * C, plane = (size_t)H * W;
    memset(xh, 0, (size_t)P * rowf * sizeof *xh);
    memset(xh + (size_t)(H + P) * rowf, 0, (size_t)P * rowf * sizeof *xh);
    for (int iy = 0; iy < H; iy++) {
        float *dr = xh + (size_t)(iy + P) * rowf;
        memset(dr, 0, (size_t)P * C * sizeof *dr);
        memset(dr + (size_t)(W + P) * C, 0, (size_t)P * C * sizeof *dr);
        for (int ix0 = 0; ix0 < W; ix0 += 16) {
            const int cnt = W - ix0 < 16 ? W - ix0 : 16;
            const __mmask16 lanes = (__mmask16)((1u << cnt) - 1u);
            for (int c0 = 0; c0 < C; c0 += 16) {
                __m512 r[16];
                for (int i = 0; i < 16; i++)
                    r[i] = _mm512_maskz_loadu_ps(lanes, x + (size_t)(c0 + i) * plane + (size_t)iy * W + ix0);
                transpose16(r);
                for (int j = 0; j < cnt; j++) _mm512_storeu_ps(dr + (size_t)(ix0 + P + j) * C + c0, r[j]);
            }
        }
    }
}

/* The inverse for the interior: padded HWC xh -> NCHW x (C a multiple of 16). */
__attribute__((target("avx512f"))) void nn_conv_from_hwc_avx512(const nn_op *op, const float *xh, float *x) {
    const int C = op->in.c, H = op->in.h, W = op->in.w, P = op->pad;
    const size_t rowf = (size_t)(W + 2 * P) * C, plane = (size_t)H * W;
    for (int iy = 0; iy < H; iy++) {
        const float *sr = xh + (size_t)(iy + P) * rowf + (size_t)P * C;
        for (int ix0 = 0; ix0 < W; ix0 += 16) {
            const int cnt = W - ix0 < 16 ? W - ix0 : 16;
            const __mmask16 lanes = (__mmask16)((1u << cnt) - 1u);
            for (int c0 = 0; c0 < C; c0 += 16) {
                __m512 r[16];
                for (int j = 0; j < 16; j++)
                    r[j] = j < cnt ? _mm512_loadu_ps(sr + (size_t)(ix0 + j) * C + c0) : _mm512_setzero_ps();
                transpose16(r);
                for (int i = 0; i < 16; i++)
                    _mm512_mask_storeu_ps(x + (size_t)(c0 + i) * plane + (size_t)iy * W + ix0, lanes, r[i]);
            }
        }
    }
}

/* Row p = oy*OW + ox holds the K*K patch of output position p in tap order
 * (ky, kx), zero-padded to NN_PATCH_LD floats (single channel, stride 1).
 * Tap t of 16 neighbouring positions is a contiguous run of the padded
 * input, so 16 taps x 16 positions are 16 loads and one transpose. */
__attribute__((target("avx512f"))) void nn_conv_patch_rows_c1_avx512(const nn_op *op, const float *xh, float *rows) {
    const int K = op->k, KK = K * K, OH = op->out.h, OW = op->out.w, Wp = op->in.w + 2 * op->pad;
    for (int oy = 0; oy < OH; oy++)
        for (int ox0 = 0; ox0 < OW; ox0 += 16) {
            const int cnt = OW - ox0 < 16 ? OW - ox0 : 16;
            const __mmask16 lanes = (__mmask16)((1u << cnt) - 1u);
            for (int t0 = 0; t0 < NN_PATCH_LD; t0 += 16) {
                __m512 r[16];
                for (int i = 0; i < 16; i++) {
                    const int t = t0 + i;
                    r[i] = t < KK ? _mm512_maskz_loadu_ps(lanes, xh + (size_t)(oy + t / K) * Wp + ox0 + t % K)
                                  : _mm512_setzero_ps();
                }
                transpose16(r);
                for (int j = 0; j < cnt; j++)
                    _mm512_store_ps(rows + ((size_t)oy * OW + ox0 + j) * NN_PATCH_LD + t0, r[j]);
            }
        }
}

/* Conv rows oy0 .. oy0+rows-1 of one sample and one channel block, with
 * bias and ReLU, into band[r][ox][0:32]. */
__attribute__((target("avx512f"))) static void conv_band(const nn_op *op, const float *xh, const float *wp,
                                                         const float *bias, int oy0, int rows, float *band) {
    const int C = op->in.c, K = op->k, S = op->stride, OW = op->out.w, KC = K * C;
    const size_t row = (size_t)(op->in.w + 2 * op->pad) * C, step = (size_t)S * C;
    const int mr = OW >= NN_TILE_MR ? NN_TILE_MR : OW >= 8 ? 8 : OW >= 4 ? 4 : OW >= 2 ? 2 : 1;
    const __m512 b0 = _mm512_load_ps(bias), b1 = _mm512_load_ps(bias + 16), zero = _mm512_setzero_ps();
    float out[NN_TILE_MR * OC_BLOCK] __attribute__((aligned(64)));
    for (int r = 0; r < rows; r++) {
        const int oy = oy0 + r;
        for (int ox0 = 0; ox0 < OW; ox0 += mr) {
            const int ox = ox0 + mr <= OW ? ox0 : OW - mr;
            nn_tile_bcast(mr, xh + (size_t)oy * S * row + (size_t)ox * step, row, step, wp, K, KC, out);
            float *dst = band + ((size_t)r * OW + ox) * OC_BLOCK;
            for (int i = 0; i < mr; i++) {
                __m512 v0 = _mm512_add_ps(_mm512_load_ps(out + i * OC_BLOCK), b0);
                __m512 v1 = _mm512_add_ps(_mm512_load_ps(out + i * OC_BLOCK + 16), b1);
                if (op->relu) {
                    v0 = _mm512_max_ps(v0, zero); /* NaN -> 0, as v > 0 ? v : 0 */
                    v1 = _mm512_max_ps(v1, zero);
                }
                _mm512_store_ps(dst + i * OC_BLOCK, v0);
                _mm512_store_ps(dst + i * OC_BLOCK + 16, v1);
            }
        }
    }
}

__attribute__((target("avx512f"))) void nn_conv_pool_forward_direct(const nn_op *conv, const nn_op *pool,
                                                                    fedc_ws *ws, const float *w,
                                 const float *b, const float *x, float *pooled, int32_t *argmax, int n) {
    const int OC = conv->out.c, OW = conv->out.w, blocks = (OC + OC_BLOCK - 1) / OC_BLOCK;
    const int PK = pool->k, POH = pool->out.h, POW = pool->out.w;
    const size_t per_block = nn_conv_direct_pack_floats(conv) / (size_t)blocks, Q = (size_t)POH * POW;
    float bias[OC_BLOCK] __attribute__((aligned(64)));
    /* Pooled values and winners of up to 16 positions, channels last. */
    float vals[16 * OC_BLOCK] __attribute__((aligned(64)));
    float wins[16 * OC_BLOCK] __attribute__((aligned(64)));
    float *band = ws->pool_band;
    memset(vals, 0, sizeof vals); /* rows past a partial flush are transposed but not stored */
    memset(wins, 0, sizeof wins);
    pack_weights(conv, w, ws->w_pack);
    for (int s = 0; s < n; s++) {
        nn_conv_to_hwc(conv, x + (size_t)s * conv->in_size, ws->hwc_x);
        float *ps = pooled + (size_t)s * pool->out_size;
        int32_t *as = argmax + (size_t)s * pool->out_size;
        for (int ob = 0; ob < blocks; ob++) {
            const int oc0 = ob * OC_BLOCK, ocn = OC - oc0 < OC_BLOCK ? OC - oc0 : OC_BLOCK;
            memset(bias, 0, sizeof bias);
            memcpy(bias, b + oc0, (size_t)ocn * sizeof *bias);
            const float *wp = ws->w_pack + (size_t)ob * per_block;
            /* Conv rows past the last full pool window are never used. */
            for (int py = 0; py < POH; py++) {
                conv_band(conv, ws->hwc_x, wp, bias, py * PK, PK, band);
                for (int px = 0; px < POW; px++) {
                    /* Scan the window in row-major order; strict > keeps
                     * the first maximum, as nn_maxpool_forward does. */
                    const float *first = band + (size_t)px * PK * OC_BLOCK;
                    __m512 m0 = _mm512_load_ps(first), m1 = _mm512_load_ps(first + 16);
                    __m512i i0 = _mm512_set1_epi32(py * PK * OW + px * PK), i1 = i0;
                    for (int wy = 0; wy < PK; wy++)
                        for (int wx = 0; wx < PK; wx++) {
                            if (wy == 0 && wx == 0) continue;
                            const float *v = band + ((size_t)wy * OW + px * PK + wx) * OC_BLOCK;
                            const __m512 v0 = _mm512_load_ps(v), v1 = _mm512_load_ps(v + 16);
                            const __m512i at = _mm512_set1_epi32((py * PK + wy) * OW + px * PK + wx);
                            const __mmask16 g0 = _mm512_cmp_ps_mask(v0, m0, _CMP_GT_OQ);
                            const __mmask16 g1 = _mm512_cmp_ps_mask(v1, m1, _CMP_GT_OQ);
                            m0 = _mm512_mask_blend_ps(g0, m0, v0);
                            m1 = _mm512_mask_blend_ps(g1, m1, v1);
                            i0 = _mm512_mask_blend_epi32(g0, i0, at);
                            i1 = _mm512_mask_blend_epi32(g1, i1, at);
                        }
                    const int slot = px % 16;
                    _mm512_store_ps(vals + slot * OC_BLOCK, m0);
                    _mm512_store_ps(vals + slot * OC_BLOCK + 16, m1);
                    _mm512_store_ps(wins + slot * OC_BLOCK, _mm512_castsi512_ps(i0));
                    _mm512_store_ps(wins + slot * OC_BLOCK + 16, _mm512_castsi512_ps(i1));
                    if (slot == 15 || px == POW - 1) { /* flush: transpose to NCHW */
                        const size_t o = (size_t)oc0 * Q + (size_t)py * POW + (px - slot);
                        store_channels_first(vals, slot + 1, ocn, Q, ps + o);
                        store_channels_first(wins, slot + 1, ocn, Q, (float *)(as + o));
                    }
                }
            }
        }
    }
}

#endif
