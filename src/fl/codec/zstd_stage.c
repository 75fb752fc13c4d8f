/* The lossless last stage: byte shuffle (byte j of every element grouped
 * together, so the slowly varying sign/exponent bytes of floats sit next to
 * each other), then zstd level 1. The inverse accepts exactly one zstd
 * frame that declares its content size, bounded by the largest body the
 * pipeline can produce for n, and nothing after it. */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "fl/codec/codec_internal.h"

#define ZSTD_LEVEL 1

/* Element i's byte b goes to plane b. Trailing bytes past the last whole
 * element stay where they are. */
static void shuffle(const uint8_t *src, size_t len, unsigned width, uint8_t *dst) {
    size_t elems = len / width;
    for (size_t i = 0; i < elems; i++)
        for (unsigned b = 0; b < width; b++) dst[b * elems + i] = src[i * width + b];
    memcpy(dst + elems * width, src + elems * width, len - elems * width);
}

static void unshuffle(const uint8_t *src, size_t len, unsigned width, uint8_t *dst) {
    size_t elems = len / width;
    for (size_t i = 0; i < elems; i++)
        for (unsigned b = 0; b < width; b++) dst[i * width + b] = src[b * elems + i];
    memcpy(dst + elems * width, src + elems * width, len - elems * width);
}

int codec_zstd_pack(const uint8_t *body, size_t len, unsigned width, fedc_buf *out,
                    fedc_error *err) {
    const uint8_t *src = body;
    uint8_t *shuffled = NULL;
    if (width > 1 && len > 0) {
        shuffled = malloc(len);
        if (!shuffled) return fedc_fail(err, "zstd: out of memory for %zu bytes", len);
        shuffle(body, len, width, shuffled);
        src = shuffled;
    }
    size_t bound = ZSTD_compressBound(len);
    if (fedc_buf_reserve(out, bound)) {
        free(shuffled);
        return fedc_fail(err, "zstd: out of memory for %zu bytes", bound);
    }
    /* The one-shot API records the content size in the frame header, which
     * the decoder requires. */
    size_t z = ZSTD_compress(out->data + out->len, bound, src, len, ZSTD_LEVEL);
    free(shuffled);
    if (ZSTD_isError(z))
        return fedc_fail(err, "zstd: compression failed: %s", ZSTD_getErrorName(z));
    out->len += z;
    return 0;
}

int codec_zstd_unpack(const uint8_t *p, size_t len, size_t cap, unsigned width, uint8_t **body,
                      size_t *body_len, fedc_error *err) {
    *body = NULL;
    *body_len = 0;
    if (len < 4)
        return fedc_fail(err, "zstd frame is %zu bytes; too short for a frame header", len);
    uint32_t magic =
        (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (magic != ZSTD_MAGICNUMBER)
        return fedc_fail(err, "zstd frame magic is 0x%08x; expected 0x%08x", magic,
                         (unsigned)ZSTD_MAGICNUMBER);
    unsigned long long content = ZSTD_getFrameContentSize(p, len);
    if (content == ZSTD_CONTENTSIZE_ERROR)
        return fedc_fail(err, "zstd frame header is invalid or truncated");
    if (content == ZSTD_CONTENTSIZE_UNKNOWN)
        return fedc_fail(err, "zstd frame does not declare its content size");
    if (content > cap)
        return fedc_fail(err, "zstd frame declares %llu bytes of content; at most %zu allowed",
                         content, cap);
    size_t frame = ZSTD_findFrameCompressedSize(p, len);
    if (ZSTD_isError(frame))
        return fedc_fail(err, "zstd frame is malformed: %s", ZSTD_getErrorName(frame));
    if (frame != len)
        return fedc_fail(err, "zstd frame is %zu bytes but the body has %zu; trailing bytes", frame,
                         len);
    size_t clen = (size_t)content;
    uint8_t *raw = malloc(clen ? clen : 1);
    if (!raw) return fedc_fail(err, "zstd: out of memory for %zu bytes", clen);
    size_t got = ZSTD_decompress(raw, clen, p, len);
    if (ZSTD_isError(got) || got != clen) {
        free(raw);
        if (ZSTD_isError(got))
            return fedc_fail(err, "zstd decompression failed: %s", ZSTD_getErrorName(got));
        return fedc_fail(err, "zstd frame produced %zu bytes; it declared %zu", got, clen);
    }
    if (width > 1 && clen > 0) {
        uint8_t *plain = malloc(clen);
        if (!plain) {
            free(raw);
            return fedc_fail(err, "zstd: out of memory for %zu bytes", clen);
        }
        unshuffle(raw, clen, width, plain);
        free(raw);
        raw = plain;
    }
    *body = raw;
    *body_len = clen;
    return 0;
}
