/* Fuzz target: the architecture spec parser. Input: 4 bytes choosing the
 * input shape and class count, then the spec text. Accepted specs must
 * round-trip through their canonical form, and small ones are run through a
 * training step (gradient, Hessian-vector product, batch-norm statistics)
 * so the layer kernels see odd shapes under the sanitizers. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/nn.h"

#define MAX_SPEC 2048
#define MAX_STEP_PARAMS 20000
#define MAX_STEP_FLOPS 2e5

static void train_step(const fedc_arch *a) {
    size_t np = fedc_arch_nparams(a), ni = fedc_arch_input_size(a);
    float *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g), *x = malloc(2 * ni * sizeof *x);
    int32_t y[2] = {0, fedc_arch_nclasses(a) - 1};
    fedc_rng r;
    fedc_rng_seed(&r, 1);
    fedc_arch_init(a, p, &r);
    for (size_t i = 0; i < 2 * ni; i++) x[i] = (float)fedc_rng_normal(&r);
    fedc_ws *ws = fedc_ws_create(a, 2);
    if (!ws) abort();
    float loss = fedc_nn_grad(a, ws, p, g, x, y, 2, &r);
    if (isnan(loss)) abort();
    /* The exact Hessian-vector product along the gradient, and the batch
     * norms' running statistics, on the same odd shapes. */
    fedc_hvp_ws *hw = fedc_hvp_ws_create(a, 2);
    float *hv = malloc(np * sizeof *hv);
    if (!hw || !hv || isnan(fedc_nn_hvp(a, ws, hw, p, g, hv, NULL, x, y, 2))) abort();
    fedc_nn_commit_stats(a, ws, p);
    fedc_hvp_ws_free(hw);
    free(hv);
    double acc, l;
    fedc_nn_evaluate(a, ws, p, x, y, 2, &acc, &l);
    fedc_ws_free(ws);
    free(p);
    free(g);
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4 || size - 4 > MAX_SPEC) return 0;
    fedc_shape in = {1 + data[0] % 4, 1 + data[1] % 32, 1 + data[2] % 32};
    int classes = 2 + data[3] % 20;
    char spec[MAX_SPEC + 1];
    memcpy(spec, data + 4, size - 4);
    spec[size - 4] = '\0';
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(spec, in, classes, &err);
    if (!a) {
        if (strlen(err.msg) == 0) abort();
        return 0;
    }
    fedc_arch *b = fedc_arch_parse(fedc_arch_spec(a), in, classes, &err);
    if (!b || strcmp(fedc_arch_spec(a), fedc_arch_spec(b)) != 0 ||
        fedc_arch_nparams(a) != fedc_arch_nparams(b))
        abort();
    if (fedc_arch_nparams(a) <= MAX_STEP_PARAMS && fedc_arch_flops_per_sample(a) <= MAX_STEP_FLOPS)
        train_step(a);
    fedc_arch_free(b);
    fedc_arch_free(a);
    return 0;
}
