/* Compression codecs for model and update vectors, composed as a pipeline
 * string: stages separated by '|', e.g. "topk:0.01|q8|zstd", "fp16", "none".
 * Stages: fp16, bf16, q8/q4/q2 (uniform, per-chunk scale, stochastic
 * rounding), topk:F, randk:F (sends a seed, not indices), sign (1-bit),
 * zstd (lossless, after byte shuffle). Biased stages (topk, sign) get error
 * feedback from a residual the caller keeps per node. Decoders treat input
 * as hostile: every count and index is bounded by the expected length. */
#ifndef FEDC_CODEC_H
#define FEDC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/buf.h"
#include "fedc/error.h"
#include "fedc/export.h"
#include "fedc/rng.h"

#define FEDC_CODEC_MAX_LEN 256

typedef struct fedc_codec fedc_codec;

FEDC_API fedc_codec *fedc_codec_parse(const char *pipeline, fedc_error *err);
/* Same checks as parse, for validators. */
FEDC_API int fedc_codec_check(const char *pipeline, fedc_error *err);
FEDC_API void fedc_codec_free(fedc_codec *c);
/* Canonical pipeline string. */
FEDC_API const char *fedc_codec_name(const fedc_codec *c);
/* 1 if encode wants a residual buffer (error feedback). */
FEDC_API int fedc_codec_uses_error_feedback(const fedc_codec *c);

/* Appends the encoding of v[0..n) to out. residual (n floats, or NULL when
 * error feedback is unused) is added to v before encoding and updated with
 * what the encoding lost. rng drives stochastic rounding and random-k. */
FEDC_API int fedc_codec_encode(const fedc_codec *c, const float *v, size_t n, float *residual,
                               fedc_rng *rng, fedc_buf *out, fedc_error *err);
/* Decodes exactly n floats from p[0..len); fails on any mismatch. */
FEDC_API int fedc_codec_decode(const fedc_codec *c, const uint8_t *p, size_t len, float *out, size_t n,
                               fedc_error *err);
/* Largest encoding of an n-float vector (0 if n exceeds the format's 2^32-1
 * limit): the bound a transport can put on an incoming payload. */
FEDC_API size_t fedc_codec_max_encoded_size(const fedc_codec *c, size_t n);

#endif
