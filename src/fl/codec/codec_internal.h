/* Private parts of the codec pipeline: the parsed pipeline, the wire
 * constants of format version 1 (docs/compression.md) and the helpers each
 * stage file provides to the encoder and decoder. */
#ifndef FEDC_CODEC_INTERNAL_H
#define FEDC_CODEC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/buf.h"
#include "fedc/codec.h"
#include "fedc/error.h"
#include "fedc/rng.h"

#define CODEC_MAGIC 0xFCu
#define CODEC_VERSION 1u
/* Vectors are addressed with 32-bit counts and indices on the wire. */
#define CODEC_MAX_N ((size_t)UINT32_MAX)
#define CODEC_DEFAULT_CHUNK_LOG2 8u /* 256 values per quantisation chunk */
#define CODEC_MIN_CHUNK_LOG2 4u     /* 16 */
#define CODEC_MAX_CHUNK_LOG2 16u    /* 65536 */

/* Stage ids as written in the header. */
enum codec_stage_id {
    STAGE_FP16 = 1,
    STAGE_BF16 = 2,
    STAGE_Q8 = 3,
    STAGE_Q4 = 4,
    STAGE_Q2 = 5,
    STAGE_SIGN = 6,
    STAGE_TOPK = 7,
    STAGE_RANDK = 8,
    STAGE_ZSTD = 9,
};

/* How the kept top-k indices are written: whichever is smaller. */
enum codec_index_mode { INDEX_VARINT = 0, INDEX_BITMAP = 1 };

struct fedc_codec {
    int sparse;          /* 0, STAGE_TOPK or STAGE_RANDK */
    double fraction;     /* sparsifier fraction F in (0, 1] */
    int value;           /* 0 (raw float32), STAGE_FP16/BF16/Q8/Q4/Q2/SIGN */
    unsigned bits;       /* quantiser bits (8, 4, 2) when value is a quantiser */
    unsigned chunk_log2; /* quantiser chunk = 1 << chunk_log2 values */
    int zstd;            /* 1 if the body is zstd-compressed */
    int error_feedback;
    char name[FEDC_CODEC_MAX_LEN];
};

/* Number of values a sparsifier keeps from n (n itself without one). */
size_t codec_kept_count(const fedc_codec *c, size_t n);
/* Bytes of the header for this pipeline. */
size_t codec_header_size(const fedc_codec *c);
/* Bytes of the value section for m values. */
size_t codec_values_size(const fedc_codec *c, size_t m);
/* Upper bound of the body before zstd (index section + value section). */
size_t codec_body_max_size(const fedc_codec *c, size_t n);
/* Byte width the zstd stage shuffles by: the value element size. */
unsigned codec_shuffle_width(const fedc_codec *c);

/* Value section: m finite floats -> bytes, and back (hostile input). */
int codec_values_encode(const fedc_codec *c, const float *x, size_t m, fedc_rng *rng, fedc_buf *out,
                        fedc_error *err);
int codec_values_decode(const fedc_codec *c, fedc_reader *r, float *out, size_t m, fedc_error *err);

/* Half-precision conversions (round to nearest even, saturating). */
uint16_t codec_f32_to_f16(float x);
float codec_f16_to_f32(uint16_t h);
/* The same over arrays (vectorised where the CPU has F16C; equal bit for bit). */
void codec_f32_to_f16_n(const float *x, uint16_t *h, size_t n);
void codec_f16_to_f32_n(const uint16_t *h, float *x, size_t n);
uint16_t codec_f32_to_bf16(float x);
float codec_bf16_to_f32(uint16_t h);

/* Uniform quantiser with per-chunk min/max and stochastic rounding. */
size_t codec_quant_size(unsigned bits, unsigned chunk_log2, size_t m);
int codec_quant_encode(unsigned bits, unsigned chunk_log2, const float *x, size_t m, fedc_rng *rng,
                       fedc_buf *out, fedc_error *err);
int codec_quant_decode(unsigned bits, unsigned chunk_log2, fedc_reader *r, float *out, size_t m,
                       fedc_error *err);

/* 1-bit sign with one scale (mean |x|). */
size_t codec_sign_size(size_t m);
int codec_sign_encode(const float *x, size_t m, fedc_buf *out, fedc_error *err);
int codec_sign_decode(fedc_reader *r, float *out, size_t m, fedc_error *err);

/* Top-k: the k indices of largest |x| in increasing order (ties by index). */
int codec_topk_select(const float *x, size_t n, size_t k, uint32_t *idx, fedc_error *err);
/* Index section of top-k: size of each mode, writer and strict reader. */
size_t codec_index_varint_size(const uint32_t *idx, size_t k);
size_t codec_index_bitmap_size(size_t n);
int codec_index_encode(int mode, const uint32_t *idx, size_t k, size_t n, fedc_buf *out,
                       fedc_error *err);
int codec_index_decode(int mode, fedc_reader *r, uint32_t *idx, size_t k, size_t n,
                       fedc_error *err);
/* Random-k: k distinct indices of [0, n) in increasing order from a seed. */
int codec_randk_indices(uint64_t seed, size_t n, size_t k, uint32_t *idx, fedc_error *err);

/* zstd stage: shuffle by width then compress level 1; and the strict
 * inverse, which accepts exactly one frame whose content size is known and
 * at most cap bytes. *body is malloc'd. */
int codec_zstd_pack(const uint8_t *body, size_t len, unsigned width, fedc_buf *out,
                    fedc_error *err);
int codec_zstd_unpack(const uint8_t *p, size_t len, size_t cap, unsigned width, uint8_t **body,
                      size_t *body_len, fedc_error *err);

/* Decodes a body (pre-zstd bytes) into out[0..n); shared by the decoder and
 * the encoder's error-feedback step so both see the same floats. */
int codec_body_decode(const fedc_codec *c, const uint8_t *p, size_t len, size_t n, int index_mode,
                      uint64_t seed, float *out, fedc_error *err);

/* Little-endian bulk copies, fast on little-endian hosts. */
void codec_store_f32(uint8_t *dst, const float *src, size_t n);
void codec_load_f32(float *dst, const uint8_t *src, size_t n);

#endif
