/* The encoder: header, then the body (sparsifier index section and value
 * section), zstd'd when the pipeline ends in zstd. With error feedback the
 * input is v + residual, and the residual becomes (v + residual) minus what
 * the receiver will decode, computed by the decoder itself so both sides
 * agree to the bit. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/finite.h"

#include "fl/codec/codec_internal.h"

static int put_header(const fedc_codec *c, size_t n, size_t m, int index_mode, uint64_t seed,
                      fedc_buf *out) {
    int rc = 0;
    uint8_t stages = (uint8_t)((c->sparse != 0) + (c->value != 0) + (c->zstd != 0));
    rc |= fedc_buf_put_u8(out, CODEC_MAGIC);
    rc |= fedc_buf_put_u8(out, CODEC_VERSION);
    rc |= fedc_buf_put_u32(out, (uint32_t)n);
    rc |= fedc_buf_put_u8(out, stages);
    if (c->sparse) {
        rc |= fedc_buf_put_u8(out, (uint8_t)c->sparse);
        rc |= fedc_buf_put_u32(out, (uint32_t)m);
        if (c->sparse == STAGE_TOPK)
            rc |= fedc_buf_put_u8(out, (uint8_t)index_mode);
        else
            rc |= fedc_buf_put_u64(out, seed);
    }
    if (c->value) {
        rc |= fedc_buf_put_u8(out, (uint8_t)c->value);
        if (c->bits) rc |= fedc_buf_put_u8(out, (uint8_t)c->chunk_log2);
    }
    if (c->zstd) rc |= fedc_buf_put_u8(out, STAGE_ZSTD);
    return rc ? -1 : 0;
}

/* Random-k's decoder multiplies by n/k; refuse inputs that would overflow
 * float there (with a margin for the value coder's rounding). */
static int check_randk_scale(const float *kept, size_t m, size_t n, fedc_error *err) {
    double scale = (double)n / (double)m;
    for (size_t i = 0; i < m; i++)
        if (fabs((double)kept[i]) * scale > FLT_MAX / 2)
            return fedc_fail(err, "randk: kept value %g times n/k = %g would overflow float32",
                             (double)kept[i], scale);
    return 0;
}

struct encode_scratch {
    float *x;      /* v + residual with error feedback */
    uint32_t *idx; /* kept indices */
    float *kept;   /* kept values */
    float *decoded;
    fedc_buf body; /* pre-zstd body when zstd follows */
};

static void scratch_free(struct encode_scratch *s) {
    free(s->x);
    free(s->idx);
    free(s->kept);
    free(s->decoded);
    fedc_buf_free(&s->body);
}

static int encode_into(const fedc_codec *c, const float *v, size_t n, float *residual,
                       fedc_rng *rng, fedc_buf *out, struct encode_scratch *s, fedc_error *err) {
    int use_ef = c->error_feedback && residual != NULL;
    const float *x = v;
    if (use_ef) {
        s->x = calloc(n ? n : 1, sizeof *s->x); /* calloc: gcc cannot see the loop fill it */
        if (!s->x) return fedc_fail(err, "out of memory for %zu values", n);
        for (size_t i = 0; i < n; i++) s->x[i] = v[i] + residual[i];
        x = s->x;
    }
    size_t bad = fedc_first_nonfinite(x, n);
    if (bad < n)
        return fedc_fail(err, "input value %zu is %g%s; only finite values can be encoded", bad, (double)x[bad],
                         use_ef ? " (input + residual)" : "");

    size_t m = codec_kept_count(c, n);
    const float *values = x;
    int index_mode = INDEX_VARINT;
    uint64_t seed = 0;
    if (c->sparse) {
        s->idx = malloc((m ? m : 1) * sizeof *s->idx);
        s->kept = malloc((m ? m : 1) * sizeof *s->kept);
        if (!s->idx || !s->kept) return fedc_fail(err, "out of memory for %zu kept values", m);
        if (c->sparse == STAGE_TOPK) {
            if (codec_topk_select(x, n, m, s->idx, err)) return -1;
            if (codec_index_bitmap_size(n) < codec_index_varint_size(s->idx, m))
                index_mode = INDEX_BITMAP;
        } else {
            seed = fedc_rng_u64(rng);
            if (codec_randk_indices(seed, n, m, s->idx, err)) return -1;
        }
        for (size_t i = 0; i < m; i++) s->kept[i] = x[s->idx[i]];
        if (c->sparse == STAGE_RANDK && check_randk_scale(s->kept, m, n, err)) return -1;
        values = s->kept;
    }

    if (put_header(c, n, m, index_mode, seed, out))
        return fedc_fail(err, "out of memory for the header");
    size_t body_start = out->len;
    fedc_buf *body = c->zstd ? &s->body : out;
    if (c->sparse == STAGE_TOPK && codec_index_encode(index_mode, s->idx, m, n, body, err))
        return -1;
    if (codec_values_encode(c, values, m, rng, body, err)) return -1;
    const uint8_t *body_bytes = c->zstd ? s->body.data : out->data + body_start;
    size_t body_len = c->zstd ? s->body.len : out->len - body_start;
    if (c->zstd && codec_zstd_pack(s->body.data, s->body.len, codec_shuffle_width(c), out, err))
        return -1;

    if (use_ef) {
        s->decoded = malloc((n ? n : 1) * sizeof *s->decoded);
        if (!s->decoded) return fedc_fail(err, "out of memory for %zu values", n);
        if (codec_body_decode(c, body_bytes, body_len, n, index_mode, seed, s->decoded, err))
            return fedc_fail_prefix(err, "own encoding does not decode: ");
        for (size_t i = 0; i < n; i++) residual[i] = x[i] - s->decoded[i];
    }
    return 0;
}

int fedc_codec_encode(const fedc_codec *c, const float *v, size_t n, float *residual, fedc_rng *rng,
                      fedc_buf *out, fedc_error *err) {
    if (!c || !out) return fedc_fail(err, "codec encode: codec and output buffer are required");
    if (n > CODEC_MAX_N)
        return fedc_fail(err, "codec '%s' encode: n = %zu exceeds the format's limit of %zu values",
                         c->name, n, CODEC_MAX_N);
    if (n > 0 && !v)
        return fedc_fail(err, "codec '%s' encode: input vector is NULL for n = %zu", c->name, n);
    if (!rng && (c->sparse == STAGE_RANDK || c->bits))
        return fedc_fail(err, "codec '%s' encode: needs an rng (stochastic rounding / random-k)",
                         c->name);
    size_t start = out->len;
    struct encode_scratch s;
    memset(&s, 0, sizeof s);
    int rc = encode_into(c, v, n, residual, rng, out, &s, err);
    scratch_free(&s);
    if (rc) {
        out->len = start; /* leave the caller's buffer as it was */
        return fedc_fail_prefix(err, "codec '%s' encode: ", c->name);
    }
    return 0;
}
