/* Success rate of a backdoor attack on the test set: the trigger is
 * stamped on copies of the test images whose class is not the target, and
 * the share classified as the target is reported (Bagdasaryan et al.'s
 * backdoor accuracy). Measurement only: the model is not changed. */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

typedef struct {
    const fedc_arch *a;
    fedc_ws **ws;
    const float *params;
    const fedc_dataset *test;
    int target, batch; /* batch: samples the workspaces hold */
    size_t chunk;
    long *hits, *count;
} asr_ctx;

static void asr_chunk(void *vctx, size_t i, int worker) {
    asr_ctx *c = vctx;
    const fedc_dataset *t = c->test;
    size_t lo = i * c->chunk, hi = lo + c->chunk < t->n ? lo + c->chunk : t->n;
    int classes = fedc_arch_nclasses(c->a);
    float *x = malloc((size_t)c->batch * t->dim * sizeof *x);
    float *logits = malloc((size_t)c->batch * classes * sizeof *logits);
    long hits = 0, count = 0;
    if (!x || !logits) goto out;
    for (size_t b = lo; b < hi;) {
        int nb = 0;
        /* A batch of triggered copies of non-target samples. */
        for (; b < hi && nb < c->batch; b++) {
            if (t->y[b] == c->target) continue;
            fedc_dataset_rows(t, b, 1, x + (size_t)nb * t->dim);
            fedc_attack_stamp(x + (size_t)nb * t->dim, t->shape);
            nb++;
        }
        if (nb == 0) continue;
        fedc_nn_logits(c->a, c->ws[worker], c->params, x, nb, logits);
        for (int k = 0; k < nb; k++) {
            const float *l = logits + (size_t)k * classes;
            int best = 0;
            for (int q = 1; q < classes; q++)
                if (l[q] > l[best]) best = q;
            hits += best == c->target;
        }
        count += nb;
    }
out:
    c->hits[i] = hits;
    c->count[i] = count;
    free(x);
    free(logits);
}

double fedc_engine_backdoor_success(const fedc_arch *a, fedc_ws **ws, int batch, fedc_pool *pool,
                                    const float *params, const fedc_dataset *test, int target) {
    size_t parts = (size_t)fedc_pool_size(pool) * 4;
    size_t chunk = (test->n + parts - 1) / parts;
    if (chunk == 0) chunk = 1;
    parts = (test->n + chunk - 1) / chunk;
    long *hits = calloc(parts + 1, sizeof *hits), *count = calloc(parts + 1, sizeof *count);
    if (!hits || !count) {
        free(hits);
        free(count);
        return 0;
    }
    asr_ctx c = {a, ws, params, test, target, batch, chunk, hits, count};
    fedc_pool_for(pool, parts, asr_chunk, &c);
    long h = 0, n = 0;
    for (size_t i = 0; i < parts; i++) {
        h += hits[i];
        n += count[i];
    }
    free(hits);
    free(count);
    return n ? (double)h / (double)n : 0;
}
