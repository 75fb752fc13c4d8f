/* Fuzz target: feature-skew specs (partition.feature_skew). Input: 1 byte
 * choosing the image shape, then the spec. An accepted spec's domains are
 * applied to a small image in [0, 1], whose pixels must stay finite and in
 * [0, 1]. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/data.h"

#define MAX_SPEC 300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size - 1 > MAX_SPEC) return 0;
    fedc_shape s = {data[0] & 1 ? 3 : 1, 1 + (data[0] >> 1) % 9, 1 + (data[0] >> 4) % 9};
    char spec[MAX_SPEC + 1];
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = '\0';
    fedc_feature_skew fs;
    fedc_error err;
    if (fedc_feature_skew_parse(spec, s, &fs, &err) != 0) {
        if (strlen(err.msg) == 0) abort();
        return 0;
    }
    size_t dim = (size_t)s.c * s.h * s.w;
    float x[3 * 9 * 9];
    for (int d = 0; d < fs.n; d++) {
        for (size_t i = 0; i < dim; i++) x[i] = (float)((i * 37) % 101) / 100.0f;
        uint32_t id = (uint32_t)d;
        fedc_domain_apply(&fs.d[d], s, 5, &id, x, 1);
        for (size_t i = 0; i < dim; i++)
            if (!isfinite(x[i]) || x[i] < -1e-6f || x[i] > 1.0f + 1e-6f) abort();
    }
    return 0;
}
