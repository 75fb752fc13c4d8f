/* Fuzz target for the codec decoder. Input: byte 0 picks a pipeline, bytes
 * 1-2 the expected length n (little-endian, mod 1025), the rest is the
 * buffer to decode. The decoder must return an error or finite values and
 * never read or write out of bounds. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "fedc/codec.h"

static const char *const PIPELINES[] = {
    "none",          "fp16",
    "bf16",          "q8",
    "q4:16",         "q2",
    "sign",          "zstd",
    "topk:0.1",      "topk:0.01|q8|zstd",
    "topk:0.6|fp16", "randk:0.2|q4",
    "randk:0.3",     "topk:0.3|sign|zstd",
    "bf16|zstd",     "q8:1024|zstd",
};
#define N_PIPELINES (sizeof PIPELINES / sizeof PIPELINES[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    fedc_error err;
    fedc_codec *c = fedc_codec_parse(PIPELINES[data[0] % N_PIPELINES], &err);
    if (!c) abort();
    size_t n = (size_t)(data[1] | (data[2] << 8)) % 1025;
    float *out = malloc((n ? n : 1) * sizeof *out);
    if (!out) abort();
    if (fedc_codec_decode(c, data + 3, size - 3, out, n, &err) == 0) {
        for (size_t i = 0; i < n; i++)
            if (!isfinite(out[i])) abort();
    } else if (err.msg[0] == '\0') {
        abort(); /* every refusal says why */
    }
    free(out);
    fedc_codec_free(c);
    return 0;
}
