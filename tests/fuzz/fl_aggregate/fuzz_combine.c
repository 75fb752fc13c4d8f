/* Fuzz target: updates from hostile clients reach every aggregator. The
 * bytes choose the aggregator, the round's size, client ids and sample
 * counts, and the updates' values (finite, as the engine admits them,
 * within +-1e6); three rounds run so that MUD-HoG's histories count. No
 * aggregator may crash, and with bounded finite input every output value
 * is finite. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/aggregate.h"

#define K 4
#define D (2 * K + 2)
#define NMAX 12

static const char *const k_aggregators[] = {"mean",   "median", "trimmed-mean", "krum",   "multi-krum",
                                            "bulyan", "geomed", "flag",         "mudhog", "frl"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    static fedc_arch *arch;
    fedc_error err;
    if (!arch) arch = fedc_arch_parse("dense:2", (fedc_shape){1, 1, K}, 2, &err);
    fedc_task t;
    fedc_task_defaults(&t);
    snprintf(t.strategy.aggregator, sizeof t.strategy.aggregator, "%s", k_aggregators[data[0] % 10]);
    t.strategy.byzantine_fraction = (data[1] % 50) / 100.0;
    t.strategy.norm_bound = data[1] & 0x80 ? 1.0 : 0.0;
    int n = 1 + data[2] % NMAX;
    t.clients = NMAX;
    float w0[D] = {0}, x[D] = {0}, out[D];
    fedc_combiner *c = fedc_combiner_create(&t, arch, fedc_arch_nparams(arch), w0, NMAX, &err);
    if (!c) abort();
    fedc_combiner_initial_model(c, x);
    const uint8_t *p = data + 3, *end = data + size;
    float v[NMAX][D];
    fedc_update u[NMAX];
    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < n; i++) {
            u[i].client = p < end ? *p++ % (NMAX + 1) : i; /* NMAX: outside the federation */
            u[i].weight = p < end ? *p++ : 1;
            for (int j = 0; j < D; j++) {
                float f = 0;
                if (end - p >= 4) {
                    memcpy(&f, p, 4);
                    p += 4;
                }
                if (!isfinite(f) || fabsf(f) > 1e6f) f = fmodf(isfinite(f) ? f : 0, 1e6f);
                v[i][j] = f;
            }
            u[i].delta = v[i];
            u[i].steps = 1;
            u[i].extra = NULL;
        }
        if (fedc_combine(c, u, n, round, x, out, &err) != 0) continue;
        for (int j = 0; j < D; j++) {
            if (!isfinite(out[j])) abort();
            x[j] += out[j];
        }
        for (int i = 0; i < n; i++) fedc_combiner_verdict(c, i, NULL);
        fedc_combiner_model(c, x);
    }
    fedc_combiner_free(c);
    return 0;
}
