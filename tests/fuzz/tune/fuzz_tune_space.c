/* Fuzz target: arbitrary bytes as a search space, as a configuration of a
 * fixed space (the shape of an LLM proposal or a stored trial), and as a
 * model spec read back into architecture knobs. Besides not crashing or
 * leaking: a space that parses has a stable canonical form, its random
 * configurations survive to_json -> from_json, and a configuration that
 * parses is inside the space. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/tune.h"
#include "tune/tune_internal.h"

static const char *k_fixed =
    "{\"params\": ["
    "{\"name\": \"local.lr\", \"type\": \"log-float\", \"min\": 0.001, \"max\": 0.5},"
    "{\"name\": \"local.batch\", \"type\": \"choice\", \"values\": [16, 32, 64]},"
    "{\"name\": \"strategy.name\", \"type\": \"choice\", \"values\": [\"fedavg\", \"fedprox\"]},"
    "{\"name\": \"strategy.mu\", \"type\": \"float\", \"min\": 0, \"max\": 1,"
    " \"when\": {\"param\": \"strategy.name\", \"in\": [\"fedprox\"]}},"
    "{\"name\": \"arch.depth\", \"type\": \"int\", \"min\": 1, \"max\": 3}]}";

static void check_config(const fedc_tune_space *s, const fedc_tune_config *c) {
    for (int i = 0; i < s->n; i++) {
        double v = c->v[i];
        if (isnan(v)) continue;
        const fedc_tune_param *p = &s->p[i];
        if (p->type == FEDC_PARAM_CHOICE ? (v < 0 || v >= p->nchoices || v != floor(v)) : (v < p->min || v > p->max))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fedc_error err;
    fedc_tune_space *s = fedc_tune_space_from_json((const char *)data, size, "fuzz", &err);
    if (s) {
        char *a = fedc_tune_space_to_json(s);
        fedc_tune_space *s2 = a ? fedc_tune_space_from_json(a, strlen(a), "canonical", &err) : NULL;
        char *b = s2 ? fedc_tune_space_to_json(s2) : NULL;
        if (!b || strcmp(a, b)) abort();
        fedc_rng rng = fedc_rng_derive(size, 1, 2);
        fedc_task base, out;
        fedc_task_defaults(&base);
        for (int k = 0; k < 4; k++) {
            fedc_tune_config c, back;
            tune_sample_random(s, &rng, &c);
            check_config(s, &c);
            char *j = fedc_tune_config_to_json(s, &c);
            if (!j || fedc_tune_config_from_json(s, j, strlen(j), &back, &err) != 0) abort();
            free(j);
            fedc_tune_config_apply(s, &c, &base, 10, &out, &err);
        }
        fedc_tune_space_check(s, &base, 10, &err);
        free(a);
        free(b);
        fedc_tune_space_free(s2);
        fedc_tune_space_free(s);
    }

    fedc_tune_space *fixed = fedc_tune_space_from_json(k_fixed, strlen(k_fixed), "fixed", &err);
    if (!fixed) abort();
    fedc_tune_config c;
    if (fedc_tune_config_from_json(fixed, (const char *)data, size, &c, &err) == 0) check_config(fixed, &c);
    fedc_tune_space_free(fixed);

    if (size < 1100) {
        char model[1100];
        memcpy(model, data, size);
        model[size] = 0;
        static const char *const knobs[] = {"arch.family", "arch.depth", "arch.width2", "arch.width",
                                            "arch.convs", "arch.conv1", "arch.kernel", "arch.dense"};
        for (size_t k = 0; k < sizeof knobs / sizeof *knobs; k++) {
            json_t *v = NULL;
            if (tune_arch_knob_from_model(model, knobs[k], &v, &err) == 0 && !v) abort();
            json_decref(v);
        }
    }
    return 0;
}
