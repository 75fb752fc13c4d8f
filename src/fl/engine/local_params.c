/* Local parameters (strategy.local_params): a mask over the flat parameter
 * vector by layer kind or position that marks what each client keeps for
 * itself. FedBN keeps the batch norms ("bn"), FedPer the head ("last:1").
 * The trainer starts each round from the global model with the client's own
 * values at these coordinates, keeps them after training, and uploads a
 * zero update there, so the aggregate never moves them: the global model
 * holds the initial values, every client its own. */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

void fedc_engine_local_set_free(local_set *s) {
    free(s->off);
    free(s->count);
    memset(s, 0, sizeof *s);
}

int fedc_engine_local_set(const fedc_task *t, const fedc_arch *a, local_set *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    int nt = fedc_arch_ntensors(a);
    unsigned char *mask = calloc((size_t)(nt > 0 ? nt : 1), 1);
    if (!mask) return fedc_fail(err, "out of memory resolving strategy.local_params");
    int n = fedc_arch_select(a, fedc_task_local_params(t), mask, err);
    if (n < 0) {
        free(mask);
        fedc_fail_prefix(err, "strategy.local_params: ");
        return -1;
    }
    size_t shared = 0;
    for (int i = 0; i < nt; i++)
        if (!mask[i] && !fedc_arch_tensor(a, i).buffer) shared += fedc_arch_tensor(a, i).count;
    if (n > 0 && shared == 0) {
        free(mask);
        return fedc_fail(err, "strategy.local_params: \"%s\" keeps every trained parameter local; nothing "
                              "would be aggregated",
                         fedc_task_local_params(t));
    }
    out->off = calloc((size_t)(n > 0 ? n : 1), sizeof *out->off);
    out->count = calloc((size_t)(n > 0 ? n : 1), sizeof *out->count);
    if (!out->off || !out->count) {
        free(mask);
        fedc_engine_local_set_free(out);
        return fedc_fail(err, "out of memory resolving strategy.local_params");
    }
    for (int i = 0; i < nt; i++) {
        if (!mask[i]) continue;
        fedc_tensor_info ti = fedc_arch_tensor(a, i);
        out->off[out->n] = ti.offset;
        out->count[out->n++] = ti.count;
        out->floats += ti.count;
    }
    free(mask);
    return 0;
}

void fedc_engine_local_gather(const local_set *s, const float *x, float *packed) {
    for (int i = 0; i < s->n; i++) {
        memcpy(packed, x + s->off[i], s->count[i] * sizeof *x);
        packed += s->count[i];
    }
}

void fedc_engine_local_scatter(const local_set *s, const float *packed, float *x) {
    for (int i = 0; i < s->n; i++) {
        memcpy(x + s->off[i], packed, s->count[i] * sizeof *x);
        packed += s->count[i];
    }
}

void fedc_engine_local_zero(const local_set *s, float *x) {
    for (int i = 0; i < s->n; i++) memset(x + s->off[i], 0, s->count[i] * sizeof *x);
}
