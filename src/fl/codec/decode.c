/* The decoder. Input is hostile: the header must name exactly the stages
 * and counts the local pipeline implies for n, every section is read with
 * bounds, indices are checked against n, the zstd frame against the
 * largest body possible, and the buffer must be consumed exactly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fl/codec/codec_internal.h"

static const char *stage_name(int id) {
    switch (id) {
    case STAGE_FP16: return "fp16";
    case STAGE_BF16: return "bf16";
    case STAGE_Q8: return "q8";
    case STAGE_Q4: return "q4";
    case STAGE_Q2: return "q2";
    case STAGE_SIGN: return "sign";
    case STAGE_TOPK: return "topk";
    case STAGE_RANDK: return "randk";
    case STAGE_ZSTD: return "zstd";
    default: return "unknown";
    }
}

int codec_body_decode(const fedc_codec *c, const uint8_t *p, size_t len, size_t n, int index_mode,
                      uint64_t seed, float *out, fedc_error *err) {
    fedc_reader r = fedc_reader_make(p, len);
    size_t m = codec_kept_count(c, n);
    if (!c->sparse) {
        if (codec_values_decode(c, &r, out, n, err)) return -1;
    } else {
        uint32_t *idx = malloc((m ? m : 1) * sizeof *idx);
        float *vals = malloc((m ? m : 1) * sizeof *vals);
        int rc = -1;
        if (!idx || !vals) {
            fedc_fail(err, "out of memory for %zu kept values", m);
            goto sparse_done;
        }
        if (c->sparse == STAGE_TOPK) {
            if (codec_index_decode(index_mode, &r, idx, m, n, err)) goto sparse_done;
        } else if (codec_randk_indices(seed, n, m, idx, err)) {
            goto sparse_done;
        }
        if (codec_values_decode(c, &r, vals, m, err)) goto sparse_done;
        if (n) memset(out, 0, n * sizeof *out);
        if (c->sparse == STAGE_RANDK) {
            /* Each index is kept with probability m/n: scaling by n/m makes
             * the decoded vector an unbiased estimate of the input. */
            double scale = (double)n / (double)m;
            for (size_t i = 0; i < m; i++) {
                float v = (float)((double)vals[i] * scale);
                if (!isfinite(v)) {
                    fedc_fail(err, "randk value %zu (%g) overflows when scaled by n/k = %g", i,
                              (double)vals[i], scale);
                    goto sparse_done;
                }
                out[idx[i]] = v;
            }
        } else {
            for (size_t i = 0; i < m; i++) out[idx[i]] = vals[i];
        }
        rc = 0;
    sparse_done:
        free(idx);
        free(vals);
        if (rc) return -1;
    }
    if (fedc_reader_left(&r))
        return fedc_fail(err, "body has %zu bytes after the last section", fedc_reader_left(&r));
    return 0;
}

/* Reads the header and checks it against what the pipeline implies. */
static int read_header(const fedc_codec *c, fedc_reader *r, size_t n, int *index_mode,
                       uint64_t *seed, fedc_error *err) {
    uint8_t magic, version, stages;
    uint32_t wire_n;
    if (fedc_read_u8(r, &magic) || fedc_read_u8(r, &version) || fedc_read_u32(r, &wire_n) ||
        fedc_read_u8(r, &stages))
        return fedc_fail(err, "buffer of %zu bytes is shorter than the 7-byte header", r->len);
    if (magic != CODEC_MAGIC)
        return fedc_fail(err, "magic byte is 0x%02x; expected 0x%02x (not a codec buffer)", magic,
                         CODEC_MAGIC);
    if (version != CODEC_VERSION)
        return fedc_fail(err, "format version %u is not supported; this build reads version %u",
                         version, CODEC_VERSION);
    if (wire_n != n) return fedc_fail(err, "buffer holds %u values; expected %zu", wire_n, n);
    unsigned want = (c->sparse != 0) + (c->value != 0) + (c->zstd != 0);
    if (stages != want)
        return fedc_fail(err, "buffer has %u stages; the pipeline has %u", stages, want);
    int expect[3], ne = 0;
    if (c->sparse) expect[ne++] = c->sparse;
    if (c->value) expect[ne++] = c->value;
    if (c->zstd) expect[ne++] = STAGE_ZSTD;
    size_t m = codec_kept_count(c, n);
    for (int s = 0; s < ne; s++) {
        uint8_t id;
        if (fedc_read_u8(r, &id)) return fedc_fail(err, "header truncated at stage %d", s + 1);
        if (id != expect[s])
            return fedc_fail(err, "stage %d is %s (id %u); the pipeline expects %s", s + 1,
                             stage_name(id), id, stage_name(expect[s]));
        if (id == STAGE_TOPK || id == STAGE_RANDK) {
            uint32_t k;
            if (fedc_read_u32(r, &k))
                return fedc_fail(err, "header truncated at %s count", stage_name(id));
            if (k != m)
                return fedc_fail(err, "%s keeps %u values; for n = %zu the pipeline keeps %zu",
                                 stage_name(id), k, n, m);
            if (id == STAGE_TOPK) {
                uint8_t mode;
                if (fedc_read_u8(r, &mode))
                    return fedc_fail(err, "header truncated at topk index mode");
                if (mode != INDEX_VARINT && mode != INDEX_BITMAP)
                    return fedc_fail(err,
                                     "topk index mode %u is unknown; allowed 0 (varint) "
                                     "or 1 (bitmap)",
                                     mode);
                *index_mode = mode;
            } else if (fedc_read_u64(r, seed)) {
                return fedc_fail(err, "header truncated at randk seed");
            }
        } else if (id == STAGE_Q8 || id == STAGE_Q4 || id == STAGE_Q2) {
            uint8_t chunk_log2;
            if (fedc_read_u8(r, &chunk_log2))
                return fedc_fail(err, "header truncated at %s chunk", stage_name(id));
            if (chunk_log2 != c->chunk_log2)
                return fedc_fail(err, "%s chunk is 2^%u values; the pipeline uses 2^%u",
                                 stage_name(id), chunk_log2, c->chunk_log2);
        }
    }
    return 0;
}

int fedc_codec_decode(const fedc_codec *c, const uint8_t *p, size_t len, float *out, size_t n,
                      fedc_error *err) {
    if (!c) return fedc_fail(err, "codec decode: codec is required");
    if ((!p && len) || (!out && n))
        return fedc_fail(err, "codec '%s' decode: input or output buffer is NULL", c->name);
    if (n > CODEC_MAX_N)
        return fedc_fail(err, "codec '%s' decode: n = %zu exceeds the format's limit of %zu",
                         c->name, n, CODEC_MAX_N);
    fedc_reader r = fedc_reader_make(p, len);
    int index_mode = INDEX_VARINT;
    uint64_t seed = 0;
    if (read_header(c, &r, n, &index_mode, &seed, err))
        return fedc_fail_prefix(err, "codec '%s' decode: ", c->name);
    const uint8_t *body = p ? p + r.off : p;
    size_t body_len = fedc_reader_left(&r);
    int rc;
    if (c->zstd) {
        uint8_t *raw;
        size_t raw_len;
        if (codec_zstd_unpack(body, body_len, codec_body_max_size(c, n), codec_shuffle_width(c),
                              &raw, &raw_len, err))
            return fedc_fail_prefix(err, "codec '%s' decode: ", c->name);
        rc = codec_body_decode(c, raw, raw_len, n, index_mode, seed, out, err);
        free(raw);
    } else {
        rc = codec_body_decode(c, body, body_len, n, index_mode, seed, out, err);
    }
    if (rc) return fedc_fail_prefix(err, "codec '%s' decode: ", c->name);
    return 0;
}
